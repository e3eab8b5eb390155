//! Why a config could not be assembled into a working pipeline. Each message names the file
//! or setting at fault and what to do; none carries a secret.

use std::path::PathBuf;

use crate::gateway::GatewayConfigError;

#[derive(Debug, thiserror::Error)]
pub enum AssemblyError {
    /// A file the config names (or the config itself) does not exist.
    #[error("{what} {} not found; {hint}", path.display())]
    NotFound {
        what: &'static str,
        path: PathBuf,
        hint: &'static str,
    },
    /// A file that exists but cannot be used (unreadable, not UTF-8, invalid).
    #[error("{0}")]
    File(String),
    /// The config (or its policy bundle) is invalid.
    #[error("{0}")]
    Config(String),
    /// A provider this build does not ship, or one that failed to open.
    #[error("{0}")]
    Provider(String),
    #[error(transparent)]
    Gateway(#[from] GatewayConfigError),
}

impl AssemblyError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, AssemblyError::NotFound { .. })
    }
}
