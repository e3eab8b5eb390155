//! Storing issued batches: one transaction for one batch, or one for a group of batches with
//! each batch in its own savepoint (one batch's failure leaves the others whole). Every
//! transaction first prunes expired records, as the reference's vault does on each write.

use std::path::Path;

use haechi_core::seams::ProviderError;
use rusqlite::{params, Connection, TransactionBehavior};

use super::error::{database, VaultError};
use super::issue::{PreparedBatch, Row};
use super::records;

/// A random id is never stored twice: a collision fails the batch rather than overwrite.
const INSERT_NEW: &str =
    "INSERT INTO tokens (token, type, created_at, expires_at, expires_ms, metadata, envelope, aad)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (token) DO NOTHING";
/// A deterministic id stored meanwhile holds the same value: keep it, refresh its expiry.
const INSERT_DETERMINISTIC: &str =
    "INSERT INTO tokens (token, type, created_at, expires_at, expires_ms, metadata, envelope, aad)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
     ON CONFLICT (token) DO UPDATE SET expires_at = excluded.expires_at, expires_ms = excluded.expires_ms";
const REFRESH: &str = "UPDATE tokens SET expires_at = ?2, expires_ms = ?3 WHERE token = ?1";

/// Store one batch in one transaction.
pub(crate) fn store_batch(
    conn: &mut Connection,
    path: &Path,
    batch: &PreparedBatch,
) -> Result<(), VaultError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(database(path, "begin a write on"))?;
    records::prune_expired(&tx, haechi_core::clock::now_ms()).map_err(database(path, "prune"))?;
    write_rows(&tx, path, batch)?;
    tx.commit().map_err(database(path, "commit to"))
}

/// Store many batches in one transaction; one outcome per batch, in order. A batch that fails
/// is rolled back alone, unless SQLite abandoned the whole transaction (then all fail).
pub(crate) fn store_group(
    conn: &mut Connection,
    path: &Path,
    batches: &[PreparedBatch],
) -> Vec<Result<(), ProviderError>> {
    let fail_all = |error: VaultError| {
        let error = ProviderError::from(error);
        vec![Err(error); batches.len()]
    };
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(source) => return fail_all(database(path, "begin a write on")(source)),
    };
    // Prune with the writer's clock, which is past every batch's: a record a batch saw as
    // expired is gone, so a deterministic id never meets an expired record of its own.
    if let Err(source) = records::prune_expired(&tx, haechi_core::clock::now_ms()) {
        return fail_all(database(path, "prune")(source));
    }
    let mut outcomes = Vec::with_capacity(batches.len());
    for batch in batches {
        let outcome = match tx.savepoint() {
            // Dropping the savepoint after a failed write rolls the batch back.
            Ok(savepoint) => write_rows(&savepoint, path, batch)
                .and_then(|()| savepoint.commit().map_err(database(path, "write"))),
            Err(source) => Err(database(path, "write")(source)),
        };
        match outcome {
            // SQLite rolled the transaction back (disk full, I/O error): nothing is stored.
            Err(error) if tx.is_autocommit() => return fail_all(error),
            outcome => outcomes.push(outcome.map_err(ProviderError::from)),
        }
    }
    match tx.commit() {
        Ok(()) => outcomes,
        Err(source) => fail_all(database(path, "commit to")(source)),
    }
}

/// Write a batch's rows inside an open transaction, each through a prepared statement.
fn write_rows(conn: &Connection, path: &Path, batch: &PreparedBatch) -> Result<(), VaultError> {
    let db = database(path, "write");
    let mut insert_new = conn.prepare_cached(INSERT_NEW).map_err(&db)?;
    let mut insert_deterministic = conn.prepare_cached(INSERT_DETERMINISTIC).map_err(&db)?;
    let mut refresh = conn.prepare_cached(REFRESH).map_err(&db)?;
    let stamp = &batch.stamp;
    for row in &batch.rows {
        let changed = match row {
            Row::Insert {
                record,
                deterministic,
            } => {
                let statement = if *deterministic {
                    &mut insert_deterministic
                } else {
                    &mut insert_new
                };
                statement.execute(params![
                    record.token,
                    record.detection_type,
                    stamp.created_at,
                    stamp.expires_at,
                    stamp.expires_ms,
                    record.metadata,
                    record.envelope,
                    record.aad
                ])
            }
            Row::Refresh { token } => {
                refresh.execute(params![token, stamp.expires_at, stamp.expires_ms])
            }
        }
        .map_err(&db)?;
        if changed == 0 {
            return Err(VaultError::Conflict);
        }
    }
    Ok(())
}
