//! Context for values whose shape alone is ambiguous. Words around a match work in both
//! directions: a label that names the number as something else (`order`, `invoice`,
//! `tracking`) turns it down, and a word of its own kind nearby (`phone`, `card`,
//! `Authorization`) keeps it whatever else is said.
//!
//! The rule that bounds it: context only decides where the shape's own evidence is weak.
//! A phone number has no checksum; a Luhn check passes one number in ten; `Bearer` followed by
//! sixteen characters is an ordinary English phrase. A value confirmed by a strong check
//! (RRN, NIR, DNI, codice fiscale, NRIC, IBAN, Aadhaar) or by a provider prefix is never
//! weakened by context. For cards, a hard-block type, a label alone is not enough either: the
//! number must also be written as one bare run, since cards are printed in groups of four.

use super::placeholder::{has_masked_tail, is_placeholder_value};
use super::validators;

/// How far before a number its label may sit (the label is the nearest words).
const LABEL_REACH: usize = 24;
/// How far around a value a word of its own kind is looked for.
const KIND_REACH: usize = 48;

/// Words that name a number as an identifier of something that is not a person's phone or
/// card. Matched ASCII-case-blind as the last word(s) before the number.
const OTHER_ID_LABELS: &[&str] = &[
    "order",
    "orders",
    "invoice",
    "tracking",
    "shipment",
    "parcel",
    "reference",
    "ref",
    "transaction",
    "txn",
    "booking",
    "ticket",
    "serial",
    "sku",
    "receipt",
    "bestellung",
    "bestellnummer",
    "rechnung",
    "rechnungsnummer",
    "commande",
    "facture",
    "주문",
    "주문번호",
    "송장",
    "송장번호",
    "注文",
    "注文番号",
    "订单",
    "订单号",
];

/// Words a label may be followed by before the number (`order id`, `invoice no.`, `#`).
const LABEL_TAILS: &[&str] = &[
    "id", "no", "nr", "num", "number", "code", "#", "번호", "番号", "号",
];

const PHONE_WORDS: &[&str] = &[
    "phone",
    "tel",
    "mobile",
    "cell",
    "call",
    "sms",
    "text me",
    "whatsapp",
    "fax",
    "contact",
    "전화",
    "휴대",
    "핸드폰",
    "연락",
    "電話",
    "携帯",
    "电话",
    "手机",
    "telefon",
    "handy",
    "téléphone",
    "portable",
];

const CARD_WORDS: &[&str] = &[
    "card",
    "visa",
    "mastercard",
    "amex",
    "credit",
    "debit",
    "cvv",
    "cvc",
    "exp",
    "pan",
    "카드",
    "カード",
    "卡",
    "karte",
    "carte",
    "tarjeta",
];

/// Header names and tools that introduce a bearer credential.
const BEARER_WORDS: &[&str] = &["authorization", "auth", "-h ", "header", "token"];

/// Qualifiers that make a `…token` key name something other than a credential: pagination
/// and resume cursors (`nextToken`, `page_token`), idempotency keys, counters (`max_token`).
const NON_SECRET_TOKEN_QUALIFIERS: &[&str] = &[
    "next",
    "page",
    "continuation",
    "pagination",
    "cursor",
    "sync",
    "max",
    "idempotency",
    "resume",
];

/// Whether the name a `key = value` match begins in (`nextToken`, `page_token`) is qualified
/// as a non-credential: the identifier run right before `start` ends with a qualifier.
pub(super) fn names_a_non_secret_token(text: &[u8], start: usize) -> bool {
    let head = &text[..start.min(text.len())];
    let run = head
        .iter()
        .rev()
        .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        .count();
    let name = head[head.len() - run..].to_ascii_lowercase();
    let name = name
        .strip_suffix(b"_")
        .or_else(|| name.strip_suffix(b"-"))
        .unwrap_or(&name);
    NON_SECRET_TOKEN_QUALIFIERS
        .iter()
        .any(|q| name.ends_with(q.as_bytes()))
}

/// ASCII-lower-cased copy of `text[from..to]`, both clamped to the text.
fn lowered(text: &[u8], from: usize, to: usize) -> Vec<u8> {
    let to = to.min(text.len());
    text[from.min(to)..to].to_ascii_lowercase()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    memchr::memmem::find(hay, needle.as_bytes()).is_some()
}

/// A word of the value's own kind within `KIND_REACH` bytes on either side.
fn kind_word_near(text: &[u8], start: usize, end: usize, words: &[&str]) -> bool {
    let before = lowered(text, start.saturating_sub(KIND_REACH), start);
    let after = lowered(text, end, end + KIND_REACH);
    words
        .iter()
        .any(|w| contains(&before, w) || contains(&after, w))
}

/// Whether the words right before `start` label the number as another kind of identifier:
/// `order 4242…`, `Order id 0109…`, `invoice no. 4111…`, `주문번호 0101…`.
fn labelled_as_other_id(text: &[u8], start: usize) -> bool {
    let before = lowered(text, start.saturating_sub(LABEL_REACH), start);
    let (word, rest) = last_word(&before);
    let word = match LABEL_TAILS.contains(&word) {
        // `order id`, `invoice no.`: the label is the word before the tail.
        true => last_word(rest).0,
        false => word,
    };
    OTHER_ID_LABELS.contains(&word)
}

/// The last word of `text` (after trimming blanks and `:.#=-()[]`) and what precedes it.
/// A word is a run of anything else, so `주문번호` and `#` are words too.
fn last_word(text: &[u8]) -> (&str, &[u8]) {
    let is_gap = |b: &u8| b.is_ascii_whitespace() || b":.=-()[]".contains(b);
    let trimmed = &text[..text.len() - text.iter().rev().take_while(|b| is_gap(b)).count()];
    // `#` ends a word on its own (`order #5555…`, `no#`).
    if trimmed.last() == Some(&b'#') {
        return ("#", &trimmed[..trimmed.len() - 1]);
    }
    let len = trimmed
        .iter()
        .rev()
        .take_while(|b| !is_gap(b) && **b != b'#')
        .count();
    let (rest, word) = trimmed.split_at(trimmed.len() - len);
    (std::str::from_utf8(word).unwrap_or(""), rest)
}

/// A phone-shaped match, unless it is labelled as another identifier with no phone word near.
pub(super) fn phone(text: &[u8], start: usize, end: usize) -> bool {
    !labelled_as_other_id(text, start) || kind_word_near(text, start, end, PHONE_WORDS)
}

/// The `kr-phone` rule's check: the bare-run test, then context.
pub(super) fn kr_phone(text: &[u8], start: usize, end: usize) -> bool {
    validators::kr_phone(&text[start..end]) && phone(text, start, end)
}

/// The card rule's check: Luhn and the other shape tests, then context (bare runs only).
pub(super) fn card(text: &[u8], start: usize, end: usize) -> bool {
    let matched = &text[start..end];
    if !validators::card(matched) {
        return false;
    }
    let bare_run = matched.iter().all(u8::is_ascii_digit);
    !(bare_run
        && labelled_as_other_id(text, start)
        && !kind_word_near(text, start, end, CARD_WORDS))
}

/// `Bearer <value>`: a credential when it is a whole header value (the leaf is just the
/// scheme and the value), when a header or token word introduces it, or when the value looks
/// generated. In prose, `Bearer` followed by a word-like or sequential run is not a token.
pub(super) fn bearer(text: &[u8], start: usize, end: usize) -> bool {
    let value = text[start..end]
        .get(6..)
        .map(|rest| rest.trim_ascii_start())
        .unwrap_or_default();
    if is_placeholder_value(value) || has_masked_tail(value) {
        return false;
    }
    let quote_or_space = |b: &u8| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'');
    let whole_value =
        text[..start].iter().all(quote_or_space) && text[end..].iter().all(quote_or_space);
    let before = lowered(text, start.saturating_sub(KIND_REACH), start);
    whole_value || BEARER_WORDS.iter().any(|w| contains(&before, w)) || looks_generated(value)
}

/// A value a person would not type as a word: at least two of upper case, lower case and
/// digits, and not a run of consecutive characters (`0123456789abcdef`).
pub(super) fn looks_generated(value: &[u8]) -> bool {
    let classes = [
        value.iter().any(u8::is_ascii_uppercase),
        value.iter().any(u8::is_ascii_lowercase),
        value.iter().any(u8::is_ascii_digit),
    ];
    let steps = value.windows(2).filter(|w| is_next(w[0], w[1])).count();
    classes.iter().filter(|&&c| c).count() >= 2 && steps * 4 < value.len().saturating_sub(1) * 3
}

/// `b` follows `a` in `0-9a-z` / `0-9A-Z` order (`9` → `a` counts, as in hex digits).
fn is_next(a: u8, b: u8) -> bool {
    b == a.wrapping_add(1) || (a == b'9' && b.eq_ignore_ascii_case(&b'a'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(text: &str, value: &str) -> (usize, usize) {
        let start = text.find(value).expect("value in text");
        (start, start + value.len())
    }

    #[test]
    fn labels_turn_down_phone_shapes_unless_a_phone_word_is_near() {
        for (text, value, keep) in [
            (
                "Order id 01099887766 was shipped on time.",
                "01099887766",
                false,
            ),
            ("invoice no. 01098765432", "01098765432", false),
            ("주문번호 01012345678 확인", "01012345678", false),
            ("phone 01099887766", "01099887766", true),
            ("order 01099887766, call me on it", "01099887766", true),
            ("border 01099887766", "01099887766", true),
            ("01099887766", "01099887766", true),
        ] {
            let (s, e) = span(text, value);
            assert_eq!(phone(text.as_bytes(), s, e), keep, "{text}");
        }
    }

    #[test]
    fn a_card_is_turned_down_only_as_a_labelled_bare_run() {
        for (text, value, keep) in [
            (
                "please process order 4242424242424242 and ship today",
                "4242424242424242",
                false,
            ),
            ("order #5555555555554444 shipped", "5555555555554444", false),
            ("order 4242 4242 4242 4242", "4242 4242 4242 4242", true),
            (
                "order 4242424242424242 paid by card",
                "4242424242424242",
                true,
            ),
            ("card 4242424242424242", "4242424242424242", true),
            ("order 4242424242424241", "4242424242424241", false),
        ] {
            let (s, e) = span(text, value);
            assert_eq!(card(text.as_bytes(), s, e), keep, "{text}");
        }
    }

    #[test]
    fn bearer_needs_a_header_a_whole_value_or_a_generated_token() {
        for (text, keep) in [
            (
                "Bearer 0123456789abcdef is mentioned in this prose paragraph",
                false,
            ),
            (
                "the word Bearer abcdefghijklmnop appears in the glossary",
                false,
            ),
            ("Authorization: Bearer 0123456789abcdef", true),
            ("Bearer 0123456789abcdef", true),
            ("\"Bearer abcdefghijklmnop\"", true),
            ("see Bearer ZmFrZS10b2tlbi1mb3ItdGVzdGluZw in the log", true),
            ("Bearer YOUR_ACCESS_TOKEN_HERE", false),
        ] {
            let start = text.find("Bearer").unwrap();
            let end = start
                + 7
                + text[start + 7..]
                    .find(|c: char| c.is_whitespace() || c == '"')
                    .unwrap_or(text.len() - start - 7);
            assert_eq!(bearer(text.as_bytes(), start, end), keep, "{text}");
        }
    }
}
