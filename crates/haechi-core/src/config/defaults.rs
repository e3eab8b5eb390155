//! The reference's defaults, as written by `haechi init`.

use indexmap::IndexMap;

use super::model::*;
use crate::vocab::{Action, Mode};

pub const DEFAULT_CONFIG_PATH: &str = "haechi.config.json";
pub const DEFAULT_PROXY_PORT: u16 = 11016;

/// The full default configuration.
pub fn default_config() -> Config {
    let mut actions = IndexMap::new();
    actions.insert("card".to_string(), Action::Block);
    Config {
        config_version: CURRENT_CONFIG_VERSION,
        mode: Mode::DryRun,
        target: TargetConfig {
            target_type: "llm-http".into(),
            adapter: Some("openai-compatible".into()),
            upstream: "http://127.0.0.1:9999".into(),
            forward_headers: Vec::new(),
        },
        proxy: ProxyConfig {
            host: "127.0.0.1".into(),
            port: DEFAULT_PROXY_PORT,
            tls: None,
            trust_forwarded_proto: false,
        },
        response_protection: ResponseProtectionConfig {
            enabled: false,
            mode: Mode::Enforce,
            failure_mode: FailureMode::FailClosed,
            allow_non_json: false,
            allow_compressed: false,
            max_bytes: 1_048_576,
            scan_numbers: false,
        },
        streaming: StreamingConfig {
            request_mode: StreamRequestMode::Block,
            response_mode: Mode::Enforce,
            max_match_bytes: 256,
        },
        limits: LimitsConfig {
            max_request_bytes: 1_048_576,
            upstream_timeout_ms: 120_000,
            max_nesting_depth: 256,
            max_in_flight: 0,
            shutdown_grace_ms: 10_000,
            request_timeout_ms: None,
            headers_timeout_ms: None,
            body_idle_timeout_ms: 60_000,
        },
        policy: PolicyConfig {
            mode: Some(Mode::DryRun),
            presets: vec![
                "korean-pii".into(),
                "secrets-only".into(),
                "llm-redact".into(),
            ],
            default_action: Action::Redact,
            actions,
            allow_unsafe_overrides: false,
            bundle_path: None,
            profiles: IndexMap::new(),
            profile_binding: None,
            model_allowlist: None,
            rate: None,
        },
        filters: FiltersConfig::default(),
        keys: KeysConfig {
            provider: KeysProvider::Local,
            key_file: ".haechi/dev.keys.json".into(),
        },
        audit: AuditConfig {
            sink: AuditSinkKind::Jsonl,
            path: ".haechi/audit.jsonl".into(),
            anchor: AnchorConfig {
                mode: AnchorMode::None,
                path: Some(".haechi/audit.anchor.jsonl".into()),
                every_records: 1,
            },
            fsync: AuditFsync::Interval,
            fsync_interval_ms: DEFAULT_FSYNC_INTERVAL_MS,
        },
        token_vault: TokenVaultConfig {
            provider: TokenVaultProvider::Local,
            path: ".haechi/token-vault.json".into(),
            reveal_policy: RevealPolicy::Disabled,
            retention_days: 30.0,
            deterministic: false,
            deterministic_types: None,
            detokenize_responses: false,
        },
        privacy: PrivacyConfig { profile: None },
        logging: LoggingConfig {
            format: LogFormat::Text,
        },
        metrics: MetricsConfig { enabled: true },
        mcp: McpConfig {
            allowed_methods: vec![
                "initialize".into(),
                "tools/call".into(),
                "resources/read".into(),
                "prompts/get".into(),
            ],
            protect_params: true,
            protect_results: true,
            require_json_rpc: true,
            max_message_bytes: DEFAULT_MCP_MAX_MESSAGE_BYTES,
        },
        auth: AuthConfig {
            provider: AuthProviderKind::None,
            store: ".haechi/auth.json".into(),
            allowed_label_keys: vec!["team".into(), "env".into(), "tier".into(), "role".into()],
            plugin: None,
        },
        plugins: PluginsConfig { enabled: true },
    }
}

/// The text `haechi init` writes: the reference's default file, key for key and in the same
/// order, two-space indented, with a trailing newline.
pub fn default_config_json() -> String {
    DEFAULT_CONFIG_JSON.to_string()
}

const DEFAULT_CONFIG_JSON: &str = r#"{
  "configVersion": 1,
  "mode": "dry-run",
  "target": {
    "type": "llm-http",
    "adapter": "openai-compatible",
    "upstream": "http://127.0.0.1:9999"
  },
  "proxy": {
    "host": "127.0.0.1",
    "port": 11016,
    "tls": null,
    "trustForwardedProto": false
  },
  "responseProtection": {
    "enabled": false,
    "mode": "enforce",
    "failureMode": "fail-closed",
    "allowNonJson": false,
    "allowCompressed": false,
    "maxBytes": 1048576,
    "scanNumbers": false
  },
  "streaming": {
    "requestMode": "block",
    "responseMode": "enforce",
    "maxMatchBytes": 256
  },
  "limits": {
    "maxRequestBytes": 1048576,
    "maxNestingDepth": 256,
    "upstreamTimeoutMs": 120000,
    "maxInFlight": 0,
    "shutdownGraceMs": 10000,
    "requestTimeoutMs": null,
    "headersTimeoutMs": null
  },
  "policy": {
    "mode": "dry-run",
    "presets": [
      "korean-pii",
      "secrets-only",
      "llm-redact"
    ],
    "defaultAction": "redact",
    "actions": {
      "card": "block"
    }
  },
  "filters": {
    "customRules": [],
    "minConfidence": 0,
    "allowlist": [],
    "decodeAndRescan": false
  },
  "keys": {
    "provider": "local",
    "keyFile": ".haechi/dev.keys.json"
  },
  "audit": {
    "sink": "jsonl",
    "path": ".haechi/audit.jsonl",
    "anchor": {
      "mode": "none",
      "path": ".haechi/audit.anchor.jsonl",
      "everyRecords": 1
    }
  },
  "tokenVault": {
    "provider": "local",
    "path": ".haechi/token-vault.json",
    "revealPolicy": "disabled",
    "retentionDays": 30,
    "deterministic": false,
    "deterministicTypes": null,
    "detokenizeResponses": false
  },
  "privacy": {
    "profile": null
  },
  "logging": {
    "format": "text"
  },
  "metrics": {
    "enabled": true
  },
  "auth": {
    "provider": "none",
    "store": ".haechi/auth.json",
    "allowedLabelKeys": [
      "team",
      "env",
      "tier",
      "role"
    ]
  },
  "plugins": {
    "enabled": true
  },
  "mcp": {
    "allowedMethods": [
      "initialize",
      "tools/call",
      "resources/read",
      "prompts/get"
    ],
    "protectParams": true,
    "protectResults": true,
    "requireJsonRpc": true
  }
}
"#;
