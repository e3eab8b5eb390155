//! Which headers cross the gateway. Requests: a default-drop allowlist (the provider key and
//! version headers, benign metadata), `Authorization` only when the gateway does not consume
//! it itself, the operator's additive `target.forwardHeaders`, and never the always-dropped
//! credentials and hop-by-hop headers. Responses: the upstream hop's framing headers go.

use http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};

use haechi_core::config::ALWAYS_DROPPED_REQUEST_HEADERS;

/// Request headers every adapter may need upstream.
const FORWARDED_REQUEST_HEADERS: [&str; 9] = [
    "x-api-key",
    "anthropic-version",
    "anthropic-beta",
    "x-goog-api-key",
    "openai-organization",
    "openai-beta",
    "accept",
    "user-agent",
    "accept-language",
];

/// What an MCP client sends its Streamable HTTP server besides the message: the session, the
/// protocol version and the event to resume from.
const MCP_REQUEST_HEADERS: [&str; 3] = ["mcp-session-id", "mcp-protocol-version", "last-event-id"];

/// Response headers that describe the upstream connection, not what the gateway sends. The
/// body's `content-encoding` stays on a relayed body (the bytes are relayed as they came).
const DROPPED_RESPONSE_HEADERS: [&str; 8] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "proxy-authenticate",
];

/// Validators of the upstream's body: stale once the gateway rewrote it.
const BODY_VALIDATOR_HEADERS: [&str; 4] = ["etag", "content-md5", "digest", "last-modified"];

/// The request-header policy, built once from config.
#[derive(Debug, Clone)]
pub struct ForwardPolicy {
    /// `auth.provider` is not `none`: the client's `Authorization` is the gateway credential.
    gateway_consumes_authorization: bool,
    /// The target is an MCP server: its session headers cross too.
    mcp: bool,
    extra: Vec<HeaderName>,
}

impl ForwardPolicy {
    /// `extra` is `target.forwardHeaders`, already validated lowercase and free of dropped
    /// names by config load; unparsable names are skipped (they cannot appear in a request).
    pub fn new(gateway_consumes_authorization: bool, mcp: bool, extra: &[String]) -> Self {
        ForwardPolicy {
            gateway_consumes_authorization,
            mcp,
            extra: extra
                .iter()
                .filter(|name| !ALWAYS_DROPPED_REQUEST_HEADERS.contains(&name.as_str()))
                .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
                .collect(),
        }
    }

    fn forwards(&self, name: &HeaderName) -> bool {
        let text = name.as_str();
        if ALWAYS_DROPPED_REQUEST_HEADERS.contains(&text) || name == CONTENT_TYPE {
            return false;
        }
        if name == AUTHORIZATION {
            return !self.gateway_consumes_authorization;
        }
        FORWARDED_REQUEST_HEADERS.contains(&text)
            || (self.mcp && MCP_REQUEST_HEADERS.contains(&text))
            || self.extra.contains(name)
    }

    /// The headers to send upstream; `content-type` is always `application/json`.
    pub fn upstream_headers(&self, client: &HeaderMap) -> HeaderMap {
        let mut out = HeaderMap::with_capacity(8);
        for (name, value) in client {
            if self.forwards(name) {
                out.append(name.clone(), value.clone());
            }
        }
        out.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        out
    }
}

/// The upstream's response headers minus the upstream hop's framing.
pub fn sanitize_response_headers(headers: &mut HeaderMap) {
    for name in DROPPED_RESPONSE_HEADERS {
        headers.remove(name);
    }
}

/// Headers for a body the gateway rewrote: JSON, identity-encoded, no stale validators, not
/// cacheable.
pub fn rewritten_json_headers(headers: &mut HeaderMap) {
    sanitize_response_headers(headers);
    headers.remove(http::header::CONTENT_ENCODING);
    for name in BODY_VALIDATOR_HEADERS {
        headers.remove(name);
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
}

/// Whether the first hop of `X-Forwarded-Proto` (the one the trusted terminator set) is https.
pub fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .is_some_and(|first| first.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
#[path = "tests/headers.rs"]
mod tests;
