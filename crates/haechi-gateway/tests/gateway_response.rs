//! The upstream's answer on its way back through the gateway: response protection in each
//! mode, what cannot be inspected (non-JSON, invalid JSON, compressed, oversized) under each
//! failure mode, token restoration, and streaming requests (refused, or passed through as they
//! arrive under the byte cap).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::sync::mpsc;

fn protect_responses(c: &mut Value) {
    enforce(c);
    set(c, "responseProtection.enabled", json!(true));
}

fn answer_with(text: &str) -> Value {
    json!({"choices": [{"message": {"role": "assistant", "content": text}}]})
}

/// The first `[TOKEN:...]` marker in `text`.
fn first_token_marker(text: &str) -> Option<String> {
    let start = text.find("[TOKEN:")?;
    let end = start + text[start..].find(']')?;
    Some(text[start..=end].to_string())
}

// ---------------------------------------------------------------------------------------------
// gzip without a compression dependency: stored (uncompressed) deflate blocks
// ---------------------------------------------------------------------------------------------

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// A valid gzip member holding `data` in one stored block (`data` under 64 KiB).
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).unwrap();
    let mut out = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
    out.push(0x01); // final block, stored
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    out
}

#[test]
fn crc32_matches_the_known_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

// ---------------------------------------------------------------------------------------------
// Response protection
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_redacts_an_email_in_the_json_response() {
    let stub =
        Stub::start(|_| StubReply::json(200, &answer_with(&format!("write to {EMAIL}")))).await;
    let gw = start_gateway(stub.url(), protect_responses).await;

    let reply = gw.post_json("/v1/chat/completions", &chat("hello")).await;

    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(!reply.text().contains(EMAIL), "{}", reply.text());
    assert!(reply.text().contains("[REDACTED:email]"));
    let events = gw.audit_events();
    let response_event = common::event_with_operation(&events, "response:");
    assert_eq!(response_event["summary"]["byType"]["email"], 1);
    // The request's and the response's events share one correlation id.
    let request_event = common::event_with_operation(&events, "request:");
    assert!(request_event["correlationId"].is_string());
    assert_eq!(
        request_event["correlationId"],
        response_event["correlationId"]
    );
    assert!(!gw.audit_text().contains(EMAIL));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_only_response_protection_leaves_the_body_and_audits() {
    let upstream_body = answer_with(&format!("write to {EMAIL}")).to_string();
    let stub_body = upstream_body.clone();
    let stub =
        Stub::start(move |_| StubReply::raw(200, "application/json", stub_body.clone())).await;
    let gw = start_gateway(stub.url(), |c| {
        protect_responses(c);
        set(c, "responseProtection.mode", json!("report-only"));
    })
    .await;

    let reply = gw.post_json("/v1/chat/completions", &chat("hello")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), upstream_body);
    let events = gw.audit_events();
    let response_event = common::event_with_operation(&events, "response:");
    assert_eq!(response_event["mode"], "report-only");
    assert_eq!(response_event["summary"]["byType"]["email"], 1);
    assert!(!gw.audit_text().contains(EMAIL));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_closed_refuses_uninspectable_responses_with_502() {
    let cases: [(&str, StubReplyFn, &str); 3] = [
        (
            "non-json",
            || StubReply::raw(200, "text/plain", "plain words"),
            "non_json_response",
        ),
        (
            "invalid-json",
            || StubReply::raw(200, "application/json", "{\"broken\": "),
            "invalid_json_response",
        ),
        (
            "gzip",
            || {
                StubReply::raw(200, "application/json", gzip_stored(b"{\"a\":1}"))
                    .header("content-encoding", "gzip")
            },
            "compressed_response",
        ),
    ];
    for (name, reply_fn, reason) in cases {
        let stub = Stub::start(move |_| reply_fn()).await;
        let gw = start_gateway(stub.url(), protect_responses).await;

        let reply = gw.post_json("/v1/chat/completions", &chat("hello")).await;

        assert_eq!(reply.status, 502, "{name}: {}", reply.text());
        assert_eq!(reply.error(), "haechi_response_unprotected", "{name}");
        assert_eq!(reply.json()["reason"], reason, "{name}");
        let blocked = gw.decisions("response_unprotected_blocked");
        assert_eq!(blocked.len(), 1, "{name}");
        assert_eq!(blocked[0]["reason"], reason);
        assert_eq!(blocked[0]["blocked"], true);
        let metrics = gw.metrics_text();
        assert!(
            metrics.contains("haechi_response_unprotected_total 1"),
            "{name}: {metrics}"
        );
        assert!(metrics.contains("haechi_blocks_total 1"), "{name}");
        assert!(
            metrics.contains(r#"decision="response_unprotected_blocked""#),
            "{name}"
        );
    }
}

type StubReplyFn = fn() -> StubReply;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_mode_allow_relays_uninspectable_responses_and_audits_them() {
    let cases: [(&str, StubReplyFn, &str); 2] = [
        (
            "non-json",
            || StubReply::raw(200, "text/plain", "plain words"),
            "non_json_response",
        ),
        (
            "invalid-json",
            || StubReply::raw(200, "application/json", "{\"broken\": "),
            "invalid_json_response",
        ),
    ];
    for (name, reply_fn, reason) in cases {
        let stub = Stub::start(move |_| reply_fn()).await;
        let gw = start_gateway(stub.url(), |c| {
            protect_responses(c);
            set(c, "responseProtection.failureMode", json!("allow"));
        })
        .await;

        let reply = gw.post_json("/v1/chat/completions", &chat("hello")).await;

        assert_eq!(reply.status, 200, "{name}: {}", reply.text());
        assert_eq!(reply.body, reply_fn().body_bytes(), "{name}");
        let allowed = gw.decisions("response_unprotected_allowed");
        assert_eq!(allowed.len(), 1, "{name}");
        assert_eq!(allowed[0]["reason"], reason);
        assert_eq!(allowed[0]["blocked"], false);
        assert!(gw
            .metrics_text()
            .contains("haechi_response_unprotected_total 1"));
    }
}

trait BodyBytes {
    fn body_bytes(&self) -> Bytes;
}

impl BodyBytes for StubReply {
    fn body_bytes(&self) -> Bytes {
        match &self.body {
            StubBody::Full(bytes) => bytes.clone(),
            _ => Bytes::new(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_non_json_relays_a_non_json_response_under_fail_closed() {
    let stub = Stub::start(|_| StubReply::raw(200, "text/plain", "plain words")).await;
    let gw = start_gateway(stub.url(), |c| {
        protect_responses(c);
        set(c, "responseProtection.allowNonJson", json!(true));
    })
    .await;

    let reply = gw.post_json("/v1/chat/completions", &chat("hello")).await;

    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.text(), "plain words");
    assert_eq!(reply.header("content-type"), Some("text/plain"));
    assert_eq!(gw.decisions("response_unprotected_allowed").len(), 1);
}

/// A compressed upstream body the gateway relays uninspected must reach the client readable:
/// either still labelled `content-encoding: gzip`, or decompressed.
fn assert_readable_gzip_relay(reply: &Reply, plain: &[u8]) {
    let encoding = reply.header("content-encoding");
    let readable = reply.body.as_ref() == plain
        || (encoding == Some("gzip") && reply.body.as_ref() == gzip_stored(plain).as_slice());
    assert!(
        readable,
        "client got {} bytes of gzip data with content-encoding {encoding:?}: unreadable",
        reply.body.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_compressed_relays_a_gzip_response_the_client_can_read() {
    let plain = br#"{"ok":true}"#;
    let stub = Stub::start(move |_| {
        StubReply::raw(200, "application/json", gzip_stored(plain))
            .header("content-encoding", "gzip")
    })
    .await;
    let gw = start_gateway(stub.url(), |c| {
        protect_responses(c);
        set(c, "responseProtection.allowCompressed", json!(true));
    })
    .await;

    let reply = gw.post_json("/v1/chat/completions", &chat("hello")).await;

    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(gw.decisions("response_unprotected_allowed").len(), 1);
    assert_readable_gzip_relay(&reply, plain);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprotected_path_relays_a_gzip_response_the_client_can_read() {
    let plain = br#"{"ok":true}"#;
    let stub = Stub::start(move |_| {
        StubReply::raw(200, "application/json", gzip_stored(plain))
            .header("content-encoding", "gzip")
    })
    .await;
    let gw = start_gateway(stub.url(), enforce).await;

    let reply = gw.post_json("/v1/chat/completions", &chat("hello")).await;

    assert_eq!(reply.status, 200);
    assert_readable_gzip_relay(&reply, plain);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_is_asked_for_an_identity_encoded_body() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), protect_responses).await;

    let reply = gw
        .post_with(
            "/v1/chat/completions",
            &[("accept-encoding", "gzip, br")],
            &json!({}),
        )
        .await;

    assert_eq!(reply.status, 200);
    assert_eq!(stub.last().header("accept-encoding"), Some("identity"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_response_is_refused_even_under_failure_mode_allow() {
    let big = answer_with(&"y".repeat(400));
    for chunked in [false, true] {
        let body = Bytes::from(big.to_string());
        let stub = Stub::start(move |_| {
            let reply = StubReply::raw(200, "application/json", body.clone());
            if chunked {
                let (a, b) = body.split_at(body.len() / 2);
                reply.body(StubBody::Chunks(vec![
                    (Duration::ZERO, Bytes::copy_from_slice(a)),
                    (Duration::from_millis(20), Bytes::copy_from_slice(b)),
                ]))
            } else {
                reply
            }
        })
        .await;
        let gw = start_gateway(stub.url(), |c| {
            protect_responses(c);
            set(c, "responseProtection.failureMode", json!("allow"));
            set(c, "responseProtection.maxBytes", json!(256));
        })
        .await;

        let reply = gw.post_json("/v1/chat/completions", &chat("hello")).await;

        assert_eq!(reply.status, 502, "chunked={chunked}: {}", reply.text());
        assert_eq!(reply.error(), "haechi_response_unprotected");
        assert_eq!(reply.json()["reason"], "response_body_too_large");
        assert!(!reply.text().contains("yyyy"));
        let blocked = gw.decisions("response_unprotected_blocked");
        assert_eq!(blocked.len(), 1, "chunked={chunked}");
        assert_eq!(blocked[0]["reason"], "response_body_too_large");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_response_is_refused_when_response_protection_is_off() {
    let stub = Stub::start(|_| StubReply::json(200, &answer_with(&"y".repeat(400)))).await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "responseProtection.maxBytes", json!(256));
    })
    .await;

    let reply = gw.post_json("/v1/chat/completions", &chat("hello")).await;

    assert_eq!(reply.status, 502, "{}", reply.text());
    assert_eq!(reply.error(), "haechi_response_too_large");
    assert!(gw
        .metrics_text()
        .contains("haechi_response_stream_truncated_total 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_response_is_refused_with_502() {
    let stub = Stub::start(|_| StubReply::json(200, &answer_with(&format!("card {CARD}")))).await;
    let gw = start_gateway(stub.url(), protect_responses).await;

    let reply = gw.post_json("/v1/chat/completions", &chat("hello")).await;

    assert_eq!(reply.status, 502, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["error"], "haechi_response_policy_block");
    assert_eq!(body["summary"]["byType"]["card"], 1);
    let audit_id = body["auditId"].as_str().unwrap();
    assert!(!reply.text().contains(CARD));
    let events = gw.audit_events();
    let event = events.iter().find(|e| e["id"] == audit_id).unwrap();
    assert_eq!(event["blocked"], true);
    assert!(event["operation"]
        .as_str()
        .unwrap()
        .starts_with("response:"));
    assert!(gw.metrics_text().contains(r#"decision="response_blocked""#));
    assert!(!gw.audit_text().contains(CARD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detokenize_restores_only_the_tokens_this_request_was_issued() {
    const OTHER_EMAIL: &str = "other.person@example.org";
    // The stub echoes what it was sent, plus a marker the test plants from an earlier request.
    let planted: Arc<Mutex<String>> = Arc::default();
    let stub_planted = Arc::clone(&planted);
    let stub = Stub::start(move |request| {
        let content = request.json()["messages"][0]["content"].clone();
        let other = stub_planted.lock().unwrap().clone();
        StubReply::json(200, &json!({"echo": content, "other": other}))
    })
    .await;
    let gw = start_gateway(stub.url(), |c| {
        protect_responses(c);
        set(
            c,
            "policy.actions",
            json!({"email": "tokenize", "card": "block"}),
        );
        set(c, "tokenVault.detokenizeResponses", json!(true));
    })
    .await;

    // First request: its token becomes the "foreign" token of the second one.
    let first = gw
        .post_json("/v1/chat/completions", &chat(OTHER_EMAIL))
        .await;
    assert_eq!(first.status, 200, "{}", first.text());
    let first_seen = stub.last().text();
    assert!(!first_seen.contains(OTHER_EMAIL));
    let foreign = first_token_marker(&first_seen).expect("first request was not tokenized");
    *planted.lock().unwrap() = format!("earlier {foreign}");

    let second = gw
        .post_json("/v1/chat/completions", &chat(&format!("mine is {EMAIL}")))
        .await;

    assert_eq!(second.status, 200, "{}", second.text());
    let seen = stub.last().text();
    assert!(!seen.contains(EMAIL), "the model saw the plaintext: {seen}");
    let body = second.json();
    assert_eq!(
        body["echo"],
        format!("mine is {EMAIL}"),
        "own token not restored"
    );
    assert_eq!(
        body["other"],
        format!("earlier {foreign}"),
        "a foreign token was restored"
    );
    assert!(!second.text().contains(OTHER_EMAIL));
    let audit = gw.audit_text();
    assert!(!audit.contains(EMAIL) && !audit.contains(OTHER_EMAIL));
}

// ---------------------------------------------------------------------------------------------
// Streaming requests
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_request_is_refused_with_501_under_block() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), enforce).await;

    let mut body = chat("hello");
    body["stream"] = json!(true);
    let reply = gw.post_json("/v1/chat/completions", &body).await;

    assert_eq!(reply.status, 501, "{}", reply.text());
    assert_eq!(reply.error(), "haechi_streaming_unsupported");
    assert_eq!(stub.count(), 0);
    assert!(gw.metrics_text().contains(
        r#"haechi_requests_total{decision="streaming_blocked",mode="enforce",route="chat-completions"} 1"#
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ollama_chat_streams_unless_stream_false() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "target.type", json!("ollama"));
        set(c, "target.adapter", json!("ollama"));
    })
    .await;

    let streaming = gw
        .post_json("/api/chat", &json!({"model": "llama3", "messages": []}))
        .await;
    assert_eq!(streaming.status, 501, "{}", streaming.text());
    assert_eq!(streaming.error(), "haechi_streaming_unsupported");
    assert_eq!(stub.count(), 0);

    let buffered = gw
        .post_json(
            "/api/chat",
            &json!({"model": "llama3", "messages": [], "stream": false}),
        )
        .await;
    assert_eq!(buffered.status, 200, "{}", buffered.text());
    assert_eq!(stub.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_stream_generate_content_is_streaming_by_its_path() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "target.type", json!("gemini"));
        set(c, "target.adapter", json!("gemini"));
    })
    .await;

    let reply = gw
        .post_json(
            "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
            &json!({"contents": [{"parts": [{"text": "hi"}]}]}),
        )
        .await;

    assert_eq!(reply.status, 501, "{}", reply.text());
    assert_eq!(stub.count(), 0);
}

/// Open a request through the gateway and return the response head with its live body.
async fn open_stream(
    gw: &TestGateway,
    path: &str,
    body: &Value,
) -> http::Response<hyper::body::Incoming> {
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut request = Request::new(Full::new(Bytes::from(body.to_string())));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = gw.url(path).parse().unwrap();
    request
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    within(PROMPTLY, "the response head", client.request(request))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_through_relays_an_sse_body_as_it_arrives() {
    let (sender, receiver) = mpsc::unbounded_channel::<Bytes>();
    let receiver = Arc::new(Mutex::new(Some(receiver)));
    let stub = Stub::start(move |_| {
        let receiver = receiver
            .lock()
            .unwrap()
            .take()
            .expect("one streaming request");
        StubReply::raw(200, "text/event-stream", "").body(StubBody::Channel(receiver))
    })
    .await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "streaming.requestMode", json!("pass-through"));
    })
    .await;

    let mut request = chat(&format!("hi {EMAIL}"));
    request["stream"] = json!(true);
    let response = open_stream(&gw, "/v1/chat/completions", &request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "text/event-stream"
    );
    let mut body = response.into_body();

    let first = Bytes::from_static(b"data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n");
    sender.send(first.clone()).unwrap();
    // The first event reaches the client while the upstream has not finished.
    let frame = within(PROMPTLY, "the first SSE event", body.frame())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(frame.into_data().unwrap(), first);

    sender
        .send(Bytes::from_static(b"data: [DONE]\n\n"))
        .unwrap();
    drop(sender);
    let rest = within(PROMPTLY, "the rest of the stream", body.collect())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(rest, Bytes::from_static(b"data: [DONE]\n\n"));

    // Pass-through forwards the request uninspected and says so in the audit log.
    assert_eq!(stub.last().json(), request);
    let decisions = gw.decisions("streaming_request_pass_through");
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0]["blocked"], false);
    assert!(!gw.audit_text().contains(EMAIL));
    assert!(gw.metrics_text().contains(
        r#"haechi_requests_total{decision="forwarded",mode="enforce",route="chat-completions"} 1"#
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_through_cuts_a_stream_over_max_bytes() {
    let chunk = Bytes::from(format!("data: {}\n\n", "z".repeat(54))); // 62 bytes
    let stub_chunk = chunk.clone();
    let stub = Stub::start(move |_| {
        let chunks = (0..20)
            .map(|_| (Duration::from_millis(5), stub_chunk.clone()))
            .collect();
        StubReply::raw(200, "text/event-stream", "").body(StubBody::Chunks(chunks))
    })
    .await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "streaming.requestMode", json!("pass-through"));
        set(c, "responseProtection.maxBytes", json!(200));
    })
    .await;

    let mut request = chat("hello");
    request["stream"] = json!(true);
    let response = open_stream(&gw, "/v1/chat/completions", &request).await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut received = 0usize;
    let ended_in_error = loop {
        match within(PROMPTLY, "the next frame", body.frame()).await {
            None => break false,
            Some(Err(_)) => break true,
            Some(Ok(frame)) => received += frame.into_data().map_or(0, |d| d.len()),
        }
    };

    assert!(
        ended_in_error,
        "the stream ended cleanly after {received} bytes"
    );
    assert!(
        received <= 200,
        "{received} bytes relayed past the 200-byte cap"
    );
    wait_for("the truncation metric", || {
        gw.metrics_text()
            .contains("haechi_response_stream_truncated_total 1")
    })
    .await;
    // The upstream stream was abandoned, not read to its end.
    wait_for("the upstream body to be dropped", || {
        stub.bodies_abandoned() == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_leaving_a_pass_through_stream_tears_down_the_upstream() {
    let stub = Stub::start(|_| {
        StubReply::raw(200, "text/event-stream", "")
            .body(StubBody::Hang(Bytes::from_static(b"data: first\n\n")))
    })
    .await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "streaming.requestMode", json!("pass-through"));
    })
    .await;

    let mut request = chat("hello");
    request["stream"] = json!(true);
    let response = open_stream(&gw, "/v1/chat/completions", &request).await;
    let mut body = response.into_body();
    let frame = within(PROMPTLY, "the first event", body.frame())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        frame.into_data().unwrap(),
        Bytes::from_static(b"data: first\n\n")
    );
    assert_eq!(stub.bodies_abandoned(), 0);

    drop(body); // the client goes away mid-stream

    wait_for("the upstream stream to be torn down", || {
        stub.bodies_abandoned() == 1 || stub.connections_closed() == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_through_relays_a_gzip_stream_the_client_can_read() {
    let plain = b"data: {\"a\":1}\n\n";
    let stub = Stub::start(move |_| {
        StubReply::raw(200, "text/event-stream", gzip_stored(plain))
            .header("content-encoding", "gzip")
    })
    .await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "streaming.requestMode", json!("pass-through"));
    })
    .await;

    let mut request = chat("hello");
    request["stream"] = json!(true);
    let reply = gw.post_json("/v1/chat/completions", &request).await;

    assert_eq!(reply.status, 200);
    assert_readable_gzip_relay(&reply, plain);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detokenize_works_on_a_response_that_protection_also_rewrote() {
    let stub = Stub::start(|request| {
        let content = request.json()["messages"][0]["content"].clone();
        StubReply::json(
            200,
            &json!({"echo": content, "extra": format!("call {PHONE}")}),
        )
    })
    .await;
    let gw = start_gateway(stub.url(), |c| {
        protect_responses(c);
        set(
            c,
            "policy.actions",
            json!({"email": "tokenize", "card": "block"}),
        );
        set(c, "tokenVault.detokenizeResponses", json!(true));
    })
    .await;

    let reply = gw
        .post_json("/v1/chat/completions", &chat(&format!("mine is {EMAIL}")))
        .await;

    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["echo"], format!("mine is {EMAIL}"));
    assert!(!body["extra"].as_str().unwrap().contains(PHONE), "{body}");
    assert!(!stub.last().text().contains(EMAIL));
}
