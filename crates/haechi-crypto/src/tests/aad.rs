use super::*;
use serde_json::json;

#[test]
fn v2_normalizes_keys_and_string_values() {
    let aad = json!({"ｔｅｎａｎｔ": "ＡＣＭＥ", "nested": {"ｐａｔｈ": "messages[0].content"}});
    assert_eq!(
        canonicalize_crypto_aad(&aad).unwrap(),
        r#"{"nested":{"path":"messages[0].content"},"tenant":"ACME"}"#
    );
    // v1 keeps the text as is.
    assert_eq!(
        canonicalize_v1(&aad).unwrap(),
        r#"{"nested":{"ｐａｔｈ":"messages[0].content"},"ｔｅｎａｎｔ":"ＡＣＭＥ"}"#
    );
}

#[test]
fn v2_sorts_entries_not_keys() {
    let aad = json!({"a": 1, "a b": 2});
    // `"a b":` sorts before `"a":` because ' ' (0x20) < '"' (0x22).
    assert_eq!(canonicalize_crypto_aad(&aad).unwrap(), r#"{"a b":2,"a":1}"#);
    assert_eq!(canonicalize_v1(&aad).unwrap(), r#"{"a":1,"a b":2}"#);
}

#[test]
fn nfkc_key_collision_fails_closed() {
    let aad = json!({"\u{212B}": "angstrom-sign", "\u{00C5}": "latin-a-ring"});
    assert!(matches!(
        canonicalize_crypto_aad(&aad),
        Err(CryptoError::AadKeyCollision)
    ));
    let nested = json!({"ok": {"Ａ": 1, "A": 2}});
    assert!(matches!(
        canonicalize_crypto_aad(&nested),
        Err(CryptoError::AadKeyCollision)
    ));
    // v1 never normalized, so it has no collision to detect.
    assert!(canonicalize_v1(&aad).is_ok());
}

#[test]
fn deep_aad_is_refused_not_overflowed() {
    let mut value = json!("leaf");
    for _ in 0..(MAX_AAD_DEPTH + 2) {
        value = json!([value]);
    }
    assert!(matches!(
        canonicalize_crypto_aad(&value),
        Err(CryptoError::AadTooDeep { .. })
    ));
    assert!(matches!(
        canonicalize_v1(&value),
        Err(CryptoError::AadTooDeep { .. })
    ));
}

#[test]
fn envelope_version_selects_the_canonical_form() {
    let aad = json!({"ｋ": "ｖ"});
    let mut envelope = Envelope {
        v: 1,
        alg: None,
        kid: None,
        iv: String::new(),
        ct: String::new(),
        tag: String::new(),
        aad_hash: None,
        aad_encoding: None,
        created_at: None,
        expires_at: None,
    };
    assert_eq!(
        canonical_aad_for_envelope(&envelope, &aad).unwrap(),
        r#"{"ｋ":"ｖ"}"#
    );
    envelope.v = 2;
    assert_eq!(
        canonical_aad_for_envelope(&envelope, &aad).unwrap(),
        r#"{"k":"v"}"#
    );
    envelope.v = 1;
    envelope.aad_encoding = Some(CRYPTO_AAD_ENCODING_V2.into());
    assert_eq!(
        canonical_aad_for_envelope(&envelope, &aad).unwrap(),
        r#"{"k":"v"}"#
    );
    envelope.aad_encoding = Some("unknown-json-v99".into());
    assert!(matches!(
        canonical_aad_for_envelope(&envelope, &aad),
        Err(CryptoError::UnsupportedAadEncoding)
    ));
}
