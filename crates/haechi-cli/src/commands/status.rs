//! `haechi status`: what is and is not protected under a config, with every warning in one list.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use anyhow::{anyhow, Result};
use haechi_core::config::{Config, StreamRequestMode};
use haechi_core::vocab::Mode;
use haechi_crypto::{check_key_file, CryptoError, NonceBudgetStatus};
use haechi_store::audit::verify_file_anchored;
use serde_json::{json, Value};

use crate::output::write_json;
use crate::runtime::load_config;

/// Prints the status JSON. A key file that `protect` and `proxy` would refuse makes it
/// `"ok": false` and exit 1, with the reason in `warnings`, `keys.error` and on stderr.
pub(crate) fn run(config_path: &Path) -> Result<u8> {
    let config = load_config(config_path)?;
    let mut warnings = protection_warnings(&config);
    let (keys, key_error) = key_status(&config, &mut warnings);
    let audit = audit_status(&config, &mut warnings);
    let mode = config.effective_mode();
    write_json(&json!({
        "ok": key_error.is_none(),
        "command": "status",
        "configPath": config_path,
        "protection": {
            "policyMode": mode.as_str(),
            "enforced": mode.enforces(),
            "responseProtection": {
                "enabled": config.response_protection.enabled,
                "mode": config.response_protection.mode,
                "failureMode": config.response_protection.failure_mode,
            },
            "streamingRequestMode": config.streaming.request_mode,
            "streamingResponseMode": config.streaming.response_mode,
        },
        "target": {
            "type": config.target.target_type,
            // The adapter actually used: a specific `type` wins over `adapter` (config load
            // has already refused an unknown one).
            "adapter": config.target.adapter_name().ok(),
            "upstream": config.target.upstream,
        },
        "proxy": config.proxy,
        "tokenVault": {
            "revealPolicy": config.token_vault.reveal_policy,
            "retentionDays": config.token_vault.retention_days,
            "deterministic": config.token_vault.deterministic,
            "deterministicTypes": config.token_vault.deterministic_types,
            "detokenizeResponses": config.token_vault.detokenize_responses,
        },
        "privacyProfile": config.privacy.profile,
        "keys": keys,
        "audit": audit,
        "warnings": warnings,
    }))?;
    match key_error {
        Some(error) => Err(anyhow!("{error}")),
        None => Ok(super::EXIT_OK),
    }
}

fn protection_warnings(config: &Config) -> Vec<String> {
    let mut warnings = Vec::new();
    let mode = config.effective_mode();
    if !mode.enforces() {
        warnings.push(format!(
            "policy mode is {}: payloads are inspected and audited but NOT modified or blocked",
            mode.as_str()
        ));
        if config.mode == Mode::Enforce {
            warnings.push("mode is \"enforce\" but policy.mode overrides it; set policy.mode to \"enforce\" (or null) as well".into());
        }
    }
    if !config.response_protection.enabled {
        warnings.push("responseProtection.enabled is false: upstream responses are forwarded without inspection".into());
    }
    if config.streaming.request_mode == StreamRequestMode::PassThrough {
        warnings.push(
            "streaming.requestMode is pass-through: streaming payloads are not protected".into(),
        );
    }
    if config.token_vault.reveal_policy != haechi_core::config::RevealPolicy::Disabled {
        warnings
            .push("tokenVault.revealPolicy is local-dev: manual token reveal is enabled".into());
    }
    if config.token_vault.detokenize_responses && !config.response_protection.enabled {
        warnings.push("tokenVault.detokenizeResponses is true but responseProtection.enabled is false: detokenization never runs".into());
    }
    warnings
}

/// The key file, checked by the same function the provider opens it with. Returns the `keys`
/// section and the check's error, if any.
fn key_status(config: &Config, warnings: &mut Vec<String>) -> (Value, Option<CryptoError>) {
    let key_file = &config.keys.key_file;
    let metadata = std::fs::metadata(key_file).ok();
    let permissions = metadata
        .as_ref()
        .map(|m| format!("0{:o}", m.permissions().mode() & 0o777));
    let mut section = json!({
        "provider": config.keys.provider,
        "keyFile": key_file,
        "exists": metadata.is_some(),
        "permissions": permissions,
        "nonceBudget": Value::Null,
    });
    if config.keys.provider != haechi_core::config::KeysProvider::Local {
        // No local key is used for encryption; report the file as the reference does.
        match &metadata {
            Some(m) if m.permissions().mode() & 0o077 != 0 => warnings.push(format!(
                "key file {key_file} is group/world accessible ({}); expected 0600: run chmod 600 {key_file}",
                permissions.as_deref().unwrap_or("?")
            )),
            Some(_) => {}
            None => warnings.push(format!("key file {key_file} does not exist; run haechi init")),
        }
        return (section, None);
    }
    match check_key_file(key_file) {
        Ok(check) => {
            warnings.extend(check.warnings.into_iter().map(|w| w.message));
            budget_warnings(&check.nonce_budget, warnings);
            section["nonceBudget"] = nonce_budget_json(&check.nonce_budget);
            if let Some(target) = check.link_target {
                section["linkTarget"] = json!(target);
            }
            section["error"] = Value::Null;
            (section, None)
        }
        Err(error) => {
            warnings.push(error.to_string());
            section["error"] = json!({ "code": error.code(), "message": error.to_string() });
            (section, Some(error))
        }
    }
}

fn budget_warnings(budget: &NonceBudgetStatus, warnings: &mut Vec<String>) {
    if budget.exhausted {
        warnings.push(format!("crypto key {} has EXHAUSTED its safe encryption budget ({}); encryption is failing closed — rotate now with 'haechi init --force'", budget.kid, budget.limit));
    } else if budget.used >= budget.warn_threshold {
        warnings.push(format!("crypto key {} has used {}% of its safe encryption budget; plan a rotation ('haechi init --force')", budget.kid, used_percent(budget)));
    }
}

fn used_percent(budget: &NonceBudgetStatus) -> f64 {
    (budget.used_fraction * 1000.0).round() / 10.0
}

fn nonce_budget_json(budget: &NonceBudgetStatus) -> Value {
    json!({
        "kid": budget.kid,
        "used": budget.used,
        "limit": budget.limit,
        "remaining": budget.remaining,
        "usedPercent": used_percent(budget),
        "exhausted": budget.exhausted,
    })
}

fn audit_status(config: &Config, warnings: &mut Vec<String>) -> Value {
    let anchor_enabled = config.audit.anchor.mode == haechi_core::config::AnchorMode::File;
    let anchor_path = anchor_enabled
        .then(|| config.audit.anchor.path.clone())
        .flatten();
    let path = Path::new(&config.audit.path);
    let exists = path.exists();
    let mut chain = Value::Null;
    if exists {
        match verify_file_anchored(path, anchor_path.as_deref().map(Path::new)) {
            Ok(outcome) => {
                if let Some(failure) = &outcome.failure {
                    warnings.push(format!(
                        "audit chain verification failed: {}",
                        failure.reason()
                    ));
                }
                chain = outcome.to_json();
            }
            Err(error) => warnings.push(format!("audit log cannot be verified: {error}")),
        }
    }
    match config.audit.anchor.mode.as_str() {
        "none" => warnings.push("audit.anchor.mode is none: tail truncation of the audit log cannot be detected".into()),
        "file" => warnings.push("audit.anchor: real tail-truncation defense requires the anchor on append-only or separate media; on the same writable filesystem an attacker can truncate both files together".into()),
        _ => {}
    }
    json!({
        "path": config.audit.path,
        "exists": exists,
        "chain": chain,
        "anchor": { "mode": config.audit.anchor.mode, "path": anchor_path },
    })
}
