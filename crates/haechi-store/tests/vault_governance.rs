//! Reveal and purge governance: the reveal policy, and one audit event per decision that never
//! carries a value.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{ok, FakeCrypto};
use haechi_core::audit::MemoryAuditSink;
use haechi_core::config::model::RevealPolicy;
use haechi_core::seams::{AuditSink, Crypto, ProviderError, TokenRequest};
use haechi_store::vault::{
    token_id_from_marker, SqliteTokenVault, TokenGovernance, VaultError, VaultSettings,
    AUDIT_ID_DOMAIN,
};
use serde_json::{json, Map, Value};

const SECRET: &str = "minji.kim@example.com";

struct Fixture {
    _dir: tempfile::TempDir,
    vault: Arc<SqliteTokenVault>,
    audit: Arc<MemoryAuditSink>,
}

impl Fixture {
    fn new() -> Self {
        Self::with_retention(30.0)
    }

    fn with_retention(retention_days: f64) -> Self {
        let dir = ok(tempfile::tempdir());
        let vault = open(&dir.path().join("v.sqlite3"), retention_days);
        Fixture {
            _dir: dir,
            vault: Arc::new(vault),
            audit: Arc::new(MemoryAuditSink::new()),
        }
    }

    fn governance(&self, policy: RevealPolicy) -> TokenGovernance {
        TokenGovernance::new(self.vault.clone(), policy, self.audit.clone())
    }

    fn tokenize(&self, plaintext: &str) -> String {
        tokenize(&self.vault, plaintext, &json!({"protocol": "llm-http"}))
    }

    fn events(&self) -> Vec<Map<String, Value>> {
        self.audit.records()
    }

    fn log(&self) -> String {
        self.audit.lines().join("\n")
    }
}

fn open(path: &Path, retention_days: f64) -> SqliteTokenVault {
    ok(SqliteTokenVault::open(
        path,
        Arc::new(FakeCrypto::default()),
        VaultSettings {
            retention_days,
            ..VaultSettings::default()
        },
    ))
}

fn tokenize(vault: &SqliteTokenVault, plaintext: &str, context: &Value) -> String {
    let request = TokenRequest {
        plaintext,
        detection_type: "email",
        context,
        path: "key_0123456789ab",
        rule_id: "email",
    };
    ok(vault.tokenize_batch(&[request])).remove(0).token
}

#[test]
fn disabled_policy_refuses_and_audits_the_refusal() {
    let fx = Fixture::new();
    let token = fx.tokenize(SECRET);
    let governance = fx.governance(RevealPolicy::Disabled);
    let refused = governance.reveal(&token);
    let error = refused.err();
    assert!(matches!(error, Some(VaultError::RevealDisabled)));
    assert_eq!(
        error.map(|e| e.to_string()).as_deref(),
        Some("Token reveal is disabled by tokenVault.revealPolicy")
    );

    let events = fx.events();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    // The reference's vault event, field for field (the chain adds auditIntegrity).
    let keys: Vec<&str> = event.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "timestamp",
            "protocol",
            "operation",
            "identity",
            "mode",
            "enforced",
            "blocked",
            "decision",
            "reason",
            "token",
            "tokenType",
            "count",
            "revealPolicy",
            "summary",
            "auditIntegrity"
        ]
    );
    assert_eq!(event["protocol"], "token-vault");
    assert_eq!(event["operation"], "token-vault:reveal");
    assert_eq!(event["identity"], Value::Null);
    assert_eq!(event["mode"], "n/a");
    assert_eq!(event["enforced"], true);
    assert_eq!(event["blocked"], true, "a denial is a block");
    assert_eq!(event["decision"], "reveal_denied");
    assert_eq!(event["reason"], "reveal_policy_disabled");
    assert_eq!(event["token"], token.as_str());
    assert_eq!(event["tokenType"], Value::Null);
    assert_eq!(event["count"], Value::Null);
    assert_eq!(event["revealPolicy"], "disabled");
    assert_eq!(
        event["summary"],
        json!({"detectionCount": 0, "byType": {}, "byAction": {"reveal_denied": 1}})
    );
    assert_eq!(event["timestamp"].as_str().map(str::len), Some(24));
    assert!(!fx.log().contains(SECRET));
}

#[test]
fn local_dev_reveals_and_audits_the_token_and_type_only() {
    let fx = Fixture::new();
    let token = fx.tokenize(SECRET);
    let governance = fx.governance(RevealPolicy::LocalDev);
    let revealed = ok(governance.reveal(&token));
    assert_eq!(revealed.plaintext, SECRET);
    assert_eq!(revealed.token, token);

    let events = fx.events();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["decision"], "reveal_allowed");
    assert_eq!(event["blocked"], false);
    assert_eq!(event["reason"], Value::Null);
    assert_eq!(event["token"], token.as_str());
    assert_eq!(event["tokenType"], "email");
    assert_eq!(event["revealPolicy"], "local-dev");
    assert_eq!(event["summary"]["byAction"], json!({"reveal_allowed": 1}));
    assert!(!fx.log().contains(SECRET), "the log never holds the value");
    assert!(!fx.log().contains("minji"));
}

#[test]
fn unknown_expired_and_undecryptable_are_audited_with_their_reason() {
    let fx = Fixture::new();
    let context = json!({"tenant": "a"});
    let live = tokenize(&fx.vault, SECRET, &context);
    let expired_vault = open(fx.vault.path(), -1.0);
    let dead = tokenize(&expired_vault, "expired@example.com", &context);
    let governance = fx.governance(RevealPolicy::LocalDev);

    assert!(matches!(
        governance.reveal("tok_email_0000000000000000"),
        Err(VaultError::UnknownToken)
    ));
    let expired = governance.reveal(&dead).err();
    assert!(matches!(expired, Some(VaultError::Expired)));
    assert_eq!(
        expired.map(|e| e.to_string()).as_deref(),
        Some("Token expired")
    );
    assert!(matches!(
        governance.reveal_with_context(&live, Some(&json!({"tenant": "b"}))),
        Err(VaultError::DecryptFailed)
    ));

    let events = fx.events();
    let outcomes: Vec<(&Value, &Value, &Value)> = events
        .iter()
        .map(|e| (&e["decision"], &e["reason"], &e["token"]))
        .collect();
    assert_eq!(
        outcomes,
        [
            (
                &json!("reveal_failed"),
                &json!("unknown_token"),
                &json!("tok_email_0000000000000000")
            ),
            (
                &json!("reveal_failed"),
                &json!("token_expired"),
                &json!(dead)
            ),
            (
                &json!("reveal_failed"),
                &json!("decrypt_failed"),
                &json!(live)
            ),
        ]
    );
    assert!(events.iter().all(|e| e["blocked"] == false));
    let log = fx.log();
    assert!(!log.contains(SECRET) && !log.contains("expired@example.com"));
}

#[test]
fn a_raw_value_passed_as_token_is_audited_as_a_keyed_digest() {
    let fx = Fixture::new();
    let raw = "sk-ant-api03-EXAMPLE-NOT-A-REAL-SECRET-000000000000000000";
    let governance = fx.governance(RevealPolicy::LocalDev);
    let error = governance.reveal(raw).err();
    assert_eq!(
        error.map(|e| e.to_string()).as_deref(),
        Some("Unknown token")
    );
    let purged = ok(governance.purge(raw));
    assert!(!purged.purged);
    // Denied reveals digest the argument too.
    let _ = fx.governance(RevealPolicy::Disabled).reveal(raw);

    let digest = ok(FakeCrypto::default().hmac_hex(AUDIT_ID_DOMAIN, raw.as_bytes()));
    let expected = format!("nontoken_{}", &digest[..32]);
    let events = fx.events();
    assert_eq!(events.len(), 3);
    for event in &events {
        assert_eq!(event["token"], expected.as_str());
    }
    assert_eq!(events[1]["decision"], "purge");
    assert_eq!(events[2]["decision"], "reveal_denied");
    let log = fx.log();
    assert!(!log.contains("EXAMPLE-NOT-A-REAL-SECRET") && !log.contains("sk-ant"));
}

#[test]
fn purge_and_purge_expired_are_audited() {
    let fx = Fixture::new();
    let keep = fx.tokenize("keep@example.com");
    let gone = fx.tokenize(SECRET);
    let expired_vault = open(fx.vault.path(), -1.0);
    tokenize(&expired_vault, "old1@example.com", &json!({}));
    tokenize(&expired_vault, "old2@example.com", &json!({}));
    let governance = fx.governance(RevealPolicy::Disabled);

    let first = ok(governance.purge(&gone));
    assert!(first.purged);
    assert_eq!(first.token, gone);
    assert_eq!(first.purged_at.len(), 24);
    let keys: Vec<String> = ok(serde_json::to_value(&first))
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["token", "purged", "purgedAt"]);
    assert!(!ok(governance.purge(&gone)).purged, "already gone");
    assert!(matches!(
        fx.governance(RevealPolicy::LocalDev).reveal(&gone),
        Err(VaultError::UnknownToken)
    ));

    // Purging one token also pruned the expired ones (a vault write): nothing left to purge.
    let expired = ok(governance.purge_expired());
    assert_eq!(expired.purged, 0);
    let listed: Vec<String> = ok(governance.export_metadata(None))
        .into_iter()
        .map(|m| m.token)
        .collect();
    assert_eq!(listed, [keep]);

    tokenize(&expired_vault, "old3@example.com", &json!({}));
    assert_eq!(ok(governance.purge_expired()).purged, 1);

    let events = fx.events();
    let decisions: Vec<&Value> = events.iter().map(|e| &e["decision"]).collect();
    assert_eq!(
        decisions,
        [
            "purge",
            "purge",
            "reveal_failed",
            "purge_expired",
            "purge_expired"
        ]
    );
    assert_eq!(events[0]["operation"], "token-vault:purge");
    assert_eq!(events[0]["token"], gone.as_str());
    assert_eq!(events[0]["count"], Value::Null);
    assert_eq!(events[3]["operation"], "token-vault:purge-expired");
    assert_eq!(events[3]["token"], Value::Null);
    assert_eq!(events[3]["count"], 0);
    assert_eq!(events[4]["count"], 1);
    assert_eq!(
        events[4]["summary"]["byAction"],
        json!({"purge_expired": 1})
    );
}

#[test]
fn detokenize_is_audited_by_count() {
    let fx = Fixture::new();
    let token = fx.tokenize(SECRET);
    let governance = fx.governance(RevealPolicy::Disabled);
    let restored = ok(governance.detokenize(&[&token, "tok_email_ffffffffffffffff"]));
    assert_eq!(
        restored.values.get(&token).map(String::as_str),
        Some(SECRET),
        "detokenize is not gated by the reveal policy"
    );
    let events = fx.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["operation"], "token-vault:detokenize");
    assert_eq!(events[0]["decision"], "detokenize");
    assert_eq!(events[0]["count"], 1);
    assert_eq!(events[0]["reason"], "1 tokens not restored");
    assert_eq!(events[0]["token"], Value::Null);
    assert!(!fx.log().contains(SECRET));
}

/// An audit sink that refuses every event.
struct BrokenAudit;

impl AuditSink for BrokenAudit {
    fn record(&self, _event: haechi_core::audit::PreparedEvent) -> Result<(), ProviderError> {
        Err(ProviderError::new(
            "test_audit_down",
            "audit log unavailable",
        ))
    }
}

#[test]
fn no_audit_trail_means_no_plaintext() {
    let fx = Fixture::new();
    let token = fx.tokenize(SECRET);
    let governance = TokenGovernance::new(
        fx.vault.clone(),
        RevealPolicy::LocalDev,
        Arc::new(BrokenAudit),
    );
    let result = governance.reveal(&token);
    let error = result.err();
    assert!(matches!(
        error,
        Some(VaultError::Audit {
            decision: "reveal_allowed",
            ..
        })
    ));
    let message = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("audit") && !message.contains(SECRET) && !message.contains("tok_"));
    assert!(matches!(
        governance.purge(&token),
        Err(VaultError::Audit {
            decision: "purge",
            ..
        })
    ));
}

#[test]
fn markers_yield_their_token_id() {
    assert_eq!(
        token_id_from_marker("[TOKEN:tok_email_0123456789abcdef]"),
        "tok_email_0123456789abcdef"
    );
    assert_eq!(
        token_id_from_marker("tok_email_0123456789abcdef"),
        "tok_email_0123456789abcdef"
    );
    assert_eq!(token_id_from_marker("[TOKEN:"), "[TOKEN:");
}

#[test]
fn governance_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TokenGovernance>();
}
