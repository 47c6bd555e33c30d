//! What lac-sim measures while it holds sessions, for failover drills:
//! per session the longest time without an echoed probe ([`DataGap`]),
//! per tunnel the longest time a control message waited for the LNS's
//! acknowledgement ([`AckGap`]).
//!
//! Contract: both meters are pure (time is passed in) and only ever report
//! measured intervals. An interval still open (no echo yet, message still
//! unacknowledged) counts up to the `now` it is read at, so a session that
//! never recovers shows an ever-growing gap rather than a stale small one.

use std::collections::BTreeMap;
use std::time::Duration;

use lns_proto::time::Timestamp;

/// The longest interval without an echoed probe on one session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataGap {
    /// The last echo (or the start of measurement).
    last: Option<Timestamp>,
    /// Longest closed interval so far.
    max: Duration,
}

impl DataGap {
    /// Starts measuring at `now` (the first probe is about to go out);
    /// does nothing if already measuring.
    pub fn start(&mut self, now: Timestamp) {
        if self.last.is_none() {
            self.last = Some(now);
        }
    }

    /// A probe came back at `now`.
    pub fn echo(&mut self, now: Timestamp) {
        if let Some(last) = self.last {
            self.max = self.max.max(now.saturating_since(last));
        }
        self.last = Some(now);
    }

    /// The last echo, if measuring.
    pub fn last_echo(&self) -> Option<Timestamp> {
        self.last
    }

    /// The longest gap so far, the open one up to `now` included; `None`
    /// if measurement never started.
    pub fn max_until(&self, now: Timestamp) -> Option<Duration> {
        self.last
            .map(|last| self.max.max(now.saturating_since(last)))
    }
}

/// The longest time any control message of one tunnel waited between its
/// first transmission and its acknowledgement (RFC 2661 §5.8: the peer's
/// Nr passing its Ns).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AckGap {
    /// Ns -> first transmission, for messages sent and not yet acknowledged.
    outstanding: BTreeMap<u16, Timestamp>,
    /// Waits shorter than this instant's distance are not counted before it
    /// (see [`AckGap::reset`]).
    floor: Option<Timestamp>,
    /// Longest closed wait so far.
    max: Duration,
}

impl AckGap {
    /// Looks at the tunnel's retransmission queue at `now`: `(Ns, times
    /// sent)` of every queued message. Messages that left the queue were
    /// acknowledged now; messages sent for the first time start waiting now.
    pub fn observe(&mut self, now: Timestamp, queue: impl IntoIterator<Item = (u16, u32)>) {
        let mut still = BTreeMap::new();
        for (ns, transmissions) in queue {
            if transmissions == 0 {
                continue;
            }
            let first = self.outstanding.get(&ns).copied().unwrap_or(now);
            still.insert(ns, first);
        }
        for (ns, first) in &self.outstanding {
            if !still.contains_key(ns) {
                let wait = now.saturating_since(self.counted_from(*first));
                self.max = self.max.max(wait);
            }
        }
        self.outstanding = still;
    }

    /// Forgets the maximum so far: waits are counted from `now` on (a
    /// message sent earlier counts only its wait after `now`). lac-sim
    /// resets when the hold starts, so setup latency under load is not
    /// mistaken for an outage.
    pub fn reset(&mut self, now: Timestamp) {
        self.max = Duration::ZERO;
        self.floor = Some(now);
    }

    /// The longest wait so far, still-open ones up to `now` included.
    pub fn max_until(&self, now: Timestamp) -> Duration {
        self.outstanding
            .values()
            .map(|first| now.saturating_since(self.counted_from(*first)))
            .fold(self.max, Duration::max)
    }

    fn counted_from(&self, first: Timestamp) -> Timestamp {
        self.floor.map_or(first, |f| f.max(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Timestamp {
        Timestamp::from_unix_micros(1_000_000_000 + ms * 1000)
    }

    #[test]
    fn data_gap_is_the_longest_interval_between_echoes_including_the_open_one() {
        let mut g = DataGap::default();
        assert_eq!(g.max_until(t(50)), None);
        g.start(t(0));
        g.start(t(30)); // already measuring: ignored
        g.echo(t(100));
        g.echo(t(150));
        g.echo(t(900)); // a 750 ms outage
        g.echo(t(950));
        assert_eq!(g.max_until(t(1000)), Some(Duration::from_millis(750)));
        assert_eq!(g.last_echo(), Some(t(950)));
        // No echo since 950: at 2000 the open gap (1050 ms) is the largest.
        assert_eq!(g.max_until(t(2000)), Some(Duration::from_millis(1050)));
    }

    #[test]
    fn ack_gap_measures_first_transmission_to_acknowledgement() {
        let mut a = AckGap::default();
        // Ns 1 queued but not sent yet (window full): not waiting.
        a.observe(t(0), [(1, 0)]);
        assert_eq!(a.max_until(t(10)), Duration::ZERO);
        a.observe(t(10), [(1, 1)]);
        // A retransmission does not restart the wait.
        a.observe(t(1010), [(1, 2), (2, 1)]);
        assert_eq!(a.max_until(t(1100)), Duration::from_millis(1090));
        // Ns 1 acknowledged at 1200 (waited 1190 ms), Ns 2 still open.
        a.observe(t(1200), [(2, 1)]);
        a.observe(t(1300), []);
        assert_eq!(a.max_until(t(5000)), Duration::from_millis(1190));
    }

    #[test]
    fn ack_gap_reset_counts_only_waits_after_it() {
        let mut a = AckGap::default();
        a.observe(t(0), [(7, 1)]);
        a.observe(t(3000), []); // a slow ack during setup
        assert_eq!(a.max_until(t(3000)), Duration::from_millis(3000));
        a.observe(t(3500), [(8, 1)]);
        a.reset(t(4000));
        assert_eq!(a.max_until(t(4000)), Duration::ZERO);
        a.observe(t(4100), []); // Ns 8 counted from the reset only
        assert_eq!(a.max_until(t(4100)), Duration::from_millis(100));
    }
}
