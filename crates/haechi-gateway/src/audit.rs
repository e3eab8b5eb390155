//! The gateway's side of the audit log: an async handle on the protector's audit sink (a
//! request awaits its event's batch instead of blocking a runtime thread), and the events for the
//! gateway's own decisions (auth, rate limit, model allowlist, streaming, unprotected
//! responses) in the reference's shape.

use std::sync::Arc;

use haechi_core::audit::{AuditIdentity, DecisionEvent, PreparedEvent};
use haechi_core::hash::short_hash;
use haechi_core::seams::{AuditSink, ProviderError};
use haechi_core::vocab::Mode;

/// The protector's audit sink, awaited without holding a thread: a request waits for its
/// event's batch on a channel (see [`AuditSink::submit`]).
#[derive(Clone)]
pub struct AuditHandle {
    sink: Arc<dyn AuditSink>,
}

impl AuditHandle {
    pub fn new(sink: Arc<dyn AuditSink>) -> Self {
        AuditHandle { sink }
    }

    /// Whether events can be recorded now.
    pub fn ready(&self) -> bool {
        self.sink.ready().is_ok()
    }

    /// Resolves once the event is appended (and synced, per `audit.fsync`). An error means
    /// the event is not in the log, and the caller must not act as if it were.
    pub async fn record(&self, event: PreparedEvent) -> Result<(), ProviderError> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        self.sink.submit(
            event,
            Box::new(move |result| {
                let _ = done.send(result);
            }),
        );
        outcome.await.unwrap_or_else(|_| {
            Err(ProviderError::new(
                "haechi_audit_writer_stopped",
                "the audit writer stopped before confirming the event",
            ))
        })
    }
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
