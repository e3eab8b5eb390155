//! The hash chain: how one record links to the one before it.
//!
//! A record is the sanitized event plus `auditIntegrity { alg, canonicalization, sequence,
//! previousHash, eventHash }`. Sequences start at 1; the first record's `previousHash` is
//! `null`. `eventHash` is the unpadded base64url SHA-256 of the canonical JSON of the whole
//! record whose `auditIntegrity` does not yet carry `eventHash`. These are the reference's
//! facts, so a log written by either implementation verifies with the other.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::canonical::{canonical_json, CANONICALIZATION};
use crate::hash::sha256_base64url;

/// The key under which every record carries its chain link.
pub const INTEGRITY_KEY: &str = "auditIntegrity";
/// The hash algorithm tag stored in `auditIntegrity.alg`.
pub const HASH_ALG: &str = "sha256";

/// The last record of a chain: what the next record links to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainHead {
    pub sequence: u64,
    pub event_hash: String,
}

impl ChainHead {
    /// Reads the head from a stored record's `auditIntegrity`. `None` when the record does not
    /// carry a usable link (no integrity object, a non-integer sequence or a non-string hash).
    pub fn from_record(record: &Value) -> Option<ChainHead> {
        let integrity = record.get(INTEGRITY_KEY)?.as_object()?;
        Some(ChainHead {
            sequence: integer(integrity.get("sequence")?)?,
            event_hash: integrity.get("eventHash")?.as_str()?.to_owned(),
        })
    }
}

/// A JSON number that is a whole, non-negative integer, however it was written (`3` or `3.0`).
pub(crate) fn integer(value: &Value) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return Some(n);
    }
    let float = value.as_f64()?;
    if float >= 0.0 && float.fract() == 0.0 && float < 9.007_199_254_740_992e15 {
        Some(float as u64)
    } else {
        None
    }
}

/// Appends the chain link to an (already sanitized) event, after `previous` or as the first
/// record of a new chain. Returns the record and the new head.
///
/// An `auditIntegrity` already present in `event` is replaced where it stands (as the
/// reference's object spread does); otherwise the link is the last key of the record.
pub fn chain_event(
    mut event: Map<String, Value>,
    previous: Option<&ChainHead>,
) -> (Map<String, Value>, ChainHead) {
    let sequence = previous.map_or(1, |head| head.sequence.saturating_add(1));
    let previous_hash = previous.map_or(Value::Null, |head| Value::String(head.event_hash.clone()));

    let mut integrity = Map::new();
    integrity.insert("alg".into(), Value::String(HASH_ALG.into()));
    integrity.insert(
        "canonicalization".into(),
        Value::String(CANONICALIZATION.into()),
    );
    integrity.insert("sequence".into(), Value::from(sequence));
    integrity.insert("previousHash".into(), previous_hash);
    event.insert(INTEGRITY_KEY.into(), Value::Object(integrity));

    let record = Value::Object(event);
    let event_hash = sha256_base64url(canonical_json(&record).as_bytes());
    let Value::Object(mut event) = record else {
        // Unreachable: `record` was built as an object two lines above.
        return (
            Map::new(),
            ChainHead {
                sequence,
                event_hash,
            },
        );
    };
    if let Some(Value::Object(integrity)) = event.get_mut(INTEGRITY_KEY) {
        integrity.insert("eventHash".into(), Value::String(event_hash.clone()));
    }
    (
        event,
        ChainHead {
            sequence,
            event_hash,
        },
    )
}

/// Recomputes the hash a stored record should carry: the canonical JSON of the record with
/// `auditIntegrity.eventHash` removed (every other integrity key kept, as the reference does).
/// `None` when the record has no integrity object to unsign.
pub fn expected_event_hash(record: &Map<String, Value>) -> Option<String> {
    let integrity = record.get(INTEGRITY_KEY)?.as_object()?;
    let mut unsigned_integrity = integrity.clone();
    unsigned_integrity.shift_remove("eventHash");
    let mut unsigned = record.clone();
    unsigned.insert(INTEGRITY_KEY.into(), Value::Object(unsigned_integrity));
    Some(sha256_base64url(
        canonical_json(&Value::Object(unsigned)).as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: &str) -> Map<String, Value> {
        match json!({
            "id": id, "timestamp": "1970-01-01T00:00:00.000Z", "protocol": "test",
            "operation": "seam", "mode": "enforce", "enforced": true, "blocked": false,
            "summary": {"detectionCount": 0, "byType": {}, "byAction": {}}
        }) {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn first_record_matches_the_reference_hash() {
        // Produced by the reference's buildIntegrityRecord(null, event("e-0")) in Node 20.
        let (record, head) = chain_event(event("e-0"), None);
        assert_eq!(head.sequence, 1);
        assert_eq!(head.event_hash, REFERENCE_FIRST_HASH);
        assert_eq!(record["auditIntegrity"]["previousHash"], Value::Null);
        assert_eq!(
            record.keys().next_back().map(String::as_str),
            Some("auditIntegrity")
        );
        let integrity_keys: Vec<&str> = record["auditIntegrity"]
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            integrity_keys,
            [
                "alg",
                "canonicalization",
                "sequence",
                "previousHash",
                "eventHash"
            ]
        );
    }

    #[test]
    fn next_record_links_to_the_head() {
        let (_, first) = chain_event(event("e-0"), None);
        let (second, head) = chain_event(event("e-1"), Some(&first));
        assert_eq!(head.sequence, 2);
        assert_eq!(
            second["auditIntegrity"]["previousHash"],
            Value::String(first.event_hash.clone())
        );
        assert_eq!(expected_event_hash(&second), Some(head.event_hash.clone()));
        assert_eq!(ChainHead::from_record(&Value::Object(second)), Some(head));
    }

    #[test]
    fn chaining_is_deterministic_and_content_bound() {
        let (a, _) = chain_event(event("same"), None);
        let (b, _) = chain_event(event("same"), None);
        let (c, _) = chain_event(event("other"), None);
        assert_eq!(a, b);
        assert_ne!(a["auditIntegrity"], c["auditIntegrity"]);
    }

    #[test]
    fn an_existing_integrity_key_is_replaced_in_place() {
        let mut input = Map::new();
        input.insert("auditIntegrity".into(), json!("forged"));
        input.insert("id".into(), json!("x"));
        let (record, _) = chain_event(input, None);
        assert_eq!(
            record.keys().next().map(String::as_str),
            Some("auditIntegrity")
        );
        assert!(record["auditIntegrity"]["eventHash"].is_string());
    }

    /// See `first_record_matches_the_reference_hash`.
    const REFERENCE_FIRST_HASH: &str = "Z1kNix8sFYX21A8iqaAg-CafWtL3Kd0ghngSaP7so54";
}
