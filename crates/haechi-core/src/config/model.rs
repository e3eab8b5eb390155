//! The typed configuration model. Field names follow `haechi.config.json` (camelCase on the
//! wire); defaults are the reference's defaults. A `Config` built by
//! [`super::load_config_str`] has passed every check of the schema.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::vocab::{Action, Mode};

/// The newest `configVersion` this build understands.
pub const CURRENT_CONFIG_VERSION: u64 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    pub config_version: u64,
    pub mode: Mode,
    pub target: TargetConfig,
    pub proxy: ProxyConfig,
    pub response_protection: ResponseProtectionConfig,
    pub streaming: StreamingConfig,
    pub limits: LimitsConfig,
    pub policy: PolicyConfig,
    pub filters: FiltersConfig,
    pub keys: KeysConfig,
    pub audit: AuditConfig,
    pub token_vault: TokenVaultConfig,
    pub privacy: PrivacyConfig,
    pub logging: LoggingConfig,
    pub metrics: MetricsConfig,
    pub mcp: McpConfig,
    pub auth: AuthConfig,
    pub plugins: PluginsConfig,
}

impl Config {
    /// The effective enforcement mode: `policy.mode ?? mode`.
    pub fn effective_mode(&self) -> Mode {
        self.policy.mode.unwrap_or(self.mode)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetConfig {
    /// `llm-http` | `openai-compatible` | `vllm-openai` | `ollama` | `llama-cpp` | `anthropic` | `gemini`.
    #[serde(rename = "type")]
    pub target_type: String,
    /// Explicit adapter override (same set); `None` lets `type` decide.
    pub adapter: Option<String>,
    pub upstream: String,
    pub forward_headers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyConfig {
    pub host: String,
    pub port: u16,
    pub tls: Option<TlsConfig>,
    pub trust_forwarded_proto: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsConfig {
    pub key_file: Option<String>,
    pub cert_file: Option<String>,
    pub pfx_file: Option<String>,
    pub passphrase: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureMode {
    FailClosed,
    Allow,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseProtectionConfig {
    pub enabled: bool,
    pub mode: Mode,
    pub failure_mode: FailureMode,
    pub allow_non_json: bool,
    pub allow_compressed: bool,
    pub max_bytes: u64,
    pub scan_numbers: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StreamRequestMode {
    Block,
    PassThrough,
    Inspect,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamingConfig {
    pub request_mode: StreamRequestMode,
    pub response_mode: Mode,
    pub max_match_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitsConfig {
    pub max_request_bytes: u64,
    pub upstream_timeout_ms: u64,
    pub max_nesting_depth: usize,
    pub max_in_flight: u64,
    pub shutdown_grace_ms: u64,
    pub request_timeout_ms: Option<u64>,
    pub headers_timeout_ms: Option<u64>,
    /// Our additive key: the longest pause inside a request body before 408 (nginx's
    /// `client_body_timeout`); `0` disables it.
    pub body_idle_timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyConfig {
    /// `None` means "use the top-level `mode`".
    pub mode: Option<Mode>,
    pub presets: Vec<String>,
    pub default_action: Action,
    pub actions: IndexMap<String, Action>,
    pub allow_unsafe_overrides: bool,
    pub bundle_path: Option<String>,
    pub profiles: IndexMap<String, ProfileConfig>,
    pub profile_binding: Option<ProfileBinding>,
    pub model_allowlist: Option<Vec<String>>,
    pub rate: Option<RateConfig>,
}

/// A named per-client profile; each field overrides the base policy when set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ProfileConfig {
    pub presets: Option<Vec<String>>,
    pub actions: Option<IndexMap<String, Action>>,
    pub model_allowlist: Option<Vec<String>>,
    pub rate: Option<RateConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileBinding {
    /// scope -> profile name.
    #[serde(default)]
    pub by_scope: IndexMap<String, String>,
    /// `"key=value"` label -> profile name.
    #[serde(default)]
    pub by_label: IndexMap<String, String>,
    pub default: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateConfig {
    pub requests_per_minute: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FiltersConfig {
    pub custom_rules: Vec<CustomRuleConfig>,
    pub min_confidence: f64,
    pub allowlist: Vec<AllowlistEntry>,
    pub decode_and_rescan: bool,
}

/// `{ id, type, pattern, flags?, confidence? }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomRuleConfig {
    pub id: String,
    #[serde(rename = "type")]
    pub detection_type: String,
    pub pattern: String,
    pub flags: Option<String>,
    pub confidence: Option<f64>,
}

/// An allowlist entry: a bare value string, or `{ value?, path? }` (both must match when both set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AllowlistEntry {
    Value(String),
    Match {
        #[serde(default)]
        value: Option<String>,
        #[serde(default)]
        path: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeysConfig {
    pub provider: KeysProvider,
    pub key_file: String,
}

/// `keys.provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeysProvider {
    /// The key file at `keys.keyFile`.
    Local,
    /// A provider supplied by a program that embeds Haechi.
    External,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditConfig {
    pub sink: AuditSinkKind,
    pub path: String,
    pub anchor: AnchorConfig,
    /// Ours (additive): when appended records are forced to disk (see [`AuditFsync`]).
    #[serde(default)]
    pub fsync: AuditFsync,
    /// Ours (additive): the longest an appended record waits for its sync under
    /// `fsync: interval`, in milliseconds.
    #[serde(default = "default_fsync_interval_ms")]
    pub fsync_interval_ms: u64,
}

/// The default `audit.fsyncIntervalMs`.
pub const DEFAULT_FSYNC_INTERVAL_MS: u64 = 100;

fn default_fsync_interval_ms() -> u64 {
    DEFAULT_FSYNC_INTERVAL_MS
}

/// Every record is written to the log file (the operating system has it, so a crash of the
/// process loses nothing) before the decision it records is acted on; this chooses when it
/// also reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditFsync {
    /// Synced before the callers of its batch continue: nothing acknowledged is lost to a power
    /// failure, at the cost of a disk flush on every request's path.
    EveryBatch,
    /// Synced by a background flush at most `fsyncIntervalMs` later, off the request path: a
    /// power failure or kernel crash can lose that window's records, never fork the chain.
    #[default]
    Interval,
    /// Left to the operating system's writeback (the reference's durability).
    Never,
}

/// `audit.sink`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditSinkKind {
    /// The JSONL file at `audit.path`.
    Jsonl,
}

/// `audit.anchor.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnchorMode {
    None,
    /// Head hashes appended to `audit.anchor.path`.
    File,
    /// Head hashes printed to standard output (accepted, not served by this build).
    Stdout,
}

impl AnchorMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AnchorMode::None => "none",
            AnchorMode::File => "file",
            AnchorMode::Stdout => "stdout",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnchorConfig {
    pub mode: AnchorMode,
    /// The anchor stream for `mode: file`.
    pub path: Option<String>,
    /// Anchor the chain head every N records (N >= 1).
    pub every_records: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevealPolicy {
    Disabled,
    LocalDev,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenVaultConfig {
    pub provider: TokenVaultProvider,
    pub path: String,
    pub reveal_policy: RevealPolicy,
    pub retention_days: f64,
    pub deterministic: bool,
    pub deterministic_types: Option<Vec<String>>,
    pub detokenize_responses: bool,
}

/// `tokenVault.provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenVaultProvider {
    /// The SQLite vault beside `tokenVault.path`.
    Local,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivacyConfig {
    /// `kr-pipa` | `eu-gdpr` | `asia-pdpa` | `us-general` | `jp-appi`.
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggingConfig {
    pub format: LogFormat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsConfig {
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpConfig {
    pub allowed_methods: Vec<String>,
    pub protect_params: bool,
    pub protect_results: bool,
    pub require_json_rpc: bool,
    /// The longest JSON-RPC message (one line) read from either side; a longer one is
    /// discarded and answered with an error, so memory stays bounded.
    #[serde(default = "default_mcp_max_message_bytes")]
    pub max_message_bytes: usize,
}

/// The default `mcp.maxMessageBytes`: 4 MiB, room for a large tool result.
pub const DEFAULT_MCP_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

fn default_mcp_max_message_bytes() -> usize {
    DEFAULT_MCP_MAX_MESSAGE_BYTES
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthConfig {
    pub provider: AuthProviderKind,
    pub store: String,
    pub allowed_label_keys: Vec<String>,
    /// The signed-plugin settings (`auth.plugin`), shape-validated; consumed by the plugin host.
    pub plugin: Option<Value>,
}

/// `auth.provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthProviderKind {
    None,
    /// Tokens from `haechi auth add`, in `auth.store`.
    Bearer,
    /// A provider supplied by a program that embeds Haechi.
    External,
    /// A signed, sandboxed plugin (`auth.plugin`).
    Plugin,
}

impl AuthProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthProviderKind::None => "none",
            AuthProviderKind::Bearer => "bearer",
            AuthProviderKind::External => "external",
            AuthProviderKind::Plugin => "plugin",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginsConfig {
    pub enabled: bool,
}
