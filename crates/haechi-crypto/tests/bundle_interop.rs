//! Policy bundles made by the reference (Haechi 1.7, `packages/policy-bundle`): a key file
//! after one rotation, a bundle signed by the key that was then retired, a realistic policy, a
//! canonicalization stress policy (and the same bundle with its policy in the original source
//! text), the reference's canonical payload strings and a second, unrelated key file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use haechi_core::audit::canonical_json;
use haechi_crypto::{parse_policy_bundle, BundleError, PolicyBundleKeys};
use serde_json::{json, Value};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bundle")
        .join(name)
}

fn read(name: &str) -> Value {
    parse_policy_bundle(&fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

/// Open a key file fixture from a private (0600) copy: git keeps no file modes, and a key file
/// that others can read is refused.
fn open_keys(name: &str) -> PolicyBundleKeys {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::copy(fixture(name), &path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    }
    PolicyBundleKeys::open(&path).unwrap()
}

fn reference_keys() -> PolicyBundleKeys {
    open_keys("reference-bundle-keys.json")
}

const BUNDLES: [&str; 4] = [
    "reference-bundle.json",
    "reference-bundle-retired-kid.json",
    "reference-bundle-canonical.json",
    "reference-bundle-canonical-raw.json",
];

#[test]
fn every_reference_bundle_verifies() {
    let keys = reference_keys();
    for name in BUNDLES {
        let bundle = read(name);
        let verified = keys
            .verify(&bundle)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.kid, bundle["kid"].as_str().unwrap(), "{name}");
        assert_eq!(verified.signed_at, bundle["signedAt"].as_str().unwrap());
        assert_eq!(verified.policy, bundle["policy"]);
    }
}

#[test]
fn our_canonical_payload_is_the_reference_string() {
    let vectors = read("reference-bundle-vectors.json");
    for (name, expected) in vectors.as_object().unwrap() {
        let mut payload = read(name);
        payload.as_object_mut().unwrap().remove("signature");
        assert_eq!(
            canonical_json(&payload),
            expected.as_str().unwrap(),
            "{name}"
        );
    }
    // The raw-text variant parses to the same values, hence the same canonical text.
    let mut raw = read("reference-bundle-canonical-raw.json");
    raw.as_object_mut().unwrap().remove("signature");
    assert_eq!(
        canonical_json(&raw),
        vectors["reference-bundle-canonical.json"].as_str().unwrap()
    );
}

#[test]
fn our_signature_is_byte_identical_to_the_reference_signature() {
    let keys = reference_keys();
    for name in ["reference-bundle.json", "reference-bundle-canonical.json"] {
        let bundle = read(name);
        assert_eq!(keys.active_kid(), bundle["kid"].as_str().unwrap());
        let ours = keys
            .sign_at(
                bundle["policy"].clone(),
                bundle["signedAt"].as_str().unwrap().to_string(),
            )
            .unwrap();
        assert_eq!(
            ours.signature,
            bundle["signature"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(ours.to_value(), bundle, "{name}: same fields");
        // The written file is the reference's file, byte for byte (key order included).
        assert_eq!(
            ours.to_file_text(),
            fs::read_to_string(fixture(name)).unwrap(),
            "{name}: same file text"
        );
    }
}

#[test]
fn a_bundle_signed_by_a_now_retired_key_still_verifies() {
    let key_file: Value =
        serde_json::from_str(&fs::read_to_string(fixture("reference-bundle-keys.json")).unwrap())
            .unwrap();
    let bundle = read("reference-bundle-retired-kid.json");
    let retired = key_file["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == bundle["kid"])
        .unwrap();
    assert_eq!(retired["status"], "retired");
    let keys = reference_keys();
    assert_ne!(keys.active_kid(), bundle["kid"].as_str().unwrap());
    assert!(keys.verify(&bundle).is_ok());
}

fn assert_mismatch(keys: &PolicyBundleKeys, bundle: &Value, case: &str) {
    match keys.verify(bundle) {
        Err(error @ BundleError::SignatureMismatch) => {
            assert_eq!(error.code(), "haechi_policy_bundle_signature_invalid");
            assert!(error.to_string().contains("signature verification failed"));
        }
        other => panic!("{case}: expected a signature mismatch, got {other:?}"),
    }
}

#[test]
fn tampered_reference_bundles_are_refused() {
    let keys = reference_keys();
    let original = read("reference-bundle.json");

    let mut weakened = original.clone();
    weakened["policy"]["actions"]["email"] = json!("allow");
    assert_mismatch(&keys, &weakened, "policy action weakened");

    let mut added = original.clone();
    added["policy"]["actions"]["phone"] = json!("allow");
    assert_mismatch(&keys, &added, "policy key added");

    let mut dropped = original.clone();
    dropped["policy"].as_object_mut().unwrap().remove("rate");
    assert_mismatch(&keys, &dropped, "policy key removed");

    let mut resigned_at = original.clone();
    resigned_at["signedAt"] = json!("2030-01-01T00:00:00.000Z");
    assert_mismatch(&keys, &resigned_at, "signedAt changed");

    let mut signature = original.clone();
    let text = original["signature"].as_str().unwrap();
    let flipped = if text.starts_with('A') { "B" } else { "A" };
    signature["signature"] = json!(format!("{flipped}{}", &text[1..]));
    assert_mismatch(&keys, &signature, "signature changed");

    // Claiming the other (retired) key of the same file does not help.
    let mut other_kid = original.clone();
    other_kid["kid"] = read("reference-bundle-retired-kid.json")["kid"].clone();
    assert_mismatch(&keys, &other_kid, "kid swapped");
}

#[test]
fn a_different_key_file_refuses_reference_bundles() {
    // An unrelated key file does not know the kid at all.
    let other = open_keys("reference-other-keys.json");
    let bundle = read("reference-bundle.json");
    match other.verify(&bundle) {
        Err(error @ BundleError::UnknownKid { .. }) => {
            assert_eq!(error.code(), "haechi_policy_bundle_unknown_kid");
            let text = error.to_string();
            assert!(text.contains(bundle["kid"].as_str().unwrap()));
            assert!(text.contains("reference-other-keys.json"));
        }
        other => panic!("expected an unknown kid, got {other:?}"),
    }

    // The same kid holding different key material is a signature mismatch.
    let dir = tempfile::tempdir().unwrap();
    let mut forged: Value =
        serde_json::from_str(&fs::read_to_string(fixture("reference-other-keys.json")).unwrap())
            .unwrap();
    forged["keys"][0]["kid"] = bundle["kid"].clone();
    let path = dir.path().join("forged.keys.json");
    fs::write(&path, forged.to_string()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    }
    let forged = PolicyBundleKeys::open(&path).unwrap();
    assert_mismatch(&forged, &bundle, "same kid, other key");
}

#[test]
fn unsigned_extra_fields_are_ignored_as_the_reference_ignores_them() {
    // Only the five payload fields are signed and only `policy` is used; an extra top-level
    // field changes nothing that is trusted.
    let mut bundle = read("reference-bundle.json");
    bundle["comment"] = json!("added later");
    let verified = reference_keys().verify(&bundle).unwrap();
    assert_eq!(verified.policy, read("reference-bundle.json")["policy"]);
}
