//! The one key file check ([`check_key_file`]) that the provider, the bundle keys and
//! `haechi status` share: modes, symlinks, stale temporary copies.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt as _};
use std::path::{Path, PathBuf};

use haechi_crypto::{
    check_key_file, init_local_key_file, read_nonce_budget, CryptoError, LocalKeyProvider,
    PolicyBundleKeys, WARN_STALE_KEY_COPIES,
};
use serde_json::json;

fn fresh(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("dev.keys.json");
    init_local_key_file(&path, false).unwrap();
    path
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn encrypt(provider: &LocalKeyProvider) {
    provider
        .encrypt_envelope("a@example.com", &json!({"path": "a"}), None)
        .unwrap();
}

#[test]
fn a_key_file_others_can_access_is_refused_by_every_opener() {
    let dir = tempfile::tempdir().unwrap();
    let path = fresh(&dir);
    for mode in [0o644, 0o640, 0o604, 0o620, 0o660, 0o601] {
        chmod(&path, mode);
        let errors = [
            LocalKeyProvider::open(&path).unwrap_err(),
            check_key_file(&path).unwrap_err(),
            match PolicyBundleKeys::open(&path).unwrap_err() {
                haechi_crypto::BundleError::Key(error) => error,
                other => panic!("{other:?}"),
            },
        ];
        for error in errors {
            assert!(
                matches!(error, CryptoError::KeyFileTooOpen { mode: m, .. } if m == mode),
                "{error:?}"
            );
            assert_eq!(error.code(), "haechi_crypto_key_file_too_open");
            let text = error.to_string();
            assert!(text.contains(&format!("0{mode:o}")), "{text}");
            assert!(
                text.contains(&format!("chmod 600 {}", path.display())),
                "{text}"
            );
        }
    }
    for mode in [0o600, 0o400] {
        chmod(&path, mode);
        LocalKeyProvider::open(&path).unwrap();
        assert!(check_key_file(&path).unwrap().warnings.is_empty());
    }
}

#[test]
fn a_symlinked_key_file_keeps_one_counter_at_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = fresh(&dir);
    let link = dir.path().join("link.keys.json");
    symlink(&target, &link).unwrap();

    let through_link = LocalKeyProvider::open(&link).unwrap();
    encrypt(&through_link);
    let direct = LocalKeyProvider::open(&target).unwrap();
    encrypt(&direct); // reserves after the link's chunk: one counter for both names
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let link_chunk = through_link.nonce_reservation().unwrap();
    let direct_chunk = direct.nonce_reservation().unwrap();
    assert_eq!(direct_chunk.start, link_chunk.end);
    drop(direct);
    drop(through_link);
    assert_eq!(read_nonce_budget(&target).unwrap().used, 1 + link_chunk.end);

    let check = check_key_file(&link).unwrap();
    assert_eq!(check.link_target, Some(fs::canonicalize(&target).unwrap()));
    assert_eq!(
        check.nonce_budget.used,
        read_nonce_budget(&link).unwrap().used
    );
    assert_eq!(check.key_count, 1);
}

fn temp_copy(dir: &Path, name: &str, from: &Path) -> PathBuf {
    let path = dir.join(name);
    fs::copy(from, &path).unwrap();
    chmod(&path, 0o600);
    path
}

fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn stale_copies_are_removed_on_open_but_kept_beside_a_damaged_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = fresh(&dir);
    let name = format!(".dev.keys.json.{}-0badc0de.tmp", dead_pid());

    let stale = temp_copy(dir.path(), &name, &path);
    let good = fs::read(&path).unwrap();
    fs::write(&path, b"{ truncated").unwrap();
    assert!(matches!(
        LocalKeyProvider::open(&path),
        Err(CryptoError::KeyFileMalformed { .. })
    ));
    assert!(
        stale.exists(),
        "beside a damaged file it may be the only good copy"
    );

    fs::write(&path, good).unwrap();
    let provider = LocalKeyProvider::open(&path).unwrap();
    assert!(!stale.exists());
    let warnings = provider.take_warnings();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].code, WARN_STALE_KEY_COPIES);
    assert!(warnings[0]
        .message
        .contains("removed 1 stale temporary copy"));
    assert!(!warnings[0].message.contains("\"k\""));

    temp_copy(dir.path(), &name, &path);
    let check = check_key_file(&path).unwrap();
    assert_eq!(check.stale_copies_removed, 1);
    assert_eq!(check.warnings[0].code, WARN_STALE_KEY_COPIES);
}
