use super::*;
use serde_json::json;

fn keys() -> (tempfile::TempDir, PolicyBundleKeys) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    crate::init_local_key_file(&path, false).unwrap();
    let keys = PolicyBundleKeys::open(&path).unwrap();
    (dir, keys)
}

#[test]
fn the_file_text_is_the_reference_layout() {
    let (_dir, keys) = keys();
    let bundle = keys
        .sign_at(
            json!({"b": 1.0, "a": [1e21]}),
            "2026-01-01T00:00:00.000Z".into(),
        )
        .unwrap();
    let text = bundle.to_file_text();
    let expected_head = format!(
        "{{\n  \"version\": 1,\n  \"alg\": \"HS256\",\n  \"kid\": \"{}\",\n  \"signedAt\": \"2026-01-01T00:00:00.000Z\",\n  \"policy\": {{\n    \"b\": 1,\n    \"a\": [\n      1e+21\n    ]\n  }},\n  \"signature\": \"",
        keys.active_kid()
    );
    assert!(text.starts_with(&expected_head), "{text}");
    assert!(text.ends_with("\"\n}\n"));
    assert_eq!(bundle.signature.len(), 43, "32 bytes, unpadded base64url");
}

#[test]
fn the_shape_is_checked_before_the_key_and_the_signature() {
    let (_dir, keys) = keys();
    let good = keys.sign(json!({"actions": {}})).unwrap().to_value();
    let cases: [(&str, Value); 9] = [
        ("alg", json!("HS512")),
        ("alg", Value::Null),
        ("policy", json!([])),
        ("policy", Value::Null),
        ("signature", json!("")),
        ("version", json!(2)),
        ("version", json!("1")),
        ("kid", json!(7)),
        ("signedAt", json!(0)),
    ];
    for (field, value) in cases {
        let mut bundle = good.clone();
        bundle[field] = value.clone();
        let error = keys.verify(&bundle).unwrap_err();
        assert_eq!(
            error.code(),
            "haechi_policy_bundle_invalid",
            "{field}={value}"
        );
    }
    for field in ["alg", "policy", "signature", "version", "kid", "signedAt"] {
        let mut bundle = good.clone();
        bundle.as_object_mut().unwrap().remove(field);
        assert!(matches!(
            keys.verify(&bundle),
            Err(BundleError::Malformed { .. })
        ));
    }
    assert!(matches!(
        keys.verify(&json!([1])),
        Err(BundleError::Malformed { .. })
    ));
}

#[test]
fn errors_never_echo_a_crafted_kid_or_the_signature() {
    let (_dir, keys) = keys();
    let mut bundle = keys.sign(json!({})).unwrap().to_value();
    bundle["kid"] = json!("evil\nkid with spaces and a very long tail that goes on");
    let text = keys.verify(&bundle).unwrap_err().to_string();
    assert!(!text.contains("evil"));
    assert!(!text.contains('\n'));

    let mut bundle = keys.sign(json!({})).unwrap().to_value();
    let signature = bundle["signature"].as_str().unwrap().to_string();
    bundle["policy"] = json!({"x": 1});
    let text = keys.verify(&bundle).unwrap_err().to_string();
    assert!(!text.contains(&signature));
}

#[test]
fn a_signature_must_be_canonical_base64url() {
    let (_dir, keys) = keys();
    let bundle = keys.sign(json!({})).unwrap();
    let mut padded = bundle.to_value();
    padded["signature"] = json!(format!("{}=", bundle.signature));
    assert!(matches!(
        keys.verify(&padded),
        Err(BundleError::SignatureMismatch)
    ));
    let mut truncated = bundle.to_value();
    truncated["signature"] = json!(&bundle.signature[..42]);
    assert!(matches!(
        keys.verify(&truncated),
        Err(BundleError::SignatureMismatch)
    ));
}

#[test]
fn objects_list_array_index_keys_first_as_javascript_does() {
    let value = json!({"b": 1, "10": {"z": 0, "1": 0}, "2": [{"x": 0, "0": 0}], "01": 0, "4294967295": 0, "4294967294": 0});
    let ordered = js_property_order(value);
    let keys: Vec<&str> = ordered
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["2", "10", "4294967294", "b", "01", "4294967295"]);
    let inner: Vec<&str> = ordered["10"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(inner, ["1", "z"]);
    let nested: Vec<&str> = ordered["2"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(nested, ["0", "x"]);
}

#[test]
fn parse_reports_the_position_only() {
    let error = parse_policy_bundle("{\"policy\": sk-secret-value").unwrap_err();
    assert!(matches!(error, BundleError::NotJson { line: 1, .. }));
    assert!(!error.to_string().contains("sk-secret"));
    let value = parse_policy_bundle("{\"a\": 1, \"a\": 2.0}").unwrap();
    assert_eq!(value["a"].as_f64(), Some(2.0));
}
