//! `filters.customRules`: operator patterns written in JavaScript regex syntax, compiled with
//! the linear-time `regex` engine (no catastrophic backtracking, so nested quantifiers are
//! safe). Constructs that engine cannot run — backreferences and look-around — are refused at
//! load with a message that says what to change.
//!
//! JavaScript's `\d`, `\w` and `\b` are ASCII-only whatever the flags, so they are rewritten
//! to ASCII classes; everything else keeps Unicode semantics.

use std::sync::Arc;

use regex::bytes::RegexBuilder;

use super::engine::Compiled;
use super::rules::{Check, Emit};
use super::{is_hard_block, DetectError};
use crate::config::CustomRuleConfig;

/// The reference's pattern length cap.
pub const MAX_PATTERN_LEN: usize = 500;
/// Confidence of a custom rule that does not set one.
pub const DEFAULT_CONFIDENCE: f64 = 0.7;
/// Compiled-program size cap per rule, so one pattern cannot take unbounded memory.
const SIZE_LIMIT: usize = 2 * 1024 * 1024;

pub(crate) fn compile(index: usize, rule: &CustomRuleConfig) -> Result<Compiled, DetectError> {
    let fail = |reason: String| DetectError::InvalidCustomRule {
        index,
        id: rule.id.clone(),
        reason,
    };
    if rule.id.trim().is_empty() || rule.detection_type.trim().is_empty() || rule.pattern.is_empty()
    {
        return Err(fail(
            "a custom rule needs a non-empty id, type and pattern; fill in the missing field"
                .into(),
        ));
    }
    if rule.pattern.chars().count() > MAX_PATTERN_LEN {
        return Err(fail(format!(
            "pattern is longer than {MAX_PATTERN_LEN} characters; shorten it or split it into several rules"
        )));
    }
    let flags = parse_flags(rule.flags.as_deref().unwrap_or("g")).map_err(fail)?;
    let pattern = translate(&rule.pattern).map_err(fail)?;
    let regex = RegexBuilder::new(&pattern)
        .case_insensitive(flags.ignore_case)
        .multi_line(flags.multi_line)
        .dot_matches_new_line(flags.dot_all)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| fail(explain(&e)))?;
    let confidence = rule.confidence.unwrap_or(DEFAULT_CONFIDENCE);
    if !confidence.is_finite() {
        return Err(fail("confidence must be a number between 0 and 1".into()));
    }
    let hard_block = is_hard_block(&rule.detection_type);
    Ok(Compiled {
        id: Arc::from(rule.id.as_str()),
        detection_type: Arc::from(rule.detection_type.as_str()),
        confidence,
        regex,
        lowered: None,
        direction: None,
        before: None,
        after: None,
        check: Check::None,
        emit: Emit::Whole,
        gate: None,
        decode_eligible: hard_block,
        snap_to_chars: true,
        min_len: 0,
    })
}

#[derive(Default)]
struct Flags {
    ignore_case: bool,
    multi_line: bool,
    dot_all: bool,
}

/// JavaScript flags: `i`, `m`, `s` map to the engine; `u` is implied (we always match Unicode
/// text); `g` and `d` do not change what matches. `y` and `v` change matching in ways we do
/// not reproduce, so they are refused.
fn parse_flags(flags: &str) -> Result<Flags, String> {
    let mut out = Flags::default();
    for f in flags.chars() {
        match f {
            'i' => out.ignore_case = true,
            'm' => out.multi_line = true,
            's' => out.dot_all = true,
            'u' | 'g' | 'd' => {}
            'y' | 'v' => {
                return Err(format!(
                    "flag '{f}' is not supported; use only the flags i, m, s, u (g is accepted and ignored)"
                ))
            }
            _ => {
                return Err(format!(
                    "unknown regex flag '{}'; allowed flags are i, m, s, u and g",
                    f.escape_default()
                ))
            }
        }
    }
    Ok(out)
}

/// Rewrites JavaScript-only syntax into the `regex` crate's and refuses what it cannot run.
fn translate(pattern: &str) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let at_class_start = std::mem::take(&mut class_start);
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    return Err("pattern ends with a lone backslash; escape it as \\\\".into());
                };
                match e {
                    '1'..='9' => return Err(backreference()),
                    'k' if chars.peek() == Some(&'<') => return Err(backreference()),
                    'd' => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                    'D' => out.push_str("[^0-9]"),
                    'w' => out.push_str(if in_class {
                        "0-9A-Za-z_"
                    } else {
                        "[0-9A-Za-z_]"
                    }),
                    'W' => out.push_str("[^0-9A-Za-z_]"),
                    'b' if in_class => out.push_str("\\x08"),
                    'b' => out.push_str("(?-u:\\b)"),
                    'B' => out.push_str("(?-u:\\B)"),
                    '0' => out.push_str("\\x00"),
                    '/' => out.push('/'),
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '(' if !in_class && chars.peek() == Some(&'?') => {
                let mut ahead = chars.clone();
                ahead.next();
                let next = ahead.next();
                let after = ahead.next();
                let lookaround = matches!(next, Some('=') | Some('!'))
                    || (next == Some('<') && matches!(after, Some('=') | Some('!')));
                if lookaround {
                    return Err(
                        "pattern uses look-around ((?=, (?!, (?<=, (?<!), which the linear-time \
                        regex engine does not support; match the surrounding text instead"
                            .into(),
                    );
                }
                out.push('(');
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
                if chars.peek() == Some(&']') {
                    return Err("pattern has an empty character class ([] or [^]); remove it or list the characters".into());
                }
            }
            ']' if in_class && !at_class_start => {
                in_class = false;
                out.push(']');
            }
            // Inside a JavaScript class these are literals; the regex crate gives them meaning.
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

fn backreference() -> String {
    "pattern uses a backreference (\\1 or \\k<name>), which the linear-time regex engine does not \
     support; rewrite the rule without it"
        .into()
}

/// A compile error as a message that names the problem, without echoing the pattern.
fn explain(error: &regex::Error) -> String {
    match error {
        regex::Error::CompiledTooBig(_) => {
            "pattern compiles to a program that is too large (large counted repetitions?); simplify it"
                .into()
        }
        regex::Error::Syntax(text) => {
            let detail = text.lines().last().unwrap_or("invalid syntax").trim();
            let detail = detail.strip_prefix("error: ").unwrap_or(detail);
            format!("pattern is not a valid regular expression ({detail}); fix the syntax")
        }
        _ => "pattern could not be compiled; simplify it".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pattern: &str, flags: Option<&str>) -> CustomRuleConfig {
        CustomRuleConfig {
            id: "r".into(),
            detection_type: "contract_id".into(),
            pattern: pattern.into(),
            flags: flags.map(Into::into),
            confidence: None,
        }
    }

    fn reason(pattern: &str, flags: Option<&str>) -> String {
        match compile(3, &rule(pattern, flags)) {
            Err(DetectError::InvalidCustomRule { index, reason, .. }) => {
                assert_eq!(index, 3);
                reason
            }
            Ok(_) => String::new(),
        }
    }

    #[test]
    fn translation_keeps_javascript_meaning() {
        assert_eq!(
            translate(r"\d{3}\b").unwrap_or_default(),
            r"[0-9]{3}(?-u:\b)"
        );
        assert_eq!(translate(r"[\w-]+").unwrap_or_default(), r"[0-9A-Za-z_-]+");
        assert_eq!(translate(r"a\/b").unwrap_or_default(), "a/b");
        assert_eq!(translate(r"[a&&b]").unwrap_or_default(), r"[a\&\&b]");
        assert!(translate(r"[]a]").is_err());
    }

    #[test]
    fn unsafe_or_unsupported_patterns_are_refused() {
        assert!(reason("(a)\\1", None).contains("backreference"));
        assert!(reason("(?<n>a)\\k<n>", None).contains("backreference"));
        assert!(reason("a(?=b)", None).contains("look-around"));
        assert!(reason("(?<!a)b", None).contains("look-around"));
        assert!(reason(&"a".repeat(501), None).contains("longer than 500"));
        assert!(reason("a", Some("gy")).contains("flag 'y'"));
        assert!(reason("a", Some("x")).contains("unknown regex flag"));
        assert!(reason("a(", None).contains("not a valid regular expression"));
        assert!(reason("a{1000}{1000}", None).contains("too large"));
    }

    #[test]
    fn nested_quantifiers_are_fine_in_a_linear_engine() {
        assert!(compile(0, &rule("(a+)+$", None)).is_ok());
        assert!(compile(0, &rule("(?<name>CT)-\\d{6}", Some("gi"))).is_ok());
    }

    #[test]
    fn error_message_names_the_rule() {
        let err = compile(2, &rule("a(?=b)", None)).err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.starts_with("filters.customRules[2] (r): pattern uses look-around"),
            "{text}"
        );
    }
}
