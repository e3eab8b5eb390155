use haechi_core::js_json::js_stringify;
use haechi_core::seams::Envelope;
use serde_json::json;

use super::{aad_text, metadata_text, BatchAad};

#[test]
fn record_texts_are_what_json_stringify_writes() {
    let context = json!({
        "protocol": "llm-http",
        "operation": "request:POST chat \"quoted\" \u{2028}",
        "identity": {"subject": "사용자", "n": 1.5, "roles": ["a", "b"]},
    });
    let token = "tok_email_0123456789abcdef";
    let expected = json!({
        "purpose": "token-vault",
        "token": token,
        "type": "email",
        "context": context,
    });
    let mut aad = BatchAad::default();
    let (value, context_text) = aad.of(&context, token, "email");
    assert_eq!(value, &expected);
    assert_eq!(
        aad_text(token, "email", context_text),
        js_stringify(&expected)
    );
    assert_eq!(
        metadata_text("key_0123456789ab[0]", "email\"x"),
        js_stringify(&json!({"path": "key_0123456789ab[0]", "ruleId": "email\"x"}))
    );
}

#[test]
fn envelope_text_is_what_json_stringify_writes() {
    let envelope = Envelope {
        v: 2,
        alg: Some("AES-256-GCM".into()),
        kid: Some("k1".into()),
        iv: "aXY".into(),
        ct: "Y3Q".into(),
        tag: "dGFn".into(),
        aad_hash: Some("aGFzaA".into()),
        aad_encoding: Some("nfkc-json-v2".into()),
        created_at: Some("2026-01-01T00:00:00.000Z".into()),
        expires_at: Some("2026-01-31T00:00:00.000Z".into()),
    };
    let value = serde_json::to_value(&envelope).unwrap_or_default();
    assert_eq!(envelope.to_json_text(), js_stringify(&value));
    let legacy = Envelope {
        v: 1,
        alg: None,
        kid: None,
        aad_hash: None,
        aad_encoding: None,
        created_at: None,
        expires_at: None,
        ..envelope
    };
    let value = serde_json::to_value(&legacy).unwrap_or_default();
    assert_eq!(legacy.to_json_text(), js_stringify(&value));
}

#[test]
fn the_batch_aad_follows_each_record_and_context() {
    let first = json!({"a": 1});
    let second = json!({"b": 2});
    let mut aad = BatchAad::default();
    let (value, text) = aad.of(&first, "tok_x_1", "x");
    assert_eq!(
        value,
        &json!({"purpose": "token-vault", "token": "tok_x_1", "type": "x", "context": {"a": 1}})
    );
    assert_eq!(text, r#"{"a":1}"#);
    let (value, _) = aad.of(&first, "tok_y_2", "y");
    assert_eq!(
        (value["token"].as_str(), value["type"].as_str()),
        (Some("tok_y_2"), Some("y"))
    );
    let (value, text) = aad.of(&second, "tok_x_3", "x");
    assert_eq!(value["context"], second);
    assert_eq!(text, r#"{"b":2}"#);
}
