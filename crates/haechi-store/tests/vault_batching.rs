//! Tokens are stored in batches: one transaction per payload, and one per group of concurrent
//! payloads through the vault writer. Commits are counted by SQLite's commit hook on the vault's
//! connections (`SqliteTokenVault::commits`), on real database files.

mod common;

use std::path::Path;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::{ok, FakeCrypto};
use haechi_core::audit::MemoryAuditSink;
use haechi_core::config::default_config;
use haechi_core::protect::{Collaborators, ProtectContext, ProtectedPayload, Protector};
use haechi_core::seams::{PendingTokens, ProviderError, TokenRequest, Tokenizer};
use haechi_core::vocab::{Action, Direction, Mode};
use haechi_store::vault::{SqliteTokenVault, VaultSettings, VaultWriter, VaultWriterOptions};
use rusqlite::Connection;
use serde_json::{json, Value};

const VALUES: usize = 600;

fn email(index: usize) -> String {
    format!("person{index:04}@mail.com")
}

fn open_vault(path: &Path, settings: VaultSettings) -> Arc<SqliteTokenVault> {
    Arc::new(ok(SqliteTokenVault::open(
        path,
        Arc::new(FakeCrypto::default()),
        settings,
    )))
}

fn tokenizing_protector(tokenizer: Arc<dyn Tokenizer>, audit: Arc<MemoryAuditSink>) -> Protector {
    let mut config = default_config();
    config.mode = Mode::Enforce;
    config.policy.mode = Some(Mode::Enforce);
    config
        .policy
        .actions
        .insert("email".into(), Action::Tokenize);
    ok(Protector::new(
        &config,
        Collaborators {
            audit,
            crypto: Some(Arc::new(FakeCrypto::default())),
            tokenizer: Some(tokenizer),
        },
    ))
}

/// Many emails in one string, and one more in a second leaf.
fn many_emails_payload() -> String {
    let content: Vec<String> = (0..VALUES - 1).map(email).collect();
    json!({
        "messages": [{"role": "user", "content": content.join(" ")}],
        "user": email(VALUES - 1),
    })
    .to_string()
}

fn context() -> ProtectContext {
    ProtectContext::new("llm-http", "test", Direction::Request, Mode::Enforce)
}

/// Fails every insert once the table holds `limit` rows (an injected write failure).
fn fail_inserts_after(path: &Path, limit: usize) {
    let conn = ok(Connection::open(path));
    ok(conn.execute_batch(&format!(
        "CREATE TRIGGER injected_failure BEFORE INSERT ON tokens
         WHEN (SELECT count(*) FROM tokens) >= {limit}
         BEGIN SELECT RAISE(ABORT, 'injected write failure'); END;"
    )));
}

#[test]
fn one_payload_of_many_values_is_one_transaction_and_every_token_reveals() {
    let dir = ok(tempfile::tempdir());
    let vault = open_vault(&dir.path().join("v.sqlite3"), VaultSettings::default());
    let protector = tokenizing_protector(vault.clone(), Arc::new(MemoryAuditSink::new()));
    let before = vault.commits();

    let outcome = ok(protector.protect(&many_emails_payload(), &context()));

    assert_eq!(vault.commits() - before, 1, "one payload, one transaction");
    assert_eq!(outcome.issued_tokens.len(), VALUES);
    let ProtectedPayload::Rewritten(text) = &outcome.payload else {
        panic!("the payload was not rewritten");
    };
    assert!(!text.contains("@mail.com"));
    for (index, token) in outcome.issued_tokens.iter().enumerate() {
        assert!(text.contains(&format!("[TOKEN:{token}]")));
        assert_eq!(ok(vault.reveal(token)).plaintext, email(index));
    }
    assert_eq!(ok(vault.export_metadata(None)).len(), VALUES);
}

#[test]
fn a_failed_batch_write_fails_protect_and_stores_nothing() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("v.sqlite3");
    let vault = open_vault(&path, VaultSettings::default());
    fail_inserts_after(&path, VALUES / 2);
    let audit = Arc::new(MemoryAuditSink::new());
    let protector = tokenizing_protector(vault.clone(), audit.clone());

    let result = protector.protect(&many_emails_payload(), &context());

    let error = result.err().map(|e| e.code());
    assert_eq!(error, Some("haechi_vault_io"), "no output to forward");
    assert!(ok(vault.export_metadata(None)).is_empty(), "all or nothing");
    assert!(
        audit.lines().is_empty(),
        "an unprotected decision is not audited"
    );

    // The deferred form hands the records over uncommitted; their commit fails the same way.
    let policy = Arc::clone(&protector.policies().base().policy);
    let deferred = ok(protector.protect_deferred(&many_emails_payload(), &[], &context(), &policy));
    let Some(pending) = deferred.pending_tokens else {
        panic!("the records should wait to be stored");
    };
    assert!(haechi_core::seams::commit_blocking(pending).is_err());
    assert!(ok(vault.export_metadata(None)).is_empty());
}

fn requests<'a>(
    values: &'a [String],
    detection_type: &'a str,
    context: &'a Value,
) -> Vec<TokenRequest<'a>> {
    values
        .iter()
        .map(|plaintext| TokenRequest {
            plaintext,
            detection_type,
            context,
            path: "key_0123456789ab",
            rule_id: detection_type,
        })
        .collect()
}

/// Holds the database's write lock until dropped: the writer queues up meanwhile.
struct WriteLock(Connection);

impl WriteLock {
    fn take(path: &Path) -> WriteLock {
        let conn = ok(Connection::open(path));
        ok(conn.execute_batch("BEGIN IMMEDIATE"));
        WriteLock(conn)
    }

    fn release(self) {
        ok(self.0.execute_batch("ROLLBACK"));
    }
}

/// Issue one batch per value list, commit them all while the write lock is held, then release
/// it and collect each batch's tokens and outcome.
fn commit_while_locked(
    path: &Path,
    writer: &VaultWriter,
    batches: &[(Vec<String>, &str)],
) -> Vec<(Vec<String>, Result<(), ProviderError>)> {
    let context = json!({"protocol": "llm-http"});
    let lock = WriteLock::take(path);
    let (sender, receiver) = mpsc::channel();
    let mut tokens = Vec::new();
    for (index, (values, detection_type)) in batches.iter().enumerate() {
        let issued = ok(writer.issue(&requests(values, detection_type, &context)));
        tokens.push(issued.tokens);
        let Some(pending): Option<Box<dyn PendingTokens>> = issued.pending else {
            panic!("a writer's batch waits to be queued");
        };
        assert!(
            !pending.commits_inline(),
            "queueing never blocks the caller"
        );
        let sender = sender.clone();
        pending.commit(Box::new(move |result| {
            let _ = sender.send((index, result));
        }));
    }
    std::thread::sleep(Duration::from_millis(50));
    lock.release();
    let mut outcomes: Vec<Option<Result<(), ProviderError>>> = vec![None; batches.len()];
    for _ in 0..batches.len() {
        let (index, result) = ok(receiver.recv_timeout(Duration::from_secs(10)));
        outcomes[index] = Some(result);
    }
    tokens
        .into_iter()
        .zip(outcomes)
        .map(|(tokens, outcome)| (tokens, outcome.unwrap_or_else(|| panic!("no answer"))))
        .collect()
}

#[test]
fn concurrent_batches_share_one_transaction_and_every_token_reveals() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("v.sqlite3");
    let vault = open_vault(&path, VaultSettings::default());
    let writer = ok(VaultWriter::spawn(
        vault.clone(),
        VaultWriterOptions::default(),
    ));
    let batches: Vec<(Vec<String>, &str)> = (0..16)
        .map(|b| ((0..25).map(|i| email(b * 100 + i)).collect(), "email"))
        .collect();
    let before = vault.commits();

    let outcomes = commit_while_locked(&path, &writer, &batches);

    // The first batch may have been taken before the others arrived: at most two commits.
    let commits = vault.commits() - before;
    assert!(
        (1..=2).contains(&commits),
        "{commits} commits for 16 batches"
    );
    for ((values, _), (tokens, outcome)) in batches.iter().zip(&outcomes) {
        assert!(outcome.is_ok(), "{outcome:?}");
        for (value, token) in values.iter().zip(tokens) {
            assert_eq!(&ok(vault.reveal(token)).plaintext, value);
        }
    }
}

#[test]
fn one_failing_batch_in_a_group_leaves_the_others_stored() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("v.sqlite3");
    let vault = open_vault(&path, VaultSettings::default());
    let conn = ok(Connection::open(&path));
    ok(conn.execute_batch(
        "CREATE TRIGGER injected_failure BEFORE INSERT ON tokens WHEN NEW.type = 'phone'
         BEGIN SELECT RAISE(ABORT, 'injected write failure'); END;",
    ));
    let writer = ok(VaultWriter::spawn(
        vault.clone(),
        VaultWriterOptions::default(),
    ));
    let batches = vec![
        (vec![email(1), email(2)], "email"),
        (vec!["010-1234-5678".to_string()], "phone"),
        (vec![email(3)], "email"),
    ];

    let outcomes = commit_while_locked(&path, &writer, &batches);

    assert!(
        outcomes[0].1.is_ok() && outcomes[2].1.is_ok(),
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes[1].1.as_ref().err().map(|e| e.code),
        Some("haechi_vault_io")
    );
    assert_eq!(ok(vault.reveal(&outcomes[0].0[1])).plaintext, email(2));
    assert_eq!(ok(vault.reveal(&outcomes[2].0[0])).plaintext, email(3));
    assert!(
        vault.reveal(&outcomes[1].0[0]).is_err(),
        "the failed batch left nothing"
    );
    assert_eq!(ok(vault.export_metadata(None)).len(), 3);
}

#[test]
fn equal_deterministic_values_in_one_group_share_one_record() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("v.sqlite3");
    let settings = VaultSettings {
        deterministic: true,
        ..VaultSettings::default()
    };
    let vault = open_vault(&path, settings);
    let writer = ok(VaultWriter::spawn(
        vault.clone(),
        VaultWriterOptions::default(),
    ));
    let batches = vec![
        (vec![email(7), email(8)], "email"),
        (vec![email(7)], "email"),
    ];

    let outcomes = commit_while_locked(&path, &writer, &batches);

    assert!(
        outcomes.iter().all(|(_, outcome)| outcome.is_ok()),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[0].0[0], outcomes[1].0[0], "one token per value");
    assert_eq!(ok(vault.reveal(&outcomes[1].0[0])).plaintext, email(7));
    assert_eq!(ok(vault.export_metadata(None)).len(), 2);

    // Issued again once stored: reused, its expiry refreshed, still one record.
    let again = ok(writer.tokenize(&requests(&[email(7)], "email", &json!({}))));
    assert_eq!(again[0], outcomes[0].0[0]);
    assert_eq!(ok(vault.export_metadata(None)).len(), 2);
}

#[test]
fn a_stopped_writer_refuses_and_stores_nothing() {
    let dir = ok(tempfile::tempdir());
    let vault = open_vault(&dir.path().join("v.sqlite3"), VaultSettings::default());
    let writer = ok(VaultWriter::spawn(
        vault.clone(),
        VaultWriterOptions::default(),
    ));
    let context = json!({});
    let values = [email(1)];
    let issued = ok(writer.issue(&requests(&values, "email", &context)));
    writer.shutdown();

    let Some(pending) = issued.pending else {
        panic!("a writer's batch waits to be queued");
    };
    let outcome = haechi_core::seams::commit_blocking(pending);

    assert_eq!(
        outcome.err().map(|e| e.code),
        Some("haechi_vault_writer_stopped")
    );
    assert!(ok(vault.export_metadata(None)).is_empty());
}

/// Under `VaultSync::Interval` the checkpoint thread copies committed rows from the WAL into
/// the database file (syncing the WAL first) within the interval, without any caller waiting;
/// under `Never` a few rows stay in the WAL until the writer stops.
#[test]
fn interval_sync_checkpoints_within_the_period_off_the_callers_path() {
    use haechi_store::vault::VaultSync;
    let context = json!({});
    let values: Vec<String> = (0..200).map(email).collect();
    let mut sizes = Vec::new();
    for sync in [
        VaultSync::Never,
        VaultSync::Interval(Duration::from_millis(20)),
    ] {
        let dir = ok(tempfile::tempdir());
        let path = dir.path().join("v.sqlite3");
        let vault = open_vault(&path, VaultSettings::default());
        let options = VaultWriterOptions {
            sync,
            ..VaultWriterOptions::default()
        };
        let writer = ok(VaultWriter::spawn(vault.clone(), options));
        let before = ok(std::fs::metadata(&path)).len();
        ok(writer.tokenize(&requests(&values, "email", &context)));
        std::thread::sleep(Duration::from_millis(400));
        sizes.push((before, ok(std::fs::metadata(&path)).len()));
        writer.shutdown();
        drop(writer);
        // Every record is readable either way.
        assert_eq!(ok(vault.export_metadata(None)).len(), values.len());
    }
    let (never_before, never_after) = sizes[0];
    let (interval_before, interval_after) = sizes[1];
    assert_eq!(never_after, never_before, "no checkpoint yet under Never");
    assert!(
        interval_after > interval_before,
        "the interval checkpoint copied the rows into the database file"
    );
}
