//! Group-commit audit writer throughput: events per second appended with the chain by one writer
//! thread, fed by 64 producer threads (a busy gateway), at both fsync policies.
//! `cargo bench -p haechi-store --bench audit_writer`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use haechi_core::audit::PreparedEvent;
use haechi_core::seams::AuditSink;
use haechi_store::audit::{AuditWriter, FsyncPolicy, JsonlAuditSink, JsonlOptions, WriterOptions};
use serde_json::{json, Map, Value};

const PRODUCERS: usize = 64;
const EVENTS_PER_ITERATION: usize = 2_000;

fn event(n: usize) -> Map<String, Value> {
    match json!({
        "schemaVersion": "1", "id": format!("bench-{n}"), "correlationId": null,
        "timestamp": "2026-01-01T00:00:00.000Z", "protocol": "llm-http", "operation": "protect",
        "identity": null, "profile": null, "mode": "enforce", "enforced": true, "blocked": false,
        "payloadShapeHash": "0123456789ab",
        "detections": [{"type": "email", "ruleId": "email", "path": "key_2f1e0c9a8b7d", "kind": "value",
            "confidence": 0.95, "action": "redact", "enforced": true}],
        "summary": {"detectionCount": 1, "byType": {"email": 1}, "byAction": {"redact": 1}}
    }) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Push `EVENTS_PER_ITERATION` events through the writer from `PRODUCERS` threads.
fn run_producers(writer: &Arc<AuditWriter>) -> Duration {
    let started = Instant::now();
    let threads: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let writer = Arc::clone(writer);
            std::thread::spawn(move || {
                for i in 0..EVENTS_PER_ITERATION / PRODUCERS {
                    let _ = writer.record(PreparedEvent::from_map(event(p * 1_000_000 + i)));
                }
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
    started.elapsed()
}

fn writer(c: &mut Criterion) {
    let mut group = c.benchmark_group("audit_writer_64_producers");
    group.throughput(Throughput::Elements(EVENTS_PER_ITERATION as u64));
    group.sample_size(10);
    for (name, fsync) in [
        ("fsync_every_batch", FsyncPolicy::EveryBatch),
        ("fsync_never", FsyncPolicy::Never),
    ] {
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(error) => panic!("temp dir: {error}"),
        };
        let options = JsonlOptions {
            fsync,
            ..JsonlOptions::default()
        };
        let sink = match JsonlAuditSink::new(dir.path().join("audit.jsonl"), options.clone()) {
            Ok(sink) => Arc::new(sink),
            Err(error) => panic!("sink: {error}"),
        };
        let writer = match AuditWriter::spawn(sink, WriterOptions::default()) {
            Ok(writer) => Arc::new(writer),
            Err(error) => panic!("writer: {error}"),
        };
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| (0..iterations).map(|_| run_producers(&writer)).sum())
        });
        // The writer's own capacity: full batches handed over directly, no producer threads.
        let direct = match JsonlAuditSink::new(dir.path().join("direct.jsonl"), options.clone()) {
            Ok(sink) => sink,
            Err(error) => panic!("sink: {error}"),
        };
        group.bench_function(format!("{name}_full_batches_of_500"), |b| {
            b.iter(|| {
                for batch in 0..EVENTS_PER_ITERATION / 500 {
                    let events = (0..500).map(|i| event(batch * 500 + i)).collect();
                    let _ = direct.append_batch(events);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, writer);
criterion_main!(benches);
