//! A `policy` section that stands on its own, as a signed policy bundle carries it.
//!
//! It passes exactly the checks an inline `policy` section passes (the same schema table and
//! the same profile-binding rules), but it is not merged over the inline defaults: a bundle
//! replaces the policy wholesale, so what it leaves out takes the policy engine's own
//! defaults (no presets, `defaultAction` `redact`, no actions), as the reference does.

use serde_json::{Map, Value};

use super::check::check_fields;
use super::cross;
use super::error::{ConfigError, ConfigErrorKind};
use super::model::PolicyConfig;
use super::schema::ROOT;
use crate::vocab::Action;

impl PolicyConfig {
    /// The policy a standalone section starts from before its own keys apply.
    pub fn bare() -> PolicyConfig {
        PolicyConfig {
            mode: None,
            presets: Vec::new(),
            default_action: Action::Redact,
            actions: Default::default(),
            allow_unsafe_overrides: false,
            bundle_path: None,
            profiles: Default::default(),
            profile_binding: None,
            model_allowlist: None,
            rate: None,
        }
    }
}

/// Validate `value` as a complete `policy` section and build its model.
///
/// Errors name the key path (`policy.actions.email`, ...) and never echo a value that could be
/// a secret, exactly as config loading reports them.
pub fn validate_policy_section(value: &Value) -> Result<PolicyConfig, ConfigError> {
    if !value.is_object() {
        return Err(ConfigError::wrong_kind(
            "policy",
            value,
            "expected an object",
        ));
    }
    // Checked through the root table so the section gets the very same field rules.
    let mut root = Map::new();
    root.insert("policy".into(), value.clone());
    let mut checked = check_fields(ROOT, &root, "")?;
    let section = match checked.remove("policy") {
        Some(Value::Object(section)) => section,
        _ => Map::new(),
    };

    let mut merged = match serde_json::to_value(PolicyConfig::bare()) {
        Ok(Value::Object(base)) => base,
        _ => return Err(internal()),
    };
    // Only top-level keys: the bare policy has no nested defaults to merge into.
    merged.extend(section);
    let merged = Value::Object(merged);

    let mut wrapped = Map::new();
    wrapped.insert("policy".into(), merged);
    let wrapped = Value::Object(wrapped);
    cross::check(&wrapped)?;
    let merged = wrapped.get("policy").cloned().unwrap_or(Value::Null);
    serde_json::from_value(merged).map_err(|_| internal())
}

fn internal() -> ConfigError {
    ConfigError::new(
        ConfigErrorKind::Internal,
        "policy",
        None,
        "internal error while reading the policy (a checked value did not fit the model); please report this",
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "tests/policy_section.rs"]
mod tests;
