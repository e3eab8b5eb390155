//! Protect-pipeline benchmarks on the reference's `scripts/bench-payload.mjs` shapes, in enforce
//! mode with the `llm-redact` preset, single-threaded. The audit sink here only counts events, so
//! this measures the pipeline itself (walk, detect, decide, transform, event building).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use haechi_core::audit::PreparedEvent;
use haechi_core::config::default_config;
use haechi_core::protect::walk::{walk, Leaf, LeafVisitor, Segment};
use haechi_core::protect::{Collaborators, ProtectContext, ProtectError, Protector};
use haechi_core::seams::{AuditSink, ProviderError};
use haechi_core::vocab::{Direction, LeafKind, Mode};
use serde_json::{json, Map, Value};

#[derive(Default)]
struct CountingSink(AtomicU64);

impl AuditSink for CountingSink {
    fn record(&self, event: PreparedEvent) -> Result<(), ProviderError> {
        black_box(event);
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn protector() -> Protector {
    let mut config = default_config();
    config.mode = Mode::Enforce;
    config.policy.mode = Some(Mode::Enforce);
    config.policy.presets = vec!["llm-redact".to_string()];
    let collaborators = Collaborators {
        audit: Arc::new(CountingSink::default()),
        crypto: None,
        tokenizer: None,
    };
    match Protector::new(&config, collaborators) {
        Ok(protector) => protector,
        Err(error) => panic!("bench config must build: {error}"),
    }
}

fn flat_payload(size_kb: usize) -> String {
    let filler = "a".repeat(size_kb * 1024 - 64);
    json!({ "messages": [{ "role": "user", "content": format!("{filler} minji.kim@example.com") }] })
        .to_string()
}

fn nested_payload(depth: usize) -> String {
    let mut node = json!({ "content": "minji.kim@example.com" });
    for _ in 0..depth {
        node = json!({ "nested": node });
    }
    node.to_string()
}

fn fan_out_payload(keys: usize) -> String {
    let mut wide = Map::new();
    for index in 0..keys {
        wide.insert(
            format!("field_{index}"),
            Value::from(format!("value_{index}")),
        );
    }
    let list: Vec<Value> = (0..keys)
        .map(|index| Value::from(format!("item_{index}")))
        .collect();
    json!({ "wide": wide, "list": list }).to_string()
}

/// A ~1 KB chat request with nothing to protect (most real traffic).
fn clean_chat_payload() -> String {
    json!({
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "messages": [
            { "role": "system", "content": "You are a helpful support assistant for an online shop. Answer briefly and never repeat personal data back to the customer." },
            { "role": "user", "content": "Hi, I ordered a desk lamp last week and it still has not arrived. The order was placed on the mobile app, and the tracking page has not updated for five days. Could you check what happened and tell me when I can expect delivery? I would also like to know whether I can change the delivery address to my office, since I will be travelling next week. Thanks a lot for your help, I really appreciate it." },
            { "role": "assistant", "content": "Thanks for reaching out. I can look into the order status for you. Could you share the order number shown in the confirmation message?" },
            { "role": "user", "content": "Sure, it is order 55-1182. Please let me know." }
        ]
    })
    .to_string()
}

/// A ~1 KB chat request carrying an email, a phone number and an assignment-form secret.
pub fn chat_payload() -> String {
    json!({
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "messages": [
            { "role": "system", "content": "You are a helpful support assistant for an online shop. Answer briefly and never repeat personal data back to the customer." },
            { "role": "user", "content": "Hi, I ordered a desk lamp last week and it still has not arrived. My account email is minji.kim@example.com and you can reach me at 010-1234-5678 if needed. Our integration config has api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc which might be relevant. The order was placed on the mobile app, and the tracking page has not updated for five days. Could you check what happened and tell me when I can expect delivery? Thanks a lot for your help, I really appreciate it." },
            { "role": "assistant", "content": "Thanks for reaching out. I can look into the order status for you. Could you share the order number shown in the confirmation message?" },
            { "role": "user", "content": "Sure, it is order 55-1182. Please let me know." }
        ]
    })
    .to_string()
}

/// The body `scripts/bench-gateway.sh` sends (an email, a phone number and two secrets).
const GATEWAY_REQUEST: &str = r#"{"model":"gpt-4o-mini","temperature":0.2,"max_tokens":256,"messages":[{"role":"system","content":"You are a careful support assistant for an online bookshop. Answer briefly and politely, never invent order details, and ask for clarification when a request is ambiguous. Summaries should use plain language and short sentences."},{"role":"user","content":"Hello! I ordered three paperbacks last week and the parcel still has not arrived. My tracking page says it left the warehouse on Monday but nothing has changed since then. Could you check what is going on? You can reach me at jane.doe@example.com or on 010-1234-5678 during office hours. Also, our integration keeps failing with the config line api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc and the staging box still has password=Kq7vR2mXw9LpT4zN, so please tell me whether I should rotate both. I would also like to know whether I can change the delivery address to my office, and whether the bookshop offers gift wrapping for the second order I am planning to place next month. Thank you very much for your help, and sorry!"}]}"#;

/// The benchmark stub's chat answer.
const GATEWAY_RESPONSE: &str = r#"{"id":"chatcmpl-stub-1","object":"chat.completion","created":1796563358,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the stub upstream. This canned completion carries no personal data, so a protecting gateway can pass it through unchanged.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":17,"completion_tokens":34,"total_tokens":51},"system_fingerprint":"fp_stub"}"#;

fn bench_protect(c: &mut Criterion) {
    let protector = protector();
    // What the gateway's benchmark asks of the pipeline per request: the request in enforce,
    // the answer in report-only (both events prepared).
    let request = ProtectContext::new(
        "llm-http",
        "request:POST chat-completions",
        Direction::Request,
        Mode::Enforce,
    );
    let response = ProtectContext::new(
        "llm-http",
        "response:POST chat-completions",
        Direction::Response,
        Mode::ReportOnly,
    );
    let mut group = c.benchmark_group("gateway_exchange");
    group.bench_function("request", |b| {
        b.iter(|| {
            black_box(
                protector
                    .protect(black_box(GATEWAY_REQUEST), &request)
                    .is_ok(),
            )
        })
    });
    group.bench_function("response", |b| {
        b.iter(|| {
            black_box(
                protector
                    .protect(black_box(GATEWAY_RESPONSE), &response)
                    .is_ok(),
            )
        })
    });
    group.finish();

    let context = ProtectContext::new("bench", "protect", Direction::Request, Mode::Enforce);
    let cases = [
        ("flat_256kb", flat_payload(256)),
        ("nested_200", nested_payload(200)),
        ("fan_out_5000", fan_out_payload(5000)),
        ("chat_1kb", chat_payload()),
        ("chat_1kb_clean", clean_chat_payload()),
    ];
    let mut group = c.benchmark_group("protect_enforce_llm_redact");
    for (name, payload) in &cases {
        group.throughput(Throughput::Bytes(payload.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| {
                let outcome = protector.protect(black_box(payload.as_str()), &context);
                black_box(outcome.is_ok())
            })
        });
    }
    group.finish();

    // The walk alone (parse, paths, shape hash): the floor under the pipeline.
    let mut group = c.benchmark_group("walk_only");
    for (name, payload) in &cases {
        group.throughput(Throughput::Bytes(payload.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| walk(black_box(payload), 256, &mut Discard).map(|hash| hash.len()))
        });
    }
    group.finish();

    // Detection alone over every leaf, without the walk.
    let detector = protector.detector();
    let mut group = c.benchmark_group("detect_only");
    for (name, payload) in &cases {
        let mut leaves = Collect::default();
        if walk(payload, 256, &mut leaves).is_err() {
            continue;
        }
        group.throughput(Throughput::Bytes(payload.len() as u64));
        group.bench_function(*name, |b| {
            let mut findings = Vec::new();
            b.iter(|| {
                for (kind, text) in &leaves.0 {
                    findings.clear();
                    detector.scan(black_box(text), *kind, Direction::Request, &mut findings);
                }
                findings.len()
            })
        });
    }
    group.finish();
}

struct Discard;

impl<'a> LeafVisitor<'a> for Discard {
    fn leaf(&mut self, _path: &[Segment<'a>], leaf: Leaf<'a>) -> Result<(), ProtectError> {
        black_box(leaf);
        Ok(())
    }
}

#[derive(Default)]
struct Collect(Vec<(LeafKind, String)>);

impl<'a> LeafVisitor<'a> for Collect {
    fn leaf(&mut self, _path: &[Segment<'a>], leaf: Leaf<'a>) -> Result<(), ProtectError> {
        self.0.push((leaf.kind, leaf.text.into_owned()));
        Ok(())
    }
}

criterion_group!(benches, bench_protect);
criterion_main!(benches);
