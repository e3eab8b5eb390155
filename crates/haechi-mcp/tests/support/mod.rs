//! A filter over a real protector (enforce, llm-redact + secrets-only) with an in-memory chain.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors
#![allow(dead_code)] // each test binary uses a different part

use std::sync::Arc;

use haechi_core::audit::MemoryAuditSink;
use haechi_core::config::{default_config, Config};
use haechi_core::protect::{Collaborators, Protector};
use haechi_core::vocab::Mode;
use haechi_mcp::McpFilter;

pub(crate) const EMAIL: &str = "jane.doe@example.com";
pub(crate) const API_KEY: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";

pub(crate) fn enforcing() -> Config {
    let mut config = default_config();
    config.mode = Mode::Enforce;
    config.policy.mode = Some(Mode::Enforce);
    config.policy.presets = vec!["llm-redact".into(), "secrets-only".into()];
    config
}

pub(crate) fn filter_with(config: &Config) -> (McpFilter, Arc<MemoryAuditSink>) {
    let audit = Arc::new(MemoryAuditSink::new());
    let protector = Protector::new(
        config,
        Collaborators {
            audit: audit.clone(),
            crypto: None,
            tokenizer: None,
        },
    )
    .unwrap();
    (
        McpFilter::new(Arc::new(protector), config, "mcp-stdio"),
        audit,
    )
}
