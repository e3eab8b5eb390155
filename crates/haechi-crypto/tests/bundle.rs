//! Signing and verifying policy bundles with our own key files: round trip, rotation, tamper
//! cases and key file problems.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::PathBuf;

use haechi_crypto::{
    init_local_key_file, parse_policy_bundle, verify_policy_bundle, BundleError, CryptoError,
    PolicyBundleKeys, POLICY_BUNDLE_ALG,
};
use serde_json::{json, Value};

fn key_file(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join(".haechi/dev.keys.json");
    init_local_key_file(&path, false).unwrap();
    path
}

fn policy() -> Value {
    json!({
        "mode": "enforce",
        "presets": [],
        "defaultAction": "allow",
        "actions": {"email": "redact", "한국어": "mask"},
        "rate": {"requestsPerMinute": 60}
    })
}

#[test]
fn sign_then_verify_round_trips_through_the_file_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_file(&dir);
    let keys = PolicyBundleKeys::open(&path).unwrap();
    let bundle = keys.sign(policy()).unwrap();
    assert_eq!(bundle.kid, keys.active_kid());
    assert!(bundle.signed_at.ends_with('Z'));

    let text = bundle.to_file_text();
    let parsed = parse_policy_bundle(&text).unwrap();
    assert_eq!(parsed["alg"], POLICY_BUNDLE_ALG);
    assert_eq!(parsed["version"], 1);
    let verified = verify_policy_bundle(&text, &path).unwrap();
    assert_eq!(verified.kid, bundle.kid);
    assert_eq!(verified.signed_at, bundle.signed_at);
    assert_eq!(verified.policy, policy());
}

#[test]
fn the_signature_does_not_depend_on_key_order_or_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_file(&dir);
    let keys = PolicyBundleKeys::open(&path).unwrap();
    let bundle = keys.sign(policy()).unwrap();
    // Reordered keys, compact layout, `1.0` for `1`: the same values, so the same signature.
    let compact = format!(
        r#"{{"signature":"{}","policy":{{"rate":{{"requestsPerMinute":60.0}},"actions":{{"한국어":"mask","email":"redact"}},"defaultAction":"allow","presets":[],"mode":"enforce"}},"signedAt":"{}","kid":"{}","alg":"HS256","version":1.0}}"#,
        bundle.signature, bundle.signed_at, bundle.kid
    );
    assert!(verify_policy_bundle(&compact, &path).is_ok());
}

type Tamper = Box<dyn Fn(&mut Value)>;

#[test]
fn every_tamper_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_file(&dir);
    let keys = PolicyBundleKeys::open(&path).unwrap();
    let good = keys.sign(policy()).unwrap().to_value();
    assert!(keys.verify(&good).is_ok());

    let tampers: Vec<(&str, Tamper)> = vec![
        (
            "action weakened",
            Box::new(|b| b["policy"]["actions"]["email"] = json!("allow")),
        ),
        (
            "mode changed",
            Box::new(|b| b["policy"]["mode"] = json!("dry-run")),
        ),
        (
            "preset added",
            Box::new(|b| b["policy"]["presets"] = json!(["llm-redact"])),
        ),
        (
            "number changed",
            Box::new(|b| b["policy"]["rate"]["requestsPerMinute"] = json!(61)),
        ),
        (
            "signedAt changed",
            Box::new(|b| b["signedAt"] = json!("2000-01-01T00:00:00.000Z")),
        ),
        (
            "signature replaced",
            Box::new(|b| b["signature"] = json!("A".repeat(43))),
        ),
    ];
    for (case, tamper) in tampers {
        let mut bundle = good.clone();
        tamper(&mut bundle);
        assert!(
            matches!(keys.verify(&bundle), Err(BundleError::SignatureMismatch)),
            "{case}"
        );
    }
}

#[test]
fn rotation_keeps_old_bundles_verifiable_and_signs_new_ones_with_the_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_file(&dir);
    let before = PolicyBundleKeys::open(&path)
        .unwrap()
        .sign(policy())
        .unwrap();

    let rotated = init_local_key_file(&path, true).unwrap();
    assert_eq!(rotated.rotated, Some(true));
    let keys = PolicyBundleKeys::open(&path).unwrap();
    assert_eq!(keys.active_kid(), rotated.active_kid);
    assert_ne!(keys.active_kid(), before.kid);

    assert_eq!(keys.verify(&before.to_value()).unwrap().kid, before.kid);
    let after = keys.sign(policy()).unwrap();
    assert_eq!(after.kid, rotated.active_kid);
    assert!(keys.verify(&after.to_value()).is_ok());
}

#[test]
fn a_key_file_that_dropped_the_signing_key_refuses_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_file(&dir);
    let bundle = PolicyBundleKeys::open(&path)
        .unwrap()
        .sign(policy())
        .unwrap();
    // A fresh key file (not a rotation) no longer holds the signing kid.
    fs::remove_file(&path).unwrap();
    init_local_key_file(&path, false).unwrap();
    let error = PolicyBundleKeys::open(&path)
        .unwrap()
        .verify(&bundle.to_value())
        .unwrap_err();
    assert!(
        matches!(error, BundleError::UnknownKid { ref kid, .. } if kid.as_deref() == Some(bundle.kid.as_str()))
    );
}

#[test]
fn key_file_problems_are_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    assert!(matches!(
        PolicyBundleKeys::open(&missing),
        Err(BundleError::Key(CryptoError::KeyFileMissing { .. }))
    ));
    let broken = dir.path().join("broken.json");
    fs::write(
        &broken,
        r#"{"keys":[{"kid":"a","status":"active","k":"c2hvcnQ"}]}"#,
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&broken, fs::Permissions::from_mode(0o600)).unwrap();
        let error = PolicyBundleKeys::open(&broken).unwrap_err();
        assert_eq!(error.code(), "haechi_crypto_bad_key_length");
        // The same check as every other opener: a key file others can read is refused.
        fs::set_permissions(&broken, fs::Permissions::from_mode(0o640)).unwrap();
    }
    let error = PolicyBundleKeys::open(&broken).unwrap_err();
    #[cfg(unix)]
    assert_eq!(error.code(), "haechi_crypto_key_file_too_open");
    #[cfg(not(unix))]
    assert_eq!(error.code(), "haechi_crypto_bad_key_length");
}

#[test]
fn only_an_object_policy_is_signed() {
    let dir = tempfile::tempdir().unwrap();
    let keys = PolicyBundleKeys::open(key_file(&dir)).unwrap();
    for policy in [json!(null), json!([]), json!("p"), json!(3)] {
        assert!(matches!(
            keys.sign(policy),
            Err(BundleError::Malformed { .. })
        ));
    }
}
