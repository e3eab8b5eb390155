//! Reading bodies with a byte cap enforced while reading: an oversized body is refused as soon
//! as it crosses the cap (or at once when its declared length already does), never buffered.

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body_util::BodyExt;

use crate::error::GatewayError;

/// What an empty request body is, as the reference parses and forwards it.
const EMPTY_JSON: &str = "{}";

/// A request body as read, with the one rule for an empty body: it is the empty JSON object.
pub(crate) struct RequestBody {
    bytes: Bytes,
}

impl RequestBody {
    pub(crate) fn new(bytes: Bytes) -> Self {
        RequestBody { bytes }
    }

    /// The body as JSON text, checked as UTF-8 (once: protection takes the text).
    pub(crate) fn json_text(&self) -> Result<&str, GatewayError> {
        if self.bytes.is_empty() {
            return Ok(EMPTY_JSON);
        }
        std::str::from_utf8(&self.bytes).map_err(|_| GatewayError::BodyNotUtf8)
    }

    /// The bytes to forward when protection changed nothing.
    pub(crate) fn unchanged(&self) -> Bytes {
        if self.bytes.is_empty() {
            return Bytes::from_static(EMPTY_JSON.as_bytes());
        }
        self.bytes.clone()
    }
}

/// Why a capped read stopped.
#[derive(Debug)]
pub(crate) enum ReadError<E> {
    /// More than the cap (declared or received).
    TooLarge,
    /// The body failed (client or upstream connection).
    Body(E),
    /// No byte arrived for the idle timeout.
    Idle,
}

/// The declared `Content-Length`, if it is a valid number.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Read a whole body, refusing more than `max_bytes`, and giving up when no frame arrives
/// within `idle` (a slow but moving body is the caller's whole-body deadline to judge).
pub(crate) async fn read_capped<B>(
    mut body: B,
    declared: Option<u64>,
    max_bytes: u64,
    idle: Option<std::time::Duration>,
) -> Result<Bytes, ReadError<B::Error>>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    if declared.is_some_and(|length| length > max_bytes) {
        return Err(ReadError::TooLarge);
    }
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut received: u64 = 0;
    loop {
        let next = match idle {
            Some(idle) => tokio::time::timeout(idle, body.frame())
                .await
                .map_err(|_| ReadError::Idle)?,
            None => body.frame().await,
        };
        let Some(frame) = next else { break };
        let frame = frame.map_err(ReadError::Body)?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers carry nothing we forward
        };
        received += data.len() as u64;
        if received > max_bytes {
            return Err(ReadError::TooLarge);
        }
        // Most bodies arrive in one frame: keep it without copying.
        match (&mut first, &mut joined) {
            (None, None) => first = Some(data),
            (Some(head), None) => {
                let mut buffer = BytesMut::with_capacity(head.len() + data.len());
                buffer.extend_from_slice(head);
                buffer.extend_from_slice(&data);
                first = None;
                joined = Some(buffer);
            }
            (_, Some(buffer)) => buffer.extend_from_slice(&data),
        }
    }
    Ok(match (first, joined) {
        (_, Some(buffer)) => buffer.freeze(),
        (Some(bytes), None) => bytes,
        (None, None) => Bytes::new(),
    })
}
