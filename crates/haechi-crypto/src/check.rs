//! The one check every user of the key file runs before trusting it: the provider
//! ([`LocalKeyProvider::open`](crate::LocalKeyProvider::open): `protect`, `proxy`, the vault),
//! the policy-bundle keys and `haechi status` ([`check_key_file`]). So a file that one command
//! refuses, every command refuses, with the same words.
//!
//! In order: the file exists and is readable; on Unix its mode gives group and others nothing
//! (like ssh's "UNPROTECTED PRIVATE KEY FILE": a key file readable by others is refused, and the
//! message says `chmod 600 <file>`); it is a valid key file. Then temporary copies a killed
//! write left beside it are removed. A symlinked key file is accepted and checked at its target.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::budget::{budget_status, CryptoWarning, NonceBudget, NonceBudgetStatus};
use crate::error::CryptoError;
use crate::keyfile::{self, LoadedKeys};
use crate::private_file;

/// Warning code: no key is marked active, so the first key of the file is used.
pub const WARN_NO_ACTIVE_KEY: &str = "HAECHI_NO_ACTIVE_KEY";
/// Warning code: temporary copies of the key file left by an interrupted write were removed.
pub const WARN_STALE_KEY_COPIES: &str = "HAECHI_KEY_FILE_STALE_COPIES";

/// A key file that passed the check, as `haechi status` shows it. Never holds key material.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyFileCheck {
    pub key_file: PathBuf,
    /// The file the key file's symlink points to (reads and writes go there).
    pub link_target: Option<PathBuf>,
    /// The kid new envelopes are made with.
    pub active_kid: String,
    /// How many keys (active and retired) the file holds.
    pub key_count: usize,
    /// Stale temporary copies removed by this check.
    pub stale_copies_removed: usize,
    pub nonce_budget: NonceBudgetStatus,
    /// What the operator should know (no active key, stale copies removed).
    pub warnings: Vec<CryptoWarning>,
}

/// Run the check on a key file with the production nonce budget.
pub fn check_key_file(path: impl AsRef<Path>) -> Result<KeyFileCheck, CryptoError> {
    check_key_file_with(path, NonceBudget::default())
}

/// [`check_key_file`] against a given nonce budget.
pub fn check_key_file_with(
    path: impl AsRef<Path>,
    budget: NonceBudget,
) -> Result<KeyFileCheck, CryptoError> {
    let path = path.as_ref();
    let opened = open(path)?;
    let nonce_budget = budget_status(path, &opened.doc, budget)?;
    let link_target = fs::symlink_metadata(path)
        .is_ok_and(|meta| meta.file_type().is_symlink())
        .then(|| private_file::resolve(path).ok())
        .flatten();
    Ok(KeyFileCheck {
        key_file: path.to_path_buf(),
        link_target,
        active_kid: opened.keys.active_kid.clone(),
        key_count: opened.keys.keys.len(),
        stale_copies_removed: opened.stale_copies_removed,
        nonce_budget,
        warnings: opened.warnings,
    })
}

/// A key file that passed the check.
pub(crate) struct Opened {
    pub(crate) keys: LoadedKeys,
    pub(crate) doc: Value,
    pub(crate) stale_copies_removed: usize,
    pub(crate) warnings: Vec<CryptoWarning>,
}

/// Check and load a key file: the provider's and the bundle keys' way in.
pub(crate) fn open(path: &Path) -> Result<Opened, CryptoError> {
    let meta = fs::metadata(path).map_err(|source| keyfile::read_error(path, source))?;
    if !meta.is_file() {
        return Err(CryptoError::KeyFileUnreadable {
            path: path.to_path_buf(),
            source: std::io::Error::other("it is not a regular file"),
        });
    }
    refuse_open_mode(path, &meta)?;
    let doc = keyfile::parse_document(path, &keyfile::read_text(path)?)?;
    let keys = keyfile::validate(path, &doc, false)?;
    // Only once the key file itself is known good are its temp copies expendable: beside a
    // damaged file they may be the one intact copy of the keys.
    let stale_copies_removed = private_file::remove_stale_temps(path);

    let mut warnings = Vec::new();
    if keys.active_by_fallback {
        warnings.push(CryptoWarning {
            code: WARN_NO_ACTIVE_KEY,
            message: format!(
                "no key in {} is marked \"active\"; encrypting with the first key ({}); run `haechi init --force` to make a fresh active key",
                path.display(),
                keys.active_kid
            ),
        });
    }
    if stale_copies_removed > 0 {
        let copies = if stale_copies_removed == 1 {
            "copy"
        } else {
            "copies"
        };
        warnings.push(CryptoWarning {
            code: WARN_STALE_KEY_COPIES,
            message: format!(
                "removed {stale_copies_removed} stale temporary {copies} of key file {} left by an interrupted write (a process killed while updating it)",
                path.display()
            ),
        });
    }
    Ok(Opened {
        keys,
        doc,
        stale_copies_removed,
        warnings,
    })
}

/// Refuse a key file that group or others may read, write or execute.
#[cfg(unix)]
fn refuse_open_mode(path: &Path, meta: &fs::Metadata) -> Result<(), CryptoError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    Err(CryptoError::KeyFileTooOpen {
        path: path.to_path_buf(),
        mode,
    })
}

#[cfg(not(unix))]
fn refuse_open_mode(_path: &Path, _meta: &fs::Metadata) -> Result<(), CryptoError> {
    Ok(())
}
