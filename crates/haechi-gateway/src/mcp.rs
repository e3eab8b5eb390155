//! The MCP target (`target.type: "mcp-http"`): a remote MCP server over the Streamable HTTP
//! transport, with the rules of `mcp-stdio` applied to both directions (`haechi_mcp::filter`).
//!
//! - `POST` carries one client message. A refused request is answered here (200, the JSON-RPC
//!   error, nothing sent upstream); a refused notification is accepted (202) and dropped; a
//!   refused client response goes upstream as the error the server waits for.
//! - The server answers with JSON (one message, inspected whole) or an SSE stream; every event
//!   of the stream is inspected before it is relayed, `event:` and `id:` lines kept. A request
//!   the server makes on the stream and the filter refuses (a blocked
//!   `sampling/createMessage`) is answered to the server in a `POST` of its own.
//! - `GET` opens the server's own stream (inspected the same way); `DELETE` ends the session.
//!   Other methods are refused: they would carry bodies the rules do not cover.
//! - `Mcp-Session-Id`, `MCP-Protocol-Version` and `Last-Event-ID` cross both ways untouched.
//! - Anything the server sends that is neither (a non-JSON error page) follows
//!   `responseProtection.failureMode`, as any unprotectable response does.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_ENCODING, CONTENT_TYPE};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use tokio::sync::mpsc;

use haechi_core::stream::sse::{SseDecoder, SseError, SseEvent};
use haechi_mcp::{Caller, McpFilter, Outcome, Side, Waiting};

use crate::body::{declared_length, read_capped, ReadError};
use crate::error::GatewayError;
use crate::gateway::{run_blocking, Gateway};
use crate::headers::{rewritten_json_headers, sanitize_response_headers};
use crate::reply::{full, Body, BodyError};
use crate::response::{header_text, response_cap, unprotected, Uninspectable};
use crate::scope::{InFlight, Scope};

/// Events relayed ahead of a slow client before the stream waits for it.
const STREAM_BUFFER_EVENTS: usize = 16;

/// The lines one message leads to, by the side they go to.
struct Routed {
    to_server: Vec<String>,
    to_client: Vec<String>,
}

impl Routed {
    fn of(sends: Vec<haechi_mcp::Send>) -> Routed {
        let mut routed = Routed {
            to_server: Vec::new(),
            to_client: Vec::new(),
        };
        for send in sends {
            match send.to {
                Side::Server => routed.to_server.push(send.line),
                Side::Client => routed.to_client.push(send.line),
            }
        }
        routed
    }
}

impl Gateway {
    /// One exchange with the MCP server, after admission.
    pub(crate) async fn mcp_exchange(
        self: &Arc<Self>,
        filter: &Arc<McpFilter>,
        scope: &mut Scope,
        head: Parts,
        body: Incoming,
        started: Instant,
    ) -> Result<Response<Body>, GatewayError> {
        let profile = self.admit_caller(&head.headers, scope).await?;
        let caller = Caller {
            policy: Arc::clone(&profile.policy),
            correlation_id: Some(scope.correlation_id.clone()),
            identity: scope.audit_identity.clone(),
            profile: scope.profile.clone(),
        };
        let headers = self.forward.upstream_headers(&head.headers);
        let upstream_body = match head.method {
            Method::POST => {
                let body = self.read_body(&head.headers, body, started).await?;
                let text = body.json_text()?;
                let outcome =
                    run_blocking(|| filter.handle_line(text.as_bytes(), Side::Client, &caller));
                let mut routed = Routed::of(self.record_mcp(outcome, scope).await?);
                match (routed.to_server.pop(), routed.to_client.pop()) {
                    (Some(line), _) => Bytes::from(line),
                    (None, Some(answer)) => {
                        self.metrics
                            .request(scope.route.id, self.request_mode, "blocked");
                        return Ok(json_rpc_answer(StatusCode::OK, answer));
                    }
                    (None, None) => {
                        self.metrics
                            .request(scope.route.id, self.request_mode, "blocked");
                        return Ok(accepted());
                    }
                }
            }
            Method::GET | Method::DELETE => Bytes::new(),
            _ => return Err(GatewayError::McpMethodNotSupported),
        };
        let upstream = self
            .send_upstream(scope, &head, headers.clone(), upstream_body)
            .await?;
        let response = self
            .mcp_answer(filter, upstream, scope, caller, headers)
            .await?;
        self.metrics
            .request(scope.route.id, self.request_mode, "forwarded");
        Ok(response)
    }

    /// The server's answer: an SSE stream relayed event by event, or a body inspected whole.
    async fn mcp_answer(
        self: &Arc<Self>,
        filter: &Arc<McpFilter>,
        upstream: Response<Incoming>,
        scope: &mut Scope,
        caller: Caller,
        request_headers: HeaderMap,
    ) -> Result<Response<Body>, GatewayError> {
        let (mut parts, incoming) = upstream.into_parts();
        let lowercase = |name| {
            header_text(&parts.headers, name)
                .unwrap_or_default()
                .to_ascii_lowercase()
        };
        let content_type = lowercase(CONTENT_TYPE);
        let encoding = lowercase(CONTENT_ENCODING);
        let compressed = !encoding.is_empty() && encoding.trim() != "identity";
        sanitize_response_headers(&mut parts.headers);
        if content_type.starts_with("text/event-stream") && !compressed {
            let relay = EventRelay {
                gateway: Arc::clone(self),
                filter: Arc::clone(filter),
                caller,
                path_and_query: scope.path_and_query.clone(),
                request_headers,
                _in_flight: scope.in_flight.take(),
            };
            return Ok(Response::from_parts(parts, relay.start(incoming)));
        }

        let cap = response_cap(self);
        let read = read_capped(incoming, declared_length(&parts.headers), cap, None);
        let timeout = Duration::from_millis(self.config.limits.upstream_timeout_ms);
        let raw = match tokio::time::timeout(timeout, read).await {
            Err(_) => return Err(GatewayError::UpstreamBodyTimeout),
            Ok(Err(ReadError::TooLarge)) => {
                let detail = format!("Response body exceeds responseProtection.maxBytes ({cap})");
                let why = Uninspectable::TooLarge;
                return Ok(
                    unprotected(self, scope, why, detail, false, parts, Bytes::new())
                        .await?
                        .0,
                );
            }
            Ok(Err(_)) => return Err(GatewayError::UpstreamBodyFailed),
            Ok(Ok(raw)) => raw,
        };
        if raw.is_empty() {
            return Ok(Response::from_parts(parts, full(raw)));
        }
        let why = if compressed {
            Some(Uninspectable::Compressed)
        } else if !content_type.contains("application/json") {
            Some(Uninspectable::NotJson)
        } else {
            None
        };
        if let Some(why) = why {
            let detail = "The MCP server answered with a body that is not JSON-RPC".to_string();
            return Ok(unprotected(self, scope, why, detail, false, parts, raw)
                .await?
                .0);
        }

        let outcome = run_blocking(|| filter.handle_line(&raw, Side::Server, &caller));
        let routed = Routed::of(self.record_mcp(outcome, scope).await?);
        for line in routed.to_server {
            self.post_to_server(&scope.path_and_query, &request_headers, line);
        }
        let Some(line) = routed.to_client.into_iter().next() else {
            return Ok(accepted());
        };
        if line.as_bytes() != raw.trim_ascii_end() {
            rewritten_json_headers(&mut parts.headers);
        }
        Ok(Response::from_parts(parts, full(line)))
    }

    /// Record an outcome's events; what to send once they are recorded. An event that cannot
    /// be recorded stops the exchange (nothing unaudited crosses).
    async fn record_mcp(
        &self,
        outcome: Outcome,
        scope: &Scope,
    ) -> Result<Vec<haechi_mcp::Send>, GatewayError> {
        for event in outcome.events {
            self.record(event, scope).await?;
        }
        Ok(outcome.send)
    }

    /// Answer a request the server made (and the filter refused) in a `POST` of its own, as a
    /// client would; the server's reply to it carries nothing to relay.
    fn post_to_server(self: &Arc<Self>, path_and_query: &str, headers: &HeaderMap, line: String) {
        let gateway = Arc::clone(self);
        let path_and_query = path_and_query.to_owned();
        let mut headers = headers.clone();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        tokio::spawn(async move {
            let sent = gateway
                .upstream
                .send(Method::POST, &path_and_query, headers, Bytes::from(line))
                .await;
            match sent {
                Ok(response) => {
                    let _ = response.into_body().collect().await;
                }
                Err(_) => tracing::warn!(event = "mcp_server_answer_failed"),
            }
        });
    }
}

/// An SSE stream from the server on its way to the client.
struct EventRelay {
    gateway: Arc<Gateway>,
    filter: Arc<McpFilter>,
    caller: Caller,
    path_and_query: String,
    request_headers: HeaderMap,
    /// The request's in-flight slot, held (not read) until the stream ends.
    _in_flight: Option<InFlight>,
}

impl EventRelay {
    /// Relay on a task of its own; the body ends when the server's stream does, and dropping
    /// the body (the client went away) stops the task and the upstream exchange with it.
    fn start(self, incoming: Incoming) -> Body {
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER_EVENTS);
        tokio::spawn(self.run(incoming, sender));
        ChannelBody(receiver).boxed()
    }

    async fn run(self, mut incoming: Incoming, sender: mpsc::Sender<Bytes>) {
        let mut decoder = SseDecoder::new(self.filter.max_message_bytes());
        loop {
            let chunk = match incoming.frame().await {
                None => break,
                Some(Err(_)) => {
                    tracing::warn!(event = "mcp_stream_upstream_failed");
                    break;
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => data,
                    Err(_) => continue,
                },
            };
            let events = match decoder.feed(&chunk) {
                Ok(events) => events,
                Err(error) => {
                    // The stream cannot be framed past this point: say so and end it.
                    let outcome = self.unframed(&error);
                    let _ = self.relay(outcome, &SseEvent::default(), &sender).await;
                    return;
                }
            };
            for event in events {
                if !self.relay_event(event, &sender).await {
                    return;
                }
            }
        }
        if decoder.finish() {
            tracing::warn!(event = "mcp_stream_ended_mid_event");
        }
    }

    /// Relay one event; `false` when the stream must stop (the client left, or an event could
    /// not be audited).
    async fn relay_event(&self, event: SseEvent, sender: &mpsc::Sender<Bytes>) -> bool {
        let Some(data) = event.data() else {
            // Comments, `retry:` and other data-less events carry no message.
            return sender.send(Bytes::from(event.encode())).await.is_ok();
        };
        let outcome = run_blocking(|| {
            self.filter
                .handle_line(data.as_bytes(), Side::Server, &self.caller)
        });
        self.relay(outcome, &event, sender).await
    }

    async fn relay(
        &self,
        outcome: Outcome,
        event: &SseEvent,
        sender: &mpsc::Sender<Bytes>,
    ) -> bool {
        for prepared in outcome.events {
            if self.gateway.audit.record(prepared).await.is_err() {
                tracing::error!(event = "audit_write_failed", code = "mcp_stream");
                let answer = outcome.waiting.as_ref().map(Waiting::unrecorded_answer);
                if let Some(send) = answer.filter(|send| send.to == Side::Client) {
                    let _ = sender
                        .send(Bytes::from(event.with_data(&send.line).encode()))
                        .await;
                }
                return false;
            }
        }
        for send in outcome.send {
            match send.to {
                Side::Client => {
                    let encoded = event.with_data(&send.line).encode();
                    if sender.send(Bytes::from(encoded)).await.is_err() {
                        return false;
                    }
                }
                Side::Server => {
                    self.gateway.post_to_server(
                        &self.path_and_query,
                        &self.request_headers,
                        send.line,
                    );
                }
            }
        }
        true
    }

    fn unframed(&self, error: &SseError) -> Outcome {
        let code = match error {
            SseError::EventTooLarge { .. } => "exceeds_max_message_bytes",
            SseError::NotUtf8 => "not_utf8",
        };
        self.filter.unreadable(
            Side::Server,
            &self.caller,
            code,
            &error.to_string(),
            "mcp_invalid_message",
        )
    }
}

/// A response body fed by the relay task.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.0
            .poll_recv(cx)
            .map(|next| next.map(|bytes| Ok(Frame::data(bytes))))
    }
}

/// A JSON-RPC message as the whole answer.
fn json_rpc_answer(status: StatusCode, line: String) -> Response<Body> {
    let mut response = Response::new(full(line));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `202 Accepted` with no body: what a Streamable HTTP server answers to a notification.
fn accepted() -> Response<Body> {
    let mut response = Response::new(full(Bytes::new()));
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}
