//! The upstream's answer on its way back: streamed pass-through under the byte cap, or
//! buffered (capped), inspected in `responseProtection.mode`, and — when configured — with the
//! request's own tokens restored. What cannot be inspected follows `failureMode`, except an
//! oversized body, which is always refused.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, CONTENT_ENCODING, CONTENT_TYPE};
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::json;

use haechi_core::config::FailureMode;
use haechi_core::policy::ResolvedProfile;
use haechi_core::protect::{payload_text, ProtectError, ProtectedPayload};
use haechi_core::vocab::Direction;

use crate::body::{declared_length, read_capped, ReadError};
use crate::error::GatewayError;
use crate::gateway::{run_blocking, Gateway};
use crate::headers::{rewritten_json_headers, sanitize_response_headers};
use crate::metrics::Counter;
use crate::reply::{full, json, Body};
use crate::scope::{InFlight, Scope};

/// The cap on any upstream body the gateway relays (`responseProtection.maxBytes`).
pub(crate) fn response_cap(gateway: &Gateway) -> u64 {
    match gateway.config.response_protection.max_bytes {
        0 => 1_048_576,
        cap => cap,
    }
}

/// A streaming response relayed as it arrives. Past the cap the stream is cut (the bytes
/// already sent cannot be recalled) and the cut is counted and logged.
pub(crate) fn pass_through_stream(
    gateway: &Gateway,
    upstream: Response<Incoming>,
    scope: &Scope,
) -> Response<Body> {
    let (mut parts, incoming) = upstream.into_parts();
    sanitize_response_headers(&mut parts.headers);
    let cap = response_cap(gateway);
    let metrics = std::sync::Arc::clone(&gateway.metrics);
    let correlation_id = scope.correlation_id.clone();
    let body = Limited::new(incoming, usize::try_from(cap).unwrap_or(usize::MAX))
        .map_err(move |error| {
            if error.is::<http_body_util::LengthLimitError>() {
                metrics.inc(Counter::ResponseStreamTruncated);
                tracing::error!(
                    event = "proxy_stream_pass_through_too_large",
                    correlation_id = %correlation_id,
                    max_bytes = cap,
                );
            }
            error
        })
        .boxed();
    Response::from_parts(parts, body)
}

/// Keep `guard` (the request's in-flight slot) until the streamed body ends or is dropped.
pub(crate) fn hold_while_streaming(body: Body, guard: Option<InFlight>) -> Body {
    body.map_frame(move |frame| {
        let _held = &guard;
        frame
    })
    .boxed()
}

/// Why a response could not be inspected (the `reason` codes of the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Uninspectable {
    TooLarge,
    Compressed,
    NotJson,
    InvalidJson,
}

impl Uninspectable {
    fn reason(self) -> &'static str {
        match self {
            Uninspectable::TooLarge => "response_body_too_large",
            Uninspectable::Compressed => "compressed_response",
            Uninspectable::NotJson => "non_json_response",
            Uninspectable::InvalidJson => "invalid_json_response",
        }
    }
}

/// Buffer, inspect and answer. Returns the response and its decision name.
pub(crate) async fn protect(
    gateway: &Gateway,
    upstream: Response<Incoming>,
    scope: &Scope,
    profile: &ResolvedProfile,
    issued_tokens: &[String],
) -> Result<(Response<Body>, &'static str), GatewayError> {
    let settings = &gateway.config.response_protection;
    let (mut parts, incoming) = upstream.into_parts();
    let encoding = header_text(&parts.headers, CONTENT_ENCODING);
    let content_type = header_text(&parts.headers, CONTENT_TYPE);
    sanitize_response_headers(&mut parts.headers);
    let cap = response_cap(gateway);
    let declared = declared_length(&parts.headers);
    let read = read_capped(incoming, declared, cap, None);
    let timeout = Duration::from_millis(gateway.config.limits.upstream_timeout_ms);
    let read = match tokio::time::timeout(timeout, read).await {
        Ok(read) => read,
        Err(_) => return Err(GatewayError::UpstreamBodyTimeout),
    };
    let raw = match read {
        Ok(raw) => raw,
        Err(ReadError::Body(_) | ReadError::Idle) => return Err(GatewayError::UpstreamBodyFailed),
        Err(ReadError::TooLarge) if !settings.enabled => {
            gateway.metrics.inc(Counter::ResponseStreamTruncated);
            let body = json!({
                "error": "haechi_response_too_large",
                "reason": Uninspectable::TooLarge.reason(),
                "message": format!("Response body exceeds responseProtection.maxBytes ({cap})"),
            });
            return Ok((
                json(StatusCode::BAD_GATEWAY, &body),
                "response_unprotected_blocked",
            ));
        }
        Err(ReadError::TooLarge) => {
            let detail = format!("Response body exceeds responseProtection.maxBytes ({cap})");
            return unprotected(
                gateway,
                scope,
                Uninspectable::TooLarge,
                detail,
                false,
                parts,
                Bytes::new(),
            )
            .await;
        }
    };
    if !settings.enabled {
        return Ok((Response::from_parts(parts, full(raw)), "forwarded"));
    }

    let compressed = encoding
        .as_deref()
        .is_some_and(|value| !value.trim().eq_ignore_ascii_case("identity"));
    if compressed {
        let detail = "Compressed responses cannot be inspected by responseProtection".to_string();
        let permitted = settings.allow_compressed;
        return unprotected(
            gateway,
            scope,
            Uninspectable::Compressed,
            detail,
            permitted,
            parts,
            raw,
        )
        .await;
    }
    let is_json = content_type
        .as_deref()
        .is_some_and(|value| value.to_ascii_lowercase().contains("application/json"));
    if !is_json {
        let detail = "Non-JSON responses cannot be inspected by responseProtection".to_string();
        let permitted = settings.allow_non_json;
        return unprotected(
            gateway,
            scope,
            Uninspectable::NotJson,
            detail,
            permitted,
            parts,
            raw,
        )
        .await;
    }

    let context = scope.protect_context(Direction::Response, settings.mode);
    let protected = payload_text(&raw).and_then(|text| {
        gateway
            .protector
            .protect_deferred(text, &[], &context, &profile.policy)
    });
    let deferred = match protected {
        Ok(deferred) => deferred,
        Err(
            error @ (ProtectError::NotUtf8 { .. }
            | ProtectError::InvalidJson { .. }
            | ProtectError::TooDeeplyNested { .. }),
        ) => {
            let detail = error.to_string();
            return unprotected(
                gateway,
                scope,
                Uninspectable::InvalidJson,
                detail,
                false,
                parts,
                raw,
            )
            .await;
        }
        Err(error) => {
            tracing::error!(
                event = "response_protect_failed",
                correlation_id = %scope.correlation_id,
                code = error.code(),
            );
            return Err(GatewayError::Internal);
        }
    };
    // Tokens reach the client only once their records are stored and the decision audited.
    let mut outcome = gateway.settle(deferred, scope).await?;
    if outcome.blocked {
        gateway.metrics.inc(Counter::Blocks);
        let body = json!({
            "error": "haechi_response_policy_block",
            "summary": outcome.summary,
            "auditId": outcome.audit_id,
        });
        return Ok((json(StatusCode::BAD_GATEWAY, &body), "response_blocked"));
    }

    let mut rewritten = match std::mem::replace(&mut outcome.payload, ProtectedPayload::Unchanged) {
        ProtectedPayload::Rewritten(text) => Some(text),
        _ => None,
    };
    if let (Some(detokenizer), false) = (&gateway.detokenizer, issued_tokens.is_empty()) {
        if gateway.config.token_vault.detokenize_responses {
            let tokens: Vec<&str> = issued_tokens.iter().map(String::as_str).collect();
            let values = run_blocking(|| detokenizer.detokenize(&tokens)).map_err(|error| {
                tracing::error!(
                    event = "detokenize_failed",
                    correlation_id = %scope.correlation_id,
                    code = error.code,
                );
                GatewayError::Internal
            })?;
            let current = match &rewritten {
                Some(text) => text.as_str(),
                // Protection verified the body is UTF-8.
                None => std::str::from_utf8(&raw).map_err(|_| GatewayError::Internal)?,
            };
            if let Some(restored) = restore_tokens(current, &values) {
                rewritten = Some(restored);
            }
        }
    }
    let body = match rewritten {
        Some(text) => {
            rewritten_json_headers(&mut parts.headers);
            Bytes::from(text)
        }
        None => raw,
    };
    Ok((Response::from_parts(parts, full(body)), "forwarded"))
}

/// A response that was not inspected: relayed (audited) when config permits it or
/// `failureMode` is `allow`, otherwise refused with `502`. Oversized bodies (`hard`) are always
/// refused.
pub(crate) async fn unprotected(
    gateway: &Gateway,
    scope: &Scope,
    why: Uninspectable,
    detail: String,
    permitted: bool,
    parts: http::response::Parts,
    raw: Bytes,
) -> Result<(Response<Body>, &'static str), GatewayError> {
    let hard = why == Uninspectable::TooLarge;
    let allowed = !hard
        && (permitted || gateway.config.response_protection.failure_mode == FailureMode::Allow);
    let decision = if allowed {
        "response_unprotected_allowed"
    } else {
        "response_unprotected_blocked"
    };
    gateway
        .decide(scope, decision, why.reason().to_string(), !allowed)
        .await?;
    gateway.metrics.inc(Counter::ResponseUnprotected);
    if allowed {
        return Ok((Response::from_parts(parts, full(raw)), decision));
    }
    if !hard {
        gateway.metrics.inc(Counter::Blocks);
    }
    let body = json!({
        "error": "haechi_response_unprotected",
        "reason": why.reason(),
        "message": detail,
    });
    Ok((json(StatusCode::BAD_GATEWAY, &body), decision))
}

pub(crate) fn header_text(headers: &HeaderMap, name: http::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Replace `[TOKEN:<id>]` markers of the given tokens inside JSON text with their plaintext,
/// escaped for a JSON string (markers only ever sit inside strings). `None` when nothing
/// was restored.
pub(crate) fn restore_tokens(text: &str, values: &HashMap<String, String>) -> Option<String> {
    if values.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut restored = false;
    for (marker, id) in haechi_core::markers::token_markers(text) {
        let Some(plaintext) = values.get(id) else {
            continue;
        };
        out.push_str(&text[copied..marker.start]);
        let mut quoted = String::with_capacity(plaintext.len() + 2);
        haechi_core::js_json::push_string(&mut quoted, plaintext);
        out.push_str(&quoted[1..quoted.len() - 1]);
        copied = marker.end;
        restored = true;
    }
    out.push_str(&text[copied..]);
    restored.then_some(out)
}

#[cfg(test)]
#[path = "tests/response.rs"]
mod tests;
