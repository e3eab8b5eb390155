//! Interoperability with the reference (Haechi 1.7, `packages/crypto`): the fixtures were made
//! by the reference itself (a key file after one rotation, v1 and v2 envelopes under both keys,
//! AAD canonical strings, HMAC outputs, expiry normalization, the nonce budget status). Our
//! provider must read all of it and reproduce every byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use haechi_core::seams::{Crypto, Envelope};
use haechi_crypto::{
    canonicalize_crypto_aad, canonicalize_v1, envelope_marker, parse_envelope_marker,
    read_nonce_budget, CryptoError, LocalKeyProvider,
};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn vectors() -> Value {
    let text = fs::read_to_string(fixtures().join("reference-vectors.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A private copy of the reference key file (opening may persist nonce usage into it).
fn reference_keys(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("dev.keys.json");
    fs::copy(fixtures().join("reference-keys.json"), &path).unwrap();
    // Git keeps no file modes; a key file that others can read is refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

fn cases<'a>(v: &'a Value, name: &str) -> &'a Vec<Value> {
    v[name].as_array().unwrap()
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("missing {field}"))
}

fn sha256_b64url(text: &str) -> String {
    haechi_core::hash::sha256_base64url(text.as_bytes())
}

#[test]
fn reference_aad_canonical_forms_are_reproduced() {
    let v = vectors();
    let all = cases(&v, "aad");
    assert!(all.len() >= 20);
    for case in all {
        let name = str_of(case, "name");
        let aad: Value = serde_json::from_str(str_of(case, "aadJson")).unwrap();
        let v1 = canonicalize_v1(&aad).unwrap();
        assert_eq!(v1, str_of(case, "v1"), "v1 of {name}");
        assert_eq!(
            sha256_b64url(&v1),
            str_of(case, "v1Hash"),
            "v1 hash of {name}"
        );
        match case.get("v2").and_then(Value::as_str) {
            Some(expected) => {
                let v2 = canonicalize_crypto_aad(&aad).unwrap();
                assert_eq!(v2, expected, "v2 of {name}");
                assert_eq!(
                    sha256_b64url(&v2),
                    str_of(case, "v2Hash"),
                    "v2 hash of {name}"
                );
            }
            None => {
                assert_eq!(str_of(case, "v2Error"), "collision", "{name}");
                assert!(
                    matches!(
                        canonicalize_crypto_aad(&aad),
                        Err(CryptoError::AadKeyCollision)
                    ),
                    "{name} must fail closed"
                );
            }
        }
    }
}

#[test]
fn every_reference_envelope_decrypts() {
    let v = vectors();
    let dir = tempfile::tempdir().unwrap();
    let provider = LocalKeyProvider::open(reference_keys(&dir)).unwrap();
    assert_eq!(provider.active_kid(), str_of(&v, "activeKid"));
    assert!(provider.has_kid(str_of(&v, "retiredKid")));

    let envelopes = cases(&v, "envelopes");
    let mut decrypted = 0;
    let (mut v1, mut v2, mut retired) = (0, 0, 0);
    for case in envelopes {
        let name = str_of(case, "name");
        let envelope: Envelope = serde_json::from_value(case["envelope"].clone()).unwrap();
        let aad: Value = serde_json::from_str(str_of(case, "aadJson")).unwrap();
        let result = provider.decrypt_envelope(&envelope, &aad);
        if case.get("expectError").is_some() {
            assert!(
                matches!(result, Err(CryptoError::EnvelopeExpired)),
                "{name} must be rejected as expired"
            );
            continue;
        }
        assert_eq!(result.unwrap(), str_of(case, "plaintext"), "{name}");
        decrypted += 1;
        match envelope.v {
            1 => v1 += 1,
            _ => v2 += 1,
        }
        if envelope.kid.as_deref() == Some(str_of(&v, "retiredKid")) {
            retired += 1;
        }
    }
    assert!(decrypted >= 45, "decrypted {decrypted}");
    assert!(
        v1 >= 20 && v2 >= 20 && retired >= 5,
        "v1 {v1} v2 {v2} retired {retired}"
    );
}

#[test]
fn reference_markers_parse_and_ours_are_byte_identical() {
    let v = vectors();
    let mut compared = 0;
    for case in cases(&v, "envelopes") {
        let Some(marker) = case.get("marker").and_then(Value::as_str) else {
            continue;
        };
        let parsed = parse_envelope_marker(marker).unwrap();
        let expected: Envelope = serde_json::from_value(case["envelope"].clone()).unwrap();
        assert_eq!(parsed, expected, "{}", str_of(case, "name"));
        // A legacy envelope without `v` reads as v1 but cannot print its missing field back.
        if case["envelope"].get("v").is_some() {
            assert_eq!(envelope_marker(&parsed), marker, "{}", str_of(case, "name"));
            compared += 1;
        }
    }
    assert!(compared >= 45);
}

#[test]
fn reference_hmac_outputs_are_reproduced() {
    let v = vectors();
    let dir = tempfile::tempdir().unwrap();
    let provider = LocalKeyProvider::open(reference_keys(&dir)).unwrap();
    let all = cases(&v, "hmac");
    assert!(all.len() >= 28);
    for case in all {
        let domain = str_of(case, "domain");
        let data = str_of(case, "data");
        let ours = provider.hmac_hex(domain, data.as_bytes()).unwrap();
        assert_eq!(ours, str_of(case, "hex"), "domain {domain:?} data {data:?}");
    }
}

#[test]
fn expiry_is_normalized_like_the_reference() {
    let v = vectors();
    let dir = tempfile::tempdir().unwrap();
    let provider = LocalKeyProvider::open(reference_keys(&dir)).unwrap();
    let aad = serde_json::json!({"purpose": "vault"});
    for case in cases(&v, "expiry") {
        let input = str_of(case, "input");
        let result = provider.encrypt_envelope("x", &aad, Some(input));
        match case["output"].as_str() {
            Some(expected) => {
                let envelope = result.unwrap();
                assert_eq!(envelope.expires_at.as_deref(), Some(expected), "{input}");
            }
            None => assert!(
                matches!(result, Err(CryptoError::InvalidTimestamp { .. })),
                "{input} must be refused"
            ),
        }
    }
}

#[test]
fn nonce_budget_status_matches_the_reference() {
    let v = vectors();
    let dir = tempfile::tempdir().unwrap();
    let status = read_nonce_budget(reference_keys(&dir)).unwrap();
    let ours = serde_json::to_value(&status).unwrap();
    let theirs = &v["nonceBudget"];
    for field in [
        "kid",
        "used",
        "limit",
        "remaining",
        "warnThreshold",
        "exhausted",
    ] {
        assert_eq!(ours[field], theirs[field], "{field}");
    }
    assert_eq!(
        ours["usedFraction"].as_f64(),
        theirs["usedFraction"].as_f64()
    );
}

#[test]
fn tampered_reference_envelopes_are_rejected() {
    let v = vectors();
    let dir = tempfile::tempdir().unwrap();
    let provider = LocalKeyProvider::open(reference_keys(&dir)).unwrap();
    let case = cases(&v, "envelopes")
        .iter()
        .find(|c| str_of(c, "name") == "active-v2-pipeline-shape")
        .unwrap();
    let envelope: Envelope = serde_json::from_value(case["envelope"].clone()).unwrap();
    let aad: Value = serde_json::from_str(str_of(case, "aadJson")).unwrap();

    let mut ct = envelope.clone();
    ct.ct = flip_first_char(&ct.ct);
    assert!(matches!(
        provider.decrypt_envelope(&ct, &aad),
        Err(CryptoError::DecryptFailed)
    ));
    let mut tag = envelope.clone();
    tag.tag = flip_first_char(&tag.tag);
    assert!(matches!(
        provider.decrypt_envelope(&tag, &aad),
        Err(CryptoError::DecryptFailed)
    ));
    let mut other_aad = aad.clone();
    other_aad["type"] = Value::String("phone".into());
    assert!(matches!(
        provider.decrypt_envelope(&envelope, &other_aad),
        Err(CryptoError::AadMismatch)
    ));
}

fn flip_first_char(text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}
