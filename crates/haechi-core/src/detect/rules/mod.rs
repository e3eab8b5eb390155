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
//! stricter sibling comes first (Anthropic before OpenAI, the provider formats before the
//! generic credential rules). The order follows the reference; a rule we added sits right
//! before the broader rule it refines.

mod injection;
mod pii;
mod providers;
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
    /// A test that also reads the words around the match (see `context`): called with the
    /// whole text and the match's `start`, `end`.
    InContext(fn(&[u8], usize, usize) -> bool),
}

/// Which part of the match is the sensitive value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    Whole,
    /// `key = value`: only the trailing value run (the key name stays readable).
    AssignedValue,
    /// `scheme://user:password@host`: only the password (the rest of the URL stays readable).
    UrlPassword,
}

/// Where a rule's matches can lie. A rule whose every match is made of bytes from a small
/// alphabet and holds digits runs only over the maximal runs of that alphabet that hold enough
/// digits: a digit-dense leaf then costs a few short searches instead of full passes. Any match
/// lies inside one such run, and each run is searched with its neighbours in view, so the
/// results are those of a search over the whole leaf.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scope {
    /// The whole leaf.
    Text,
    /// Runs of `[0-9]`, ASCII whitespace and `-.+()`.
    Numeric,
    /// Runs of `[A-Za-z0-9]`.
    Alnum,
    /// Runs of `[A-Z0-9 ]`: grouped print formats written in capitals (a lower-case letter
    /// ends the run, so prose does not make long runs).
    UpperSpaced,
    /// Runs of `[A-Za-z0-9_.+/=%-]`: prefixed tokens (base64 and URL-escaped bodies included).
    /// The rule's anchors are the prefixes; one must start the run or follow one of `.-+/=%`
    /// in it (the
    /// places a `\b` before the prefix can hold), which a table lookup checks before any
    /// pattern runs.
    Token,
}

/// Cheap facts a leaf must have before the rule's regex runs (see `prefilter`).
#[derive(Clone, Copy)]
pub struct Gate {
    pub scope: Scope,
    /// Digits in the leaf (and, for a scoped rule, in the run).
    pub min_digits: u16,
    /// Longest digit run in the run (scoped rules only).
    pub min_digit_run: u16,
    /// A scoped rule's run must contain one of these bytes (empty: no such need).
    pub run_needs_any: &'static [u8],
    /// A scoped rule's run must hold a maximal digit run of one of these lengths (bit `n` for
    /// length `n`, 31 for 31 or more; 0: any). Follows from the rule's neighbour checks, e.g.
    /// a 12-digit number with no digit on either side is a maximal run of exactly 12.
    pub run_lengths: u32,
    /// Letters a scoped rule's run must hold (a DNI's check letter, a NINO's three letters).
    pub min_letters: u16,
    /// A scoped rule's run must hold a letter directly followed by a digit (`[A-Z]{2}\d{2}`).
    pub letter_then_digit: bool,
    pub needs_at: bool,
    pub needs_plus: bool,
    /// A `:` or `=` must occur.
    pub needs_assign: bool,
    /// A `_` or `-` must occur (digitless prefixed tokens: every such prefix has one).
    pub needs_separator: bool,
    /// At least one of these literals must occur (empty: no literal needed).
    pub anchors: &'static [&'static str],
    /// Whether `anchors` are matched ASCII-case-insensitively.
    pub anchors_fold_case: bool,
    /// How many bytes before the first anchor it contains a match can start (0: every match
    /// begins with an anchor). The engine starts its search there and stops after the last
    /// anchor, so this must hold for every match; the table test checks it on the samples.
    pub anchor_lead: u8,
}

impl Gate {
    pub const fn digits(min_digits: u16, min_digit_run: u16) -> Gate {
        Gate {
            scope: Scope::Text,
            run_needs_any: &[],
            run_lengths: 0,
            min_letters: 0,
            letter_then_digit: false,
            min_digits,
            min_digit_run,
            needs_at: false,
            needs_plus: false,
            needs_assign: false,
            needs_separator: false,
            anchors: &[],
            anchors_fold_case: false,
            anchor_lead: 0,
        }
    }

    /// Every match begins with one of `anchors` (see [`Gate::lead`] otherwise).
    pub const fn anchors(anchors: &'static [&'static str]) -> Gate {
        Gate {
            scope: Scope::Text,
            run_needs_any: &[],
            run_lengths: 0,
            min_letters: 0,
            letter_then_digit: false,
            min_digits: 0,
            min_digit_run: 0,
            needs_at: false,
            needs_plus: false,
            needs_assign: false,
            needs_separator: false,
            anchors,
            anchors_fold_case: false,
            anchor_lead: 0,
        }
    }

    /// A scoped rule: `min_digits` digits with a run of `min_digit_run` inside one run of
    /// `scope`, which must contain one of `needs` (if any).
    pub const fn scoped(
        scope: Scope,
        min_digits: u16,
        min_digit_run: u16,
        needs: &'static [u8],
    ) -> Gate {
        Gate {
            scope,
            run_needs_any: needs,
            ..Gate::digits(min_digits, min_digit_run)
        }
    }

    /// The same gate, also requiring a maximal digit run of one of `lengths`.
    pub const fn lengths(self, lengths: &[u16]) -> Gate {
        let mut mask = 0u32;
        let mut i = 0;
        while i < lengths.len() {
            let n = if lengths[i] > 31 { 31 } else { lengths[i] };
            mask |= 1 << n;
            i += 1;
        }
        Gate {
            run_lengths: mask,
            ..self
        }
    }

    /// The same gate, also requiring `n` letters in the run.
    pub const fn letters(self, n: u16) -> Gate {
        Gate {
            min_letters: n,
            ..self
        }
    }

    /// The same gate, also requiring a letter directly followed by a digit in the run.
    pub const fn letter_then_digit(self) -> Gate {
        Gate {
            letter_then_digit: true,
            ..self
        }
    }

    pub const fn anchors_any_case(anchors: &'static [&'static str]) -> Gate {
        Gate {
            anchors_fold_case: true,
            ..Gate::anchors(anchors)
        }
    }

    /// A prefixed token with at least `min_digits` digits (see [`Scope::Token`]). A format
    /// whose body may hold no digit (`min_digits` 0) is found from the `_` or `-` of its
    /// prefix instead, which the leaf must then hold.
    pub const fn token(prefixes: &'static [&'static str], min_digits: u16) -> Gate {
        Gate {
            scope: Scope::Token,
            min_digits,
            needs_separator: min_digits == 0,
            ..Gate::anchors(prefixes)
        }
    }

    /// The same gate, for matches that may start up to `bytes` before their first anchor.
    pub const fn lead(self, bytes: u8) -> Gate {
        Gate {
            anchor_lead: bytes,
            ..self
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

impl Rule {
    /// The same rule with another check.
    pub const fn with_check(self, check: Check) -> Rule {
        Rule { check, ..self }
    }
}

/// The built-in rules in attribution order.
pub fn builtin() -> impl Iterator<Item = &'static Rule> {
    pii::HEAD
        .iter()
        .chain(providers::RULES)
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

/// Not inside the authority of a URL (`https://user:pass@host`): what precedes, back to the
/// nearest blank or `/`, must not end in `://`. The userinfo is the URL rule's, not an email.
pub fn before_not_url_authority(text: &[u8], at: usize) -> bool {
    let head = &text[..at.min(text.len())];
    let run = head
        .iter()
        .rev()
        .take_while(|&&b| !b.is_ascii_whitespace() && b != b'/')
        .count();
    !head[..head.len() - run].ends_with(b"://")
}

/// Not before `:` and a non-blank: `git@github.com:org/repo.git` is an scp-style remote and
/// `user@host.example:22` a login, not email addresses.
pub fn after_not_scp_path(text: &[u8], at: usize) -> bool {
    !(next(text, at) == Some(b':') && next(text, at + 1).is_some_and(|b| !b.is_ascii_whitespace()))
}

/// `key = value`: the key must not continue a longer alphanumeric name (`xtoken=` is not a
/// token assignment), but a namespace separator is fine (`DB_PASSWORD=`, `x-api-key:`), and so
/// is a camelCase word boundary (`authToken:`, `dtApiToken`).
pub fn before_assignment_key(text: &[u8], at: usize) -> bool {
    match prev(text, at) {
        Some(b) if b.is_ascii_alphanumeric() => {
            (b.is_ascii_lowercase() || b.is_ascii_digit())
                && next(text, at).is_some_and(|k| k.is_ascii_uppercase())
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests;
