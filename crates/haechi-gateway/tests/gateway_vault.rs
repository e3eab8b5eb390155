//! Tokenized requests and the vault behind the gateway (a group-commit writer, as `haechi proxy`
//! builds it): concurrent requests share commits and every token they forwarded reveals; a vault
//! write that fails forwards nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn tokenize_emails(c: &mut Value) {
    enforce(c);
    set(c, "policy.actions", json!({"email": "tokenize"}));
}

/// Every `tok_...` id in `[TOKEN:...]` markers of `text`.
fn token_ids(text: &str) -> Vec<String> {
    text.split("[TOKEN:")
        .skip(1)
        .filter_map(|rest| rest.split(']').next())
        .map(str::to_string)
        .collect()
}

fn vault_db(gw: &TestGateway) -> std::path::PathBuf {
    gw.dir.path().join("token-vault.sqlite3")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tokenizing_requests_share_commits_and_every_token_reveals() {
    const REQUESTS: usize = 16;
    let stub = Stub::echo().await;
    let gw = Arc::new(start_gateway(stub.url(), tokenize_emails).await);
    // Hold the database's write lock so every request's batch queues behind one transaction.
    let lock = rusqlite::Connection::open(vault_db(&gw)).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let before = gw.vault.commits();
    let sent: HashSet<String> = (0..REQUESTS).map(|i| format!("user{i}@mail.com")).collect();

    let requests: Vec<_> = sent
        .iter()
        .map(|email| {
            let gw = Arc::clone(&gw);
            let body = chat(&format!("reach me at {email}"));
            tokio::spawn(async move { gw.post_json("/v1/chat/completions", &body).await })
        })
        .collect();
    // A request queues its batch as it hands over its audit event.
    wait_for("every request's protect event", || {
        let events = gw.audit_events();
        let protected = events.iter().filter(|e| {
            e["operation"]
                .as_str()
                .is_some_and(|op| op.starts_with("request:"))
        });
        protected.count() == REQUESTS
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        stub.count(),
        0,
        "nothing is forwarded before its tokens are stored"
    );
    lock.execute_batch("ROLLBACK").unwrap();

    for request in requests {
        let reply = within(PROMPTLY, "a tokenized request", request)
            .await
            .unwrap();
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    let commits = gw.vault.commits() - before;
    assert!(
        (1..=2).contains(&commits),
        "{commits} commits for {REQUESTS} requests"
    );
    let mut revealed = HashSet::new();
    for forwarded in stub.requests() {
        let text = forwarded.text();
        assert!(!text.contains("@mail.com"), "a plaintext was forwarded");
        for token in token_ids(&text) {
            revealed.insert(gw.vault.reveal(&token).unwrap().plaintext);
        }
    }
    assert_eq!(revealed, sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_vault_write_refuses_the_request_and_forwards_nothing() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), tokenize_emails).await;
    let conn = rusqlite::Connection::open(vault_db(&gw)).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER injected_failure BEFORE INSERT ON tokens
         BEGIN SELECT RAISE(ABORT, 'injected write failure'); END;",
    )
    .unwrap();

    let reply = gw
        .post_json(
            "/v1/chat/completions",
            &chat(&format!("mail {EMAIL} or {PHONE}")),
        )
        .await;

    assert_eq!(reply.status, 500, "{}", reply.text());
    assert_eq!(reply.error(), "haechi_proxy_error");
    assert!(!reply.text().contains(EMAIL));
    assert_eq!(stub.count(), 0, "nothing was forwarded");
    assert!(gw.vault.export_metadata(None).unwrap().is_empty());
    assert!(gw.metrics_text().contains("haechi_internal_error_total 1"));
}
