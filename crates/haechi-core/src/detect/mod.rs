//! Detection: the built-in rule table and validators, custom rules, Unicode folding,
//! decode-and-rescan and the response-direction injection heuristics.
//!
//! Per leaf, [`Detector::scan`]:
//! 1. NFKC-folds the text (skipped for ASCII and already-normalized text);
//! 2. gathers cheap facts in one pass (digit count, `@`, `+`, `:`/`=`, separators, a letter
//!    next to a digit), turns them into the set of built-in rules whose gates they meet, and
//!    looks for anchor literals only for the rules still in that set (see `prefilter`);
//! 3. runs the rules left — an anchored rule only between its first and last anchor, a
//!    case-blind keyword rule over a lower-cased copy (see `lowered`), a scoped rule only
//!    over the alphabet runs that can hold a match — and confirms each regex candidate with
//!    neighbour checks and a validator;
//! 4. on the response direction, drops hits inside Haechi's own well-formed markers;
//! 5. keeps the leftmost-longest hit where hits overlap (ties go to the earlier rule);
//! 6. with `filters.decodeAndRescan`, decodes a base64/percent leaf and rescans it.
//!
//! Not done here (the pipeline's job): `filters.minConfidence`, `filters.allowlist`, and the
//! reference's skip of bare number leaves on the response direction
//! (`responseProtection.scanNumbers`) — call `scan` only for leaves that should be scanned.

mod clean_leaves;
mod context;
pub mod corpus;
mod custom;
mod decode;
mod engine;
mod lowered;
mod markers;
mod normalize;
mod placeholder;
mod prefilter;
mod prefixes;
pub mod rules;
mod ruleset;
mod runs;
mod secret_span;
pub mod validators;

use std::sync::Arc;

use crate::config::FiltersConfig;
use crate::vocab::{Direction, LeafKind};

use engine::Compiled;
use normalize::Folded;
use prefilter::{Admission, Prefilter};
use prefixes::Prefixes;
use rules::Scope;
use ruleset::RuleSet;
use runs::RunMasks;

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

/// The compiled rule set. Built once per configuration; `scan` is the hot path.
pub struct Detector {
    /// Built-in rules first (rule `i` is member `i` of a [`RuleSet`]), then custom rules.
    rules: Vec<Compiled>,
    /// How many of `rules` are built-in (and gated).
    builtins: usize,
    /// Built-in rules per scope (`scope_slot`).
    by_scope: [RuleSet; 5],
    /// Scoped rules by a run's counts.
    run_masks: RunMasks,
    /// Token-scoped rules by the prefixes a run holds.
    prefixes: Prefixes,
    /// Built-in rules that need no digit.
    digitless: RuleSet,
    /// Per scope (`scope_slot`), the shortest match of its rules: a shorter run holds none.
    shortest_in_scope: [usize; 5],
    prefilter: Prefilter,
    /// Built-in and custom detection types, for recognising `[REDACTED:<type>]` markers.
    known_types: Vec<Arc<str>>,
    decode_and_rescan: bool,
    /// Short texts this detector found clean, per thread.
    clean_leaves: clean_leaves::CleanLeaves,
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

/// One accepted match before it becomes a [`Finding`]: overlap resolution works on these, so
/// a hit that loses costs no reference-count traffic.
#[derive(Clone, Copy)]
struct Hit {
    rule: usize,
    start: usize,
    end: usize,
}

/// The scopes whose rules run over alphabet runs, with their `scope_slot`.
const RUN_SCOPES: [Scope; 4] = [
    Scope::Numeric,
    Scope::Alnum,
    Scope::UpperSpaced,
    Scope::Token,
];

fn scope_slot(scope: Scope) -> usize {
    match scope {
        Scope::Text => 0,
        Scope::Numeric => 1,
        Scope::Alnum => 2,
        Scope::UpperSpaced => 3,
        Scope::Token => 4,
    }
}

impl Detector {
    pub fn new(filters: &FiltersConfig) -> Result<Detector, DetectError> {
        let mut rules = Vec::new();
        // A built-in pattern that fails to compile is a table bug caught by the unit tests;
        // at run time such a rule is left out rather than taking the detector down.
        rules.extend(rules::builtin().filter_map(compile_builtin));
        debug_assert!(
            rules.len() <= RuleSet::CAPACITY,
            "every built-in rule needs a place in a RuleSet"
        );
        let builtins = rules.len();
        let mut by_scope = [RuleSet::EMPTY; 5];
        let mut digitless = RuleSet::EMPTY;
        let mut shortest_in_scope = [usize::MAX; 5];
        for (i, rule) in rules.iter().enumerate() {
            let Some(gate) = &rule.gate else { continue };
            let slot = scope_slot(gate.scope);
            by_scope[slot] |= RuleSet::one(i);
            shortest_in_scope[slot] = shortest_in_scope[slot].min(rule.min_len);
            if gate.min_digits == 0 {
                digitless |= RuleSet::one(i);
            }
        }
        let run_masks = RunMasks::new(
            rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.gate.as_ref().map(|g| (RuleSet::one(i), g, r.min_len))),
        );
        let prefixes = Prefixes::new(
            rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.gate.as_ref().map(|g| (RuleSet::one(i), g))),
        );
        let prefilter = Prefilter::new(
            rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.gate.as_ref().map(|g| (RuleSet::one(i), g, r.direction))),
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
            builtins,
            by_scope,
            run_masks,
            prefixes,
            digitless,
            shortest_in_scope,
            prefilter,
            known_types,
            decode_and_rescan: filters.decode_and_rescan,
            clean_leaves: clean_leaves::CleanLeaves::default(),
            #[cfg(test)]
            exhaustive: false,
        })
    }

    /// Scan one leaf, appending findings to `out`, sorted by `start`.
    pub fn scan(&self, text: &str, kind: LeafKind, direction: Direction, out: &mut Vec<Finding>) {
        let numeric = kind == LeafKind::Number;
        let short = text.len() <= clean_leaves::MAX_LEN;
        if short && self.clean_leaves.contains(text, direction, numeric) {
            return;
        }
        let base = out.len();
        self.scan_uncached(text, numeric, direction, out);
        if short && out.len() == base {
            self.clean_leaves.insert(text, direction, numeric);
        }
    }

    fn scan_uncached(
        &self,
        text: &str,
        numeric: bool,
        direction: Direction,
        out: &mut Vec<Finding>,
    ) {
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
        if self.decode_and_rescan && !numeric {
            if let Some(decoded) = decode::decode_leaf(text) {
                let decoded = match normalize::fold(&decoded) {
                    Folded::Same => decoded,
                    Folded::Stable { text, .. } | Folded::Unstable { text } => text,
                };
                self.whole_leaf(decoded.as_bytes(), direction, true, text.len(), out);
            }
        }
        if out.len() - base > 1 {
            out[base..].sort_by_key(|f| f.start);
        }
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
        let admission = self.prefilter.admit(scan, direction);
        let mut hits = Vec::new();
        self.each_hit(scan, &admission, direction, None, |rule, start, end| {
            let (start, end) = match map {
                Some(map) => (map[start], map[end]),
                None => (start, end),
            };
            hits.push(Hit { rule, start, end });
            true
        });
        if hits.is_empty() {
            return;
        }
        if direction == Direction::Response && original.contains('[') {
            let known = |t: &str| self.known_types.iter().any(|k| &**k == t);
            let detectable = |s: &str| self.has_detection(s, direction);
            let spans = markers::genuine_spans(original, &known, &detectable);
            hits.retain(|h| !spans.iter().any(|&(s, e)| h.start < e && h.end > s));
        }
        // Keep leftmost hits; among hits at the same start the longest; on an exact tie the
        // earlier rule in the table.
        hits.sort_unstable_by(|a, b| {
            a.start
                .cmp(&b.start)
                .then((b.end - b.start).cmp(&(a.end - a.start)))
                .then(a.rule.cmp(&b.rule))
        });
        let mut last_end = 0;
        for h in hits {
            if h.start < last_end {
                continue;
            }
            last_end = h.end;
            out.push(self.finding(h.rule, h.start, h.end));
        }
    }

    fn finding(&self, rule: usize, start: usize, end: usize) -> Finding {
        let rule = &self.rules[rule];
        Finding {
            detection_type: rule.detection_type.clone(),
            rule_id: rule.id.clone(),
            start,
            end,
            confidence: rule.confidence,
        }
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
        let admission = self.prefilter.admit(scan, direction);
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
            self.each_hit(scan, &admission, direction, Some(i), |_, _, _| {
                found = true;
                false
            });
            if found {
                out.push(self.finding(i, 0, leaf_len));
            }
        }
    }

    /// Whether anything at all is detectable in `text` (used to vet marker bodies).
    fn has_detection(&self, text: &str, direction: Direction) -> bool {
        let scan = text.as_bytes();
        let admission = self.prefilter.admit(scan, direction);
        let mut found = false;
        self.each_hit(scan, &admission, direction, None, |_, _, _| {
            found = true;
            false
        });
        found
    }

    /// Runs every rule that `direction` and `only` (one rule, or all) select and the
    /// prefilter admitted, calling `hit(rule index, start, end)` per accepted match until it
    /// returns false. Whole-leaf rules run first (an anchored one only between its first and
    /// last possible start), then scoped rules run over the alphabet runs that can hold a
    /// match.
    fn each_hit(
        &self,
        scan: &[u8],
        admission: &Admission,
        direction: Direction,
        only: Option<usize>,
        mut hit: impl FnMut(usize, usize, usize) -> bool,
    ) {
        let selected = |i: usize| only.is_none_or(|o| o == i);
        #[cfg(test)]
        if self.exhaustive {
            for (i, rule) in self.rules.iter().enumerate() {
                if rule.runs_in(direction)
                    && selected(i)
                    && !rule
                        .for_each_match(scan, None, 0..scan.len(), usize::MAX, |s, e| hit(i, s, e))
                {
                    return;
                }
            }
            return;
        }
        let admitted = only.map_or(admission.rules, |i| admission.rules & RuleSet::one(i));
        // The common case: nothing admitted and no custom rule to run.
        if admitted.is_empty() && self.builtins == self.rules.len() {
            return;
        }
        let whole = (admitted & self.by_scope[scope_slot(Scope::Text)])
            .iter()
            .chain((self.builtins..self.rules.len()).filter(|&i| selected(i)));
        // Made on first need, for rules with a lower-case twin.
        let mut lowered: Option<Vec<u8>> = None;
        for i in whole {
            let rule = &self.rules[i];
            if !rule.runs_in(direction) {
                continue;
            }
            let (first, last) = rule
                .gate
                .as_ref()
                .map_or((0, usize::MAX), |g| admission.starts(g));
            let window = first.min(scan.len())..scan.len();
            let lower = rule
                .lowered
                .as_ref()
                .map(|_| &**lowered.get_or_insert_with(|| scan.to_ascii_lowercase()));
            if !rule.for_each_match(scan, lower, window, last, |s, e| hit(i, s, e)) {
                return;
            }
        }
        for scope in RUN_SCOPES {
            let mask = admitted & self.by_scope[scope_slot(scope)];
            let min_len = self.shortest_in_scope[scope_slot(scope)];
            // A leaf shorter than every match of the scope's rules holds none.
            if mask.is_empty() || scan.len() < min_len {
                continue;
            }
            // Token rules are too many to look at one by one: which kinds of run they need is
            // enough (runs holding digits, and for digitless formats runs without).
            let (min_digits, digitless_runs) = if scope == Scope::Token {
                let digitful = !(mask & !self.digitless).is_empty();
                (digitful.then_some(1), !(mask & self.digitless).is_empty())
            } else {
                let min = mask
                    .iter()
                    .filter_map(|i| self.rules[i].gate.as_ref())
                    .map(|g| usize::from(g.min_digits))
                    .min()
                    .unwrap_or(0);
                (Some(min), false)
            };
            let mut visit = |run: runs::Run| {
                // One byte past the run (a non-alphabet byte) is in view for `\b`.
                let window = run.start..(run.end + 1).min(scan.len());
                let mut here = mask & self.run_masks.admit(&run);
                if scope == Scope::Token && !here.is_empty() {
                    here &= self.prefixes.in_run(scan, &run);
                }
                for i in here.iter() {
                    let rule = &self.rules[i];
                    let admitted = rule.gate.as_ref().is_some_and(|g| run.admits(g, scan));
                    if admitted
                        && !rule.for_each_match(scan, None, window.clone(), usize::MAX, |s, e| {
                            hit(i, s, e)
                        })
                    {
                        return false;
                    }
                }
                true
            };
            let finished = min_digits
                .is_none_or(|d| runs::for_each_run(scan, scope, d, min_len, &mut visit))
                && (!digitless_runs
                    || runs::for_each_digitless_token_run(scan, min_len, &mut visit));
            if !finished {
                return;
            }
        }
    }
}

fn compile_builtin(rule: &'static rules::Rule) -> Option<Compiled> {
    let regex = builtin_regex(rule.pattern).ok()?;
    let validated = !matches!(rule.check, rules::Check::None);
    Some(Compiled {
        id: Arc::from(rule.id),
        detection_type: Arc::from(rule.detection_type),
        confidence: rule.confidence,
        regex,
        // Case-blind keyword rules (those with case-blind anchors) search a lower-cased copy.
        lowered: if rule.gate.anchors_fold_case {
            lowered::lower_case_twin(rule.pattern)
        } else {
            None
        },
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

#[cfg(test)]
mod tests;
