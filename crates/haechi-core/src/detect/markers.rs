//! Haechi's own transform markers in RESPONSE text (`[TOKEN:…]`, `[HAECHI_ENC:…]`,
//! `[REDACTED:<type>]`), so an echoed token is not re-detected as a secret.
//!
//! Only a well-formed marker is skipped, so a hostile upstream cannot hide a secret by
//! wrapping it in a fake one:
//! - `[REDACTED:<type>]`: `<type>` is a detection type this detector knows;
//! - `[TOKEN:tok_<type>_<hex>]` (vault id, 16–64 hex) or `[TOKEN:<type>:<hex>]` (8–64 hex),
//!   with `<type>` a known type;
//! - `[HAECHI_ENC:<base64url>]`: canonical unpadded base64url of a UTF-8 JSON object shaped
//!   like an envelope (string `kid`, base64url `iv`/`ct`/`tag`, a SHA-256 `aadHash`, and no
//!   keys outside the envelope's);
//!
//! and in every case the marker text must itself contain nothing detectable.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

const KINDS: [(&[u8], Kind); 3] = [
    (b"TOKEN:", Kind::Token),
    (b"HAECHI_ENC:", Kind::Enc),
    (b"REDACTED:", Kind::Redacted),
];

/// Longest inner text considered (a real envelope of a long value stays well under this).
const MAX_INNER: usize = 64 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Token,
    Enc,
    Redacted,
}

/// Byte spans `[start, end)` of genuine markers in `text`. `known_type` says whether a name
/// is a detection type; `detectable` whether a string contains any detection.
pub(crate) fn genuine_spans(
    text: &str,
    known_type: &dyn Fn(&str) -> bool,
    detectable: &dyn Fn(&str) -> bool,
) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(offset) = memchr::memchr(b'[', &bytes[at..]) {
        let open = at + offset;
        at = open + 1;
        let rest = &bytes[open + 1..];
        let Some(&(prefix, kind)) = KINDS.iter().find(|(p, _)| rest.starts_with(p)) else {
            continue;
        };
        let inner_start = open + 1 + prefix.len();
        let Some(close) = memchr::memchr(b']', &bytes[inner_start..]).map(|i| inner_start + i)
        else {
            continue;
        };
        // Matches do not overlap: continue after this marker whether or not it is genuine.
        at = close + 1;
        let inner = &text[inner_start..close];
        let genuine = match kind {
            Kind::Redacted => is_type_name(inner) && known_type(inner) && !detectable(inner),
            Kind::Token => token_type(inner)
                .is_some_and(|ty| known_type(ty) && !detectable(inner) && !detectable(ty)),
            Kind::Enc => is_envelope(inner) && !detectable(inner),
        };
        if genuine {
            spans.push((open, close + 1));
        }
    }
    spans
}

/// A detection type name as Haechi writes it into markers: `[a-z][a-z0-9_]*`, bounded.
fn is_type_name(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=64).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

fn is_lower_hex(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The `<type>` of a well-formed token marker body.
fn token_type(inner: &str) -> Option<&str> {
    if let Some(rest) = inner.strip_prefix("tok_") {
        if let Some((ty, hex)) = rest.rsplit_once('_') {
            if is_type_name(ty) && is_lower_hex(hex, 16, 64) {
                return Some(ty);
            }
        }
    }
    let (ty, hex) = inner.split_once(':')?;
    (is_type_name(ty) && is_lower_hex(hex, 8, 64)).then_some(ty)
}

fn is_base64url(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

const ENVELOPE_KEYS: [&str; 11] = [
    "v",
    "alg",
    "kid",
    "iv",
    "ct",
    "tag",
    "aadHash",
    "aadEncoding",
    "createdAt",
    "expiresAt",
    "wrappedKey",
];

fn is_envelope(inner: &str) -> bool {
    if inner.len() > MAX_INNER || !is_base64url(inner) {
        return false;
    }
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(inner) else {
        return false;
    };
    if URL_SAFE_NO_PAD.encode(&bytes) != inner {
        return false;
    }
    let Ok(object) = serde_json::from_slice::<Map<String, Value>>(&bytes) else {
        return false;
    };
    let string = |key: &str| object.get(key).and_then(Value::as_str);
    let keys_ok = object.keys().all(|k| ENVELOPE_KEYS.contains(&k.as_str()));
    let kid_ok = string("kid").is_some_and(|k| (1..=256).contains(&k.len()));
    let aad_ok = string("aadHash")
        .is_some_and(|h| (h.len() == 43 && is_base64url(h)) || is_lower_hex(h, 64, 64));
    let blobs_ok = ["iv", "ct", "tag"]
        .iter()
        .all(|k| string(k).is_some_and(|v| v.is_empty() || is_base64url(v)));
    keys_ok && kid_ok && aad_ok && blobs_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(t: &str) -> bool {
        matches!(t, "email" | "card" | "secret" | "it_codice_fiscale")
    }

    fn spans(text: &str) -> Vec<(usize, usize)> {
        genuine_spans(text, &known, &|s: &str| s.contains("sk-ant-"))
    }

    fn envelope(extra: &str) -> String {
        let json = format!(
            r#"{{"v":2,"alg":"A256GCM","kid":"local-1","iv":"AAAAAAAAAAAAAAAA","ct":"ZHVtbXk","tag":"AAAAAAAAAAAAAAAAAAAAAA","aadHash":"{}"{extra}}}"#,
            "a".repeat(43)
        );
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn genuine_markers_are_found() {
        let text =
            "a [TOKEN:tok_email_a6d376389bb21964] b [TOKEN:card:0123456789ab] c [REDACTED:email]";
        assert_eq!(spans(text).len(), 3);
        let enc = format!("x [HAECHI_ENC:{}] y", envelope(""));
        assert_eq!(spans(&enc).len(), 1);
    }

    #[test]
    fn fake_markers_are_not() {
        for text in [
            "[TOKEN:sk-ant-api03-EXAMPLE0123456789abcdef]",
            "[REDACTED:sk-ant-api03-EXAMPLE0123456789abcdef]",
            "[HAECHI_ENC:sk-ant-api03-EXAMPLE0123456789abcdef]",
            "[TOKEN:secret:sk-ant-api03-EXAMPLE]",
            "[REDACTED:not_a_known_type]",
            "[TOKEN:tok_mystery_a6d376389bb21964]",
            "[TOKEN:tok_email_a6d3]",
        ] {
            assert!(spans(text).is_empty(), "{text}");
        }
        // An envelope-shaped body with a field outside the envelope's keys.
        let odd = format!("[HAECHI_ENC:{}]", envelope(r#","note":"hi""#));
        assert!(spans(&odd).is_empty());
    }
}
