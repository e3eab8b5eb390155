use indexmap::IndexMap;

use super::*;
use crate::config::{default_config, ProfileBinding, ProfileConfig, RateConfig};
use crate::vocab::Action;

fn build(
    presets: &[&str],
    actions: &[(&str, Action)],
    unsafe_ok: bool,
) -> Result<CompiledPolicy, PolicyError> {
    let presets: Vec<String> = presets.iter().map(|p| p.to_string()).collect();
    let actions: IndexMap<String, Action> =
        actions.iter().map(|(t, a)| (t.to_string(), *a)).collect();
    CompiledPolicy::build(PolicySource {
        presets: &presets,
        default_action: Action::Redact,
        actions: &actions,
        allow_unsafe_overrides: unsafe_ok,
        privacy_profile: None,
    })
}

#[test]
fn default_config_policy_matches_reference_table() {
    let config = default_config();
    let set = PolicySet::compile(&config.policy, None).unwrap();
    let policy = &set.base().policy;
    assert_eq!(policy.decide("kr_rrn"), Action::Block);
    assert_eq!(policy.decide("api_key"), Action::Block);
    assert_eq!(policy.decide("secret"), Action::Block);
    assert_eq!(policy.decide("card"), Action::Block);
    assert_eq!(policy.decide("phone"), Action::Mask);
    assert_eq!(policy.decide("email"), Action::Redact);
    assert_eq!(policy.decide("iban"), Action::Redact);
    assert_eq!(policy.decide("injection"), Action::Allow);
}

#[test]
fn strength_order() {
    assert!(Action::Allow.strength() < Action::Redact.strength());
    assert_eq!(Action::Redact.strength(), Action::Mask.strength());
    assert!(Action::Mask.strength() < Action::Tokenize.strength());
    assert_eq!(Action::Tokenize.strength(), Action::Encrypt.strength());
    assert!(Action::Encrypt.strength() < Action::Block.strength());
}

#[test]
fn weakening_is_refused_with_a_message_naming_the_fix() {
    let error = build(&["secrets-only"], &[("secret", Action::Redact)], false).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("secret"), "{message}");
    assert!(message.contains("block"), "{message}");
    assert!(message.contains("allowUnsafeOverrides"), "{message}");
}

#[test]
fn unsafe_overrides_really_weaken() {
    let policy = build(&["secrets-only"], &[("secret", Action::Redact)], true).unwrap();
    assert_eq!(policy.decide("secret"), Action::Redact);
}

#[test]
fn strengthening_is_always_allowed() {
    let policy = build(&["llm-redact"], &[("email", Action::Tokenize)], false).unwrap();
    assert_eq!(policy.decide("email"), Action::Tokenize);
}

#[test]
fn preset_default_action_wins_over_configured_default() {
    let policy = build(&["strict-block"], &[], false).unwrap();
    assert_eq!(policy.decide("iban"), Action::Block);
    // injection stays report-only even under a block default.
    assert_eq!(policy.decide("injection"), Action::Allow);
}

#[test]
fn injection_can_be_configured() {
    let policy = build(&[], &[("injection", Action::Redact)], false).unwrap();
    assert_eq!(policy.decide("injection"), Action::Redact);
}

#[test]
fn every_preset_builds_and_unknown_preset_fails() {
    for name in PRESET_NAMES {
        build(&[name], &[], false).unwrap();
    }
    let error = build(&["llm-redcat"], &[], false).unwrap_err();
    assert!(error.to_string().contains("llm-redact"));
    let local = build(&["local-inference"], &[], false).unwrap();
    assert_eq!(local.decide("email"), Action::Tokenize);
    assert!(!build(&["local-only"], &[], false)
        .unwrap()
        .allows_external_transfer());
}

#[test]
fn privacy_profiles_only_strengthen() {
    let presets = vec!["local-inference".to_string()];
    let mut actions = IndexMap::new();
    actions.insert("phone".to_string(), Action::Block);
    for profile in PRIVACY_PROFILE_NAMES {
        let policy = CompiledPolicy::build(PolicySource {
            presets: &presets,
            default_action: Action::Redact,
            actions: &actions,
            allow_unsafe_overrides: false,
            privacy_profile: Some(profile),
        })
        .unwrap();
        // The explicit block on phone survives every profile's "mask".
        assert_eq!(policy.decide("phone"), Action::Block, "{profile}");
        // local-inference tokenizes email; us-general's "redact" must not weaken it.
        assert_eq!(policy.decide("email"), Action::Tokenize, "{profile}");
        assert_eq!(policy.decide("jp_mynumber"), Action::Block, "{profile}");
    }
    let eu = privacy_profile("eu-gdpr").unwrap();
    for national_id in [
        "fr_nir",
        "es_dni",
        "uk_nino",
        "it_codice_fiscale",
        "de_steuer_id",
        "nl_bsn",
    ] {
        assert!(
            eu.actions.contains(&(national_id, Action::Block)),
            "{national_id}"
        );
    }
}

fn profiled_config() -> crate::config::PolicyConfig {
    let mut policy = default_config().policy;
    let mut strict_actions = IndexMap::new();
    strict_actions.insert("email".to_string(), Action::Block);
    policy.profiles.insert(
        "strict".to_string(),
        ProfileConfig {
            presets: Some(vec!["strict-block".to_string()]),
            actions: Some(strict_actions),
            model_allowlist: Some(vec!["gpt-4o-mini".to_string()]),
            rate: Some(RateConfig {
                requests_per_minute: 10,
            }),
        },
    );
    policy
        .profiles
        .insert("relaxed".to_string(), ProfileConfig::default());
    let mut by_scope = IndexMap::new();
    by_scope.insert("admin".to_string(), "relaxed".to_string());
    let mut by_label = IndexMap::new();
    by_label.insert("team=research".to_string(), "relaxed".to_string());
    policy.profile_binding = Some(ProfileBinding {
        by_scope,
        by_label,
        default: "strict".to_string(),
    });
    policy
}

#[test]
fn profile_resolution_is_scope_then_label_then_default() {
    let set = PolicySet::compile(&profiled_config(), None).unwrap();
    assert!(set.has_profiles());
    let anonymous = set.resolve(None);
    assert_eq!(anonymous.name.as_deref(), Some("strict"));
    assert_eq!(anonymous.policy.decide("iban"), Action::Block);
    assert_eq!(
        anonymous.model_allowlist.as_deref(),
        Some(&["gpt-4o-mini".to_string()][..])
    );
    assert_eq!(
        anonymous.rate,
        Some(RateConfig {
            requests_per_minute: 10
        })
    );

    let admin = Identity {
        scopes: vec!["admin".into()],
        labels: vec![],
    };
    assert_eq!(set.resolve(Some(&admin)).name.as_deref(), Some("relaxed"));
    assert_eq!(
        set.resolve(Some(&admin)).policy.decide("iban"),
        Action::Redact
    );

    let researcher = Identity {
        scopes: vec!["reader".into()],
        labels: vec![("team".into(), "research".into())],
    };
    assert_eq!(
        set.resolve(Some(&researcher)).name.as_deref(),
        Some("relaxed")
    );

    let other = Identity {
        scopes: vec![],
        labels: vec![("team".into(), "ops".into())],
    };
    assert_eq!(set.resolve(Some(&other)).name.as_deref(), Some("strict"));
}

#[test]
fn profiles_require_a_valid_binding() {
    let mut policy = profiled_config();
    policy.profile_binding = None;
    assert!(PolicySet::compile(&policy, None)
        .unwrap_err()
        .to_string()
        .contains("profileBinding"));

    let mut policy = profiled_config();
    if let Some(binding) = policy.profile_binding.as_mut() {
        binding.default = "missing".to_string();
    }
    assert!(PolicySet::compile(&policy, None)
        .unwrap_err()
        .to_string()
        .contains("missing"));

    let mut policy = profiled_config();
    if let Some(binding) = policy.profile_binding.as_mut() {
        binding.by_scope.insert("ops".into(), "ghost".into());
    }
    assert!(PolicySet::compile(&policy, None)
        .unwrap_err()
        .to_string()
        .contains("ghost"));
}

#[test]
fn without_binding_the_base_applies() {
    let set = PolicySet::compile(&default_config().policy, None).unwrap();
    let someone = Identity {
        scopes: vec!["admin".into()],
        labels: vec![],
    };
    assert!(set.resolve(Some(&someone)).name.is_none());
}
