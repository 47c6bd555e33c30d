//! # The data plane: UDP 1701 sockets, the TUN device and the per-packet path
//!
//! Contract (the interface between the control task and the data plane; the
//! lead wrote it, both sides code against it, change it only together):
//!
//! - The data plane owns every UDP socket bound on the configured listen
//!   addresses (one socket per address, so a reply leaves from the address
//!   the LAC spoke to) and the TUN device. Nothing else reads or writes them.
//! - Upstream (LAC -> core): workers receive datagrams in batches
//!   (recvmmsg) and run a pure classifier:
//!   L2TP control (T bit)          -> [`ControlInput::L2tpControl`];
//!   data for an unknown (tunnel, session), from another peer address/port
//!   than the session's, or malformed -> dropped, counted by [`DropReason`];
//!   PPP IPv4/IPv6 whose inner source address is not the session's
//!   (anti-spoof) -> dropped and counted; otherwise written to the TUN
//!   (after TCP MSS clamping on SYN);
//!   every other PPP protocol (LCP, PAP, CHAP, IPCP, IPV6CP, CCP, unknown)
//!   -> [`ControlInput::PppControl`].
//! - Downstream (core -> LAC): packets read from the TUN are looked up by
//!   destination address (a map, never a scan), clamped, answered with ICMP
//!   fragmentation-needed / packet-too-big when DF/IPv6 and larger than the
//!   session's MRU, otherwise framed (PPP + L2TP data header for the session)
//!   and sent in batches (sendmmsg).
//! - The session table is published by the control task through
//!   [`DataPlane::upsert_session`] / [`DataPlane::remove_session`]; the
//!   per-packet path reads it without locks (a published snapshot) and never
//!   allocates.
//! - The control task sends its own traffic through [`DataPlane::send_control`]
//!   (L2TP control datagrams) and [`DataPlane::send_ppp`] (PPP control frames,
//!   which the data plane wraps in the session's L2TP data header).
//! - Bounded everything: the channel to the control task is bounded; when it
//!   is full, inputs are dropped and counted ([`DropReason::ControlQueueFull`]),
//!   never buffered without limit.
//!
//! The handle the control task holds (implemented in `plane.rs`):
//!
//! ```text
//! impl DataPlane {
//!     pub fn start(config: DataPlaneConfig, to_control: tokio::sync::mpsc::Sender<ControlInput>)
//!         -> Result<DataPlane, DataPlaneError>;
//!     pub fn upsert_session(&self, entry: SessionEntry);
//!     pub fn remove_session(&self, tunnel_id: u16, session_id: u16);
//!     pub fn send_control(&self, local: SocketAddr, peer: SocketAddr, datagram: &[u8]);
//!     pub fn send_ppp(&self, tunnel_id: u16, session_id: u16, frame: &[u8]);
//!     pub fn session_stats(&self, tunnel_id: u16, session_id: u16) -> Option<SessionStats>;
//!     pub fn drops(&self) -> Vec<(DropReason, u64)>;
//!     pub fn shutdown(self);
//! }
//! ```
//!
//! Added on the dataplane branch (additive, the methods above unchanged):
//! `DataPlane::upsert_sessions(Vec<SessionEntry>)` (bulk load in one
//! snapshot), `DataPlane::totals() -> TrafficTotals`,
//! `DataPlane::local_addrs()`, `DataPlane::divert_ipv6_link(Option<Sender<
//! Ipv6LinkPacket>>)` (opt-in: IPv6 to link-scope destinations, i.e. RS,
//! NS, DHCPv6, go to that channel instead of the TUN), and the
//! `DataPlaneError` type. Added on the wire branch:
//! `DataPlane::add_routes(&[(IpAddr, u8)])` (pools added on SIGHUP) and
//! `DataPlane::stats_reader() -> StatsReader` (totals and drops read by
//! the metrics collector without keeping the data plane alive). Added on
//! the ops branch: `DataPlane::captures() -> &Arc<CaptureTaps>` (running
//! `lnsctl capture`s; the workers load it once per batch and offer the
//! data datagrams of matching sessions, nothing when none runs).
//!
//! Where things are: [`table`] (the snapshot and its lookups),
//! [`classifier`] (the pure per-packet decisions), [`framing`] (headers in
//! place), [`socket`] (bind, recvmmsg/sendmmsg batches), [`tun`] (device and
//! routes), [`icmp_budget`], [`counters`]; `plane.rs` (the handle and the
//! threads), `upstream.rs` and `downstream.rs` (the worker loops).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub mod classifier;
pub mod counters;
mod downstream;
pub mod framing;
pub mod icmp_budget;
mod plane;
mod session_routes;
pub mod slot;
pub mod socket;
pub mod table;
pub mod tun;
mod upstream;

pub use counters::TrafficTotals;
pub use plane::{DataPlane, DataPlaneError, StatsReader};

/// What the data plane needs to start.
#[derive(Clone, Debug)]
pub struct DataPlaneConfig {
    /// UDP addresses to bind (port 1701 in production).
    pub listen: Vec<SocketAddr>,
    /// Name of the TUN device to create (e.g. `lns0`).
    pub tun_name: String,
    /// MTU of the TUN device.
    pub tun_mtu: u16,
    /// IPv4 address put on the TUN device (the LNS-side address).
    pub tun_ipv4: Ipv4Addr,
    /// Optional IPv6 address put on the TUN device.
    pub tun_ipv6: Option<Ipv6Addr>,
    /// Prefixes routed into the TUN device (the address pools).
    pub routes: Vec<(IpAddr, u8)>,
    /// Number of upstream worker threads (>= 1).
    pub workers: usize,
    /// Capacity of the channel to the control task.
    pub control_queue: usize,
    /// Whether a listen address must already be on this host.
    pub bind: BindMode,
    /// Receive and send buffer of each L2TP socket, in bytes
    /// (SO_RCVBUFFORCE/SO_SNDBUFFORCE as root, else capped by
    /// `net.core.rmem_max`/`wmem_max`): absorbs bursts while a worker is
    /// scheduled out. Also sets the TUN device's transmit queue length
    /// (one packet per 2 KiB, at least 1 000).
    pub socket_buffer: usize,
}

/// Default [`DataPlaneConfig::socket_buffer`]: 8 MiB, about 3 600 full-size
/// datagrams (17 ms at 200 000 packets/s) instead of the kernel's 208 KiB.
pub const DEFAULT_SOCKET_BUFFER: usize = 8 << 20;

/// How the L2TP sockets are bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindMode {
    /// The address must be ours: a typo is a start-up error (single node).
    Local,
    /// IP_FREEBIND: a cluster member binds its tunnel address before it
    /// holds it (added when the node becomes active); IP_TRANSPARENT too,
    /// when allowed, so that it can relay data from that address for a
    /// moment after handing it over (see `socket::bind_with`).
    Freebind,
}

/// One established session as the data plane sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionEntry {
    /// Our tunnel id (what the LAC puts in its data messages).
    pub tunnel_id: u16,
    /// Our session id.
    pub session_id: u16,
    /// The LAC's tunnel id (what we put in ours).
    pub peer_tunnel_id: u16,
    /// The LAC's session id.
    pub peer_session_id: u16,
    /// The LAC's address and port: data from elsewhere is dropped.
    pub peer: SocketAddr,
    /// Our address the LAC spoke to: replies leave from it.
    pub local: SocketAddr,
    /// The subscriber's IPv4 address, once IPCP is open.
    pub ipv4: Option<Ipv4Addr>,
    /// The subscriber's IPv6 prefixes (the link /64, the delegated prefix).
    pub ipv6_prefixes: Vec<(Ipv6Addr, u8)>,
    /// The subscriber's MRU: larger downstream packets get ICMP / are clamped.
    pub mru: u16,
    /// Send-side PPP compression negotiated by LCP.
    pub compression: lns_proto::ppp::frame::Compression,
}

/// What the data plane hands to the control task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlInput {
    /// An L2TP control message (T bit set), unvalidated beyond the header.
    L2tpControl {
        /// Our address it arrived on.
        local: SocketAddr,
        /// The sender.
        peer: SocketAddr,
        /// The whole UDP payload.
        datagram: Vec<u8>,
    },
    /// A PPP frame that is not IPv4/IPv6 data, for a session that exists and
    /// came from that session's peer.
    PppControl {
        /// Our tunnel id.
        tunnel_id: u16,
        /// Our session id.
        session_id: u16,
        /// The PPP frame (address/control and protocol fields included).
        frame: Vec<u8>,
    },
}

/// An IPv6 packet from a subscriber to a link-scope destination (Router
/// Solicitation, Neighbor Solicitation, DHCPv6 to ff02::1:2, ...), handed
/// to the sink registered with `DataPlane::divert_ipv6_link` (added on the
/// dataplane branch; without a sink these go to the TUN as before).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv6LinkPacket {
    /// Our tunnel id.
    pub tunnel_id: u16,
    /// Our session id.
    pub session_id: u16,
    /// The IPv6 packet (no PPP header).
    pub packet: Vec<u8>,
}

/// Why a datagram or packet was dropped (one counter per reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// Not a valid L2TPv2 header or PPP frame.
    Malformed,
    /// L2TP version 1 or 3.
    WrongVersion,
    /// No such (tunnel, session).
    UnknownSession,
    /// The session exists but the datagram came from another address/port.
    WrongPeer,
    /// Inner source address not assigned to the session.
    Spoofed,
    /// Downstream packet for an address no session holds.
    NoRoute,
    /// Downstream packet larger than the session MRU (an ICMP error was sent
    /// when allowed).
    TooBig,
    /// The channel to the control task was full.
    ControlQueueFull,
    /// A send or a TUN write failed.
    IoError,
    /// Not emitted: this cluster member does not hold its lease (a standby,
    /// or an active node frozen past its lease and resumed).
    NotActive,
}

/// Per-session traffic counters kept by the data plane.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Packets from the subscriber written to the TUN.
    pub rx_packets: u64,
    /// Bytes (IP) from the subscriber.
    pub rx_bytes: u64,
    /// Packets to the subscriber.
    pub tx_packets: u64,
    /// Bytes (IP) to the subscriber.
    pub tx_bytes: u64,
    /// Unix microseconds of the last packet from the subscriber (0 = none),
    /// for idle timeouts and LCP keepalive.
    pub last_rx_unix_micros: u64,
}
