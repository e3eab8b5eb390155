//! Importing the reference's JSON vault: once per version of the file, never duplicating,
//! overwriting a newer record or bringing back a purged token.

mod common;

use std::fs;
use std::path::Path;
use std::sync::Arc;

use common::{ok, FakeCrypto};
use haechi_core::seams::Crypto;
use haechi_store::vault::{vault_db_path, SqliteTokenVault, VaultError, VaultSettings};
use serde_json::{json, Map, Value};

const LIVE: &str = "2999-01-01T00:00:00.000Z";
const LATER: &str = "3000-01-01T00:00:00.000Z";
const PAST: &str = "2001-01-01T00:00:00.000Z";

/// A record as the reference's vault writes it, sealed with the test crypto.
fn reference_record(token: &str, plaintext: &str, expires_at: &str) -> Value {
    let aad = json!({"purpose": "token-vault", "token": token, "type": "email",
                     "context": {"protocol": "llm-http"}});
    let envelope = ok(FakeCrypto::default().encrypt(plaintext, &aad, Some(expires_at)));
    json!({
        "type": "email",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "expiresAt": expires_at,
        "metadata": {"path": "key_0123456789ab", "ruleId": "email"},
        "envelope": envelope,
        "aad": aad,
    })
}

fn write_vault(path: &Path, records: &[(&str, Value)]) {
    let tokens: Map<String, Value> = records
        .iter()
        .map(|(token, record)| ((*token).to_owned(), record.clone()))
        .collect();
    let vault = json!({"version": 1, "createdAt": "2026-01-01T00:00:00.000Z", "tokens": tokens});
    ok(fs::write(
        path,
        ok(serde_json::to_string_pretty(&vault)) + "\n",
    ));
}

fn open_configured(
    json_path: &Path,
) -> (SqliteTokenVault, Option<haechi_store::vault::ImportReport>) {
    ok(SqliteTokenVault::open_configured(
        json_path,
        Arc::new(FakeCrypto::default()),
        VaultSettings::default(),
    ))
}

fn listed(vault: &SqliteTokenVault) -> Vec<String> {
    ok(vault.export_metadata(None))
        .into_iter()
        .map(|m| m.token)
        .collect()
}

const A: &str = "tok_email_aaaaaaaaaaaaaaaa";
const B: &str = "tok_email_bbbbbbbbbbbbbbbb";
const C: &str = "tok_email_cccccccccccccccc";
const D: &str = "tok_email_dddddddddddddddd";

#[test]
fn a_changed_file_merges_without_duplicates_overwrites_or_resurrection() {
    let dir = ok(tempfile::tempdir());
    let json_path = dir.path().join("token-vault.json");
    write_vault(
        &json_path,
        &[
            (A, reference_record(A, "a@example.com", LIVE)),
            (B, reference_record(B, "b@example.com", LIVE)),
            (C, reference_record(C, "c@example.com", PAST)),
        ],
    );

    let (vault, report) = open_configured(&json_path);
    assert_eq!(vault.path(), vault_db_path(&json_path));
    let report = report.unwrap_or_default();
    assert_eq!((report.imported, report.unchanged), (3, false));
    assert_eq!(ok(vault.reveal(A)).plaintext, "a@example.com");
    assert!(
        matches!(vault.reveal(C), Err(VaultError::Expired)),
        "an imported expired token is refused as expired, not unknown"
    );

    // Opening again with the file unchanged imports nothing.
    let (vault, report) = open_configured(&json_path);
    assert!(report.is_some_and(|r| r.unchanged && r.imported == 0));
    assert_eq!(listed(&vault), [A, B, C]);

    // Purge B here (the write also prunes expired C), then the reference rewrites the file:
    // A's expiry pushed later, D added, B and C still in it.
    assert!(ok(vault.purge(B)));
    write_vault(
        &json_path,
        &[
            (A, reference_record(A, "a@example.com", LATER)),
            (B, reference_record(B, "b@example.com", LIVE)),
            (C, reference_record(C, "c@example.com", PAST)),
            (D, reference_record(D, "d@example.com", LIVE)),
        ],
    );
    let report = ok(vault.import_json_vault(&json_path));
    assert_eq!(
        (
            report.imported,
            report.existing,
            report.refreshed,
            report.previously_removed,
            report.invalid
        ),
        (1, 1, 1, 2, 0)
    );
    assert_eq!(listed(&vault), [A, D], "B stays purged, C stays pruned");
    let a = ok(vault.record(A));
    assert_eq!(a.and_then(|r| r.expires_at).as_deref(), Some(LATER));

    // A file carrying an older, different record for A never replaces ours.
    write_vault(
        &json_path,
        &[(A, reference_record(A, "someone-else@example.com", LIVE))],
    );
    let report = ok(vault.import_json_vault(&json_path));
    assert_eq!((report.existing, report.refreshed), (1, 0));
    assert_eq!(ok(vault.reveal(A)).plaintext, "a@example.com");
    let a = ok(vault.record(A));
    assert_eq!(a.and_then(|r| r.expires_at).as_deref(), Some(LATER));
    assert_eq!(listed(&vault), [A, D]);
}

#[test]
fn no_json_file_means_no_import() {
    let dir = ok(tempfile::tempdir());
    let missing = dir.path().join(".haechi/token-vault.json");
    let (vault, report) = open_configured(&missing);
    assert!(report.is_none());
    assert!(!missing.exists(), "the JSON vault is never written");
    assert_eq!(vault.path(), dir.path().join(".haechi/token-vault.sqlite3"));

    // A tokenVault.path that is not .json names the database itself.
    let db = dir.path().join("vault.db");
    let (vault, report) = open_configured(&db);
    assert!(report.is_none());
    assert_eq!(vault.path(), db);
}

#[test]
fn a_damaged_json_vault_fails_without_echoing_its_content() {
    let dir = ok(tempfile::tempdir());
    let json_path = dir.path().join("token-vault.json");
    ok(fs::write(&json_path, "{\"tokens\": sk-live-SECRET-VALUE"));
    let result = SqliteTokenVault::open_configured(
        &json_path,
        Arc::new(FakeCrypto::default()),
        VaultSettings::default(),
    );
    let error = result.err();
    assert!(matches!(error, Some(VaultError::Import { .. })));
    let message = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("token-vault.json") && message.contains("not valid JSON"));
    assert!(!message.contains("SECRET"));
}

#[test]
fn openers_racing_import_the_file_once() {
    let dir = ok(tempfile::tempdir());
    let json_path = dir.path().join("token-vault.json");
    let records: Vec<(String, Value)> = (0..50)
        .map(|i| {
            let token = format!("tok_email_{i:016x}");
            let record = reference_record(&token, &format!("u{i}@example.com"), LIVE);
            (token, record)
        })
        .collect();
    let borrowed: Vec<(&str, Value)> = records
        .iter()
        .map(|(t, r)| (t.as_str(), r.clone()))
        .collect();
    write_vault(&json_path, &borrowed);

    let reports: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| open_configured(&json_path).1.unwrap_or_default()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    assert_eq!(reports.iter().map(|r| r.imported).sum::<u64>(), 50);
    assert_eq!(reports.iter().filter(|r| r.unchanged).count(), 3);
    let (vault, _) = open_configured(&json_path);
    assert_eq!(listed(&vault).len(), 50);
}

#[test]
fn a_version_1_database_gains_the_import_tables() {
    let dir = ok(tempfile::tempdir());
    let json_path = dir.path().join("token-vault.json");
    let db_path = vault_db_path(&json_path);
    drop(open_configured(&json_path));
    {
        let conn = ok(rusqlite::Connection::open(&db_path));
        ok(conn.execute_batch(
            "DROP TABLE vault_imports; DROP TABLE imported_tokens; PRAGMA user_version = 1;",
        ));
    }
    write_vault(
        &json_path,
        &[(A, reference_record(A, "a@example.com", LIVE))],
    );
    let (vault, report) = open_configured(&json_path);
    assert_eq!(report.map(|r| r.imported), Some(1));
    assert_eq!(ok(vault.reveal(A)).plaintext, "a@example.com");
}
