//! Precision controls: `filters.allowlist` and `filters.minConfidence`, applied after detection
//! and before the policy decides. Neither can ever remove a hard-block type; every removal is
//! counted (by type, never by value) for the audit summary.

use std::collections::HashSet;

use crate::config::{AllowlistEntry, FiltersConfig};
use crate::detect::is_hard_block;

#[derive(Debug, Clone, Default)]
pub struct PrecisionControls {
    min_confidence: f64,
    values: HashSet<String>,
    paths: HashSet<String>,
    pairs: HashSet<(String, String)>,
}

/// Why a detection did not reach the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Suppressed,
    Dropped,
}

impl PrecisionControls {
    pub fn new(filters: &FiltersConfig) -> Self {
        let mut controls = PrecisionControls {
            min_confidence: filters.min_confidence,
            ..PrecisionControls::default()
        };
        for entry in &filters.allowlist {
            match entry {
                AllowlistEntry::Value(value) => {
                    controls.values.insert(value.clone());
                }
                AllowlistEntry::Match {
                    value: Some(value),
                    path: Some(path),
                } => {
                    controls.pairs.insert((value.clone(), path.clone()));
                }
                AllowlistEntry::Match {
                    value: Some(value),
                    path: None,
                } => {
                    controls.values.insert(value.clone());
                }
                AllowlistEntry::Match {
                    value: None,
                    path: Some(path),
                } => {
                    controls.paths.insert(path.clone());
                }
                AllowlistEntry::Match {
                    value: None,
                    path: None,
                } => {}
            }
        }
        controls
    }

    /// Decide whether a detection is removed before the policy sees it.
    pub fn judge(
        &self,
        detection_type: &str,
        value: &str,
        path: &str,
        confidence: f64,
    ) -> Option<Removal> {
        if is_hard_block(detection_type) {
            return None;
        }
        let allowlisted = self.values.contains(value)
            || self.paths.contains(path)
            || (!self.pairs.is_empty()
                && self.pairs.contains(&(value.to_string(), path.to_string())));
        if allowlisted {
            return Some(Removal::Suppressed);
        }
        if confidence < self.min_confidence {
            return Some(Removal::Dropped);
        }
        None
    }
}
