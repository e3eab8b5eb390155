//! What `haechi proxy` writes to its log stream (issue 8, item 6): an upstream failure leaves a
//! log line in both formats, and text logs carry no colour escapes when stderr is not a terminal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

/// Start the proxy in `dir` in front of a closed port; returns the child and its address.
fn start_proxy(dir: &Path, format: &str) -> (Child, String) {
    common::haechi(dir).arg("init").assert().success();
    let config = json!({
        "mode": "enforce",
        "policy": { "mode": "enforce" },
        "target": { "type": "openai-compatible", "upstream": "http://127.0.0.1:9" },
        "logging": { "format": format },
    });
    std::fs::write(dir.join("haechi.config.json"), config.to_string()).unwrap();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("haechi"))
        .args(["proxy", "--port", "0"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let address = match format {
        "json" => {
            let event: Value = serde_json::from_str(&first).unwrap();
            format!("127.0.0.1:{}", event["port"])
        }
        _ => first.trim().rsplit("://").next().unwrap().to_string(),
    };
    // Keep reading what the proxy prints, so its stdout never closes under it.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (child, address)
}

fn post_chat(address: &str) -> String {
    let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply
}

fn stop(mut child: Child) -> String {
    child.kill().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let _ = child.wait();
    stderr
}

#[test]
fn an_unreachable_upstream_is_logged_as_a_json_line() {
    let dir = tempfile::tempdir().unwrap();
    let (child, address) = start_proxy(dir.path(), "json");

    let reply = post_chat(&address);
    assert!(reply.starts_with("HTTP/1.1 502"), "{reply}");
    let stderr = stop(child);

    let logged: Vec<Value> = stderr
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let failure = logged
        .iter()
        .find(|event| event["event"] == "upstream_unreachable")
        .unwrap_or_else(|| panic!("no upstream failure line in {stderr}"));
    assert!(failure["correlation_id"].is_string());
    assert_eq!(failure["route"], "chat-completions");
}

#[test]
fn text_logs_to_a_pipe_have_no_colour_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let (child, address) = start_proxy(dir.path(), "text");

    assert!(post_chat(&address).starts_with("HTTP/1.1 502"));
    let stderr = stop(child);

    assert!(stderr.contains("upstream_unreachable"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour escapes in {stderr:?}");
}
