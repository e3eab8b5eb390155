//! # haechi-crypto
//!
//! Haechi's local key-file crypto provider, format-compatible with the reference's
//! `packages/crypto`:
//!
//! - [`init_local_key_file`] creates, keeps or rotates the key file (`haechi init [--force]`);
//! - [`check_key_file`] is the one check every opener runs (exists, readable, mode 0600 or
//!   stricter, valid; stale temporary copies removed); `haechi status` reports it;
//! - [`LocalKeyProvider`] loads it once and implements [`haechi_core::seams::Crypto`]:
//!   AES-256-GCM envelopes (v2 `nfkc-json-v2` AAD; v1 still decrypts) and domain-separated
//!   HMAC-SHA256, with the per-key nonce budget ([`NonceBudget`], [`read_nonce_budget`]),
//!   reserved in growing chunks and given back at exit
//!   ([`LocalKeyProvider::release_unused_budget`]);
//! - [`envelope_marker`] / [`parse_envelope_marker`] convert envelopes to and from the
//!   `[HAECHI_ENC:…]` payload text;
//! - [`canonicalize_crypto_aad`] / [`canonicalize_v1`] are the AAD byte forms both sides bind to;
//! - [`PolicyBundleKeys`] signs and verifies policy bundles (HS256 under a key derived per
//!   key-file entry for the `haechi:policy-bundle:signing:v1` domain).
//!
//! All primitives (AES-GCM, HMAC, SHA-256, randomness) come from `ring`. This crate must never
//! put key material, plaintext or AAD values into an error, a warning or a log line, and never
//! prints: warnings are handed to the caller ([`LocalKeyProvider::take_warnings`]).

mod aad;
mod budget;
mod bundle;
mod check;
mod encoding;
mod error;
mod keyfile;
mod marker;
mod private_file;
mod provider;
mod timestamp;

pub use aad::{canonicalize_crypto_aad, canonicalize_v1, CRYPTO_AAD_ENCODING_V2, MAX_AAD_DEPTH};
pub use budget::{
    read_nonce_budget, read_nonce_budget_with, CryptoWarning, NonceBudget, NonceBudgetStatus,
    NonceReservation, MAX_ENCRYPTIONS_PER_KEY, NONCE_FIRST_WINDOW, NONCE_RESERVE_WINDOW,
    NONCE_WARN_THRESHOLD, WARN_NONCE_BUDGET, WARN_NONCE_BUDGET_NOPERSIST,
};
pub use bundle::{
    parse_policy_bundle, verify_policy_bundle, BundleError, PolicyBundle, PolicyBundleKeys,
    VerifiedBundle, POLICY_BUNDLE_ALG, POLICY_BUNDLE_SIGNING_DOMAIN, POLICY_BUNDLE_VERSION,
};
pub use check::{
    check_key_file, check_key_file_with, KeyFileCheck, WARN_NO_ACTIVE_KEY, WARN_STALE_KEY_COPIES,
};
pub use error::CryptoError;
pub use keyfile::{init_local_key_file, KeyInitOutcome, ALG};
pub use marker::{envelope_json, envelope_marker, parse_envelope_marker};
pub use private_file::write_private_file_atomic;
pub use provider::LocalKeyProvider;

/// The provider id the reference reports for this provider.
pub const PROVIDER_ID: &str = "haechi.crypto.local-aes-gcm";
