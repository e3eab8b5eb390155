//! Raw command-line arguments, as clap parses them. Commands turn these into real objects.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "haechi",
    about = "Haechi — protect PII and secrets in AI traffic",
    disable_help_subcommand = true,
    version
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Write a default config and a local key (or rotate the key with --force).
    Init {
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// Rotate the key (prior keys stay usable for decryption) and overwrite the config.
        #[arg(long)]
        force: bool,
    },
    /// Protect one JSON payload and print the result.
    Protect {
        /// The JSON file to protect.
        input: PathBuf,
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        #[arg(long, value_enum, default_value_t = DirectionArg::Request)]
        direction: DirectionArg,
    },
    /// Summarize the audit log (types, actions, counts — never values).
    Report {
        /// The audit log to read (default: audit.path of the config).
        #[arg(long, alias = "path")]
        audit: Option<PathBuf>,
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
    /// Verify the audit hash chain (and the anchor stream); exit 4 when it is broken.
    AuditVerify {
        /// The audit log to verify (default: audit.path of the config).
        #[arg(long, alias = "path")]
        audit: Option<PathBuf>,
        /// Cross-check the anchor stream (a path, or the configured audit.anchor.path).
        #[arg(long, num_args = 0..=1)]
        anchor: Option<Option<PathBuf>>,
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
    /// Show, and with --yes cut, an incomplete last record of the audit log (kept as a copy).
    AuditRepair {
        /// The audit log to repair (default: audit.path of the config).
        #[arg(long, alias = "path")]
        audit: Option<PathBuf>,
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// Cut the incomplete record (without it, only show what would be cut).
        #[arg(long)]
        yes: bool,
    },
    /// Show what is and is not protected under a config.
    Status {
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
    /// Reveal a tokenized value (governed by tokenVault.revealPolicy; audited).
    TokenReveal {
        /// The token id (`tok_…`) or its `[TOKEN:tok_…]` marker.
        token: String,
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// Reveal under the `local-dev` policy for this run, whatever the config says.
        #[arg(long)]
        allow_dev_reveal: bool,
    },
    /// Purge one token, or every expired token with --expired (audited).
    TokenPurge {
        /// The token id (`tok_…`) or its `[TOKEN:tok_…]` marker.
        token: Option<String>,
        /// Purge every expired token instead of one.
        #[arg(long)]
        expired: bool,
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
    /// Export token metadata (never plaintext), optionally of one type.
    TokenExport {
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// Only tokens of this detection type (e.g. email).
        #[arg(long = "type", value_name = "TYPE")]
        type_filter: Option<String>,
    },
    /// Sign a policy file into a verifiable bundle.
    PolicySign {
        /// The policy JSON file to sign.
        policy: Option<PathBuf>,
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// Where to write the bundle.
        #[arg(long, default_value = "policy.bundle.json")]
        out: PathBuf,
    },
    /// Verify a signed policy bundle against the configured key.
    PolicyVerify {
        /// The bundle to verify.
        bundle: Option<PathBuf>,
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
    /// Run the HTTP gateway in front of target.upstream.
    Proxy {
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// Interface to bind (default: proxy.host, loopback).
        #[arg(long)]
        host: Option<String>,
        /// Port (default: proxy.port, 11016); 0 picks a free one.
        #[arg(long)]
        port: Option<u16>,
        /// Allow a non-loopback --host (then TLS or proxy.trustForwardedProto is required).
        #[arg(long)]
        allow_remote_bind: bool,
    },
    /// Filter newline-delimited MCP JSON-RPC from stdin to stdout.
    McpStdio {
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
    /// Run an MCP server and protect both directions of its stdio.
    McpWrap {
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// What to do with the server's stderr: filter (default) | drop | inherit.
        #[arg(long)]
        stderr: Option<String>,
        /// Words given without `--` (refused: the command must follow `--`).
        #[arg(hide = true)]
        stray: Vec<OsString>,
        /// The server command and its arguments, after `--`.
        #[arg(last = true)]
        command: Vec<OsString>,
    },
    /// Manage the gateway's bearer tokens (stored hashed in auth.store).
    Auth {
        #[command(subcommand)]
        action: AuthAction,
    },
    /// Print the configuration guide.
    Config,
    /// Run an end-to-end demonstration on embedded defaults in a temporary directory.
    Demo,
    /// Show usage for all commands or one command.
    Help { topic: Option<String> },
}

/// `haechi auth <action>`.
#[derive(Debug, Subcommand)]
pub(crate) enum AuthAction {
    /// Issue a token and print it once (it cannot be recovered).
    Add {
        /// user, service or agent.
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// A scope the token carries (repeatable).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// A label key=value (repeatable; keys from auth.allowedLabelKeys).
        #[arg(long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
    /// List tokens (metadata only, never a token or its hash).
    List {
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
    /// Disable a token by id.
    Revoke {
        /// The token id (`tok_auth_…`).
        id: Option<String>,
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DirectionArg {
    Request,
    Response,
}
