use std::sync::atomic::{AtomicU64, Ordering};

use super::*;

/// A clock the test moves by hand.
struct ManualClock {
    base: Instant,
    offset_ms: AtomicU64,
}

impl ManualClock {
    fn new() -> Arc<Self> {
        Arc::new(ManualClock {
            base: Instant::now(),
            offset_ms: AtomicU64::new(0),
        })
    }

    fn advance(&self, ms: u64) {
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    fn clock(self: &Arc<Self>) -> Clock {
        let me = Arc::clone(self);
        Arc::new(move || me.base + Duration::from_millis(me.offset_ms.load(Ordering::SeqCst)))
    }
}

fn limiter(window_ms: u64, max_keys: usize) -> (WindowRateLimiter, Arc<ManualClock>) {
    let clock = ManualClock::new();
    let limiter = WindowRateLimiter::with_settings(Duration::from_millis(window_ms), max_keys)
        .with_clock(clock.clock());
    (limiter, clock)
}

#[test]
fn the_limit_is_enforced_per_key() {
    let (limiter, _) = limiter(60_000, 100);
    for _ in 0..3 {
        assert!(limiter.check("alice", 3));
    }
    assert!(!limiter.check("alice", 3));
    assert!(!limiter.check("alice", 3));
    assert!(limiter.check("bob", 3), "another key has its own window");
    assert_eq!(limiter.tracked_keys(), 2);
}

#[test]
fn a_limit_of_one_allows_exactly_one() {
    let (limiter, _) = limiter(60_000, 100);
    assert!(limiter.check("k", 1));
    assert!(!limiter.check("k", 1));
}

#[test]
fn a_limit_of_zero_refuses() {
    let (limiter, _) = limiter(60_000, 100);
    assert!(!limiter.check("k", 0));
    assert_eq!(limiter.tracked_keys(), 0);
}

#[test]
fn the_window_rolls_over() {
    let (limiter, clock) = limiter(60_000, 100);
    assert!(limiter.check("k", 2));
    clock.advance(30_000);
    assert!(limiter.check("k", 2));
    assert!(!limiter.check("k", 2));
    clock.advance(29_999);
    assert!(
        !limiter.check("k", 2),
        "the window is fixed from its first request"
    );
    clock.advance(1);
    assert!(limiter.check("k", 2), "a new window opens at 60 s");
    assert!(limiter.check("k", 2));
    assert!(!limiter.check("k", 2));
}

#[test]
fn a_rolled_over_key_is_not_swept_by_its_stale_entry() {
    let (limiter, clock) = limiter(1_000, 100);
    assert!(limiter.check("k", 1));
    clock.advance(1_000);
    assert!(limiter.check("k", 1), "new window");
    clock.advance(10);
    // The first window's queue entry is expired and swept now; the live window must stay.
    assert!(!limiter.check("other", 0));
    assert!(limiter.check("other", 5));
    assert!(
        !limiter.check("k", 1),
        "k's current window is still counted"
    );
    assert_eq!(limiter.tracked_keys(), 2);
}

#[test]
fn expired_windows_are_swept() {
    let (limiter, clock) = limiter(1_000, 10_000);
    for i in 0..1_000 {
        assert!(limiter.check(&format!("one-shot-{i}"), 10));
    }
    assert_eq!(limiter.tracked_keys(), 1_000);
    clock.advance(1_000);
    // Each call sweeps a few; a few hundred calls reclaim every expired key.
    for _ in 0..200 {
        assert!(limiter.check("steady", 1_000_000));
    }
    assert_eq!(limiter.tracked_keys(), 1, "only the live key is left");
}

#[test]
fn a_full_table_refuses_new_keys_but_serves_known_ones() {
    let (limiter, clock) = limiter(60_000, 3);
    assert!(limiter.check("a", 10));
    assert!(limiter.check("b", 10));
    assert!(limiter.check("c", 10));
    assert!(!limiter.check("d", 10), "a new key is refused when full");
    assert!(limiter.check("a", 10), "a tracked key is still served");
    assert_eq!(limiter.tracked_keys(), 3);
    clock.advance(60_000);
    assert!(limiter.check("d", 10), "expired windows make room");
    assert!(limiter.tracked_keys() <= 3);
}

#[test]
fn one_million_one_shot_keys_stay_bounded() {
    // One new key per millisecond with a 60 s window: at most ~60 000 are live at once.
    let (limiter, clock) = limiter(60_000, 100_000);
    let mut peak = 0;
    for i in 0..1_000_000u32 {
        assert!(limiter.check(&i.to_string(), 1));
        clock.advance(1);
        if i % 1024 == 0 {
            peak = peak.max(limiter.tracked_keys());
        }
    }
    peak = peak.max(limiter.tracked_keys());
    assert!(peak <= 60_001, "peak {peak}");
    assert!(
        peak >= 59_000,
        "windows are kept for their full length: {peak}"
    );
    let queue = limiter.lock().opened.len();
    assert!(queue <= 60_001, "queue {queue}");
}

#[test]
fn one_million_keys_at_one_instant_hit_the_cap_and_fail_closed() {
    let (limiter, _) = limiter(60_000, 10_000);
    let mut allowed = 0;
    for i in 0..1_000_000u32 {
        if limiter.check(&i.to_string(), 1) {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10_000);
    assert_eq!(limiter.tracked_keys(), 10_000);
    assert_eq!(limiter.lock().opened.len(), 10_000);
}

#[test]
fn memory_is_given_back_after_a_burst() {
    let (limiter, clock) = limiter(1_000, 100_000);
    for i in 0..50_000u32 {
        assert!(limiter.check(&i.to_string(), 1));
    }
    let burst_capacity = limiter.lock().slots.capacity();
    assert!(burst_capacity >= 50_000);
    clock.advance(1_000);
    for _ in 0..10_000 {
        limiter.check("steady", u64::MAX);
    }
    let state = limiter.lock();
    assert_eq!(state.slots.len(), 1);
    assert!(
        state.slots.capacity() < burst_capacity / 4,
        "{}",
        state.slots.capacity()
    );
    assert!(state.opened.capacity() < 50_000);
}

#[tokio::test]
async fn the_trait_resolves_to_the_decision() {
    let limiter: Arc<dyn RateLimiter> = Arc::new(WindowRateLimiter::new());
    assert!(limiter.allow("k", 1).await);
    assert!(!limiter.allow("k", 1).await);
}
