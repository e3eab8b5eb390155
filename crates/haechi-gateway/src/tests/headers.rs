use super::*;

fn client_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("authorization", "Bearer upstream-key"),
        ("cookie", "session=1"),
        ("proxy-authorization", "Basic x"),
        ("x-api-key", "k"),
        ("anthropic-version", "2023-06-01"),
        ("content-type", "text/plain"),
        ("x-custom", "1"),
        ("x-tenant", "t"),
        ("connection", "keep-alive"),
        ("user-agent", "sdk"),
    ] {
        headers.append(name, HeaderValue::from_static(value));
    }
    headers
}

#[test]
fn default_allowlist_and_always_dropped() {
    let out = ForwardPolicy::new(false, false, &[]).upstream_headers(&client_headers());
    assert_eq!(out.get("authorization").unwrap(), "Bearer upstream-key");
    assert_eq!(out.get("x-api-key").unwrap(), "k");
    assert_eq!(out.get("anthropic-version").unwrap(), "2023-06-01");
    assert_eq!(out.get("user-agent").unwrap(), "sdk");
    assert_eq!(out.get("content-type").unwrap(), "application/json");
    for dropped in [
        "cookie",
        "proxy-authorization",
        "x-custom",
        "x-tenant",
        "connection",
    ] {
        assert!(
            out.get(dropped).is_none(),
            "{dropped} must not be forwarded"
        );
    }
}

#[test]
fn gateway_auth_consumes_authorization() {
    let out = ForwardPolicy::new(true, false, &[]).upstream_headers(&client_headers());
    assert!(out.get("authorization").is_none());
    assert_eq!(out.get("x-api-key").unwrap(), "k");
}

#[test]
fn forward_headers_widen_but_never_override_drops() {
    let extra = vec!["x-tenant".to_string(), "cookie".to_string()];
    let out = ForwardPolicy::new(false, false, &extra).upstream_headers(&client_headers());
    assert_eq!(out.get("x-tenant").unwrap(), "t");
    assert!(out.get("cookie").is_none());
    assert!(out.get("x-custom").is_none());
}

#[test]
fn response_framing_and_validators() {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("content-encoding", "gzip"),
        ("content-length", "10"),
        ("etag", "\"x\""),
        ("x-request-id", "r"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    let mut passed = headers.clone();
    sanitize_response_headers(&mut passed);
    assert!(passed.get("content-length").is_none());
    assert_eq!(passed.get("content-encoding").unwrap(), "gzip");
    assert!(passed.get("etag").is_some());
    rewritten_json_headers(&mut headers);
    assert!(headers.get("etag").is_none());
    assert!(headers.get("content-encoding").is_none());
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    assert_eq!(headers.get("x-request-id").unwrap(), "r");
}

#[test]
fn forwarded_proto_first_hop() {
    let mut headers = HeaderMap::new();
    assert!(!forwarded_https(&headers));
    headers.insert("x-forwarded-proto", HeaderValue::from_static("HTTPS, http"));
    assert!(forwarded_https(&headers));
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http, https"));
    assert!(!forwarded_https(&headers));
}
