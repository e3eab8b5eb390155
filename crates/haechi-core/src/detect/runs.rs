//! Alphabet runs for scoped rules (see [`Scope`]): maximal stretches of a rule family's
//! alphabet, with the digit facts a rule's gate checks.

use super::rules::{Gate, Scope};
use super::ruleset::RuleSet;

const DIGIT: u8 = 1;
const NUMERIC: u8 = 2;
const ALNUM: u8 = 4;
const UPPER_SPACED: u8 = 8;
const TOKEN: u8 = 16;

/// Per-byte membership in each alphabet.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut m = 0;
        if c.is_ascii_digit() {
            m |= DIGIT | NUMERIC | ALNUM | UPPER_SPACED | TOKEN;
        }
        if c.is_ascii_uppercase() {
            m |= ALNUM | UPPER_SPACED | TOKEN;
        } else if c.is_ascii_lowercase() {
            m |= ALNUM | TOKEN;
        }
        if matches!(c, b'_' | b'-' | b'.' | b'+' | b'/' | b'=' | b'%') {
            m |= TOKEN;
        }
        if c == b' ' {
            m |= NUMERIC | UPPER_SPACED;
        }
        if matches!(
            c,
            b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | b'-' | b'.' | b'+' | b'(' | b')'
        ) {
            m |= NUMERIC;
        }
        t[b] = m;
        b += 1;
    }
    t
};

fn bit(scope: Scope) -> u8 {
    match scope {
        Scope::Text => 0,
        Scope::Numeric => NUMERIC,
        Scope::Alnum => ALNUM,
        Scope::UpperSpaced => UPPER_SPACED,
        Scope::Token => TOKEN,
    }
}

/// One maximal run of a scope's alphabet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    pub start: usize,
    pub end: usize,
    pub digits: usize,
    pub max_digit_run: usize,
    /// Which of ` `, `-`, `.`, `+` occur (bits 0..4).
    pub marks: u8,
    /// Lengths of the maximal digit runs (bit `n` for length `n`, 31 for 31 or more).
    pub lengths: u32,
    pub letters: usize,
}

pub(crate) const fn mark(b: u8) -> u8 {
    match b {
        b' ' => 1,
        b'-' => 2,
        b'.' => 4,
        b'+' => 8,
        _ => 0,
    }
}

impl Run {
    /// Whether a rule with this gate can match inside the run of `text`.
    pub(super) fn admits(&self, gate: &Gate, text: &[u8]) -> bool {
        self.digits >= usize::from(gate.min_digits)
            && self.max_digit_run >= usize::from(gate.min_digit_run)
            && (gate.run_needs_any.is_empty()
                || gate
                    .run_needs_any
                    .iter()
                    .any(|&b| self.marks & mark(b) != 0))
            && (gate.run_lengths == 0 || gate.run_lengths & self.lengths != 0)
            && self.letters >= usize::from(gate.min_letters)
            && (!gate.letter_then_digit || self.has_letter_then_digit(text))
    }

    /// Looked at only when a gate asks and everything else passed: tracking it during the
    /// walk would slow every run down.
    fn has_letter_then_digit(&self, text: &[u8]) -> bool {
        text[self.start..self.end]
            .windows(2)
            .any(|w| w[0].is_ascii_alphabetic() && w[1].is_ascii_digit())
    }
}

/// Rule masks indexed by a run's digit count, letter count and length (each capped at the
/// largest need), so most runs are turned down by three lookups before any rule is looked at.
pub(crate) struct RunMasks {
    by_digits: Vec<RuleSet>,
    by_letters: Vec<RuleSet>,
    by_len: Vec<RuleSet>,
}

impl RunMasks {
    /// `rules` yields `(rule, gate, shortest match)` for each built-in rule.
    pub(super) fn new<'a>(rules: impl Iterator<Item = (RuleSet, &'a Gate, usize)>) -> RunMasks {
        let rules: Vec<_> = rules.collect();
        let table = |need: &dyn Fn(&Gate, usize) -> usize| {
            let most = rules.iter().map(|&(_, g, l)| need(g, l)).max().unwrap_or(0);
            let mut masks = vec![RuleSet::EMPTY; most + 1];
            for &(bit, gate, len) in &rules {
                for entry in &mut masks[need(gate, len)..] {
                    *entry |= bit;
                }
            }
            masks
        };
        RunMasks {
            by_digits: table(&|g, _| usize::from(g.min_digits)),
            by_letters: table(&|g, _| usize::from(g.min_letters)),
            by_len: table(&|_, len| len),
        }
    }

    /// The rules whose digit, letter and length needs `run` meets.
    pub(super) fn admit(&self, run: &Run) -> RuleSet {
        let at = |masks: &[RuleSet], n: usize| masks[n.min(masks.len() - 1)];
        at(&self.by_digits, run.digits)
            & at(&self.by_letters, run.letters)
            & at(&self.by_len, run.end - run.start)
    }
}

/// The first ASCII digit at or after `from`, checking 32-byte blocks at a time.
fn next_digit(text: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 32 <= text.len() {
        let block = &text[i..i + 32];
        if block
            .iter()
            .fold(false, |acc, &b| acc | (b.wrapping_sub(b'0') < 10))
        {
            break;
        }
        i += 32;
    }
    text[i..].iter().position(u8::is_ascii_digit).map(|p| i + p)
}

/// Calls `each` for every run of `scope`'s alphabet that holds at least `min_digits` digits
/// and `min_len` bytes, until it returns false (then returns false). Runs are found from their
/// digits: skip to the next digit, then widen to the run around it.
pub(crate) fn for_each_run(
    text: &[u8],
    scope: Scope,
    min_digits: usize,
    min_len: usize,
    mut each: impl FnMut(Run) -> bool,
) -> bool {
    let want = bit(scope);
    if want == 0 {
        return true;
    }
    let inside = |b: u8| CLASS[usize::from(b)] & want != 0;
    let mut from = 0;
    while let Some(first_digit) = next_digit(text, from) {
        let (start, end) = extent(text, from, first_digit, inside);
        // A digit is inside every alphabet, so the run is never empty.
        from = end.max(first_digit + 1);
        if end - start < min_len {
            continue;
        }
        let run = counted(text, start, end);
        if run.digits >= min_digits.max(1) && !each(run) {
            return false;
        }
    }
    true
}

/// Calls `each` for every token run of at least `min_len` bytes that holds no digit (those
/// [`for_each_run`] never sees), until it returns false (then returns false). Such runs are
/// found from their `_` and `-`: every digitless prefixed format has one.
pub(crate) fn for_each_digitless_token_run(
    text: &[u8],
    min_len: usize,
    mut each: impl FnMut(Run) -> bool,
) -> bool {
    let inside = |b: u8| CLASS[usize::from(b)] & TOKEN != 0;
    let mut from = 0;
    for sep in memchr::memchr2_iter(b'_', b'-', text) {
        if sep < from {
            continue;
        }
        let (start, end) = extent(text, from, sep, inside);
        from = end.max(sep + 1);
        if end - start < min_len {
            continue;
        }
        let run = counted(text, start, end);
        if run.digits == 0 && !each(run) {
            return false;
        }
    }
    true
}

/// The bounds of the run of `inside` bytes around `seed`, not reaching back before `from`.
fn extent(text: &[u8], from: usize, seed: usize, inside: impl Fn(u8) -> bool) -> (usize, usize) {
    let mut start = seed;
    while start > from && inside(text[start - 1]) {
        start -= 1;
    }
    let end = seed + text[seed..].iter().take_while(|&&b| inside(b)).count();
    (start, end)
}

/// The run `start..end` with its counts.
fn counted(text: &[u8], start: usize, end: usize) -> Run {
    let mut run = Run {
        start,
        end,
        digits: 0,
        max_digit_run: 0,
        marks: 0,
        lengths: 0,
        letters: 0,
    };
    let mut digit_run = 0;
    for &b in &text[start..end] {
        if b.is_ascii_digit() {
            run.digits += 1;
            digit_run += 1;
            run.max_digit_run = run.max_digit_run.max(digit_run);
        } else {
            if digit_run > 0 {
                run.lengths |= 1 << digit_run.min(31);
            }
            digit_run = 0;
            run.marks |= mark(b);
            run.letters += usize::from(b.is_ascii_alphabetic());
        }
    }
    if digit_run > 0 {
        run.lengths |= 1 << digit_run.min(31);
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(text: &str, scope: Scope) -> Vec<(String, usize, usize)> {
        let mut out = Vec::new();
        for_each_run(text.as_bytes(), scope, 1, 0, |r| {
            out.push((text[r.start..r.end].to_string(), r.digits, r.max_digit_run));
            true
        });
        out
    }

    #[test]
    fn numeric_runs() {
        assert_eq!(
            runs("call 010-1234-5678, id:42 ok", Scope::Numeric),
            [
                (" 010-1234-5678".to_string(), 11, 4),
                ("42 ".to_string(), 2, 2)
            ]
        );
    }

    #[test]
    fn alnum_runs_skip_digitless_words() {
        assert_eq!(
            runs("DNI 12345678Z, mi nombre", Scope::Alnum),
            [("12345678Z".to_string(), 8, 8)]
        );
        assert_eq!(
            runs("IBAN DE89 3704 x", Scope::UpperSpaced),
            [("IBAN DE89 3704 ".to_string(), 6, 4)]
        );
    }

    #[test]
    fn letter_then_digit_is_seen_in_order() {
        let admits = |text: &str| {
            let gate = Gate::scoped(Scope::UpperSpaced, 2, 2, b" ").letter_then_digit();
            let mut any = false;
            for_each_run(text.as_bytes(), Scope::UpperSpaced, 1, 0, |run| {
                any |= run.admits(&gate, text.as_bytes());
                true
            });
            any
        };
        assert!(admits("IBAN DE89 3704"));
        assert!(
            !admits("reach me at 010 now"),
            "a space between letter and digit"
        );
        assert!(!admits("12ab 34"), "digit before letter only");
    }

    #[test]
    fn run_masks_turn_down_short_or_letterless_runs() {
        let iban = Gate::scoped(Scope::Alnum, 2, 2, &[]).letters(2);
        let nir = Gate::scoped(Scope::Alnum, 13, 6, &[]);
        let (iban_bit, nir_bit) = (RuleSet::one(0), RuleSet::one(1));
        let masks = RunMasks::new([(iban_bit, &iban, 15), (nir_bit, &nir, 15)].into_iter());
        let admitted = |text: &str| {
            let mut all = Vec::new();
            for_each_run(text.as_bytes(), Scope::Alnum, 1, 0, |run| {
                all.push(masks.admit(&run));
                true
            });
            all
        };
        assert_eq!(
            admitted("id 1700000000 x"),
            [RuleSet::EMPTY],
            "no letters, too few digits"
        );
        // Counts only: 16 digits would do for the second gate as well.
        assert_eq!(admitted("GB82WEST12345698765432"), [iban_bit | nir_bit]);
        assert_eq!(admitted("GB82WEST1234567"), [iban_bit]);
        assert_eq!(
            admitted("GB82WEST"),
            [RuleSet::EMPTY],
            "shorter than any match"
        );
        assert_eq!(admitted("1850578006048301"), [nir_bit]);
    }

    #[test]
    fn token_runs_span_separators() {
        assert_eq!(
            runs("key: glpat-EXAMPLE0_x.y ok", Scope::Token),
            [("glpat-EXAMPLE0_x.y".to_string(), 1, 1)]
        );
    }

    #[test]
    fn non_ascii_breaks_runs() {
        assert_eq!(
            runs("번호1234번", Scope::Numeric),
            [("1234".to_string(), 4, 4)]
        );
    }
}
