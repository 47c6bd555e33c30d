//! What the session table keeps of a published [`SessionEntry`]: the
//! session's own fields, and its tunnel's two addresses shared by every
//! session of the tunnel (issue 5: 64 bytes per session less; a slot is 72
//! requested bytes instead of 136).
//!
//! Contract: [`SlotEntry::peer`] and [`SlotEntry::local`] give what the
//! session was published with, through one pointer (no lock, no
//! allocation, no lookup on the packet path). [`Tunnels`] interns the
//! addresses per tunnel id for the table's writer: sessions of a tunnel
//! published with the same addresses share one block; a session published
//! with other addresses gets them (and the next sessions of the tunnel
//! share those), so every slot answers exactly what its entry said.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use lns_proto::ppp::frame::Compression;

use super::framing::DataRoute;
use super::SessionEntry;

/// A published session as the table keeps it.
#[derive(Debug)]
pub struct SlotEntry {
    /// Our tunnel id.
    pub tunnel_id: u16,
    /// Our session id.
    pub session_id: u16,
    /// The LAC's tunnel id.
    pub peer_tunnel_id: u16,
    /// The LAC's session id.
    pub peer_session_id: u16,
    /// The subscriber's IPv4 address, once IPCP is open.
    pub ipv4: Option<Ipv4Addr>,
    /// The subscriber's IPv6 prefixes (empty: no block).
    pub ipv6_prefixes: Box<[(Ipv6Addr, u8)]>,
    /// The subscriber's MRU.
    pub mru: u16,
    /// Send-side PPP compression negotiated by LCP.
    pub compression: Compression,
    tunnel: Arc<TunnelAddresses>,
}

impl SlotEntry {
    /// The LAC's address and port: data from elsewhere is dropped.
    pub fn peer(&self) -> SocketAddr {
        self.tunnel.peer
    }

    /// Our address the LAC spoke to: replies leave from it.
    pub fn local(&self) -> SocketAddr {
        self.tunnel.local
    }

    /// The slot for `entry`, its addresses taken from `tunnels`.
    pub(super) fn new(entry: SessionEntry, tunnels: &mut Tunnels) -> SlotEntry {
        let tunnel = tunnels.acquire(entry.tunnel_id, entry.peer, entry.local);
        SlotEntry {
            tunnel_id: entry.tunnel_id,
            session_id: entry.session_id,
            peer_tunnel_id: entry.peer_tunnel_id,
            peer_session_id: entry.peer_session_id,
            ipv4: entry.ipv4,
            ipv6_prefixes: entry.ipv6_prefixes.into_boxed_slice(),
            mru: entry.mru,
            compression: entry.compression,
            tunnel,
        }
    }
}

impl DataRoute for SlotEntry {
    fn data_route(&self) -> (u16, u16, Compression) {
        (self.peer_tunnel_id, self.peer_session_id, self.compression)
    }
}

/// A tunnel's addresses, shared by the slots of its sessions.
#[derive(Debug, PartialEq, Eq)]
struct TunnelAddresses {
    peer: SocketAddr,
    local: SocketAddr,
}

/// Shards of the tunnel index (copied on write like the session maps).
const SHARDS: usize = 16;

/// The addresses in use per tunnel id, with how many slots of the table
/// hold them; copy on write per shard, like the table's maps.
#[derive(Clone, Debug)]
pub(super) struct Tunnels {
    shards: Vec<Arc<HashMap<u16, Held>>>,
}

#[derive(Clone, Debug)]
struct Held {
    addresses: Arc<TunnelAddresses>,
    slots: usize,
}

impl Default for Tunnels {
    fn default() -> Self {
        Tunnels {
            shards: (0..SHARDS).map(|_| Arc::new(HashMap::new())).collect(),
        }
    }
}

impl Tunnels {
    /// The shared addresses for one more slot of `tunnel_id`.
    fn acquire(
        &mut self,
        tunnel_id: u16,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> Arc<TunnelAddresses> {
        let shard = Arc::make_mut(&mut self.shards[usize::from(tunnel_id) % SHARDS]);
        let addresses = TunnelAddresses { peer, local };
        let held = shard.entry(tunnel_id).or_insert_with(|| Held {
            addresses: Arc::new(TunnelAddresses { peer, local }),
            slots: 0,
        });
        if *held.addresses != addresses {
            held.addresses = Arc::new(addresses);
        }
        held.slots += 1;
        Arc::clone(&held.addresses)
    }

    /// One slot of `tunnel_id` left the table.
    pub(super) fn release(&mut self, tunnel_id: u16) {
        let shard = &mut self.shards[usize::from(tunnel_id) % SHARDS];
        if !shard.contains_key(&tunnel_id) {
            return;
        }
        let shard = Arc::make_mut(shard);
        if let Some(held) = shard.get_mut(&tunnel_id) {
            held.slots = held.slots.saturating_sub(1);
            if held.slots == 0 {
                shard.remove(&tunnel_id);
            }
        }
    }

    /// Tunnels with at least one slot.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(tunnel_id: u16, session_id: u16, peer: &str) -> SessionEntry {
        SessionEntry {
            tunnel_id,
            session_id,
            peer_tunnel_id: 7,
            peer_session_id: 8,
            peer: peer.parse().expect("literal"),
            local: "198.18.0.1:1701".parse().expect("literal"),
            ipv4: None,
            ipv6_prefixes: Vec::new(),
            mru: 1500,
            compression: Compression::default(),
        }
    }

    #[test]
    fn sessions_of_a_tunnel_share_its_addresses_until_the_last_leaves() {
        let mut t = Tunnels::default();
        let a = SlotEntry::new(entry(1, 1, "198.18.0.2:1701"), &mut t);
        let b = SlotEntry::new(entry(1, 2, "198.18.0.2:1701"), &mut t);
        assert!(Arc::ptr_eq(&a.tunnel, &b.tunnel), "one block per tunnel");
        assert_eq!(b.peer(), "198.18.0.2:1701".parse().expect("literal"));
        assert_eq!(b.local(), "198.18.0.1:1701".parse().expect("literal"));
        let c = SlotEntry::new(entry(2, 1, "198.18.0.3:1701"), &mut t);
        assert!(!Arc::ptr_eq(&a.tunnel, &c.tunnel));
        assert_eq!(t.len(), 2);
        t.release(1);
        assert_eq!(t.len(), 2, "tunnel 1 still has a slot");
        t.release(1);
        t.release(2);
        assert_eq!(t.len(), 0);
        t.release(2);
        assert_eq!(t.len(), 0, "an extra release is harmless");
    }

    #[test]
    fn a_session_published_with_other_addresses_keeps_its_own() {
        // The LAC's port changed: the new slot says what it was published
        // with; the older slot still says what it was published with.
        let mut t = Tunnels::default();
        let a = SlotEntry::new(entry(1, 1, "198.18.0.2:1701"), &mut t);
        let b = SlotEntry::new(entry(1, 2, "198.18.0.2:40000"), &mut t);
        assert_eq!(a.peer(), "198.18.0.2:1701".parse().expect("literal"));
        assert_eq!(b.peer(), "198.18.0.2:40000".parse().expect("literal"));
        let c = SlotEntry::new(entry(1, 3, "198.18.0.2:40000"), &mut t);
        assert!(Arc::ptr_eq(&b.tunnel, &c.tunnel));
    }
}
