//! The `/metrics` exposition: the reference's metric names, label sets and buckets in
//! OpenMetrics text, every family present from the start, counts exact under concurrency and
//! nothing but the bounded label values passed in.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use haechi_core::vocab::Mode;
use haechi_gateway::metrics::{Counter, GatewayMetrics, DURATION_BUCKETS};

const COUNTER_NAMES: [&str; 11] = [
    "haechi_requests_total",
    "haechi_blocks_total",
    "haechi_auth_denied_total",
    "haechi_rate_limited_total",
    "haechi_upstream_timeout_total",
    "haechi_upstream_error_total",
    "haechi_response_unprotected_total",
    "haechi_internal_error_total",
    "haechi_overloaded_total",
    "haechi_response_stream_truncated_total",
    "haechi_audit_unavailable_total",
];
const HISTOGRAM: &str = "haechi_request_duration_seconds";

/// One sample line split into name, labels (in order) and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: String,
}

/// A strict reader for the subset of OpenMetrics text the gateway writes: it fails the test on
/// any line it does not understand, so a malformed exposition cannot pass.
fn parse(text: &str) -> (BTreeMap<String, (String, String)>, Vec<Sample>) {
    assert!(text.ends_with("# EOF\n"), "missing EOF: {text}");
    assert_eq!(text.matches("# EOF").count(), 1);
    let mut families: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut samples = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if line == "# EOF" {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap();
            assert!(help.ends_with('.') && !help.is_empty(), "{line}");
            families.entry(name.to_string()).or_default().1 = help.to_string();
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(kind == "counter" || kind == "histogram", "{line}");
            families.entry(name.to_string()).or_default().0 = kind.to_string();
            current = Some((name.to_string(), kind.to_string()));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# UNIT ") {
            assert_eq!(rest, format!("{HISTOGRAM} seconds"));
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment {line}");
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap();
                let labels = body
                    .split(',')
                    .map(|pair| {
                        let (k, v) = pair.split_once('=').unwrap();
                        let v = v
                            .strip_prefix('"')
                            .and_then(|v| v.strip_suffix('"'))
                            .unwrap();
                        (k.to_string(), v.to_string())
                    })
                    .collect();
                (name.to_string(), labels)
            }
            None => (series.to_string(), Vec::new()),
        };
        let (family, kind) = current.clone().expect("sample before any TYPE line");
        let suffixes: &[&str] = if kind == "counter" {
            &["_total"]
        } else {
            &["_bucket", "_sum", "_count"]
        };
        assert!(
            suffixes.iter().any(|s| name == format!("{family}{s}")),
            "{name} does not belong to {family}"
        );
        samples.push(Sample {
            name,
            labels,
            value: value.to_string(),
        });
    }
    (families, samples)
}

fn line(text: &str, expected: &str) {
    assert!(
        text.lines().any(|l| l == expected),
        "missing line {expected:?} in\n{text}"
    );
}

#[test]
fn content_type_is_openmetrics() {
    assert_eq!(
        GatewayMetrics::CONTENT_TYPE,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
}

#[test]
fn every_family_is_listed_before_any_traffic() {
    let text = GatewayMetrics::new().render();
    let (families, samples) = parse(&text);
    for name in COUNTER_NAMES {
        let family = name.strip_suffix("_total").unwrap();
        assert_eq!(
            families.get(family).map(|f| f.0.as_str()),
            Some("counter"),
            "{family}"
        );
    }
    assert_eq!(
        families.get(HISTOGRAM).map(|f| f.0.as_str()),
        Some("histogram")
    );
    assert_eq!(families.len(), COUNTER_NAMES.len() + 1, "{families:?}");
    // The label-free counters read 0; labelled families have no series yet.
    for counter in Counter::ALL {
        line(&text, &format!("{} 0", counter.metric_name()));
    }
    assert_eq!(samples.len(), Counter::ALL.len(), "{text}");
    assert!(!text.contains("haechi_requests_total{"));
    assert!(!text.contains("haechi_request_duration_seconds_bucket"));
}

#[test]
fn counter_enum_matches_the_catalogue() {
    let names: Vec<&str> = Counter::ALL.iter().map(|c| c.metric_name()).collect();
    assert_eq!(names, COUNTER_NAMES[1..]);
}

#[test]
fn requests_are_counted_per_label_set_in_alphabetical_label_order() {
    let metrics = GatewayMetrics::new();
    metrics.request("chat-completions", Mode::Enforce, "forwarded");
    let text = metrics.render();
    line(
        &text,
        r#"haechi_requests_total{decision="forwarded",mode="enforce",route="chat-completions"} 1"#,
    );

    metrics.request("chat-completions", Mode::Enforce, "forwarded");
    metrics.request("chat-completions", Mode::Enforce, "blocked");
    metrics.request("responses", Mode::DryRun, "forwarded");
    metrics.request("responses", Mode::ReportOnly, "auth_denied");
    let text = metrics.render();
    line(
        &text,
        r#"haechi_requests_total{decision="forwarded",mode="enforce",route="chat-completions"} 2"#,
    );
    line(
        &text,
        r#"haechi_requests_total{decision="blocked",mode="enforce",route="chat-completions"} 1"#,
    );
    line(
        &text,
        r#"haechi_requests_total{decision="forwarded",mode="dry-run",route="responses"} 1"#,
    );
    line(
        &text,
        r#"haechi_requests_total{decision="auth_denied",mode="report-only",route="responses"} 1"#,
    );
    let (_, samples) = parse(&text);
    let series = samples
        .iter()
        .filter(|s| s.name == "haechi_requests_total")
        .count();
    assert_eq!(series, 4);
}

#[test]
fn each_counter_moves_alone() {
    let metrics = GatewayMetrics::new();
    for (i, counter) in Counter::ALL.iter().enumerate() {
        for _ in 0..=i {
            metrics.inc(*counter);
        }
    }
    let text = metrics.render();
    for (i, counter) in Counter::ALL.iter().enumerate() {
        line(&text, &format!("{} {}", counter.metric_name(), i + 1));
    }
}

#[test]
fn durations_fill_cumulative_buckets_per_route() {
    let metrics = GatewayMetrics::new();
    for seconds in [0.003, 0.004, 0.02, 0.3, 0.3, 7.0, 42.0] {
        metrics.observe_duration("chat-completions", seconds);
    }
    metrics.observe_duration("messages", 1.0);
    let text = metrics.render();

    let expected = [
        ("0.005", 2),
        ("0.01", 2),
        ("0.025", 3),
        ("0.05", 3),
        ("0.1", 3),
        ("0.25", 3),
        ("0.5", 5),
        ("1.0", 5),
        ("2.5", 5),
        ("5.0", 5),
        ("10.0", 6),
        ("+Inf", 7),
    ];
    assert_eq!(expected.len(), DURATION_BUCKETS.len() + 1);
    for (le, count) in expected {
        line(
            &text,
            &format!(r#"{HISTOGRAM}_bucket{{le="{le}",route="chat-completions"}} {count}"#),
        );
    }
    line(
        &text,
        &format!(r#"{HISTOGRAM}_count{{route="chat-completions"}} 7"#),
    );
    let (_, samples) = parse(&text);
    let sum = samples
        .iter()
        .find(|s| {
            s.name == format!("{HISTOGRAM}_sum")
                && s.labels == [("route".into(), "chat-completions".into())]
        })
        .unwrap();
    let sum: f64 = sum.value.parse().unwrap();
    assert!((sum - 49.627).abs() < 1e-9, "{sum}");
    // A value on a bucket bound falls in that bucket (le is inclusive).
    line(
        &text,
        &format!(r#"{HISTOGRAM}_bucket{{le="0.5",route="messages"}} 0"#),
    );
    line(
        &text,
        &format!(r#"{HISTOGRAM}_bucket{{le="1.0",route="messages"}} 1"#),
    );
    line(
        &text,
        &format!(r#"{HISTOGRAM}_count{{route="messages"}} 1"#),
    );
}

#[test]
fn only_the_label_values_passed_in_appear() {
    let metrics = GatewayMetrics::new();
    let routes = ["chat-completions", "responses", "messages"];
    let decisions = ["forwarded", "blocked", "rate_limited", "stream_inspected"];
    let modes = [Mode::DryRun, Mode::ReportOnly, Mode::Enforce];
    for (i, route) in routes.iter().enumerate() {
        for (j, decision) in decisions.iter().enumerate() {
            metrics.request(route, modes[(i + j) % 3], decision);
        }
        metrics.observe_duration(route, 0.01 * i as f64);
    }
    let text = metrics.render();
    let (_, samples) = parse(&text);

    let les: BTreeSet<String> = DURATION_BUCKETS
        .iter()
        .map(|b| format!("{b:?}"))
        .chain(["+Inf".to_string()])
        .collect();
    let mut seen_keys = BTreeSet::new();
    for sample in &samples {
        for (key, value) in &sample.labels {
            seen_keys.insert(key.clone());
            let allowed = match key.as_str() {
                "route" => routes.contains(&value.as_str()),
                "decision" => decisions.contains(&value.as_str()),
                "mode" => Mode::ALL.contains(&value.as_str()),
                "le" => les.contains(value),
                _ => false,
            };
            assert!(allowed, "unexpected label {key}={value:?} in {sample:?}");
        }
    }
    let keys: Vec<&str> = seen_keys.iter().map(String::as_str).collect();
    assert_eq!(keys, ["decision", "le", "mode", "route"]);
    let requests = samples
        .iter()
        .filter(|s| s.name == "haechi_requests_total")
        .count();
    assert_eq!(requests, routes.len() * decisions.len());
}

#[test]
fn concurrent_updates_are_all_counted() {
    fn assert_shareable<T: Send + Sync + 'static>() {}
    assert_shareable::<GatewayMetrics>();

    const THREADS: usize = 8;
    const PER_THREAD: usize = 5_000;
    let metrics = Arc::new(GatewayMetrics::new());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let metrics = Arc::clone(&metrics);
            std::thread::spawn(move || {
                let route = if t % 2 == 0 {
                    "chat-completions"
                } else {
                    "responses"
                };
                for _ in 0..PER_THREAD {
                    metrics.request(route, Mode::Enforce, "forwarded");
                    metrics.inc(Counter::Blocks);
                    metrics.observe_duration(route, 0.02);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let text = metrics.render();
    let half = THREADS / 2 * PER_THREAD;
    for route in ["chat-completions", "responses"] {
        line(
            &text,
            &format!(
                r#"haechi_requests_total{{decision="forwarded",mode="enforce",route="{route}"}} {half}"#
            ),
        );
        line(
            &text,
            &format!(r#"{HISTOGRAM}_count{{route="{route}"}} {half}"#),
        );
        line(
            &text,
            &format!(r#"{HISTOGRAM}_bucket{{le="0.025",route="{route}"}} {half}"#),
        );
    }
    line(
        &text,
        &format!("haechi_blocks_total {}", THREADS * PER_THREAD),
    );
}
