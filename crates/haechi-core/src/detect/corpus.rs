//! Scoring of the labeled detection corpus (`tests/corpus/*.json`, format in its README).
//! Shared by the `detection_corpus` example (prints the table, writes the baseline) and the
//! `corpus` integration test (the regression gate). No I/O here: callers pass file contents.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::{json, Value};

use super::{Detector, Finding};
use crate::config::FiltersConfig;
use crate::vocab::{Direction, LeafKind};

/// Overall precision the gate requires.
pub const MIN_OVERALL_PRECISION: f64 = 0.99;
/// Overall recall the gate requires.
pub const MIN_OVERALL_RECALL: f64 = 0.98;

/// One corpus file: the type it focuses on and its cases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusFile {
    #[serde(rename = "type")]
    pub detection_type: String,
    pub cases: Vec<Case>,
}

/// One labeled text. `expect` lists every type the text contains.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Case {
    pub text: String,
    pub expect: Vec<String>,
    #[serde(default)]
    pub direction: Option<Direction>,
    #[serde(default)]
    pub kind: Option<LeafKind>,
    #[serde(default)]
    pub decode_and_rescan: bool,
    #[serde(default)]
    pub note: String,
}

/// The JavaScript Haechi's labeled corpus (`tests/fixtures/detection-corpus.json` in its
/// repository): each case says, per listed type, whether it is present. Types a case does not
/// list are not scored for it.
#[derive(Debug, Deserialize)]
pub struct ReferenceCorpus {
    pub cases: Vec<ReferenceCase>,
}

#[derive(Debug, Deserialize)]
pub struct ReferenceCase {
    pub text: String,
    #[serde(default)]
    pub direction: Option<Direction>,
    pub expect: Vec<ReferenceExpectation>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Deserialize)]
pub struct ReferenceExpectation {
    #[serde(rename = "type")]
    pub detection_type: String,
    pub present: bool,
}

/// True/false positive and false negative counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        1.0
    } else {
        num as f64 / den as f64
    }
}

/// A case where the detector disagreed with the label.
#[derive(Debug, Clone)]
pub struct Miss {
    pub file: String,
    pub text: String,
    pub note: String,
    pub missing: Vec<String>,
    pub unexpected: Vec<String>,
}

/// Per-type counts over a whole corpus.
#[derive(Debug, Default)]
pub struct Report {
    pub per_type: BTreeMap<String, Counts>,
    pub misses: Vec<Miss>,
    pub cases: usize,
}

/// The two detectors a corpus run needs: default filters, and decode-and-rescan on.
pub struct Scorer {
    plain: Detector,
    decoding: Detector,
}

impl Scorer {
    pub fn new() -> Result<Scorer, super::DetectError> {
        let plain = Detector::new(&FiltersConfig::default())?;
        let decoding = Detector::new(&FiltersConfig {
            decode_and_rescan: true,
            ..FiltersConfig::default()
        })?;
        Ok(Scorer { plain, decoding })
    }

    /// The types found in `text`, sorted and deduplicated.
    fn types_in(&self, text: &str, case: Option<&Case>, direction: Direction) -> Vec<String> {
        let detector = match case {
            Some(c) if c.decode_and_rescan => &self.decoding,
            _ => &self.plain,
        };
        let mut found: Vec<Finding> = Vec::new();
        let kind = case.and_then(|c| c.kind).unwrap_or(LeafKind::Value);
        detector.scan(text, kind, direction, &mut found);
        let mut got: Vec<String> = found.iter().map(|f| f.detection_type.to_string()).collect();
        got.sort();
        got.dedup();
        got
    }

    /// Scores the reference's corpus the way its own scorer does: only the listed types count.
    pub fn score_reference(&self, corpus: &ReferenceCorpus) -> Report {
        let mut report = Report::default();
        for case in &corpus.cases {
            report.cases += 1;
            let got = self.types_in(
                &case.text,
                None,
                case.direction.unwrap_or(Direction::Request),
            );
            let (mut missing, mut unexpected) = (Vec::new(), Vec::new());
            for expect in &case.expect {
                let ty = &expect.detection_type;
                let counts = report.per_type.entry(ty.clone()).or_default();
                match (expect.present, got.contains(ty)) {
                    (true, true) => counts.tp += 1,
                    (true, false) => {
                        counts.fn_ += 1;
                        missing.push(ty.clone());
                    }
                    (false, true) => {
                        counts.fp += 1;
                        unexpected.push(ty.clone());
                    }
                    (false, false) => {}
                }
            }
            if !missing.is_empty() || !unexpected.is_empty() {
                report.misses.push(Miss {
                    file: "reference".into(),
                    text: case.text.clone(),
                    note: case.note.clone(),
                    missing,
                    unexpected,
                });
            }
        }
        report
    }

    /// Score every case of every file.
    pub fn score(&self, files: &[CorpusFile]) -> Report {
        let mut report = Report::default();
        for file in files {
            report
                .per_type
                .entry(file.detection_type.clone())
                .or_default();
            for case in &file.cases {
                report.cases += 1;
                let got = self.types_in(
                    &case.text,
                    Some(case),
                    case.direction.unwrap_or(Direction::Request),
                );
                let mut missing = Vec::new();
                for ty in &case.expect {
                    let counts = report.per_type.entry(ty.clone()).or_default();
                    if got.contains(ty) {
                        counts.tp += 1;
                    } else {
                        counts.fn_ += 1;
                        missing.push(ty.clone());
                    }
                }
                let mut unexpected = Vec::new();
                for ty in &got {
                    if !case.expect.contains(ty) {
                        report.per_type.entry(ty.clone()).or_default().fp += 1;
                        unexpected.push(ty.clone());
                    }
                }
                if !missing.is_empty() || !unexpected.is_empty() {
                    report.misses.push(Miss {
                        file: file.detection_type.clone(),
                        text: case.text.clone(),
                        note: case.note.clone(),
                        missing,
                        unexpected,
                    });
                }
            }
        }
        report
    }
}

impl Report {
    /// Micro-averaged counts over all types.
    pub fn overall(&self) -> Counts {
        self.per_type
            .values()
            .fold(Counts::default(), |acc, c| Counts {
                tp: acc.tp + c.tp,
                fp: acc.fp + c.fp,
                fn_: acc.fn_ + c.fn_,
            })
    }

    /// A fixed-width table of per-type and overall scores.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<18} {:>4} {:>4} {:>4} {:>9} {:>7}",
            "type", "TP", "FP", "FN", "precision", "recall"
        );
        let row = |out: &mut String, name: &str, c: &Counts| {
            let _ = writeln!(
                out,
                "{:<18} {:>4} {:>4} {:>4} {:>9.4} {:>7.4}",
                name,
                c.tp,
                c.fp,
                c.fn_,
                c.precision(),
                c.recall()
            );
        };
        for (ty, c) in &self.per_type {
            row(&mut out, ty, c);
        }
        row(&mut out, "OVERALL", &self.overall());
        let _ = writeln!(out, "{} cases", self.cases);
        out
    }

    /// The baseline document written by `--write-baseline`.
    pub fn baseline(&self) -> Value {
        let entry = |c: &Counts| {
            json!({
                "tp": c.tp, "fp": c.fp, "fn": c.fn_,
                "precision": round4(c.precision()), "recall": round4(c.recall()),
            })
        };
        let types: serde_json::Map<String, Value> = self
            .per_type
            .iter()
            .map(|(t, c)| (t.clone(), entry(c)))
            .collect();
        json!({ "overall": entry(&self.overall()), "types": types })
    }

    /// Every way this report falls short of `baseline` or of the overall floor.
    pub fn regressions(&self, baseline: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        let overall = self.overall();
        if overall.precision() < MIN_OVERALL_PRECISION {
            problems.push(format!(
                "overall precision {:.4} < {MIN_OVERALL_PRECISION}",
                overall.precision()
            ));
        }
        if overall.recall() < MIN_OVERALL_RECALL {
            problems.push(format!(
                "overall recall {:.4} < {MIN_OVERALL_RECALL}",
                overall.recall()
            ));
        }
        let Some(types) = baseline.get("types").and_then(Value::as_object) else {
            problems.push(
                "baseline has no \"types\" object; regenerate it with --write-baseline".into(),
            );
            return problems;
        };
        for (ty, base) in types {
            let Some(now) = self.per_type.get(ty) else {
                problems.push(format!("{ty}: in the baseline but no longer scored"));
                continue;
            };
            for (metric, value) in [("precision", now.precision()), ("recall", now.recall())] {
                let floor = base.get(metric).and_then(Value::as_f64).unwrap_or(1.0);
                if round4(value) < floor {
                    problems.push(format!("{ty}: {metric} {value:.4} < baseline {floor:.4}"));
                }
            }
        }
        problems
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
