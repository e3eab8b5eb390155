//! The AES-GCM nonce budget of the local key.
//!
//! Random 96-bit IVs stay collision-safe only up to 2^32 encryptions under one key (NIST SP
//! 800-38D §8.3), and an IV collision under GCM is catastrophic. So encryptions are counted per
//! kid and persisted in the key file entry's `usage`. The count is reserved a window at a time
//! and written *before* the window is used: a crash or restart can only skip the unused tail of
//! a window (over-count), never reuse it. One warning at half the budget; at the limit
//! encryption fails closed until the key is rotated. A key file that cannot be written (made
//! read-only, or on a read-only mount) degrades to a per-process count, with a warning.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;
use serde_json::Value;

use crate::error::CryptoError;
use crate::keyfile;

/// The per-key invocation ceiling for random 96-bit IVs.
pub const MAX_ENCRYPTIONS_PER_KEY: u64 = 1 << 32;
/// The one-time warning point: half the budget.
pub const NONCE_WARN_THRESHOLD: u64 = 1 << 31;
/// How many invocations one key file write reserves.
pub const NONCE_RESERVE_WINDOW: u64 = 1 << 20;

/// Warning code: the active key passed half of its budget.
pub const WARN_NONCE_BUDGET: &str = "HAECHI_NONCE_BUDGET";
/// Warning code: the budget cannot be persisted; only this process's count is enforced.
pub const WARN_NONCE_BUDGET_NOPERSIST: &str = "HAECHI_NONCE_BUDGET_NOPERSIST";

/// The budget's limit and reservation window. Production uses [`NonceBudget::default`]; tests
/// inject small numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonceBudget {
    /// Encryptions allowed under one key.
    pub limit: u64,
    /// Invocations reserved per key file write.
    pub window: u64,
}

impl Default for NonceBudget {
    fn default() -> Self {
        NonceBudget {
            limit: MAX_ENCRYPTIONS_PER_KEY,
            window: NONCE_RESERVE_WINDOW,
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
        if self.window == 0 {
            return Err(CryptoError::InvalidNonceBudget {
                reason: "the reservation window must be at least 1",
            });
        }
        Ok(self)
    }
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
    let entries = keyfile::key_entries(path, &doc)?;
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

/// The window this process may use: invocations `base .. base + granted`, `used` of them spent.
#[derive(Debug, Clone, Copy)]
struct Window {
    base: u64,
    granted: u64,
    used: u64,
}

#[derive(Debug, Default)]
struct MeterState {
    window: Option<Window>,
    warned: bool,
    persist_disabled: bool,
}

/// Counts one key's encryptions. One mutex guards the window; it is held across key file I/O
/// only while a new window is reserved (once per `window` encryptions), which also keeps two
/// threads from reserving at once.
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
            state: Mutex::new(MeterState::default()),
        }
    }

    /// Account for one encryption; call before choosing the IV. Fails closed at the limit.
    /// Returns the warnings this call raised (usually none; no allocation then).
    pub(crate) fn consume(&self) -> Result<Vec<CryptoWarning>, CryptoError> {
        let mut warnings = Vec::new();
        // A poisoned lock still holds a consistent count: every update is a single assignment.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
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

    fn exhausted(&self) -> CryptoError {
        CryptoError::NonceBudgetExhausted {
            kid: self.kid.clone(),
            limit: self.budget.limit,
        }
    }

    /// Reserve the next window: advance the persisted `usage` first, then hand it out.
    fn reserve(
        &self,
        state: &mut MeterState,
        warnings: &mut Vec<CryptoWarning>,
    ) -> Result<Window, CryptoError> {
        // Never count below what this process already reserved, whatever the file says now.
        let reserved_end = state.window.map_or(0, |w| w.base + w.granted);
        let mut doc = None;
        // Held until the new usage is written, so another process cannot reserve the same window.
        let _lock = (!state.persist_disabled && !keyfile::is_read_only(&self.path))
            .then(|| keyfile::lock(&self.path))
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
        let granted = self.budget.window.min(self.budget.limit - current);
        if let Some(mut doc) = doc.filter(|_| !state.persist_disabled) {
            if let Err(reason) = self.persist(&mut doc, current + granted) {
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
    fn persist(&self, doc: &mut Value, usage: u64) -> Result<(), String> {
        if keyfile::is_read_only(&self.path) {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "tests/budget.rs"]
mod tests;
