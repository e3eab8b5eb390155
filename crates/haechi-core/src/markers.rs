//! The markers protection leaves in a payload in place of a value — `[REDACTED:<type>]`,
//! `[TOKEN:<id>]` and `[HAECHI_ENC:<base64url envelope>]` — written and read here only, so the
//! pipeline, the audit sanitizer, the vault and the gateway agree on one spelling.

use std::ops::Range;

/// Opening of a token marker.
pub const TOKEN_OPEN: &str = "[TOKEN:";
/// Opening of an envelope marker.
pub const ENVELOPE_OPEN: &str = "[HAECHI_ENC:";
/// Opening of a redaction marker.
pub const REDACTED_OPEN: &str = "[REDACTED:";
/// Closing of every marker.
pub const CLOSE: &str = "]";

/// `[REDACTED:<type>]`.
pub fn redaction(detection_type: &str) -> String {
    format!("{REDACTED_OPEN}{detection_type}{CLOSE}")
}

/// `[TOKEN:<id>]`.
pub fn token(id: &str) -> String {
    format!("{TOKEN_OPEN}{id}{CLOSE}")
}

/// `[HAECHI_ENC:<body>]`.
pub fn envelope(body: &str) -> String {
    format!("{ENVELOPE_OPEN}{body}{CLOSE}")
}

/// The id of a whole `[TOKEN:<id>]` marker.
pub fn token_id(marker: &str) -> Option<&str> {
    marker.strip_prefix(TOKEN_OPEN)?.strip_suffix(CLOSE)
}

/// The body of a whole `[HAECHI_ENC:<body>]` marker.
pub fn envelope_body(marker: &str) -> Option<&str> {
    marker.strip_prefix(ENVELOPE_OPEN)?.strip_suffix(CLOSE)
}

/// Every `[TOKEN:<id>]` in `text`, in order: the marker's range and its id.
pub fn token_markers(text: &str) -> impl Iterator<Item = (Range<usize>, &str)> {
    let mut from = 0;
    std::iter::from_fn(move || {
        let start = from + text.get(from..)?.find(TOKEN_OPEN)?;
        let id_start = start + TOKEN_OPEN.len();
        let id_len = text[id_start..].find(CLOSE)?;
        let end = id_start + id_len + CLOSE.len();
        from = end;
        Some((start..end, &text[id_start..id_start + id_len]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        assert_eq!(redaction("email"), "[REDACTED:email]");
        assert_eq!(token_id(&token("tok_email_1")), Some("tok_email_1"));
        assert_eq!(envelope_body(&envelope("abc")), Some("abc"));
        assert_eq!(token_id("[TOKEN:x"), None);
        assert_eq!(token_id("tok_email_1"), None);
    }

    #[test]
    fn token_markers_are_found_in_order_and_an_unclosed_one_ends_the_search() {
        let text = "a [TOKEN:t1] b [TOKEN:t2][TOKEN:t3 c";
        let found: Vec<(Range<usize>, &str)> = token_markers(text).collect();
        assert_eq!(found, vec![(2..12, "t1"), (15..25, "t2")]);
        assert_eq!(&text[found[1].0.clone()], "[TOKEN:t2]");
    }
}
