//! Canonical AAD text: the exact bytes an envelope is bound to, so both sides must agree on them
//! to the byte.
//!
//! - v1 (`canonicalize`): keys sorted, values as `JSON.stringify` writes them.
//! - v2 (`nfkc-json-v2`, `canonicalizeCryptoAad`): keys and string values NFKC-normalized; two
//!   keys that normalize alike are an error (binding either would be ambiguous); and the sort
//!   runs over the serialized `"key":value` entries, not the bare keys, which orders keys such
//!   as `a` and `a b` differently from a key sort.
//!
//! Both sorts are JavaScript's default `Array.prototype.sort`: UTF-16 code-unit order.

use std::borrow::Cow;
use std::collections::HashSet;

use haechi_core::seams::Envelope;
use serde_json::Value;
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

use crate::error::CryptoError;
use haechi_core::js_json;

/// The `aadEncoding` of v2 envelopes.
pub const CRYPTO_AAD_ENCODING_V2: &str = "nfkc-json-v2";

/// Deeper AAD is refused rather than risking the stack; real AAD is a few levels deep.
pub const MAX_AAD_DEPTH: usize = 128;

/// The v1 canonical form (legacy envelopes): the same sorted-key text as the audit chain's.
pub fn canonicalize_v1(value: &Value) -> Result<String, CryptoError> {
    check_nesting(value, 0)?;
    Ok(js_json::canonical_json(value))
}

/// The v2 canonical form (`nfkc-json-v2`).
pub fn canonicalize_crypto_aad(value: &Value) -> Result<String, CryptoError> {
    let mut out = String::new();
    push_v2(&mut out, value, 0)?;
    Ok(out)
}

/// The canonical AAD an envelope was made with: v2 when it says `nfkc-json-v2` or `v: 2`,
/// else v1. An unknown encoding is refused rather than guessed.
pub(crate) fn canonical_aad_for_envelope(
    envelope: &Envelope,
    aad: &Value,
) -> Result<String, CryptoError> {
    match envelope.aad_encoding.as_deref() {
        Some(encoding) if !encoding.is_empty() && encoding != CRYPTO_AAD_ENCODING_V2 => {
            Err(CryptoError::UnsupportedAadEncoding)
        }
        Some(CRYPTO_AAD_ENCODING_V2) => canonicalize_crypto_aad(aad),
        _ if envelope.v == 2 => canonicalize_crypto_aad(aad),
        _ => canonicalize_v1(aad),
    }
}

fn check_depth(depth: usize) -> Result<(), CryptoError> {
    if depth > MAX_AAD_DEPTH {
        return Err(CryptoError::AadTooDeep {
            limit: MAX_AAD_DEPTH,
        });
    }
    Ok(())
}

fn check_nesting(value: &Value, depth: usize) -> Result<(), CryptoError> {
    check_depth(depth)?;
    match value {
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| check_nesting(item, depth + 1)),
        Value::Object(map) => map
            .values()
            .try_for_each(|item| check_nesting(item, depth + 1)),
        _ => Ok(()),
    }
}

fn push_v2(out: &mut String, value: &Value, depth: usize) -> Result<(), CryptoError> {
    check_depth(depth)?;
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_v2(out, item, depth + 1)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut seen: HashSet<Cow<'_, str>> = HashSet::with_capacity(map.len());
            let mut entries: Vec<String> = Vec::with_capacity(map.len());
            for (key, item) in map {
                let key = nfkc(key);
                let mut entry = String::with_capacity(key.len() + 16);
                js_json::push_string(&mut entry, &key);
                entry.push(':');
                if !seen.insert(key) {
                    return Err(CryptoError::AadKeyCollision);
                }
                push_v2(&mut entry, item, depth + 1)?;
                entries.push(entry);
            }
            entries.sort_by(|a, b| js_json::js_key_cmp(a, b));
            out.push('{');
            for (i, entry) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(entry);
            }
            out.push('}');
        }
        Value::String(text) => js_json::push_string(out, &nfkc(text)),
        scalar => out.push_str(&js_json::js_stringify(scalar)),
    }
    Ok(())
}

/// NFKC, borrowing when the text is already normalized (the common case).
fn nfkc(text: &str) -> Cow<'_, str> {
    if is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfkc().collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v2_normalizes_keys_and_string_values() {
        let aad =
            json!({"ｔｅｎａｎｔ": "ＡＣＭＥ", "nested": {"ｐａｔｈ": "messages[0].content"}});
        assert_eq!(
            canonicalize_crypto_aad(&aad).unwrap(),
            r#"{"nested":{"path":"messages[0].content"},"tenant":"ACME"}"#
        );
        // v1 keeps the text as is.
        assert_eq!(
            canonicalize_v1(&aad).unwrap(),
            r#"{"nested":{"ｐａｔｈ":"messages[0].content"},"ｔｅｎａｎｔ":"ＡＣＭＥ"}"#
        );
    }

    #[test]
    fn v2_sorts_entries_not_keys() {
        let aad = json!({"a": 1, "a b": 2});
        // `"a b":` sorts before `"a":` because ' ' (0x20) < '"' (0x22).
        assert_eq!(canonicalize_crypto_aad(&aad).unwrap(), r#"{"a b":2,"a":1}"#);
        assert_eq!(canonicalize_v1(&aad).unwrap(), r#"{"a":1,"a b":2}"#);
    }

    #[test]
    fn nfkc_key_collision_fails_closed() {
        let aad = json!({"\u{212B}": "angstrom-sign", "\u{00C5}": "latin-a-ring"});
        assert!(matches!(
            canonicalize_crypto_aad(&aad),
            Err(CryptoError::AadKeyCollision)
        ));
        let nested = json!({"ok": {"Ａ": 1, "A": 2}});
        assert!(matches!(
            canonicalize_crypto_aad(&nested),
            Err(CryptoError::AadKeyCollision)
        ));
        // v1 never normalized, so it has no collision to detect.
        assert!(canonicalize_v1(&aad).is_ok());
    }

    #[test]
    fn deep_aad_is_refused_not_overflowed() {
        let mut value = json!("leaf");
        for _ in 0..(MAX_AAD_DEPTH + 2) {
            value = json!([value]);
        }
        assert!(matches!(
            canonicalize_crypto_aad(&value),
            Err(CryptoError::AadTooDeep { .. })
        ));
        assert!(matches!(
            canonicalize_v1(&value),
            Err(CryptoError::AadTooDeep { .. })
        ));
    }

    #[test]
    fn envelope_version_selects_the_canonical_form() {
        let aad = json!({"ｋ": "ｖ"});
        let mut envelope = Envelope {
            v: 1,
            alg: None,
            kid: None,
            iv: String::new(),
            ct: String::new(),
            tag: String::new(),
            aad_hash: None,
            aad_encoding: None,
            created_at: None,
            expires_at: None,
        };
        assert_eq!(
            canonical_aad_for_envelope(&envelope, &aad).unwrap(),
            r#"{"ｋ":"ｖ"}"#
        );
        envelope.v = 2;
        assert_eq!(
            canonical_aad_for_envelope(&envelope, &aad).unwrap(),
            r#"{"k":"v"}"#
        );
        envelope.v = 1;
        envelope.aad_encoding = Some(CRYPTO_AAD_ENCODING_V2.into());
        assert_eq!(
            canonical_aad_for_envelope(&envelope, &aad).unwrap(),
            r#"{"k":"v"}"#
        );
        envelope.aad_encoding = Some("unknown-json-v99".into());
        assert!(matches!(
            canonical_aad_for_envelope(&envelope, &aad),
            Err(CryptoError::UnsupportedAadEncoding)
        ));
    }
}
