//! Values outside the JSON body — the path, the query string and forwarded headers — are
//! protected like the body (issue 8, item 1): an email in `?user=` or in `User-Agent` never
//! reaches the upstream in enforce mode, a hard-block type there refuses the request, and the
//! audit event names where it was found (`$query.<name>`, `$header.<name>`, `$path[<i>]`)
//! without the value.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{json, Value};

const ENCODED_EMAIL: &str = "minji.kim%40example.com";
const REDACTED_EMAIL_ENCODED: &str = "%5BREDACTED%3Aemail%5D";

/// Every adapter with its non-streaming routes.
const ADAPTER_ROUTES: &[(&str, &[&str])] = &[
    (
        "openai-compatible",
        &[
            "/v1/chat/completions",
            "/v1/completions",
            "/v1/responses",
            "/v1/embeddings",
        ],
    ),
    (
        "vllm-openai",
        &[
            "/v1/chat/completions",
            "/v1/completions",
            "/v1/responses",
            "/v1/embeddings",
        ],
    ),
    (
        "llama-cpp",
        &[
            "/v1/chat/completions",
            "/v1/completions",
            "/v1/embeddings",
            "/completion",
        ],
    ),
    (
        "ollama",
        &[
            "/api/chat",
            "/api/generate",
            "/api/embed",
            "/api/embeddings",
        ],
    ),
    (
        "anthropic",
        &["/v1/messages", "/v1/messages/count_tokens", "/v1/complete"],
    ),
    (
        "gemini",
        &[
            "/v1beta/models/gemini-pro:generateContent",
            "/v1beta/models/gemini-pro:countTokens",
            "/v1beta/models/gemini-pro:embedContent",
            "/v1beta/models/gemini-pro:batchEmbedContents",
        ],
    ),
];

/// The detections of the request's protect event.
fn request_detections(gw: &TestGateway) -> Vec<Value> {
    let events = gw.audit_events();
    event_with_operation(&events, "request:")["detections"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn detection_paths(gw: &TestGateway) -> Vec<String> {
    request_detections(gw)
        .iter()
        .map(|d| d["path"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_string_email_is_redacted_on_every_adapter_route() {
    for (adapter, routes) in ADAPTER_ROUTES {
        for route in *routes {
            let stub = Stub::echo().await;
            let adapter = adapter.to_string();
            let gw = start_gateway(stub.url(), move |c| {
                enforce(c);
                set(c, "target.type", json!(adapter));
            })
            .await;
            let target = format!("{route}?user={ENCODED_EMAIL}&page=2");
            let reply = gw
                .post_json(&target, &json!({"model": "m", "stream": false}))
                .await;
            assert_eq!(reply.status, 200, "{route}: {}", reply.text());

            let seen = stub.last().target;
            assert_eq!(
                seen,
                format!("{route}?user={REDACTED_EMAIL_ENCODED}&page=2"),
                "{route}"
            );
            assert_eq!(detection_paths(&gw), ["$query.user"], "{route}");
            assert!(!gw.audit_text().contains("minji"), "{route}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_in_user_agent_is_redacted_and_other_headers_pass_unchanged() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), enforce).await;

    let agent = format!("support-bot/1.2 (contact {EMAIL})");
    let reply = gw
        .post_with(
            "/v1/chat/completions",
            &[
                ("user-agent", &agent),
                ("accept-language", "ko-KR"),
                ("x-api-key", "sk-ant-api03-EXAMPLE0123456789abcdefABCDEF"),
            ],
            &chat("hello"),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = stub.last();
    assert_eq!(
        seen.header("user-agent"),
        Some("support-bot/1.2 (contact [REDACTED:email])")
    );
    assert_eq!(seen.header("accept-language"), Some("ko-KR"));
    // The provider key is the upstream credential: forwarded as the client sent it.
    assert_eq!(
        seen.header("x-api-key"),
        Some("sk-ant-api03-EXAMPLE0123456789abcdefABCDEF")
    );
    assert_eq!(detection_paths(&gw), ["$header.user-agent"]);
    assert!(!gw.audit_text().contains(EMAIL));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_in_a_path_segment_is_redacted() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), enforce).await;

    let reply = gw
        .post_json(
            &format!("/v1/users/{ENCODED_EMAIL}/chat/completions"),
            &chat("hello"),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        stub.last().target,
        format!("/v1/users/{REDACTED_EMAIL_ENCODED}/chat/completions")
    );
    assert_eq!(detection_paths(&gw), ["$path[2]"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hard_block_type_in_the_query_or_a_header_refuses_the_request() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), enforce).await;

    let in_query = gw
        .post_json("/v1/chat/completions?card=4111111111111111", &chat("hello"))
        .await;
    assert_eq!(in_query.status, 403, "{}", in_query.text());
    assert_eq!(in_query.json()["error"], "haechi_policy_block");

    let in_header = gw
        .post_with(
            "/v1/chat/completions",
            &[(
                "user-agent",
                "agent sk-ant-api03-EXAMPLE0123456789abcdefABCDEF",
            )],
            &chat("hello"),
        )
        .await;
    assert_eq!(in_header.status, 403, "{}", in_header.text());

    assert_eq!(stub.count(), 0, "a blocked request reached the upstream");
    let blocked: Vec<Value> = gw
        .audit_events()
        .into_iter()
        .filter(|event| event["blocked"] == true)
        .collect();
    assert_eq!(blocked.len(), 2);
    assert!(!gw.audit_text().contains("4111111111111111"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_name_is_scanned_and_located_by_its_hash() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), enforce).await;

    let reply = gw
        .post_json(
            &format!("/v1/chat/completions?{ENCODED_EMAIL}=1"),
            &chat("hello"),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        stub.last().target,
        format!("/v1/chat/completions?{REDACTED_EMAIL_ENCODED}=1")
    );
    let paths = detection_paths(&gw);
    assert_eq!(paths.len(), 1);
    assert!(paths[0].starts_with("$query.key_"), "{paths:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokenize_mode_puts_a_token_in_the_query() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "policy.actions", json!({"email": "tokenize"}));
    })
    .await;

    let reply = gw
        .post_json(
            &format!("/v1/chat/completions?user={ENCODED_EMAIL}"),
            &chat("hello"),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.text());
    let target = stub.last().target;
    assert!(
        target.starts_with("/v1/chat/completions?user=%5BTOKEN%3Atok_"),
        "{target}"
    );
    assert!(!target.contains("minji"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_key_parameter_is_the_upstream_credential_and_passes() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "target.type", json!("gemini"));
    })
    .await;

    let key = "AIzaSyEXAMPLE0123456789abcdefghijklmno";
    let route = format!("/v1beta/models/gemini-pro:generateContent?key={key}");
    let reply = gw.post_json(&route, &json!({"contents": []})).await;

    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(stub.last().target, route);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_detects_outside_values_and_forwards_them_unchanged() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), |_| {}).await;

    let target = format!("/v1/chat/completions?user={ENCODED_EMAIL}");
    let reply = gw.post_json(&target, &chat("hello")).await;

    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(stub.last().target, target);
    assert_eq!(detection_paths(&gw), ["$query.user"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_name_that_is_itself_a_secret_never_reaches_the_audit_log() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), |_| {}).await;

    let secret = "ghp_EXAMPLE0123456789abcdefghijABCDEFGHIJ";
    let reply = gw
        .post_json(
            &format!("/v1/chat/completions?{secret}={ENCODED_EMAIL}"),
            &chat("hello"),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.text());
    let paths = detection_paths(&gw);
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(
        paths.iter().all(|p| p.starts_with("$query.key_")),
        "{paths:?}"
    );
    assert!(!gw.audit_text().contains(secret));
}
