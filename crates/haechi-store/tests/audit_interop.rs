//! Interop with the reference (Haechi 1.7, JavaScript). The fixtures were written by the
//! reference's own `createJsonlAuditSink` (anchored every record) with Node 20; the script is
//! described in the crate's report. Its `verifyAuditChain` reported
//! `{"valid":true,"records":6,"headHash":"TngIZom6…","anchored":{"count":6,"lastSequence":6}}`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::ok;
use haechi_core::audit::{js_stringify, verify_lines, FailureKind};
use haechi_core::seams::AuditSink;
use haechi_store::audit::{
    read_summary, verify_file, verify_file_anchored, JsonlAuditSink, JsonlOptions,
};
use serde_json::{json, Map, Value};

const REFERENCE_HEAD: &str = "TngIZom6C0N4y7185I3lYn873ceLCY7QWz4KZ4Y7yWw";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn a_reference_log_verifies_with_its_anchors() {
    let outcome = ok(verify_file_anchored(
        &fixture("reference-audit.jsonl"),
        Some(&fixture("reference-audit.anchor.jsonl")),
    ));
    assert!(outcome.valid, "{:?}", outcome.failure);
    assert_eq!(outcome.records, 6);
    assert_eq!(outcome.head_hash.as_deref(), Some(REFERENCE_HEAD));
    assert_eq!(
        outcome.to_json(),
        json!({"valid": true, "records": 6, "headHash": REFERENCE_HEAD,
               "anchored": {"count": 6, "lastSequence": 6}})
    );
}

#[test]
fn reference_lines_re_render_byte_for_byte() {
    // Numbers like 1e+21 and 1.5e-7, escapes and non-ASCII keys print exactly as JavaScript does.
    let text = ok(fs::read_to_string(fixture("reference-audit.jsonl")));
    for line in text.lines() {
        let value: Value = ok(serde_json::from_str(line));
        assert_eq!(js_stringify(&value), line);
    }
}

#[test]
fn any_changed_byte_of_a_reference_log_is_caught() {
    let text = ok(fs::read_to_string(fixture("reference-audit.jsonl")));
    let bytes = text.as_bytes();
    let mut checked = 0;
    for index in (0..bytes.len()).step_by(7) {
        if !bytes[index].is_ascii_alphanumeric() {
            continue;
        }
        let mut changed = bytes.to_vec();
        changed[index] = if bytes[index] == b'0' { b'1' } else { b'0' };
        if same_values(bytes, &changed) {
            // A digit past a double's precision (123000000000000000000 vs …010) parses to the
            // same number in JavaScript too: the record's content did not change.
            continue;
        }
        let outcome = verify_lines(changed.split(|b| *b == b'\n'));
        assert!(!outcome.valid, "a change at byte {index} went unnoticed");
        checked += 1;
    }
    assert!(checked > 100);
}

fn same_values(a: &[u8], b: &[u8]) -> bool {
    let parse = |text: &[u8]| -> Vec<Option<Value>> {
        text.split(|byte| *byte == b'\n')
            .map(|line| serde_json::from_slice(line).ok())
            .collect()
    };
    parse(a) == parse(b)
}

#[test]
fn reordering_or_deleting_reference_records_is_located() {
    let text = ok(fs::read_to_string(fixture("reference-audit.jsonl")));
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(3);
    let outcome = verify_lines(&lines);
    let failure = outcome.failure.clone();
    assert_eq!(
        failure.as_ref().map(|f| (&f.kind, f.line)),
        Some((&FailureKind::SequenceMismatch, Some(4)))
    );
    lines.swap(0, 1);
    assert_eq!(
        verify_lines(&lines).failure.map(|f| (f.kind, f.line)),
        Some((FailureKind::SequenceMismatch, Some(1)))
    );
}

#[test]
fn our_sink_continues_a_reference_log() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("audit.jsonl");
    ok(fs::copy(fixture("reference-audit.jsonl"), &path));
    let sink = ok(JsonlAuditSink::new(&path, JsonlOptions::default()));
    ok(sink.record(haechi_core::audit::PreparedEvent::from_map(sample_event(7))));
    let outcome = ok(verify_file(&path));
    assert!(outcome.valid, "{:?}", outcome.failure);
    assert_eq!(outcome.records, 7);
}

#[test]
fn the_reference_log_summarizes() {
    let summary = ok(serde_json::to_value(ok(read_summary(&fixture(
        "reference-audit.jsonl",
    )))));
    assert_eq!(summary["events"], 6);
    assert_eq!(summary["blocked"], 1);
    assert_eq!(summary["detections"], 3);
    // The reference's sanitizer deleted byType.secret from its own first record.
    assert_eq!(summary["byType"], json!({"email": 1, "kr_rrn": 1}));
    assert_eq!(
        summary["byDecision"],
        json!({"streaming_request_pass_through": 1})
    );
}

fn sample_event(i: u64) -> Map<String, Value> {
    match json!({
        "schemaVersion": "1", "id": format!("00000000-0000-4000-8000-0000000000{i:02}"),
        "correlationId": null, "timestamp": "2026-01-01T00:00:09.000Z",
        "protocol": "llm-http", "operation": "protect", "identity": null, "profile": null,
        "mode": "enforce", "enforced": true, "blocked": true, "payloadShapeHash": "0123456789ab",
        "detections": [{"type": "secret", "ruleId": "openai_api_key", "path": "key_aa11bb22cc33",
                        "kind": "value", "confidence": 0.99, "action": "block", "enforced": true}],
        "summary": {"detectionCount": 1, "byType": {"secret": 1}, "byAction": {"block": 1}},
        "numbers": [1e21, 1.5e-7, 0.30000000000000004, 9007199254740994u64, 123e18, 5e-324,
                    f64::from_bits(6401977852721029802), 1.0 / 3.0],
        "😀": "emoji key", "\u{ff61}": "halfwidth key", "Zeta": 1, "alpha": 2, "é": 3,
        "text": "tab\tnewline\nquote\"ctrl\u{1} 한글"
    }) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Writes a log for checking by hand with the reference's verifier:
/// `HAECHI_INTEROP_OUT=/tmp/interop/ours cargo test -p haechi-store --test audit_interop write_log_for_the_reference`
#[test]
fn write_log_for_the_reference() {
    let Ok(out) = std::env::var("HAECHI_INTEROP_OUT") else {
        return;
    };
    let dir = PathBuf::from(out);
    ok(fs::create_dir_all(&dir));
    let path = dir.join("ours-audit.jsonl");
    let anchor = dir.join("ours-audit.anchor.jsonl");
    let _ = fs::remove_file(&path);
    let _ = fs::remove_file(&anchor);
    let options = JsonlOptions {
        anchor: Some(haechi_store::audit::AnchorSettings {
            path: anchor,
            every_records: 1,
        }),
        ..JsonlOptions::default()
    };
    let sink = ok(JsonlAuditSink::new(&path, options));
    ok(sink.append_batch((1..=4).map(sample_event).collect()));
    ok(sink.record(haechi_core::audit::PreparedEvent::from_map(sample_event(5))));
    let continued = dir.join("continued-audit.jsonl");
    ok(fs::copy(fixture("reference-audit.jsonl"), &continued));
    let sink = ok(JsonlAuditSink::new(&continued, JsonlOptions::default()));
    ok(sink.append_batch(vec![sample_event(7), sample_event(8)]));
}
