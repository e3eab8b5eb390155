//! Prometheus metrics: the reference's `haechi_*` catalogue on prometheus-client.
//!
//! Every metric name is fixed here and every label value is a `&'static str` from a closed set
//! (route ids, policy modes, decision names), so no payload, identity or token can become a
//! series and the series count stays bounded. The hot path takes a read lock on a family map
//! and bumps an atomic (or a per-route histogram under its own short lock); it never allocates
//! once a series exists.
//!
//! The exposition is OpenMetrics text (what prometheus-client writes: counter `TYPE` lines
//! without the `_total` suffix, `# UNIT`, `# EOF`), served as [`GatewayMetrics::CONTENT_TYPE`] so
//! Prometheus parses it with the matching parser. Sample lines read as in the reference, e.g.
//! `haechi_requests_total{decision="forwarded",mode="enforce",route="chat-completions"} 1`.

use std::fmt::{self, Write as _};

use haechi_core::vocab::Mode;
use prometheus_client::encoding::{
    EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder, MetricEncoder,
};
use prometheus_client::metrics::counter::Counter as PromCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

/// Upper bounds (seconds) of the request-duration histogram buckets, as in the reference.
pub const DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Longest label value rendered; longer values are cut (defence in depth, like the reference).
const MAX_LABEL_CHARS: usize = 64;

/// The label-free event counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    Blocks,
    AuthDenied,
    RateLimited,
    UpstreamTimeout,
    UpstreamError,
    ResponseUnprotected,
    InternalError,
    Overloaded,
    ResponseStreamTruncated,
    AuditUnavailable,
}

impl Counter {
    /// Every counter, in exposition order.
    pub const ALL: [Counter; 10] = [
        Counter::Blocks,
        Counter::AuthDenied,
        Counter::RateLimited,
        Counter::UpstreamTimeout,
        Counter::UpstreamError,
        Counter::ResponseUnprotected,
        Counter::InternalError,
        Counter::Overloaded,
        Counter::ResponseStreamTruncated,
        Counter::AuditUnavailable,
    ];

    /// The sample name as scraped.
    pub fn metric_name(self) -> &'static str {
        match self {
            Counter::Blocks => "haechi_blocks_total",
            Counter::AuthDenied => "haechi_auth_denied_total",
            Counter::RateLimited => "haechi_rate_limited_total",
            Counter::UpstreamTimeout => "haechi_upstream_timeout_total",
            Counter::UpstreamError => "haechi_upstream_error_total",
            Counter::ResponseUnprotected => "haechi_response_unprotected_total",
            Counter::InternalError => "haechi_internal_error_total",
            Counter::Overloaded => "haechi_overloaded_total",
            Counter::ResponseStreamTruncated => "haechi_response_stream_truncated_total",
            Counter::AuditUnavailable => "haechi_audit_unavailable_total",
        }
    }

    // prometheus-client appends the final "." itself.
    fn help(self) -> &'static str {
        match self {
            Counter::Blocks => "Requests or responses refused because policy blocked their content",
            Counter::AuthDenied => "Requests refused because the caller could not be authenticated or authorized",
            Counter::RateLimited => "Requests refused because the caller exceeded its rate limit",
            Counter::UpstreamTimeout => "Upstream calls abandoned after the upstream timeout",
            Counter::UpstreamError => "Upstream calls that failed for a reason other than a timeout",
            Counter::ResponseUnprotected => "Upstream responses passed on without protection (too large, compressed or not JSON)",
            Counter::InternalError => "Requests that failed on an unexpected gateway error",
            Counter::Overloaded => "Requests refused with 503 because the in-flight ceiling was reached",
            Counter::ResponseStreamTruncated => "Streamed responses cut short because protection could not continue",
            Counter::AuditUnavailable => "Requests refused with 503 because their audit event could not be written",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A label value from a closed set. Rendering keeps only `[A-Za-z0-9_.:/-]` (anything else
/// becomes `_`) and at most 64 characters, so even a caller mistake cannot break the exposition
/// or smuggle content into it; the hot path only copies the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Bounded(&'static str);

impl EncodeLabelValue for Bounded {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), fmt::Error> {
        if self.0.is_empty() {
            return encoder.write_str("none");
        }
        for c in self.0.chars().take(MAX_LABEL_CHARS) {
            let safe = c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-');
            encoder.write_char(if safe { c } else { '_' })?;
        }
        Ok(())
    }
}

// Field order is label order in the output: alphabetical, as the reference prints.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    decision: Bounded,
    mode: Bounded,
    route: Bounded,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: Bounded,
}

/// Keeps a family's HELP/TYPE lines in the exposition before its first series (prometheus-client
/// leaves empty families out), so scrapers and dashboards see a stable catalogue from startup.
#[derive(Debug)]
struct Listed<M>(M);

impl<M: EncodeMetric> EncodeMetric for Listed<M> {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// The gateway's metrics. `Send + Sync`; share one behind an `Arc`.
#[derive(Debug)]
pub struct GatewayMetrics {
    registry: Registry,
    requests: Family<RequestLabels, PromCounter>,
    counters: [PromCounter; Counter::ALL.len()],
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

impl GatewayMetrics {
    /// The content type of [`render`](Self::render)'s output (OpenMetrics 1.0 text).
    pub const CONTENT_TYPE: &'static str =
        "application/openmetrics-text; version=1.0.0; charset=utf-8";

    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, PromCounter>::default();
        // Counters are registered without "_total": the OpenMetrics encoder adds it to samples.
        registry.register(
            "haechi_requests",
            "Gateway requests by route, policy mode and decision",
            Listed(requests.clone()),
        );
        let counters: [PromCounter; Counter::ALL.len()] = Default::default();
        for counter in Counter::ALL {
            let name = counter.metric_name();
            let base = name.strip_suffix("_total").unwrap_or(name);
            registry.register(base, counter.help(), counters[counter.index()].clone());
        }
        let durations: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "haechi_request_duration",
            "Time from receiving a request to finishing its response, by route",
            Unit::Seconds,
            Listed(durations.clone()),
        );
        Self {
            registry,
            requests,
            counters,
            durations,
        }
    }

    /// Counts one request in `haechi_requests_total`.
    pub fn request(&self, route: &'static str, mode: Mode, decision: &'static str) {
        let labels = RequestLabels {
            decision: Bounded(decision),
            mode: Bounded(mode.as_str()),
            route: Bounded(route),
        };
        self.requests.get_or_create(&labels).inc();
    }

    /// Adds one to a label-free counter.
    pub fn inc(&self, counter: Counter) {
        self.counters[counter.index()].inc();
    }

    /// Records a request's duration; a non-finite value is dropped and a negative one counts
    /// as zero, so a clock oddity cannot poison the sum.
    pub fn observe_duration(&self, route: &'static str, seconds: f64) {
        if !seconds.is_finite() {
            return;
        }
        let labels = RouteLabels {
            route: Bounded(route),
        };
        self.durations
            .get_or_create(&labels)
            .observe(seconds.max(0.0));
    }

    /// The full exposition, ending in `# EOF`.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        match prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            Ok(()) => out,
            // Writing to a String cannot fail; should it anyway, serve a valid empty exposition
            // rather than a torn one.
            Err(_) => "# EOF\n".to_string(),
        }
    }
}

impl Default for GatewayMetrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
#[path = "tests/metrics.rs"]
mod tests;
