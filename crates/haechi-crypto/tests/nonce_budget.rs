//! The per-key nonce budget with small injected limits: growing reservation chunks, giving
//! back the unused part, the warning at half, failing closed at the limit, crashes
//! over-counting, the read-only fallback, threads. (Separate processes: `nonce_processes.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use haechi_crypto::{
    init_local_key_file, read_nonce_budget, read_nonce_budget_with, CryptoError, LocalKeyProvider,
    NonceBudget, NonceReservation, MAX_ENCRYPTIONS_PER_KEY, NONCE_FIRST_WINDOW,
    NONCE_RESERVE_WINDOW, NONCE_WARN_THRESHOLD, WARN_NONCE_BUDGET, WARN_NONCE_BUDGET_NOPERSIST,
};
use serde_json::{json, Value};

fn aad() -> Value {
    json!({"tenant": "demo", "path": "messages[0].content", "type": "email"})
}

fn fresh() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".haechi").join("dev.keys.json");
    init_local_key_file(&path, true).unwrap();
    (dir, path)
}

fn doc(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn active_usage(path: &Path) -> Option<u64> {
    let doc = doc(path);
    let keys = doc["keys"].as_array().unwrap();
    let active = keys.iter().find(|k| k["status"] == "active").unwrap();
    active.get("usage").map(|u| u.as_u64().unwrap())
}

fn set_active_usage(path: &Path, usage: u64) {
    let mut doc = doc(path);
    doc["keys"][0]["usage"] = json!(usage);
    fs::write(
        path,
        format!("{}\n", serde_json::to_string_pretty(&doc).unwrap()),
    )
    .unwrap();
}

/// A budget whose chunks all have one size.
fn budget(limit: u64, window: u64) -> NonceBudget {
    NonceBudget {
        limit,
        first_window: window,
        max_window: window,
    }
}

fn encrypt(provider: &LocalKeyProvider) -> Result<(), CryptoError> {
    provider
        .encrypt_envelope("a@example.com", &aad(), None)
        .map(|_| ())
}

#[test]
fn production_budget_starts_with_a_small_chunk() {
    assert_eq!(MAX_ENCRYPTIONS_PER_KEY, 4_294_967_296);
    assert_eq!(NONCE_WARN_THRESHOLD, 2_147_483_648);
    assert_eq!(NONCE_RESERVE_WINDOW, 1_048_576);
    assert_eq!(NONCE_FIRST_WINDOW, 1_024);
    assert_eq!(
        NonceBudget::default(),
        NonceBudget {
            limit: MAX_ENCRYPTIONS_PER_KEY,
            first_window: NONCE_FIRST_WINDOW,
            max_window: NONCE_RESERVE_WINDOW,
        }
    );
    let (_dir, path) = fresh();
    let provider = LocalKeyProvider::open(&path).unwrap();
    assert_eq!(active_usage(&path), None, "opening reserves nothing");
    assert_eq!(provider.nonce_reservation(), None);
    encrypt(&provider).unwrap();
    assert_eq!(active_usage(&path), Some(NONCE_FIRST_WINDOW));
    let written = fs::read(&path).unwrap();
    encrypt(&provider).unwrap();
    assert_eq!(fs::read(&path).unwrap(), written, "no write inside a chunk");

    let status = read_nonce_budget(&path).unwrap();
    assert_eq!(status.used, NONCE_FIRST_WINDOW);
    assert_eq!(status.limit, MAX_ENCRYPTIONS_PER_KEY);
    assert_eq!(
        status.remaining,
        MAX_ENCRYPTIONS_PER_KEY - NONCE_FIRST_WINDOW
    );
    assert!(status.used_fraction > 0.0 && status.used_fraction < 1.0);
    assert!(!status.exhausted);

    // At exit the unused part goes back: the file counts the two real encryptions.
    drop(provider);
    assert_eq!(active_usage(&path), Some(2));
}

#[test]
fn chunks_double_up_to_the_cap() {
    let (_dir, path) = fresh();
    let growing = NonceBudget {
        limit: 1_000,
        first_window: 2,
        max_window: 16,
    };
    let provider = LocalKeyProvider::open_with_budget(&path, growing).unwrap();
    let mut starts = Vec::new();
    for _ in 0..80 {
        encrypt(&provider).unwrap();
        let r = provider.nonce_reservation().unwrap();
        if starts.last() != Some(&(r.start, r.end)) {
            starts.push((r.start, r.end));
            assert_eq!(active_usage(&path), Some(r.end), "reserved before use");
        }
    }
    assert_eq!(
        starts,
        vec![
            (0, 2),
            (2, 6),
            (6, 14),
            (14, 30),
            (30, 46),
            (46, 62),
            (62, 78),
            (78, 94)
        ]
    );
    assert_eq!(provider.release_unused_budget().unwrap(), 14);
    assert_eq!(active_usage(&path), Some(80));
}

#[test]
fn giving_back_keeps_the_provider_usable_and_never_repeats_an_invocation() {
    let (_dir, path) = fresh();
    let provider = LocalKeyProvider::open_with_budget(&path, budget(100, 10)).unwrap();
    assert_eq!(
        provider.release_unused_budget().unwrap(),
        0,
        "nothing reserved"
    );
    for _ in 0..3 {
        encrypt(&provider).unwrap();
    }
    assert_eq!(provider.release_unused_budget().unwrap(), 7);
    assert_eq!(active_usage(&path), Some(3));
    assert_eq!(
        provider.nonce_reservation(),
        Some(NonceReservation {
            start: 0,
            end: 3,
            used: 3
        })
    );
    assert_eq!(
        provider.release_unused_budget().unwrap(),
        0,
        "given back once"
    );
    encrypt(&provider).unwrap();
    assert_eq!(provider.nonce_reservation().unwrap().start, 3);
    assert_eq!(active_usage(&path), Some(13));
    drop(provider);
    assert_eq!(active_usage(&path), Some(4));
}

#[test]
fn the_tail_stays_charged_when_another_process_reserved_after_us() {
    let (_dir, path) = fresh();
    let first = LocalKeyProvider::open_with_budget(&path, budget(100, 10)).unwrap();
    let second = LocalKeyProvider::open_with_budget(&path, budget(100, 10)).unwrap();
    encrypt(&first).unwrap(); // 0..10
    encrypt(&second).unwrap(); // 10..20
    assert_eq!(active_usage(&path), Some(20));
    // `first` cannot lower the count under `second`'s live chunk.
    assert_eq!(first.release_unused_budget().unwrap(), 0);
    assert_eq!(active_usage(&path), Some(20));
    // `second` is the last reserver: its tail goes back.
    assert_eq!(second.release_unused_budget().unwrap(), 9);
    assert_eq!(active_usage(&path), Some(11));
    // `second` used one of its chunk, so the count stays above `first`'s end: the 9 unused
    // of `first` remain charged (over-counted, never reused).
    drop(first);
    assert_eq!(active_usage(&path), Some(11));
    drop(second);
    assert_eq!(active_usage(&path), Some(11));
}

#[test]
fn a_rolled_back_or_rotated_file_is_never_lowered() {
    let (_dir, path) = fresh();
    let provider = LocalKeyProvider::open_with_budget(&path, budget(100, 10)).unwrap();
    encrypt(&provider).unwrap();
    set_active_usage(&path, 5); // restored from an old backup
    assert_eq!(provider.release_unused_budget().unwrap(), 0);
    assert_eq!(active_usage(&path), Some(5));
    set_active_usage(&path, 10);
    init_local_key_file(&path, true).unwrap(); // our key is retired, its count kept
    assert_eq!(provider.release_unused_budget().unwrap(), 9);
    let doc = doc(&path);
    let retired = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == provider.active_kid())
        .unwrap();
    assert_eq!(retired["usage"], 1);
}

#[test]
fn windows_are_reserved_before_use_and_other_fields_survive() {
    let (_dir, path) = fresh();
    let mut d = doc(&path);
    d["keys"][0]["custom"] = json!({"keep": [1, 2.5, "ｘ"]});
    d["extra"] = json!(true);
    fs::write(
        &path,
        format!("{}\n", serde_json::to_string_pretty(&d).unwrap()),
    )
    .unwrap();

    let provider = LocalKeyProvider::open_with_budget(&path, budget(100, 4)).unwrap();
    let mut done = 0;
    for (n, expected) in [(1, 4), (4, 4), (5, 8), (8, 8), (9, 12)] {
        while done < n {
            encrypt(&provider).unwrap();
            done += 1;
        }
        assert_eq!(active_usage(&path), Some(expected), "after {n} encryptions");
    }
    let after = doc(&path);
    assert_eq!(after["keys"][0]["custom"], json!({"keep": [1, 2.5, "ｘ"]}));
    assert_eq!(after["extra"], json!(true));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn warns_once_at_half_and_fails_closed_at_the_limit() {
    let (_dir, path) = fresh();
    let provider = LocalKeyProvider::open_with_budget(&path, budget(8, 3)).unwrap();
    for i in 0..4 {
        encrypt(&provider).unwrap();
        assert!(provider.take_warnings().is_empty(), "no warning at {i}");
    }
    encrypt(&provider).unwrap(); // index 4 = half of 8
    let warnings = provider.take_warnings();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].code, WARN_NONCE_BUDGET);
    assert!(warnings[0].message.contains(provider.active_kid()));
    assert!(warnings[0].message.contains("haechi init --force"));
    for _ in 5..8 {
        encrypt(&provider).unwrap();
    }
    assert!(provider.take_warnings().is_empty(), "warned once only");
    assert_eq!(active_usage(&path), Some(8), "usage never passes the limit");

    for _ in 0..2 {
        let err = encrypt(&provider).unwrap_err();
        assert_eq!(err.code(), "haechi_crypto_nonce_budget_exhausted");
        let text = err.to_string();
        assert!(text.contains("safe encryption limit") && text.contains("haechi init --force"));
    }
    let status = read_nonce_budget_with(&path, budget(8, 3)).unwrap();
    assert!(status.exhausted);
    assert_eq!(status.remaining, 0);
    assert_eq!(status.used_fraction, 1.0);

    // A restarted process sees the exhausted budget too.
    let err = encrypt(&LocalKeyProvider::open_with_budget(&path, budget(8, 3)).unwrap());
    assert!(matches!(err, Err(CryptoError::NonceBudgetExhausted { .. })));
}

#[test]
fn a_warning_hook_receives_warnings_instead_of_the_queue() {
    let (_dir, path) = fresh();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let provider = LocalKeyProvider::open_with_budget(&path, budget(4, 2))
        .unwrap()
        .with_warning_hook(move |w| sink.lock().unwrap().push(w.code));
    for _ in 0..3 {
        encrypt(&provider).unwrap();
    }
    assert_eq!(*seen.lock().unwrap(), vec![WARN_NONCE_BUDGET]);
    assert!(provider.take_warnings().is_empty());
}

#[test]
fn the_last_invocation_works_then_the_next_fails() {
    let (_dir, path) = fresh();
    set_active_usage(&path, MAX_ENCRYPTIONS_PER_KEY - 1);
    let provider = LocalKeyProvider::open(&path).unwrap();
    let envelope = provider
        .encrypt_envelope("last@example.com", &aad(), None)
        .unwrap();
    assert_eq!(
        provider.decrypt_envelope(&envelope, &aad()).unwrap(),
        "last@example.com"
    );
    assert_eq!(active_usage(&path), Some(MAX_ENCRYPTIONS_PER_KEY));
    assert!(matches!(
        encrypt(&provider),
        Err(CryptoError::NonceBudgetExhausted { .. })
    ));
    let at_limit = read_nonce_budget(&path).unwrap();
    assert!(at_limit.exhausted);
}

#[test]
fn a_crash_over_counts_never_under_counts() {
    let (_dir, path) = fresh();
    let first = LocalKeyProvider::open_with_budget(&path, budget(20, 5)).unwrap();
    encrypt(&first).unwrap();
    encrypt(&first).unwrap();
    // 2 used, 5 reserved; a crash (kill -9) runs no destructor and gives nothing back.
    std::mem::forget(first);
    let second = LocalKeyProvider::open_with_budget(&path, budget(20, 5)).unwrap();
    encrypt(&second).unwrap();
    assert_eq!(
        active_usage(&path),
        Some(10),
        "the new process starts after the old window"
    );
    let status = read_nonce_budget_with(&path, budget(20, 5)).unwrap();
    assert!(status.used >= 3);

    // Even if the file is rolled back behind this process, it never hands out an index twice.
    set_active_usage(&path, 0);
    for _ in 0..5 {
        encrypt(&second).unwrap(); // 4 left in the window, then a new one
    }
    assert_eq!(active_usage(&path), Some(15));
    // At exit it gives back its tail down to where it really stopped: 16 used 1 of 15..20.
    drop(second);
    assert_eq!(active_usage(&path), Some(11));
}

#[test]
fn rotation_resets_the_budget() {
    let (_dir, path) = fresh();
    set_active_usage(&path, MAX_ENCRYPTIONS_PER_KEY);
    let exhausted = LocalKeyProvider::open(&path).unwrap();
    assert!(encrypt(&exhausted).is_err());
    init_local_key_file(&path, true).unwrap();
    assert_eq!(active_usage(&path), None);
    let rotated = LocalKeyProvider::open(&path).unwrap();
    encrypt(&rotated).unwrap();
    assert_eq!(read_nonce_budget(&path).unwrap().kid, rotated.active_kid());
}

#[cfg(unix)]
#[test]
fn a_read_only_key_file_falls_back_to_a_per_process_limit() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, path) = fresh();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
    let before = fs::read(&path).unwrap();

    let provider = LocalKeyProvider::open_with_budget(&path, budget(6, 2)).unwrap();
    let envelope = provider
        .encrypt_envelope("ro@example.com", &aad(), None)
        .unwrap();
    assert_eq!(
        provider.decrypt_envelope(&envelope, &aad()).unwrap(),
        "ro@example.com"
    );
    assert_eq!(
        fs::read(&path).unwrap(),
        before,
        "a read-only key file is never rewritten"
    );
    let warnings = provider.take_warnings();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].code, WARN_NONCE_BUDGET_NOPERSIST);
    assert!(warnings[0].message.contains("PER-PROCESS"));

    // The limit still holds in memory (and the half-way warning still fires).
    for _ in 1..6 {
        encrypt(&provider).unwrap();
    }
    assert_eq!(provider.take_warnings()[0].code, WARN_NONCE_BUDGET);
    assert!(matches!(
        encrypt(&provider),
        Err(CryptoError::NonceBudgetExhausted { .. })
    ));
    assert_eq!(fs::read(&path).unwrap(), before);
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o400, "the operator's mode is left alone");
    let names: Vec<_> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.iter().all(|n| !n.ends_with(".tmp")),
        "nothing written beside a read-only key file: {names:?}"
    );
}

#[test]
fn concurrent_encryptions_reserve_each_window_once() {
    let (_dir, path) = fresh();
    let provider = Arc::new(LocalKeyProvider::open_with_budget(&path, budget(1000, 7)).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let provider = Arc::clone(&provider);
            std::thread::spawn(move || {
                let mut ivs = Vec::new();
                for _ in 0..50 {
                    ivs.push(
                        provider
                            .encrypt_envelope("t@example.com", &aad(), None)
                            .unwrap()
                            .iv,
                    );
                }
                ivs
            })
        })
        .collect();
    let mut ivs: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(ivs.len(), 400);
    ivs.sort();
    ivs.dedup();
    assert_eq!(ivs.len(), 400, "no IV repeats");
    // 400 encryptions need ceil(400 / 7) = 58 windows: exactly 406 reserved, none twice.
    assert_eq!(active_usage(&path), Some(406));
}

#[test]
fn two_providers_on_one_file_never_reserve_the_same_window() {
    // Two providers stand in for two processes: each has its own count, and only the key
    // file (under its lock) coordinates them.
    let (_dir, path) = fresh();
    let providers: Vec<_> = (0..2)
        .map(|_| Arc::new(LocalKeyProvider::open_with_budget(&path, budget(10_000, 3)).unwrap()))
        .collect();
    let threads: Vec<_> = providers
        .iter()
        .map(|provider| {
            let provider = Arc::clone(provider);
            std::thread::spawn(move || {
                for _ in 0..30 {
                    encrypt(&provider).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // 2 × 10 windows of 3, none lost to a concurrent read-modify-write.
    assert_eq!(active_usage(&path), Some(60));
}

#[test]
fn bad_budgets_and_bad_usage_are_refused() {
    let (_dir, path) = fresh();
    assert_eq!(
        LocalKeyProvider::open_with_budget(&path, budget(0, 1))
            .unwrap_err()
            .code(),
        "haechi_crypto_invalid_nonce_budget"
    );
    assert_eq!(
        LocalKeyProvider::open_with_budget(&path, budget(10, 0))
            .unwrap_err()
            .code(),
        "haechi_crypto_invalid_nonce_budget"
    );
    let shrinking = NonceBudget {
        limit: 10,
        first_window: 4,
        max_window: 2,
    };
    assert_eq!(
        LocalKeyProvider::open_with_budget(&path, shrinking)
            .unwrap_err()
            .code(),
        "haechi_crypto_invalid_nonce_budget"
    );
    let mut d = doc(&path);
    d["keys"][0]["usage"] = json!("lots");
    fs::write(&path, serde_json::to_string(&d).unwrap()).unwrap();
    let provider = LocalKeyProvider::open(&path).unwrap();
    assert_eq!(
        encrypt(&provider).unwrap_err().code(),
        "haechi_crypto_key_file_malformed",
        "an unreadable count fails closed"
    );
    assert!(read_nonce_budget(&path).is_err());
}

#[test]
fn fresh_status_reports_an_unused_budget() {
    let (_dir, path) = fresh();
    let status = read_nonce_budget(&path).unwrap();
    assert_eq!(status.used, 0);
    assert_eq!(status.remaining, MAX_ENCRYPTIONS_PER_KEY);
    assert_eq!(status.used_fraction, 0.0);
    assert_eq!(status.warn_threshold, NONCE_WARN_THRESHOLD);
    assert!(!status.exhausted);
    let printed = serde_json::to_value(&status).unwrap();
    for field in [
        "kid",
        "used",
        "limit",
        "remaining",
        "usedFraction",
        "warnThreshold",
        "exhausted",
    ] {
        assert!(printed.get(field).is_some(), "{field}");
    }
}
