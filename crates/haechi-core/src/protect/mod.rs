//! The protect pipeline: walk → detect → precision controls → decide → transform → audit.
//!
//! Output is spliced into the original bytes: only the leaves that changed are rewritten, so a
//! payload with nothing to transform is returned byte-identical, number text and key order are
//! never disturbed, and no tree is built for the common case.

pub mod context;
pub mod event;
pub mod fields;
pub mod outside;
pub mod precision;
mod scan;
mod tokens;
pub mod transform;
pub mod walk;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::audit::{AuditDetection, PreparedEvent, ProtectSummary};
use crate::config::Config;
use crate::detect::{DetectError, Detector};
use crate::policy::{CompiledPolicy, PolicyError, PolicySet};
use crate::seams::{
    commit_blocking, AuditSink, Crypto, IssuedTokens, PendingTokens, ProviderError, Tokenizer,
};
use crate::vocab::{Action, LeafKind};

use crate::markers;
pub use context::ProtectContext;
pub use fields::{request_fields, RequestFields, TopField};
pub use outside::{OutsideLocation, OutsideValue};
use precision::PrecisionControls;
use scan::{Decided, HitLeaf, Scan};
use transform::{json_string, mask, merge_overlaps, splice, Span};
use walk::{walk, Leaf, PathHashes};

/// Why a payload could not be protected. The pipeline fails closed: on any error nothing may
/// be forwarded. Messages never carry payload values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtectError {
    #[error("the payload is not valid UTF-8 (first invalid byte at offset {offset}); send UTF-8 encoded JSON")]
    NotUtf8 { offset: usize },
    #[error("the payload is not valid JSON (line {line}, column {column}: {reason}); fix the JSON and retry")]
    InvalidJson {
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("the payload nests deeper than limits.maxNestingDepth ({max_depth}); flatten it or raise the limit")]
    TooDeeplyNested { max_depth: usize },
    #[error("the policy asks to {action} a value but no {needed} is configured; configure one or change the policy")]
    MissingCollaborator {
        action: &'static str,
        needed: &'static str,
    },
    #[error("{0}")]
    Provider(ProviderError),
}

impl ProtectError {
    /// The reference's stable error code for this failure.
    pub fn code(&self) -> &'static str {
        match self {
            ProtectError::NotUtf8 { .. } => "haechi_request_body_not_utf8",
            ProtectError::InvalidJson { .. } => "haechi_invalid_json_request",
            ProtectError::TooDeeplyNested { .. } => "haechi_request_too_deeply_nested",
            ProtectError::MissingCollaborator { .. } => "haechi_protect_misconfigured",
            ProtectError::Provider(error) => error.code,
        }
    }
}

impl From<ProviderError> for ProtectError {
    fn from(error: ProviderError) -> Self {
        ProtectError::Provider(error)
    }
}

/// A payload's bytes as the text protection reads: UTF-8, checked once by whoever received
/// the bytes (the gateway, the CLI), or [`ProtectError::NotUtf8`].
pub fn payload_text(input: &[u8]) -> Result<&str, ProtectError> {
    std::str::from_utf8(input).map_err(|error| ProtectError::NotUtf8 {
        offset: error.valid_up_to(),
    })
}

/// A protector that cannot be built from a configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Detect(#[from] DetectError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// Compile what a configuration implies beyond its schema (the policy merge, custom rules), so a
/// config that could never protect is refused at load.
pub fn check_config(config: &Config) -> Result<(), BuildError> {
    Detector::new(&config.filters)?;
    PolicySet::compile(&config.policy, config.privacy.profile.as_deref())?;
    Ok(())
}

/// The stateful collaborators a protector reaches through the seams.
#[derive(Clone)]
pub struct Collaborators {
    pub audit: Arc<dyn AuditSink>,
    pub crypto: Option<Arc<dyn Crypto>>,
    pub tokenizer: Option<Arc<dyn Tokenizer>>,
}

/// The payload protection leaves to forward (unless the outcome is blocked).
#[derive(Debug, Clone, PartialEq)]
pub enum ProtectedPayload {
    /// Forward the original bytes: nothing was transformed (or the mode does not enforce).
    Unchanged,
    /// Forward these bytes instead.
    Rewritten(String),
}

#[derive(Debug, Clone)]
pub struct ProtectOutcome {
    pub payload: ProtectedPayload,
    pub blocked: bool,
    pub enforced: bool,
    pub summary: ProtectSummary,
    pub audit_id: String,
    /// Tokens issued (or reused) while protecting this payload, for request-scoped detokenization.
    pub issued_tokens: Vec<String>,
    /// For each value passed beside the body, its replacement when the policy changed it.
    pub outside: Vec<Option<String>>,
}

/// What [`Protector::protect_deferred`] produced: the outcome, its audit event, and the records
/// of the tokens in the rewritten payload, still to be stored. `Debug` shows no records.
pub struct DeferredOutcome {
    pub outcome: ProtectOutcome,
    pub event: PreparedEvent,
    /// `None` when no token records wait (nothing tokenized, or the vault stored them at once).
    pub pending_tokens: Option<Box<dyn PendingTokens>>,
}

impl std::fmt::Debug for DeferredOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeferredOutcome")
            .field("outcome", &self.outcome)
            .field("pending_tokens", &self.pending_tokens.is_some())
            .finish_non_exhaustive()
    }
}

impl ProtectOutcome {
    /// The bytes to forward, or `None` when blocked.
    pub fn output<'a>(&'a self, input: &'a str) -> Option<&'a str> {
        match &self.payload {
            _ if self.blocked => None,
            ProtectedPayload::Unchanged => Some(input),
            ProtectedPayload::Rewritten(text) => Some(text),
        }
    }
}

/// The compiled pipeline for one configuration. Cheap to share (`Arc`) across threads.
pub struct Protector {
    detector: Detector,
    policies: PolicySet,
    precision: PrecisionControls,
    max_nesting_depth: usize,
    scan_response_numbers: bool,
    collaborators: Collaborators,
}

impl Protector {
    pub fn new(config: &Config, collaborators: Collaborators) -> Result<Protector, BuildError> {
        Ok(Protector {
            detector: Detector::new(&config.filters)?,
            policies: PolicySet::compile(&config.policy, config.privacy.profile.as_deref())?,
            precision: PrecisionControls::new(&config.filters),
            max_nesting_depth: config.limits.max_nesting_depth,
            scan_response_numbers: config.response_protection.scan_numbers,
            collaborators,
        })
    }

    /// The audit sink this protector records to: callers that record the events they get
    /// back (a gateway) append through the same sink.
    pub fn audit(&self) -> &Arc<dyn AuditSink> {
        &self.collaborators.audit
    }

    pub fn policies(&self) -> &PolicySet {
        &self.policies
    }

    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// Protect with the base policy.
    pub fn protect(
        &self,
        text: &str,
        context: &ProtectContext,
    ) -> Result<ProtectOutcome, ProtectError> {
        let policy = Arc::clone(&self.policies.base().policy);
        self.protect_with(text, context, &policy)
    }

    /// Protect with a specific (profile-resolved) policy.
    pub fn protect_with(
        &self,
        text: &str,
        context: &ProtectContext,
        policy: &CompiledPolicy,
    ) -> Result<ProtectOutcome, ProtectError> {
        let (outcome, event) = self.protect_unrecorded(text, context, policy)?;
        self.collaborators.audit.record(event)?;
        Ok(outcome)
    }

    /// [`Self::protect_with`] without recording the audit event, for callers that append it
    /// through their own (asynchronous) writer. The caller must record the returned event, and
    /// see it succeed, before it acts on the outcome: an unrecorded decision is not forwarded.
    /// Token records are stored (one vault transaction) before this returns.
    pub fn protect_unrecorded(
        &self,
        text: &str,
        context: &ProtectContext,
        policy: &CompiledPolicy,
    ) -> Result<(ProtectOutcome, PreparedEvent), ProtectError> {
        let deferred = self.protect_deferred(text, &[], context, policy)?;
        if let Some(pending) = deferred.pending_tokens {
            commit_blocking(pending)?;
        }
        Ok((deferred.outcome, deferred.event))
    }

    /// [`Self::protect_unrecorded`] that leaves the token records to the caller too, so it can
    /// store them without blocking its thread (and a vault writer can store many callers'
    /// records in one transaction). The caller must commit `pending_tokens`, then record the
    /// event, and see both succeed before it forwards anything: a token whose record is not
    /// stored could never be revealed.
    ///
    /// `outside` are the values sent beside the body (path, query, headers): they get the same
    /// detection and policy, in the same decision and audit event. A block anywhere blocks the
    /// whole request; their replacements come back in [`ProtectOutcome::outside`].
    pub fn protect_deferred<'a>(
        &self,
        text: &'a str,
        outside: &'a [OutsideValue<'a>],
        context: &ProtectContext,
        policy: &CompiledPolicy,
    ) -> Result<DeferredOutcome, ProtectError> {
        let mut scan = Scan {
            protector: self,
            policy,
            direction: context.direction,
            findings: Vec::new(),
            hits: Vec::new(),
            decided: Vec::new(),
            summary: ProtectSummary::default(),
            paths: PathHashes::default(),
        };
        let shape_hash = walk(text, self.max_nesting_depth, &mut scan)?;
        for (index, value) in outside.iter().enumerate() {
            let leaf = Leaf {
                kind: LeafKind::Value,
                text: Cow::Borrowed(value.text),
                span: 0..0,
                object_start: None,
            };
            let location = value.location;
            scan.judge(leaf, Some(index), |_| {
                Arc::from(location.render(&self.detector))
            })?;
        }
        let Scan {
            hits,
            decided,
            summary,
            ..
        } = scan;

        let enforced = context.mode.enforces();
        let blocked = enforced && decided.iter().any(|d| d.action == Action::Block);
        let mut outside_out = vec![None; outside.len()];
        let (payload, issued) = if blocked {
            (ProtectedPayload::Unchanged, None)
        } else if enforced && decided.iter().any(|d| d.action != Action::Allow) {
            self.transform(text, &hits, &decided, context, &mut outside_out)?
        } else {
            (ProtectedPayload::Unchanged, None)
        };
        let (issued_tokens, pending_tokens) = match issued {
            Some(issued) => (issued.tokens, issued.pending),
            None => (Vec::new(), None),
        };

        let audit_id = uuid::Uuid::new_v4().to_string();
        let event = event::protect_event(event::ProtectEventInput {
            id: &audit_id,
            context,
            enforced,
            blocked,
            shape_hash: &shape_hash,
            detections: audit_detections(&decided, enforced),
            summary: summary.clone(),
        });
        let outcome = ProtectOutcome {
            payload,
            blocked,
            enforced,
            summary,
            audit_id,
            issued_tokens,
            outside: outside_out,
        };
        Ok(DeferredOutcome {
            outcome,
            event,
            pending_tokens,
        })
    }

    fn transform(
        &self,
        text: &str,
        hits: &[HitLeaf<'_>],
        decided: &[Decided],
        context: &ProtectContext,
        outside: &mut [Option<String>],
    ) -> Result<(ProtectedPayload, Option<IssuedTokens>), ProtectError> {
        let context_json = context.to_json();
        let mut by_leaf: Vec<Vec<Span>> = (0..hits.len()).map(|_| Vec::new()).collect();
        for (index, detection) in decided.iter().enumerate() {
            by_leaf[detection.leaf].push(Span {
                start: detection.finding.start,
                end: detection.finding.end,
                action: detection.action,
                detection: index,
            });
        }

        // First pass: every replacement except tokens, which wait for the vault batch.
        let mut pieces: Vec<Vec<(Range<usize>, Piece)>> = Vec::with_capacity(hits.len());
        let mut token_requests: Vec<(usize, usize)> = Vec::new(); // (leaf, piece)
        for (leaf_index, spans) in by_leaf.into_iter().enumerate() {
            let leaf = &hits[leaf_index].leaf;
            let mut leaf_pieces = Vec::new();
            for span in merge_overlaps(spans) {
                let detection = &decided[span.detection];
                let segment = &leaf.text[span.start..span.end];
                let piece = match span.action {
                    Action::Redact => {
                        Piece::Text(markers::redaction(&detection.finding.detection_type))
                    }
                    Action::Mask => Piece::Text(mask(segment)),
                    Action::Encrypt => {
                        Piece::Text(self.encrypt(segment, detection, &context_json)?)
                    }
                    Action::Tokenize => {
                        token_requests.push((leaf_index, leaf_pieces.len()));
                        Piece::Token(span.detection)
                    }
                    Action::Allow | Action::Block => continue,
                };
                leaf_pieces.push((span.start..span.end, piece));
            }
            pieces.push(leaf_pieces);
        }
        // All tokens of the payload are issued in one vault batch.
        let issued = if token_requests.is_empty() {
            None
        } else {
            let issued = self.tokenize(&token_requests, &pieces, hits, decided, &context_json)?;
            for (&(leaf_index, piece_index), token) in token_requests.iter().zip(&issued.tokens) {
                pieces[leaf_index][piece_index].1 = Piece::Text(markers::token(token));
            }
            Some(issued)
        };

        // Second pass: rebuild each changed leaf and splice it into the original bytes.
        let mut edits: Vec<(Range<usize>, String)> = Vec::new();
        let mut renamed_keys: HashMap<usize, Vec<(Range<usize>, String)>> = HashMap::new();
        for (hit, leaf_pieces) in hits.iter().zip(pieces) {
            let leaf = &hit.leaf;
            let pieces: Vec<(Range<usize>, String)> = leaf_pieces
                .into_iter()
                .filter_map(|(span, piece)| match piece {
                    Piece::Text(replacement) if replacement != leaf.text[span.clone()] => {
                        Some((span, replacement))
                    }
                    _ => None,
                })
                .collect();
            if pieces.is_empty() {
                continue;
            }
            if let Some(index) = hit.outside {
                if let Some(slot) = outside.get_mut(index) {
                    *slot = Some(rebuild(&leaf.text, pieces));
                }
                continue;
            }
            match (leaf.kind, leaf.object_start, &leaf.text) {
                (LeafKind::Key, Some(object_start), _) => renamed_keys
                    .entry(object_start)
                    .or_default()
                    .push((leaf.span.clone(), rebuild(&leaf.text, pieces))),
                // A string written without escapes: its decoded offsets are raw offsets, so
                // only the replaced spans are edited (a big leaf is never copied or re-escaped).
                (LeafKind::Value, _, Cow::Borrowed(_)) => {
                    let content_start = leaf.span.start + 1;
                    edits.extend(pieces.into_iter().map(|(span, replacement)| {
                        let quoted = json_string(&replacement);
                        let raw = quoted[1..quoted.len() - 1].to_string();
                        (content_start + span.start..content_start + span.end, raw)
                    }));
                }
                _ => edits.push((leaf.span.clone(), json_string(&rebuild(&leaf.text, pieces)))),
            }
        }
        for (object_start, renames) in renamed_keys {
            edits.extend(resolve_key_collisions(text, object_start, renames));
        }

        if edits.is_empty() {
            return Ok((ProtectedPayload::Unchanged, issued));
        }
        Ok((ProtectedPayload::Rewritten(splice(text, edits)), issued))
    }

    fn encrypt(
        &self,
        segment: &str,
        detection: &Decided,
        context: &Value,
    ) -> Result<String, ProtectError> {
        let crypto =
            self.collaborators
                .crypto
                .as_ref()
                .ok_or(ProtectError::MissingCollaborator {
                    action: "encrypt",
                    needed: "crypto provider (keys)",
                })?;
        let aad = json!({
            "context": context,
            "path": &*detection.path,
            "type": &*detection.finding.detection_type,
            "ruleId": &*detection.finding.rule_id,
        });
        Ok(crypto.encrypt(segment, &aad, None)?.to_marker())
    }
}

/// `text` with each span replaced.
fn rebuild(text: &str, pieces: Vec<(Range<usize>, String)>) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut cursor = 0;
    for (span, replacement) in pieces {
        out.push_str(&text[cursor..span.start]);
        out.push_str(&replacement);
        cursor = span.end;
    }
    out.push_str(&text[cursor..]);
    out
}

enum Piece {
    Text(String),
    /// Waiting for the vault batch; holds the detection index.
    Token(usize),
}

/// Rename keys in one object, suffixing `#2`, `#3`… when a new name collides with a sibling.
fn resolve_key_collisions(
    text: &str,
    object_start: usize,
    renames: Vec<(Range<usize>, String)>,
) -> Vec<(Range<usize>, String)> {
    let renamed_spans: HashSet<usize> = renames.iter().map(|(span, _)| span.start).collect();
    let mut taken: HashSet<String> = sibling_keys(text, object_start)
        .into_iter()
        .filter(|(start, _)| !renamed_spans.contains(start))
        .map(|(_, key)| key)
        .collect();
    renames
        .into_iter()
        .map(|(span, wanted)| {
            let mut name = wanted.clone();
            let mut suffix = 2;
            while taken.contains(&name) {
                name = format!("{wanted}#{suffix}");
                suffix += 1;
            }
            taken.insert(name.clone());
            (span, json_string(&name))
        })
        .collect()
}

/// The keys of the object starting at `object_start`, with the byte offset of each key token.
fn sibling_keys(text: &str, object_start: usize) -> Vec<(usize, String)> {
    let slice = &text[object_start..];
    let mut jiter = jiter::Jiter::new(slice.as_bytes());
    let mut keys = Vec::new();
    let mut next = jiter.next_object_bytes();
    while let Ok(Some(raw)) = next {
        let start = raw.as_ptr() as usize - slice.as_ptr() as usize - 1;
        let end = start + raw.len() + 2;
        let key = serde_json::from_str::<String>(&slice[start..end]).unwrap_or_default();
        keys.push((object_start + start, key));
        if jiter.next_skip().is_err() {
            break;
        }
        next = jiter.next_key_bytes();
    }
    keys
}

fn audit_detections(decided: &[Decided], enforced: bool) -> Vec<AuditDetection> {
    decided
        .iter()
        .map(|d| AuditDetection {
            detection_type: d.finding.detection_type.to_string(),
            rule_id: d.finding.rule_id.to_string(),
            path: d.path.to_string(),
            kind: d.kind,
            confidence: d.finding.confidence,
            action: d.action,
            enforced,
        })
        .collect()
}
