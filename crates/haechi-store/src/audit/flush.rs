//! The background flush behind `audit.fsync: "interval"`.
//!
//! Appends write every record to the log file before their callers go on (the operating system
//! holds it, so a crash of the process loses nothing) but do not wait for the disk. This thread
//! syncs the file at most one interval after a write, off the request path; a power failure or
//! kernel crash can lose at most that window. A sync that fails is reported to the next append,
//! which retries it on its own thread and refuses its records if the disk still fails (fail
//! closed: nothing more is acknowledged while earlier records may not be durable).

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the appender and the flush thread share.
#[derive(Debug, Default)]
struct Shared {
    /// The file the last append wrote to (the log may be re-opened after a rotation).
    file: Mutex<Option<Arc<File>>>,
    /// Written since the last sync.
    dirty: AtomicBool,
    /// The last background sync failed; cleared by a sync that succeeds.
    failed: AtomicBool,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    fn file(&self) -> MutexGuard<'_, Option<Arc<File>>> {
        self.file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sync what was written since the last sync.
    fn sync(&self) -> io::Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let Some(file) = self.file().clone() else {
            return Ok(());
        };
        file.sync_data().inspect_err(|_| {
            self.dirty.store(true, Ordering::Release);
            self.failed.store(true, Ordering::Release);
        })?;
        self.failed.store(false, Ordering::Release);
        Ok(())
    }
}

/// The flush thread of one log. Dropping it syncs what is left and stops the thread.
#[derive(Debug)]
pub(crate) struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Flusher {
    pub(crate) fn spawn(interval: Duration) -> io::Result<Flusher> {
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("haechi-audit-flush".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || run(&shared, interval)
            })?;
        Ok(Flusher {
            shared,
            thread: Some(thread),
        })
    }

    /// Before an append: a background sync that failed is retried here, and the append is
    /// refused while it keeps failing.
    pub(crate) fn check(&self) -> io::Result<()> {
        if self.shared.failed.load(Ordering::Acquire) {
            self.shared.sync()?;
        }
        Ok(())
    }

    /// After an append wrote to `file`: sync it within the interval.
    pub(crate) fn written(&self, file: &Arc<File>) {
        {
            let mut current = self.shared.file();
            if !current.as_ref().is_some_and(|held| Arc::ptr_eq(held, file)) {
                *current = Some(Arc::clone(file));
            }
        }
        self.shared.dirty.store(true, Ordering::Release);
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        *self
            .shared
            .stop
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared, interval: Duration) {
    let mut stopped = shared
        .stop
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    loop {
        if *stopped {
            drop(stopped);
            let _ = shared.sync();
            return;
        }
        stopped = shared
            .wake
            .wait_timeout(stopped, interval)
            .map(|(guard, _)| guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        if !*stopped {
            // Sync without holding the stop lock, so dropping the flusher never waits on a disk.
            drop(stopped);
            let _ = shared.sync();
            stopped = shared
                .stop
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}
