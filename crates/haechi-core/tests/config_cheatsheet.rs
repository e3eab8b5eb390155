//! One test per rule of the reference's "Validation cheatsheet" (plus the rules its code
//! enforces beyond the sheet): each bad input is refused, at the right key path, with the
//! right kind of error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/config.rs"]
mod common;

use common::{accepted, refused, refused_as};
use haechi_core::config::ConfigErrorKind;
use serde_json::{json, Value};

#[test]
fn keys_provider_must_be_known() {
    let m = refused(json!({"keys": {"provider": "vault"}}), "keys.provider");
    assert!(m.contains("local | external"), "{m}");
    assert_eq!(
        accepted(json!({"keys": {"provider": "external"}}))
            .keys
            .provider,
        haechi_core::config::KeysProvider::External
    );
}

#[test]
fn proxy_host_must_be_non_empty() {
    refused_as(
        json!({"proxy": {"host": ""}}),
        "proxy.host",
        ConfigErrorKind::InvalidValue,
    );
    refused_as(
        json!({"proxy": {"host": "   "}}),
        "proxy.host",
        ConfigErrorKind::InvalidValue,
    );
    refused_as(
        json!({"proxy": {"host": 127}}),
        "proxy.host",
        ConfigErrorKind::WrongKind,
    );
}

#[test]
fn proxy_port_must_be_an_integer_in_range() {
    let m = refused(json!({"proxy": {"port": 70000}}), "proxy.port");
    assert_eq!(
        m,
        "proxy.port: found number 70000; expected an integer from 0 to 65535"
    );
    refused(json!({"proxy": {"port": -1}}), "proxy.port");
    refused(json!({"proxy": {"port": 80.5}}), "proxy.port");
    let m = refused(json!({"proxy": {"port": "8080"}}), "proxy.port");
    assert!(m.contains("found string"), "{m}");
    assert_eq!(accepted(json!({"proxy": {"port": 0}})).proxy.port, 0);
}

#[test]
fn proxy_trust_forwarded_proto_must_be_boolean() {
    refused(
        json!({"proxy": {"trustForwardedProto": "yes"}}),
        "proxy.trustForwardedProto",
    );
}

#[test]
fn proxy_tls_must_be_null_or_an_object() {
    refused_as(
        json!({"proxy": {"tls": "cert.pem"}}),
        "proxy.tls",
        ConfigErrorKind::WrongKind,
    );
    refused_as(
        json!({"proxy": {"tls": []}}),
        "proxy.tls",
        ConfigErrorKind::WrongKind,
    );
    assert!(accepted(json!({"proxy": {"tls": null}}))
        .proxy
        .tls
        .is_none());
}

#[test]
fn proxy_tls_key_and_cert_go_together() {
    refused_as(
        json!({"proxy": {"tls": {"keyFile": "k.pem"}}}),
        "proxy.tls.certFile",
        ConfigErrorKind::Missing,
    );
    refused_as(
        json!({"proxy": {"tls": {"certFile": "c.pem"}}}),
        "proxy.tls.keyFile",
        ConfigErrorKind::Missing,
    );
}

#[test]
fn proxy_tls_pfx_is_not_mixed_with_key_and_cert() {
    refused_as(
        json!({"proxy": {"tls": {"pfxFile": "s.pfx", "certFile": "c.pem"}}}),
        "proxy.tls",
        ConfigErrorKind::Conflict,
    );
}

#[test]
fn proxy_tls_needs_usable_material() {
    refused_as(
        json!({"proxy": {"tls": {}}}),
        "proxy.tls",
        ConfigErrorKind::Missing,
    );
    refused(
        json!({"proxy": {"tls": {"keyFile": "", "certFile": "c"}}}),
        "proxy.tls.keyFile",
    );
    let tls = accepted(json!({"proxy": {"tls": {"pfxFile": "s.pfx", "passphrase": "pw"}}}))
        .proxy
        .tls
        .expect("tls");
    assert_eq!(tls.pfx_file.as_deref(), Some("s.pfx"));
    assert_eq!(tls.passphrase.as_deref(), Some("pw"));
}

#[test]
fn audit_sink_must_be_jsonl() {
    refused(json!({"audit": {"sink": "syslog"}}), "audit.sink");
}

#[test]
fn audit_anchor_is_validated() {
    refused(
        json!({"audit": {"anchor": {"mode": "weird"}}}),
        "audit.anchor.mode",
    );
    refused(
        json!({"audit": {"anchor": {"mode": "file", "path": ""}}}),
        "audit.anchor.path",
    );
    refused_as(
        json!({"audit": {"anchor": {"mode": "file", "path": null}}}),
        "audit.anchor.path",
        ConfigErrorKind::Missing,
    );
    refused(
        json!({"audit": {"anchor": {"everyRecords": 0}}}),
        "audit.anchor.everyRecords",
    );
    refused(
        json!({"audit": {"anchor": {"everyRecords": 1.5}}}),
        "audit.anchor.everyRecords",
    );
    let anchor = accepted(json!({"audit": {"anchor": {"mode": "stdout"}}}))
        .audit
        .anchor;
    assert_eq!(anchor.mode, haechi_core::config::AnchorMode::Stdout);
    assert_eq!(anchor.every_records, 1);
}

#[test]
fn token_vault_provider_must_be_local() {
    refused(
        json!({"tokenVault": {"provider": "redis"}}),
        "tokenVault.provider",
    );
}

#[test]
fn token_vault_reveal_policy_must_be_known() {
    refused(
        json!({"tokenVault": {"revealPolicy": "always"}}),
        "tokenVault.revealPolicy",
    );
}

#[test]
fn token_vault_retention_days_must_be_at_least_one() {
    for bad in [json!(0), json!(-1), json!(0.5), json!("30")] {
        refused(
            json!({"tokenVault": {"retentionDays": bad}}),
            "tokenVault.retentionDays",
        );
    }
    assert_eq!(
        accepted(json!({"tokenVault": {"retentionDays": 1.5}}))
            .token_vault
            .retention_days,
        1.5
    );
}

#[test]
fn token_vault_flags_must_be_boolean() {
    refused(
        json!({"tokenVault": {"deterministic": 1}}),
        "tokenVault.deterministic",
    );
    refused(
        json!({"tokenVault": {"detokenizeResponses": "true"}}),
        "tokenVault.detokenizeResponses",
    );
}

#[test]
fn token_vault_deterministic_types_must_be_null_or_non_empty_strings() {
    refused(
        json!({"tokenVault": {"deterministicTypes": []}}),
        "tokenVault.deterministicTypes",
    );
    refused(
        json!({"tokenVault": {"deterministicTypes": [1]}}),
        "tokenVault.deterministicTypes[0]",
    );
    refused(
        json!({"tokenVault": {"deterministicTypes": ["email", " "]}}),
        "tokenVault.deterministicTypes[1]",
    );
    refused(
        json!({"tokenVault": {"deterministicTypes": "email"}}),
        "tokenVault.deterministicTypes",
    );
    let types = accepted(json!({"tokenVault": {"deterministicTypes": ["email"]}}))
        .token_vault
        .deterministic_types;
    assert_eq!(types, Some(vec!["email".to_string()]));
}

#[test]
fn mcp_allowed_methods_must_be_non_empty_strings() {
    refused(json!({"mcp": {"allowedMethods": []}}), "mcp.allowedMethods");
    refused(
        json!({"mcp": {"allowedMethods": ["tools/call", ""]}}),
        "mcp.allowedMethods[1]",
    );
    refused(
        json!({"mcp": {"allowedMethods": "*"}}),
        "mcp.allowedMethods",
    );
    assert_eq!(
        accepted(json!({"mcp": {"allowedMethods": ["*"]}}))
            .mcp
            .allowed_methods,
        vec!["*"]
    );
}

#[test]
fn mcp_flags_must_be_boolean() {
    for key in ["protectParams", "protectResults", "requireJsonRpc"] {
        refused(json!({"mcp": {key: "yes"}}), &format!("mcp.{key}"));
    }
}

#[test]
fn privacy_profile_must_be_known() {
    let m = refused(
        json!({"privacy": {"profile": "eu-gdrp"}}),
        "privacy.profile",
    );
    assert!(m.contains("did you mean eu-gdpr?"), "{m}");
    refused(json!({"privacy": {"profile": ""}}), "privacy.profile");
    assert_eq!(
        accepted(json!({"privacy": {"profile": "jp-appi"}}))
            .privacy
            .profile
            .as_deref(),
        Some("jp-appi")
    );
}

#[test]
fn response_protection_rules() {
    refused(
        json!({"responseProtection": {"failureMode": "open"}}),
        "responseProtection.failureMode",
    );
    refused(
        json!({"responseProtection": {"maxBytes": 0}}),
        "responseProtection.maxBytes",
    );
    refused(
        json!({"responseProtection": {"scanNumbers": "no"}}),
        "responseProtection.scanNumbers",
    );
    refused(
        json!({"responseProtection": {"enabled": 1}}),
        "responseProtection.enabled",
    );
    refused(
        json!({"responseProtection": {"mode": "strict"}}),
        "responseProtection.mode",
    );
}

#[test]
fn streaming_rules() {
    refused(
        json!({"streaming": {"requestMode": "stream"}}),
        "streaming.requestMode",
    );
    refused(
        json!({"streaming": {"responseMode": "on"}}),
        "streaming.responseMode",
    );
    refused(
        json!({"streaming": {"maxMatchBytes": 0}}),
        "streaming.maxMatchBytes",
    );
}

#[test]
fn auth_rules() {
    refused(json!({"auth": {"provider": "oauth"}}), "auth.provider");
    refused(json!({"auth": {"store": ""}}), "auth.store");
    refused(
        json!({"auth": {"allowedLabelKeys": ["team", 7]}}),
        "auth.allowedLabelKeys[1]",
    );
    refused(
        json!({"auth": {"allowedLabelKeys": "team"}}),
        "auth.allowedLabelKeys",
    );
}

#[test]
fn policy_profiles_must_be_an_object() {
    refused(json!({"policy": {"profiles": []}}), "policy.profiles");
    refused(
        json!({"policy": {"profiles": {"a": 1}}}),
        "policy.profiles.a",
    );
}

#[test]
fn policy_profile_binding_needs_a_valid_default() {
    refused_as(
        json!({"policy": {"profiles": {"a": {}}, "profileBinding": {"byScope": {}}}}),
        "policy.profileBinding.default",
        ConfigErrorKind::Missing,
    );
    refused_as(
        json!({"policy": {"profiles": {"a": {}}, "profileBinding": {"default": "missing"}}}),
        "policy.profileBinding.default",
        ConfigErrorKind::Conflict,
    );
    refused_as(
        json!({"policy": {"profiles": {"a": {}}}}),
        "policy.profileBinding",
        ConfigErrorKind::Missing,
    );
    refused_as(
        json!({"policy": {"profiles": {"a": {}}, "profileBinding": {"default": "a", "byScope": {"x": "ghost"}}}}),
        "policy.profileBinding.byScope.x",
        ConfigErrorKind::Conflict,
    );
    refused(
        json!({"policy": {"profiles": {"a": {}}, "profileBinding": {"default": "a", "byLabel": {"tier": "a"}}}}),
        "policy.profileBinding.byLabel.tier",
    );
    let policy = accepted(json!({"policy": {
        "profiles": {"a": {"actions": {}}, "b": {"rate": {"requestsPerMinute": 5}}},
        "profileBinding": {"default": "a", "byLabel": {"tier=trusted": "b"}}
    }}))
    .policy;
    let binding = policy.profile_binding.expect("binding");
    assert_eq!(binding.default, "a");
    assert!(binding.by_scope.is_empty());
    assert_eq!(binding.by_label["tier=trusted"], "b");
}

#[test]
fn policy_model_allowlist_must_be_strings() {
    refused(
        json!({"policy": {"modelAllowlist": ["llama3", 1]}}),
        "policy.modelAllowlist[1]",
    );
    refused(
        json!({"policy": {"modelAllowlist": null}}),
        "policy.modelAllowlist",
    );
    refused(
        json!({"policy": {"profiles": {"a": {"modelAllowlist": "x"}}, "profileBinding": {"default": "a"}}}),
        "policy.profiles.a.modelAllowlist",
    );
}

#[test]
fn policy_rate_must_be_positive() {
    refused(
        json!({"policy": {"rate": {"requestsPerMinute": 0}}}),
        "policy.rate.requestsPerMinute",
    );
    refused_as(
        json!({"policy": {"rate": {}}}),
        "policy.rate.requestsPerMinute",
        ConfigErrorKind::Missing,
    );
    refused(
        json!({"policy": {"profiles": {"a": {"rate": {"requestsPerMinute": -1}}}, "profileBinding": {"default": "a"}}}),
        "policy.profiles.a.rate.requestsPerMinute",
    );
}

#[test]
fn policy_core_fields_are_checked() {
    refused(json!({"policy": {"mode": "on"}}), "policy.mode");
    let m = refused(
        json!({"policy": {"presets": ["korean-pii", "strict"]}}),
        "policy.presets[1]",
    );
    assert!(m.contains("strict-block"), "{m}");
    refused(
        json!({"policy": {"defaultAction": "drop"}}),
        "policy.defaultAction",
    );
    refused(
        json!({"policy": {"actions": {"email": "hide"}}}),
        "policy.actions.email",
    );
    refused(
        json!({"policy": {"actions": {"email": null}}}),
        "policy.actions.email",
    );
    refused(
        json!({"policy": {"actions": {"": "block"}}}),
        "policy.actions",
    );
    refused(
        json!({"policy": {"allowUnsafeOverrides": "true"}}),
        "policy.allowUnsafeOverrides",
    );
    refused(json!({"policy": {"bundlePath": ""}}), "policy.bundlePath");
}

#[test]
fn limits_positive_integers() {
    for key in ["maxRequestBytes", "upstreamTimeoutMs", "maxNestingDepth"] {
        for bad in [json!(0), json!(-1), json!(1.5), json!("256"), json!(null)] {
            refused(json!({"limits": {key: bad}}), &format!("limits.{key}"));
        }
    }
    assert_eq!(
        accepted(json!({"limits": {"maxNestingDepth": 32}}))
            .limits
            .max_nesting_depth,
        32
    );
}

#[test]
fn limits_non_negative_integers() {
    for key in ["maxInFlight", "shutdownGraceMs"] {
        refused(json!({"limits": {key: -1}}), &format!("limits.{key}"));
        refused(json!({"limits": {key: 1.5}}), &format!("limits.{key}"));
    }
    assert_eq!(
        accepted(json!({"limits": {"maxInFlight": 0}}))
            .limits
            .max_in_flight,
        0
    );
}

#[test]
fn limits_node_timeouts_are_null_or_non_negative_integers() {
    for key in ["requestTimeoutMs", "headersTimeoutMs"] {
        refused(json!({"limits": {key: -1}}), &format!("limits.{key}"));
        refused(json!({"limits": {key: 2.5}}), &format!("limits.{key}"));
        let m = refused(json!({"limits": {key: "soon"}}), &format!("limits.{key}"));
        assert!(m.contains("null or a non-negative integer"), "{m}");
    }
    let limits =
        accepted(json!({"limits": {"requestTimeoutMs": 0, "headersTimeoutMs": null}})).limits;
    assert_eq!(limits.request_timeout_ms, Some(0));
    assert_eq!(limits.headers_timeout_ms, None);
}

#[test]
fn config_version_must_be_a_supported_positive_integer() {
    refused_as(
        json!({"configVersion": 0}),
        "configVersion",
        ConfigErrorKind::InvalidValue,
    );
    refused_as(
        json!({"configVersion": 1.5}),
        "configVersion",
        ConfigErrorKind::InvalidValue,
    );
    refused_as(
        json!({"configVersion": "1"}),
        "configVersion",
        ConfigErrorKind::WrongKind,
    );
    let m = refused_as(
        json!({"configVersion": 2}),
        "configVersion",
        ConfigErrorKind::UnsupportedVersion,
    );
    assert!(m.contains("supports configVersion up to 1"), "{m}");
    assert!(m.contains("upgrade Haechi"), "{m}");
}

#[test]
fn target_type_and_adapter_must_be_known() {
    let m = refused(json!({"target": {"type": "openai"}}), "target.type");
    assert!(m.contains("llm-http | openai-compatible"), "{m}");
    refused(json!({"target": {"adapter": "llm-http"}}), "target.adapter");
    refused(json!({"target": {"adapter": "bedrock"}}), "target.adapter");
}

#[test]
fn target_upstream_must_be_an_http_url() {
    for bad in [
        "",
        "127.0.0.1:9999",
        "ftp://host",
        "http://",
        "http://user:pw@host",
    ] {
        refused(json!({"target": {"upstream": bad}}), "target.upstream");
    }
    let m = refused(
        json!({"target": {"upstream": "http://user:hunter2@host"}}),
        "target.upstream",
    );
    assert!(!m.contains("hunter2"), "{m}");
}

#[test]
fn target_forward_headers_are_lowercase_and_never_always_dropped() {
    refused(
        json!({"target": {"forwardHeaders": "x-a"}}),
        "target.forwardHeaders",
    );
    refused(
        json!({"target": {"forwardHeaders": ["X-Trace"]}}),
        "target.forwardHeaders[0]",
    );
    refused(
        json!({"target": {"forwardHeaders": [""]}}),
        "target.forwardHeaders[0]",
    );
    for dropped in [
        "cookie",
        "set-cookie",
        "proxy-authorization",
        "authorization",
        "host",
        "connection",
        "transfer-encoding",
        "proxy-connection",
    ] {
        let m = refused(
            json!({"target": {"forwardHeaders": ["x-ok", dropped]}}),
            "target.forwardHeaders[1]",
        );
        assert!(m.contains("never forwarded"), "{m}");
    }
    let headers =
        accepted(json!({"target": {"forwardHeaders": ["x-trace", "x-trace", "x-tenant"]}}))
            .target
            .forward_headers;
    assert_eq!(headers, vec!["x-trace", "x-tenant"]);
}

#[test]
fn logging_and_metrics() {
    refused(json!({"logging": {"format": "yaml"}}), "logging.format");
    refused(json!({"metrics": {"enabled": "yes"}}), "metrics.enabled");
}

#[test]
fn top_level_mode_is_checked() {
    let m = refused(json!({"mode": "enforced"}), "mode");
    assert!(m.contains("did you mean enforce?"), "{m}");
}

#[test]
fn filters_precision_dials() {
    refused(
        json!({"filters": {"minConfidence": 1.5}}),
        "filters.minConfidence",
    );
    refused(
        json!({"filters": {"minConfidence": -0.1}}),
        "filters.minConfidence",
    );
    refused(
        json!({"filters": {"minConfidence": "0.5"}}),
        "filters.minConfidence",
    );
    refused(
        json!({"filters": {"decodeAndRescan": "true"}}),
        "filters.decodeAndRescan",
    );
    refused(json!({"filters": {"allowlist": "x"}}), "filters.allowlist");
    refused(
        json!({"filters": {"allowlist": [""]}}),
        "filters.allowlist[0]",
    );
    refused(
        json!({"filters": {"allowlist": [{}]}}),
        "filters.allowlist[0]",
    );
    refused(
        json!({"filters": {"allowlist": [{"value": ""}]}}),
        "filters.allowlist[0].value",
    );
    refused(
        json!({"filters": {"allowlist": [{"path": 3}]}}),
        "filters.allowlist[0].path",
    );
    refused(
        json!({"filters": {"allowlist": [null]}}),
        "filters.allowlist[0]",
    );
    let filters = accepted(json!({"filters": {
        "minConfidence": 0.8,
        "allowlist": ["bob@example.com", {"path": "$.a"}, {"value": "v", "path": "$.b"}],
        "decodeAndRescan": true
    }}))
    .filters;
    assert_eq!(filters.min_confidence, 0.8);
    assert_eq!(filters.allowlist.len(), 3);
    assert!(filters.decode_and_rescan);
}

#[test]
fn filters_custom_rule_shapes() {
    let rule = |extra: Value| {
        let mut base = json!({"id": "r1", "type": "employee_id", "pattern": "EMP-[0-9]{6}"});
        if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
            b.extend(e);
        }
        json!({"filters": {"customRules": [base]}})
    };
    refused(rule(json!({"id": ""})), "filters.customRules[0].id");
    refused(rule(json!({"type": 1})), "filters.customRules[0].type");
    refused(
        rule(json!({"pattern": " "})),
        "filters.customRules[0].pattern",
    );
    refused(rule(json!({"flags": 1})), "filters.customRules[0].flags");
    refused(rule(json!({"flags": "gx"})), "filters.customRules[0].flags");
    refused(
        rule(json!({"confidence": 1.2})),
        "filters.customRules[0].confidence",
    );
    refused(
        rule(json!({"confidence": "high"})),
        "filters.customRules[0].confidence",
    );
    refused_as(
        json!({"filters": {"customRules": [{"id": "r1", "type": "t"}]}}),
        "filters.customRules[0].pattern",
        ConfigErrorKind::Missing,
    );
    refused(
        json!({"filters": {"customRules": null}}),
        "filters.customRules",
    );
    let rules = accepted(rule(json!({"flags": "gi", "confidence": 0.9})))
        .filters
        .custom_rules;
    assert_eq!(rules[0].detection_type, "employee_id");
    assert_eq!(rules[0].flags.as_deref(), Some("gi"));
    assert_eq!(rules[0].confidence, Some(0.9));
}
