#![allow(clippy::unwrap_used)]

use http::header::{HeaderMap, HeaderValue};

use super::*;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_static(value));
    }
    map
}

fn texts(values: &OutsideValues) -> Vec<(String, String)> {
    let detector = haechi_core::detect::Detector::new(&Default::default()).unwrap();
    values
        .as_protect_input()
        .iter()
        .map(|value| (value.location.render(&detector), value.text.to_string()))
        .collect()
}

#[test]
fn collects_decoded_segments_query_pairs_and_headers_but_not_credentials() {
    let forwarded = headers(&[
        ("user-agent", "agent"),
        ("x-api-key", "provider-key"),
        ("authorization", "Bearer provider"),
    ]);
    let values = OutsideValues::collect("/v1/a%20b", Some("q=x%40y+z&flag&=v"), &forwarded, false);
    let found = texts(&values);
    assert!(found.contains(&("$path[0]".into(), "v1".into())));
    assert!(found.contains(&("$path[1]".into(), "a b".into())));
    // `+` is not a space outside form bodies.
    assert!(found.contains(&("$query.q".into(), "x@y+z".into())));
    assert!(found.contains(&("$header.user-agent".into(), "agent".into())));
    assert!(!found.iter().any(|(_, text)| text.contains("provider")));
}

#[test]
fn gemini_key_parameter_is_not_collected() {
    let no_headers = HeaderMap::new();
    let values = OutsideValues::collect("/", Some("key=AIzaX&alt=sse"), &no_headers, true);
    let found = texts(&values);
    assert!(!found.iter().any(|(_, text)| text == "AIzaX"));
    assert!(found.contains(&("$query.alt".into(), "sse".into())));
}

#[test]
fn apply_rewrites_only_replaced_values_and_keeps_the_rest_byte_identical() {
    let forwarded = headers(&[("accept", "a"), ("user-agent", "u1"), ("accept", "b")]);
    let values = OutsideValues::collect("/p/x", Some("a=1&&b=%7E2&c"), &forwarded, false);
    let replacements: Vec<Option<String>> = values
        .as_protect_input()
        .iter()
        .map(|value| match value.text {
            "x" | "~2" | "u1" => Some(format!("[R:{}]", value.text)),
            _ => None,
        })
        .collect();
    let rewritten = values
        .apply(&replacements, "/p/x", Some("a=1&&b=%7E2&c"), &forwarded)
        .unwrap()
        .unwrap();
    assert_eq!(
        rewritten.path_and_query,
        "/p/%5BR%3Ax%5D?a=1&&b=%5BR%3A~2%5D&c"
    );
    let seen: Vec<(&str, &str)> = rewritten
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.to_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [("accept", "a"), ("accept", "b"), ("user-agent", "[R:u1]")]
    );
}

#[test]
fn nothing_replaced_means_no_new_target() {
    let forwarded = headers(&[("accept", "a")]);
    let values = OutsideValues::collect("/p", Some("a=1"), &forwarded, false);
    let none = vec![None; values.as_protect_input().len()];
    let target = values.apply(&none, "/p", Some("a=1"), &forwarded);
    assert_eq!(target, Some(None));
}
