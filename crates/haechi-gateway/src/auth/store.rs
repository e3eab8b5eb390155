//! The bearer token store file (`auth.store`, default `.haechi/auth.json`): issue, list and
//! revoke tokens. The plaintext token exists only in the value [`TokenStore::add`] returns; the
//! file keeps a keyed HMAC of it.
//!
//! Writes are atomic (a 0600 temp file renamed over the store) and every read-modify-write
//! holds an exclusive lock on a sidecar file, so two `haechi auth add` processes cannot drop
//! each other's token. The reference takes no lock; running its CLI concurrently with ours can
//! still lose an update, as running two of its own can.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use haechi_core::seams::Crypto;
use serde_json::Value;

use super::error::AuthError;
use super::record::{Labels, PublicRecord, StoreFile, TokenRecord, STORE_VERSION};

/// The HMAC domain of a token's stored hash.
pub const TOKEN_DOMAIN: &str = "haechi:auth:token:v1";
/// Every issued token starts with this.
pub const TOKEN_PREFIX: &str = "hae_";
/// Every token id starts with this.
pub const TOKEN_ID_PREFIX: &str = "tok_auth_";
/// `auth.allowedLabelKeys` when the config does not set it.
pub const DEFAULT_ALLOWED_LABEL_KEYS: [&str; 4] = ["team", "env", "tier", "role"];
/// The identity types a token may have.
pub const IDENTITY_TYPES: [&str; 3] = ["user", "service", "agent"];
/// The longest label value, in UTF-16 code units as the reference counts.
pub const MAX_LABEL_VALUE_LEN: usize = 64;
/// Random bytes in a token (before base64url).
const TOKEN_RANDOM_BYTES: usize = 32;

/// What to issue.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    /// `user`, `service` or `agent`.
    pub kind: &'a str,
    pub scopes: Vec<String>,
    pub labels: Labels,
    /// The label keys the config allows (`auth.allowedLabelKeys`).
    pub allowed_label_keys: &'a [String],
}

/// A freshly issued token. `token` is the only copy of the secret: show it once, then drop it.
/// Its `Debug` leaves the token out.
#[derive(Clone)]
pub struct IssuedToken {
    pub token: String,
    pub record: PublicRecord,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("record", &self.record)
            .finish()
    }
}

/// What `revoke` did: `revoked` is false when the token was already disabled.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RevokeOutcome {
    pub id: String,
    pub revoked: bool,
}

/// The store at one path. Cheap to construct; every operation reads the file afresh.
#[derive(Debug, Clone)]
pub struct TokenStore {
    path: PathBuf,
}

impl TokenStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        TokenStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The parsed store; a missing file is an empty store.
    pub fn load(&self) -> Result<StoreFile, AuthError> {
        match File::open(&self.path) {
            Ok(file) => self.parse_from(file),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(StoreFile::default()),
            Err(source) => Err(AuthError::StoreRead {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Parse the store from an open handle (the bearer cache stamps the same handle it reads).
    pub(crate) fn parse_from(&self, mut file: File) -> Result<StoreFile, AuthError> {
        let mut text = Vec::new();
        file.read_to_end(&mut text)
            .map_err(|source| AuthError::StoreRead {
                path: self.path.clone(),
                source,
            })?;
        self.parse(&text)
    }

    fn parse(&self, text: &[u8]) -> Result<StoreFile, AuthError> {
        let store: StoreFile = serde_json::from_slice(text)
            .map_err(|error| AuthError::corrupt(self.path.clone(), &error))?;
        // `1.0` is the same number to the reference.
        if store.version.as_f64() != Some(STORE_VERSION as f64) {
            return Err(AuthError::StoreVersion {
                path: self.path.clone(),
                version: short_json(&store.version),
            });
        }
        Ok(store)
    }

    /// Issue a token: validate, hash, append, write. Returns the plaintext once.
    pub fn add(
        &self,
        crypto: &dyn Crypto,
        request: &NewToken<'_>,
    ) -> Result<IssuedToken, AuthError> {
        validate_kind(request.kind)?;
        validate_scopes(&request.scopes)?;
        validate_labels(&request.labels, request.allowed_label_keys)?;

        let token = new_token()?;
        let mut record = TokenRecord {
            id: String::new(),
            token_hash: crypto.hmac_hex(TOKEN_DOMAIN, token.as_bytes())?,
            kind: request.kind.to_owned(),
            scopes: request.scopes.clone(),
            labels: request.labels.clone(),
            created_at: Some(haechi_core::clock::iso_now()),
            disabled: false,
            extra: serde_json::Map::new(),
        };
        let record = self.modify(|store| {
            record.id = unique_id(&store.tokens, new_token_id);
            let public = record.public();
            store.tokens.push(record);
            Ok(public)
        })?;
        Ok(IssuedToken { token, record })
    }

    /// Every token's public metadata, in store order.
    pub fn list(&self) -> Result<Vec<PublicRecord>, AuthError> {
        Ok(self
            .load()?
            .tokens
            .iter()
            .map(TokenRecord::public)
            .collect())
    }

    /// Disable the token `id` (kept in the store, so `list` still shows it as disabled). Every
    /// record with that id is disabled: a store written elsewhere may hold duplicates.
    pub fn revoke(&self, id: &str) -> Result<RevokeOutcome, AuthError> {
        let revoked = self.modify(|store| {
            let (mut found, mut revoked) = (false, false);
            for record in store.tokens.iter_mut().filter(|record| record.id == id) {
                found = true;
                revoked |= !record.disabled;
                record.disabled = true;
            }
            if found {
                Ok(revoked)
            } else {
                Err(AuthError::UnknownTokenId { id: id.to_owned() })
            }
        })?;
        Ok(RevokeOutcome {
            id: id.to_owned(),
            revoked,
        })
    }

    /// Read, change and write the store under the exclusive lock.
    fn modify<T>(
        &self,
        change: impl FnOnce(&mut StoreFile) -> Result<T, AuthError>,
    ) -> Result<T, AuthError> {
        let dir = parent_dir(&self.path);
        create_dir_private(dir).map_err(|source| AuthError::StoreWrite {
            path: self.path.clone(),
            source,
        })?;
        let _lock = StoreLock::acquire(&self.path)?;
        let mut store = self.load()?;
        let outcome = change(&mut store)?;
        let mut text =
            serde_json::to_vec_pretty(&store).map_err(|error| AuthError::StoreWrite {
                path: self.path.clone(),
                source: io::Error::other(error.to_string()),
            })?;
        text.push(b'\n');
        haechi_crypto::write_private_file_atomic(&self.path, &text).map_err(|source| {
            AuthError::StoreWrite {
                path: self.path.clone(),
                source,
            }
        })?;
        Ok(outcome)
    }
}

/// [`TokenStore::add`] on the store at `path`.
pub fn add_token(
    path: impl Into<PathBuf>,
    crypto: &dyn Crypto,
    request: &NewToken<'_>,
) -> Result<IssuedToken, AuthError> {
    TokenStore::new(path).add(crypto, request)
}

/// [`TokenStore::list`] on the store at `path`.
pub fn list_tokens(path: impl Into<PathBuf>) -> Result<Vec<PublicRecord>, AuthError> {
    TokenStore::new(path).list()
}

/// [`TokenStore::revoke`] on the store at `path`.
pub fn revoke_token(path: impl Into<PathBuf>, id: &str) -> Result<RevokeOutcome, AuthError> {
    TokenStore::new(path).revoke(id)
}

pub fn validate_kind(kind: &str) -> Result<(), AuthError> {
    if IDENTITY_TYPES.contains(&kind) {
        Ok(())
    } else {
        Err(AuthError::InvalidType {
            given: kind.chars().take(32).collect(),
        })
    }
}

pub fn validate_scopes(scopes: &[String]) -> Result<(), AuthError> {
    if scopes.iter().any(|scope| scope.trim().is_empty()) {
        return Err(AuthError::EmptyScope);
    }
    Ok(())
}

/// Every key must be allowed and every value 1..=64 UTF-16 code units long.
pub fn validate_labels(labels: &Labels, allowed_keys: &[String]) -> Result<(), AuthError> {
    for (key, value) in labels.iter() {
        if !allowed_keys.iter().any(|allowed| allowed == key) {
            let allowed = if allowed_keys.is_empty() {
                String::from("none")
            } else {
                allowed_keys.join(", ")
            };
            return Err(AuthError::LabelKeyNotAllowed {
                key: key.chars().take(64).collect(),
                allowed,
            });
        }
        let len = value.encode_utf16().count();
        if len == 0 || len > MAX_LABEL_VALUE_LEN {
            return Err(AuthError::LabelValue {
                key: key.to_owned(),
                max: MAX_LABEL_VALUE_LEN,
            });
        }
    }
    Ok(())
}

/// The default allowed label keys as owned strings.
pub fn default_allowed_label_keys() -> Vec<String> {
    DEFAULT_ALLOWED_LABEL_KEYS.map(String::from).to_vec()
}

/// `hae_` + base64url (no padding) of 32 bytes from the OS random source (via ring).
fn new_token() -> Result<String, AuthError> {
    let mut bytes = [0u8; TOKEN_RANDOM_BYTES];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| AuthError::Random)?;
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    Ok(format!("{TOKEN_PREFIX}{body}"))
}

/// `tok_auth_` + the first 8 characters of a random UUID v4.
fn new_token_id() -> String {
    let uuid = uuid::Uuid::new_v4().to_string();
    format!("{TOKEN_ID_PREFIX}{}", &uuid[..8])
}

/// A fresh id no record in `existing` has: ids carry only 32 random bits, and two equal ids
/// would make a revoke ambiguous.
fn unique_id(existing: &[TokenRecord], mut next: impl FnMut() -> String) -> String {
    loop {
        let id = next();
        if existing.iter().all(|record| record.id != id) {
            return id;
        }
    }
}

/// A JSON value for an error message, cut short (a version field is never secret, but a hand
/// edit could put anything there).
fn short_json(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 16 {
        format!("{}…", text.chars().take(16).collect::<String>())
    } else {
        text
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Create the store's directory (0700 for what we create) if it is missing.
fn create_dir_private(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// An exclusive advisory lock on a sidecar (`.<name>.lock`): the store itself is replaced by
/// rename, so a lock on it would not serialize anything. Released on drop.
struct StoreLock {
    _file: Option<File>,
}

impl StoreLock {
    fn acquire(path: &Path) -> Result<Self, AuthError> {
        let lock_error = |source| AuthError::StoreLock {
            path: path.to_path_buf(),
            source,
        };
        let name = path
            .file_name()
            .ok_or_else(|| lock_error(io::Error::other("the store path has no file name")))?;
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let file = options
            .open(parent_dir(path).join(format!(".{}.lock", name.to_string_lossy())))
            .map_err(lock_error)?;
        match file.lock() {
            Ok(()) => Ok(StoreLock { _file: Some(file) }),
            // A file system without advisory locks: proceed as the reference always does.
            Err(error) if error.kind() == io::ErrorKind::Unsupported => {
                Ok(StoreLock { _file: None })
            }
            Err(error) => Err(lock_error(error)),
        }
    }
}

#[cfg(test)]
#[path = "tests/store.rs"]
mod tests;
