//! A compiled rule and the loop that runs it over one text: regex candidate, neighbour
//! checks, validator, then the span to report.

use std::ops::Range;
use std::sync::Arc;

use regex::bytes::Regex;

use super::rules::{Check, EdgeFn, Emit, Gate};
use super::secret_span::{assigned_value, url_password};
use crate::vocab::Direction;

/// A rule ready to run: a built-in table entry or a custom rule from the configuration.
pub(crate) struct Compiled {
    pub id: Arc<str>,
    pub detection_type: Arc<str>,
    pub confidence: f64,
    pub regex: Regex,
    /// The same rule for a lower-cased copy of the leaf (see `lowered`), for case-blind
    /// keyword rules.
    pub lowered: Option<Regex>,
    pub direction: Option<Direction>,
    pub before: Option<EdgeFn>,
    pub after: Option<EdgeFn>,
    pub check: Check,
    pub emit: Emit,
    /// Prefilter facts the leaf must have; `None` runs the rule on every leaf (custom rules,
    /// which rely on the regex engine's own literal prefilter).
    pub gate: Option<Gate>,
    /// A hit in decoded text counts only for hard-block types or validator-backed rules.
    pub decode_eligible: bool,
    /// Custom rules may match non-ASCII text: snap their spans to char boundaries.
    pub snap_to_chars: bool,
    /// The shortest possible match, in bytes (a shorter alphabet run is skipped).
    pub min_len: usize,
}

impl Compiled {
    pub(super) fn runs_in(&self, direction: Direction) -> bool {
        self.direction.is_none_or(|d| d == direction)
    }

    /// Calls `hit(start, end)` for each accepted match starting in `window` at or before
    /// `last_start`, left to right, until it returns false (then returns false). The caller
    /// promises no match starts in `window` after `last_start`, so the search stops there.
    /// The regex sees the text up to `window.end` (and everything before `window.start` as
    /// context); neighbour checks and validators see the whole text.
    ///
    /// `lowered`, when given, is `text` lower-cased: a rule with a twin searches that instead.
    pub(super) fn for_each_match(
        &self,
        text: &[u8],
        lowered: Option<&[u8]>,
        window: Range<usize>,
        last_start: usize,
        mut hit: impl FnMut(usize, usize) -> bool,
    ) -> bool {
        let assigned = self.emit == Emit::AssignedValue;
        let (regex, searched) = match (&self.lowered, lowered) {
            (Some(twin), Some(lowered)) => (twin, lowered),
            _ => (&self.regex, text),
        };
        let hay = &searched[..window.end.min(searched.len())];
        let mut at = window.start;
        // Where the previous match ended: the next value may not start before it.
        let mut floor = 0;
        while at <= hay.len() && at <= last_start {
            let Some(m) = regex.find_at(hay, at) else {
                return true;
            };
            let (start, end) = (m.start(), m.end());
            if start == end {
                at = next_char(text, start);
                continue;
            }
            let edges_ok = self.before.is_none_or(|f| f(text, start))
                && self.after.is_none_or(|f| f(text, end));
            if !edges_ok {
                // The reference's look-around failed here: try the next start position.
                at = next_char(text, start);
                continue;
            }
            let matched = &text[start..end];
            if assigned && end - assigned_value(matched).len() < floor {
                // In the reference the key sits in a look-behind, so a key inside the previous
                // value may introduce the next one; a value starting before `floor` may not.
                at = next_char(text, start);
                continue;
            }
            let accepted = match self.check {
                Check::None => Some(end),
                Check::Valid(valid) => valid(matched).then_some(end),
                Check::Trim(trim) => trim(matched).map(|len| start + len),
                Check::InContext(ok) => ok(text, start, end).then_some(end),
            };
            floor = end;
            // Resume after the match; an assignment resumes inside it (see above).
            at = match (assigned, accepted, self.check) {
                (true, _, _) => next_char(text, start),
                (false, Some(value_end), Check::Trim(_)) => value_end.max(start + 1),
                _ => end,
            };
            let Some(value_end) = accepted else {
                continue;
            };
            let (value_start, value_end) = match self.emit {
                Emit::Whole => (start, value_end),
                Emit::AssignedValue => (
                    value_end - assigned_value(&text[start..value_end]).len(),
                    value_end,
                ),
                Emit::UrlPassword => {
                    let part = url_password(&text[start..value_end]);
                    (start + part.start, start + part.end)
                }
            };
            let (s, e) = if self.snap_to_chars {
                (floor_char(text, value_start), ceil_char(text, value_end))
            } else {
                (value_start, value_end)
            };
            if !hit(s, e) {
                return false;
            }
        }
        true
    }

    /// Whether this rule matches anywhere in `text` (ignoring its scope).
    #[cfg(test)]
    pub(super) fn matches(&self, text: &[u8]) -> bool {
        !self.for_each_match(text, None, 0..text.len(), usize::MAX, |_, _| false)
    }
}

fn is_continuation(b: u8) -> bool {
    (0x80..0xC0).contains(&b)
}

/// The byte offset of the char after the one starting at `at`.
fn next_char(text: &[u8], at: usize) -> usize {
    let mut i = at + 1;
    while text.get(i).is_some_and(|&b| is_continuation(b)) {
        i += 1;
    }
    i
}

fn floor_char(text: &[u8], mut at: usize) -> usize {
    while at > 0 && text.get(at).is_some_and(|&b| is_continuation(b)) {
        at -= 1;
    }
    at
}

fn ceil_char(text: &[u8], mut at: usize) -> usize {
    while text.get(at).is_some_and(|&b| is_continuation(b)) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_stepping() {
        let text = "é1".as_bytes();
        assert_eq!(next_char(text, 0), 2);
        assert_eq!(floor_char(text, 1), 0);
        assert_eq!(ceil_char(text, 1), 2);
    }
}
