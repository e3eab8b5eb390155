//! `BearerAuth` through the `AuthProvider` seam: who gets in, who does not, and that
//! revocation and store damage take effect on the next request.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use haechi_core::seams::Crypto;
use haechi_crypto::{init_local_key_file, LocalKeyProvider};
use haechi_gateway::auth::{
    add_token, default_allowed_label_keys, external_identity, has_bearer_header, revoke_token,
    AuthError, AuthProvider, BearerAuth, DenyReason, ExternalClaims, GatewayIdentity, Labels,
    NewToken, IDENTITY_DOMAIN,
};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

struct Setup {
    _dir: tempfile::TempDir,
    store: PathBuf,
    keys: Arc<LocalKeyProvider>,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("keys.json");
    init_local_key_file(&key_path, false).unwrap();
    Setup {
        store: dir.path().join(".haechi/auth.json"),
        keys: Arc::new(LocalKeyProvider::open(&key_path).unwrap()),
        _dir: dir,
    }
}

fn issue(s: &Setup, kind: &str, scopes: &[&str], labels: &[(&str, &str)]) -> (String, String) {
    let allowed = default_allowed_label_keys();
    let issued = add_token(
        &s.store,
        s.keys.as_ref(),
        &NewToken {
            kind,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            labels: labels.iter().copied().collect::<Labels>(),
            allowed_label_keys: &allowed,
        },
    )
    .unwrap();
    (issued.token, issued.record.id)
}

fn bearer(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
    headers
}

fn auth(s: &Setup) -> BearerAuth {
    BearerAuth::new(&s.store, s.keys.clone() as Arc<dyn Crypto>)
}

#[tokio::test]
async fn a_valid_token_yields_a_hashed_identity() {
    let s = setup();
    let (token, id) = issue(
        &s,
        "service",
        &["team:payments"],
        &[("team", "payments"), ("env", "prod")],
    );
    let auth = auth(&s);
    let headers = bearer(&format!("Bearer {token}"));
    let identity = auth.authenticate(&headers).await.unwrap().unwrap();

    assert_eq!(identity.id, id);
    assert_eq!(identity.kind, "service");
    assert_eq!(identity.provider, "bearer");
    assert_eq!(identity.scopes, vec!["team:payments".to_string()]);
    assert_eq!(
        identity.labels,
        vec![
            ("team".to_string(), "payments".to_string()),
            ("env".to_string(), "prod".to_string())
        ]
    );
    assert_eq!(
        identity.subject_hash,
        s.keys.hmac_hex(IDENTITY_DOMAIN, id.as_bytes()).unwrap()
    );
    assert_eq!(
        identity.issuer_hash,
        s.keys.hmac_hex(IDENTITY_DOMAIN, b"bearer-local").unwrap()
    );
    assert_eq!(identity.subject_hash.len(), 64);

    // Neither the token nor its stored hash shows up anywhere in the identity.
    let token_hash = s
        .keys
        .hmac_hex("haechi:auth:token:v1", token.as_bytes())
        .unwrap();
    for rendered in [
        format!("{identity:?}"),
        format!("{:?}", identity.audit()),
        serde_json::to_string(&identity.audit()).unwrap(),
    ] {
        assert!(!rendered.contains(&token), "{rendered}");
        assert!(!rendered.contains(&token["hae_".len()..]), "{rendered}");
        assert!(!rendered.contains(&token_hash), "{rendered}");
    }
    assert_eq!(DenyReason::of(&headers, &Ok(Some(identity))), None);
}

#[tokio::test]
async fn the_scheme_is_case_insensitive_and_the_value_trimmed() {
    let s = setup();
    let (token, _) = issue(&s, "user", &[], &[]);
    let auth = auth(&s);
    for value in [
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("  Bearer   {token}  "),
    ] {
        assert!(
            auth.authenticate(&bearer(&value)).await.unwrap().is_some(),
            "{value:?}"
        );
    }
}

#[tokio::test]
async fn missing_wrong_scheme_and_unknown_tokens_are_denied() {
    let s = setup();
    let (token, _) = issue(&s, "user", &[], &[]);
    let auth = auth(&s);

    let none = HeaderMap::new();
    let outcome = auth.authenticate(&none).await;
    assert!(matches!(outcome, Ok(None)));
    assert_eq!(DenyReason::of(&none, &outcome), Some(DenyReason::NoToken));

    for value in [
        format!("Basic {token}"),
        format!("Token {token}"),
        token.clone(),
        "Bearer".into(),
    ] {
        let headers = bearer(&value);
        let outcome = auth.authenticate(&headers).await;
        assert!(matches!(outcome, Ok(None)), "{value:?}");
        assert_eq!(
            DenyReason::of(&headers, &outcome),
            Some(DenyReason::NoToken),
            "{value:?}"
        );
    }

    for value in [
        format!("Bearer {token}x"),
        format!("Bearer {}", &token[..token.len() - 1]),
        "Bearer hae_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
    ] {
        let headers = bearer(&value);
        let outcome = auth.authenticate(&headers).await;
        assert!(matches!(outcome, Ok(None)), "{value:?}");
        assert!(has_bearer_header(&headers));
        assert_eq!(
            DenyReason::of(&headers, &outcome),
            Some(DenyReason::InvalidToken)
        );
    }
}

#[tokio::test]
async fn revocation_takes_effect_on_the_next_request_without_restart() {
    let s = setup();
    let (token, id) = issue(&s, "agent", &[], &[]);
    let (other, _) = issue(&s, "agent", &[], &[]);
    let auth = auth(&s);
    let headers = bearer(&format!("Bearer {token}"));
    assert!(auth.authenticate(&headers).await.unwrap().is_some());

    assert!(revoke_token(&s.store, &id).unwrap().revoked);
    let outcome = auth.authenticate(&headers).await;
    assert!(matches!(outcome, Ok(None)));
    assert_eq!(
        DenyReason::of(&headers, &outcome),
        Some(DenyReason::InvalidToken)
    );
    // The other token is unaffected.
    assert!(auth
        .authenticate(&bearer(&format!("Bearer {other}")))
        .await
        .unwrap()
        .is_some());

    // A token added while running works at once too.
    let (late, _) = issue(&s, "user", &[], &[]);
    assert!(auth
        .authenticate(&bearer(&format!("Bearer {late}")))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_corrupt_store_is_a_provider_error_not_an_empty_store() {
    let s = setup();
    let (token, _) = issue(&s, "user", &[], &[]);
    let auth = auth(&s);
    let headers = bearer(&format!("Bearer {token}"));
    assert!(auth.authenticate(&headers).await.unwrap().is_some());

    fs::write(&s.store, b"{ this is not json").unwrap();
    let outcome = auth.authenticate(&headers).await;
    let error = outcome.as_ref().unwrap_err();
    assert!(matches!(error, AuthError::StoreCorrupt { .. }));
    assert!(!error.to_string().contains(&token));
    assert_eq!(
        DenyReason::of(&headers, &outcome),
        Some(DenyReason::ProviderError)
    );

    fs::write(&s.store, br#"{"version":1,"tokens":[{"id":"x"}]}"#).unwrap();
    assert!(
        auth.authenticate(&headers).await.is_err(),
        "a record without a hash is refused"
    );
}

#[tokio::test]
async fn an_unreadable_store_is_a_provider_error() {
    let s = setup();
    let (token, _) = issue(&s, "user", &[], &[]);
    fs::remove_file(&s.store).unwrap();
    fs::create_dir(&s.store).unwrap();
    let auth = auth(&s);
    let outcome = auth.authenticate(&bearer(&format!("Bearer {token}"))).await;
    assert!(outcome.is_err());
}

#[tokio::test]
async fn many_records_are_all_searched() {
    let s = setup();
    let mut issued = Vec::new();
    for _ in 0..20 {
        issued.push(issue(&s, "service", &[], &[]));
    }
    let auth = auth(&s);
    for (token, id) in &issued {
        let identity = auth
            .authenticate(&bearer(&format!("Bearer {token}")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&identity.id, id);
    }
    assert_eq!(auth.store_loads(), 1);
}

#[tokio::test]
async fn a_reference_store_authenticates_with_the_reference_identities() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("reference-keys.json");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    fs::copy(
        root.join("../haechi-crypto/tests/fixtures/reference-keys.json"),
        &key_path,
    )
    .unwrap();
    // Git keeps no file modes; a key file that others can read is refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).unwrap();
    }
    let keys = Arc::new(LocalKeyProvider::open(&key_path).unwrap());
    let expect: Value = serde_json::from_str(
        &fs::read_to_string(root.join("tests/fixtures/reference-auth-expect.json")).unwrap(),
    )
    .unwrap();
    let auth = BearerAuth::new(
        root.join("tests/fixtures/reference-auth.json"),
        keys.clone(),
    );

    for name in ["active", "user"] {
        let token = expect["tokens"][name].as_str().unwrap();
        let identity = auth
            .authenticate(&bearer(&format!("Bearer {token}")))
            .await
            .unwrap()
            .unwrap();
        let reference = &expect["identities"][&identity.id];
        assert_eq!(as_reference_json(&identity), *reference, "{name}");
    }
    let revoked = expect["tokens"]["revoked"].as_str().unwrap();
    assert!(auth
        .authenticate(&bearer(&format!("Bearer {revoked}")))
        .await
        .unwrap()
        .is_none());

    // External identities hash subject and issuer the same way.
    let allowed = default_allowed_label_keys();
    let external = external_identity(
        &ExternalClaims {
            provider: "jwt",
            subject: "user-42@example.com",
            issuer: "https://issuer.example",
            kind: "user",
            scopes: vec!["s".into()],
            labels: [("env", "dev")].into_iter().collect(),
            allowed_label_keys: &allowed,
        },
        keys.as_ref(),
    )
    .unwrap();
    assert_eq!(as_reference_json(&external), expect["external"]);
    assert!(!format!("{external:?}").contains("user-42"));
    assert!(!format!("{external:?}").contains("issuer.example"));
}

#[test]
fn external_identities_refuse_incomplete_claims() {
    let s = setup();
    let allowed = default_allowed_label_keys();
    let claims = ExternalClaims {
        provider: "jwt",
        subject: "sub",
        issuer: "iss",
        kind: "user",
        scopes: vec![],
        labels: Labels::new(),
        allowed_label_keys: &allowed,
    };
    assert!(external_identity(&claims, s.keys.as_ref()).is_ok());
    for broken in [
        ExternalClaims {
            subject: "",
            ..claims.clone()
        },
        ExternalClaims {
            issuer: "",
            ..claims.clone()
        },
        ExternalClaims {
            provider: "",
            ..claims.clone()
        },
        ExternalClaims {
            kind: "robot",
            ..claims.clone()
        },
        ExternalClaims {
            scopes: vec![String::new()],
            ..claims.clone()
        },
        ExternalClaims {
            labels: [("owner", "x")].into_iter().collect(),
            ..claims.clone()
        },
    ] {
        assert!(external_identity(&broken, s.keys.as_ref()).is_err());
    }
    let error = external_identity(
        &ExternalClaims {
            subject: "",
            ..claims
        },
        s.keys.as_ref(),
    )
    .unwrap_err();
    assert!(error.to_string().contains("subject"));
}

/// An identity in the reference's JSON shape (labels as an object).
fn as_reference_json(identity: &GatewayIdentity) -> Value {
    let labels: serde_json::Map<String, Value> = identity
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
        .collect();
    serde_json::json!({
        "id": identity.id,
        "type": identity.kind,
        "subjectHash": identity.subject_hash,
        "issuerHash": identity.issuer_hash,
        "provider": identity.provider,
        "scopes": identity.scopes,
        "labels": labels,
    })
}
