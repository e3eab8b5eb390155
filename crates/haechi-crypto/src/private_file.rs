//! Secret-bearing files on disk (the key file, token stores): atomic 0600 writes that go
//! through a symlink instead of replacing it, the cross-process lock beside the file, and the
//! removal of temporary copies that a killed writer left behind.
//!
//! A symlinked file is resolved and written next to its target, so every path that names it
//! shares one file, one lock and (for the key file) one nonce counter. The reference writes
//! through links too (Node's `writeFile` follows them); replacing the link with a regular file
//! would fork the counter.

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};

use crate::encoding::hex;

/// A temporary copy older than this is stale even if its pid is (again) in use: a write takes
/// milliseconds, so no live write is this old.
const STALE_AFTER: Duration = Duration::from_secs(10 * 60);

/// The file a path names: the target when the path is a symlink (a dangling link is an error),
/// else the path itself (which need not exist yet).
pub(crate) fn resolve(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path),
        _ => Ok(path.to_path_buf()),
    }
}

/// The directory and file name of a resolved path.
fn dir_and_name(path: &Path) -> io::Result<(&Path, String)> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    Ok((dir, name.to_string_lossy().into_owned()))
}

/// Replace `path` (or, through a symlink, its target) with `contents` atomically, mode 0600:
/// temp file `.<name>.<pid>-<8 hex>.tmp` created 0600 in the same directory → write → fsync →
/// rename → fsync the directory. A reader sees the old file or the new one, never a torn one;
/// a temp file a crash leaves behind is removed by the next open ([`remove_stale_temps`]).
pub fn write_private_file_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let target = resolve(path)?;
    let (dir, name) = dir_and_name(&target)?;
    let mut nonce = [0u8; 4];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| io::Error::other("random temp-file name unavailable"))?;
    let tmp = dir.join(format!(
        ".{name}.{}-{}.tmp",
        std::process::id(),
        hex(&nonce)
    ));

    let result = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        #[cfg(unix)]
        {
            // The umask can only clear bits; make the mode exactly 0600 regardless.
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable; not every file system can sync a directory.
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
    Ok(())
}

/// An exclusive advisory lock that serializes read-modify-write of one file across processes
/// (nonce reservations, their release, rotation, stale-temp removal). It lives in a sidecar
/// file (`.<name>.lock`) beside the resolved file, because the file itself is replaced by
/// rename. Released on drop.
#[derive(Debug)]
pub(crate) struct FileLock {
    _file: fs::File,
}

/// Take the file's lock, waiting for another holder. `None` when the lock file cannot be
/// created or locked (a read-only directory, say): the caller then proceeds unlocked, as the
/// reference always does, or skips what is only safe under the lock.
///
/// The lock is per open file description: a thread holding it must not take it again.
pub(crate) fn lock(path: &Path) -> Option<FileLock> {
    let target = resolve(path).ok()?;
    let (dir, name) = dir_and_name(&target).ok()?;
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options.open(dir.join(format!(".{name}.lock"))).ok()?;
    file.lock().ok()?;
    Some(FileLock { _file: file })
}

/// Whether the operator has made the file read-only (no owner write permission), or the
/// process cannot open it for writing. Either way the nonce budget must not be persisted.
pub(crate) fn is_read_only(path: &Path) -> bool {
    let Ok(meta) = fs::metadata(path) else {
        return true;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o200 == 0 {
            return true;
        }
    }
    #[cfg(not(unix))]
    if meta.permissions().readonly() {
        return true;
    }
    OpenOptions::new().append(true).open(path).is_err()
}

/// Remove the temporary copies of `path` that [`write_private_file_atomic`] left behind when
/// its process was killed between creating and renaming them (each holds a whole copy of the
/// secret file). Returns how many were removed. Best effort: anything unexpected keeps a file.
///
/// Only names of exactly our pattern for this file are candidates, only regular files, and
/// only ones whose pid is not running or that are older than ten minutes. The check runs under
/// the file's lock, so no writer that takes the lock is between create and rename; without
/// the lock nothing is removed.
pub(crate) fn remove_stale_temps(path: &Path) -> usize {
    let Ok(target) = resolve(path) else {
        return 0;
    };
    let Ok((dir, name)) = dir_and_name(&target) else {
        return 0;
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let candidates: Vec<(PathBuf, u32)> = entries
        .flatten()
        .filter_map(|entry| {
            let file_name = entry.file_name();
            let pid = temp_pid(file_name.to_str()?, &name)?;
            Some((entry.path(), pid))
        })
        .collect();
    if candidates.is_empty() {
        return 0;
    }
    let Some(_lock) = lock(&target) else {
        return 0;
    };
    candidates
        .into_iter()
        .filter(|(temp, pid)| is_stale(temp, *pid) && fs::remove_file(temp).is_ok())
        .count()
}

/// The pid in `.<name>.<pid>-<8 lowercase hex>.tmp`, or `None` for any other name.
fn temp_pid(file_name: &str, name: &str) -> Option<u32> {
    let rest = file_name
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?
        .strip_suffix(".tmp")?;
    let (pid, nonce) = rest.split_once('-')?;
    let digits = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    let hex8 = nonce.len() == 8
        && nonce
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if digits && hex8 {
        pid.parse().ok()
    } else {
        None
    }
}

fn is_stale(temp: &Path, pid: u32) -> bool {
    let Ok(meta) = fs::symlink_metadata(temp) else {
        return false;
    };
    if !meta.file_type().is_file() {
        return false;
    }
    let old = meta
        .modified()
        .ok()
        .and_then(|at| at.elapsed().ok())
        .is_some_and(|age| age >= STALE_AFTER);
    old || process_is_gone(pid)
}

/// Whether no process has this pid. Known only where `/proc` lists processes (Linux); elsewhere
/// the age rule alone decides. A writer in another pid namespace is invisible here, which is
/// why removal also waits for the lock.
fn process_is_gone(pid: u32) -> bool {
    let proc = Path::new("/proc");
    proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "tests/private_file.rs"]
mod tests;
