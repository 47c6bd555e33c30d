//! [`StoredGrant`]: a session's [`Grant`] as the engine keeps it (issue 5:
//! 80 bytes in every session instead of 128).
//!
//! Contract: `StoredGrant::from(g).grant() == g` for every grant whose
//! durations are under 584 years (they are kept in nanoseconds in a word;
//! longer ones, which no RADIUS attribute can carry, saturate there). The
//! three durations take a word each instead of an `Option<Duration>`'s
//! two, the pool name is a boxed slice, the Class values a box that exists
//! only when AAA sent some, the DNS servers and the fixed address are
//! plain words with a bit each in `present`. Snapshots are written from the [`Grant`] it gives back, so
//! their bytes are unchanged.

use std::net::Ipv4Addr;
use std::num::NonZeroU8;
use std::time::Duration;

use lns_proto::radius::values::AcctAuthentic;

use super::ipv6::Ipv6Grant;
use super::types::{AddressGrant, Grant};

/// A [`Grant`] in fewer bytes (see the module contract).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredGrant {
    /// `AddressGrant::Pool`'s name (`None`: the default pool).
    pool: Option<Box<str>>,
    /// `AddressGrant::Fixed`'s address when `FIXED` is set.
    fixed: u32,
    session_timeout: CompactDuration,
    idle_timeout: CompactDuration,
    acct_interim_interval: CompactDuration,
    /// Boxed only when AAA sent Class values (most sessions have none): 8
    /// bytes inline where a `Vec` takes 24, for one more indirection on
    /// the accounting path.
    #[allow(clippy::box_collection)]
    class: Option<Box<Vec<Vec<u8>>>>,
    dns: [u32; 2],
    ipv6: Option<Box<Ipv6Grant>>,
    /// `AcctAuthentic`'s number (4 bytes; the open enum takes 8).
    authentic: u32,
    /// `FIXED`, `DNS1`, `DNS2`, and `ALWAYS` so that it is never zero:
    /// the niche that keeps `Option<StoredGrant>` at 80 bytes.
    present: NonZeroU8,
}

/// Bits of `StoredGrant::present`.
const FIXED: u8 = 0x01;
const DNS1: u8 = 0x02;
const DNS2: u8 = 0x04;
const ALWAYS: u8 = 0x80;

impl From<Grant> for StoredGrant {
    fn from(g: Grant) -> StoredGrant {
        let mut present = ALWAYS;
        let (pool, fixed) = match g.address {
            AddressGrant::Pool(name) => (name.map(String::into_boxed_str), 0),
            AddressGrant::Fixed(a) => {
                present |= FIXED;
                (None, u32::from(a))
            }
        };
        let mut dns = [0; 2];
        for ((slot, value), bit) in dns.iter_mut().zip(g.dns).zip([DNS1, DNS2]) {
            if let Some(a) = value {
                *slot = u32::from(a);
                present |= bit;
            }
        }
        StoredGrant {
            pool,
            fixed,
            session_timeout: CompactDuration::from(g.session_timeout),
            idle_timeout: CompactDuration::from(g.idle_timeout),
            acct_interim_interval: CompactDuration::from(g.acct_interim_interval),
            class: (!g.class.is_empty()).then(|| Box::new(g.class)),
            dns,
            ipv6: g.ipv6,
            authentic: u32::from(g.authentic),
            present: NonZeroU8::new(present).expect("ALWAYS is set in `present`"),
        }
    }
}

impl StoredGrant {
    /// The grant as AAA gave it.
    pub fn grant(&self) -> Grant {
        let dns = |i: usize, bit: u8| {
            (self.present.get() & bit != 0).then(|| Ipv4Addr::from(self.dns[i]))
        };
        Grant {
            address: if self.present.get() & FIXED != 0 {
                AddressGrant::Fixed(Ipv4Addr::from(self.fixed))
            } else {
                AddressGrant::Pool(self.pool.as_deref().map(String::from))
            },
            session_timeout: self.session_timeout.get(),
            idle_timeout: self.idle_timeout.get(),
            class: self.class().to_vec(),
            dns: [dns(0, DNS1), dns(1, DNS2)],
            ipv6: self.ipv6.clone(),
            acct_interim_interval: self.acct_interim_interval.get(),
            authentic: AcctAuthentic::from(self.authentic),
        }
    }

    /// The IPv6 grant (empty when AAA sent no IPv6 attribute).
    pub fn ipv6(&self) -> &Ipv6Grant {
        static EMPTY: Ipv6Grant = Ipv6Grant::EMPTY;
        self.ipv6.as_deref().unwrap_or(&EMPTY)
    }

    /// Acct-Interim-Interval, if AAA gave one.
    pub fn acct_interim_interval(&self) -> Option<Duration> {
        self.acct_interim_interval.get()
    }

    /// Who authenticated the user (Acct-Authentic).
    pub fn authentic(&self) -> AcctAuthentic {
        AcctAuthentic::from(self.authentic)
    }

    /// The Class values, for accounting.
    pub fn class(&self) -> &[Vec<u8>] {
        self.class.as_deref().map_or(&[], Vec::as_slice)
    }
}

/// An optional duration in one word (an `Option<Duration>` takes two):
/// nanoseconds, `u64::MAX` for none; saturates at 584 years.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CompactDuration(u64);

impl CompactDuration {
    /// No duration.
    pub const NONE: CompactDuration = CompactDuration(u64::MAX);

    /// The duration, if any.
    pub fn get(self) -> Option<Duration> {
        (self != CompactDuration::NONE).then(|| Duration::from_nanos(self.0))
    }
}

impl From<Option<Duration>> for CompactDuration {
    fn from(d: Option<Duration>) -> CompactDuration {
        match d {
            // Saturates below the marker (584 years).
            Some(d) => CompactDuration(
                u64::try_from(d.as_nanos())
                    .unwrap_or(u64::MAX)
                    .min(u64::MAX - 1),
            ),
            None => CompactDuration::NONE,
        }
    }
}

impl std::fmt::Debug for CompactDuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_comes_back() {
        let mut g = Grant::default_pool();
        assert_eq!(StoredGrant::from(g.clone()).grant(), g);
        g.address = AddressGrant::Pool(Some("gold".into()));
        g.session_timeout = Some(Duration::from_secs(3600));
        g.idle_timeout = Some(Duration::ZERO);
        g.acct_interim_interval = Some(Duration::from_millis(1_500));
        g.class = vec![b"gold".to_vec(), b"plan-7".to_vec()];
        g.dns = [None, Some(Ipv4Addr::new(198, 18, 0, 53))];
        g.set_ipv6(Ipv6Grant {
            framed_address: Some("2001:db8::1".parse().expect("literal")),
            ..Ipv6Grant::default()
        });
        g.authentic = AcctAuthentic::Radius;
        let s = StoredGrant::from(g.clone());
        assert_eq!(s.grant(), g);
        assert_eq!(s.class(), &g.class[..]);
        assert_eq!(s.acct_interim_interval(), g.acct_interim_interval);
        assert_eq!(s.ipv6(), g.ipv6());
        g.address = AddressGrant::Fixed(Ipv4Addr::UNSPECIFIED);
        g.dns = [Some(Ipv4Addr::UNSPECIFIED), None];
        assert_eq!(StoredGrant::from(g.clone()).grant(), g);
    }

    #[test]
    fn a_duration_past_584_years_saturates() {
        let mut g = Grant::default_pool();
        g.session_timeout = Some(Duration::from_secs(u64::MAX));
        let back = StoredGrant::from(g).grant().session_timeout;
        assert_eq!(back, Some(Duration::from_nanos(u64::MAX - 1)));
    }

    #[test]
    fn it_is_smaller_than_the_grant() {
        assert!(
            std::mem::size_of::<Option<StoredGrant>>() <= 80,
            "{}",
            std::mem::size_of::<Option<StoredGrant>>()
        );
        assert_eq!(std::mem::size_of::<Option<Grant>>(), 128);
    }
}
