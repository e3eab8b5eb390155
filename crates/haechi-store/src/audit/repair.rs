//! Cutting a torn last record off the log (`haechi audit-repair`).
//!
//! A writer killed mid-line, or a full disk, can leave the log ending in an incomplete record;
//! no new record can be chained to it, so every append fails until the tail is cut. Only that
//! case is repaired: the last non-blank line is not JSON and everything before it verifies.
//! Damage anywhere else is for `haechi audit-verify` to report and a human to judge. The cut
//! bytes are kept beside the log (`<log>.torn-<unix seconds>`, 0600) so nothing is lost.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use haechi_core::audit::{ChainVerifier, VerifyOutcome};

use super::error::AuditStoreError;
use super::read::for_each_line;
use super::tail::{read_tail, Tail};

/// What `audit-repair` found, and did.
#[derive(Debug, Clone, PartialEq)]
pub struct RepairPlan {
    /// `Some` when the last record is torn.
    pub torn: Option<TornTail>,
    /// The chain of everything before the torn record (or the whole log).
    pub kept: VerifyOutcome,
    /// Where the cut bytes were saved, once the cut is applied.
    pub saved_to: Option<PathBuf>,
}

/// The incomplete last record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornTail {
    /// 1-based line number of the torn record.
    pub line: u64,
    /// Byte offset the log is cut at.
    pub offset: u64,
    /// Bytes that the cut removes.
    pub bytes: u64,
}

impl RepairPlan {
    /// The cut can be made: the tail is torn and everything before it verifies.
    pub fn repairable(&self) -> bool {
        self.torn.is_some() && self.kept.valid
    }
}

/// Inspect the log at `path` and, with `apply`, cut its torn last record. Holds the writers'
/// exclusive lock throughout, so no append can interleave. Refuses to cut when what would be
/// kept does not verify.
pub fn repair_torn_tail(path: &Path, apply: bool) -> Result<RepairPlan, AuditStoreError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| AuditStoreError::io("open", path, e))?;
    file.lock()
        .map_err(|e| AuditStoreError::io("lock", path, e))?;
    let result = inspect_and_cut(&mut file, path, apply);
    let _ = file.unlock();
    result
}

fn inspect_and_cut(
    file: &mut File,
    path: &Path,
    apply: bool,
) -> Result<RepairPlan, AuditStoreError> {
    let len = file
        .metadata()
        .map_err(|e| AuditStoreError::io("inspect", path, e))?
        .len();
    let tail = read_tail(file, len).map_err(|e| AuditStoreError::io("read", path, e))?;
    let keep = match tail {
        Tail::Torn { line_start } => line_start,
        _ => len,
    };
    let (kept, lines_before) = verify_prefix(file, path, keep)?;
    let torn = match tail {
        Tail::Torn { line_start } => Some(TornTail {
            line: lines_before + 1,
            offset: line_start,
            bytes: len - line_start,
        }),
        _ => None,
    };
    let mut plan = RepairPlan {
        torn,
        kept,
        saved_to: None,
    };
    if apply && plan.repairable() {
        if let Some(torn) = plan.torn {
            plan.saved_to = Some(cut(file, path, torn)?);
        }
    }
    Ok(plan)
}

/// Verify the first `keep` bytes; also counts their lines.
fn verify_prefix(
    file: &mut File,
    path: &Path,
    keep: u64,
) -> Result<(VerifyOutcome, u64), AuditStoreError> {
    file.seek(SeekFrom::Start(0))
        .map_err(|e| AuditStoreError::io("read", path, e))?;
    let mut verifier = ChainVerifier::new(None);
    let mut lines = 0u64;
    for_each_line((&*file).take(keep), path, |line| {
        lines += 1;
        verifier.push_line(line)
    })?;
    Ok((verifier.finish(), lines))
}

/// Save the torn bytes beside the log, then truncate the log at the torn record.
fn cut(file: &mut File, path: &Path, torn: TornTail) -> Result<PathBuf, AuditStoreError> {
    let mut dropped = Vec::with_capacity(torn.bytes as usize);
    file.seek(SeekFrom::Start(torn.offset))
        .and_then(|_| file.read_to_end(&mut dropped))
        .map_err(|e| AuditStoreError::io("read", path, e))?;

    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut saved = path.as_os_str().to_owned();
    saved.push(format!(".torn-{stamp}"));
    let saved = PathBuf::from(saved);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut copy = options
        .open(&saved)
        .map_err(|e| AuditStoreError::io("save the torn record to", &saved, e))?;
    copy.write_all(&dropped)
        .and_then(|_| copy.sync_all())
        .map_err(|e| AuditStoreError::io("save the torn record to", &saved, e))?;

    file.set_len(torn.offset)
        .and_then(|_| file.sync_all())
        .map_err(|e| AuditStoreError::io("truncate", path, e))?;
    Ok(saved)
}
