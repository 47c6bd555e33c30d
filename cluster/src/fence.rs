//! The lease fence: the active member's lease deadline, readable by any
//! thread without a lock.
//!
//! Contract: [`LeaseFence::allows`] is true only while this member is active
//! by its lease (`core::MemberCore::active_until`), judged by the reader's
//! own read of the monotonic clock. The member task stores the deadline
//! after every step; a reader (lnsd's data plane, once per batch) never
//! waits for that task. So when a frozen process resumes (SIGSTOP, then
//! SIGCONT, or a VM paused for longer than the lease), its emitting threads
//! find the fence closed at once, before the member task has even run and
//! noticed that it lost the lease: the data plane stops by its own clock,
//! as the lease itself does (issue 4: self-fencing; issue 6: the frozen old
//! active node must not emit).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::lease::Micros;

/// The lease deadline as microseconds since a fixed origin (0: closed).
#[derive(Debug)]
pub struct LeaseFence {
    origin: Instant,
    until: AtomicU64,
}

impl LeaseFence {
    /// A closed fence measuring time from `origin` (the member's clock origin).
    pub fn closed(origin: Instant) -> Self {
        LeaseFence {
            origin,
            until: AtomicU64::new(0),
        }
    }

    /// Whether this member is still active by its lease, now.
    pub fn allows(&self) -> bool {
        self.allows_at(self.now())
    }

    /// Whether the fence is open at `now` (microseconds since the origin).
    pub fn allows_at(&self, now: Micros) -> bool {
        now < self.until.load(Ordering::Acquire)
    }

    /// Stores the lease deadline (microseconds since the origin; 0 closes).
    pub(crate) fn set_until(&self, until: Micros) {
        self.until.store(until, Ordering::Release);
    }

    fn now(&self) -> Micros {
        u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_until_a_deadline_is_set_then_closed_again_past_it() {
        let f = LeaseFence::closed(Instant::now());
        assert!(!f.allows_at(0));
        f.set_until(1_000);
        assert!(f.allows_at(999));
        assert!(
            !f.allows_at(1_000),
            "the deadline itself is outside the lease"
        );
        f.set_until(0);
        assert!(!f.allows_at(10));
    }

    #[test]
    fn a_reader_judges_by_its_own_clock_without_the_writer() {
        let f = LeaseFence::closed(Instant::now());
        // A deadline 50 ms from now, as the member task stores it; the
        // reader then finds it past once that time elapsed, with no
        // further store (a resumed process whose member task has not run).
        f.set_until(f.now() + 50_000);
        assert!(f.allows());
        std::thread::sleep(std::time::Duration::from_millis(60));
        assert!(!f.allows());
    }
}
