use super::*;
use serde_json::json;

fn doc(keys: Value) -> Value {
    json!({"version": 1, "keys": keys})
}

fn key_b64(len: usize) -> String {
    b64url(&vec![7u8; len])
}

#[test]
fn validate_reports_each_defect_specifically() {
    let p = Path::new("k.json");
    assert!(matches!(
        validate(p, &json!({"version": 1}), false),
        Err(CryptoError::NoKeys { .. })
    ));
    assert!(matches!(
        validate(p, &doc(json!([])), false),
        Err(CryptoError::NoKeys { .. })
    ));
    assert!(matches!(
        validate(p, &doc(json!([{"kid": "a", "status": "active", "k": key_b64(16)}])), false),
        Err(CryptoError::BadKeyLength { kid, .. }) if kid == "a"
    ));
    assert!(matches!(
        validate(p, &doc(json!([{"kid": "a", "status": "active"}])), false),
        Err(CryptoError::BadKeyLength { .. })
    ));
    assert!(matches!(
        validate(
            p,
            &doc(json!([{"status": "active", "k": key_b64(32)}])),
            false
        ),
        Err(CryptoError::KeyFileMalformed { .. })
    ));
    assert!(matches!(
        validate(p, &json!([1]), false),
        Err(CryptoError::KeyFileMalformed { .. })
    ));
    let dup = doc(json!([
        {"kid": "a", "status": "active", "k": key_b64(32)},
        {"kid": "a", "status": "retired", "k": key_b64(32)}
    ]));
    assert!(matches!(
        validate(p, &dup, false),
        Err(CryptoError::KeyFileMalformed { .. })
    ));
}

#[test]
fn no_active_key_falls_back_for_the_provider_but_not_for_init() {
    let p = Path::new("k.json");
    let retired_only = doc(json!([
        {"kid": "old", "status": "retired", "k": key_b64(32)},
        {"kid": "older", "status": "retired", "k": key_b64(32)}
    ]));
    let loaded = validate(p, &retired_only, false).unwrap();
    assert_eq!(loaded.active_kid, "old");
    assert!(loaded.active_by_fallback);
    assert!(matches!(
        validate(p, &retired_only, true),
        Err(CryptoError::NoActiveKey { .. })
    ));
}

#[test]
fn malformed_json_error_does_not_echo_the_file() {
    let err = parse_document(Path::new("k.json"), "{ \"k\": secretvalue ::::").unwrap_err();
    assert_eq!(err.code(), "haechi_crypto_key_file_malformed");
    assert!(!err.to_string().contains("secretvalue"));
}

#[test]
fn retire_changes_only_an_active_status() {
    assert_eq!(
        retire(json!({"kid": "a", "status": "active", "x": 1})),
        json!({"kid": "a", "status": "retired", "x": 1})
    );
    assert_eq!(
        retire(json!({"kid": "a", "status": "disabled"})),
        json!({"kid": "a", "status": "disabled"})
    );
    assert_eq!(retire(json!({"kid": "a"})), json!({"kid": "a"}));
}

#[test]
fn kid_has_the_reference_shape() {
    let kid = new_kid(&SystemRandom::new()).unwrap();
    let rest = kid.strip_prefix("local-").unwrap();
    let (ms, suffix) = rest.split_once('-').unwrap();
    assert!(ms.parse::<u64>().is_ok());
    assert_eq!(suffix.len(), 6);
    assert!(suffix.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn atomic_write_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    write_document(&path, &json!({"a": 1})).unwrap();
    write_document(&path, &json!({"a": 2})).unwrap();
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("keys.json")]);
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\n  \"a\": 2\n}\n");
}
