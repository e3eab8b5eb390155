//! The local key file: reading and validating it, creating and rotating it (`haechi init`).
//!
//! On disk it is the reference's JSON, pretty-printed with two spaces and a trailing newline:
//!
//! ```json
//! { "version": 1, "createdAt": "…Z",
//!   "keys": [ { "kid": "local-<ms>-<6 hex>", "kty": "oct", "alg": "AES-256-GCM",
//!               "status": "active", "k": "<base64url 32 bytes>", "usage": 1048576 } ] }
//! ```
//!
//! The document is handled as a `serde_json::Value` (insertion-ordered), so fields we do not
//! know survive every rewrite in place. Writes are atomic and `0600`, through a symlink to its
//! target ([`crate::private_file`]). What every opener checks first is in [`crate::check`].

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::encoding::{b64_lenient, b64url, hex};
use crate::error::CryptoError;
use crate::private_file::{self, write_private_file_atomic};
use crate::timestamp::{now_iso, now_millis};
use haechi_core::js_json;

/// The one algorithm of the local provider.
pub const ALG: &str = "AES-256-GCM";
const KEY_LEN: usize = 32;

/// A 32-byte AES key held only while the provider builds its ring keys; zeroed on drop
/// (best effort) and never printed.
pub(crate) struct KeyBytes(pub(crate) [u8; KEY_LEN]);

impl Drop for KeyBytes {
    fn drop(&mut self) {
        self.0 = [0; KEY_LEN];
    }
}

impl std::fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyBytes(<redacted>)")
    }
}

/// A validated key file.
#[derive(Debug)]
pub(crate) struct LoadedKeys {
    pub(crate) active_kid: String,
    /// True when no key was marked active and the first one was taken (the reference's fallback).
    pub(crate) active_by_fallback: bool,
    pub(crate) keys: HashMap<String, KeyBytes>,
}

/// What `haechi init` did to the key file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInitOutcome {
    /// False when a valid key file was already there and was kept untouched.
    pub created: bool,
    pub key_file: PathBuf,
    /// When a file was written: whether earlier keys were retired into it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotated: Option<bool>,
    /// The kid of the key that is now active (new or kept).
    pub active_kid: String,
}

/// Read the key file's text; a missing file is its own error.
pub(crate) fn read_text(path: &Path) -> Result<String, CryptoError> {
    fs::read_to_string(path).map_err(|source| read_error(path, source))
}

/// An I/O error reading the key file, as the operator should see it.
pub(crate) fn read_error(path: &Path, source: io::Error) -> CryptoError {
    match source.kind() {
        io::ErrorKind::NotFound => CryptoError::KeyFileMissing {
            path: path.to_path_buf(),
        },
        io::ErrorKind::InvalidData => CryptoError::KeyFileMalformed {
            path: path.to_path_buf(),
            reason: "it is not UTF-8 text".into(),
        },
        _ => CryptoError::KeyFileUnreadable {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// Parse key file text as JSON. The error names the position only, never the text.
pub(crate) fn parse_document(path: &Path, text: &str) -> Result<Value, CryptoError> {
    serde_json::from_str(text).map_err(|e| CryptoError::KeyFileMalformed {
        path: path.to_path_buf(),
        reason: format!(
            "it is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
    })
}

fn malformed(path: &Path, reason: &str) -> CryptoError {
    CryptoError::KeyFileMalformed {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    }
}

/// The `keys` array of a key file document; absent, empty or non-array is an error.
pub(crate) fn key_entries<'a>(path: &Path, doc: &'a Value) -> Result<&'a [Value], CryptoError> {
    match doc.get("keys") {
        Some(Value::Array(entries)) if !entries.is_empty() => Ok(entries),
        Some(Value::Array(_)) | None | Some(Value::Null) => Err(CryptoError::NoKeys {
            path: path.to_path_buf(),
        }),
        Some(_) => Err(malformed(path, "`keys` must be an array")),
    }
}

/// The entry that encryption uses: the first with `status: "active"`, else (unless
/// `require_active`) the first entry. Returns the entry and whether it was a fallback.
pub(crate) fn active_entry<'a>(
    path: &Path,
    entries: &'a [Value],
    require_active: bool,
) -> Result<(&'a Value, bool), CryptoError> {
    if let Some(entry) = entries
        .iter()
        .find(|e| e.get("status").and_then(Value::as_str) == Some("active"))
    {
        return Ok((entry, false));
    }
    match entries.first() {
        Some(first) if !require_active => Ok((first, true)),
        _ => Err(CryptoError::NoActiveKey {
            path: path.to_path_buf(),
        }),
    }
}

pub(crate) fn entry_kid<'a>(path: &Path, entry: &'a Value) -> Result<&'a str, CryptoError> {
    match entry.get("kid").and_then(Value::as_str) {
        Some(kid) if !kid.is_empty() => Ok(kid),
        _ => Err(malformed(path, "every key needs a non-empty string `kid`")),
    }
}

/// Validate a whole document: every key decodes to 32 bytes, kids are unique strings.
pub(crate) fn validate(
    path: &Path,
    doc: &Value,
    require_active: bool,
) -> Result<LoadedKeys, CryptoError> {
    if !doc.is_object() {
        return Err(malformed(path, "the top level must be a JSON object"));
    }
    let entries = key_entries(path, doc)?;
    let mut keys = HashMap::with_capacity(entries.len());
    for entry in entries {
        if !entry.is_object() {
            return Err(malformed(path, "every entry of `keys` must be an object"));
        }
        let kid = entry_kid(path, entry)?;
        let bytes = entry.get("k").and_then(Value::as_str).map(b64_lenient);
        let key = match bytes.as_deref().map(<[u8; KEY_LEN]>::try_from) {
            Some(Ok(key)) => KeyBytes(key),
            _ => {
                return Err(CryptoError::BadKeyLength {
                    path: path.to_path_buf(),
                    kid: kid.to_owned(),
                })
            }
        };
        if keys.insert(kid.to_owned(), key).is_some() {
            // Two different keys under one kid would make decryption pick one arbitrarily.
            return Err(malformed(path, "two keys share one `kid`"));
        }
    }
    let (active, active_by_fallback) = active_entry(path, entries, require_active)?;
    Ok(LoadedKeys {
        active_kid: entry_kid(path, active)?.to_owned(),
        active_by_fallback,
        keys,
    })
}

/// Create the key file, or keep a valid existing one, or (with `force`) rotate it.
///
/// - Missing file: parent directories are created and a file with one active key is written.
/// - Existing file, no `force`: it must be valid and have an explicitly active key; it is left
///   byte-for-byte untouched.
/// - `force`: a fresh active key goes first; every earlier entry is kept (unknown fields too)
///   with `active` turned into `retired`, so old envelopes and vault records still decrypt by kid.
pub fn init_local_key_file(
    path: impl AsRef<Path>,
    force: bool,
) -> Result<KeyInitOutcome, CryptoError> {
    let path = path.as_ref();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|source| CryptoError::KeyFileWrite {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let _lock = private_file::lock(path);
    let existing = match read_text(path) {
        Ok(text) => Some(parse_document(path, &text)?),
        Err(CryptoError::KeyFileMissing { .. }) => None,
        Err(other) => return Err(other),
    };

    if let (Some(doc), false) = (&existing, force) {
        let loaded = validate(path, doc, true)?;
        return Ok(KeyInitOutcome {
            created: false,
            key_file: path.to_path_buf(),
            rotated: None,
            active_kid: loaded.active_kid,
        });
    }

    let retired = match existing.as_ref().and_then(|doc| doc.get("keys")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) => entries.iter().cloned().map(retire).collect(),
        Some(_) => return Err(malformed(path, "`keys` must be an array")),
    };
    let rng = SystemRandom::new();
    let kid = new_kid(&rng)?;
    let mut key = [0u8; KEY_LEN];
    rng.fill(&mut key).map_err(|_| CryptoError::RandomFailed)?;
    let key = KeyBytes(key);

    let mut entry = Map::new();
    entry.insert("kid".into(), Value::String(kid.clone()));
    entry.insert("kty".into(), Value::String("oct".into()));
    entry.insert("alg".into(), Value::String(ALG.into()));
    entry.insert("status".into(), Value::String("active".into()));
    entry.insert("k".into(), Value::String(b64url(&key.0)));
    let rotated = !retired.is_empty();
    let mut keys = Vec::with_capacity(retired.len() + 1);
    keys.push(Value::Object(entry));
    keys.extend(retired);

    let mut doc = Map::new();
    doc.insert("version".into(), Value::from(1));
    doc.insert("createdAt".into(), Value::String(now_iso()));
    doc.insert("keys".into(), Value::Array(keys));
    write_document(path, &Value::Object(doc)).map_err(|source| CryptoError::KeyFileWrite {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(KeyInitOutcome {
        created: true,
        key_file: path.to_path_buf(),
        rotated: Some(rotated),
        active_kid: kid,
    })
}

/// An earlier entry as it is kept after a rotation: only `status: "active"` changes.
fn retire(mut entry: Value) -> Value {
    if let Some(status) = entry.get_mut("status") {
        if status.as_str() == Some("active") {
            *status = Value::String("retired".into());
        }
    }
    entry
}

/// `local-<epoch ms>-<6 hex>`.
fn new_kid(rng: &SystemRandom) -> Result<String, CryptoError> {
    let mut suffix = [0u8; 3];
    rng.fill(&mut suffix)
        .map_err(|_| CryptoError::RandomFailed)?;
    Ok(format!("local-{}-{}", now_millis(), hex(&suffix)))
}

/// Write a key file document in the reference's layout, atomically, mode 0600 (through a
/// symlink to its target).
pub(crate) fn write_document(path: &Path, doc: &Value) -> io::Result<()> {
    write_private_file_atomic(path, js_json::stringify_pretty_line(doc).as_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "tests/keyfile.rs"]
mod tests;
