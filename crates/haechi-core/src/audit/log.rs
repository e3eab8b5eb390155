//! The chain over a store: [`AuditLog`] sanitizes and chains events (the math stays here) and
//! hands the sealed lines to an [`AuditStore`], which only has to append them in order under an
//! exclusive section. The JSONL file is one store; a shared store (e.g. Redis) plugs in the same
//! way without touching the math.

use serde_json::{Map, Value};

use super::chain::ChainHead;
use super::prepared::{PreparedEvent, SealedRecord};
use crate::seams::{AuditSink, ProviderError};

/// Storage under the audit chain.
pub trait AuditStore: Send + Sync {
    /// With exclusive access to the log (no other writer, in this process or any other, may
    /// append meanwhile), call `seal` exactly once with the current head and append the records
    /// it returns, all or none. Returns the head after the append.
    fn append_exclusive(
        &self,
        seal: &mut dyn FnMut(Option<&ChainHead>) -> Vec<SealedRecord>,
    ) -> Result<Option<ChainHead>, ProviderError>;
}

/// Chain prepared events after `head`.
pub fn seal_prepared(events: &[PreparedEvent], head: Option<&ChainHead>) -> Vec<SealedRecord> {
    let mut head = head.cloned();
    events
        .iter()
        .map(|event| {
            let record = event.seal(head.as_ref());
            head = Some(record.head.clone());
            record
        })
        .collect()
}

/// An audit log: the chain math over any [`AuditStore`].
#[derive(Debug, Default)]
pub struct AuditLog<S> {
    store: S,
}

impl<S: AuditStore> AuditLog<S> {
    pub fn with_store(store: S) -> Self {
        AuditLog { store }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Sanitize and render (outside the exclusive section), chain and append `events` as one
    /// batch.
    pub fn append_batch(
        &self,
        events: Vec<Map<String, Value>>,
    ) -> Result<Option<ChainHead>, ProviderError> {
        self.append_prepared(events.into_iter().map(PreparedEvent::from_map).collect())
    }

    /// Chain and append prepared events as one batch.
    pub fn append_prepared(
        &self,
        events: Vec<PreparedEvent>,
    ) -> Result<Option<ChainHead>, ProviderError> {
        self.store
            .append_exclusive(&mut |head| seal_prepared(&events, head))
    }

    /// The current head (an empty append).
    pub fn head(&self) -> Result<Option<ChainHead>, ProviderError> {
        self.append_batch(Vec::new())
    }
}

impl<S: AuditStore> AuditSink for AuditLog<S> {
    fn record(&self, event: PreparedEvent) -> Result<(), ProviderError> {
        self.append_prepared(vec![event]).map(|_| ())
    }

    fn record_all(&self, events: Vec<PreparedEvent>) -> Result<(), ProviderError> {
        self.append_prepared(events).map(|_| ())
    }
}
