//! The session table as the per-packet path reads it: an immutable snapshot.
//!
//! Contract: a [`SessionTable`] is never mutated once published. The control
//! task builds the next one with [`SessionTable::with_upsert`] /
//! [`SessionTable::with_removed`] (copy on write, O(sessions) per change,
//! done off the packet path) and swaps it in atomically (see `plane.rs`).
//! Readers get O(1) lookups without locks or allocation:
//!
//! - upstream: (our tunnel id, our session id) -> session, one hash probe;
//! - downstream IPv4: exact /32 match, one probe;
//! - downstream IPv6: one probe per distinct configured prefix length
//!   (longest first; in practice /64 and the delegated /56 or /48), each
//!   probe keyed by (masked address, length).
//!
//! Per-session counters live in [`SessionCounters`] behind an `Arc` shared by
//! successive snapshots, so an upsert (IPCP opening later, a new prefix)
//! keeps the session's counts.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{SessionEntry, SessionStats};

/// One session in a snapshot: its entry and its live counters.
#[derive(Debug)]
pub struct SessionSlot {
    /// What the control task published.
    pub entry: SessionEntry,
    /// Traffic counters, updated by every worker with relaxed atomics.
    pub counters: Arc<SessionCounters>,
}

/// Per-session traffic counters (atomics: many writers, no lock).
#[derive(Debug, Default)]
pub struct SessionCounters {
    rx_packets: AtomicU64,
    rx_bytes: AtomicU64,
    tx_packets: AtomicU64,
    tx_bytes: AtomicU64,
    last_rx_unix_micros: AtomicU64,
}

impl SessionCounters {
    /// Counts one packet from the subscriber of `bytes` IP bytes at `now`.
    pub fn count_rx(&self, bytes: usize, now_unix_micros: u64) {
        self.rx_packets.fetch_add(1, Ordering::Relaxed);
        self.rx_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.last_rx_unix_micros
            .fetch_max(now_unix_micros, Ordering::Relaxed);
    }

    /// Counts one packet to the subscriber of `bytes` IP bytes.
    pub fn count_tx(&self, bytes: usize) {
        self.tx_packets.fetch_add(1, Ordering::Relaxed);
        self.tx_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// A consistent-enough copy (each field read once, relaxed).
    pub fn snapshot(&self) -> SessionStats {
        SessionStats {
            rx_packets: self.rx_packets.load(Ordering::Relaxed),
            rx_bytes: self.rx_bytes.load(Ordering::Relaxed),
            tx_packets: self.tx_packets.load(Ordering::Relaxed),
            tx_bytes: self.tx_bytes.load(Ordering::Relaxed),
            last_rx_unix_micros: self.last_rx_unix_micros.load(Ordering::Relaxed),
        }
    }
}

/// An immutable snapshot of every session the data plane serves.
#[derive(Debug, Default, Clone)]
pub struct SessionTable {
    by_id: HashMap<(u16, u16), Arc<SessionSlot>>,
    by_ipv4: HashMap<Ipv4Addr, Arc<SessionSlot>>,
    by_ipv6: HashMap<(u128, u8), Arc<SessionSlot>>,
    /// Distinct IPv6 prefix lengths present in `by_ipv6`, longest first.
    ipv6_lengths: Vec<u8>,
}

impl SessionTable {
    /// The empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no session is published.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The session for our (tunnel id, session id).
    pub fn session(&self, tunnel_id: u16, session_id: u16) -> Option<&SessionSlot> {
        self.by_id.get(&(tunnel_id, session_id)).map(|s| &**s)
    }

    /// The session a downstream packet to `destination` belongs to.
    pub fn by_destination(&self, destination: IpAddr) -> Option<&SessionSlot> {
        match destination {
            IpAddr::V4(a) => self.by_ipv4.get(&a).map(|s| &**s),
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                self.ipv6_lengths
                    .iter()
                    .find_map(|&len| self.by_ipv6.get(&(mask(bits, len), len)).map(|s| &**s))
            }
        }
    }

    /// The next snapshot with `entry` added or replaced. A replaced session
    /// keeps its counters; an address or prefix another session held moves
    /// to this one (the control task's allocation is the authority).
    pub fn with_upsert(&self, entry: SessionEntry) -> SessionTable {
        let key = (entry.tunnel_id, entry.session_id);
        let mut next = self.clone();
        let counters = match next.remove_keys(key) {
            Some(old) => Arc::clone(&old.counters),
            None => Arc::new(SessionCounters::default()),
        };
        let slot = Arc::new(SessionSlot { entry, counters });
        if let Some(v4) = slot.entry.ipv4 {
            next.by_ipv4.insert(v4, Arc::clone(&slot));
        }
        for &(prefix, len) in &slot.entry.ipv6_prefixes {
            let len = len.min(128);
            next.by_ipv6
                .insert((mask(u128::from(prefix), len), len), Arc::clone(&slot));
        }
        next.by_id.insert(key, slot);
        next.refresh_lengths();
        next
    }

    /// The next snapshot without (tunnel id, session id).
    pub fn with_removed(&self, tunnel_id: u16, session_id: u16) -> SessionTable {
        let mut next = self.clone();
        next.remove_keys((tunnel_id, session_id));
        next.refresh_lengths();
        next
    }

    /// Removes a session and the address keys that still point at it.
    fn remove_keys(&mut self, key: (u16, u16)) -> Option<Arc<SessionSlot>> {
        let old = self.by_id.remove(&key)?;
        if let Some(v4) = old.entry.ipv4 {
            if self.by_ipv4.get(&v4).is_some_and(|s| Arc::ptr_eq(s, &old)) {
                self.by_ipv4.remove(&v4);
            }
        }
        for &(prefix, len) in &old.entry.ipv6_prefixes {
            let len = len.min(128);
            let k = (mask(u128::from(prefix), len), len);
            if self.by_ipv6.get(&k).is_some_and(|s| Arc::ptr_eq(s, &old)) {
                self.by_ipv6.remove(&k);
            }
        }
        Some(old)
    }

    fn refresh_lengths(&mut self) {
        let mut lengths: Vec<u8> = self.by_ipv6.keys().map(|&(_, len)| len).collect();
        lengths.sort_unstable_by(|a, b| b.cmp(a));
        lengths.dedup();
        self.ipv6_lengths = lengths;
    }
}

/// Whether `addr` lies inside `prefix`/`len`.
pub fn ipv6_in_prefix(addr: Ipv6Addr, prefix: Ipv6Addr, len: u8) -> bool {
    let len = len.min(128);
    mask(u128::from(addr), len) == mask(u128::from(prefix), len)
}

/// Keeps the first `len` bits of `bits`.
fn mask(bits: u128, len: u8) -> u128 {
    match len {
        0 => 0,
        l if l >= 128 => bits,
        l => bits & (u128::MAX << (128 - u32::from(l))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lns_proto::ppp::frame::Compression;

    fn entry(tid: u16, sid: u16, v4: Option<[u8; 4]>, v6: &[(&str, u8)]) -> SessionEntry {
        SessionEntry {
            tunnel_id: tid,
            session_id: sid,
            peer_tunnel_id: 0x0100 + tid,
            peer_session_id: 0x0200 + sid,
            peer: "198.18.0.2:1701".parse().expect("literal"),
            local: "198.18.0.1:1701".parse().expect("literal"),
            ipv4: v4.map(Ipv4Addr::from),
            ipv6_prefixes: v6
                .iter()
                .map(|(p, l)| (p.parse().expect("literal"), *l))
                .collect(),
            mru: 1500,
            compression: Compression::default(),
        }
    }

    fn dst(s: &str) -> IpAddr {
        s.parse().expect("literal")
    }

    #[test]
    fn upsert_then_lookups_by_id_and_address() {
        let t = SessionTable::new().with_upsert(entry(
            1,
            2,
            Some([198, 19, 1, 10]),
            &[("2001:db8:100:1::", 64), ("2001:db8:180::", 48)],
        ));
        assert_eq!(t.len(), 1);
        assert!(t.session(1, 2).is_some());
        assert!(t.session(2, 1).is_none());
        // IPv4: exact /32 only.
        let hit = t.by_destination(dst("198.19.1.10")).expect("v4 hit");
        assert_eq!(hit.entry.session_id, 2);
        assert!(t.by_destination(dst("198.19.1.11")).is_none());
        // IPv6: the link /64 and the delegated /48.
        assert!(t.by_destination(dst("2001:db8:100:1::42")).is_some());
        assert!(t.by_destination(dst("2001:db8:100:2::42")).is_none());
        assert!(t.by_destination(dst("2001:db8:180:ff00::1")).is_some());
        assert!(t.by_destination(dst("2001:db8:181::1")).is_none());
    }

    #[test]
    fn longest_prefix_wins_between_sessions() {
        let t = SessionTable::new()
            .with_upsert(entry(1, 1, None, &[("2001:db8:200::", 56)]))
            .with_upsert(entry(1, 2, None, &[("2001:db8:200:10::", 64)]));
        let s = |a| t.by_destination(dst(a)).map(|s| s.entry.session_id);
        assert_eq!(s("2001:db8:200:10::1"), Some(2));
        assert_eq!(s("2001:db8:200:11::1"), Some(1));
    }

    #[test]
    fn upsert_keeps_counters_and_drops_old_addresses() {
        let t1 = SessionTable::new().with_upsert(entry(3, 4, Some([198, 19, 1, 1]), &[]));
        t1.session(3, 4).expect("present").counters.count_rx(100, 7);
        let t2 = t1.with_upsert(entry(3, 4, Some([198, 19, 1, 2]), &[("2001:db8:1::", 64)]));
        let stats = t2.session(3, 4).expect("present").counters.snapshot();
        assert_eq!(
            (stats.rx_packets, stats.rx_bytes, stats.last_rx_unix_micros),
            (1, 100, 7)
        );
        assert!(t2.by_destination(dst("198.19.1.1")).is_none());
        assert!(t2.by_destination(dst("198.19.1.2")).is_some());
        // The old snapshot is untouched (readers holding it see no change).
        assert!(t1.by_destination(dst("198.19.1.1")).is_some());
        assert!(t1.by_destination(dst("2001:db8:1::1")).is_none());
    }

    #[test]
    fn remove_clears_every_key() {
        let t = SessionTable::new()
            .with_upsert(entry(1, 1, Some([198, 19, 1, 1]), &[("2001:db8:1::", 64)]))
            .with_removed(1, 1);
        assert!(t.is_empty());
        assert!(t.by_destination(dst("198.19.1.1")).is_none());
        assert!(t.by_destination(dst("2001:db8:1::1")).is_none());
        // Removing an unknown session is a no-op.
        assert!(t.with_removed(9, 9).is_empty());
    }

    #[test]
    fn moved_address_is_not_removed_with_its_old_owner() {
        let t = SessionTable::new()
            .with_upsert(entry(1, 1, Some([198, 19, 1, 1]), &[]))
            .with_upsert(entry(1, 2, Some([198, 19, 1, 1]), &[]))
            .with_removed(1, 1);
        let hit = t.by_destination(dst("198.19.1.1")).expect("still routed");
        assert_eq!(hit.entry.session_id, 2);
    }

    #[test]
    fn prefix_membership() {
        let p: Ipv6Addr = "2001:db8:180::".parse().expect("literal");
        assert!(ipv6_in_prefix(
            "2001:db8:180:ffff::1".parse().expect("l"),
            p,
            48
        ));
        assert!(!ipv6_in_prefix(
            "2001:db8:181::1".parse().expect("l"),
            p,
            48
        ));
        assert!(ipv6_in_prefix("::1".parse().expect("l"), p, 0));
    }
}
