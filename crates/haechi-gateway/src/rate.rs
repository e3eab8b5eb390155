//! Per-identity rate limits: the [`RateLimiter`] seam and the default in-process
//! [`WindowRateLimiter`].
//!
//! The default counts requests in a fixed window per key (60 s, as the reference): the first
//! request opens the window with a count of 1, and a request is refused once the count has
//! reached the limit. It is per process — replicas behind a load balancer each count on their
//! own; a shared-store limiter plugs in through the same trait.
//!
//! Memory stays bounded without a timer thread: windows are queued in the order they opened,
//! each call drops a few expired ones from the front (amortized O(1)), and at most `max_keys`
//! keys are tracked. When the table is full of live windows a *new* key is refused (fail
//! closed) instead of growing; keys already tracked keep their windows.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What [`RateLimiter::allow`] returns.
pub type RateFuture<'a> = Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

/// `allow(key, limit per minute)` resolves to `true` if the request may proceed.
/// Shared-store implementations (Redis) come later.
pub trait RateLimiter: Send + Sync {
    fn allow<'a>(&'a self, key: &'a str, requests_per_minute: u64) -> RateFuture<'a>;
}

/// The time source; injectable so tests move time without sleeping.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The reference's window length.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);
/// Keys tracked at most before new keys are refused.
pub const DEFAULT_MAX_KEYS: usize = 100_000;
/// Expired windows dropped per call at most: more than the one a call can add, so the backlog
/// shrinks under any load, and small enough that no call pays for a large sweep.
const SWEEP_BUDGET: usize = 8;
/// Tables smaller than this are never shrunk (not worth the rehash).
const SHRINK_FLOOR: usize = 1024;

pub struct WindowRateLimiter {
    window: Duration,
    max_keys: usize,
    clock: Clock,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    slots: HashMap<Arc<str>, Slot>,
    /// `(key, window start)` in opening order. An entry whose start no longer matches its
    /// key's slot is stale (the key rolled over since) and is simply dropped.
    opened: VecDeque<(Arc<str>, Instant)>,
}

struct Slot {
    start: Instant,
    count: u64,
}

impl Default for WindowRateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for WindowRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowRateLimiter")
            .field("window", &self.window)
            .field("max_keys", &self.max_keys)
            .field("tracked_keys", &self.tracked_keys())
            .finish()
    }
}

impl WindowRateLimiter {
    /// A 60 s window and at most 100 000 tracked keys.
    pub fn new() -> Self {
        Self::with_settings(DEFAULT_WINDOW, DEFAULT_MAX_KEYS)
    }

    pub fn with_settings(window: Duration, max_keys: usize) -> Self {
        WindowRateLimiter {
            window,
            max_keys,
            clock: Arc::new(Instant::now),
            state: Mutex::new(State::default()),
        }
    }

    /// Replace the time source (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Keys with a window in the table now (expired ones not yet swept included).
    pub fn tracked_keys(&self) -> usize {
        self.lock().slots.len()
    }

    /// The synchronous decision behind [`RateLimiter::allow`]. A limit of 0 refuses everything
    /// (the config requires a positive limit; 0 can only be a mistake, so fail closed).
    pub fn check(&self, key: &str, limit: u64) -> bool {
        if limit == 0 {
            return false;
        }
        let now = (self.clock)();
        let mut state = self.lock();
        state.sweep(now, self.window, SWEEP_BUDGET);

        let State { slots, opened } = &mut *state;
        if let Some(slot) = slots.get_mut(key) {
            if now.saturating_duration_since(slot.start) < self.window {
                if slot.count >= limit {
                    return false;
                }
                slot.count += 1;
                return true;
            }
            // The window ran out: this request opens the next one.
            slot.start = now;
            slot.count = 1;
            if let Some((tracked, _)) = slots.get_key_value(key) {
                opened.push_back((Arc::clone(tracked), now));
            }
            return true;
        }

        if slots.len() >= self.max_keys {
            state.sweep(now, self.window, usize::MAX);
            if state.slots.len() >= self.max_keys {
                return false;
            }
        }
        let key: Arc<str> = Arc::from(key);
        state.slots.insert(
            Arc::clone(&key),
            Slot {
                start: now,
                count: 1,
            },
        );
        state.opened.push_back((key, now));
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is consistent after every statement; a panic elsewhere cannot corrupt it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RateLimiter for WindowRateLimiter {
    fn allow<'a>(&'a self, key: &'a str, requests_per_minute: u64) -> RateFuture<'a> {
        // The decision takes a short lock and no I/O; nothing is held across an await.
        Box::pin(std::future::ready(self.check(key, requests_per_minute)))
    }
}

impl State {
    /// Drop up to `budget` windows that expired, oldest first.
    fn sweep(&mut self, now: Instant, window: Duration, budget: usize) {
        let mut removed = false;
        for _ in 0..budget {
            let expired = self
                .opened
                .front()
                .is_some_and(|(_, start)| now.saturating_duration_since(*start) >= window);
            if !expired {
                break;
            }
            if let Some((key, start)) = self.opened.pop_front() {
                if self.slots.get(&key).is_some_and(|slot| slot.start == start) {
                    self.slots.remove(&key);
                    removed = true;
                }
            }
        }
        if removed {
            self.shrink();
        }
    }

    /// Give memory back after a burst of keys has aged out. Shrinking to twice the live size
    /// only when under a quarter full keeps the rehash cost amortized.
    fn shrink(&mut self) {
        let len = self.slots.len();
        if self.slots.capacity() > SHRINK_FLOOR && len * 4 < self.slots.capacity() {
            self.slots.shrink_to(len * 2);
        }
        let queued = self.opened.len();
        if self.opened.capacity() > SHRINK_FLOOR && queued * 4 < self.opened.capacity() {
            self.opened.shrink_to(queued * 2);
        }
    }
}

#[cfg(test)]
#[path = "tests/rate.rs"]
mod tests;
