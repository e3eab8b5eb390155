//! `haechi protect <file>`: protect one JSON payload and print the result (exit 3 if blocked).

use std::path::Path;

use anyhow::{anyhow, Result};
use haechi_core::audit::ProtectSummary;
use haechi_core::config::Config;
use haechi_core::protect::{ProtectContext, ProtectError, ProtectOutcome, Protector};
use haechi_core::vocab::{Direction, Mode};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::cli::DirectionArg;
use crate::output::write_json;
use crate::runtime::{build_protector, load_config, open_keys, read_text_file, ReleaseKeysOnExit};

pub(crate) fn run(input_path: &Path, config_path: &Path, direction: DirectionArg) -> Result<u8> {
    let config = load_config(config_path)?;
    let input = read_text_file(input_path, "input file")?;
    let keys = open_keys(&config)?;
    let _release = ReleaseKeysOnExit(keys.clone());
    let protector = build_protector(&config, keys)?;
    let direction = match direction {
        DirectionArg::Request => Direction::Request,
        DirectionArg::Response => Direction::Response,
    };
    let (mode, outcome) =
        protect_text(&protector, &config, &input, direction).map_err(|error| match error {
            // Only a fault of the input names the input; audit, key and vault errors name their
            // own file.
            ProtectError::NotUtf8 { .. }
            | ProtectError::InvalidJson { .. }
            | ProtectError::TooDeeplyNested { .. } => {
                anyhow!("input file {}: {error}", input_path.display())
            }
            other => anyhow!("{other}"),
        })?;
    print_outcome(&config, mode, &input, &outcome)?;
    Ok(if outcome.blocked {
        super::EXIT_BLOCKED
    } else {
        super::EXIT_OK
    })
}

/// The mode for a direction: the policy's for requests, `responseProtection.mode` for responses.
pub(crate) fn mode_for(config: &Config, direction: Direction) -> Mode {
    match direction {
        Direction::Request => config.effective_mode(),
        Direction::Response => config.response_protection.mode,
    }
}

pub(crate) fn protect_text(
    protector: &Protector,
    config: &Config,
    input: &str,
    direction: Direction,
) -> Result<(Mode, ProtectOutcome), haechi_core::protect::ProtectError> {
    let mode = mode_for(config, direction);
    let context = ProtectContext::new(
        config.target.target_type.clone(),
        "cli protect",
        direction,
        mode,
    );
    let outcome = protector.protect(input, &context)?;
    Ok((mode, outcome))
}

fn print_outcome(config: &Config, mode: Mode, input: &str, outcome: &ProtectOutcome) -> Result<()> {
    // The payload is embedded as raw JSON: the exact bytes we would forward.
    let payload = match outcome.output(input) {
        Some(text) => Some(RawValue::from_string(text.trim().to_string())?),
        None => None,
    };
    let mut warnings = Vec::new();
    if !mode.enforces() {
        warnings.push(format!(
            "policy mode is {}: detections were audited but the payload was NOT modified or blocked. Set policy.mode to \"enforce\" to protect payloads.",
            mode.as_str()
        ));
        if config.mode == Mode::Enforce && config.policy.mode.is_some_and(|m| m != Mode::Enforce) {
            warnings.push("mode is \"enforce\" but policy.mode overrides it; set policy.mode to \"enforce\" (or null) as well".to_string());
        }
    }
    write_json(&ProtectOutput {
        ok: !outcome.blocked,
        mode: mode.as_str(),
        enforced: outcome.enforced,
        blocked: outcome.blocked,
        audit_id: &outcome.audit_id,
        summary: &outcome.summary,
        payload,
        warnings,
    })
}

/// The reference's protect output. A struct (not `json!`) so the raw payload is written
/// verbatim instead of being re-parsed into floats.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProtectOutput<'a> {
    ok: bool,
    mode: &'static str,
    enforced: bool,
    blocked: bool,
    audit_id: &'a str,
    summary: &'a ProtectSummary,
    payload: Option<Box<RawValue>>,
    warnings: Vec<String>,
}
