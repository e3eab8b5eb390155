//! Loading as a whole: the default file round-trips, partial files merge over the defaults
//! as the reference merges them, syntax problems are explained, secrets never echoed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use haechi_core::config::{
    default_config, default_config_json, load_config_str, Config, ConfigError, ConfigErrorKind,
    CURRENT_CONFIG_VERSION,
};
use haechi_core::vocab::{Action, Mode};

fn load(text: &str) -> Result<Config, ConfigError> {
    load_config_str(text, &|_| None)
}

#[test]
fn default_file_round_trips_to_the_default_model() {
    let loaded = load(&default_config_json()).expect("default file loads");
    assert_eq!(loaded, default_config());
}

#[test]
fn default_file_text_has_the_reference_layout() {
    let text = default_config_json();
    assert!(text.starts_with("{\n  \"configVersion\": 1,\n  \"mode\": \"dry-run\",\n"));
    assert!(text.ends_with("}\n") && !text.ends_with("}\n\n"));
    assert!(text.contains("\"presets\": [\n      \"korean-pii\",\n"));
    assert!(!text.contains('\t'));
}

#[test]
fn empty_object_is_the_defaults() {
    assert_eq!(load("{}").unwrap(), default_config());
}

#[test]
fn null_sections_are_the_defaults() {
    let config = load(
        r#"{ "proxy": null, "policy": null, "audit": { "anchor": null }, "configVersion": null }"#,
    )
    .unwrap();
    assert_eq!(config, default_config());
}

#[test]
fn partial_file_with_only_mode_is_valid_and_keeps_the_reference_policy_mode() {
    let config = load(r#"{ "mode": "enforce" }"#).expect("partial file");
    assert_eq!(config.mode, Mode::Enforce);
    // The reference merges policy.mode "dry-run" from its defaults, and policy.mode wins.
    assert_eq!(config.policy.mode, Some(Mode::DryRun));
    assert_eq!(config.effective_mode(), Mode::DryRun);
    assert_eq!(config.config_version, CURRENT_CONFIG_VERSION);
}

#[test]
fn null_policy_mode_follows_the_top_level_mode() {
    let config = load(r#"{ "mode": "enforce", "policy": { "mode": null } }"#).unwrap();
    assert_eq!(config.policy.mode, None);
    assert_eq!(config.effective_mode(), Mode::Enforce);
    let config = load(r#"{ "policy": { "mode": "enforce" } }"#).unwrap();
    assert_eq!(config.effective_mode(), Mode::Enforce);
}

#[test]
fn sections_merge_key_by_key() {
    let config = load(r#"{ "proxy": { "port": 8080 }, "limits": { "maxInFlight": 64 } }"#).unwrap();
    assert_eq!(config.proxy.port, 8080);
    assert_eq!(config.proxy.host, "127.0.0.1");
    assert_eq!(config.limits.max_in_flight, 64);
    assert_eq!(config.limits.max_request_bytes, 1_048_576);
}

#[test]
fn policy_actions_merge_over_the_default_card_block() {
    let config = load(r#"{ "policy": { "actions": { "email": "tokenize" } } }"#).unwrap();
    assert_eq!(config.policy.actions.get("card"), Some(&Action::Block));
    assert_eq!(config.policy.actions.get("email"), Some(&Action::Tokenize));
    // Presets and the rest of the policy keep their defaults.
    assert_eq!(config.policy.presets.len(), 3);
}

#[test]
fn audit_anchor_merges_over_its_defaults() {
    let config = load(r#"{ "audit": { "anchor": { "mode": "file" } } }"#).unwrap();
    assert_eq!(
        config.audit.anchor.mode,
        haechi_core::config::AnchorMode::File
    );
    assert_eq!(
        config.audit.anchor.path.as_deref(),
        Some(".haechi/audit.anchor.jsonl")
    );
    assert_eq!(config.audit.anchor.every_records, 1);
    assert_eq!(config.audit.path, ".haechi/audit.jsonl");
}

#[test]
fn whole_floats_count_as_integers() {
    let config = load(r#"{ "proxy": { "port": 8080.0 }, "configVersion": 1.0 }"#).unwrap();
    assert_eq!(config.proxy.port, 8080);
}

#[test]
fn config_version_absent_or_current_loads_and_newer_fails_closed() {
    assert_eq!(load("{}").unwrap().config_version, 1);
    assert_eq!(load(r#"{ "configVersion": 1 }"#).unwrap().config_version, 1);
    let e = load(r#"{ "configVersion": 2 }"#).unwrap_err();
    assert_eq!(e.kind(), ConfigErrorKind::UnsupportedVersion);
    assert_eq!(
        e.to_string(),
        "configVersion: found number 2; this build of Haechi supports configVersion up to 1; \
         upgrade Haechi to read this file (or lower configVersion only after checking the file \
         uses nothing newer)"
    );
}

#[test]
fn adapter_resolution_after_loading() {
    let adapter = |text: &str| load(text).unwrap().target.adapter_name().unwrap();
    assert_eq!(adapter("{}"), "openai-compatible");
    assert_eq!(adapter(r#"{ "target": { "type": "ollama" } }"#), "ollama");
    assert_eq!(
        adapter(r#"{ "target": { "type": "anthropic", "adapter": "openai-compatible" } }"#),
        "anthropic"
    );
    assert_eq!(
        adapter(r#"{ "target": { "adapter": "vllm-openai" } }"#),
        "vllm-openai"
    );
    assert_eq!(
        adapter(r#"{ "target": { "adapter": null } }"#),
        "openai-compatible"
    );
}

#[test]
fn syntax_errors_are_explained() {
    let e = load("{ \"mode\": \"enforce\", }").unwrap_err();
    assert_eq!(e.kind(), ConfigErrorKind::Syntax);
    assert!(e.to_string().contains("trailing comma"), "{e}");
    let e = load("{\n  // enforce everything\n  \"mode\": \"enforce\"\n}").unwrap_err();
    assert!(e.to_string().contains("comments are not allowed"), "{e}");
    assert!(e.to_string().contains("line 2"), "{e}");
    let e = load("[]").unwrap_err();
    assert!(e.to_string().contains("JSON object"), "{e}");
    let e = load("").unwrap_err();
    assert_eq!(e.kind(), ConfigErrorKind::Syntax);
    let e = load(r#"{ "mode": "enforce", "mode": "dry-run" }"#).unwrap_err();
    assert!(e.to_string().contains("duplicate key \"mode\""), "{e}");
}

#[test]
fn a_byte_order_mark_is_tolerated() {
    assert_eq!(load("\u{feff}{}").unwrap(), default_config());
}

#[test]
fn secrets_in_the_wrong_place_are_never_echoed() {
    let secret = "sk-live-0123456789abcdefABCDEF0123456789";
    let cases = [
        format!(r#"{{ "mode": "{secret}" }}"#),
        format!(r#"{{ "keys": {{ "provider": "{secret}" }} }}"#),
        format!(
            r#"{{ "proxy": {{ "tls": {{ "keyFile": "k", "certFile": "c", "passphrase": "{secret}" }} }} }}"#
        ),
        format!(r#"{{ "target": {{ "upstream": "https://x:{secret}@host" }} }}"#),
        format!(r#"{{ "target": {{ "forwardHeaders": ["{secret}x y"] }} }}"#),
        format!(r#"{{ "proxy": {{ "port": "{secret}" }} }}"#),
        format!(
            r#"{{ "filters": {{ "customRules": [{{ "id": "a", "type": "t", "pattern": "p", "flags": "{secret}" }}] }} }}"#
        ),
        format!(r#"{{ "mode": "enforce", {secret} }}"#),
    ];
    for text in cases {
        let e = load(&text).unwrap_err();
        assert!(!e.to_string().contains("0123456789abcdef"), "echoed: {e}");
    }
}

#[test]
fn bad_input_never_panics() {
    let samples = [
        "{",
        "}",
        "{\"a\":",
        "nul",
        "{\"proxy\":{\"port\":1e400}}",
        "{\"proxy\":{\"port\":-0.0}}",
        "{\"limits\":{\"maxRequestBytes\":18446744073709551616}}",
        "{\"policy\":{\"actions\":[]}}",
        "{\"auth\":{\"plugin\":[]}}",
        "{\"filters\":{\"allowlist\":[[]]}}",
    ];
    for text in samples {
        let _ = load(text);
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(load(&deep).is_err());
}
