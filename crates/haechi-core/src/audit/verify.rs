//! Verifying a chain, line by line, optionally against an anchor stream.
//!
//! The checks and their order are the reference's (`verifyAuditChain`): a record must carry
//! `auditIntegrity`, its `sequence` must be the next one (from 1), its `previousHash` must be
//! the previous record's `eventHash` (`null` first), and its `eventHash` must recompute. The
//! failure's `reason()` is the reference's exact text (machine output is frozen); the failure
//! also says where: the line number and the sequence that was expected there.

use std::collections::HashMap;
use std::fmt;

use serde_json::{json, Map, Value};

use super::chain::{expected_event_hash, integer, INTEGRITY_KEY};
use super::parse::parse_js_json;

/// Why a chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// The line is not valid UTF-8 JSON (the reference throws here; we report it).
    InvalidJson,
    MissingIntegrity,
    /// A record's `sequence` is not the next one: a deleted, inserted or reordered record.
    SequenceMismatch,
    /// A record does not link to the record before it.
    PreviousHashMismatch,
    /// A record's content does not match its `eventHash`: the record was modified.
    EventHashMismatch,
    /// The chain disagrees with the anchor stream at this sequence.
    AnchorHashMismatch,
    /// The anchor stream attests more records than the chain holds: the tail was cut off.
    TailTruncation {
        records: u64,
        anchored: u64,
    },
}

/// The first point where verification failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyFailure {
    pub kind: FailureKind,
    /// 1-based line number in the log (blank lines counted); `None` for tail truncation.
    pub line: Option<u64>,
    /// The sequence the chain expected at that point.
    pub sequence: u64,
}

impl VerifyFailure {
    /// The reference's reason text, byte for byte (`haechi audit-verify` prints it).
    pub fn reason(&self) -> String {
        match &self.kind {
            FailureKind::InvalidJson => "invalid JSON".into(),
            FailureKind::MissingIntegrity => "missing auditIntegrity".into(),
            FailureKind::SequenceMismatch => "sequence mismatch".into(),
            FailureKind::PreviousHashMismatch => "previous hash mismatch".into(),
            FailureKind::EventHashMismatch => "event hash mismatch".into(),
            FailureKind::AnchorHashMismatch => {
                format!("anchor hash mismatch at sequence {}", self.sequence)
            }
            FailureKind::TailTruncation { records, anchored } => format!(
                "tail truncation: chain has {records} records but anchor attests sequence {anchored}"
            ),
        }
    }
}

impl fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(
                f,
                "{} at line {line} (expected record sequence {})",
                self.reason(),
                self.sequence
            ),
            None => f.write_str(&self.reason()),
        }
    }
}

/// What the anchor stream attested, reported when one was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnchorSummary {
    /// Distinct anchored sequences.
    pub count: u64,
    pub last_sequence: u64,
}

/// The result of verifying a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOutcome {
    pub valid: bool,
    /// Records that verified before the failure (all of them when valid).
    pub records: u64,
    /// The last record's `eventHash` (`None` for an empty log or on failure).
    pub head_hash: Option<String>,
    pub failure: Option<VerifyFailure>,
    pub anchored: Option<AnchorSummary>,
}

impl VerifyOutcome {
    /// The reference's result object (`{ valid, records, headHash, anchored? }` or
    /// `{ valid: false, records, reason }`), plus an additive `at: { line, sequence }`.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("valid".into(), Value::Bool(self.valid));
        out.insert("records".into(), Value::from(self.records));
        match &self.failure {
            Some(failure) => {
                out.insert("reason".into(), Value::String(failure.reason()));
                out.insert(
                    "at".into(),
                    json!({ "line": failure.line, "sequence": failure.sequence }),
                );
            }
            None => {
                out.insert(
                    "headHash".into(),
                    self.head_hash.clone().map_or(Value::Null, Value::String),
                );
                if let Some(anchored) = self.anchored {
                    out.insert(
                        "anchored".into(),
                        json!({ "count": anchored.count, "lastSequence": anchored.last_sequence }),
                    );
                }
            }
        }
        Value::Object(out)
    }
}

/// The anchor stream: chain heads attested at past sequences.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnchorIndex {
    by_sequence: HashMap<u64, String>,
    last_sequence: u64,
}

impl AnchorIndex {
    /// Reads anchor lines (`{"sequence":N,"eventHash":"…","timestamp":"…"}`). Lines that do not
    /// parse (a crash can leave a partial last line) are skipped, as the reference does.
    pub fn from_lines<I, L>(lines: I) -> AnchorIndex
    where
        I: IntoIterator<Item = L>,
        L: AsRef<[u8]>,
    {
        let mut index = AnchorIndex::default();
        for line in lines {
            index.push_line(line.as_ref());
        }
        index
    }

    /// Adds one anchor line; unusable lines are ignored.
    pub fn push_line(&mut self, line: &[u8]) {
        let Ok(Value::Object(anchor)) = serde_json::from_slice::<Value>(line) else {
            return;
        };
        let sequence = anchor.get("sequence").and_then(integer);
        let hash = anchor.get("eventHash").and_then(Value::as_str);
        if let (Some(sequence), Some(hash)) = (sequence, hash) {
            self.by_sequence.insert(sequence, hash.to_owned());
            self.last_sequence = self.last_sequence.max(sequence);
        }
    }

    pub fn summary(&self) -> AnchorSummary {
        AnchorSummary {
            count: self.by_sequence.len() as u64,
            last_sequence: self.last_sequence,
        }
    }
}

/// A chain verifier fed one line at a time, so a large log is never held in memory.
#[derive(Debug)]
pub struct ChainVerifier<'a> {
    anchors: Option<&'a AnchorIndex>,
    previous_hash: Option<String>,
    records: u64,
    line: u64,
    failure: Option<VerifyFailure>,
}

impl<'a> ChainVerifier<'a> {
    pub fn new(anchors: Option<&'a AnchorIndex>) -> Self {
        ChainVerifier {
            anchors,
            previous_hash: None,
            records: 0,
            line: 0,
            failure: None,
        }
    }

    /// Checks the next line (without its line break). Returns `false` once the chain has
    /// failed; later lines are then ignored.
    pub fn push_line(&mut self, line: &[u8]) -> bool {
        if self.failure.is_some() {
            return false;
        }
        self.line += 1;
        if is_blank(line) {
            return true;
        }
        match self.check(line) {
            Ok(hash) => {
                self.previous_hash = Some(hash);
                self.records += 1;
                true
            }
            Err(kind) => {
                self.failure = Some(VerifyFailure {
                    kind,
                    line: Some(self.line),
                    sequence: self.records + 1,
                });
                false
            }
        }
    }

    fn check(&self, line: &[u8]) -> Result<String, FailureKind> {
        let record = parse_js_json(line).ok_or(FailureKind::InvalidJson)?;
        let integrity = record.get(INTEGRITY_KEY).filter(|v| is_truthy(v));
        let Some(integrity) = integrity else {
            return Err(FailureKind::MissingIntegrity);
        };
        let expected_sequence = self.records + 1;
        let sequence = integrity.get("sequence").and_then(integer);
        if sequence != Some(expected_sequence) {
            return Err(FailureKind::SequenceMismatch);
        }
        // A missing previousHash reads as null, like the reference's `?? null`.
        let previous = integrity.get("previousHash").unwrap_or(&Value::Null);
        let links = match (&self.previous_hash, previous) {
            (None, Value::Null) => true,
            (Some(expected), Value::String(found)) => expected == found,
            _ => false,
        };
        if !links {
            return Err(FailureKind::PreviousHashMismatch);
        }
        let stored = integrity.get("eventHash").and_then(Value::as_str);
        let recomputed = record.as_object().and_then(expected_event_hash);
        let hash = match (stored, recomputed) {
            (Some(stored), Some(recomputed)) if stored == recomputed => recomputed,
            _ => return Err(FailureKind::EventHashMismatch),
        };
        if let Some(anchored) = self
            .anchors
            .and_then(|anchors| anchors.by_sequence.get(&expected_sequence))
        {
            if *anchored != hash {
                return Err(FailureKind::AnchorHashMismatch);
            }
        }
        Ok(hash)
    }

    /// The outcome after the last line.
    pub fn finish(self) -> VerifyOutcome {
        let anchored = self.anchors.map(AnchorIndex::summary);
        if let Some(failure) = self.failure {
            return VerifyOutcome {
                valid: false,
                records: self.records,
                head_hash: None,
                failure: Some(failure),
                anchored: None,
            };
        }
        if let Some(summary) = anchored {
            if summary.last_sequence > self.records {
                return VerifyOutcome {
                    valid: false,
                    records: self.records,
                    head_hash: None,
                    failure: Some(VerifyFailure {
                        kind: FailureKind::TailTruncation {
                            records: self.records,
                            anchored: summary.last_sequence,
                        },
                        line: None,
                        sequence: self.records + 1,
                    }),
                    anchored: None,
                };
            }
        }
        VerifyOutcome {
            valid: true,
            records: self.records,
            head_hash: self.previous_hash,
            failure: None,
            anchored,
        }
    }
}

/// Verifies a whole log given as lines (without line breaks).
pub fn verify_lines<I, L>(lines: I) -> VerifyOutcome
where
    I: IntoIterator<Item = L>,
    L: AsRef<[u8]>,
{
    verify_lines_anchored(lines, None)
}

/// Verifies a log and cross-checks it against an anchor stream.
pub fn verify_lines_anchored<I, L>(lines: I, anchors: Option<&AnchorIndex>) -> VerifyOutcome
where
    I: IntoIterator<Item = L>,
    L: AsRef<[u8]>,
{
    let mut verifier = ChainVerifier::new(anchors);
    for line in lines {
        if !verifier.push_line(line.as_ref()) {
            break;
        }
    }
    verifier.finish()
}

/// JavaScript truthiness of a parsed JSON value (`if (!integrity)` in the reference).
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// A line the reference skips: empty after JavaScript's `trim()`.
fn is_blank(line: &[u8]) -> bool {
    match std::str::from_utf8(line) {
        Ok(text) => text
            .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
            .is_empty(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests;
