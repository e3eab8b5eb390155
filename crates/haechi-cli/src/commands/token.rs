//! `haechi token-reveal`, `token-purge` and `token-export`: the token vault's lifecycle.
//!
//! Reveal and purge go through [`TokenGovernance`], so the reveal policy is enforced and each
//! decision is audited (token id and decision, never a value). Opening the vault first imports
//! a reference JSON vault at `tokenVault.path`, so tokens the JavaScript Haechi issued keep
//! working.

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use haechi_core::config::model::RevealPolicy;
use haechi_core::config::Config;
use haechi_store::vault::{token_id_from_marker, TokenGovernance, VaultError};
use serde_json::json;

use crate::output::write_json;
use crate::runtime::{load_config, open_audit, open_keys, open_vault};

/// `haechi token-reveal <token> [--allow-dev-reveal]`. `--allow-dev-reveal` reveals under
/// `local-dev` for this run whatever the config says (as the reference does); the audit event
/// then records `revealPolicy: local-dev`.
pub(crate) fn reveal(token: &str, config_path: &Path, allow_dev_reveal: bool) -> Result<u8> {
    let config = load_config(config_path)?;
    let policy = if allow_dev_reveal {
        RevealPolicy::LocalDev
    } else {
        config.token_vault.reveal_policy
    };
    let governance = open_governance(&config, policy)?;
    let revealed = governance
        .reveal(token_id_from_marker(token))
        .map_err(|error| match error {
            VaultError::RevealDisabled => anyhow!(
                "{error}; set tokenVault.revealPolicy to \"local-dev\" or pass --allow-dev-reveal (the refusal was audited)"
            ),
            other => anyhow!("{other}"),
        })?;
    write_json(&json!({
        "ok": true,
        "token": revealed.token,
        "type": revealed.detection_type,
        "plaintext": revealed.plaintext,
    }))?;
    Ok(super::EXIT_OK)
}

/// `haechi token-purge <token>` or `haechi token-purge --expired`.
pub(crate) fn purge(token: Option<&str>, expired: bool, config_path: &Path) -> Result<u8> {
    let result = match (token, expired) {
        (Some(_), true) => {
            bail!("token-purge takes a token or --expired, not both; run it once for each")
        }
        (None, false) => bail!("token-purge requires a token or --expired"),
        (None, true) => {
            let config = load_config(config_path)?;
            let governance = open_governance(&config, config.token_vault.reveal_policy)?;
            serde_json::to_value(governance.purge_expired().map_err(vault_error)?)?
        }
        (Some(token), false) => {
            let config = load_config(config_path)?;
            let governance = open_governance(&config, config.token_vault.reveal_policy)?;
            let purged = governance
                .purge(token_id_from_marker(token))
                .map_err(vault_error)?;
            serde_json::to_value(purged)?
        }
    };
    write_json(&json!({ "ok": true, "command": "token-purge", "result": result }))?;
    Ok(super::EXIT_OK)
}

/// `haechi token-export [--type T]`: token metadata only — never a value or an envelope.
pub(crate) fn export(config_path: &Path, type_filter: Option<&str>) -> Result<u8> {
    let config = load_config(config_path)?;
    let vault = open_vault(&config, open_keys(&config)?)?;
    let tokens = vault.export_metadata(type_filter).map_err(vault_error)?;
    write_json(&json!({ "ok": true, "command": "token-export", "tokens": tokens }))?;
    Ok(super::EXIT_OK)
}

fn open_governance(config: &Config, policy: RevealPolicy) -> Result<TokenGovernance> {
    let vault = Arc::new(open_vault(config, open_keys(config)?)?);
    let audit = open_audit(config)?;
    Ok(TokenGovernance::new(vault, policy, audit))
}

/// A vault error as one line (its message already says what to do; no source repeated).
fn vault_error(error: VaultError) -> anyhow::Error {
    anyhow!("{error}")
}
