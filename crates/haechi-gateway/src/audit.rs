//! The gateway's side of the audit log: an async handle on the protector's audit sink (a
//! request awaits its event's batch instead of blocking a runtime thread), and the events for the
//! gateway's own decisions (auth, rate limit, model allowlist, streaming, unprotected
//! responses) in the reference's shape.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use thread_local::ThreadLocal;
use tokio::sync::oneshot;

use haechi_core::audit::{AuditIdentity, DecisionEvent, PreparedEvent};
use haechi_core::hash::short_hash;
use haechi_core::seams::{AuditSink, ProviderError};
use haechi_core::vocab::Mode;

/// The protector's audit sink, awaited without holding a thread.
///
/// When the sink offers its store for direct appends (no sync per append), the events of the
/// requests that are ready together on one runtime thread go out as one batch appended on that
/// thread ([`ThreadBatches`]): no hand-off to the writer thread and no wake-up back, which cost
/// more than the append. Otherwise a request hands its event to the sink's writer and waits for
/// its batch on a channel (see [`AuditSink::submit`]).
#[derive(Clone)]
pub struct AuditHandle {
    sink: Arc<dyn AuditSink>,
    direct: Option<Arc<ThreadBatches>>,
}

impl AuditHandle {
    pub fn new(sink: Arc<dyn AuditSink>) -> Self {
        let direct = sink.direct_store().map(|store| {
            Arc::new(ThreadBatches {
                store,
                queues: ThreadLocal::new(),
                last_append_ok: AtomicBool::new(true),
            })
        });
        AuditHandle { sink, direct }
    }

    /// Whether events can be recorded now.
    pub fn ready(&self) -> bool {
        match &self.direct {
            Some(direct) if !direct.last_append_ok.load(Ordering::Acquire) => {
                direct.store.ready().is_ok()
            }
            _ => self.sink.ready().is_ok(),
        }
    }

    /// Resolves once the event is appended (and synced, per `audit.fsync`). An error means
    /// the event is not in the log, and the caller must not act as if it were.
    pub async fn record(&self, event: PreparedEvent) -> Result<(), ProviderError> {
        if let Some(direct) = &self.direct {
            return direct.record(event).await;
        }
        let (done, outcome) = oneshot::channel();
        self.sink.submit(
            event,
            Box::new(move |result| {
                let _ = done.send(result);
            }),
        );
        outcome.await.unwrap_or_else(|_| Err(writer_stopped()))
    }
}

fn writer_stopped() -> ProviderError {
    ProviderError::new(
        "haechi_audit_writer_stopped",
        "the audit writer stopped before confirming the event",
    )
}

/// Group commit per runtime thread: the first request to queue an event on its thread leads
/// the batch. It yields once, so the other requests that are ready on the thread queue theirs,
/// then appends them all with one write and answers each. The store's lock orders the batches
/// of different threads in the one chain.
struct ThreadBatches {
    store: Arc<dyn AuditSink>,
    queues: ThreadLocal<Arc<Mutex<Batch>>>,
    /// Whether the last batch was appended: readiness probes the store while appends fail.
    last_append_ok: AtomicBool,
}

#[derive(Default)]
struct Batch {
    events: Vec<PreparedEvent>,
    waiting: Vec<oneshot::Sender<Result<(), ProviderError>>>,
    /// A request has queued its event and will append the batch.
    led: bool,
}

impl ThreadBatches {
    async fn record(&self, event: PreparedEvent) -> Result<(), ProviderError> {
        // The queue is found once: if the task moves to another thread (a multi-thread
        // runtime), it still appends the batch it leads.
        let queue = Arc::clone(self.queues.get_or(Arc::default));
        let (done, outcome) = oneshot::channel();
        let leads = {
            let mut batch = lock(&queue);
            batch.events.push(event);
            batch.waiting.push(done);
            !std::mem::replace(&mut batch.led, true)
        };
        if leads {
            // Dropped before it appends (the client went away), the leader still appends.
            let leader = Leader {
                batches: self,
                queue: &queue,
            };
            tokio::task::yield_now().await;
            drop(leader);
        }
        outcome.await.unwrap_or_else(|_| Err(writer_stopped()))
    }

    /// Append everything queued on `queue` with one write and answer each event's request.
    fn append(&self, queue: &Mutex<Batch>) {
        let (events, waiting) = {
            let mut batch = lock(queue);
            batch.led = false;
            (
                std::mem::take(&mut batch.events),
                std::mem::take(&mut batch.waiting),
            )
        };
        if events.is_empty() {
            return;
        }
        let result = self.store.record_all(events);
        self.last_append_ok.store(result.is_ok(), Ordering::Release);
        for done in waiting {
            let _ = done.send(result.clone());
        }
    }
}

/// Appends its thread's batch when dropped: after its yield, or when its request is dropped
/// mid-yield, so no queued event is ever left waiting.
struct Leader<'a> {
    batches: &'a ThreadBatches,
    queue: &'a Mutex<Batch>,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        self.batches.append(self.queue);
    }
}

fn lock(queue: &Mutex<Batch>) -> MutexGuard<'_, Batch> {
    // A batch is only moved in and out under the lock, so one left by a panic is consistent.
    queue
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where in the API a request went, as audit events name it.
#[derive(Debug, Clone, Copy)]
pub struct RouteRef<'a> {
    pub protocol: &'static str,
    pub route_id: &'static str,
    /// The request path (hashed into `pathHash`, never written as is).
    pub path: &'a str,
}

/// Who asked, as audit events name it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallerRef<'a> {
    pub identity: Option<&'a AuditIdentity>,
    pub profile: Option<&'a str>,
    pub correlation_id: &'a str,
}

/// One gateway decision.
#[derive(Debug, Clone)]
pub struct GatewayDecision<'a> {
    pub route: RouteRef<'a>,
    pub caller: CallerRef<'a>,
    pub mode: Mode,
    /// The decision name (`auth_denied`, `rate_limited`, `model_not_allowed`, ...).
    pub decision: &'static str,
    /// A reason code; never a payload value.
    pub reason: String,
    pub enforced: bool,
    pub blocked: bool,
}

impl GatewayDecision<'_> {
    /// The event prepared for the chain: the reference's keys and order, its summary counting
    /// the decision once.
    pub fn prepare(&self) -> PreparedEvent {
        DecisionEvent {
            id: uuid::Uuid::new_v4().to_string(),
            correlation_id: self.caller.correlation_id.to_owned(),
            timestamp: haechi_core::clock::iso_now(),
            protocol: self.route.protocol.to_owned(),
            operation: format!("proxy:{}:{}", self.route.protocol, self.route.route_id),
            mode: self.mode,
            identity: self.caller.identity.cloned(),
            profile: self.caller.profile.map(str::to_owned),
            enforced: self.enforced,
            blocked: self.blocked,
            decision: self.decision.to_owned(),
            reason: self.reason.clone(),
            route_id: self.route.route_id.to_owned(),
            path_hash: short_hash(self.route.path.as_bytes()),
        }
        .prepare()
    }
}

#[cfg(test)]
#[path = "tests/audit.rs"]
mod tests;
