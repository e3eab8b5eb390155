//! End-to-end tests of the `haechi` binary, each in its own temporary directory.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use assert_cmd::Command;
use common::haechi;
use serde_json::{json, Value};

fn init(dir: &Path) {
    haechi(dir).arg("init").assert().success();
}

fn enforce(dir: &Path, policy: Value) {
    let mut policy = policy;
    policy["mode"] = json!("enforce");
    let config = json!({ "mode": "enforce", "policy": policy });
    fs::write(dir.join("haechi.config.json"), config.to_string()).unwrap();
}

fn protect(dir: &Path, payload: &str) -> (i32, Value, String) {
    fs::write(dir.join("input.json"), payload).unwrap();
    let output = haechi(dir)
        .args(["protect", "input.json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), json, stderr)
}

fn stderr_of(command: &mut Command) -> (i32, String) {
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn init_writes_reference_defaults_and_a_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = haechi(dir.path()).arg("init").output().unwrap();
    assert!(output.status.success());
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["ok"], true);
    assert_eq!(result["created"], true);
    assert_eq!(result["keyFile"], ".haechi/dev.keys.json");
    let written = fs::read_to_string(dir.path().join("haechi.config.json")).unwrap();
    assert_eq!(written, haechi_core::config::default_config_json());
    let mode = fs::metadata(dir.path().join(".haechi/dev.keys.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // A second init keeps both; --force rotates the key and keeps the old kid.
    let again: Value =
        serde_json::from_slice(&haechi(dir.path()).arg("init").output().unwrap().stdout).unwrap();
    assert_eq!(again["created"], false);
    let rotated: Value = serde_json::from_slice(
        &haechi(dir.path())
            .args(["init", "--force"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(rotated["rotated"], true);
    let keys: Value = serde_json::from_str(
        &fs::read_to_string(dir.path().join(".haechi/dev.keys.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
}

#[test]
fn dry_run_detects_and_audits_without_changing_the_payload() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let payload = r#"{"messages":[{"role":"user","content":"mail minji.kim@example.com"}]}"#;
    let (code, result, _) = protect(dir.path(), payload);
    assert_eq!(code, 0);
    assert_eq!(result["mode"], "dry-run");
    assert_eq!(result["enforced"], false);
    assert_eq!(result["summary"]["byType"]["email"], 1);
    assert_eq!(
        result["payload"],
        serde_json::from_str::<Value>(payload).unwrap()
    );
    assert!(result["warnings"][0].as_str().unwrap().contains("dry-run"));
}

#[test]
fn enforce_redacts_masks_and_never_audits_values() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    enforce(dir.path(), json!({}));
    let payload = r#"{"messages":[{"role":"user","content":"mail minji.kim@example.com or call 010-1234-5678"}]}"#;
    let (code, result, stderr) = protect(dir.path(), payload);
    assert_eq!(code, 0, "{stderr}");
    let content = result["payload"]["messages"][0]["content"]
        .as_str()
        .unwrap();
    assert!(content.contains("[REDACTED:email]"), "{content}");
    assert!(!content.contains("minji.kim@example.com"));
    assert!(!content.contains("1234-5678"), "{content}");
    assert_eq!(result["summary"]["byAction"]["redact"], 1);
    assert_eq!(result["summary"]["byAction"]["mask"], 1);
    let log = fs::read_to_string(dir.path().join(".haechi/audit.jsonl")).unwrap();
    assert!(!log.contains("minji.kim"));
    assert!(!log.contains("5678"));
    assert!(log.contains(result["auditId"].as_str().unwrap()));
}

#[test]
fn a_blocked_payload_exits_3_and_prints_no_payload() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    enforce(dir.path(), json!({}));
    let (code, result, _) = protect(dir.path(), r#"{"card":"4111 1111 1111 1111"}"#);
    assert_eq!(code, 3);
    assert_eq!(result["ok"], false);
    assert_eq!(result["blocked"], true);
    assert_eq!(result["payload"], Value::Null);
}

#[test]
fn tokenize_and_encrypt_replace_values_with_markers() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    enforce(
        dir.path(),
        json!({ "actions": { "email": "tokenize", "phone": "encrypt" } }),
    );
    let (code, result, stderr) = protect(
        dir.path(),
        r#"{"a":"minji.kim@example.com","b":"010-1234-5678"}"#,
    );
    assert_eq!(code, 0, "{stderr}");
    let a = result["payload"]["a"].as_str().unwrap();
    let b = result["payload"]["b"].as_str().unwrap();
    assert!(
        a.starts_with("[TOKEN:tok_email_") && a.ends_with(']'),
        "{a}"
    );
    assert!(b.starts_with("[HAECHI_ENC:") && b.ends_with(']'), "{b}");
    assert!(dir.path().join(".haechi/token-vault.sqlite3").exists());
}

#[test]
fn a_payload_without_findings_comes_back_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    enforce(dir.path(), json!({}));
    let payload = r#"{"n":1.50,"big":123456789012345678901234567890,"s":"hello"}"#;
    let (code, result, _) = protect(dir.path(), payload);
    assert_eq!(code, 0);
    // Raw payload embedding keeps exact number text.
    let output = haechi(dir.path())
        .args(["protect", "input.json"])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("123456789012345678901234567890"), "{text}");
    assert!(text.contains("1.50"), "{text}");
    assert_eq!(result["summary"]["detectionCount"], 0);
}

#[test]
fn every_error_is_one_line_with_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();

    // No config yet.
    fs::write(path.join("input.json"), "{}").unwrap();
    let (code, stderr) = stderr_of(haechi(path).args(["protect", "input.json"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("haechi init"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");

    // Config present, key file missing.
    fs::write(path.join("haechi.config.json"), "{}").unwrap();
    let (code, stderr) = stderr_of(haechi(path).args(["protect", "input.json"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("haechi init"), "{stderr}");

    init(path);
    // Missing input.
    let (code, stderr) = stderr_of(haechi(path).args(["protect", "missing.json"]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("missing.json") && stderr.contains("not found"),
        "{stderr}"
    );
    // Malformed JSON names the position.
    fs::write(path.join("bad.json"), "{\"a\": }").unwrap();
    let (code, stderr) = stderr_of(haechi(path).args(["protect", "bad.json"]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("not valid JSON") && stderr.contains("line 1"),
        "{stderr}"
    );
    // Non-UTF-8.
    fs::write(path.join("latin1.json"), b"{\"a\":\"caf\xe9\"}").unwrap();
    let (code, stderr) = stderr_of(haechi(path).args(["protect", "latin1.json"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("UTF-8"), "{stderr}");
    // Invalid config: a typo is caught with a hint.
    fs::write(
        path.join("haechi.config.json"),
        r#"{"policy":{"mdoe":"enforce"}}"#,
    )
    .unwrap();
    let (code, stderr) = stderr_of(haechi(path).args(["protect", "input.json"]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("policy.mdoe") && stderr.contains("policy.mode"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    // A weakening action is refused at load.
    fs::write(
        path.join("haechi.config.json"),
        r#"{"policy":{"actions":{"secret":"redact"}}}"#,
    )
    .unwrap();
    let (code, stderr) = stderr_of(haechi(path).arg("status"));
    assert_eq!(code, 1);
    assert!(stderr.contains("allowUnsafeOverrides"), "{stderr}");
    // Unknown command and unknown flag.
    let (code, stderr) = stderr_of(haechi(path).arg("frobnicate"));
    assert_eq!(code, 1);
    assert!(stderr.starts_with("haechi: "), "{stderr}");
    let (code, stderr) = stderr_of(haechi(path).args(["status", "--bogus"]));
    assert_eq!(code, 1);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn status_report_help_and_config_work() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let status: Value =
        serde_json::from_slice(&haechi(dir.path()).arg("status").output().unwrap().stdout).unwrap();
    assert_eq!(status["protection"]["policyMode"], "dry-run");
    assert_eq!(status["keys"]["exists"], true);
    assert_eq!(status["keys"]["permissions"], "0600");
    assert_eq!(status["keys"]["nonceBudget"]["limit"], 4294967296u64);

    protect(dir.path(), r#"{"a":"minji.kim@example.com"}"#);
    let report: Value =
        serde_json::from_slice(&haechi(dir.path()).arg("report").output().unwrap().stdout).unwrap();
    assert_eq!(report["summary"]["events"], 1);
    assert_eq!(report["summary"]["byType"]["email"], 1);

    let help = haechi(dir.path())
        .args(["help", "protect"])
        .output()
        .unwrap();
    assert!(String::from_utf8(help.stdout)
        .unwrap()
        .contains("haechi protect <input.json>"));
    let guide = haechi(dir.path()).arg("config").output().unwrap();
    assert!(String::from_utf8(guide.stdout)
        .unwrap()
        .contains("policy.mode"));
}

#[test]
fn demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let output = haechi(dir.path()).arg("demo").output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("[REDACTED:email]"), "{stdout}");
    assert!(stdout.contains("[HAECHI_ENC:"), "{stdout}");
    assert!(stdout.contains("[TOKEN:tok_api_key_"), "{stdout}");
    assert!(stdout.contains("Blocked"), "{stdout}");
    assert!(
        stdout.contains("None of the protected values appears in the audit log"),
        "{stdout}"
    );
    // Nothing is left behind in the working directory.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

fn verify(dir: &Path, args: &[&str]) -> (i32, Value) {
    let output = haechi(dir).arg("audit-verify").args(args).output().unwrap();
    let json = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), json)
}

#[test]
fn audit_verify_detects_tampering_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    init(path);
    fs::write(
        path.join("haechi.config.json"),
        json!({ "audit": { "anchor": { "mode": "file" } } }).to_string(),
    )
    .unwrap();
    for _ in 0..4 {
        protect(path, r#"{"a":"minji.kim@example.com"}"#);
    }
    let (code, result) = verify(path, &[]);
    assert_eq!(code, 0, "{result}");
    assert_eq!(result["result"]["valid"], true);
    assert_eq!(result["result"]["records"], 4);
    assert_eq!(result["anchorPath"], ".haechi/audit.anchor.jsonl");

    let log_path = path.join(".haechi/audit.jsonl");
    let original = fs::read_to_string(&log_path).unwrap();
    let lines: Vec<&str> = original.lines().collect();

    // A modified record.
    fs::write(
        &log_path,
        original.replacen("\"enforced\":false", "\"enforced\":true", 1),
    )
    .unwrap();
    let (code, result) = verify(path, &[]);
    assert_eq!(code, 4);
    assert_eq!(result["ok"], false);
    assert!(result["result"]["reason"].is_string(), "{result}");
    assert_eq!(result["result"]["at"]["line"], 1, "{result}");

    // A deleted middle record.
    fs::write(
        &log_path,
        format!("{}\n{}\n{}\n", lines[0], lines[2], lines[3]),
    )
    .unwrap();
    assert_eq!(verify(path, &[]).0, 4);

    // Reordered records.
    fs::write(
        &log_path,
        format!("{}\n{}\n{}\n{}\n", lines[1], lines[0], lines[2], lines[3]),
    )
    .unwrap();
    assert_eq!(verify(path, &[]).0, 4);

    // Trailing records deleted: only the anchor stream can tell.
    fs::write(&log_path, format!("{}\n{}\n", lines[0], lines[1])).unwrap();
    let (code, result) = verify(path, &[]);
    assert_eq!(code, 4, "{result}");
    let (code, _) = verify(path, &["--audit", ".haechi/audit.jsonl"]);
    assert_eq!(
        code, 0,
        "without the anchor, a truncated chain is still a valid chain"
    );
}

#[test]
fn a_stderr_that_cannot_be_written_keeps_the_exit_code() {
    // /dev/full refuses every write (ENOSPC), as a log file on a full disk does: the message
    // is lost, but the process exits with its own code instead of a panic's 101.
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["frobnicate"][..],
        &["protect", "--config", "missing.json"][..],
    ] {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let status = std::process::Command::new(assert_cmd::cargo::cargo_bin("haechi"))
            .current_dir(dir.path())
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(full)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(1), "{args:?}");
    }
}

#[test]
fn an_unknown_command_uses_the_reference_wording_and_suggests() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = stderr_of(haechi(dir.path()).arg("frobnicate"));
    assert_eq!(code, 1);
    assert_eq!(
        stderr.trim_end(),
        "haechi: Unknown command: frobnicate. Run 'haechi help' for usage."
    );

    let (code, stderr) = stderr_of(haechi(dir.path()).arg("protec"));
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("haechi: Unknown command: protec.") && stderr.contains("'protect'"),
        "{stderr}"
    );

    let (code, stderr) = stderr_of(haechi(dir.path()).args(["help", "frobnicate"]));
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("haechi: Unknown command: frobnicate."),
        "{stderr}"
    );
}
