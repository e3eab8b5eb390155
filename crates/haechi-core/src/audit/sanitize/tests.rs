use super::*;
use serde_json::json;

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn sanitize(value: Value) -> Value {
    Value::Object(sanitize_event(obj(value)))
}

#[test]
fn count_maps_keep_type_names_that_are_forbidden_keys() {
    // The reference deletes summary.byType.secret; the count of secrets must survive.
    let out = sanitize(json!({
        "summary": {
            "detectionCount": 3,
            "byType": {"secret": 2, "email": 1, "code": 1},
            "byAction": {"block": 2, "state": 1},
            "suppressedCount": 1, "suppressedByType": {"secret": 1},
            "droppedCount": 1, "droppedByType": {"value": 1}
        }
    }));
    assert_eq!(
        out["summary"]["byType"],
        json!({"secret": 2, "email": 1, "code": 1})
    );
    assert_eq!(out["summary"]["byAction"], json!({"block": 2, "state": 1}));
    assert_eq!(out["summary"]["suppressedByType"], json!({"secret": 1}));
    assert_eq!(out["summary"]["droppedByType"], json!({"value": 1}));
    assert_eq!(out["summary"]["detectionCount"], json!(3));
}

#[test]
fn count_maps_hold_only_numbers() {
    let out = sanitize(json!({
        "summary": {"detectionCount": "minji@example.com", "byType": {"email": "minji@example.com", "phone": 1}}
    }));
    assert_eq!(out["summary"], json!({"byType": {"phone": 1}}));
}

#[test]
fn forbidden_keys_are_stripped_at_every_depth_elsewhere() {
    let out = sanitize(json!({
        "id": "e-1",
        "provider": "oidc",
        "subjectHash": "keyed",
        "access_token": "AT-raw", "code": "authz", "state": "csrf", "nonce": "n",
        "message": "hello", "payload": {"a": 1}, "secret": "s",
        "nested": {"access_token": "AT-nested", "reasonCode": "ok", "deeper": {"prompt": "p", "keep": 1}},
        "list": [{"refresh_token": "RT", "keep": 1}],
        "summary": {"detectionCount": 0, "byType": {}, "byAction": {}, "extra": {"content": "c", "n": 1}}
    }));
    let text = out.to_string();
    for raw in [
        "AT-raw",
        "authz",
        "csrf",
        "hello",
        "AT-nested",
        "RT",
        "\"p\"",
        "\"c\"",
    ] {
        assert!(!text.contains(raw), "{raw} leaked into {text}");
    }
    assert_eq!(
        out["nested"],
        json!({"reasonCode": "ok", "deeper": {"keep": 1}})
    );
    assert_eq!(out["list"], json!([{"keep": 1}]));
    assert_eq!(out["summary"]["extra"], json!({"n": 1}));
    assert_eq!(out["provider"], "oidc");
    // sub/email are not on the list (the reference keeps them too).
    let kept = sanitize(json!({"sub": "subject-id", "email": "a@b.test"}));
    assert_eq!(kept, json!({"sub": "subject-id", "email": "a@b.test"}));
}

#[test]
fn identity_is_projected_to_its_five_keys() {
    let out = sanitize(json!({
        "identity": {
            "id": "bearer:abc", "type": "user", "subjectHash": "h1", "issuerHash": "h2",
            "provider": "bearer", "scopes": ["admin"], "labels": {"team": "x"},
            "email": "raw@example.com", "subject": "raw"
        }
    }));
    assert_eq!(
        out["identity"],
        json!({"id": "bearer:abc", "type": "user", "subjectHash": "h1", "issuerHash": "h2", "provider": "bearer"})
    );
    assert_eq!(sanitize(json!({"identity": null}))["identity"], Value::Null);
    assert!(sanitize(json!({"identity": "raw"}))
        .get("identity")
        .is_none());
}

#[test]
fn detections_keep_only_their_seven_typed_fields() {
    let out = sanitize(json!({
        "detections": [
            {"type": "email", "ruleId": "email", "path": "key_abc", "kind": "value",
             "confidence": 0.9, "action": "mask", "enforced": true,
             "value": "raw@example.com", "match": "raw@example.com"},
            {"type": "email", "path": ["raw@example.com", 0], "confidence": "high"},
            "raw@example.com"
        ]
    }));
    assert_eq!(
        out["detections"],
        json!([
            {"type": "email", "ruleId": "email", "path": "key_abc", "kind": "value",
             "confidence": 0.9, "action": "mask", "enforced": true},
            {"type": "email"}
        ])
    );
}

#[test]
fn scalar_fields_must_be_scalars() {
    let out = sanitize(
        json!({"operation": {"raw": "x"}, "mode": ["x"], "blocked": true, "profile": null}),
    );
    assert_eq!(out, json!({"blocked": true, "profile": null}));
}

#[test]
fn unknown_strings_are_checked() {
    let long = "x".repeat(MAX_STRING_CHARS + 1);
    let out = sanitize(json!({
        "reason": "3 tokens not restored",
        "note": long,
        "echo": "contact [TOKEN:tok_email_0123456789abcdef] now",
        "enc": ["[HAECHI_ENC:eyJ2Ijoy]"],
        "operation": "[TOKEN:tok_email_0123456789abcdef]"
    }));
    assert_eq!(out["reason"], "3 tokens not restored");
    assert_eq!(out["note"], REDACTED_STRING);
    assert_eq!(out["echo"], REDACTED_STRING);
    assert_eq!(out["enc"], json!([REDACTED_STRING]));
    assert_eq!(out["operation"], REDACTED_STRING);
    let exactly = "한".repeat(MAX_STRING_CHARS);
    assert_eq!(
        sanitize(json!({"note": exactly.clone()}))["note"],
        json!(exactly)
    );
}

#[test]
fn deep_unknown_structure_is_cut() {
    let mut deep = json!("bottom");
    for _ in 0..20 {
        deep = json!({"k": deep});
    }
    let out = sanitize(json!({"deep": deep}));
    assert!(!out.to_string().contains("bottom"));
    let mut depth = 0;
    let mut cursor = &out["deep"];
    while let Some(next) = cursor.get("k") {
        depth += 1;
        cursor = next;
    }
    assert_eq!(depth, MAX_UNKNOWN_DEPTH - 1);
}

#[test]
fn token_fields_must_be_token_ids() {
    for ok in [
        "tok_email_0123456789abcdef",
        "tok_kr_rrn_0123456789abcdef0123456789abcdef",
        "nontoken_0123456789abcdef0123456789abcdef",
        REDACTED_TOKEN,
    ] {
        assert_eq!(sanitize(json!({"token": ok}))["token"], ok);
    }
    for bad in [
        json!("sk-ant-api03-EXAMPLE"),
        json!("tok_email_0123"),
        json!("tok_Email_0123456789abcdef"),
        json!("tok__0123456789abcdef"),
        json!(42),
    ] {
        assert_eq!(sanitize(json!({"token": bad}))["token"], REDACTED_TOKEN);
    }
    assert_eq!(sanitize(json!({"token": null}))["token"], Value::Null);
}

#[test]
fn integrity_is_removed_and_sanitizing_is_idempotent() {
    let event = json!({
        "id": "e", "auditIntegrity": {"sequence": 9}, "summary": {"detectionCount": 1, "byType": {"secret": 1}, "byAction": {"block": 1}},
        "extra": {"message": "m", "keep": [1, {"value": 2}]}
    });
    let once = sanitize(event);
    assert!(once.get("auditIntegrity").is_none());
    assert_eq!(sanitize(once.clone()), once);
}

#[test]
fn long_keys_are_dropped() {
    let key = "k".repeat(MAX_KEY_CHARS + 1);
    let mut event = Map::new();
    event.insert(key.clone(), json!(1));
    event.insert("summary".into(), json!({"byType": {key.clone(): 1}}));
    let out = Value::Object(sanitize_event(event));
    assert!(!out.to_string().contains(&key));
}
