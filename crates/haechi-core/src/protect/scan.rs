//! Detection over the walked leaves: each leaf (or value outside the body) is scanned, passed
//! through the precision controls and decided by the policy; what the transform needs is kept.

use std::sync::Arc;

use super::precision::Removal;
use super::walk::{Leaf, LeafVisitor, PathHashes, Segment};
use super::{ProtectError, Protector};
use crate::audit::ProtectSummary;
use crate::detect::Finding;
use crate::policy::CompiledPolicy;
use crate::vocab::{Action, Direction, LeafKind};

/// One detection after precision controls and the policy decision.
#[derive(Debug, Clone)]
pub(super) struct Decided {
    pub(super) finding: Finding,
    pub(super) kind: LeafKind,
    pub(super) path: Arc<str>,
    pub(super) action: Action,
    pub(super) leaf: usize,
}

/// A leaf that has at least one decided detection.
pub(super) struct HitLeaf<'a> {
    pub(super) leaf: Leaf<'a>,
    /// Set for a value outside the body: its index in the caller's list.
    pub(super) outside: Option<usize>,
}

/// The walk visitor: detects in each leaf, applies precision controls and the policy.
pub(super) struct Scan<'p, 'a> {
    pub(super) protector: &'p Protector,
    pub(super) policy: &'p CompiledPolicy,
    pub(super) direction: Direction,
    pub(super) findings: Vec<Finding>,
    pub(super) hits: Vec<HitLeaf<'a>>,
    pub(super) decided: Vec<Decided>,
    pub(super) summary: ProtectSummary,
    pub(super) paths: PathHashes,
}

impl<'a> LeafVisitor<'a> for Scan<'_, 'a> {
    fn leaf(&mut self, path: &[Segment<'a>], leaf: Leaf<'a>) -> Result<(), ProtectError> {
        // Response numbers are inference metadata (durations, counts): scanned only on request.
        if leaf.kind == LeafKind::Number
            && self.direction == Direction::Response
            && !self.protector.scan_response_numbers
        {
            return Ok(());
        }
        self.judge(leaf, None, |paths| Arc::from(paths.text(path)))
    }
}

impl<'a> Scan<'_, 'a> {
    /// Detect in one leaf, apply precision controls and the policy. The path is only rendered
    /// for a leaf with findings.
    pub(super) fn judge(
        &mut self,
        leaf: Leaf<'a>,
        outside: Option<usize>,
        path: impl FnOnce(&mut PathHashes) -> Arc<str>,
    ) -> Result<(), ProtectError> {
        self.findings.clear();
        self.protector
            .detector
            .scan(&leaf.text, leaf.kind, self.direction, &mut self.findings);
        if self.findings.is_empty() {
            return Ok(());
        }
        let path = path(&mut self.paths);
        let leaf_index = self.hits.len();
        let mut kept = 0;
        for finding in self.findings.drain(..) {
            let value = leaf.text.get(finding.start..finding.end).unwrap_or("");
            if let Some(removal) = self.protector.precision.judge(
                &finding.detection_type,
                value,
                &path,
                finding.confidence,
            ) {
                match removal {
                    Removal::Suppressed => self.summary.count_suppressed(&finding.detection_type),
                    Removal::Dropped => self.summary.count_dropped(&finding.detection_type),
                }
                continue;
            }
            let action = self.policy.decide(&finding.detection_type);
            self.summary.count(&finding.detection_type, action);
            self.decided.push(Decided {
                finding,
                kind: leaf.kind,
                path: Arc::clone(&path),
                action,
                leaf: leaf_index,
            });
            kept += 1;
        }
        if kept > 0 {
            self.hits.push(HitLeaf { leaf, outside });
        }
        Ok(())
    }
}
