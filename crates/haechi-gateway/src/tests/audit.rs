//! Per-thread group commit of audit events ([`AuditHandle`] over a store offered for direct
//! appends).

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use haechi_core::audit::PreparedEvent;
use haechi_core::seams::{AuditSink, ProviderError};
use serde_json::{json, Map, Value};

use super::AuditHandle;

/// A store that keeps every batch it is asked to append, failing them while `failing` is set.
#[derive(Default)]
struct Batches {
    appended: Mutex<Vec<Vec<String>>>,
    failing: AtomicBool,
}

impl Batches {
    fn sizes(&self) -> Vec<usize> {
        self.appended.lock().unwrap().iter().map(Vec::len).collect()
    }
}

impl AuditSink for Batches {
    fn record(&self, event: PreparedEvent) -> Result<(), ProviderError> {
        self.record_all(vec![event])
    }

    fn record_all(&self, events: Vec<PreparedEvent>) -> Result<(), ProviderError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(ProviderError::new("haechi_audit_write_failed", "disk full"));
        }
        let ids = events
            .iter()
            .map(|event| {
                let line: Value = serde_json::from_str(&event.seal(None).line).unwrap();
                line["id"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        self.appended.lock().unwrap().push(ids);
        Ok(())
    }

    fn ready(&self) -> Result<(), ProviderError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(ProviderError::new("haechi_audit_write_failed", "disk full"));
        }
        Ok(())
    }
}

/// A writer in front of `store` that offers it for direct appends, and refuses hand-offs (the
/// direct path must be the one taken).
struct OffersStore(Arc<Batches>);

impl AuditSink for OffersStore {
    fn record(&self, _event: PreparedEvent) -> Result<(), ProviderError> {
        Err(ProviderError::new(
            "unexpected",
            "the hand-off path was taken",
        ))
    }

    fn direct_store(&self) -> Option<Arc<dyn AuditSink>> {
        Some(Arc::clone(&self.0) as Arc<dyn AuditSink>)
    }
}

fn event(id: &str) -> PreparedEvent {
    let mut map = Map::new();
    map.insert("id".into(), Value::String(id.into()));
    map.insert("operation".into(), json!("request:POST chat-completions"));
    PreparedEvent::from_map(map)
}

fn handle() -> (AuditHandle, Arc<Batches>) {
    let store = Arc::new(Batches::default());
    let handle = AuditHandle::new(Arc::new(OffersStore(Arc::clone(&store))));
    (handle, store)
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn events_ready_together_on_one_thread_go_out_as_one_append() {
    let (handle, store) = handle();
    let outcomes = current_thread().block_on(async {
        let tasks: Vec<_> = (0..5)
            .map(|n| {
                let handle = handle.clone();
                tokio::spawn(async move { handle.record(event(&format!("e{n}"))).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        outcomes
    });
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(store.sizes(), vec![5]);
    let ids = store.appended.lock().unwrap()[0].clone();
    assert_eq!(
        ids,
        ["e0", "e1", "e2", "e3", "e4"],
        "queued in arrival order"
    );
}

#[test]
fn events_after_a_batch_start_the_next_batch() {
    let (handle, store) = handle();
    current_thread().block_on(async {
        handle.record(event("first")).await.unwrap();
        handle.record(event("second")).await.unwrap();
    });
    assert_eq!(store.sizes(), vec![1, 1]);
}

#[test]
fn a_leader_dropped_before_it_appends_still_appends_for_everyone_queued() {
    let (handle, store) = handle();
    let mut context = Context::from_waker(Waker::noop());
    current_thread().block_on(async {
        let mut leader = Box::pin(handle.record(event("leader")));
        let mut follower = pin!(handle.record(event("follower")));
        // The leader queues its event and yields; the follower queues behind it.
        assert!(leader.as_mut().poll(&mut context).is_pending());
        assert!(follower.as_mut().poll(&mut context).is_pending());
        assert!(store.sizes().is_empty());
        // Its client goes away: the batch is appended as the leader is dropped.
        drop(leader);
        assert_eq!(store.sizes(), vec![2]);
        match follower.as_mut().poll(&mut context) {
            Poll::Ready(outcome) => assert!(outcome.is_ok(), "{outcome:?}"),
            Poll::Pending => panic!("the follower was left waiting"),
        }
    });
}

#[test]
fn a_failed_append_fails_every_event_of_its_batch_and_readiness_follows_the_store() {
    let (handle, store) = handle();
    let runtime = current_thread();
    store.failing.store(true, Ordering::SeqCst);
    let outcomes = runtime.block_on(async {
        let (a, b) = tokio::join!(handle.record(event("a")), handle.record(event("b")));
        [a, b]
    });
    for outcome in &outcomes {
        let error = outcome.as_ref().expect_err("a failed append is an error");
        assert_eq!(error.code, "haechi_audit_write_failed");
    }
    assert!(!handle.ready(), "not ready while appends fail");
    store.failing.store(false, Ordering::SeqCst);
    assert!(handle.ready(), "ready again once the store can append");
    runtime.block_on(handle.record(event("c"))).unwrap();
    assert_eq!(store.sizes(), vec![1]);
}
