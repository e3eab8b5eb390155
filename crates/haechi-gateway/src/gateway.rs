//! The gateway's shared state, built once from config and the collaborators the embedding
//! program supplies (the `haechi` CLI, or a library user with its own providers).

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use haechi_core::config::{AuthProviderKind, Config, StreamRequestMode};
use haechi_core::protect::Protector;
use haechi_core::seams::{
    CommitDone, Crypto, IssuedTokens, PendingTokens, ProviderError, TokenRequest, Tokenizer,
};
use haechi_core::vocab::Mode;
use haechi_mcp::McpFilter;

use crate::adapters::Adapter;
use crate::audit::AuditHandle;
use crate::auth::{AuthProvider, BearerAuth};
use crate::headers::ForwardPolicy;
use crate::metrics::GatewayMetrics;
use crate::rate::{RateLimiter, WindowRateLimiter};
use crate::upstream::{Upstream, UpstreamConfigError};

/// Restores the tokens a request was given, for `tokenVault.detokenizeResponses` (audited by
/// the implementation, by count). Blocking: the gateway calls it off the async hot path.
pub trait Detokenizer: Send + Sync {
    fn detokenize(&self, tokens: &[&str]) -> Result<HashMap<String, String>, ProviderError>;
}

impl Detokenizer for haechi_store::vault::TokenGovernance {
    fn detokenize(&self, tokens: &[&str]) -> Result<HashMap<String, String>, ProviderError> {
        haechi_store::vault::TokenGovernance::detokenize(self, tokens)
            .map(|restored| restored.values)
            .map_err(|error| ProviderError::new(error.code(), error.to_string()))
    }
}

/// Whether the gateway can serve right now (`/__haechi/ready`): the audit log is writable.
pub type ReadinessProbe = Arc<dyn Fn() -> bool + Send + Sync>;

/// What the embedding program hands the gateway.
pub struct GatewayParts {
    pub config: Config,
    /// The compiled pipeline. Its audit collaborator receives every event the gateway
    /// records (a group-commit writer such as `haechi_store::audit::AuditWriter`, for speed).
    pub protector: Arc<Protector>,
    /// Keyed hashing for bearer tokens and identities.
    pub crypto: Arc<dyn Crypto>,
    /// Required for `auth.provider: external`; ignored otherwise.
    pub auth: Option<Arc<dyn AuthProvider>>,
    /// Defaults to the in-memory window limiter.
    pub rate_limiter: Option<Arc<dyn RateLimiter>>,
    /// Required for `tokenVault.detokenizeResponses`.
    pub detokenizer: Option<Arc<dyn Detokenizer>>,
    /// Defaults to "always ready".
    pub readiness: Option<ReadinessProbe>,
}

/// A configuration the gateway refuses to serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayConfigError {
    #[error(transparent)]
    Upstream(#[from] UpstreamConfigError),
    #[error("target adapter is unknown ({0}); use one of openai-compatible, vllm-openai, llama-cpp, ollama, anthropic, gemini, mcp-http")]
    UnknownAdapter(String),
    #[error("auth.provider \"external\" needs an AuthProvider supplied by the program embedding Haechi; use \"bearer\" with `haechi auth add`, or \"none\"")]
    ExternalAuthMissing,
    #[error("auth.provider {0:?} is not supported by this gateway; use \"none\", \"bearer\" or \"external\"")]
    UnsupportedAuth(String),
    #[error("streaming.requestMode \"inspect\" is not available in this gateway yet; use \"block\" (refuse streaming requests) or \"pass-through\" (forward them uninspected, audited)")]
    InspectedStreamingUnavailable,
    #[error(
        "tokenVault.detokenizeResponses is true but no token vault was supplied to the gateway"
    )]
    DetokenizerMissing,
}

/// Shared by every connection.
pub struct Gateway {
    pub(crate) config: Config,
    pub(crate) request_mode: Mode,
    pub(crate) adapter: Adapter,
    pub(crate) protector: Arc<Protector>,
    /// The MCP rules, when the target is an MCP server (`target.type: "mcp-http"`).
    pub(crate) mcp: Option<Arc<McpFilter>>,
    pub(crate) audit: AuditHandle,
    pub(crate) metrics: Arc<GatewayMetrics>,
    pub(crate) auth: Option<Arc<dyn AuthProvider>>,
    pub(crate) rate: Arc<dyn RateLimiter>,
    pub(crate) forward: ForwardPolicy,
    pub(crate) upstream: Upstream,
    pub(crate) detokenizer: Option<Arc<dyn Detokenizer>>,
    pub(crate) readiness: ReadinessProbe,
    pub(crate) in_flight: AtomicU64,
    /// Set when serving plain http beyond loopback behind a trusted TLS terminator.
    pub(crate) require_forwarded_https: bool,
}

impl Gateway {
    pub fn new(parts: GatewayParts) -> Result<Gateway, GatewayConfigError> {
        let config = parts.config;
        let adapter_name = config
            .target
            .adapter_name()
            .map_err(|error| GatewayConfigError::UnknownAdapter(error.to_string()))?;
        let adapter = Adapter::named(adapter_name)
            .ok_or_else(|| GatewayConfigError::UnknownAdapter(adapter_name.to_string()))?;
        if config.streaming.request_mode == StreamRequestMode::Inspect {
            return Err(GatewayConfigError::InspectedStreamingUnavailable);
        }
        let auth: Option<Arc<dyn AuthProvider>> = match config.auth.provider {
            AuthProviderKind::None => None,
            AuthProviderKind::Bearer => Some(Arc::new(BearerAuth::new(
                config.auth.store.clone(),
                Arc::clone(&parts.crypto),
            ))),
            AuthProviderKind::External => {
                Some(parts.auth.ok_or(GatewayConfigError::ExternalAuthMissing)?)
            }
            other => return Err(GatewayConfigError::UnsupportedAuth(other.as_str().into())),
        };
        if config.token_vault.detokenize_responses && parts.detokenizer.is_none() {
            return Err(GatewayConfigError::DetokenizerMissing);
        }
        let upstream = Upstream::new(
            &config.target.upstream,
            Duration::from_millis(config.limits.upstream_timeout_ms),
        )?;
        let mcp = adapter.is_mcp().then(|| {
            Arc::new(McpFilter::new(
                Arc::clone(&parts.protector),
                &config,
                adapter.protocol,
            ))
        });
        Ok(Gateway {
            request_mode: config.effective_mode(),
            adapter,
            mcp,
            audit: AuditHandle::new(Arc::clone(parts.protector.audit())),
            protector: parts.protector,
            metrics: Arc::new(GatewayMetrics::new()),
            forward: ForwardPolicy::new(
                auth.is_some(),
                adapter.is_mcp(),
                &config.target.forward_headers,
            ),
            auth,
            rate: parts
                .rate_limiter
                .unwrap_or_else(|| Arc::new(WindowRateLimiter::new())),
            upstream,
            detokenizer: parts.detokenizer,
            readiness: parts.readiness.unwrap_or_else(|| Arc::new(|| true)),
            in_flight: AtomicU64::new(0),
            require_forwarded_https: false,
            config,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn metrics(&self) -> &Arc<GatewayMetrics> {
        &self.metrics
    }

    /// Requests being handled now (observability routes excluded).
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Run blocking work (SQLite, file I/O) from inside the runtime without stalling other
/// tasks on this worker: the worker hands its queue to another thread meanwhile.
pub fn run_blocking<R>(work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// A tokenizer (the vault) called through [`run_blocking`] when it may block, for protectors
/// the gateway runs.
/// A batch whose commit writes on the committing thread is committed through [`run_blocking`]
/// too; one that only queues for a writer thread ([`haechi_store::vault::VaultWriter`]) is not.
pub struct OffloadedTokenizer(pub Arc<dyn Tokenizer>);

impl Tokenizer for OffloadedTokenizer {
    fn tokenize(&self, requests: &[TokenRequest<'_>]) -> Result<Vec<String>, ProviderError> {
        run_blocking(|| self.0.tokenize(requests))
    }

    fn issue(&self, requests: &[TokenRequest<'_>]) -> Result<IssuedTokens, ProviderError> {
        // Handing the thread over costs more than computing ids and envelopes: only a
        // tokenizer that may wait on I/O gets it.
        let issued = match self.0.issue_blocks() {
            true => run_blocking(|| self.0.issue(requests))?,
            false => self.0.issue(requests)?,
        };
        Ok(IssuedTokens {
            tokens: issued.tokens,
            pending: issued
                .pending
                .map(|pending| match pending.commits_inline() {
                    true => Box::new(OffloadedCommit(pending)) as Box<dyn PendingTokens>,
                    false => pending,
                }),
        })
    }
}

struct OffloadedCommit(Box<dyn PendingTokens>);

impl PendingTokens for OffloadedCommit {
    fn commit(self: Box<Self>, done: CommitDone) {
        run_blocking(|| self.0.commit(done));
    }
}
