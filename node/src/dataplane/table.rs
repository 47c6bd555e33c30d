//! The session table as the per-packet path reads it: an immutable snapshot.
//!
//! Contract: a [`SessionTable`] is never mutated once published. The control
//! task builds the next one with [`SessionTable::with_upsert`] /
//! [`SessionTable::with_removed`] (copy on write of the shards touched, O(sessions / 64) per change,
//! done off the packet path) and swaps it in atomically (see `plane.rs`).
//! Readers get O(1) lookups without locks or allocation:
//!
//! - upstream: (our tunnel id, our session id) -> session, one hash probe;
//! - downstream IPv4: exact /32 match, one probe;
//! - downstream IPv6: one probe per distinct configured prefix length
//!   (longest first; in practice /64 and the delegated /56 or /48), each
//!   probe keyed by (masked address, length).
//!
//! Copy on write is per shard: each map is split in 64 shards behind `Arc`s,
//! so an upsert copies the few shards it touches, not the whole table (a
//! full reload of 60 000 sessions at failover stays in seconds, not
//! minutes).
//!
//! Per-session counters live in the slot (issue 5: one block per session,
//! not two). An upsert (IPCP opening later, a new prefix) starts the new
//! slot from the old one's counts and reports the old slot as
//! [`Replaced`]: once no snapshot holds it any more (no worker can count
//! into it), [`Replaced::carry`] adds what was counted there after the
//! copy to the session's current slot, so no count is lost.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::slot::{SlotEntry, Tunnels};
use super::{SessionEntry, SessionStats};

/// One session in a snapshot: its entry and its live counters.
#[derive(Debug)]
pub struct SessionSlot {
    /// What the control task published (the tunnel's addresses shared).
    pub entry: SlotEntry,
    /// Traffic counters, updated by every worker with relaxed atomics.
    pub counters: SessionCounters,
}

/// A slot an upsert replaced, with the counts its successor started from.
#[derive(Debug)]
pub struct Replaced {
    old: Arc<SessionSlot>,
    copied: SessionStats,
}

impl Replaced {
    /// Once no snapshot holds the old slot, adds what workers counted
    /// there after the copy to the session's slot in `current` (nothing if
    /// the session is gone) and returns true; false while a snapshot may
    /// still hold it (try again later).
    pub fn carry(&self, current: &SessionTable) -> bool {
        if Arc::strong_count(&self.old) > 1 {
            return false;
        }
        // `strong_count` is a relaxed load: pair it with the release of the
        // last worker's drop, so that its last counts are seen below.
        std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
        let now = self.old.counters.snapshot();
        let key = (self.old.entry.tunnel_id, self.old.entry.session_id);
        if let Some(slot) = current.session(key.0, key.1) {
            slot.counters.add_since(&now, &self.copied);
        }
        true
    }
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
        // A plain load and store, not `fetch_max` (a locked compare-and-swap
        // loop on every packet): a session's datagrams all arrive on one
        // upstream worker (the socket group hashes the LAC's address and
        // port), so there is one writer and nothing to lose.
        if self.last_rx_unix_micros.load(Ordering::Relaxed) < now_unix_micros {
            self.last_rx_unix_micros
                .store(now_unix_micros, Ordering::Relaxed);
        }
    }

    /// Counts one packet to the subscriber of `bytes` IP bytes.
    pub fn count_tx(&self, bytes: usize) {
        self.tx_packets.fetch_add(1, Ordering::Relaxed);
        self.tx_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counters starting from `stats` (a replaced slot's counts).
    pub fn starting_from(stats: &SessionStats) -> SessionCounters {
        SessionCounters {
            rx_packets: AtomicU64::new(stats.rx_packets),
            rx_bytes: AtomicU64::new(stats.rx_bytes),
            tx_packets: AtomicU64::new(stats.tx_packets),
            tx_bytes: AtomicU64::new(stats.tx_bytes),
            last_rx_unix_micros: AtomicU64::new(stats.last_rx_unix_micros),
        }
    }

    /// Adds what was counted between `then` and `now` (of another slot).
    fn add_since(&self, now: &SessionStats, then: &SessionStats) {
        let add = |c: &AtomicU64, n: u64, t: u64| {
            c.fetch_add(n.saturating_sub(t), Ordering::Relaxed);
        };
        add(&self.rx_packets, now.rx_packets, then.rx_packets);
        add(&self.rx_bytes, now.rx_bytes, then.rx_bytes);
        add(&self.tx_packets, now.tx_packets, then.tx_packets);
        add(&self.tx_bytes, now.tx_bytes, then.tx_bytes);
        self.last_rx_unix_micros
            .fetch_max(now.last_rx_unix_micros, Ordering::Relaxed);
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

/// Shards per map: an upsert copies only the shards it touches (about
/// sessions / SHARDS entries each) plus this many `Arc` pointers.
const SHARDS: usize = 64;

/// An immutable snapshot of every session the data plane serves.
#[derive(Debug, Clone)]
pub struct SessionTable {
    by_id: Sharded<(u16, u16)>,
    by_ipv4: Sharded<Ipv4Addr>,
    by_ipv6: Sharded<(u128, u8)>,
    /// How many IPv6 prefixes of each length are in `by_ipv6`.
    ipv6_length_counts: BTreeMap<u8, usize>,
    /// The lengths in `ipv6_length_counts`, longest first.
    ipv6_lengths: Vec<u8>,
    /// The tunnels' addresses, shared by their sessions' slots.
    tunnels: Tunnels,
    len: usize,
}

impl Default for SessionTable {
    fn default() -> Self {
        SessionTable {
            by_id: Sharded::new(),
            by_ipv4: Sharded::new(),
            by_ipv6: Sharded::new(),
            ipv6_length_counts: BTreeMap::new(),
            ipv6_lengths: Vec::new(),
            tunnels: Tunnels::default(),
            len: 0,
        }
    }
}

impl SessionTable {
    /// The empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no session is published.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The session for our (tunnel id, session id).
    pub fn session(&self, tunnel_id: u16, session_id: u16) -> Option<&SessionSlot> {
        self.by_id.get(&(tunnel_id, session_id))
    }

    /// The session a downstream packet to `destination` belongs to.
    pub fn by_destination(&self, destination: IpAddr) -> Option<&SessionSlot> {
        match destination {
            IpAddr::V4(a) => self.by_ipv4.get(&a),
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                self.ipv6_lengths
                    .iter()
                    .find_map(|&len| self.by_ipv6.get(&(mask(bits, len), len)))
            }
        }
    }

    /// The next snapshot with `entry` added or replaced. A replaced session
    /// keeps its counters; an address or prefix another session held moves
    /// to this one (the control task's allocation is the authority).
    pub fn with_upsert(&self, entry: SessionEntry) -> SessionTable {
        self.with_upserts([entry])
    }

    /// The next snapshot with every entry upserted in order: one copy of
    /// each touched shard for the whole batch (a bulk load is O(sessions)).
    /// What workers count into a replaced slot after the upsert is lost:
    /// the data plane uses [`SessionTable::with_upserts_replacing`].
    pub fn with_upserts(&self, entries: impl IntoIterator<Item = SessionEntry>) -> SessionTable {
        self.with_upserts_replacing(entries).0
    }

    /// As [`SessionTable::with_upserts`], with the slots replaced: keep
    /// them and [`Replaced::carry`] them until it returns true.
    pub fn with_upserts_replacing(
        &self,
        entries: impl IntoIterator<Item = SessionEntry>,
    ) -> (SessionTable, Vec<Replaced>) {
        let mut next = self.clone();
        let mut replaced = Vec::new();
        for entry in entries {
            next.upsert_in_place(entry, &mut replaced);
        }
        next.refresh_lengths();
        (next, replaced)
    }

    fn upsert_in_place(&mut self, entry: SessionEntry, replaced: &mut Vec<Replaced>) {
        let key = (entry.tunnel_id, entry.session_id);
        let counters = match self.remove_keys(key) {
            Some(old) => {
                let copied = old.counters.snapshot();
                let counters = SessionCounters::starting_from(&copied);
                replaced.push(Replaced { old, copied });
                counters
            }
            None => SessionCounters::default(),
        };
        let entry = SlotEntry::new(entry, &mut self.tunnels);
        let slot = Arc::new(SessionSlot { entry, counters });
        if let Some(v4) = slot.entry.ipv4 {
            self.by_ipv4.insert(v4, Arc::clone(&slot));
        }
        for &(prefix, len) in slot.entry.ipv6_prefixes.iter() {
            let len = len.min(128);
            let k = (mask(u128::from(prefix), len), len);
            if self.by_ipv6.insert(k, Arc::clone(&slot)).is_none() {
                *self.ipv6_length_counts.entry(len).or_default() += 1;
            }
        }
        self.by_id.insert(key, slot);
        self.len += 1;
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
        self.len -= 1;
        self.tunnels.release(old.entry.tunnel_id);
        if let Some(v4) = old.entry.ipv4 {
            if self
                .by_ipv4
                .get(&v4)
                .is_some_and(|s| std::ptr::eq(s, &*old))
            {
                self.by_ipv4.remove(&v4);
            }
        }
        for &(prefix, len) in old.entry.ipv6_prefixes.iter() {
            let len = len.min(128);
            let k = (mask(u128::from(prefix), len), len);
            if self.by_ipv6.get(&k).is_some_and(|s| std::ptr::eq(s, &*old)) {
                self.by_ipv6.remove(&k);
                if let Some(n) = self.ipv6_length_counts.get_mut(&len) {
                    *n -= 1;
                    if *n == 0 {
                        self.ipv6_length_counts.remove(&len);
                    }
                }
            }
        }
        Some(old)
    }

    fn refresh_lengths(&mut self) {
        self.ipv6_lengths.clear();
        self.ipv6_lengths
            .extend(self.ipv6_length_counts.keys().rev().copied());
    }
}

/// A map split in [`SHARDS`] copy-on-write shards.
#[derive(Debug, Clone)]
struct Sharded<K> {
    shards: Vec<Arc<HashMap<K, Arc<SessionSlot>>>>,
}

impl<K: ShardKey> Sharded<K> {
    fn new() -> Self {
        Sharded {
            shards: (0..SHARDS).map(|_| Arc::new(HashMap::new())).collect(),
        }
    }

    fn get(&self, key: &K) -> Option<&SessionSlot> {
        self.shards[key.shard()].get(key).map(|s| &**s)
    }

    /// Copies the shard first if an older snapshot still shares it.
    fn insert(&mut self, key: K, slot: Arc<SessionSlot>) -> Option<Arc<SessionSlot>> {
        Arc::make_mut(&mut self.shards[key.shard()]).insert(key, slot)
    }

    fn remove(&mut self, key: &K) -> Option<Arc<SessionSlot>> {
        let shard = &mut self.shards[key.shard()];
        if !shard.contains_key(key) {
            return None;
        }
        Arc::make_mut(shard).remove(key)
    }
}

/// A key that picks its shard (a cheap spread; the maps hash properly).
trait ShardKey: Hash + Eq + Clone {
    fn shard(&self) -> usize;
}

impl ShardKey for (u16, u16) {
    fn shard(&self) -> usize {
        (usize::from(self.0).wrapping_mul(31) ^ usize::from(self.1)) % SHARDS
    }
}

impl ShardKey for Ipv4Addr {
    fn shard(&self) -> usize {
        let v = u32::from(*self);
        ((v ^ (v >> 8) ^ (v >> 16)) as usize) % SHARDS
    }
}

impl ShardKey for (u128, u8) {
    fn shard(&self) -> usize {
        // Prefixes are masked: spread on the bits just above the length.
        let v = self.0 >> (128 - u32::from(self.1.clamp(8, 128)));
        ((v ^ (v >> 8) ^ (v >> 16)) as usize) % SHARDS
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
    use proptest::prelude::*;

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
    fn counts_into_a_replaced_slot_are_carried_once_no_snapshot_holds_it() {
        // A worker still on the older snapshot counts into the old slot
        // after the upsert copied its counts: nothing may be lost.
        let t1 = SessionTable::new().with_upsert(entry(3, 4, Some([198, 19, 1, 1]), &[]));
        t1.session(3, 4).expect("present").counters.count_rx(100, 7);
        let (t2, replaced) = t1.with_upserts_replacing([entry(3, 4, Some([198, 19, 1, 1]), &[])]);
        assert_eq!(replaced.len(), 1);
        t1.session(3, 4).expect("old slot").counters.count_rx(50, 9);
        t1.session(3, 4).expect("old slot").counters.count_tx(20);
        t2.session(3, 4).expect("new slot").counters.count_tx(30);
        assert!(!replaced[0].carry(&t2), "t1 still holds the old slot");
        drop(t1);
        assert!(replaced[0].carry(&t2));
        let s = t2.session(3, 4).expect("present").counters.snapshot();
        assert_eq!(
            (
                s.rx_packets,
                s.rx_bytes,
                s.tx_packets,
                s.tx_bytes,
                s.last_rx_unix_micros
            ),
            (2, 150, 2, 50, 9)
        );
        // A session removed meanwhile: the carry is dropped, nothing fails.
        let (t3, replaced) = t2.with_upserts_replacing([entry(3, 4, Some([198, 19, 1, 1]), &[])]);
        let t4 = t3.with_removed(3, 4);
        drop((t2, t3));
        assert!(replaced[0].carry(&t4));
        assert!(t4.session(3, 4).is_none());
    }

    #[test]
    fn the_slot_holds_its_counters_in_one_block() {
        // Issue 5: entry and counters in one allocation (72 + 56 before).
        assert!(std::mem::size_of::<SessionSlot>() <= 96);
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
    fn bulk_upsert_equals_one_by_one() {
        let entries: Vec<SessionEntry> = (0..200u16)
            .map(|i| entry(i / 50, i, Some([198, 19, (i >> 8) as u8, i as u8]), &[]))
            .collect();
        let bulk = SessionTable::new().with_upserts(entries.clone());
        let single = entries
            .into_iter()
            .fold(SessionTable::new(), |t, e| t.with_upsert(e));
        assert_eq!((bulk.len(), single.len()), (200, 200));
        for i in 0..200u16 {
            let a = IpAddr::V4(Ipv4Addr::new(198, 19, (i >> 8) as u8, i as u8));
            let b = bulk.by_destination(a).map(|s| s.entry.session_id);
            assert_eq!(b, Some(i));
            assert_eq!(b, single.by_destination(a).map(|s| s.entry.session_id));
        }
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

    #[derive(Clone, Debug)]
    enum Op {
        Upsert(u16, u16, Option<u8>, Option<(u16, u8)>),
        Remove(u16, u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (
                0..3u16,
                0..4u16,
                proptest::option::of(0..5u8),
                proptest::option::of((0..4u16, prop_oneof![Just(48u8), Just(56), Just(64)]))
            )
                .prop_map(|(t, s, a, p)| Op::Upsert(t, s, a, p)),
            (0..3u16, 0..4u16).prop_map(|(t, s)| Op::Remove(t, s)),
        ]
    }

    proptest! {
        /// The sharded copy-on-write table answers like a naive model
        /// (owner maps and a scan for the longest prefix).
        #[test]
        fn matches_a_naive_model(ops in proptest::collection::vec(op(), 1..60)) {
            let mut t = SessionTable::new();
            let mut ids = BTreeMap::new();
            let mut v4_owner: BTreeMap<u8, (u16, u16)> = BTreeMap::new();
            let mut v6_owner: BTreeMap<(u128, u8), (u16, u16)> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Upsert(tid, sid, a, p) => {
                        let key = (tid, sid);
                        v4_owner.retain(|_, o| *o != key);
                        v6_owner.retain(|_, o| *o != key);
                        if let Some(a) = a { v4_owner.insert(a, key); }
                        if let Some((n, len)) = p { v6_owner.insert((mask(u128::from(v6_prefix(n)), len), len), key); }
                        ids.insert(key, ());
                        let v6: Vec<(&str, u8)> = Vec::new();
                        let mut e = entry(tid, sid, a.map(|a| [198, 19, 1, a]), &v6);
                        e.ipv6_prefixes = p.map(|(n, len)| (v6_prefix(n), len)).into_iter().collect();
                        t = t.with_upsert(e);
                    }
                    Op::Remove(tid, sid) => {
                        let key = (tid, sid);
                        ids.remove(&key);
                        v4_owner.retain(|_, o| *o != key);
                        v6_owner.retain(|_, o| *o != key);
                        t = t.with_removed(tid, sid);
                    }
                }
            }
            prop_assert_eq!(t.len(), ids.len());
            for a in 0..5u8 {
                let got = t.by_destination(IpAddr::V4(Ipv4Addr::new(198, 19, 1, a)))
                    .map(|s| (s.entry.tunnel_id, s.entry.session_id));
                prop_assert_eq!(got, v4_owner.get(&a).copied());
            }
            for n in 0..4u16 {
                let probe = u128::from(v6_prefix(n)) | 0x1234;
                let want = v6_owner.iter()
                    .filter(|((p, len), _)| mask(probe, *len) == *p)
                    .max_by_key(|((_, len), _)| *len)
                    .map(|(_, o)| *o);
                let got = t.by_destination(IpAddr::V6(Ipv6Addr::from(probe)))
                    .map(|s| (s.entry.tunnel_id, s.entry.session_id));
                prop_assert_eq!(got, want);
            }
        }
    }

    /// Prefixes that nest: n = 0..4 share the same /48 and /56 for n < 2.
    fn v6_prefix(n: u16) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0x0db8, 0x0200, n << 7, 0, 0, 0, 0)
    }
}
