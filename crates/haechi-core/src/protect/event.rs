//! Building the protect audit event (reference schema "1"). Only types, rule ids, PII-safe
//! paths, actions and counts enter it — never a value.

use serde_json::{Map, Value};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

use super::context::ProtectContext;
use crate::audit::{AuditDetection, ProtectEvent, ProtectSummary, SCHEMA_VERSION};

pub struct ProtectEventInput<'a> {
    pub id: &'a str,
    pub context: &'a ProtectContext,
    pub enforced: bool,
    pub blocked: bool,
    pub shape_hash: &'a str,
    pub detections: Vec<AuditDetection>,
    pub summary: ProtectSummary,
}

const ISO_MILLIS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Now, as JavaScript's `Date.prototype.toISOString` writes it.
pub fn iso_timestamp_now() -> String {
    OffsetDateTime::now_utc()
        .format(ISO_MILLIS)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00.000Z"))
}

/// The event object, keys in the reference's order.
pub fn protect_event(input: ProtectEventInput<'_>) -> Map<String, Value> {
    let context = input.context;
    ProtectEvent {
        schema_version: SCHEMA_VERSION.to_string(),
        id: input.id.to_string(),
        correlation_id: context.correlation_id.clone(),
        timestamp: iso_timestamp_now(),
        protocol: context.protocol.clone(),
        operation: context.operation.clone(),
        identity: context.identity.clone(),
        profile: context.profile.clone(),
        mode: context.mode,
        enforced: input.enforced,
        blocked: input.blocked,
        payload_shape_hash: input.shape_hash.to_string(),
        detections: input.detections,
        summary: input.summary,
    }
    .into_map()
}
