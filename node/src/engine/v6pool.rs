//! IPv6 prefix pools: a base prefix (`2001:db8:100::/48`) carved into
//! equal sub-prefixes (/64 for the link of each session, /56 for
//! delegation), handed out without duplicates and released at session end.
//! Prefixes that RADIUS assigns and that fall inside a pool are reserved in
//! the same table, so a pool never hands them out twice. A sticky pool
//! gives a user back the prefix it had last time when it is still free (a
//! home network keeps its addresses across reconnections).
//!
//! Contract: pure and deterministic (a `BTreeMap` of slot index to owner
//! and a round-robin cursor, no randomness): this table is replicated state
//! like the IPv4 [`super::Pools`].

use super::pool::Owner;
use lns_proto::pb::lnsd as pb;
use std::collections::BTreeMap;
use std::net::Ipv6Addr;

/// Why a prefix pool cannot be built or cannot give a prefix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum V6PoolError {
    /// The sub-prefix length is not longer than the base, or above 128.
    #[error("cannot carve /{sub} prefixes out of a /{base}")]
    BadLengths {
        /// Length of the pool's base prefix.
        base: u8,
        /// Length of the prefixes handed out.
        sub: u8,
    },
    /// Every prefix of the pool is in use.
    #[error("IPv6 prefix pool {0} is exhausted")]
    Exhausted(String),
    /// The prefix is held by another session.
    #[error("prefix {0} is already in use")]
    InUse(String),
    /// An AAA prefix so short it would capture other subscribers' traffic.
    #[error("prefix {0} is shorter than /{MIN_AAA_PREFIX_LEN}")]
    TooShort(String),
}

/// The shortest prefix AAA may route to one session (a /0 would make the
/// session the destination of every address and defeat anti-spoofing).
pub const MIN_AAA_PREFIX_LEN: u8 = 32;

/// A pool of equal-length IPv6 prefixes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixPool {
    base: u128,
    base_len: u8,
    sub_len: u8,
    /// Number of slots (capped at 2^63: no pool is ever that full).
    slots: u64,
    /// Where the next search starts (round robin).
    cursor: u64,
    /// Slot index -> owner.
    in_use: BTreeMap<u64, Owner>,
    /// Sticky pools: user name -> last slot.
    last: Option<BTreeMap<Vec<u8>, u64>>,
}

impl PrefixPool {
    /// A pool of `/sub_len` prefixes inside `base/base_len` (host bits of
    /// `base` are ignored).
    pub fn new(base: Ipv6Addr, base_len: u8, sub_len: u8) -> Result<PrefixPool, V6PoolError> {
        if base_len >= sub_len || sub_len > 128 {
            return Err(V6PoolError::BadLengths {
                base: base_len,
                sub: sub_len,
            });
        }
        let bits = u32::from(sub_len - base_len).min(63);
        Ok(PrefixPool {
            base: mask(u128::from(base), base_len),
            base_len,
            sub_len,
            slots: 1u64 << bits,
            cursor: 0,
            in_use: BTreeMap::new(),
            last: None,
        })
    }

    /// Makes the pool sticky: [`PrefixPool::allocate_for`] prefers the
    /// user's previous prefix.
    pub fn sticky(mut self) -> PrefixPool {
        self.last = Some(BTreeMap::new());
        self
    }

    /// Hands out `user`'s previous prefix if the pool is sticky and it is
    /// free, else the next free one (remembered for next time).
    pub fn allocate_for(&mut self, owner: Owner, user: &[u8]) -> Result<Ipv6Addr, V6PoolError> {
        let previous = self.last.as_ref().and_then(|l| l.get(user)).copied();
        if let Some(slot) = previous.filter(|s| !self.in_use.contains_key(s)) {
            self.in_use.insert(slot, owner);
            return Ok(self.prefix_of(slot));
        }
        let p = self.allocate(owner)?;
        let slot = self.slot_of(p);
        if let (Some(last), Some(slot)) = (self.last.as_mut(), slot) {
            last.insert(user.to_vec(), slot);
        }
        Ok(p)
    }

    /// The length of the prefixes handed out.
    pub fn prefix_len(&self) -> u8 {
        self.sub_len
    }

    /// The base prefix (for the TUN route).
    pub fn base(&self) -> (Ipv6Addr, u8) {
        (Ipv6Addr::from(self.base), self.base_len)
    }

    /// Prefixes in use.
    pub fn used(&self) -> usize {
        self.in_use.len()
    }

    /// Hands out the next free prefix to `owner`.
    pub fn allocate(&mut self, owner: Owner) -> Result<Ipv6Addr, V6PoolError> {
        let limit = self.slots.min(self.in_use.len() as u64 + 1);
        // At most `in_use + 1` probes find a free slot (pigeonhole).
        let mut slot = self.cursor;
        for _ in 0..limit {
            if let std::collections::btree_map::Entry::Vacant(e) = self.in_use.entry(slot) {
                e.insert(owner);
                self.cursor = (slot + 1) % self.slots;
                return Ok(self.prefix_of(slot));
            }
            slot = (slot + 1) % self.slots;
        }
        Err(V6PoolError::Exhausted(self.describe()))
    }

    /// Reserves `prefix` for `owner` if it lies inside the pool (a RADIUS
    /// assignment); outside the pool nothing is recorded.
    pub fn reserve(&mut self, prefix: Ipv6Addr, owner: Owner) -> Result<(), V6PoolError> {
        let Some(slot) = self.slot_of(prefix) else {
            return Ok(());
        };
        match self.in_use.get(&slot) {
            Some(o) if *o != owner => Err(V6PoolError::InUse(format!(
                "{}/{}",
                self.prefix_of(slot),
                self.sub_len
            ))),
            _ => {
                self.in_use.insert(slot, owner);
                Ok(())
            }
        }
    }

    /// Gives `prefix` back if `owner` holds it.
    pub fn release(&mut self, prefix: Ipv6Addr, owner: Owner) {
        if let Some(slot) = self.slot_of(prefix) {
            if self.in_use.get(&slot) == Some(&owner) {
                self.in_use.remove(&slot);
            }
        }
    }

    /// The replicated part: cursor, slots in use, sticky memory.
    pub fn to_pb(&self) -> pb::PrefixPoolState {
        pb::PrefixPoolState {
            cursor: self.cursor,
            in_use: self
                .in_use
                .iter()
                .map(|(slot, (tunnel, session))| pb::PrefixSlot {
                    slot: *slot,
                    owner: Some(pb::SessionKey {
                        tunnel: u32::from(*tunnel),
                        session: u32::from(*session),
                    }),
                })
                .collect(),
            last: self
                .last
                .iter()
                .flatten()
                .map(|(user, slot)| pb::StickyPrefix {
                    user: user.clone(),
                    slot: *slot,
                })
                .collect(),
        }
    }

    /// Loads [`PrefixPool::to_pb`] into a pool built with the same
    /// settings; `None` when a slot, owner or cursor is out of range.
    pub fn load_pb(&mut self, s: &pb::PrefixPoolState) -> Option<()> {
        if s.cursor >= self.slots {
            return None;
        }
        let mut in_use = BTreeMap::new();
        for u in &s.in_use {
            let o = u.owner.as_ref()?;
            if u.slot >= self.slots {
                return None;
            }
            let owner = (
                u16::try_from(o.tunnel).ok()?,
                u16::try_from(o.session).ok()?,
            );
            in_use.insert(u.slot, owner);
        }
        if let Some(last) = self.last.as_mut() {
            last.clear();
            for l in &s.last {
                if l.slot >= self.slots {
                    return None;
                }
                last.insert(l.user.clone(), l.slot);
            }
        }
        self.cursor = s.cursor;
        self.in_use = in_use;
        Some(())
    }

    fn prefix_of(&self, slot: u64) -> Ipv6Addr {
        Ipv6Addr::from(self.base | (u128::from(slot) << (128 - u32::from(self.sub_len))))
    }

    fn slot_of(&self, prefix: Ipv6Addr) -> Option<u64> {
        let bits = u128::from(prefix);
        if mask(bits, self.base_len) != self.base {
            return None;
        }
        let slot = (mask(bits, self.sub_len) - self.base) >> (128 - u32::from(self.sub_len));
        u64::try_from(slot).ok().filter(|s| *s < self.slots)
    }

    fn describe(&self) -> String {
        format!(
            "{}/{} (/{}s)",
            Ipv6Addr::from(self.base),
            self.base_len,
            self.sub_len
        )
    }
}

/// `bits` with everything past `len` cleared.
pub fn mask(bits: u128, len: u8) -> u128 {
    match len {
        0 => 0,
        l if l >= 128 => bits,
        l => bits & (u128::MAX << (128 - u32::from(l))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().expect("literal")
    }

    #[test]
    fn hands_out_distinct_prefixes_round_robin_and_reuses_released_ones() {
        // A /62 holds four /64s.
        let mut p = PrefixPool::new(a("2001:db8:100::"), 62, 64).expect("valid");
        let got: Vec<Ipv6Addr> = (0..4).map(|i| p.allocate((1, i)).expect("room")).collect();
        assert_eq!(
            got,
            vec![
                a("2001:db8:100::"),
                a("2001:db8:100:1::"),
                a("2001:db8:100:2::"),
                a("2001:db8:100:3::")
            ]
        );
        assert!(matches!(p.allocate((1, 9)), Err(V6PoolError::Exhausted(_))));
        // Released by someone else: still held.
        p.release(a("2001:db8:100:1::"), (1, 9));
        assert_eq!(p.used(), 4);
        p.release(a("2001:db8:100:1::"), (1, 1));
        assert_eq!(p.allocate((1, 9)), Ok(a("2001:db8:100:1::")));
    }

    #[test]
    fn reserved_prefixes_inside_the_pool_are_never_handed_out() {
        let mut p = PrefixPool::new(a("2001:db8:200::"), 54, 56).expect("valid");
        assert_eq!(p.reserve(a("2001:db8:200::"), (1, 1)), Ok(()));
        assert!(matches!(
            p.reserve(a("2001:db8:200::"), (1, 2)),
            Err(V6PoolError::InUse(_))
        ));
        // Outside the pool: accepted, not recorded.
        assert_eq!(p.reserve(a("2001:db8:999::"), (1, 2)), Ok(()));
        assert_eq!(p.used(), 1);
        assert_eq!(p.allocate((1, 3)), Ok(a("2001:db8:200:100::")));
    }

    #[test]
    fn sticky_pools_give_a_user_its_previous_prefix_when_free() {
        let mut p = PrefixPool::new(a("2001:db8:100::"), 62, 64)
            .expect("valid")
            .sticky();
        let first = p.allocate_for((1, 1), b"alice").expect("room");
        p.release(first, (1, 1));
        // The cursor moved on, but alice gets hers back.
        assert_eq!(p.allocate_for((1, 2), b"bob"), Ok(a("2001:db8:100:1::")));
        assert_eq!(p.allocate_for((1, 3), b"alice"), Ok(first));
        // Taken by someone else meanwhile: a new one.
        p.release(first, (1, 3));
        assert_eq!(p.allocate_for((1, 4), b"carol"), Ok(a("2001:db8:100:2::")));
        let _ = p.allocate((1, 5)).expect("room");
        assert_eq!(p.allocate_for((1, 6), b"alice"), Ok(first));
        // Not sticky: plain round robin.
        let mut q = PrefixPool::new(a("2001:db8:100::"), 62, 64).expect("valid");
        let x = q.allocate_for((1, 1), b"alice").expect("room");
        q.release(x, (1, 1));
        assert_ne!(q.allocate_for((1, 2), b"alice"), Ok(x));
    }

    #[test]
    fn refuses_impossible_lengths() {
        assert!(PrefixPool::new(a("2001:db8::"), 64, 64).is_err());
        assert!(PrefixPool::new(a("2001:db8::"), 48, 129).is_err());
        assert_eq!(mask(u128::MAX, 0), 0);
        let p = PrefixPool::new(a("2001:db8:100:ffff::1"), 48, 64).expect("valid");
        assert_eq!(p.base(), (a("2001:db8:100::"), 48));
    }
}
