use super::*;
use crate::encoding::b64url;

fn sample() -> Envelope {
    Envelope {
        v: 2,
        alg: Some("AES-256-GCM".into()),
        kid: Some("local-1-abcdef".into()),
        iv: "aXY".into(),
        ct: "Y3Q".into(),
        tag: "dGFn".into(),
        aad_hash: Some("aGFzaA".into()),
        aad_encoding: Some("nfkc-json-v2".into()),
        created_at: Some("2026-01-01T00:00:00.000Z".into()),
        expires_at: None,
    }
}

#[test]
fn json_matches_json_stringify_field_order() {
    assert_eq!(
        envelope_json(&sample()),
        r#"{"v":2,"alg":"AES-256-GCM","kid":"local-1-abcdef","iv":"aXY","ct":"Y3Q","tag":"dGFn","aadHash":"aGFzaA","aadEncoding":"nfkc-json-v2","createdAt":"2026-01-01T00:00:00.000Z"}"#
    );
}

#[test]
fn marker_round_trips() {
    let marker = envelope_marker(&sample());
    assert!(marker.starts_with("[HAECHI_ENC:") && marker.ends_with(']'));
    assert_eq!(parse_envelope_marker(&marker).unwrap(), sample());
}

#[test]
fn rejects_what_is_not_a_genuine_marker() {
    let secret = "sk-ant-api03-not-a-real-secret";
    for bad in [
        format!("[HAECHI_ENC:{secret}]"),
        "[HAECHI_ENC:]".to_owned(),
        "[TOKEN:abc]".to_owned(),
        format!("[HAECHI_ENC:{}=]", b64url(b"{}")),
        format!("[HAECHI_ENC:{}]", b64url(b"[1,2]")),
        format!("[HAECHI_ENC:{}]", b64url(&[0xff, 0xfe])),
        format!(
            "[HAECHI_ENC:{}",
            b64url(envelope_json(&sample()).as_bytes())
        ),
    ] {
        let err = parse_envelope_marker(&bad).unwrap_err();
        assert_eq!(err.code(), "haechi_crypto_invalid_marker");
        assert!(!err.to_string().contains(secret));
    }
}
