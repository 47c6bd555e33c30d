//! What the endpoint reports to its caller: [`Transmit`]s to send and
//! [`Event`]s to act on or log.
//!
//! Contract: every log-worthy outcome is an event value; the core never
//! prints. Events come out in the order they happened.

use super::avp_types::{CallErrors, DisconnectCause};
use super::header::HeaderError;
use super::message::{MessageError, MessageType};
use super::result_code::{CdnResult, ErrorCode, StopCcnResult};
use super::session::CallInfo;
use std::net::SocketAddr;

/// A datagram to send from `local` to `peer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Our address the datagram must leave from (the one the peer spoke to).
    pub local: SocketAddr,
    /// Destination.
    pub peer: SocketAddr,
    /// The L2TP datagram.
    pub payload: Vec<u8>,
}

/// Where the data plane sends a session's frames (mirror it in a fast table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionRoute {
    /// Peer address.
    pub peer: SocketAddr,
    /// Our address.
    pub local: SocketAddr,
    /// The peer's tunnel id (goes in data headers we send).
    pub peer_tunnel_id: u16,
    /// The peer's session id (goes in data headers we send).
    pub peer_session_id: u16,
}

/// Who ended a tunnel or session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelDownReason {
    /// The caller asked (`close_tunnel`); we sent StopCCN.
    Closed(StopCcnResult),
    /// The peer sent StopCCN.
    PeerStopped {
        /// Its Result Code.
        result: StopCcnResult,
        /// Its Error Code.
        error: ErrorCode,
        /// Its message text.
        message: Vec<u8>,
    },
    /// We sent StopCCN because the peer broke the protocol or failed auth.
    Refused {
        /// The Result Code we sent.
        result: StopCcnResult,
        /// The Error Code we sent.
        error: ErrorCode,
    },
    /// A delivered message did not decode (malformed AVPs, or hidden AVPs
    /// under a different secret); we sent StopCCN with `result`.
    Undecodable {
        /// What was wrong.
        error: MessageError,
        /// The Result Code we sent.
        result: StopCcnResult,
    },
    /// Retransmissions exhausted (§5.8): the peer is unreachable.
    Unreachable,
    /// Half-open for a whole idle period without the peer completing setup.
    SetupTimeout,
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionDownReason {
    /// The peer sent CDN.
    PeerCdn {
        /// Result Code.
        result: CdnResult,
        /// Error Code.
        error: ErrorCode,
        /// RFC 3145 PPP Disconnect Cause, if sent.
        cause: Option<DisconnectCause>,
    },
    /// We sent CDN (caller's request or protocol error).
    LocalCdn {
        /// Result Code sent.
        result: CdnResult,
        /// Error Code sent.
        error: ErrorCode,
    },
    /// Its tunnel went down.
    TunnelDown,
}

/// Why a datagram was not processed. Log-worthy; nothing is sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// Unusable header (includes L2TPv3 / L2F versions).
    Header(HeaderError),
    /// Unparseable message outside any tunnel.
    Message(MessageError),
    /// A data message given to the control endpoint.
    DataMessage,
    /// Addressed to a tunnel we do not have.
    UnknownTunnel(u16),
    /// Addressed to one of our tunnels from another address.
    WrongPeer(u16),
    /// Tunnel id 0 on something other than an SCCRQ (e.g. an ICRQ).
    ZeroTunnelId(MessageType),
    /// An SCCRQ reached a LAC endpoint.
    NotAnLns,
    /// Ns beyond our receive window.
    OutOfWindow {
        /// Tunnel.
        tunnel: u16,
        /// Its Ns.
        ns: u16,
    },
    /// A session message for a session we do not have.
    UnknownSession {
        /// Tunnel.
        tunnel: u16,
        /// Header session id.
        session: u16,
        /// Message type.
        message_type: MessageType,
    },
    /// An unknown message type without the M bit: acked and ignored (§4.1).
    IgnoredMessage {
        /// Tunnel.
        tunnel: u16,
        /// Message type number.
        message_type: u16,
    },
}

/// Something the caller should act on or log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The control connection is established (SCCCN sent or received).
    TunnelUp {
        /// Our tunnel id.
        tunnel: u16,
        /// The peer's tunnel id.
        peer_tunnel: u16,
        /// Peer address.
        peer: SocketAddr,
        /// Our address.
        local: SocketAddr,
        /// The peer's Host Name AVP.
        peer_host_name: Vec<u8>,
    },
    /// The tunnel is gone (its id stays held down for a retransmission cycle).
    TunnelDown {
        /// Our tunnel id.
        tunnel: u16,
        /// Why.
        reason: TunnelDownReason,
    },
    /// An SCCRQ was answered with StopCCN and no tunnel was created.
    TunnelRefused {
        /// Source of the SCCRQ.
        peer: SocketAddr,
        /// Its Assigned Tunnel ID (0 if absent).
        peer_tunnel: u16,
        /// Result Code sent.
        result: StopCcnResult,
        /// Error Code sent.
        error: ErrorCode,
    },
    /// A session is established (LNS: ICCN received; LAC: ICCN sent).
    SessionUp {
        /// Our tunnel id.
        tunnel: u16,
        /// Our session id.
        session: u16,
        /// Data-plane route.
        route: SessionRoute,
        /// ICRQ + ICCN call information (boxed: it is by far the largest event).
        call: Box<CallInfo>,
    },
    /// A session ended.
    SessionDown {
        /// Our tunnel id.
        tunnel: u16,
        /// Our session id.
        session: u16,
        /// Why.
        reason: SessionDownReason,
    },
    /// An incoming call was refused with CDN before a session existed.
    SessionRefused {
        /// Our tunnel id.
        tunnel: u16,
        /// The peer's session id.
        peer_session: u16,
        /// Result Code sent.
        result: CdnResult,
        /// Error Code sent.
        error: ErrorCode,
    },
    /// SLI received (§6.14).
    SetLinkInfo {
        /// Our tunnel id.
        tunnel: u16,
        /// Our session id.
        session: u16,
        /// Send ACCM.
        send_accm: u32,
        /// Receive ACCM.
        recv_accm: u32,
    },
    /// WEN received (§6.13).
    WanErrorNotify {
        /// Our tunnel id.
        tunnel: u16,
        /// Our session id.
        session: u16,
        /// Counters.
        errors: CallErrors,
    },
    /// A control message was delivered in order (only with `DeliveryReports::On`).
    Delivered {
        /// Our tunnel id.
        tunnel: u16,
        /// Its Ns.
        ns: u16,
        /// Its type.
        message_type: MessageType,
    },
    /// A datagram was dropped without a reply.
    Dropped {
        /// Source.
        peer: SocketAddr,
        /// Why.
        reason: DropReason,
    },
}

/// Operational counters for metrics (REFERENCE.md: what l2tpns operators
/// watch). Events are counted as the caller drains them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Datagrams given to `handle_datagram`.
    pub control_rx: u64,
    /// Datagrams drained with `poll_transmit`.
    pub control_tx: u64,
    /// Control messages sent again after a timeout (§5.8).
    pub retransmits: u64,
    /// Datagrams dropped without a reply.
    pub dropped: u64,
    /// Tunnels established.
    pub tunnels_up: u64,
    /// SCCRQs refused with StopCCN.
    pub tunnels_refused: u64,
    /// Tunnels that ended (any reason).
    pub tunnels_down: u64,
    /// Tunnels declared dead after retransmissions or a setup timeout.
    pub tunnels_timed_out: u64,
    /// Sessions established.
    pub sessions_up: u64,
    /// Incoming calls refused with CDN.
    pub sessions_refused: u64,
    /// Sessions that ended (any reason).
    pub sessions_down: u64,
}

impl Counters {
    /// Counts one drained event.
    pub fn account(&mut self, e: &Event) {
        match e {
            Event::TunnelUp { .. } => self.tunnels_up += 1,
            Event::TunnelDown { reason, .. } => {
                self.tunnels_down += 1;
                if matches!(
                    reason,
                    TunnelDownReason::Unreachable | TunnelDownReason::SetupTimeout
                ) {
                    self.tunnels_timed_out += 1;
                }
            }
            Event::TunnelRefused { .. } => self.tunnels_refused += 1,
            Event::SessionUp { .. } => self.sessions_up += 1,
            Event::SessionDown { .. } => self.sessions_down += 1,
            Event::SessionRefused { .. } => self.sessions_refused += 1,
            Event::Dropped { .. } => self.dropped += 1,
            Event::SetLinkInfo { .. } | Event::WanErrorNotify { .. } | Event::Delivered { .. } => {}
        }
    }
}
