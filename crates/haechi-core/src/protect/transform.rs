//! String-level transforms: merging overlapping detections, the mask, markers, and splicing
//! replacement tokens into the original bytes.

use std::ops::Range;

use crate::vocab::Action;

/// A detection span inside one leaf with the action the policy gave it.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub action: Action,
    /// Index of the detection (for its type and rule id).
    pub detection: usize,
}

/// Merge overlapping spans into their union, keeping the strongest action (the first detection
/// with that strength names the type). Input need not be sorted. `allow` groups are dropped.
pub fn merge_overlaps(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by_key(|span| (span.start, std::cmp::Reverse(span.end)));
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start < last.end => {
                last.end = last.end.max(span.end);
                if span.action.strength() > last.action.strength() {
                    last.action = span.action;
                    last.detection = span.detection;
                }
            }
            _ => merged.push(span),
        }
    }
    merged.retain(|span| span.action != Action::Allow);
    merged
}

/// The reference's mask: values of 8 characters or fewer are fully masked; longer values keep
/// their first two and last two characters around at least four asterisks.
pub fn mask(segment: &str) -> String {
    let count = segment.chars().count();
    if count <= 8 {
        return "*".repeat(count);
    }
    let head: String = segment.chars().take(2).collect();
    let tail: String = segment.chars().skip(count - 2).collect();
    format!("{head}{}{tail}", "*".repeat((count - 4).max(4)))
}

/// Replace each `(span, replacement)` in `input`; spans are disjoint raw-token ranges.
pub fn splice(input: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(span, _)| span.start);
    let extra: usize = edits.iter().map(|(_, text)| text.len()).sum();
    let mut out = String::with_capacity(input.len() + extra);
    let mut cursor = 0;
    for (span, replacement) in edits {
        out.push_str(&input[cursor..span.start]);
        out.push_str(&replacement);
        cursor = span.end;
    }
    out.push_str(&input[cursor..]);
    out
}

/// JSON-encode a string (quotes included).
pub fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| String::from("\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_matches_reference_shape() {
        assert_eq!(mask("12345678"), "********");
        assert_eq!(mask("010-1234-5678"), "01*********78");
        assert_eq!(mask("abcdefghi"), "ab*****hi");
        assert_eq!(mask("가나다라마바사아자"), "가나*****아자");
    }

    #[test]
    fn overlaps_take_the_union_and_the_strongest_action() {
        let spans = vec![
            Span {
                start: 0,
                end: 10,
                action: Action::Redact,
                detection: 0,
            },
            Span {
                start: 5,
                end: 20,
                action: Action::Tokenize,
                detection: 1,
            },
            Span {
                start: 30,
                end: 35,
                action: Action::Allow,
                detection: 2,
            },
            Span {
                start: 40,
                end: 45,
                action: Action::Mask,
                detection: 3,
            },
        ];
        let merged = merge_overlaps(spans);
        assert_eq!(merged.len(), 2);
        assert_eq!((merged[0].start, merged[0].end), (0, 20));
        assert_eq!(merged[0].action, Action::Tokenize);
        assert_eq!(merged[0].detection, 1);
        assert_eq!(merged[1].action, Action::Mask);
    }

    #[test]
    fn splice_replaces_disjoint_spans() {
        let out = splice(
            "{\"a\":\"x\",\"b\":\"y\"}",
            vec![(13..16, "\"Z\"".into()), (5..8, "\"Q\"".into())],
        );
        assert_eq!(out, "{\"a\":\"Q\",\"b\":\"Z\"}");
    }
}
