use super::*;
use crate::scope::origin_form;
use http::StatusCode;

fn target(raw: &str) -> Result<(String, String), GatewayError> {
    origin_form(&raw.parse::<http::Uri>().unwrap(), http::Version::HTTP_11)
}

#[test]
fn http2_targets_are_their_path() {
    let uri: http::Uri = "https://gateway.local/v1/chat/completions?x=1"
        .parse()
        .unwrap();
    let (path, path_and_query) = origin_form(&uri, http::Version::HTTP_2).unwrap();
    assert_eq!(path, "/v1/chat/completions");
    assert_eq!(path_and_query, "/v1/chat/completions?x=1");
}

#[test]
fn origin_form_resolves_dot_segments_and_keeps_query() {
    assert_eq!(
        target("/v1/chat/completions?x=1").unwrap(),
        (
            "/v1/chat/completions".into(),
            "/v1/chat/completions?x=1".into()
        )
    );
    assert_eq!(
        target("/v1/a/../chat/completions").unwrap().0,
        "/v1/chat/completions"
    );
    assert_eq!(target("/v1/%2e%2e/admin").unwrap().0, "/admin");
}

#[test]
fn absolute_and_scheme_relative_targets_are_refused() {
    for raw in [
        "http://evil.example/v1/chat/completions",
        "//evil.example/x",
    ] {
        let refusal = target(raw).unwrap_err();
        assert_eq!(refusal.code(), "haechi_invalid_proxy_target");
        assert_eq!(refusal.status(), StatusCode::BAD_REQUEST);
    }
}

#[test]
fn model_allowlist_checks_body_and_path() {
    let allow = vec!["gpt-4o".to_string(), "gemini-2.0-flash".to_string()];
    let body = |m: &str| TopField::Is(m.to_string());
    assert_eq!(
        disallowed_model(&body("gpt-4o"), "/v1/chat/completions", &allow),
        None
    );
    assert_eq!(
        disallowed_model(&body("o1"), "/v1/chat/completions", &allow),
        Some("o1".into())
    );
    assert!(disallowed_model(&TopField::Other, "/v1/chat/completions", &allow).is_some());
    assert_eq!(
        disallowed_model(&TopField::Absent, "/v1/chat/completions", &allow),
        None
    );
    assert_eq!(
        disallowed_model(
            &TopField::Absent,
            "/v1beta/models/gemini-2.0-flash:generateContent",
            &allow
        ),
        None
    );
    assert_eq!(
        disallowed_model(
            &TopField::Absent,
            "/v1beta/models/gemini-pro:generateContent",
            &allow
        ),
        Some("gemini-pro".into())
    );
}
