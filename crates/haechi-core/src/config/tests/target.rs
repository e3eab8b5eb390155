use super::*;

fn target(kind: &str, adapter: Option<&str>) -> TargetConfig {
    TargetConfig {
        target_type: kind.into(),
        adapter: adapter.map(Into::into),
        upstream: "http://127.0.0.1:9999".into(),
        forward_headers: Vec::new(),
    }
}

#[test]
fn specific_type_wins_over_default_adapter() {
    let t = target("ollama", Some("openai-compatible"));
    assert_eq!(t.adapter_name().unwrap(), "ollama");
    let t = target("gemini", Some("openai-compatible"));
    assert_eq!(t.adapter_name().unwrap(), "gemini");
}

#[test]
fn llm_http_uses_adapter_or_alias() {
    assert_eq!(
        target("llm-http", None).adapter_name().unwrap(),
        "openai-compatible"
    );
    assert_eq!(
        target("llm-http", Some("vllm-openai"))
            .adapter_name()
            .unwrap(),
        "vllm-openai"
    );
}

#[test]
fn unknown_names_fail_closed() {
    assert!(target("bogus", None).adapter_name().is_err());
    assert!(target("bogus", Some("ollama")).adapter_name().is_err());
    assert!(target("llm-http", Some("llm-http")).adapter_name().is_err());
}

#[test]
fn forbidden_forward_headers_cover_the_always_dropped_set() {
    for name in ALWAYS_DROPPED_REQUEST_HEADERS {
        assert!(is_forbidden_forward_header(name), "{name}");
    }
}
