//! Endpoint configuration: side, identity, transport timers, limits and the
//! per-LAC peer table (replaceable at run time, e.g. on SIGHUP).
//!
//! Contract: plain data with RFC-sensible defaults; the daemon builds it
//! from its own typed config file. Tunnels copy their [`PeerSettings`] when
//! they are created, so replacing the table affects only new tunnels.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Which end of the tunnel this endpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// L2TP Access Concentrator: opens tunnels and sessions (test LAC).
    Lac,
    /// L2TP Network Server: accepts them (the product).
    Lns,
}

/// §5.8 timers and windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// First retransmission timeout (RFC 2661 §5.8 recommends 1 s).
    pub initial_timeout: Duration,
    /// Cap of the exponential backoff (at least 8 s per §5.8).
    pub max_timeout: Duration,
    /// Retransmissions before the tunnel is declared dead (default 5).
    pub max_retransmits: u32,
    /// How long to wait for a reply to piggyback an ack before sending a ZLB.
    pub ack_delay: Duration,
    /// Idle time after which a HELLO is sent (default 60 s).
    pub hello_interval: Duration,
    /// Our Receive Window Size: how many messages we buffer out of order.
    pub receive_window: u16,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            initial_timeout: Duration::from_secs(1),
            max_timeout: Duration::from_secs(8),
            max_retransmits: 5,
            ack_delay: Duration::from_millis(100),
            hello_interval: Duration::from_secs(60),
            receive_window: 16,
        }
    }
}

/// Resource limits; exceeding one is answered with "no resources" codes
/// (StopCCN 2/4, CDN 4/4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Tunnels (any state, hold-down included).
    pub max_tunnels: usize,
    /// Sessions per tunnel.
    pub max_sessions_per_tunnel: usize,
    /// Tunnels waiting for SCCCN (LNS) or SCCRP (LAC).
    pub max_half_open: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_tunnels: 4_096,
            max_sessions_per_tunnel: 16_384,
            max_half_open: 256,
        }
    }
}

/// Whether this endpoint demands proof of the shared secret (§5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelAuth {
    /// We send a Challenge and require the right response.
    Required,
    /// We answer the peer's Challenge if it sends one but do not challenge.
    NotRequired,
}

/// Which AVPs we hide (§4.3) when a secret is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hiding {
    /// Send everything in clear.
    Off,
    /// Hide proxy-authentication AVPs (30-33) and Calling/Called Number.
    Sensitive,
}

/// What we know about one LAC (or, on the LAC side, one LNS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSettings {
    /// Shared tunnel secret (§5.1.1, §4.3).
    pub secret: Option<Vec<u8>>,
    /// Challenge the peer or not.
    pub auth: TunnelAuth,
    /// Hidden AVPs we send.
    pub hiding: Hiding,
}

impl PeerSettings {
    /// No secret, no authentication, nothing hidden (what xl2tpd does by default).
    pub fn open() -> Self {
        PeerSettings {
            secret: None,
            auth: TunnelAuth::NotRequired,
            hiding: Hiding::Off,
        }
    }
}

/// One row of the peer table: matches when every given key matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerEntry {
    /// SCCRQ Host Name to match, if any.
    pub host_name: Option<Vec<u8>>,
    /// Source address to match, if any.
    pub address: Option<IpAddr>,
    /// Settings for a matching peer.
    pub settings: PeerSettings,
}

/// Per-LAC settings; the first matching entry wins, else `default`,
/// else the tunnel is refused (StopCCN 4 "not authorized").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerTable {
    /// Entries in priority order.
    pub entries: Vec<PeerEntry>,
    /// Settings for peers no entry matches; `None` refuses them.
    pub default: Option<PeerSettings>,
}

impl PeerTable {
    /// Accepts every peer with `settings`.
    pub fn allow_all(settings: PeerSettings) -> Self {
        PeerTable {
            entries: Vec::new(),
            default: Some(settings),
        }
    }

    /// The settings for a peer announcing `host_name` from `address`.
    pub fn lookup(&self, host_name: Option<&[u8]>, address: IpAddr) -> Option<&PeerSettings> {
        self.entries
            .iter()
            .find(|e| {
                e.host_name.as_deref().is_none_or(|h| Some(h) == host_name)
                    && e.address.is_none_or(|a| a == address)
            })
            .map(|e| &e.settings)
            .or(self.default.as_ref())
    }
}

/// Whether every in-order delivery of a control message is reported as an
/// [`super::event::Event::Delivered`] (simulators and debugging).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryReports {
    /// No per-message events (production).
    Off,
    /// One event per delivered control message.
    On,
}

/// Everything an [`super::endpoint::Endpoint`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// LAC or LNS.
    pub side: Side,
    /// Our Host Name AVP.
    pub host_name: Vec<u8>,
    /// Host Names announced on particular local addresses instead of
    /// `host_name` (an LNS reachable under several names): the SCCRP
    /// carries the one of the address the peer's SCCRQ reached.
    pub local_host_names: Vec<(SocketAddr, Vec<u8>)>,
    /// Our Vendor Name AVP.
    pub vendor_name: Vec<u8>,
    /// Our Firmware Revision AVP.
    pub firmware_revision: u16,
    /// §5.8 timers.
    pub transport: TransportConfig,
    /// Resource limits.
    pub limits: Limits,
    /// Per-peer settings (the LNS looks peers up by Host Name and address).
    pub peers: PeerTable,
    /// Per-message delivery events.
    pub deliveries: DeliveryReports,
}

impl EndpointConfig {
    /// The Host Name to announce on `local` (RFC 2661 §4.4.3): the one
    /// configured for exactly that address, else for its IP address (any
    /// port), else `host_name`.
    pub fn host_name_for(&self, local: SocketAddr) -> &[u8] {
        let exact = self.local_host_names.iter().find(|(a, _)| *a == local);
        exact
            .or_else(|| {
                self.local_host_names
                    .iter()
                    .find(|(a, _)| a.ip() == local.ip())
            })
            .map_or(&self.host_name[..], |(_, h)| &h[..])
    }

    /// Defaults for `side`, accepting every peer without a secret.
    pub fn new(side: Side, host_name: &[u8]) -> Self {
        EndpointConfig {
            side,
            host_name: host_name.to_vec(),
            local_host_names: Vec::new(),
            vendor_name: b"lnsd".to_vec(),
            firmware_revision: 0x0100,
            transport: TransportConfig::default(),
            limits: Limits::default(),
            peers: PeerTable::allow_all(PeerSettings::open()),
            deliveries: DeliveryReports::Off,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn host_name_per_local_address() {
        let mut c = EndpointConfig::new(Side::Lns, b"lns1");
        let a: SocketAddr = "192.0.2.2:1701".parse().expect("literal");
        let b: SocketAddr = "198.51.100.2:1701".parse().expect("literal");
        c.local_host_names = vec![(a, b"lns1-a".to_vec())];
        assert_eq!(c.host_name_for(a), b"lns1-a");
        assert_eq!(c.host_name_for(b), b"lns1");
        // Same address, another port (a socket bound with port 0).
        let a2: SocketAddr = "192.0.2.2:40000".parse().expect("literal");
        assert_eq!(c.host_name_for(a2), b"lns1-a");
    }

    #[test]
    fn lookup_by_host_name_and_address() {
        let secret = PeerSettings {
            secret: Some(b"k".to_vec()),
            auth: TunnelAuth::Required,
            hiding: Hiding::Sensitive,
        };
        let table = PeerTable {
            entries: vec![PeerEntry {
                host_name: Some(b"bas1".to_vec()),
                address: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
                settings: secret.clone(),
            }],
            default: None,
        };
        let a = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let b = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        assert_eq!(table.lookup(Some(b"bas1"), a), Some(&secret));
        assert_eq!(table.lookup(Some(b"bas1"), b), None);
        assert_eq!(table.lookup(Some(b"other"), a), None);
        assert_eq!(table.lookup(None, a), None);
    }
}
