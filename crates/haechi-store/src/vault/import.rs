//! Importing the reference's JSON vault, so tokens it issued keep working after a switch.

use std::path::Path;

use haechi_core::seams::Envelope;
use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::VaultError;
use super::records::{self, VaultRecord};

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub imported: u64,
    /// Tokens already in the database (left unchanged).
    pub existing: u64,
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
    let text = std::fs::read_to_string(json_path).map_err(|e| fail(&e.to_string()))?;
    let vault: Value =
        serde_json::from_str(&text).map_err(|_| fail("the file is not valid JSON"))?;
    let Some(tokens) = vault.get("tokens").and_then(Value::as_object) else {
        return Err(fail("the file has no \"tokens\" object"));
    };

    let db_err = |action: &'static str| {
        move |source| VaultError::Database {
            action,
            path: db_path.to_path_buf(),
            source,
        }
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err("begin a write on"))?;
    let mut report = ImportReport::default();
    for (token, entry) in tokens {
        let Some(record) = entry.as_object().and_then(|e| to_record(token, e)) else {
            report.invalid += 1;
            continue;
        };
        if records::insert_existing(&tx, &record).map_err(db_err("write"))? {
            report.imported += 1;
        } else {
            report.existing += 1;
        }
    }
    tx.commit().map_err(db_err("commit to"))?;
    Ok(report)
}

fn to_record(token: &str, entry: &Map<String, Value>) -> Option<VaultRecord> {
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
