//! Protocol adapters: which paths of an upstream API carry protectable JSON, under which
//! route id, and which of them stream by default. Route ids appear in audit events and as the
//! bounded `route` metric label, so they are fixed strings from this table.

/// Wire framing of a streaming response (used by inspected streaming; recorded here so the
/// table stays the single description of each API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    Sse,
    Ndjson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Matcher {
    /// The path, exactly.
    Exact(&'static str),
    /// A model-in-path route (Gemini): the path ends with `:<method>`.
    MethodSuffix(&'static str),
    /// Every path (an MCP server's endpoint is wherever it is mounted).
    Any,
}

#[derive(Debug, Clone, Copy)]
struct RouteSpec {
    matcher: Matcher,
    id: &'static str,
    /// Streams unless the body says `"stream": false` (Ollama), or always (Gemini `:stream*`).
    streaming_default: bool,
    streaming: Option<StreamFormat>,
}

const fn exact(path: &'static str, id: &'static str, streaming: Option<StreamFormat>) -> RouteSpec {
    RouteSpec {
        matcher: Matcher::Exact(path),
        id,
        streaming_default: false,
        streaming,
    }
}

const SSE: Option<StreamFormat> = Some(StreamFormat::Sse);
const NDJSON: Option<StreamFormat> = Some(StreamFormat::Ndjson);

const OPENAI_ROUTES: &[RouteSpec] = &[
    exact("/v1/chat/completions", "chat-completions", SSE),
    exact("/v1/completions", "completions", SSE),
    exact("/v1/responses", "responses", SSE),
    exact("/v1/embeddings", "embeddings", None),
];

const LLAMA_CPP_ROUTES: &[RouteSpec] = &[
    exact("/v1/chat/completions", "chat-completions", SSE),
    exact("/v1/completions", "completions", SSE),
    exact("/v1/embeddings", "embeddings", None),
    exact("/completion", "legacy-completion", SSE),
];

const OLLAMA_ROUTES: &[RouteSpec] = &[
    RouteSpec {
        streaming_default: true,
        ..exact("/api/chat", "chat", NDJSON)
    },
    RouteSpec {
        streaming_default: true,
        ..exact("/api/generate", "generate", NDJSON)
    },
    exact("/api/embed", "embed", None),
    exact("/api/embeddings", "embeddings", None),
];

const ANTHROPIC_ROUTES: &[RouteSpec] = &[
    exact("/v1/messages", "messages", SSE),
    exact("/v1/messages/count_tokens", "count-tokens", None),
    exact("/v1/complete", "complete", SSE),
];

const fn suffix(method: &'static str, id: &'static str) -> RouteSpec {
    RouteSpec {
        matcher: Matcher::MethodSuffix(method),
        id,
        streaming_default: false,
        streaming: None,
    }
}

const GEMINI_ROUTES: &[RouteSpec] = &[
    suffix("generateContent", "generate-content"),
    RouteSpec {
        streaming_default: true,
        streaming: SSE,
        ..suffix("streamGenerateContent", "stream-generate-content")
    },
    suffix("countTokens", "count-tokens"),
    suffix("embedContent", "embed"),
    suffix("batchEmbedContents", "batch-embed"),
];

/// A remote MCP server (Streamable HTTP): every path is its endpoint; its messages go through
/// the MCP rules (`crate::mcp`), not the LLM request path.
const MCP_ROUTES: &[RouteSpec] = &[RouteSpec {
    matcher: Matcher::Any,
    id: "mcp",
    streaming_default: false,
    streaming: None,
}];

/// One protocol adapter: its id, the protocol name audit events carry, and its routes.
#[derive(Debug, Clone, Copy)]
pub struct Adapter {
    pub id: &'static str,
    pub protocol: &'static str,
    routes: &'static [RouteSpec],
}

const ADAPTERS: [Adapter; 7] = [
    Adapter {
        id: "openai-compatible",
        protocol: "llm-http",
        routes: OPENAI_ROUTES,
    },
    Adapter {
        id: "vllm-openai",
        protocol: "vllm-openai",
        routes: OPENAI_ROUTES,
    },
    Adapter {
        id: "llama-cpp",
        protocol: "llama-cpp",
        routes: LLAMA_CPP_ROUTES,
    },
    Adapter {
        id: "ollama",
        protocol: "ollama",
        routes: OLLAMA_ROUTES,
    },
    Adapter {
        id: "anthropic",
        protocol: "anthropic",
        routes: ANTHROPIC_ROUTES,
    },
    Adapter {
        id: "gemini",
        protocol: "gemini",
        routes: GEMINI_ROUTES,
    },
    Adapter {
        id: "mcp-http",
        protocol: "mcp-http",
        routes: MCP_ROUTES,
    },
];

/// The route id of a path no adapter route matches (still protected and forwarded).
pub const UNKNOWN_ROUTE: &str = "unknown";

/// What the gateway knows about one request's route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub id: &'static str,
    pub streaming_default: bool,
    pub streaming: Option<StreamFormat>,
}

impl Adapter {
    /// Whether this target is an MCP server (its exchanges follow the MCP rules).
    pub fn is_mcp(&self) -> bool {
        self.id == "mcp-http"
    }

    /// The adapter named by config (`TargetConfig::adapter_name()` already resolved aliases).
    pub fn named(name: &str) -> Option<Adapter> {
        ADAPTERS.iter().copied().find(|adapter| adapter.id == name)
    }

    /// Classify a request path (no query). Exact paths win over `:method` suffixes, and a
    /// suffix only counts after a `:` so a model merely named like a method does not match.
    pub fn classify(&self, path: &str) -> Route {
        let exact = self
            .routes
            .iter()
            .find(|spec| matches!(spec.matcher, Matcher::Exact(p) if p == path));
        let matched = exact.or_else(|| {
            self.routes.iter().find(|spec| match spec.matcher {
                Matcher::MethodSuffix(method) => path
                    .strip_suffix(method)
                    .is_some_and(|head| head.ends_with(':')),
                Matcher::Any => true,
                Matcher::Exact(_) => false,
            })
        });
        match matched {
            Some(spec) => Route {
                id: spec.id,
                streaming_default: spec.streaming_default,
                streaming: spec.streaming,
            },
            None => Route {
                id: UNKNOWN_ROUTE,
                streaming_default: false,
                streaming: None,
            },
        }
    }
}

#[cfg(test)]
#[path = "tests/adapters.rs"]
mod tests;
