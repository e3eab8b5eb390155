//! The prefix table of token-scoped rules (see [`Scope::Token`]): which rules a token run can
//! hold, from the few places in it where a prefix may start. A table lookup per place, no
//! automaton, so a hundred prefixed formats cost a leaf nothing until a run long enough and
//! with enough digits turns up.

use super::rules::{Gate, Scope};
use super::ruleset::RuleSet;
use super::runs::Run;

pub(crate) struct Prefixes {
    /// Each prefix and the rules it introduces, sorted by their first two bytes.
    entries: Vec<(&'static [u8], RuleSet)>,
}

fn pair(a: u8, b: u8) -> u16 {
    u16::from(a) << 8 | u16::from(b)
}

impl Prefixes {
    /// `rules` yields `(rule, gate)` for each built-in rule; token-scoped ones are taken.
    pub(super) fn new<'a>(rules: impl Iterator<Item = (RuleSet, &'a Gate)>) -> Prefixes {
        let mut entries: Vec<(&'static [u8], RuleSet)> = Vec::new();
        for (rule, gate) in rules.filter(|(_, g)| g.scope == Scope::Token) {
            // The table test keeps every prefix at two bytes or more.
            for prefix in gate
                .anchors
                .iter()
                .map(|p| p.as_bytes())
                .filter(|p| p.len() >= 2)
            {
                match entries.iter_mut().find(|(p, _)| *p == prefix) {
                    Some((_, set)) => *set |= rule,
                    None => entries.push((prefix, rule)),
                }
            }
        }
        entries.sort_by_key(|(p, _)| pair(p[0], p[1]));
        Prefixes { entries }
    }

    /// Rules with a prefix starting at `at`.
    fn at(&self, text: &[u8], at: usize) -> RuleSet {
        let rest = &text[at.min(text.len())..];
        let [a, b, ..] = rest else {
            return RuleSet::EMPTY;
        };
        let slot = pair(*a, *b);
        let first = self
            .entries
            .partition_point(|(p, _)| pair(p[0], p[1]) < slot);
        self.entries[first..]
            .iter()
            .take_while(|(p, _)| pair(p[0], p[1]) == slot)
            .filter(|(prefix, _)| rest.starts_with(prefix))
            .fold(RuleSet::EMPTY, |set, (_, rules)| set | *rules)
    }

    /// Rules whose prefix starts the run or follows a non-word byte inside it (`.-+/=%`,
    /// where a `\b` before the prefix holds).
    pub(super) fn in_run(&self, text: &[u8], run: &Run) -> RuleSet {
        let body = &text[run.start..run.end];
        let after_separator = body
            .iter()
            .enumerate()
            .filter(|(_, b)| !(b.is_ascii_alphanumeric() || **b == b'_'))
            .map(|(i, _)| run.start + i + 1);
        std::iter::once(run.start)
            .chain(after_separator)
            .fold(RuleSet::EMPTY, |set, at| set | self.at(text, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::runs::for_each_run;

    #[test]
    fn prefixes_are_found_at_run_starts_and_after_dots_and_dashes() {
        let gates = [Gate::token(&["glpat-"], 1), Gate::token(&["hvs."], 1)];
        let table = Prefixes::new(gates.iter().enumerate().map(|(i, g)| (RuleSet::one(i), g)));
        let found = |text: &str| {
            let mut all = RuleSet::EMPTY;
            for_each_run(text.as_bytes(), Scope::Token, 1, 0, |run| {
                all |= table.in_run(text.as_bytes(), &run);
                true
            });
            all.iter().collect::<Vec<_>>()
        };
        assert_eq!(found("token=glpat-EXAMPLE0"), [0]);
        assert_eq!(found("a/glpat-EXAMPLE0+x="), [0]);
        assert_eq!(found("x.hvs.EXAMPLE1 and a-glpat-EXAMPLE2"), [0, 1]);
        assert_eq!(
            found("myglpat-EXAMPLE0"),
            Vec::<usize>::new(),
            "inside a word"
        );
        assert_eq!(
            found("glpat-EXAMPLE"),
            Vec::<usize>::new(),
            "no digit: no run"
        );
    }
}
