//! Rate limit of the ICMP errors the data plane originates (RFC 4443 §2.4
//! (f): an IPv6 node MUST limit the rate of its ICMPv6 errors; RFC 1812
//! §4.3.2.8: routers should limit ICMPv4 errors too).
//!
//! Contract: a token bucket per downstream worker, pure (time is passed in
//! as Unix microseconds): [`IcmpBudget::allow`] says whether one more error
//! may be sent now. A suppressed error only means the offending packet is
//! dropped without an answer (it is still counted as too big).

/// Errors per second in the long run.
pub const ICMP_ERRORS_PER_SECOND: u64 = 200;
/// Errors that may go out back to back.
pub const ICMP_BURST: u64 = 50;

/// A token bucket of ICMP errors.
#[derive(Clone, Copy, Debug)]
pub struct IcmpBudget {
    /// Tokens, in millionths of an error (so refills need no division loss).
    micro_tokens: u64,
    last_unix_micros: u64,
}

impl Default for IcmpBudget {
    fn default() -> Self {
        Self::new()
    }
}

impl IcmpBudget {
    /// A full bucket.
    pub fn new() -> Self {
        IcmpBudget {
            micro_tokens: ICMP_BURST * 1_000_000,
            last_unix_micros: 0,
        }
    }

    /// Takes one token if there is one at `now`.
    pub fn allow(&mut self, now_unix_micros: u64) -> bool {
        let elapsed = now_unix_micros.saturating_sub(self.last_unix_micros);
        self.last_unix_micros = self.last_unix_micros.max(now_unix_micros);
        self.micro_tokens = self
            .micro_tokens
            .saturating_add(elapsed.saturating_mul(ICMP_ERRORS_PER_SECOND))
            .min(ICMP_BURST * 1_000_000);
        if self.micro_tokens >= 1_000_000 {
            self.micro_tokens -= 1_000_000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        let mut b = IcmpBudget::new();
        let t0 = 1_700_000_000_000_000;
        let sent = (0..ICMP_BURST + 10).filter(|_| b.allow(t0)).count() as u64;
        assert_eq!(sent, ICMP_BURST);
        // 5 ms later at 200/s: exactly one more.
        assert!(b.allow(t0 + 5_000));
        assert!(!b.allow(t0 + 5_000));
        // One second later: 200 tokens, capped at the burst.
        let sent = (0..1000).filter(|_| b.allow(t0 + 1_005_000)).count() as u64;
        assert_eq!(sent, ICMP_BURST);
    }

    #[test]
    fn clock_going_backwards_grants_nothing() {
        let mut b = IcmpBudget::new();
        let t0 = 10_000_000;
        while b.allow(t0) {}
        assert!(!b.allow(t0 - 1_000_000));
        assert!(!b.allow(t0));
    }
}
