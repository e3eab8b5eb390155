//! The CLI's side of assembly: the library's constructors (`haechi_gateway::assembly`), with
//! what they report printed to stderr as the reference prints it.

use std::sync::Arc;

use anyhow::Result;
use haechi_core::config::Config;
use haechi_core::protect::Protector;
use haechi_crypto::LocalKeyProvider;
use haechi_gateway::assembly;
use haechi_store::audit::JsonlAuditSink;
use haechi_store::vault::SqliteTokenVault;

pub(crate) use haechi_gateway::assembly::{
    check_bundle_policy, load_config, load_config_without_bundle, load_verified_bundle,
    read_text_file, ReleaseKeysOnExit,
};

/// Print a notice line (a key warning, a vault import) to stderr, as it happens.
pub(crate) fn print_notice(line: &str) {
    print_err(line);
}

/// Write a line to stderr. A stderr that cannot be written (a full disk under a redirect, a
/// closed pipe) loses the line rather than panicking the process.
pub(crate) fn print_err(line: impl std::fmt::Display) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Open the local key provider named by `keys.keyFile`.
pub(crate) fn open_keys(config: &Config) -> Result<Arc<LocalKeyProvider>> {
    Ok(assembly::open_keys(config, print_notice)?)
}

/// The JSONL audit log named by `audit.path`.
pub(crate) fn open_audit(config: &Config) -> Result<Arc<JsonlAuditSink>> {
    Ok(assembly::open_audit(config)?)
}

/// The protect pipeline wired to the local key file, the audit log and the vault.
pub(crate) fn build_protector(config: &Config, keys: Arc<LocalKeyProvider>) -> Result<Protector> {
    Ok(assembly::build_protector(config, keys, print_notice)?)
}

/// The vault of `tokenVault.path` (importing the reference JSON vault found there).
pub(crate) fn open_vault(config: &Config, keys: Arc<LocalKeyProvider>) -> Result<SqliteTokenVault> {
    Ok(assembly::open_vault(config, keys, print_notice)?)
}
