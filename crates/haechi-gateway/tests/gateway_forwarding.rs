//! The gateway in front of a real upstream on loopback: what reaches the upstream (protected
//! body, path and query, headers), what is refused before it (bad targets, bad bodies, policy
//! blocks, oversize bodies), and the side effects (audit decisions, metrics).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::Method;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

// ---------------------------------------------------------------------------------------------
// Forwarding
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_redacts_an_email_before_the_upstream_sees_it() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), enforce).await;

    let reply = gw
        .post_json(
            "/v1/chat/completions",
            &chat(&format!("mail me at {EMAIL}")),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = stub.last();
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.target, "/v1/chat/completions");
    assert!(
        !seen.text().contains(EMAIL),
        "upstream saw the email: {}",
        seen.text()
    );
    assert!(seen.text().contains("[REDACTED:email]"), "{}", seen.text());
    assert_eq!(seen.json()["model"], "gpt-test");

    // One protect event for the request, in enforce, counting the email.
    let events = gw.audit_events();
    let protect = common::event_with_operation(&events, "request:");
    assert_eq!(protect["mode"], "enforce");
    assert_eq!(protect["blocked"], false);
    assert_eq!(protect["summary"]["byType"]["email"], 1);
    assert!(!gw.audit_text().contains(EMAIL));

    let metrics = gw.metrics_text();
    assert!(
        metrics.contains(
            r#"haechi_requests_total{decision="forwarded",mode="enforce",route="chat-completions"} 1"#
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_forwards_the_exact_bytes_and_audits_the_detection() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), |c| set(c, "policy.mode", json!("dry-run"))).await;
    let body = format!(
        "{{ \"messages\" :[ {{\"role\":\"user\",  \"content\":\"{EMAIL} and {PHONE}\"}}],\n \"model\":\"m\" }}"
    );

    let reply = send(
        gw.addr,
        Method::POST,
        "/v1/chat/completions",
        &[("content-type", "application/json")],
        body.clone(),
    )
    .await;

    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(stub.last().body, Bytes::from(body));
    let events = gw.audit_events();
    let protect = common::event_with_operation(&events, "request:");
    assert_eq!(protect["mode"], "dry-run");
    assert_eq!(protect["summary"]["byType"]["email"], 1);
    assert!(!gw.audit_text().contains(EMAIL));
    assert!(!gw.audit_text().contains(PHONE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_payload_is_forwarded_byte_identical() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), enforce).await;
    // Odd spacing, escapes, key order and a big number: a re-serialization would change them.
    let body =
        "{\"z\":1,  \"a\" : \"caf\\u00e9 \\/ ok\", \"n\": 12345678901234567890,\n\"model\":\"m\"}";

    let reply = send(
        gw.addr,
        Method::POST,
        "/v1/chat/completions",
        &[("content-type", "application/json")],
        body,
    )
    .await;

    assert_eq!(reply.status, 200);
    assert_eq!(stub.last().body, Bytes::from_static(body.as_bytes()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_string_is_kept_and_only_the_upstream_is_contacted() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), enforce).await;

    // A Host header naming another server must not change where the gateway goes.
    let body = "{}";
    let request = format!(
        "POST /v1/chat/completions?api-version=2024-06-01&x=a%20b HTTP/1.1\r\nHost: evil.example:80\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let outcome = raw_exchange(gw.addr, request.as_bytes(), PROMPTLY).await;

    assert_eq!(outcome.status(), Some(200), "{}", outcome.received);
    let seen = stub.last();
    assert_eq!(
        seen.target,
        "/v1/chat/completions?api-version=2024-06-01&x=a%20b"
    );
    assert_eq!(seen.header("host"), Some(stub.addr.to_string().as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_segments_are_resolved_before_forwarding() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), enforce).await;

    let request = "POST /v1/x/../chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    let outcome = raw_exchange(gw.addr, request.as_bytes(), PROMPTLY).await;

    assert_eq!(outcome.status(), Some(200), "{}", outcome.received);
    assert_eq!(stub.last().target, "/v1/chat/completions");
    // Classified on the resolved path.
    assert!(gw.metrics_text().contains(r#"route="chat-completions""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absolute_url_request_target_is_refused_and_nothing_is_forwarded() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), enforce).await;

    for target in [
        format!("http://{}/v1/chat/completions", stub.addr),
        "http://evil.example/v1/chat/completions".to_string(),
    ] {
        let request = format!(
            "POST {target} HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        );
        let outcome = raw_exchange(gw.addr, request.as_bytes(), PROMPTLY).await;
        assert_eq!(outcome.status(), Some(400), "{}", outcome.received);
        assert_eq!(outcome.body_json()["error"], "haechi_invalid_proxy_target");
    }
    assert_eq!(stub.count(), 0);
    assert_eq!(stub.connections_opened(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_route_is_still_protected_and_forwarded() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), enforce).await;

    let reply = gw
        .post_json(
            "/v2/some/other/api",
            &json!({"note": format!("call {PHONE}")}),
        )
        .await;

    assert_eq!(reply.status, 200);
    let seen = stub.last();
    assert_eq!(seen.target, "/v2/some/other/api");
    assert!(!seen.text().contains(PHONE), "{}", seen.text());
    let events = gw.audit_events();
    assert!(events
        .iter()
        .any(|e| e["summary"]["detectionCount"].as_u64() > Some(0)));
    assert!(gw.metrics_text().contains(
        r#"haechi_requests_total{decision="forwarded",mode="enforce",route="unknown"} 1"#
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_is_forwarded_without_a_body_and_an_empty_post_becomes_an_empty_object() {
    let stub = Stub::start(|request| {
        StubReply::json(
            200,
            &json!({"data": [{"id": "m1"}], "seen": request.method.as_str()}),
        )
    })
    .await;
    let gw = start_gateway(stub.url(), enforce).await;

    let reply = gw.get("/v1/models").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["data"][0]["id"], "m1");
    let seen = stub.last();
    assert_eq!(seen.method, Method::GET);
    assert_eq!(seen.target, "/v1/models");
    assert!(seen.body.is_empty());

    let reply = send(gw.addr, Method::POST, "/v1/embeddings", &[], Bytes::new()).await;
    assert_eq!(reply.status, 200);
    let seen = stub.last();
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.body, Bytes::from_static(b"{}"));
}

// ---------------------------------------------------------------------------------------------
// Refusals before the upstream
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_number_is_blocked_with_403_and_nothing_is_forwarded() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), enforce).await;

    let reply = gw
        .post_json("/v1/chat/completions", &chat(&format!("my card {CARD}")))
        .await;

    assert_eq!(reply.status, 403, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["error"], "haechi_policy_block");
    assert_eq!(body["summary"]["byType"]["card"], 1);
    let audit_id = body["auditId"].as_str().unwrap().to_string();
    assert!(!reply.text().contains(CARD));
    assert_eq!(stub.count(), 0);

    let events = gw.audit_events();
    let event = events
        .iter()
        .find(|e| e["id"] == audit_id.as_str())
        .unwrap();
    assert_eq!(event["blocked"], true);
    assert!(!gw.audit_text().contains(CARD));
    let metrics = gw.metrics_text();
    assert!(metrics.contains("haechi_blocks_total 1"), "{metrics}");
    assert!(metrics.contains(
        r#"haechi_requests_total{decision="blocked",mode="enforce",route="chat-completions"} 1"#
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_is_refused_with_400() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), enforce).await;

    let reply = send(
        gw.addr,
        Method::POST,
        "/v1/chat/completions",
        &[("content-type", "application/json")],
        "{\"messages\": [",
    )
    .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "haechi_invalid_json_request");
    assert_eq!(stub.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_utf8_is_refused_with_400() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), enforce).await;

    let reply = send(
        gw.addr,
        Method::POST,
        "/v1/chat/completions",
        &[("content-type", "application/json")],
        Bytes::from_static(b"{\"content\":\"\xff\xfe\"}"),
    )
    .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "haechi_request_body_not_utf8");
    assert_eq!(stub.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_deeply_nested_body_is_refused_with_413() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "limits.maxNestingDepth", json!(4));
    })
    .await;
    let deep = format!("{}1{}", "[".repeat(12), "]".repeat(12));

    let reply = send(gw.addr, Method::POST, "/v1/chat/completions", &[], deep).await;

    assert_eq!(reply.status, 413, "{}", reply.text());
    assert_eq!(reply.error(), "haechi_request_too_deeply_nested");
    assert_eq!(stub.count(), 0);

    // Within the limit it goes through.
    let reply = send(gw.addr, Method::POST, "/v1/chat/completions", &[], "[[1]]").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_content_length_is_refused_with_413_before_the_body_arrives() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "limits.maxRequestBytes", json!(1024));
    })
    .await;

    // Declare far more than the cap, send only a little, keep the socket open.
    let head = "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{\"a\":\"";
    let outcome = raw_exchange(gw.addr, head.as_bytes(), PROMPTLY).await;

    assert_eq!(outcome.status(), Some(413), "{}", outcome.received);
    assert_eq!(
        outcome.body_json()["error"],
        "haechi_request_body_too_large"
    );
    assert!(outcome
        .received
        .to_ascii_lowercase()
        .contains("connection: close"));
    assert!(outcome.closed, "the gateway kept the connection open");
    assert_eq!(stub.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_crossing_the_cap_is_refused_with_413_and_the_connection_closed() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "limits.maxRequestBytes", json!(1024));
    })
    .await;

    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    stream
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    let chunk = "x".repeat(700);
    // Two chunks cross the cap; the body never ends.
    for _ in 0..2 {
        stream
            .write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let outcome = read_until_close(&mut stream, PROMPTLY).await;

    assert_eq!(outcome.status(), Some(413), "{}", outcome.received);
    assert_eq!(
        outcome.body_json()["error"],
        "haechi_request_body_too_large"
    );
    assert!(
        outcome.closed,
        "the gateway kept reading the oversized body"
    );
    assert_eq!(stub.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_at_the_cap_is_accepted() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "limits.maxRequestBytes", json!(1024));
    })
    .await;
    let filler = "x".repeat(1024 - r#"{"a":""}"#.len());
    let body = format!(r#"{{"a":"{filler}"}}"#);
    assert_eq!(body.len(), 1024);

    let reply = send(gw.addr, Method::POST, "/v1/chat/completions", &[], body).await;

    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(stub.count(), 1);
}

// ---------------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------------

const ALLOWLISTED: [(&str, &str); 9] = [
    ("x-api-key", "sk-upstream-key"),
    ("anthropic-version", "2023-06-01"),
    ("anthropic-beta", "tools-2024"),
    ("x-goog-api-key", "goog-key"),
    ("openai-organization", "org-1"),
    ("openai-beta", "assistants=v2"),
    ("accept", "application/json"),
    ("user-agent", "haechi-test/1"),
    ("accept-language", "ko-KR"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowlisted_headers_cross_and_credentials_and_hop_by_hop_headers_do_not() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), enforce).await;

    let mut head = String::from("POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n");
    for (name, value) in ALLOWLISTED {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(concat!(
        "Authorization: Bearer sk-provider\r\n",
        "Content-Type: text/plain\r\n",
        "Cookie: session=secret-cookie\r\n",
        "Proxy-Authorization: Basic cHJveHk6cHc=\r\n",
        "Connection: keep-alive, x-hop\r\n",
        "Keep-Alive: timeout=5\r\n",
        "TE: trailers\r\n",
        "Upgrade: h2c\r\n",
        "Trailer: x-after\r\n",
        "X-Hop: 1\r\n",
        "X-Custom: custom-value\r\n",
        "X-Forwarded-For: 10.0.0.1\r\n",
        "Content-Length: 2\r\n\r\n{}",
    ));
    let outcome = raw_exchange(gw.addr, head.as_bytes(), Duration::from_secs(3)).await;
    assert_eq!(outcome.status(), Some(200), "{}", outcome.received);

    let seen = stub.last();
    for (name, value) in ALLOWLISTED {
        assert_eq!(seen.header(name), Some(value), "{name} was not forwarded");
    }
    // auth.provider none: the client's Authorization is the upstream provider key.
    assert_eq!(seen.header("authorization"), Some("Bearer sk-provider"));
    assert_eq!(seen.header("content-type"), Some("application/json"));
    for dropped in [
        "cookie",
        "proxy-authorization",
        "keep-alive",
        "te",
        "upgrade",
        "trailer",
        "x-hop",
        "x-custom",
        "x-forwarded-for",
    ] {
        assert_eq!(
            seen.header(dropped),
            None,
            "{dropped} crossed to the upstream"
        );
    }
    if let Some(connection) = seen.header("connection") {
        assert!(
            !connection.contains("x-hop"),
            "client connection header forwarded: {connection}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_forward_headers_widens_the_allowlist_only() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(
            c,
            "target.forwardHeaders",
            json!(["x-request-id", "x-tenant"]),
        );
    })
    .await;

    let reply = gw
        .post_with(
            "/v1/chat/completions",
            &[
                ("x-request-id", "req-1"),
                ("x-tenant", "t1"),
                ("x-custom", "no"),
                ("cookie", "a=b"),
                ("x-api-key", "k"),
            ],
            &json!({}),
        )
        .await;

    assert_eq!(reply.status, 200);
    let seen = stub.last();
    assert_eq!(seen.header("x-request-id"), Some("req-1"));
    assert_eq!(seen.header("x-tenant"), Some("t1"));
    assert_eq!(seen.header("x-api-key"), Some("k"));
    assert_eq!(seen.header("x-custom"), None);
    assert_eq!(seen.header("cookie"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_headers_entry_naming_a_dropped_header_is_refused_at_config_load() {
    let mut setup = Setup::new("http://127.0.0.1:9");
    let mut doc = setup.config_json();
    set(&mut doc, "target.forwardHeaders", json!(["cookie"]));
    let error = haechi_core::config::load_config_str(&doc.to_string(), &|_| None).unwrap_err();
    assert!(error.to_string().contains("forwardHeaders"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_hop_by_hop_headers_are_dropped_and_the_rest_relayed() {
    let stub = Stub::start(|_| {
        StubReply::json(200, &json!({"ok": true}))
            .header("x-upstream", "yes")
            .header("keep-alive", "timeout=5")
            .header("proxy-authenticate", "Basic realm=x")
            .header("trailer", "x-after")
            .header("upgrade", "h2c")
            .header("etag", "\"v1\"")
    })
    .await;
    let gw = start_gateway(stub.url(), enforce).await;

    let reply = gw.post_json("/v1/chat/completions", &json!({})).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-upstream"), Some("yes"));
    assert_eq!(reply.header("etag"), Some("\"v1\""));
    for dropped in ["keep-alive", "proxy-authenticate", "trailer", "upgrade"] {
        assert_eq!(reply.header(dropped), None, "{dropped} was relayed");
    }
    assert_eq!(reply.json(), json!({"ok": true}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etag_survives_an_unchanged_protected_body_and_is_dropped_from_a_rewritten_one() {
    let stub = Stub::start(|request| {
        let text = request.text();
        let answer = if text.contains("leak") {
            json!({"choices": [{"message": {"content": format!("write to {EMAIL}")}}]})
        } else {
            json!({"choices": [{"message": {"content": "hello"}}]})
        };
        StubReply::json(200, &answer)
            .header("etag", "\"abc\"")
            .header("last-modified", "Wed, 21 Oct 2015 07:28:00 GMT")
    })
    .await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "responseProtection.enabled", json!(true));
    })
    .await;

    let clean = gw
        .post_json("/v1/chat/completions", &json!({"q": "hi"}))
        .await;
    assert_eq!(clean.status, 200);
    assert_eq!(clean.header("etag"), Some("\"abc\""));
    assert_eq!(clean.json()["choices"][0]["message"]["content"], "hello");

    let rewritten = gw
        .post_json("/v1/chat/completions", &json!({"q": "leak"}))
        .await;
    assert_eq!(rewritten.status, 200);
    assert_eq!(rewritten.header("etag"), None);
    assert_eq!(rewritten.header("last-modified"), None);
    assert_eq!(rewritten.header("cache-control"), Some("no-store"));
    assert_eq!(rewritten.header("content-type"), Some("application/json"));
    assert!(!rewritten.text().contains(EMAIL), "{}", rewritten.text());
    // The relayed length matches the rewritten body.
    if let Some(length) = rewritten.header("content-length") {
        assert_eq!(length.parse::<usize>().unwrap(), rewritten.body.len());
    }
}

// ---------------------------------------------------------------------------------------------
// Upstream answers, protocols, concurrency
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_error_statuses_and_their_headers_are_relayed() {
    let stub = Stub::start(|request| {
        if request.target.contains("limited") {
            StubReply::json(429, &json!({"error": {"type": "rate_limit"}}))
                .header("retry-after", "7")
        } else {
            StubReply::json(500, &json!({"error": {"message": "boom"}}))
        }
    })
    .await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "responseProtection.enabled", json!(true));
    })
    .await;

    let failed = gw.post_json("/v1/chat/completions", &json!({})).await;
    assert_eq!(failed.status, 500);
    assert_eq!(failed.json()["error"]["message"], "boom");

    let limited = gw
        .post_json("/v1/chat/completions?limited=1", &json!({}))
        .await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("7"));
    assert_eq!(limited.json()["error"]["type"], "rate_limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_redirect_is_relayed_not_followed() {
    let elsewhere = Stub::ok().await;
    let location = format!("{}/v1/chat/completions", elsewhere.url());
    let stub = Stub::start(move |_| {
        StubReply::raw(307, "application/json", "{}").header("location", &location)
    })
    .await;
    let gw = start_gateway(stub.url(), enforce).await;

    let reply = gw.post_json("/v1/chat/completions", &json!({})).await;

    assert_eq!(reply.status, 307);
    assert!(reply
        .header("location")
        .unwrap()
        .starts_with(&elsewhere.url()));
    assert_eq!(
        elsewhere.count(),
        0,
        "the gateway followed a redirect to another host"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_clients_are_served() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), enforce).await;

    let tcp = TcpStream::connect(gw.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let request = http::Request::post(gw.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(Bytes::from(
            chat(&format!("h2 {EMAIL}")).to_string(),
        )))
        .unwrap();
    let response = within(PROMPTLY, "the h2 response", sender.send_request(request))
        .await
        .unwrap();

    use http_body_util::BodyExt;
    let status = response.status();
    assert_eq!(response.version(), http::Version::HTTP_2);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(!String::from_utf8_lossy(&body).contains(EMAIL));
    assert!(!stub.last().text().contains(EMAIL));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_100_continue_is_honoured() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), enforce).await;

    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    stream
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 11\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 256];
    let n = within(
        PROMPTLY,
        "100 Continue",
        tokio::io::AsyncReadExt::read(&mut stream, &mut buffer),
    )
    .await
    .unwrap();
    assert!(
        String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&buffer[..n])
    );
    stream.write_all(b"{\"a\":\"bc\"}\n").await.unwrap();
    let outcome = read_until_close(&mut stream, PROMPTLY).await;

    assert_eq!(outcome.status(), Some(200), "{}", outcome.received);
    assert_eq!(stub.last().json(), json!({"a": "bc"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_get_their_own_answer() {
    let stub = Stub::start(|request| {
        StubReply::json(
            200,
            &json!({"echo": request.json()["messages"][0]["content"]}),
        )
        .delayed(Duration::from_millis(50))
    })
    .await;
    let gw = start_gateway(stub.url(), enforce).await;

    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let addr = gw.addr;
            tokio::spawn(async move {
                let body = chat(&format!("request {i} from user{i}@example.com"));
                let reply = send(
                    addr,
                    Method::POST,
                    "/v1/chat/completions",
                    &[],
                    body.to_string(),
                )
                .await;
                (i, reply)
            })
        })
        .collect();
    for task in tasks {
        let (i, reply) = task.await.unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.json()["echo"],
            format!("request {i} from [REDACTED:email]")
        );
    }
    assert_eq!(stub.count(), 16);
    assert_eq!(gw.gateway.in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_on_target_upstream_is_replaced_by_the_request_path_as_in_the_reference() {
    let stub = Stub::ok().await;
    let gw = start_gateway(format!("{}/base/prefix", stub.url()), enforce).await;

    let reply = gw.post_json("/v1/chat/completions?q=1", &json!({})).await;

    assert_eq!(reply.status, 200);
    assert_eq!(stub.last().target, "/v1/chat/completions?q=1");
}
