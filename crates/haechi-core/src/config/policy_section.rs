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
mod tests {
    use super::*;
    use crate::vocab::Mode;
    use serde_json::json;

    #[test]
    fn missing_keys_take_the_engine_defaults_not_the_inline_ones() {
        let policy = validate_policy_section(&json!({"actions": {"email": "redact"}})).unwrap();
        assert!(policy.presets.is_empty());
        assert_eq!(policy.default_action, Action::Redact);
        assert_eq!(policy.actions.len(), 1);
        assert_eq!(policy.actions.get("email"), Some(&Action::Redact));
        assert_eq!(policy.mode, None);
        assert!(policy.profiles.is_empty());
    }

    #[test]
    fn a_full_section_is_read_into_the_model() {
        let policy = validate_policy_section(&json!({
            "mode": "enforce",
            "presets": ["secrets-only"],
            "defaultAction": "allow",
            "actions": {"email": "tokenize"},
            "profiles": {"strict": {"presets": ["strict-block"]}},
            "profileBinding": {"default": "strict", "byScope": {"a:b": "strict"}},
            "modelAllowlist": ["m"],
            "rate": {"requestsPerMinute": 60.0}
        }))
        .unwrap();
        assert_eq!(policy.mode, Some(Mode::Enforce));
        assert_eq!(policy.presets, vec!["secrets-only".to_string()]);
        assert_eq!(policy.default_action, Action::Allow);
        assert_eq!(policy.rate.map(|r| r.requests_per_minute), Some(60));
        assert!(policy.profile_binding.is_some());
    }

    #[test]
    fn the_inline_rules_apply() {
        let cases = [
            (
                json!({"defaultAction": "obliterate"}),
                "policy.defaultAction",
            ),
            (
                json!({"actions": {"email": "shred"}}),
                "policy.actions.email",
            ),
            (json!({"presets": ["no-such-preset"]}), "policy.presets"),
            (json!({"colour": "blue"}), "policy.colour"),
            (json!({"profiles": {"p": {}}}), "policy.profileBinding"),
            (
                json!({"profiles": {"p": {}}, "profileBinding": {"default": "q"}}),
                "policy.profileBinding.default",
            ),
        ];
        for (section, location) in cases {
            let error = validate_policy_section(&section).unwrap_err();
            assert!(
                error.location().starts_with(location),
                "{section}: {} at {}",
                error,
                error.location()
            );
        }
    }

    #[test]
    fn a_section_must_be_an_object() {
        for value in [json!(null), json!([]), json!("policy"), json!(1)] {
            let error = validate_policy_section(&value).unwrap_err();
            assert_eq!(error.kind(), ConfigErrorKind::WrongKind);
            assert_eq!(error.location(), "policy");
        }
    }
}
