//! The sanitizer: the last guard that keeps protected values out of the audit log.
//!
//! The reference strips a fixed list of key names at every depth. That is kept (same list),
//! but applied structurally, because a name-only filter also deletes legitimate data: the
//! reference drops `summary.byType.secret` (the count of secret detections) since `secret` is
//! a forbidden key. Here the known fields of an event are checked by their type instead:
//!
//! - count maps (`summary.byType`, `byAction`, `suppressedByType`, `droppedByType`) keep every
//!   key (they are type or action names) but only numeric counts;
//! - `identity` is projected to its five frozen keys, each `detections[]` entry to its seven;
//! - scalar fields must be scalars, `token` must look like a vault token id;
//! - anything unknown is kept only after the forbidden keys are stripped, nesting is bounded
//!   and every string is checked (length, protection markers).
//!
//! `auditIntegrity` is removed: only the chain may set it.

use serde_json::{Map, Value};

use super::chain::INTEGRITY_KEY;

/// Key names never written to the audit log, at any depth outside the count maps.
/// The reference's `FORBIDDEN_KEYS`, unchanged.
pub const FORBIDDEN_KEYS: [&str; 24] = [
    "value",
    "plaintext",
    "payload",
    "content",
    "message",
    "prompt",
    "secret",
    "access_token",
    "id_token",
    "refresh_token",
    "code",
    "code_verifier",
    "client_secret",
    "state",
    "nonce",
    "claims",
    "subject",
    "issuer",
    "credential",
    "authorization",
    "signature",
    "entry",
    "scopes",
    "labels",
];

/// Nesting allowed under an unknown top-level field; deeper structure is dropped.
pub const MAX_UNKNOWN_DEPTH: usize = 8;
/// Longest string kept in an event; longer strings are replaced by [`REDACTED_STRING`].
pub const MAX_STRING_CHARS: usize = 512;
/// Longest object key kept (count-map keys included); longer keys are dropped.
pub const MAX_KEY_CHARS: usize = 128;
/// What replaces a string that failed the checks.
pub const REDACTED_STRING: &str = "[REDACTED:audit-string]";
/// What replaces a `token` field that is not a vault token id (the reference's marker).
pub const REDACTED_TOKEN: &str = "[REDACTED:non-token]";

const COUNT_MAPS: [&str; 4] = ["byType", "byAction", "suppressedByType", "droppedByType"];
const SUMMARY_COUNTS: [&str; 3] = ["detectionCount", "suppressedCount", "droppedCount"];
const IDENTITY_KEYS: [&str; 5] = ["id", "type", "subjectHash", "issuerHash", "provider"];
const DETECTION_STRINGS: [&str; 5] = ["type", "ruleId", "path", "kind", "action"];
const SCALAR_FIELDS: [&str; 11] = [
    "schemaVersion",
    "id",
    "correlationId",
    "timestamp",
    "protocol",
    "operation",
    "profile",
    "mode",
    "enforced",
    "blocked",
    "payloadShapeHash",
];
/// Markers of transformed payload text: an event holding one is holding payload.
const PAYLOAD_MARKERS: [&str; 2] = [crate::markers::TOKEN_OPEN, crate::markers::ENVELOPE_OPEN];
// `is_payload_like` looks for a `[` before looking for the markers.
const _: () = {
    let mut i = 0;
    while i < PAYLOAD_MARKERS.len() {
        assert!(PAYLOAD_MARKERS[i].as_bytes()[0] == b'[');
        i += 1;
    }
};

/// Whether `key` is on the forbidden list.
pub fn is_forbidden_key(key: &str) -> bool {
    FORBIDDEN_KEYS.contains(&key)
}

/// Sanitizes an event before it is chained. Idempotent. Works in place: the event's own
/// map and strings are kept, only what fails a check is dropped or replaced.
pub fn sanitize_event(mut event: Map<String, Value>) -> Map<String, Value> {
    event.retain(|key, value| {
        if key == INTEGRITY_KEY || is_forbidden_key(key) || key.chars().count() > MAX_KEY_CHARS {
            return false;
        }
        let taken = std::mem::take(value);
        let kept = match key.as_str() {
            "identity" => sanitize_identity(taken),
            "detections" => sanitize_detections(taken),
            "summary" => sanitize_summary(taken),
            "token" => Some(sanitize_token(taken)),
            k if SCALAR_FIELDS.contains(&k) => sanitize_scalar(taken),
            _ => sanitize_unknown(taken, 1),
        };
        match kept {
            Some(kept) => {
                *value = kept;
                true
            }
            None => false,
        }
    });
    event
}

/// Keeps the entries of `map` for which `keep` returns a value, in place.
fn retain_map(map: &mut Map<String, Value>, mut keep: impl FnMut(&str, Value) -> Option<Value>) {
    map.retain(|key, value| match keep(key, std::mem::take(value)) {
        Some(kept) => {
            *value = kept;
            true
        }
        None => false,
    });
}

/// A scalar stays (strings checked); a structure where a scalar belongs is dropped.
fn sanitize_scalar(value: Value) -> Option<Value> {
    match value {
        Value::String(text) => Some(check_string(text)),
        Value::Array(_) | Value::Object(_) => None,
        scalar => Some(scalar),
    }
}

fn sanitize_identity(value: Value) -> Option<Value> {
    match value {
        Value::Null => Some(Value::Null),
        Value::Object(mut identity) => {
            retain_map(&mut identity, |key, item| {
                if !IDENTITY_KEYS.contains(&key) {
                    return None;
                }
                match item {
                    Value::String(text) => Some(check_string(text)),
                    Value::Null => Some(Value::Null),
                    _ => None,
                }
            });
            Some(Value::Object(identity))
        }
        _ => None,
    }
}

fn sanitize_detections(value: Value) -> Option<Value> {
    let Value::Array(mut items) = value else {
        return None;
    };
    items.retain_mut(|item| {
        let Value::Object(detection) = item else {
            return false;
        };
        retain_map(detection, |key, field| {
            let keep = match (key, &field) {
                (k, Value::String(_)) if DETECTION_STRINGS.contains(&k) => true,
                ("confidence", Value::Number(_)) | ("enforced", Value::Bool(_)) => true,
                _ => false,
            };
            if keep {
                sanitize_scalar(field)
            } else {
                None
            }
        });
        true
    });
    Some(Value::Array(items))
}

fn sanitize_summary(value: Value) -> Option<Value> {
    let Value::Object(mut summary) = value else {
        return None;
    };
    retain_map(&mut summary, |key, item| {
        if SUMMARY_COUNTS.contains(&key) {
            item.is_number().then_some(item)
        } else if COUNT_MAPS.contains(&key) {
            sanitize_count_map(item)
        } else if is_forbidden_key(key) || key.chars().count() > MAX_KEY_CHARS {
            None
        } else {
            sanitize_unknown(item, 2)
        }
    });
    Some(Value::Object(summary))
}

/// Keys are type or action names (kept, `secret` included); values must be numbers.
fn sanitize_count_map(value: Value) -> Option<Value> {
    let Value::Object(mut counts) = value else {
        return None;
    };
    counts.retain(|key, count| count.is_number() && key.chars().count() <= MAX_KEY_CHARS);
    Some(Value::Object(counts))
}

/// Strips forbidden keys, bounds nesting and checks strings under an unknown field.
fn sanitize_unknown(value: Value, depth: usize) -> Option<Value> {
    match value {
        Value::String(text) => Some(check_string(text)),
        Value::Array(items) => {
            if depth > MAX_UNKNOWN_DEPTH {
                return None;
            }
            let kept = items
                .into_iter()
                .filter_map(|item| sanitize_unknown(item, depth + 1))
                .collect();
            Some(Value::Array(kept))
        }
        Value::Object(map) => {
            if depth > MAX_UNKNOWN_DEPTH {
                return None;
            }
            let mut out = Map::new();
            for (key, item) in map {
                if is_forbidden_key(&key) || key.chars().count() > MAX_KEY_CHARS {
                    continue;
                }
                if let Some(item) = sanitize_unknown(item, depth + 1) {
                    out.insert(key, item);
                }
            }
            Some(Value::Object(out))
        }
        scalar => Some(scalar),
    }
}

/// A string longer than [`MAX_STRING_CHARS`] or carrying a protection marker is payload
/// text, not an identifier: it is replaced.
fn check_string(text: String) -> Value {
    if is_payload_like(&text) {
        Value::String(REDACTED_STRING.into())
    } else {
        Value::String(text)
    }
}

/// The text an event string is kept as: itself, or [`REDACTED_STRING`] when it looks like
/// payload (too long, or carrying a protection marker).
pub(crate) fn clean_str(text: &str) -> &str {
    if is_payload_like(text) {
        REDACTED_STRING
    } else {
        text
    }
}

/// The text a `token` field is kept as: a vault token id or keyed digest as is, anything else
/// as [`REDACTED_TOKEN`].
pub(crate) fn clean_token(text: &str) -> &str {
    if is_vault_token_id(text) || is_nontoken_digest(text) || text == REDACTED_TOKEN {
        text
    } else {
        REDACTED_TOKEN
    }
}

fn is_payload_like(text: &str) -> bool {
    let too_long = text.len() > MAX_STRING_CHARS && text.chars().count() > MAX_STRING_CHARS;
    // Every marker opens with `[`: most event strings have none, found with one vector search.
    too_long
        || (memchr::memchr(b'[', text.as_bytes()).is_some()
            && PAYLOAD_MARKERS.iter().any(|marker| text.contains(marker)))
}

/// A `token` field may only hold a vault token id, the keyed `nontoken_` digest the vault
/// records for a misused raw value, the reference's redaction marker, or null.
fn sanitize_token(value: Value) -> Value {
    match &value {
        Value::Null => value,
        Value::String(text)
            if is_vault_token_id(text) || is_nontoken_digest(text) || text == REDACTED_TOKEN =>
        {
            value
        }
        _ => Value::String(REDACTED_TOKEN.into()),
    }
}

/// The reference's token shape `^tok_[a-z0-9_]+_[a-f0-9]{16,}$`.
pub fn is_vault_token_id(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("tok_") else {
        return false;
    };
    let Some((type_part, hex)) = rest.rsplit_once('_') else {
        return false;
    };
    !type_part.is_empty()
        && type_part
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && hex.len() >= 16
        && hex.bytes().all(is_lower_hex)
}

fn is_nontoken_digest(text: &str) -> bool {
    text.strip_prefix("nontoken_")
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(is_lower_hex))
}

fn is_lower_hex(byte: u8) -> bool {
    byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)
}

#[cfg(test)]
mod tests;
