//! The typed renderer and the map path must give the same bytes, and sealing a prepared event
//! must give exactly the record `chain_event` + `js_stringify` give.

use haechi_core::audit::{
    chain_event, js_stringify, sanitize_event, AuditDetection, AuditIdentity, ChainHead,
    PreparedEvent, ProtectEvent, ProtectSummary,
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
