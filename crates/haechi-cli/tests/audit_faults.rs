//! The CLI around a torn audit log (issue 8, item 2): `haechi proxy` refuses to start on one
//! and says how to repair it; `haechi audit-repair` shows the cut, then makes it with `--yes`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::io::Write as _;
use std::path::Path;

use common::haechi;
use serde_json::Value;

fn torn_log(dir: &Path) {
    haechi(dir).arg("init").assert().success();
    fs::write(dir.join("input.json"), r#"{"a":"hello"}"#).unwrap();
    haechi(dir)
        .args(["protect", "input.json"])
        .assert()
        .success();
    fs::OpenOptions::new()
        .append(true)
        .open(dir.join(".haechi/audit.jsonl"))
        .unwrap()
        .write_all(br#"{"schemaVersion":1,"id":"to"#)
        .unwrap();
}

fn run(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let output = haechi(dir).args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        serde_json::from_slice(&output.stdout).unwrap_or(Value::Null),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn proxy_refuses_to_start_on_a_torn_log_and_names_the_repair() {
    let dir = tempfile::tempdir().unwrap();
    torn_log(dir.path());

    let (code, _, stderr) = run(dir.path(), &["proxy", "--port", "0"]);

    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.starts_with("haechi: cannot start the gateway:"),
        "{stderr}"
    );
    assert!(stderr.contains("incomplete record"), "{stderr}");
    assert!(stderr.contains("haechi audit-repair"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn audit_repair_shows_the_torn_record_then_cuts_it_with_yes() {
    let dir = tempfile::tempdir().unwrap();
    torn_log(dir.path());
    let log = dir.path().join(".haechi/audit.jsonl");
    let torn_len = fs::metadata(&log).unwrap().len();

    let (code, shown, stderr) = run(dir.path(), &["audit-repair"]);
    assert_eq!(code, 4, "{stderr}");
    assert_eq!(shown["ok"], false);
    assert_eq!(shown["applied"], false);
    assert_eq!(shown["tornRecord"]["line"], 2);
    assert_eq!(shown["kept"]["valid"], true);
    assert_eq!(shown["kept"]["records"], 1);
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(fs::metadata(&log).unwrap().len(), torn_len);

    let (code, cut, stderr) = run(dir.path(), &["audit-repair", "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(cut["ok"], true);
    assert_eq!(cut["applied"], true);
    let saved = cut["savedTo"].as_str().unwrap();
    assert!(dir.path().join(saved).exists(), "{saved}");

    let (code, verified, _) = run(dir.path(), &["audit-verify"]);
    assert_eq!(code, 0);
    assert_eq!(verified["result"]["records"], 1);
    haechi(dir.path())
        .args(["protect", "input.json"])
        .assert()
        .success();
}

#[test]
fn a_protect_that_cannot_audit_names_the_log_not_the_input() {
    let dir = tempfile::tempdir().unwrap();
    torn_log(dir.path());

    let (code, _, stderr) = run(dir.path(), &["protect", "input.json"]);

    assert_eq!(code, 1);
    assert!(!stderr.contains("input file"), "{stderr}");
    assert!(stderr.contains("audit log"), "{stderr}");
    assert!(stderr.contains("haechi audit-repair"), "{stderr}");
}
