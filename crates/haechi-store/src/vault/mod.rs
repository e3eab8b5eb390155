//! The token vault on SQLite.
//!
//! A token record is the reference's (`type`, `createdAt`, `expiresAt`, `metadata {path,
//! ruleId}`, `envelope`, `aad {purpose, token, type, context}`), one row per token. A batch
//! (all the tokens of one payload) is issued on the caller's thread — ids, envelopes, record
//! texts — then stored in one `BEGIN IMMEDIATE` transaction, which also prunes expired rows.
//! [`VaultWriter`] stores many callers' batches in one transaction (group commit). Several
//! processes may share one database (WAL, 5 s busy timeout).
//!
//! [`TokenGovernance`] wraps the vault for manual reveal, detokenize and purge: the reveal
//! policy and one audit event per decision. [`SqliteTokenVault::open_configured`] opens the
//! database for `tokenVault.path` and imports a reference JSON vault found there.

mod error;
mod governance;
mod ids;
mod import;
mod issue;
mod records;
mod schema;
mod write;
mod writer;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use haechi_core::seams::{
    CommitDone, Crypto, IssuedTokens, PendingTokens, ProviderError, TokenRequest, Tokenizer,
};
use ring::rand::SystemRandom;
use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;
use serde_json::Value;

pub use error::VaultError;
pub use governance::{
    reveal_policy_name, token_id_from_marker, Purged, PurgedExpired, TokenGovernance,
    AUDIT_ID_DOMAIN,
};
pub use ids::DETERMINISTIC_DOMAIN;
pub use import::ImportReport;
pub use records::{TokenMetadata, VaultRecord};
pub use writer::{VaultSync, VaultWriter, VaultWriterOptions};

/// The vault settings of `tokenVault` in `haechi.config.json` that shape records.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultSettings {
    /// Days a token lives (`retentionDays`, default 30; negative means already expired).
    pub retention_days: f64,
    /// Equal values get equal tokens (`deterministic`).
    pub deterministic: bool,
    /// Only these types are deterministic (`deterministicTypes`; `None` = all types).
    pub deterministic_types: Option<Vec<String>>,
}

impl Default for VaultSettings {
    fn default() -> Self {
        VaultSettings {
            retention_days: 30.0,
            deterministic: false,
            deterministic_types: None,
        }
    }
}

impl VaultSettings {
    /// The settings of a validated `tokenVault` config block.
    pub fn from_config(config: &haechi_core::config::model::TokenVaultConfig) -> Self {
        VaultSettings {
            retention_days: config.retention_days,
            deterministic: config.deterministic,
            deterministic_types: config.deterministic_types.clone(),
        }
    }

    fn is_deterministic(&self, detection_type: &str) -> bool {
        self.deterministic
            && self
                .deterministic_types
                .as_ref()
                .is_none_or(|types| types.iter().any(|t| t == detection_type))
    }
}

/// The SQLite database that stands beside the reference's JSON vault: `x.json` → `x.sqlite3`,
/// any other path is used as is.
pub fn vault_db_path(config_path: &Path) -> PathBuf {
    if config_path.extension().is_some_and(|ext| ext == "json") {
        config_path.with_extension("sqlite3")
    } else {
        config_path.to_path_buf()
    }
}

/// One tokenized value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tokenized {
    pub token: String,
    /// An existing deterministic token was reused (its expiry refreshed).
    pub reused: bool,
}

/// A revealed value. `Debug` never prints the plaintext.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Revealed {
    pub token: String,
    #[serde(rename = "type")]
    pub detection_type: String,
    pub plaintext: String,
}

impl fmt::Debug for Revealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revealed")
            .field("detection_type", &self.detection_type)
            .finish_non_exhaustive()
    }
}

/// The values restored for a request's tokens. `Debug` never prints them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Detokenized {
    /// Token id → plaintext, for the tokens that could be restored.
    pub values: std::collections::HashMap<String, String>,
    /// Tokens unknown, expired or not decryptable.
    pub skipped: usize,
}

impl fmt::Debug for Detokenized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Detokenized")
            .field("restored", &self.values.len())
            .field("skipped", &self.skipped)
            .finish()
    }
}

/// The token vault over one SQLite database.
pub struct SqliteTokenVault {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
    crypto: Arc<dyn Crypto>,
    settings: VaultSettings,
    rng: SystemRandom,
    /// Transactions committed through this vault's connections (SQLite's commit hook).
    commits: Arc<AtomicU64>,
}

impl fmt::Debug for SqliteTokenVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteTokenVault")
            .field("path", &self.path)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl SqliteTokenVault {
    /// Opens (creating if needed, mode 0600) the database at `path` — pass
    /// [`vault_db_path`] of `tokenVault.path`.
    pub fn open(
        path: impl Into<PathBuf>,
        crypto: Arc<dyn Crypto>,
        settings: VaultSettings,
    ) -> Result<Self, VaultError> {
        if !settings.retention_days.is_finite() {
            return Err(VaultError::InvalidSettings(
                "retentionDays must be a finite number of days",
            ));
        }
        let path = path.into();
        let commits = Arc::new(AtomicU64::new(0));
        let conn = open_counted(&path, &commits)?;
        Ok(SqliteTokenVault {
            path,
            conn: Arc::new(Mutex::new(conn)),
            crypto,
            settings,
            rng: SystemRandom::new(),
            commits,
        })
    }

    /// Another connection to this vault's database, counted in [`Self::commits`] (the group
    /// writer's, so its transactions never wait behind this handle's reads).
    pub(crate) fn open_connection(&self) -> Result<Connection, VaultError> {
        open_counted(&self.path, &self.commits)
    }

    /// How many transactions this vault has committed to its database since it was opened
    /// (all its connections, the group writer's included). For metrics, and to check batching.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Opens the vault for `tokenVault.path` as the config names it: the database at
    /// [`vault_db_path`], after importing the reference JSON vault at that path if there is
    /// one (see [`Self::import_reference_vault`]). Returns what the import did, if it ran.
    pub fn open_configured(
        vault_path: &Path,
        crypto: Arc<dyn Crypto>,
        settings: VaultSettings,
    ) -> Result<(Self, Option<ImportReport>), VaultError> {
        let vault = Self::open(vault_db_path(vault_path), crypto, settings)?;
        let report = vault.import_reference_vault(vault_path)?;
        Ok((vault, report))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn crypto(&self) -> &dyn Crypto {
        self.crypto.as_ref()
    }

    /// Tokenizes a batch in one transaction; returns one [`Tokenized`] per request, in order.
    pub fn tokenize_batch(
        &self,
        requests: &[TokenRequest<'_>],
    ) -> Result<Vec<Tokenized>, VaultError> {
        let issued = self.prepare(requests)?;
        write::store_batch(&mut self.lock(), &self.path, &issued.batch)?;
        Ok(issued.tokens)
    }

    /// Which of `tokens` are stored and not expired at `now_ms`.
    fn live_tokens(&self, tokens: &[&str], now_ms: i64) -> Result<HashSet<String>, VaultError> {
        let mut conn = self.lock();
        // One read transaction for every lookup, not one per statement. It only reads, so it
        // ends by rolling back (when dropped).
        let tx = conn.transaction().map_err(self.db_err("read"))?;
        let mut live = HashSet::new();
        records::for_each_stored(&tx, tokens, |token| {
            live.insert(token.to_owned());
        })
        .map_err(self.db_err("read"))?;
        // Expired records are few (every write prunes them) and found through the expiry
        // index, so the lookups above need only the token index.
        if !live.is_empty() {
            records::for_each_expired(&tx, now_ms, |token| {
                live.remove(token);
            })
            .map_err(self.db_err("read"))?;
        }
        Ok(live)
    }

    /// Decrypts a token's value with the AAD it was stored with. Ungoverned and unaudited:
    /// manual reveal goes through [`TokenGovernance::reveal`].
    pub fn reveal(&self, token: &str) -> Result<Revealed, VaultError> {
        self.reveal_with_context(token, None)
    }

    /// Like [`Self::reveal`], with the AAD's `context` replaced (the reference's
    /// `reveal({ token, context })`): only the context the value was bound to decrypts it.
    pub fn reveal_with_context(
        &self,
        token: &str,
        context: Option<&Value>,
    ) -> Result<Revealed, VaultError> {
        let record = self.load(token)?.ok_or(VaultError::UnknownToken)?;
        if record.is_expired(haechi_core::clock::now_ms()) {
            return Err(VaultError::Expired);
        }
        let plaintext = record.decrypt(self.crypto.as_ref(), context)?;
        Ok(Revealed {
            token: token.to_owned(),
            detection_type: record.detection_type,
            plaintext,
        })
    }

    /// Restores the values of `tokens` (unknown, expired or undecryptable ones are counted in
    /// `skipped`). Not gated by a reveal policy: the caller limits it to a request's tokens.
    pub fn detokenize(&self, tokens: &[&str]) -> Result<Detokenized, VaultError> {
        let now = haechi_core::clock::now_ms();
        let mut out = Detokenized::default();
        for token in tokens {
            let restored = match self.load(token)? {
                Some(record) if !record.is_expired(now) => {
                    record.decrypt(self.crypto.as_ref(), None).ok()
                }
                _ => None,
            };
            match restored {
                Some(plaintext) => {
                    out.values.insert((*token).to_owned(), plaintext);
                }
                None => out.skipped += 1,
            }
        }
        Ok(out)
    }

    /// Deletes one token (and any expired ones). Returns whether the token existed.
    pub fn purge(&self, token: &str) -> Result<bool, VaultError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.db_err("begin a write on"))?;
        records::prune_expired(&tx, haechi_core::clock::now_ms()).map_err(self.db_err("prune"))?;
        let deleted = records::delete(&tx, token).map_err(self.db_err("delete from"))?;
        tx.commit().map_err(self.db_err("commit to"))?;
        Ok(deleted)
    }

    /// Deletes every expired token; returns how many.
    pub fn purge_expired(&self) -> Result<u64, VaultError> {
        let conn = self.lock();
        records::prune_expired(&conn, haechi_core::clock::now_ms()).map_err(self.db_err("prune"))
    }

    /// Token metadata (never values), in creation order, optionally of one type only.
    pub fn export_metadata(
        &self,
        type_filter: Option<&str>,
    ) -> Result<Vec<TokenMetadata>, VaultError> {
        let conn = self.lock();
        records::metadata(&conn, &self.path, type_filter)
    }

    /// The stored record of a token, as the reference's JSON vault would hold it.
    pub fn record(&self, token: &str) -> Result<Option<VaultRecord>, VaultError> {
        self.load(token)
    }

    /// Copies the records of a reference JSON vault (`.haechi/token-vault.json`) into this
    /// database, so tokens issued by the JavaScript Haechi keep revealing. Idempotent: an
    /// unchanged file is skipped, records already present are kept (only a later expiry is
    /// taken over), and a token purged here after an earlier import stays purged.
    pub fn import_json_vault(&self, json_path: &Path) -> Result<ImportReport, VaultError> {
        let mut conn = self.lock();
        import::import_json_vault(&mut conn, json_path, &self.path)
    }

    /// [`Self::import_json_vault`] when `json_path` is a `.json` file other than this
    /// database; `None` when there is no such file (nothing to import).
    pub fn import_reference_vault(
        &self,
        json_path: &Path,
    ) -> Result<Option<ImportReport>, VaultError> {
        if json_path.extension().is_none_or(|ext| ext != "json") || json_path == self.path {
            return Ok(None);
        }
        match std::fs::metadata(json_path) {
            Ok(meta) if meta.is_file() => self.import_json_vault(json_path).map(Some),
            Ok(_) => Err(VaultError::Import {
                path: json_path.to_path_buf(),
                reason: "it is not a regular file".into(),
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(VaultError::Import {
                path: json_path.to_path_buf(),
                reason: error.to_string(),
            }),
        }
    }

    fn load(&self, token: &str) -> Result<Option<VaultRecord>, VaultError> {
        let conn = self.lock();
        records::load(&conn, &self.path, token)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        lock(&self.conn)
    }

    fn db_err(&self, action: &'static str) -> impl Fn(rusqlite::Error) -> VaultError + '_ {
        error::database(&self.path, action)
    }
}

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // SQLite rolls an unfinished transaction back when its guard drops during a panic, so the
    // connection is consistent even if the mutex was poisoned.
    conn.lock().unwrap_or_else(|p| p.into_inner())
}

/// Opens a connection whose commits are counted in `commits`.
fn open_counted(path: &Path, commits: &Arc<AtomicU64>) -> Result<Connection, VaultError> {
    let conn = schema::open(path)?;
    let counter = Arc::clone(commits);
    conn.commit_hook(Some(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        false // never veto the commit
    }));
    Ok(conn)
}

fn token_ids(tokens: Vec<Tokenized>) -> Vec<String> {
    tokens.into_iter().map(|t| t.token).collect()
}

impl Tokenizer for SqliteTokenVault {
    fn tokenize(&self, requests: &[TokenRequest<'_>]) -> Result<Vec<String>, ProviderError> {
        Ok(token_ids(self.tokenize_batch(requests)?))
    }

    /// The records are stored, on the committing thread, when the batch is committed.
    fn issue(&self, requests: &[TokenRequest<'_>]) -> Result<IssuedTokens, ProviderError> {
        let issued = self.prepare(requests)?;
        Ok(IssuedTokens {
            tokens: token_ids(issued.tokens),
            pending: Some(Box::new(DirectCommit {
                conn: Arc::clone(&self.conn),
                path: self.path.clone(),
                batch: issued.batch,
            })),
        })
    }
}

/// A batch stored through the vault's own connection, in one transaction.
struct DirectCommit {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    batch: issue::PreparedBatch,
}

impl PendingTokens for DirectCommit {
    fn commit(self: Box<Self>, done: CommitDone) {
        let result = write::store_batch(&mut lock(&self.conn), &self.path, &self.batch);
        done(result.map_err(ProviderError::from));
    }
}
