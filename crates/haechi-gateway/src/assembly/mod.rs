//! Assembly: everything a config file implies, opened once with the same fail-closed rules
//! for the `haechi` CLI and for a program that embeds the gateway — the config and its signed
//! policy bundle (never a fallback to the inline policy), the key file, the audit log and its
//! group-commit writer, the token vault, and the gateway itself ([`Gateway::from_config`]).
//!
//! [`Gateway::from_config`]: crate::Gateway::from_config

mod config;
mod error;
mod gateway;
mod parts;

pub use config::{
    check_bundle_policy, load_config, load_config_without_bundle, load_verified_bundle,
    read_text_file,
};
pub use error::AssemblyError;
pub use gateway::{AssembledGateway, AssemblyGuard};
pub use parts::{
    build_protector, log_notice, open_audit, open_keys, open_vault, spawn_vault_writer, LazyVault,
    Notice, ReleaseKeysOnExit,
};
