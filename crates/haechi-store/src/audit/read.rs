//! Reading the log back: verification, the report summary and the readiness probe.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

use haechi_core::audit::{AnchorIndex, AuditSummary, ChainVerifier, VerifyOutcome};
use serde_json::Value;

use super::error::{AuditStoreError, NotWritable};

/// Verifies the chain of the log at `path` (streamed; the file is never loaded whole).
pub fn verify_file(path: &Path) -> Result<VerifyOutcome, AuditStoreError> {
    verify_file_anchored(path, None)
}

/// Verifies the chain and cross-checks it against the anchor stream at `anchor_path`
/// (a missing anchor file counts as no anchors, as in the reference).
pub fn verify_file_anchored(
    path: &Path,
    anchor_path: Option<&Path>,
) -> Result<VerifyOutcome, AuditStoreError> {
    let anchors = match anchor_path {
        Some(anchor_path) => Some(read_anchors(anchor_path)?),
        None => None,
    };
    let file = File::open(path).map_err(|e| AuditStoreError::io("open", path, e))?;
    let mut verifier = ChainVerifier::new(anchors.as_ref());
    for_each_line(file, path, |line| verifier.push_line(line))?;
    Ok(verifier.finish())
}

/// Reads an anchor stream; unparsable lines are skipped.
pub fn read_anchors(path: &Path) -> Result<AnchorIndex, AuditStoreError> {
    let mut index = AnchorIndex::default();
    match File::open(path) {
        Ok(file) => for_each_line(file, path, |line| {
            index.push_line(line);
            true
        })?,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(AuditStoreError::io("open anchor", path, error)),
    }
    Ok(index)
}

/// The `haechi report` summary of the log at `path`. A missing log summarizes to zeroes;
/// a line that is not JSON is an error naming its line number.
pub fn read_summary(path: &Path) -> Result<AuditSummary, AuditStoreError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(AuditSummary::default()),
        Err(error) => return Err(AuditStoreError::io("open", path, error)),
    };
    let mut summary = AuditSummary::default();
    let mut line_number = 0u64;
    let mut bad_line = None;
    for_each_line(file, path, |line| {
        line_number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            return true;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(event) => {
                summary.add(&event);
                true
            }
            Err(_) => {
                bad_line = Some(line_number);
                false
            }
        }
    })?;
    match bad_line {
        Some(line) => Err(AuditStoreError::InvalidLine {
            path: path.to_path_buf(),
            line,
        }),
        None => Ok(summary),
    }
}

/// Readiness without writing an event: the log's directory exists (it is created if needed)
/// and is writable, and the log itself, if present, opens for appending.
pub fn check_writable(path: &Path) -> Result<(), NotWritable> {
    let dir = log_dir(path);
    fs::create_dir_all(dir).map_err(|_| NotWritable::Directory)?;
    if path.exists() {
        return OpenOptions::new()
            .append(true)
            .open(path)
            .map(|_| ())
            .map_err(|_| NotWritable::File);
    }
    // Probe the directory with a uniquely named empty file, removed at once.
    write_probe(dir, &[]).map_err(|_| NotWritable::Directory)
}

/// Whether the log's file system still takes a block: one written, synced and removed beside
/// the log (a full disk fails here, where an empty probe file would not).
pub(crate) fn probe_space(log: &Path) -> Result<(), AuditStoreError> {
    write_probe(log_dir(log), &[0u8; 4096])
        .map_err(|e| AuditStoreError::io("write a probe block beside", log, e))
}

fn log_dir(log: &Path) -> &Path {
    match log.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Create a uniquely named file in `dir` holding `content` (synced), then remove it.
fn write_probe(dir: &Path, content: &[u8]) -> io::Result<()> {
    let probe = dir.join(format!(
        ".haechi-audit-probe-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|mut file| {
            if content.is_empty() {
                return Ok(());
            }
            file.write_all(content)?;
            file.sync_data()
        });
    let _ = fs::remove_file(&probe);
    written
}

/// Calls `f` with each line (without `\n` or `\r\n`) until it returns false.
pub(crate) fn for_each_line(
    file: impl Read,
    path: &Path,
    mut f: impl FnMut(&[u8]) -> bool,
) -> Result<(), AuditStoreError> {
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| AuditStoreError::io("read", path, e))?;
        if read == 0 {
            return Ok(());
        }
        let mut content = line.as_slice();
        if let Some(rest) = content.strip_suffix(b"\n") {
            content = rest.strip_suffix(b"\r").unwrap_or(rest);
        }
        if !f(content) {
            return Ok(());
        }
    }
}
