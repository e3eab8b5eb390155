//! Rendering the pipeline's own typed events straight to their canonical and line texts,
//! without building a JSON map: the same bytes as sanitizing the event's map and rendering it
//! (a test holds the two paths equal), at a fraction of the cost.

use super::canonical::js_key_cmp;
use super::chain::INTEGRITY_KEY;
use super::event::{
    AuditDetection, AuditIdentity, DecisionEvent, McpEvent, ProtectEvent, ProtectSummary,
    VaultEvent,
};
use super::prepared::PreparedEvent;
use super::sanitize::{clean_str, clean_token, MAX_KEY_CHARS};
use crate::js_json::{push_js_number, push_string};
use indexmap::IndexMap;
use serde_json::Value;

/// A borrowed JSON value of the shapes events use.
enum Field<'a> {
    /// A member left out of its object (an optional summary count).
    Absent,
    Null,
    Str(&'a str),
    Bool(bool),
    Count(u64),
    Float(f64),
    Array(Vec<Field<'a>>),
    /// An object whose keys are known in advance: one value per key of the layout.
    Fixed(&'static Layout, Vec<Field<'a>>),
    /// An object with keys from data (counts by type or action).
    Object(Vec<(&'a str, Field<'a>)>),
}

/// The keys of an event object in the reference's insertion order, and the order canonical
/// JSON sorts them in, worked out at compile time so rendering never sorts fixed keys.
struct Layout {
    keys: &'static [&'static str],
    sorted: &'static [usize],
}

/// The canonical order of `keys` (all ASCII, so JavaScript's UTF-16 order is byte order).
/// Refuses to compile a key that is not a plain identifier, which is written without escaping.
const fn canonical_order<const N: usize>(keys: [&'static str; N]) -> [usize; N] {
    let mut order = [0usize; N];
    let mut i = 0;
    while i < N {
        let key = keys[i].as_bytes();
        let mut j = 0;
        while j < key.len() {
            assert!(
                key[j].is_ascii_alphanumeric(),
                "layout keys are plain identifiers"
            );
            j += 1;
        }
        order[i] = i;
        i += 1;
    }
    let mut i = 1;
    while i < N {
        let mut j = i;
        while j > 0 && bytes_less(keys[order[j]].as_bytes(), keys[order[j - 1]].as_bytes()) {
            let swap = order[j];
            order[j] = order[j - 1];
            order[j - 1] = swap;
            j -= 1;
        }
        i += 1;
    }
    order
}

const fn bytes_less(a: &[u8], b: &[u8]) -> bool {
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

macro_rules! layout {
    ($name:ident = [$($key:literal),+ $(,)?]) => {
        static $name: Layout = {
            const KEYS: &[&str] = &[$($key),+];
            const SORTED: &[usize] = &canonical_order([$($key),+]);
            Layout { keys: KEYS, sorted: SORTED }
        };
    };
}

layout!(
    EVENT = [
        "schemaVersion",
        "id",
        "correlationId",
        "timestamp",
        "protocol",
        "operation",
        "identity",
        "profile",
        "mode",
        "enforced",
        "blocked",
        "payloadShapeHash",
        "detections",
        "summary",
    ]
);
layout!(
    DECISION = [
        "id",
        "correlationId",
        "timestamp",
        "protocol",
        "operation",
        "mode",
        "identity",
        "profile",
        "enforced",
        "blocked",
        "decision",
        "reason",
        "routeId",
        "pathHash",
        "summary",
    ]
);
layout!(
    VAULT = [
        "id",
        "timestamp",
        "protocol",
        "operation",
        "identity",
        "mode",
        "enforced",
        "blocked",
        "decision",
        "reason",
        "token",
        "tokenType",
        "count",
        "revealPolicy",
        "summary",
    ]
);
layout!(
    MCP = [
        "id",
        "correlationId",
        "timestamp",
        "protocol",
        "operation",
        "mode",
        "identity",
        "enforced",
        "blocked",
        "decision",
        "reason",
        "method",
        "summary",
    ]
);
layout!(IDENTITY = ["id", "type", "subjectHash", "issuerHash", "provider"]);
layout!(
    DETECTION = [
        "type",
        "ruleId",
        "path",
        "kind",
        "confidence",
        "action",
        "enforced"
    ]
);
layout!(
    SUMMARY = [
        "detectionCount",
        "byType",
        "byAction",
        "suppressedCount",
        "suppressedByType",
        "droppedCount",
        "droppedByType",
    ]
);

fn text(value: &str) -> Field<'_> {
    Field::Str(clean_str(value))
}

fn optional_text(value: Option<&str>) -> Field<'_> {
    value.map_or(Field::Null, text)
}

impl Field<'_> {
    fn write(&self, out: &mut String, sorted: bool) {
        match self {
            Field::Absent | Field::Null => out.push_str("null"),
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
            Field::Fixed(layout, values) => write_fixed(out, layout, values, sorted, &mut None),
            Field::Object(members) => write_members(out, members, sorted),
        }
    }
}

/// Write a fixed-layout object; with `link_at`, note where `auditIntegrity` would sort in.
fn write_fixed(
    out: &mut String,
    layout: &Layout,
    values: &[Field<'_>],
    sorted: bool,
    link_at: &mut Option<Option<usize>>,
) {
    out.push('{');
    let mut first = true;
    for position in 0..layout.keys.len() {
        let index = if sorted {
            layout.sorted[position]
        } else {
            position
        };
        let (key, value) = (layout.keys[index], &values[index]);
        if matches!(value, Field::Absent) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        if let Some(slot @ None) = link_at.as_mut() {
            if key > INTEGRITY_KEY {
                *slot = Some(out.len());
            }
        }
        // Layout keys are plain identifiers: nothing to escape.
        out.push('"');
        out.push_str(key);
        out.push_str("\":");
        value.write(out, sorted);
    }
    if let Some(slot @ None) = link_at.as_mut() {
        *slot = Some(out.len());
    }
    out.push('}');
}

/// Write an object whose keys come from data, sorted by JavaScript's order when `sorted`.
fn write_members(out: &mut String, members: &[(&str, Field<'_>)], sorted: bool) {
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
        push_string(out, key);
        out.push(':');
        value.write(out, sorted);
    }
    out.push('}');
}

fn identity(identity: &AuditIdentity) -> Field<'_> {
    Field::Fixed(
        &IDENTITY,
        vec![
            text(&identity.id),
            text(&identity.kind),
            text(&identity.subject_hash),
            text(&identity.issuer_hash),
            text(&identity.provider),
        ],
    )
}

fn detection(detection: &AuditDetection) -> Field<'_> {
    Field::Fixed(
        &DETECTION,
        vec![
            text(&detection.detection_type),
            text(&detection.rule_id),
            text(&detection.path),
            text(detection.kind.as_str()),
            Field::Float(detection.confidence),
            text(detection.action.as_str()),
            Field::Bool(detection.enforced),
        ],
    )
}

fn counts(map: &IndexMap<String, u64>) -> Field<'_> {
    Field::Object(
        map.iter()
            .filter(|(key, _)| key.chars().count() <= MAX_KEY_CHARS)
            .map(|(key, count)| (key.as_str(), Field::Count(*count)))
            .collect(),
    )
}

fn optional_count(count: Option<u64>) -> Field<'static> {
    count.map_or(Field::Absent, Field::Count)
}

fn summary(summary: &ProtectSummary) -> Field<'_> {
    Field::Fixed(
        &SUMMARY,
        vec![
            Field::Count(summary.detection_count),
            counts(&summary.by_type),
            counts(&summary.by_action),
            optional_count(summary.suppressed_count),
            summary
                .suppressed_by_type
                .as_ref()
                .map_or(Field::Absent, counts),
            optional_count(summary.dropped_count),
            summary
                .dropped_by_type
                .as_ref()
                .map_or(Field::Absent, counts),
        ],
    )
}

/// A summary that counts one decision: no detections, `byAction: {decision: 1}`.
fn decision_summary(decision: &str) -> Field<'_> {
    let by_action = if decision.chars().count() <= MAX_KEY_CHARS {
        vec![(decision, Field::Count(1))]
    } else {
        Vec::new()
    };
    Field::Fixed(
        &SUMMARY,
        vec![
            Field::Count(0),
            Field::Object(Vec::new()),
            Field::Object(by_action),
            Field::Absent,
            Field::Absent,
            Field::Absent,
            Field::Absent,
        ],
    )
}

/// Both texts of an event with a fixed layout, and its timestamp.
fn prepare_fixed(layout: &Layout, values: &[Field<'_>], timestamp: &str) -> PreparedEvent {
    let mut canonical = String::with_capacity(768);
    let mut link_at = Some(None);
    write_fixed(&mut canonical, layout, values, true, &mut link_at);
    let link_at = link_at.flatten().unwrap_or(1);
    let mut line = String::with_capacity(canonical.len());
    write_fixed(&mut line, layout, values, false, &mut None);
    let timestamp = Some(Value::String(clean_str(timestamp).to_owned()));
    PreparedEvent::from_parts(canonical, link_at, line, timestamp)
}

impl DecisionEvent {
    /// The event prepared for the chain (see [`PreparedEvent`]).
    pub fn prepare(&self) -> PreparedEvent {
        let values = [
            text(&self.id),
            text(&self.correlation_id),
            text(&self.timestamp),
            text(&self.protocol),
            text(&self.operation),
            text(self.mode.as_str()),
            self.identity.as_ref().map_or(Field::Null, identity),
            optional_text(self.profile.as_deref()),
            Field::Bool(self.enforced),
            Field::Bool(self.blocked),
            text(&self.decision),
            text(&self.reason),
            text(&self.route_id),
            text(&self.path_hash),
            decision_summary(&self.decision),
        ];
        prepare_fixed(&DECISION, &values, &self.timestamp)
    }
}

impl McpEvent {
    /// The event prepared for the chain (see [`PreparedEvent`]).
    pub fn prepare(&self) -> PreparedEvent {
        let values = [
            text(&self.id),
            optional_text(self.correlation_id.as_deref()),
            text(&self.timestamp),
            text(&self.protocol),
            text(&self.operation),
            text(self.mode.as_str()),
            self.identity.as_ref().map_or(Field::Null, identity),
            Field::Bool(self.enforced),
            Field::Bool(self.blocked),
            text(&self.decision),
            text(&self.reason),
            optional_text(self.method.as_deref()),
            decision_summary(&self.decision),
        ];
        prepare_fixed(&MCP, &values, &self.timestamp)
    }
}

impl VaultEvent {
    /// The event prepared for the chain (see [`PreparedEvent`]).
    pub fn prepare(&self) -> PreparedEvent {
        let values = [
            text(&self.id),
            text(&self.timestamp),
            text("token-vault"),
            text(&self.operation),
            Field::Null,
            text("n/a"),
            Field::Bool(true),
            Field::Bool(self.blocked),
            text(&self.decision),
            optional_text(self.reason.as_deref()),
            self.token
                .as_deref()
                .map_or(Field::Null, |token| Field::Str(clean_token(token))),
            optional_text(self.token_type.as_deref()),
            self.count.map_or(Field::Null, Field::Count),
            text(&self.reveal_policy),
            decision_summary(&self.decision),
        ];
        prepare_fixed(&VAULT, &values, &self.timestamp)
    }
}

impl ProtectEvent {
    /// The event prepared for the chain (see [`PreparedEvent`]).
    pub fn prepare(&self) -> PreparedEvent {
        let values = [
            text(&self.schema_version),
            text(&self.id),
            optional_text(self.correlation_id.as_deref()),
            text(&self.timestamp),
            text(&self.protocol),
            text(&self.operation),
            self.identity.as_ref().map_or(Field::Null, identity),
            optional_text(self.profile.as_deref()),
            text(self.mode.as_str()),
            Field::Bool(self.enforced),
            Field::Bool(self.blocked),
            text(&self.payload_shape_hash),
            Field::Array(self.detections.iter().map(detection).collect()),
            summary(&self.summary),
        ];
        prepare_fixed(&EVENT, &values, &self.timestamp)
    }
}
