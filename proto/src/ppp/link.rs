//! The session link driver: one subscriber's PPP link from the L2TP
//! session's start to an open IPv4 and IPv6 network layer, kept alive by
//! LCP echoes, for both sides ([`Side::Lns`], the product, and
//! [`Side::Subscriber`], for tests and the test LAC).
//!
//! Contract (quinn-style, no IO): inputs are [`Link::open`],
//! [`Link::handle_frame`], [`Link::handle_timeout`], the caller's decisions
//! ([`Link::auth_accepted`], [`Link::ipv4_assigned`], ...) and
//! [`Link::close`]; outputs are drained with [`Link::poll_transmit`] (a PPP
//! frame to put after the L2TP data header), [`Link::poll_event`] and
//! [`Link::poll_timeout`]. Phases follow RFC 1661 §3.2: Dead -> Establish ->
//! Authenticate -> Network -> Terminate; packets not allowed in the current
//! phase are silently discarded (§3). Same state + same inputs = same
//! outputs and state, bit for bit.

mod auth;
mod proxy;

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use core::time::Duration;

use super::cause::{Direction, DisconnectCause, DisconnectCode};
use super::frame::{emit_frame, Compression, Frame};
use super::fsm::{Automaton, Event, FsmConfig, Inbound, Output, State};
use super::ipcp::IpcpNegotiation;
use super::ipv6cp::Ipv6cpNegotiation;
use super::lcp::{AuthMethod, AuthRole, LcpNegotiation};
use super::packet::{Code, Packet, PacketRepr};
use super::protocol::Protocol;
use crate::entropy::Entropy;
use crate::time::Timestamp;

pub use super::state::RestoreError;
pub use auth::{AuthState, AuthStatus};
pub use proxy::ProxyInfo;

/// Which end of the link this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The LNS: demands authentication, assigns addresses.
    Lns,
    /// The subscriber (pppd-like): authenticates, learns its addresses.
    Subscriber,
}

/// RFC 1661 §3.2 link phases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Not started, or finished.
    Dead,
    /// LCP negotiating.
    Establish,
    /// PAP or CHAP running.
    Authenticate,
    /// NCPs negotiating or open.
    Network,
    /// LCP terminating.
    Terminate,
}

/// The subscriber's credentials.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Credentials {
    /// User name (PAP Peer-ID, CHAP Name).
    pub user: Vec<u8>,
    /// Password or CHAP secret.
    pub password: Vec<u8>,
}

/// Link configuration: daemon configuration, not replicated state; the same
/// config is passed to [`Link::restore`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkConfig {
    /// Restart timer and counters (RFC 1661 §4.6).
    pub fsm: FsmConfig,
    /// Our MRU (from the configured MTU).
    pub mru: u16,
    /// The largest MRU we accept from the peer.
    pub max_peer_mru: u16,
    /// LNS: methods to ask for, in order; subscriber: methods it accepts.
    pub auth_order: Vec<AuthMethod>,
    /// Send an LCP Echo-Request after this much idle time (`None`: never).
    pub echo_interval: Option<Duration>,
    /// Declare the link dead after this many unanswered echoes.
    pub echo_max_failures: u8,
    /// LNS: our IPCP address (must not be the tunnel endpoint, REFERENCE.md).
    pub ipv4_local: Ipv4Addr,
    /// Our IPV6CP interface identifier (0: random).
    pub ipv6_interface_id: u64,
    /// Identifier to Nak a peer to when its own is unusable (0: random).
    pub ipv6_peer_suggestion: u64,
    /// LNS: the CHAP Name we send in Challenges.
    pub chap_name: Vec<u8>,
    /// LNS: re-challenge with CHAP this often once up (`None`: never).
    pub rechallenge: Option<Duration>,
    /// Subscriber: user name and password.
    pub credentials: Credentials,
    /// PFC/ACFC we request (what we can receive compressed).
    pub request_compression: Compression,
}

impl LinkConfig {
    /// Defaults for the LNS: CHAP then PAP, MRU 1460, echoes every 10 s,
    /// dead after 3.
    pub fn lns(ipv4_local: Ipv4Addr) -> Self {
        LinkConfig {
            fsm: FsmConfig::default(),
            mru: 1460,
            max_peer_mru: 1500,
            auth_order: vec![AuthMethod::ChapMd5, AuthMethod::Pap],
            echo_interval: Some(Duration::from_secs(10)),
            echo_max_failures: 3,
            ipv4_local,
            ipv6_interface_id: 0,
            ipv6_peer_suggestion: 0,
            chap_name: b"lnsd".to_vec(),
            rechallenge: None,
            credentials: Credentials::default(),
            request_compression: Compression::default(),
        }
    }

    /// Defaults for a pppd-like subscriber accepting PAP and CHAP.
    pub fn subscriber(user: &[u8], password: &[u8]) -> Self {
        LinkConfig {
            mru: 1500,
            auth_order: vec![AuthMethod::ChapMd5, AuthMethod::Pap],
            echo_interval: None,
            credentials: Credentials {
                user: user.to_vec(),
                password: password.to_vec(),
            },
            chap_name: Vec::new(),
            ..LinkConfig::lns(Ipv4Addr::UNSPECIFIED)
        }
    }
}

/// A peer's authentication, for the caller to decide (RADIUS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthRequest {
    /// PAP Authenticate-Request (RFC 1334 §2.2.1).
    Pap {
        /// Peer-ID.
        name: Vec<u8>,
        /// Password.
        password: Vec<u8>,
    },
    /// CHAP Response with the challenge it answers (RFC 1994 §4.1), for
    /// RADIUS CHAP-Password (identifier + response) and CHAP-Challenge.
    Chap {
        /// Name.
        name: Vec<u8>,
        /// Identifier of the exchange.
        identifier: u8,
        /// The challenge we sent.
        challenge: Vec<u8>,
        /// The peer's response value.
        response: Vec<u8>,
    },
}

/// What happened on the link, for the caller (and its log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// LCP reached Opened (a replication milestone, FAILOVER.md).
    LcpUp {
        /// Our magic number.
        our_magic: u32,
        /// The peer's magic number.
        peer_magic: u32,
        /// The peer's MRU (largest frame we may send).
        peer_mru: u16,
    },
    /// LNS: decide with [`Link::auth_accepted`] or [`Link::auth_rejected`].
    AuthRequest(AuthRequest),
    /// Authentication passed (LNS: the peer; subscriber: ourselves).
    Authenticated {
        /// The method used (`None`: no authentication was negotiated).
        method: Option<AuthMethod>,
    },
    /// LNS: assign with [`Link::ipv4_assigned`] or refuse with [`Link::ipv4_refused`].
    Ipv4AddressRequest,
    /// IPCP opened.
    Ipv4Up {
        /// Our address.
        local: Ipv4Addr,
        /// The peer's address.
        peer: Ipv4Addr,
        /// DNS servers (LNS: given; subscriber: learnt).
        dns: [Option<Ipv4Addr>; 2],
    },
    /// IPCP left Opened.
    Ipv4Down,
    /// IPV6CP opened.
    Ipv6Up {
        /// Our interface identifier.
        local_id: u64,
        /// The peer's interface identifier.
        peer_id: u64,
    },
    /// IPV6CP left Opened.
    Ipv6Down,
    /// We sent an LCP Protocol-Reject for this protocol (RFC 1661 §5.7).
    ProtocolRejected {
        /// The rejected protocol.
        protocol: u16,
    },
    /// The link is down for good (LCP finished); send the CDN with this
    /// RFC 3145 cause.
    LinkDown {
        /// Why.
        cause: DisconnectCause,
    },
}

/// Whether any PPP packet came from the peer (RFC 3145 cause 6 vs 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerHeard {
    /// Nothing yet.
    Silent,
    /// At least one LCP packet.
    Heard,
}

/// Where the LNS is in asking the caller for the peer's IPv4 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressRequest {
    /// Not asked yet.
    NotAsked,
    /// Asked; the peer's IPCP Configure-Request waits for the answer.
    Asked,
    /// Assigned.
    Assigned,
    /// Refused: IPCP is closed.
    Refused,
}

/// Echo keepalive state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Keepalive {
    /// When to send the next Echo-Request (or declare the link dead).
    pub next_at: Option<Timestamp>,
    /// Echo-Requests sent without a reply.
    pub unanswered: u8,
}

/// One PPP link. All fields are replicated state except `config` and the
/// undrained output queues (take snapshots after draining them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub(super) side: Side,
    pub(super) config: LinkConfig,
    pub(super) phase: Phase,
    pub(super) lcp: Automaton,
    pub(super) lcp_neg: LcpNegotiation,
    pub(super) ipcp: Automaton,
    pub(super) ipcp_neg: IpcpNegotiation,
    pub(super) ipv6cp: Automaton,
    pub(super) ipv6cp_neg: Ipv6cpNegotiation,
    pub(super) auth: AuthState,
    pub(super) keepalive: Keepalive,
    pub(super) ipv4_request: AddressRequest,
    pub(super) pending_ipcp: Option<Vec<u8>>,
    pub(super) peer_heard: PeerHeard,
    pub(super) closing: Option<DisconnectCause>,
    pub(super) transmit: VecDeque<Vec<u8>>,
    pub(super) events: VecDeque<LinkEvent>,
}

impl Link {
    /// A link in the Dead phase.
    pub fn new(side: Side, config: LinkConfig) -> Link {
        let (role, accm) = match side {
            Side::Lns => (AuthRole::Authenticator, None),
            // pppd asks ACCM 0 (REFERENCE.md).
            Side::Subscriber => (AuthRole::Peer, Some(0)),
        };
        let lcp_neg = LcpNegotiation::new(
            role,
            config.auth_order.clone(),
            config.mru,
            config.max_peer_mru,
            accm,
            config.request_compression,
        );
        let ipcp_neg = match side {
            Side::Lns => IpcpNegotiation::assigner(config.ipv4_local),
            Side::Subscriber => IpcpNegotiation::assignee(),
        };
        let ipv6cp_neg =
            Ipv6cpNegotiation::new(config.ipv6_interface_id, config.ipv6_peer_suggestion);
        Link {
            side,
            config,
            phase: Phase::Dead,
            lcp: Automaton::new(),
            lcp_neg,
            ipcp: Automaton::new(),
            ipcp_neg,
            ipv6cp: Automaton::new(),
            ipv6cp_neg,
            auth: AuthState::default(),
            keepalive: Keepalive::default(),
            ipv4_request: AddressRequest::NotAsked,
            pending_ipcp: None,
            peer_heard: PeerHeard::Silent,
            closing: None,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Starts LCP negotiation (the L2TP session is up): RFC 1661 §3.2
    /// Dead -> Establish, LCP Open and Up, our Configure-Request goes out.
    pub fn open(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        if self.phase != Phase::Dead || self.lcp.state != State::Initial {
            return;
        }
        self.lcp_neg.draw_magic(entropy);
        self.ipv6cp_neg.draw_if_unset(entropy);
        self.phase = Phase::Establish;
        self.lcp_event(now, Event::Open, entropy);
        self.lcp_event(now, Event::Up, entropy);
    }

    /// Starts with the LAC's proxy LCP and authentication (RFC 2661
    /// §4.4.5): adopts an acceptable LCP negotiation without renegotiating
    /// and uses a proxied PAP/CHAP exchange without challenging again;
    /// otherwise negotiates from scratch like [`Link::open`].
    pub fn open_with_proxy(
        &mut self,
        now: Timestamp,
        proxy: &ProxyInfo,
        entropy: &mut dyn Entropy,
    ) {
        if self.phase != Phase::Dead || self.lcp.state != State::Initial {
            return;
        }
        if !self.adopt_proxy(now, proxy, entropy) {
            self.open(now, entropy);
        }
    }

    /// Handles one received PPP frame (the bytes after the L2TP data header).
    pub fn handle_frame(&mut self, now: Timestamp, bytes: &[u8], entropy: &mut dyn Entropy) {
        let Ok(frame) = Frame::new_checked(bytes) else {
            return; // RFC 1661 §2: malformed, silently discarded.
        };
        if self.phase == Phase::Dead {
            return; // RFC 1661 §3.2: nothing is exchanged in Link Dead.
        }
        self.note_traffic(now);
        let payload = frame.payload();
        match (frame.protocol(), self.phase) {
            (Protocol::Lcp, _) => self.receive_lcp(now, payload, entropy),
            // RFC 1661 §3.4/§3.5: authentication packets from the
            // Authenticate phase on (retransmissions included).
            (Protocol::Pap, Phase::Authenticate | Phase::Network) => {
                self.receive_pap(now, payload, entropy)
            }
            (Protocol::Chap, Phase::Authenticate | Phase::Network) => {
                self.receive_chap(now, payload, entropy)
            }
            (Protocol::Ipcp, Phase::Network) => self.receive_ipcp(now, payload, entropy),
            (Protocol::Ipv6cp, Phase::Network) => self.receive_ipv6cp(now, payload, entropy),
            // Datagrams belong to the data plane; none to answer here.
            (Protocol::Ipv4 | Protocol::Ipv6, _) => {}
            // RFC 1661 §5.7: unknown or unsupported protocols (CCP, ECP,
            // multilink, ...) get a Protocol-Reject once LCP is Opened.
            (other, Phase::Network) => self.protocol_reject(other, bytes, payload),
            // RFC 1661 §3: anything else in this phase is silently discarded.
            _ => {}
        }
    }

    /// Fires every timer that is due at `now`.
    pub fn handle_timeout(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        if self.lcp.deadline.is_some_and(|d| d <= now) {
            let mut out = Vec::new();
            self.lcp
                .timeout(now, &self.config.fsm, &mut self.lcp_neg, &mut out);
            self.apply_lcp(now, out, entropy);
        }
        if self.ipcp.deadline.is_some_and(|d| d <= now) {
            let mut out = Vec::new();
            self.ipcp
                .timeout(now, &self.config.fsm, &mut self.ipcp_neg, &mut out);
            self.apply_ncp(Protocol::Ipcp, out);
        }
        if self.ipv6cp.deadline.is_some_and(|d| d <= now) {
            let mut out = Vec::new();
            self.ipv6cp
                .timeout(now, &self.config.fsm, &mut self.ipv6cp_neg, &mut out);
            self.apply_ncp(Protocol::Ipv6cp, out);
        }
        self.auth_timeout(now, entropy);
        if self.keepalive.next_at.is_some_and(|d| d <= now) {
            self.keepalive_timeout(now, entropy);
        }
    }

    /// The earliest time [`Link::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        [
            self.lcp.deadline,
            self.ipcp.deadline,
            self.ipv6cp.deadline,
            self.auth.deadline,
            self.auth.rechallenge_at,
            self.keepalive.next_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next PPP frame to send.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next event for the caller.
    pub fn poll_event(&mut self) -> Option<LinkEvent> {
        self.events.pop_front()
    }

    /// LNS: assigns the peer's IPv4 address and DNS servers (after
    /// [`LinkEvent::Ipv4AddressRequest`]); IPCP Naks the peer to them.
    pub fn ipv4_assigned(&mut self, now: Timestamp, peer: Ipv4Addr, dns: [Option<Ipv4Addr>; 2]) {
        if self.side != Side::Lns || self.phase != Phase::Network {
            return;
        }
        self.ipcp_neg.assigned_peer = Some(peer);
        self.ipcp_neg.peer_dns = dns;
        self.ipv4_request = AddressRequest::Assigned;
        if let Some(raw) = self.pending_ipcp.take() {
            // IPCP's review draws no randomness; a fixed source keeps the
            // call signature free of entropy.
            self.receive_ipcp(now, &raw, &mut NoEntropy);
        }
    }

    /// LNS: no IPv4 for this peer; IPCP is closed (RFC 1661 §4.1 Close).
    pub fn ipv4_refused(&mut self, now: Timestamp) {
        if self.side != Side::Lns {
            return;
        }
        self.ipv4_request = AddressRequest::Refused;
        self.pending_ipcp = None;
        let mut out = Vec::new();
        self.ipcp.event(
            now,
            &self.config.fsm,
            Event::Close,
            &mut self.ipcp_neg,
            &mut out,
        );
        self.apply_ncp(Protocol::Ipcp, out);
    }

    /// Closes the link: LCP Terminate-Request (RFC 1661 §4.1 Close); the
    /// [`LinkEvent::LinkDown`] that follows carries `reason`.
    pub fn close(&mut self, now: Timestamp, reason: DisconnectCause) {
        if self.phase == Phase::Dead {
            return;
        }
        self.closing.get_or_insert(reason);
        self.lcp_event(now, Event::Close, &mut NoEntropy);
        if self.phase != Phase::Dead {
            self.phase = Phase::Terminate;
        }
    }

    /// Data-plane activity: restarts the echo idle timer.
    pub fn note_traffic(&mut self, now: Timestamp) {
        if let (Some(_), Some(interval)) = (self.keepalive.next_at, self.config.echo_interval) {
            if self.keepalive.unanswered == 0 {
                self.keepalive.next_at = Some(now + interval);
            }
        }
    }

    /// Which end this link is.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The LCP automaton state.
    pub fn lcp_state(&self) -> State {
        self.lcp.state
    }

    /// The IPCP automaton state.
    pub fn ipcp_state(&self) -> State {
        self.ipcp.state
    }

    /// The IPV6CP automaton state.
    pub fn ipv6cp_state(&self) -> State {
        self.ipv6cp.state
    }

    /// Our LCP magic number.
    pub fn our_magic(&self) -> u32 {
        self.lcp_neg.our_magic
    }

    /// The peer's LCP magic number.
    pub fn peer_magic(&self) -> u32 {
        self.lcp_neg.peer_magic
    }

    /// The peer's MRU.
    pub fn peer_mru(&self) -> u16 {
        self.lcp_neg.peer_mru
    }

    /// The user name the peer authenticated with (LNS) or ours (subscriber).
    pub fn user_name(&self) -> &[u8] {
        &self.auth.peer_name
    }

    /// The link configuration.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    // ---- helpers -------------------------------------------------------

    pub(super) fn send(&mut self, protocol: Protocol, packet: &[u8]) {
        let compression = if self.lcp.state == State::Opened {
            self.lcp_neg.send_compression
        } else {
            Compression::default()
        };
        let mut frame = Vec::with_capacity(packet.len() + 4);
        emit_frame(protocol, packet, compression, &mut frame);
        self.transmit.push_back(frame);
    }

    fn lcp_event(&mut self, now: Timestamp, event: Event, entropy: &mut dyn Entropy) {
        let mut out = Vec::new();
        self.lcp
            .event(now, &self.config.fsm, event, &mut self.lcp_neg, &mut out);
        self.apply_lcp(now, out, entropy);
    }

    fn receive_lcp(&mut self, now: Timestamp, payload: &[u8], entropy: &mut dyn Entropy) {
        let Ok(p) = Packet::new_checked(payload) else {
            return; // RFC 1661 §5: malformed, silently discarded.
        };
        self.peer_heard = PeerHeard::Heard;
        let raw = p.bytes();
        let repr = PacketRepr {
            code: p.code(),
            identifier: p.identifier(),
            data: p.data().to_vec(),
        };
        let cfg = self.config.fsm;
        let mut out = Vec::new();
        match repr.code {
            Code::ConfigureRequest
            | Code::ConfigureAck
            | Code::ConfigureNak
            | Code::ConfigureReject
            | Code::TerminateRequest
            | Code::TerminateAck => {
                if repr.code == Code::TerminateRequest && self.closing.is_none() {
                    // RFC 3145 code 3: the peer asked to terminate.
                    self.closing = Some(
                        DisconnectCause::new(DisconnectCode::Normal, Direction::Peer)
                            .with_message("peer sent LCP Terminate-Request"),
                    );
                }
                self.lcp
                    .receive(now, &cfg, &repr, raw, &mut self.lcp_neg, entropy, &mut out);
                self.apply_lcp(now, out, entropy);
                if self.lcp_neg.loop_suspicions > cfg.max_failure {
                    // RFC 1661 §6.4: our own magic keeps coming back.
                    self.fail_now(
                        now,
                        DisconnectCause::new(DisconnectCode::LoopedBack, Direction::Global)
                            .with_protocol(0xc021),
                    );
                }
            }
            Code::CodeReject => {
                // RFC 1661 §5.6: rejecting a code we need is catastrophic.
                let event = match repr.data.first() {
                    Some(0x01..=0x07) => Event::RxjCatastrophic,
                    _ => Event::RxjPermitted,
                };
                self.lcp_rx_event(now, event, &repr, raw, None, entropy);
            }
            Code::ProtocolReject => {
                // RFC 1661 §5.7: the peer does not speak `protocol`.
                let Some(&[hi, lo]) = repr
                    .data
                    .get(..2)
                    .and_then(|s| <&[u8; 2]>::try_from(s).ok())
                else {
                    return;
                };
                match Protocol::from(u16::from_be_bytes([hi, lo])) {
                    Protocol::Lcp => {
                        self.lcp_rx_event(now, Event::RxjCatastrophic, &repr, raw, None, entropy)
                    }
                    Protocol::Ipcp => self.ncp_event(now, Protocol::Ipcp, Event::RxjCatastrophic),
                    Protocol::Ipv6cp => {
                        self.ncp_event(now, Protocol::Ipv6cp, Event::RxjCatastrophic)
                    }
                    _ => self.lcp_rx_event(now, Event::RxjPermitted, &repr, raw, None, entropy),
                }
            }
            Code::EchoRequest => {
                // RFC 1661 §5.8: answer with our magic; a request carrying
                // our own magic means a looped-back link: drop it.
                let magic = magic_of(&repr.data);
                if self.lcp_neg.our_magic != 0 && magic == Some(self.lcp_neg.our_magic) {
                    return;
                }
                let mut data = self.lcp_neg.our_magic.to_be_bytes().to_vec();
                data.extend_from_slice(repr.data.get(4..).unwrap_or(&[]));
                let answer = PacketRepr {
                    code: Code::EchoReply,
                    identifier: repr.identifier,
                    data,
                };
                self.lcp_rx_event(now, Event::Rxr, &repr, raw, Some(answer), entropy);
            }
            Code::EchoReply => {
                let magic = magic_of(&repr.data);
                if self.lcp_neg.our_magic == 0 || magic != Some(self.lcp_neg.our_magic) {
                    self.keepalive.unanswered = 0;
                    if let (Some(_), Some(i)) = (self.keepalive.next_at, self.config.echo_interval)
                    {
                        self.keepalive.next_at = Some(now + i);
                    }
                }
                self.lcp_rx_event(now, Event::Rxr, &repr, raw, None, entropy);
            }
            // RFC 1661 §5.9, RFC 1570 §2-3: accepted and dropped.
            Code::DiscardRequest | Code::Identification | Code::TimeRemaining => {
                self.lcp_rx_event(now, Event::Rxr, &repr, raw, None, entropy)
            }
            // RFC 1661 §4.3 RUC: Code-Reject.
            Code::Unknown(_) => self.lcp_rx_event(now, Event::Ruc, &repr, raw, None, entropy),
        }
    }

    fn lcp_rx_event(
        &mut self,
        now: Timestamp,
        event: Event,
        repr: &PacketRepr,
        raw: &[u8],
        answer: Option<PacketRepr>,
        entropy: &mut dyn Entropy,
    ) {
        let mut out = Vec::new();
        let inbound = Inbound {
            identifier: repr.identifier,
            raw,
            answer,
        };
        self.lcp.event_with(
            now,
            &self.config.fsm,
            event,
            inbound,
            &mut self.lcp_neg,
            &mut out,
        );
        self.apply_lcp(now, out, entropy);
    }

    fn apply_lcp(&mut self, now: Timestamp, out: Vec<Output>, entropy: &mut dyn Entropy) {
        for o in out {
            match o {
                Output::Send(p) => self.send(Protocol::Lcp, &p.to_bytes()),
                Output::Up => self.on_lcp_up(now, entropy),
                Output::Down => self.on_lcp_down(now),
                Output::Started => {}
                Output::Finished => self.finish(),
            }
        }
    }

    /// RFC 1661 §3.4: LCP Opened: to Authenticate.
    fn on_lcp_up(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        self.events.push_back(LinkEvent::LcpUp {
            our_magic: self.lcp_neg.our_magic,
            peer_magic: self.lcp_neg.peer_magic,
            peer_mru: self.lcp_neg.peer_mru,
        });
        self.keepalive = Keepalive {
            next_at: self.config.echo_interval.map(|i| now + i),
            unanswered: 0,
        };
        self.phase = Phase::Authenticate;
        self.start_auth(now, entropy);
    }

    /// RFC 1661 §3.2: LCP left Opened: NCPs go down, back to Establish (or
    /// Terminate when we are closing).
    fn on_lcp_down(&mut self, now: Timestamp) {
        self.ncp_event(now, Protocol::Ipcp, Event::Down);
        self.ncp_event(now, Protocol::Ipv6cp, Event::Down);
        // Identifiers keep counting so a late answer to an old exchange
        // never matches a new one.
        self.auth = AuthState {
            next_id: self.auth.next_id,
            ..AuthState::default()
        };
        self.keepalive = Keepalive::default();
        self.pending_ipcp = None;
        if self.ipv4_request == AddressRequest::Asked {
            self.ipv4_request = AddressRequest::NotAsked;
        }
        self.phase = match self.lcp.state {
            State::Closing | State::Stopping => Phase::Terminate,
            _ if self.closing.is_some() => Phase::Terminate,
            _ => Phase::Establish,
        };
    }

    /// RFC 1661 §3.7: LCP finished: Link Dead; report the cause once.
    fn finish(&mut self) {
        if self.phase == Phase::Dead {
            return;
        }
        self.phase = Phase::Dead;
        self.keepalive = Keepalive::default();
        self.auth.deadline = None;
        self.auth.rechallenge_at = None;
        let cause = self
            .closing
            .take()
            .unwrap_or_else(|| match self.peer_heard {
                PeerHeard::Silent => {
                    DisconnectCause::new(DisconnectCode::NoPppPackets, Direction::Global)
                        .with_message("no PPP packet from the peer")
                }
                PeerHeard::Heard => {
                    DisconnectCause::new(DisconnectCode::FsmTimeout, Direction::Global)
                        .with_protocol(0xc021)
                        .with_message("LCP negotiation did not converge")
                }
            });
        self.events.push_back(LinkEvent::LinkDown { cause });
    }

    /// Closes at once: one Terminate-Request for a peer that might still
    /// listen, then Link Dead without waiting (echo timeout, loopback).
    pub(super) fn fail_now(&mut self, now: Timestamp, cause: DisconnectCause) {
        self.closing.get_or_insert(cause);
        self.lcp_event(now, Event::Close, &mut NoEntropy);
        self.lcp_event(now, Event::Down, &mut NoEntropy);
        self.finish();
    }

    /// RFC 1661 §3.5: to the Network phase; NCPs open.
    pub(super) fn enter_network(&mut self, now: Timestamp, method: Option<AuthMethod>) {
        if self.phase != Phase::Authenticate {
            return;
        }
        self.phase = Phase::Network;
        self.events.push_back(LinkEvent::Authenticated { method });
        if self.side == Side::Lns && self.ipv4_request == AddressRequest::NotAsked {
            self.ipv4_request = AddressRequest::Asked;
            self.events.push_back(LinkEvent::Ipv4AddressRequest);
        }
        for p in [Protocol::Ipcp, Protocol::Ipv6cp] {
            if p == Protocol::Ipcp && self.ipv4_request == AddressRequest::Refused {
                continue;
            }
            self.ncp_event(now, p, Event::Open);
            self.ncp_event(now, p, Event::Up);
        }
    }

    fn ncp_event(&mut self, now: Timestamp, protocol: Protocol, event: Event) {
        let cfg = self.config.fsm;
        let mut out = Vec::new();
        match protocol {
            Protocol::Ipcp => self
                .ipcp
                .event(now, &cfg, event, &mut self.ipcp_neg, &mut out),
            _ => self
                .ipv6cp
                .event(now, &cfg, event, &mut self.ipv6cp_neg, &mut out),
        }
        self.apply_ncp(protocol, out);
    }

    fn receive_ipcp(&mut self, now: Timestamp, payload: &[u8], entropy: &mut dyn Entropy) {
        if self.side == Side::Lns && self.ipv4_request == AddressRequest::Asked {
            if let Ok(p) = Packet::new_checked(payload) {
                if p.code() == Code::ConfigureRequest {
                    // Answered once the caller assigns an address.
                    self.pending_ipcp = Some(p.bytes().to_vec());
                    return;
                }
            }
        }
        self.receive_ncp(now, Protocol::Ipcp, payload, entropy);
    }

    fn receive_ipv6cp(&mut self, now: Timestamp, payload: &[u8], entropy: &mut dyn Entropy) {
        self.receive_ncp(now, Protocol::Ipv6cp, payload, entropy);
    }

    /// RFC 1332 §2 / RFC 5072 §3: the NCPs use codes 1-7 of LCP.
    fn receive_ncp(
        &mut self,
        now: Timestamp,
        protocol: Protocol,
        payload: &[u8],
        entropy: &mut dyn Entropy,
    ) {
        let Ok(p) = Packet::new_checked(payload) else {
            return;
        };
        let raw = p.bytes();
        let repr = PacketRepr {
            code: p.code(),
            identifier: p.identifier(),
            data: p.data().to_vec(),
        };
        let cfg = self.config.fsm;
        let mut out = Vec::new();
        let (fsm, neg): (&mut Automaton, &mut dyn NcpNeg) = match protocol {
            Protocol::Ipcp => (&mut self.ipcp, &mut self.ipcp_neg),
            _ => (&mut self.ipv6cp, &mut self.ipv6cp_neg),
        };
        match repr.code {
            Code::ConfigureRequest
            | Code::ConfigureAck
            | Code::ConfigureNak
            | Code::ConfigureReject
            | Code::TerminateRequest
            | Code::TerminateAck => {
                neg.receive(fsm, now, &cfg, &repr, raw, entropy, &mut out);
            }
            Code::CodeReject => {
                let event = match repr.data.first() {
                    Some(0x01..=0x07) => Event::RxjCatastrophic,
                    _ => Event::RxjPermitted,
                };
                neg.event_with(fsm, now, &cfg, event, &repr, raw, &mut out);
            }
            // RFC 1332 §2: codes 8 and above are unknown to IPCP/IPV6CP.
            _ => neg.event_with(fsm, now, &cfg, Event::Ruc, &repr, raw, &mut out),
        }
        self.apply_ncp(protocol, out);
    }

    fn apply_ncp(&mut self, protocol: Protocol, out: Vec<Output>) {
        for o in out {
            match (o, protocol) {
                (Output::Send(p), _) => self.send(protocol, &p.to_bytes()),
                (Output::Up, Protocol::Ipcp) => self.events.push_back(LinkEvent::Ipv4Up {
                    local: self.ipcp_neg.local_address(),
                    peer: self.ipcp_neg.peer_address,
                    dns: match self.side {
                        Side::Lns => self.ipcp_neg.peer_dns,
                        Side::Subscriber => self.ipcp_neg.request_dns,
                    },
                }),
                (Output::Up, _) => self.events.push_back(LinkEvent::Ipv6Up {
                    local_id: self.ipv6cp_neg.local_id(),
                    peer_id: self.ipv6cp_neg.peer_id,
                }),
                (Output::Down, Protocol::Ipcp) => self.events.push_back(LinkEvent::Ipv4Down),
                (Output::Down, _) => self.events.push_back(LinkEvent::Ipv6Down),
                (Output::Started | Output::Finished, _) => {}
            }
        }
    }

    /// RFC 1661 §5.7: Protocol-Reject with the rejected protocol and as
    /// much of the packet as fits the peer's MRU.
    fn protocol_reject(&mut self, protocol: Protocol, _frame: &[u8], payload: &[u8]) {
        if self.lcp.state != State::Opened {
            return;
        }
        let number = protocol.number();
        let room = usize::from(self.lcp_neg.peer_mru).saturating_sub(6);
        let mut data = number.to_be_bytes().to_vec();
        data.extend_from_slice(&payload[..payload.len().min(room)]);
        let p = PacketRepr {
            code: Code::ProtocolReject,
            identifier: self.lcp.take_id(),
            data,
        };
        self.send(Protocol::Lcp, &p.to_bytes());
        self.events
            .push_back(LinkEvent::ProtocolRejected { protocol: number });
    }

    fn keepalive_timeout(&mut self, now: Timestamp, _entropy: &mut dyn Entropy) {
        let Some(interval) = self.config.echo_interval else {
            self.keepalive.next_at = None;
            return;
        };
        if self.lcp.state != State::Opened {
            self.keepalive.next_at = None;
            return;
        }
        if self.keepalive.unanswered >= self.config.echo_max_failures {
            // The brief: link dead after M unanswered echoes (RFC 3145 code 8).
            self.fail_now(
                now,
                DisconnectCause::new(DisconnectCode::EchoTimeout, Direction::Local)
                    .with_protocol(0xc021)
                    .with_message("no reply to LCP Echo-Request"),
            );
            return;
        }
        // RFC 1661 §5.8: Echo-Request with our magic.
        let p = PacketRepr {
            code: Code::EchoRequest,
            identifier: self.lcp.take_id(),
            data: self.lcp_neg.our_magic.to_be_bytes().to_vec(),
        };
        self.send(Protocol::Lcp, &p.to_bytes());
        self.keepalive.unanswered = self.keepalive.unanswered.saturating_add(1);
        self.keepalive.next_at = Some(now + interval);
    }
}

/// The magic-number field that opens Echo and Discard packets.
fn magic_of(data: &[u8]) -> Option<u32> {
    let b: [u8; 4] = data.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

/// Entropy for code paths that draw none (IPCP review, closing).
struct NoEntropy;

impl Entropy for NoEntropy {
    fn fill(&mut self, dst: &mut [u8]) {
        dst.fill(0);
    }
}

/// Lets IPCP and IPV6CP share one receive path over different negotiation types.
trait NcpNeg {
    #[allow(clippy::too_many_arguments)]
    fn receive(
        &mut self,
        fsm: &mut Automaton,
        now: Timestamp,
        cfg: &FsmConfig,
        repr: &PacketRepr,
        raw: &[u8],
        entropy: &mut dyn Entropy,
        out: &mut Vec<Output>,
    );
    #[allow(clippy::too_many_arguments)]
    fn event_with(
        &mut self,
        fsm: &mut Automaton,
        now: Timestamp,
        cfg: &FsmConfig,
        event: Event,
        repr: &PacketRepr,
        raw: &[u8],
        out: &mut Vec<Output>,
    );
}

impl<N: super::fsm::Negotiation> NcpNeg for N {
    fn receive(
        &mut self,
        fsm: &mut Automaton,
        now: Timestamp,
        cfg: &FsmConfig,
        repr: &PacketRepr,
        raw: &[u8],
        entropy: &mut dyn Entropy,
        out: &mut Vec<Output>,
    ) {
        fsm.receive(now, cfg, repr, raw, self, entropy, out);
    }

    fn event_with(
        &mut self,
        fsm: &mut Automaton,
        now: Timestamp,
        cfg: &FsmConfig,
        event: Event,
        repr: &PacketRepr,
        raw: &[u8],
        out: &mut Vec<Output>,
    ) {
        let inbound = Inbound {
            identifier: repr.identifier,
            raw,
            answer: None,
        };
        fsm.event_with(now, cfg, event, inbound, self, out);
    }
}

#[cfg(test)]
mod tests;
