//! One module per command. Each returns the process exit code on success.

pub mod audit_repair;
pub mod audit_verify;
pub mod auth;
pub mod demo;
pub mod help;
pub mod init;
pub mod policy_bundle;
pub mod protect;
pub mod proxy;
pub mod report;
pub mod status;
pub mod token;

/// Exit codes shared with the reference: 0 ok, 1 error, 3 blocked.
pub const EXIT_OK: u8 = 0;
pub const EXIT_BLOCKED: u8 = 3;
