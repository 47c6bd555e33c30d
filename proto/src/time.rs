//! Wall-clock time as the protocol cores see it.
//!
//! Contract: the cores never read a clock. Every `handle_*` and `poll_*`
//! takes a [`Timestamp`]: microseconds since the Unix epoch, supplied by the
//! caller. Deadlines stored in replicated state are absolute `Timestamp`s, so
//! a machine restored on another node keeps its timers (FAILOVER.md: "timestamps
//! in replicated state are wall-clock (Unix) times, never process-relative").

use core::ops::{Add, Sub};
use core::time::Duration;

/// A wall-clock instant: microseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch itself; handy as a virtual-time origin in tests.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// From microseconds since the Unix epoch.
    pub const fn from_unix_micros(us: u64) -> Self {
        Timestamp(us)
    }

    /// From milliseconds since the Unix epoch (saturating).
    pub const fn from_unix_millis(ms: u64) -> Self {
        Timestamp(ms.saturating_mul(1_000))
    }

    /// Microseconds since the Unix epoch.
    pub const fn unix_micros(self) -> u64 {
        self.0
    }

    /// Milliseconds since the Unix epoch (truncated).
    pub const fn unix_millis(self) -> u64 {
        self.0 / 1_000
    }

    /// Time elapsed since `earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    /// Saturates at the far future instead of overflowing.
    fn add(self, d: Duration) -> Timestamp {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(us))
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    /// Saturates at the epoch instead of underflowing.
    fn sub(self, d: Duration) -> Timestamp {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_sub(us))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_unix_millis(1_500);
        assert_eq!((t + Duration::from_millis(500)).unix_millis(), 2_000);
        assert_eq!(t - Duration::from_secs(10), Timestamp::EPOCH);
        assert_eq!(
            Timestamp::from_unix_micros(u64::MAX) + Duration::from_secs(1),
            Timestamp::from_unix_micros(u64::MAX)
        );
        assert_eq!(
            t.saturating_since(t + Duration::from_secs(1)),
            Duration::ZERO
        );
        assert_eq!(
            (t + Duration::from_micros(7)).saturating_since(t),
            Duration::from_micros(7)
        );
    }
}
