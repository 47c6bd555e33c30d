//! The RFC 1661 §4 option-negotiation automaton, shared by LCP, IPCP and
//! IPV6CP.
//!
//! Contract: [`transition`] is the §4.1 table as a pure function of
//! (state, event); [`Automaton`] executes its actions (restart timer and
//! counters, §4.6) against a protocol's [`Negotiation`] and returns the
//! packets to send and the layer signals (tlu/tld/tls/tlf) for the link.
//! One deliberate addition, outside the table: in Req-Sent, the first
//! Configure-Request from the peer makes us retransmit ours at once instead
//! of waiting for the restart timer (REFERENCE.md, "the first LCP
//! Configure-Request race").

use core::time::Duration;

use super::options::{emit_list, parse_list, RawOption};
use super::packet::{Code, PacketRepr};
use crate::entropy::Entropy;
use crate::inline_bytes::InlineBytes;
use crate::time::Timestamp;

/// Automaton states (RFC 1661 §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// 0: lower layer down, no Open.
    Initial,
    /// 1: Open, lower layer down.
    Starting,
    /// 2: lower layer up, no Open.
    Closed,
    /// 3: Open counterpart of Closed.
    Stopped,
    /// 4: Terminate-Request sent after Close.
    Closing,
    /// 5: Terminate-Request sent, waiting before Stopped.
    Stopping,
    /// 6: Configure-Request sent.
    ReqSent,
    /// 7: Configure-Ack received.
    AckRcvd,
    /// 8: Configure-Ack sent.
    AckSent,
    /// 9: both Acks exchanged.
    Opened,
}

impl State {
    /// All states in the order of the RFC table.
    pub const ALL: [State; 10] = [
        State::Initial,
        State::Starting,
        State::Closed,
        State::Stopped,
        State::Closing,
        State::Stopping,
        State::ReqSent,
        State::AckRcvd,
        State::AckSent,
        State::Opened,
    ];

    /// The state's number in RFC 1661 §4.1.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The state with RFC number `n`.
    pub fn from_number(n: u8) -> Option<State> {
        State::ALL.get(usize::from(n)).copied()
    }

    /// True where the restart timer runs (RFC 1661 §4.2).
    pub fn timer_runs(self) -> bool {
        matches!(
            self,
            State::Closing | State::Stopping | State::ReqSent | State::AckRcvd | State::AckSent
        )
    }
}

/// Automaton events (RFC 1661 §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Event {
    /// Lower layer is Up.
    Up,
    /// Lower layer is Down.
    Down,
    /// Administrative Open.
    Open,
    /// Administrative Close.
    Close,
    /// TO+: timeout with counter > 0.
    TimeoutRetry,
    /// TO-: timeout with counter expired.
    TimeoutGiveUp,
    /// RCR+: good Configure-Request.
    RcrGood,
    /// RCR-: bad Configure-Request.
    RcrBad,
    /// RCA: Configure-Ack.
    Rca,
    /// RCN: Configure-Nak/Rej.
    Rcn,
    /// RTR: Terminate-Request.
    Rtr,
    /// RTA: Terminate-Ack.
    Rta,
    /// RUC: unknown code.
    Ruc,
    /// RXJ+: permitted Code-Reject or Protocol-Reject.
    RxjPermitted,
    /// RXJ-: catastrophic Code-Reject or Protocol-Reject.
    RxjCatastrophic,
    /// RXR: Echo-Request, Echo-Reply or Discard-Request.
    Rxr,
}

impl Event {
    /// All events in the order of the RFC table.
    pub const ALL: [Event; 16] = [
        Event::Up,
        Event::Down,
        Event::Open,
        Event::Close,
        Event::TimeoutRetry,
        Event::TimeoutGiveUp,
        Event::RcrGood,
        Event::RcrBad,
        Event::Rca,
        Event::Rcn,
        Event::Rtr,
        Event::Rta,
        Event::Ruc,
        Event::RxjPermitted,
        Event::RxjCatastrophic,
        Event::Rxr,
    ];
}

/// Automaton actions (RFC 1661 §4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// This-Layer-Up.
    Tlu,
    /// This-Layer-Down.
    Tld,
    /// This-Layer-Started.
    Tls,
    /// This-Layer-Finished.
    Tlf,
    /// Initialize-Restart-Count.
    Irc,
    /// Zero-Restart-Count.
    Zrc,
    /// Send-Configure-Request.
    Scr,
    /// Send-Configure-Ack.
    Sca,
    /// Send-Configure-Nak/Rej.
    Scn,
    /// Send-Terminate-Request.
    Str,
    /// Send-Terminate-Ack.
    Sta,
    /// Send-Code-Reject.
    Scj,
    /// Send-Echo-Reply.
    Ser,
}

/// One cell of the §4.1 table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The actions, in the order listed by the RFC.
    pub actions: &'static [Action],
    /// The new state.
    pub next: State,
}

/// RFC 1661 §4.1: the transition for `event` in `state`, or `None` for an
/// illegal transition ('-'), which leaves the state unchanged. The optional
/// restart behaviours ('r' footnote) are not taken.
pub fn transition(state: State, event: Event) -> Option<Transition> {
    use Action::*;
    use Event::*;
    use State::*;
    let t = |actions: &'static [Action], next: State| Some(Transition { actions, next });
    match (state, event) {
        // RFC 1661 §4.1: Up.
        (Initial, Up) => t(&[], Closed),
        (Starting, Up) => t(&[Irc, Scr], ReqSent),
        (_, Up) => None,
        // RFC 1661 §4.1: Down.
        (Initial | Starting, Down) => None,
        (Closed, Down) => t(&[], Initial),
        (Stopped, Down) => t(&[Tls], Starting),
        (Closing, Down) => t(&[], Initial),
        (Stopping | ReqSent | AckRcvd | AckSent, Down) => t(&[], Starting),
        (Opened, Down) => t(&[Tld], Starting),
        // RFC 1661 §4.1: Open.
        (Initial, Open) => t(&[Tls], Starting),
        (Starting, Open) => t(&[], Starting),
        (Closed, Open) => t(&[Irc, Scr], ReqSent),
        (Stopped, Open) => t(&[], Stopped),
        (Closing | Stopping, Open) => t(&[], Stopping),
        (ReqSent | AckRcvd | AckSent | Opened, Open) => t(&[], state),
        // RFC 1661 §4.1: Close.
        (Initial, Close) => t(&[], Initial),
        (Starting, Close) => t(&[Tlf], Initial),
        (Closed | Stopped, Close) => t(&[], Closed),
        (Closing | Stopping, Close) => t(&[], Closing),
        (ReqSent | AckRcvd | AckSent, Close) => t(&[Irc, Str], Closing),
        (Opened, Close) => t(&[Tld, Irc, Str], Closing),
        // RFC 1661 §4.1: TO+ and TO-.
        (Closing | Stopping, TimeoutRetry) => t(&[Str], state),
        (ReqSent | AckRcvd, TimeoutRetry) => t(&[Scr], ReqSent),
        (AckSent, TimeoutRetry) => t(&[Scr], AckSent),
        (Closing, TimeoutGiveUp) => t(&[Tlf], Closed),
        (Stopping | ReqSent | AckRcvd | AckSent, TimeoutGiveUp) => t(&[Tlf], Stopped),
        (_, TimeoutRetry | TimeoutGiveUp) => None,
        // Below: receive events, illegal before the lower layer is up.
        (Initial | Starting, _) => None,
        // RFC 1661 §4.1: RCR+ and RCR-.
        (Closed, RcrGood | RcrBad) => t(&[Sta], Closed),
        (Stopped, RcrGood) => t(&[Irc, Scr, Sca], AckSent),
        (Stopped, RcrBad) => t(&[Irc, Scr, Scn], ReqSent),
        (Closing | Stopping, RcrGood | RcrBad) => t(&[], state),
        (ReqSent, RcrGood) => t(&[Sca], AckSent),
        (AckRcvd, RcrGood) => t(&[Sca, Tlu], Opened),
        (AckSent, RcrGood) => t(&[Sca], AckSent),
        (Opened, RcrGood) => t(&[Tld, Scr, Sca], AckSent),
        (ReqSent | AckSent, RcrBad) => t(&[Scn], ReqSent),
        (AckRcvd, RcrBad) => t(&[Scn], AckRcvd),
        (Opened, RcrBad) => t(&[Tld, Scr, Scn], ReqSent),
        // RFC 1661 §4.1: RCA.
        (Closed | Stopped, Rca) => t(&[Sta], state),
        (Closing | Stopping, Rca) => t(&[], state),
        (ReqSent, Rca) => t(&[Irc], AckRcvd),
        (AckRcvd, Rca) => t(&[Scr], ReqSent),
        (AckSent, Rca) => t(&[Irc, Tlu], Opened),
        (Opened, Rca) => t(&[Tld, Scr], ReqSent),
        // RFC 1661 §4.1: RCN.
        (Closed | Stopped, Rcn) => t(&[Sta], state),
        (Closing | Stopping, Rcn) => t(&[], state),
        (ReqSent, Rcn) => t(&[Irc, Scr], ReqSent),
        (AckRcvd, Rcn) => t(&[Scr], ReqSent),
        (AckSent, Rcn) => t(&[Irc, Scr], AckSent),
        (Opened, Rcn) => t(&[Tld, Scr], ReqSent),
        // RFC 1661 §4.1: RTR.
        (Closed | Stopped | Closing | Stopping, Rtr) => t(&[Sta], state),
        (ReqSent | AckRcvd | AckSent, Rtr) => t(&[Sta], ReqSent),
        (Opened, Rtr) => t(&[Tld, Zrc, Sta], Stopping),
        // RFC 1661 §4.1: RTA.
        (Closed | Stopped, Rta) => t(&[], state),
        (Closing, Rta) => t(&[Tlf], Closed),
        (Stopping, Rta) => t(&[Tlf], Stopped),
        (ReqSent | AckRcvd, Rta) => t(&[], ReqSent),
        (AckSent, Rta) => t(&[], AckSent),
        (Opened, Rta) => t(&[Tld, Scr], ReqSent),
        // RFC 1661 §4.1: RUC.
        (_, Ruc) => t(&[Scj], state),
        // RFC 1661 §4.1: RXJ+ and RXJ-.
        (AckRcvd, RxjPermitted) => t(&[], ReqSent),
        (_, RxjPermitted) => t(&[], state),
        (Closed | Closing, RxjCatastrophic) => t(&[Tlf], Closed),
        (Stopped | Stopping | ReqSent | AckRcvd | AckSent, RxjCatastrophic) => t(&[Tlf], Stopped),
        (Opened, RxjCatastrophic) => t(&[Tld, Irc, Str], Stopping),
        // RFC 1661 §4.1: RXR.
        (Opened, Rxr) => t(&[Ser], Opened),
        (_, Rxr) => t(&[], state),
    }
}

/// Timers and counters (RFC 1661 §4.6), configurable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsmConfig {
    /// Restart timer (default 3 s).
    pub restart: Duration,
    /// Max-Configure (default 10).
    pub max_configure: u8,
    /// Max-Failure (default 5).
    pub max_failure: u8,
    /// Max-Terminate (default 2).
    pub max_terminate: u8,
    /// The first-Configure-Request race (REFERENCE.md): when the peer's
    /// first request arrives while ours has been unanswered at least this
    /// long, ours was probably lost and is retransmitted at once (default
    /// 100 ms; a copy of a request still in flight would only make an
    /// Opened peer renegotiate).
    pub early_resend_after: Duration,
}

impl Default for FsmConfig {
    fn default() -> Self {
        FsmConfig {
            restart: Duration::from_secs(3),
            max_configure: 10,
            max_failure: 5,
            max_terminate: 2,
            early_resend_after: Duration::from_millis(100),
        }
    }
}

/// How one option of the peer's Configure-Request is judged (RFC 1661 §5.1-5.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Acceptable as is.
    Ack,
    /// Recognised but unacceptable: suggest this value instead.
    Nak(RawOption),
    /// Not recognised or not negotiable.
    Reject,
}

/// The protocol-specific half of a control protocol: what we ask for and
/// what we accept. Implemented by LCP, IPCP and IPV6CP.
pub trait Negotiation {
    /// The options of our next Configure-Request.
    fn request(&self) -> Vec<RawOption>;
    /// Judges each option of the peer's Configure-Request (same order).
    fn review(&mut self, peer: &[RawOption], entropy: &mut dyn Entropy) -> Vec<Verdict>;
    /// We sent a Configure-Ack for `peer`: adopt its values.
    fn peer_acked(&mut self, peer: &[RawOption]);
    /// The peer acked `ours`.
    fn ours_acked(&mut self, ours: &[RawOption]);
    /// The peer Nak'd our request with `suggested` values.
    fn nak_received(&mut self, suggested: &[RawOption], entropy: &mut dyn Entropy);
    /// The peer rejected `rejected` options of our request.
    fn reject_received(&mut self, rejected: &[RawOption]);
    /// Options the peer's request left out that we want it to use: appended
    /// to a Configure-Nak ("Options which are not present in the
    /// Configure-Request MAY be appended", RFC 1661 §5.3). None by default.
    fn solicit(&self, _peer: &[RawOption]) -> Vec<RawOption> {
        Vec::new()
    }
}

/// What the automaton asks the link to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send this packet with the protocol's number.
    Send(PacketRepr),
    /// This-Layer-Up.
    Up,
    /// This-Layer-Down.
    Down,
    /// This-Layer-Started.
    Started,
    /// This-Layer-Finished.
    Finished,
}

/// Whether the early resend of the first-Configure-Request race was used for
/// the current request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EarlyResend {
    /// Not used yet for this request.
    #[default]
    Available,
    /// Already used.
    Used,
}

/// One automaton instance with its timer and counters. Plain data: the link
/// snapshot stores every field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Automaton {
    /// Current state.
    pub state: State,
    /// Restart counter (§4.6).
    pub restart_counter: u8,
    /// Configure-Naks sent since the last Configure-Ack (Max-Failure).
    pub naks_sent: u8,
    /// When the restart timer fires, if running.
    pub deadline: Option<Timestamp>,
    /// Identifier of our outstanding Configure-Request.
    pub request_id: u8,
    /// Options of our outstanding Configure-Request.
    pub request: InlineBytes,
    /// Identifier of our last Terminate-Request.
    pub terminate_id: u8,
    /// Next identifier to use.
    pub next_id: u8,
    /// The first-request-race resend for the current request.
    pub early_resend: EarlyResend,
    /// When our Configure-Request was last transmitted.
    pub request_sent_at: Option<Timestamp>,
}

impl Default for Automaton {
    fn default() -> Self {
        Automaton::new()
    }
}

/// A received packet as the automaton needs it.
#[derive(Clone, Debug)]
pub struct Inbound<'a> {
    /// The packet's identifier (for Terminate-Ack).
    pub identifier: u8,
    /// The whole packet (for Code-Reject).
    pub raw: &'a [u8],
    /// The prepared answer for sca/scn/ser.
    pub answer: Option<PacketRepr>,
}

impl Automaton {
    /// A fresh automaton in the Initial state.
    pub fn new() -> Self {
        Automaton {
            state: State::Initial,
            restart_counter: 0,
            naks_sent: 0,
            deadline: None,
            request_id: 0,
            request: InlineBytes::new(),
            terminate_id: 0,
            next_id: 1,
            early_resend: EarlyResend::Available,
            request_sent_at: None,
        }
    }

    /// Applies an event that carries no packet (Up, Down, Open, Close).
    pub fn event<N: Negotiation>(
        &mut self,
        now: Timestamp,
        cfg: &FsmConfig,
        event: Event,
        neg: &mut N,
        out: &mut Vec<Output>,
    ) {
        self.apply(now, cfg, event, None, neg, out);
    }

    /// The restart timer fired (§4.6): TO+ while the counter is positive, TO-
    /// otherwise. Does nothing if the timer is not due.
    pub fn timeout<N: Negotiation>(
        &mut self,
        now: Timestamp,
        cfg: &FsmConfig,
        neg: &mut N,
        out: &mut Vec<Output>,
    ) {
        match self.deadline {
            Some(d) if d <= now => {}
            _ => return,
        }
        self.deadline = None;
        let event = if self.restart_counter > 0 {
            Event::TimeoutRetry
        } else {
            Event::TimeoutGiveUp
        };
        self.apply(now, cfg, event, None, neg, out);
    }

    /// Handles a received Configure-Request/Ack/Nak/Reject or
    /// Terminate-Request/Ack (RFC 1661 §5.1-5.5). Other codes are the
    /// caller's. Returns the event fired, or `None` if the packet was
    /// silently discarded (malformed options, stale identifier).
    #[allow(clippy::too_many_arguments)]
    pub fn receive<N: Negotiation>(
        &mut self,
        now: Timestamp,
        cfg: &FsmConfig,
        packet: &PacketRepr,
        raw: &[u8],
        neg: &mut N,
        entropy: &mut dyn Entropy,
        out: &mut Vec<Output>,
    ) -> Option<Event> {
        let mut inbound = Inbound {
            identifier: packet.identifier,
            raw,
            answer: None,
        };
        if self.state == State::Opened
            && packet.code == Code::ConfigureAck
            && packet.identifier == self.request_id
            && packet.data == self.request
        {
            // RFC 1661 §5.1: an unchanged Identifier marks a retransmission.
            // A second Ack of the request already acked (both copies of a
            // retransmitted request were answered) carries no news: it is
            // dropped instead of the table's renegotiation (RCA in Opened),
            // which retransmissions would otherwise trigger. Nothing the
            // peer waits for depends on our reaction to an Ack.
            return None;
        }
        let event = match packet.code {
            Code::ConfigureRequest => {
                let options = parse_list(&packet.data).ok()?;
                let (event, answer) = self.review(cfg, packet.identifier, &options, neg, entropy);
                inbound.answer = Some(answer);
                if event == Event::RcrGood && self.acks_in(event) {
                    neg.peer_acked(&options);
                }
                event
            }
            Code::ConfigureAck => {
                // RFC 1661 §5.2: must match our last request exactly.
                if packet.identifier != self.request_id || packet.data != self.request {
                    return None;
                }
                if matches!(self.state, State::ReqSent | State::AckSent) {
                    let ours = parse_list(&self.request).ok()?;
                    neg.ours_acked(&ours);
                }
                Event::Rca
            }
            Code::ConfigureNak | Code::ConfigureReject => {
                // RFC 1661 §5.3, §5.4: the Identifier must match.
                if packet.identifier != self.request_id {
                    return None;
                }
                let options = parse_list(&packet.data).ok()?;
                if self.state.timer_runs() || self.state == State::Opened {
                    if packet.code == Code::ConfigureNak {
                        neg.nak_received(&options, entropy);
                    } else {
                        neg.reject_received(&options);
                    }
                }
                Event::Rcn
            }
            Code::TerminateRequest => Event::Rtr,
            Code::TerminateAck => Event::Rta,
            _ => return None,
        };
        if self.state == State::ReqSent
            && matches!(event, Event::RcrGood | Event::RcrBad)
            && self.early_resend == EarlyResend::Available
            && self
                .request_sent_at
                .is_some_and(|t| now.saturating_since(t) >= cfg.early_resend_after)
        {
            // REFERENCE.md: the peer is listening now and ours is still
            // unanswered: retransmit it at once (same Identifier, §5.1)
            // instead of waiting for the restart timer. Going out before
            // our Ack, the copy normally reaches the peer before it is
            // Opened; a duplicate Ack is absorbed above.
            self.early_resend = EarlyResend::Used;
            self.request_sent_at = Some(now);
            out.push(Output::Send(self.configure_request()));
            self.deadline = Some(now + cfg.restart);
        }
        self.apply(now, cfg, event, Some(inbound), neg, out);
        Some(event)
    }

    /// Fires an event with a received packet (RUC, RXJ±, RXR) whose answer
    /// the caller prepared.
    pub fn event_with<N: Negotiation>(
        &mut self,
        now: Timestamp,
        cfg: &FsmConfig,
        event: Event,
        inbound: Inbound<'_>,
        neg: &mut N,
        out: &mut Vec<Output>,
    ) {
        self.apply(now, cfg, event, Some(inbound), neg, out);
    }

    /// Our outstanding Configure-Request as a packet.
    pub fn configure_request(&self) -> PacketRepr {
        PacketRepr {
            code: Code::ConfigureRequest,
            identifier: self.request_id,
            data: self.request.to_vec(),
        }
    }

    fn acks_in(&self, event: Event) -> bool {
        transition(self.state, event).is_some_and(|t| t.actions.contains(&Action::Sca))
    }

    /// RFC 1661 §5.1-5.4: builds the Ack, Nak or Reject for a request.
    fn review<N: Negotiation>(
        &mut self,
        cfg: &FsmConfig,
        identifier: u8,
        options: &[RawOption],
        neg: &mut N,
        entropy: &mut dyn Entropy,
    ) -> (Event, PacketRepr) {
        let verdicts = neg.review(options, entropy);
        let mut rejects = Vec::new();
        let mut naks = Vec::new();
        let mut naked_originals = Vec::new();
        for (o, v) in options
            .iter()
            .zip(verdicts.iter().chain(core::iter::repeat(&Verdict::Reject)))
        {
            match v {
                Verdict::Ack => {}
                Verdict::Nak(s) => {
                    naks.push(s.clone());
                    naked_originals.push(o.clone());
                }
                Verdict::Reject => rejects.push(o.clone()),
            }
        }
        // RFC 1661 §5.3: options the peer left out may be appended to a Nak.
        naks.extend(neg.solicit(options));
        // RFC 1661 §4.6 Max-Failure: a Nak that does not converge becomes a
        // Reject (of the options we Nak'd; solicited ones are abandoned).
        if rejects.is_empty() && !naks.is_empty() && self.naks_sent >= cfg.max_failure {
            rejects = naked_originals;
            naks.clear();
        }
        let (event, code, data) = if !rejects.is_empty() {
            (Event::RcrBad, Code::ConfigureReject, emit_list(&rejects))
        } else if !naks.is_empty() {
            (Event::RcrBad, Code::ConfigureNak, emit_list(&naks))
        } else {
            (Event::RcrGood, Code::ConfigureAck, emit_list(options))
        };
        (
            event,
            PacketRepr {
                code,
                identifier,
                data,
            },
        )
    }

    fn apply<N: Negotiation>(
        &mut self,
        now: Timestamp,
        cfg: &FsmConfig,
        event: Event,
        inbound: Option<Inbound<'_>>,
        neg: &mut N,
        out: &mut Vec<Output>,
    ) {
        let Some(t) = transition(self.state, event) else {
            // RFC 1661 §4.1: '-' is an illegal transition; nothing happens.
            return;
        };
        let mut timer_restarted = false;
        for action in t.actions {
            match action {
                Action::Tlu => out.push(Output::Up),
                Action::Tld => out.push(Output::Down),
                Action::Tls => out.push(Output::Started),
                Action::Tlf => out.push(Output::Finished),
                Action::Irc => {
                    // RFC 1661 §4.4: Max-Terminate before a Terminate-Request,
                    // Max-Configure before a Configure-Request.
                    self.restart_counter = if t.actions.contains(&Action::Str) {
                        cfg.max_terminate
                    } else {
                        cfg.max_configure
                    };
                    self.naks_sent = 0;
                }
                Action::Zrc => {
                    self.restart_counter = 0;
                    timer_restarted = true;
                }
                Action::Scr => {
                    if event != Event::TimeoutRetry {
                        // A new request: new contents and a new identifier
                        // (RFC 1661 §5.1); a TO+ retransmission keeps both.
                        self.request = emit_list(&neg.request()).into();
                        self.request_id = self.take_id();
                        self.early_resend = EarlyResend::Available;
                    }
                    self.restart_counter = self.restart_counter.saturating_sub(1);
                    self.request_sent_at = Some(now);
                    out.push(Output::Send(self.configure_request()));
                    timer_restarted = true;
                }
                Action::Sca | Action::Scn | Action::Ser => {
                    if let Some(answer) = inbound.as_ref().and_then(|i| i.answer.clone()) {
                        match answer.code {
                            Code::ConfigureAck => self.naks_sent = 0,
                            Code::ConfigureNak => self.naks_sent = self.naks_sent.saturating_add(1),
                            _ => {}
                        }
                        out.push(Output::Send(answer));
                    }
                }
                Action::Str => {
                    self.terminate_id = self.take_id();
                    self.restart_counter = self.restart_counter.saturating_sub(1);
                    out.push(Output::Send(PacketRepr {
                        code: Code::TerminateRequest,
                        identifier: self.terminate_id,
                        data: Vec::new(),
                    }));
                    timer_restarted = true;
                }
                Action::Sta => {
                    let identifier = inbound.as_ref().map_or(0, |i| i.identifier);
                    out.push(Output::Send(PacketRepr {
                        code: Code::TerminateAck,
                        identifier,
                        data: Vec::new(),
                    }));
                }
                Action::Scj => {
                    // RFC 1661 §5.6: the rejected packet, truncated to fit the MRU.
                    let raw = inbound.as_ref().map_or(&[][..], |i| i.raw);
                    let data = raw[..raw.len().min(1490)].to_vec();
                    let identifier = self.take_id();
                    out.push(Output::Send(PacketRepr {
                        code: Code::CodeReject,
                        identifier,
                        data,
                    }));
                }
            }
        }
        self.state = t.next;
        if !self.state.timer_runs() {
            self.deadline = None;
        } else if timer_restarted || self.deadline.is_none() {
            self.deadline = Some(now + cfg.restart);
        }
    }

    /// Takes the next identifier (also for Echo, Code-Reject, Protocol-Reject).
    pub fn take_id(&mut self) -> u8 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }
}

#[cfg(test)]
mod tests;
