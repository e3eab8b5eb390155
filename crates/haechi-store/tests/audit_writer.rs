//! The group-commit writer over the real JSONL file: many threads, one unforked chain.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

use std::sync::Arc;

use haechi_core::seams::AuditSink;
use haechi_store::audit::{verify_file, AuditWriter, JsonlAuditSink, JsonlOptions, WriterOptions};
use serde_json::{json, Value};

#[test]
fn writer_threads_and_a_direct_appender_share_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = Arc::new(JsonlAuditSink::new(&path, JsonlOptions::default()).unwrap());
    let writer = Arc::new(
        AuditWriter::spawn(
            sink,
            WriterOptions {
                max_batch: 16,
                queue_capacity: 64,
            },
        )
        .unwrap(),
    );
    // A second, independent appender on the same file (as another process would be).
    let direct = Arc::new(JsonlAuditSink::new(&path, JsonlOptions::default()).unwrap());

    let mut threads = Vec::new();
    for t in 0..8 {
        let writer = Arc::clone(&writer);
        threads.push(std::thread::spawn(move || {
            for i in 0..50 {
                let Value::Object(event) = json!({"id": format!("w{t}-{i}"), "protocol": "test"})
                else {
                    unreachable!()
                };
                writer
                    .record(haechi_core::audit::PreparedEvent::from_map(event))
                    .unwrap();
            }
        }));
    }
    {
        let direct = Arc::clone(&direct);
        threads.push(std::thread::spawn(move || {
            for i in 0..50 {
                let Value::Object(event) = json!({"id": format!("d{i}"), "protocol": "test"})
                else {
                    unreachable!()
                };
                direct
                    .record(haechi_core::audit::PreparedEvent::from_map(event))
                    .unwrap();
            }
        }));
    }
    for thread in threads {
        thread.join().unwrap();
    }
    writer.shutdown();
    let outcome = verify_file(&path).unwrap();
    assert!(outcome.valid, "{:?}", outcome.failure);
    assert_eq!(outcome.records, 450);
}
