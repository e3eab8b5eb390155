//! Append and tokenize costs of the embedded stores.
//! `cargo bench -p haechi-store --bench stores`

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use haechi_core::audit::{canonical_json, chain_event, sanitize_event};
use haechi_core::seams::{AuditSink, TokenRequest};
use haechi_store::audit::{FsyncPolicy, JsonlAuditSink, JsonlOptions};
use haechi_store::vault::{SqliteTokenVault, VaultSettings};
use serde_json::{json, Map, Value};

fn event() -> Map<String, Value> {
    match json!({
        "schemaVersion": "1", "id": "6f1c2d9e-0b7a-4c1e-9d3f-2a8b7c6d5e4f", "correlationId": null,
        "timestamp": "2026-01-01T00:00:00.000Z", "protocol": "llm-http", "operation": "protect",
        "identity": null, "profile": null, "mode": "enforce", "enforced": true, "blocked": false,
        "payloadShapeHash": "0123456789ab",
        "detections": [
            {"type": "email", "ruleId": "email", "path": "key_2f1e0c9a8b7d", "kind": "value",
             "confidence": 0.95, "action": "mask", "enforced": true},
            {"type": "phone", "ruleId": "kr_phone", "path": "key_aa11bb22cc33[0]", "kind": "value",
             "confidence": 0.9, "action": "tokenize", "enforced": true}
        ],
        "summary": {"detectionCount": 2, "byType": {"email": 1, "phone": 1}, "byAction": {"mask": 1, "tokenize": 1}}
    }) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn audit(c: &mut Criterion) {
    let mut group = c.benchmark_group("audit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sanitize+chain (pure)", |b| {
        let head = chain_event(event(), None).1;
        b.iter_batched(
            event,
            |e| chain_event(sanitize_event(e), Some(&head)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("canonical_json", |b| {
        let record = Value::Object(chain_event(event(), None).0);
        b.iter(|| canonical_json(&record))
    });
    let dir = tempfile::tempdir().ok();
    let base = dir
        .as_ref()
        .map(|d| d.path().to_path_buf())
        .unwrap_or_default();
    for (name, fsync) in [
        ("record, fsync never", FsyncPolicy::Never),
        ("record, fsync every batch", FsyncPolicy::EveryBatch),
    ] {
        let options = JsonlOptions {
            fsync,
            ..JsonlOptions::default()
        };
        if let Ok(sink) = JsonlAuditSink::new(base.join(format!("{fsync:?}.jsonl")), options) {
            group.bench_function(name, |b| {
                b.iter_batched(
                    event,
                    |e| sink.record(haechi_core::audit::PreparedEvent::from_map(e)),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    group.throughput(Throughput::Elements(64));
    let options = JsonlOptions {
        fsync: FsyncPolicy::EveryBatch,
        ..JsonlOptions::default()
    };
    if let Ok(sink) = JsonlAuditSink::new(base.join("batch.jsonl"), options) {
        group.bench_function("append_batch of 64, fsync every batch", |b| {
            b.iter_batched(
                || (0..64).map(|_| event()).collect(),
                |batch| sink.append_batch(batch),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn vault(c: &mut Criterion) {
    let dir = tempfile::tempdir().ok();
    let base = dir
        .as_ref()
        .map(|d| d.path().to_path_buf())
        .unwrap_or_default();
    let Ok(vault) = SqliteTokenVault::open(
        base.join("v.sqlite3"),
        Arc::new(common::FakeCrypto::default()),
        VaultSettings::default(),
    ) else {
        return;
    };
    let context = json!({"protocol": "llm-http", "direction": "request"});
    let values: Vec<String> = (0..8).map(|i| format!("user{i}@example.com")).collect();
    let mut group = c.benchmark_group("vault");
    group.throughput(Throughput::Elements(8));
    group.bench_function("tokenize batch of 8 (random ids)", |b| {
        b.iter(|| {
            let requests: Vec<TokenRequest<'_>> = values
                .iter()
                .map(|v| TokenRequest {
                    plaintext: v,
                    detection_type: "email",
                    context: &context,
                    path: "key_x",
                    rule_id: "email",
                })
                .collect();
            vault.tokenize_batch(&requests)
        })
    });
    group.finish();
}

criterion_group!(benches, audit, vault);
criterion_main!(benches);
