//! Unknown keys are refused everywhere in the schema, with a "did you mean" hint; open maps
//! (action types, profile names, scopes, labels, version floors) take any name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use haechi_core::config::{load_config_str, ConfigErrorKind};
use serde_json::{json, Value};

#[track_caller]
fn unknown(doc: Value) -> String {
    let e = load_config_str(&doc.to_string(), &|_| None).expect_err("should be refused");
    assert_eq!(e.kind(), ConfigErrorKind::UnknownKey, "{e}");
    e.to_string()
}

#[test]
fn typo_in_a_section_gets_the_sibling_hint() {
    assert_eq!(
        unknown(json!({"policy": {"mdoe": "enforce"}})),
        "unknown key policy.mdoe; did you mean policy.mode?"
    );
    assert_eq!(
        unknown(json!({"proxy": {"prot": 8080}})),
        "unknown key proxy.prot; did you mean proxy.port?"
    );
    assert_eq!(
        unknown(json!({"target": {"upstreem": "http://h"}})),
        "unknown key target.upstreem; did you mean target.upstream?"
    );
    assert_eq!(
        unknown(json!({"audit": {"anchor": {"evryRecords": 2}}})),
        "unknown key audit.anchor.evryRecords; did you mean audit.anchor.everyRecords?"
    );
    assert_eq!(
        unknown(json!({"responseProtection": {"enable": true}})),
        "unknown key responseProtection.enable; did you mean responseProtection.enabled?"
    );
}

#[test]
fn typo_of_a_section_name() {
    assert_eq!(
        unknown(json!({"polciy": {}})),
        "unknown key polciy; did you mean policy?"
    );
    assert_eq!(
        unknown(json!({"tokenvault": {}})),
        "unknown key tokenvault; did you mean tokenVault?"
    );
}

#[test]
fn key_in_the_wrong_section_points_to_its_home() {
    assert_eq!(
        unknown(json!({"port": 8080})),
        "unknown key port; did you mean proxy.port?"
    );
    assert_eq!(
        unknown(json!({"presets": ["korean-pii"]})),
        "unknown key presets; did you mean policy.presets?"
    );
}

#[test]
fn no_close_match_lists_the_allowed_keys() {
    let m = unknown(json!({"keys": {"zzzzzz": 1}}));
    assert_eq!(
        m,
        "unknown key keys.zzzzzz; allowed keys here: provider, keyFile"
    );
}

#[test]
fn schema_and_comment_keys_get_specific_advice() {
    assert!(unknown(json!({"$schema": "https://example.com/s.json"})).contains("JSON Schema"));
    assert!(unknown(json!({"//": "note"})).contains("no comments"));
    assert!(unknown(json!({"_comment": "note"})).contains("no comments"));
}

#[test]
fn nested_objects_are_closed_too() {
    unknown(json!({"proxy": {"tls": {"keyFile": "k", "certFile": "c", "ca": "x"}}}));
    let m = unknown(json!({"proxy": {"tls": {"key": "-----BEGIN PRIVATE KEY-----"}}}));
    assert!(m.contains("did you mean proxy.tls.keyFile?"), "{m}");
    assert!(!m.contains("BEGIN"), "{m}");
    unknown(
        json!({"filters": {"customRules": [{"id": "a", "type": "t", "pattern": "p", "regex": "x"}]}}),
    );
    unknown(json!({"filters": {"allowlist": [{"value": "v", "paht": "p"}]}}));
    unknown(json!({"policy": {"rate": {"requestsPerMinute": 5, "burst": 2}}}));
    unknown(
        json!({"policy": {"profiles": {"a": {"defaultAction": "block"}}, "profileBinding": {"default": "a"}}}),
    );
    unknown(json!({"policy": {"profileBinding": {"default": "a", "byRole": {}}}}));
    unknown(json!({"auth": {"plugin": {"manifestPath": "m", "sandbox": true}}}));
    unknown(
        json!({"auth": {"plugin": {"trustAnchors": [{"keyId": "k", "publicKey": "P", "alg": "x"}]}}}),
    );
    unknown(
        json!({"auth": {"plugin": {"keyMaterial": {"url": "https://k.example.com", "headers": {}}}}}),
    );
}

#[test]
fn open_maps_accept_any_names() {
    let config = load_config_str(
        &json!({
            "policy": {
                "actions": {"employee_id": "block", "x.y": "mask"},
                "profiles": {"strict team": {"actions": {"email": "block"}}},
                "profileBinding": {
                    "byScope": {"team:eng": "strict team"},
                    "byLabel": {"tier=trusted": "strict team"},
                    "default": "strict team"
                }
            },
            "auth": {"plugin": {"versionFloor": {"acme-auth": "1.2.0"}}}
        })
        .to_string(),
        &|_| None,
    )
    .expect("open maps take any names");
    assert_eq!(
        config.policy.actions.len(),
        3,
        "merged with the default card action"
    );
    assert!(config.policy.profiles.contains_key("strict team"));
}
