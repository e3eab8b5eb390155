//! Who may call the gateway, on real sockets: bearer tokens from `auth.store` (missing, wrong,
//! revoked, valid), external providers, per-client profiles, model allowlists and rate limits,
//! and the audit chain a mixed run leaves behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use haechi_core::seams::Crypto;
use haechi_gateway::auth::{
    external_identity, AuthError, AuthFuture, AuthProvider, ExternalClaims, Labels,
};
use haechi_gateway::rate::{RateFuture, RateLimiter};
use haechi_gateway::GatewayConfigError;
use http::Method;
use serde_json::{json, Value};

fn bearer(c: &mut Value) {
    enforce(c);
    set(c, "auth.provider", json!("bearer"));
}

fn bearer_header(token: &str) -> String {
    format!("Bearer {token}")
}

// ---------------------------------------------------------------------------------------------
// Bearer tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_auth_denies_missing_and_wrong_tokens_and_admits_a_valid_one() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), bearer).await;
    let issued = gw.add_token("service", &["team:eng"], &[]);

    let missing = gw.post_json("/v1/chat/completions", &chat("hi")).await;
    assert_eq!(missing.status, 401, "{}", missing.text());
    assert_eq!(missing.error(), "haechi_auth_denied");

    let wrong = gw
        .post_with(
            "/v1/chat/completions",
            &[("authorization", "Bearer hae_not_a_real_token")],
            &chat("hi"),
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.error(), "haechi_auth_denied");
    assert_eq!(stub.count(), 0, "a denied request reached the upstream");

    let denied = gw.decisions("auth_denied");
    let reasons: Vec<&str> = denied
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["no_token", "invalid_token"]);
    assert!(denied
        .iter()
        .all(|e| e["blocked"] == true && e["identity"].is_null()));

    let auth_value = bearer_header(&issued.token);
    let ok = gw
        .post_with(
            "/v1/chat/completions",
            &[("authorization", &auth_value), ("x-api-key", "sk-upstream")],
            &chat(&format!("hi {EMAIL}")),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let seen = stub.last();
    // The gateway credential is consumed, never forwarded; provider headers still are.
    assert_eq!(seen.header("authorization"), None);
    assert_eq!(seen.header("x-api-key"), Some("sk-upstream"));

    let events = gw.audit_events();
    let protect = common::event_with_operation(&events, "request:");
    let identity = &protect["identity"];
    assert_eq!(identity["id"], issued.record.id.as_str());
    assert_eq!(identity["provider"], "bearer");
    assert_eq!(identity["type"], "service");
    assert!(identity["subjectHash"]
        .as_str()
        .is_some_and(|h| h.len() >= 32));
    assert!(identity["issuerHash"]
        .as_str()
        .is_some_and(|h| h.len() >= 32));

    let audit = gw.audit_text();
    assert!(
        !audit.contains(&issued.token),
        "the raw token is in the audit log"
    );
    assert!(!audit.contains("hae_not_a_real_token"));
    assert!(!audit.contains(EMAIL));
    let metrics = gw.metrics_text();
    assert!(metrics.contains("haechi_auth_denied_total 2"), "{metrics}");
    assert!(metrics.contains(r#"decision="auth_denied""#));
    assert!(!metrics.contains(&issued.token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_while_serving_is_refused_without_a_restart() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), bearer).await;
    let issued = gw.add_token("user", &[], &[]);
    let header = bearer_header(&issued.token);

    let before = gw.chat_as(&header).await;
    assert_eq!(before.status, 200, "{}", before.text());

    let outcome = haechi_gateway::auth::revoke_token(&gw.store_path, &issued.record.id).unwrap();
    assert!(outcome.revoked);

    let after = gw.chat_as(&header).await;
    assert_eq!(after.status, 401, "{}", after.text());
    assert_eq!(gw.decisions("auth_denied")[0]["reason"], "invalid_token");
    assert_eq!(stub.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_issued_while_serving_is_accepted() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), bearer).await;
    // No store yet at all.
    let none = gw
        .post_with(
            "/v1/chat/completions",
            &[("authorization", "Bearer hae_x")],
            &json!({}),
        )
        .await;
    assert_eq!(none.status, 401);

    let issued = gw.add_token("agent", &[], &[]);
    let reply = gw
        .post_with(
            "/v1/chat/completions",
            &[("authorization", &bearer_header(&issued.token))],
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_401_is_sent_before_the_body_is_read() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), bearer).await;

    // A huge declared body that never comes: the answer must not wait for it.
    let head = "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 500000\r\n\r\n";
    let outcome = raw_exchange(gw.addr, head.as_bytes(), Duration::from_secs(5)).await;

    assert_eq!(outcome.status(), Some(401), "{}", outcome.received);
    assert_eq!(outcome.body_json()["error"], "haechi_auth_denied");
    assert_eq!(stub.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_need_no_token() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), bearer).await;

    for path in [
        "/__haechi/live",
        "/__haechi/ready",
        "/__haechi/health",
        "/__haechi/metrics",
    ] {
        assert_eq!(gw.get(path).await.status, 200, "{path}");
    }
    assert!(gw.decisions("auth_denied").is_empty());
}

// ---------------------------------------------------------------------------------------------
// External providers
// ---------------------------------------------------------------------------------------------

/// Admits `x-test-user: <subject>`, fails on `x-test-fail`, and denies everything else.
struct HeaderAuth {
    crypto: Arc<dyn Crypto>,
}

impl AuthProvider for HeaderAuth {
    fn authenticate<'a>(&'a self, headers: &'a http::HeaderMap) -> AuthFuture<'a> {
        Box::pin(async move {
            if headers.contains_key("x-test-fail") {
                return Err(AuthError::provider(
                    "directory unavailable: secret-detail-42",
                ));
            }
            let Some(subject) = headers.get("x-test-user").and_then(|v| v.to_str().ok()) else {
                return Ok(None);
            };
            let allowed = haechi_gateway::auth::default_allowed_label_keys();
            let mut labels = Labels::new();
            labels.insert("team", "ml");
            let identity = external_identity(
                &ExternalClaims {
                    provider: "testsso",
                    subject,
                    issuer: "https://issuer.example",
                    kind: "user",
                    scopes: vec!["team:ml".into()],
                    labels,
                    allowed_label_keys: &allowed,
                },
                self.crypto.as_ref(),
            )?;
            Ok(Some(identity))
        })
    }
}

async fn external_gateway(stub: &Stub, patch: impl FnOnce(&mut Value) + 'static) -> TestGateway {
    let mut setup = Setup::new(stub.url()).patch(|c| {
        enforce(c);
        set(c, "auth.provider", json!("external"));
    });
    setup = setup.patch(patch);
    let crypto: Arc<dyn Crypto> =
        Arc::new(haechi_crypto::LocalKeyProvider::open(setup.path("keys.json")).unwrap());
    setup.auth = Some(Arc::new(HeaderAuth { crypto }));
    setup.start().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_provider_admits_denies_and_fails_closed() {
    let stub = Stub::ok().await;
    let gw = external_gateway(&stub, |_| {}).await;

    let admitted = gw
        .post_with(
            "/v1/chat/completions",
            &[("x-test-user", "alice@corp.example")],
            &json!({}),
        )
        .await;
    assert_eq!(admitted.status, 200, "{}", admitted.text());

    let denied = gw.post_json("/v1/chat/completions", &json!({})).await;
    assert_eq!(denied.status, 401);

    let failed = gw
        .post_with("/v1/chat/completions", &[("x-test-fail", "1")], &json!({}))
        .await;
    assert_eq!(failed.status, 401, "{}", failed.text());
    assert_eq!(failed.error(), "haechi_auth_denied");
    assert!(
        !failed.text().contains("secret-detail-42"),
        "provider error leaked: {}",
        failed.text()
    );

    assert_eq!(stub.count(), 1);
    let reasons: Vec<String> = gw
        .decisions("auth_denied")
        .iter()
        .map(|e| e["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reasons, ["no_token", "provider_error"]);

    let events = gw.audit_events();
    let protect = common::event_with_operation(&events, "request:");
    assert!(protect["identity"]["id"]
        .as_str()
        .unwrap()
        .starts_with("testsso:"));
    let audit = gw.audit_text();
    assert!(
        !audit.contains("alice@corp.example"),
        "raw subject in the audit log"
    );
    assert!(
        !audit.contains("issuer.example"),
        "raw issuer in the audit log"
    );
    assert!(!audit.contains("secret-detail-42"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_auth_without_a_provider_is_refused_at_startup() {
    let setup =
        Setup::new("http://127.0.0.1:9").patch(|c| set(c, "auth.provider", json!("external")));
    let error = setup
        .try_gateway()
        .err()
        .expect("started without a provider");
    assert_eq!(error, GatewayConfigError::ExternalAuthMissing);
}

// ---------------------------------------------------------------------------------------------
// Profiles, model allowlist, rate limits
// ---------------------------------------------------------------------------------------------

fn profiled(c: &mut Value) {
    bearer(c);
    set(
        c,
        "policy",
        json!({
            "mode": "enforce",
            "presets": [],
            "defaultAction": "allow",
            "actions": {"email": "redact"},
            "profiles": {
                "strict": {"actions": {"email": "block"}},
                "internal": {"actions": {"email": "allow"}},
                "ml": {"actions": {"email": "redact"}}
            },
            "profileBinding": {
                "byScope": {"team:eng": "internal"},
                "byLabel": {"team=ml": "ml"},
                "default": "strict"
            }
        }),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_caller_gets_its_profiles_actions() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), profiled).await;
    let eng = gw.add_token("service", &["team:eng"], &[]);
    let ml = gw.add_token("service", &[], &[("team", "ml")]);
    let other = gw.add_token("user", &[], &[]);
    let body = chat(&format!("mail {EMAIL}"));

    let call = |token: String| {
        let body = body.clone();
        let addr = gw.addr;
        async move {
            send(
                addr,
                Method::POST,
                "/v1/chat/completions",
                &[("authorization", &bearer_header(&token))],
                body.to_string(),
            )
            .await
        }
    };

    // byScope → internal: email allowed through.
    let reply = call(eng.token.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(stub.last().text().contains(EMAIL));

    // byLabel → ml: email redacted.
    let reply = call(ml.token.clone()).await;
    assert_eq!(reply.status, 200);
    assert!(!stub.last().text().contains(EMAIL));

    // default → strict: email blocked.
    let reply = call(other.token.clone()).await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert_eq!(reply.error(), "haechi_policy_block");
    assert_eq!(stub.count(), 2);

    let profiles: Vec<(String, String)> = gw
        .audit_events()
        .iter()
        .filter(|e| {
            e["operation"]
                .as_str()
                .unwrap_or("")
                .starts_with("request:")
        })
        .map(|e| {
            (
                e["identity"]["id"].as_str().unwrap().to_string(),
                e["profile"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        profiles,
        [
            (eng.record.id.clone(), "internal".to_string()),
            (ml.record.id.clone(), "ml".to_string()),
            (other.record.id.clone(), "strict".to_string()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_outside_the_allowlist_is_refused_before_the_upstream() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), |c| {
        bearer(c);
        set(
            c,
            "policy.profiles",
            json!({"eng": {"modelAllowlist": ["llama3"]}}),
        );
        set(
            c,
            "policy.profileBinding",
            json!({"byScope": {"team:eng": "eng"}, "default": "eng"}),
        );
    })
    .await;
    let issued = gw.add_token("service", &["team:eng"], &[]);
    let auth = bearer_header(&issued.token);

    let allowed = gw
        .post_with(
            "/v1/chat/completions",
            &[("authorization", &auth)],
            &json!({"model": "llama3"}),
        )
        .await;
    assert_eq!(allowed.status, 200, "{}", allowed.text());

    let refused = gw
        .post_with(
            "/v1/chat/completions",
            &[("authorization", &auth)],
            &json!({"model": "gpt-4o"}),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(refused.error(), "haechi_model_not_allowed");
    assert_eq!(stub.count(), 1);

    let decisions = gw.decisions("model_not_allowed");
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0]["reason"], "model:gpt-4o");
    assert_eq!(decisions[0]["profile"], "eng");
    assert!(gw
        .metrics_text()
        .contains(r#"decision="model_not_allowed""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gemini_model_in_the_path_is_checked_against_the_allowlist() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "target.type", json!("gemini"));
        set(c, "target.adapter", json!("gemini"));
        set(c, "policy.modelAllowlist", json!(["gemini-2.0-flash"]));
    })
    .await;
    let body = json!({"contents": [{"parts": [{"text": "hi"}]}]});

    let allowed = gw
        .post_json("/v1beta/models/gemini-2.0-flash:generateContent", &body)
        .await;
    assert_eq!(allowed.status, 200, "{}", allowed.text());

    let refused = gw
        .post_json(
            "/v1beta/models/gemini-ultra-unlisted:generateContent",
            &body,
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(refused.error(), "haechi_model_not_allowed");
    assert_eq!(stub.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_is_per_identity() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), |c| {
        bearer(c);
        set(
            c,
            "policy.profiles",
            json!({"metered": {"rate": {"requestsPerMinute": 2}}}),
        );
        set(c, "policy.profileBinding", json!({"default": "metered"}));
    })
    .await;
    let first = bearer_header(&gw.add_token("service", &[], &[]).token);
    let second = bearer_header(&gw.add_token("service", &[], &[]).token);

    for _ in 0..2 {
        let ok = gw.chat_as(&first).await;
        assert_eq!(ok.status, 200);
    }
    let limited = gw.chat_as(&first).await;
    assert_eq!(limited.status, 429, "{}", limited.text());
    assert_eq!(limited.error(), "haechi_rate_limited");
    assert_eq!(stub.count(), 2);

    let other = gw.chat_as(&second).await;
    assert_eq!(other.status, 200, "another identity was throttled");

    let decisions = gw.decisions("rate_limited");
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0]["reason"], "rate:2");
    assert_eq!(decisions[0]["profile"], "metered");
    assert!(gw.metrics_text().contains("haechi_rate_limited_total 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_auth_the_rate_limit_applies_to_everyone_together() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), |c| {
        enforce(c);
        set(c, "policy.rate", json!({"requestsPerMinute": 1}));
    })
    .await;

    assert_eq!(
        gw.post_json("/v1/chat/completions", &json!({}))
            .await
            .status,
        200
    );
    let limited = gw.post_json("/v1/chat/completions", &json!({})).await;
    assert_eq!(limited.status, 429);
    assert_eq!(stub.count(), 1);
}

/// Records the keys it is asked about and refuses everything.
#[derive(Default)]
struct RefuseAll {
    keys: Mutex<Vec<(String, u64)>>,
}

impl RateLimiter for RefuseAll {
    fn allow<'a>(&'a self, key: &'a str, requests_per_minute: u64) -> RateFuture<'a> {
        self.keys
            .lock()
            .unwrap()
            .push((key.to_string(), requests_per_minute));
        Box::pin(async { false })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_rate_limiter_decides() {
    let stub = Stub::ok().await;
    let limiter = Arc::new(RefuseAll::default());
    let mut setup = Setup::new(stub.url()).patch(|c| {
        bearer(c);
        set(c, "policy.rate", json!({"requestsPerMinute": 50}));
    });
    setup.rate_limiter = Some(limiter.clone());
    let gw = setup.start().await;
    let issued = gw.add_token("service", &[], &[]);

    let reply = gw
        .post_with(
            "/v1/chat/completions",
            &[("authorization", &bearer_header(&issued.token))],
            &json!({}),
        )
        .await;

    assert_eq!(reply.status, 429);
    assert_eq!(stub.count(), 0);
    assert_eq!(
        *limiter.keys.lock().unwrap(),
        [(issued.record.id.clone(), 50)]
    );
}

// ---------------------------------------------------------------------------------------------
// The audit chain after a mixed run
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_run_leaves_a_valid_chain_with_one_correlation_id_per_request() {
    let stub = Stub::start(|request| {
        if request.text().contains("answer-with-pii") {
            StubReply::json(200, &json!({"content": format!("reach me at {PHONE}")}))
        } else {
            StubReply::json(200, &json!({"content": "fine"}))
        }
    })
    .await;
    let mut gw = start_gateway(stub.url(), |c| {
        bearer(c);
        set(c, "responseProtection.enabled", json!(true));
        set(c, "policy.rate", json!({"requestsPerMinute": 5}));
    })
    .await;
    let issued = gw.add_token("service", &["team:eng"], &[]);
    let auth = bearer_header(&issued.token);
    let with_auth = [("authorization", auth.as_str())];

    // forwarded with detections both ways
    let r = gw
        .post_with(
            "/v1/chat/completions",
            &with_auth,
            &chat(&format!("answer-with-pii {EMAIL}")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.text().contains(PHONE));
    // blocked
    assert_eq!(
        gw.post_with("/v1/chat/completions", &with_auth, &chat(CARD))
            .await
            .status,
        403
    );
    // denied
    assert_eq!(
        gw.post_json("/v1/chat/completions", &chat(EMAIL))
            .await
            .status,
        401
    );
    // clean
    assert_eq!(
        gw.post_with("/v1/embeddings", &with_auth, &json!({"input": "x"}))
            .await
            .status,
        200
    );
    // until rate limited
    let mut sent = 4;
    let mut limited = false;
    for _ in 0..5 {
        sent += 1;
        if gw
            .post_with("/v1/chat/completions", &with_auth, &json!({}))
            .await
            .status
            == 429
        {
            limited = true;
            break;
        }
    }
    assert!(limited);

    gw.stop().await;
    let verified = haechi_store::audit::verify_file(&gw.audit_path).unwrap();
    assert!(verified.valid, "{:?}", verified.failure);
    let events = gw.audit_events();
    assert_eq!(verified.records, events.len() as u64);

    // One correlation id per request; a forwarded request's request and response events
    // share it.
    let mut by_request: Vec<(&str, Vec<&Value>)> = Vec::new();
    for event in &events {
        let id = event["correlationId"]
            .as_str()
            .expect("an event without correlationId");
        match by_request.iter_mut().find(|(seen, _)| *seen == id) {
            Some((_, group)) => group.push(event),
            None => by_request.push((id, vec![event])),
        }
    }
    assert_eq!(by_request.len(), sent, "{events:#?}");
    for (_, group) in &by_request {
        let operations: Vec<&str> = group
            .iter()
            .map(|e| e["operation"].as_str().unwrap())
            .collect();
        match operations.as_slice() {
            [single] => assert!(
                single.starts_with("request:") || single.starts_with("proxy:"),
                "{operations:?}"
            ),
            [request, response] => {
                assert!(request.starts_with("request:"), "{operations:?}");
                assert!(response.starts_with("response:"), "{operations:?}");
            }
            _ => panic!("unexpected events for one request: {operations:?}"),
        }
    }
    let first = &by_request[0].1;
    assert_eq!(first.len(), 2);
    assert_eq!(first[0]["summary"]["byType"]["email"], 1);
    assert_eq!(first[1]["summary"]["byType"]["phone"], 1);

    let audit = gw.audit_text();
    for secret in [EMAIL, PHONE, CARD, issued.token.as_str()] {
        assert!(!audit.contains(secret), "the audit log holds a raw value");
    }
    assert!(!audit.contains(&CARD.replace(' ', "")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_case_insensitive() {
    let stub = Stub::ok().await;
    let gw = start_gateway(stub.url(), bearer).await;
    let issued = gw.add_token("user", &[], &[]);

    for scheme in ["bearer", "BEARER", "Bearer"] {
        let header = format!("{scheme}   {}", issued.token);
        let reply = gw.chat_as(&header).await;
        assert_eq!(reply.status, 200, "{scheme}: {}", reply.text());
    }
    // Another scheme is no bearer token at all.
    let basic = gw
        .post_with(
            "/v1/chat/completions",
            &[("authorization", "Basic dXNlcjpwdw==")],
            &json!({}),
        )
        .await;
    assert_eq!(basic.status, 401);
    assert_eq!(gw.decisions("auth_denied")[0]["reason"], "no_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_cannot_be_widened_into_forward_headers() {
    let mut setup = Setup::new("http://127.0.0.1:9");
    let mut doc = setup.config_json();
    set(&mut doc, "auth.provider", json!("bearer"));
    set(&mut doc, "target.forwardHeaders", json!(["authorization"]));
    assert!(haechi_core::config::load_config_str(&doc.to_string(), &|_| None).is_err());
}
