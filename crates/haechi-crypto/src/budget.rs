//! The AES-GCM nonce budget of the local key.
//!
//! Random 96-bit IVs stay collision-safe only up to 2^32 encryptions under one key (NIST SP
//! 800-38D §8.3), and an IV collision under GCM is catastrophic. So encryptions are counted per
//! kid and persisted in the key file entry's `usage` (the reference's field). The count is
//! reserved a chunk at a time and written *before* the chunk is used: a crash can only leave
//! the unused tail of a chunk counted (over-count), never hand an invocation out twice.
//!
//! Chunks grow: a process's first reservation is small ([`NONCE_FIRST_WINDOW`]) and each next
//! one doubles up to [`NONCE_RESERVE_WINDOW`], so a short `haechi protect` run charges little
//! while a busy gateway writes the key file rarely. At a normal exit the unused tail is given
//! back ([`Meter::release`]): `usage` drops from the end of the chunk to what was really used,
//! so the budget counts encryptions, not processes. A process killed with `-9` gives nothing
//! back and loses at most its current chunk.
//!
//! One warning at half the budget; at the limit encryption fails closed until the key is
//! rotated. A key file that cannot be written (made read-only, or on a read-only mount)
//! degrades to a per-process count, with a warning.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;
use serde_json::Value;

use crate::error::CryptoError;
use crate::keyfile;
use crate::private_file;

/// The per-key invocation ceiling for random 96-bit IVs.
pub const MAX_ENCRYPTIONS_PER_KEY: u64 = 1 << 32;
/// The one-time warning point: half the budget.
pub const NONCE_WARN_THRESHOLD: u64 = 1 << 31;
/// The largest chunk one key file write reserves (the reference reserves this much each time).
pub const NONCE_RESERVE_WINDOW: u64 = 1 << 20;
/// A process's first chunk; each later one doubles, up to [`NONCE_RESERVE_WINDOW`]. Also the
/// most a process killed during its first chunk can leave charged but unused.
pub const NONCE_FIRST_WINDOW: u64 = 1 << 10;

/// Warning code: the active key passed half of its budget.
pub const WARN_NONCE_BUDGET: &str = "HAECHI_NONCE_BUDGET";
/// Warning code: the budget cannot be persisted; only this process's count is enforced.
pub const WARN_NONCE_BUDGET_NOPERSIST: &str = "HAECHI_NONCE_BUDGET_NOPERSIST";

/// The budget's limit and chunk sizes. Production uses [`NonceBudget::default`]; tests inject
/// small numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonceBudget {
    /// Encryptions allowed under one key.
    pub limit: u64,
    /// A process's first reservation.
    pub first_window: u64,
    /// The largest reservation; chunks double from `first_window` up to this.
    pub max_window: u64,
}

impl Default for NonceBudget {
    fn default() -> Self {
        NonceBudget {
            limit: MAX_ENCRYPTIONS_PER_KEY,
            first_window: NONCE_FIRST_WINDOW,
            max_window: NONCE_RESERVE_WINDOW,
        }
    }
}

impl NonceBudget {
    /// Where the one-time warning fires: half the limit.
    pub fn warn_threshold(&self) -> u64 {
        self.limit / 2
    }

    pub(crate) fn validate(self) -> Result<Self, CryptoError> {
        if self.limit == 0 {
            return Err(CryptoError::InvalidNonceBudget {
                reason: "the limit must be at least 1",
            });
        }
        if self.first_window == 0 {
            return Err(CryptoError::InvalidNonceBudget {
                reason: "the first reservation must be at least 1",
            });
        }
        if self.max_window < self.first_window {
            return Err(CryptoError::InvalidNonceBudget {
                reason: "the largest reservation must be at least the first",
            });
        }
        Ok(self)
    }
}

/// The part of the key's budget a provider holds: invocations `start..end` are charged to it in
/// the key file, and `used` of them are spent. For diagnostics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NonceReservation {
    pub start: u64,
    pub end: u64,
    pub used: u64,
}

/// Something the operator should know about, handed out by
/// [`LocalKeyProvider::take_warnings`](crate::LocalKeyProvider::take_warnings) (the library
/// never prints). Messages hold key ids and counts only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CryptoWarning {
    pub code: &'static str,
    pub message: String,
}

/// The active key's budget as `haechi status` shows it. `used` is the persisted reservation, a
/// safe over-estimate of real encryptions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NonceBudgetStatus {
    pub kid: String,
    pub used: u64,
    pub limit: u64,
    pub remaining: u64,
    pub used_fraction: f64,
    pub warn_threshold: u64,
    pub exhausted: bool,
}

/// Read the active key's budget from a key file with the production limit.
pub fn read_nonce_budget(path: impl AsRef<Path>) -> Result<NonceBudgetStatus, CryptoError> {
    read_nonce_budget_with(path, NonceBudget::default())
}

/// [`read_nonce_budget`] against a given limit.
pub fn read_nonce_budget_with(
    path: impl AsRef<Path>,
    budget: NonceBudget,
) -> Result<NonceBudgetStatus, CryptoError> {
    let path = path.as_ref();
    let doc = keyfile::parse_document(path, &keyfile::read_text(path)?)?;
    budget_status(path, &doc, budget)
}

/// The active key's budget in a parsed key file.
pub(crate) fn budget_status(
    path: &Path,
    doc: &Value,
    budget: NonceBudget,
) -> Result<NonceBudgetStatus, CryptoError> {
    let entries = keyfile::key_entries(path, doc)?;
    let (entry, _) = keyfile::active_entry(path, entries, false)?;
    let kid = keyfile::entry_kid(path, entry)?.to_owned();
    let used = entry_usage(path, entry)?;
    Ok(NonceBudgetStatus {
        kid,
        used,
        limit: budget.limit,
        remaining: budget.limit.saturating_sub(used),
        used_fraction: used as f64 / budget.limit as f64,
        warn_threshold: budget.warn_threshold(),
        exhausted: used >= budget.limit,
    })
}

/// An entry's persisted `usage` (absent or null: 0). Anything but a non-negative whole number
/// is refused: guessing could under-count.
fn entry_usage(path: &Path, entry: &Value) -> Result<u64, CryptoError> {
    match entry.get("usage") {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .ok_or_else(|| CryptoError::KeyFileMalformed {
                path: path.to_path_buf(),
                reason: "a key's `usage` must be a non-negative whole number".into(),
            }),
        Some(_) => Err(CryptoError::KeyFileMalformed {
            path: path.to_path_buf(),
            reason: "a key's `usage` must be a number".into(),
        }),
    }
}

/// The chunk this process may use: invocations `base .. base + granted`, `used` of them spent.
#[derive(Debug, Clone, Copy)]
struct Window {
    base: u64,
    granted: u64,
    used: u64,
}

#[derive(Debug)]
struct MeterState {
    window: Option<Window>,
    /// The size of the next chunk to reserve.
    next_grant: u64,
    warned: bool,
    persist_disabled: bool,
}

/// Counts one key's encryptions. One mutex guards the chunk; it is held across key file I/O
/// only while a chunk is reserved or given back, which also keeps two threads from doing so
/// at once. Dropping the meter gives back the unused part of its chunk.
#[derive(Debug)]
pub(crate) struct Meter {
    path: PathBuf,
    kid: String,
    budget: NonceBudget,
    state: Mutex<MeterState>,
}

impl Meter {
    pub(crate) fn new(path: PathBuf, kid: String, budget: NonceBudget) -> Self {
        Meter {
            path,
            kid,
            budget,
            state: Mutex::new(MeterState {
                window: None,
                next_grant: budget.first_window,
                warned: false,
                persist_disabled: false,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MeterState> {
        // A poisoned lock still holds a consistent count: every update is a single assignment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Account for one encryption; call before choosing the IV. Fails closed at the limit.
    /// Returns the warnings this call raised (usually none; no allocation then).
    pub(crate) fn consume(&self) -> Result<Vec<CryptoWarning>, CryptoError> {
        let mut warnings = Vec::new();
        let mut state = self.state();
        let window = match state.window {
            Some(w) if w.used < w.granted => w,
            _ => self.reserve(&mut state, &mut warnings)?,
        };
        let index = window.base + window.used;
        if index >= self.budget.limit {
            return Err(self.exhausted());
        }
        state.window = Some(Window {
            used: window.used + 1,
            ..window
        });
        if !state.warned && index >= self.budget.warn_threshold() {
            state.warned = true;
            warnings.push(CryptoWarning {
                code: WARN_NONCE_BUDGET,
                message: format!(
                    "local AES-256-GCM key {} has used {index} of {} safe encryptions; plan a key rotation (`haechi init --force`)",
                    self.kid, self.budget.limit
                ),
            });
        }
        Ok(warnings)
    }

    /// The chunk held now, if any.
    pub(crate) fn reservation(&self) -> Option<NonceReservation> {
        self.state().window.map(|w| NonceReservation {
            start: w.base,
            end: w.base + w.granted,
            used: w.used,
        })
    }

    fn exhausted(&self) -> CryptoError {
        CryptoError::NonceBudgetExhausted {
            kid: self.kid.clone(),
            limit: self.budget.limit,
        }
    }

    /// Reserve the next chunk: advance the persisted `usage` first, then hand it out.
    fn reserve(
        &self,
        state: &mut MeterState,
        warnings: &mut Vec<CryptoWarning>,
    ) -> Result<Window, CryptoError> {
        // Never count below what this process already reserved, whatever the file says now.
        let reserved_end = state.window.map_or(0, |w| w.base + w.granted);
        let mut doc = None;
        // Held until the new usage is written, so another process cannot reserve the same chunk.
        let _lock = (!state.persist_disabled && !private_file::is_read_only(&self.path))
            .then(|| private_file::lock(&self.path))
            .flatten();
        let current = if state.persist_disabled && state.window.is_some() {
            reserved_end
        } else {
            let loaded = keyfile::parse_document(&self.path, &keyfile::read_text(&self.path)?)?;
            let usage = self
                .entry(&loaded)
                .and_then(|e| entry_usage(&self.path, e))?;
            doc = Some(loaded);
            usage.max(reserved_end)
        };
        if current >= self.budget.limit {
            return Err(self.exhausted());
        }
        let granted = state.next_grant.min(self.budget.limit - current);
        state.next_grant = state
            .next_grant
            .saturating_mul(2)
            .min(self.budget.max_window);
        if let Some(mut doc) = doc.filter(|_| !state.persist_disabled) {
            if let Err(reason) = self.write_usage(&mut doc, current + granted) {
                state.persist_disabled = true;
                warnings.push(CryptoWarning {
                    code: WARN_NONCE_BUDGET_NOPERSIST,
                    message: format!(
                        "local AES-256-GCM nonce budget for key {} cannot be persisted ({reason}); enforcing the PER-PROCESS limit only; cross-restart protection is OFF, so rotate keys on a schedule",
                        self.kid
                    ),
                });
            }
        }
        let window = Window {
            base: current,
            granted,
            used: 0,
        };
        state.window = Some(window);
        Ok(window)
    }

    /// Give back the unused part of the current chunk: the key file's `usage` goes from the end
    /// of the chunk down to where this process's use really ended. Returns how many invocations
    /// were given back (0 when nothing was, which is always safe: it only over-counts).
    ///
    /// Only under the key file's lock, and only if `usage` still equals the end of our chunk,
    /// i.e. nobody reserved after us. Otherwise our tail lies below another process's chunk,
    /// and lowering `usage` under it would let the next reservation overlap a chunk still in
    /// use (or, after a restored backup, count below what was really used); so the tail stays
    /// charged, at most one chunk per process. The provider stays usable: a later encryption
    /// reserves a new chunk after the given-back point.
    pub(crate) fn release(&self) -> Result<u64, CryptoError> {
        let mut state = self.state();
        let Some(window) = state.window else {
            return Ok(0);
        };
        let unused = window.granted - window.used;
        if unused == 0 || state.persist_disabled || private_file::is_read_only(&self.path) {
            return Ok(0);
        }
        let Some(_lock) = private_file::lock(&self.path) else {
            return Ok(0);
        };
        let mut doc = keyfile::parse_document(&self.path, &keyfile::read_text(&self.path)?)?;
        let Ok(usage) = self.entry(&doc).and_then(|e| entry_usage(&self.path, e)) else {
            return Ok(0);
        };
        if usage != window.base + window.granted {
            return Ok(0);
        }
        self.write_usage(&mut doc, window.base + window.used)
            .map_err(|reason| CryptoError::KeyFileWrite {
                path: self.path.clone(),
                source: std::io::Error::other(reason),
            })?;
        state.window = Some(Window {
            granted: window.used,
            ..window
        });
        Ok(unused)
    }

    fn entry<'a>(&self, doc: &'a Value) -> Result<&'a Value, CryptoError> {
        keyfile::key_entries(&self.path, doc)?
            .iter()
            .find(|e| e.get("kid").and_then(Value::as_str) == Some(self.kid.as_str()))
            .ok_or_else(|| CryptoError::ActiveKeyMissing {
                path: self.path.clone(),
                kid: self.kid.clone(),
            })
    }

    /// Write `usage` into this kid's entry, keeping everything else. The error is a short reason
    /// for the warning.
    fn write_usage(&self, doc: &mut Value, usage: u64) -> Result<(), String> {
        if private_file::is_read_only(&self.path) {
            return Err("the key file is read-only".into());
        }
        let entry = doc
            .get_mut("keys")
            .and_then(Value::as_array_mut)
            .and_then(|entries| {
                entries
                    .iter_mut()
                    .find(|e| e.get("kid").and_then(Value::as_str) == Some(self.kid.as_str()))
            })
            .and_then(Value::as_object_mut)
            .ok_or_else(|| "the active key entry disappeared".to_owned())?;
        entry.insert("usage".into(), Value::from(usage));
        keyfile::write_document(&self.path, doc).map_err(|e| e.kind().to_string())
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        // Best effort: a failure leaves the tail charged, which only over-counts.
        let _ = self.release();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "tests/budget.rs"]
mod tests;
