//! Wall-clock time as the protocol cores see it.
//!
//! Contract: the cores never read a clock. Every `handle_*` and `poll_*`
//! takes a [`Timestamp`]: microseconds since the Unix epoch, supplied by the
//! caller. Deadlines stored in replicated state are absolute `Timestamp`s, so
//! a machine restored on another node keeps its timers (FAILOVER.md: "timestamps
//! in replicated state are wall-clock (Unix) times, never process-relative").
//!
//! Representation: the microseconds plus one in a `NonZeroU64`, so that an
//! `Option<Timestamp>` (every timer deadline of every session) is 8 bytes
//! instead of 16. The one value this gives up is `u64::MAX` microseconds
//! (year 586 524): it reads back as `u64::MAX - 1`, which is still "the far
//! future" where saturating arithmetic lands.

use core::num::NonZeroU64;
use core::ops::{Add, Sub};
use core::time::Duration;

/// A wall-clock instant: microseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(NonZeroU64);

impl Timestamp {
    /// The Unix epoch itself; handy as a virtual-time origin in tests.
    pub const EPOCH: Timestamp = Timestamp(NonZeroU64::MIN);

    /// The latest representable instant (`u64::MAX - 1` microseconds).
    pub const MAX: Timestamp = Timestamp(NonZeroU64::MAX);

    /// From microseconds since the Unix epoch (`u64::MAX` saturates to
    /// [`Timestamp::MAX`]).
    pub const fn from_unix_micros(us: u64) -> Self {
        match NonZeroU64::new(us.saturating_add(1)) {
            Some(n) => Timestamp(n),
            // `saturating_add(1)` is at least 1.
            None => Timestamp::EPOCH,
        }
    }

    /// From milliseconds since the Unix epoch (saturating).
    pub const fn from_unix_millis(ms: u64) -> Self {
        Timestamp::from_unix_micros(ms.saturating_mul(1_000))
    }

    /// Microseconds since the Unix epoch.
    pub const fn unix_micros(self) -> u64 {
        self.0.get() - 1
    }

    /// Milliseconds since the Unix epoch (truncated).
    pub const fn unix_millis(self) -> u64 {
        self.unix_micros() / 1_000
    }

    /// Time elapsed since `earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_micros(self.0.get().saturating_sub(earlier.0.get()))
    }
}

impl Default for Timestamp {
    /// The epoch.
    fn default() -> Timestamp {
        Timestamp::EPOCH
    }
}

impl core::fmt::Debug for Timestamp {
    /// As the microseconds (the representation's offset is not shown).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Timestamp")
            .field(&self.unix_micros())
            .finish()
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    /// Saturates at the far future instead of overflowing.
    fn add(self, d: Duration) -> Timestamp {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Timestamp::from_unix_micros(self.unix_micros().saturating_add(us))
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    /// Saturates at the epoch instead of underflowing.
    fn sub(self, d: Duration) -> Timestamp {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Timestamp::from_unix_micros(self.unix_micros().saturating_sub(us))
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
        assert_eq!(Timestamp::from_unix_micros(u64::MAX), Timestamp::MAX);
        assert_eq!(Timestamp::MAX.unix_micros(), u64::MAX - 1);
        assert_eq!(Timestamp::default(), Timestamp::EPOCH);
        assert_eq!(Timestamp::EPOCH.unix_micros(), 0);
        assert_eq!(
            t.saturating_since(t + Duration::from_secs(1)),
            Duration::ZERO
        );
        assert_eq!(
            (t + Duration::from_micros(7)).saturating_since(t),
            Duration::from_micros(7)
        );
    }

    #[test]
    fn an_optional_timestamp_is_one_word_and_order_follows_the_micros() {
        assert_eq!(core::mem::size_of::<Option<Timestamp>>(), 8);
        let a = Timestamp::from_unix_micros(0);
        let b = Timestamp::from_unix_micros(1);
        let c = Timestamp::from_unix_micros(u64::MAX - 1);
        assert!(a < b && b < c);
        assert_eq!(format!("{b:?}"), "Timestamp(1)");
    }
}
