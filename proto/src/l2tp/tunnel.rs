//! RFC 2661 §7.2 control-connection state machine for both sides, on top of
//! the §5.8 transport ([`Reliable`]).
//!
//! Contract: a [`Tunnel`] is created by the endpoint (LNS: from an accepted
//! SCCRQ; LAC: by `open_tunnel`), consumes the control datagrams addressed
//! to it and produces transmits and events through its context (`Ctx`). Every arm of
//! the FSM cites its RFC section. After StopCCN (either way) or transport
//! failure the tunnel stays in [`Phase::Closing`] for a full retransmission
//! cycle (its id is held down and retransmitted StopCCNs are acked), then
//! the endpoint removes it.

use super::auth::{self, Verdict};
use super::avp::AvpError;
use super::avp_types::{AvpValue, ResultCodeValue};
use super::config::{EndpointConfig, PeerSettings, Side, TunnelAuth};
use super::event::{Counters, DropReason, Event, SessionDownReason, Transmit, TunnelDownReason};
use super::header::{HeaderView, Sequence};
use super::hidden::HiddenError;
use super::message::{Message, MessageError, MessageType, Scope};
use super::reliable::{full_cycle, Arrival, Reliable};
use super::result_code::{ErrorCode, StopCcnResult};
use super::session::{hide_sensitive, Session};
use crate::entropy::Entropy;
use crate::time::Timestamp;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

/// Where a control connection stands (§7.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// LAC: SCCRQ sent (wait-ctl-reply).
    WaitCtlReply,
    /// LNS: SCCRP sent (wait-ctl-conn).
    WaitCtlConn,
    /// SCCCN exchanged.
    Established,
    /// StopCCN sent or received, or the peer is unreachable: hold-down.
    Closing {
        /// When the tunnel id is released.
        until: Timestamp,
    },
}

/// What a timeout left of the tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    Alive,
    Finished,
}

/// Borrowed outputs and inputs every transition needs.
pub(crate) struct Ctx<'a> {
    pub now: Timestamp,
    pub config: &'a EndpointConfig,
    pub entropy: &'a mut dyn Entropy,
    pub events: &'a mut VecDeque<Event>,
    pub transmits: &'a mut VecDeque<Transmit>,
    pub counters: &'a mut Counters,
}

/// One control connection and its sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tunnel {
    /// LAC or LNS.
    pub side: Side,
    /// Our tunnel id.
    pub local_id: u16,
    /// The peer's tunnel id (0 until SCCRP on the LAC).
    pub peer_id: u16,
    /// Our address.
    pub local: SocketAddr,
    /// The peer's address.
    pub peer: SocketAddr,
    /// FSM state.
    pub phase: Phase,
    /// §5.8 transport.
    pub reliable: Reliable,
    /// Sessions by our session id.
    pub sessions: BTreeMap<u16, Session>,
    /// Secret, auth and hiding for this peer.
    pub settings: PeerSettings,
    /// The Challenge we sent, until answered.
    pub our_challenge: Option<Vec<u8>>,
    /// The peer's Host Name.
    pub peer_host_name: Vec<u8>,
    /// Last Call Serial Number used (LAC).
    pub next_call_serial: u32,
    /// When the tunnel was created (SCCRQ received or sent).
    pub started: Timestamp,
    /// Control messages retransmitted on this tunnel (§5.8).
    pub retransmits: u64,
    /// The peer's Vendor Name (§4.4.3), empty when it sent none.
    pub peer_vendor_name: Vec<u8>,
}

impl Tunnel {
    /// LNS: accepts a validated SCCRQ and answers SCCRP (§7.2.1 idle:
    /// Recv SCCRQ, acceptable -> Send SCCRP, wait-ctl-conn).
    pub(crate) fn accept(
        ctx: &mut Ctx<'_>,
        local_id: u16,
        local: SocketAddr,
        peer: SocketAddr,
        settings: PeerSettings,
        sccrq: &Message,
        seq: Sequence,
    ) -> Tunnel {
        let mut reliable = Reliable::new(ctx.now, seq.ns.wrapping_add(1));
        reliable.set_peer_window(sccrq.receive_window_size().unwrap_or(4));
        let mut t = Tunnel {
            side: Side::Lns,
            local_id,
            peer_id: sccrq.assigned_tunnel_id().unwrap_or(0),
            local,
            peer,
            phase: Phase::WaitCtlConn,
            reliable,
            sessions: BTreeMap::new(),
            settings,
            our_challenge: None,
            peer_host_name: sccrq.host_name().unwrap_or_default().to_vec(),
            next_call_serial: 0,
            started: ctx.now,
            retransmits: 0,
            peer_vendor_name: sccrq.vendor_name().unwrap_or_default().to_vec(),
        };
        if ctx.config.deliveries == super::config::DeliveryReports::On {
            ctx.events.push_back(Event::Delivered {
                tunnel: local_id,
                ns: seq.ns,
                message_type: MessageType::Sccrq,
            });
        }
        let mut sccrp = t.identity(ctx, MessageType::Sccrp);
        if let (Some(ch), Some(secret)) = (sccrq.challenge(), t.settings.secret.as_deref()) {
            // RFC 2661 §5.1.1: answer the LAC's challenge in SCCRP (ID 2).
            let r = auth::challenge_response(auth::RESPONSE_IN_SCCRP, secret, ch);
            sccrp = sccrp.with(AvpValue::ChallengeResponse(r));
        }
        sccrp = t.maybe_challenge(ctx, sccrp);
        t.send(ctx, 0, sccrp);
        t.flush(ctx);
        t
    }

    /// LAC: sends SCCRQ (§7.2.1 idle: local open request -> wait-ctl-reply).
    pub(crate) fn open(
        ctx: &mut Ctx<'_>,
        local_id: u16,
        local: SocketAddr,
        peer: SocketAddr,
        settings: PeerSettings,
    ) -> Tunnel {
        let mut t = Tunnel {
            side: Side::Lac,
            local_id,
            peer_id: 0,
            local,
            peer,
            phase: Phase::WaitCtlReply,
            reliable: Reliable::new(ctx.now, 0),
            sessions: BTreeMap::new(),
            settings,
            our_challenge: None,
            peer_host_name: Vec::new(),
            next_call_serial: 0,
            started: ctx.now,
            retransmits: 0,
            peer_vendor_name: Vec::new(),
        };
        let sccrq = t.identity(ctx, MessageType::Sccrq);
        let sccrq = t.maybe_challenge(ctx, sccrq);
        t.send(ctx, 0, sccrq);
        t.flush(ctx);
        t
    }

    /// A control datagram (already matched to this tunnel) arrived.
    pub(crate) fn on_datagram(
        &mut self,
        ctx: &mut Ctx<'_>,
        view: &HeaderView<'_>,
        datagram: &[u8],
    ) {
        let Some(seq) = view.sequence() else {
            return; // unreachable: control headers are checked to carry S
        };
        match self.reliable.on_datagram(
            ctx.now,
            seq,
            view.is_zlb(),
            datagram,
            &ctx.config.transport,
        ) {
            Arrival::Deliver(list) => {
                for (ns, d) in list {
                    self.on_delivered(ctx, ns, &d);
                }
            }
            Arrival::OutOfWindow => ctx.events.push_back(Event::Dropped {
                peer: self.peer,
                reason: DropReason::OutOfWindow {
                    tunnel: self.local_id,
                    ns: seq.ns,
                },
            }),
            Arrival::Ack | Arrival::Buffered | Arrival::Duplicate => {}
        }
        self.flush(ctx);
    }

    /// Timers: retransmission, delayed ack, HELLO, end of hold-down.
    pub(crate) fn on_timeout(&mut self, ctx: &mut Ctx<'_>) -> Fate {
        if let Phase::Closing { until } = self.phase {
            if ctx.now >= until {
                return Fate::Finished;
            }
        }
        let idle = self
            .reliable
            .hello_deadline(&ctx.config.transport)
            .is_some_and(|t| t <= ctx.now);
        match self.phase {
            // RFC 2661 §6.5: HELLO after a period of silence.
            Phase::Established if idle => {
                self.reliable.hello_sent(ctx.now);
                self.send(ctx, 0, Message::new(MessageType::Hello));
            }
            // RFC 2661 §7.2.1: a half-open tunnel whose peer went quiet (our
            // reply acked, no SCCCN/SCCRP follow-up) is cleared, so it cannot
            // hold a half-open slot forever.
            Phase::WaitCtlConn | Phase::WaitCtlReply if idle => {
                self.send_stop(ctx, StopCcnResult::GeneralError, ErrorCode::NoError);
                self.go_down(ctx, TunnelDownReason::SetupTimeout);
            }
            _ => {}
        }
        self.flush(ctx);
        Fate::Alive
    }

    /// The earliest instant [`Tunnel::on_timeout`] has work.
    pub(crate) fn next_deadline(&self, config: &EndpointConfig) -> Option<Timestamp> {
        let mut d = self.reliable.next_deadline(&config.transport);
        let mut consider = |t: Option<Timestamp>| {
            if let Some(t) = t {
                d = Some(d.map_or(t, |x: Timestamp| x.min(t)));
            }
        };
        match self.phase {
            Phase::Closing { until } => consider(Some(until)),
            _ => consider(self.reliable.hello_deadline(&config.transport)),
        }
        d
    }

    /// Caller's request: StopCCN with `result` (§5.7).
    pub(crate) fn close(&mut self, ctx: &mut Ctx<'_>, result: StopCcnResult) {
        if matches!(self.phase, Phase::Closing { .. }) {
            return;
        }
        self.send_stop(ctx, result, ErrorCode::NoError);
        self.go_down(ctx, TunnelDownReason::Closed(result));
        self.flush(ctx);
    }

    /// Encodes `msg` (hiding per settings), queues it and lets the window decide.
    pub(crate) fn send(&mut self, ctx: &mut Ctx<'_>, session_id: u16, mut msg: Message) {
        let secret = self.settings.secret.as_deref();
        if secret.is_some() && self.settings.hiding == super::config::Hiding::Sensitive {
            // RFC 2661 §4.3: a fresh Random Vector for every message that hides.
            let mut rv = [0u8; 16];
            ctx.entropy.fill(&mut rv);
            hide_sensitive(&mut msg, rv);
        }
        let mut body = Vec::new();
        if msg.emit(secret, &mut body).is_err() {
            // Only our own over-long config values (e.g. a >1017-byte Host Name) get here.
            return;
        }
        let tunnel_id = if msg.message_type == MessageType::Sccrq {
            0
        } else {
            self.peer_id
        };
        self.reliable.push(tunnel_id, session_id, body);
    }

    /// Moves what the transport wants to send into the transmit queue.
    pub(crate) fn flush(&mut self, ctx: &mut Ctx<'_>) {
        let mut out = Vec::new();
        let result = self
            .reliable
            .transmit(ctx.now, self.peer_id, &ctx.config.transport, &mut out);
        if let Ok(retransmitted) = result {
            ctx.counters.retransmits += retransmitted;
            self.retransmits += retransmitted;
        }
        for payload in out {
            ctx.transmits.push_back(Transmit {
                local: self.local,
                peer: self.peer,
                payload,
            });
        }
        if result.is_err() {
            // RFC 2661 §5.8: retransmissions exhausted, the tunnel is dead.
            self.reliable.queue.clear();
            if !matches!(self.phase, Phase::Closing { .. }) {
                self.go_down(ctx, TunnelDownReason::Unreachable);
            }
        }
    }

    fn on_delivered(&mut self, ctx: &mut Ctx<'_>, ns: u16, datagram: &[u8]) {
        if matches!(self.phase, Phase::Closing { .. }) {
            return; // §5.7: only acknowledged while holding down.
        }
        let Ok(view) = HeaderView::new_checked(datagram) else {
            return; // unreachable: checked before it was queued
        };
        let header = view.to_header();
        let msg = match Message::parse(view.payload(), self.settings.secret.as_deref()) {
            Ok(m) => m,
            Err(e) => {
                // RFC 2661 §4.4.2: malformed message -> StopCCN 2 with the error;
                // §4.3: a hidden AVP we cannot unhide means the secrets differ -> 4.
                let (result, error) = match e {
                    MessageError::Avp(AvpError::Hidden(
                        HiddenError::WrongSecret { .. } | HiddenError::NoSecret,
                    )) => (StopCcnResult::NotAuthorized, ErrorCode::NoError),
                    MessageError::Avp(a) => {
                        (StopCcnResult::GeneralError, ErrorCode::from(a.error_code()))
                    }
                    _ => (StopCcnResult::GeneralError, ErrorCode::BadLength),
                };
                self.send_stop(ctx, result, error);
                self.go_down(ctx, TunnelDownReason::Undecodable { error: e, result });
                return;
            }
        };
        if ctx.config.deliveries == super::config::DeliveryReports::On {
            ctx.events.push_back(Event::Delivered {
                tunnel: self.local_id,
                ns,
                message_type: msg.message_type,
            });
        }
        if let MessageType::Unknown(n) = msg.message_type {
            // RFC 2661 §4.1: unknown type with M set ends the tunnel, else ignore.
            if msg.type_criticality == super::avp::Criticality::Mandatory {
                self.stop(
                    ctx,
                    StopCcnResult::GeneralError,
                    ErrorCode::UnknownMandatoryAvp,
                );
            } else {
                ctx.events.push_back(Event::Dropped {
                    peer: self.peer,
                    reason: DropReason::IgnoredMessage {
                        tunnel: self.local_id,
                        message_type: n,
                    },
                });
            }
            return;
        }
        match msg.message_type.scope() {
            Scope::Session => self.on_session_message(ctx, &header, msg),
            Scope::Tunnel => self.on_tunnel_message(ctx, msg),
        }
    }

    fn on_tunnel_message(&mut self, ctx: &mut Ctx<'_>, msg: Message) {
        // RFC 2661 §7.2.1: StopCCN in any state -> clean up, hold down.
        if msg.message_type == MessageType::StopCcn {
            let rc = msg.result_code().cloned().unwrap_or(ResultCodeValue {
                result: 0,
                error: None,
                message: Vec::new(),
            });
            self.reliable.queue.clear();
            self.reliable.ack_deadline = Some(ctx.now);
            self.go_down(
                ctx,
                TunnelDownReason::PeerStopped {
                    result: StopCcnResult::from(rc.result),
                    error: ErrorCode::from(rc.error.unwrap_or(0)),
                    message: rc.message,
                },
            );
            return;
        }
        // RFC 2661 §4.1: an unknown M-bit AVP in a tunnel message ends the tunnel.
        if msg.unknown_mandatory().is_some() {
            self.stop(
                ctx,
                StopCcnResult::GeneralError,
                ErrorCode::UnknownMandatoryAvp,
            );
            return;
        }
        if msg.missing_mandatory().is_some() {
            self.stop(ctx, StopCcnResult::GeneralError, ErrorCode::BadValue);
            return;
        }
        match (self.side, self.phase, msg.message_type) {
            // RFC 2661 §7.2.1 wait-ctl-reply: Recv SCCRP, acceptable -> Send SCCCN, established.
            (Side::Lac, Phase::WaitCtlReply, MessageType::Sccrp) => self.on_sccrp(ctx, &msg),
            // RFC 2661 §7.2.1 wait-ctl-conn: Recv SCCCN, acceptable -> established.
            (Side::Lns, Phase::WaitCtlConn, MessageType::Scccn) => {
                if self.challenge_answered(&msg, auth::RESPONSE_IN_SCCCN) == Verdict::Forged {
                    // RFC 2661 §5.1.1: wrong or missing response -> not authorized.
                    self.stop(ctx, StopCcnResult::NotAuthorized, ErrorCode::NoError);
                    return;
                }
                self.establish(ctx);
            }
            // RFC 2661 §6.5: HELLO needs only the transport ack.
            (_, _, MessageType::Hello) => {}
            // RFC 2661 §7.2.1: any other message in any state is an FSM error.
            _ => self.stop(ctx, StopCcnResult::FsmError, ErrorCode::NoError),
        }
    }

    fn on_sccrp(&mut self, ctx: &mut Ctx<'_>, msg: &Message) {
        self.peer_id = msg.assigned_tunnel_id().unwrap_or(0);
        self.peer_host_name = msg.host_name().unwrap_or_default().to_vec();
        self.reliable
            .set_peer_window(msg.receive_window_size().unwrap_or(4));
        if self.challenge_answered(msg, auth::RESPONSE_IN_SCCRP) == Verdict::Forged {
            self.stop(ctx, StopCcnResult::NotAuthorized, ErrorCode::NoError);
            return;
        }
        let mut scccn = Message::new(MessageType::Scccn);
        if let Some(ch) = msg.challenge() {
            // RFC 2661 §5.1.1: the LNS challenged us; answer in SCCCN (ID 3).
            let Some(secret) = self.settings.secret.as_deref() else {
                self.stop(ctx, StopCcnResult::NotAuthorized, ErrorCode::NoError);
                return;
            };
            let r = auth::challenge_response(auth::RESPONSE_IN_SCCCN, secret, ch);
            scccn = scccn.with(AvpValue::ChallengeResponse(r));
        }
        self.send(ctx, 0, scccn);
        self.establish(ctx);
    }

    fn establish(&mut self, ctx: &mut Ctx<'_>) {
        self.phase = Phase::Established;
        self.our_challenge = None;
        ctx.events.push_back(Event::TunnelUp {
            tunnel: self.local_id,
            peer_tunnel: self.peer_id,
            peer: self.peer,
            local: self.local,
            peer_host_name: self.peer_host_name.clone(),
        });
    }

    /// Checks the response to our challenge, if we sent one.
    fn challenge_answered(&self, msg: &Message, id: u8) -> Verdict {
        let Some(ch) = self.our_challenge.as_deref() else {
            return Verdict::Authentic;
        };
        match (msg.challenge_response(), self.settings.secret.as_deref()) {
            (Some(r), Some(secret)) => auth::verify(id, secret, ch, &r),
            _ => Verdict::Forged,
        }
    }

    /// Protocol refusal: StopCCN with the given codes, then hold-down.
    pub(crate) fn stop(&mut self, ctx: &mut Ctx<'_>, result: StopCcnResult, error: ErrorCode) {
        self.send_stop(ctx, result, error);
        self.go_down(ctx, TunnelDownReason::Refused { result, error });
    }

    fn send_stop(&mut self, ctx: &mut Ctx<'_>, result: StopCcnResult, error: ErrorCode) {
        let stop = Message::new(MessageType::StopCcn)
            .with(AvpValue::AssignedTunnelId(self.local_id))
            .with(AvpValue::ResultCode(ResultCodeValue {
                result: u16::from(result),
                error: (error != ErrorCode::NoError).then_some(u16::from(error)),
                message: Vec::new(),
            }));
        self.send(ctx, 0, stop);
    }

    /// Every session down, TunnelDown, hold-down for a full cycle (§5.7).
    fn go_down(&mut self, ctx: &mut Ctx<'_>, reason: TunnelDownReason) {
        for sid in core::mem::take(&mut self.sessions).into_keys() {
            ctx.events.push_back(Event::SessionDown {
                tunnel: self.local_id,
                session: sid,
                reason: SessionDownReason::TunnelDown,
            });
        }
        self.phase = Phase::Closing {
            until: ctx.now + full_cycle(&ctx.config.transport),
        };
        ctx.events.push_back(Event::TunnelDown {
            tunnel: self.local_id,
            reason,
        });
    }

    /// SCCRQ/SCCRP common AVPs (§6.1, §6.2).
    fn identity(&self, ctx: &Ctx<'_>, t: MessageType) -> Message {
        let c = ctx.config;
        Message::new(t)
            .with(AvpValue::ProtocolVersion {
                version: 0x01,
                revision: 0x00,
            })
            .with(AvpValue::FramingCapabilities(0x0000_0003))
            .with(AvpValue::BearerCapabilities(0x0000_0000))
            .with(AvpValue::FirmwareRevision(c.firmware_revision))
            // RFC 2661 §4.4.3: our name as known on the address used.
            .with(AvpValue::HostName(c.host_name_for(self.local).to_vec()))
            .with(AvpValue::VendorName(c.vendor_name.clone()))
            .with(AvpValue::AssignedTunnelId(self.local_id))
            .with(AvpValue::ReceiveWindowSize(
                c.transport.receive_window.max(1),
            ))
    }

    /// Adds a fresh Challenge if this peer must authenticate (§5.1.1).
    fn maybe_challenge(&mut self, ctx: &mut Ctx<'_>, msg: Message) -> Message {
        if self.settings.auth != TunnelAuth::Required || self.settings.secret.is_none() {
            return msg;
        }
        let mut ch = vec![0u8; auth::CHALLENGE_LEN];
        ctx.entropy.fill(&mut ch);
        self.our_challenge = Some(ch.clone());
        msg.with(AvpValue::Challenge(ch))
    }
}
