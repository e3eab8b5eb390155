//! The token vault on SQLite.
//!
//! A token record is the reference's (`type`, `createdAt`, `expiresAt`, `metadata {path,
//! ruleId}`, `envelope`, `aad {purpose, token, type, context}`), one row per token. Each
//! `tokenize` batch is one `BEGIN IMMEDIATE` transaction, which also prunes expired rows;
//! several processes may share one database (WAL, 5 s busy timeout).
//!
//! [`TokenGovernance`] wraps the vault for manual reveal, detokenize and purge: the reveal
//! policy and one audit event per decision. [`SqliteTokenVault::open_configured`] opens the
//! database for `tokenVault.path` and imports a reference JSON vault found there.

mod error;
mod governance;
mod ids;
mod import;
mod records;
mod schema;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use haechi_core::seams::{Crypto, ProviderError, TokenRequest, Tokenizer};
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
    conn: Mutex<Connection>,
    crypto: Arc<dyn Crypto>,
    settings: VaultSettings,
    rng: SystemRandom,
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
        let conn = schema::open(&path)?;
        Ok(SqliteTokenVault {
            path,
            conn: Mutex::new(conn),
            crypto,
            settings,
            rng: SystemRandom::new(),
        })
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
        // Token ids need no database access: derive them before taking the write lock.
        let mut planned = Vec::with_capacity(requests.len());
        for request in requests {
            let deterministic = self.settings.is_deterministic(request.detection_type);
            let token = self.new_token_id(request, deterministic)?;
            planned.push((token, deterministic));
        }

        let now = haechi_core::clock::now_ms();
        let expires_ms = haechi_core::clock::add_days(now, self.settings.retention_days).ok_or(
            VaultError::InvalidSettings("retentionDays puts token expiry outside years 1970-9999"),
        )?;
        let created_at = haechi_core::clock::iso(now).ok_or(VaultError::InvalidSettings(
            "the system clock is outside years 1970-9999",
        ))?;
        let expires_at = haechi_core::clock::iso(expires_ms).ok_or(VaultError::InvalidSettings(
            "retentionDays puts token expiry outside years 1970-9999",
        ))?;

        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.db_err("begin a write on"))?;
        records::prune_expired(&tx, now).map_err(self.db_err("prune"))?;
        let mut results = Vec::with_capacity(requests.len());
        for (request, (mut token, deterministic)) in requests.iter().zip(planned) {
            if records::exists(&tx, &token).map_err(self.db_err("read"))? {
                if deterministic {
                    records::refresh_expiry(&tx, &token, &expires_at, expires_ms)
                        .map_err(self.db_err("update"))?;
                    results.push(Tokenized {
                        token,
                        reused: true,
                    });
                    continue;
                }
                // A random id collided (about 2^-64): draw again rather than reuse a record
                // that holds a different value.
                while records::exists(&tx, &token).map_err(self.db_err("read"))? {
                    token =
                        ids::random_token(&self.rng, request.detection_type, request.plaintext)?;
                }
            }
            let record = records::NewRecord::build(
                self.crypto.as_ref(),
                request,
                &token,
                &created_at,
                &expires_at,
            )?;
            records::insert(&tx, &token, &record, expires_ms).map_err(self.db_err("write"))?;
            results.push(Tokenized {
                token,
                reused: false,
            });
        }
        tx.commit().map_err(self.db_err("commit to"))?;
        Ok(results)
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

    fn new_token_id(
        &self,
        request: &TokenRequest<'_>,
        deterministic: bool,
    ) -> Result<String, VaultError> {
        if deterministic {
            ids::deterministic_token(
                self.crypto.as_ref(),
                request.detection_type,
                request.plaintext,
            )
        } else {
            ids::random_token(&self.rng, request.detection_type, request.plaintext)
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // SQLite rolls an unfinished transaction back when its guard drops during a panic,
        // so the connection is consistent even if the mutex was poisoned.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn db_err(&self, action: &'static str) -> impl Fn(rusqlite::Error) -> VaultError + '_ {
        move |source| VaultError::Database {
            action,
            path: self.path.clone(),
            source,
        }
    }
}

impl Tokenizer for SqliteTokenVault {
    fn tokenize(&self, requests: &[TokenRequest<'_>]) -> Result<Vec<String>, ProviderError> {
        self.tokenize_batch(requests)
            .map(|tokens| tokens.into_iter().map(|t| t.token).collect())
            .map_err(ProviderError::from)
    }
}
