//! The crate's one error type. Every variant has a stable `haechi_crypto_*` code and a message
//! that says what is wrong and what to do. No message ever carries key material, plaintext, an
//! AAD value or text copied out of an envelope or key file: only paths, key ids and our own words.

use std::io;
use std::path::PathBuf;

use haechi_core::seams::ProviderError;

/// What went wrong in the local key-file provider.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The key file is not there. The CLI maps this to "run `haechi init`".
    #[error("key file {} does not exist; run `haechi init` to create it", path.display())]
    KeyFileMissing { path: PathBuf },

    #[error("cannot read key file {}: {source}; check the path and its permissions", path.display())]
    KeyFileUnreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Like ssh's "UNPROTECTED PRIVATE KEY FILE": a key others can read is refused.
    #[error("key file {} is accessible by group or others (mode 0{mode:o}); an unprotected key file is refused: run `chmod 600 {}` (and rotate with `haechi init --force` if others may have read it)", path.display(), path.display())]
    KeyFileTooOpen { path: PathBuf, mode: u32 },

    /// `reason` is always our own wording (never text from the file).
    #[error("key file {} is malformed: {reason}; restore it from a backup or rotate with `haechi init --force`", path.display())]
    KeyFileMalformed { path: PathBuf, reason: String },

    #[error("No keys found in key file {}; run `haechi init --force` to create a key", path.display())]
    NoKeys { path: PathBuf },

    #[error("key {kid} in key file {} is not a valid AES-256-GCM local key (it must be 32 bytes, base64url); restore the file from a backup or rotate with `haechi init --force`", path.display())]
    BadKeyLength { path: PathBuf, kid: String },

    #[error("No active key found in local key file {}; mark one key \"active\" or rotate with `haechi init --force`", path.display())]
    NoActiveKey { path: PathBuf },

    #[error("cannot write key file {}: {source}; check that its directory is writable", path.display())]
    KeyFileWrite {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("active key {kid} is no longer in key file {} while reserving its nonce budget; restart with the current key file", path.display())]
    ActiveKeyMissing { path: PathBuf, kid: String },

    #[error("local AES-256-GCM key {kid} reached its safe encryption limit ({limit}); rotate the key with `haechi init --force` before encrypting more")]
    NonceBudgetExhausted { kid: String, limit: u64 },

    #[error("invalid nonce budget: {reason}")]
    InvalidNonceBudget { reason: &'static str },

    #[error("Unsupported local crypto algorithm in envelope; only AES-256-GCM is supported")]
    UnsupportedAlgorithm,

    #[error("Unsupported crypto AAD encoding in envelope; only nfkc-json-v2 (or none, for v1) is supported")]
    UnsupportedAadEncoding,

    #[error("Crypto envelope expired; the data can no longer be decrypted")]
    EnvelopeExpired,

    /// `field` names which timestamp (`expiresAt`), never its text.
    #[error(
        "crypto envelope {field} must be a valid timestamp (RFC 3339 with `Z` or a UTC offset)"
    )]
    InvalidTimestamp { field: &'static str },

    /// The kid is echoed only when it looks like a key id (see `provider::printable_kid`).
    #[error("Unknown key id in envelope{}; the key file does not hold that key (was it rotated away or replaced?)", kid.as_deref().map(|k| format!(" ({k})")).unwrap_or_default())]
    UnknownKid { kid: Option<String> },

    #[error("AAD hash mismatch: the envelope was bound to different associated data")]
    AadMismatch,

    #[error("crypto AAD NFKC key collision: two object keys are equal after NFKC normalization; rename one of them")]
    AadKeyCollision,

    #[error("crypto AAD is nested deeper than {limit} levels")]
    AadTooDeep { limit: usize },

    #[error("malformed crypto envelope: {reason}")]
    MalformedEnvelope { reason: &'static str },

    #[error(
        "decryption failed: the ciphertext, tag or key does not match (tampered data or wrong key)"
    )]
    DecryptFailed,

    #[error("encryption failed inside the AEAD primitive")]
    EncryptFailed,

    #[error("the system random number generator failed; encryption cannot proceed safely")]
    RandomFailed,

    #[error("hmac requires a non-empty domain string")]
    HmacDomainRequired,

    #[error("invalid [HAECHI_ENC:…] marker: {reason}")]
    InvalidMarker { reason: &'static str },
}

impl CryptoError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CryptoError::KeyFileMissing { .. } => "haechi_crypto_key_file_missing",
            CryptoError::KeyFileUnreadable { .. } => "haechi_crypto_key_file_unreadable",
            CryptoError::KeyFileTooOpen { .. } => "haechi_crypto_key_file_too_open",
            CryptoError::KeyFileMalformed { .. } => "haechi_crypto_key_file_malformed",
            CryptoError::NoKeys { .. } => "haechi_crypto_no_keys",
            CryptoError::BadKeyLength { .. } => "haechi_crypto_bad_key_length",
            CryptoError::NoActiveKey { .. } => "haechi_crypto_no_active_key",
            CryptoError::KeyFileWrite { .. } => "haechi_crypto_key_file_write",
            CryptoError::ActiveKeyMissing { .. } => "haechi_crypto_active_key_missing",
            CryptoError::NonceBudgetExhausted { .. } => "haechi_crypto_nonce_budget_exhausted",
            CryptoError::InvalidNonceBudget { .. } => "haechi_crypto_invalid_nonce_budget",
            CryptoError::UnsupportedAlgorithm => "haechi_crypto_unsupported_alg",
            CryptoError::UnsupportedAadEncoding => "haechi_crypto_unsupported_aad_encoding",
            CryptoError::EnvelopeExpired => "haechi_crypto_envelope_expired",
            CryptoError::InvalidTimestamp { .. } => "haechi_crypto_invalid_timestamp",
            CryptoError::UnknownKid { .. } => "haechi_crypto_unknown_kid",
            CryptoError::AadMismatch => "haechi_crypto_aad_mismatch",
            CryptoError::AadKeyCollision => "haechi_crypto_aad_key_collision",
            CryptoError::AadTooDeep { .. } => "haechi_crypto_aad_too_deep",
            CryptoError::MalformedEnvelope { .. } => "haechi_crypto_malformed_envelope",
            CryptoError::DecryptFailed => "haechi_crypto_decrypt_failed",
            CryptoError::EncryptFailed => "haechi_crypto_encrypt_failed",
            CryptoError::RandomFailed => "haechi_crypto_rng_failed",
            CryptoError::HmacDomainRequired => "haechi_crypto_hmac_domain_required",
            CryptoError::InvalidMarker { .. } => "haechi_crypto_invalid_marker",
        }
    }
}

impl From<CryptoError> for ProviderError {
    fn from(error: CryptoError) -> Self {
        ProviderError::new(error.code(), error.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn provider_error_keeps_code_and_message() {
        let err: ProviderError = CryptoError::AadMismatch.into();
        assert_eq!(err.code, "haechi_crypto_aad_mismatch");
        assert!(err.message.contains("AAD hash mismatch"));
    }

    #[test]
    fn missing_key_file_tells_the_operator_to_run_init() {
        let err = CryptoError::KeyFileMissing {
            path: PathBuf::from(".haechi/dev.keys.json"),
        };
        assert_eq!(err.code(), "haechi_crypto_key_file_missing");
        assert!(err.to_string().contains("run `haechi init`"));
    }

    #[test]
    fn exhausted_budget_says_how_to_rotate() {
        let err = CryptoError::NonceBudgetExhausted {
            kid: "local-1-abcdef".into(),
            limit: 1 << 32,
        };
        let text = err.to_string();
        assert!(text.contains("safe encryption limit"));
        assert!(text.contains("haechi init --force"));
    }
}
