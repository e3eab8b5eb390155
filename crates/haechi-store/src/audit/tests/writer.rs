use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Map, Value};

#[derive(Default)]
struct Counting {
    batches: AtomicUsize,
    events: AtomicUsize,
    fail: bool,
}

impl AuditSink for Counting {
    fn record(&self, event: PreparedEvent) -> Result<(), ProviderError> {
        self.record_all(vec![event])
    }

    fn record_all(&self, events: Vec<PreparedEvent>) -> Result<(), ProviderError> {
        // Slow enough that concurrent callers pile up behind the first batch.
        std::thread::sleep(Duration::from_millis(2));
        self.batches.fetch_add(1, Ordering::SeqCst);
        self.events.fetch_add(events.len(), Ordering::SeqCst);
        if self.fail {
            return Err(ProviderError::new("haechi_audit_io", "disk full"));
        }
        Ok(())
    }
}

fn event(i: usize) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("id".into(), Value::from(i));
    map
}

#[test]
fn concurrent_callers_share_batches() {
    let target = Arc::new(Counting::default());
    let writer = Arc::new(AuditWriter::spawn(target.clone(), WriterOptions::default()).unwrap());
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let writer = Arc::clone(&writer);
            std::thread::spawn(move || {
                for i in 0..20 {
                    writer
                        .record(haechi_core::audit::PreparedEvent::from_map(event(
                            t * 100 + i,
                        )))
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(target.events.load(Ordering::SeqCst), 320);
    let batches = target.batches.load(Ordering::SeqCst);
    assert!(batches < 320, "no grouping happened ({batches} batches)");
}

#[test]
fn a_failed_append_fails_every_caller_in_the_batch() {
    let target = Arc::new(Counting {
        fail: true,
        ..Counting::default()
    });
    let writer = AuditWriter::spawn(target, WriterOptions::default()).unwrap();
    let error = writer
        .record(haechi_core::audit::PreparedEvent::from_map(event(1)))
        .unwrap_err();
    assert_eq!(error.code, "haechi_audit_io");
}

#[test]
fn after_shutdown_records_are_refused() {
    let target = Arc::new(Counting::default());
    let writer = AuditWriter::spawn(target.clone(), WriterOptions::default()).unwrap();
    writer
        .record(haechi_core::audit::PreparedEvent::from_map(event(1)))
        .unwrap();
    writer.shutdown();
    assert_eq!(
        writer
            .record(haechi_core::audit::PreparedEvent::from_map(event(2)))
            .unwrap_err()
            .code,
        "haechi_audit_writer_stopped"
    );
    assert_eq!(target.events.load(Ordering::SeqCst), 1);
}

#[test]
fn try_submit_reports_each_outcome_and_refuses_when_full() {
    let target = Arc::new(Counting::default());
    let options = WriterOptions {
        max_batch: 1,
        queue_capacity: 2,
    };
    let writer = AuditWriter::spawn(target.clone(), options).unwrap();
    let (done, outcomes) = mpsc::channel();
    for i in 0..50 {
        let done = done.clone();
        let on_done: AuditDone = Box::new(move |result| {
            let _ = done.send(result);
        });
        writer.submit(PreparedEvent::from_map(event(i)), on_done);
    }
    drop(done);
    writer.shutdown();
    // Every event is answered exactly once: appended, or refused at once.
    let outcomes: Vec<_> = outcomes.iter().collect();
    assert_eq!(outcomes.len(), 50);
    let refused = outcomes.iter().filter(|outcome| outcome.is_err()).count();
    assert!(
        refused > 0,
        "a 2-slot queue behind a slow store must refuse"
    );
    assert!(outcomes
        .iter()
        .filter_map(|outcome| outcome.as_ref().err())
        .all(|error| error.code == "haechi_audit_queue_full"));
    assert_eq!(target.events.load(Ordering::SeqCst), 50 - refused);
}

/// Fails while `failing` is set; its probe answers like the disk it stands for.
#[derive(Default)]
struct Flaky {
    failing: std::sync::atomic::AtomicBool,
}

impl AuditSink for Flaky {
    fn record(&self, _: PreparedEvent) -> Result<(), ProviderError> {
        self.ready()
    }

    fn ready(&self) -> Result<(), ProviderError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(ProviderError::new("haechi_audit_io", "disk full"));
        }
        Ok(())
    }
}

#[test]
fn readiness_follows_the_last_append_and_recovers_through_the_probe() {
    let target = Arc::new(Flaky::default());
    let writer = AuditWriter::spawn(target.clone(), WriterOptions::default()).unwrap();
    writer
        .record(haechi_core::audit::PreparedEvent::from_map(event(1)))
        .unwrap();
    assert!(writer.ready().is_ok());

    target.failing.store(true, Ordering::SeqCst);
    // Ready until an append actually fails (readiness reports outcomes, it does not write).
    assert!(writer.ready().is_ok());
    assert!(writer
        .record(haechi_core::audit::PreparedEvent::from_map(event(2)))
        .is_err());
    assert_eq!(writer.ready().unwrap_err().code, "haechi_audit_io");

    // Space is back: the probe says an append would succeed, before any traffic.
    target.failing.store(false, Ordering::SeqCst);
    assert!(writer.ready().is_ok());
    writer
        .record(haechi_core::audit::PreparedEvent::from_map(event(3)))
        .unwrap();
    assert!(writer.ready().is_ok());
}

#[test]
fn the_store_is_offered_for_direct_appends_only_when_it_never_waits_for_a_sync() {
    use crate::audit::{FsyncPolicy, JsonlAuditSink, JsonlOptions};
    let dir = tempfile::tempdir().unwrap();
    for (fsync, offered) in [
        (FsyncPolicy::EveryBatch, false),
        (FsyncPolicy::Interval(Duration::from_millis(100)), true),
        (FsyncPolicy::Never, true),
    ] {
        let options = JsonlOptions {
            fsync,
            ..JsonlOptions::default()
        };
        let sink = Arc::new(JsonlAuditSink::new(dir.path().join("audit.jsonl"), options).unwrap());
        assert_eq!(sink.appends_without_sync(), offered, "{fsync:?}");
        let writer = AuditWriter::spawn(sink, WriterOptions::default()).unwrap();
        assert_eq!(writer.direct_store().is_some(), offered, "{fsync:?}");
    }
    // A target that says nothing about syncing is never appended to directly.
    let writer =
        AuditWriter::spawn(Arc::new(Counting::default()), WriterOptions::default()).unwrap();
    assert!(writer.direct_store().is_none());
}
