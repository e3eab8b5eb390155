//! Why the gateway did not forward a request: one error type for every phase, mapped once to
//! the HTTP answer (status, stable `haechi_*` code, message, connection and retry headers) and
//! to the metrics it counts. Messages say what is wrong and what to do; none carries a payload
//! value, header value or credential.

use http::header::{HeaderValue, CONNECTION, RETRY_AFTER};
use http::{Response, StatusCode};
use serde_json::json;

use haechi_core::audit::ProtectSummary;
use haechi_core::protect::ProtectError;

use crate::metrics::Counter;
use crate::reply::{json, Body};

/// A request the gateway answered itself instead of forwarding.
#[derive(Debug, Clone, PartialEq)]
pub enum GatewayError {
    /// `limits.maxInFlight` reached; retry after this many seconds.
    Overloaded {
        retry_after_secs: u64,
    },
    /// Plain http beyond loopback without `X-Forwarded-Proto: https`.
    ForwardedProtoRequired,
    /// An absolute or authority-form request target.
    InvalidTarget,
    /// No valid credential (`provider_failed`: the auth provider itself failed).
    AuthDenied {
        provider_failed: bool,
    },
    RateLimited,
    /// The whole request did not arrive within `limits.requestTimeoutMs`.
    RequestTimeout,
    /// No body byte arrived for `limits.bodyIdleTimeoutMs`.
    BodyIdle {
        idle_ms: u64,
    },
    BodyTooLarge {
        max_bytes: u64,
    },
    /// The client connection failed while the body was read.
    BodyUnreadable,
    BodyNotUtf8,
    /// The body could not be protected (invalid JSON, too deep, or an internal failure).
    Protect(ProtectError),
    ModelNotAllowed {
        model: String,
    },
    /// A streaming request while `streaming.requestMode` refuses streams.
    StreamingUnsupported,
    /// An MCP target reached with a method other than POST, GET or DELETE.
    McpMethodNotSupported,
    /// The request policy blocked the payload (its decision is audited under `audit_id`).
    PolicyBlocked {
        summary: Box<ProtectSummary>,
        audit_id: String,
    },
    /// The decision could not be audited, so it was not acted on.
    AuditUnavailable,
    UpstreamTimeout {
        timeout_ms: u64,
    },
    /// The upstream answered but its body did not arrive within `limits.upstreamTimeoutMs`.
    UpstreamBodyTimeout,
    UpstreamUnreachable,
    /// The upstream connection failed while its response was read.
    UpstreamBodyFailed,
    /// Anything else: the client learns only that it happened (the log has the class).
    Internal,
}

impl GatewayError {
    /// The stable code clients and tests match on (the reference's where it has one).
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::Overloaded { .. } => "haechi_overloaded",
            GatewayError::ForwardedProtoRequired => "haechi_forwarded_proto_required",
            GatewayError::InvalidTarget => "haechi_invalid_proxy_target",
            GatewayError::AuthDenied { .. } => "haechi_auth_denied",
            GatewayError::RateLimited => "haechi_rate_limited",
            GatewayError::RequestTimeout | GatewayError::BodyIdle { .. } => {
                "haechi_request_timeout"
            }
            GatewayError::BodyTooLarge { .. } => "haechi_request_body_too_large",
            GatewayError::BodyUnreadable => "haechi_request_body_unreadable",
            GatewayError::BodyNotUtf8 => "haechi_request_body_not_utf8",
            GatewayError::Protect(error) if is_client_error(error) => error.code(),
            GatewayError::Protect(_) | GatewayError::Internal => "haechi_proxy_error",
            GatewayError::ModelNotAllowed { .. } => "haechi_model_not_allowed",
            GatewayError::StreamingUnsupported => "haechi_streaming_unsupported",
            GatewayError::McpMethodNotSupported => "haechi_mcp_http_method_not_supported",
            GatewayError::PolicyBlocked { .. } => "haechi_policy_block",
            GatewayError::AuditUnavailable => "haechi_audit_unavailable",
            GatewayError::UpstreamTimeout { .. } | GatewayError::UpstreamBodyTimeout => {
                "haechi_upstream_timeout"
            }
            GatewayError::UpstreamUnreachable | GatewayError::UpstreamBodyFailed => {
                "haechi_upstream_unreachable"
            }
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::Overloaded { .. } | GatewayError::AuditUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            GatewayError::ForwardedProtoRequired
            | GatewayError::ModelNotAllowed { .. }
            | GatewayError::PolicyBlocked { .. } => StatusCode::FORBIDDEN,
            GatewayError::InvalidTarget
            | GatewayError::BodyUnreadable
            | GatewayError::BodyNotUtf8 => StatusCode::BAD_REQUEST,
            GatewayError::AuthDenied { .. } => StatusCode::UNAUTHORIZED,
            GatewayError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::RequestTimeout | GatewayError::BodyIdle { .. } => {
                StatusCode::REQUEST_TIMEOUT
            }
            GatewayError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::Protect(ProtectError::TooDeeplyNested { .. }) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            GatewayError::Protect(error) if is_client_error(error) => StatusCode::BAD_REQUEST,
            GatewayError::Protect(_) | GatewayError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            GatewayError::StreamingUnsupported => StatusCode::NOT_IMPLEMENTED,
            GatewayError::McpMethodNotSupported => StatusCode::METHOD_NOT_ALLOWED,
            GatewayError::UpstreamTimeout { .. } | GatewayError::UpstreamBodyTimeout => {
                StatusCode::GATEWAY_TIMEOUT
            }
            GatewayError::UpstreamUnreachable | GatewayError::UpstreamBodyFailed => {
                StatusCode::BAD_GATEWAY
            }
        }
    }

    pub fn message(&self) -> String {
        match self {
            GatewayError::Overloaded { .. } => {
                "Server at max in-flight capacity (limits.maxInFlight); retry later".into()
            }
            GatewayError::ForwardedProtoRequired => "This gateway serves plain http behind a trusted TLS terminator (proxy.trustForwardedProto); a request without X-Forwarded-Proto: https bypassed it and is refused".into(),
            GatewayError::InvalidTarget => {
                "Proxy request target must be an origin-form path, not an absolute URL".into()
            }
            GatewayError::AuthDenied {
                provider_failed: true,
            } => "Authentication failed".into(),
            GatewayError::AuthDenied { .. } => "Authentication required: send Authorization: Bearer <token> (see `haechi auth add`)".into(),
            GatewayError::RateLimited => "Rate limit exceeded; retry after the current minute".into(),
            GatewayError::RequestTimeout => {
                "The request body did not arrive within limits.requestTimeoutMs".into()
            }
            GatewayError::BodyIdle { idle_ms } => format!(
                "No request body bytes arrived for limits.bodyIdleTimeoutMs ({idle_ms} ms); send the body without pauses"
            ),
            GatewayError::BodyTooLarge { max_bytes } => {
                format!("Request body exceeds limits.maxRequestBytes ({max_bytes})")
            }
            GatewayError::BodyUnreadable => {
                "The request body could not be read (the client connection failed)".into()
            }
            GatewayError::BodyNotUtf8 => {
                "Request body is not valid UTF-8; send UTF-8 encoded JSON".into()
            }
            GatewayError::Protect(error) if is_client_error(error) => error.to_string(),
            GatewayError::Protect(_) | GatewayError::Internal => "Internal proxy error".into(),
            GatewayError::ModelNotAllowed { model } => format!("Model not allowed: {model}"),
            GatewayError::StreamingUnsupported => "Streaming requests are refused unless streaming.requestMode is \"pass-through\"".into(),
            GatewayError::McpMethodNotSupported => "An MCP server behind this gateway is reached with POST (messages), GET (the server's stream) or DELETE (end of session)".into(),
            GatewayError::PolicyBlocked { .. } => "The request policy blocked this payload".into(),
            GatewayError::AuditUnavailable => "The audit log cannot be written, so the request was not forwarded; retry later (operators: see /__haechi/ready and the gateway log)".into(),
            GatewayError::UpstreamTimeout { timeout_ms } => {
                format!("Upstream did not respond within limits.upstreamTimeoutMs ({timeout_ms})")
            }
            GatewayError::UpstreamBodyTimeout => {
                "Upstream response body did not arrive within limits.upstreamTimeoutMs".into()
            }
            GatewayError::UpstreamUnreachable => "Upstream request failed".into(),
            GatewayError::UpstreamBodyFailed => {
                "Upstream response failed while it was being read".into()
            }
        }
    }

    /// Close the connection after answering: the request body was not read to its end.
    fn closes_connection(&self) -> bool {
        matches!(
            self,
            GatewayError::RequestTimeout
                | GatewayError::BodyIdle { .. }
                | GatewayError::BodyTooLarge { .. }
                | GatewayError::BodyUnreadable
        )
    }

    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            GatewayError::Overloaded { retry_after_secs } => Some(*retry_after_secs),
            GatewayError::AuditUnavailable => Some(1),
            _ => None,
        }
    }

    /// The `decision` label of `haechi_requests_total` this refusal counts under, if any.
    pub(crate) fn decision(&self) -> Option<&'static str> {
        match self {
            GatewayError::AuthDenied { .. } => Some("auth_denied"),
            GatewayError::RateLimited => Some("rate_limited"),
            GatewayError::ModelNotAllowed { .. } => Some("model_not_allowed"),
            GatewayError::StreamingUnsupported => Some("streaming_blocked"),
            GatewayError::PolicyBlocked { .. } => Some("blocked"),
            _ => None,
        }
    }

    /// The counters this refusal increments.
    pub(crate) fn counters(&self) -> &'static [Counter] {
        match self {
            GatewayError::Overloaded { .. } => &[Counter::Overloaded],
            GatewayError::AuthDenied { .. } => &[Counter::AuthDenied],
            GatewayError::RateLimited => &[Counter::RateLimited],
            GatewayError::ModelNotAllowed { .. } | GatewayError::PolicyBlocked { .. } => {
                &[Counter::Blocks]
            }
            GatewayError::AuditUnavailable => &[Counter::AuditUnavailable],
            GatewayError::UpstreamTimeout { .. } | GatewayError::UpstreamBodyTimeout => {
                &[Counter::UpstreamTimeout]
            }
            GatewayError::UpstreamUnreachable | GatewayError::UpstreamBodyFailed => {
                &[Counter::UpstreamError]
            }
            GatewayError::Internal => &[Counter::InternalError],
            _ => &[],
        }
    }

    /// The JSON answer: `{"error", "message"}`, or for a policy block the reference's
    /// `{"error", "summary", "auditId"}`.
    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        let (close, retry_after) = (self.closes_connection(), self.retry_after_secs());
        let body = match &self {
            GatewayError::PolicyBlocked { summary, audit_id } => json!({
                "error": self.code(),
                "summary": summary,
                "auditId": audit_id,
            }),
            _ => json!({ "error": self.code(), "message": self.message() }),
        };
        let mut response = json(status, &body);
        if close {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Protect failures that are the client's (bad JSON, too deep, not UTF-8) rather than ours.
fn is_client_error(error: &ProtectError) -> bool {
    matches!(
        error,
        ProtectError::NotUtf8 { .. }
            | ProtectError::InvalidJson { .. }
            | ProtectError::TooDeeplyNested { .. }
    )
}

impl From<ProtectError> for GatewayError {
    fn from(error: ProtectError) -> Self {
        GatewayError::Protect(error)
    }
}
