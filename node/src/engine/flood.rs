//! Per-source setup rate limit: at most N SCCRQs per second from one IP
//! address (a flood from many source ports of one host is one source).
//!
//! Contract: deterministic (a one-second window keyed on `now`, ordered
//! map) and bounded: at most [`MAX_SOURCES`] addresses are tracked; when
//! full, windows of past seconds are dropped first, and if every tracked
//! source is in the current second, new sources are refused until the
//! next second (the flood cannot grow the table).

use lns_proto::time::Timestamp;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Most source addresses tracked at once.
pub const MAX_SOURCES: usize = 16_384;

#[derive(Clone, Debug)]
pub(super) struct SetupLimiter {
    per_second: u32,
    /// Source -> (second of the window, setups in it).
    pub(super) windows: BTreeMap<IpAddr, (u64, u32)>,
}

impl SetupLimiter {
    pub(super) fn new(per_second: u32) -> Self {
        SetupLimiter {
            per_second: per_second.max(1),
            windows: BTreeMap::new(),
        }
    }

    /// Counts one setup from `source`; false if over the limit.
    pub(super) fn admit(&mut self, now: Timestamp, source: IpAddr) -> bool {
        let second = now.unix_micros() / 1_000_000;
        if !self.windows.contains_key(&source) && self.windows.len() >= MAX_SOURCES {
            self.windows.retain(|_, (s, _)| *s == second);
            if self.windows.len() >= MAX_SOURCES {
                return false;
            }
        }
        let w = self.windows.entry(source).or_insert((second, 0));
        if w.0 != second {
            *w = (second, 0);
        }
        if w.1 >= self.per_second {
            return false;
        }
        w.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_applies_per_source_and_per_second() {
        let mut l = SetupLimiter::new(2);
        let a: IpAddr = "192.0.2.1".parse().expect("literal");
        let b: IpAddr = "192.0.2.2".parse().expect("literal");
        let t = Timestamp::from_unix_millis(1_700_000_000_000);
        assert!(l.admit(t, a));
        assert!(l.admit(t, a));
        assert!(!l.admit(t, a));
        assert!(l.admit(t, b));
        assert!(l.admit(t + std::time::Duration::from_secs(1), a));
    }

    #[test]
    fn table_stays_bounded_under_a_spoofed_flood() {
        let mut l = SetupLimiter::new(1);
        let t = Timestamp::from_unix_millis(1_700_000_000_000);
        for i in 0..(MAX_SOURCES as u32 + 100) {
            l.admit(t, IpAddr::from(i.to_be_bytes()));
        }
        assert_eq!(l.windows.len(), MAX_SOURCES);
        let later = t + std::time::Duration::from_secs(1);
        assert!(l.admit(later, "198.51.100.1".parse().expect("literal")));
        assert!(l.windows.len() <= 1);
    }
}
