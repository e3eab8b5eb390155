//! The JSONL audit sink: sanitized, chained records appended one per line.
//!
//! Every append holds an exclusive OS lock on the log file itself (`flock` on Unix) while it
//! reads the chain head and writes, so several processes appending to one file never fork the
//! chain. The head is read from the end of the file and cached in the process; the cache is
//! trusted only while the file's identity and length are what this sink last left them.
//!
//! The reference serializes writers with a `<path>.lock` file instead. The two schemes do not
//! see each other: do not run a JavaScript and a Rust writer on the same log at the same time
//! (either one alone, or one after the other, is fine).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use haechi_core::audit::{
    js_stringify, AuditLog, AuditStore, ChainHead, PreparedEvent, SealedRecord,
};
use haechi_core::config::{AnchorMode, AuditFsync};
use haechi_core::seams::{AuditSink, ProviderError};
use serde_json::{Map, Value};

use super::error::AuditStoreError;
use super::flush::Flusher;
use super::tail::{read_tail, Tail};

/// When appended records are forced to stable storage (`audit.fsync`; the default is the
/// config's, a background sync every 100 ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Leave it to the OS (fast; a power loss can lose the last records).
    Never,
    /// `fdatasync` after every batch before `record`/`append_batch` returns.
    EveryBatch,
    /// `fdatasync` by a background thread at most this long after a write (see `flush.rs`).
    Interval(Duration),
}

/// The head-hash anchor stream (`audit.anchor.mode: file`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorSettings {
    pub path: PathBuf,
    /// Anchor every N-th sequence (the reference's `everyRecords`, default 1).
    pub every_records: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonlOptions {
    pub fsync: FsyncPolicy,
    pub anchor: Option<AnchorSettings>,
    /// Unix permission bits for a newly created log (and anchor) file.
    pub file_mode: u32,
}

impl Default for FsyncPolicy {
    fn default() -> Self {
        FsyncPolicy::Interval(Duration::from_millis(
            haechi_core::config::model::DEFAULT_FSYNC_INTERVAL_MS,
        ))
    }
}

impl Default for JsonlOptions {
    fn default() -> Self {
        JsonlOptions {
            fsync: FsyncPolicy::default(),
            anchor: None,
            file_mode: 0o600,
        }
    }
}

impl JsonlOptions {
    /// The options `audit.*` asks for. An anchor mode this build cannot honour is refused
    /// rather than silently dropped.
    pub fn from_config(
        config: &haechi_core::config::model::AuditConfig,
    ) -> Result<Self, AuditStoreError> {
        let anchor = match (config.anchor.mode, &config.anchor.path) {
            (AnchorMode::None, _) => None,
            (AnchorMode::File, Some(path)) => Some(AnchorSettings {
                path: PathBuf::from(path),
                every_records: config.anchor.every_records,
            }),
            (mode, _) => {
                return Err(AuditStoreError::UnsupportedAnchorMode {
                    mode: mode.as_str().to_string(),
                })
            }
        };
        let fsync = match config.fsync {
            AuditFsync::EveryBatch => FsyncPolicy::EveryBatch,
            AuditFsync::Interval => {
                FsyncPolicy::Interval(Duration::from_millis(config.fsync_interval_ms.max(1)))
            }
            AuditFsync::Never => FsyncPolicy::Never,
        };
        Ok(JsonlOptions {
            anchor,
            fsync,
            ..JsonlOptions::default()
        })
    }
}

/// Where this sink last left the file: enough to trust the cached head without reading.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cached {
    identity: FileIdentity,
    len: u64,
    head: Option<ChainHead>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
}

/// The JSONL file under the audit chain: appends sealed lines under an exclusive OS file lock,
/// reading the chain head from the end of the file (cached while the file is unchanged).
#[derive(Debug)]
pub struct JsonlStore {
    path: PathBuf,
    options: JsonlOptions,
    cache: Mutex<Option<Cached>>,
    /// The log file kept open between batches (re-opened when the path names another file).
    open: Mutex<Option<(Arc<File>, FileIdentity)>>,
    /// The background sync of `FsyncPolicy::Interval`, started by the first append.
    flusher: OnceLock<Flusher>,
}

/// Appends audit events to a JSONL file as one unforked hash chain: the core chain math
/// ([`AuditLog`]) over a [`JsonlStore`].
#[derive(Debug)]
pub struct JsonlAuditSink {
    log: AuditLog<JsonlStore>,
}

impl JsonlAuditSink {
    pub fn new(path: impl Into<PathBuf>, options: JsonlOptions) -> Result<Self, AuditStoreError> {
        Ok(JsonlAuditSink {
            log: AuditLog::with_store(JsonlStore::new(path, options)?),
        })
    }

    pub fn path(&self) -> &Path {
        &self.log.store().path
    }

    /// Sanitizes, chains and appends `events` with one write (and at most one fsync).
    /// Returns the new chain head (`None` only for an empty batch on an empty log).
    pub fn append_batch(
        &self,
        events: Vec<Map<String, Value>>,
    ) -> Result<Option<ChainHead>, ProviderError> {
        self.log.append_batch(events)
    }

    /// Chains and appends prepared events with one write (and at most one fsync).
    pub fn append_prepared(
        &self,
        events: Vec<PreparedEvent>,
    ) -> Result<Option<ChainHead>, ProviderError> {
        self.log.append_prepared(events)
    }

    /// The current chain head, read under the lock (`None` for an empty or missing log).
    /// Fails on a log that cannot take another record (a torn or unchained last line).
    pub fn head(&self) -> Result<Option<ChainHead>, ProviderError> {
        if !self.path().exists() {
            return Ok(None);
        }
        self.log.head()
    }

    /// Whether an append would now succeed, without writing a record: the log's last line can
    /// be chained to, and its file system still takes a block (a full disk fails here).
    pub fn probe(&self) -> Result<(), ProviderError> {
        self.head()?;
        super::read::probe_space(self.path()).map_err(ProviderError::from)
    }
}

impl AuditSink for JsonlAuditSink {
    fn record(&self, event: PreparedEvent) -> Result<(), ProviderError> {
        self.log.record(event)
    }

    fn record_all(&self, events: Vec<PreparedEvent>) -> Result<(), ProviderError> {
        self.log.record_all(events)
    }

    /// Whether an append would succeed now ([`JsonlAuditSink::probe`]).
    fn ready(&self) -> Result<(), ProviderError> {
        self.probe()
    }

    /// Yes unless `audit.fsync` is `every-batch` (a background sync or none).
    fn appends_without_sync(&self) -> bool {
        self.log.store().options.fsync != FsyncPolicy::EveryBatch
    }
}

impl JsonlStore {
    pub fn new(path: impl Into<PathBuf>, options: JsonlOptions) -> Result<Self, AuditStoreError> {
        if options
            .anchor
            .as_ref()
            .is_some_and(|a| a.every_records == 0)
        {
            return Err(AuditStoreError::InvalidAnchorCadence);
        }
        Ok(JsonlStore {
            path: path.into(),
            options,
            cache: Mutex::new(None),
            open: Mutex::new(None),
            flusher: OnceLock::new(),
        })
    }

    /// Appends what `seal` returns for the current head with one write (and at most one fsync).
    fn append_sealed(
        &self,
        seal: &mut dyn FnMut(Option<&ChainHead>) -> Vec<SealedRecord>,
    ) -> Result<Option<ChainHead>, AuditStoreError> {
        let flusher = self.flusher()?;
        if let Some(flusher) = flusher {
            flusher
                .check()
                .map_err(|e| AuditStoreError::io("sync", &self.path, e))?;
        }
        let mut cache = self.lock_cache();
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let (file, created) = self.ensure_open(&mut open)?;
        file.lock()
            .map_err(|e| AuditStoreError::io("lock", &self.path, e))?;
        let result = self.append_locked(file, seal, &mut cache);
        if file.unlock().is_err() {
            // Closing the file is the other way to release the lock.
            *open = None;
        }
        let (head, wrote) = result?;
        if wrote {
            if let (Some(flusher), Some((file, _))) = (flusher, open.as_ref()) {
                flusher.written(file);
            }
        }
        if created && self.options.fsync != FsyncPolicy::Never {
            sync_parent(&self.path);
        }
        Ok(head)
    }

    /// The flush thread under `FsyncPolicy::Interval`, started on first use.
    fn flusher(&self) -> Result<Option<&Flusher>, AuditStoreError> {
        let FsyncPolicy::Interval(interval) = self.options.fsync else {
            return Ok(None);
        };
        if let Some(flusher) = self.flusher.get() {
            return Ok(Some(flusher));
        }
        let flusher = Flusher::spawn(interval)
            .map_err(|e| AuditStoreError::io("start the sync thread of", &self.path, e))?;
        Ok(Some(self.flusher.get_or_init(|| flusher)))
    }

    /// Returns the head and whether anything was written.
    fn append_locked(
        &self,
        file: &File,
        seal: &mut dyn FnMut(Option<&ChainHead>) -> Vec<SealedRecord>,
        cache: &mut Option<Cached>,
    ) -> Result<(Option<ChainHead>, bool), AuditStoreError> {
        let meta = file
            .metadata()
            .map_err(|e| AuditStoreError::io("inspect", &self.path, e))?;
        let identity = identity_of(&meta);
        let len = meta.len();

        let (mut head, needs_newline) = match cache.as_ref() {
            Some(c) if c.identity == identity && c.len == len => (c.head.clone(), false),
            _ => match read_tail(file, len)
                .map_err(|e| AuditStoreError::io("read", &self.path, e))?
            {
                Tail::Empty { needs_newline } => (None, needs_newline),
                Tail::Head {
                    head,
                    needs_newline,
                } => (Some(head), needs_newline),
                Tail::Torn { .. } => {
                    *cache = None;
                    return Err(AuditStoreError::TornTail {
                        path: self.path.clone(),
                    });
                }
                Tail::Unchained => {
                    *cache = None;
                    return Err(AuditStoreError::UnchainedTail {
                        path: self.path.clone(),
                    });
                }
            },
        };
        let records = seal(head.as_ref());
        if records.is_empty() {
            *cache = Some(Cached {
                identity,
                len,
                head: head.clone(),
            });
            return Ok((head, false));
        }

        let mut buffer = String::with_capacity(records.iter().map(|r| r.line.len() + 1).sum());
        if needs_newline {
            buffer.push('\n');
        }
        let mut anchors = String::new();
        for record in records {
            buffer.push_str(&record.line);
            buffer.push('\n');
            if let Some(anchor) = &self.options.anchor {
                if record.head.sequence.is_multiple_of(anchor.every_records) {
                    anchors.push_str(&anchor_line(&record.head, record.timestamp.as_ref()));
                }
            }
            head = Some(record.head);
        }

        let mut writer = file;
        if let Err(error) = writer.write_all(buffer.as_bytes()) {
            // Take a partial line back out so the next writer does not meet a torn tail.
            let _ = file.set_len(len);
            *cache = None;
            return Err(AuditStoreError::io("append to", &self.path, error));
        }
        if self.options.fsync == FsyncPolicy::EveryBatch {
            file.sync_data()
                .map_err(|e| AuditStoreError::io("sync", &self.path, e))?;
        }
        *cache = Some(Cached {
            identity,
            len: len + buffer.len() as u64,
            head: head.clone(),
        });
        if let (Some(anchor), false) = (&self.options.anchor, anchors.is_empty()) {
            self.append_anchor(&anchor.path, &anchors)?;
        }
        Ok((head, true))
    }

    fn append_anchor(&self, path: &Path, lines: &str) -> Result<(), AuditStoreError> {
        create_parent(path)?;
        let mut file = open_append(path, false, self.options.file_mode)
            .map_err(|e| AuditStoreError::io("open anchor", path, e))?;
        file.write_all(lines.as_bytes())
            .map_err(|e| AuditStoreError::io("append to anchor", path, e))?;
        if self.options.fsync == FsyncPolicy::EveryBatch {
            file.sync_data()
                .map_err(|e| AuditStoreError::io("sync anchor", path, e))?;
        }
        Ok(())
    }

    /// Makes `open` hold the log file, re-opening it only when the path no longer names it
    /// (rotated, moved or deleted): one `stat` per batch instead of create-dir, open and
    /// close. Returns whether the file was created.
    fn ensure_open<'a>(
        &self,
        open: &'a mut Option<(Arc<File>, FileIdentity)>,
    ) -> Result<(&'a File, bool), AuditStoreError> {
        let current = fs::metadata(&self.path).ok().map(|meta| identity_of(&meta));
        let reusable =
            matches!((open.as_ref(), current), (Some((_, held)), Some(now)) if *held == now);
        let mut created = false;
        if !reusable {
            create_parent(&self.path)?;
            let file = open_append(&self.path, true, self.options.file_mode)
                .map_err(|e| AuditStoreError::io("open", &self.path, e))?;
            let identity = file
                .metadata()
                .map(|meta| identity_of(&meta))
                .map_err(|e| AuditStoreError::io("inspect", &self.path, e))?;
            created = current.is_none();
            *open = Some((Arc::new(file), identity));
        }
        match open.as_ref() {
            Some((file, _)) => Ok((file, created)),
            None => Err(AuditStoreError::io(
                "open",
                &self.path,
                io::Error::other("the log file is not open"),
            )),
        }
    }

    fn lock_cache(&self) -> MutexGuard<'_, Option<Cached>> {
        // The cache is re-validated against the file on every append, so a value left by a
        // panicking thread is harmless.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl AuditStore for JsonlStore {
    fn append_exclusive(
        &self,
        seal: &mut dyn FnMut(Option<&ChainHead>) -> Vec<SealedRecord>,
    ) -> Result<Option<ChainHead>, ProviderError> {
        self.append_sealed(seal).map_err(ProviderError::from)
    }
}

/// One anchor line, as the reference writes it (`timestamp` omitted when the record has none).
fn anchor_line(head: &ChainHead, timestamp: Option<&Value>) -> String {
    let mut anchor = Map::new();
    anchor.insert("sequence".into(), Value::from(head.sequence));
    anchor.insert("eventHash".into(), Value::String(head.event_hash.clone()));
    if let Some(timestamp) = timestamp {
        anchor.insert("timestamp".into(), timestamp.clone());
    }
    let mut line = js_stringify(&Value::Object(anchor));
    line.push('\n');
    line
}

fn create_parent(path: &Path) -> Result<(), AuditStoreError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => fs::create_dir_all(dir)
            .map_err(|e| AuditStoreError::io("create the directory of", path, e)),
        _ => Ok(()),
    }
}

pub(crate) fn open_append(path: &Path, read: bool, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(read).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

/// Makes a newly created file's directory entry durable.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(handle) = File::open(dir) {
            let _ = handle.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(unix)]
fn identity_of(meta: &fs::Metadata) -> FileIdentity {
    use std::os::unix::fs::MetadataExt;
    FileIdentity {
        device: meta.dev(),
        inode: meta.ino(),
    }
}

#[cfg(not(unix))]
fn identity_of(_meta: &fs::Metadata) -> FileIdentity {
    FileIdentity {
        device: 0,
        inode: 0,
    }
}
