//! IPv4 address pools: named sets of inclusive ranges, allocation without
//! duplicates, optional per-user stickiness, release at session end, and
//! static addresses (users file, RADIUS Framed-IP-Address) reserved against
//! the same table so no address is ever handed out twice.
//!
//! Contract: pure and deterministic (BTreeMaps, a cursor per pool, no
//! randomness), because this table becomes replicated state. An address is
//! owned by at most one session key at a time, whether it came from a pool
//! or was static.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Who holds an address: (our tunnel id, our session id).
pub type Owner = (u16, u16);

/// Why no address could be given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// No pool of that name.
    #[error("no pool named {0:?}")]
    UnknownPool(String),
    /// Every address of the pool is in use.
    #[error("pool {0:?} is exhausted")]
    Exhausted(String),
    /// The static address is held by another session.
    #[error("address {0} is already in use")]
    InUse(Ipv4Addr),
    /// No pool was named and there is no default.
    #[error("no pool configured for this session")]
    NoPool,
}

/// One pool's configuration: inclusive ranges as integers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolSpec {
    /// Name.
    pub name: String,
    /// Inclusive (first, last) ranges.
    pub ranges: Vec<(Ipv4Addr, Ipv4Addr)>,
    /// Remember each user's last address.
    pub sticky: bool,
}

/// Every pool and every address in use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pools {
    pub(super) pools: BTreeMap<String, Pool>,
    /// Every address held (pool or static), with its owner.
    pub(super) in_use: BTreeMap<Ipv4Addr, Owner>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Pool {
    ranges: Vec<(u32, u32)>,
    sticky: bool,
    /// Where the next search starts (round robin, so a just-released
    /// address is not handed out again at once).
    pub(super) cursor: u32,
    /// User name -> last address (sticky pools).
    pub(super) last: BTreeMap<Vec<u8>, Ipv4Addr>,
    size: u64,
}

impl Pools {
    /// Pools from their specs (ranges must already be validated).
    pub fn new(specs: &[PoolSpec]) -> Pools {
        let mut p = Pools::default();
        p.reconfigure(specs);
        p
    }

    /// SIGHUP: adds new pools and updates existing ones' ranges; addresses
    /// in use stay in use; removed pools stop allocating.
    pub fn reconfigure(&mut self, specs: &[PoolSpec]) {
        let mut next = BTreeMap::new();
        for s in specs {
            let ranges: Vec<(u32, u32)> = s
                .ranges
                .iter()
                .map(|(a, b)| (u32::from(*a), u32::from(*b)))
                .filter(|(a, b)| a <= b)
                .collect();
            let size = ranges.iter().map(|(a, b)| u64::from(b - a) + 1).sum();
            let old = self.pools.remove(&s.name);
            let (cursor, last) = old.map(|o| (o.cursor, o.last)).unwrap_or_default();
            next.insert(
                s.name.clone(),
                Pool {
                    cursor: ranges.first().map_or(0, |r| cursor.max(r.0)),
                    ranges,
                    sticky: s.sticky,
                    last,
                    size,
                },
            );
        }
        self.pools = next;
    }

    /// Whether `name` is a configured pool.
    pub fn has_pool(&self, name: &str) -> bool {
        self.pools.contains_key(name)
    }

    /// An address from pool `name` for `owner` (user `user`).
    pub fn allocate(
        &mut self,
        name: &str,
        owner: Owner,
        user: &[u8],
    ) -> Result<Ipv4Addr, PoolError> {
        let pool = self
            .pools
            .get_mut(name)
            .ok_or_else(|| PoolError::UnknownPool(name.to_owned()))?;
        if pool.sticky {
            if let Some(a) = pool.last.get(user) {
                if !self.in_use.contains_key(a) && pool.contains(u32::from(*a)) {
                    self.in_use.insert(*a, owner);
                    return Ok(*a);
                }
            }
        }
        let found = pool.search(&self.in_use);
        let Some(a) = found else {
            return Err(PoolError::Exhausted(name.to_owned()));
        };
        pool.cursor = u32::from(a).wrapping_add(1);
        if pool.sticky {
            pool.last.insert(user.to_vec(), a);
        }
        self.in_use.insert(a, owner);
        Ok(a)
    }

    /// Reserves a fixed address (static user, Framed-IP-Address).
    pub fn reserve(&mut self, address: Ipv4Addr, owner: Owner) -> Result<(), PoolError> {
        match self.in_use.get(&address) {
            Some(o) if *o != owner => Err(PoolError::InUse(address)),
            _ => {
                self.in_use.insert(address, owner);
                Ok(())
            }
        }
    }

    /// Releases `address` if `owner` holds it.
    pub fn release(&mut self, address: Ipv4Addr, owner: Owner) {
        if self.in_use.get(&address) == Some(&owner) {
            self.in_use.remove(&address);
        }
    }

    /// Who holds `address`.
    pub fn owner(&self, address: Ipv4Addr) -> Option<Owner> {
        self.in_use.get(&address).copied()
    }

    /// (pool name, addresses in use from it, size), for `show pool`.
    pub fn usage(&self) -> Vec<(String, u64, u64)> {
        self.pools
            .iter()
            .map(|(n, p)| {
                let used = self
                    .in_use
                    .keys()
                    .filter(|a| p.contains(u32::from(**a)))
                    .count() as u64;
                (n.clone(), used, p.size)
            })
            .collect()
    }
}

impl Pool {
    fn contains(&self, a: u32) -> bool {
        self.ranges.iter().any(|(s, e)| (*s..=*e).contains(&a))
    }

    /// The first free address at or after the cursor, wrapping once.
    fn search(&self, in_use: &BTreeMap<Ipv4Addr, Owner>) -> Option<Ipv4Addr> {
        let after = self
            .ranges
            .iter()
            .filter_map(|(s, e)| {
                let from = (*s).max(self.cursor);
                (from <= *e).then_some((from, *e))
            })
            .chain(self.ranges.iter().copied());
        for (s, e) in after {
            let mut a = s;
            loop {
                // Skip runs of used addresses through the ordered map.
                match in_use.range(Ipv4Addr::from(a)..=Ipv4Addr::from(e)).next() {
                    Some((used, _)) if u32::from(*used) == a => {}
                    _ => return Some(Ipv4Addr::from(a)),
                }
                if a == e {
                    break;
                }
                a += 1;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().expect("literal")
    }

    fn pools(sticky: bool) -> Pools {
        Pools::new(&[PoolSpec {
            name: "p".into(),
            ranges: vec![
                (ip("198.18.0.1"), ip("198.18.0.2")),
                (ip("198.18.1.1"), ip("198.18.1.1")),
            ],
            sticky,
        }])
    }

    #[test]
    fn allocates_every_address_once_then_reports_exhaustion() {
        let mut p = pools(false);
        let a = p.allocate("p", (1, 1), b"a").expect("first");
        let b = p.allocate("p", (1, 2), b"b").expect("second");
        let c = p.allocate("p", (1, 3), b"c").expect("third");
        assert_eq!(
            vec![a, b, c],
            vec![ip("198.18.0.1"), ip("198.18.0.2"), ip("198.18.1.1")]
        );
        assert_eq!(
            p.allocate("p", (1, 4), b"d"),
            Err(PoolError::Exhausted("p".into()))
        );
        p.release(b, (1, 2));
        assert_eq!(p.allocate("p", (1, 4), b"d"), Ok(b));
        assert_eq!(p.usage(), vec![("p".into(), 3, 3)]);
    }

    #[test]
    fn release_by_another_owner_is_ignored() {
        let mut p = pools(false);
        let a = p.allocate("p", (1, 1), b"a").expect("first");
        p.release(a, (9, 9));
        assert_eq!(p.owner(a), Some((1, 1)));
    }

    #[test]
    fn sticky_pool_gives_a_user_its_previous_address() {
        let mut p = pools(true);
        let a = p.allocate("p", (1, 1), b"alice").expect("alice");
        let _b = p.allocate("p", (1, 2), b"bob").expect("bob");
        p.release(a, (1, 1));
        // Round robin would give 198.18.1.1; stickiness gives alice's old one.
        assert_eq!(p.allocate("p", (1, 3), b"alice"), Ok(a));
    }

    #[test]
    fn non_sticky_pool_rotates_past_a_released_address() {
        let mut p = pools(false);
        let a = p.allocate("p", (1, 1), b"alice").expect("alice");
        p.release(a, (1, 1));
        assert_eq!(p.allocate("p", (1, 2), b"alice"), Ok(ip("198.18.0.2")));
    }

    #[test]
    fn static_reservation_blocks_the_pool_and_other_statics() {
        let mut p = pools(false);
        p.reserve(ip("198.18.0.1"), (2, 2)).expect("free");
        assert_eq!(
            p.reserve(ip("198.18.0.1"), (3, 3)),
            Err(PoolError::InUse(ip("198.18.0.1")))
        );
        assert_eq!(p.allocate("p", (1, 1), b"a"), Ok(ip("198.18.0.2")));
        assert_eq!(
            p.allocate("nope", (1, 1), b"a"),
            Err(PoolError::UnknownPool("nope".into()))
        );
    }

    proptest::proptest! {
        #[test]
        fn never_two_owners_for_one_address(ops in proptest::collection::vec((0u16..8, proptest::bool::ANY), 0..200)) {
            let mut p = pools(true);
            let mut held: BTreeMap<u16, Ipv4Addr> = BTreeMap::new();
            for (who, alloc) in ops {
                if alloc && !held.contains_key(&who) {
                    if let Ok(a) = p.allocate("p", (0, who), &who.to_be_bytes()) {
                        proptest::prop_assert!(!held.values().any(|h| *h == a));
                        held.insert(who, a);
                    }
                } else if let Some(a) = held.remove(&who) {
                    p.release(a, (0, who));
                }
            }
        }
    }
}
