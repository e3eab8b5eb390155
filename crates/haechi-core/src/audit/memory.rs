//! An in-memory audit sink for tests: sanitizes and chains like the file sink, keeps records.

use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value};

use super::canonical::js_stringify;
use super::chain::{chain_event, ChainHead};
use super::sanitize::sanitize_event;
use crate::seams::{AuditSink, ProviderError};

#[derive(Debug, Default)]
struct State {
    records: Vec<Map<String, Value>>,
    head: Option<ChainHead>,
}

/// Keeps chained records in memory. Appends are serialized by a mutex, so the chain never forks.
#[derive(Debug, Default)]
pub struct MemoryAuditSink {
    state: Mutex<State>,
}

impl MemoryAuditSink {
    pub fn new() -> Self {
        Self::default()
    }

    /// The chained records so far, oldest first.
    pub fn records(&self) -> Vec<Map<String, Value>> {
        self.lock().records.clone()
    }

    /// The records as JSONL lines, as the file sink would write them.
    pub fn lines(&self) -> Vec<String> {
        self.lock()
            .records
            .iter()
            .map(|record| js_stringify(&Value::Object(record.clone())))
            .collect()
    }

    pub fn head(&self) -> Option<ChainHead> {
        self.lock().head.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the chain half-written: each append is one push.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl AuditSink for MemoryAuditSink {
    fn record(&self, event: Map<String, Value>) -> Result<(), ProviderError> {
        let event = sanitize_event(event);
        let mut state = self.lock();
        let (record, head) = chain_event(event, state.head.as_ref());
        state.records.push(record);
        state.head = Some(head);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::verify::verify_lines;
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn concurrent_records_form_one_chain_without_values() {
        let sink = Arc::new(MemoryAuditSink::new());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let sink = Arc::clone(&sink);
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let event = json!({"id": format!("{t}-{i}"), "message": "raw value",
                            "summary": {"detectionCount": 1, "byType": {"secret": 1}, "byAction": {"block": 1}}});
                        if let Value::Object(map) = event {
                            assert!(sink.record(map).is_ok());
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            assert!(thread.join().is_ok());
        }
        let lines = sink.lines();
        let outcome = verify_lines(&lines);
        assert!(outcome.valid);
        assert_eq!(outcome.records, 100);
        assert_eq!(outcome.head_hash, sink.head().map(|h| h.event_hash));
        assert!(lines
            .iter()
            .all(|l| !l.contains("raw value") && l.contains("\"secret\":1")));
    }
}
