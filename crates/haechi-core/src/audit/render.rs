//! Rendering the pipeline's own typed events straight to their canonical and line texts,
//! without building a JSON map: the same bytes as sanitizing the event's map and rendering it
//! (a test holds the two paths equal), at a fraction of the cost.

use super::canonical::js_key_cmp;
use super::chain::INTEGRITY_KEY;
use super::event::{AuditDetection, AuditIdentity, ProtectEvent, ProtectSummary};
use super::prepared::PreparedEvent;
use super::sanitize::{clean_str, MAX_KEY_CHARS};
use crate::js_json::{push_js_number, push_string};
use indexmap::IndexMap;
use serde_json::Value;

/// A borrowed JSON value of the shapes events use.
enum Field<'a> {
    Null,
    Str(&'a str),
    Bool(bool),
    Count(u64),
    Float(f64),
    Array(Vec<Field<'a>>),
    Object(Vec<(&'a str, Field<'a>)>),
}

fn text(value: &str) -> Field<'_> {
    Field::Str(clean_str(value))
}

fn optional_text(value: Option<&str>) -> Field<'_> {
    value.map_or(Field::Null, text)
}

impl Field<'_> {
    fn write(&self, out: &mut String, sorted: bool) {
        match self {
            Field::Null => out.push_str("null"),
            Field::Str(value) => push_string(out, value),
            Field::Bool(true) => out.push_str("true"),
            Field::Bool(false) => out.push_str("false"),
            Field::Count(value) => out.push_str(itoa::Buffer::new().format(*value)),
            Field::Float(value) => push_js_number(out, *value),
            Field::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    item.write(out, sorted);
                }
                out.push(']');
            }
            Field::Object(members) => write_members(out, members, sorted, &mut None),
        }
    }
}

/// Write an object; with `link_at`, note where `auditIntegrity` would sort in.
fn write_members(
    out: &mut String,
    members: &[(&str, Field<'_>)],
    sorted: bool,
    link_at: &mut Option<Option<usize>>,
) {
    // Event objects are small: order them on the stack.
    let mut stack = [0usize; 16];
    let mut heap = Vec::new();
    let order: &mut [usize] = if members.len() <= stack.len() {
        &mut stack[..members.len()]
    } else {
        heap.resize(members.len(), 0);
        &mut heap
    };
    for (slot, index) in order.iter_mut().zip(0..) {
        *slot = index;
    }
    if sorted {
        order.sort_unstable_by(|&a, &b| js_key_cmp(members[a].0, members[b].0));
    }
    out.push('{');
    for (position, &index) in order.iter().enumerate() {
        let (key, value) = &members[index];
        if position > 0 {
            out.push(',');
        }
        if let Some(slot @ None) = link_at.as_mut() {
            if js_key_cmp(key, INTEGRITY_KEY).is_gt() {
                *slot = Some(out.len());
            }
        }
        push_string(out, key);
        out.push(':');
        value.write(out, sorted);
    }
    if let Some(slot @ None) = link_at.as_mut() {
        *slot = Some(out.len());
    }
    out.push('}');
}

fn identity(identity: &AuditIdentity) -> Field<'_> {
    Field::Object(vec![
        ("id", text(&identity.id)),
        ("type", text(&identity.kind)),
        ("subjectHash", text(&identity.subject_hash)),
        ("issuerHash", text(&identity.issuer_hash)),
        ("provider", text(&identity.provider)),
    ])
}

fn detection(detection: &AuditDetection) -> Field<'_> {
    Field::Object(vec![
        ("type", text(&detection.detection_type)),
        ("ruleId", text(&detection.rule_id)),
        ("path", text(&detection.path)),
        ("kind", text(detection.kind.as_str())),
        ("confidence", Field::Float(detection.confidence)),
        ("action", text(detection.action.as_str())),
        ("enforced", Field::Bool(detection.enforced)),
    ])
}

fn counts(map: &IndexMap<String, u64>) -> Field<'_> {
    Field::Object(
        map.iter()
            .filter(|(key, _)| key.chars().count() <= MAX_KEY_CHARS)
            .map(|(key, count)| (key.as_str(), Field::Count(*count)))
            .collect(),
    )
}

fn summary(summary: &ProtectSummary) -> Field<'_> {
    let mut members = vec![
        ("detectionCount", Field::Count(summary.detection_count)),
        ("byType", counts(&summary.by_type)),
        ("byAction", counts(&summary.by_action)),
    ];
    if let Some(count) = summary.suppressed_count {
        members.push(("suppressedCount", Field::Count(count)));
    }
    if let Some(map) = &summary.suppressed_by_type {
        members.push(("suppressedByType", counts(map)));
    }
    if let Some(count) = summary.dropped_count {
        members.push(("droppedCount", Field::Count(count)));
    }
    if let Some(map) = &summary.dropped_by_type {
        members.push(("droppedByType", counts(map)));
    }
    Field::Object(members)
}

impl ProtectEvent {
    /// The event prepared for the chain (see [`PreparedEvent`]).
    pub fn prepare(&self) -> PreparedEvent {
        let members = vec![
            ("schemaVersion", text(&self.schema_version)),
            ("id", text(&self.id)),
            (
                "correlationId",
                optional_text(self.correlation_id.as_deref()),
            ),
            ("timestamp", text(&self.timestamp)),
            ("protocol", text(&self.protocol)),
            ("operation", text(&self.operation)),
            (
                "identity",
                self.identity.as_ref().map_or(Field::Null, identity),
            ),
            ("profile", optional_text(self.profile.as_deref())),
            ("mode", text(self.mode.as_str())),
            ("enforced", Field::Bool(self.enforced)),
            ("blocked", Field::Bool(self.blocked)),
            ("payloadShapeHash", text(&self.payload_shape_hash)),
            (
                "detections",
                Field::Array(self.detections.iter().map(detection).collect()),
            ),
            ("summary", summary(&self.summary)),
        ];
        let mut canonical = String::with_capacity(768);
        let mut link_at = Some(None);
        write_members(&mut canonical, &members, true, &mut link_at);
        let link_at = link_at.flatten().unwrap_or(1);
        let mut line = String::with_capacity(canonical.len());
        write_members(&mut line, &members, false, &mut None);
        let timestamp = Some(Value::String(clean_str(&self.timestamp).to_owned()));
        PreparedEvent::from_parts(canonical, link_at, line, timestamp)
    }
}
