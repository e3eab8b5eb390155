//! `haechi mcp-stdio` and `haechi mcp-wrap` as a client's config runs them: the binary, a
//! config file, the audit log on disk.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use std::fs;
use std::path::Path;

use common::haechi;
use serde_json::{json, Value};

const EMAIL: &str = "jane.doe@example.com";
const API_KEY: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";

fn enforcing_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    haechi(dir.path()).arg("init").assert().success();
    let config = json!({
        "mode": "enforce",
        "policy": { "mode": "enforce", "presets": ["llm-redact", "secrets-only"] },
        "mcp": { "allowedMethods": ["initialize", "tools/call"], "maxMessageBytes": 2048 },
    });
    fs::write(dir.path().join("haechi.config.json"), config.to_string()).unwrap();
    dir
}

fn lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn audit_log(dir: &Path) -> String {
    fs::read_to_string(dir.join(".haechi/audit.jsonl")).unwrap()
}

#[test]
fn mcp_stdio_filters_each_line_in_order_and_audits_every_decision() {
    let dir = enforcing_dir();
    let input = [
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"to":"{EMAIL}"}}}}"#),
        String::new(),
        r#"{"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{}}"#.to_owned(),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_owned(),
        format!(r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"k":"api_key={API_KEY}"}}}}"#),
        format!(r#"{{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{{"pad":"{}"}}}}"#, "x".repeat(4096)),
        "not json".to_owned(),
        r#"{"jsonrpc":"2.0","id":5,"method":"ping"}"#.to_owned(),
    ]
    .join("\r\n");
    let output = haechi(dir.path())
        .arg("mcp-stdio")
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out = lines(&output.stdout);
    assert_eq!(out.len(), 7, "{out:?}");
    assert_eq!(out[0]["params"]["to"], "[REDACTED:email]");
    assert_eq!(out[1]["error"]["code"], -32003);
    assert_eq!(out[2]["method"], "notifications/initialized");
    assert_eq!(out[3]["error"]["code"], -32001);
    assert_eq!(out[4]["error"]["code"], -32000, "the oversized line");
    assert_eq!(out[4]["id"], 4, "answered with the id read from its head");
    assert!(out[4]["error"]["data"]["reason"]
        .as_str()
        .unwrap()
        .contains("mcp.maxMessageBytes"));
    assert_eq!(out[5]["error"]["code"], -32000);
    assert_eq!(out[6]["method"], "ping");

    let log = audit_log(dir.path());
    assert!(!log.contains(EMAIL) && !log.contains(API_KEY));
    for decision in [
        "mcp_method_not_allowed",
        "mcp_oversized",
        "mcp_invalid_message",
    ] {
        assert!(
            log.contains(&format!(r#""decision":"{decision}""#)),
            "{decision}"
        );
    }
    assert!(log.contains(r#""protocol":"mcp-stdio""#));
    haechi(dir.path()).arg("audit-verify").assert().success();
}

#[test]
fn mcp_wrap_runs_the_server_and_keeps_its_exit_code() {
    let dir = enforcing_dir();
    let received = dir.path().join("received.jsonl");
    let call =
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"to":"{EMAIL}"}}}}"#);
    let output = haechi(dir.path())
        .args([
            "mcp-wrap",
            "--",
            "sh",
            "-c",
            r#"cat > "$1"; echo "bye from $2" >&2; exit 7"#,
            "server",
        ])
        .arg(&received)
        .arg(EMAIL)
        .write_stdin(format!("{call}\n"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(7));
    let received = fs::read_to_string(&received).unwrap();
    assert!(received.contains("[REDACTED:email]") && !received.contains(EMAIL));
    // The server's stderr is filtered by default.
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr, "bye from [REDACTED:email]\n");
}

#[test]
fn mcp_wrap_refuses_a_missing_command_and_a_bad_stderr_mode_before_starting() {
    let dir = tempfile::tempdir().unwrap(); // no config: the refusals come first
    for args in [
        vec!["mcp-wrap"],
        vec!["mcp-wrap", "--"],
        vec!["mcp-wrap", "npx", "server"],
    ] {
        haechi(dir.path()).args(&args).assert().code(1).stderr(
            "haechi: mcp-wrap requires a child command after --, e.g. haechi mcp-wrap -- npx some-mcp-server\n",
        );
    }
    haechi(dir.path())
        .args(["mcp-wrap", "--stderr", "loud", "--", "true"])
        .assert()
        .code(1)
        .stderr(
            "haechi: mcp-wrap --stderr must be one of: filter | drop | inherit (got \"loud\")\n",
        );
}

#[test]
fn mcp_wrap_passes_sigterm_on_to_the_server() {
    let dir = enforcing_dir();
    let started = dir.path().join("started");
    let binary = assert_cmd::cargo::cargo_bin("haechi");
    let mut wrapper = std::process::Command::new(binary)
        .current_dir(dir.path())
        .args(["mcp-wrap", "--", "sh", "-c"])
        .arg(r#"trap 'exit 5' TERM; touch "$1"; while :; do sleep 0.05; done"#)
        .arg("server")
        .arg(&started)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !started.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &wrapper.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The server's trap decides the exit code: the signal reached it through the wrapper.
    assert_eq!(wrapper.wait().unwrap().code(), Some(5));
}
