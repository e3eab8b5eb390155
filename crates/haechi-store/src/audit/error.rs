//! What can go wrong with the audit file. Messages name the file and the fix, never an event's
//! content.

use std::io;
use std::path::PathBuf;

use haechi_core::seams::ProviderError;

#[derive(Debug, thiserror::Error)]
pub enum AuditStoreError {
    #[error("cannot {action} audit file {}: {source}; check that the path exists and is writable by this user", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("audit log {} ends with an incomplete record (a writer stopped mid-line); inspect it with `haechi audit-verify --audit {}`, then cut the incomplete record with `haechi audit-repair --audit {} --yes` (it shows what it drops and keeps a copy)", path.display(), path.display(), path.display())]
    TornTail { path: PathBuf },
    #[error("the last record of audit log {} carries no usable auditIntegrity link, so a new record cannot be chained to it; run `haechi audit-verify` and start a new log file", path.display())]
    UnchainedTail { path: PathBuf },
    #[error("line {line} of audit log {} is not valid JSON; run `haechi audit-verify` to locate the damage", path.display())]
    InvalidLine { path: PathBuf, line: u64 },
    #[error("audit anchor everyRecords must be a positive integer")]
    InvalidAnchorCadence,
    #[error("audit.anchor.mode {mode:?} is not supported by this build; use \"file\" (with audit.anchor.path) or \"none\"")]
    UnsupportedAnchorMode { mode: String },
}

impl AuditStoreError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AuditStoreError::Io { .. } => "haechi_audit_io",
            AuditStoreError::TornTail { .. } => "haechi_audit_torn_tail",
            AuditStoreError::UnchainedTail { .. } => "haechi_audit_unchained_tail",
            AuditStoreError::InvalidLine { .. } => "haechi_audit_invalid_line",
            AuditStoreError::InvalidAnchorCadence => "haechi_audit_invalid_anchor",
            AuditStoreError::UnsupportedAnchorMode { .. } => "haechi_audit_unsupported_anchor",
        }
    }

    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: io::Error) -> Self {
        AuditStoreError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<AuditStoreError> for ProviderError {
    fn from(error: AuditStoreError) -> Self {
        ProviderError::new(error.code(), error.to_string())
    }
}

/// Why the audit log is not ready to take events (`/__haechi/ready`). The reason codes are the
/// reference's and carry no path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotWritable {
    #[error("audit_dir_not_writable")]
    Directory,
    #[error("audit_file_not_writable")]
    File,
}

impl NotWritable {
    pub fn reason(self) -> &'static str {
        match self {
            NotWritable::Directory => "audit_dir_not_writable",
            NotWritable::File => "audit_file_not_writable",
        }
    }
}
