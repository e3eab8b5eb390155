//! The per-leaf prefilter: one cheap pass gathers the facts rule gates test (the digit count,
//! which of ` -.+@:=` occur), tables built once per detector turn those facts into the set of
//! built-in rules worth running, and only then are anchor literals looked for — and only those
//! of rules still in the set. Most leaves (keys, ids, short values, prose) end here with an
//! empty set: one pass and a few table lookups, no automaton and no regex.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input, MatchKind};

use super::rules::{Gate, Scope};
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

// Byte classes in `CLASS` beside the fact bits (never facts themselves).
const LETTER: u8 = 64;
const DIGIT: u8 = 128;

/// The fact bit of one byte, written as compares so the block loop vectorises.
#[inline(always)]
fn fact_of(b: u8) -> u8 {
    (u8::from(b == b' ') * SPACE)
        | (u8::from(b == b'-') * DASH)
        | (u8::from(b == b'.') * DOT)
        | (u8::from(b == b'+') * PLUS)
        | (u8::from(b == b'@') * AT)
        | (u8::from(b == b':' || b == b'=') * ASSIGN)
}

/// Per-byte fact bits plus `LETTER` / `DIGIT`, for the scalar pass (one load per byte).
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
            _ => mark(c),
        };
        b += 1;
    }
    t
};

/// Leaves up to this length are read byte by byte (`short_facts`); longer ones take
/// vectorised searches that stop early, for the facts that matter (`Prefilter::long_facts`).
const SHORT_LEAF: usize = 256;
/// Below this length the byte pass also checks letter/digit adjacency exactly.
const BLOCK: usize = 64;

/// The facts and the digit count of a short leaf. Under one block: one `CLASS` load per
/// byte, adjacency exact. Otherwise 64-byte blocks with byte accumulators (the loop
/// vectorises) and `MIXED` taken as "has letters and digits" — a superset, which only admits
/// a rule that its runs then turn down.
fn short_facts(text: &[u8]) -> (u8, usize) {
    if text.len() < BLOCK {
        let (mut seen, mut digits, mut mixed, mut prev) = (0u8, 0usize, false, 0u8);
        for &b in text {
            let c = CLASS[usize::from(b)];
            seen |= c;
            digits += usize::from(c >> 7);
            // One of the pair is a letter and the other a digit (no byte is both).
            mixed |= (prev ^ c) & (LETTER | DIGIT) == LETTER | DIGIT;
            prev = c;
        }
        return ((seen & BYTE_FACTS) | (u8::from(mixed) * MIXED), digits);
    }
    let mut blocks = text.chunks_exact(BLOCK);
    let (mut facts, mut digits, mut letters) = (0u8, 0usize, false);
    for block in &mut blocks {
        let (mut f, mut n, mut l) = (0u8, 0u8, 0u8);
        for &b in block {
            n += u8::from(b.wrapping_sub(b'0') < 10);
            l |= u8::from((b | 0x20).wrapping_sub(b'a') < 26);
            f |= fact_of(b);
        }
        facts |= f;
        digits += usize::from(n);
        letters |= l != 0;
    }
    for &b in blocks.remainder() {
        let c = CLASS[usize::from(b)];
        facts |= c & BYTE_FACTS;
        digits += usize::from(c >> 7);
        letters |= c & LETTER != 0;
    }
    if letters && digits > 0 {
        facts |= MIXED;
    }
    (facts, digits)
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

fn direction_index(direction: Direction) -> usize {
    match direction {
        Direction::Request => 0,
        Direction::Response => 1,
    }
}

/// Rule masks indexed by leaf facts. Rule `i` of the table owns bit `i`.
pub(crate) struct Prefilter {
    /// Rules that run in each direction (`direction_index`).
    by_direction: [u64; 2],
    /// `by_digits[d]`: rules needing at most `d` digits; the last entry stands for "or more".
    by_digits: Vec<u64>,
    /// `by_facts[f]`: rules whose byte needs (`@`, `+`, `:`/`=`, a run mark) fact set `f` meets.
    by_facts: [u64; FACT_SETS],
    /// `fact_users[k]`: rules whose gate tests fact bit `k` (a fact no remaining rule tests
    /// need not be looked for).
    fact_users: [u64; 7],
    anchors: AnchorSet,
}

impl Prefilter {
    /// `rules` yields `(rule bit, gate, direction)` for each built-in rule.
    pub fn new<'a>(rules: impl Iterator<Item = (u64, &'a Gate, Option<Direction>)>) -> Prefilter {
        let rules: Vec<_> = rules.collect();
        let mut by_direction = [0u64; 2];
        let most_digits = rules
            .iter()
            .map(|(_, g, _)| usize::from(g.min_digits))
            .max()
            .unwrap_or(0);
        let mut by_digits = vec![0u64; most_digits + 1];
        let mut by_facts = [0u64; FACT_SETS];
        let mut fact_users = [0u64; 7];
        for &(bit, gate, direction) in &rules {
            for (k, users) in fact_users.iter_mut().enumerate() {
                // Fact `k` matters to the gate when flipping it can change the verdict.
                let flips = (0..FACT_SETS as u8)
                    .any(|f| facts_meet(gate, f) != facts_meet(gate, f ^ (1 << k)));
                if flips {
                    *users |= bit;
                }
            }
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
        }
        Prefilter {
            by_direction,
            by_digits,
            by_facts,
            fact_users,
            anchors: AnchorSet::new(rules.iter().map(|&(bit, gate, _)| (bit, gate))),
        }
    }

    /// The built-in rules that may match somewhere in `text` scanned in `direction` (a
    /// scoped rule is then checked run by run).
    pub fn admit(&self, text: &[u8], direction: Direction) -> u64 {
        if text.len() <= SHORT_LEAF {
            let (facts, digits) = short_facts(text);
            self.admit_facts(text, self.candidates(direction, digits), facts)
        } else {
            let candidates = self.candidates(direction, count_digits(text));
            self.admit_facts(text, candidates, self.long_facts(text, candidates))
        }
    }

    /// The rules that run in `direction` and need at most `digits` digits.
    fn candidates(&self, direction: Direction, digits: usize) -> u64 {
        self.by_direction[direction_index(direction)]
            & self.by_digits[digits.min(self.by_digits.len() - 1)]
    }

    /// Narrows `candidates` by the leaf's facts, then by anchors.
    fn admit_facts(&self, text: &[u8], candidates: u64, facts: u8) -> u64 {
        let admitted = candidates & self.by_facts[usize::from(facts)];
        let want = admitted & self.anchors.rules;
        if want == 0 {
            return admitted;
        }
        (admitted & !self.anchors.rules) | (want & self.anchors.find(text, want))
    }

    /// The facts of a long leaf that some rule in `candidates` tests, one early-stopping
    /// vectorised search each (`MIXED` is simply assumed). The others stay unset: no
    /// candidate's admission depends on them.
    fn long_facts(&self, text: &[u8], candidates: u64) -> u8 {
        let mut facts = 0;
        for (k, users) in self.fact_users.iter().enumerate() {
            let fact = 1u8 << k;
            if candidates & users == 0 {
                continue;
            }
            let found = match fact {
                SPACE => memchr::memchr(b' ', text).is_some(),
                DASH => memchr::memchr(b'-', text).is_some(),
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

/// Whether a leaf with fact set `facts` meets `gate`'s byte needs. A rule scoped to
/// `[A-Za-z0-9]` runs that needs letters and digits in its run needs `MIXED`: a run holding
/// both has a letter next to a digit.
fn facts_meet(gate: &Gate, facts: u8) -> bool {
    let has = |bit: u8| facts & bit != 0;
    let needs_mixed = gate.scope == Scope::Alnum && gate.min_letters > 0 && gate.min_digits > 0;
    (!needs_mixed || has(MIXED))
        && (!gate.needs_at || has(AT))
        && (!gate.needs_plus || has(PLUS))
        && (!gate.needs_assign || has(ASSIGN))
        && (gate.run_needs_any.is_empty() || gate.run_needs_any.iter().any(|&b| has(mark(b))))
}

/// The anchor literals of every built-in rule, in two families: exact and ASCII-case-blind.
struct AnchorSet {
    /// Rules that need an anchor.
    rules: u64,
    /// Per family (`EXACT`, `FOLDED`): the automaton and the rules whose anchors it holds.
    families: [Option<Anchors>; 2],
    family_rules: [u64; 2],
    /// Two bits per byte pair (family bit 0 exact, 1 folded): some anchor of that family
    /// starts with the pair (in any case, for the folded family).
    pairs: Box<[u64]>,
    /// Families with a one-byte anchor, which pairs cannot rule out.
    unpaired: u8,
}

const EXACT: usize = 0;
const FOLDED: usize = 1;
/// Up to this length a leaf is checked for anchor pairs (one table load per byte) before an
/// automaton runs; longer leaves go straight to the automaton's vectorised search.
const PAIR_SCAN_MAX: usize = 256;

impl AnchorSet {
    fn new<'a>(rules: impl Iterator<Item = (u64, &'a Gate)>) -> AnchorSet {
        let mut lists: [Vec<(String, u64)>; 2] = [Vec::new(), Vec::new()];
        let mut all = 0;
        let mut family_rules = [0u64; 2];
        let mut pairs = vec![0u64; (1 << 16) * 2 / 64].into_boxed_slice();
        let mut unpaired = 0;
        for (bit, gate) in rules {
            if gate.anchors.is_empty() {
                continue;
            }
            all |= bit;
            let family = if gate.anchors_fold_case {
                FOLDED
            } else {
                EXACT
            };
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
                            let slot = usize::from(pair) * 2 + family;
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
        let [exact, folded] = lists;
        AnchorSet {
            rules: all,
            families: [Anchors::build(exact), Anchors::build(folded)],
            family_rules,
            pairs,
            unpaired,
        }
    }

    /// Bits of the rules in `want` whose anchors occur in `text`. Only the families `want`
    /// needs are searched (the case-blind one is the costlier), and a short leaf first has
    /// to hold the first two bytes of some anchor of the family.
    fn find(&self, text: &[u8], want: u64) -> u64 {
        let mut families = 0u8;
        for family in [EXACT, FOLDED] {
            if want & self.family_rules[family] != 0 {
                families |= 1 << family;
            }
        }
        if text.len() <= PAIR_SCAN_MAX {
            families &= self.pair_families(text) | self.unpaired;
        }
        let mut bits = 0;
        if families & (1 << EXACT) != 0 {
            bits |= self.families[EXACT].as_ref().map_or(0, |a| a.scan(text));
        }
        if families & (1 << FOLDED) != 0 {
            bits |= self.families[FOLDED]
                .as_ref()
                .map_or(0, |a| a.scan_folded(text));
        }
        bits
    }

    /// The families (bit per family) that have an anchor starting with some byte pair of
    /// `text`.
    fn pair_families(&self, text: &[u8]) -> u8 {
        let mut found = 0u64;
        for w in text.windows(2) {
            let slot = (usize::from(w[0]) << 8 | usize::from(w[1])) * 2;
            found |= (self.pairs[slot / 64] >> (slot % 64)) & 3;
        }
        found as u8
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

/// One literal automaton; each pattern maps to the set of rules it unlocks. It runs
/// leftmost-first so the SIMD (Teddy) searcher is used; overlapping occurrences are found by
/// restarting one byte after each hit, and an anchor hidden by a longer one at the same
/// position is credited through the longer one's mask.
struct Anchors {
    automaton: AhoCorasick,
    masks: Vec<u64>,
    longest: usize,
}

/// Chunk sizes for the lower-cased copy (on the stack: no allocation per leaf).
const FOLD_CHUNK: usize = 4096;
const SMALL_FOLD_CHUNK: usize = 512;

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

    /// `scan` over a lower-cased copy, chunk by chunk, in a stack buffer sized to the leaf
    /// (zeroing a large one would cost a short leaf more than its search).
    fn scan_folded(&self, text: &[u8]) -> u64 {
        if text.len() <= SMALL_FOLD_CHUNK {
            self.scan_lowered(text, &mut [0u8; SMALL_FOLD_CHUNK])
        } else {
            self.scan_lowered(text, &mut [0u8; FOLD_CHUNK])
        }
    }

    /// Chunks overlap by `longest - 1` bytes so no occurrence straddles a boundary unseen.
    fn scan_lowered(&self, text: &[u8], buf: &mut [u8]) -> u64 {
        let size = buf.len();
        let step = size - self.longest.saturating_sub(1).min(size - 1);
        let mut bits = 0;
        let mut start = 0;
        loop {
            let end = (start + size).min(text.len());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn prefilter(gates: &[Gate]) -> Prefilter {
        Prefilter::new(gates.iter().enumerate().map(|(i, g)| (1u64 << i, g, None)))
    }

    /// The obvious reading of the facts, `MIXED` exact.
    fn naive(text: &[u8]) -> (u8, usize) {
        let mut facts = text.iter().fold(0, |f, &b| f | fact_of(b));
        let mixed = text.windows(2).any(|w| {
            (w[0].is_ascii_alphabetic() && w[1].is_ascii_digit())
                || (w[0].is_ascii_digit() && w[1].is_ascii_alphabetic())
        });
        if mixed {
            facts |= MIXED;
        }
        (facts, text.iter().filter(|b| b.is_ascii_digit()).count())
    }

    #[test]
    fn short_pass_reads_the_facts() {
        let alphabet = b"a0 -.+@:=Z9\xea\x80";
        for len in [0, 1, 7, 63, 64, 65, 127, 200, 256] {
            for seed in 0..20usize {
                let text: Vec<u8> = (0..len)
                    .map(|i| alphabet[(i * 7 + seed * 13 + i * i * seed) % alphabet.len()])
                    .collect();
                let (facts, digits) = short_facts(&text);
                let (exact, exact_digits) = naive(&text);
                assert_eq!(digits, exact_digits, "len {len} seed {seed}");
                if len < BLOCK {
                    assert_eq!(facts, exact, "len {len} seed {seed}");
                } else {
                    // Beyond one block `MIXED` may only be over-reported.
                    assert_eq!(facts & !MIXED, exact & !MIXED, "len {len} seed {seed}");
                    assert!(facts & MIXED >= exact & MIXED, "len {len} seed {seed}");
                }
            }
        }
        assert_eq!(short_facts(b"field_12"), (0, 2));
        assert_eq!(short_facts(b"DE89"), (MIXED, 2));
        assert_eq!(short_facts(b"12 ab"), (SPACE, 2));
        assert_eq!(count_digits(&[b'7'; 1000]), 1000);
    }

    #[test]
    fn facts_select_rules() {
        let gates = [
            Gate {
                needs_at: true,
                ..Gate::digits(0, 0)
            },
            Gate::scoped(Scope::Numeric, 9, 4, b"-"),
            Gate::anchors(&["AKIA"]),
            Gate {
                needs_assign: true,
                ..Gate::anchors_any_case(&["token"])
            },
            Gate::scoped(Scope::Alnum, 2, 2, &[]).letters(2),
        ];
        let pf = prefilter(&gates);
        let admit = |t: &str| pf.admit(t.as_bytes(), Direction::Request);
        assert_eq!(admit("field_12"), 0);
        assert_eq!(admit("mail a@b.co"), 0b0001);
        assert_eq!(admit("010 1234 5678"), 0, "no dash");
        assert_eq!(admit("010-1234-5678"), 0b0010);
        assert_eq!(admit("010-1234"), 0, "too few digits");
        assert_eq!(admit("AKIA TOKEN=x"), 0b1100);
        assert_eq!(
            admit("akia TOKEN"),
            0,
            "exact anchors are case-sensitive; no assignment"
        );
        assert_eq!(admit("DE89 x"), 0b10000);
        assert_eq!(admit("DE 89 x"), 0, "no letter next to a digit");
    }

    #[test]
    fn direction_limits_rules() {
        let pf = Prefilter::new(
            [(
                1u64,
                &Gate::anchors_any_case(&["ignore"]),
                Some(Direction::Response),
            )]
            .into_iter(),
        );
        assert_eq!(pf.admit(b"IGNORE this", Direction::Response), 1);
        assert_eq!(pf.admit(b"IGNORE this", Direction::Request), 0);
    }

    #[test]
    fn overlapping_and_nested_anchors_are_all_credited() {
        let gates = [
            Gate::anchors_any_case(&["secret"]),
            Gate::anchors_any_case(&["secretly"]),
            Gate::anchors(&["AC"]),
            Gate::anchors(&["AKIA"]),
            Gate::anchors(&["#"]),
        ];
        let pf = prefilter(&gates);
        let admit = |t: &[u8]| pf.admit(t, Direction::Response);
        assert_eq!(admit(b"SECRETLY x"), 0b00011);
        assert_eq!(admit(b"xAKIACx"), 0b01100);
        assert_eq!(
            admit(b"a # b"),
            0b10000,
            "a one-byte anchor is never ruled out"
        );
        // Long leaves skip the pair check; an anchor straddling a fold-chunk boundary is
        // still found.
        let mut long = vec![b'.'; FOLD_CHUNK - 3];
        long.extend_from_slice(b"SeCrEt");
        assert_eq!(admit(&long), 0b00001);
    }

    fn builtin_prefilter() -> Prefilter {
        Prefilter::new(
            crate::detect::rules::builtin()
                .enumerate()
                .map(|(i, r)| (1u64 << i, &r.gate, r.direction)),
        )
    }

    proptest::proptest! {
        /// The short and the long reading of a leaf admit every rule the exact facts admit,
        /// and more only through an over-reported `MIXED` (under one block, exactly those).
        #[test]
        fn reads_admit_what_the_exact_facts_admit(
            parts in proptest::collection::vec(0usize..14, 0..60),
            response in proptest::bool::ANY,
        ) {
            const PIECES: [&str; 14] = [
                "a", "0123", "4567 ", "-", ".", "+", "@", ":", "=", " ", "sk_", "token", "Ab",
                "\u{AC00}",
            ];
            static PF: std::sync::OnceLock<Prefilter> = std::sync::OnceLock::new();
            let pf = PF.get_or_init(builtin_prefilter);
            let text: String = parts.iter().map(|&p| PIECES[p]).collect();
            let text = text.as_bytes();
            let dir = if response { Direction::Response } else { Direction::Request };
            let (facts, digits) = naive(text);
            let candidates = pf.candidates(dir, digits);
            let exact = pf.admit_facts(text, candidates, facts);
            let mixed_users = pf.fact_users[MIXED.trailing_zeros() as usize];
            let short = pf.admit_facts(text, candidates, short_facts(text).0);
            let long = pf.admit_facts(text, candidates, pf.long_facts(text, candidates));
            for read in [short, long] {
                proptest::prop_assert_eq!(exact & !read, 0, "{:?}", text);
                proptest::prop_assert_eq!(read & !exact & !mixed_users, 0, "{:?}", text);
            }
            if text.len() < BLOCK {
                proptest::prop_assert_eq!(short, exact, "{:?}", text);
            }
        }

        /// The pair check only skips automaton runs that would find nothing.
        #[test]
        fn pair_check_loses_no_anchor(parts in proptest::collection::vec(0usize..12, 0..40)) {
            const PIECES: [&str; 12] =
                ["sk", "_", "AK", "IA", "to", "KEN", "x", " ", "Be", "arer", "ey", "J"];
            let text: String = parts.iter().map(|&p| PIECES[p]).collect();
            let gates = [
                Gate::anchors(&["sk_", "AKIA", "Bearer", "eyJ"]),
                Gate::anchors_any_case(&["token"]),
            ];
            let pf = prefilter(&gates);
            let found = pf.anchors.find(text.as_bytes(), 0b11);
            let truth = (u64::from(text.contains("sk_") || text.contains("AKIA")
                || text.contains("Bearer") || text.contains("eyJ")))
                | (u64::from(text.to_ascii_lowercase().contains("token")) << 1);
            proptest::prop_assert_eq!(found, truth, "{:?}", text);
        }
    }
}
