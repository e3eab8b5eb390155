use super::*;

fn adapter(name: &str) -> Adapter {
    Adapter::named(name).unwrap()
}

#[test]
fn openai_routes_classify_exactly() {
    let openai = adapter("openai-compatible");
    assert_eq!(openai.protocol, "llm-http");
    assert_eq!(
        openai.classify("/v1/chat/completions").id,
        "chat-completions"
    );
    assert_eq!(openai.classify("/v1/embeddings").id, "embeddings");
    assert_eq!(openai.classify("/v1/chat/completions/").id, UNKNOWN_ROUTE);
    assert_eq!(openai.classify("/completion").id, UNKNOWN_ROUTE);
    assert_eq!(
        adapter("llama-cpp").classify("/completion").id,
        "legacy-completion"
    );
}

#[test]
fn ollama_chat_streams_by_default() {
    let ollama = adapter("ollama");
    let chat = ollama.classify("/api/chat");
    assert!(chat.streaming_default);
    assert_eq!(chat.streaming, Some(StreamFormat::Ndjson));
    assert!(!ollama.classify("/api/embed").streaming_default);
}

#[test]
fn gemini_matches_method_suffix_after_colon_only() {
    let gemini = adapter("gemini");
    assert_eq!(
        gemini
            .classify("/v1beta/models/gemini-2.0-flash:generateContent")
            .id,
        "generate-content"
    );
    let stream = gemini.classify("/v1/models/x:streamGenerateContent");
    assert_eq!(stream.id, "stream-generate-content");
    assert!(stream.streaming_default);
    assert_eq!(
        gemini.classify("/v1beta/models/generateContent").id,
        UNKNOWN_ROUTE
    );
    assert_eq!(gemini.classify("/v1beta/models/m:embedContent").id, "embed");
    assert_eq!(
        gemini.classify("/v1beta/models/m:batchEmbedContents").id,
        "batch-embed"
    );
}

#[test]
fn anthropic_count_tokens_is_its_own_route() {
    let anthropic = adapter("anthropic");
    assert_eq!(anthropic.classify("/v1/messages").id, "messages");
    assert_eq!(
        anthropic.classify("/v1/messages/count_tokens").id,
        "count-tokens"
    );
    assert!(Adapter::named("nope").is_none());
}
