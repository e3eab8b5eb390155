//! `repair_torn_tail` (issue 8, item 2): a torn last record is shown, then cut with a copy
//! kept; the chain verifies and takes records again; damage elsewhere is never "repaired".

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::Write as _;
use std::path::Path;

use haechi_core::seams::AuditSink;
use haechi_store::audit::{repair_torn_tail, verify_file, JsonlAuditSink, JsonlOptions};
use serde_json::{json, Map, Value};

const TORN: &[u8] = br#"{"schemaVersion":1,"id":"torn","operation":"pro"#;

fn event(i: u64) -> Map<String, Value> {
    match json!({"id": format!("e{i}"), "operation": "test", "mode": "enforce"}) {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

fn log_with(path: &Path, records: u64) -> JsonlAuditSink {
    let sink = JsonlAuditSink::new(path, JsonlOptions::default()).unwrap();
    for i in 0..records {
        sink.record(haechi_core::audit::PreparedEvent::from_map(event(i)))
            .unwrap();
    }
    sink
}

fn append_raw(path: &Path, bytes: &[u8]) {
    fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

#[test]
fn a_torn_tail_is_shown_then_cut_with_a_copy_and_the_log_takes_records_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = log_with(&path, 3);
    let intact_len = fs::metadata(&path).unwrap().len();
    append_raw(&path, TORN);
    assert!(
        sink.record(haechi_core::audit::PreparedEvent::from_map(event(9)))
            .is_err(),
        "appended after a torn tail"
    );

    let plan = repair_torn_tail(&path, false).unwrap();
    let torn = plan.torn.expect("torn tail not found");
    assert_eq!(torn.line, 4);
    assert_eq!(torn.offset, intact_len);
    assert_eq!(torn.bytes, TORN.len() as u64);
    assert!(plan.kept.valid);
    assert_eq!(plan.kept.records, 3);
    assert!(plan.saved_to.is_none());
    assert_eq!(
        fs::metadata(&path).unwrap().len(),
        intact_len + TORN.len() as u64,
        "a dry run changed the log"
    );

    let applied = repair_torn_tail(&path, true).unwrap();
    let saved = applied.saved_to.expect("not applied");
    assert_eq!(fs::read(&saved).unwrap(), TORN);
    assert_eq!(fs::metadata(&path).unwrap().len(), intact_len);
    sink.record(haechi_core::audit::PreparedEvent::from_map(event(4)))
        .unwrap();
    let verified = verify_file(&path).unwrap();
    assert!(verified.valid);
    assert_eq!(verified.records, 4);
}

#[test]
fn an_intact_log_has_nothing_to_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    log_with(&path, 2);
    let before = fs::read(&path).unwrap();
    let plan = repair_torn_tail(&path, true).unwrap();
    assert!(plan.torn.is_none());
    assert!(plan.kept.valid);
    assert!(plan.saved_to.is_none());
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn a_torn_tail_after_a_broken_chain_is_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    log_with(&path, 3);
    // Tamper with the first record, then tear the tail.
    let text = fs::read_to_string(&path).unwrap().replacen("e0", "eX", 1);
    fs::write(&path, text).unwrap();
    append_raw(&path, TORN);
    let before = fs::read(&path).unwrap();

    let plan = repair_torn_tail(&path, true).unwrap();
    assert!(plan.torn.is_some());
    assert!(!plan.kept.valid);
    assert!(plan.saved_to.is_none());
    assert_eq!(
        fs::read(&path).unwrap(),
        before,
        "a broken log was modified"
    );
}
