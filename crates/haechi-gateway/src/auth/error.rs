//! Why authentication or a token-store operation failed. No message ever holds a token, a
//! token hash or a store line: a parse failure names the line and column only.

use std::io;
use std::path::PathBuf;

use haechi_core::seams::ProviderError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read the auth store {path}: {source}; check that the file exists and is readable by this process")]
    StoreRead {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot write the auth store {path}: {source}; check that its directory is writable by this process")]
    StoreWrite {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot lock the auth store {path}: {source}; check that its directory is writable, or retry")]
    StoreLock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("the auth store {path} is not valid ({problem} at line {line}, column {column}); every request is denied until it is repaired — restore it from a backup or remove it and issue new tokens with `haechi auth add`")]
    StoreCorrupt {
        path: PathBuf,
        problem: &'static str,
        line: usize,
        column: usize,
    },

    #[error("the auth store {path} has version {version}, which this haechi does not support (only version 1); use the haechi release that wrote it")]
    StoreVersion { path: PathBuf, version: String },

    #[error("invalid token type {given:?}; use one of user, service or agent")]
    InvalidType { given: String },

    #[error("a scope is empty; every --scope needs a non-empty value")]
    EmptyScope,

    #[error("label key {key:?} is not allowed (allowed: {allowed}); use an allowed key or add it to auth.allowedLabelKeys")]
    LabelKeyNotAllowed { key: String, allowed: String },

    #[error(
        "label {key:?} needs a value of 1 to {max} characters; pass it as --label {key}=<value>"
    )]
    LabelValue { key: String, max: usize },

    #[error("unknown token id {id:?}; run `haechi auth list` to see the ids in the store")]
    UnknownTokenId { id: String },

    #[error("an identity needs a non-empty {field}; the auth provider must supply it")]
    MissingIdentityField { field: &'static str },

    #[error("keyed hashing failed ({}): {}; check the key file named by keys.keyFile", .0.code, .0.message)]
    Crypto(ProviderError),

    #[error(
        "the system random number generator failed; retry, and check the host's entropy source"
    )]
    Random,

    /// A failure reported by an external auth provider. Its text must say what went wrong without
    /// any credential in it.
    #[error("the auth provider failed: {0}")]
    Provider(String),
}

impl AuthError {
    /// An external provider's failure (`message` must hold no credential).
    pub fn provider(message: impl Into<String>) -> Self {
        AuthError::Provider(message.into())
    }

    /// A serde_json failure reduced to its category and position: serde's own message can quote
    /// the offending text, which may be a token hash or a label.
    pub(crate) fn corrupt(path: PathBuf, error: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let problem = match error.classify() {
            Category::Io => "unreadable",
            Category::Syntax => "malformed JSON",
            Category::Data => "unexpected shape",
            Category::Eof => "truncated JSON",
        };
        AuthError::StoreCorrupt {
            path,
            problem,
            line: error.line(),
            column: error.column(),
        }
    }
}

impl From<ProviderError> for AuthError {
    fn from(error: ProviderError) -> Self {
        AuthError::Crypto(error)
    }
}
