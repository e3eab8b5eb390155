//! Opening the vault database: file permissions, WAL, busy timeout and the schema.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::error::VaultError;

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Page cache per connection, as SQLite's negative `cache_size` (KiB).
const CACHE_KIB: i64 = -32 * 1024;
/// Bumped when the table layout changes (stored in `PRAGMA user_version`).
/// Version 2 added the import bookkeeping tables (version 1 databases gain them on open).
const SCHEMA_VERSION: i64 = 2;

/// One row per token: the reference's record as columns, with the envelope, AAD and metadata
/// kept as their JSON text so the reference's record can be rebuilt exactly.
/// `expires_ms` mirrors `expires_at` as epoch milliseconds for indexed pruning.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    token       TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    expires_ms  INTEGER,
    metadata    TEXT NOT NULL,
    envelope    TEXT NOT NULL,
    aad         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_by_expiry ON tokens (expires_ms) WHERE expires_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS tokens_by_type ON tokens (type);

-- One row per reference JSON vault imported: its SHA-256 when last imported, so an unchanged
-- file is not read into the database again.
CREATE TABLE IF NOT EXISTS vault_imports (
    source       TEXT PRIMARY KEY,
    sha256       TEXT NOT NULL,
    imported_at  TEXT NOT NULL,
    records      INTEGER NOT NULL
);
-- Every token id ever taken from a reference vault, so a re-import never brings back a token
-- that was purged (or pruned as expired) here since.
CREATE TABLE IF NOT EXISTS imported_tokens (
    token  TEXT PRIMARY KEY
) WITHOUT ROWID;
";

/// Switch to WAL. When several processes open a new database at once the switch can answer
/// SQLITE_BUSY without consulting the busy handler, so it is retried for up to the busy timeout.
/// (Never serialize this with another lock on the database file: closing any descriptor of it
/// drops SQLite's POSIX locks.)
fn enable_wal(conn: &Connection) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    loop {
        match conn.query_row("PRAGMA journal_mode=WAL", [], |row| row.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(error, _))
                if error.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(error) => return Err(error),
        }
    }
}

pub(crate) fn open(path: &Path) -> Result<Connection, VaultError> {
    let db_err = |action: &'static str| {
        move |source: rusqlite::Error| VaultError::Database {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    create_private_file(path).map_err(|source| VaultError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut conn = Connection::open(path).map_err(db_err("open"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(db_err("configure"))?;
    // WAL lets readers run beside the single writer. FULL sync makes a commit durable before
    // it returns, power cuts included: a token may be forwarded only once its record is safe,
    // and batching (one commit per payload, or per group of requests) keeps the syncs few.
    enable_wal(&conn).map_err(db_err("configure"))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db_err("configure"))?;
    // Room for the token index while a large batch inserts ids in random order (the default
    // 2 MiB spills and re-reads index pages); memory is taken only as pages are used.
    conn.pragma_update(None, "cache_size", CACHE_KIB)
        .map_err(db_err("configure"))?;
    conn.set_prepared_statement_cache_capacity(32);

    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err("initialize"))?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(db_err("initialize"))?;
    if version > SCHEMA_VERSION {
        return Err(VaultError::InvalidSettings(
            "the token vault database was written by a newer Haechi; upgrade before using it",
        ));
    }
    tx.execute_batch(SCHEMA).map_err(db_err("initialize"))?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(db_err("initialize"))?;
    tx.commit().map_err(db_err("initialize"))?;
    Ok(conn)
}

/// Creates the directory and an empty 0600 database file, so SQLite (which copies the main
/// file's mode to `-wal`/`-shm`) never creates a world-readable vault.
fn create_private_file(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}
