//! Scores a labeled detection corpus: per-type TP/FP/FN, precision and recall, plus every
//! case the detector got wrong.
//!
//! ```text
//! cargo run -p haechi-core --example detection_corpus                      # tests/corpus
//! cargo run -p haechi-core --example detection_corpus -- --write-baseline  # pin the baseline
//! cargo run -p haechi-core --example detection_corpus -- --dir D           # another corpus dir
//! cargo run -p haechi-core --example detection_corpus -- --reference F     # the JS Haechi's
//!                                      # tests/fixtures/detection-corpus.json, scored its way
//! ```

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use haechi_core::detect::corpus::{CorpusFile, ReferenceCorpus, Report, Scorer};

fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

fn load(dir: &Path) -> Result<Vec<CorpusFile>, Box<dyn Error>> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.ends_with("baseline.json"))
        .collect();
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let text = fs::read_to_string(&path)?;
        let file: CorpusFile =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        files.push(file);
    }
    Ok(files)
}

/// The value after `flag`, if the flag is given.
fn option(args: &[String], flag: &str) -> Result<Option<PathBuf>, String> {
    match args.iter().position(|a| a == flag) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .map(|v| Some(PathBuf::from(v)))
            .ok_or_else(|| format!("{flag} needs a path")),
    }
}

fn print(report: &Report) {
    for miss in &report.misses {
        println!(
            "MISS [{}] missing={:?} unexpected={:?} :: {} ({})",
            miss.file, miss.missing, miss.unexpected, miss.text, miss.note
        );
    }
    print!("{}", report.table());
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scorer = Scorer::new()?;
    if let Some(path) = option(&args, "--reference")? {
        let text = fs::read_to_string(&path)?;
        let corpus: ReferenceCorpus =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        print(&scorer.score_reference(&corpus));
        return Ok(());
    }
    let dir = option(&args, "--dir")?.unwrap_or_else(default_dir);
    let report = scorer.score(&load(&dir)?);
    print(&report);
    if args.iter().any(|a| a == "--write-baseline") {
        let path = dir.join("baseline.json");
        fs::write(
            &path,
            serde_json::to_string_pretty(&report.baseline())? + "\n",
        )?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
