//! Raw command-line arguments, as clap parses them. Commands turn these into real objects.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "haechi",
    about = "Haechi — protect PII and secrets in AI traffic",
    disable_help_subcommand = true,
    version
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// Show what is and is not protected under a config.
    Status {
        #[arg(long, default_value = haechi_core::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
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
    /// Print the configuration guide.
    Config,
    /// Run an end-to-end demonstration on embedded defaults in a temporary directory.
    Demo,
    /// Show usage for all commands or one command.
    Help { topic: Option<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    Request,
    Response,
}
