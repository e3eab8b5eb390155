//! Scores the labeled detection corpus in `tests/corpus/`: per-type TP/FP/FN, precision and
//! recall, plus every case the detector got wrong.
//!
//! ```text
//! cargo run -p haechi-core --example detection_corpus                    # print the table
//! cargo run -p haechi-core --example detection_corpus -- --write-baseline  # pin the baseline
//! ```

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use haechi_core::detect::corpus::{CorpusFile, Scorer};

fn corpus_dir() -> PathBuf {
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

fn main() -> Result<(), Box<dyn Error>> {
    let write_baseline = std::env::args().any(|a| a == "--write-baseline");
    let dir = corpus_dir();
    let files = load(&dir)?;
    let report = Scorer::new()?.score(&files);
    for miss in &report.misses {
        println!(
            "MISS [{}] missing={:?} unexpected={:?} :: {} ({})",
            miss.file, miss.missing, miss.unexpected, miss.text, miss.note
        );
    }
    print!("{}", report.table());
    if write_baseline {
        let path = dir.join("baseline.json");
        fs::write(
            &path,
            serde_json::to_string_pretty(&report.baseline())? + "\n",
        )?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
