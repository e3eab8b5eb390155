//! Group commit: one writer thread applies queued jobs in batches.
//!
//! Callers hand a job over and are answered once the batch that carries it is applied. While one
//! batch is being written, the jobs that arrive queue up and go out together in the next one —
//! one write (one transaction, one sync) per batch — so a busy gateway never waits on the disk
//! request by request. The queue is bounded: a full queue refuses a job (fail closed) instead
//! of blocking an async caller. The audit writer and the vault writer both run on it.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use haechi_core::seams::ProviderError;

/// Called once with the outcome of the batch that carried a job.
pub(crate) type Reply = Box<dyn FnOnce(Result<(), ProviderError>) + Send>;

/// The errors a writer answers with when it cannot take a job.
#[derive(Clone, Copy)]
pub(crate) struct Refusals {
    pub queue_full: fn() -> ProviderError,
    pub stopped: fn() -> ProviderError,
}

/// Applies one batch of jobs; returns one outcome per job, in order.
pub(crate) trait ApplyBatch<J>: Send + 'static {
    fn apply(&mut self, jobs: Vec<J>) -> Vec<Result<(), ProviderError>>;

    /// Housekeeping once a batch's callers are answered, so they do not wait for it.
    fn after_replies(&mut self) {}

    /// How often [`Self::tick`] runs, busy or idle (`None`: never).
    fn tick_every(&self) -> Option<Duration> {
        None
    }

    /// Periodic work (a deferred sync), between batches.
    fn tick(&mut self) {}
}

/// The writer thread and its queue. Dropping it applies what is queued and stops the thread.
pub(crate) struct GroupWriter<J> {
    sender: Mutex<Option<SyncSender<(J, Reply)>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    refusals: Refusals,
}

impl<J: Send + 'static> GroupWriter<J> {
    /// Start the thread. `max_batch` bounds the jobs in one batch, `queue_capacity` the jobs
    /// waiting for the writer.
    pub(crate) fn spawn(
        name: &str,
        max_batch: usize,
        queue_capacity: usize,
        refusals: Refusals,
        target: impl ApplyBatch<J>,
    ) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::sync_channel(queue_capacity.max(1));
        let max_batch = max_batch.max(1);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || run(target, &receiver, max_batch))?;
        Ok(GroupWriter {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
            refusals,
        })
    }

    fn sender(&self) -> Result<SyncSender<(J, Reply)>, ProviderError> {
        self.sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .ok_or_else(self.refusals.stopped)
    }

    /// Queue a job without waiting: `reply` runs on the writer thread once the job's batch is
    /// applied (or failed). When the queue is full or the writer stopped, nothing is queued
    /// and the refusal comes back with the unused `reply`.
    pub(crate) fn try_submit(&self, job: J, reply: Reply) -> Result<(), (ProviderError, Reply)> {
        let sender = match self.sender() {
            Ok(sender) => sender,
            Err(error) => return Err((error, reply)),
        };
        sender.try_send((job, reply)).map_err(|error| match error {
            TrySendError::Full((_, reply)) => ((self.refusals.queue_full)(), reply),
            TrySendError::Disconnected((_, reply)) => ((self.refusals.stopped)(), reply),
        })
    }

    /// Queue a job (waiting for room) and wait for its batch.
    pub(crate) fn submit_wait(&self, job: J) -> Result<(), ProviderError> {
        let (sender, done) = mpsc::sync_channel(1);
        let reply: Reply = Box::new(move |result| {
            let _ = sender.send(result);
        });
        self.sender()?
            .send((job, reply))
            .map_err(|_| (self.refusals.stopped)())?;
        done.recv().map_err(|_| (self.refusals.stopped)())?
    }
}

impl<J> GroupWriter<J> {
    /// Stop accepting jobs, apply everything queued, and wait for the thread.
    pub(crate) fn shutdown(&self) {
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

impl<J> Drop for GroupWriter<J> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run<J>(mut target: impl ApplyBatch<J>, receiver: &Receiver<(J, Reply)>, max_batch: usize) {
    let mut jobs = Vec::with_capacity(max_batch);
    let mut replies: Vec<Reply> = Vec::with_capacity(max_batch);
    let tick_every = target.tick_every();
    let mut next_tick = tick_every.map(|every| Instant::now() + every);
    loop {
        if let (Some(every), Some(due)) = (tick_every, next_tick) {
            if Instant::now() >= due {
                target.tick();
                next_tick = Some(Instant::now() + every);
            }
        }
        // Block for the first job (until the next tick is due), then take whatever else is
        // already waiting.
        let first = match next_tick {
            None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(due) => receiver.recv_timeout(due.saturating_duration_since(Instant::now())),
        };
        let (job, reply) = match first {
            Ok(first) => first,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                target.tick(); // shutting down: nothing deferred is left behind
                return;
            }
        };
        jobs.push(job);
        replies.push(reply);
        while jobs.len() < max_batch {
            match receiver.try_recv() {
                Ok((job, reply)) => {
                    jobs.push(job);
                    replies.push(reply);
                }
                Err(_) => break,
            }
        }
        let count = jobs.len();
        let mut outcomes = target.apply(std::mem::take(&mut jobs)).into_iter();
        for reply in replies.drain(..) {
            // A target that answers short fails the rest closed rather than leaving them hanging.
            let outcome = outcomes.next().unwrap_or_else(|| {
                Err(ProviderError::new(
                    "haechi_writer_failed",
                    format!("the writer answered fewer than the {count} jobs of its batch"),
                ))
            });
            reply(outcome);
        }
        target.after_replies();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// Counts the batches and ticks it sees.
    struct Counting {
        applied: Arc<AtomicUsize>,
        ticks: Arc<AtomicUsize>,
        every: Option<Duration>,
    }

    impl ApplyBatch<u32> for Counting {
        fn apply(&mut self, jobs: Vec<u32>) -> Vec<Result<(), ProviderError>> {
            self.applied.fetch_add(jobs.len(), Ordering::SeqCst);
            jobs.iter().map(|_| Ok(())).collect()
        }

        fn tick_every(&self) -> Option<Duration> {
            self.every
        }

        fn tick(&mut self) {
            self.ticks.fetch_add(1, Ordering::SeqCst);
        }
    }

    const REFUSALS: Refusals = Refusals {
        queue_full: || ProviderError::new("full", "full"),
        stopped: || ProviderError::new("stopped", "stopped"),
    };

    fn writer(every: Option<Duration>) -> (GroupWriter<u32>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let applied = Arc::new(AtomicUsize::new(0));
        let ticks = Arc::new(AtomicUsize::new(0));
        let target = Counting {
            applied: Arc::clone(&applied),
            ticks: Arc::clone(&ticks),
            every,
        };
        match GroupWriter::spawn("test-writer", 8, 64, REFUSALS, target) {
            Ok(writer) => (writer, applied, ticks),
            Err(error) => panic!("spawn: {error}"),
        }
    }

    #[test]
    fn an_idle_writer_still_ticks_and_ticks_once_more_on_shutdown() {
        let (writer, applied, ticks) = writer(Some(Duration::from_millis(10)));
        assert!(writer.submit_wait(1).is_ok());
        std::thread::sleep(Duration::from_millis(80));
        let while_idle = ticks.load(Ordering::SeqCst);
        assert!(while_idle >= 2, "ticked {while_idle} times in 80 ms");
        writer.shutdown();
        assert!(ticks.load(Ordering::SeqCst) > while_idle);
        assert_eq!(applied.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_writer_without_a_period_only_applies_batches() {
        let (writer, applied, ticks) = writer(None);
        for job in 0..5 {
            assert!(writer.submit_wait(job).is_ok());
        }
        writer.shutdown();
        assert_eq!(applied.load(Ordering::SeqCst), 5);
        // Only the shutdown tick, which a target without deferred work ignores.
        assert_eq!(ticks.load(Ordering::SeqCst), 1);
    }
}
