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
#[path = "tests/aad.rs"]
mod tests;
