//! Per-request cost of authentication and rate limiting. Ignored by default; run with
//! `cargo test --release -p haechi-gateway --test auth_perf -- --ignored --nocapture`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

use std::sync::Arc;
use std::time::Instant;

use haechi_crypto::{init_local_key_file, LocalKeyProvider};
use haechi_gateway::auth::{add_token, default_allowed_label_keys, BearerAuth, NewToken};
use haechi_gateway::rate::WindowRateLimiter;

#[test]
#[ignore = "timing; run in release"]
fn bearer_authentication_cost() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("keys.json");
    init_local_key_file(&key_path, false).unwrap();
    let keys = Arc::new(LocalKeyProvider::open(&key_path).unwrap());
    let store = dir.path().join("auth.json");
    let allowed = default_allowed_label_keys();
    let mut tokens = Vec::new();
    for records in [1usize, 100, 1000] {
        while tokens.len() < records {
            let request = NewToken {
                kind: "service",
                scopes: vec!["team:a".into()],
                labels: [("env", "prod")].into_iter().collect(),
                allowed_label_keys: &allowed,
            };
            tokens.push(add_token(&store, keys.as_ref(), &request).unwrap().token);
        }
        let auth = BearerAuth::new(&store, keys.clone());
        let token = tokens.last().unwrap();
        assert!(auth.authenticate_token(token).unwrap().is_some());
        let rounds = 20_000;
        let start = Instant::now();
        for _ in 0..rounds {
            assert!(auth.authenticate_token(token).unwrap().is_some());
        }
        let per = start.elapsed() / rounds;
        println!("bearer auth, {records} records: {per:?} per request");
        assert_eq!(auth.store_loads(), 1);
    }
}

#[test]
#[ignore = "timing; run in release"]
fn rate_limiter_cost() {
    let limiter = WindowRateLimiter::new();
    let keys: Vec<String> = (0..10_000).map(|i| format!("tok_auth_{i:08x}")).collect();
    let rounds = 1_000_000;
    let start = Instant::now();
    for i in 0..rounds {
        limiter.check(&keys[i % keys.len()], u64::MAX);
    }
    let per = start.elapsed() / rounds as u32;
    println!("rate limiter, 10 000 keys: {per:?} per decision");
}
