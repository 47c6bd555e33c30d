//! The IPv6 half of a failover drill (issue 8: "the `kill-active` drill
//! checks that addresses, prefixes and routes survive a failover").
//!
//! Contract: pure functions over the LAC's [`Status`] and the text of
//! `ip -6 route show dev lns0`, so every verdict is unit tested below.
//! [`V6Baseline::take`] records, just before the fault, each held session's
//! /64 (from the Router Advertisement), SLAAC address, IA_NA address and
//! delegated prefix (lac-sim with `--reflector6`). After the cluster
//! settled, [`V6Baseline::losses`] names every session that did not, since
//! then: receive an RA for the same /64, get a Reply to its Renew that
//! extends the same IA_NA address and the same delegated prefix (a node
//! that lost the bindings answers NoBinding), and get echoed probes both
//! from its SLAAC address and from inside its delegated prefix (IPv6 both
//! ways through the new active node's TUN to the core). [`uncovered`]
//! names the sessions whose /64 or delegated prefix no IPv6 route of the
//! active node's TUN device covers. A session with no IPv6 lease before the
//! fault counts as lost too ([`V6Baseline::missing`]).

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv6Addr;

use crate::lac::status::V6Status;
use crate::lac::Status;

/// One session's IPv6 leases before the fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V6Lease {
    /// The link /64 of the Router Advertisement.
    pub prefix: Ipv6Addr,
    /// The SLAAC address formed in it.
    pub slaac: Ipv6Addr,
    /// The DHCPv6 IA_NA address.
    pub ia_na: Ipv6Addr,
    /// The DHCPv6 IA_PD prefix and length.
    pub ia_pd: (Ipv6Addr, u8),
}

/// Why a session's IPv6 did not survive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V6Loss {
    /// The session (or its IPv6 state) is gone from the LAC's status.
    NoState,
    /// No Router Advertisement since the settle.
    NoRa,
    /// The RA advertises another /64.
    PrefixChanged(Ipv6Addr),
    /// No Reply to a Renew since the settle.
    NoRenew,
    /// The Renew's Reply did not extend the same address and prefix.
    LeaseChanged {
        /// The IA_NA address it extended.
        ia_na: Option<Ipv6Addr>,
        /// The prefix it extended.
        ia_pd: Option<(Ipv6Addr, u8)>,
    },
    /// No probe from the SLAAC address came back since the settle.
    NoEcho,
    /// No probe from inside the delegated prefix came back since the settle.
    NoEchoFromDelegated,
    /// No route of the active node's TUN covers the /64 or the prefix.
    NoRoute,
}

impl fmt::Display for V6Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            V6Loss::NoState => f.write_str("no IPv6 state at the LAC"),
            V6Loss::NoRa => f.write_str("no Router Advertisement since the settle"),
            V6Loss::PrefixChanged(p) => write!(f, "the RA now advertises {p}/64"),
            V6Loss::NoRenew => f.write_str("no Reply to a DHCPv6 Renew since the settle"),
            V6Loss::LeaseChanged { ia_na, ia_pd } => write!(
                f,
                "the Renew's Reply extended IA_NA {ia_na:?} and IA_PD {ia_pd:?}"
            ),
            V6Loss::NoEcho => f.write_str("no IPv6 echo from the SLAAC address since the settle"),
            V6Loss::NoEchoFromDelegated => {
                f.write_str("no IPv6 echo from inside the delegated prefix since the settle")
            }
            V6Loss::NoRoute => f.write_str("no TUN route covers its /64 or delegated prefix"),
        }
    }
}

/// The IPv6 figures of a drill's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V6Figures {
    /// Sessions with IPv6 leases before the fault.
    pub sessions: usize,
    /// Of the sessions held before the fault, those whose IPv6 did not
    /// survive (or that had none).
    pub lost: usize,
}

/// The leases of the held sessions just before the fault.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V6Baseline {
    /// Per session index, its leases.
    pub leases: BTreeMap<u32, V6Lease>,
    /// Held sessions that had no complete IPv6 lease before the fault.
    pub missing: Vec<u32>,
}

impl V6Baseline {
    /// Records the leases of `sessions` (indexes) in `status`.
    pub fn take(status: &Status, sessions: impl IntoIterator<Item = u32>) -> V6Baseline {
        let by_index: BTreeMap<u32, Option<&V6Status>> = status
            .sessions()
            .map(|s| (s.index, s.v6.as_ref()))
            .collect();
        let mut b = V6Baseline::default();
        for i in sessions {
            match by_index.get(&i).copied().flatten().and_then(lease) {
                Some(l) => {
                    b.leases.insert(i, l);
                }
                None => b.missing.push(i),
            }
        }
        b
    }

    /// Every recorded session whose IPv6 did not survive in `status`, with
    /// what has to have happened at or after `since_ms` (Unix ms).
    pub fn losses(&self, status: &Status, since_ms: u64) -> BTreeMap<u32, V6Loss> {
        let now: BTreeMap<u32, Option<&V6Status>> = status
            .sessions()
            .filter(|s| s.state == crate::lac::status::SessionState::Up)
            .map(|s| (s.index, s.v6.as_ref()))
            .collect();
        self.leases
            .iter()
            .filter_map(|(i, l)| {
                let loss = match now.get(i).copied().flatten() {
                    Some(v) => judge(l, v, since_ms)?,
                    None => V6Loss::NoState,
                };
                Some((*i, loss))
            })
            .collect()
    }

    /// The figures once `lost` is known (missing sessions count as lost).
    pub fn figures(&self, lost: usize) -> V6Figures {
        V6Figures {
            sessions: self.leases.len(),
            lost: lost + self.missing.len(),
        }
    }
}

/// The sessions of `leases` whose /64 or delegated prefix is covered by no
/// route in `routes` (the output of `ip -6 route show dev TUN`).
pub fn uncovered(routes: &str, leases: &BTreeMap<u32, V6Lease>) -> Vec<u32> {
    let table: Vec<(Ipv6Addr, u8)> = routes.lines().filter_map(route_prefix).collect();
    let covered = |(p, len): (Ipv6Addr, u8)| {
        table
            .iter()
            .any(|&(r, rl)| rl <= len && mask(p, rl) == mask(r, rl))
    };
    leases
        .iter()
        .filter(|(_, l)| !(covered((l.prefix, 64)) && covered(l.ia_pd)))
        .map(|(i, _)| *i)
        .collect()
}

/// A complete lease, if the LAC has one.
fn lease(v: &V6Status) -> Option<V6Lease> {
    Some(V6Lease {
        prefix: v.prefix?,
        slaac: v.slaac?,
        ia_na: v.ia_na?,
        ia_pd: v.ia_pd?,
    })
}

/// The first thing wrong with one session's IPv6 since `since_ms`, if any.
fn judge(l: &V6Lease, v: &V6Status, since_ms: u64) -> Option<V6Loss> {
    let recent = |t: Option<u64>| t.is_some_and(|t| t >= since_ms);
    // RFC 4861 §6.2.3: the RA carries the session's /64.
    match v.last_ra {
        Some((t, p)) if t >= since_ms => {
            if p != l.prefix {
                return Some(V6Loss::PrefixChanged(p));
            }
        }
        _ => return Some(V6Loss::NoRa),
    }
    // RFC 8415 §18.3.4: the server extends the bindings it knows.
    match v.last_renew {
        Some((t, na, pd)) if t >= since_ms => {
            if na != Some(l.ia_na) || pd != Some(l.ia_pd) {
                return Some(V6Loss::LeaseChanged {
                    ia_na: na,
                    ia_pd: pd,
                });
            }
        }
        _ => return Some(V6Loss::NoRenew),
    }
    if !recent(v.last_echo_ms) {
        return Some(V6Loss::NoEcho);
    }
    if !recent(v.last_echo_pd_ms) {
        return Some(V6Loss::NoEchoFromDelegated);
    }
    None
}

/// The destination of one `ip -6 route` line (`PREFIX/LEN ...` or a host
/// address); `None` for `default` and anything unreadable.
fn route_prefix(line: &str) -> Option<(Ipv6Addr, u8)> {
    let dst = line.split_whitespace().next()?;
    match dst.split_once('/') {
        Some((a, l)) => Some((a.parse().ok()?, l.parse().ok().filter(|l| *l <= 128)?)),
        None => Some((dst.parse().ok()?, 128)),
    }
}

fn mask(a: Ipv6Addr, len: u8) -> u128 {
    match len {
        0 => 0,
        l => u128::from(a) & (u128::MAX << (128 - u32::from(l.min(128)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lac::status::{SessionState, SessionStatus, TunnelStatus};

    fn a(s: &str) -> Ipv6Addr {
        s.parse().expect("literal")
    }

    fn v6(t: u64) -> V6Status {
        V6Status {
            prefix: Some(a("2001:db8:100:7::")),
            slaac: Some(a("2001:db8:100:7::42")),
            ia_na: Some(a("2001:db8:100:7::9")),
            ia_pd: Some((a("2001:db8:200:700::"), 56)),
            last_ra: Some((t, a("2001:db8:100:7::"))),
            last_renew: Some((
                t,
                Some(a("2001:db8:100:7::9")),
                Some((a("2001:db8:200:700::"), 56)),
            )),
            last_echo_ms: Some(t),
            last_echo_pd_ms: Some(t),
        }
    }

    fn status(sessions: Vec<(u32, Option<V6Status>)>) -> Status {
        Status {
            unix_ms: 10_000,
            stage: "traffic".into(),
            tunnels: vec![TunnelStatus {
                index: 0,
                tunnel: 1,
                up: true,
                lost: None,
                max_ack_ms: 0,
                sessions: sessions
                    .into_iter()
                    .map(|(index, v6)| SessionStatus {
                        index,
                        session: 10 + index as u16,
                        state: SessionState::Up,
                        ipv4: None,
                        ended_by_lns: false,
                        interval_ms: 200.0,
                        sent: 1,
                        received: 1,
                        last_echo_ms: Some(1),
                        max_gap_ms: Some(1),
                        v6,
                    })
                    .collect(),
            }],
        }
    }

    #[test]
    fn the_same_leases_renewed_and_echoed_after_the_settle_survive() {
        let before = status(vec![(0, Some(v6(1_000))), (1, None)]);
        let b = V6Baseline::take(&before, [0, 1]);
        assert_eq!(b.leases.len(), 1);
        assert_eq!(b.missing, [1], "no IPv6 before the fault counts as lost");
        let after = status(vec![(0, Some(v6(5_000)))]);
        assert!(b.losses(&after, 4_000).is_empty());
        assert_eq!(
            b.figures(0),
            V6Figures {
                sessions: 1,
                lost: 1
            }
        );
    }

    #[test]
    fn every_way_of_losing_ipv6_is_named() {
        let b = V6Baseline::take(&status(vec![(0, Some(v6(1_000)))]), [0]);
        let check = |v: Option<V6Status>| b.losses(&status(vec![(0, v)]), 4_000).remove(&0);
        // Nothing since the settle (the answers date from before it).
        assert_eq!(check(Some(v6(1_000))), Some(V6Loss::NoRa));
        assert_eq!(check(None), Some(V6Loss::NoState));
        let mut x = v6(5_000);
        x.last_ra = Some((5_000, a("2001:db8:100:8::")));
        assert_eq!(
            check(Some(x)),
            Some(V6Loss::PrefixChanged(a("2001:db8:100:8::")))
        );
        let mut x = v6(5_000);
        x.last_renew = Some((3_000, x.ia_na, x.ia_pd));
        assert_eq!(check(Some(x)), Some(V6Loss::NoRenew));
        // A node that lost the bindings answers NoBinding: no leases.
        let mut x = v6(5_000);
        x.last_renew = Some((5_000, None, None));
        assert_eq!(
            check(Some(x)),
            Some(V6Loss::LeaseChanged {
                ia_na: None,
                ia_pd: None
            })
        );
        let mut x = v6(5_000);
        x.last_echo_ms = Some(3_999);
        assert_eq!(check(Some(x)), Some(V6Loss::NoEcho));
        let mut x = v6(5_000);
        x.last_echo_pd_ms = None;
        assert_eq!(check(Some(x)), Some(V6Loss::NoEchoFromDelegated));
        // A session the LAC no longer holds up.
        let mut ended = status(vec![(0, Some(v6(5_000)))]);
        ended.tunnels[0].sessions[0].state = SessionState::Ended;
        assert_eq!(b.losses(&ended, 4_000).get(&0), Some(&V6Loss::NoState));
    }

    #[test]
    fn routes_must_cover_both_prefixes_of_a_session() {
        let b = V6Baseline::take(&status(vec![(0, Some(v6(1_000)))]), [0]);
        let pools = "2001:db8:100::/48 proto static metric 1024 pref medium\n\
                     2001:db8:200::/40 proto static metric 1024 pref medium\n\
                     fe80::/64 proto kernel metric 256 pref medium\n";
        assert!(uncovered(pools, &b.leases).is_empty());
        // Exact per-session routes work as well.
        let exact = "2001:db8:100:7::/64 metric 1024\n2001:db8:200:700::/56 metric 1024\n";
        assert!(uncovered(exact, &b.leases).is_empty());
        // The delegated prefix unrouted; a longer route does not cover it.
        let partial = "2001:db8:100::/48 metric 1024\n2001:db8:200:700::/60 metric 1024\n";
        assert_eq!(uncovered(partial, &b.leases), [0]);
        assert_eq!(uncovered("", &b.leases), [0]);
        assert_eq!(uncovered("default via fe80::1 metric 1\n", &b.leases), [0]);
        assert_eq!(
            route_prefix("2001:db8::5 metric 1"),
            Some((a("2001:db8::5"), 128))
        );
    }
}
