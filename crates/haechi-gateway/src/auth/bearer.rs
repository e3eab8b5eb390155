//! The built-in bearer provider (`auth.provider: "bearer"`): a token authenticates when its
//! keyed hash matches an enabled record of the store.
//!
//! The parsed store is cached with the file's identity (length, times, inode) and re-read only
//! when a `stat` shows the file changed, so a request costs one `stat` and one HMAC, and a
//! `haechi auth revoke` takes effect on the next request without a restart. A store that does
//! not parse denies every token (an error, never an empty store).

use std::fs::{self, File, Metadata};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use haechi_core::seams::Crypto;

use super::error::AuthError;
use super::identity::{bearer_identity, GatewayIdentity};
use super::store::{TokenStore, TOKEN_DOMAIN};
use super::{bearer_token, AuthFuture, AuthProvider};

pub struct BearerAuth {
    store: TokenStore,
    crypto: Arc<dyn Crypto>,
    cache: RwLock<Option<Arc<Snapshot>>>,
    loads: AtomicU64,
}

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth")
            .field("store", &self.store.path())
            .finish_non_exhaustive()
    }
}

/// The store as last loaded: its file stamp (`None` = no file) and what it held.
struct Snapshot {
    stamp: Option<FileStamp>,
    content: Result<Vec<Entry>, ParseFailure>,
}

/// An enabled record: the hash to compare and the identity it stands for (hashed once at load).
struct Entry {
    token_hash: String,
    identity: GatewayIdentity,
}

/// A store that does not parse stays refused until the file changes; remembering why avoids
/// re-reading it on every request.
#[derive(Clone)]
enum ParseFailure {
    Corrupt {
        problem: &'static str,
        line: usize,
        column: usize,
    },
    Version(String),
}

/// What identifies one version of the file: an atomic rewrite changes the inode, an in-place
/// edit the length or the times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
    #[cfg(unix)]
    changed: (i64, i64),
}

impl FileStamp {
    fn of(meta: &Metadata) -> Self {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt as _;
        FileStamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            inode: (meta.dev(), meta.ino()),
            #[cfg(unix)]
            changed: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

impl BearerAuth {
    pub fn new(store_path: impl Into<PathBuf>, crypto: Arc<dyn Crypto>) -> Self {
        BearerAuth {
            store: TokenStore::new(store_path),
            crypto,
            cache: RwLock::new(None),
            loads: AtomicU64::new(0),
        }
    }

    /// How many times the store file has been read (diagnostics: it should grow only when the
    /// file changes, never per request).
    pub fn store_loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// The identity of `token`, or `None` when no enabled record matches.
    pub fn authenticate_token(&self, token: &str) -> Result<Option<GatewayIdentity>, AuthError> {
        let candidate = self.crypto.hmac_hex(TOKEN_DOMAIN, token.as_bytes())?;
        let snapshot = self.snapshot()?;
        let entries = match &snapshot.content {
            Ok(entries) => entries,
            Err(failure) => return Err(self.failure_error(failure)),
        };
        // Compare against every record without stopping at a match, so timing does not tell
        // which token (or whether an early one) matched.
        let mut matched = None;
        for entry in entries {
            if constant_time_eq(candidate.as_bytes(), entry.token_hash.as_bytes()) {
                matched = Some(entry);
            }
        }
        Ok(matched.map(|entry| entry.identity.clone()))
    }

    /// The cached store, reloaded first when the file changed since it was read.
    fn snapshot(&self) -> Result<Arc<Snapshot>, AuthError> {
        let current = match fs::metadata(self.store.path()) {
            Ok(meta) => Some(FileStamp::of(&meta)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(self.read_error(source)),
        };
        {
            let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(snapshot) = cache.as_ref().filter(|s| s.stamp == current) {
                return Ok(Arc::clone(snapshot));
            }
        }
        let snapshot = Arc::new(self.load()?);
        *self.cache.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&snapshot));
        Ok(snapshot)
    }

    /// Read the file and stamp it from the same handle, so the stamp belongs to what was read.
    fn load(&self) -> Result<Snapshot, AuthError> {
        let file = match File::open(self.store.path()) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(Snapshot {
                    stamp: None,
                    content: Ok(Vec::new()),
                })
            }
            Err(source) => return Err(self.read_error(source)),
        };
        self.loads.fetch_add(1, Ordering::Relaxed);
        let meta = file.metadata().map_err(|source| self.read_error(source))?;
        let stamp = Some(FileStamp::of(&meta));
        let store = match self.store.parse_from(file) {
            Ok(store) => store,
            Err(AuthError::StoreCorrupt {
                problem,
                line,
                column,
                ..
            }) => {
                let failure = ParseFailure::Corrupt {
                    problem,
                    line,
                    column,
                };
                return Ok(Snapshot {
                    stamp,
                    content: Err(failure),
                });
            }
            Err(AuthError::StoreVersion { version, .. }) => {
                return Ok(Snapshot {
                    stamp,
                    content: Err(ParseFailure::Version(version)),
                })
            }
            Err(other) => return Err(other),
        };
        let entries = store
            .tokens
            .iter()
            .filter(|record| !record.disabled)
            .map(|record| {
                Ok(Entry {
                    token_hash: record.token_hash.clone(),
                    identity: bearer_identity(record, self.crypto.as_ref())?,
                })
            })
            .collect::<Result<Vec<_>, AuthError>>()?;
        Ok(Snapshot {
            stamp,
            content: Ok(entries),
        })
    }

    fn read_error(&self, source: io::Error) -> AuthError {
        AuthError::StoreRead {
            path: self.store.path().to_path_buf(),
            source,
        }
    }

    fn failure_error(&self, failure: &ParseFailure) -> AuthError {
        let path = self.store.path().to_path_buf();
        match failure.clone() {
            ParseFailure::Corrupt {
                problem,
                line,
                column,
            } => AuthError::StoreCorrupt {
                path,
                problem,
                line,
                column,
            },
            ParseFailure::Version(version) => AuthError::StoreVersion { path, version },
        }
    }
}

impl AuthProvider for BearerAuth {
    fn authenticate<'a>(&'a self, headers: &'a http::HeaderMap) -> AuthFuture<'a> {
        // All the work is a stat and an HMAC (a re-read only after a change): done inline.
        let result = match bearer_token(headers) {
            Some(token) => self.authenticate_token(token),
            None => Ok(None),
        };
        Box::pin(std::future::ready(result))
    }
}

/// Equal length and equal bytes, examining every byte whatever the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
#[path = "tests/bearer.rs"]
mod tests;
