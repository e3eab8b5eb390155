//! Property tests: protect never panics on any JSON, and in enforce mode no detected value
//! survives into the output.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

use std::sync::Arc;

use haechi_core::audit::MemoryAuditSink;
use haechi_core::config::default_config;
use haechi_core::detect::{Detector, Finding};
use haechi_core::protect::{Collaborators, ProtectContext, Protector};
use haechi_core::vocab::{Action, Direction, LeafKind, Mode};
use proptest::prelude::*;
use serde_json::{Map, Value};

const SAMPLES: &[&str] = &[
    "minji.kim@example.com",
    "010-1234-5678",
    "+44 20 7946 0958",
    "4111 1111 1111 1111",
    "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
    "AKIAIOSFODNN7EXAMPLE",
    "api_key=9f8e7d6c5b4a39281716",
    "900101-1234568",
    "GB82 WEST 1234 5698 7654 32",
    "123-45-6789",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,24}",
        proptest::sample::select(SAMPLES).prop_map(str::to_string),
        (proptest::sample::select(SAMPLES), "\\PC{0,8}", "\\PC{0,8}")
            .prop_map(|(s, a, b)| format!("{a} {s} {b}")),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (1_000_000_000_000u64..9_999_999_999_999_999u64).prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn redacting_protector() -> Protector {
    let mut config = default_config();
    config.mode = Mode::Enforce;
    config.policy.mode = Some(Mode::Enforce);
    config.policy.presets = Vec::new();
    config.policy.actions.clear();
    config.policy.default_action = Action::Redact;
    // Injection is report-only by default; make it transform too so "no detection survives" holds.
    config
        .policy
        .actions
        .insert("injection".into(), Action::Redact);
    Protector::new(
        &config,
        Collaborators {
            audit: Arc::new(MemoryAuditSink::new()),
            crypto: None,
            tokenizer: None,
        },
    )
    .unwrap()
}

/// Every detected substring of every leaf (values, keys, numbers) of `value`.
fn detected_values(detector: &Detector, value: &Value, out: &mut Vec<String>) {
    let mut findings: Vec<Finding> = Vec::new();
    let mut scan = |text: &str, kind: LeafKind, out: &mut Vec<String>| {
        findings.clear();
        detector.scan(text, kind, Direction::Request, &mut findings);
        out.extend(findings.iter().map(|f| text[f.start..f.end].to_string()));
    };
    match value {
        Value::String(text) => scan(text, LeafKind::Value, out),
        Value::Number(number) => scan(&number.to_string(), LeafKind::Number, out),
        Value::Array(items) => items
            .iter()
            .for_each(|item| detected_values(detector, item, out)),
        Value::Object(map) => {
            for (key, item) in map {
                scan(key, LeafKind::Key, out);
                detected_values(detector, item, out);
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn protect_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let protector = redacting_protector();
        let context = ProtectContext::new("p", "o", Direction::Request, Mode::Enforce);
        let _ = haechi_core::protect::payload_text(&bytes)
            .and_then(|text| protector.protect(text, &context));
    }

    #[test]
    fn in_enforce_no_detected_value_survives(value in json_value()) {
        let protector = redacting_protector();
        let input = value.to_string();
        let context = ProtectContext::new("p", "o", Direction::Request, Mode::Enforce);
        let outcome = protector.protect(&input, &context).unwrap();
        let output = outcome.output(&input).unwrap();
        let reparsed: Value = serde_json::from_str(output).unwrap();
        let mut detected = Vec::new();
        detected_values(protector.detector(), &value, &mut detected);
        let mut survivors = Vec::new();
        detected_values(protector.detector(), &reparsed, &mut survivors);
        // Nothing the detector can find survives anywhere in the output…
        prop_assert!(survivors.is_empty(), "still detected after protect: {} finding(s)", survivors.len());
        // …and when the input had findings, the output differs from it.
        if !detected.is_empty() {
            prop_assert_ne!(output, input.as_str());
        }
    }
}
