//! The vault's share of tokenizing one large payload, in its two phases: issuing (token ids,
//! envelopes and record texts, no database write) and committing (one SQLite transaction).
//! It measures, it never asserts a time.
//!
//! `cargo run --release -p haechi-store --example vault_phases -- [values]` (default 200000).

use std::sync::Arc;
use std::time::Instant;

use haechi_core::protect::ProtectContext;
use haechi_core::seams::{commit_blocking, TokenRequest, Tokenizer};
use haechi_core::vocab::{Direction, Mode};
use haechi_crypto::{init_local_key_file, LocalKeyProvider};
use haechi_store::vault::{SqliteTokenVault, VaultSettings};

fn main() -> Result<(), String> {
    let values: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let key_file = dir.path().join("keys.json");
    init_local_key_file(&key_file, false).map_err(|e| format!("key file: {e}"))?;
    let keys = Arc::new(LocalKeyProvider::open(&key_file).map_err(|e| format!("keys: {e}"))?);
    let vault =
        SqliteTokenVault::open(dir.path().join("v.sqlite3"), keys, VaultSettings::default())
            .map_err(|e| format!("vault: {e}"))?;
    let context = ProtectContext::new("bench", "protect", Direction::Request, Mode::Enforce);
    let context = context.to_json();
    let emails: Vec<String> = (0..values)
        .map(|i| format!("user{i:06}@mail.com"))
        .collect();
    let requests: Vec<TokenRequest<'_>> = emails
        .iter()
        .map(|plaintext| TokenRequest {
            plaintext,
            detection_type: "email",
            context: &context,
            path: "key_f5cccfb73751[0].key_ed7002b439e9",
            rule_id: "email",
        })
        .collect();
    let started = Instant::now();
    let issued = vault.issue(&requests).map_err(|e| format!("issue: {e}"))?;
    let issuing = started.elapsed();
    let started = Instant::now();
    if let Some(pending) = issued.pending {
        commit_blocking(pending).map_err(|e| format!("commit: {e}"))?;
    }
    let committing = started.elapsed();
    println!(
        "{values} random tokens: issue {:.3} s  commit {:.3} s  ({} commits)",
        issuing.as_secs_f64(),
        committing.as_secs_f64(),
        vault.commits()
    );
    Ok(())
}
