//! `auth.plugin` (the signed auth-plugin settings) and the `plugins.enabled` kill-switch:
//! the reference's accepted and refused plugin configurations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/config.rs"]
mod common;

use common::{accepted, refused, refused_as};
use haechi_core::config::ConfigErrorKind;
use serde_json::{json, Value};

fn plugin(overrides: Value) -> Value {
    let mut plugin = json!({
        "manifestPath": "./some/manifest.json",
        "trustAnchors": [{"keyId": "anchor-1", "publicKey": "PEM"}],
        "allowCapabilities": ["readsCredentials", "networkEgress"],
        "timeoutMs": 1000,
        "resourceLimits": {"maxOldGenerationSizeMb": 64}
    });
    if let (Value::Object(p), Value::Object(o)) = (&mut plugin, overrides) {
        for (k, v) in o {
            if v.is_null() {
                p.remove(&k);
            } else {
                p.insert(k, v);
            }
        }
    }
    json!({"auth": {"provider": "plugin", "plugin": plugin}})
}

#[test]
fn auth_plugin_well_formed_configs_load() {
    let config = accepted(plugin(json!({})));
    assert_eq!(
        config.auth.provider,
        haechi_core::config::AuthProviderKind::Plugin
    );
    let p = config.auth.plugin.expect("plugin");
    assert_eq!(p["timeoutMs"], 1000);
    accepted(plugin(
        json!({"isolation": "process", "resourceLimits": null}),
    ));
    accepted(plugin(json!({
        "isolation": "process",
        "resourceLimits": null,
        "keyMaterial": {"url": "https://keys.example.com/jwks", "ttlMs": 60000}
    })));
    accepted(plugin(
        json!({"trustAnchors": {"anchor-1": "PEM"}, "coreVersion": "1.0.0"}),
    ));
}

#[test]
fn auth_plugin_rules_fail_closed() {
    let cases: Vec<(Value, &str)> = vec![
        (json!({"auth": {"provider": "plugin"}}), "auth.plugin"),
        (
            plugin(json!({"manifestPath": ""})),
            "auth.plugin.manifestPath",
        ),
        (
            plugin(json!({"trustAnchors": []})),
            "auth.plugin.trustAnchors",
        ),
        (
            plugin(json!({"trustAnchors": [{"keyId": ""}]})),
            "auth.plugin.trustAnchors[0].keyId",
        ),
        (
            plugin(json!({"trustAnchors": {}})),
            "auth.plugin.trustAnchors",
        ),
        (
            plugin(json!({"allowCapabilities": []})),
            "auth.plugin.allowCapabilities",
        ),
        (
            plugin(json!({"allowCapabilities": ["readsCredentials", "bogusCap"]})),
            "auth.plugin.allowCapabilities[1]",
        ),
        (
            plugin(json!({"allowCapabilities": ["networkEgress"]})),
            "auth.plugin.allowCapabilities",
        ),
        (plugin(json!({"timeoutMs": 0})), "auth.plugin.timeoutMs"),
        (plugin(json!({"timeoutMs": 1.5})), "auth.plugin.timeoutMs"),
        (
            plugin(json!({"resourceLimits": null})),
            "auth.plugin.resourceLimits.maxOldGenerationSizeMb",
        ),
        (
            plugin(json!({"resourceLimits": {"maxOldGenerationSizeMb": 0}})),
            "auth.plugin.resourceLimits.maxOldGenerationSizeMb",
        ),
        (
            plugin(json!({"maxPendingCalls": 0})),
            "auth.plugin.maxPendingCalls",
        ),
        (
            plugin(json!({"maxMessageBytes": -1})),
            "auth.plugin.maxMessageBytes",
        ),
        (plugin(json!({"pin": "x"})), "auth.plugin.pin"),
        (
            plugin(json!({"pin": {"version": ""}})),
            "auth.plugin.pin.version",
        ),
        (plugin(json!({"revoked": []})), "auth.plugin.revoked"),
        (
            plugin(json!({"revoked": {"signerKeyIds": [1]}})),
            "auth.plugin.revoked.signerKeyIds[0]",
        ),
        (
            plugin(json!({"versionFloor": {"p": 1}})),
            "auth.plugin.versionFloor.p",
        ),
        (plugin(json!({"isolation": "vm"})), "auth.plugin.isolation"),
        (
            plugin(
                json!({"isolation": "process", "resourceLimits": null, "netEnforcement": "allow-harness"}),
            ),
            "auth.plugin.netEnforcement",
        ),
        (
            plugin(
                json!({"isolation": "process", "keyMaterial": {"url": "http://keys.example.com/jwks"}}),
            ),
            "auth.plugin.keyMaterial.url",
        ),
        (
            plugin(
                json!({"isolation": "process", "keyMaterial": {"url": "https://k.example.com/x", "ttlMs": -1}}),
            ),
            "auth.plugin.keyMaterial.ttlMs",
        ),
    ];
    for (doc, location) in cases {
        refused(doc, location);
    }
    let mut missing_url = plugin(json!({"isolation": "process", "keyMaterial": {"ttlMs": 1000}}));
    missing_url["auth"]["plugin"]["resourceLimits"] = Value::Null;
    refused_as(
        missing_url,
        "auth.plugin.keyMaterial.url",
        ConfigErrorKind::Missing,
    );
}

#[test]
fn plugins_kill_switch() {
    let mut doc = plugin(json!({}));
    doc["plugins"] = json!({"enabled": false});
    let m = refused_as(doc, "plugins.enabled", ConfigErrorKind::Conflict);
    assert!(m.contains("plugins are disabled"), "{m}");
    let mut doc = plugin(json!({}));
    doc["plugins"] = json!({"enabled": "yes"});
    refused_as(doc, "plugins.enabled", ConfigErrorKind::WrongKind);
}
