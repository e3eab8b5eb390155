//! What the gateway answers with: one body type for every response, and the JSON error
//! replies (`{"error": "haechi_*", "message": ...}`, pretty-printed like the reference).

use bytes::Bytes;
use http::header::{HeaderValue, CONNECTION, CONTENT_TYPE, RETRY_AFTER};
use http::{Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use serde_json::{json, Value};

/// Error of a streamed response body (the upstream's, passed through).
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;
/// Every response body the gateway sends.
pub type Body = BoxBody<Bytes, BodyError>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A JSON response the way the reference writes one: `JSON.stringify(body, null, 2)` + newline.
pub fn json(status: StatusCode, body: &Value) -> Response<Body> {
    let text = haechi_core::js_json::stringify_pretty_line(body);
    let mut response = Response::new(full(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A refusal with a stable `haechi_*` code. The message says what is wrong and what to do and
/// never carries a payload value, header value or credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Close the connection after answering (the request body was not read to its end).
    pub close: bool,
    pub retry_after_secs: Option<u64>,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: message.into(),
            close: false,
            retry_after_secs: None,
        }
    }

    pub fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_secs = Some(seconds);
        self
    }

    pub fn into_response(self) -> Response<Body> {
        let mut response = json(
            self.status,
            &json!({ "error": self.code, "message": self.message }),
        );
        if self.close {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(seconds) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// An unexpected failure: the client learns only that it happened (the log has the class).
pub fn internal_error() -> Refusal {
    Refusal::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "haechi_proxy_error",
        "Internal proxy error",
    )
}
