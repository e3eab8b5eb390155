use super::*;
use crate::audit::canonical::js_stringify;
use crate::audit::chain::{chain_event, ChainHead};
use serde_json::json;

fn event(id: &str) -> Map<String, Value> {
    match json!({
        "id": id, "timestamp": "1970-01-01T00:00:00.000Z", "protocol": "test",
        "operation": "tamper", "mode": "enforce", "enforced": true, "blocked": false,
        "summary": {"detectionCount": 0, "byType": {}, "byAction": {}}
    }) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn log(n: usize) -> Vec<String> {
    let mut head: Option<ChainHead> = None;
    (0..n)
        .map(|i| {
            let (record, next) = chain_event(event(&format!("e-{i}")), head.as_ref());
            head = Some(next);
            js_stringify(&Value::Object(record))
        })
        .collect()
}

fn parse(line: &str) -> Map<String, Value> {
    match serde_json::from_str(line) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn failure_of(outcome: &VerifyOutcome) -> (FailureKind, Option<u64>, u64) {
    let f = outcome
        .failure
        .clone()
        .map(|f| (f.kind, f.line, f.sequence));
    f.unwrap_or((FailureKind::InvalidJson, None, 0))
}

#[test]
fn an_intact_chain_verifies() {
    let lines = log(5);
    let outcome = verify_lines(&lines);
    assert!(outcome.valid);
    assert_eq!(outcome.records, 5);
    let last = ChainHead::from_record(&Value::Object(parse(&lines[4])));
    assert_eq!(outcome.head_hash, last.map(|h| h.event_hash));
    assert_eq!(outcome.to_json()["headHash"], json!(outcome.head_hash));
}

#[test]
fn an_empty_log_is_valid_with_a_null_head() {
    let outcome = verify_lines(Vec::<String>::new());
    assert!(outcome.valid);
    assert_eq!(
        outcome.to_json(),
        json!({"valid": true, "records": 0, "headHash": null})
    );
}

#[test]
fn blank_lines_are_skipped_but_counted_for_positions() {
    let mut lines = log(3);
    lines.insert(1, "   ".into());
    lines.push(String::new());
    assert!(verify_lines(&lines).valid);
    let mut record = parse(&lines[3]);
    record.insert("operation".into(), json!("x"));
    lines[3] = js_stringify(&Value::Object(record));
    let outcome = verify_lines(&lines);
    assert_eq!(
        failure_of(&outcome),
        (FailureKind::EventHashMismatch, Some(4), 3)
    );
}

#[test]
fn a_modified_middle_record_fails_where_it_is() {
    let mut lines = log(5);
    let mut record = parse(&lines[2]);
    record.insert("operation".into(), json!("tampered-operation"));
    lines[2] = js_stringify(&Value::Object(record));
    let outcome = verify_lines(&lines);
    assert!(!outcome.valid);
    assert_eq!(outcome.records, 2);
    assert_eq!(
        failure_of(&outcome),
        (FailureKind::EventHashMismatch, Some(3), 3)
    );
    let json = outcome.to_json();
    assert_eq!(json["reason"], "event hash mismatch");
    assert_eq!(json["at"], json!({"line": 3, "sequence": 3}));
    assert!(json.get("headHash").is_none());
    let shown = outcome.failure.map(|f| f.to_string()).unwrap_or_default();
    assert_eq!(
        shown,
        "event hash mismatch at line 3 (expected record sequence 3)"
    );
}

#[test]
fn a_rehashed_modified_record_breaks_the_next_link() {
    let mut lines = log(5);
    let mut record = parse(&lines[2]);
    record.insert("operation".into(), json!("tampered"));
    let rehash = expected_event_hash(&record).unwrap_or_default();
    if let Some(Value::Object(integrity)) = record.get_mut("auditIntegrity") {
        integrity.insert("eventHash".into(), json!(rehash));
    }
    lines[2] = js_stringify(&Value::Object(record));
    let outcome = verify_lines(&lines);
    assert_eq!(outcome.records, 3);
    assert_eq!(
        failure_of(&outcome),
        (FailureKind::PreviousHashMismatch, Some(4), 4)
    );
}

#[test]
fn reordered_records_fail_with_a_sequence_mismatch() {
    let mut lines = log(5);
    lines.swap(1, 2);
    let outcome = verify_lines(&lines);
    assert_eq!(outcome.records, 1);
    assert_eq!(
        failure_of(&outcome),
        (FailureKind::SequenceMismatch, Some(2), 2)
    );
}

#[test]
fn a_deleted_middle_record_fails_where_it_was() {
    let mut lines = log(5);
    lines.remove(2);
    let outcome = verify_lines(&lines);
    assert_eq!(outcome.records, 2);
    assert_eq!(
        failure_of(&outcome),
        (FailureKind::SequenceMismatch, Some(3), 3)
    );
}

#[test]
fn missing_integrity_and_bad_json_are_reported() {
    let mut lines = log(2);
    lines.push("{\"id\":\"x\"}".into());
    assert_eq!(
        failure_of(&verify_lines(&lines)),
        (FailureKind::MissingIntegrity, Some(3), 3)
    );
    lines[2] = "{\"id\":".into();
    let outcome = verify_lines(&lines);
    assert_eq!(failure_of(&outcome), (FailureKind::InvalidJson, Some(3), 3));
    assert_eq!(outcome.to_json()["reason"], "invalid JSON");
    assert!(!verify_lines([b"\xff\xfe".as_slice()]).valid);
}

#[test]
fn a_missing_previous_hash_reads_as_null() {
    let lines = log(1);
    let mut record = parse(&lines[0]);
    if let Some(Value::Object(integrity)) = record.get_mut("auditIntegrity") {
        integrity.shift_remove("previousHash");
    }
    let rehash = expected_event_hash(&record).unwrap_or_default();
    if let Some(Value::Object(integrity)) = record.get_mut("auditIntegrity") {
        integrity.insert("eventHash".into(), json!(rehash));
    }
    assert!(verify_lines([js_stringify(&Value::Object(record))]).valid);
}

#[test]
fn single_byte_changes_are_detected() {
    let lines = log(3);
    let text = lines.join("\n");
    let bytes = text.as_bytes();
    for index in 0..bytes.len() {
        if bytes[index] == b'\n' {
            continue;
        }
        let mut changed = bytes.to_vec();
        changed[index] = if bytes[index] == b'x' { b'y' } else { b'x' };
        let outcome = verify_lines(changed.split(|b| *b == b'\n'));
        assert!(!outcome.valid, "change at byte {index} went unnoticed");
    }
}

fn anchors_for(lines: &[String], every: usize) -> AnchorIndex {
    AnchorIndex::from_lines(lines.iter().enumerate().filter_map(|(i, line)| {
        let head = ChainHead::from_record(&Value::Object(parse(line)))?;
        ((i + 1) % every == 0).then(|| {
            format!(
                "{{\"sequence\":{},\"eventHash\":\"{}\"}}",
                head.sequence, head.event_hash
            )
        })
    }))
}

#[test]
fn anchors_detect_tail_truncation() {
    let lines = log(5);
    let anchors = anchors_for(&lines, 1);
    let intact = verify_lines_anchored(&lines, Some(&anchors));
    assert!(intact.valid);
    assert_eq!(
        intact.to_json()["anchored"],
        json!({"count": 5, "lastSequence": 5})
    );
    let cut = verify_lines_anchored(&lines[..3], Some(&anchors));
    assert!(!cut.valid);
    assert_eq!(
        cut.to_json()["reason"],
        "tail truncation: chain has 3 records but anchor attests sequence 5"
    );
    assert!(
        verify_lines(&lines[..3]).valid,
        "without anchors the gap is silent"
    );
}

#[test]
fn anchors_every_n_bound_the_residual_gap() {
    let lines = log(5);
    let anchors = anchors_for(&lines, 2);
    assert_eq!(
        anchors.summary(),
        AnchorSummary {
            count: 2,
            last_sequence: 4
        }
    );
    assert!(verify_lines_anchored(&lines[..4], Some(&anchors)).valid);
    assert!(!verify_lines_anchored(&lines[..3], Some(&anchors)).valid);
}

#[test]
fn a_disagreeing_anchor_fails_at_its_sequence() {
    let lines = log(3);
    let mut anchors = anchors_for(&lines, 1);
    anchors.push_line(br#"{"sequence":2,"eventHash":"deadbeef"}"#);
    anchors.push_line(br#"{"sequence":4,"eventH"#);
    let outcome = verify_lines_anchored(&lines, Some(&anchors));
    assert_eq!(
        outcome.to_json()["reason"],
        "anchor hash mismatch at sequence 2"
    );
    assert_eq!(failure_of(&outcome).1, Some(2));
}
