//! The per-leaf prefilter: cheap passes that gather the facts rules are gated on (digit count,
//! `@`, `+`, `:`/`=`, and which anchor literals occur), so a leaf with nothing interesting
//! costs a few vectorised scans and no regex runs at all.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input, MatchKind};

use super::rules::Gate;

/// Facts about one leaf.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Profile {
    pub digits: usize,
    pub has_at: bool,
    pub has_plus: bool,
    /// A `:` or `=` (every `key = value` assignment has one).
    pub has_assign: bool,
    /// Which of ` `, `-`, `.` occur (bits 0..3, as `runs::mark`), for scoped rules' needs.
    pub marks: u8,
    /// Bit `i` set: built-in rule `i` has one of its anchors in the leaf.
    pub anchored: u64,
}

impl Profile {
    /// Whether a rule with this gate (and anchor bit) may match somewhere in the leaf (a
    /// scoped rule is then checked run by run).
    pub fn admits(&self, gate: &Gate, bit: u64) -> bool {
        self.digits >= usize::from(gate.min_digits)
            && (!gate.needs_at || self.has_at)
            && (!gate.needs_plus || self.has_plus)
            && (!gate.needs_assign || self.has_assign)
            && (gate.run_needs_any.is_empty()
                || gate
                    .run_needs_any
                    .iter()
                    .any(|&b| self.marks & crate::detect::runs::mark(b) != 0))
            && (gate.anchors.is_empty() || self.anchored & bit != 0)
    }
}

/// One literal automaton per case mode over every built-in anchor; each pattern maps to the
/// set of rules it unlocks. Both run leftmost-first so the SIMD (Teddy) searcher is used;
/// overlapping occurrences are found by restarting one byte after each hit, and an anchor
/// hidden by a longer one at the same position is credited through the longer one's mask.
pub(crate) struct Prefilter {
    exact: Option<Anchors>,
    /// Case-insensitive anchors, stored lower-case and searched in lower-cased chunks.
    folded: Option<Anchors>,
}

struct Anchors {
    automaton: AhoCorasick,
    masks: Vec<u64>,
    longest: usize,
}

/// Chunk size for the lower-cased copy (on the stack: no allocation per leaf).
const FOLD_CHUNK: usize = 4096;

impl Prefilter {
    /// `rules` yields `(rule bit, gate)` for each built-in rule.
    pub fn new<'a>(rules: impl Iterator<Item = (u64, &'a Gate)>) -> Prefilter {
        let mut exact: Vec<(String, u64)> = Vec::new();
        let mut folded: Vec<(String, u64)> = Vec::new();
        for (bit, gate) in rules {
            let list = if gate.anchors_fold_case {
                &mut folded
            } else {
                &mut exact
            };
            for &anchor in gate.anchors {
                let anchor = if gate.anchors_fold_case {
                    anchor.to_ascii_lowercase()
                } else {
                    anchor.to_owned()
                };
                match list.iter_mut().find(|(a, _)| *a == anchor) {
                    Some((_, mask)) => *mask |= bit,
                    None => list.push((anchor, bit)),
                }
            }
        }
        Prefilter {
            exact: Anchors::build(exact),
            folded: Anchors::build(folded),
        }
    }

    /// Profile `text`. Case-insensitive anchors are looked up only when `want_folded` (their
    /// rules can run: a response, or a leaf with an assignment separator).
    pub fn profile(&self, text: &[u8], responses: bool) -> Profile {
        let digits = count_digits(text);
        let marks = if digits == 0 {
            0
        } else {
            [b' ', b'-', b'.']
                .iter()
                .filter(|&&b| memchr::memchr(b, text).is_some())
                .fold(0, |m, &b| m | crate::detect::runs::mark(b))
                | if memchr::memchr(b'+', text).is_some() {
                    crate::detect::runs::mark(b'+')
                } else {
                    0
                }
        };
        let has_assign = memchr::memchr2(b':', b'=', text).is_some();
        let mut anchored = self.exact.as_ref().map_or(0, |a| a.scan(text));
        if responses || has_assign {
            anchored |= self.folded.as_ref().map_or(0, |a| a.scan_folded(text));
        }
        Profile {
            digits,
            has_at: memchr::memchr(b'@', text).is_some(),
            has_plus: memchr::memchr(b'+', text).is_some(),
            has_assign,
            marks,
            anchored,
        }
    }
}

impl Anchors {
    fn build(mut anchors: Vec<(String, u64)>) -> Option<Anchors> {
        if anchors.is_empty() {
            return None;
        }
        // Longest first, so at one position the longest anchor is reported; it also credits
        // every anchor it contains.
        anchors.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        let masks: Vec<u64> = anchors
            .iter()
            .map(|(a, _)| {
                anchors
                    .iter()
                    .filter(|(inner, _)| a.contains(inner.as_str()))
                    .fold(0, |m, (_, bit)| m | bit)
            })
            .collect();
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(anchors.iter().map(|(a, _)| a))
            .ok()?;
        let longest = anchors.iter().map(|(a, _)| a.len()).max().unwrap_or(0);
        Some(Anchors {
            automaton,
            masks,
            longest,
        })
    }

    fn scan(&self, text: &[u8]) -> u64 {
        let mut bits = 0;
        let mut at = 0;
        while at < text.len() {
            let Some(m) = self.automaton.find(Input::new(text).span(at..text.len())) else {
                break;
            };
            bits |= self.masks[m.pattern().as_usize()];
            at = m.start() + 1;
        }
        bits
    }

    /// `scan` over a lower-cased copy, chunk by chunk; chunks overlap by `longest - 1` bytes
    /// so no occurrence straddles a boundary unseen.
    fn scan_folded(&self, text: &[u8]) -> u64 {
        let mut buf = [0u8; FOLD_CHUNK];
        let step = FOLD_CHUNK - self.longest.saturating_sub(1).min(FOLD_CHUNK - 1);
        let mut bits = 0;
        let mut start = 0;
        loop {
            let end = (start + FOLD_CHUNK).min(text.len());
            let chunk = &mut buf[..end - start];
            chunk.copy_from_slice(&text[start..end]);
            chunk.make_ascii_lowercase();
            bits |= self.scan(chunk);
            if end == text.len() {
                return bits;
            }
            start += step;
        }
    }
}

/// Counted per 64-byte block with a byte accumulator so the loop vectorises.
fn count_digits(text: &[u8]) -> usize {
    let mut blocks = text.chunks_exact(64);
    let mut total = 0;
    for block in &mut blocks {
        let n = block
            .iter()
            .fold(0u8, |acc, &b| acc + u8::from(b.wrapping_sub(b'0') < 10));
        total += usize::from(n);
    }
    total
        + blocks
            .remainder()
            .iter()
            .filter(|b| b.is_ascii_digit())
            .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_facts() {
        let gates = [Gate::anchors(&["AKIA"]), Gate::anchors_any_case(&["token"])];
        let pf = Prefilter::new(gates.iter().enumerate().map(|(i, g)| (1u64 << i, g)));
        let p = pf.profile(b"call +82 10-1234-5678, mail a@b.co, TOKEN=x AKIA", false);
        assert_eq!(p.digits, 12);
        assert!(p.has_at && p.has_plus);
        assert_eq!(p.anchored, 0b11);
        let q = pf.profile(b"akia Token", true);
        assert_eq!(q.anchored, 0b10, "exact anchors are case-sensitive");
        let r = pf.profile(b"akia Token", false);
        assert_eq!(
            r.anchored, 0,
            "folded anchors only matter on responses or with : or ="
        );
        assert_eq!(count_digits(&[b'7'; 1000]), 1000);
    }

    #[test]
    fn overlapping_and_nested_anchors_are_all_credited() {
        let gates = [
            Gate::anchors_any_case(&["secret"]),
            Gate::anchors_any_case(&["secretly"]),
            Gate::anchors(&["AC"]),
            Gate::anchors(&["AKIA"]),
        ];
        let pf = Prefilter::new(gates.iter().enumerate().map(|(i, g)| (1u64 << i, g)));
        assert_eq!(pf.profile(b"SECRETLY x", true).anchored, 0b0011);
        assert_eq!(pf.profile(b"xAKIACx", false).anchored, 0b1100);
        // An anchor straddling a fold-chunk boundary is still found.
        let mut long = vec![b'.'; FOLD_CHUNK - 3];
        long.extend_from_slice(b"SeCrEt");
        assert_eq!(pf.profile(&long, true).anchored & 1, 1);
    }
}
