//! # haechi-store
//!
//! Haechi's embedded stores:
//!
//! - [`audit`]: the JSONL audit log — [`audit::JsonlAuditSink`] appends sanitized, hash-chained
//!   records under an exclusive file lock; [`audit::verify_file`], [`audit::read_summary`] and
//!   [`audit::check_writable`] serve `haechi audit-verify`, `haechi report` and readiness.
//! - [`vault`]: the token vault on SQLite — [`vault::SqliteTokenVault`], and
//!   [`vault::VaultWriter`], which stores many requests' tokens in one transaction.
//!
//! The formats are the reference's (Haechi 1.7): a log written here verifies with its
//! `audit-verify` and the other way round; vault records hold the same fields and envelopes.
//!
//! ## Where the vault lives
//!
//! `tokenVault.path` in `haechi.config.json` defaults to `.haechi/token-vault.json`, the
//! reference's whole-file JSON vault. We keep a SQLite database **beside** it rather than in
//! it: [`vault::vault_db_path`] turns `token-vault.json` into `token-vault.sqlite3` (a path
//! without a `.json` extension is used as is). The JSON file is never written;
//! [`vault::SqliteTokenVault::import_json_vault`] copies its records in once, so tokens the
//! JavaScript Haechi issued keep revealing.
//!
//! This crate never logs, and its errors never carry an event's content, a token id, a
//! plaintext or key material: only paths, counts and what to do.

pub mod audit;
mod group;
pub mod vault;
