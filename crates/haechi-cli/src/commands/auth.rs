//! `haechi auth add | list | revoke`: the gateway's bearer tokens (`auth.store`).
//!
//! Tokens are kept as keyed HMACs under the local key; `add` prints the plaintext once and it
//! cannot be recovered afterwards. `list` shows metadata only, never a token or a hash.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use haechi_core::config::Config;
use haechi_gateway::auth::{AuthError, Labels, NewToken, TokenStore};
use serde_json::json;

use crate::cli::AuthAction;
use crate::output::write_json;
use crate::runtime::{load_config, open_keys};

const SHOWN_ONCE: &str =
    "This token is shown only once and cannot be recovered. Store it in a secret manager now.";

pub(crate) fn run(action: AuthAction) -> Result<u8> {
    match action {
        AuthAction::Add {
            kind,
            scopes,
            labels,
            config,
        } => add(kind.as_deref(), scopes, &labels, &config),
        AuthAction::List { config } => list(&config),
        AuthAction::Revoke { id, config } => revoke(id.as_deref(), &config),
    }
}

/// `haechi auth add --type user|service|agent [--scope S]... [--label k=v]...`
fn add(
    kind: Option<&str>,
    scopes: Vec<String>,
    labels: &[String],
    config_path: &Path,
) -> Result<u8> {
    let Some(kind) = kind else {
        bail!("auth add requires --type user|service|agent");
    };
    // Argument mistakes are reported before the config or the key file is opened.
    let labels = parse_labels(labels)?;
    let config = load_auth_config(config_path)?;
    let keys = open_keys(&config)?;
    let request = NewToken {
        kind,
        scopes,
        labels,
        allowed_label_keys: &config.auth.allowed_label_keys,
    };
    let issued = store(&config)
        .add(keys.as_ref(), &request)
        .map_err(auth_error)?;
    write_json(&json!({
        "ok": true,
        "command": "auth add",
        "id": issued.record.id,
        "type": issued.record.kind,
        "scopes": issued.record.scopes,
        "labels": issued.record.labels,
        "token": issued.token,
        "warning": SHOWN_ONCE,
    }))?;
    Ok(super::EXIT_OK)
}

/// `haechi auth list`: every token's metadata, revoked ones included.
fn list(config_path: &Path) -> Result<u8> {
    let config = load_auth_config(config_path)?;
    let tokens = store(&config).list().map_err(auth_error)?;
    write_json(&json!({ "ok": true, "command": "auth list", "tokens": tokens }))?;
    Ok(super::EXIT_OK)
}

/// `haechi auth revoke <id>`: disable a token; the gateway refuses it from its next request.
fn revoke(id: Option<&str>, config_path: &Path) -> Result<u8> {
    let Some(id) = id.filter(|id| !id.is_empty()) else {
        bail!("auth revoke requires a token id; run `haechi auth list` to see them");
    };
    let config = load_auth_config(config_path)?;
    let result = store(&config).revoke(id).map_err(auth_error)?;
    write_json(&json!({ "ok": true, "command": "auth revoke", "result": result }))?;
    Ok(super::EXIT_OK)
}

/// The config, refused unless the store can be hashed with the local key.
fn load_auth_config(path: &Path) -> Result<Config> {
    let config = load_config(path)?;
    if config.keys.provider != haechi_core::config::KeysProvider::Local {
        bail!(
            "haechi auth requires keys.provider \"local\" (keys.provider is \"external\"): tokens are hashed with the local key; switch to the local provider, or issue tokens from the program that embeds Haechi with its own key provider"
        );
    }
    Ok(config)
}

fn store(config: &Config) -> TokenStore {
    TokenStore::new(&config.auth.store)
}

/// `--label key=value` pairs; the value may itself contain `=`. A repeated key takes the
/// last value, as the reference does.
fn parse_labels(entries: &[String]) -> Result<Labels> {
    let mut labels = Labels::new();
    for entry in entries {
        let Some((key, value)) = entry.split_once('=') else {
            bail!("invalid --label {entry:?}: expected key=value, e.g. --label team=payments");
        };
        labels.insert(key, value);
    }
    Ok(labels)
}

/// An auth error as one line (its message already says what to do; no source repeated).
fn auth_error(error: AuthError) -> anyhow::Error {
    anyhow!("{error}")
}

#[cfg(test)]
#[path = "tests/auth.rs"]
mod tests;
