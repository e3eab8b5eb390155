//! The shape of `haechi.config.json` as data. One table drives unknown-key detection,
//! kind and range checks, "did you mean" hints and the null-means-default rules; the few
//! shapes a table cannot say (TLS material, allowlist entries, URLs, header names) are
//! named check functions in [`super::rules`].

use super::node::{join, Field, Keys, Node, NullMeans, MAX_SAFE_INTEGER};
use super::rules;
use super::target::{ADAPTER_NAMES, TARGET_TYPES};
use super::url;
use crate::vocab::{Action, Mode};

/// `policy.presets` names.
pub const PRESET_NAMES: [&str; 7] = [
    "llm-redact",
    "korean-pii",
    "secrets-only",
    "strict-block",
    "mcp-basic",
    "local-inference",
    "local-only",
];

/// `privacy.profile` names.
pub const PRIVACY_PROFILES: [&str; 5] =
    ["kr-pipa", "eu-gdpr", "asia-pdpa", "us-general", "jp-appi"];

/// Capabilities an operator may allow a signed auth plugin (`auth.plugin.allowCapabilities`).
pub const PLUGIN_CAPABILITIES: [&str; 7] = [
    "readsPlaintext",
    "writesPlaintext",
    "networkEgress",
    "fileWrite",
    "auditWrite",
    "externalSecrets",
    "readsCredentials",
];

const fn field(name: &'static str, node: Node) -> Field {
    Field {
        name,
        node,
        required: false,
    }
}

const fn required(name: &'static str, node: Node) -> Field {
    Field {
        name,
        node,
        required: true,
    }
}

/// A whole section may be `null`, meaning "all defaults" (as the reference treats it).
const fn section(fields: &'static [Field]) -> Node {
    Node::Section(fields)
}

const POSITIVE: Node = Node::Int {
    min: 1,
    max: MAX_SAFE_INTEGER,
};
const NON_NEGATIVE: Node = Node::Int {
    min: 0,
    max: MAX_SAFE_INTEGER,
};
pub(crate) const NON_BLANK: Node = Node::Text;
pub(crate) const MODE: Node = Node::OneOf(&Mode::ALL);
const ACTION: Node = Node::OneOf(&Action::ALL);
const NON_BLANK_LIST: Node = Node::List {
    item: &NON_BLANK,
    min_len: 0,
};

pub(crate) static ROOT: &[Field] = &[
    field(
        "configVersion",
        Node::OrNull(
            &Node::Custom {
                check: rules::config_version,
                expected: "a positive integer no newer than this build supports",
            },
            NullMeans::Default,
        ),
    ),
    field("mode", MODE),
    field("target", section(TARGET)),
    field("proxy", section(PROXY)),
    field("responseProtection", section(RESPONSE_PROTECTION)),
    field("streaming", section(STREAMING)),
    field("limits", section(LIMITS)),
    field("policy", section(POLICY)),
    field("filters", section(FILTERS)),
    field("keys", section(KEYS)),
    field("audit", section(AUDIT)),
    field("tokenVault", section(TOKEN_VAULT)),
    field("privacy", section(PRIVACY)),
    field("logging", section(LOGGING)),
    field("metrics", section(METRICS)),
    field("auth", section(AUTH)),
    field("plugins", section(PLUGINS)),
    field("mcp", section(MCP)),
];

static TARGET: &[Field] = &[
    field("type", Node::OneOf(&TARGET_TYPES)),
    field(
        "adapter",
        Node::OrNull(&Node::OneOf(&ADAPTER_NAMES), NullMeans::Unset),
    ),
    field("upstream", UPSTREAM),
    field(
        "forwardHeaders",
        Node::OrNull(
            &Node::Custom {
                check: rules::forward_headers,
                expected: "an array of lowercase header names",
            },
            NullMeans::Default,
        ),
    ),
];

pub(crate) const UPSTREAM: Node = Node::Custom {
    check: url::upstream_url,
    expected: "an http:// or https:// URL with a host",
};

pub(crate) const PORT: Node = Node::Int { min: 0, max: 65535 };

static PROXY: &[Field] = &[
    field("host", NON_BLANK),
    field("port", PORT),
    field(
        "tls",
        Node::OrNull(
            &Node::Custom {
                check: rules::proxy_tls,
                expected: "null, { keyFile, certFile } or { pfxFile, passphrase? }",
            },
            NullMeans::Unset,
        ),
    ),
    field("trustForwardedProto", Node::Bool),
];

static RESPONSE_PROTECTION: &[Field] = &[
    field("enabled", Node::Bool),
    field("mode", MODE),
    field("failureMode", Node::OneOf(&["fail-closed", "allow"])),
    field("allowNonJson", Node::Bool),
    field("allowCompressed", Node::Bool),
    field("maxBytes", POSITIVE),
    field("scanNumbers", Node::Bool),
];

static STREAMING: &[Field] = &[
    field(
        "requestMode",
        Node::OneOf(&["block", "pass-through", "inspect"]),
    ),
    field("responseMode", MODE),
    field("maxMatchBytes", POSITIVE),
];

static LIMITS: &[Field] = &[
    field("maxRequestBytes", POSITIVE),
    field("maxNestingDepth", POSITIVE),
    field("upstreamTimeoutMs", POSITIVE),
    field("maxInFlight", NON_NEGATIVE),
    field("shutdownGraceMs", NON_NEGATIVE),
    field(
        "requestTimeoutMs",
        Node::OrNull(&NON_NEGATIVE, NullMeans::Unset),
    ),
    field(
        "headersTimeoutMs",
        Node::OrNull(&NON_NEGATIVE, NullMeans::Unset),
    ),
    field("bodyIdleTimeoutMs", NON_NEGATIVE),
];

const PRESETS: Node = Node::List {
    item: &Node::OneOf(&PRESET_NAMES),
    min_len: 0,
};
const ACTIONS: Node = Node::Map {
    keys: Keys::NonBlank,
    value: &ACTION,
};
const RATE: Node = Node::Obj(&[required("requestsPerMinute", POSITIVE)]);

static POLICY: &[Field] = &[
    field("mode", Node::OrNull(&MODE, NullMeans::Unset)),
    field("presets", PRESETS),
    field("defaultAction", ACTION),
    field("actions", Node::OrNull(&ACTIONS, NullMeans::Default)),
    field("allowUnsafeOverrides", Node::Bool),
    field("bundlePath", Node::OrNull(&NON_BLANK, NullMeans::Unset)),
    field(
        "profiles",
        Node::Map {
            keys: Keys::NonBlank,
            value: &Node::Obj(PROFILE),
        },
    ),
    field("profileBinding", Node::Obj(PROFILE_BINDING)),
    field("modelAllowlist", NON_BLANK_LIST),
    field("rate", RATE),
];

static PROFILE: &[Field] = &[
    field("presets", PRESETS),
    field("actions", ACTIONS),
    field("modelAllowlist", NON_BLANK_LIST),
    field("rate", RATE),
];

static PROFILE_BINDING: &[Field] = &[
    field(
        "byScope",
        Node::Map {
            keys: Keys::NonBlank,
            value: &NON_BLANK,
        },
    ),
    field(
        "byLabel",
        Node::Map {
            keys: Keys::LabelPair,
            value: &NON_BLANK,
        },
    ),
    required("default", NON_BLANK),
];

const UNIT_INTERVAL: Node = Node::Num { min: 0.0, max: 1.0 };

static FILTERS: &[Field] = &[
    field(
        "customRules",
        Node::List {
            item: &Node::Obj(CUSTOM_RULE),
            min_len: 0,
        },
    ),
    field("minConfidence", UNIT_INTERVAL),
    field(
        "allowlist",
        Node::List {
            item: &Node::Custom {
                check: rules::allowlist_entry,
                expected: "a non-empty string or { value?, path? }",
            },
            min_len: 0,
        },
    ),
    field("decodeAndRescan", Node::Bool),
];

static CUSTOM_RULE: &[Field] = &[
    required("id", NON_BLANK),
    required("type", NON_BLANK),
    required("pattern", NON_BLANK),
    field(
        "flags",
        Node::Custom {
            check: rules::regex_flags,
            expected: "a string of regex flags from d g i m s u v y",
        },
    ),
    field("confidence", UNIT_INTERVAL),
];

static KEYS: &[Field] = &[
    field("provider", Node::OneOf(&["local", "external"])),
    field("keyFile", NON_BLANK),
];

static AUDIT: &[Field] = &[
    field("sink", Node::OneOf(&["jsonl"])),
    field("path", NON_BLANK),
    field("anchor", section(ANCHOR)),
    field("fsync", Node::OneOf(&["every-batch", "interval", "never"])),
    field(
        "fsyncIntervalMs",
        Node::Int {
            min: 1,
            max: 60_000,
        },
    ),
];

static ANCHOR: &[Field] = &[
    field("mode", Node::OneOf(&["none", "file", "stdout"])),
    field("path", Node::OrNull(&NON_BLANK, NullMeans::Unset)),
    field("everyRecords", POSITIVE),
];

static TOKEN_VAULT: &[Field] = &[
    field("provider", Node::OneOf(&["local"])),
    field("path", NON_BLANK),
    field("revealPolicy", Node::OneOf(&["disabled", "local-dev"])),
    // The reference refuses anything below one day.
    field(
        "retentionDays",
        Node::Num {
            min: 1.0,
            max: MAX_SAFE_INTEGER as f64,
        },
    ),
    field("deterministic", Node::Bool),
    field(
        "deterministicTypes",
        Node::OrNull(
            &Node::List {
                item: &NON_BLANK,
                min_len: 1,
            },
            NullMeans::Unset,
        ),
    ),
    field("detokenizeResponses", Node::Bool),
];

static PRIVACY: &[Field] = &[field(
    "profile",
    Node::OrNull(&Node::OneOf(&PRIVACY_PROFILES), NullMeans::Unset),
)];

pub(crate) const LOG_FORMAT: Node = Node::OneOf(&["text", "json"]);

static LOGGING: &[Field] = &[field("format", LOG_FORMAT)];

static METRICS: &[Field] = &[field("enabled", Node::Bool)];

static MCP: &[Field] = &[
    field(
        "allowedMethods",
        Node::OrNull(
            &Node::List {
                item: &NON_BLANK,
                min_len: 1,
            },
            NullMeans::Default,
        ),
    ),
    field("protectParams", Node::Bool),
    field("protectResults", Node::Bool),
    field("requireJsonRpc", Node::Bool),
    field(
        "maxMessageBytes",
        Node::Int {
            min: 1024,
            max: 1 << 30,
        },
    ),
];

static AUTH: &[Field] = &[
    field(
        "provider",
        Node::OneOf(&["none", "bearer", "external", "plugin"]),
    ),
    field("store", NON_BLANK),
    field(
        "allowedLabelKeys",
        Node::OrNull(&NON_BLANK_LIST, NullMeans::Default),
    ),
    field(
        "plugin",
        Node::OrNull(&Node::Obj(AUTH_PLUGIN), NullMeans::Unset),
    ),
];

static PLUGINS: &[Field] = &[field("enabled", Node::Bool)];

static AUTH_PLUGIN: &[Field] = &[
    field("manifestPath", NON_BLANK),
    field(
        "trustAnchors",
        Node::Custom {
            check: rules::trust_anchors,
            expected: "a non-empty array of { keyId, publicKey } or a { keyId: publicKey } object",
        },
    ),
    field(
        "allowCapabilities",
        Node::List {
            item: &Node::OneOf(&PLUGIN_CAPABILITIES),
            min_len: 1,
        },
    ),
    field("isolation", Node::OneOf(&["worker", "process"])),
    field("timeoutMs", POSITIVE),
    field(
        "resourceLimits",
        Node::OrNull(&Node::Obj(RESOURCE_LIMITS), NullMeans::Unset),
    ),
    field(
        "netEnforcement",
        Node::OrNull(&Node::OneOf(&["require-permission"]), NullMeans::Unset),
    ),
    field(
        "keyMaterial",
        Node::OrNull(&Node::Obj(KEY_MATERIAL), NullMeans::Unset),
    ),
    field("pin", Node::OrNull(&Node::Obj(PIN), NullMeans::Unset)),
    field(
        "revoked",
        Node::OrNull(&Node::Obj(REVOKED), NullMeans::Unset),
    ),
    field(
        "versionFloor",
        Node::OrNull(
            &Node::Map {
                keys: Keys::NonBlank,
                value: &NON_BLANK,
            },
            NullMeans::Unset,
        ),
    ),
    field("maxPendingCalls", POSITIVE),
    field("maxMessageBytes", POSITIVE),
    field("coreVersion", Node::OrNull(&NON_BLANK, NullMeans::Unset)),
];

static RESOURCE_LIMITS: &[Field] = &[
    field("maxOldGenerationSizeMb", POSITIVE),
    field("maxYoungGenerationSizeMb", POSITIVE),
    field("codeRangeSizeMb", POSITIVE),
    field("stackSizeMb", POSITIVE),
];

const NON_NEGATIVE_NUMBER: Node = Node::Num {
    min: 0.0,
    max: MAX_SAFE_INTEGER as f64,
};

static KEY_MATERIAL: &[Field] = &[
    required(
        "url",
        Node::Custom {
            check: url::https_url,
            expected: "an https:// URL",
        },
    ),
    field("ttlMs", NON_NEGATIVE_NUMBER),
    field("cooldownMs", NON_NEGATIVE_NUMBER),
    field("timeoutMs", NON_NEGATIVE_NUMBER),
    field("maxBytes", NON_NEGATIVE_NUMBER),
];

const OPTIONAL_TEXT: Node = Node::OrNull(&NON_BLANK, NullMeans::Unset);

static PIN: &[Field] = &[
    field("version", OPTIONAL_TEXT),
    field("entrySha256", OPTIONAL_TEXT),
    field("manifestSha256", OPTIONAL_TEXT),
];

static REVOKED: &[Field] = &[
    field("signerKeyIds", NON_BLANK_LIST),
    field("entrySha256", NON_BLANK_LIST),
];

/// Every key path of the schema that is a fixed name (open-map entries excluded), in
/// document order, for hints and for the guide's completeness test.
pub(crate) fn key_paths() -> Vec<String> {
    let mut out = Vec::new();
    collect(ROOT, "", &mut out);
    out
}

fn collect(fields: &[Field], prefix: &str, out: &mut Vec<String>) {
    for f in fields {
        let path = join(prefix, f.name);
        out.push(path.clone());
        if let Some(children) = object_fields(&f.node) {
            collect(children, &path, out);
        }
    }
}

/// The fields of a node that is (possibly nullable) closed object.
pub(crate) fn object_fields(node: &Node) -> Option<&'static [Field]> {
    match node {
        Node::Obj(fields) | Node::Section(fields) => Some(fields),
        Node::OrNull(inner, _) => object_fields(inner),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_cover_sections_and_nested_keys() {
        let paths = key_paths();
        for p in [
            "configVersion",
            "proxy.tls",
            "audit.anchor.everyRecords",
            "policy.profileBinding.default",
            "auth.plugin.keyMaterial.url",
        ] {
            assert!(paths.iter().any(|k| k == p), "{p}");
        }
    }
}
