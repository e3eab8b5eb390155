use std::sync::Arc;

use haechi_crypto::{init_local_key_file, LocalKeyProvider};

use super::*;

fn keys(dir: &tempfile::TempDir) -> Arc<LocalKeyProvider> {
    let path = dir.path().join("keys.json");
    init_local_key_file(&path, false).unwrap();
    Arc::new(LocalKeyProvider::open(&path).unwrap())
}

fn allowed() -> Vec<String> {
    default_allowed_label_keys()
}

fn request<'a>(kind: &'a str, allowed: &'a [String]) -> NewToken<'a> {
    NewToken {
        kind,
        scopes: vec!["team:a".into()],
        labels: [("env", "prod")].into_iter().collect(),
        allowed_label_keys: allowed,
    }
}

#[test]
fn tokens_and_ids_have_the_reference_shape() {
    let token = new_token().unwrap();
    let body = token.strip_prefix("hae_").unwrap();
    assert_eq!(body.len(), 43, "32 bytes in unpadded base64url");
    assert!(body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .unwrap();
    assert_eq!(decoded.len(), 32);
    assert_ne!(new_token().unwrap(), token);

    let id = new_token_id();
    let suffix = id.strip_prefix("tok_auth_").unwrap();
    assert_eq!(suffix.len(), 8);
    assert!(suffix.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn type_scope_and_label_validation() {
    assert!(validate_kind("user").is_ok());
    assert!(validate_kind("service").is_ok());
    assert!(validate_kind("agent").is_ok());
    let error = validate_kind("admin").unwrap_err();
    assert!(matches!(error, AuthError::InvalidType { .. }));
    assert!(error.to_string().contains("user, service or agent"));
    assert!(validate_kind("User").is_err());

    assert!(validate_scopes(&["a".into(), "b:c".into()]).is_ok());
    assert!(matches!(
        validate_scopes(&["a".into(), "  ".into()]),
        Err(AuthError::EmptyScope)
    ));
    assert!(validate_scopes(&[]).is_ok());

    let keys = allowed();
    let ok: Labels = [("team", "a"), ("env", "prod")].into_iter().collect();
    assert!(validate_labels(&ok, &keys).is_ok());
    let bad_key: Labels = [("owner", "x")].into_iter().collect();
    let error = validate_labels(&bad_key, &keys).unwrap_err();
    assert!(matches!(error, AuthError::LabelKeyNotAllowed { .. }));
    assert!(error.to_string().contains("team, env, tier, role"));
    assert!(error.to_string().contains("auth.allowedLabelKeys"));
    let none_allowed = validate_labels(&ok, &[]).unwrap_err();
    assert!(none_allowed.to_string().contains("allowed: none"));

    let empty: Labels = [("env", "")].into_iter().collect();
    assert!(matches!(
        validate_labels(&empty, &keys),
        Err(AuthError::LabelValue { max: 64, .. })
    ));
    let at_limit: Labels = [("env", "x".repeat(64))].into_iter().collect();
    assert!(validate_labels(&at_limit, &keys).is_ok());
    let too_long: Labels = [("env", "x".repeat(65))].into_iter().collect();
    assert!(validate_labels(&too_long, &keys).is_err());
    // Counted in UTF-16 code units, as the reference does: 32 emoji are 64 units.
    let emoji: Labels = [("env", "😀".repeat(32))].into_iter().collect();
    assert!(validate_labels(&emoji, &keys).is_ok());
    let emoji: Labels = [("env", format!("{}a", "😀".repeat(32)))]
        .into_iter()
        .collect();
    assert!(validate_labels(&emoji, &keys).is_err());
}

#[test]
fn a_repeated_label_key_keeps_its_place_and_takes_the_last_value() {
    let labels: Labels = [("team", "a"), ("env", "dev"), ("team", "b")]
        .into_iter()
        .collect();
    assert_eq!(
        labels.as_pairs(),
        &[
            ("team".to_string(), "b".to_string()),
            ("env".to_string(), "dev".to_string())
        ]
    );
    assert_eq!(
        serde_json::to_string(&labels).unwrap(),
        r#"{"team":"b","env":"dev"}"#
    );
}

#[test]
fn records_read_like_the_reference_reads_them() {
    let store = TokenStore::new("unused");
    let text = br#"{"tokens":[
        {"id":"tok_auth_a","tokenHash":"h1","type":"user","scopes":null,"labels":null,"disabled":"yes"},
        {"id":"tok_auth_b","tokenHash":"h2","type":"agent","disabled":0,"note":{"kept":true}},
        {"id":"tok_auth_c","tokenHash":"h3","type":"service","disabled":1}
    ]}"#;
    let parsed = store.parse(text).unwrap();
    assert_eq!(parsed.version, Value::from(1));
    let [a, b, c] = &parsed.tokens[..] else {
        panic!("three records expected")
    };
    assert!(a.disabled, "a truthy string disables, as in JavaScript");
    assert!(a.scopes.is_empty() && a.labels.is_empty());
    assert!(!b.disabled);
    assert!(c.disabled);
    assert_eq!(b.extra["note"], serde_json::json!({"kept": true}));
    // Unknown fields survive a write.
    let written = serde_json::to_value(&parsed).unwrap();
    assert_eq!(written["tokens"][1]["note"]["kept"], true);
    assert_eq!(written["tokens"][1]["disabled"], false);

    assert_eq!(store.parse(b"{}").unwrap().tokens.len(), 0);
    assert_eq!(store.parse(br#"{"tokens":null}"#).unwrap().tokens.len(), 0);
}

#[test]
fn a_corrupt_store_errors_without_quoting_it() {
    let store = TokenStore::new("/tmp/auth.json");
    let secretish = "c63c6eb34177e6008194c4f03339bf7ad3cf225d86b9efecc9c13606fd76e63e";
    for text in [
        format!(
            r#"{{"tokens":[{{"id":"x","tokenHash":"{secretish}","type":"user","labels":{{"env":1}}}}]}}"#
        ),
        format!(r#"{{"tokens":[{{"id":"x","tokenHash":{secretish}}}]}}"#),
        format!(r#"{{"tokens":"{secretish}"}}"#),
        format!(r#"{{"tokens":[{{"id":"x","type":"user","scopes":["{secretish}", 5]}}]}}"#),
        String::from("{\"tokens\": ["),
    ] {
        let error = store.parse(text.as_bytes()).unwrap_err();
        assert!(matches!(error, AuthError::StoreCorrupt { .. }), "{error:?}");
        let message = error.to_string();
        assert!(!message.contains(secretish), "{message}");
        assert!(!message.contains("c63c6e"), "{message}");
        assert!(message.contains("line 1"), "{message}");
    }
}

#[test]
fn an_unknown_store_version_is_refused() {
    let store = TokenStore::new("auth.json");
    let error = store.parse(br#"{"version":2,"tokens":[]}"#).unwrap_err();
    assert!(matches!(error, AuthError::StoreVersion { .. }));
    assert!(error.to_string().contains("version 2"));
    assert!(store.parse(br#"{"version":null,"tokens":[]}"#).is_ok());
}

#[test]
fn add_rejects_bad_requests_before_touching_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys(&dir);
    let path = dir.path().join("sub/auth.json");
    let store = TokenStore::new(&path);
    let allowed = allowed();
    let mut bad = request("robot", &allowed);
    assert!(matches!(
        store.add(keys.as_ref(), &bad),
        Err(AuthError::InvalidType { .. })
    ));
    bad.kind = "user";
    bad.scopes = vec![String::new()];
    assert!(store.add(keys.as_ref(), &bad).is_err());
    bad.scopes = vec![];
    bad.labels = [("owner", "me")].into_iter().collect();
    assert!(store.add(keys.as_ref(), &bad).is_err());
    assert!(!path.exists());
}

#[test]
fn issued_token_debug_hides_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys(&dir);
    let allowed = allowed();
    let issued = TokenStore::new(dir.path().join("auth.json"))
        .add(keys.as_ref(), &request("user", &allowed))
        .unwrap();
    let debug = format!("{issued:?}");
    assert!(!debug.contains(&issued.token));
    assert!(debug.contains(&issued.record.id));
}

#[test]
fn a_failed_write_leaves_no_temp_file_and_the_old_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.json");
    haechi_crypto::write_private_file_atomic(&path, b"{\"version\":1,\"tokens\":[]}\n").unwrap();
    // A directory in the way of the rename makes it fail after the temp file was written.
    let blocked = dir.path().join("blocked");
    fs::create_dir(&blocked).unwrap();
    fs::write(blocked.join("inside"), b"x").unwrap();
    assert!(haechi_crypto::write_private_file_atomic(&blocked, b"new").is_err());
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "{\"version\":1,\"tokens\":[]}\n"
    );
}

#[test]
fn revoke_disables_every_record_with_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.json");
    let record = |hash: &str, disabled: bool| {
        serde_json::json!({"id": "tok_auth_dup", "tokenHash": hash, "type": "user",
            "scopes": [], "labels": {}, "createdAt": "2025-01-01T00:00:00.000Z", "disabled": disabled})
    };
    let text =
        serde_json::json!({"version": 1, "tokens": [record("h1", true), record("h2", false)]});
    fs::write(&path, text.to_string()).unwrap();
    let outcome = TokenStore::new(&path).revoke("tok_auth_dup").unwrap();
    assert!(outcome.revoked, "the second, enabled duplicate was revoked");
    let store = TokenStore::new(&path).load().unwrap();
    assert!(store.tokens.iter().all(|record| record.disabled));
}

#[test]
fn a_new_id_never_repeats_one_in_the_store() {
    let record = |id: &str| TokenRecord {
        id: id.into(),
        token_hash: "h".into(),
        kind: "user".into(),
        scopes: vec![],
        labels: Labels::new(),
        created_at: None,
        disabled: false,
        extra: serde_json::Map::new(),
    };
    let existing = [record("tok_auth_a"), record("tok_auth_b")];
    let mut script = ["tok_auth_a", "tok_auth_b", "tok_auth_a", "tok_auth_c"].into_iter();
    let id = unique_id(&existing, || script.next().unwrap().to_owned());
    assert_eq!(id, "tok_auth_c");
    assert_eq!(script.next(), None, "every candidate was tried in turn");
}
