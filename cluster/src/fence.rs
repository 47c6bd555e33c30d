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
//!
//! A second deadline, [`LeaseFence::allows_forwarding`], covers the data
//! packets alone. It is the active deadline, except after a planned
//! hand-over: the old active member released its lease to the target
//! (MsgTimeoutNow) and is no longer active, but the LAC and the core still
//! send to its MAC address until the target's gratuitous ARP / unsolicited
//! NA reaches them. It keeps relaying those data packets (never a control
//! message, never the tunnel address) until the lease it held at the
//! release runs out by its own clock (`core::MemberCore::forward_until`),
//! so a planned switchover loses nothing in flight. A frozen or cut-off
//! member released nothing: its data fence closes with its lease.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::lease::Micros;

/// The lease deadline as microseconds since a fixed origin (0: closed).
#[derive(Debug)]
pub struct LeaseFence {
    origin: Instant,
    until: AtomicU64,
    /// Data forwarding only: `until`, or the released lease's end.
    forward_until: AtomicU64,
}

impl LeaseFence {
    /// A closed fence measuring time from `origin` (the member's clock origin).
    pub fn closed(origin: Instant) -> Self {
        LeaseFence {
            origin,
            until: AtomicU64::new(0),
            forward_until: AtomicU64::new(0),
        }
    }

    /// A fence that lets data through until `forward_for` from now but is
    /// never active: what a member that just handed its lease over
    /// publishes (tests of a data plane use it).
    pub fn draining(origin: Instant, forward_for: std::time::Duration) -> Self {
        let f = LeaseFence::closed(origin);
        let until = f.now().saturating_add(crate::core::micros(forward_for));
        f.forward_until.store(until, Ordering::Release);
        f
    }

    /// Whether this member is still active by its lease, now.
    pub fn allows(&self) -> bool {
        self.allows_at(self.now())
    }

    /// Whether the fence is open at `now` (microseconds since the origin).
    pub fn allows_at(&self, now: Micros) -> bool {
        now < self.until.load(Ordering::Acquire)
    }

    /// Whether this member may still forward data packets, now: while it
    /// is active, or draining after a planned hand-over (module docs).
    pub fn allows_forwarding(&self) -> bool {
        self.allows_forwarding_at(self.now())
    }

    /// Whether data may be forwarded at `now` (microseconds since the origin).
    pub fn allows_forwarding_at(&self, now: Micros) -> bool {
        now < self.forward_until.load(Ordering::Acquire)
    }

    /// Stores the lease deadline (microseconds since the origin; 0 closes)
    /// and the data deadline (never earlier than the lease deadline).
    pub(crate) fn set(&self, until: Micros, forward_until: Micros) {
        self.until.store(until, Ordering::Release);
        self.forward_until
            .store(forward_until.max(until), Ordering::Release);
    }

    /// Closes both deadlines.
    pub(crate) fn close(&self) {
        self.set(0, 0);
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
        f.set(1_000, 0);
        assert!(f.allows_at(999));
        assert!(f.allows_forwarding_at(999), "an active member forwards");
        assert!(
            !f.allows_at(1_000),
            "the deadline itself is outside the lease"
        );
        f.close();
        assert!(!f.allows_at(10));
        assert!(!f.allows_forwarding_at(10));
    }

    #[test]
    fn a_draining_member_forwards_data_but_is_not_active() {
        let f = LeaseFence::closed(Instant::now());
        // Handed over at 500 with a lease running to 800.
        f.set(0, 800);
        assert!(!f.allows_at(600), "no control message after the hand-over");
        assert!(f.allows_forwarding_at(600));
        assert!(
            !f.allows_forwarding_at(800),
            "the data fence closes with the released lease"
        );
        let d = LeaseFence::draining(Instant::now(), std::time::Duration::from_secs(60));
        assert!(!d.allows());
        assert!(d.allows_forwarding());
    }

    #[test]
    fn a_reader_judges_by_its_own_clock_without_the_writer() {
        let f = LeaseFence::closed(Instant::now());
        // A deadline 50 ms from now, as the member task stores it; the
        // reader then finds it past once that time elapsed, with no
        // further store (a resumed process whose member task has not run).
        f.set(f.now() + 50_000, 0);
        assert!(f.allows());
        std::thread::sleep(std::time::Duration::from_millis(60));
        assert!(!f.allows());
        assert!(!f.allows_forwarding());
    }
}
