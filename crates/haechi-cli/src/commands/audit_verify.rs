//! `haechi audit-verify`: check the audit hash chain (and the anchor stream), exit 4 if broken.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use haechi_store::audit::verify_file_anchored;
use serde_json::json;

use crate::output::write_json;
use crate::runtime::load_config;

/// Exit code for a log that does not verify (the reference's).
pub(crate) const EXIT_INVALID: u8 = 4;

/// `anchor`: `None` = no flag, `Some(None)` = `--anchor` without a path, `Some(Some(p))` = a path.
pub(crate) fn run(
    audit: Option<&Path>,
    anchor: Option<Option<&Path>>,
    config_path: &Path,
) -> Result<u8> {
    let mut audit_path = audit.map(Path::to_path_buf);
    let mut anchor_path = anchor.flatten().map(Path::to_path_buf);
    // Without an explicit log, or with a bare --anchor, the config supplies what is missing.
    if audit_path.is_none() || matches!(anchor, Some(None)) {
        let config = load_config(config_path)?;
        audit_path.get_or_insert_with(|| PathBuf::from(&config.audit.path));
        if anchor_path.is_none()
            && config.audit.anchor.mode == haechi_core::config::AnchorMode::File
        {
            anchor_path = config.audit.anchor.path.as_ref().map(PathBuf::from);
        }
        if anchor_path.is_none() && matches!(anchor, Some(None)) {
            return Err(anyhow!(
                "--anchor needs a path, or audit.anchor.mode \"file\" with audit.anchor.path in the config"
            ));
        }
    }
    let audit_path = audit_path.unwrap_or_default();
    let outcome = verify_file_anchored(&audit_path, anchor_path.as_deref())
        .map_err(|error| anyhow!("{error}"))?;
    write_json(&json!({
        "ok": outcome.valid,
        "command": "audit-verify",
        "auditPath": audit_path,
        "anchorPath": anchor_path,
        "result": outcome.to_json(),
    }))?;
    Ok(if outcome.valid {
        super::EXIT_OK
    } else {
        EXIT_INVALID
    })
}
