//! The MCP target (`target.type: "mcp-http"`): a Streamable HTTP MCP server behind the gateway.
//! The stub upstream plays the server (JSON and SSE answers); the MCP rules apply both ways.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::Method;
use serde_json::{json, Value};

const SECRET: &str = "api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc";

fn mcp_target(c: &mut Value) {
    enforce(c);
    set(c, "target.type", json!("mcp-http"));
    set(c, "policy.presets", json!(["llm-redact", "secrets-only"]));
    set(c, "mcp.allowedMethods", json!(["initialize", "tools/call"]));
}

async fn gateway_for(stub: &Stub) -> TestGateway {
    Setup::new(stub.url()).patch(mcp_target).start().await
}

fn call(id: u64, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
}

fn text_result(id: Value, text: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "text", "text": text}]}})
}

async fn post(gateway: &TestGateway, body: &Value, headers: &[(&str, &str)]) -> Reply {
    let mut all = vec![
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ];
    all.extend_from_slice(headers);
    send(gateway.addr, Method::POST, "/mcp", &all, body.to_string()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn json_answers_are_protected_both_ways_and_session_headers_cross() {
    let stub = Stub::start(|request| {
        let id = request.json()["id"].clone();
        StubReply::json(
            200,
            &text_result(id, &format!("found {EMAIL}, phone {PHONE}")),
        )
        .header("mcp-session-id", "session-7")
    })
    .await;
    let gateway = gateway_for(&stub).await;
    let reply = post(
        &gateway,
        &call(1, json!({"name": "lookup", "arguments": {"email": EMAIL}})),
        &[
            ("mcp-session-id", "session-7"),
            ("mcp-protocol-version", "2025-06-18"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("mcp-session-id"), Some("session-7"));
    let text = reply.json()["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!text.contains(EMAIL) && !text.contains(PHONE), "{text}");
    assert!(text.contains("[REDACTED:email]"));

    let sent = stub.last();
    assert_eq!(
        sent.json()["params"]["arguments"]["email"],
        "[REDACTED:email]"
    );
    assert_eq!(sent.header("mcp-session-id"), Some("session-7"));
    assert_eq!(sent.header("mcp-protocol-version"), Some("2025-06-18"));

    let events = gateway.audit_events();
    assert!(events
        .iter()
        .any(|e| e["protocol"] == "mcp-http" && e["operation"] == "tools/call"));
    assert!(events
        .iter()
        .any(|e| e["operation"] == "result" && e["correlationId"].is_string()));
    assert!(!gateway.audit_text().contains(EMAIL));
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_answered_by_the_gateway_and_never_reach_the_server() {
    let stub = Stub::ok().await;
    let gateway = gateway_for(&stub).await;

    let reply = post(
        &gateway,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "prompts/get"}),
        &[],
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["error"]["code"], -32003);
    assert_eq!(reply.json()["id"], 2);

    let reply = post(
        &gateway,
        &call(3, json!({"arguments": {"note": SECRET}})),
        &[],
    )
    .await;
    assert_eq!(reply.json()["error"]["code"], -32001);
    assert!(reply.json()["error"]["data"]["auditId"].is_string());
    assert!(!reply.text().contains("sk_live"));

    // A refused notification is accepted and dropped.
    let reply = post(
        &gateway,
        &json!({"jsonrpc": "2.0", "method": "notifications/custom"}),
        &[],
    )
    .await;
    assert_eq!(reply.status, 202);
    assert!(reply.body.is_empty());

    let reply = post(&gateway, &json!([call(4, json!({}))]), &[]).await;
    assert_eq!(reply.json()["error"]["code"], -32000);

    let reply = send(gateway.addr, Method::PUT, "/mcp", &[], "{}").await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.error(), "haechi_mcp_http_method_not_supported");

    assert_eq!(stub.count(), 0, "nothing refused reached the server");
    assert_eq!(gateway.decisions("mcp_method_not_allowed").len(), 2);
    assert!(!gateway.audit_text().contains("sk_live"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sse_answers_are_inspected_event_by_event() {
    // The server's stream, split across chunks mid-event and framed with CRLF: a sampling
    // request carrying a secret, a progress notification with an email, then the result.
    let sampling = json!({"jsonrpc": "2.0", "id": "s-1", "method": "sampling/createMessage",
        "params": {"messages": [{"role": "user", "content": {"type": "text", "text": SECRET}}]}});
    let progress = json!({"jsonrpc": "2.0", "method": "notifications/message",
        "params": {"level": "info", "data": format!("looked up {EMAIL}")}});
    let result = text_result(json!(1), &format!("call {PHONE}"));
    let stream = format!(
        ": keep-alive\r\n\r\nevent: message\r\nid: e1\r\ndata: {sampling}\r\n\r\nevent: message\r\nid: e2\r\ndata: {progress}\r\n\r\nevent: message\r\nid: e3\r\ndata: {result}\r\n\r\n"
    );
    let bytes = stream.into_bytes();
    let chunks: Vec<(Duration, Bytes)> = bytes
        .chunks(37)
        .map(|chunk| (Duration::from_millis(2), Bytes::copy_from_slice(chunk)))
        .collect();
    let stub = Stub::start(move |request| {
        if request.json()["method"] == "tools/call" {
            StubReply::raw(200, "text/event-stream", "")
                .body(StubBody::Chunks(chunks.clone()))
                .header("mcp-session-id", "session-9")
        } else {
            // The gateway's answer to the refused sampling request.
            StubReply::raw(202, "application/json", "")
        }
    })
    .await;
    let gateway = gateway_for(&stub).await;
    let reply = post(
        &gateway,
        &call(1, json!({"name": "ask"})),
        &[("mcp-session-id", "session-9")],
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    let text = reply.text();
    assert!(
        !text.contains("sampling/createMessage"),
        "the client never sees the refused request"
    );
    assert!(
        !text.contains(EMAIL) && !text.contains(PHONE) && !text.contains("sk_live"),
        "{text}"
    );
    assert!(text.starts_with(": keep-alive\n\n"), "{text}");
    assert!(
        text.contains("id: e2\ndata: ") && text.contains("id: e3\ndata: "),
        "{text}"
    );
    assert!(text.contains("[REDACTED:email]"));

    // The server got the refusal of its request, in a POST of its own with the session.
    stub.wait_requests(2).await;
    let answer = stub
        .requests()
        .into_iter()
        .find(|r| r.json()["id"] == "s-1")
        .expect("the server's request was answered");
    assert_eq!(answer.json()["error"]["code"], -32001);
    assert_eq!(answer.header("mcp-session-id"), Some("session-9"));
    assert!(!gateway.audit_text().contains("sk_live"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_that_is_not_json_rpc_is_refused() {
    let stub = Stub::start(|_| StubReply::raw(500, "text/html", format!("<p>{EMAIL}</p>"))).await;
    let gateway = gateway_for(&stub).await;
    let reply = post(&gateway, &call(1, json!({})), &[]).await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.error(), "haechi_response_unprotected");
    assert!(!reply.text().contains(EMAIL));

    // An oversized stream event ends the stream with an error instead of buffering it.
    let big = format!("data: {}\n\n", "x".repeat(8192));
    let stub = Stub::start(move |_| StubReply::raw(200, "text/event-stream", big.clone())).await;
    let gateway = Setup::new(stub.url())
        .patch(|c| {
            mcp_target(c);
            set(c, "mcp.maxMessageBytes", json!(4096));
        })
        .start()
        .await;
    let reply = post(&gateway, &call(1, json!({})), &[]).await;
    assert!(
        reply.text().contains("-32000") && reply.text().contains("4096"),
        "{}",
        reply.text()
    );
    assert!(!reply.text().contains("xxxx"));
    assert_eq!(gateway.decisions("mcp_invalid_message").len(), 1);
}
