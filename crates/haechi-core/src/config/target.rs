//! Target vocabulary: the protocol adapters, how `target.type`/`target.adapter` resolve to
//! one, and the upstream request headers that are never forwarded.

use super::error::{describe_choice, ConfigError};
use super::model::TargetConfig;

/// Every accepted `target.type`. `llm-http` is an alias of `openai-compatible`; `mcp-http`
/// (ours) is a remote MCP server over the Streamable HTTP transport.
pub const TARGET_TYPES: [&str; 8] = [
    "llm-http",
    "openai-compatible",
    "vllm-openai",
    "ollama",
    "llama-cpp",
    "anthropic",
    "gemini",
    "mcp-http",
];

/// Every protocol adapter (the accepted values of `target.adapter`).
pub const ADAPTER_NAMES: [&str; 7] = [
    "openai-compatible",
    "vllm-openai",
    "llama-cpp",
    "ollama",
    "anthropic",
    "gemini",
    "mcp-http",
];

/// Request headers the gateway drops before forwarding upstream, whatever the allowlist or
/// `target.forwardHeaders` say: ambient client credentials and hop-by-hop headers
/// (RFC 9110 §7.6.1). `proxy-connection` is the legacy hop-by-hop header; the reference
/// forwards it only if explicitly allowlisted, we never do.
pub const ALWAYS_DROPPED_REQUEST_HEADERS: [&str; 12] = [
    "host",
    "content-length",
    "cookie",
    "set-cookie",
    "proxy-authorization",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether `target.forwardHeaders` may not list `name`: the always-dropped headers, plus
/// `authorization` (forwarded only under `auth.provider: none`, decided by the gateway) and
/// `content-type` (always rewritten to `application/json`).
pub fn is_forbidden_forward_header(name: &str) -> bool {
    ALWAYS_DROPPED_REQUEST_HEADERS.contains(&name)
        || matches!(name, "authorization" | "content-type")
}

fn known_adapter(name: &str) -> Option<&'static str> {
    ADAPTER_NAMES.iter().copied().find(|a| *a == name)
}

impl TargetConfig {
    /// The protocol adapter this target uses. A specific `type` (anything but the generic
    /// `llm-http`) names its own adapter and wins over `adapter`, so the default
    /// `adapter: "openai-compatible"` never shadows `type: "ollama"`; otherwise `adapter`
    /// decides, and without it `llm-http` means `openai-compatible`.
    pub fn adapter_name(&self) -> Result<&'static str, ConfigError> {
        if !TARGET_TYPES.contains(&self.target_type.as_str()) {
            return Err(ConfigError::invalid(
                "target.type",
                describe_choice(&self.target_type),
                format!("expected one of {}", TARGET_TYPES.join(" | ")),
            ));
        }
        if let Some(adapter) = known_adapter(&self.target_type) {
            return Ok(adapter);
        }
        match self.adapter.as_deref() {
            None => Ok("openai-compatible"),
            Some(name) => known_adapter(name).ok_or_else(|| {
                ConfigError::invalid(
                    "target.adapter",
                    describe_choice(name),
                    format!("expected one of {}", ADAPTER_NAMES.join(" | ")),
                )
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "tests/target.rs"]
mod tests;
