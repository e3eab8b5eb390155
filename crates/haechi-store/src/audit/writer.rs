//! Group commit: one writer thread appends audit events in batches.
//!
//! Callers hand an event to [`AuditWriter::record`] and wait for the batch that carries it to be
//! appended (and, under `FsyncPolicy::EveryBatch`, made durable). While one batch is being
//! written, the events that arrive queue up and go out together in the next one — one write and
//! at most one fsync per batch — so a busy gateway never waits on the disk request by request.
//! The chain stays strictly sequential: only the writer thread appends, and the store's file
//! lock keeps other processes' writers out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use haechi_core::audit::PreparedEvent;
use haechi_core::seams::{AuditDone, AuditSink, ProviderError};

use crate::group::{ApplyBatch, GroupWriter, Refusals};

/// Writer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterOptions {
    /// Most events in one batch.
    pub max_batch: usize,
    /// Events that may wait for the writer before callers block (backpressure).
    pub queue_capacity: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            max_batch: 512,
            queue_capacity: 8192,
        }
    }
}

const REFUSALS: Refusals = Refusals {
    queue_full: || {
        ProviderError::new(
            "haechi_audit_queue_full",
            "the audit writer queue is full; the event was not recorded (retry later)",
        )
    },
    stopped: || {
        ProviderError::new(
            "haechi_audit_writer_stopped",
            "the audit writer has stopped; the event was not recorded (restart the process)",
        )
    },
};

/// The group-commit audit writer. Dropping it flushes what is queued and stops the thread.
pub struct AuditWriter {
    group: GroupWriter<PreparedEvent>,
    target: Arc<dyn AuditSink>,
    /// Whether the last batch was appended: readiness fails while appends fail.
    last_append_ok: Arc<AtomicBool>,
}

impl AuditWriter {
    /// A writer in front of `target` (the JSONL log, or any sink that appends a batch as one
    /// unit with [`AuditSink::record_all`]).
    pub fn spawn(target: Arc<dyn AuditSink>, options: WriterOptions) -> std::io::Result<Self> {
        let last_append_ok = Arc::new(AtomicBool::new(true));
        let group = GroupWriter::spawn(
            "haechi-audit-writer",
            options.max_batch,
            options.queue_capacity,
            REFUSALS,
            Appender {
                target: Arc::clone(&target),
                last_append_ok: Arc::clone(&last_append_ok),
            },
        )?;
        Ok(AuditWriter {
            group,
            target,
            last_append_ok,
        })
    }

    /// Stop accepting events, append everything queued, and wait for the thread.
    pub fn shutdown(&self) {
        self.group.shutdown();
    }
}

impl AuditSink for AuditWriter {
    /// Queue the event and wait until its batch is appended (fail closed: an error means the
    /// event is not in the log).
    fn record(&self, event: PreparedEvent) -> Result<(), ProviderError> {
        self.group.submit_wait(event)
    }

    /// Queue the event without waiting: `done` runs on the writer thread once the event's
    /// batch is appended (or failed). Refused at once (fail closed, the event is not queued)
    /// when the queue is full, rather than blocking the caller.
    fn submit(&self, event: PreparedEvent, done: AuditDone) {
        if let Err((refusal, done)) = self.group.try_submit(event, done) {
            done(Err(refusal));
        }
    }

    /// Yes while the last batch was appended; after a failed batch, only once the target says
    /// an append would now succeed (the disk has room again, the torn tail was repaired), so an
    /// instance taken out of rotation can come back.
    fn ready(&self) -> Result<(), ProviderError> {
        if self.last_append_ok.load(Ordering::Acquire) {
            return Ok(());
        }
        self.target.ready()
    }

    /// The target, when its appends never wait for a sync: then the thread hop costs more
    /// than the append, and async callers batch their own events ([`AuditSink::direct_store`]).
    fn direct_store(&self) -> Option<Arc<dyn AuditSink>> {
        self.target
            .appends_without_sync()
            .then(|| Arc::clone(&self.target))
    }
}

/// The writer thread's side: one append (and at most one sync) per batch; every event of the
/// batch shares its outcome.
struct Appender {
    target: Arc<dyn AuditSink>,
    last_append_ok: Arc<AtomicBool>,
}

impl ApplyBatch<PreparedEvent> for Appender {
    fn apply(&mut self, events: Vec<PreparedEvent>) -> Vec<Result<(), ProviderError>> {
        let count = events.len();
        let result = self.target.record_all(events);
        self.last_append_ok.store(result.is_ok(), Ordering::Release);
        vec![result; count]
    }
}

#[cfg(test)]
#[path = "tests/writer.rs"]
mod tests;
