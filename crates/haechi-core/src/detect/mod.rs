//! Detection: the built-in rule table and validators, custom rules, Unicode folding,
//! decode-and-rescan and the response-direction injection heuristics.
//!
//! INTERFACE STUB — the real engine replaces the bodies; the signatures are the contract
//! the protect pipeline is written against.

use std::sync::Arc;

use crate::config::FiltersConfig;
use crate::vocab::{Direction, LeafKind};

/// One detection inside one leaf. `start..end` are byte offsets into the scanned text, on
/// char boundaries; a whole-leaf detection (a fold that changed length, a decoded hit) is
/// `0..text.len()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub detection_type: Arc<str>,
    pub rule_id: Arc<str>,
    pub start: usize,
    pub end: usize,
    pub confidence: f64,
}

/// A load-time problem with `filters.customRules`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DetectError {
    #[error("filters.customRules[{index}] ({id}): {reason}")]
    InvalidCustomRule {
        index: usize,
        id: String,
        reason: String,
    },
}

/// The compiled rule set. Built once per configuration; `scan` is the hot path.
#[derive(Debug)]
pub struct Detector {}

impl Detector {
    pub fn new(filters: &FiltersConfig) -> Result<Detector, DetectError> {
        let _ = filters;
        Ok(Detector {})
    }

    /// Scan one leaf, appending findings to `out`, sorted by `start`.
    pub fn scan(&self, text: &str, kind: LeafKind, direction: Direction, out: &mut Vec<Finding>) {
        let _ = (text, kind, direction, out);
    }
}

/// Hard-block types are never suppressed by `filters.allowlist` or `filters.minConfidence`.
pub fn is_hard_block(detection_type: &str) -> bool {
    matches!(
        detection_type,
        "secret"
            | "api_key"
            | "kr_rrn"
            | "card"
            | "fr_nir"
            | "es_dni"
            | "it_codice_fiscale"
            | "sg_nric"
    )
}
