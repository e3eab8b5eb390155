//! Limits and lifecycle of the gateway on real sockets: the in-flight ceiling, upstream
//! failures and timeouts, slow clients, cancellation when the client leaves, the
//! observability routes, the listener's bind guard and TLS, and graceful drain.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use haechi_gateway::{Drain, ServeError};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

// ---------------------------------------------------------------------------------------------
// Backpressure, upstream failures, slow clients, cancellation
// ---------------------------------------------------------------------------------------------

/// A stub that never answers its first request and answers the others at once.
async fn first_request_hangs() -> Stub {
    let seen = Arc::new(AtomicUsize::new(0));
    Stub::start(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            StubReply::never()
        } else {
            StubReply::json(200, &json!({"ok": true}))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_in_flight_ceiling_requests_get_503_but_probes_still_answer() {
    let stub = first_request_hangs().await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "limits.maxInFlight", json!(1));
        set(c, "limits.shutdownGraceMs", json!(2500));
    })
    .await;

    let addr = gw.addr;
    let first =
        tokio::spawn(
            async move { send(addr, Method::POST, "/v1/chat/completions", &[], "{}").await },
        );
    stub.wait_requests(1).await;

    let refused = gw.post_json("/v1/chat/completions", &json!({})).await;
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.error(), "haechi_overloaded");
    // Retry-After follows shutdownGraceMs (ceil of seconds).
    assert_eq!(refused.header("retry-after"), Some("3"));
    assert_eq!(stub.count(), 1, "the refused request reached the upstream");

    assert_eq!(gw.get("/__haechi/live").await.status, 200);
    assert_eq!(gw.get("/__haechi/ready").await.status, 200);
    let metrics = gw.get("/__haechi/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.text().contains("haechi_overloaded_total 1"),
        "{}",
        metrics.text()
    );

    // The stuck client gives up; its slot is released and traffic flows again.
    first.abort();
    wait_for("the in-flight slot to be released", || {
        gw.gateway.in_flight() == 0
    })
    .await;
    let after = gw.post_json("/v1/chat/completions", &json!({})).await;
    assert_eq!(after.status, 200, "{}", after.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_gives_502() {
    let gw = start_gateway(closed_port_url().await, enforce).await;

    let reply = gw.post_json("/v1/chat/completions", &chat("hello")).await;

    assert_eq!(reply.status, 502, "{}", reply.text());
    assert_eq!(reply.error(), "haechi_upstream_unreachable");
    assert!(gw.metrics_text().contains("haechi_upstream_error_total 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_never_answers_gives_504_after_the_timeout() {
    let stub = Stub::start(|_| StubReply::never()).await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "limits.upstreamTimeoutMs", json!(300));
    })
    .await;

    let started = Instant::now();
    let reply = gw.post_json("/v1/chat/completions", &chat("hello")).await;

    assert_eq!(reply.status, 504, "{}", reply.text());
    assert_eq!(reply.error(), "haechi_upstream_timeout");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < PROMPTLY);
    assert!(gw
        .metrics_text()
        .contains("haechi_upstream_timeout_total 1"));
    // The abandoned upstream exchange is torn down.
    wait_for("the upstream exchange to be abandoned", || {
        stub.handlers_cancelled() == 1 || stub.connections_closed() == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_body_that_never_ends_gives_504() {
    for protect in [true, false] {
        let stub = Stub::start(|_| {
            StubReply::raw(200, "application/json", "")
                .body(StubBody::Hang(Bytes::from_static(b"{\"partial\":")))
        })
        .await;
        let gw = start_gateway(stub.url(), move |c| {
            enforce(c);
            set(c, "responseProtection.enabled", json!(protect));
            set(c, "limits.upstreamTimeoutMs", json!(400));
        })
        .await;

        let reply = gw.post_json("/v1/chat/completions", &chat("hello")).await;

        assert_eq!(reply.status, 504, "protect={protect}: {}", reply.text());
        assert_eq!(reply.error(), "haechi_upstream_timeout");
        wait_for("the upstream body to be dropped", || {
            stub.bodies_abandoned() == 1
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_stalling_in_its_headers_is_disconnected() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "limits.headersTimeoutMs", json!(300));
    })
    .await;

    let started = Instant::now();
    let outcome = raw_exchange(gw.addr, b"POST /v1/chat/compl", PROMPTLY).await;

    assert!(
        outcome.closed,
        "the connection stayed open: {}",
        outcome.received
    );
    assert!(started.elapsed() < PROMPTLY);
    assert_eq!(stub.count(), 0);
}

/// Send 5 of 100 declared body bytes, then nothing; returns the outcome within `PROMPTLY`.
async fn stall_mid_body(gw: &TestGateway) -> RawOutcome {
    let head =
        "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\n{\"a\":";
    let started = Instant::now();
    let outcome = raw_exchange(gw.addr, head.as_bytes(), PROMPTLY).await;
    assert!(started.elapsed() < PROMPTLY);
    assert!(outcome.closed, "the stalled connection was kept open");
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_stalling_mid_body_gets_408_or_is_disconnected() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "limits.requestTimeoutMs", json!(500));
    })
    .await;

    let outcome = stall_mid_body(&gw).await;

    match outcome.status() {
        Some(status) => {
            assert_eq!(status, 408, "{}", outcome.received);
            assert_eq!(outcome.body_json()["error"], "haechi_request_timeout");
        }
        None => assert!(outcome.closed, "neither answered nor closed"),
    }
    assert_eq!(stub.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_pauses_longer_than_the_idle_timeout_gets_408_before_the_request_deadline() {
    let stub = Stub::ok().await;
    // The whole-request deadline stays at its 300 s default; the pause limit cuts in first.
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "limits.bodyIdleTimeoutMs", json!(300));
    })
    .await;

    let outcome = stall_mid_body(&gw).await;

    assert_eq!(outcome.status(), Some(408), "{}", outcome.received);
    assert_eq!(outcome.body_json()["error"], "haechi_request_timeout");
    assert_eq!(stub.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_leaving_during_a_slow_upstream_call_cancels_it() {
    let stub = Stub::start(|_| StubReply::never()).await;
    let gw = start_gateway(stub.url(), enforce).await;

    let mut client = TcpStream::connect(gw.addr).await.unwrap();
    client
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\n\r\n{}")
        .await
        .unwrap();
    stub.wait_requests(1).await;
    assert_eq!(gw.gateway.in_flight(), 1);

    drop(client);

    wait_for("the upstream call to be cancelled", || {
        stub.handlers_cancelled() == 1 && stub.connections_closed() == 1
    })
    .await;
    wait_for("the in-flight count to drop", || {
        gw.gateway.in_flight() == 0
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Observability
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ready_and_health_answer_json() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), enforce).await;

    let live = gw.get("/__haechi/live").await;
    assert_eq!(live.status, 200);
    assert_eq!(live.json()["ok"], true);
    assert_eq!(live.json()["version"], haechi_gateway::VERSION);
    assert!(live
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));

    let ready = gw.get("/__haechi/ready").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["ready"], true);
    assert_eq!(ready.json()["checks"]["auditWritable"], true);

    let health = gw.get("/__haechi/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["ok"], true);
    assert_eq!(health.json()["mode"], "enforce");

    let unknown = gw.get("/__haechi/x").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.error().starts_with("haechi_"));

    assert_eq!(stub.count(), 0, "a probe reached the upstream");
    assert!(gw.audit_events().is_empty(), "a probe was audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_and_their_durations() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), enforce).await;
    assert_eq!(
        gw.post_json("/v1/chat/completions", &chat("hi"))
            .await
            .status,
        200
    );
    assert_eq!(
        gw.post_json("/v1/chat/completions", &chat(CARD))
            .await
            .status,
        403
    );

    let metrics = gw.get("/__haechi/metrics").await;

    assert_eq!(metrics.status, 200);
    assert_eq!(
        metrics.header("content-type"),
        Some(haechi_gateway::metrics::GatewayMetrics::CONTENT_TYPE)
    );
    let text = metrics.text();
    for expected in [
        r#"haechi_requests_total{decision="forwarded",mode="enforce",route="chat-completions"} 1"#,
        r#"haechi_requests_total{decision="blocked",mode="enforce",route="chat-completions"} 1"#,
        r#"haechi_request_duration_seconds_count{route="chat-completions"} 2"#,
        r#"haechi_request_duration_seconds_bucket{le="+Inf",route="chat-completions"} 2"#,
        "haechi_blocks_total 1",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    assert!(!text.contains(CARD.replace(' ', "").as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_be_disabled() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), |c| set(c, "metrics.enabled", json!(false))).await;

    let reply = gw.get("/__haechi/metrics").await;

    assert_eq!(reply.status, 404);
    assert_eq!(reply.error(), "haechi_metrics_disabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_fails_closed_when_the_probe_says_not_ready() {
    let stub = Stub::ok().await;
    let mut setup = Setup::new(stub.url());
    setup.readiness = Some(Arc::new(|| false));
    let gw = setup.start().await;

    let ready = gw.get("/__haechi/ready").await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.json()["ready"], false);
    assert_eq!(ready.json()["checks"]["auditWritable"], false);
    // Liveness is unaffected.
    assert_eq!(gw.get("/__haechi/live").await.status, 200);
}

// ---------------------------------------------------------------------------------------------
// Listener: bind guard, TLS, forwarded proto
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_loopback_bind_needs_the_flag_and_then_tls_or_a_trusted_terminator() {
    let mut setup = Setup::new("http://127.0.0.1:9");
    setup.host = "0.0.0.0".into();
    let refused = setup
        .bind()
        .await
        .err()
        .expect("bound without --allow-remote-bind");
    assert!(
        matches!(refused, ServeError::RemoteBindRefused(_)),
        "{refused}"
    );

    let mut setup = Setup::new("http://127.0.0.1:9");
    setup.host = "0.0.0.0".into();
    setup.allow_remote_bind = true;
    let refused = setup
        .bind()
        .await
        .err()
        .expect("bound plaintext beyond loopback");
    assert!(
        matches!(refused, ServeError::PlaintextRemoteBind(_)),
        "{refused}"
    );
}

/// A self-signed certificate for `localhost`, written into the setup's dir as proxy.tls.
fn with_tls(setup: Setup) -> (Setup, CertificateDer<'static>) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = setup.path("tls-key.pem");
    let cert = setup.path("tls-cert.pem");
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    let tls = json!({
        "keyFile": key.to_string_lossy(),
        "certFile": cert.to_string_lossy(),
    });
    let der = generated.cert.der().clone();
    (setup.patch(move |c| set(c, "proxy.tls", tls)), der)
}

async fn https_post(
    addr: std::net::SocketAddr,
    trust: CertificateDer<'static>,
    body: &Value,
) -> (u16, Value) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trust).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = Request::post("/v1/chat/completions")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = within(PROMPTLY, "the https response", sender.send_request(request))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_terminates_in_the_gateway_and_the_request_is_protected() {
    let stub = Stub::echo().await;
    let (setup, trust) = with_tls(Setup::new(stub.url()).patch(enforce));
    let bound = setup.bind().await.unwrap();
    assert!(bound.bound.is_tls());
    let gw = bound.serve();

    let (status, body) = https_post(gw.addr, trust, &chat(&format!("to {EMAIL}"))).await;

    assert_eq!(status, 200, "{body}");
    assert!(!stub.last().text().contains(EMAIL));
    // Plain http on the TLS port gets no answer.
    let outcome = raw_exchange(
        gw.addr,
        b"GET /__haechi/live HTTP/1.1\r\nHost: gw\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(outcome.status(), None, "{}", outcome.received);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_bind_with_tls_is_allowed() {
    let stub = Stub::ok().await;
    let (mut setup, trust) = with_tls(Setup::new(stub.url()).patch(enforce));
    setup.host = "0.0.0.0".into();
    setup.allow_remote_bind = true;
    let gw = setup.bind().await.unwrap().serve();
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], gw.addr.port()));

    let (status, _) = https_post(local, trust, &json!({})).await;

    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_terminator_plain_requests_need_x_forwarded_proto_https() {
    let stub = Stub::ok().await;
    let mut setup = Setup::new(stub.url()).patch(|c| {
        enforce(c);
        set(c, "proxy.trustForwardedProto", json!(true));
    });
    setup.host = "0.0.0.0".into();
    setup.allow_remote_bind = true;
    let gw = setup.bind().await.unwrap().serve();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], gw.addr.port()));

    let bare = send(addr, Method::POST, "/v1/chat/completions", &[], "{}").await;
    assert_eq!(bare.status, 403, "{}", bare.text());
    assert_eq!(bare.error(), "haechi_forwarded_proto_required");

    let http_first = send(
        addr,
        Method::POST,
        "/v1/chat/completions",
        &[("x-forwarded-proto", "http, https")],
        "{}",
    )
    .await;
    assert_eq!(http_first.status, 403);
    assert_eq!(stub.count(), 0);

    let forwarded = send(
        addr,
        Method::POST,
        "/v1/chat/completions",
        &[("x-forwarded-proto", "https")],
        "{}",
    )
    .await;
    assert_eq!(forwarded.status, 200, "{}", forwarded.text());
    assert_eq!(stub.count(), 1);

    // Probes are exempt.
    let live = send(addr, Method::GET, "/__haechi/live", &[], Bytes::new()).await;
    assert_eq!(live.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_ignores_x_forwarded_proto() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "proxy.trustForwardedProto", json!(true));
    })
    .await;

    let reply = gw.post_json("/v1/chat/completions", &json!({})).await;

    assert_eq!(reply.status, 200, "{}", reply.text());
}

// ---------------------------------------------------------------------------------------------
// Drain
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_at_shutdown_completes_and_the_drain_is_clean() {
    let stub = Stub::start(|_| {
        StubReply::json(200, &json!({"late": true})).delayed(Duration::from_millis(700))
    })
    .await;
    let mut gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "limits.shutdownGraceMs", json!(10000));
    })
    .await;
    let addr = gw.addr;
    let request =
        tokio::spawn(
            async move { send(addr, Method::POST, "/v1/chat/completions", &[], "{}").await },
        );
    stub.wait_requests(1).await;

    let started = Instant::now();
    let drain = gw.stop().await;
    let reply = request.await.unwrap();

    assert_eq!(drain, Drain::Clean);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["late"], true);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "drain waited for the grace period"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_does_not_hold_shutdown() {
    let stub = Stub::ok().await;
    let mut gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "limits.shutdownGraceMs", json!(20000));
    })
    .await;
    let mut idle = TcpStream::connect(gw.addr).await.unwrap();
    idle.write_all(b"GET /__haechi/live HTTP/1.1\r\nHost: gw\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    let n = tokio::io::AsyncReadExt::read(&mut idle, &mut buffer)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"));

    let started = Instant::now();
    let drain = gw.stop().await;

    assert_eq!(drain, Drain::Clean);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "idle socket held shutdown"
    );
    let rest = read_until_close(&mut idle, Duration::from_secs(5)).await;
    assert!(rest.closed, "the idle connection was left open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_request_is_forced_closed_after_the_grace_period() {
    let stub = Stub::start(|_| StubReply::never()).await;
    let mut gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "limits.shutdownGraceMs", json!(600));
    })
    .await;
    let addr = gw.addr;
    let mut client = TcpStream::connect(addr).await.unwrap();
    client
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\n\r\n{}")
        .await
        .unwrap();
    stub.wait_requests(1).await;

    let started = Instant::now();
    gw.signal_shutdown();
    // New connections are refused once shutdown has begun.
    wait_for_async_refusal(addr).await;
    let serve = gw.take_serve();
    let drain = within(Duration::from_secs(10), "the forced drain", serve)
        .await
        .unwrap();
    let elapsed = started.elapsed();

    assert_eq!(drain, Drain::Forced);
    assert!(
        elapsed >= Duration::from_millis(500),
        "forced before the grace: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "forced long after the grace: {elapsed:?}"
    );
    gw.writer.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_drain_closes_the_stuck_connection() {
    let stub = Stub::start(|_| StubReply::never()).await;
    let mut gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "limits.shutdownGraceMs", json!(300));
    })
    .await;
    let mut client = TcpStream::connect(gw.addr).await.unwrap();
    client
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\n\r\n{}")
        .await
        .unwrap();
    stub.wait_requests(1).await;

    assert_eq!(gw.stop().await, Drain::Forced);

    let outcome = read_until_close(&mut client, Duration::from_secs(5)).await;
    assert!(
        outcome.closed,
        "the client connection outlived the forced drain"
    );
    wait_for("the upstream call to be cancelled", || {
        stub.handlers_cancelled() == 1
    })
    .await;
}

/// Wait until a fresh connection to `addr` is refused.
async fn wait_for_async_refusal(addr: std::net::SocketAddr) {
    let deadline = Instant::now() + PROMPTLY;
    loop {
        match TcpStream::connect(addr).await {
            Err(_) => return,
            Ok(mut stream) => {
                // Accepted by a listener that is going away: it must not be served.
                let _ = stream
                    .write_all(b"GET /__haechi/live HTTP/1.1\r\nHost: gw\r\n\r\n")
                    .await;
                let outcome = read_until_close(&mut stream, Duration::from_millis(200)).await;
                assert_eq!(outcome.status(), None, "served a connection after shutdown");
            }
        }
        assert!(
            Instant::now() < deadline,
            "new connections still accepted after shutdown"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_tls_client_is_disconnected_after_the_headers_timeout() {
    let stub = Stub::ok().await;
    let (setup, _trust) = with_tls(Setup::new(stub.url()).patch(|c| {
        enforce(c);
        set(c, "limits.headersTimeoutMs", json!(300));
    }));
    let gw = setup.bind().await.unwrap().serve();

    let started = Instant::now();
    let outcome = raw_exchange(gw.addr, b"", PROMPTLY).await;

    assert!(
        outcome.closed,
        "a client that never handshakes kept its connection"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_client_negotiating_h2_is_served() {
    let stub = Stub::ok().await;
    let (setup, trust) = with_tls(Setup::new(stub.url()).patch(enforce));
    let gw = setup.bind().await.unwrap().serve();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(trust).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(gw.addr).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let request = Request::post("https://localhost/v1/chat/completions")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    let response = within(PROMPTLY, "the h2 response", sender.send_request(request))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();

    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(stub.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_pass_through_stream_counts_toward_the_in_flight_ceiling() {
    let stub = Stub::start(|request| {
        if request.text().contains("stream") {
            StubReply::raw(200, "text/event-stream", "")
                .body(StubBody::Hang(Bytes::from_static(b"data: first\n\n")))
        } else {
            StubReply::json(200, &json!({"ok": true}))
        }
    })
    .await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "streaming.requestMode", json!("pass-through"));
        set(c, "limits.maxInFlight", json!(1));
    })
    .await;

    // One stream open and still flowing.
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    stream
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Length: 15\r\n\r\n{\"stream\":true}")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    let n = tokio::io::AsyncReadExt::read(&mut stream, &mut buffer)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"));

    let second = gw.post_json("/v1/chat/completions", &json!({})).await;

    assert_eq!(second.status, 503, "{}", second.text());
    assert_eq!(second.error(), "haechi_overloaded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_cannot_be_audited_is_not_forwarded() {
    let stub = Stub::ok().await;
    let mut setup = Setup::new(stub.url()).patch(enforce);
    let audit_path = setup.path("audit.jsonl");
    let probe_path = audit_path.clone();
    setup.readiness = Some(Arc::new(move || {
        haechi_store::audit::check_writable(&probe_path).is_ok()
    }));
    let gw = setup.start().await;
    assert_eq!(gw.get("/__haechi/ready").await.status, 200);

    // The log path becomes a directory: no event can be appended.
    let _ = std::fs::remove_file(&audit_path);
    std::fs::create_dir(&audit_path).unwrap();

    let ready = gw.get("/__haechi/ready").await;
    assert_eq!(ready.status, 503);

    let reply = gw
        .post_json("/v1/chat/completions", &chat(&format!("hi {EMAIL}")))
        .await;
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(reply.error(), "haechi_audit_unavailable");
    assert!(!reply.text().contains(EMAIL));
    assert_eq!(stub.count(), 0, "an unaudited request was forwarded");
    assert!(gw
        .metrics_text()
        .contains("haechi_audit_unavailable_total 1"));
}
