//! Group commit: one writer thread appends audit events in batches.
//!
//! Callers hand an event to [`AuditWriter::record`] and wait for the batch that carries it to be
//! appended (and, under `FsyncPolicy::EveryBatch`, made durable). While one batch is being
//! written, the events that arrive queue up and go out together in the next one — one write and
//! at most one fsync per batch — so a busy gateway never waits on the disk request by request.
//! The chain stays strictly sequential: only the writer thread appends, and the store's file
//! lock keeps other processes' writers out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use haechi_core::audit::{ChainHead, PreparedEvent};
use haechi_core::seams::{AuditSink, ProviderError};
use serde_json::{Map, Value};

/// Appends a batch of events as one unit (the JSONL sink does, with one write).
pub trait BatchAppend: Send + Sync + 'static {
    fn append_batch(&self, events: Vec<PreparedEvent>) -> Result<Option<ChainHead>, ProviderError>;

    /// Whether an append would succeed now, without appending (readiness after a failure).
    fn probe(&self) -> Result<(), ProviderError> {
        Ok(())
    }
}

impl BatchAppend for super::JsonlAuditSink {
    fn append_batch(&self, events: Vec<PreparedEvent>) -> Result<Option<ChainHead>, ProviderError> {
        self.append_prepared(events)
    }

    fn probe(&self) -> Result<(), ProviderError> {
        super::JsonlAuditSink::probe(self)
    }
}

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

/// Called once with the outcome of the batch that carried the event.
type Reply = Box<dyn FnOnce(Result<(), ProviderError>) + Send>;

struct Job {
    event: PreparedEvent,
    reply: Reply,
}

/// The group-commit audit writer. Dropping it flushes what is queued and stops the thread.
pub struct AuditWriter {
    sender: Mutex<Option<SyncSender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    target: Arc<dyn BatchAppend>,
    /// Whether the last batch was appended: readiness fails while appends fail.
    last_append_ok: Arc<AtomicBool>,
}

impl AuditWriter {
    pub fn spawn(target: Arc<dyn BatchAppend>, options: WriterOptions) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::sync_channel(options.queue_capacity.max(1));
        let max_batch = options.max_batch.max(1);
        let last_append_ok = Arc::new(AtomicBool::new(true));
        let thread = {
            let target = Arc::clone(&target);
            let last_append_ok = Arc::clone(&last_append_ok);
            std::thread::Builder::new()
                .name("haechi-audit-writer".into())
                .spawn(move || run(target.as_ref(), &receiver, max_batch, &last_append_ok))?
        };
        Ok(AuditWriter {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
            target,
            last_append_ok,
        })
    }

    /// Whether events can be recorded: yes while the last batch was appended; after a failed
    /// batch, only once the target says an append would now succeed (the disk has room again,
    /// the torn tail was repaired), so an instance taken out of rotation can come back.
    pub fn ready(&self) -> Result<(), ProviderError> {
        if self.last_append_ok.load(Ordering::Acquire) {
            return Ok(());
        }
        self.target.probe()
    }

    fn sender(&self) -> Result<SyncSender<Job>, ProviderError> {
        self.sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .ok_or_else(stopped)
    }

    /// Queue an event without waiting: `on_done` runs on the writer thread once the event's
    /// batch is appended (or failed). For async callers, which await a channel instead of
    /// blocking a thread. Refuses (fail closed, the event is not queued) when the queue is
    /// full, rather than blocking the caller.
    pub fn try_submit(
        &self,
        event: PreparedEvent,
        on_done: impl FnOnce(Result<(), ProviderError>) + Send + 'static,
    ) -> Result<(), ProviderError> {
        let job = Job {
            event,
            reply: Box::new(on_done),
        };
        self.sender()?.try_send(job).map_err(|error| match error {
            TrySendError::Full(_) => ProviderError::new(
                "haechi_audit_queue_full",
                "the audit writer queue is full; the event was not recorded (retry later)",
            ),
            TrySendError::Disconnected(_) => stopped(),
        })
    }

    /// Stop accepting events, append everything queued, and wait for the thread.
    pub fn shutdown(&self) {
        drop(
            self.sender
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take(),
        );
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl AuditSink for AuditWriter {
    /// Queue the event and wait until its batch is appended (fail closed: an error means the
    /// event is not in the log).
    fn record(&self, event: Map<String, Value>) -> Result<(), ProviderError> {
        // Sanitizing and rendering happen here, on the caller's thread, not the writer's.
        self.record_prepared(PreparedEvent::from_map(event))
    }

    fn record_prepared(&self, event: PreparedEvent) -> Result<(), ProviderError> {
        let (sender, done) = mpsc::sync_channel(1);
        let reply: Reply = Box::new(move |result| {
            let _ = sender.send(result);
        });
        self.sender()?
            .send(Job { event, reply })
            .map_err(|_| stopped())?;
        done.recv().map_err(|_| stopped())?
    }
}

impl Drop for AuditWriter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn stopped() -> ProviderError {
    ProviderError::new(
        "haechi_audit_writer_stopped",
        "the audit writer has stopped; the event was not recorded (restart the process)",
    )
}

fn run(
    target: &dyn BatchAppend,
    receiver: &Receiver<Job>,
    max_batch: usize,
    last_append_ok: &AtomicBool,
) {
    let mut events = Vec::with_capacity(max_batch);
    let mut replies: Vec<Reply> = Vec::with_capacity(max_batch);
    loop {
        // Block for the first event, then take whatever else is already waiting.
        let Ok(first) = receiver.recv() else {
            return; // every sender is gone: shut down
        };
        events.push(first.event);
        replies.push(first.reply);
        while events.len() < max_batch {
            match receiver.try_recv() {
                Ok(job) => {
                    events.push(job.event);
                    replies.push(job.reply);
                }
                Err(_) => break,
            }
        }
        let result = target.append_batch(std::mem::take(&mut events)).map(|_| ());
        last_append_ok.store(result.is_ok(), Ordering::Release);
        for reply in replies.drain(..) {
            reply(result.clone());
        }
    }
}

#[cfg(test)]
#[path = "tests/writer.rs"]
mod tests;
