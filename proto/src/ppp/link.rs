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
mod config;
mod lcp;
mod ncp;
mod outbox;
mod proxy;
mod settled;

use std::net::Ipv4Addr;
use std::sync::Arc;

use super::cause::{Direction, DisconnectCause, DisconnectCode};
use super::frame::{emit_frame, Compression, Frame};
use super::fsm::{Automaton, Event, Output, State};
use super::ipcp::IpcpNegotiation;
use super::ipv6cp::Ipv6cpNegotiation;
use super::lcp::{AuthMethod, AuthRole, LcpNegotiation};
use super::protocol::Protocol;
use crate::entropy::Entropy;
use crate::time::Timestamp;

pub use super::state::RestoreError;
pub use auth::{AuthState, AuthStatus};
pub use config::{Credentials, LinkConfig};
pub use proxy::ProxyInfo;
pub use settled::Link;

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
    /// LNS: the peer's first IPCP Configure-Request arrived (it wants IPv4;
    /// an IPv6-only peer never asks, so no address is held for it): assign
    /// with [`Link::ipv4_assigned`] or refuse with [`Link::ipv4_refused`].
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

impl Keepalive {
    /// Data-plane activity: an idle timer that runs restarts from `now`
    /// (not while echoes are unanswered).
    pub(super) fn note_traffic(&mut self, now: Timestamp, interval: Option<core::time::Duration>) {
        if let (Some(_), Some(interval)) = (self.next_at, interval) {
            if self.unanswered == 0 {
                self.next_at = Some(now + interval);
            }
        }
    }
}

/// One PPP link in full: what [`Link`] holds while anything is being
/// negotiated (`settled.rs` keeps a compact form otherwise). All fields are
/// replicated state except `config` and the undrained output queues (take
/// snapshots after draining them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LinkCore {
    pub(super) side: Side,
    /// Shared: every session of an LNS has the same configuration, so one
    /// copy serves them all (an `Arc` clone per link, not ~200 bytes plus
    /// the heap copies of the auth order and the CHAP name).
    pub(super) config: Arc<LinkConfig>,
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
    pub(super) pending_ipcp: Option<Box<[u8]>>,
    pub(super) peer_heard: PeerHeard,
    /// Boxed: set only while the link terminates (~40 bytes otherwise).
    pub(super) closing: Option<Box<DisconnectCause>>,
    /// Frames and events not yet polled (boxed while any wait).
    pub(super) out: outbox::Outbox,
}

impl LinkCore {
    /// A link in the Dead phase. `config` is a [`LinkConfig`] or an
    /// `Arc<LinkConfig>` shared with other links.
    pub fn new(side: Side, config: impl Into<Arc<LinkConfig>>) -> LinkCore {
        let config: Arc<LinkConfig> = config.into();
        let (role, accm) = match side {
            Side::Lns => (AuthRole::Authenticator, None),
            // pppd asks ACCM 0 (REFERENCE.md).
            Side::Subscriber => (AuthRole::Peer, Some(0)),
        };
        let lcp_neg = LcpNegotiation::new(
            role,
            &config.auth_order,
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
        LinkCore {
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
            out: outbox::Outbox::default(),
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
            (other, Phase::Network) => self.protocol_reject(other, payload),
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

    /// Closes the link: LCP Terminate-Request (RFC 1661 §4.1 Close); the
    /// [`LinkEvent::LinkDown`] that follows carries `reason`.
    pub fn close(&mut self, now: Timestamp, reason: DisconnectCause) {
        if self.phase == Phase::Dead {
            return;
        }
        self.closing.get_or_insert_with(|| Box::new(reason));
        self.lcp_event(now, Event::Close, &mut NoEntropy);
        if self.phase != Phase::Dead {
            self.phase = Phase::Terminate;
        }
    }

    /// Data-plane activity: restarts the echo idle timer.
    pub fn note_traffic(&mut self, now: Timestamp) {
        self.keepalive.note_traffic(now, self.config.echo_interval);
    }

    /// How to frame datagrams for the peer (ACFC/PFC as negotiated, RFC
    /// 1661 §6.5/§6.6): pass to [`super::frame::emit_frame`] in the data plane.
    pub fn send_compression(&self) -> Compression {
        if self.lcp.state == State::Opened {
            self.lcp_neg.send_compression
        } else {
            Compression::default()
        }
    }

    // ---- helpers -------------------------------------------------------

    pub(super) fn send(&mut self, protocol: Protocol, packet: &[u8]) {
        let compression = self.send_compression();
        let mut frame = Vec::with_capacity(packet.len() + 4);
        emit_frame(protocol, packet, compression, &mut frame);
        self.out.push_frame(frame);
    }

    pub(super) fn lcp_event(&mut self, now: Timestamp, event: Event, entropy: &mut dyn Entropy) {
        let mut out = Vec::new();
        self.lcp
            .event(now, &self.config.fsm, event, &mut self.lcp_neg, &mut out);
        self.apply_lcp(now, out, entropy);
    }

    pub(super) fn apply_lcp(
        &mut self,
        now: Timestamp,
        out: Vec<Output>,
        entropy: &mut dyn Entropy,
    ) {
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
    pub(super) fn on_lcp_up(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        self.report_lcp_up(now);
        self.phase = Phase::Authenticate;
        self.start_auth(now, entropy);
    }

    /// Tells the caller LCP is up (the negotiated magics and MRU) and
    /// starts the echo keepalive from `now`.
    pub(super) fn report_lcp_up(&mut self, now: Timestamp) {
        self.out.push_event(LinkEvent::LcpUp {
            our_magic: self.lcp_neg.our_magic,
            peer_magic: self.lcp_neg.peer_magic,
            peer_mru: self.lcp_neg.peer_mru,
        });
        self.keepalive = Keepalive {
            next_at: self.config.echo_interval.map(|i| now + i),
            unanswered: 0,
        };
    }

    /// RFC 1661 §3.2: LCP left Opened: NCPs go down, back to Establish (or
    /// Terminate when we are closing).
    pub(super) fn on_lcp_down(&mut self, now: Timestamp) {
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
    pub(super) fn finish(&mut self) {
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
            .map(|c| *c)
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
        self.out.push_event(LinkEvent::LinkDown { cause });
    }

    /// Closes at once: one Terminate-Request for a peer that might still
    /// listen, then Link Dead without waiting (echo timeout, loopback).
    pub(super) fn fail_now(&mut self, now: Timestamp, cause: DisconnectCause) {
        self.closing.get_or_insert_with(|| Box::new(cause));
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
        self.out.push_event(LinkEvent::Authenticated { method });
        // The IPv4 address is asked for when the peer's IPCP asks for one
        // (`receive_ipcp`), not here: an IPv6-only peer holds none.
        for p in [Protocol::Ipcp, Protocol::Ipv6cp] {
            if p == Protocol::Ipcp && self.ipv4_request == AddressRequest::Refused {
                continue;
            }
            self.ncp_event(now, p, Event::Open);
            self.ncp_event(now, p, Event::Up);
        }
    }
}

/// Entropy for code paths that draw none (IPCP review, closing).
pub(super) struct NoEntropy;

impl Entropy for NoEntropy {
    fn fill(&mut self, dst: &mut [u8]) {
        dst.fill(0);
    }
}

#[cfg(test)]
mod tests;
