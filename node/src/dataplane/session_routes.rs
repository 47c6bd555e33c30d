//! Routes into the TUN for subscriber addresses that no pool route covers.
//!
//! Contract: the pools' prefixes are routed into the TUN once (start-up and
//! SIGHUP). A session may also hold an address or prefix that RADIUS chose
//! outside every pool (Framed-IP-Address, Framed-IPv6-Prefix,
//! Delegated-IPv6-Prefix: issue 8 item 3, issue 5 item 5). [`SessionRoutes`]
//! decides, as pure bookkeeping, which extra routes a session publication
//! needs and which a withdrawal frees (counted per prefix, so two sessions
//! naming the same prefix keep it until both are gone); the data plane runs
//! `ip route replace` / `ip route del` for them. Pool prefixes never cause
//! a command.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::SessionEntry;

/// A prefix: address and length.
pub(crate) type Prefix = (IpAddr, u8);

/// The extra routes in use, per session and per prefix.
#[derive(Debug, Default)]
pub(crate) struct SessionRoutes {
    covered: Vec<Prefix>,
    users: BTreeMap<Prefix, u32>,
    by_session: BTreeMap<(u16, u16), Vec<Prefix>>,
}

/// Routes to add and to remove after a change.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RouteChanges {
    pub(crate) add: Vec<Prefix>,
    pub(crate) remove: Vec<Prefix>,
}

impl SessionRoutes {
    /// Bookkeeping over the pool routes `covered`.
    pub(crate) fn new(covered: &[Prefix]) -> Self {
        SessionRoutes {
            covered: covered.to_vec(),
            ..SessionRoutes::default()
        }
    }

    /// More pool routes (a SIGHUP added pools).
    pub(crate) fn cover(&mut self, routes: &[Prefix]) {
        self.covered.extend_from_slice(routes);
    }

    /// A session was published (new or changed).
    pub(crate) fn upsert(&mut self, entry: &SessionEntry) -> RouteChanges {
        let key = (entry.tunnel_id, entry.session_id);
        let mut wanted: Vec<Prefix> = entry
            .ipv4
            .map(|a| (IpAddr::V4(a), 32))
            .into_iter()
            .chain(entry.ipv6_prefixes.iter().map(|&(p, l)| (IpAddr::V6(p), l)))
            .filter(|p| !self.covered.iter().any(|c| covers(*c, *p)))
            .collect();
        wanted.sort();
        wanted.dedup();
        let mut changes = self.remove(entry.tunnel_id, entry.session_id);
        for p in &wanted {
            let n = self.users.entry(*p).or_insert(0);
            *n += 1;
            if *n == 1 {
                // Re-published with the same prefix: it was just freed above.
                match changes.remove.iter().position(|r| r == p) {
                    Some(i) => {
                        changes.remove.swap_remove(i);
                    }
                    None => changes.add.push(*p),
                }
            }
        }
        if !wanted.is_empty() {
            self.by_session.insert(key, wanted);
        }
        changes
    }

    /// A session was withdrawn.
    pub(crate) fn remove(&mut self, tunnel_id: u16, session_id: u16) -> RouteChanges {
        let mut changes = RouteChanges::default();
        for p in self
            .by_session
            .remove(&(tunnel_id, session_id))
            .unwrap_or_default()
        {
            if let Some(n) = self.users.get_mut(&p) {
                *n -= 1;
                if *n == 0 {
                    self.users.remove(&p);
                    changes.remove.push(p);
                }
            }
        }
        changes
    }
}

/// Whether route `net` covers prefix `p` (same family, `net` no longer and
/// the leading bits equal).
fn covers(net: Prefix, p: Prefix) -> bool {
    let (bits_net, bits_p) = match (net.0, p.0) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (
            u128::from(u32::from(a)) << 96,
            u128::from(u32::from(b)) << 96,
        ),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b)),
        _ => return false,
    };
    let len = u32::from(net.1.min(128));
    if net.1 > p.1 {
        return false;
    }
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    bits_net & mask == bits_p & mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn entry(session: u16, v4: Option<[u8; 4]>, v6: &[(&str, u8)]) -> SessionEntry {
        SessionEntry {
            tunnel_id: 1,
            session_id: session,
            peer_tunnel_id: 1,
            peer_session_id: session,
            peer: "198.18.0.2:1701".parse().expect("literal"),
            local: "198.18.0.1:1701".parse().expect("literal"),
            ipv4: v4.map(Ipv4Addr::from),
            ipv6_prefixes: v6
                .iter()
                .map(|(p, l)| (p.parse::<Ipv6Addr>().expect("literal"), *l))
                .collect(),
            mru: 1500,
            compression: Default::default(),
        }
    }

    fn pools() -> SessionRoutes {
        SessionRoutes::new(&[
            (IpAddr::V4(Ipv4Addr::new(198, 19, 0, 0)), 16),
            ("2001:db8:100::".parse().expect("literal"), 48),
            ("2001:db8:200::".parse().expect("literal"), 40),
        ])
    }

    #[test]
    fn pool_addresses_and_prefixes_need_no_route() {
        let mut r = pools();
        let e = entry(
            1,
            Some([198, 19, 3, 4]),
            &[("2001:db8:100:7::", 64), ("2001:db8:200:700::", 56)],
        );
        assert_eq!(r.upsert(&e), RouteChanges::default());
        assert_eq!(r.remove(1, 1), RouteChanges::default());
    }

    #[test]
    fn radius_prefixes_outside_the_pools_are_routed_then_withdrawn() {
        let mut r = pools();
        let e = entry(
            1,
            Some([198, 18, 9, 9]),
            &[("2001:db8:100:7::", 64), ("2001:db8:9::", 48)],
        );
        let v4: Prefix = (IpAddr::V4(Ipv4Addr::new(198, 18, 9, 9)), 32);
        let v6: Prefix = ("2001:db8:9::".parse().expect("literal"), 48);
        assert_eq!(r.upsert(&e).add, vec![v4, v6]);
        // Published again unchanged: nothing to do.
        assert_eq!(r.upsert(&e), RouteChanges::default());
        // A second session with the same prefix keeps it past the first.
        let f = entry(2, None, &[("2001:db8:9::", 48)]);
        assert_eq!(r.upsert(&f), RouteChanges::default());
        assert_eq!(r.remove(1, 1).remove, vec![v4]);
        assert_eq!(r.remove(1, 2).remove, vec![v6]);
        assert_eq!(r.remove(1, 2), RouteChanges::default());
    }

    #[test]
    fn a_wider_prefix_than_the_pool_is_not_covered_and_families_never_mix() {
        assert!(!covers(
            ("2001:db8:100::".parse().expect("literal"), 48),
            ("2001:db8:100::".parse().expect("literal"), 40)
        ));
        assert!(covers(
            ("2001:db8::".parse().expect("literal"), 32),
            ("2001:db8:ffff::".parse().expect("literal"), 48)
        ));
        assert!(!covers(
            (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            ("2001:db8::".parse().expect("literal"), 64)
        ));
        assert!(covers(
            (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            (IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 32)
        ));
    }
}
