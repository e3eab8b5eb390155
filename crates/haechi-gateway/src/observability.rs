//! `GET /__haechi/*`: liveness, readiness, health and metrics. Answered before the in-flight
//! ceiling, auth and any body read, so probes and scrapes work under saturation; they say
//! nothing about payloads or callers.

use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use serde_json::json;

use crate::gateway::{run_blocking, Gateway};
use crate::metrics::GatewayMetrics;
use crate::reply::{error_json, full, json, Body};

/// This gateway's version, as the observability routes report it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub(crate) fn answer(gateway: &Gateway, path: &str) -> Response<Body> {
    match path {
        "/__haechi/live" => json(StatusCode::OK, &json!({ "ok": true, "version": VERSION })),
        "/__haechi/health" => json(
            StatusCode::OK,
            &json!({ "ok": true, "mode": gateway.config.mode.as_str(), "version": VERSION }),
        ),
        "/__haechi/ready" => {
            // Fail closed: a gateway that cannot write its audit log is not ready — by the
            // embedder's check and by the outcome of the last append.
            let audit_writable = run_blocking(|| (gateway.readiness)() && gateway.audit.ready());
            let status = if audit_writable {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json(
                status,
                &json!({
                    "ready": audit_writable,
                    "version": VERSION,
                    "checks": { "auditWritable": audit_writable },
                }),
            )
        }
        "/__haechi/metrics" if gateway.config.metrics.enabled => {
            let mut response = Response::new(full(gateway.metrics.render()));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(GatewayMetrics::CONTENT_TYPE),
            );
            response
        }
        "/__haechi/metrics" => error_json(
            StatusCode::NOT_FOUND,
            "haechi_metrics_disabled",
            "Metrics endpoint is disabled (metrics.enabled: false)",
        ),
        _ => error_json(
            StatusCode::NOT_FOUND,
            "haechi_not_found",
            "Unknown observability route; use /__haechi/live, /ready, /health or /metrics",
        ),
    }
}
