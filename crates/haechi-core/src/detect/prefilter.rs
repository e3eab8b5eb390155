//! The per-leaf prefilter. Cheap reads gather the facts rule gates test (the digit count,
//! which of ` -.+@:=` occur, whether a letter touches a digit); tables built once per
//! detector turn them into the set of built-in rules worth running; only then are anchor
//! literals looked for, and only those of rules still in the set. Most leaves (keys, ids,
//! short values, prose) end with an empty set: one pass and a few lookups, no automaton and
//! no regex.
//!
//! A tiny leaf is read in one scalar pass that also checks, per byte pair, whether any anchor
//! could start there, so the automata rarely run on it. A longer leaf gets a vectorised digit
//! count and one early-stopping search per fact that still matters, then the automata, whose
//! SIMD search beats a byte-pair table there.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input, MatchKind};

use super::rules::{Gate, Scope};
use super::ruleset::RuleSet;
use super::runs::mark;
use crate::vocab::Direction;

// Fact bits. The low four are `runs::mark`'s, so a gate's `run_needs_any` maps onto them.
const SPACE: u8 = mark(b' ');
const DASH: u8 = mark(b'-');
const DOT: u8 = mark(b'.');
const PLUS: u8 = mark(b'+');
const AT: u8 = 16;
/// A `:` or `=` (every `key = value` assignment has one).
const ASSIGN: u8 = 32;
/// A letter next to a digit: some `[A-Za-z0-9]` run holds both (see `facts_meet`).
const MIXED: u8 = 64;
/// Number of distinct fact sets (the size of `Prefilter::by_facts`).
const FACT_SETS: usize = 128;
/// The facts a single byte can show.
const BYTE_FACTS: u8 = SPACE | DASH | DOT | PLUS | AT | ASSIGN;

// Byte classes in `CLASS` beside the byte facts (never facts themselves).
const LETTER: u8 = 64;
const DIGIT: u8 = 128;

/// Per-byte facts plus `LETTER` / `DIGIT`: one load per byte in the tiny-leaf pass.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = match c {
            b'0'..=b'9' => DIGIT,
            b'A'..=b'Z' | b'a'..=b'z' => LETTER,
            b'@' => AT,
            b':' | b'=' => ASSIGN,
            // For the prefilter a `_` counts as a dash: `DASH` stands for "`-` or `_`".
            b'_' => DASH,
            _ => mark(c),
        };
        b += 1;
    }
    t
};

/// Leaves shorter than this take the one-pass scalar read (`Prefilter::tiny_read`).
const TINY_LEAF: usize = 64;

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

fn direction_index(direction: Direction) -> usize {
    match direction {
        Direction::Request => 0,
        Direction::Response => 1,
    }
}

/// Anchor families, one automaton each: literals matched exactly, literals matched
/// ASCII-case-blind, and the exact literals of rules that also need digits or a `:`/`=`
/// (searched only in leaves that have them, so prose and long letter runs never pay for
/// them).
const EXACT: usize = 0;
const FOLDED: usize = 1;
const EXACT_GATED: usize = 2;
const FAMILIES: [usize; FAMILY_COUNT] = [EXACT, FOLDED, EXACT_GATED];
const FAMILY_COUNT: usize = 3;
/// Bits per byte pair in `AnchorSet::pairs`: one per family, rounded up to divide 64.
const PAIR_BITS: usize = 4;

fn family(gate: &Gate) -> usize {
    if gate.anchors_fold_case {
        FOLDED
    } else if gate.min_digits > 0 || gate.needs_assign {
        EXACT_GATED
    } else {
        EXACT
    }
}

/// What the prefilter found out about one leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admission {
    /// The built-in rules that may match somewhere in the leaf.
    pub rules: RuleSet,
    /// Per anchor family: the offsets of the first and the last anchor occurrence that
    /// admitted a rule.
    anchors: [Option<(usize, usize)>; FAMILY_COUNT],
}

impl Admission {
    /// The byte offsets `(first, last)` a match of a rule with this gate can start at. An
    /// anchored rule's match starts at most `anchor_lead` bytes before an anchor occurrence
    /// it contains, so no earlier than the first occurrence minus the lead and no later than
    /// the last occurrence.
    pub(super) fn starts(&self, gate: &Gate) -> (usize, usize) {
        if gate.anchors.is_empty() {
            return (0, usize::MAX);
        }
        match self.anchors[family(gate)] {
            Some((first, last)) => (first.saturating_sub(usize::from(gate.anchor_lead)), last),
            None => (0, usize::MAX),
        }
    }
}

/// Rule sets indexed by leaf facts.
pub(crate) struct Prefilter {
    /// Rules that run in each direction (`direction_index`).
    by_direction: [RuleSet; 2],
    /// `by_digits[d]`: rules needing at most `d` digits; the last entry stands for "or more".
    by_digits: Vec<RuleSet>,
    /// `by_facts[f]`: rules whose byte needs fact set `f` meets.
    by_facts: [RuleSet; FACT_SETS],
    /// `fact_users[k]`: rules whose verdict can change with fact bit `k` (a fact no
    /// remaining rule tests need not be looked for).
    fact_users: [RuleSet; 7],
    anchors: AnchorSet,
}

impl Prefilter {
    /// `rules` yields `(rule bit, gate, direction)` for each built-in rule.
    pub(super) fn new<'a>(
        rules: impl Iterator<Item = (RuleSet, &'a Gate, Option<Direction>)>,
    ) -> Prefilter {
        let rules: Vec<_> = rules.collect();
        let most_digits = rules
            .iter()
            .map(|(_, g, _)| usize::from(g.min_digits))
            .max()
            .unwrap_or(0);
        let mut by_direction = [RuleSet::EMPTY; 2];
        let mut by_digits = vec![RuleSet::EMPTY; most_digits + 1];
        let mut by_facts = [RuleSet::EMPTY; FACT_SETS];
        let mut fact_users = [RuleSet::EMPTY; 7];
        for &(bit, gate, direction) in &rules {
            for d in [Direction::Request, Direction::Response] {
                if direction.is_none_or(|only| only == d) {
                    by_direction[direction_index(d)] |= bit;
                }
            }
            for entry in &mut by_digits[usize::from(gate.min_digits)..] {
                *entry |= bit;
            }
            for (facts, entry) in (0u8..).zip(by_facts.iter_mut()) {
                if facts_meet(gate, facts) {
                    *entry |= bit;
                }
            }
            for (k, users) in fact_users.iter_mut().enumerate() {
                let flips = (0..FACT_SETS as u8)
                    .any(|f| facts_meet(gate, f) != facts_meet(gate, f ^ (1 << k)));
                if flips {
                    *users |= bit;
                }
            }
        }
        Prefilter {
            by_direction,
            by_digits,
            by_facts,
            fact_users,
            anchors: AnchorSet::new(rules.iter().map(|&(bit, gate, _)| (bit, gate))),
        }
    }

    /// Which built-in rules may match in `text` scanned in `direction` (a scoped rule is then
    /// checked run by run), and where anchored ones can start.
    pub(super) fn admit(&self, text: &[u8], direction: Direction) -> Admission {
        if text.len() < TINY_LEAF {
            let (facts, digits, pairs) = self.tiny_read(text);
            self.admit_facts(text, self.candidates(direction, digits), facts, Some(pairs))
        } else {
            let candidates = self.candidates(direction, count_digits(text));
            let facts = self.long_facts(text, candidates);
            self.admit_facts(text, candidates, facts, None)
        }
    }

    /// The rules that run in `direction` and need at most `digits` digits.
    fn candidates(&self, direction: Direction, digits: usize) -> RuleSet {
        self.by_direction[direction_index(direction)]
            & self.by_digits[digits.min(self.by_digits.len() - 1)]
    }

    /// Narrows `candidates` by the leaf's facts, then by anchors. `pairs` (bit per family)
    /// says which families have an anchor's first two bytes in the leaf, when known.
    fn admit_facts(
        &self,
        text: &[u8],
        candidates: RuleSet,
        facts: u8,
        pairs: Option<u8>,
    ) -> Admission {
        let admitted = candidates & self.by_facts[usize::from(facts)];
        let want = admitted & self.anchors.rules;
        if want.is_empty() {
            return Admission {
                rules: admitted,
                anchors: [None; FAMILY_COUNT],
            };
        }
        let families = self.anchors.families_for(want, pairs);
        if families == 0 {
            return Admission {
                rules: admitted & !self.anchors.rules,
                anchors: [None; FAMILY_COUNT],
            };
        }
        let (found, anchors) = self.anchors.find(text, want, families);
        Admission {
            rules: (admitted & !self.anchors.rules) | (want & found),
            anchors,
        }
    }

    /// One scalar pass over a tiny leaf: its facts (`MIXED` exact), its digit count, and the
    /// anchor families (bit per family) with a first byte pair in it.
    fn tiny_read(&self, text: &[u8]) -> (u8, usize, u8) {
        let Some((&first, rest)) = text.split_first() else {
            return (0, 0, 0);
        };
        let mut class = CLASS[usize::from(first)];
        let (mut seen, mut digits) = (class, usize::from(class >> 7));
        let (mut mixed, mut pairs, mut prev) = (false, 0, first);
        for &b in rest {
            let c = CLASS[usize::from(b)];
            seen |= c;
            digits += usize::from(c >> 7);
            // One of the two is a letter and the other a digit (no byte is both).
            mixed |= (class ^ c) & (LETTER | DIGIT) == LETTER | DIGIT;
            pairs |= self.anchors.pair(prev, b);
            (class, prev) = (c, b);
        }
        (
            (seen & BYTE_FACTS) | (u8::from(mixed) * MIXED),
            digits,
            pairs,
        )
    }

    /// The facts of a longer leaf that some rule in `candidates` tests, one early-stopping
    /// vectorised search each; `MIXED` is assumed rather than searched (a rule it wrongly
    /// admits is turned down by its runs). The other facts stay unset: no candidate's
    /// verdict depends on them.
    fn long_facts(&self, text: &[u8], candidates: RuleSet) -> u8 {
        let mut facts = 0;
        for (k, users) in self.fact_users.iter().enumerate() {
            let fact = 1u8 << k;
            if (candidates & *users).is_empty() {
                continue;
            }
            let found = match fact {
                SPACE => memchr::memchr(b' ', text).is_some(),
                DASH => memchr::memchr2(b'-', b'_', text).is_some(),
                DOT => memchr::memchr(b'.', text).is_some(),
                PLUS => memchr::memchr(b'+', text).is_some(),
                AT => memchr::memchr(b'@', text).is_some(),
                ASSIGN => memchr::memchr2(b':', b'=', text).is_some(),
                _ => true,
            };
            if found {
                facts |= fact;
            }
        }
        facts
    }
}

/// Whether a leaf with fact set `facts` meets `gate`'s byte needs. A rule needs `MIXED` when
/// its run needs a letter followed by a digit, or when it is scoped to `[A-Za-z0-9]` runs and
/// needs letters and digits in its run (such a run has a letter next to a digit).
fn facts_meet(gate: &Gate, facts: u8) -> bool {
    let has = |bit: u8| facts & bit != 0;
    let needs_mixed = gate.letter_then_digit
        || (gate.scope == Scope::Alnum && gate.min_letters > 0 && gate.min_digits > 0);
    (!needs_mixed || has(MIXED))
        && (!gate.needs_at || has(AT))
        && (!gate.needs_plus || has(PLUS))
        && (!gate.needs_assign || has(ASSIGN))
        && (!gate.needs_separator || has(DASH))
        && (gate.run_needs_any.is_empty() || gate.run_needs_any.iter().any(|&b| has(mark(b))))
}

/// The anchor literals of every built-in rule, by family.
struct AnchorSet {
    /// Rules that need an anchor.
    rules: RuleSet,
    /// Per family: the automaton, and the rules whose anchors it holds.
    families: [Option<Anchors>; FAMILY_COUNT],
    family_rules: [RuleSet; FAMILY_COUNT],
    /// `PAIR_BITS` per byte pair (bit `family`): some anchor of the family starts with the pair
    /// (in any case, for the folded family).
    pairs: Box<[u64; PAIR_WORDS]>,
    /// Families with a one-byte anchor, which pairs cannot rule out.
    unpaired: u8,
}

const PAIR_WORDS: usize = (1 << 16) * PAIR_BITS / 64;

impl AnchorSet {
    fn new<'a>(rules: impl Iterator<Item = (RuleSet, &'a Gate)>) -> AnchorSet {
        let mut lists: [Vec<(String, RuleSet)>; FAMILY_COUNT] = Default::default();
        let mut all = RuleSet::EMPTY;
        let mut family_rules = [RuleSet::EMPTY; FAMILY_COUNT];
        let mut pairs = Box::new([0u64; PAIR_WORDS]);
        let mut unpaired = 0;
        for (bit, gate) in rules {
            // A token-scoped rule's anchors are prefixes looked up per run (`prefixes`).
            if gate.anchors.is_empty() || gate.scope == Scope::Token {
                continue;
            }
            all |= bit;
            let family = family(gate);
            family_rules[family] |= bit;
            for &anchor in gate.anchors {
                let anchor = if family == FOLDED {
                    anchor.to_ascii_lowercase()
                } else {
                    anchor.to_owned()
                };
                match anchor.as_bytes() {
                    [a, b, ..] => {
                        for pair in case_variants(*a, *b, family == FOLDED) {
                            let slot = usize::from(pair) * PAIR_BITS + family;
                            pairs[slot / 64] |= 1 << (slot % 64);
                        }
                    }
                    _ => unpaired |= 1 << family,
                }
                let list = &mut lists[family];
                match list.iter_mut().find(|(a, _)| *a == anchor) {
                    Some((_, mask)) => *mask |= bit,
                    None => list.push((anchor, bit)),
                }
            }
        }
        let [exact, folded, exact_gated] = lists;
        AnchorSet {
            rules: all,
            families: [
                Anchors::build(exact),
                Anchors::build(folded),
                Anchors::build(exact_gated),
            ],
            family_rules,
            pairs,
            unpaired,
        }
    }

    /// The families (bit per family) with an anchor starting with the pair `a b`.
    #[inline(always)]
    fn pair(&self, a: u8, b: u8) -> u8 {
        let slot = (usize::from(a) << 8 | usize::from(b)) * PAIR_BITS;
        ((self.pairs[slot / 64] >> (slot % 64)) & ((1 << PAIR_BITS) - 1)) as u8
    }

    /// The families (bit per family) worth searching for `want`: those holding an anchor of
    /// a rule in `want`, less those `pairs` (when known) rules out.
    #[inline(always)]
    fn families_for(&self, want: RuleSet, pairs: Option<u8>) -> u8 {
        let mut families = 0;
        for family in FAMILIES {
            if !(want & self.family_rules[family]).is_empty() {
                families |= 1 << family;
            }
        }
        match pairs {
            Some(pairs) => families & (pairs | self.unpaired),
            None => families,
        }
    }

    /// Bits of the rules in `want` whose anchors occur in `text`, searching `families`, and
    /// per family the first and last occurrence that credits a rule in `want`. Kept out of
    /// line: its fold buffer would otherwise weigh on every caller's stack frame.
    #[inline(never)]
    fn find(
        &self,
        text: &[u8],
        want: RuleSet,
        families: u8,
    ) -> (RuleSet, [Option<(usize, usize)>; FAMILY_COUNT]) {
        let mut bits = RuleSet::EMPTY;
        let mut spans = [None; FAMILY_COUNT];
        for family in FAMILIES {
            if families & (1 << family) == 0 {
                continue;
            }
            let Some(anchors) = &self.families[family] else {
                continue;
            };
            let mut found = Found::new(want);
            if family == FOLDED {
                anchors.scan_folded(text, &mut found);
            } else {
                anchors.scan(text, 0, &mut found);
            }
            bits |= found.bits;
            spans[family] = found.span;
        }
        (bits, spans)
    }
}

/// The byte pairs `(a, b)` stands for: itself, or every ASCII case variant when `fold`.
fn case_variants(a: u8, b: u8, fold: bool) -> Vec<u16> {
    let cases = |c: u8| {
        if fold {
            vec![c.to_ascii_lowercase(), c.to_ascii_uppercase()]
        } else {
            vec![c]
        }
    };
    let mut out = Vec::new();
    for x in cases(a) {
        for y in cases(b) {
            out.push(u16::from(x) << 8 | u16::from(y));
        }
    }
    out
}

/// Anchor occurrences gathered by one automaton.
struct Found {
    want: RuleSet,
    bits: RuleSet,
    span: Option<(usize, usize)>,
}

impl Found {
    fn new(want: RuleSet) -> Found {
        Found {
            want,
            bits: RuleSet::EMPTY,
            span: None,
        }
    }

    fn add(&mut self, at: usize, mask: RuleSet) {
        self.bits |= mask;
        if !(mask & self.want).is_empty() {
            self.span = Some(match self.span {
                Some((first, last)) => (first.min(at), last.max(at)),
                None => (at, at),
            });
        }
    }
}

/// One literal automaton; each pattern maps to the set of rules it unlocks. It runs
/// leftmost-first so the SIMD (Teddy) searcher is used; restarting one byte after each hit
/// visits every position where some anchor starts, and an anchor hidden by a longer one at
/// the same position is credited through the longer one's mask.
struct Anchors {
    automaton: AhoCorasick,
    masks: Vec<RuleSet>,
    longest: usize,
}

/// Chunk sizes for the lower-cased copy (on the stack: no allocation per leaf; a short leaf
/// gets a small buffer, since zeroing a large one would cost more than its search).
const FOLD_CHUNK: usize = 4096;
const SMALL_FOLD_CHUNK: usize = 512;

impl Anchors {
    fn build(mut anchors: Vec<(String, RuleSet)>) -> Option<Anchors> {
        if anchors.is_empty() {
            return None;
        }
        // Longest first, so at one position the longest anchor is reported; it also credits
        // every anchor it contains.
        anchors.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        let masks: Vec<RuleSet> = anchors
            .iter()
            .map(|(a, _)| {
                anchors
                    .iter()
                    .filter(|(inner, _)| a.contains(inner.as_str()))
                    .fold(RuleSet::EMPTY, |m, (_, bit)| m | *bit)
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

    /// Every anchor occurrence in `text`, which starts at `offset` in the leaf.
    fn scan(&self, text: &[u8], offset: usize, found: &mut Found) {
        let mut at = 0;
        while at < text.len() {
            let Some(m) = self.automaton.find(Input::new(text).span(at..text.len())) else {
                break;
            };
            found.add(offset + m.start(), self.masks[m.pattern().as_usize()]);
            at = m.start() + 1;
        }
    }

    /// `scan` over a lower-cased copy of `text`.
    fn scan_folded(&self, text: &[u8], found: &mut Found) {
        if text.len() <= SMALL_FOLD_CHUNK {
            self.scan_lowered(text, &mut [0u8; SMALL_FOLD_CHUNK], found);
        } else {
            self.scan_lowered(text, &mut [0u8; FOLD_CHUNK], found);
        }
    }

    /// Chunk by chunk through `buf`; chunks overlap by `longest - 1` bytes so no occurrence
    /// straddles a boundary unseen.
    fn scan_lowered(&self, text: &[u8], buf: &mut [u8], found: &mut Found) {
        let size = buf.len();
        let step = size - self.longest.saturating_sub(1).min(size - 1);
        let mut start = 0;
        loop {
            let end = (start + size).min(text.len());
            let chunk = &mut buf[..end - start];
            chunk.copy_from_slice(&text[start..end]);
            chunk.make_ascii_lowercase();
            self.scan(chunk, start, found);
            if end == text.len() {
                return;
            }
            start += step;
        }
    }
}

#[cfg(test)]
mod tests;
