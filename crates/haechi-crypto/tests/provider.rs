//! The provider and the key file: round trips, rejections, rotation, file format and mode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use haechi_core::seams::Crypto;
use haechi_crypto::{
    envelope_marker, init_local_key_file, parse_envelope_marker, CryptoError, LocalKeyProvider,
    CRYPTO_AAD_ENCODING_V2, WARN_NO_ACTIVE_KEY,
};
use serde_json::{json, Value};

const SECRET: &str = "minji.kim@example.com";

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn fresh() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".haechi").join("dev.keys.json");
    let outcome = init_local_key_file(&path, false).unwrap();
    assert!(outcome.created);
    Fixture { _dir: dir, path }
}

fn aad() -> Value {
    json!({"context": {"tenant": "demo"}, "path": "messages[0].content", "type": "email", "ruleId": "email"})
}

fn key_doc(path: &PathBuf) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn round_trip_and_envelope_shape() {
    let f = fresh();
    let provider = LocalKeyProvider::open(&f.path).unwrap();
    let envelope = provider.encrypt_envelope(SECRET, &aad(), None).unwrap();
    assert_eq!(envelope.v, 2);
    assert_eq!(envelope.alg.as_deref(), Some("AES-256-GCM"));
    assert_eq!(envelope.kid.as_deref(), Some(provider.active_kid()));
    assert_eq!(
        envelope.aad_encoding.as_deref(),
        Some(CRYPTO_AAD_ENCODING_V2)
    );
    assert_eq!(envelope.iv.len(), 16, "12 bytes, unpadded base64url");
    assert_eq!(envelope.tag.len(), 22, "16 bytes, unpadded base64url");
    assert!(!envelope.ct.contains('='));
    let created = envelope.created_at.as_deref().unwrap();
    assert_eq!(created.len(), 24);
    assert!(created.ends_with('Z') && created.as_bytes()[19] == b'.');
    assert!(envelope.expires_at.is_none());
    assert_eq!(
        provider.decrypt_envelope(&envelope, &aad()).unwrap(),
        SECRET
    );

    // Two encryptions of one value differ (fresh IV each time).
    let again = provider.encrypt_envelope(SECRET, &aad(), None).unwrap();
    assert_ne!(again.iv, envelope.iv);
    assert_ne!(again.ct, envelope.ct);
}

#[test]
fn round_trips_through_the_trait_object_and_the_marker() {
    let f = fresh();
    let crypto: Arc<dyn Crypto> = Arc::new(LocalKeyProvider::open(&f.path).unwrap());
    for plaintext in ["", "전화 010-1234-5678 😀", &"x".repeat(10_000)] {
        let envelope = crypto.encrypt(plaintext, &aad(), None).unwrap();
        let marker = envelope_marker(&envelope);
        let back = parse_envelope_marker(&marker).unwrap();
        assert_eq!(back, envelope);
        assert_eq!(crypto.decrypt(&back, &aad()).unwrap(), plaintext);
    }
}

#[test]
fn nfkc_equivalent_aad_decrypts_and_a_different_aad_does_not() {
    let f = fresh();
    let provider = LocalKeyProvider::open(&f.path).unwrap();
    let fullwidth =
        json!({"ｔｅｎａｎｔ": "ＡＣＭＥ", "nested": {"ｐａｔｈ": "messages[0].content"}});
    let envelope = provider.encrypt_envelope(SECRET, &fullwidth, None).unwrap();
    let plain = json!({"tenant": "ACME", "nested": {"path": "messages[0].content"}});
    assert_eq!(
        provider.decrypt_envelope(&envelope, &plain).unwrap(),
        SECRET
    );

    let err = provider
        .decrypt_envelope(&envelope, &json!({"tenant": "OTHER"}))
        .unwrap_err();
    assert_eq!(err.code(), "haechi_crypto_aad_mismatch");
}

#[test]
fn wrong_aad_without_a_hash_still_fails_the_tag() {
    let f = fresh();
    let provider = LocalKeyProvider::open(&f.path).unwrap();
    let mut envelope = provider.encrypt_envelope(SECRET, &aad(), None).unwrap();
    envelope.aad_hash = None;
    assert_eq!(
        provider.decrypt_envelope(&envelope, &aad()).unwrap(),
        SECRET
    );
    let err = provider
        .decrypt_envelope(&envelope, &json!({"tenant": "other"}))
        .unwrap_err();
    assert!(matches!(err, CryptoError::DecryptFailed));
}

#[test]
fn tampered_ciphertext_tag_or_iv_is_rejected() {
    let f = fresh();
    let provider = LocalKeyProvider::open(&f.path).unwrap();
    let envelope = provider.encrypt_envelope(SECRET, &aad(), None).unwrap();
    let flip = |text: &str| {
        let mut bytes = text.as_bytes().to_vec();
        bytes[0] = if bytes[0] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    let mut ct = envelope.clone();
    ct.ct = flip(&ct.ct);
    let mut tag = envelope.clone();
    tag.tag = flip(&tag.tag);
    let mut iv = envelope.clone();
    iv.iv = flip(&iv.iv);
    for bad in [ct, tag, iv] {
        let err = provider.decrypt_envelope(&bad, &aad()).unwrap_err();
        assert_eq!(err.code(), "haechi_crypto_decrypt_failed");
        assert!(!err.to_string().contains(SECRET));
    }
    let mut short_tag = envelope.clone();
    short_tag.tag.truncate(10);
    assert_eq!(
        provider
            .decrypt_envelope(&short_tag, &aad())
            .unwrap_err()
            .code(),
        "haechi_crypto_malformed_envelope"
    );
}

#[test]
fn unknown_kid_is_its_own_error_and_a_missing_kid_means_active() {
    let f = fresh();
    let provider = LocalKeyProvider::open(&f.path).unwrap();
    let envelope = provider.encrypt_envelope(SECRET, &aad(), None).unwrap();

    let mut unknown = envelope.clone();
    unknown.kid = Some("local-1-000000".into());
    let err = provider.decrypt_envelope(&unknown, &aad()).unwrap_err();
    assert_eq!(err.code(), "haechi_crypto_unknown_kid");
    assert!(err.to_string().contains("local-1-000000"));

    // A kid that does not look like one is not echoed.
    unknown.kid = Some("<script>alert(1)</script> and more".into());
    let err = provider.decrypt_envelope(&unknown, &aad()).unwrap_err();
    assert!(!err.to_string().contains("script"));

    for kid in [None, Some(String::new())] {
        let mut no_kid = envelope.clone();
        no_kid.kid = kid;
        assert_eq!(provider.decrypt_envelope(&no_kid, &aad()).unwrap(), SECRET);
    }
}

#[test]
fn expiry_is_enforced_on_decrypt() {
    let f = fresh();
    let provider = LocalKeyProvider::open(&f.path).unwrap();
    let fresh_envelope = provider
        .encrypt_envelope(SECRET, &aad(), Some("2999-01-01T09:00:00+09:00"))
        .unwrap();
    assert_eq!(
        fresh_envelope.expires_at.as_deref(),
        Some("2999-01-01T00:00:00.000Z")
    );
    assert_eq!(
        provider.decrypt_envelope(&fresh_envelope, &aad()).unwrap(),
        SECRET
    );

    let expired = provider
        .encrypt_envelope(SECRET, &aad(), Some("2000-01-01T00:00:00.000Z"))
        .unwrap();
    let err = provider.decrypt_envelope(&expired, &aad()).unwrap_err();
    assert_eq!(err.code(), "haechi_crypto_envelope_expired");
    assert!(err.to_string().contains("expired"));

    // An unparsable expiry is an error, not "never expires".
    let mut garbled = fresh_envelope.clone();
    garbled.expires_at = Some("someday".into());
    assert_eq!(
        provider
            .decrypt_envelope(&garbled, &aad())
            .unwrap_err()
            .code(),
        "haechi_crypto_invalid_timestamp"
    );
    assert_eq!(
        provider
            .encrypt_envelope(SECRET, &aad(), Some("tomorrow"))
            .unwrap_err()
            .code(),
        "haechi_crypto_invalid_timestamp"
    );
}

#[test]
fn unsupported_algorithm_and_aad_encoding_are_refused() {
    let f = fresh();
    let provider = LocalKeyProvider::open(&f.path).unwrap();
    let envelope = provider.encrypt_envelope(SECRET, &aad(), None).unwrap();
    let mut alg = envelope.clone();
    alg.alg = Some("AES-128-CBC".into());
    assert_eq!(
        provider.decrypt_envelope(&alg, &aad()).unwrap_err().code(),
        "haechi_crypto_unsupported_alg"
    );
    let mut encoding = envelope.clone();
    encoding.aad_encoding = Some("unknown-json-v99".into());
    let err = provider.decrypt_envelope(&encoding, &aad()).unwrap_err();
    assert_eq!(err.code(), "haechi_crypto_unsupported_aad_encoding");
    assert!(err.to_string().contains("Unsupported crypto AAD encoding"));
}

#[test]
fn aad_key_collision_fails_encrypt() {
    let f = fresh();
    let provider = LocalKeyProvider::open(&f.path).unwrap();
    let err = provider
        .encrypt_envelope(SECRET, &json!({"\u{212B}": "a", "\u{00C5}": "b"}), None)
        .unwrap_err();
    assert_eq!(err.code(), "haechi_crypto_aad_key_collision");
    assert!(err.to_string().contains("NFKC key collision"));
}

#[test]
fn rotation_keeps_old_kids_decryptable() {
    let f = fresh();
    let before = LocalKeyProvider::open(&f.path).unwrap();
    let old_kid = before.active_kid().to_owned();
    let old_envelope = before.encrypt_envelope(SECRET, &aad(), None).unwrap();
    let old_hmac = before.hmac("haechi:test:v1", b"x").unwrap();

    // An unknown field on the old entry must survive the rotation.
    let mut doc = key_doc(&f.path);
    doc["keys"][0]["note"] = json!("kept");
    fs::write(&f.path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();

    let outcome = init_local_key_file(&f.path, true).unwrap();
    assert!(outcome.created);
    assert_eq!(outcome.rotated, Some(true));
    assert_ne!(outcome.active_kid, old_kid);

    let doc = key_doc(&f.path);
    let keys = doc["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kid"], json!(outcome.active_kid));
    assert_eq!(keys[0]["status"], "active");
    assert!(
        keys[0].get("usage").is_none(),
        "a new key starts with a fresh budget"
    );
    assert_eq!(keys[1]["kid"], json!(old_kid));
    assert_eq!(keys[1]["status"], "retired");
    assert_eq!(keys[1]["note"], "kept");

    let after = LocalKeyProvider::open(&f.path).unwrap();
    assert_eq!(after.active_kid(), outcome.active_kid);
    assert_eq!(
        after.decrypt_envelope(&old_envelope, &aad()).unwrap(),
        SECRET
    );
    let new_envelope = after.encrypt_envelope(SECRET, &aad(), None).unwrap();
    assert_eq!(
        new_envelope.kid.as_deref(),
        Some(outcome.active_kid.as_str())
    );
    // HMAC follows the active key, so rotation changes it (as in the reference).
    assert_ne!(after.hmac("haechi:test:v1", b"x").unwrap(), old_hmac);
}

#[test]
fn key_file_has_the_reference_layout_and_mode_0600() {
    let f = fresh();
    let text = fs::read_to_string(&f.path).unwrap();
    assert!(text.starts_with("{\n  \"version\": 1,\n  \"createdAt\": \""));
    assert!(text.ends_with("\n}\n"));
    let doc: Value = serde_json::from_str(&text).unwrap();
    let entry = doc["keys"][0].as_object().unwrap();
    let fields: Vec<&str> = entry.keys().map(String::as_str).collect();
    assert_eq!(fields, ["kid", "kty", "alg", "status", "k"]);
    assert_eq!(entry["kty"], "oct");
    assert_eq!(entry["alg"], "AES-256-GCM");
    let k = entry["k"].as_str().unwrap();
    assert_eq!(k.len(), 43, "32 bytes, unpadded base64url");
    // Re-serializing as JSON.stringify(…, null, 2) gives the same bytes.
    assert_eq!(
        format!("{}\n", serde_json::to_string_pretty(&doc).unwrap()),
        text
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&f.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        init_local_key_file(&f.path, true).unwrap();
        let mode = fs::metadata(&f.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "rotation keeps 0600");
    }
}

#[test]
fn init_keeps_a_valid_file_byte_for_byte() {
    let f = fresh();
    init_local_key_file(&f.path, true).unwrap();
    let before = fs::read(&f.path).unwrap();
    let outcome = init_local_key_file(&f.path, false).unwrap();
    assert!(!outcome.created);
    assert_eq!(outcome.rotated, None);
    assert_eq!(fs::read(&f.path).unwrap(), before);
    let printed = serde_json::to_value(&outcome).unwrap();
    assert!(printed.get("rotated").is_none());
    assert_eq!(printed["created"], false);
}

#[test]
fn init_and_open_reject_broken_key_files_specifically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let write = |text: &str| {
        fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
    };
    let k32 = "A".repeat(43);
    let k16 = "A".repeat(22);

    write("{ not json ::::");
    assert_eq!(
        init_local_key_file(&path, false).unwrap_err().code(),
        "haechi_crypto_key_file_malformed"
    );
    assert_eq!(
        init_local_key_file(&path, true).unwrap_err().code(),
        "haechi_crypto_key_file_malformed",
        "force does not destroy a file it cannot read"
    );
    assert_eq!(
        LocalKeyProvider::open(&path).unwrap_err().code(),
        "haechi_crypto_key_file_malformed"
    );

    write(r#"{"version":1,"keys":[]}"#);
    assert_eq!(
        LocalKeyProvider::open(&path).unwrap_err().code(),
        "haechi_crypto_no_keys"
    );

    write(&format!(
        r#"{{"version":1,"keys":[{{"kid":"local-short","status":"active","k":"{k16}"}}]}}"#
    ));
    let err = init_local_key_file(&path, false).unwrap_err();
    assert_eq!(err.code(), "haechi_crypto_bad_key_length");
    assert!(err.to_string().contains("32 bytes"));
    assert!(!err.to_string().contains(&k16));

    write(&format!(
        r#"{{"version":1,"keys":[{{"kid":"local-retired","status":"retired","k":"{k32}"}}]}}"#
    ));
    let err = init_local_key_file(&path, false).unwrap_err();
    assert_eq!(err.code(), "haechi_crypto_no_active_key");
    assert!(err.to_string().contains("active key"));
    // The provider falls back to the first key, and says so.
    let provider = LocalKeyProvider::open(&path).unwrap();
    assert_eq!(provider.active_kid(), "local-retired");
    let warnings = provider.take_warnings();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].code, WARN_NO_ACTIVE_KEY);
    assert!(provider.take_warnings().is_empty(), "handed out once");

    fs::remove_file(&path).unwrap();
    let err = LocalKeyProvider::open(&path).unwrap_err();
    assert_eq!(err.code(), "haechi_crypto_key_file_missing");
    assert!(err.to_string().contains("haechi init"));
}

#[test]
fn hmac_is_deterministic_domain_separated_and_needs_a_domain() {
    let f = fresh();
    let provider = LocalKeyProvider::open(&f.path).unwrap();
    let a = provider.hmac("haechi:conformance:v1", b"x").unwrap();
    assert_eq!(a.len(), 64);
    assert!(a
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(
        provider.hmac("haechi:conformance:v1", b"x").unwrap(),
        a,
        "cached path"
    );
    assert_ne!(provider.hmac("haechi:conformance:v1", b"y").unwrap(), a);
    assert_ne!(provider.hmac("haechi:conformance:v2", b"x").unwrap(), a);
    let err = provider.hmac_hex("", b"x").unwrap_err();
    assert_eq!(err.code, "haechi_crypto_hmac_domain_required");

    // A second provider on the same file agrees (nothing per-instance in the output).
    let other = LocalKeyProvider::open(&f.path).unwrap();
    assert_eq!(other.hmac("haechi:conformance:v1", b"x").unwrap(), a);
    // Many domains beyond the cache bound still compute correctly.
    for i in 0..200 {
        let domain = format!("haechi:many:{i}");
        assert_eq!(
            provider.hmac(&domain, b"x").unwrap(),
            other.hmac(&domain, b"x").unwrap()
        );
    }
}

#[test]
fn errors_never_carry_plaintext_or_key_material() {
    let f = fresh();
    let provider = LocalKeyProvider::open(&f.path).unwrap();
    let doc = key_doc(&f.path);
    let k = doc["keys"][0]["k"].as_str().unwrap().to_owned();
    let envelope = provider.encrypt_envelope(SECRET, &aad(), None).unwrap();
    let mut errors: Vec<CryptoError> = Vec::new();
    errors.push(
        provider
            .decrypt_envelope(&envelope, &json!({"x": SECRET}))
            .unwrap_err(),
    );
    let mut bad = envelope.clone();
    bad.ct = format!("{}{}", bad.ct, "AAAA");
    errors.push(provider.decrypt_envelope(&bad, &aad()).unwrap_err());
    errors.push(
        provider
            .encrypt_envelope(
                SECRET,
                &json!({"\u{212B}": SECRET, "\u{00C5}": SECRET}),
                Some(SECRET),
            )
            .unwrap_err(),
    );
    errors.push(
        provider
            .encrypt_envelope(SECRET, &aad(), Some(SECRET))
            .unwrap_err(),
    );
    errors.push(parse_envelope_marker(&format!("[HAECHI_ENC:{SECRET}]")).unwrap_err());
    for err in errors {
        let text = format!("{err} {err:?}");
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains(&k), "{text}");
    }
    let debug = format!("{provider:?}");
    assert!(!debug.contains(&k));
    assert!(debug.contains(provider.active_kid()));
}
