//! `haechi demo`: an end-to-end run on embedded defaults in a temporary directory — a sample chat
//! request protected in enforce mode, before and after, then the audit trail it left.

use std::fs;
use std::path::Path;

use anyhow::{anyhow, Context as _, Result};
use haechi_core::vocab::Direction;
use haechi_crypto::init_local_key_file;
use haechi_store::audit::{read_summary, verify_file};
use serde_json::{json, Value};

use super::protect::protect_text;
use crate::runtime::{build_protector, load_config, open_keys};

const EMAIL: &str = "minji.kim@example.com";
const PHONE: &str = "010-1234-5678";
const API_KEY: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const CARD: &str = "4111 1111 1111 1111";

pub(crate) fn run() -> Result<u8> {
    let dir = tempfile::Builder::new()
        .prefix("haechi-demo-")
        .tempdir()
        .context("cannot create a temporary directory for the demo")?;
    let root = dir.path();
    init_local_key_file(root.join("keys.json"), false).map_err(|error| anyhow!("{error}"))?;

    let input = sample_payload();
    println!(
        "Haechi demo — everything lives in {} and is removed at the end.\n",
        root.display()
    );
    println!(
        "A chat request on its way to a model:\n{}\n",
        pretty(&input)
    );

    // 1. Transforming policy: every value is replaced, the request still flows.
    let transforming = write_config(
        root,
        "transform.json",
        json!({ "presets": ["korean-pii", "llm-redact"], "actions": { "api_key": "tokenize", "card": "encrypt" } }),
    )?;
    let config = load_config(&transforming)?;
    let protector = build_protector(&config, open_keys(&config)?)?;
    let (_, outcome) = protect_text(&protector, &config, &input, Direction::Request)?;
    println!("1) enforce — email: redact, phone: mask, api_key: tokenize, card: encrypt");
    match outcome.output(&input) {
        Some(output) => println!("What the model receives:\n{}\n", pretty(output)),
        None => println!("Blocked.\n"),
    }
    println!("Summary: {}\n", serde_json::to_string(&outcome.summary)?);

    // 2. The default policy: cards and API keys are hard blocks.
    let defaults = write_config(root, "defaults.json", json!({}))?;
    let config = load_config(&defaults)?;
    let protector = build_protector(&config, open_keys(&config)?)?;
    let (_, outcome) = protect_text(&protector, &config, &input, Direction::Request)?;
    println!("2) enforce — the default policy (korean-pii, secrets-only, llm-redact; card: block)");
    if outcome.blocked {
        println!("Blocked: nothing is forwarded (the CLI exits 3; the gateway answers 403 haechi_policy_block).");
    } else {
        println!("Not blocked (unexpected for the default policy).");
    }
    println!("Summary: {}\n", serde_json::to_string(&outcome.summary)?);

    // 3. The audit trail: chained, summarized, and free of the values it protected.
    let audit_path = root.join("audit.jsonl");
    let verified = verify_file(&audit_path).map_err(|error| anyhow!("{error}"))?;
    let summary = read_summary(&audit_path).map_err(|error| anyhow!("{error}"))?;
    let log = fs::read_to_string(&audit_path).context("cannot read the demo audit log")?;
    let leaked: Vec<&str> = [EMAIL, PHONE, API_KEY, CARD]
        .into_iter()
        .filter(|value| log.contains(value))
        .collect();
    println!("3) The audit log ({} events)", summary.events);
    println!(
        "Hash chain: {}",
        serde_json::to_string(&verified.to_json())?
    );
    println!("Report: {}", serde_json::to_string(&summary)?);
    if leaked.is_empty() {
        println!("None of the protected values appears in the audit log.");
    } else {
        println!(
            "WARNING: {} protected value(s) found in the audit log.",
            leaked.len()
        );
    }
    Ok(if leaked.is_empty() { super::EXIT_OK } else { 1 })
}

fn sample_payload() -> String {
    json!({
        "model": "gpt-4o-mini",
        "messages": [
            { "role": "system", "content": "You are a helpful support assistant." },
            { "role": "user", "content": format!(
                "Hi, I'm Minji. Reach me at {EMAIL} or {PHONE}. Our Stripe key is {API_KEY} and I paid with card {CARD}."
            ) }
        ]
    })
    .to_string()
}

/// A config in the demo directory: enforce mode, `policy` merged over the defaults.
fn write_config(root: &Path, name: &str, mut policy: Value) -> Result<std::path::PathBuf> {
    policy["mode"] = json!("enforce");
    let config = json!({
        "mode": "enforce",
        "policy": policy,
        "keys": { "keyFile": root.join("keys.json") },
        "audit": { "path": root.join("audit.jsonl") },
        "tokenVault": { "path": root.join("token-vault.json") },
    });
    let path = root.join(name);
    fs::write(&path, serde_json::to_string_pretty(&config)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|_| text.to_string())
}
