//! Byte encodings as the reference's Node `Buffer` produces and reads them.
//!
//! Writing is always unpadded base64url. Reading key and envelope fields is deliberately as lax
//! as Node's `Buffer.from(s, "base64url")` (both alphabets, characters outside them skipped,
//! stop at the first `=`), so a file or envelope Node accepts is accepted here too; the lengths
//! are then checked strictly by the caller. Marker parsing uses the strict decoder instead.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Unpadded base64url.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict unpadded base64url: only `[A-Za-z0-9_-]`, canonical trailing bits (so the text
/// round-trips). `None` on anything else.
pub(crate) fn b64url_strict(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Node-compatible lenient base64/base64url decoding.
pub(crate) fn b64_lenient(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for byte in text.bytes() {
        let sextet = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // Expected bytes checked with node v20: Buffer.from(s, "base64url").toString("hex").
    #[test]
    fn lenient_decoding_matches_node_buffer() {
        let cases: &[(&str, &str)] = &[
            ("AAEC", "000102"),
            ("AAE=", "0001"),
            ("AAE", "0001"),
            ("AA+/", "000fbf"),
            ("AA-_", "000fbf"),
            ("A A E C", "000102"),
            ("AA!EC", "000102"),
            ("AAEC==", "000102"),
            ("AAF", "0001"),
            ("A", ""),
            ("AB=CD", "00"),
        ];
        for (input, expected) in cases {
            assert_eq!(hex(&b64_lenient(input)), *expected, "input {input:?}");
        }
    }

    #[test]
    fn strict_decoding_rejects_what_does_not_round_trip() {
        assert_eq!(b64url_strict("AAEC"), Some(vec![0, 1, 2]));
        assert_eq!(b64url_strict("AAE"), Some(vec![0, 1]));
        assert_eq!(b64url_strict("AAF"), None, "non-canonical trailing bits");
        assert_eq!(b64url_strict("AAE="), None, "padding");
        assert_eq!(b64url_strict("AA+/"), None, "standard alphabet");
        assert_eq!(b64url_strict("A"), None);
    }

    #[test]
    fn encodes_unpadded_base64url_and_lowercase_hex() {
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
    }
}
