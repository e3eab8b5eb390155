//! The protect event: the frozen audit schema (`schemaVersion "1"`) as Rust types.
//!
//! Field order is the reference's insertion order, so a serialized event has the same key
//! order as one written by the JavaScript implementation. Counts maps keep insertion order.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::vocab::{Action, LeafKind, Mode};

/// The reader-facing schema version every protect event carries.
pub const SCHEMA_VERSION: &str = "1";

/// The PII-safe identity projection: exactly these five keys (scopes and labels never).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditIdentity {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub subject_hash: String,
    pub issuer_hash: String,
    pub provider: String,
}

/// One detection as audited: where and what, never the matched value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditDetection {
    #[serde(rename = "type")]
    pub detection_type: String,
    pub rule_id: String,
    /// The PII-safe path text (`key_<hash>` segments), never raw key names.
    pub path: String,
    pub kind: LeafKind,
    pub confidence: f64,
    pub action: Action,
    pub enforced: bool,
}

/// Per-event counts. Keys of the `…ByType` maps are detection type names (including
/// `secret`), keys of `byAction` are action or decision names; none of them is a value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtectSummary {
    pub detection_count: u64,
    pub by_type: IndexMap<String, u64>,
    pub by_action: IndexMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_by_type: Option<IndexMap<String, u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_by_type: Option<IndexMap<String, u64>>,
}

impl ProtectSummary {
    /// The summary of a list of audited detections (types and actions counted in order).
    pub fn of(detections: &[AuditDetection]) -> ProtectSummary {
        let mut summary = ProtectSummary::default();
        for detection in detections {
            summary.count(&detection.detection_type, detection.action);
        }
        summary
    }

    /// Counts one kept detection and the action decided for it.
    pub fn count(&mut self, detection_type: &str, action: Action) {
        self.detection_count += 1;
        bump(&mut self.by_type, detection_type);
        bump(&mut self.by_action, action.as_str());
    }

    /// Counts a detection the allowlist suppressed before the decision.
    pub fn count_suppressed(&mut self, detection_type: &str) {
        *self.suppressed_count.get_or_insert(0) += 1;
        bump(
            self.suppressed_by_type.get_or_insert_with(IndexMap::new),
            detection_type,
        );
    }

    /// Counts a detection dropped for being under `minConfidence`.
    pub fn count_dropped(&mut self, detection_type: &str) {
        *self.dropped_count.get_or_insert(0) += 1;
        bump(
            self.dropped_by_type.get_or_insert_with(IndexMap::new),
            detection_type,
        );
    }
}

fn bump(map: &mut IndexMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(count) => *count += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

/// A protect event before it is sanitized and chained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtectEvent {
    pub schema_version: String,
    /// A random UUID.
    pub id: String,
    /// The per-request UUID shared by the request and response events, or `null`.
    pub correlation_id: Option<String>,
    /// RFC 3339 UTC with milliseconds (`2026-01-01T00:00:00.000Z`), like `toISOString()`.
    pub timestamp: String,
    pub protocol: String,
    pub operation: String,
    pub identity: Option<AuditIdentity>,
    pub profile: Option<String>,
    pub mode: Mode,
    pub enforced: bool,
    pub blocked: bool,
    /// `shortHash` of the payload's shape (types only, no values).
    pub payload_shape_hash: String,
    pub detections: Vec<AuditDetection>,
    pub summary: ProtectSummary,
}

/// One of the gateway's own decisions (auth, rate limit, model allowlist, streaming, an
/// unprotected response), in the reference's shape; its summary counts the decision once.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionEvent {
    pub id: String,
    pub correlation_id: String,
    pub timestamp: String,
    pub protocol: String,
    /// `proxy:<protocol>:<route>`.
    pub operation: String,
    pub mode: Mode,
    pub identity: Option<AuditIdentity>,
    pub profile: Option<String>,
    pub enforced: bool,
    pub blocked: bool,
    /// The decision name (`auth_denied`, `rate_limited`, `model_not_allowed`, ...).
    pub decision: String,
    /// A reason code; never a payload value.
    pub reason: String,
    pub route_id: String,
    /// `shortHash` of the request path (never the path itself).
    pub path_hash: String,
}

/// A decision of the MCP filter taken before (or instead of) protection: a message refused for
/// not being JSON-RPC 2.0, for a method outside `mcp.allowedMethods`, for not being JSON or for
/// its size. Its summary counts the decision once.
#[derive(Debug, Clone, PartialEq)]
pub struct McpEvent {
    pub id: String,
    pub correlation_id: Option<String>,
    pub timestamp: String,
    /// `mcp-stdio` or `mcp-http`.
    pub protocol: String,
    /// `mcp:<direction>` (`mcp:client-to-server`, `mcp:server-to-client`).
    pub operation: String,
    pub mode: Mode,
    pub identity: Option<AuditIdentity>,
    pub enforced: bool,
    pub blocked: bool,
    /// `mcp_invalid_jsonrpc`, `mcp_method_not_allowed`, `mcp_invalid_message`, `mcp_oversized`.
    pub decision: String,
    /// A reason code; never a payload value.
    pub reason: String,
    /// The JSON-RPC method when it is a plain method name, else `None`.
    pub method: Option<String>,
}

/// A token vault governance decision (reveal, detokenize, purge), in the reference's shape:
/// protocol `token-vault`, mode `n/a`; its summary counts the decision once.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultEvent {
    pub id: String,
    pub timestamp: String,
    /// `token-vault:reveal`, `token-vault:detokenize`, `token-vault:purge`, ...
    pub operation: String,
    pub blocked: bool,
    pub decision: String,
    pub reason: Option<String>,
    /// A vault token id, a keyed `nontoken_…` digest, or the non-token marker.
    pub token: Option<String>,
    pub token_type: Option<String>,
    pub count: Option<u64>,
    pub reveal_policy: String,
}

impl ProtectEvent {
    /// The event as the JSON object handed to [`crate::seams::AuditSink::record`].
    pub fn into_map(self) -> Map<String, Value> {
        to_map(&self)
    }
}

/// Serializes any of the event types to a JSON object (empty if it is not an object).
pub(crate) fn to_map<T: Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::canonical::js_stringify;

    fn detection(detection_type: &str, action: Action) -> AuditDetection {
        AuditDetection {
            detection_type: detection_type.into(),
            rule_id: format!("{detection_type}-rule"),
            path: "key_0123456789ab".into(),
            kind: LeafKind::Value,
            confidence: 0.9,
            action,
            enforced: true,
        }
    }

    #[test]
    fn event_serializes_in_reference_key_order() {
        let detections = vec![
            detection("email", Action::Mask),
            detection("secret", Action::Block),
        ];
        let event = ProtectEvent {
            schema_version: SCHEMA_VERSION.into(),
            id: "00000000-0000-4000-8000-000000000000".into(),
            correlation_id: None,
            timestamp: "2026-01-01T00:00:00.000Z".into(),
            protocol: "custom".into(),
            operation: "protect".into(),
            identity: None,
            profile: None,
            mode: Mode::Enforce,
            enforced: true,
            blocked: true,
            payload_shape_hash: "abcdefabcdef".into(),
            summary: ProtectSummary::of(&detections),
            detections,
        };
        let line = js_stringify(&Value::Object(event.into_map()));
        assert_eq!(
            line,
            concat!(
                r#"{"schemaVersion":"1","id":"00000000-0000-4000-8000-000000000000","#,
                r#""correlationId":null,"timestamp":"2026-01-01T00:00:00.000Z","#,
                r#""protocol":"custom","operation":"protect","identity":null,"profile":null,"#,
                r#""mode":"enforce","enforced":true,"blocked":true,"payloadShapeHash":"abcdefabcdef","#,
                r#""detections":[{"type":"email","ruleId":"email-rule","path":"key_0123456789ab","#,
                r#""kind":"value","confidence":0.9,"action":"mask","enforced":true},"#,
                r#"{"type":"secret","ruleId":"secret-rule","path":"key_0123456789ab","#,
                r#""kind":"value","confidence":0.9,"action":"block","enforced":true}],"#,
                r#""summary":{"detectionCount":2,"byType":{"email":1,"secret":1},"#,
                r#""byAction":{"mask":1,"block":1}}}"#
            )
        );
    }

    #[test]
    fn precision_counts_appear_only_when_used() {
        let mut summary = ProtectSummary::default();
        summary.count("phone", Action::Redact);
        summary.count_dropped("phone");
        summary.count_dropped("phone");
        let line = js_stringify(&Value::Object(to_map(&summary)));
        assert_eq!(
            line,
            r#"{"detectionCount":1,"byType":{"phone":1},"byAction":{"redact":1},"droppedCount":2,"droppedByType":{"phone":2}}"#
        );
    }

    #[test]
    fn identity_has_the_five_frozen_keys() {
        let identity = AuditIdentity {
            id: "bearer:0123".into(),
            kind: "user".into(),
            subject_hash: "s".into(),
            issuer_hash: "i".into(),
            provider: "bearer".into(),
        };
        let keys: Vec<String> = to_map(&identity).keys().cloned().collect();
        assert_eq!(
            keys,
            ["id", "type", "subjectHash", "issuerHash", "provider"]
        );
    }
}
