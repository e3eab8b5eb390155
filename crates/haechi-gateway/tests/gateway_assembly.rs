//! `Gateway::from_config`: the gateway a program embeds, assembled from a config alone with the
//! CLI's fail-closed rules (policy bundle verified, audit log writable, keys opened).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use haechi_gateway::assembly::{AssembledGateway, AssemblyError};
use haechi_gateway::{bind, Gateway, ListenOptions};
use http::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_from_config_protects_audits_and_flushes_on_drop() {
    let stub = Stub::echo().await;
    let mut setup = Setup::new(stub.url()).patch(enforce);
    let config = setup.config();
    let audit_path = config.audit.path.clone();

    let AssembledGateway { gateway, guard } = Gateway::from_config(config).unwrap();
    let listen = ListenOptions {
        port: 0,
        ..ListenOptions::from_config(gateway.config())
    };
    let bound = bind(gateway, &listen).await.unwrap();
    let addr = bound.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(bound.serve(async {
        let _ = stopped.await;
    }));

    let body = chat(&format!("mail me at {EMAIL}")).to_string();
    let headers = [("content-type", "application/json")];
    let reply = send(addr, Method::POST, "/v1/chat/completions", &headers, body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(!stub.last().text().contains(EMAIL));
    assert!(stub.last().text().contains("[REDACTED:email]"));

    let _ = stop.send(());
    serving.await.unwrap();
    drop(guard);
    let log = std::fs::read_to_string(&audit_path).unwrap();
    assert!(!log.contains(EMAIL));
    let outcome = haechi_store::audit::verify_file(std::path::Path::new(&audit_path)).unwrap();
    assert!(outcome.valid, "{:?}", outcome.failure);
    assert_eq!(outcome.records, 1, "the request's protect event");
}

#[test]
fn a_policy_bundle_that_does_not_verify_refuses_the_whole_config() {
    let mut setup = Setup::new("http://127.0.0.1:9");
    let bundle = setup.path("policy.bundle.json");
    // A bundle nobody signed: the inline policy must not be used instead.
    std::fs::write(&bundle, json!({"policy": {"mode": "enforce"}}).to_string()).unwrap();
    let mut config = setup.config();
    config.policy.bundle_path = Some(bundle.to_string_lossy().into_owned());
    let error = Gateway::from_config(config).err().expect("refused");
    assert!(matches!(error, AssemblyError::Config(_)), "{error}");
    assert!(error.to_string().contains("policy bundle"), "{error}");

    let mut config = setup.config();
    config.policy.bundle_path = Some(setup.path("missing.bundle.json").to_string_lossy().into());
    let error = Gateway::from_config(config).err().expect("refused");
    assert!(error.to_string().contains("not found"), "{error}");
}
