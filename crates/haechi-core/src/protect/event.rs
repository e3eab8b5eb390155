//! Building the protect audit event (reference schema "1") and its summary. Only types, rule
//! ids, PII-safe paths, actions and counts enter it — never a value.

use indexmap::IndexMap;
use serde_json::{Map, Value};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

use super::context::ProtectContext;
use super::precision::RemovalCounts;
use crate::audit::{AuditDetection, ProtectSummary};
use crate::vocab::{Action, LeafKind};

/// A borrowed view of one decided detection.
#[derive(Debug, Clone, Copy)]
pub struct DetectionView<'a> {
    pub detection_type: &'a str,
    pub rule_id: &'a str,
    pub path: &'a str,
    pub kind: LeafKind,
    pub confidence: f64,
    pub action: Action,
}

pub struct ProtectEventInput<'a> {
    pub id: &'a str,
    pub context: &'a ProtectContext,
    pub enforced: bool,
    pub blocked: bool,
    pub shape_hash: &'a str,
    pub detections: &'a [DetectionView<'a>],
    pub summary: &'a ProtectSummary,
}

const ISO_MILLIS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Now, as JavaScript's `Date.prototype.toISOString` writes it.
pub fn iso_timestamp_now() -> String {
    iso_timestamp(OffsetDateTime::now_utc())
}

pub fn iso_timestamp(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(ISO_MILLIS)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00.000Z"))
}

/// `summary` as the reference computes it, plus the precision-control counts when non-zero.
pub fn summarize(detections: &[DetectionView<'_>], removed: &RemovalCounts) -> ProtectSummary {
    let mut by_type: IndexMap<String, u64> = IndexMap::new();
    let mut by_action: IndexMap<String, u64> = IndexMap::new();
    for detection in detections {
        *by_type
            .entry(detection.detection_type.to_string())
            .or_insert(0) += 1;
    }
    for detection in detections {
        *by_action
            .entry(detection.action.as_str().to_string())
            .or_insert(0) += 1;
    }
    let total = |map: &IndexMap<String, u64>| map.values().sum::<u64>();
    ProtectSummary {
        detection_count: detections.len() as u64,
        by_type,
        by_action,
        suppressed_count: (!removed.suppressed.is_empty()).then(|| total(&removed.suppressed)),
        suppressed_by_type: (!removed.suppressed.is_empty()).then(|| removed.suppressed.clone()),
        dropped_count: (!removed.dropped.is_empty()).then(|| total(&removed.dropped)),
        dropped_by_type: (!removed.dropped.is_empty()).then(|| removed.dropped.clone()),
    }
}

/// The event object, keys in the reference's order.
pub fn protect_event(input: ProtectEventInput<'_>) -> Map<String, Value> {
    let context = input.context;
    let mut event = Map::new();
    event.insert("schemaVersion".into(), Value::from("1"));
    event.insert("id".into(), Value::from(input.id));
    event.insert(
        "correlationId".into(),
        context
            .correlation_id
            .clone()
            .map_or(Value::Null, Value::from),
    );
    event.insert("timestamp".into(), Value::from(iso_timestamp_now()));
    event.insert("protocol".into(), Value::from(context.protocol.as_str()));
    event.insert("operation".into(), Value::from(context.operation.as_str()));
    event.insert(
        "identity".into(),
        context
            .identity
            .as_ref()
            .and_then(|identity| serde_json::to_value(identity).ok())
            .unwrap_or(Value::Null),
    );
    event.insert(
        "profile".into(),
        context.profile.clone().map_or(Value::Null, Value::from),
    );
    event.insert("mode".into(), Value::from(context.mode.as_str()));
    event.insert("enforced".into(), Value::from(input.enforced));
    event.insert("blocked".into(), Value::from(input.blocked));
    event.insert("payloadShapeHash".into(), Value::from(input.shape_hash));
    let detections: Vec<Value> = input
        .detections
        .iter()
        .filter_map(|d| {
            serde_json::to_value(AuditDetection {
                detection_type: d.detection_type.to_string(),
                rule_id: d.rule_id.to_string(),
                path: d.path.to_string(),
                kind: d.kind,
                confidence: d.confidence,
                action: d.action,
                enforced: input.enforced,
            })
            .ok()
        })
        .collect();
    event.insert("detections".into(), Value::Array(detections));
    event.insert(
        "summary".into(),
        serde_json::to_value(input.summary).unwrap_or(Value::Null),
    );
    event
}
