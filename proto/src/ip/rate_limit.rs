//! A token bucket for ICMP errors: RFC 4443 §2.4 (f) requires a node to
//! limit the rate of ICMPv6 errors it originates, and RFC 1812 §4.3.2.8 asks
//! the same of IPv4 routers.
//!
//! Contract: pure and O(1); time is the caller's [`Timestamp`]. The same
//! sequence of `now` values always gives the same decisions. Time going
//! backwards (a new active node with a slightly different clock) never
//! creates tokens.

use crate::time::Timestamp;

/// Whether an ICMP error may be sent now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Send it (a token was taken).
    Send,
    /// Drop it: the bucket is empty.
    Suppress,
}

/// A token bucket: `per_second` tokens a second, at most `burst` stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcmpRateLimit {
    per_second: u32,
    burst: u32,
    /// Tokens in millionths, so refills at microsecond grain stay exact.
    micro_tokens: u64,
    last: Option<Timestamp>,
}

impl IcmpRateLimit {
    /// A full bucket allowing `per_second` errors a second with bursts of
    /// `burst` (both at least 1).
    pub fn new(per_second: u32, burst: u32) -> Self {
        let burst = burst.max(1);
        IcmpRateLimit {
            per_second: per_second.max(1),
            burst,
            micro_tokens: u64::from(burst) * 1_000_000,
            last: None,
        }
    }

    /// Takes a token if one is available at `now`.
    pub fn admit(&mut self, now: Timestamp) -> Admission {
        let elapsed_us = match self.last {
            Some(last) => now.unix_micros().saturating_sub(last.unix_micros()),
            None => 0,
        };
        if self.last.is_none_or(|last| now > last) {
            self.last = Some(now);
        }
        let cap = u64::from(self.burst) * 1_000_000;
        let refill = elapsed_us.saturating_mul(u64::from(self.per_second));
        self.micro_tokens = self.micro_tokens.saturating_add(refill).min(cap);
        if self.micro_tokens >= 1_000_000 {
            self.micro_tokens -= 1_000_000;
            Admission::Send
        } else {
            Admission::Suppress
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn burst_then_steady_rate() {
        let mut rl = IcmpRateLimit::new(10, 3);
        let t0 = Timestamp::from_unix_millis(1_000);
        let sent = (0..5).filter(|_| rl.admit(t0) == Admission::Send).count();
        assert_eq!(sent, 3);
        // 10 per second: one more token every 100 ms.
        assert_eq!(
            rl.admit(t0 + Duration::from_millis(99)),
            Admission::Suppress
        );
        assert_eq!(rl.admit(t0 + Duration::from_millis(100)), Admission::Send);
        assert_eq!(
            rl.admit(t0 + Duration::from_millis(100)),
            Admission::Suppress
        );
        // A long pause refills to the burst size, not beyond.
        let later = t0 + Duration::from_secs(60);
        let sent = (0..10)
            .filter(|_| rl.admit(later) == Admission::Send)
            .count();
        assert_eq!(sent, 3);
    }

    #[test]
    fn time_going_backwards_creates_no_tokens() {
        let mut rl = IcmpRateLimit::new(1, 1);
        let t0 = Timestamp::from_unix_millis(10_000);
        assert_eq!(rl.admit(t0), Admission::Send);
        assert_eq!(rl.admit(t0 - Duration::from_secs(5)), Admission::Suppress);
        assert_eq!(
            rl.admit(t0 + Duration::from_millis(500)),
            Admission::Suppress
        );
        assert_eq!(rl.admit(t0 + Duration::from_secs(1)), Admission::Send);
    }
}
