//! The built-in rule table. Rules are data: each entry says what it matches (a linear-time
//! pattern plus neighbour checks), how sure a match is, what validates it, which cheap
//! prefilter facts it needs, and carries its own sample true and false positives.
//!
//! Patterns are compiled as byte regexes with Unicode off, so `\d`, `\w`, `\b` and `\s` are
//! ASCII as in the reference's (non-`u`) JavaScript regexes. The reference's look-behind /
//! look-ahead assertions become `before` / `after` neighbour checks run in code: when one fails
//! the search resumes one character later, which is what a backtracking engine does for these
//! fixed-shape patterns.
//!
//! Order matters: on an exact tie (same start, same length) the earlier rule wins, so a
//! stricter sibling comes first (Anthropic before OpenAI). The order follows the reference; a
//! rule we added sits right after the rule it extends.

mod injection;
mod pii;
mod secrets;

use crate::vocab::Direction;

/// A neighbour check: `true` when the text around byte offset `at` is acceptable.
pub type EdgeFn = fn(text: &[u8], at: usize) -> bool;

/// What confirms a regex candidate.
#[derive(Clone, Copy)]
pub enum Check {
    /// The shape is the whole test.
    None,
    /// A checksum or structure test over the matched bytes.
    Valid(fn(&[u8]) -> bool),
    /// Keep only the leading part of the match that validates; returns its byte length.
    Trim(fn(&[u8]) -> Option<usize>),
}

/// Which part of the match is the sensitive value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    Whole,
    /// `key = value`: only the trailing value run (the key name stays readable).
    AssignedValue,
}

/// Cheap facts a leaf must have before the rule's regex runs (see `prefilter`).
#[derive(Clone, Copy)]
pub struct Gate {
    pub min_digits: u16,
    pub min_digit_run: u16,
    pub needs_at: bool,
    pub needs_plus: bool,
    /// At least one of these literals must occur (empty: no literal needed).
    pub anchors: &'static [&'static str],
    /// Whether `anchors` are matched ASCII-case-insensitively.
    pub anchors_fold_case: bool,
}

impl Gate {
    pub const fn digits(min_digits: u16, min_digit_run: u16) -> Gate {
        Gate {
            min_digits,
            min_digit_run,
            needs_at: false,
            needs_plus: false,
            anchors: &[],
            anchors_fold_case: false,
        }
    }

    pub const fn anchors(anchors: &'static [&'static str]) -> Gate {
        Gate {
            min_digits: 0,
            min_digit_run: 0,
            needs_at: false,
            needs_plus: false,
            anchors,
            anchors_fold_case: false,
        }
    }

    pub const fn anchors_any_case(anchors: &'static [&'static str]) -> Gate {
        Gate {
            anchors_fold_case: true,
            ..Gate::anchors(anchors)
        }
    }
}

/// A rule's own examples, checked by the table test: every `matches` entry must produce a
/// match of this rule, no `ignores` entry may. The second field of an ignore says why.
pub struct Samples {
    pub matches: &'static [&'static str],
    pub ignores: &'static [(&'static str, &'static str)],
}

/// One built-in rule.
pub struct Rule {
    pub id: &'static str,
    pub detection_type: &'static str,
    pub pattern: &'static str,
    pub confidence: f64,
    /// Mirrors [`super::is_hard_block`] for the type; a test keeps them in step.
    pub hard_block: bool,
    /// `Some` for rules that only run in one direction (injection: responses).
    pub direction: Option<Direction>,
    pub before: Option<EdgeFn>,
    pub after: Option<EdgeFn>,
    pub check: Check,
    pub emit: Emit,
    pub gate: Gate,
    pub samples: Samples,
}

/// The built-in rules in attribution order.
pub fn builtin() -> impl Iterator<Item = &'static Rule> {
    pii::HEAD
        .iter()
        .chain(secrets::RULES)
        .chain(pii::TAIL)
        .chain(injection::RULES)
}

// ---- neighbour checks -------------------------------------------------------------------

fn prev(text: &[u8], at: usize) -> Option<u8> {
    at.checked_sub(1).and_then(|i| text.get(i).copied())
}

fn next(text: &[u8], at: usize) -> Option<u8> {
    text.get(at).copied()
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

macro_rules! edge {
    ($(#[$doc:meta])* $name:ident, before, $pred:expr) => {
        $(#[$doc])*
        pub fn $name(text: &[u8], at: usize) -> bool {
            let pred: fn(u8) -> bool = $pred;
            !prev(text, at).is_some_and(pred)
        }
    };
    ($(#[$doc:meta])* $name:ident, after, $pred:expr) => {
        $(#[$doc])*
        pub fn $name(text: &[u8], at: usize) -> bool {
            let pred: fn(u8) -> bool = $pred;
            !next(text, at).is_some_and(pred)
        }
    };
}

edge!(
    /// Not after `[\w+-]`.
    before_not_word_plus_minus, before, |b| is_word(b) || b == b'+' || b == b'-'
);
edge!(
    /// Not after `[\w-]`.
    before_not_word_minus, before, |b| is_word(b) || b == b'-'
);
edge!(
    /// Not before `[\w-]`.
    after_not_word_minus, after, |b| is_word(b) || b == b'-'
);
edge!(
    /// Not after `[\w+]`.
    before_not_word_plus, before, |b| is_word(b) || b == b'+'
);
edge!(
    /// Not before `\w`.
    after_not_word, after, is_word
);
edge!(
    /// Not after `[\d-]`.
    before_not_digit_minus, before, |b| b.is_ascii_digit() || b == b'-'
);
edge!(
    /// Not before `[\d-]`.
    after_not_digit_minus, after, |b| b.is_ascii_digit() || b == b'-'
);
edge!(
    /// Not after `[A-Z0-9]` (case-sensitive, as the reference).
    before_not_upper_digit, before, |b| b.is_ascii_uppercase() || b.is_ascii_digit()
);
edge!(
    /// Not before `[A-Z0-9]`.
    after_not_upper_digit, after, |b| b.is_ascii_uppercase() || b.is_ascii_digit()
);
edge!(
    /// Not after `[A-Za-z0-9]`.
    before_not_alnum, before, |b| b.is_ascii_alphanumeric()
);
edge!(
    /// Not before `[A-Za-z0-9]`.
    after_not_alnum, after, |b| b.is_ascii_alphanumeric()
);

fn is_group_sep(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.')
}

/// For grouped print formats: not after `[\w-]`, and not after a separator that itself follows
/// a digit (the value would be the tail of a longer grouped number).
pub fn before_not_grouped(text: &[u8], at: usize) -> bool {
    if !before_not_word_minus(text, at) {
        return false;
    }
    !(prev(text, at).is_some_and(is_group_sep)
        && at >= 2
        && prev(text, at - 1).is_some_and(|b| b.is_ascii_digit()))
}

/// For grouped print formats: not before `[\w-]`, and not before a separator followed by a
/// digit (the value would be the head of a longer grouped number).
pub fn after_not_grouped(text: &[u8], at: usize) -> bool {
    if !after_not_word_minus(text, at) {
        return false;
    }
    !(next(text, at).is_some_and(is_group_sep)
        && next(text, at + 1).is_some_and(|b| b.is_ascii_digit()))
}

/// `key = value`: the key must not continue a longer alphanumeric name (`xtoken=` is not a
/// token assignment), but a namespace separator is fine (`DB_PASSWORD=`, `x-api-key:`).
pub fn before_assignment_key(text: &[u8], at: usize) -> bool {
    !prev(text, at).is_some_and(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests;
