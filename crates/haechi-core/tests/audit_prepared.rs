//! The typed renderer and the map path must give the same bytes, and sealing a prepared event
//! must give exactly the record `chain_event` + `js_stringify` give.

use haechi_core::audit::{
    chain_event, js_stringify, sanitize_event, AuditDetection, AuditIdentity, ChainHead,
    DecisionEvent, McpEvent, PreparedEvent, ProtectEvent, ProtectSummary, VaultEvent,
};
use haechi_core::vocab::{Action, LeafKind, Mode};
use indexmap::IndexMap;
use serde_json::{json, Map, Value};

fn detection(kind: &str, action: Action, confidence: f64) -> AuditDetection {
    AuditDetection {
        detection_type: kind.into(),
        rule_id: format!("{kind}-rule"),
        path: "key_0123456789ab[0].key_ba9876543210".into(),
        kind: LeafKind::Value,
        confidence,
        action,
        enforced: true,
    }
}

fn events() -> Vec<ProtectEvent> {
    let mut summary = ProtectSummary::default();
    summary.count("email", Action::Redact);
    summary.count("secret", Action::Block);
    summary.count_suppressed("phone");
    let mut odd = ProtectSummary {
        by_type: IndexMap::from([("k".repeat(200), 1), ("é\"\n".into(), 2)]),
        ..ProtectSummary::default()
    };
    odd.count_dropped("card");
    vec![
        ProtectEvent {
            schema_version: "1".into(),
            id: "0b7c2c8e-1d2f-4a55-9a0c-8f3e2b1c4d5e".into(),
            correlation_id: Some("c-1".into()),
            timestamp: "2026-11-22T06:00:00.000Z".into(),
            protocol: "llm-http".into(),
            operation: "request:POST chat-completions".into(),
            identity: Some(AuditIdentity {
                id: "tok_auth_1a2b3c4d".into(),
                kind: "service".into(),
                subject_hash: "ab".repeat(32),
                issuer_hash: "cd".repeat(32),
                provider: "bearer".into(),
            }),
            profile: Some("strict".into()),
            mode: Mode::Enforce,
            enforced: true,
            blocked: true,
            payload_shape_hash: "be9a89fde471".into(),
            detections: vec![
                detection("email", Action::Redact, 0.95),
                detection("secret", Action::Block, 0.7),
                detection("phone", Action::Mask, 1.0),
            ],
            summary,
        },
        ProtectEvent {
            schema_version: "1".into(),
            id: "id".into(),
            correlation_id: None,
            timestamp: "t".into(),
            // Strings that the sanitizer must replace: a marker and an over-long text.
            protocol: "[TOKEN:tok_email_0011]".into(),
            operation: "x".repeat(600),
            identity: None,
            profile: None,
            mode: Mode::ReportOnly,
            enforced: false,
            blocked: false,
            payload_shape_hash: "\u{1F600}\"\\".into(),
            detections: vec![],
            summary: odd,
        },
    ]
}

fn reference_record(
    event: Map<String, Value>,
    previous: Option<&ChainHead>,
) -> (String, ChainHead) {
    let (record, head) = chain_event(sanitize_event(event), previous);
    (js_stringify(&Value::Object(record)), head)
}

#[test]
fn typed_rendering_equals_the_map_path() {
    for event in events() {
        let typed = event.prepare();
        let mapped = PreparedEvent::from_map(event.clone().into_map());
        assert_eq!(typed, mapped);
    }
}

/// The map each typed decision event stands for: the reference's keys, in its order.
fn map_of(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[test]
fn gateway_decision_events_render_as_their_maps_would() {
    for (identity, reason) in [
        (None, "rate:60".to_string()),
        (
            Some(AuditIdentity {
                id: "bearer:0123".into(),
                kind: "user".into(),
                subject_hash: "s".into(),
                issuer_hash: "i".into(),
                provider: "bearer".into(),
            }),
            // Payload-looking reasons are replaced, as the sanitizer replaces them.
            "[HAECHI_ENC:abc]".to_string(),
        ),
    ] {
        let event = DecisionEvent {
            id: "e-1".into(),
            correlation_id: "c-1".into(),
            timestamp: "2026-12-06T00:00:00.000Z".into(),
            protocol: "llm-http".into(),
            operation: "proxy:llm-http:chat-completions".into(),
            mode: Mode::Enforce,
            identity: identity.clone(),
            profile: identity.as_ref().map(|_| "strict".to_string()),
            enforced: true,
            blocked: true,
            decision: "auth_denied".into(),
            reason: reason.clone(),
            route_id: "chat-completions".into(),
            path_hash: "0123456789ab".into(),
        };
        let map = map_of(json!({
            "id": "e-1", "correlationId": "c-1", "timestamp": "2026-12-06T00:00:00.000Z",
            "protocol": "llm-http", "operation": "proxy:llm-http:chat-completions",
            "mode": "enforce", "identity": identity, "profile": event.profile,
            "enforced": true, "blocked": true, "decision": "auth_denied", "reason": reason,
            "routeId": "chat-completions", "pathHash": "0123456789ab",
            "summary": {"detectionCount": 0, "byType": {}, "byAction": {"auth_denied": 1}},
        }));
        assert_eq!(event.prepare(), PreparedEvent::from_map(map));
    }
}

#[test]
fn mcp_events_render_as_their_maps_would() {
    for method in [Some("roots/list"), None] {
        let event = McpEvent {
            id: "m-1".into(),
            correlation_id: None,
            timestamp: "2026-12-06T00:00:00.000Z".into(),
            protocol: "mcp-stdio".into(),
            operation: "mcp:client-to-server".into(),
            mode: Mode::Enforce,
            identity: None,
            enforced: true,
            blocked: true,
            decision: "mcp_method_not_allowed".into(),
            reason: "method_not_in_allowlist".into(),
            method: method.map(str::to_owned),
        };
        let map = map_of(json!({
            "id": "m-1", "correlationId": null, "timestamp": "2026-12-06T00:00:00.000Z",
            "protocol": "mcp-stdio", "operation": "mcp:client-to-server", "mode": "enforce",
            "identity": null, "enforced": true, "blocked": true,
            "decision": "mcp_method_not_allowed", "reason": "method_not_in_allowlist",
            "method": method,
            "summary": {"detectionCount": 0, "byType": {}, "byAction": {"mcp_method_not_allowed": 1}},
        }));
        assert_eq!(event.prepare(), PreparedEvent::from_map(map));
    }
}

#[test]
fn vault_events_render_as_their_maps_would() {
    for (token, count) in [
        (Some("tok_email_0123456789abcdef"), None),
        (Some("not-a-token"), None),
        (None, Some(3)),
    ] {
        let event = VaultEvent {
            id: "v-1".into(),
            timestamp: "2026-12-06T00:00:00.000Z".into(),
            operation: "token-vault:reveal".into(),
            blocked: true,
            decision: "reveal_denied".into(),
            reason: Some("policy_disabled".into()),
            token: token.map(str::to_owned),
            token_type: Some("email".into()),
            count,
            reveal_policy: "disabled".into(),
        };
        let map = map_of(json!({
            "id": "v-1", "timestamp": "2026-12-06T00:00:00.000Z", "protocol": "token-vault",
            "operation": "token-vault:reveal", "identity": null, "mode": "n/a",
            "enforced": true, "blocked": true, "decision": "reveal_denied",
            "reason": "policy_disabled", "token": token, "tokenType": "email", "count": count,
            "revealPolicy": "disabled",
            "summary": {"detectionCount": 0, "byType": {}, "byAction": {"reveal_denied": 1}},
        }));
        assert_eq!(event.prepare(), PreparedEvent::from_map(map));
    }
}

#[test]
fn sealing_equals_chain_event() {
    let mut previous: Option<ChainHead> = None;
    let mut maps: Vec<Map<String, Value>> =
        events().into_iter().map(ProtectEvent::into_map).collect();
    // Maps whose keys sort before, among and after `auditIntegrity`, and an empty one.
    for extra in [
        json!({}),
        json!({"action": "x", "zeta": 1}),
        json!({"aaa": [1, {"b": 2, "a": 1}], "auditIntegrity": {"forged": true}}),
        json!({"zzz": null}),
    ] {
        if let Value::Object(map) = extra {
            maps.push(map);
        }
    }
    for map in maps {
        let sealed = PreparedEvent::from_map(map.clone()).seal(previous.as_ref());
        let (line, head) = reference_record(map, previous.as_ref());
        assert_eq!(sealed.line, line);
        assert_eq!(sealed.head, head);
        previous = Some(head);
    }
}
