//! An in-memory audit store for tests and embedding: the same chain as the file, kept in memory.

use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value};

use super::chain::ChainHead;
use super::log::{AuditLog, AuditStore};
use super::prepared::SealedRecord;
use crate::seams::ProviderError;

#[derive(Debug, Default)]
struct State {
    lines: Vec<String>,
    head: Option<ChainHead>,
}

/// Keeps chained lines in memory; a mutex is the exclusive section, so the chain never forks.
#[derive(Debug, Default)]
pub struct MemoryAuditStore {
    state: Mutex<State>,
}

impl MemoryAuditStore {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Each append is a single extend after sealing, so a poisoned state is still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl AuditStore for MemoryAuditStore {
    fn append_exclusive(
        &self,
        seal: &mut dyn FnMut(Option<&ChainHead>) -> Vec<SealedRecord>,
    ) -> Result<Option<ChainHead>, ProviderError> {
        let mut state = self.lock();
        let records = seal(state.head.as_ref());
        if let Some(last) = records.last() {
            state.head = Some(last.head.clone());
        }
        state
            .lines
            .extend(records.into_iter().map(|record| record.line));
        Ok(state.head.clone())
    }
}

/// An audit log kept in memory.
pub type MemoryAuditSink = AuditLog<MemoryAuditStore>;

impl AuditLog<MemoryAuditStore> {
    pub fn new() -> Self {
        AuditLog::with_store(MemoryAuditStore::default())
    }

    /// The records as JSONL lines, as the file store would write them, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.store().lock().lines.clone()
    }

    /// The chained records, oldest first.
    pub fn records(&self) -> Vec<Map<String, Value>> {
        self.lines()
            .iter()
            .filter_map(|line| match serde_json::from_str(line) {
                Ok(Value::Object(map)) => Some(map),
                _ => None,
            })
            .collect()
    }

    pub fn current_head(&self) -> Option<ChainHead> {
        self.store().lock().head.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::verify::verify_lines;
    use crate::audit::PreparedEvent;
    use crate::seams::AuditSink;
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
                            assert!(sink.record(PreparedEvent::from_map(map)).is_ok());
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
        assert_eq!(outcome.head_hash, sink.current_head().map(|h| h.event_hash));
        assert!(lines
            .iter()
            .all(|l| !l.contains("raw value") && l.contains("\"secret\":1")));
    }
}
