//! `haechi report`: a summary over the whole audit log — never a value.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use haechi_store::audit::read_summary;
use serde_json::json;

use crate::output::write_json;
use crate::runtime::load_config;

pub(crate) fn run(audit: Option<&Path>, config_path: &Path) -> Result<u8> {
    let audit_path = match audit {
        Some(path) => path.to_path_buf(),
        None => PathBuf::from(load_config(config_path)?.audit.path),
    };
    let summary = read_summary(&audit_path).map_err(|error| anyhow!("{error}"))?;
    write_json(&json!({ "ok": true, "auditPath": audit_path, "summary": summary }))?;
    Ok(super::EXIT_OK)
}
