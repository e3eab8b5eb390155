use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};

use super::*;

fn headers(value: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
    map
}

#[test]
fn bearer_scheme_is_case_insensitive_and_trimmed() {
    for (value, token) in [
        (&b"Bearer hae_abc"[..], "hae_abc"),
        (b"bearer hae_abc", "hae_abc"),
        (b"BEARER   hae_abc  ", "hae_abc"),
        (b"  Bearer\thae_abc", "hae_abc"),
        (b"Bearer a b", "a b"),
    ] {
        let map = headers(value);
        assert_eq!(bearer_token(&map), Some(token), "{value:?}");
        assert!(has_bearer_header(&map));
    }
}

#[test]
fn other_schemes_and_empty_credentials_are_no_bearer() {
    for value in [
        &b"Basic dXNlcjpwYXNz"[..],
        b"Bearer",
        b"Bearer    ",
        b"Bearerhae_abc",
        b"Token hae_abc",
        b"",
    ] {
        let map = headers(value);
        assert_eq!(bearer_token(&map), None, "{value:?}");
        assert!(!has_bearer_header(&map), "{value:?}");
    }
    assert!(!has_bearer_header(&HeaderMap::new()));
}

#[test]
fn a_non_utf8_credential_is_a_bearer_header_without_a_usable_token() {
    let map = headers(b"Bearer hae_\xff\xfe");
    assert!(has_bearer_header(&map));
    assert_eq!(bearer_token(&map), None);
    assert_eq!(
        DenyReason::of(&map, &Ok(None)),
        Some(DenyReason::InvalidToken)
    );
}

#[test]
fn deny_reasons_follow_header_and_outcome() {
    let identity = GatewayIdentity {
        id: "tok_auth_1".into(),
        kind: "user".into(),
        subject_hash: "s".into(),
        issuer_hash: "i".into(),
        provider: "bearer".into(),
        scopes: vec![],
        labels: vec![],
    };
    let bearer = headers(b"Bearer x");
    let none = HeaderMap::new();
    assert_eq!(DenyReason::of(&bearer, &Ok(Some(identity))), None);
    assert_eq!(DenyReason::of(&none, &Ok(None)), Some(DenyReason::NoToken));
    assert_eq!(
        DenyReason::of(&bearer, &Ok(None)),
        Some(DenyReason::InvalidToken)
    );
    let failed = Err(AuthError::provider("upstream identity service unreachable"));
    assert_eq!(
        DenyReason::of(&bearer, &failed),
        Some(DenyReason::ProviderError)
    );
    assert_eq!(DenyReason::NoToken.as_str(), "no_token");
    assert_eq!(DenyReason::InvalidToken.as_str(), "invalid_token");
    assert_eq!(DenyReason::ProviderError.as_str(), "provider_error");
}

#[test]
fn identity_projections_carry_the_right_fields() {
    let identity = GatewayIdentity {
        id: "tok_auth_12345678".into(),
        kind: "service".into(),
        subject_hash: "aa".into(),
        issuer_hash: "bb".into(),
        provider: "bearer".into(),
        scopes: vec!["team:a".into()],
        labels: vec![("env".into(), "prod".into())],
    };
    let audit = identity.audit();
    assert_eq!(audit.id, "tok_auth_12345678");
    assert_eq!(audit.kind, "service");
    assert_eq!(audit.subject_hash, "aa");
    assert_eq!(audit.issuer_hash, "bb");
    assert_eq!(audit.provider, "bearer");
    let profile = identity.profile_identity();
    assert_eq!(profile.scopes, vec!["team:a".to_string()]);
    assert_eq!(
        profile.labels,
        vec![("env".to_string(), "prod".to_string())]
    );
}
