//! What the gateway answers with: one body type for every response, and JSON replies
//! pretty-printed like the reference's.

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use serde_json::{json, Value};

/// Error of a streamed response body (the upstream's, passed through).
pub(crate) type BodyError = Box<dyn std::error::Error + Send + Sync>;
/// Every response body the gateway sends.
pub(crate) type Body = BoxBody<Bytes, BodyError>;

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A JSON response the way the reference writes one: `JSON.stringify(body, null, 2)` + newline.
pub(crate) fn json(status: StatusCode, body: &Value) -> Response<Body> {
    let text = haechi_core::js_json::stringify_pretty_line(body);
    let mut response = Response::new(full(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A JSON error answer `{"error": code, "message": message}` (for routes outside the proxy
/// path; a proxied request's refusals are [`crate::error::GatewayError`]s).
pub(crate) fn error_json(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    json(status, &json!({ "error": code, "message": message }))
}
