//! [`Link`], the public link: a [`LinkCore`] in a box while anything is
//! being negotiated, and a compact "settled" record otherwise (issue 5:
//! an established idle session kept ~360 bytes of negotiation state, the
//! three automata with their last Configure-Request and the three
//! negotiations, that nothing reads until a renegotiation).
//!
//! Contract: the two forms are the same link. After every input the link
//! tries to settle: it builds the compact record, expands it again and
//! keeps it only if the expansion equals the full state field for field
//! (so nothing is ever lost: a state the record cannot hold, like a running
//! restart timer, a pending IPCP request or a closing cause, stays in full
//! form). The next input expands it back into a box (RFC 1661 §4.1: a
//! Configure-Request received in Opened then renegotiates from the exact
//! state it left). What is dropped when settled: each automaton's
//! Configure-Request bytes (rebuilt from the negotiation, which gives the
//! same bytes or the link does not settle), the timers that do not run
//! in a settled link, and what `LinkCore::new` derives from the
//! configuration. Snapshots, equality and every output are those of the
//! full state, so which form a link is in is never observable.

use super::outbox::Outbox;
use std::borrow::Cow;
use std::net::Ipv4Addr;
use std::sync::Arc;

use super::{
    AddressRequest, AuthState, AuthStatus, Keepalive, LinkConfig, LinkCore, LinkEvent, PeerHeard,
    Phase, ProxyInfo, RestoreError, Side,
};
use crate::entropy::Entropy;
use crate::inline_bytes::InlineBytes;
use crate::pb::ppp as pb;
use crate::ppp::cause::DisconnectCause;
use crate::ppp::frame::Compression;
use crate::ppp::fsm::{Automaton, EarlyResend, Negotiation, State};
use crate::ppp::lcp::{AuthDemand, AuthMethod};
use crate::ppp::options::emit_list;
use crate::time::Timestamp;

/// One PPP link (see the `link` module for the contract).
#[derive(Clone, Debug)]
pub struct Link(Form);

// The point: the compact record inline, the full state boxed (it exists
// only while something is negotiated).
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
enum Form {
    /// Negotiating (or anything the compact record cannot hold).
    Active(Box<LinkCore>),
    /// Settled: the compact record.
    Settled(Settled),
}

impl PartialEq for Link {
    fn eq(&self, other: &Self) -> bool {
        *self.core() == *other.core()
    }
}

impl Eq for Link {}

impl Link {
    /// A link in the Dead phase. `config` is a [`LinkConfig`] or an
    /// `Arc<LinkConfig>` shared with other links.
    pub fn new(side: Side, config: impl Into<Arc<LinkConfig>>) -> Link {
        Link::from_core(LinkCore::new(side, config))
    }

    /// Starts LCP negotiation (the L2TP session is up): RFC 1661 §3.2
    /// Dead -> Establish, LCP Open and Up, our Configure-Request goes out.
    pub fn open(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        self.update(|c| c.open(now, entropy));
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
        self.update(|c| c.open_with_proxy(now, proxy, entropy));
    }

    /// Handles one received PPP frame (the bytes after the L2TP data header).
    pub fn handle_frame(&mut self, now: Timestamp, bytes: &[u8], entropy: &mut dyn Entropy) {
        self.update(|c| c.handle_frame(now, bytes, entropy));
    }

    /// Fires every timer that is due at `now`.
    pub fn handle_timeout(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        if self.poll_timeout().is_some_and(|t| t <= now) {
            self.update(|c| c.handle_timeout(now, entropy));
        }
    }

    /// The earliest time [`Link::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match &self.0 {
            Form::Active(c) => c.poll_timeout(),
            // A settled link runs no restart or authentication timer (its
            // expansion has none).
            Form::Settled(s) => [s.auth_rechallenge_at, s.echo_next_at]
                .into_iter()
                .flatten()
                .min(),
        }
    }

    /// The next PPP frame to send.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.pop_or_settle(Outbox::pop_frame)
    }

    /// The next event for the caller.
    pub fn poll_event(&mut self) -> Option<LinkEvent> {
        self.pop_or_settle(Outbox::pop_event)
    }

    /// Takes the next item of the active form's outbox, and settles the
    /// link once that queue is empty. A settled link has nothing queued.
    fn pop_or_settle<T>(&mut self, pop: fn(&mut Outbox) -> Option<T>) -> Option<T> {
        let Form::Active(core) = &mut self.0 else {
            return None;
        };
        let item = pop(&mut core.out);
        if item.is_none() {
            self.settle();
        }
        item
    }

    /// Closes the link: LCP Terminate-Request (RFC 1661 §4.1 Close); the
    /// [`LinkEvent::LinkDown`] that follows carries `reason`.
    pub fn close(&mut self, now: Timestamp, reason: DisconnectCause) {
        self.update(|c| c.close(now, reason));
    }

    /// Data-plane activity: restarts the echo idle timer.
    pub fn note_traffic(&mut self, now: Timestamp) {
        match &mut self.0 {
            Form::Active(c) => c.note_traffic(now),
            Form::Settled(s) => {
                let mut keepalive = Keepalive {
                    next_at: s.echo_next_at,
                    unanswered: s.echo_unanswered,
                };
                keepalive.note_traffic(now, s.config.echo_interval);
                s.echo_next_at = keepalive.next_at;
            }
        }
    }

    /// LNS: the caller accepted the pending [`super::AuthRequest`]: PAP
    /// Authenticate-Ack / CHAP Success with `message`, then the Network
    /// phase (RFC 1334 §2.2.2, RFC 1994 §4.2).
    pub fn auth_accepted(&mut self, now: Timestamp, message: &str) {
        self.update(|c| c.auth_accepted(now, message));
    }

    /// LNS: the caller refused: PAP Authenticate-Nak / CHAP Failure with
    /// `message`, then LCP terminates with RFC 3145 code 16.
    pub fn auth_rejected(&mut self, now: Timestamp, message: &str) {
        self.update(|c| c.auth_rejected(now, message));
    }

    /// LNS: assigns the peer's IPv4 address and DNS servers (after
    /// [`LinkEvent::Ipv4AddressRequest`]); IPCP Naks the peer to them.
    pub fn ipv4_assigned(&mut self, now: Timestamp, peer: Ipv4Addr, dns: [Option<Ipv4Addr>; 2]) {
        self.update(|c| c.ipv4_assigned(now, peer, dns));
    }

    /// LNS: no IPv4 for this peer; IPCP is closed (RFC 1661 §4.1 Close).
    pub fn ipv4_refused(&mut self, now: Timestamp) {
        self.update(|c| c.ipv4_refused(now));
    }

    /// LNS: the peer's IPV6CP Interface-Identifier must be `id` (RADIUS
    /// Framed-Interface-Id, RFC 3162 §2.2): a Configure-Request with
    /// another one is Nak'd with `id` (RFC 5072 §4.1). Call it before IPV6CP
    /// negotiates (at authentication); 0 or our own identifier is ignored.
    pub fn assign_peer_interface_id(&mut self, id: u64) {
        self.update(|c| c.assign_peer_interface_id(id));
    }

    /// The link's whole replicated state. Take it after draining
    /// `poll_transmit` and `poll_event`: queued outputs are not included.
    pub fn snapshot(&self) -> pb::LinkState {
        self.core().snapshot()
    }

    /// Rebuilds a link from a snapshot, with the daemon's `config`.
    pub fn restore(
        config: impl Into<Arc<LinkConfig>>,
        s: &pb::LinkState,
    ) -> Result<Link, RestoreError> {
        LinkCore::restore(config, s).map(Link::from_core)
    }

    /// After a restore on a new active node (FAILOVER.md): every running
    /// timer is re-armed at `now` plus a random share of its period.
    pub fn rearm_timers(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        self.update(|c| c.rearm_timers(now, entropy));
    }

    /// Which end this link is.
    pub fn side(&self) -> Side {
        match &self.0 {
            Form::Active(c) => c.side,
            Form::Settled(s) => s.side,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        match &self.0 {
            Form::Active(c) => c.phase,
            Form::Settled(s) => s.phase,
        }
    }

    /// The LCP automaton state.
    pub fn lcp_state(&self) -> State {
        match &self.0 {
            Form::Active(c) => c.lcp.state,
            Form::Settled(s) => s.lcp.state,
        }
    }

    /// The IPCP automaton state.
    pub fn ipcp_state(&self) -> State {
        match &self.0 {
            Form::Active(c) => c.ipcp.state,
            Form::Settled(s) => s.ipcp.state,
        }
    }

    /// The IPV6CP automaton state.
    pub fn ipv6cp_state(&self) -> State {
        match &self.0 {
            Form::Active(c) => c.ipv6cp.state,
            Form::Settled(s) => s.ipv6cp.state,
        }
    }

    /// Our LCP magic number.
    pub fn our_magic(&self) -> u32 {
        match &self.0 {
            Form::Active(c) => c.lcp_neg.our_magic,
            Form::Settled(s) => s.our_magic,
        }
    }

    /// The peer's LCP magic number.
    pub fn peer_magic(&self) -> u32 {
        match &self.0 {
            Form::Active(c) => c.lcp_neg.peer_magic,
            Form::Settled(s) => s.peer_magic,
        }
    }

    /// The peer's MRU.
    pub fn peer_mru(&self) -> u16 {
        match &self.0 {
            Form::Active(c) => c.lcp_neg.peer_mru,
            Form::Settled(s) => s.peer_mru,
        }
    }

    /// The authentication method negotiated by LCP (`None` until LCP
    /// negotiated one, or when none was demanded).
    pub fn auth_method(&self) -> Option<AuthMethod> {
        match &self.0 {
            Form::Active(c) => c.auth.method,
            Form::Settled(s) => s.auth_method,
        }
    }

    /// The peer's IPV6CP interface identifier as we acked it (RFC 5072
    /// §4.1), `None` before.
    pub fn peer_interface_id(&self) -> Option<u64> {
        let id = match &self.0 {
            Form::Active(c) => c.ipv6cp_neg.peer_id,
            Form::Settled(s) => s.ipv6_peer_id,
        };
        Some(id).filter(|id| *id != 0)
    }

    /// The user name the peer authenticated with (LNS) or ours (subscriber).
    pub fn user_name(&self) -> &[u8] {
        match &self.0 {
            Form::Active(c) => &c.auth.peer_name,
            Form::Settled(s) => &s.auth_peer_name,
        }
    }

    /// How to frame datagrams for the peer (ACFC/PFC as negotiated, RFC
    /// 1661 §6.5/§6.6): pass to [`crate::ppp::frame::emit_frame`] in the
    /// data plane.
    pub fn send_compression(&self) -> Compression {
        match &self.0 {
            Form::Active(c) => c.send_compression(),
            Form::Settled(s) if s.lcp.state == State::Opened => s.send_compression,
            Form::Settled(_) => Compression::default(),
        }
    }

    /// The link configuration.
    pub fn config(&self) -> &LinkConfig {
        match &self.0 {
            Form::Active(c) => &c.config,
            Form::Settled(s) => &s.config,
        }
    }

    /// The full state, expanded when settled (tests and snapshots).
    pub(super) fn core(&self) -> Cow<'_, LinkCore> {
        match &self.0 {
            Form::Active(c) => Cow::Borrowed(c),
            Form::Settled(s) => Cow::Owned(s.expand()),
        }
    }

    /// The undrained outputs, in either form.
    #[cfg(test)]
    pub(super) fn outbox(&self) -> &Outbox {
        static EMPTY: Outbox = Outbox::EMPTY;
        match &self.0 {
            Form::Active(c) => &c.out,
            Form::Settled(_) => &EMPTY,
        }
    }

    /// Whether the link is in its compact form (tests).
    #[cfg(test)]
    pub(super) fn is_settled(&self) -> bool {
        matches!(self.0, Form::Settled(_))
    }

    // ---- helpers -------------------------------------------------------

    fn from_core(core: LinkCore) -> Link {
        let mut link = Link(Form::Active(Box::new(core)));
        link.settle();
        link
    }

    /// Runs one input on the full state, then tries to settle.
    fn update<R>(&mut self, input: impl FnOnce(&mut LinkCore) -> R) -> R {
        if let Form::Settled(s) = &self.0 {
            self.0 = Form::Active(Box::new(s.expand()));
        }
        let result = match &mut self.0 {
            Form::Active(c) => input(c),
            // Expanded just above.
            Form::Settled(_) => unreachable_settled(),
        };
        self.settle();
        result
    }

    /// Keeps the compact record instead of the box, if it holds the same
    /// link and nothing waits to be polled (the record has no outbox; the
    /// poll that finds the queues empty settles the link).
    fn settle(&mut self) {
        let Form::Active(core) = &self.0 else {
            return;
        };
        if !core.out.is_released() {
            return;
        }
        if let Some(settled) = Settled::of(core) {
            self.0 = Form::Settled(settled);
        }
    }
}

/// `update` expands a settled link before matching; this arm cannot run.
#[cold]
fn unreachable_settled() -> ! {
    unreachable!("Link::update expands a settled link before running an input")
}

/// The compact record of a settled link: what differs from a fresh
/// `LinkCore::new` with the same configuration, without what a settled
/// link never holds.
#[derive(Clone, Debug)]
struct Settled {
    config: Arc<LinkConfig>,
    side: Side,
    phase: Phase,
    ipv4_request: AddressRequest,
    peer_heard: PeerHeard,
    echo_next_at: Option<Timestamp>,
    echo_unanswered: u8,
    // The authentication's outcome (the exchange's timer is off).
    auth_method: Option<AuthMethod>,
    auth_status: AuthStatus,
    auth_identifier: u8,
    auth_next_id: u8,
    auth_retries_left: u8,
    /// The CHAP challenge then our answer's message: one `InlineBytes`,
    /// inline for PAP's usual message ("Welcome"), boxed when both are
    /// longer than 22 bytes together.
    auth_texts: InlineBytes,
    /// The challenge's length in `auth_texts`.
    auth_challenge_len: u16,
    auth_rechallenge_at: Option<Timestamp>,
    auth_peer_name: InlineBytes,
    lcp: Rest,
    ipcp: Rest,
    ipv6cp: Rest,
    // LCP's results (RFC 1661 §6).
    request_mru: Option<u16>,
    our_magic: u32,
    peer_magic: u32,
    peer_mru: u16,
    demand: AuthDemand,
    send_compression: Compression,
    peer_demand: Option<AuthMethod>,
    loop_suspicions: u8,
    // IPCP's (RFC 1332, RFC 1877) and IPV6CP's (RFC 5072), each option
    // as a value and a bit of `present`.
    ipv4_assigned_peer: u32,
    ipv4_peer_dns: [u32; 2],
    ipv4_peer_address: Ipv4Addr,
    ipv6_request_id: u64,
    ipv6_peer_id: u64,
    ipv6_assigned_peer: u64,
    present: u8,
}

/// Bits of `Settled::present`: which optional values are set.
const IPV4_ASSIGNED_PEER: u8 = 0x01;
const IPV4_PEER_DNS1: u8 = 0x02;
const IPV4_PEER_DNS2: u8 = 0x04;
const IPV6_REQUEST_ID: u8 = 0x08;
const IPV6_ASSIGNED_PEER: u8 = 0x10;

/// An optional value as the value (or the default) and `bit` in `present`.
fn pack<T: Default>(value: Option<T>, bit: u8, present: &mut u8) -> T {
    match value {
        Some(v) => {
            *present |= bit;
            v
        }
        None => T::default(),
    }
}

/// The optional value `pack` stored.
fn unpack<T>(value: T, bit: u8, present: u8) -> Option<T> {
    (present & bit != 0).then_some(value)
}

/// An automaton at rest: its Configure-Request bytes and restart timer
/// are not kept (rebuilt, and off).
#[derive(Clone, Copy, Debug)]
struct Rest {
    state: State,
    restart_counter: u8,
    naks_sent: u8,
    request_id: u8,
    terminate_id: u8,
    next_id: u8,
    early_resend: EarlyResend,
    request: Request,
    request_sent_at: Option<Timestamp>,
}

/// How the outstanding Configure-Request is rebuilt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Request {
    /// None was sent yet.
    Empty,
    /// What the negotiation asks for now.
    FromNegotiation,
}

impl Settled {
    /// The compact form of `core`, if it holds the same link.
    fn of(core: &LinkCore) -> Option<Settled> {
        // Quick refusals of what the record never holds.
        if core.pending_ipcp.is_some()
            || core.closing.is_some()
            || [&core.lcp, &core.ipcp, &core.ipv6cp]
                .iter()
                .any(|a| a.deadline.is_some())
        {
            return None;
        }
        let l = &core.lcp_neg;
        let (i, v, a) = (&core.ipcp_neg, &core.ipv6cp_neg, &core.auth);
        let v4 = |addr: Option<Ipv4Addr>| addr.map(u32::from);
        let mut present = 0;
        let settled = Settled {
            config: Arc::clone(&core.config),
            side: core.side,
            phase: core.phase,
            ipv4_request: core.ipv4_request,
            peer_heard: core.peer_heard,
            echo_next_at: core.keepalive.next_at,
            echo_unanswered: core.keepalive.unanswered,
            auth_method: a.method,
            auth_status: a.status,
            auth_identifier: a.identifier,
            auth_next_id: a.next_id,
            auth_retries_left: a.retries_left,
            auth_texts: [&a.challenge[..], &a.message[..]]
                .concat()
                .as_slice()
                .into(),
            // A longer challenge is cut here, and the expansion then
            // differs: such a link stays in full form.
            auth_challenge_len: u16::try_from(a.challenge.len()).unwrap_or(0),
            auth_rechallenge_at: a.rechallenge_at,
            auth_peer_name: a.peer_name.clone(),
            lcp: Rest::of(&core.lcp),
            ipcp: Rest::of(&core.ipcp),
            ipv6cp: Rest::of(&core.ipv6cp),
            request_mru: l.request_mru,
            our_magic: l.our_magic,
            peer_magic: l.peer_magic,
            peer_mru: l.peer_mru,
            demand: l.demand,
            send_compression: l.send_compression,
            peer_demand: l.peer_demand,
            loop_suspicions: l.loop_suspicions,
            ipv4_assigned_peer: pack(v4(i.assigned_peer), IPV4_ASSIGNED_PEER, &mut present),
            ipv4_peer_dns: [
                pack(v4(i.peer_dns[0]), IPV4_PEER_DNS1, &mut present),
                pack(v4(i.peer_dns[1]), IPV4_PEER_DNS2, &mut present),
            ],
            ipv4_peer_address: i.peer_address,
            ipv6_request_id: pack(v.request_id, IPV6_REQUEST_ID, &mut present),
            ipv6_peer_id: v.peer_id,
            ipv6_assigned_peer: pack(v.assigned_peer, IPV6_ASSIGNED_PEER, &mut present),
            present,
        };
        // Lossless or not at all (the outbox is released: see `settle`).
        let expanded = settled.expand();
        let same = expanded.side == core.side
            && expanded.phase == core.phase
            && expanded.lcp == core.lcp
            && expanded.lcp_neg == core.lcp_neg
            && expanded.ipcp == core.ipcp
            && expanded.ipcp_neg == core.ipcp_neg
            && expanded.ipv6cp == core.ipv6cp
            && expanded.ipv6cp_neg == core.ipv6cp_neg
            && expanded.auth == core.auth
            && expanded.keepalive == core.keepalive
            && expanded.ipv4_request == core.ipv4_request
            && expanded.pending_ipcp == core.pending_ipcp
            && expanded.peer_heard == core.peer_heard
            && expanded.closing == core.closing
            && Arc::ptr_eq(&expanded.config, &core.config);
        same.then_some(settled)
    }

    /// The full state this record stands for (nothing queued).
    fn expand(&self) -> LinkCore {
        let mut c = LinkCore::new(self.side, Arc::clone(&self.config));
        c.phase = self.phase;
        c.ipv4_request = self.ipv4_request;
        c.peer_heard = self.peer_heard;
        c.keepalive = Keepalive {
            next_at: self.echo_next_at,
            unanswered: self.echo_unanswered,
        };
        let split = usize::from(self.auth_challenge_len).min(self.auth_texts.len());
        c.auth = AuthState {
            method: self.auth_method,
            status: self.auth_status,
            identifier: self.auth_identifier,
            next_id: self.auth_next_id,
            challenge: self.auth_texts[..split].into(),
            message: self.auth_texts[split..].into(),
            retries_left: self.auth_retries_left,
            deadline: None,
            rechallenge_at: self.auth_rechallenge_at,
            peer_name: self.auth_peer_name.clone(),
        };
        let l = &mut c.lcp_neg;
        l.request_mru = self.request_mru;
        l.our_magic = self.our_magic;
        l.peer_magic = self.peer_magic;
        l.peer_mru = self.peer_mru;
        l.demand = self.demand;
        l.send_compression = self.send_compression;
        l.peer_demand = self.peer_demand;
        l.loop_suspicions = self.loop_suspicions;
        let present = self.present;
        let v4 = |value: u32, bit: u8| unpack(Ipv4Addr::from(value), bit, present);
        c.ipcp_neg.assigned_peer = v4(self.ipv4_assigned_peer, IPV4_ASSIGNED_PEER);
        c.ipcp_neg.peer_dns = [
            v4(self.ipv4_peer_dns[0], IPV4_PEER_DNS1),
            v4(self.ipv4_peer_dns[1], IPV4_PEER_DNS2),
        ];
        c.ipcp_neg.peer_address = self.ipv4_peer_address;
        c.ipv6cp_neg.request_id = unpack(self.ipv6_request_id, IPV6_REQUEST_ID, present);
        c.ipv6cp_neg.peer_id = self.ipv6_peer_id;
        c.ipv6cp_neg.assigned_peer = unpack(self.ipv6_assigned_peer, IPV6_ASSIGNED_PEER, present);
        c.lcp = self.lcp.automaton(&c.lcp_neg);
        c.ipcp = self.ipcp.automaton(&c.ipcp_neg);
        c.ipv6cp = self.ipv6cp.automaton(&c.ipv6cp_neg);
        c
    }
}

impl Rest {
    fn of(a: &Automaton) -> Rest {
        Rest {
            state: a.state,
            restart_counter: a.restart_counter,
            naks_sent: a.naks_sent,
            request_id: a.request_id,
            terminate_id: a.terminate_id,
            next_id: a.next_id,
            early_resend: a.early_resend,
            request: if a.request.is_empty() {
                Request::Empty
            } else {
                Request::FromNegotiation
            },
            request_sent_at: a.request_sent_at,
        }
    }

    fn automaton(&self, negotiation: &impl Negotiation) -> Automaton {
        Automaton {
            state: self.state,
            restart_counter: self.restart_counter,
            naks_sent: self.naks_sent,
            deadline: None,
            request_id: self.request_id,
            request: match self.request {
                Request::Empty => InlineBytes::new(),
                Request::FromNegotiation => emit_list(&negotiation.request()).into(),
            },
            terminate_id: self.terminate_id,
            next_id: self.next_id,
            early_resend: self.early_resend,
            request_sent_at: self.request_sent_at,
        }
    }
}
