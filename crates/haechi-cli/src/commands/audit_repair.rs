//! `haechi audit-repair`: show, and with `--yes` cut, an incomplete last record of the audit
//! log (left by a crash or a full disk), so the chain can take new records again.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use haechi_store::audit::repair_torn_tail;
use serde_json::json;

use super::audit_verify::EXIT_INVALID;
use crate::output::write_json;
use crate::runtime::load_config;

pub(crate) fn run(audit: Option<&Path>, config_path: &Path, apply: bool) -> Result<u8> {
    let audit_path = match audit {
        Some(path) => path.to_path_buf(),
        None => PathBuf::from(&load_config(config_path)?.audit.path),
    };
    let plan = repair_torn_tail(&audit_path, apply).map_err(|error| anyhow!("{error}"))?;
    let torn = plan
        .torn
        .map(|torn| json!({ "line": torn.line, "offset": torn.offset, "bytes": torn.bytes }));
    let applied = plan.saved_to.is_some();
    write_json(&json!({
        "ok": (plan.torn.is_none() && plan.kept.valid) || applied,
        "command": "audit-repair",
        "auditPath": audit_path,
        "tornRecord": torn,
        "kept": plan.kept.to_json(),
        "applied": applied,
        "savedTo": plan.saved_to,
    }))?;

    match (plan.torn, plan.kept.valid, applied) {
        (None, true, _) => Ok(super::EXIT_OK),
        (None, false, _) => Err(anyhow!(
            "audit log {} has no incomplete last record to cut, but its chain does not verify; run `haechi audit-verify --audit {}` to locate the damage (audit-repair only cuts a torn tail)",
            audit_path.display(),
            audit_path.display()
        )),
        (Some(_), false, _) => Err(anyhow!(
            "audit log {} ends with an incomplete record, but the records before it do not verify either; nothing was cut — run `haechi audit-verify --audit {}` and investigate before repairing",
            audit_path.display(),
            audit_path.display()
        )),
        (Some(_), true, true) => Ok(super::EXIT_OK),
        (Some(torn), true, false) => {
            eprintln!(
                "haechi: audit log {} ends with an incomplete record (line {}, {} bytes); re-run with --yes to cut it (a copy is kept beside the log)",
                audit_path.display(),
                torn.line,
                torn.bytes
            );
            Ok(EXIT_INVALID)
        }
    }
}
