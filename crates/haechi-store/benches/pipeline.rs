//! Protect throughput with the real collaborators: tokenize mode through the SQLite vault and the
//! local key file, with the audit chain computed but discarded, or appended to the JSONL file
//! (fsync every batch).
//! `cargo bench -p haechi-store --bench pipeline`

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use haechi_core::audit::{AuditLog, AuditStore, ChainHead, SealedRecord};
use haechi_core::config::{default_config, Config};
use haechi_core::protect::{Collaborators, ProtectContext, Protector};
use haechi_core::seams::{AuditSink, ProviderError};
use haechi_core::vocab::{Action, Direction, Mode};
use haechi_crypto::{init_local_key_file, LocalKeyProvider};
use haechi_store::audit::{JsonlAuditSink, JsonlOptions};
use haechi_store::vault::{SqliteTokenVault, VaultSettings};
use serde_json::json;

/// Computes the chain like a real store, then drops the lines (keeps memory flat).
#[derive(Default)]
struct DiscardStore(std::sync::Mutex<Option<ChainHead>>);

impl AuditStore for DiscardStore {
    fn append_exclusive(
        &self,
        seal: &mut dyn FnMut(Option<&ChainHead>) -> Vec<SealedRecord>,
    ) -> Result<Option<ChainHead>, ProviderError> {
        let mut head = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(last) = seal(head.as_ref()).pop() {
            *head = Some(last.head);
        }
        Ok(head.clone())
    }
}

fn chat_payload() -> String {
    json!({
        "model": "gpt-4o-mini",
        "messages": [
            { "role": "system", "content": "You are a helpful support assistant for an online shop. Answer briefly and never repeat personal data back to the customer." },
            { "role": "user", "content": "Hi, I ordered a desk lamp last week and it still has not arrived. My account email is minji.kim@example.com and you can reach me at 010-1234-5678 if needed. The order was placed on the mobile app, and the tracking page has not updated for five days. Could you check what happened and tell me when I can expect delivery? Thanks a lot for your help, I really appreciate it." },
            { "role": "assistant", "content": "Thanks for reaching out. I can look into the order status for you. Could you share the order number shown in the confirmation message?" }
        ]
    })
    .to_string()
}

fn tokenizing_config(deterministic: bool) -> Config {
    let mut config = default_config();
    config.mode = Mode::Enforce;
    config.policy.mode = Some(Mode::Enforce);
    config.policy.presets = vec!["llm-redact".into()];
    config
        .policy
        .actions
        .insert("email".into(), Action::Tokenize);
    config
        .policy
        .actions
        .insert("phone".into(), Action::Tokenize);
    config.token_vault.deterministic = deterministic;
    config
}

fn protector(dir: &std::path::Path, config: &Config, audit: Arc<dyn AuditSink>) -> Protector {
    let key_file = dir.join("keys.json");
    if let Err(error) = init_local_key_file(&key_file, false) {
        panic!("key file: {error}");
    }
    let keys = match LocalKeyProvider::open(&key_file) {
        Ok(keys) => Arc::new(keys),
        Err(error) => panic!("keys: {error}"),
    };
    let vault = match SqliteTokenVault::open(
        dir.join("vault.sqlite3"),
        keys.clone(),
        VaultSettings::from_config(&config.token_vault),
    ) {
        Ok(vault) => Arc::new(vault),
        Err(error) => panic!("vault: {error}"),
    };
    let collaborators = Collaborators {
        audit,
        crypto: Some(keys),
        tokenizer: Some(vault),
    };
    match Protector::new(config, collaborators) {
        Ok(protector) => protector,
        Err(error) => panic!("protector: {error}"),
    }
}

fn tokenize(c: &mut Criterion) {
    let payload = chat_payload();
    let context = ProtectContext::new("bench", "protect", Direction::Request, Mode::Enforce);
    let mut group = c.benchmark_group("protect_tokenize_chat_1kb");
    group.throughput(Throughput::Elements(1));
    for (name, deterministic, jsonl) in [
        ("random_tokens_chained_audit_discarded", false, false),
        ("deterministic_tokens_chained_audit_discarded", true, false),
        ("random_tokens_jsonl_audit_fsync", false, true),
    ] {
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(error) => panic!("temp dir: {error}"),
        };
        let config = tokenizing_config(deterministic);
        let audit: Arc<dyn AuditSink> = if jsonl {
            match JsonlAuditSink::new(dir.path().join("audit.jsonl"), JsonlOptions::default()) {
                Ok(sink) => Arc::new(sink),
                Err(error) => panic!("audit: {error}"),
            }
        } else {
            Arc::new(AuditLog::with_store(DiscardStore::default()))
        };
        let protector = protector(dir.path(), &config, audit);
        group.bench_function(name, |b| {
            b.iter(|| {
                protector
                    .protect(&payload, &context)
                    .map(|o| o.issued_tokens.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, tokenize);
criterion_main!(benches);
