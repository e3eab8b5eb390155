//! Importing the reference's JSON vault, so tokens it issued keep working after a switch.
//!
//! An import is idempotent. The file's SHA-256 is remembered per source path, so an unchanged
//! file is skipped without touching the tokens table; a changed file is merged again. A merge
//! never replaces a record already in the database (it may only push its expiry later, as a
//! deterministic reuse on the reference side would have), and never brings back a token it
//! imported before that has since been purged or pruned here.

use std::path::Path;

use haechi_core::hash::sha256_hex;
use haechi_core::seams::Envelope;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::VaultError;
use super::records::{self, VaultRecord};

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// The file was imported before and has not changed since: nothing was read into the
    /// database.
    pub unchanged: bool,
    /// Records added.
    pub imported: u64,
    /// Tokens already in the database (kept; see `refreshed`).
    pub existing: u64,
    /// Of `existing`, those whose expiry was pushed to the file's later `expiresAt`.
    pub refreshed: u64,
    /// Tokens imported earlier and since purged or pruned here: not restored.
    pub previously_removed: u64,
    /// Entries that are not a well-formed record (no type, createdAt or envelope).
    pub invalid: u64,
}

pub(crate) fn import_json_vault(
    conn: &mut Connection,
    json_path: &Path,
    db_path: &Path,
) -> Result<ImportReport, VaultError> {
    let fail = |reason: &str| VaultError::Import {
        path: json_path.to_path_buf(),
        reason: reason.to_owned(),
    };
    let bytes = std::fs::read(json_path).map_err(|e| fail(&e.to_string()))?;
    let digest = sha256_hex(&bytes);
    let vault: Value = serde_json::from_slice(&bytes).map_err(|_| {
        fail("the file is not valid JSON; restore it from a backup or move it aside")
    })?;
    let Some(tokens) = vault.get("tokens").and_then(Value::as_object) else {
        return Err(fail("the file has no \"tokens\" object"));
    };
    // One source per file, however the config spells its path.
    let source = std::fs::canonicalize(json_path)
        .unwrap_or_else(|_| json_path.to_path_buf())
        .to_string_lossy()
        .into_owned();

    let db_err = |action: &'static str| {
        move |source| VaultError::Database {
            action,
            path: db_path.to_path_buf(),
            source,
        }
    };
    // Checked inside the write transaction, so processes opening the vault at once import
    // the file once between them.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err("begin a write on"))?;
    if last_digest(&tx, &source)
        .map_err(db_err("read"))?
        .as_deref()
        == Some(digest.as_str())
    {
        return Ok(ImportReport {
            unchanged: true,
            ..ImportReport::default()
        });
    }
    let mut report = ImportReport::default();
    for (token, entry) in tokens {
        let Some(record) = entry.as_object().and_then(|e| to_record(token, e)) else {
            report.invalid += 1;
            continue;
        };
        merge(&tx, &record, &mut report).map_err(db_err("write"))?;
    }
    remember(&tx, &source, &digest, tokens.len()).map_err(db_err("write"))?;
    tx.commit().map_err(db_err("commit to"))?;
    Ok(report)
}

fn merge(
    tx: &Transaction<'_>,
    record: &VaultRecord,
    report: &mut ImportReport,
) -> rusqlite::Result<()> {
    let seen_before = tx
        .prepare_cached("INSERT OR IGNORE INTO imported_tokens (token) VALUES (?1)")?
        .execute([&record.token])?
        == 0;
    if seen_before && !records::exists(tx, &record.token)? {
        report.previously_removed += 1;
        return Ok(());
    }
    if records::insert_existing(tx, record)? {
        report.imported += 1;
        return Ok(());
    }
    report.existing += 1;
    if let (Some(expires_at), Some(expires_ms)) = (&record.expires_at, record.expires_ms) {
        let pushed = tx
            .prepare_cached(
                "UPDATE tokens SET expires_at = ?2, expires_ms = ?3
                 WHERE token = ?1 AND expires_ms IS NOT NULL AND expires_ms < ?3",
            )?
            .execute(params![record.token, expires_at, expires_ms])?;
        if pushed > 0 {
            report.refreshed += 1;
        }
    }
    Ok(())
}

fn last_digest(tx: &Transaction<'_>, source: &str) -> rusqlite::Result<Option<String>> {
    tx.prepare_cached("SELECT sha256 FROM vault_imports WHERE source = ?1")?
        .query_row([source], |row| row.get(0))
        .optional()
}

fn remember(
    tx: &Transaction<'_>,
    source: &str,
    digest: &str,
    records: usize,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO vault_imports (source, sha256, imported_at, records) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (source) DO UPDATE SET sha256 = ?2, imported_at = ?3, records = ?4",
    )?
    .execute(params![
        source,
        digest,
        haechi_core::clock::iso_now(),
        i64::try_from(records).unwrap_or(i64::MAX)
    ])
    .map(|_| ())
}

fn to_record(token: &str, entry: &Map<String, Value>) -> Option<VaultRecord> {
    if token.is_empty() {
        return None;
    }
    let envelope = entry.get("envelope")?.clone();
    serde_json::from_value::<Envelope>(envelope.clone()).ok()?;
    let expires_at = entry
        .get("expiresAt")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some(VaultRecord {
        token: token.to_owned(),
        detection_type: entry.get("type")?.as_str()?.to_owned(),
        created_at: entry.get("createdAt")?.as_str()?.to_owned(),
        expires_ms: expires_at.as_deref().and_then(haechi_core::clock::parse_ms),
        expires_at,
        metadata: records::sanitize_metadata(entry.get("metadata").cloned().unwrap_or(Value::Null)),
        envelope,
        aad: entry.get("aad").cloned().unwrap_or(Value::Null),
    })
}
