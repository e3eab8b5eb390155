//! The detection regression gate: every type's precision and recall on `tests/corpus/` must
//! stay at or above `tests/corpus/baseline.json`, and overall precision ≥ 0.99, recall ≥ 0.98.
//! After an intended improvement, re-pin with
//! `cargo run -p haechi-core --example detection_corpus -- --write-baseline`.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use haechi_core::detect::corpus::{CorpusFile, Report, Scorer};
use haechi_core::detect::BUILTIN_TYPES;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

type TestResult = Result<(), Box<dyn Error>>;

fn load() -> Result<Vec<CorpusFile>, Box<dyn Error>> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(corpus_dir())? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "json") && !path.ends_with("baseline.json") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let text = fs::read_to_string(&path)?;
        files.push(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    Ok(files)
}

#[test]
fn corpus_has_every_builtin_type_with_enough_cases() -> TestResult {
    let files = load()?;
    for ty in BUILTIN_TYPES {
        let file = files
            .iter()
            .find(|f| f.detection_type == *ty)
            .ok_or_else(|| format!("no corpus file for {ty}"))?;
        let positives = file
            .cases
            .iter()
            .filter(|c| c.expect.iter().any(|t| t == ty))
            .count();
        let negatives = file.cases.len() - positives;
        assert!(positives >= 15, "{ty}: {positives} positives (need 15)");
        assert!(
            negatives >= 10,
            "{ty}: {negatives} hard negatives (need 10)"
        );
    }
    Ok(())
}

#[test]
fn no_regression_against_the_baseline() -> TestResult {
    let report = Scorer::new()?.score(&load()?);
    let baseline_text = fs::read_to_string(corpus_dir().join("baseline.json"))
        .map_err(|e| format!("tests/corpus/baseline.json ({e}); write it with --write-baseline"))?;
    let baseline: serde_json::Value = serde_json::from_str(&baseline_text)?;
    let problems = report.regressions(&baseline);
    assert!(
        problems.is_empty(),
        "detection regressed:\n{}\n\n{}",
        problems.join("\n"),
        report.table()
    );
    Ok(())
}

/// Credentials as developers paste them (prose in several languages, `.env`, YAML, JSON, CI
/// logs, connection strings): recall at least 0.95 at precision at least 0.99 over
/// `credentials.json`, whatever the baseline says.
#[test]
fn credentials_in_free_text_meet_the_bar() -> TestResult {
    let path = corpus_dir().join("credentials.json");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: CorpusFile = serde_json::from_str(&text)?;
    let report: Report = Scorer::new()?.score(&[file]);
    let overall = report.overall();
    assert!(
        overall.recall() >= 0.95 && overall.precision() >= 0.99,
        "credentials: recall {:.4}, precision {:.4}\n{}",
        overall.recall(),
        overall.precision(),
        report.table()
    );
    Ok(())
}

/// Policies and audit reports name rules by id: the README lists every credential rule's id
/// (`secret` and `api_key`), so a rule added to the table is documented or this fails.
#[test]
fn the_readme_lists_every_credential_rule_id() -> TestResult {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = fs::read_to_string(&readme_path)?;
    let missing: Vec<&str> = haechi_core::detect::rules::builtin()
        .filter(|r| matches!(r.detection_type, "secret" | "api_key"))
        .map(|r| r.id)
        .filter(|id| !readme.contains(&format!("`{id}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md does not list these credential rule ids: {}",
        missing.join(", ")
    );
    Ok(())
}
