//! The bearer token store file: round trip, permissions, atomic replacement, revocation,
//! concurrency, and the format shared with the reference (JavaScript) Haechi.
//!
//! `fixtures/reference-auth.json` was written by the reference's `addToken`/`revokeToken`
//! (Haechi 1.7) under the reference key file kept in haechi-crypto's fixtures;
//! `fixtures/reference-auth-expect.json` holds the tokens it printed and the identities its
//! `buildIdentity`/`buildExternalIdentity` computed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use haechi_core::seams::Crypto;
use haechi_crypto::{init_local_key_file, LocalKeyProvider};
use haechi_gateway::auth::{
    add_token, default_allowed_label_keys, list_tokens, revoke_token, AuthError, Labels, NewToken,
    TokenStore, TOKEN_DOMAIN,
};
use serde_json::{json, Value};

fn new_keys(dir: &Path) -> Arc<LocalKeyProvider> {
    let path = dir.join("keys.json");
    init_local_key_file(&path, false).unwrap();
    Arc::new(LocalKeyProvider::open(&path).unwrap())
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A private copy of the reference key file the fixtures were made with.
fn reference_keys(dir: &Path) -> Arc<LocalKeyProvider> {
    let path = dir.join("reference-keys.json");
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../haechi-crypto/tests/fixtures/reference-keys.json"),
        &path,
    )
    .unwrap();
    // Git keeps no file modes; a key file that others can read is refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    }
    Arc::new(LocalKeyProvider::open(&path).unwrap())
}

fn request<'a>(
    kind: &'a str,
    scopes: &[&str],
    labels: &[(&str, &str)],
    allowed: &'a [String],
) -> NewToken<'a> {
    NewToken {
        kind,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        labels: labels.iter().copied().collect::<Labels>(),
        allowed_label_keys: allowed,
    }
}

#[test]
fn add_list_revoke_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let keys = new_keys(dir.path());
    let path = dir.path().join(".haechi/auth.json");
    let allowed = default_allowed_label_keys();

    assert!(
        list_tokens(&path).unwrap().is_empty(),
        "a missing store is empty"
    );
    let first = add_token(
        &path,
        keys.as_ref(),
        &request(
            "service",
            &["team:payments"],
            &[("team", "payments"), ("env", "prod")],
            &allowed,
        ),
    )
    .unwrap();
    let second = add_token(&path, keys.as_ref(), &request("agent", &[], &[], &allowed)).unwrap();
    assert_ne!(first.token, second.token);
    assert_ne!(first.record.id, second.record.id);

    let listed = list_tokens(&path).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], first.record);
    assert_eq!(listed[0].kind, "service");
    assert_eq!(listed[0].scopes, vec!["team:payments".to_string()]);
    assert_eq!(
        serde_json::to_value(&listed[0].labels).unwrap(),
        json!({"team": "payments", "env": "prod"})
    );
    assert!(!listed[0].disabled);
    let created = listed[0].created_at.as_deref().unwrap();
    assert!(created.ends_with('Z') && created.len() == 24, "{created}");

    // The file holds the keyed hash, never the token.
    let text = fs::read_to_string(&path).unwrap();
    assert!(!text.contains(&first.token) && !text.contains(&second.token));
    let stored: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        stored["tokens"][0]["tokenHash"],
        keys.hmac_hex(TOKEN_DOMAIN, first.token.as_bytes()).unwrap()
    );

    let outcome = revoke_token(&path, &first.record.id).unwrap();
    assert_eq!(outcome.id, first.record.id);
    assert!(outcome.revoked);
    let again = revoke_token(&path, &first.record.id).unwrap();
    assert!(!again.revoked, "revoking twice reports no change");
    let listed = list_tokens(&path).unwrap();
    assert!(listed[0].disabled);
    assert!(!listed[1].disabled);
}

#[test]
fn the_file_is_pretty_json_with_a_newline_and_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let keys = new_keys(dir.path());
    let path = dir.path().join("nested/dir/auth.json");
    let allowed = default_allowed_label_keys();
    add_token(
        &path,
        keys.as_ref(),
        &request("user", &["a"], &[("env", "dev")], &allowed),
    )
    .unwrap();

    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("{\n  \"version\": 1,\n  \"tokens\": [\n    {\n      \"id\": \"tok_auth_")
    );
    assert!(text.ends_with("\n}\n"));
    let keys_in_order: Vec<String> = serde_json::from_str::<Value>(&text).unwrap()["tokens"][0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys_in_order,
        [
            "id",
            "tokenHash",
            "type",
            "scopes",
            "labels",
            "createdAt",
            "disabled"
        ]
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Even when the previous file was world-readable, the replacement is 0600.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        add_token(&path, keys.as_ref(), &request("user", &[], &[], &allowed)).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn writes_replace_the_file_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let keys = new_keys(dir.path());
    let path = dir.path().join("auth.json");
    let allowed = default_allowed_label_keys();
    add_token(&path, keys.as_ref(), &request("user", &[], &[], &allowed)).unwrap();

    // A reader holding the old file keeps seeing the complete old version: the store is
    // replaced by rename, never rewritten in place.
    let before = fs::read_to_string(&path).unwrap();
    let old_handle = fs::File::open(&path).unwrap();
    #[cfg(unix)]
    let old_inode = {
        use std::os::unix::fs::MetadataExt as _;
        fs::metadata(&path).unwrap().ino()
    };
    add_token(&path, keys.as_ref(), &request("user", &[], &[], &allowed)).unwrap();
    let mut seen = String::new();
    std::io::Read::read_to_string(&mut &old_handle, &mut seen).unwrap();
    assert_eq!(seen, before);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        assert_ne!(fs::metadata(&path).unwrap().ino(), old_inode);
    }
    // No temp file is left behind; only the store and its lock sidecar remain.
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "keys.json" && !n.starts_with(".keys.json"))
        .collect();
    names.sort();
    assert_eq!(names, [".auth.json.lock", "auth.json"]);
}

#[test]
fn unknown_id_is_an_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = new_keys(dir.path());
    let path = dir.path().join("auth.json");
    let allowed = default_allowed_label_keys();
    add_token(&path, keys.as_ref(), &request("user", &[], &[], &allowed)).unwrap();
    let before = fs::read(&path).unwrap();
    let error = revoke_token(&path, "tok_auth_nope").unwrap_err();
    assert!(matches!(error, AuthError::UnknownTokenId { .. }));
    assert!(error.to_string().contains("haechi auth list"));
    assert_eq!(fs::read(&path).unwrap(), before);
    // Revoking against a missing store is an unknown id too, and creates no file.
    let missing = dir.path().join("missing.json");
    assert!(matches!(
        revoke_token(&missing, "tok_auth_x"),
        Err(AuthError::UnknownTokenId { .. })
    ));
    assert!(!missing.exists());
}

#[test]
fn validation_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let keys = new_keys(dir.path());
    let path = dir.path().join("auth.json");
    let allowed = default_allowed_label_keys();
    let cases: [(NewToken<'_>, &str); 4] = [
        (
            request("admin", &[], &[], &allowed),
            "use one of user, service or agent",
        ),
        (request("user", &[" "], &[], &allowed), "non-empty"),
        (
            request("user", &[], &[("owner", "me")], &allowed),
            "auth.allowedLabelKeys",
        ),
        (
            request("user", &[], &[("env", "")], &allowed),
            "--label env=<value>",
        ),
    ];
    for (bad, hint) in cases {
        let message = add_token(&path, keys.as_ref(), &bad)
            .unwrap_err()
            .to_string();
        assert!(message.contains(hint), "{message}");
    }
    assert!(!path.exists());

    // A configured key list replaces the default one.
    let custom = vec!["squad".to_string()];
    assert!(add_token(
        &path,
        keys.as_ref(),
        &request("user", &[], &[("team", "a")], &custom)
    )
    .is_err());
    assert!(add_token(
        &path,
        keys.as_ref(),
        &request("user", &[], &[("squad", "a")], &custom)
    )
    .is_ok());
}

#[test]
fn concurrent_adds_from_threads_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = new_keys(dir.path());
    let path = dir.path().join("auth.json");
    let threads = 8;
    let per_thread = 10;
    let ids: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let keys = Arc::clone(&keys);
                let path = path.clone();
                scope.spawn(move || {
                    let allowed = default_allowed_label_keys();
                    (0..per_thread)
                        .map(|_| {
                            add_token(
                                &path,
                                keys.as_ref(),
                                &request("service", &[], &[], &allowed),
                            )
                            .unwrap()
                            .record
                            .id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut stored: Vec<String> = list_tokens(&path)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(stored.len(), threads * per_thread);
    stored.sort();
    let mut issued = ids;
    issued.sort();
    assert_eq!(stored, issued);
}

#[test]
fn a_hand_written_reference_format_store_is_read_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let keys = new_keys(dir.path());
    let path = dir.path().join("auth.json");
    let token = "hae_handwrittenTokenForTheFixture0123456789abcdef";
    let hash = keys.hmac_hex(TOKEN_DOMAIN, token.as_bytes()).unwrap();
    let text = format!(
        r#"{{
  "version": 1,
  "tokens": [
    {{
      "id": "tok_auth_0a1b2c3d",
      "tokenHash": "{hash}",
      "type": "service",
      "scopes": ["team:payments"],
      "labels": {{"team": "payments", "env": "prod"}},
      "createdAt": "2025-01-02T03:04:05.678Z",
      "disabled": false
    }}
  ]
}}
"#
    );
    fs::write(&path, &text).unwrap();
    let listed = list_tokens(&path).unwrap();
    assert_eq!(
        serde_json::to_value(&listed).unwrap(),
        json!([{
            "id": "tok_auth_0a1b2c3d",
            "type": "service",
            "scopes": ["team:payments"],
            "labels": {"team": "payments", "env": "prod"},
            "createdAt": "2025-01-02T03:04:05.678Z",
            "disabled": false
        }])
    );
    // Our edit keeps the existing record as it was.
    let allowed = default_allowed_label_keys();
    add_token(&path, keys.as_ref(), &request("user", &[], &[], &allowed)).unwrap();
    let after: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let before: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(after["tokens"][0], before["tokens"][0]);
}

#[test]
fn a_store_written_by_the_reference_is_read_and_rewritten_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.json");
    let original = fs::read(fixture("reference-auth.json")).unwrap();
    fs::write(&path, &original).unwrap();

    let listed = list_tokens(&path).unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].kind, "service");
    assert!(listed[1].disabled);
    assert!(!listed[2].disabled);

    // Revoking an already revoked token rewrites the file unchanged: same bytes as the
    // reference's own writer produced.
    let id = listed[1].id.clone();
    assert!(!revoke_token(&path, &id).unwrap().revoked);
    assert_eq!(
        String::from_utf8(fs::read(&path).unwrap()).unwrap(),
        String::from_utf8(original).unwrap()
    );
}

#[test]
fn reference_token_hashes_match_ours() {
    let dir = tempfile::tempdir().unwrap();
    let keys = reference_keys(dir.path());
    let expect: Value =
        serde_json::from_str(&fs::read_to_string(fixture("reference-auth-expect.json")).unwrap())
            .unwrap();
    let store = TokenStore::new(fixture("reference-auth.json"))
        .load()
        .unwrap();
    for (name, index) in [("active", 0), ("revoked", 1), ("user", 2)] {
        let token = expect["tokens"][name].as_str().unwrap();
        assert_eq!(
            keys.hmac_hex(TOKEN_DOMAIN, token.as_bytes()).unwrap(),
            store.tokens[index].token_hash,
            "{name}"
        );
    }
}
