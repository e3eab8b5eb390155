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
