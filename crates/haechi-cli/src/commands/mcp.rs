//! `haechi mcp-stdio` and `haechi mcp-wrap`: the MCP filter (`haechi_mcp`) on this process's
//! stdio, with the protector the config describes (audit events in `audit.path`).

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use haechi_mcp::wrap::{ClientIo, ServerCommand, StderrMode, WrapError};
use haechi_mcp::McpFilter;

use crate::runtime::{build_protector, load_config, open_keys, ReleaseKeysOnExit};

/// The protocol name MCP stdio events are audited under.
const PROTOCOL: &str = "mcp-stdio";

pub(crate) fn stdio(config_path: &Path) -> Result<u8> {
    let (filter, _release) = open_filter(config_path)?;
    haechi_mcp::stdio::run_filter(&filter, io::stdin().lock(), io::stdout().lock())
        .context("mcp-stdio stopped: cannot read stdin or write stdout")?;
    Ok(super::EXIT_OK)
}

pub(crate) fn wrap(
    config_path: &Path,
    stderr: Option<&str>,
    stray: &[OsString],
    command: Vec<OsString>,
) -> Result<u8> {
    // Both refusals come before the config is read and anything is started.
    if !stray.is_empty() {
        return Err(WrapError::NoCommand.into());
    }
    let server = ServerCommand::from_words(command)?;
    let stderr_mode = StderrMode::parse(stderr.unwrap_or("filter"))?;
    let (filter, _release) = open_filter(config_path)?;
    let client = ClientIo {
        input: io::stdin(),
        output: io::stdout(),
        stderr: io::stderr(),
    };
    let code = haechi_mcp::wrap::run(Arc::new(filter), &server, stderr_mode, client, true)?;
    // Exit codes outside 0..=255 do not exist on Unix; anything odd is a failure.
    Ok(u8::try_from(code).unwrap_or(1))
}

fn open_filter(config_path: &Path) -> Result<(McpFilter, ReleaseKeysOnExit)> {
    let config = load_config(config_path)?;
    let keys = open_keys(&config)?;
    let release = ReleaseKeysOnExit(keys.clone());
    let protector = build_protector(&config, keys)?;
    Ok((
        McpFilter::new(Arc::new(protector), &config, PROTOCOL),
        release,
    ))
}
