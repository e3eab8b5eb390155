//! Building the protect audit event (reference schema "1"). Only types, rule ids, PII-safe
//! paths, actions and counts enter it — never a value.

use super::context::ProtectContext;
use crate::audit::{AuditDetection, PreparedEvent, ProtectEvent, ProtectSummary, SCHEMA_VERSION};

pub struct ProtectEventInput<'a> {
    pub id: &'a str,
    pub context: &'a ProtectContext,
    pub enforced: bool,
    pub blocked: bool,
    pub shape_hash: &'a str,
    pub detections: Vec<AuditDetection>,
    pub summary: ProtectSummary,
}

/// The event, keys in the reference's order, prepared for the chain.
pub fn protect_event(input: ProtectEventInput<'_>) -> PreparedEvent {
    let context = input.context;
    ProtectEvent {
        schema_version: SCHEMA_VERSION.to_string(),
        id: input.id.to_string(),
        correlation_id: context.correlation_id.clone(),
        timestamp: crate::clock::iso_now(),
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
    .prepare()
}
