//! Opt-in decode-and-rescan (`filters.decodeAndRescan`): a leaf that is entirely base64,
//! base64url or percent-encoded is decoded so its content can be rescanned. Bounds and
//! round-trip guards follow the reference so random strings are skipped, not mis-decoded.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;

/// Leaves shorter or longer than this (in UTF-16 units, as the reference counts) are skipped.
const MIN_LEN: usize = 16;
const MAX_LEN: usize = 8192;

/// The decoded text of an encoded leaf, or `None` when the leaf is not cleanly encoded.
pub(crate) fn decode_leaf(value: &str) -> Option<String> {
    let len = if value.is_ascii() {
        value.len()
    } else {
        value.encode_utf16().count()
    };
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return None;
    }
    if let Some(kind) = base64_kind(value.as_bytes()) {
        return decode_base64(value, kind);
    }
    decode_percent(value)
}

#[derive(Clone, Copy)]
enum Base64Kind {
    Standard,
    Url,
}

/// Standard base64 needs a length that is a multiple of 4 (padding allowed); base64url has no
/// padding and a length that is not 1 mod 4. Standard is tried first, as in the reference.
fn base64_kind(bytes: &[u8]) -> Option<Base64Kind> {
    let body_end = bytes.len() - bytes.iter().rev().take_while(|&&b| b == b'=').count();
    let padding = bytes.len() - body_end;
    let body = &bytes[..body_end];
    let std_alphabet = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    if padding <= 2
        && !body.is_empty()
        && body.iter().all(std_alphabet)
        && bytes.len().is_multiple_of(4)
    {
        return Some(Base64Kind::Standard);
    }
    let url_alphabet = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
    if bytes.iter().all(url_alphabet) && bytes.len() % 4 != 1 {
        return Some(Base64Kind::Url);
    }
    None
}

fn decode_base64(value: &str, kind: Base64Kind) -> Option<String> {
    let bytes = match kind {
        Base64Kind::Standard => STANDARD.decode(value).ok()?,
        Base64Kind::Url => URL_SAFE_NO_PAD.decode(value).ok()?,
    };
    if bytes.is_empty() {
        return None;
    }
    // Only the canonical encoding of these bytes counts as "this leaf is base64".
    let again = match kind {
        Base64Kind::Standard => STANDARD.encode(&bytes),
        Base64Kind::Url => URL_SAFE_NO_PAD.encode(&bytes),
    };
    if again != value {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// `decodeURIComponent`: every `%` must start a `%XX` escape and the result must be UTF-8.
fn decode_percent(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let has_escape = bytes
        .windows(3)
        .any(|w| w[0] == b'%' && hex(w[1]).is_some() && hex(w[2]).is_some());
    if !has_escape {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex(*bytes.get(i + 1)?)?;
            let lo = hex(*bytes.get(i + 2)?)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_variants() {
        let card = "4111111111111111";
        assert_eq!(decode_leaf(&STANDARD.encode(card)).as_deref(), Some(card));
        assert_eq!(
            decode_leaf(&URL_SAFE_NO_PAD.encode(card)).as_deref(),
            Some(card)
        );
        // Too short to consider.
        assert_eq!(decode_leaf("QUJD"), None);
        // Not valid UTF-8 once decoded.
        assert_eq!(decode_leaf(&STANDARD.encode([0xFFu8; 18])), None);
    }

    #[test]
    fn percent_encoding() {
        assert_eq!(
            decode_leaf("card%204111111111111111%20on%20file").as_deref(),
            Some("card 4111111111111111 on file")
        );
        assert_eq!(
            decode_leaf("value with a bad %zz escape and a lone % here"),
            None
        );
        assert_eq!(decode_leaf("an incomplete %C3 sequence here"), None);
        assert_eq!(decode_leaf("no escapes at all in this leaf"), None);
    }
}
