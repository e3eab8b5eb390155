//! `haechi init [--force]`: write the default config and create (or rotate) the local key.

use std::fs;
use std::path::Path;

use anyhow::{anyhow, Context as _, Result};
use haechi_core::config::{default_config, default_config_json};
use haechi_crypto::init_local_key_file;
use serde_json::json;

use crate::output::write_json;
use crate::runtime::load_config;

pub(crate) fn run(config_path: &Path, force: bool) -> Result<u8> {
    let exists = config_path.exists();
    // An existing config is kept (and must be valid); its own key file is the one to check.
    let (config, created) = if exists && !force {
        (load_config(config_path)?, false)
    } else {
        write_atomically(config_path, &default_config_json())?;
        (default_config(), true)
    };
    let key =
        init_local_key_file(&config.keys.key_file, force).map_err(|error| anyhow!("{error}"))?;
    write_json(&json!({
        "ok": true,
        "command": "init",
        "configPath": config_path,
        "created": created,
        "keyFile": config.keys.key_file,
        "keyCreated": key.created,
        "rotated": key.rotated.unwrap_or(false),
        "activeKid": key.active_kid,
        "auditPath": config.audit.path,
        "mode": config.mode.as_str(),
        "warnings": [
            "The generated key file is for local development only: keep it out of version control and back it up.",
            "The default mode is dry-run: detections are audited but payloads are not changed until mode and policy.mode are \"enforce\"."
        ]
    }))?;
    Ok(super::EXIT_OK)
}

/// Write via a temporary file and rename, so an interrupted init never leaves half a config.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::create_dir_all(directory)
        .with_context(|| format!("cannot create directory {}", directory.display()))?;
    let mut file = tempfile::NamedTempFile::new_in(directory)
        .with_context(|| format!("cannot write in {}", directory.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.persist(path)
        .map_err(|error| anyhow!("cannot write {}: {}", path.display(), error.error))?;
    Ok(())
}
