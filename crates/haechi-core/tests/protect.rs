//! The protect pipeline end to end, with in-memory collaborators.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use haechi_core::audit::MemoryAuditSink;
use haechi_core::config::{default_config, AllowlistEntry, Config};
use haechi_core::protect::{
    Collaborators, ProtectContext, ProtectError, ProtectedPayload, Protector,
};
use haechi_core::seams::{
    commit_blocking, CommitDone, Crypto, Envelope, IssuedTokens, PendingTokens, ProviderError,
    TokenRequest, Tokenizer,
};
use haechi_core::vocab::{Action, Direction, Mode};
use serde_json::{json, Value};

/// A transparent "crypto" for tests: the envelope carries the plaintext reversed.
struct FakeCrypto;

impl Crypto for FakeCrypto {
    fn encrypt(
        &self,
        plaintext: &str,
        _aad: &Value,
        _expires: Option<&str>,
    ) -> Result<Envelope, ProviderError> {
        Ok(Envelope {
            v: 2,
            alg: Some("AES-256-GCM".into()),
            kid: Some("test".into()),
            iv: "iv".into(),
            ct: plaintext.chars().rev().collect(),
            tag: "tag".into(),
            aad_hash: None,
            aad_encoding: Some("nfkc-json-v2".into()),
            created_at: None,
            expires_at: None,
        })
    }
    fn decrypt(&self, envelope: &Envelope, _aad: &Value) -> Result<String, ProviderError> {
        Ok(envelope.ct.chars().rev().collect())
    }
    fn hmac_hex(&self, _domain: &str, data: &[u8]) -> Result<String, ProviderError> {
        Ok(haechi_core::hash::sha256_hex(data))
    }
}

#[derive(Default)]
struct FakeVault {
    batches: AtomicUsize,
}

impl Tokenizer for FakeVault {
    fn tokenize(&self, requests: &[TokenRequest<'_>]) -> Result<Vec<String>, ProviderError> {
        self.batches.fetch_add(1, Ordering::SeqCst);
        Ok(requests
            .iter()
            .map(|r| {
                format!(
                    "tok_{}_{}",
                    r.detection_type,
                    &haechi_core::hash::sha256_hex(r.plaintext.as_bytes())[..16]
                )
            })
            .collect())
    }
}

struct Harness {
    protector: Protector,
    audit: Arc<MemoryAuditSink>,
    vault: Arc<FakeVault>,
}

fn harness(config: &Config) -> Harness {
    let audit = Arc::new(MemoryAuditSink::new());
    let vault = Arc::new(FakeVault::default());
    let protector = Protector::new(
        config,
        Collaborators {
            audit: audit.clone(),
            crypto: Some(Arc::new(FakeCrypto)),
            tokenizer: Some(vault.clone()),
        },
    )
    .unwrap();
    Harness {
        protector,
        audit,
        vault,
    }
}

fn enforcing() -> Config {
    let mut config = default_config();
    config.mode = Mode::Enforce;
    config.policy.mode = Some(Mode::Enforce);
    config
}

fn context(mode: Mode) -> ProtectContext {
    ProtectContext::new("openai-compatible", "test", Direction::Request, mode)
}

fn rewritten(payload: &ProtectedPayload) -> Value {
    match payload {
        ProtectedPayload::Rewritten(text) => serde_json::from_str(text).unwrap(),
        other => panic!("expected a rewrite, got {other:?}"),
    }
}

const CHAT: &str = r#"{"model":"m","messages":[{"role":"user","content":"mail minji.kim@example.com or 010-1234-5678"}],"n":1.50}"#;

#[test]
fn enforce_rewrites_only_the_leaves_with_findings() {
    let h = harness(&enforcing());
    let outcome = h.protector.protect(CHAT, &context(Mode::Enforce)).unwrap();
    let ProtectedPayload::Rewritten(text) = &outcome.payload else {
        panic!("{:?}", outcome.payload)
    };
    // Everything but the content leaf is byte-identical, including the number's text.
    assert!(
        text.starts_with(
            r#"{"model":"m","messages":[{"role":"user","content":"mail [REDACTED:email] or 01"#
        ),
        "{text}"
    );
    assert!(text.ends_with(r#""}],"n":1.50}"#), "{text}");
    assert!(!text.contains("minji") && !text.contains("1234-5678"));
    assert_eq!(outcome.summary.by_type.get("email"), Some(&1));
    assert_eq!(outcome.summary.by_action.get("mask"), Some(&1));

    let events = h.audit.records();
    assert_eq!(events.len(), 1);
    let event = Value::Object(events[0].clone());
    assert_eq!(event["id"], Value::from(outcome.audit_id.clone()));
    assert_eq!(event["schemaVersion"], "1");
    assert_eq!(event["mode"], "enforce");
    assert_eq!(event["detections"][0]["type"], "email");
    assert_eq!(
        event["detections"][0]["path"],
        "key_f5cccfb73751[0].key_ed7002b439e9"
    );
    assert_eq!(event["detections"][0]["kind"], "value");
    let line = h.audit.lines().join("\n");
    assert!(!line.contains("minji") && !line.contains("5678"), "{line}");
}

#[test]
fn dry_run_and_report_only_change_nothing_but_audit_decisions() {
    for mode in [Mode::DryRun, Mode::ReportOnly] {
        let h = harness(&default_config());
        let outcome = h
            .protector
            .protect(r#"{"c":"4111 1111 1111 1111"}"#, &context(mode))
            .unwrap();
        assert_eq!(outcome.payload, ProtectedPayload::Unchanged);
        assert!(!outcome.blocked && !outcome.enforced);
        let event = Value::Object(h.audit.records()[0].clone());
        assert_eq!(event["detections"][0]["action"], "block");
        assert_eq!(event["detections"][0]["enforced"], false);
        assert_eq!(event["blocked"], false);
    }
}

#[test]
fn a_block_refuses_the_whole_payload() {
    let h = harness(&enforcing());
    let outcome = h
        .protector
        .protect(
            r#"{"a":"fine","c":"4111 1111 1111 1111"}"#,
            &context(Mode::Enforce),
        )
        .unwrap();
    assert!(outcome.blocked);
    assert_eq!(outcome.output("x"), None);
    assert_eq!(Value::Object(h.audit.records()[0].clone())["blocked"], true);
}

#[test]
fn numbers_are_scanned_on_requests_and_only_on_request_unless_configured() {
    let h = harness(&enforcing());
    let outcome = h
        .protector
        .protect(r#"{"pan":4111111111111111}"#, &context(Mode::Enforce))
        .unwrap();
    assert!(
        outcome.blocked,
        "a card number as a JSON number must be caught"
    );

    let mut response = context(Mode::Enforce);
    response.direction = Direction::Response;
    let outcome = h
        .protector
        .protect(r#"{"pan":4111111111111111}"#, &response)
        .unwrap();
    assert!(!outcome.blocked);
    assert_eq!(outcome.summary.detection_count, 0);

    let mut config = enforcing();
    config.response_protection.scan_numbers = true;
    let h = harness(&config);
    assert!(
        h.protector
            .protect(r#"{"pan":4111111111111111}"#, &response)
            .unwrap()
            .blocked
    );
}

#[test]
fn a_transformed_number_becomes_a_string() {
    let mut config = enforcing();
    config.policy.actions.insert("card".into(), Action::Block);
    config.policy.allow_unsafe_overrides = true;
    config.policy.actions.insert("card".into(), Action::Redact);
    let h = harness(&config);
    let outcome = h
        .protector
        .protect(r#"{"pan":4111111111111111,"n":7}"#, &context(Mode::Enforce))
        .unwrap();
    assert_eq!(
        rewritten(&outcome.payload),
        json!({ "pan": "[REDACTED:card]", "n": 7 })
    );
}

#[test]
fn keys_are_scanned_and_renamed_without_collisions() {
    let h = harness(&enforcing());
    let input = r#"{"minji.kim@example.com":1,"[REDACTED:email]":2,"other":{"x@example.org":"v"}}"#;
    let outcome = h.protector.protect(input, &context(Mode::Enforce)).unwrap();
    let ProtectedPayload::Rewritten(text) = &outcome.payload else {
        panic!()
    };
    assert_eq!(
        text,
        r#"{"[REDACTED:email]#2":1,"[REDACTED:email]":2,"other":{"[REDACTED:email]":"v"}}"#
    );
    let event = Value::Object(h.audit.records()[0].clone());
    assert_eq!(event["detections"][0]["kind"], "key");
}

#[test]
fn escaped_strings_are_decoded_before_detection() {
    let h = harness(&enforcing());
    let input = r#"{"a":"minji\u002ekim\u0040example.com\n"}"#;
    let outcome = h.protector.protect(input, &context(Mode::Enforce)).unwrap();
    assert_eq!(
        rewritten(&outcome.payload),
        json!({ "a": "[REDACTED:email]\n" })
    );
}

#[test]
fn tokenize_issues_one_batch_and_encrypt_wraps_an_envelope() {
    let mut config = enforcing();
    config
        .policy
        .actions
        .insert("email".into(), Action::Tokenize);
    config
        .policy
        .actions
        .insert("phone".into(), Action::Encrypt);
    let h = harness(&config);
    let input = r#"{"a":"minji.kim@example.com","b":"x@example.org","c":"010-1234-5678"}"#;
    let outcome = h.protector.protect(input, &context(Mode::Enforce)).unwrap();
    let out = rewritten(&outcome.payload);
    assert!(out["a"].as_str().unwrap().starts_with("[TOKEN:tok_email_"));
    assert!(out["b"].as_str().unwrap().starts_with("[TOKEN:tok_email_"));
    assert_ne!(out["a"], out["b"]);
    assert!(out["c"].as_str().unwrap().starts_with("[HAECHI_ENC:"));
    assert_eq!(h.vault.batches.load(Ordering::SeqCst), 1);
    assert_eq!(outcome.issued_tokens.len(), 2);
}

/// Issues ids at once and stores them only on commit, which fails when `fail` is set.
struct DeferringVault {
    fail: bool,
    committed: Arc<AtomicUsize>,
}

struct Pending {
    fail: bool,
    records: usize,
    committed: Arc<AtomicUsize>,
}

impl PendingTokens for Pending {
    fn commit(self: Box<Self>, done: CommitDone) {
        if self.fail {
            return done(Err(ProviderError::new(
                "test_vault_down",
                "the vault is down",
            )));
        }
        self.committed.fetch_add(self.records, Ordering::SeqCst);
        done(Ok(()))
    }
}

impl Tokenizer for DeferringVault {
    fn tokenize(&self, _requests: &[TokenRequest<'_>]) -> Result<Vec<String>, ProviderError> {
        Err(ProviderError::new(
            "test_unused",
            "protect issues, then commits",
        ))
    }

    fn issue(&self, requests: &[TokenRequest<'_>]) -> Result<IssuedTokens, ProviderError> {
        Ok(IssuedTokens {
            tokens: (0..requests.len())
                .map(|i| format!("tok_email_{i:016x}"))
                .collect(),
            pending: Some(Box::new(Pending {
                fail: self.fail,
                records: requests.len(),
                committed: Arc::clone(&self.committed),
            })),
        })
    }
}

fn deferring_protector(fail: bool, audit: Arc<MemoryAuditSink>) -> (Protector, Arc<AtomicUsize>) {
    let mut config = enforcing();
    config
        .policy
        .actions
        .insert("email".into(), Action::Tokenize);
    let committed = Arc::new(AtomicUsize::new(0));
    let vault = DeferringVault {
        fail,
        committed: Arc::clone(&committed),
    };
    let collaborators = Collaborators {
        audit,
        crypto: Some(Arc::new(FakeCrypto)),
        tokenizer: Some(Arc::new(vault)),
    };
    (Protector::new(&config, collaborators).unwrap(), committed)
}

const TWO_EMAILS: &str = r#"{"a":"minji.kim@example.com and x@example.org"}"#;

#[test]
fn protect_stores_the_payloads_tokens_before_it_returns() {
    let (protector, committed) = deferring_protector(false, Arc::new(MemoryAuditSink::new()));
    let outcome = protector
        .protect(TWO_EMAILS, &context(Mode::Enforce))
        .unwrap();
    assert_eq!(outcome.issued_tokens.len(), 2);
    assert_eq!(committed.load(Ordering::SeqCst), 2, "one batch, committed");
}

#[test]
fn a_failed_token_commit_fails_protect_with_nothing_to_forward() {
    let audit = Arc::new(MemoryAuditSink::new());
    let (protector, _) = deferring_protector(true, audit.clone());
    let error = protector
        .protect(TWO_EMAILS, &context(Mode::Enforce))
        .unwrap_err();
    assert_eq!(error.code(), "test_vault_down");
    assert!(
        audit.lines().is_empty(),
        "no event for a payload that is not sent"
    );
}

#[test]
fn deferred_protect_leaves_the_commit_to_the_caller() {
    let (protector, committed) = deferring_protector(false, Arc::new(MemoryAuditSink::new()));
    let policy = Arc::clone(&protector.policies().base().policy);
    let deferred = protector
        .protect_deferred(TWO_EMAILS, &[], &context(Mode::Enforce), &policy)
        .unwrap();
    assert_eq!(committed.load(Ordering::SeqCst), 0, "nothing stored yet");
    let ProtectedPayload::Rewritten(text) = &deferred.outcome.payload else {
        panic!("expected a rewrite");
    };
    assert!(text.contains("[TOKEN:tok_email_0000000000000000]"));
    commit_blocking(deferred.pending_tokens.unwrap()).unwrap();
    assert_eq!(committed.load(Ordering::SeqCst), 2);
}

#[test]
fn allowlist_and_min_confidence_never_touch_hard_block_types() {
    let mut config = enforcing();
    config.filters.allowlist = vec![
        AllowlistEntry::Value("minji.kim@example.com".into()),
        AllowlistEntry::Value("4111 1111 1111 1111".into()),
    ];
    config.filters.min_confidence = 0.99;
    let h = harness(&config);
    let outcome = h
        .protector
        .protect(
            r#"{"a":"minji.kim@example.com","b":"010-1234-5678","c":"4111 1111 1111 1111"}"#,
            &context(Mode::Enforce),
        )
        .unwrap();
    assert!(outcome.blocked, "the card must still block");
    assert_eq!(outcome.summary.suppressed_count, Some(1));
    assert_eq!(
        outcome
            .summary
            .suppressed_by_type
            .as_ref()
            .unwrap()
            .get("email"),
        Some(&1)
    );
    assert_eq!(
        outcome
            .summary
            .dropped_by_type
            .as_ref()
            .unwrap()
            .get("phone"),
        Some(&1)
    );
    assert_eq!(outcome.summary.by_type.get("card"), Some(&1));
}

#[test]
fn nothing_to_transform_means_byte_identical_output() {
    let h = harness(&enforcing());
    let input = "{ \"a\" : [ 1.0 , true , null ],\n  \"b\": \"hello\" }";
    let outcome = h.protector.protect(input, &context(Mode::Enforce)).unwrap();
    assert_eq!(outcome.payload, ProtectedPayload::Unchanged);
    assert_eq!(outcome.output(input), Some(input));
}

#[test]
fn bad_input_fails_closed_and_writes_no_event() {
    let mut config = enforcing();
    config.limits.max_nesting_depth = 3;
    let h = harness(&config);
    let cases: [(&[u8], &str); 3] = [
        (b"{\"a\":[[[[1]]]]}", "haechi_request_too_deeply_nested"),
        (b"{\"a\":\"\xff\"}", "haechi_request_body_not_utf8"),
        (b"{\"a\":", "haechi_invalid_json_request"),
    ];
    for (input, code) in cases {
        let error = haechi_core::protect::payload_text(input)
            .and_then(|text| h.protector.protect(text, &context(Mode::Enforce)))
            .unwrap_err();
        assert_eq!(error.code(), code);
        assert!(matches!(
            error,
            ProtectError::TooDeeplyNested { .. }
                | ProtectError::NotUtf8 { .. }
                | ProtectError::InvalidJson { .. }
        ));
    }
    assert!(h.audit.records().is_empty());
}

#[test]
fn a_fake_marker_does_not_hide_a_secret_on_responses() {
    let h = harness(&enforcing());
    let mut response = context(Mode::Enforce);
    response.direction = Direction::Response;
    let input = r#"{"a":"[TOKEN:sk-proj-abcdefghijklmnopqrstuvwxyz0123456789]","b":"[TOKEN:tok_email_0123456789abcdef]"}"#;
    let outcome = h.protector.protect(input, &response).unwrap();
    assert!(
        outcome.blocked,
        "a secret inside a fake marker must still be caught"
    );
    assert_eq!(outcome.summary.by_type.get("secret"), Some(&1));
    assert_eq!(
        outcome.summary.detection_count, 1,
        "a real token marker is not rescanned"
    );
}

mod request_fields {
    use haechi_core::protect::{request_fields, ProtectError, TopField};

    #[test]
    fn reads_top_level_model_and_stream_last_duplicate_wins() {
        let fields = request_fields(
            r#"{"model":"a","stream":false,"x":{"model":"b","stream":true},"stream":true}"#,
            64,
        )
        .unwrap();
        assert_eq!(fields.model, TopField::Is("a".to_string()));
        assert_eq!(fields.stream, TopField::Is(true));
    }

    #[test]
    fn other_types_and_absence() {
        let fields = request_fields(r#"{"model":["a"],"stream":"yes"}"#, 64).unwrap();
        assert_eq!(fields.model, TopField::Other);
        assert_eq!(fields.stream, TopField::Other);
        let fields = request_fields(r#"[{"model":"a"}]"#, 64).unwrap();
        assert_eq!(fields.model, TopField::Absent);
        assert_eq!(fields.stream, TopField::Absent);
        let fields = request_fields(r#"{"model":"a\u0062"}"#, 64).unwrap();
        assert_eq!(fields.model, TopField::Is("ab".to_string()));
    }

    #[test]
    fn same_errors_as_protection() {
        assert!(matches!(
            request_fields("{\"a\":", 64),
            Err(ProtectError::InvalidJson { .. })
        ));
        let deep = format!("{}{}", "[".repeat(10), "]".repeat(10));
        assert!(matches!(
            request_fields(&deep, 5),
            Err(ProtectError::TooDeeplyNested { max_depth: 5 })
        ));
        assert!(matches!(
            request_fields(r#"{"model":"a"} trailing"#, 64),
            Err(ProtectError::InvalidJson { .. })
        ));
    }

    #[test]
    fn nesting_up_to_the_limit_is_read_without_recursion_limits_of_its_own() {
        let nested = format!(
            r#"{{"x":{}1{},"model":"m","stream":true}}"#,
            "[".repeat(250),
            "]".repeat(250)
        );
        let fields = request_fields(&nested, 256).unwrap();
        assert_eq!(fields.model, TopField::Is("m".to_string()));
        assert_eq!(fields.stream, TopField::Is(true));
        let escaped = request_fields(r#"{"mod\u0065l":"k","x":[{"stream":true}]}"#, 64).unwrap();
        assert_eq!(escaped.model, TopField::Is("k".to_string()));
        assert_eq!(escaped.stream, TopField::Absent);
    }
}
