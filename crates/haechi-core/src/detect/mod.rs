//! Detection: the built-in rule table and validators, custom rules, Unicode folding,
//! decode-and-rescan and the response-direction injection heuristics.
//!
//! Per leaf, [`Detector::scan`]:
//! 1. NFKC-folds the text (skipped for ASCII and already-normalized text);
//! 2. profiles it in one cheap pass (digits, `@`, `+`, anchor literals) and runs only the
//!    rules whose gate the profile admits;
//! 3. confirms each regex candidate with neighbour checks and a validator;
//! 4. on the response direction, drops hits inside Haechi's own well-formed markers;
//! 5. keeps the leftmost-longest hit where hits overlap (ties go to the earlier rule);
//! 6. with `filters.decodeAndRescan`, decodes a base64/percent leaf and rescans it.
//!
//! Not done here (the pipeline's job): `filters.minConfidence`, `filters.allowlist`, and the
//! reference's skip of bare number leaves on the response direction
//! (`responseProtection.scanNumbers`) — call `scan` only for leaves that should be scanned.

pub mod corpus;
mod custom;
mod decode;
mod engine;
mod markers;
mod normalize;
mod placeholder;
mod prefilter;
pub mod rules;
mod runs;
pub mod validators;

use std::sync::Arc;

use crate::config::FiltersConfig;
use crate::vocab::{Direction, LeafKind};

use engine::Compiled;
use normalize::Folded;
use prefilter::{Prefilter, Profile};
use rules::Scope;

pub use custom::{DEFAULT_CONFIDENCE as CUSTOM_RULE_DEFAULT_CONFIDENCE, MAX_PATTERN_LEN};

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

/// Every built-in detection type.
pub const BUILTIN_TYPES: &[&str] = &[
    "email",
    "phone",
    "kr_rrn",
    "card",
    "api_key",
    "secret",
    "us_ssn",
    "iban",
    "jp_mynumber",
    "fr_nir",
    "es_dni",
    "uk_nino",
    "it_codice_fiscale",
    "sg_nric",
    "in_aadhaar",
    "de_steuer_id",
    "nl_bsn",
    "injection",
];

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

/// The ids of the built-in rules, in attribution order.
pub fn builtin_rule_ids() -> impl Iterator<Item = &'static str> {
    rules::builtin().map(|r| r.id)
}

/// The compiled rule set. Built once per configuration; `scan` is the hot path.
pub struct Detector {
    /// Built-in rules first (rule `i` owns prefilter bit `i`), then custom rules.
    rules: Vec<Compiled>,
    prefilter: Prefilter,
    /// Built-in and custom detection types, for recognising `[REDACTED:<type>]` markers.
    known_types: Vec<Arc<str>>,
    decode_and_rescan: bool,
    /// Test switch: run every rule over the whole leaf, no prefilter, no runs (the reference
    /// the gated engine is checked against).
    #[cfg(test)]
    exhaustive: bool,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("rules", &self.rules.len())
            .field("decode_and_rescan", &self.decode_and_rescan)
            .finish()
    }
}

impl Detector {
    pub fn new(filters: &FiltersConfig) -> Result<Detector, DetectError> {
        let mut rules = Vec::new();
        // A built-in pattern that fails to compile is a table bug caught by the unit tests;
        // at run time such a rule is left out rather than taking the detector down.
        rules.extend(rules::builtin().filter_map(compile_builtin));
        debug_assert!(
            rules.len() <= 64,
            "the prefilter has one bit per built-in rule"
        );
        let prefilter = Prefilter::new(
            rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.gate.as_ref().map(|g| (bit(i), g))),
        );
        for (index, rule) in filters.custom_rules.iter().enumerate() {
            rules.push(custom::compile(index, rule)?);
        }
        let mut known_types: Vec<Arc<str>> = Vec::new();
        for rule in &rules {
            if !known_types.contains(&rule.detection_type) {
                known_types.push(rule.detection_type.clone());
            }
        }
        Ok(Detector {
            rules,
            prefilter,
            known_types,
            decode_and_rescan: filters.decode_and_rescan,
            #[cfg(test)]
            exhaustive: false,
        })
    }

    /// Scan one leaf, appending findings to `out`, sorted by `start`.
    pub fn scan(&self, text: &str, kind: LeafKind, direction: Direction, out: &mut Vec<Finding>) {
        let base = out.len();
        match normalize::fold(text) {
            Folded::Same => self.scan_spans(text.as_bytes(), None, text, direction, out),
            Folded::Stable { text: folded, map } => {
                self.scan_spans(folded.as_bytes(), Some(&map), text, direction, out);
            }
            Folded::Unstable { text: folded } => {
                self.whole_leaf(folded.as_bytes(), direction, false, text.len(), out);
            }
        }
        if self.decode_and_rescan && kind != LeafKind::Number {
            if let Some(decoded) = decode::decode_leaf(text) {
                let decoded = match normalize::fold(&decoded) {
                    Folded::Same => decoded,
                    Folded::Stable { text, .. } | Folded::Unstable { text } => text,
                };
                self.whole_leaf(decoded.as_bytes(), direction, true, text.len(), out);
            }
        }
        out[base..].sort_by_key(|f| f.start);
    }

    /// Exact-span scan of `scan` (the leaf, or its char-for-char fold with `map` back to the
    /// leaf's byte offsets), with marker exclusion and overlap resolution.
    fn scan_spans(
        &self,
        scan: &[u8],
        map: Option<&[usize]>,
        original: &str,
        direction: Direction,
        out: &mut Vec<Finding>,
    ) {
        let base = out.len();
        let profile = self
            .prefilter
            .profile(scan, direction == Direction::Response);
        self.each_hit(
            scan,
            &profile,
            direction,
            |_| true,
            |i, start, end| {
                let rule = &self.rules[i];
                let (start, end) = match map {
                    Some(map) => (map[start], map[end]),
                    None => (start, end),
                };
                out.push(Finding {
                    detection_type: rule.detection_type.clone(),
                    rule_id: rule.id.clone(),
                    start,
                    end,
                    confidence: rule.confidence,
                });
                true
            },
        );
        if out.len() == base {
            return;
        }
        if direction == Direction::Response && original.contains('[') {
            let known = |t: &str| self.known_types.iter().any(|k| &**k == t);
            let detectable = |s: &str| self.has_detection(s, direction);
            let spans = markers::genuine_spans(original, &known, &detectable);
            if !spans.is_empty() {
                retain_from(out, base, |f| {
                    !spans.iter().any(|&(s, e)| f.start < e && f.end > s)
                });
            }
        }
        self.remove_overlaps(out, base);
    }

    /// One whole-leaf finding per detected type (first matching rule wins the attribution).
    fn whole_leaf(
        &self,
        scan: &[u8],
        direction: Direction,
        decoded: bool,
        leaf_len: usize,
        out: &mut Vec<Finding>,
    ) {
        let base = out.len();
        let profile = self
            .prefilter
            .profile(scan, direction == Direction::Response);
        for (i, rule) in self.rules.iter().enumerate() {
            if decoded && !rule.decode_eligible {
                continue;
            }
            if out[base..]
                .iter()
                .any(|f| f.detection_type == rule.detection_type)
            {
                continue;
            }
            let mut found = false;
            self.each_hit(
                scan,
                &profile,
                direction,
                |j| j == i,
                |_, _, _| {
                    found = true;
                    false
                },
            );
            if found {
                out.push(Finding {
                    detection_type: rule.detection_type.clone(),
                    rule_id: rule.id.clone(),
                    start: 0,
                    end: leaf_len,
                    confidence: rule.confidence,
                });
            }
        }
    }

    /// Whether anything at all is detectable in `text` (used to vet marker bodies).
    fn has_detection(&self, text: &str, direction: Direction) -> bool {
        let scan = text.as_bytes();
        let profile = self
            .prefilter
            .profile(scan, direction == Direction::Response);
        let mut found = false;
        self.each_hit(
            scan,
            &profile,
            direction,
            |_| true,
            |_, _, _| {
                found = true;
                false
            },
        );
        found
    }

    /// Runs every rule that `direction`, `select` and the prefilter admit, calling
    /// `hit(rule index, start, end)` per accepted match until it returns false. Whole-leaf
    /// rules run first, then scoped rules run over the alphabet runs that can hold a match.
    fn each_hit(
        &self,
        scan: &[u8],
        profile: &Profile,
        direction: Direction,
        select: impl Fn(usize) -> bool,
        mut hit: impl FnMut(usize, usize, usize) -> bool,
    ) {
        #[cfg(test)]
        if self.exhaustive {
            for (i, rule) in self.rules.iter().enumerate() {
                if rule.runs_in(direction)
                    && select(i)
                    && !rule.for_each_match(scan, 0..scan.len(), |s, e| hit(i, s, e))
                {
                    return;
                }
            }
            return;
        }
        // Rules waiting for runs of each scope (built-ins only: bit i = rule i).
        let mut scoped = [0u64; 3];
        let mut min_digits = [usize::MAX; 3];
        for (i, rule) in self.rules.iter().enumerate() {
            if !rule.runs_in(direction) || !select(i) {
                continue;
            }
            let Some(gate) = &rule.gate else {
                if !rule.for_each_match(scan, 0..scan.len(), |s, e| hit(i, s, e)) {
                    return;
                }
                continue;
            };
            if !profile.admits(gate, bit(i)) {
                continue;
            }
            let slot = match gate.scope {
                Scope::Text => {
                    if !rule.for_each_match(scan, 0..scan.len(), |s, e| hit(i, s, e)) {
                        return;
                    }
                    continue;
                }
                Scope::Numeric => 0,
                Scope::Alnum => 1,
                Scope::AlnumSpaced => 2,
            };
            scoped[slot] |= bit(i);
            min_digits[slot] = min_digits[slot].min(usize::from(gate.min_digits));
        }
        for (slot, scope) in [Scope::Numeric, Scope::Alnum, Scope::AlnumSpaced]
            .into_iter()
            .enumerate()
        {
            let mask = scoped[slot];
            if mask == 0 {
                continue;
            }
            let mut go_on = true;
            runs::for_each_run(scan, scope, min_digits[slot], |run| {
                // One byte past the run (a non-alphabet byte) is in view for `\b`.
                let window = run.start..(run.end + 1).min(scan.len());
                for i in BitIter(mask) {
                    let rule = &self.rules[i];
                    let admitted = run.end - run.start >= rule.min_len
                        && rule.gate.as_ref().is_some_and(|g| run.admits(g));
                    if admitted && !rule.for_each_match(scan, window.clone(), |s, e| hit(i, s, e)) {
                        go_on = false;
                        return false;
                    }
                }
                true
            });
            if !go_on {
                return;
            }
        }
    }

    /// Keep leftmost hits; among hits at the same start the longest; on an exact tie the
    /// earlier rule in the table.
    fn remove_overlaps(&self, out: &mut Vec<Finding>, base: usize) {
        let rank = |f: &Finding| {
            self.rules
                .iter()
                .position(|r| Arc::ptr_eq(&r.id, &f.rule_id))
                .unwrap_or(usize::MAX)
        };
        out[base..].sort_by(|a, b| {
            a.start
                .cmp(&b.start)
                .then((b.end - b.start).cmp(&(a.end - a.start)))
                .then_with(|| rank(a).cmp(&rank(b)))
        });
        let mut last_end = 0;
        retain_from(out, base, |f| {
            if f.start < last_end {
                return false;
            }
            last_end = f.end;
            true
        });
    }
}

/// The indices of the set bits of a mask, low to high.
struct BitIter(u64);

impl Iterator for BitIter {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.0 == 0 {
            return None;
        }
        let i = self.0.trailing_zeros() as usize;
        self.0 &= self.0 - 1;
        Some(i)
    }
}

fn bit(i: usize) -> u64 {
    1u64.checked_shl(i as u32).unwrap_or(0)
}

fn compile_builtin(rule: &'static rules::Rule) -> Option<Compiled> {
    let regex = builtin_regex(rule.pattern).ok()?;
    let validated = !matches!(rule.check, rules::Check::None);
    Some(Compiled {
        id: Arc::from(rule.id),
        detection_type: Arc::from(rule.detection_type),
        confidence: rule.confidence,
        regex,
        direction: rule.direction,
        before: rule.before,
        after: rule.after,
        check: rule.check,
        emit: rule.emit,
        gate: Some(rule.gate),
        decode_eligible: rule.hard_block || (validated && rule.detection_type != "phone"),
        snap_to_chars: false,
        min_len: min_match_len(rule.pattern),
    })
}

/// The shortest match a built-in pattern can produce.
fn min_match_len(pattern: &str) -> usize {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()
        .and_then(|hir| hir.properties().minimum_len())
        .unwrap_or(0)
}

/// Built-in patterns run over bytes with Unicode off: `\d`, `\w`, `\b`, `\s` are ASCII.
pub(crate) fn builtin_regex(pattern: &str) -> Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .build()
}

/// `Vec::retain` over `out[base..]` only, keeping order.
fn retain_from(out: &mut Vec<Finding>, base: usize, mut keep: impl FnMut(&Finding) -> bool) {
    let mut write = base;
    for read in base..out.len() {
        if keep(&out[read]) {
            out.swap(write, read);
            write += 1;
        }
    }
    out.truncate(write);
}

#[cfg(test)]
mod tests;
