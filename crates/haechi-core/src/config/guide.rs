//! The text `haechi config` prints: every section and key with its type, default and
//! allowed values. A test checks that every key of the schema appears here.

/// The configuration guide printed by `haechi config`.
pub const CONFIG_GUIDE: &str = r#"Haechi configuration guide

File: haechi.config.json (pick another with --config <path>); `haechi init` writes the
defaults. The file is strict JSON (no comments). Loading is fail-closed: an unknown key,
a wrong type or an out-of-range value stops Haechi with a message naming the key.
A missing key takes its default; a section set to null takes all its defaults.
`haechi status` prints the effective settings.

Top level
  configVersion               integer >= 1, default 1. Newer than this build = refused.
  mode                        dry-run | report-only | enforce (default dry-run)

Enforcement: policy.mode wins over mode. The default file sets policy.mode to dry-run,
so to enforce set policy.mode to "enforce" (or to null to follow mode).

target
  target.type                 llm-http | openai-compatible | vllm-openai | ollama |
                              llama-cpp | anthropic | gemini | mcp-http (a remote
                              MCP server, Streamable HTTP) (default llm-http)
  target.adapter              null or an adapter name (default openai-compatible);
                              a specific type picks its own adapter, llm-http uses this
  target.upstream             http(s) URL with a host (default http://127.0.0.1:9999)
  target.forwardHeaders       extra lowercase header names to forward (default none);
                              cookie, authorization, host and hop-by-hop headers refused

proxy
  proxy.host                  non-empty string (default 127.0.0.1); a non-loopback host
                              also needs the --allow-remote-bind flag and TLS
  proxy.port                  integer 0-65535 (default 11016; 0 = any free port)
  proxy.tls                   null (default), { keyFile, certFile } or
                              { pfxFile, passphrase? } - file paths, read at startup
  proxy.tls.keyFile           PEM private key path (with certFile)
  proxy.tls.certFile          PEM certificate path (with keyFile)
  proxy.tls.pfxFile           PKCS#12 path (not with keyFile/certFile)
  proxy.tls.passphrase        string, for pfxFile only
  proxy.trustForwardedProto   boolean (default false); true = a trusted TLS terminator
                              sits in front, plain requests without
                              X-Forwarded-Proto: https are refused

responseProtection (inspect what comes back from the upstream)
  responseProtection.enabled          boolean (default false)
  responseProtection.mode             dry-run | report-only | enforce (default enforce)
  responseProtection.failureMode      fail-closed | allow (default fail-closed)
  responseProtection.allowNonJson     boolean (default false)
  responseProtection.allowCompressed  boolean (default false)
  responseProtection.maxBytes         positive integer (default 1048576)
  responseProtection.scanNumbers      boolean (default false)

streaming
  streaming.requestMode       block | pass-through | inspect (default block)
  streaming.responseMode      dry-run | report-only | enforce (default enforce)
  streaming.maxMatchBytes     positive integer, cross-frame window (default 256)

limits
  limits.maxRequestBytes      positive integer (default 1048576)
  limits.maxNestingDepth      positive integer (default 256)
  limits.upstreamTimeoutMs    positive integer (default 120000)
  limits.maxInFlight          integer >= 0, 0 = no ceiling (default 0)
  limits.shutdownGraceMs      integer >= 0 (default 10000)
  limits.requestTimeoutMs     null or integer >= 0 (default null)
  limits.headersTimeoutMs     null or integer >= 0 (default null)
  limits.bodyIdleTimeoutMs    integer >= 0, longest pause inside a request body before
                              408, 0 = none (default 60000; this implementation only)

policy
  policy.mode                 null | dry-run | report-only | enforce (default dry-run)
  policy.presets              names from llm-redact, korean-pii, secrets-only,
                              strict-block, mcp-basic, local-inference, local-only
                              (default korean-pii, secrets-only, llm-redact)
  policy.defaultAction        allow | redact | mask | tokenize | encrypt | block
                              (default redact)
  policy.actions              { <type>: <action> } (default { "card": "block" });
                              may strengthen, not weaken, unless allowUnsafeOverrides
  policy.allowUnsafeOverrides boolean (default false)
  policy.bundlePath           null or path of a signed policy bundle (default null)
  policy.modelAllowlist       array of model names; empty = all (default unset)
  policy.rate                 { requestsPerMinute } (default unset)
  policy.rate.requestsPerMinute  positive integer
  policy.profiles             { <name>: { presets?, actions?, modelAllowlist?, rate? } }
  policy.profileBinding       { byScope?, byLabel?, default }; required with profiles
  policy.profileBinding.byScope   { <scope>: <profile> }
  policy.profileBinding.byLabel   { "<key>=<value>": <profile> }
  policy.profileBinding.default   profile used when nothing matches (the strictest)

filters
  filters.customRules         [{ id, type, pattern, flags?, confidence? }] (default [])
  filters.customRules[].id, .type, .pattern   non-empty strings
  filters.customRules[].flags       regex flags from d g i m s u v y
  filters.customRules[].confidence  number 0-1
  filters.minConfidence       number 0-1 (default 0); never drops hard-block types
  filters.allowlist           strings and/or { value?, path? } (default []);
                              never suppresses hard-block types
  filters.decodeAndRescan     boolean (default false)

keys
  keys.provider               local | external (default local)
  keys.keyFile                path (default .haechi/dev.keys.json)

audit
  audit.sink                  jsonl (the only sink)
  audit.path                  path (default .haechi/audit.jsonl)
  audit.anchor.mode           none | file | stdout (default none)
  audit.anchor.path           path for mode file (default .haechi/audit.anchor.jsonl)
  audit.anchor.everyRecords   positive integer (default 1)
  audit.fsync                 every-batch | interval | never (default interval; ours): when
                              written records are forced to disk: before the request goes on,
                              by a background flush, or by the OS
  audit.fsyncIntervalMs       1..60000 (default 100; ours): the flush period of interval

tokenVault
  tokenVault.provider         local (the only provider)
  tokenVault.path             path (default .haechi/token-vault.json)
  tokenVault.revealPolicy     disabled | local-dev (default disabled)
  tokenVault.retentionDays    number >= 1 (default 30)
  tokenVault.deterministic    boolean (default false)
  tokenVault.deterministicTypes    null or non-empty array of types (default null)
  tokenVault.detokenizeResponses   boolean (default false); needs
                              responseProtection.enabled

privacy
  privacy.profile             null | kr-pipa | eu-gdpr | asia-pdpa | us-general | jp-appi
                              (default null)

logging, metrics, plugins
  logging.format              text | json (default text)
  metrics.enabled             boolean (default true)
  plugins.enabled             boolean (default true); false refuses every plugin

mcp
  mcp.allowedMethods          non-empty array, "*" = all (default initialize,
                              tools/call, resources/read, prompts/get); lifecycle
                              and discovery methods always pass (ping, */list, ...)
  mcp.protectParams           boolean (default true)
  mcp.protectResults          boolean (default true)
  mcp.requireJsonRpc          boolean (default true)
  mcp.maxMessageBytes         integer 1024..2^30 (default 4194304); a longer line
                              is answered with -32000 and skipped

auth
  auth.provider               none | bearer | external | plugin (default none)
  auth.store                  path (default .haechi/auth.json)
  auth.allowedLabelKeys       array of strings (default team, env, tier, role)
  auth.plugin                 required for provider plugin:
    auth.plugin.manifestPath        signed manifest path
    auth.plugin.trustAnchors        [{ keyId, publicKey }] or { <keyId>: <publicKey> }
    auth.plugin.allowCapabilities   must include readsCredentials
    auth.plugin.isolation           worker | process (default worker)
    auth.plugin.timeoutMs           positive integer
    auth.plugin.resourceLimits      { maxOldGenerationSizeMb (worker: required),
                                    maxYoungGenerationSizeMb, codeRangeSizeMb,
                                    stackSizeMb } positive integers
    auth.plugin.netEnforcement      require-permission
    auth.plugin.keyMaterial         { url (https), ttlMs, cooldownMs, timeoutMs, maxBytes }
    auth.plugin.pin                 { version, entrySha256, manifestSha256 }
    auth.plugin.revoked             { signerKeyIds, entrySha256 } string arrays
    auth.plugin.versionFloor        { <pluginId>: <minimum version> }
    auth.plugin.maxPendingCalls     positive integer (default 8)
    auth.plugin.maxMessageBytes     positive integer (default 16384)
    auth.plugin.coreVersion         null or version string

Environment overlay (wins over the file, checked the same way; nothing secret):
  HAECHI_PROXY_PORT  HAECHI_PROXY_HOST  HAECHI_UPSTREAM  HAECHI_MODE  HAECHI_LOG_FORMAT

Binding beyond loopback:
  haechi proxy --host 0.0.0.0 --allow-remote-bind, plus proxy.tls or
  proxy.trustForwardedProto. Put auth (auth.provider bearer) and network controls in front.

Full reference: docs/current/configuration.md
"#;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::schema::key_paths;

    #[test]
    fn guide_names_every_key_of_the_schema() {
        for path in key_paths() {
            let last = path.rsplit('.').next().unwrap_or(&path);
            // Nested plugin/tls sub-keys may be listed inside their parent's line.
            assert!(
                CONFIG_GUIDE.contains(&path) || CONFIG_GUIDE.contains(last),
                "guide misses {path}"
            );
        }
    }

    #[test]
    fn guide_mentions_the_things_operators_look_for() {
        for needle in [
            "configuration guide",
            "--allow-remote-bind",
            "detokenizeResponses",
        ] {
            assert!(CONFIG_GUIDE.contains(needle), "{needle}");
        }
    }
}
