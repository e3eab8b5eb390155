mod common;

use std::fs;
use std::io::Write;
use std::path::Path;

use common::{assert_success, ok, spawn_self};
use haechi_core::audit::{verify_lines, ChainHead, FailureKind};
use haechi_core::seams::AuditSink;
use haechi_store::audit::{
    check_writable, read_summary, verify_file, verify_file_anchored, AnchorSettings,
    AuditStoreError, FsyncPolicy, JsonlAuditSink, JsonlOptions,
};
use serde_json::{json, Map, Value};

fn event(id: &str) -> Map<String, Value> {
    match json!({
        "schemaVersion": "1", "id": id, "correlationId": null,
        "timestamp": "2026-01-01T00:00:00.000Z", "protocol": "test", "operation": "append",
        "identity": null, "profile": null, "mode": "enforce", "enforced": true, "blocked": false,
        "payloadShapeHash": "0123456789ab", "detections": [],
        "summary": {"detectionCount": 1, "byType": {"secret": 1}, "byAction": {"block": 1}}
    }) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn sink(path: &Path) -> JsonlAuditSink {
    ok(JsonlAuditSink::new(path, JsonlOptions::default()))
}

fn lines(path: &Path) -> Vec<String> {
    ok(fs::read_to_string(path))
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn records_form_a_valid_chain_in_a_new_directory() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("nested/dir/audit.jsonl");
    let sink = sink(&path);
    for i in 0..5 {
        ok(
            sink.record(haechi_core::audit::PreparedEvent::from_map(event(
                &format!("e-{i}"),
            ))),
        );
    }
    let outcome = ok(verify_file(&path));
    assert!(outcome.valid, "{:?}", outcome.failure);
    assert_eq!(outcome.records, 5);
    assert_eq!(outcome.head_hash, ok(sink.head()).map(|h| h.event_hash));
    let text = ok(fs::read_to_string(&path));
    assert!(text.ends_with('\n'));
    assert!(
        text.contains(r#""byType":{"secret":1}"#),
        "secret count kept"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(ok(fs::metadata(&path)).permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn a_batch_is_one_append_with_consecutive_sequences() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("audit.jsonl");
    let sink = sink(&path);
    ok(sink.record(haechi_core::audit::PreparedEvent::from_map(event("first"))));
    let head = ok(sink.append_batch((0..10).map(|i| event(&format!("b-{i}"))).collect()));
    assert_eq!(head.as_ref().map(|h| h.sequence), Some(11));
    assert_eq!(ok(sink.append_batch(Vec::new())), head);
    let outcome = ok(verify_file(&path));
    assert!(outcome.valid);
    assert_eq!(outcome.records, 11);
}

#[test]
fn sinks_sharing_a_file_revalidate_their_cached_head() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("audit.jsonl");
    let a = sink(&path);
    let b = sink(&path);
    for i in 0..6 {
        let writer = if i % 2 == 0 { &a } else { &b };
        ok(
            writer.record(haechi_core::audit::PreparedEvent::from_map(event(
                &format!("e-{i}"),
            ))),
        );
    }
    let outcome = ok(verify_file(&path));
    assert!(outcome.valid, "{:?}", outcome.failure);
    assert_eq!(outcome.records, 6);
}

#[test]
fn a_replaced_file_starts_a_new_chain() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("audit.jsonl");
    let sink = sink(&path);
    ok(sink.record(haechi_core::audit::PreparedEvent::from_map(event("old"))));
    ok(fs::rename(&path, dir.path().join("audit.jsonl.1")));
    ok(sink.record(haechi_core::audit::PreparedEvent::from_map(event("new"))));
    assert_eq!(ok(sink.head()).map(|h| h.sequence), Some(1));
    assert!(ok(verify_file(&path)).valid);
}

#[test]
fn the_chain_continues_a_log_that_lacks_its_final_line_break() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("audit.jsonl");
    ok(sink(&path).record(haechi_core::audit::PreparedEvent::from_map(event("a"))));
    let text = ok(fs::read_to_string(&path));
    ok(fs::write(&path, text.trim_end()));
    ok(sink(&path).record(haechi_core::audit::PreparedEvent::from_map(event("b"))));
    let outcome = ok(verify_file(&path));
    assert!(outcome.valid);
    assert_eq!(outcome.records, 2);
}

#[test]
fn a_torn_or_unchained_tail_refuses_to_append() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("audit.jsonl");
    let writer = sink(&path);
    ok(writer.record(haechi_core::audit::PreparedEvent::from_map(event("a"))));
    let mut file = ok(fs::OpenOptions::new().append(true).open(&path));
    ok(file.write_all(br#"{"id":"half","audit"#));
    drop(file);
    let before = ok(fs::read(&path));
    match writer.record(haechi_core::audit::PreparedEvent::from_map(event("b"))) {
        Err(error) => assert_eq!(error.code, "haechi_audit_torn_tail"),
        Ok(()) => panic!("appended after a torn record"),
    }
    assert_eq!(ok(fs::read(&path)), before, "nothing written");

    ok(fs::write(&path, "{\"id\":\"no-chain\"}\n"));
    match sink(&path).append_batch(vec![event("c")]) {
        Err(error) => assert_eq!(error.code, "haechi_audit_unchained_tail"),
        Ok(_) => panic!("appended after an unchained record"),
    }
}

#[test]
fn tampering_is_located() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("audit.jsonl");
    let sink = sink(&path);
    ok(sink.append_batch((0..5).map(|i| event(&format!("e-{i}"))).collect()));
    let mut all = lines(&path);
    all[2] = all[2].replace("\"append\"", "\"tampered\"");
    ok(fs::write(&path, all.join("\n") + "\n"));
    let outcome = ok(verify_file(&path));
    let failure = outcome.failure.clone();
    assert_eq!(
        failure.as_ref().map(|f| &f.kind),
        Some(&FailureKind::EventHashMismatch)
    );
    assert_eq!(failure.as_ref().and_then(|f| f.line), Some(3));
    assert_eq!(outcome.records, 2);
}

#[test]
fn anchors_are_written_and_catch_truncation() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("audit.jsonl");
    let anchor = dir.path().join("anchors/audit.anchor.jsonl");
    let options = JsonlOptions {
        anchor: Some(AnchorSettings {
            path: anchor.clone(),
            every_records: 2,
        }),
        fsync: FsyncPolicy::Never,
        ..JsonlOptions::default()
    };
    let sink = ok(JsonlAuditSink::new(&path, options));
    ok(sink.append_batch((0..5).map(|i| event(&format!("e-{i}"))).collect()));
    let anchors = lines(&anchor);
    assert_eq!(anchors.len(), 2);
    let records = lines(&path);
    let second: Value = ok(serde_json::from_str(&records[1]));
    let head = ChainHead::from_record(&second);
    assert_eq!(
        anchors[0],
        format!(
            r#"{{"sequence":2,"eventHash":"{}","timestamp":"2026-01-01T00:00:00.000Z"}}"#,
            head.map(|h| h.event_hash).unwrap_or_default()
        )
    );
    let intact = ok(verify_file_anchored(&path, Some(&anchor)));
    assert!(intact.valid);
    assert_eq!(
        intact.to_json()["anchored"],
        json!({"count": 2, "lastSequence": 4})
    );

    ok(fs::write(&path, records[..3].join("\n") + "\n"));
    let cut = ok(verify_file_anchored(&path, Some(&anchor)));
    assert_eq!(
        cut.to_json()["reason"],
        "tail truncation: chain has 3 records but anchor attests sequence 4"
    );
    assert!(ok(verify_file(&path)).valid);
    assert!(matches!(
        JsonlAuditSink::new(
            &path,
            JsonlOptions {
                anchor: Some(AnchorSettings {
                    path: anchor,
                    every_records: 0
                }),
                ..JsonlOptions::default()
            }
        ),
        Err(AuditStoreError::InvalidAnchorCadence)
    ));
}

#[test]
fn summary_reads_counts_and_tolerates_a_missing_log() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("audit.jsonl");
    let empty = ok(read_summary(&path));
    assert_eq!(empty.events, 0);
    let sink = sink(&path);
    let mut blocked = event("b");
    blocked.insert("blocked".into(), json!(true));
    ok(sink.append_batch(vec![event("a"), blocked]));
    let summary = ok(serde_json::to_value(ok(read_summary(&path))));
    assert_eq!(summary["events"], 2);
    assert_eq!(summary["blocked"], 1);
    assert_eq!(summary["detections"], 2);
    assert_eq!(summary["byType"], json!({"secret": 2}));
    assert_eq!(summary["byMode"], json!({"enforce": 2}));

    ok(fs::write(&path, "{\"id\":1}\n\n{oops\n"));
    match read_summary(&path) {
        Err(AuditStoreError::InvalidLine { line, .. }) => assert_eq!(line, 3),
        other => panic!("expected an invalid line error, got {other:?}"),
    }
}

#[test]
fn readiness_checks_without_writing_an_event() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("new/audit.jsonl");
    assert_eq!(check_writable(&path), Ok(()));
    assert!(!path.exists(), "the probe writes no audit file");
    assert_eq!(
        ok(fs::read_dir(dir.path().join("new"))).count(),
        0,
        "probe removed"
    );

    ok(sink(&path).record(haechi_core::audit::PreparedEvent::from_map(event("a"))));
    assert_eq!(check_writable(&path), Ok(()));
    let blocker = dir.path().join("file-not-dir");
    ok(fs::write(&blocker, ""));
    assert_eq!(
        check_writable(&blocker.join("audit.jsonl")).map_err(|e| e.reason()),
        Err("audit_dir_not_writable")
    );
}

/// Child half of the multi-process test: appends when the parent says where.
#[test]
fn child_appender() {
    let Ok(path) = std::env::var("HAECHI_TEST_AUDIT_PATH") else {
        return;
    };
    let writer: usize = std::env::var("HAECHI_TEST_WRITER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let sink = sink(Path::new(&path));
    for i in 0..RECORDS_PER_CHILD {
        let batch = if i % 5 == 0 {
            vec![
                event(&format!("w{writer}-{i}-a")),
                event(&format!("w{writer}-{i}-b")),
            ]
        } else {
            vec![event(&format!("w{writer}-{i}"))]
        };
        ok(sink.append_batch(batch));
    }
}

const CHILDREN: usize = 6;
const RECORDS_PER_CHILD: usize = 40;

#[test]
fn processes_appending_at_once_keep_one_chain() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("audit.jsonl");
    let children: Vec<_> = (0..CHILDREN)
        .map(|writer| {
            ok(spawn_self(
                "child_appender",
                &[
                    ("HAECHI_TEST_AUDIT_PATH", path.display().to_string()),
                    ("HAECHI_TEST_WRITER", writer.to_string()),
                ],
            ))
        })
        .collect();
    // This process appends too, from two threads.
    std::thread::scope(|scope| {
        for t in 0..2 {
            let path = &path;
            scope.spawn(move || {
                let sink = sink(path);
                for i in 0..RECORDS_PER_CHILD {
                    ok(
                        sink.record(haechi_core::audit::PreparedEvent::from_map(event(
                            &format!("parent-{t}-{i}"),
                        ))),
                    );
                }
            });
        }
    });
    for child in children {
        assert_success(&ok(child.wait_with_output()), "child appender");
    }
    let all = lines(&path);
    let expected = CHILDREN * (RECORDS_PER_CHILD + RECORDS_PER_CHILD / 5) + 2 * RECORDS_PER_CHILD;
    assert_eq!(all.len(), expected);
    let outcome = verify_lines(&all);
    assert!(outcome.valid, "{:?}", outcome.failure);
    assert_eq!(outcome.records as usize, expected);
}

#[test]
fn long_decimals_re_verify_after_a_round_trip_through_the_file() {
    // serde_json's default parser reads this double's shortest text one unit off; the verifier
    // must read it exactly or a valid record fails its hash.
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("audit.jsonl");
    let mut tricky = event("floats");
    let values: Vec<f64> = [
        6401977852721029802u64,
        4596373779694328218,
        4607182418800017409,
    ]
    .into_iter()
    .map(f64::from_bits)
    .chain([0.1 + 0.2, 1.0 / 3.0, 2.0 / 3.0, 1e21, 1.5e-7])
    .collect();
    tricky.insert("confidences".into(), json!(values));
    ok(sink(&path).record(haechi_core::audit::PreparedEvent::from_map(tricky)));
    let outcome = ok(verify_file(&path));
    assert!(outcome.valid, "{:?}", outcome.failure);
}

#[test]
fn under_interval_sync_a_record_is_in_the_file_when_append_returns() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("audit.jsonl");
    let options = JsonlOptions {
        fsync: FsyncPolicy::Interval(std::time::Duration::from_secs(3600)),
        ..JsonlOptions::default()
    };
    let sink = ok(JsonlAuditSink::new(&path, options));
    ok(sink.record(haechi_core::audit::PreparedEvent::from_map(event("e-1"))));
    // Written to the file at once (only the disk flush waits): another reader sees it.
    assert_eq!(lines(&path).len(), 1);
    ok(sink.record(haechi_core::audit::PreparedEvent::from_map(event("e-2"))));
    // Dropping the sink syncs what is left and stops its flush thread without waiting an hour.
    let started = std::time::Instant::now();
    drop(sink);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let outcome = ok(verify_file(&path));
    assert!(outcome.valid, "{:?}", outcome.failure);
    assert_eq!(outcome.records, 2);
}

#[test]
fn options_come_from_the_config() {
    let mut config = haechi_core::config::defaults::default_config();
    assert_eq!(
        ok(JsonlOptions::from_config(&config.audit)),
        JsonlOptions::default()
    );
    config.audit.anchor.mode = haechi_core::config::AnchorMode::File;
    config.audit.anchor.path = Some(".haechi/audit.anchor.jsonl".into());
    config.audit.anchor.every_records = 4;
    let options = ok(JsonlOptions::from_config(&config.audit));
    assert_eq!(
        options.anchor,
        Some(AnchorSettings {
            path: ".haechi/audit.anchor.jsonl".into(),
            every_records: 4
        })
    );
    assert_eq!(
        options.fsync,
        FsyncPolicy::Interval(std::time::Duration::from_millis(100))
    );
    config.audit.fsync_interval_ms = 5;
    assert_eq!(
        ok(JsonlOptions::from_config(&config.audit)).fsync,
        FsyncPolicy::Interval(std::time::Duration::from_millis(5))
    );
    config.audit.fsync = haechi_core::config::AuditFsync::EveryBatch;
    assert_eq!(
        ok(JsonlOptions::from_config(&config.audit)).fsync,
        FsyncPolicy::EveryBatch
    );
    config.audit.fsync = haechi_core::config::AuditFsync::Never;
    assert_eq!(
        ok(JsonlOptions::from_config(&config.audit)).fsync,
        FsyncPolicy::Never
    );
    // An anchor mode we cannot honour fails closed instead of silently not anchoring.
    config.audit.anchor.mode = haechi_core::config::AnchorMode::Stdout;
    assert!(JsonlOptions::from_config(&config.audit).is_err());
}
