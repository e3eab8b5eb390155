//! `mcp-wrap` around real child processes (small `sh` servers): routing in both directions,
//! the end of input, exit codes and stderr modes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod support;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use haechi_mcp::wrap::{self, ClientIo, ServerCommand, StderrMode, WrapError};
use support::{enforcing, filter_with, API_KEY, EMAIL};

/// A writer the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<serde_json::Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn sh(script: &str, args: &[&Path]) -> ServerCommand {
    let mut words: Vec<OsString> = vec!["sh".into(), "-c".into(), script.into(), "server".into()];
    words.extend(args.iter().map(|p| p.as_os_str().to_owned()));
    ServerCommand::from_words(words).unwrap()
}

struct Run {
    code: i32,
    stdout: Captured,
    stderr: Captured,
}

fn run(server: &ServerCommand, mode: StderrMode, input: impl Read + Send + 'static) -> Run {
    let (filter, _) = filter_with(&enforcing());
    let (stdout, stderr) = (Captured::default(), Captured::default());
    let client = ClientIo {
        input,
        output: stdout.clone(),
        stderr: stderr.clone(),
    };
    let code = wrap::run(Arc::new(filter), server, mode, client, false).unwrap();
    Run {
        code,
        stdout,
        stderr,
    }
}

fn input(lines: &[String]) -> std::io::Cursor<Vec<u8>> {
    std::io::Cursor::new(
        lines
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            .into_bytes(),
    )
}

#[test]
fn the_server_sees_protected_params_and_never_a_refused_call() {
    let dir = tempfile::tempdir().unwrap();
    let received = dir.path().join("received.jsonl");
    // An echo server that also keeps what it was sent.
    let server = sh(r#"tee "$1""#, &[&received]);
    let lines = [
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"to":"{EMAIL}"}}}}"#),
        r#"{"jsonrpc":"2.0","id":2,"method":"resources/subscribe","params":{"uri":"x"}}"#
            .to_owned(),
    ];
    let out = run(&server, StderrMode::Filter, input(&lines));
    assert_eq!(
        out.code, 0,
        "the client's end of input closed the server's stdin"
    );

    let received = std::fs::read_to_string(&received).unwrap();
    assert!(received.contains("[REDACTED:email]") && !received.contains(EMAIL));
    assert!(
        !received.contains("resources/subscribe"),
        "a refused call never reaches the server"
    );

    let answers = out.stdout.lines();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(answers
        .iter()
        .any(|a| a["error"]["code"] == -32003 && a["id"] == 2));
    // The echoed call came back through the server-side filter.
    assert!(answers
        .iter()
        .any(|a| a["params"]["to"] == "[REDACTED:email]"));
}

#[test]
fn a_blocked_server_request_is_answered_to_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let reply = dir.path().join("reply.jsonl");
    let request = format!(
        r#"{{"jsonrpc":"2.0","id":"s-1","method":"sampling/createMessage","params":{{"text":"api_key={API_KEY}"}}}}"#
    );
    let script =
        format!("printf '%s\\n' '{request}'; IFS= read -r line; printf '%s\\n' \"$line\" > \"$1\"");
    let server = sh(&script, &[&reply]);
    // The client keeps its input open until the server is done.
    let (reader, writer) = std::io::pipe().unwrap();
    let out = run(&server, StderrMode::Filter, reader);
    drop(writer);
    assert_eq!(out.code, 0);
    let reply: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&reply).unwrap().trim()).unwrap();
    assert_eq!(reply["id"], "s-1");
    assert_eq!(reply["error"]["code"], -32001);
    assert!(
        out.stdout.text().is_empty(),
        "the client never saw the request: {}",
        out.stdout.text()
    );
}

#[test]
fn the_exit_code_of_the_server_is_kept() {
    let out = run(&sh("exit 3", &[]), StderrMode::Filter, input(&[]));
    assert_eq!(out.code, 3);
    let out = run(&sh("kill -TERM $$", &[]), StderrMode::Filter, input(&[]));
    assert_eq!(out.code, 1, "killed by a signal");
}

#[test]
fn stderr_lines_are_filtered_dropped_or_passed() {
    let script = format!(
        "echo 'starting for {EMAIL}' >&2; echo 'token api_key={API_KEY}' >&2; printf 'no newline' >&2"
    );
    let server = sh(&script, &[]);
    let out = run(&server, StderrMode::Filter, input(&[]));
    assert_eq!(
        out.stderr.text(),
        "starting for [REDACTED:email]\nno newline\n"
    );

    let out = run(&server, StderrMode::Drop, input(&[]));
    assert_eq!(out.stderr.text(), "");
}

#[test]
fn a_command_that_cannot_start_is_a_clear_error() {
    let (filter, _) = filter_with(&enforcing());
    let server = ServerCommand::from_words(vec!["/nonexistent/mcp-server".into()]).unwrap();
    let client = ClientIo {
        input: input(&[]),
        output: Captured::default(),
        stderr: Captured::default(),
    };
    let error =
        wrap::run(Arc::new(filter), &server, StderrMode::Filter, client, false).unwrap_err();
    assert!(matches!(error, WrapError::Spawn { .. }));
    assert!(error
        .to_string()
        .starts_with("cannot start /nonexistent/mcp-server"));
    assert!(matches!(
        ServerCommand::from_words(vec![]),
        Err(WrapError::NoCommand)
    ));
    assert_eq!(
        StderrMode::parse("loud").unwrap_err().to_string(),
        r#"mcp-wrap --stderr must be one of: filter | drop | inherit (got "loud")"#
    );
}
