//! The audit log's pure parts: event schema, sanitizer, canonical JSON and the hash chain.
//!
//! Nothing here touches a file. A sink (the JSONL file in `haechi-store`, [`MemoryAuditSink`]
//! in tests) runs every event through [`sanitize_event`] then [`chain_event`] under its own
//! exclusive section ([`AuditLog`] over an [`AuditStore`]), and writes [`js_stringify`] of the
//! record as one line. Verification is
//! [`verify_lines`]; `haechi report` is [`AuditSummary`].
//!
//! Formats are the reference's (Haechi 1.7): `json-stable-v1` canonical JSON, SHA-256 as
//! unpadded base64url, sequences from 1, a `null` genesis `previousHash`.

/// The JSON rendering the chain hashes and writes (shared with the key file and envelopes).
pub use crate::js_json as canonical;
pub mod chain;
pub mod event;
pub mod log;
pub mod memory;
pub mod parse;
pub mod prepared;
mod render;
pub mod sanitize;
pub mod summary;
pub mod verify;

pub use canonical::{canonical_json, js_number, js_stringify, CANONICALIZATION};
pub use chain::{chain_event, expected_event_hash, ChainHead, HASH_ALG, INTEGRITY_KEY};
pub use event::{
    AuditDetection, AuditIdentity, DecisionEvent, McpEvent, ProtectEvent, ProtectSummary,
    VaultEvent, SCHEMA_VERSION,
};
pub use log::{seal_prepared, AuditLog, AuditStore};
pub use memory::{MemoryAuditSink, MemoryAuditStore};
pub use parse::parse_js_json;
pub use prepared::{PreparedEvent, SealedRecord};
pub use sanitize::{is_forbidden_key, is_vault_token_id, sanitize_event, FORBIDDEN_KEYS};
pub use summary::AuditSummary;
pub use verify::{
    verify_lines, verify_lines_anchored, AnchorIndex, AnchorSummary, ChainVerifier, FailureKind,
    VerifyFailure, VerifyOutcome,
};
