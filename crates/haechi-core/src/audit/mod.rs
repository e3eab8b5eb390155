//! Audit event schema (placeholder until the chain math lands).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::vocab::{Action, LeafKind};

/// `summary` of a protect event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

/// One entry of a protect event's `detections`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditDetection {
    #[serde(rename = "type")]
    pub detection_type: String,
    pub rule_id: String,
    pub path: String,
    pub kind: LeafKind,
    pub confidence: f64,
    pub action: Action,
    pub enforced: bool,
}
