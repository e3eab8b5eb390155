//! Documentation placeholders that look like credentials: `api_key=YOUR_API_KEY`,
//! `password: changeme123`, `token=xxxxxxxxxxxxxxxx`, `sk_live_xxxxxxxxxxxxxxxxxxxxxxxx`.
//!
//! Each test is built so that it cannot hide a real value: a real key is random, so it is never
//! made only of placeholder words, never a run of `x`, and never ends in sixteen `x`s. A value
//! passes as a placeholder only when EVERY part of it is placeholder vocabulary and at least one
//! part is an explicit placeholder marker (`your`, `here`, `changeme`, `example`, …).

/// Words that make up a placeholder value.
const VOCAB: &[&str] = &[
    "a",
    "access",
    "account",
    "actual",
    "admin",
    "an",
    "api",
    "app",
    "auth",
    "aws",
    "bearer",
    "change",
    "changeme",
    "client",
    "database",
    "db",
    "default",
    "demo",
    "dummy",
    "enter",
    "example",
    "fake",
    "fixme",
    "github",
    "goes",
    "here",
    "id",
    "insert",
    "key",
    "keys",
    "me",
    "my",
    "new",
    "openai",
    "pass",
    "passwd",
    "password",
    "placeholder",
    "private",
    "put",
    "pwd",
    "real",
    "redacted",
    "refresh",
    "replace",
    "sample",
    "secret",
    "secrets",
    "service",
    "slack",
    "some",
    "string",
    "stripe",
    "test",
    "the",
    "this",
    "todo",
    "token",
    "tokens",
    "user",
    "value",
    "with",
    "your",
];

/// Words that say "this is not a real value".
const MARKERS: &[&str] = &[
    "changeme",
    "dummy",
    "enter",
    "example",
    "fake",
    "fixme",
    "here",
    "insert",
    "placeholder",
    "redacted",
    "replace",
    "sample",
    "todo",
    "your",
];

/// Separators between placeholder words.
fn is_sep(b: u8) -> bool {
    matches!(b, b'-' | b'_' | b'.')
}

/// A digit run nobody would pick as a secret suffix: one repeated digit or an ascending run
/// (`000`, `1111`, `123456`, `7890`).
fn trivial_digits(d: &[u8]) -> bool {
    if d.is_empty() {
        return true;
    }
    let same = d.iter().all(|&b| b == d[0]);
    let ascending = d
        .windows(2)
        .all(|w| w[1] == if w[0] == b'9' { b'0' } else { w[0] + 1 });
    same || ascending
}

/// One word (lower-cased) with an optional trivial digit suffix; `Some(is_marker)` when it is
/// placeholder vocabulary.
fn placeholder_word(word: &[u8]) -> Option<bool> {
    let cut = word.len() - word.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let (stem, digits) = word.split_at(cut);
    if !trivial_digits(digits) {
        return None;
    }
    if stem.is_empty() {
        return Some(false);
    }
    if stem.len() >= 3 && stem.iter().all(|&b| b == b'x') {
        return Some(true);
    }
    let stem = std::str::from_utf8(stem).ok()?;
    VOCAB.contains(&stem).then(|| MARKERS.contains(&stem))
}

/// True when an assigned or bearer credential value is a placeholder, not a secret.
pub(super) fn is_placeholder_value(value: &[u8]) -> bool {
    if value.len() > 64 || !value.is_ascii() {
        return false;
    }
    let mut lower = [0u8; 64];
    let lower = &mut lower[..value.len()];
    lower.copy_from_slice(value);
    lower.make_ascii_lowercase();

    // `xxxxxxxxxxxx`, `XXXX-XXXX-XXXX`: a masking run.
    let x_count = lower.iter().filter(|&&b| b == b'x').count();
    if x_count >= 4 && lower.iter().all(|&b| b == b'x' || is_sep(b)) {
        return true;
    }

    // `YOUR_HF_TOKEN`, `your-groq-api-key`: "your" then words, whatever the vendor's name.
    let mut words = lower.split(|&b| is_sep(b)).filter(|w| !w.is_empty());
    if words.next() == Some(b"your") && words.all(|w| w.iter().all(u8::is_ascii_alphabetic)) {
        return true;
    }

    let mut marker = false;
    for word in lower.split(|&b| is_sep(b)).filter(|w| !w.is_empty()) {
        match placeholder_word(word) {
            Some(is_marker) => marker |= is_marker,
            None => return false,
        }
    }
    marker
}

/// A credential-shaped value that is public by design: Stripe publishable keys, Mapbox
/// public tokens, Mailgun's public validation key. Web pages ship them to every visitor.
pub(super) fn is_public_value(value: &[u8]) -> bool {
    const PUBLIC_PREFIXES: &[&[u8]] = &[b"pk_live_", b"pk_test_", b"pk.eyJ", b"pubkey-"];
    PUBLIC_PREFIXES.iter().any(|p| value.starts_with(p))
}

/// A value that stands in for one: an environment reference (`$DB_PASS`, `${DB_PASS}`,
/// `%(pass)s`), a template slot (`<password>`, `{{ secrets.pw }}`) or a mask (`****`,
/// `••••`, one repeated character).
pub(super) fn is_template_or_mask(value: &[u8]) -> bool {
    let Some((&first, _)) = value.split_first() else {
        return true;
    };
    let masked = value.iter().all(|&b| b == first)
        || std::str::from_utf8(value).is_ok_and(|s| s.chars().all(|c| matches!(c, '•' | '●')));
    masked
        || first == b'$'
        || value.starts_with(b"%(")
        || value == b"%s"
        || (first == b'<' && value.ends_with(b">"))
        || (value.starts_with(b"{{") && value.ends_with(b"}}"))
}

/// True when a prefixed key is masked: its last sixteen characters are all `x`/`X`
/// (separators allowed), as in `sk_live_xxxxxxxxxxxxxxxxxxxxxxxx`, or everything after a
/// short prefix is one repeated character, as in `glpat-aaaaaaaaaaaaaaaaaaaa` or
/// `ghp_000…0`. A generated key never looks like either.
pub(super) fn has_masked_tail(matched: &[u8]) -> bool {
    has_x_mask(matched) || has_repeated_body(matched)
}

/// The last sixteen characters are `x`/`X` and separators, mostly `x`.
pub(super) fn has_x_mask(matched: &[u8]) -> bool {
    if matched.len() < 16 {
        return false;
    }
    let tail = &matched[matched.len() - 16..];
    tail.iter().filter(|&&b| b == b'x' || b == b'X').count() >= 12
        && tail.iter().all(|&b| b == b'x' || b == b'X' || is_sep(b))
}

/// At least sixteen of one character end the value, after at most a 12-byte prefix (the
/// longest provider prefixes, `pscale_tkn_`, `github_pat_`).
fn has_repeated_body(matched: &[u8]) -> bool {
    let Some(&last) = matched.last() else {
        return false;
    };
    let run = matched.iter().rev().take_while(|&&b| b == last).count();
    run >= 16 && matched.len() - run <= 12
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_recognised() {
        for v in [
            "YOUR_API_KEY",
            "your-api-key-here",
            "changeme123456",
            "changeme",
            "xxxxxxxxxxxxxxxx",
            "XXXX-XXXX-XXXX-XXXX",
            "YOUR_ACCESS_TOKEN_HERE",
            "replace_me",
            "example-token-1234",
            "your_token",
        ] {
            assert!(is_placeholder_value(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn real_looking_values_are_not_placeholders() {
        for v in [
            "s3cr3t_value_kept_here", // s3cr3t is not vocabulary
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "changeme847291",     // random digits, not a trivial suffix
            "my_secret_password", // vocabulary but no placeholder marker
            "0123456789abcdef0123",
            "EXAMPLEEXAMPLEEXAMPLEEXAMPLE000000",
            "00000000000000000000000000000000", // reference test: a zero auth token is flagged
        ] {
            assert!(!is_placeholder_value(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn masked_tails() {
        assert!(has_masked_tail(b"sk_live_xxxxxxxxxxxxxxxxxxxxxxxx"));
        assert!(has_masked_tail(b"AKIAXXXXXXXXXXXXXXXX"));
        assert!(!has_masked_tail(b"AKIAIOSFODNN7EXAMPLE"));
        assert!(!has_masked_tail(b"sk_live_xxxxxxxxxxxxxxxxxxxx1234"));
    }
}
