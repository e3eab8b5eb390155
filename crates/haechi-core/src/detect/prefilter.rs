//! The per-leaf prefilter: one cheap pass that gathers the facts rules are gated on (digit
//! count and longest digit run, `@`, `+`, and which anchor literals occur), so a leaf with
//! nothing interesting costs a few vectorised scans and no regex runs at all.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::rules::Gate;

/// Facts about one leaf.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Profile {
    pub digits: usize,
    pub max_digit_run: usize,
    pub has_at: bool,
    pub has_plus: bool,
    /// Bit `i` set: built-in rule `i` has one of its anchors in the leaf.
    pub anchored: u64,
}

impl Profile {
    /// Whether a rule with this gate (and anchor bit) may match.
    pub fn admits(&self, gate: &Gate, bit: u64) -> bool {
        self.digits >= usize::from(gate.min_digits)
            && self.max_digit_run >= usize::from(gate.min_digit_run)
            && (!gate.needs_at || self.has_at)
            && (!gate.needs_plus || self.has_plus)
            && (gate.anchors.is_empty() || self.anchored & bit != 0)
    }
}

/// One automaton per case mode over every built-in anchor; each pattern maps to the set of
/// rules it unlocks.
pub(crate) struct Prefilter {
    exact: Option<(AhoCorasick, Vec<u64>)>,
    folded: Option<(AhoCorasick, Vec<u64>)>,
}

impl Prefilter {
    /// `rules` yields `(rule bit, gate)` for each built-in rule.
    pub fn new<'a>(rules: impl Iterator<Item = (u64, &'a Gate)>) -> Prefilter {
        let mut exact: Vec<(&'static str, u64)> = Vec::new();
        let mut folded: Vec<(&'static str, u64)> = Vec::new();
        for (bit, gate) in rules {
            let list = if gate.anchors_fold_case {
                &mut folded
            } else {
                &mut exact
            };
            for &anchor in gate.anchors {
                let same = |a: &&str| {
                    if gate.anchors_fold_case {
                        a.eq_ignore_ascii_case(anchor)
                    } else {
                        *a == anchor
                    }
                };
                match list.iter_mut().find(|(a, _)| same(a)) {
                    Some((_, mask)) => *mask |= bit,
                    None => list.push((anchor, bit)),
                }
            }
        }
        Prefilter {
            exact: build(&exact, false),
            folded: build(&folded, true),
        }
    }

    pub fn profile(&self, text: &[u8]) -> Profile {
        let digits = count_digits(text);
        Profile {
            digits,
            max_digit_run: if digits > 1 {
                longest_digit_run(text)
            } else {
                digits
            },
            has_at: memchr::memchr(b'@', text).is_some(),
            has_plus: memchr::memchr(b'+', text).is_some(),
            anchored: anchored(&self.exact, text) | anchored(&self.folded, text),
        }
    }
}

fn build(anchors: &[(&'static str, u64)], fold_case: bool) -> Option<(AhoCorasick, Vec<u64>)> {
    if anchors.is_empty() {
        return None;
    }
    let automaton = AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .ascii_case_insensitive(fold_case)
        .build(anchors.iter().map(|(a, _)| a))
        .ok()?;
    Some((automaton, anchors.iter().map(|&(_, m)| m).collect()))
}

fn anchored(automaton: &Option<(AhoCorasick, Vec<u64>)>, text: &[u8]) -> u64 {
    let Some((ac, masks)) = automaton else {
        return 0;
    };
    let mut bits = 0;
    for m in ac.find_overlapping_iter(text) {
        bits |= masks[m.pattern().as_usize()];
    }
    bits
}

/// Counted in fixed chunks so the loop vectorises.
fn count_digits(text: &[u8]) -> usize {
    let mut total = 0;
    for chunk in text.chunks(255) {
        let n: u8 = chunk
            .iter()
            .fold(0u8, |acc, &b| acc + u8::from(b.wrapping_sub(b'0') < 10));
        total += usize::from(n);
    }
    total
}

fn longest_digit_run(text: &[u8]) -> usize {
    let (mut best, mut run) = (0, 0);
    for &b in text {
        if b.is_ascii_digit() {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_facts() {
        let gates = [Gate::anchors(&["AKIA"]), Gate::anchors_any_case(&["token"])];
        let pf = Prefilter::new(gates.iter().enumerate().map(|(i, g)| (1u64 << i, g)));
        let p = pf.profile(b"call +82 10-1234-5678, mail a@b.co, TOKEN=x AKIA");
        assert_eq!(p.digits, 12);
        assert_eq!(p.max_digit_run, 4);
        assert!(p.has_at && p.has_plus);
        assert_eq!(p.anchored, 0b11);
        let q = pf.profile(b"akia Token");
        assert_eq!(q.anchored, 0b10, "exact anchors are case-sensitive");
        assert_eq!(count_digits(&[b'7'; 1000]), 1000);
    }
}
