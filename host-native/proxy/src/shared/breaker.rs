//! A circuit breaker: after a few consecutive failures the shared store is left alone (every
//! call answers locally at once) until a background probe finds it answering again. Requests
//! never pay for probing a dead server.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Consecutive failures that open the breaker.
const TRIP_AFTER: u32 = 3;

/// The breaker.
#[derive(Default)]
pub struct Breaker {
    failures: AtomicU32,
    open: AtomicBool,
}

impl Breaker {
    /// Calls go to the shared store.
    pub fn closed(&self) -> bool {
        !self.open.load(Ordering::Relaxed)
    }

    /// A call answered.
    pub fn success(&self) {
        self.failures.store(0, Ordering::Relaxed);
    }

    /// A call failed or timed out; true when this one opened the breaker.
    pub fn failure(&self) -> bool {
        let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        n >= TRIP_AFTER && !self.open.swap(true, Ordering::Relaxed)
    }

    /// The probe found the store answering; true when this closed the breaker.
    pub fn recovered(&self) -> bool {
        self.failures.store(0, Ordering::Relaxed);
        self.open.swap(false, Ordering::Relaxed)
    }

    /// The probe failed: open (a restarted server is only trusted once a probe answers).
    pub fn probe_failed(&self) -> bool {
        !self.open.swap(true, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_closes_on_a_probe() {
        let b = Breaker::default();
        assert!(b.closed());
        assert!(!b.failure());
        b.success();
        assert!(!b.failure());
        assert!(!b.failure());
        assert!(b.closed(), "a success in between resets the count");
        assert!(b.failure());
        assert!(!b.closed());
        assert!(!b.failure(), "already open");
        assert!(b.recovered());
        assert!(b.closed());
        assert!(b.probe_failed());
        assert!(!b.closed());
    }
}
