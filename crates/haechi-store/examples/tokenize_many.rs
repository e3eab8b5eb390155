//! One payload holding many values: protect it in redact and in tokenize mode (SQLite vault and
//! local key file in a temp dir) and print the wall time of each run. It measures, it never
//! asserts a time. (`vault_phases` splits the vault's share into issuing and committing.)
//!
//! `cargo run --release -p haechi-store --example tokenize_many -- [values] [runs]`
//! (defaults: 200000 emails, 3 runs per mode). Later tokenize runs write into the vault the
//! first run filled; deterministic runs after the first reuse its records.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use haechi_core::audit::PreparedEvent;
use haechi_core::config::{default_config, Config};
use haechi_core::protect::{Collaborators, ProtectContext, ProtectedPayload, Protector};
use haechi_core::seams::{AuditSink, ProviderError, Tokenizer};
use haechi_core::vocab::{Action, Direction, Mode};
use haechi_crypto::{init_local_key_file, LocalKeyProvider};
use haechi_store::vault::{SqliteTokenVault, VaultSettings};
use serde_json::json;

/// Drops events: this measures the pipeline and the vault, not the audit log.
struct NullAudit;

impl AuditSink for NullAudit {
    fn record(&self, event: PreparedEvent) -> Result<(), ProviderError> {
        black_box(event);
        Ok(())
    }
}

/// `{"messages":[{"role":"user","content":"user000000@mail.com user000001@mail.com …"}]}`.
fn payload(values: usize) -> String {
    let mut content = String::with_capacity(values * 20);
    for index in 0..values {
        content.push_str(&format!("user{index:06}@mail.com "));
    }
    json!({ "messages": [{ "role": "user", "content": content }] }).to_string()
}

fn config(action: Action, deterministic: bool) -> Config {
    let mut config = default_config();
    config.mode = Mode::Enforce;
    config.policy.mode = Some(Mode::Enforce);
    config.policy.actions.insert("email".into(), action);
    config.token_vault.deterministic = deterministic;
    config
}

fn protector(dir: &std::path::Path, config: &Config) -> Result<Protector, String> {
    let key_file = dir.join("keys.json");
    init_local_key_file(&key_file, false).map_err(|e| format!("key file: {e}"))?;
    let keys = Arc::new(LocalKeyProvider::open(&key_file).map_err(|e| format!("keys: {e}"))?);
    let vault = SqliteTokenVault::open(
        dir.join("vault.sqlite3"),
        keys.clone(),
        VaultSettings::from_config(&config.token_vault),
    )
    .map_err(|e| format!("vault: {e}"))?;
    let tokenizer: Arc<dyn Tokenizer> = Arc::new(vault);
    let collaborators = Collaborators {
        audit: Arc::new(NullAudit),
        crypto: Some(keys),
        tokenizer: Some(tokenizer),
    };
    Protector::new(config, collaborators).map_err(|e| format!("protector: {e}"))
}

fn run(name: &str, config: &Config, input: &str, runs: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let protector = protector(dir.path(), config)?;
    let context = ProtectContext::new("bench", "protect", Direction::Request, Mode::Enforce);
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let outcome = protector
            .protect(input, &context)
            .map_err(|e| format!("protect: {e}"))?;
        times.push(started.elapsed());
        if !matches!(outcome.payload, ProtectedPayload::Rewritten(_)) {
            return Err(format!("{name}: the payload was not rewritten"));
        }
        black_box(outcome);
    }
    let shown: Vec<String> = times
        .iter()
        .map(|t| format!("{:.3}", t.as_secs_f64()))
        .collect();
    times.sort();
    let best = times.first().copied().unwrap_or_default();
    println!(
        "{name:<24} best {:>8.3} s  runs [{}]",
        best.as_secs_f64(),
        shown.join(", ")
    );
    Ok(())
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let values: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let input = payload(values);
    println!(
        "{values} emails in one string, payload {} bytes, {runs} runs each",
        input.len()
    );
    run("redact", &config(Action::Redact, false), &input, runs)?;
    run(
        "tokenize (random)",
        &config(Action::Tokenize, false),
        &input,
        runs,
    )?;
    run(
        "tokenize (deterministic)",
        &config(Action::Tokenize, true),
        &input,
        runs,
    )?;
    Ok(())
}
