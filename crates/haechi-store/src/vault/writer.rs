//! The vault's group-commit writer, for a gateway: many requests tokenize at once, and each
//! would otherwise wait for its own transaction (and its own sync).
//!
//! A request issues its batch on its own thread (ids, envelopes, record texts; see
//! [`super::issue`]), then hands it to the writer and awaits the answer. The writer thread takes
//! every batch waiting and stores them in one transaction, each batch in its own savepoint, so
//! one batch's failure fails that request alone. A batch is answered only after the transaction
//! is committed and synced: no request forwards a token whose record could still be lost.

use std::sync::Arc;
use std::time::Duration;

use haechi_core::seams::{
    CommitDone, IssuedTokens, PendingTokens, ProviderError, TokenRequest, Tokenizer,
};
use rusqlite::Connection;

use super::error::database;
use super::issue::PreparedBatch;
use super::{token_ids, write, SqliteTokenVault, VaultError};
use crate::group::{ApplyBatch, GroupWriter, Refusals};

/// Writer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VaultWriterOptions {
    /// Most batches (requests) stored in one transaction.
    pub max_batch: usize,
    /// Batches that may wait for the writer before new ones are refused (backpressure).
    pub queue_capacity: usize,
    /// When committed records reach the disk.
    pub sync: VaultSync,
}

/// When the writer's commits reach the disk. Every commit is written to the database's log
/// (the operating system holds it, so a crash of the process loses nothing) before its callers
/// are answered; this chooses when it is also synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VaultSync {
    /// Synced before the commit returns (SQLite `synchronous=FULL`).
    #[default]
    EveryCommit,
    /// Synced by a checkpoint at most this long after a commit, off the callers' path.
    Interval(Duration),
    /// Synced when checkpoints happen to run (every few thousand rows).
    Never,
}

impl VaultSync {
    /// The sync the gateway's `audit.fsync` asks for: the audit log and the records of the
    /// tokens it forwards share one durability.
    pub fn from_config(audit: &haechi_core::config::model::AuditConfig) -> Self {
        use haechi_core::config::AuditFsync;
        match audit.fsync {
            AuditFsync::EveryBatch => VaultSync::EveryCommit,
            AuditFsync::Interval => {
                VaultSync::Interval(Duration::from_millis(audit.fsync_interval_ms.max(1)))
            }
            AuditFsync::Never => VaultSync::Never,
        }
    }
}

impl Default for VaultWriterOptions {
    fn default() -> Self {
        VaultWriterOptions {
            max_batch: 256,
            queue_capacity: 4096,
            sync: VaultSync::default(),
        }
    }
}

const REFUSALS: Refusals = Refusals {
    queue_full: || {
        ProviderError::new(
            "haechi_vault_queue_full",
            "the token vault writer queue is full; nothing was tokenized (retry later)",
        )
    },
    stopped: || {
        ProviderError::new(
            "haechi_vault_writer_stopped",
            "the token vault writer has stopped; nothing was tokenized (restart the process)",
        )
    },
};

/// Tokenizes through one group-commit writer thread with its own database connection.
/// Reads (reveal, detokenize, the deterministic-id check) use the vault's connection.
pub struct VaultWriter {
    vault: Arc<SqliteTokenVault>,
    group: Arc<GroupWriter<PreparedBatch>>,
}

impl VaultWriter {
    /// Start the writer thread for `vault`'s database.
    pub fn spawn(
        vault: Arc<SqliteTokenVault>,
        options: VaultWriterOptions,
    ) -> Result<Self, VaultError> {
        let conn = vault.open_connection()?;
        // Checkpoints run on their own thread and connection (WAL lets them run beside the
        // writer), never inside the commits callers wait for.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(database(vault.path(), "configure"))?;
        let checkpointer =
            Checkpointer::spawn(vault.open_connection()?).map_err(|source| VaultError::Io {
                path: vault.path().to_path_buf(),
                source,
            })?;
        if options.sync != VaultSync::EveryCommit {
            // WAL with NORMAL: a commit is written to the log but synced only by a checkpoint.
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(database(vault.path(), "configure"))?;
        }
        let target = GroupStore {
            conn,
            path: vault.path().to_path_buf(),
            rows_since_checkpoint: 0,
            sync: options.sync,
            checkpointer,
        };
        let group = GroupWriter::spawn(
            "haechi-vault-writer",
            options.max_batch,
            options.queue_capacity,
            REFUSALS,
            target,
        )
        .map_err(|source| VaultError::Io {
            path: vault.path().to_path_buf(),
            source,
        })?;
        Ok(VaultWriter {
            vault,
            group: Arc::new(group),
        })
    }

    /// The vault written to.
    pub fn vault(&self) -> &Arc<SqliteTokenVault> {
        &self.vault
    }

    /// Stop taking batches, store everything queued, and wait for the thread.
    pub fn shutdown(&self) {
        self.group.shutdown();
    }
}

impl Tokenizer for VaultWriter {
    /// Issue the batch here, store it with whatever else is queued, and wait.
    fn tokenize(&self, requests: &[TokenRequest<'_>]) -> Result<Vec<String>, ProviderError> {
        let issued = self.vault.prepare(requests)?;
        self.group.submit_wait(issued.batch)?;
        Ok(token_ids(issued.tokens))
    }

    /// Random ids need nothing from the database; deterministic ones look up stored ids.
    fn issue_blocks(&self) -> bool {
        self.vault.settings.deterministic
    }

    /// Issue the batch here; committing it queues it for the writer thread.
    fn issue(&self, requests: &[TokenRequest<'_>]) -> Result<IssuedTokens, ProviderError> {
        let issued = self.vault.prepare(requests)?;
        Ok(IssuedTokens {
            tokens: token_ids(issued.tokens),
            pending: Some(Box::new(Queued {
                group: Arc::clone(&self.group),
                batch: issued.batch,
            })),
        })
    }
}

/// A batch waiting to be handed to the writer.
struct Queued {
    group: Arc<GroupWriter<PreparedBatch>>,
    batch: PreparedBatch,
}

impl PendingTokens for Queued {
    fn commit(self: Box<Self>, done: CommitDone) {
        let Queued { group, batch } = *self;
        if let Err((refusal, done)) = group.try_submit(batch, done) {
            done(Err(refusal));
        }
    }

    /// Queueing never waits: a full queue refuses the batch.
    fn commits_inline(&self) -> bool {
        false
    }
}

/// Rows written between two WAL checkpoints (about SQLite's default of 1000 pages).
const CHECKPOINT_ROWS: usize = 4096;

/// The writer thread's side: its connection, one transaction per group of batches.
struct GroupStore {
    conn: Connection,
    path: std::path::PathBuf,
    rows_since_checkpoint: usize,
    sync: VaultSync,
    checkpointer: Checkpointer,
}

impl GroupStore {
    fn checkpoint(&mut self) {
        self.rows_since_checkpoint = 0;
        self.checkpointer.request();
    }
}

/// A thread with its own connection that copies the WAL back into the database (syncing the
/// WAL first) when asked. PASSIVE never waits for readers or the writer; whatever it cannot
/// copy now is copied next time. Dropping it runs a last checkpoint and stops the thread.
struct Checkpointer {
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn spawn(conn: Connection) -> std::io::Result<Checkpointer> {
        let (wake, requests) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("haechi-vault-checkpoint".into())
            .spawn(move || {
                let checkpoint = || {
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                };
                while requests.recv().is_ok() {
                    checkpoint();
                }
                checkpoint();
            })?;
        Ok(Checkpointer {
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    /// Ask for a checkpoint; one already pending covers this request too.
    fn request(&self) {
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl ApplyBatch<PreparedBatch> for GroupStore {
    fn apply(&mut self, batches: Vec<PreparedBatch>) -> Vec<Result<(), ProviderError>> {
        self.rows_since_checkpoint += batches.iter().map(|b| b.rows.len()).sum::<usize>();
        write::store_group(&mut self.conn, &self.path, &batches)
    }

    /// Keep the WAL from growing without bound.
    fn after_replies(&mut self) {
        if self.rows_since_checkpoint >= CHECKPOINT_ROWS {
            self.checkpoint();
        }
    }

    fn tick_every(&self) -> Option<Duration> {
        match self.sync {
            VaultSync::Interval(every) => Some(every),
            VaultSync::EveryCommit | VaultSync::Never => None,
        }
    }

    /// Under `VaultSync::Interval`: what was committed since the last checkpoint reaches the
    /// disk now.
    fn tick(&mut self) {
        if self.rows_since_checkpoint > 0 {
            self.checkpoint();
        }
    }
}
