//! The table test: every rule compiles, carries samples, and behaves as its samples say.

use super::*;
use crate::detect::{builtin_regex, engine::Compiled, is_hard_block, BUILTIN_TYPES};
use std::sync::Arc;

fn compiled(rule: &'static Rule) -> Compiled {
    let regex = builtin_regex(rule.pattern)
        .unwrap_or_else(|e| panic!("rule {} does not compile: {e}", rule.id));
    Compiled {
        id: Arc::from(rule.id),
        detection_type: Arc::from(rule.detection_type),
        confidence: rule.confidence,
        regex,
        lowered: None,
        direction: rule.direction,
        before: rule.before,
        after: rule.after,
        check: rule.check,
        emit: rule.emit,
        gate: Some(rule.gate),
        decode_eligible: false,
        snap_to_chars: false,
        min_len: 0,
    }
}

#[test]
fn every_sample_of_every_rule() {
    let mut failures = Vec::new();
    for rule in builtin() {
        let c = compiled(rule);
        assert!(
            !rule.samples.matches.is_empty(),
            "{} has no true-positive samples",
            rule.id
        );
        assert!(
            !rule.samples.ignores.is_empty(),
            "{} has no false-positive samples",
            rule.id
        );
        for sample in rule.samples.matches {
            if !c.matches(sample.as_bytes()) {
                failures.push(format!("{}: should match {sample:?}", rule.id));
            }
        }
        for (sample, why) in rule.samples.ignores {
            assert!(
                !why.is_empty(),
                "{}: say why {sample:?} must not match",
                rule.id
            );
            if c.matches(sample.as_bytes()) {
                failures.push(format!("{}: must not match {sample:?} ({why})", rule.id));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn table_is_consistent() {
    let rules: Vec<&Rule> = builtin().collect();
    assert!(
        rules.len() <= crate::detect::ruleset::RuleSet::CAPACITY,
        "every built-in rule needs a place in a RuleSet"
    );
    for (i, rule) in rules.iter().enumerate() {
        assert!(
            rules[..i].iter().all(|r| r.id != rule.id),
            "duplicate rule id {}",
            rule.id
        );
        assert_eq!(
            rule.hard_block,
            is_hard_block(rule.detection_type),
            "{}",
            rule.id
        );
        assert!(BUILTIN_TYPES.contains(&rule.detection_type), "{}", rule.id);
        assert!((0.0..=1.0).contains(&rule.confidence), "{}", rule.id);
        for anchor in rule.gate.anchors {
            assert!(!anchor.is_empty(), "{}: empty anchor", rule.id);
            // The prefix table looks prefixes up by their first two bytes.
            assert!(
                rule.gate.scope != Scope::Token || anchor.len() >= 2,
                "{}: a token prefix needs two bytes or more",
                rule.id
            );
        }
    }
    for ty in BUILTIN_TYPES {
        assert!(
            rules.iter().any(|r| r.detection_type == *ty),
            "no rule emits {ty}"
        );
    }
}

/// A gate must never reject text its rule would match: check every positive sample against
/// the rule's own gate.
#[test]
fn gates_admit_every_positive_sample() {
    let rules: Vec<&'static Rule> = builtin().collect();
    let prefilter =
        crate::detect::prefilter::Prefilter::new(rules.iter().enumerate().map(|(i, r)| {
            (
                crate::detect::ruleset::RuleSet::one(i),
                &r.gate,
                r.direction,
            )
        }));
    let prefixes = crate::detect::prefixes::Prefixes::new(
        rules
            .iter()
            .enumerate()
            .map(|(i, r)| (crate::detect::ruleset::RuleSet::one(i), &r.gate)),
    );
    for (i, rule) in rules.iter().enumerate() {
        let direction = rule.direction.unwrap_or_default();
        for sample in rule.samples.matches {
            let admitted = prefilter.admit(sample.as_bytes(), direction).rules;
            assert!(admitted.contains(i), "{} gate rejects {sample:?}", rule.id);
            if rule.gate.scope != Scope::Text {
                let mut run_admits = false;
                let text = sample.as_bytes();
                let mut visit = |run: crate::detect::runs::Run| {
                    let by_prefix =
                        rule.gate.scope != Scope::Token || prefixes.in_run(text, &run).contains(i);
                    run_admits |= by_prefix && run.admits(&rule.gate, text);
                    true
                };
                let min_digits = usize::from(rule.gate.min_digits);
                crate::detect::runs::for_each_run(text, rule.gate.scope, min_digits, 0, &mut visit);
                if rule.gate.scope == Scope::Token && min_digits == 0 {
                    crate::detect::runs::for_each_digitless_token_run(text, 0, &mut visit);
                }
                assert!(
                    run_admits,
                    "{}: no run of {sample:?} passes the gate",
                    rule.id
                );
            }
        }
    }
}

/// An anchored rule's promise (`Gate::anchor_lead`): every match of every positive sample
/// has an anchor starting at most `anchor_lead` bytes after the match starts.
#[test]
fn anchored_matches_start_within_their_lead() {
    for rule in builtin().filter(|r| !r.gate.anchors.is_empty()) {
        let c = compiled(rule);
        for sample in rule.samples.matches {
            let text = if rule.gate.anchors_fold_case {
                sample.to_ascii_lowercase()
            } else {
                sample.to_string()
            };
            let anchors: Vec<String> = rule
                .gate
                .anchors
                .iter()
                .map(|a| {
                    if rule.gate.anchors_fold_case {
                        a.to_ascii_lowercase()
                    } else {
                        a.to_string()
                    }
                })
                .collect();
            let mut starts = Vec::new();
            let mut at = 0;
            while let Some(m) = c.regex.find_at(sample.as_bytes(), at) {
                starts.push(m.start());
                at = m.start() + 1;
            }
            assert!(!starts.is_empty(), "{}: {sample:?}", rule.id);
            for start in starts {
                let lead = usize::from(rule.gate.anchor_lead);
                let ok = (start..=start + lead).any(|p| {
                    anchors
                        .iter()
                        .any(|a| text.get(p..).is_some_and(|t| t.starts_with(a.as_str())))
                });
                assert!(
                    ok,
                    "{}: a match at {start} of {sample:?} has no anchor within {lead} bytes",
                    rule.id
                );
            }
        }
    }
}
