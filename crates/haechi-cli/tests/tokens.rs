//! `haechi token-reveal`, `token-purge` and `token-export`, end to end: governance, audit,
//! pruning, and the import of a vault written by the reference (JavaScript) Haechi.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use std::fs;
use std::path::Path;

use common::haechi;
use serde_json::{json, Value};

const EMAIL: &str = "minji.kim@example.com";
const PHONE: &str = "010-1234-5678";

struct Run {
    code: i32,
    json: Value,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let output = haechi(dir).args(args).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout,
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// A config that tokenizes emails and phone numbers in enforce mode.
fn write_config(dir: &Path, token_vault: Value) {
    let config = json!({
        "mode": "enforce",
        "policy": {"mode": "enforce", "actions": {"email": "tokenize", "phone": "tokenize"}},
        "tokenVault": token_vault,
    });
    fs::write(dir.join("haechi.config.json"), config.to_string()).unwrap();
}

fn setup(token_vault: Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    haechi(dir.path()).arg("init").assert().success();
    write_config(dir.path(), token_vault);
    dir
}

/// Protects `text` and returns the token ids in the output, in order.
fn tokenize(dir: &Path, text: &str) -> Vec<String> {
    fs::write(
        dir.join("input.json"),
        json!({ "message": text }).to_string(),
    )
    .unwrap();
    let result = run(dir, &["protect", "input.json"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let message = result.json["payload"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    message
        .split("[TOKEN:")
        .skip(1)
        .map(|rest| rest.split(']').next().unwrap().to_owned())
        .collect()
}

fn audit_events(dir: &Path) -> Vec<Value> {
    fs::read_to_string(dir.join(".haechi/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn vault_events(dir: &Path) -> Vec<Value> {
    audit_events(dir)
        .into_iter()
        .filter(|e| e["protocol"] == "token-vault")
        .collect()
}

fn audit_text(dir: &Path) -> String {
    fs::read_to_string(dir.join(".haechi/audit.jsonl")).unwrap_or_default()
}

fn assert_one_line_error(result: &Run, expected: &str) {
    assert_eq!(result.code, 1, "stdout: {}", result.stdout);
    assert!(result.stdout.is_empty());
    assert!(
        result.stderr.starts_with("haechi: ") && result.stderr.contains(expected),
        "stderr: {}",
        result.stderr
    );
    assert_eq!(result.stderr.lines().count(), 1, "{}", result.stderr);
    assert!(!result.stderr.contains("panicked"));
}

#[test]
fn reveal_is_governed_by_the_policy_and_every_decision_is_audited() {
    let dir = setup(json!({}));
    let token = tokenize(dir.path(), &format!("mail {EMAIL}")).remove(0);
    assert!(token.starts_with("tok_email_"));

    // Default policy: disabled.
    let denied = run(dir.path(), &["token-reveal", &token]);
    assert_one_line_error(&denied, "Token reveal is disabled");

    // --allow-dev-reveal reveals for this run; the marker form is accepted.
    let marker = format!("[TOKEN:{token}]");
    let allowed = run(dir.path(), &["token-reveal", &marker, "--allow-dev-reveal"]);
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    assert_eq!(
        allowed.json,
        json!({"ok": true, "token": token, "type": "email", "plaintext": EMAIL})
    );

    // revealPolicy local-dev in the config reveals without the flag.
    write_config(dir.path(), json!({"revealPolicy": "local-dev"}));
    let allowed = run(dir.path(), &["token-reveal", &token]);
    assert_eq!(allowed.json["plaintext"], EMAIL);

    let events = vault_events(dir.path());
    let seen: Vec<(&Value, &Value, &Value, &Value)> = events
        .iter()
        .map(|e| {
            (
                &e["decision"],
                &e["reason"],
                &e["token"],
                &e["revealPolicy"],
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                &json!("reveal_denied"),
                &json!("reveal_policy_disabled"),
                &json!(token),
                &json!("disabled")
            ),
            (
                &json!("reveal_allowed"),
                &Value::Null,
                &json!(token),
                &json!("local-dev")
            ),
            (
                &json!("reveal_allowed"),
                &Value::Null,
                &json!(token),
                &json!("local-dev")
            ),
        ]
    );
    assert_eq!(events[0]["operation"], "token-vault:reveal");
    assert_eq!(events[0]["blocked"], true);
    assert_eq!(events[1]["tokenType"], "email");
    // Grep the whole log: the value never reached it.
    let log = audit_text(dir.path());
    assert!(!log.contains(EMAIL) && !log.contains("minji"));
}

#[test]
fn unknown_and_raw_values_fail_without_leaking() {
    let dir = setup(json!({"revealPolicy": "local-dev"}));
    let unknown = run(dir.path(), &["token-reveal", "tok_email_0000000000000000"]);
    assert_one_line_error(&unknown, "Unknown token");

    let raw = "sk-ant-api03-EXAMPLE-NOT-A-REAL-SECRET-000000000000000000";
    let leaked = run(dir.path(), &["token-reveal", raw]);
    assert_one_line_error(&leaked, "Unknown token");
    assert!(!leaked.stderr.contains("EXAMPLE"));

    let events = vault_events(dir.path());
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["reason"], "unknown_token");
    assert_eq!(events[0]["token"], "tok_email_0000000000000000");
    let digest = events[1]["token"].as_str().unwrap();
    assert!(digest.starts_with("nontoken_") && digest.len() == "nontoken_".len() + 32);
    assert!(!audit_text(dir.path()).contains("EXAMPLE-NOT-A-REAL-SECRET"));

    let missing = run(dir.path(), &["token-reveal"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.starts_with("haechi: "));
}

// The config refuses retentionDays below 1, so expired tokens come from the reference
// fixture, which holds one.

#[test]
fn expired_tokens_are_refused_as_expired_then_purged() {
    let dir = reference_dir(json!({"revealPolicy": "local-dev"}));
    assert_eq!(exported_tokens(dir.path()).len(), 4, "imported first");
    let expired = run(dir.path(), &["token-reveal", REFERENCE_EXPIRED]);
    assert_one_line_error(&expired, "Token expired");
    let events = vault_events(dir.path());
    assert_eq!(events[0]["decision"], "reveal_failed");
    assert_eq!(events[0]["reason"], "token_expired");
    assert_eq!(events[0]["token"], REFERENCE_EXPIRED);

    let purged = run(dir.path(), &["token-purge", "--expired"]);
    assert_eq!(purged.code, 0, "{}", purged.stderr);
    assert_eq!(purged.json["ok"], true);
    assert_eq!(purged.json["command"], "token-purge");
    assert_eq!(purged.json["result"]["purged"], 1);
    let keys: Vec<&String> = purged.json["result"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["purged", "purgedAt"]);
    let again = run(dir.path(), &["token-purge", "--expired"]);
    assert_eq!(again.json["result"]["purged"], 0);

    let gone = run(dir.path(), &["token-reveal", REFERENCE_EXPIRED]);
    assert_one_line_error(&gone, "Unknown token");
    let counts: Vec<Value> = vault_events(dir.path())
        .into_iter()
        .filter(|e| e["decision"] == "purge_expired")
        .map(|e| e["count"].clone())
        .collect();
    assert_eq!(counts, [json!(1), json!(0)]);
    assert_eq!(exported_tokens(dir.path()).len(), 3);
}

#[test]
fn expired_tokens_are_pruned_on_the_next_vault_write() {
    let dir = reference_dir(json!({"revealPolicy": "local-dev"}));
    assert!(exported_tokens(dir.path()).contains(&REFERENCE_EXPIRED.to_owned()));
    let fresh = tokenize(dir.path(), "mail busan.office@example.com").remove(0);
    let listed = exported_tokens(dir.path());
    assert_eq!(
        listed.len(),
        4,
        "three live reference tokens and the new one"
    );
    assert!(listed.contains(&fresh));
    assert!(
        !listed.contains(&REFERENCE_EXPIRED.to_owned()),
        "the protect write pruned the expired token"
    );
    assert_one_line_error(
        &run(dir.path(), &["token-reveal", REFERENCE_EXPIRED]),
        "Unknown token",
    );
}

#[test]
fn purge_one_token() {
    let dir = setup(json!({"revealPolicy": "local-dev"}));
    let tokens = tokenize(dir.path(), &format!("mail {EMAIL} or call {PHONE}"));
    assert_eq!(tokens.len(), 2);
    let marker = format!("[TOKEN:{}]", tokens[0]);
    let purged = run(dir.path(), &["token-purge", &marker]);
    assert_eq!(purged.code, 0, "{}", purged.stderr);
    assert_eq!(purged.json["ok"], true);
    assert_eq!(purged.json["command"], "token-purge");
    assert_eq!(purged.json["result"]["token"], tokens[0].as_str());
    assert_eq!(purged.json["result"]["purged"], true);
    let keys: Vec<&String> = purged.json["result"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["token", "purged", "purgedAt"]);

    let again = run(dir.path(), &["token-purge", &tokens[0]]);
    assert_eq!(again.code, 0);
    assert_eq!(again.json["result"]["purged"], false);
    assert_one_line_error(
        &run(dir.path(), &["token-reveal", &tokens[0]]),
        "Unknown token",
    );
    assert_eq!(
        run(dir.path(), &["token-reveal", &tokens[1]]).json["plaintext"],
        PHONE
    );

    let purges: Vec<Value> = vault_events(dir.path())
        .into_iter()
        .filter(|e| e["decision"] == "purge")
        .collect();
    assert_eq!(purges.len(), 2);
    assert!(purges
        .iter()
        .all(|e| e["token"] == tokens[0].as_str() && e["operation"] == "token-vault:purge"));

    assert_one_line_error(
        &run(dir.path(), &["token-purge"]),
        "token-purge requires a token or --expired",
    );
    assert_one_line_error(
        &run(dir.path(), &["token-purge", &tokens[1], "--expired"]),
        "not both",
    );
}

#[test]
fn export_lists_metadata_only_and_filters_by_type() {
    let dir = setup(json!({}));
    let tokens = tokenize(dir.path(), &format!("mail {EMAIL} or call {PHONE}"));
    let all = run(dir.path(), &["token-export"]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    assert_eq!(all.json["ok"], true);
    assert_eq!(all.json["command"], "token-export");
    assert_eq!(all.json["tokens"].as_array().unwrap().len(), 2);

    let emails = run(dir.path(), &["token-export", "--type", "email"]);
    let listed = emails.json["tokens"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    let entry = listed[0].as_object().unwrap();
    let keys: Vec<&String> = entry.keys().collect();
    assert_eq!(
        keys,
        ["token", "type", "createdAt", "expiresAt", "metadata"]
    );
    assert_eq!(entry["token"], tokens[0].as_str());
    assert_eq!(entry["type"], "email");
    let metadata: Vec<&String> = entry["metadata"].as_object().unwrap().keys().collect();
    assert_eq!(metadata, ["path", "ruleId"]);
    for output in [&all.stdout, &emails.stdout] {
        assert!(!output.contains(EMAIL) && !output.contains(PHONE));
        assert!(!output.contains("envelope") && !output.contains("\"ct\""));
    }
    let none = run(dir.path(), &["token-export", "--type", "iban"]);
    assert_eq!(none.json["tokens"], json!([]));
}

/// Tokens, and the values they stand for, in `tests/fixtures/reference-vault/token-vault.json`
/// as the reference Haechi 1.7 wrote it (protect with email and phone tokenized, phone
/// deterministic, retentionDays 36500; then one token made with retentionDays -1).
const REFERENCE_TOKENS: [(&str, &str); 3] = [
    ("tok_email_4ca3b25c51992eb1", EMAIL),
    ("tok_phone_3a5511ad4e18e5c976df8eebf266ff56", PHONE),
    ("tok_email_90d754418ec250dd", "seoul.office@example.com"),
];
const REFERENCE_EXPIRED: &str = "tok_email_79b5780580bd9aff";

fn reference_dir(token_vault: Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference-vault");
    fs::create_dir_all(dir.path().join(".haechi")).unwrap();
    for file in ["dev.keys.json", "token-vault.json"] {
        fs::copy(fixtures.join(file), dir.path().join(".haechi").join(file)).unwrap();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let keys = dir.path().join(".haechi/dev.keys.json");
        fs::set_permissions(keys, fs::Permissions::from_mode(0o600)).unwrap();
    }
    write_config(dir.path(), token_vault);
    dir
}

fn exported_tokens(dir: &Path) -> Vec<String> {
    let exported = run(dir, &["token-export"]);
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    exported.json["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["token"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_reference_vault_is_imported_once_and_keeps_revealing() {
    let dir = reference_dir(json!({"revealPolicy": "local-dev"}));
    let json_vault = dir.path().join(".haechi/token-vault.json");
    let original = fs::read(&json_vault).unwrap();

    let (first_token, first_value) = REFERENCE_TOKENS[0];
    let first = run(dir.path(), &["token-reveal", first_token]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.json["plaintext"], first_value);
    assert!(
        first.stderr.contains("imported 4 tokens"),
        "{}",
        first.stderr
    );
    for (token, value) in REFERENCE_TOKENS {
        let revealed = run(dir.path(), &["token-reveal", token]);
        assert_eq!(revealed.code, 0, "{}", revealed.stderr);
        assert_eq!(revealed.json["plaintext"], value);
        assert!(revealed.stderr.is_empty(), "no second import");
    }
    assert_one_line_error(
        &run(dir.path(), &["token-reveal", REFERENCE_EXPIRED]),
        "Token expired",
    );

    // Running again never duplicates; the reference file is never written.
    let mut expected: Vec<String> = REFERENCE_TOKENS
        .iter()
        .map(|(t, _)| t.to_string())
        .collect();
    expected.push(REFERENCE_EXPIRED.to_owned());
    let mut listed = exported_tokens(dir.path());
    listed.sort();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
    assert_eq!(exported_tokens(dir.path()).len(), 4);
    assert_eq!(fs::read(&json_vault).unwrap(), original);

    // A purge (which also prunes the expired token) survives a changed reference file.
    let purged = run(dir.path(), &["token-purge", REFERENCE_TOKENS[2].0]);
    assert_eq!(purged.json["result"]["purged"], true);
    let mut changed = String::from_utf8(original).unwrap();
    changed.push('\n');
    fs::write(&json_vault, changed).unwrap();
    let mut listed = exported_tokens(dir.path());
    listed.sort();
    let mut survivors = vec![
        REFERENCE_TOKENS[0].0.to_owned(),
        REFERENCE_TOKENS[1].0.to_owned(),
    ];
    survivors.sort();
    assert_eq!(listed, survivors);
    assert!(!audit_text(dir.path()).contains(EMAIL));
}

#[test]
fn deterministic_tokens_match_the_reference_for_the_same_key() {
    // The reference made the phone token deterministic; with its key file we derive the same id,
    // so protect reuses the imported record.
    let dir = reference_dir(json!({
        "revealPolicy": "local-dev",
        "deterministic": true,
        "deterministicTypes": ["phone"],
    }));
    assert_eq!(exported_tokens(dir.path()).len(), 4, "imported first");
    let tokens = tokenize(dir.path(), &format!("call {PHONE}"));
    assert_eq!(tokens, [REFERENCE_TOKENS[1].0]);
    // The write pruned the expired one and added nothing.
    assert_eq!(exported_tokens(dir.path()).len(), 3);
    assert_eq!(
        run(dir.path(), &["token-reveal", &tokens[0]]).json["plaintext"],
        PHONE
    );
}

#[test]
fn a_missing_config_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["token-reveal", "tok_email_0000000000000000"][..],
        &["token-purge", "--expired"][..],
        &["token-export"][..],
    ] {
        assert_one_line_error(&run(dir.path(), args), "haechi init");
    }
}

#[test]
fn help_lists_the_token_commands() {
    let dir = tempfile::tempdir().unwrap();
    let help = run(dir.path(), &["help"]);
    for name in ["token-reveal", "token-purge", "token-export"] {
        assert!(help.stdout.contains(name));
        let one = run(dir.path(), &["help", name]);
        assert_eq!(one.code, 0);
        assert!(one.stdout.contains(&format!("haechi {name}")));
    }
}
