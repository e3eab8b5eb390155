//! One module per command. Each returns the process exit code on success.

pub(crate) mod audit_repair;
pub(crate) mod audit_verify;
pub(crate) mod auth;
pub(crate) mod demo;
pub(crate) mod help;
pub(crate) mod init;
pub(crate) mod mcp;
pub(crate) mod policy_bundle;
pub(crate) mod protect;
pub(crate) mod proxy;
pub(crate) mod report;
pub(crate) mod status;
pub(crate) mod token;

/// Exit codes shared with the reference: 0 ok, 1 error, 3 blocked.
pub(crate) const EXIT_OK: u8 = 0;
pub(crate) const EXIT_BLOCKED: u8 = 3;
