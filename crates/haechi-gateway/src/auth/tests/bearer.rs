use std::fs;
use std::sync::Arc;

use haechi_crypto::{init_local_key_file, LocalKeyProvider};

use super::*;
use crate::auth::{default_allowed_label_keys, NewToken, TokenStore};

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    keys: Arc<LocalKeyProvider>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("keys.json");
    init_local_key_file(&key_path, false).unwrap();
    Fixture {
        path: dir.path().join("auth.json"),
        keys: Arc::new(LocalKeyProvider::open(&key_path).unwrap()),
        _dir: dir,
    }
}

fn issue(f: &Fixture) -> (String, String) {
    let allowed = default_allowed_label_keys();
    let issued = TokenStore::new(&f.path)
        .add(
            f.keys.as_ref(),
            &NewToken {
                kind: "user",
                scopes: vec![],
                labels: Default::default(),
                allowed_label_keys: &allowed,
            },
        )
        .unwrap();
    (issued.token, issued.record.id)
}

#[test]
fn constant_time_eq_compares_whole_strings() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"xbc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abcd"));
    assert!(constant_time_eq(b"", b""));
}

#[test]
fn the_store_is_read_once_until_it_changes() {
    let f = fixture();
    let (token, _) = issue(&f);
    let auth = BearerAuth::new(&f.path, f.keys.clone());
    for _ in 0..50 {
        assert!(auth.authenticate_token(&token).unwrap().is_some());
        assert!(auth.authenticate_token("hae_wrong").unwrap().is_none());
    }
    assert_eq!(auth.store_loads(), 1);

    let (second, _) = issue(&f);
    assert!(auth.authenticate_token(&second).unwrap().is_some());
    assert!(auth.authenticate_token(&token).unwrap().is_some());
    assert_eq!(auth.store_loads(), 2);
}

#[test]
fn a_missing_store_denies_without_reading() {
    let f = fixture();
    let auth = BearerAuth::new(&f.path, f.keys.clone());
    assert!(auth.authenticate_token("hae_x").unwrap().is_none());
    assert!(auth.authenticate_token("hae_y").unwrap().is_none());
    assert_eq!(auth.store_loads(), 0);
    // Created later: picked up on the next request.
    let (token, _) = issue(&f);
    assert!(auth.authenticate_token(&token).unwrap().is_some());
}

#[test]
fn a_corrupt_store_fails_closed_and_is_not_reread_per_request() {
    let f = fixture();
    let (token, _) = issue(&f);
    let auth = BearerAuth::new(&f.path, f.keys.clone());
    assert!(auth.authenticate_token(&token).unwrap().is_some());

    let good = fs::read_to_string(&f.path).unwrap();
    fs::write(&f.path, &good[..good.len() / 2]).unwrap();
    for _ in 0..5 {
        let error = auth.authenticate_token(&token).unwrap_err();
        assert!(matches!(error, AuthError::StoreCorrupt { .. }), "{error:?}");
        assert!(!error.to_string().contains(&token));
    }
    assert_eq!(auth.store_loads(), 2);

    fs::write(&f.path, &good).unwrap();
    assert!(auth.authenticate_token(&token).unwrap().is_some());
}

#[test]
fn disabled_records_never_match() {
    let f = fixture();
    let (token, id) = issue(&f);
    let auth = BearerAuth::new(&f.path, f.keys.clone());
    assert!(auth.authenticate_token(&token).unwrap().is_some());
    TokenStore::new(&f.path).revoke(&id).unwrap();
    assert!(auth.authenticate_token(&token).unwrap().is_none());
}
