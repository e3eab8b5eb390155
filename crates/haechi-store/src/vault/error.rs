//! Token vault failures. No message ever contains a token id, a plaintext or key material.

use std::path::{Path, PathBuf};

use haechi_core::seams::ProviderError;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The reference's message for a reveal refused by `tokenVault.revealPolicy: disabled`.
    #[error("Token reveal is disabled by tokenVault.revealPolicy")]
    RevealDisabled,
    /// The reference's message for an unknown token (its reason code `unknown_token`).
    #[error("Unknown token")]
    UnknownToken,
    #[error("Token expired")]
    Expired,
    #[error("Token decrypt failed")]
    DecryptFailed,
    #[error("token vault crypto provider failed: {0}")]
    Crypto(#[source] ProviderError),
    #[error("cannot {action} token vault {}: {source}; check the path, its permissions and free disk space", path.display())]
    Database {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create token vault directory or file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A new record met one stored at the same moment (a random id drawn twice, or a reused
    /// deterministic record purged meanwhile). The batch is not stored; retrying issues anew.
    #[error("a token vault record conflicted with one written at the same moment; nothing was stored, retry the request")]
    Conflict,
    /// A broken invariant of the vault itself (never caused by input).
    #[error("token vault internal error ({0}); nothing was stored, please report it")]
    Internal(&'static str),
    #[error("a stored token vault record is damaged ({what}); restore the vault from a backup or purge the token")]
    Corrupt { what: &'static str },
    #[error("invalid token vault setting: {0}")]
    InvalidSettings(&'static str),
    #[error("cannot import reference vault {}: {reason}", path.display())]
    Import { path: PathBuf, reason: String },
    /// A governance decision could not be audited; a reveal is then refused.
    #[error("cannot write the token vault's audit event ({decision}): {source}; check audit.path and its permissions")]
    Audit {
        decision: &'static str,
        #[source]
        source: ProviderError,
    },
}

/// Wraps a SQLite error on `path` while doing `action` (for `map_err`).
pub(crate) fn database<'p>(
    path: &'p Path,
    action: &'static str,
) -> impl Fn(rusqlite::Error) -> VaultError + 'p {
    move |source| VaultError::Database {
        action,
        path: path.to_path_buf(),
        source,
    }
}

impl VaultError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::RevealDisabled => "haechi_token_reveal_disabled",
            VaultError::UnknownToken => "haechi_token_unknown",
            VaultError::Expired => "haechi_token_expired",
            VaultError::DecryptFailed => "haechi_token_decrypt_failed",
            VaultError::Crypto(error) => error.code,
            VaultError::Database { .. } | VaultError::Io { .. } => "haechi_vault_io",
            VaultError::Conflict => "haechi_vault_conflict",
            VaultError::Internal(_) => "haechi_vault_internal",
            VaultError::Corrupt { .. } => "haechi_vault_corrupt",
            VaultError::InvalidSettings(_) => "haechi_vault_invalid_settings",
            VaultError::Import { .. } => "haechi_vault_import_failed",
            VaultError::Audit { .. } => "haechi_vault_audit_failed",
        }
    }

    /// The reference's reveal `reasonCode` for the audit event of a refused or failed reveal.
    pub fn reason_code(&self) -> &'static str {
        match self {
            VaultError::RevealDisabled => "reveal_policy_disabled",
            VaultError::UnknownToken => "unknown_token",
            VaultError::Expired => "token_expired",
            VaultError::DecryptFailed => "decrypt_failed",
            _ => "reveal_error",
        }
    }
}

impl From<VaultError> for ProviderError {
    fn from(error: VaultError) -> Self {
        match error {
            VaultError::Crypto(inner) => inner,
            other => ProviderError::new(other.code(), other.to_string()),
        }
    }
}
