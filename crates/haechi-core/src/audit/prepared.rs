//! Events rendered ahead of the chain. Preparing an event — sanitizing it and writing its
//! canonical text and its line text — is most of the cost of appending it, and needs nothing
//! from the chain, so it happens on the caller's thread. Sealing (under the store's exclusive
//! section) then only splices the `auditIntegrity` link into both texts and hashes one of them.
//!
//! The result is byte for byte what [`super::chain::chain_event`] and `js_stringify` produce
//! for the same sanitized event.

use serde_json::{Map, Value};

use super::canonical::{js_key_cmp, CANONICALIZATION};
use super::chain::{ChainHead, HASH_ALG, INTEGRITY_KEY};
use super::sanitize::sanitize_event;
use crate::hash::sha256_base64url;
use crate::js_json::{push_string, write_canonical_member, write_line_object};

/// One chained record, rendered as the line the store writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRecord {
    /// The record as one JSON line (no trailing newline).
    pub line: String,
    /// The chain head after this record.
    pub head: ChainHead,
    /// The record's `timestamp`, for stores that keep an anchor stream.
    pub timestamp: Option<Value>,
}

/// An audit event, sanitized and rendered, waiting for its chain link.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedEvent {
    /// Canonical JSON of the event without its link.
    canonical: String,
    /// Where in `canonical` the `auditIntegrity` member goes (keys are sorted): the offset of
    /// the member that sorts after it, or of the closing brace.
    link_at: usize,
    /// `JSON.stringify` of the event without its link (the link is appended last).
    line: String,
    timestamp: Option<Value>,
}

impl PreparedEvent {
    /// Sanitize and render an event given as a JSON object.
    pub fn from_map(event: Map<String, Value>) -> PreparedEvent {
        let event = sanitize_event(event);
        let mut entries: Vec<(&String, &Value)> = event.iter().collect();
        entries.sort_unstable_by(|(a, _), (b, _)| js_key_cmp(a, b));
        let mut canonical = String::with_capacity(512);
        canonical.push('{');
        let mut link_at = None;
        for (index, (key, value)) in entries.into_iter().enumerate() {
            if index > 0 {
                canonical.push(',');
            }
            if link_at.is_none() && js_key_cmp(key, INTEGRITY_KEY).is_gt() {
                link_at = Some(canonical.len());
            }
            write_canonical_member(&mut canonical, key, value);
        }
        let link_at = link_at.unwrap_or(canonical.len());
        canonical.push('}');
        let mut line = String::with_capacity(canonical.len() + 16);
        write_line_object(&mut line, &event);
        PreparedEvent::from_parts(canonical, link_at, line, event.get("timestamp").cloned())
    }

    /// From texts rendered by a typed event (see `ProtectEvent::prepare`). `link_at` follows
    /// the rule of the field of the same name.
    pub(crate) fn from_parts(
        canonical: String,
        link_at: usize,
        line: String,
        timestamp: Option<Value>,
    ) -> PreparedEvent {
        PreparedEvent {
            canonical,
            link_at,
            line,
            timestamp,
        }
    }

    /// Chain this event after `previous`.
    pub fn seal(&self, previous: Option<&ChainHead>) -> SealedRecord {
        let sequence = previous.map_or(1, |head| head.sequence.saturating_add(1));
        let mut previous_hash = String::with_capacity(48);
        match previous {
            Some(head) => push_string(&mut previous_hash, &head.event_hash),
            None => previous_hash.push_str("null"),
        }
        let sequence_text = itoa::Buffer::new().format(sequence).to_owned();

        // Canonical link (sorted keys; no eventHash yet) spliced where it sorts.
        let mut record = String::with_capacity(self.canonical.len() + 160);
        let (head, tail) = self.canonical.split_at(self.link_at);
        record.push_str(head);
        let first = head.len() == 1; // only the opening brace precedes it
        let last = tail == "}";
        if !first && last {
            record.push(',');
        }
        record.push_str("\"auditIntegrity\":{\"alg\":\"");
        record.push_str(HASH_ALG);
        record.push_str("\",\"canonicalization\":\"");
        record.push_str(CANONICALIZATION);
        record.push_str("\",\"previousHash\":");
        record.push_str(&previous_hash);
        record.push_str(",\"sequence\":");
        record.push_str(&sequence_text);
        record.push('}');
        if !last {
            record.push(',');
        }
        record.push_str(tail);
        let event_hash = sha256_base64url(record.as_bytes());

        // The line: the link is the record's last key, in the reference's key order.
        let mut line = String::with_capacity(self.line.len() + 200);
        line.push_str(&self.line[..self.line.len().saturating_sub(1)]);
        if self.line.len() > 2 {
            line.push(',');
        }
        line.push_str("\"auditIntegrity\":{\"alg\":\"");
        line.push_str(HASH_ALG);
        line.push_str("\",\"canonicalization\":\"");
        line.push_str(CANONICALIZATION);
        line.push_str("\",\"sequence\":");
        line.push_str(&sequence_text);
        line.push_str(",\"previousHash\":");
        line.push_str(&previous_hash);
        line.push_str(",\"eventHash\":\"");
        line.push_str(&event_hash);
        line.push_str("\"}}");
        SealedRecord {
            line,
            head: ChainHead {
                sequence,
                event_hash,
            },
            timestamp: self.timestamp.clone(),
        }
    }
}
