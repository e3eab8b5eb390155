//! Signed policy bundles, in the reference's frozen format (`packages/policy-bundle`).
//!
//! A bundle is one JSON object:
//!
//! ```json
//! { "version": 1, "alg": "HS256", "kid": "<key id>", "signedAt": "<ISO time>",
//!   "policy": { … }, "signature": "<base64url>" }
//! ```
//!
//! `signature` is `base64url(HMAC-SHA256(signingKey, canonical(payload)))` where `payload` is
//! the bundle without `signature`, `canonical` is the reference's sorted-key JSON
//! ([`haechi_core::audit::canonical_json`]) and `signingKey = HMAC-SHA256(k, DOMAIN)` is
//! derived from the key file entry named by `kid`. The derivation keeps the AES key of the key
//! file from ever being used as an HMAC key directly. Any key of the file verifies (a bundle
//! signed before a rotation keeps verifying); new bundles are signed with the active key.
//!
//! Verification is fail closed and deliberately a little stricter than the reference in what
//! it accepts as a bundle (`version` must be 1, `kid` and `signedAt` strings, `policy` an
//! object): every bundle the reference's signer writes passes.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use haechi_core::audit::canonical_json;
use ring::hmac;
use serde_json::{Map, Value};

use crate::check;
use crate::encoding::{b64url, b64url_strict};
use crate::error::CryptoError;
use crate::provider::printable_kid;
use crate::timestamp::now_iso;
use haechi_core::js_json;

/// The bundle's `alg`: HMAC-SHA256.
pub const POLICY_BUNDLE_ALG: &str = "HS256";
/// The one bundle format `version`.
pub const POLICY_BUNDLE_VERSION: u64 = 1;
/// The domain the signing key is derived under.
pub const POLICY_BUNDLE_SIGNING_DOMAIN: &str = "haechi:policy-bundle:signing:v1";

/// Why a bundle was refused. No message carries policy content, a signature or key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The text is not JSON. Only the position is reported.
    #[error("it is not valid JSON (line {line}, column {column}); sign the policy again with `haechi policy-sign`")]
    NotJson { line: usize, column: usize },

    /// Not a bundle of the supported format; `reason` is our own wording.
    #[error("Invalid policy bundle: {reason}; sign the policy again with `haechi policy-sign`")]
    Malformed { reason: &'static str },

    /// The kid names no key of the key file (the kid is shown only when it looks like one).
    #[error("it was signed with key {}, which key file {} does not hold; point keys.keyFile at the key file that signed it, or sign the policy again with `haechi policy-sign`", kid.as_deref().unwrap_or("<unprintable kid>"), key_file.display())]
    UnknownKid {
        kid: Option<String>,
        key_file: PathBuf,
    },

    /// The signature does not match the content under the named key.
    #[error("Policy bundle signature verification failed: it was changed after signing or signed with a different key file; restore the signed bundle or sign the policy again with `haechi policy-sign`")]
    SignatureMismatch,

    /// The key file itself cannot be used.
    #[error("{0}")]
    Key(#[from] CryptoError),
}

impl BundleError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::NotJson { .. } | BundleError::Malformed { .. } => {
                "haechi_policy_bundle_invalid"
            }
            BundleError::UnknownKid { .. } => "haechi_policy_bundle_unknown_kid",
            BundleError::SignatureMismatch => "haechi_policy_bundle_signature_invalid",
            BundleError::Key(inner) => inner.code(),
        }
    }
}

/// A signed bundle, ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyBundle {
    pub kid: String,
    pub signed_at: String,
    pub policy: Value,
    pub signature: String,
}

impl PolicyBundle {
    /// The bundle object, fields in the reference's order.
    pub fn to_value(&self) -> Value {
        let mut bundle = payload(&self.kid, &self.signed_at, &self.policy);
        bundle.insert("signature".into(), Value::String(self.signature.clone()));
        Value::Object(bundle)
    }

    /// The file text the reference writes: `JSON.stringify(bundle, null, 2)` and a newline.
    pub fn to_file_text(&self) -> String {
        js_json::stringify_pretty_line(&self.to_value())
    }
}

/// What a verified bundle vouches for.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedBundle {
    pub kid: String,
    pub signed_at: String,
    /// The policy exactly as signed (not yet checked as a `policy` section).
    pub policy: Value,
}

/// The bundle signing keys of one key file: every kid, each with its derived signing key.
pub struct PolicyBundleKeys {
    path: PathBuf,
    active_kid: String,
    keys: HashMap<String, hmac::Key>,
}

impl fmt::Debug for PolicyBundleKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyBundleKeys")
            .field("path", &self.path)
            .field("active_kid", &self.active_kid)
            .finish_non_exhaustive()
    }
}

impl PolicyBundleKeys {
    /// Read and validate the key file and derive a signing key for each of its keys.
    pub fn open(key_file: impl AsRef<Path>) -> Result<Self, BundleError> {
        let path = key_file.as_ref().to_path_buf();
        let loaded = check::open(&path)?.keys;
        let keys = loaded
            .keys
            .iter()
            .map(|(kid, bytes)| {
                let raw = hmac::Key::new(hmac::HMAC_SHA256, &bytes.0);
                let derived = hmac::sign(&raw, POLICY_BUNDLE_SIGNING_DOMAIN.as_bytes());
                (
                    kid.clone(),
                    hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
                )
            })
            .collect();
        Ok(PolicyBundleKeys {
            path,
            active_kid: loaded.active_kid,
            keys,
        })
    }

    /// The kid new bundles are signed with (the active key, else the file's first key).
    pub fn active_kid(&self) -> &str {
        &self.active_kid
    }

    /// Sign `policy` with the active key, stamped now.
    pub fn sign(&self, policy: Value) -> Result<PolicyBundle, BundleError> {
        self.sign_at(policy, now_iso())
    }

    /// Sign `policy` with the active key and the given `signedAt`.
    pub fn sign_at(&self, policy: Value, signed_at: String) -> Result<PolicyBundle, BundleError> {
        if !policy.is_object() {
            return Err(BundleError::Malformed {
                reason: "the policy must be a JSON object",
            });
        }
        let policy = js_property_order(policy);
        let key = self.key(&self.active_kid)?;
        let canonical = canonical_json(&Value::Object(payload(
            &self.active_kid,
            &signed_at,
            &policy,
        )));
        let signature = b64url(hmac::sign(key, canonical.as_bytes()).as_ref());
        Ok(PolicyBundle {
            kid: self.active_kid.clone(),
            signed_at,
            policy,
            signature,
        })
    }

    /// Check a parsed bundle: its shape, then that its kid is one of ours, then its signature.
    pub fn verify(&self, bundle: &Value) -> Result<VerifiedBundle, BundleError> {
        let Some(fields) = bundle.as_object() else {
            return Err(malformed("it is not a JSON object"));
        };
        if fields.get("alg").and_then(Value::as_str) != Some(POLICY_BUNDLE_ALG) {
            return Err(malformed("`alg` must be \"HS256\""));
        }
        let policy = match fields.get("policy") {
            Some(policy @ Value::Object(_)) => policy,
            _ => return Err(malformed("`policy` must be a JSON object")),
        };
        let signature = match fields.get("signature") {
            Some(Value::String(text)) if !text.is_empty() => text,
            _ => return Err(malformed("`signature` must be a non-empty string")),
        };
        if !is_version_one(fields.get("version")) {
            return Err(malformed("`version` must be 1"));
        }
        let kid = match fields.get("kid") {
            Some(Value::String(kid)) if !kid.is_empty() => kid,
            _ => return Err(malformed("`kid` must be a non-empty string")),
        };
        let Some(Value::String(signed_at)) = fields.get("signedAt") else {
            return Err(malformed("`signedAt` must be a string"));
        };

        let key = self.key(kid)?;
        let canonical = canonical_json(&Value::Object(payload(kid, signed_at, policy)));
        // The signature text must be exactly the unpadded base64url of the tag, as the
        // reference compares the text; ring then compares the tag in constant time.
        let tag = b64url_strict(signature).ok_or(BundleError::SignatureMismatch)?;
        hmac::verify(key, canonical.as_bytes(), &tag)
            .map_err(|_| BundleError::SignatureMismatch)?;
        Ok(VerifiedBundle {
            kid: kid.clone(),
            signed_at: signed_at.clone(),
            policy: js_property_order(policy.clone()),
        })
    }

    fn key(&self, kid: &str) -> Result<&hmac::Key, BundleError> {
        self.keys.get(kid).ok_or_else(|| BundleError::UnknownKid {
            kid: printable_kid(kid),
            key_file: self.path.clone(),
        })
    }
}

/// Parse bundle text as JavaScript's `JSON.parse` would (numbers as doubles, the last of
/// duplicate keys), so the canonical text matches the signer's byte for byte.
pub fn parse_policy_bundle(text: &str) -> Result<Value, BundleError> {
    // serde_json reports the position of a syntax error; the values come from the JS parser.
    if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err(BundleError::NotJson {
            line: error.line(),
            column: error.column(),
        });
    }
    haechi_core::audit::parse_js_json(text.as_bytes())
        .ok_or(BundleError::NotJson { line: 0, column: 0 })
}

/// Parse and verify bundle text against a key file in one step.
pub fn verify_policy_bundle(
    text: &str,
    key_file: impl AsRef<Path>,
) -> Result<VerifiedBundle, BundleError> {
    let keys = PolicyBundleKeys::open(key_file)?;
    keys.verify(&parse_policy_bundle(text)?)
}

/// The signed payload: every bundle field but `signature`, in the reference's order.
fn payload(kid: &str, signed_at: &str, policy: &Value) -> Map<String, Value> {
    let mut out = Map::with_capacity(6);
    out.insert("version".into(), Value::from(POLICY_BUNDLE_VERSION));
    out.insert("alg".into(), Value::String(POLICY_BUNDLE_ALG.into()));
    out.insert("kid".into(), Value::String(kid.into()));
    out.insert("signedAt".into(), Value::String(signed_at.into()));
    out.insert("policy".into(), policy.clone());
    out
}

/// Objects re-laid in the order a JavaScript object lists its properties: array-index keys
/// (`"0"`, `"2"`, `"10"`, ...) ascending first, then the others in insertion order. The
/// signature does not depend on it (the canonical form sorts), but the written bundle and the
/// verified policy then read exactly as the reference writes and prints them.
fn js_property_order(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut indexed = Vec::new();
            let mut named = Map::with_capacity(map.len());
            for (key, item) in map {
                let item = js_property_order(item);
                match array_index(&key) {
                    Some(index) => indexed.push((index, key, item)),
                    None => {
                        named.insert(key, item);
                    }
                }
            }
            if indexed.is_empty() {
                return Value::Object(named);
            }
            indexed.sort_by_key(|(index, _, _)| *index);
            let mut out = Map::with_capacity(indexed.len() + named.len());
            out.extend(indexed.into_iter().map(|(_, key, item)| (key, item)));
            out.extend(named);
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(js_property_order).collect()),
        other => other,
    }
}

/// An ECMAScript array index: the canonical decimal form of an integer below 2^32 - 1.
fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || key.len() > 10 || (key.len() > 1 && key.starts_with('0')) {
        return None;
    }
    if !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u64>()
        .ok()
        .filter(|n| *n < u64::from(u32::MAX))
        .and_then(|n| u32::try_from(n).ok())
}

/// `1` or `1.0`: both are the number 1 to the reference's `JSON.parse`.
fn is_version_one(version: Option<&Value>) -> bool {
    version.and_then(Value::as_f64) == Some(1.0)
}

fn malformed(reason: &'static str) -> BundleError {
    BundleError::Malformed { reason }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "tests/bundle.rs"]
mod tests;
