//! RFC 2661 §7.4.1 (LNS) and §7.3.1 (LAC) incoming-call state machines,
//! and the call information carried by ICRQ and ICCN.
//!
//! Contract: sessions live inside their [`Tunnel`]; these `impl Tunnel`
//! methods handle the session-scoped messages (ICRQ, ICRP, ICCN, CDN, WEN,
//! SLI; OCRQ/OCRP/OCCN are refused) and the caller's session commands.
//! An unknown mandatory AVP in a session message ends only that session
//! (CDN 2/8, §4.1); a session message before the tunnel is established gets
//! CDN 2/1 (§7.2); resource limits get CDN 4/4. A message for a session id
//! we do not know follows the idle rows of §7.3.1/§7.4.1: an ICRP (LNS) gets
//! CDN 2/5 addressed to the session its Assigned Session ID names; ICCN, CDN,
//! SLI and WEN are only acknowledged (there is no peer session id to send a
//! CDN to, and the tables say "clean up"). A received CDN only cleans up
//! (any state), even with an unknown M-bit AVP: no CDN answers a CDN.

use super::avp::{Avp, Criticality, Visibility};
use super::avp_types::{attr, AvpValue, DisconnectCause, ResultCodeValue};
use super::config::Side;
use super::event::{DropReason, Event, SessionDownReason, SessionRoute};
use super::header::Header;
use super::message::{Message, MessageType};
use super::result_code::{open_enum, CdnResult, ErrorCode};
use super::tunnel::{Ctx, Phase, Tunnel};
use crate::inline_bytes::InlineBytes;

/// Where one session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionPhase {
    /// LAC: ICRQ sent, waiting for ICRP (§7.3.1 wait-reply).
    WaitReply,
    /// LNS: ICRP sent, waiting for ICCN (§7.4.1 wait-connect).
    WaitConnect,
    /// ICCN exchanged.
    Established,
}

/// One call inside a tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Our session id.
    pub local_id: u16,
    /// The peer's session id (0 until known).
    pub peer_id: u16,
    /// FSM state.
    pub phase: SessionPhase,
    /// What ICRQ/ICCN said (or will say, on the LAC).
    /// Boxed: a tunnel keeps its sessions inline in a `BTreeMap` whose
    /// nodes are about half full, so ~150 bytes inline cost about twice
    /// that per call (issue 5).
    pub call: Box<CallInfo>,
}

open_enum! {
    /// Proxy Authen Type values (RFC 2661 §4.4.5).
    ProxyAuthType {
        /// 1: textual username/password exchange.
        Textual = 0x0001,
        /// 2: PPP CHAP.
        Chap = 0x0002,
        /// 3: PPP PAP.
        Pap = 0x0003,
        /// 4: no authentication.
        NoAuth = 0x0004,
        /// 5: Microsoft CHAP version 1.
        MsChapV1 = 0x0005,
    }
}

/// Proxy LCP and proxy authentication AVPs (§4.4.5, 26-33). LCP AVPs hold
/// the raw Configure-Request packets (without the PPP address/control/protocol).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct ProxyInfo {
    pub initial_received_lcp_confreq: Option<Vec<u8>>,
    pub last_sent_lcp_confreq: Option<Vec<u8>>,
    pub last_received_lcp_confreq: Option<Vec<u8>>,
    pub authen_type: Option<ProxyAuthType>,
    pub authen_name: Option<Vec<u8>>,
    pub authen_challenge: Option<Vec<u8>>,
    pub authen_id: Option<u8>,
    pub authen_response: Option<Vec<u8>>,
}

/// Whether the LAC demands sequence numbers on data messages (§4.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sequencing {
    /// No Sequencing Required AVP.
    #[default]
    NotRequired,
    /// Sequencing Required AVP present: send data with the S bit.
    Required,
}

/// The call AVPs a LAC rarely sends (§4.4.5, §4.4.5 Private Group ID).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RareCallAvps {
    /// Sub-Address (§4.4.5).
    pub sub_address: Option<Vec<u8>>,
    /// Private Group ID (§4.4.5).
    pub private_group_id: Option<Vec<u8>>,
}

/// Call information from ICRQ and ICCN (§6.10, §6.12).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct CallInfo {
    pub call_serial: u32,
    pub bearer_type: Option<u32>,
    pub physical_channel: Option<u32>,
    /// Kept inline up to 22 bytes: an established call keeps its
    /// `CallInfo`, and a heap block per number cost 32 bytes (issue 5).
    pub calling_number: Option<InlineBytes>,
    pub called_number: Option<InlineBytes>,
    pub tx_connect_speed: Option<u32>,
    pub rx_connect_speed: Option<u32>,
    pub framing_type: Option<u32>,
    /// Sub-Address and Private Group ID, boxed together and present only
    /// when the LAC sent one: rarely sent, and every established call
    /// keeps its `CallInfo` (issue 5: 8 bytes inline instead of 32). Read
    /// with [`CallInfo::sub_address`] and [`CallInfo::private_group_id`].
    pub rare: Option<Box<RareCallAvps>>,
    /// Sequencing Required AVP (§4.4.6) present in ICCN or not.
    pub sequencing: Sequencing,
    /// Proxy LCP/authentication AVPs, boxed and present only when the LAC
    /// sent one: most calls carry none, and every established call keeps
    /// its `CallInfo` (issue 5: ~150 bytes inline per session).
    pub proxy: Option<Box<ProxyInfo>>,
}

/// The proxy information of a call that has none.
static NO_PROXY: ProxyInfo = ProxyInfo {
    initial_received_lcp_confreq: None,
    last_sent_lcp_confreq: None,
    last_received_lcp_confreq: None,
    authen_type: None,
    authen_name: None,
    authen_challenge: None,
    authen_id: None,
    authen_response: None,
};

impl CallInfo {
    /// Copies every call AVP of `msg` into `self`.
    pub fn absorb(&mut self, msg: &Message) {
        for a in &msg.avps {
            if self.absorb_proxy(&a.value) {
                continue;
            }
            match &a.value {
                AvpValue::CallSerialNumber(x) => self.call_serial = *x,
                AvpValue::BearerType(x) => self.bearer_type = Some(*x),
                AvpValue::PhysicalChannelId(x) => self.physical_channel = Some(*x),
                AvpValue::CallingNumber(x) => self.calling_number = Some(x.as_slice().into()),
                AvpValue::CalledNumber(x) => self.called_number = Some(x.as_slice().into()),
                AvpValue::SubAddress(x) => self.rare_mut().sub_address = Some(x.clone()),
                AvpValue::TxConnectSpeed(x) => self.tx_connect_speed = Some(*x),
                AvpValue::RxConnectSpeed(x) => self.rx_connect_speed = Some(*x),
                AvpValue::FramingType(x) => self.framing_type = Some(*x),
                AvpValue::PrivateGroupId(x) => self.rare_mut().private_group_id = Some(x.clone()),
                AvpValue::SequencingRequired => self.sequencing = Sequencing::Required,
                _ => {}
            }
        }
    }

    /// The Sub-Address AVP, if the LAC sent one.
    pub fn sub_address(&self) -> Option<&[u8]> {
        self.rare.as_ref()?.sub_address.as_deref()
    }

    /// The Private Group ID AVP, if the LAC sent one.
    pub fn private_group_id(&self) -> Option<&[u8]> {
        self.rare.as_ref()?.private_group_id.as_deref()
    }

    /// The rarely sent AVPs, boxed on first use.
    pub fn rare_mut(&mut self) -> &mut RareCallAvps {
        self.rare.get_or_insert_with(Box::default)
    }

    /// The proxy AVPs of this call (all absent when the LAC sent none).
    pub fn proxy_info(&self) -> &ProxyInfo {
        self.proxy.as_deref().unwrap_or(&NO_PROXY)
    }

    /// Copies `value` into the proxy information if it is a proxy AVP.
    fn absorb_proxy(&mut self, value: &AvpValue) -> bool {
        let is_proxy = matches!(
            value,
            AvpValue::InitialReceivedLcpConfReq(_)
                | AvpValue::LastSentLcpConfReq(_)
                | AvpValue::LastReceivedLcpConfReq(_)
                | AvpValue::ProxyAuthenType(_)
                | AvpValue::ProxyAuthenName(_)
                | AvpValue::ProxyAuthenChallenge(_)
                | AvpValue::ProxyAuthenId(_)
                | AvpValue::ProxyAuthenResponse(_)
        );
        if !is_proxy {
            return false;
        }
        let p = self.proxy.get_or_insert_with(Box::default);
        match value {
            AvpValue::InitialReceivedLcpConfReq(x) => {
                p.initial_received_lcp_confreq = Some(x.clone())
            }
            AvpValue::LastSentLcpConfReq(x) => p.last_sent_lcp_confreq = Some(x.clone()),
            AvpValue::LastReceivedLcpConfReq(x) => p.last_received_lcp_confreq = Some(x.clone()),
            AvpValue::ProxyAuthenType(x) => p.authen_type = Some(ProxyAuthType::from(*x)),
            AvpValue::ProxyAuthenName(x) => p.authen_name = Some(x.clone()),
            AvpValue::ProxyAuthenChallenge(x) => p.authen_challenge = Some(x.clone()),
            AvpValue::ProxyAuthenId(x) => p.authen_id = Some(*x),
            AvpValue::ProxyAuthenResponse(x) => p.authen_response = Some(x.clone()),
            _ => {}
        }
        true
    }

    /// The ICRQ AVPs for this call (after Assigned Session ID).
    pub fn icrq_avps(&self) -> Vec<AvpValue> {
        let mut v = vec![AvpValue::CallSerialNumber(self.call_serial)];
        v.extend(self.bearer_type.map(AvpValue::BearerType));
        v.extend(self.physical_channel.map(AvpValue::PhysicalChannelId));
        v.extend(
            self.calling_number
                .as_deref()
                .map(|x| AvpValue::CallingNumber(x.to_vec())),
        );
        v.extend(
            self.called_number
                .as_deref()
                .map(|x| AvpValue::CalledNumber(x.to_vec())),
        );
        v.extend(self.sub_address().map(|x| AvpValue::SubAddress(x.to_vec())));
        v
    }

    /// The ICCN AVPs for this call.
    pub fn iccn_avps(&self) -> Vec<AvpValue> {
        let p = self.proxy_info();
        let mut v = vec![
            AvpValue::TxConnectSpeed(self.tx_connect_speed.unwrap_or(0)),
            AvpValue::FramingType(self.framing_type.unwrap_or(0x0000_0001)),
        ];
        v.extend(self.rx_connect_speed.map(AvpValue::RxConnectSpeed));
        v.extend(
            self.private_group_id()
                .map(|x| AvpValue::PrivateGroupId(x.to_vec())),
        );
        if self.sequencing == Sequencing::Required {
            v.push(AvpValue::SequencingRequired);
        }
        v.extend(
            p.initial_received_lcp_confreq
                .clone()
                .map(AvpValue::InitialReceivedLcpConfReq),
        );
        v.extend(
            p.last_sent_lcp_confreq
                .clone()
                .map(AvpValue::LastSentLcpConfReq),
        );
        v.extend(
            p.last_received_lcp_confreq
                .clone()
                .map(AvpValue::LastReceivedLcpConfReq),
        );
        v.extend(
            p.authen_type
                .map(|t| AvpValue::ProxyAuthenType(u16::from(t))),
        );
        v.extend(p.authen_name.clone().map(AvpValue::ProxyAuthenName));
        v.extend(
            p.authen_challenge
                .clone()
                .map(AvpValue::ProxyAuthenChallenge),
        );
        v.extend(p.authen_id.map(AvpValue::ProxyAuthenId));
        v.extend(p.authen_response.clone().map(AvpValue::ProxyAuthenResponse));
        v
    }
}

impl Tunnel {
    /// Session-scoped message dispatch (§7.3.1, §7.4.1).
    pub(crate) fn on_session_message(&mut self, ctx: &mut Ctx<'_>, header: &Header, msg: Message) {
        let t = msg.message_type;
        // RFC 2661 §7.2: no calls before the control connection is established.
        if self.phase != Phase::Established {
            if let Some(peer_sid) = msg.assigned_session_id() {
                self.refuse_call(
                    ctx,
                    peer_sid,
                    CdnResult::GeneralError,
                    ErrorCode::NoControlConnection,
                );
            }
            return;
        }
        match t {
            // RFC 2661 §7.4.1 idle: Recv ICRQ (an LNS answers incoming calls).
            MessageType::Icrq if self.side == Side::Lns => self.on_icrq(ctx, header, msg),
            // RFC 2661 §7.3.1: a LAC does not accept incoming calls from its LNS.
            MessageType::Icrq => {
                if let Some(peer_sid) = msg.assigned_session_id() {
                    self.refuse_call(
                        ctx,
                        peer_sid,
                        CdnResult::NoFacilitiesPermanent,
                        ErrorCode::NoError,
                    );
                }
            }
            // RFC 2661 §6.7: outgoing calls are not supported by lnsd.
            MessageType::Ocrq => {
                if let Some(peer_sid) = msg.assigned_session_id() {
                    self.refuse_call(
                        ctx,
                        peer_sid,
                        CdnResult::NoFacilitiesPermanent,
                        ErrorCode::NoError,
                    );
                }
            }
            _ => {
                let Some(phase) = self.sessions.get(&header.session_id).map(|s| s.phase) else {
                    // RFC 2661 §7.4.1 idle: Recv ICRP -> Send CDN, clean up. The
                    // ICRP names the peer's session, so the CDN can reach it
                    // (result 2, error 5 "Session ID invalid in this context").
                    if let (Side::Lns, MessageType::Icrp, Some(peer_sid)) =
                        (self.side, t, msg.assigned_session_id().filter(|&s| s != 0))
                    {
                        self.refuse_call(
                            ctx,
                            peer_sid,
                            CdnResult::GeneralError,
                            ErrorCode::InvalidSessionId,
                        );
                        return;
                    }
                    // RFC 2661 §7.3.1 / §7.4.1 idle: Recv ICCN, ICRP (LAC), CDN ->
                    // clean up only (the transport acks it). SLI and WEN are in
                    // neither table and name no peer session a CDN could reach.
                    ctx.events.push_back(Event::Dropped {
                        peer: self.peer,
                        reason: DropReason::UnknownSession {
                            tunnel: self.local_id,
                            session: header.session_id,
                            message_type: t,
                        },
                    });
                    return;
                };
                // RFC 2661 §7.3.1 / §7.4.1 any state: Recv CDN -> clean up, with
                // no CDN back, even if it carries an unknown M-bit AVP or lacks
                // one (§4.1's "terminated" is what the CDN already does).
                if t == MessageType::Cdn {
                    return self.on_known_session_message(ctx, header.session_id, phase, msg);
                }
                // RFC 2661 §4.1: an unknown M-bit AVP in a session message ends the session only.
                if msg.unknown_mandatory().is_some() {
                    self.end_session(
                        ctx,
                        header.session_id,
                        CdnResult::GeneralError,
                        ErrorCode::UnknownMandatoryAvp,
                        None,
                    );
                    return;
                }
                if msg.missing_mandatory().is_some() {
                    self.end_session(
                        ctx,
                        header.session_id,
                        CdnResult::GeneralError,
                        ErrorCode::BadValue,
                        None,
                    );
                    return;
                }
                self.on_known_session_message(ctx, header.session_id, phase, msg);
            }
        }
    }

    fn on_known_session_message(
        &mut self,
        ctx: &mut Ctx<'_>,
        sid: u16,
        phase: SessionPhase,
        msg: Message,
    ) {
        match (phase, msg.message_type) {
            // RFC 2661 §7.3.1 wait-reply: Recv ICRP, acceptable -> send ICCN, established.
            (SessionPhase::WaitReply, MessageType::Icrp) => {
                let peer_sid = msg.assigned_session_id().unwrap_or(0);
                let mut iccn = Message::new(MessageType::Iccn);
                let call_avps = self
                    .sessions
                    .get(&sid)
                    .map(|s| s.call.iccn_avps())
                    .unwrap_or_default();
                for v in call_avps {
                    iccn = iccn.with(v);
                }
                if let Some(s) = self.sessions.get_mut(&sid) {
                    s.peer_id = peer_sid;
                    s.phase = SessionPhase::Established;
                }
                self.send(ctx, peer_sid, iccn);
                self.session_up(ctx, sid);
            }
            // RFC 2661 §7.4.1 wait-connect: Recv ICCN, acceptable -> established.
            (SessionPhase::WaitConnect, MessageType::Iccn) => {
                if let Some(s) = self.sessions.get_mut(&sid) {
                    s.call.absorb(&msg);
                    s.phase = SessionPhase::Established;
                }
                self.session_up(ctx, sid);
            }
            // RFC 2661 §7.3.1 / §7.4.1 any state: Recv CDN -> clean up, idle.
            (_, MessageType::Cdn) => {
                self.sessions.remove(&sid);
                let rc = msg.result_code().cloned().unwrap_or(ResultCodeValue {
                    result: 0,
                    error: None,
                    message: Vec::new(),
                });
                let cause = msg.find(|v| match v {
                    AvpValue::PppDisconnectCause(c) => Some(c.clone()),
                    _ => None,
                });
                ctx.events.push_back(Event::SessionDown {
                    tunnel: self.local_id,
                    session: sid,
                    reason: SessionDownReason::PeerCdn {
                        result: CdnResult::from(rc.result),
                        error: ErrorCode::from(rc.error.unwrap_or(0)),
                        cause,
                    },
                });
            }
            // RFC 2661 §6.14: Set-Link-Info carries the ACCM.
            (SessionPhase::Established, MessageType::Sli) => {
                if let Some((send_accm, recv_accm)) = msg.find(|v| match v {
                    AvpValue::Accm { send, recv } => Some((*send, *recv)),
                    _ => None,
                }) {
                    ctx.events.push_back(Event::SetLinkInfo {
                        tunnel: self.local_id,
                        session: sid,
                        send_accm,
                        recv_accm,
                    });
                }
            }
            // RFC 2661 §6.13: WAN-Error-Notify carries error counters.
            (SessionPhase::Established, MessageType::Wen) => {
                if let Some(errors) = msg.find(|v| match v {
                    AvpValue::CallErrors(e) => Some(*e),
                    _ => None,
                }) {
                    ctx.events.push_back(Event::WanErrorNotify {
                        tunnel: self.local_id,
                        session: sid,
                        errors,
                    });
                }
            }
            // RFC 2661 §7.3.1 / §7.4.1: anything else is a session FSM error -> CDN.
            _ => self.end_session(
                ctx,
                sid,
                CdnResult::GeneralError,
                ErrorCode::InvalidSessionId,
                None,
            ),
        }
    }

    /// RFC 2661 §7.4.1 idle: Recv ICRQ -> ICRP (acceptable) or CDN (not).
    fn on_icrq(&mut self, ctx: &mut Ctx<'_>, header: &Header, msg: Message) {
        let Some(peer_sid) = msg.assigned_session_id() else {
            ctx.events.push_back(Event::Dropped {
                peer: self.peer,
                reason: DropReason::UnknownSession {
                    tunnel: self.local_id,
                    session: header.session_id,
                    message_type: MessageType::Icrq,
                },
            });
            return;
        };
        if msg.unknown_mandatory().is_some() {
            self.refuse_call(
                ctx,
                peer_sid,
                CdnResult::GeneralError,
                ErrorCode::UnknownMandatoryAvp,
            );
            return;
        }
        if msg.missing_mandatory().is_some() || peer_sid == 0 {
            self.refuse_call(ctx, peer_sid, CdnResult::GeneralError, ErrorCode::BadValue);
            return;
        }
        if self.sessions.len() >= ctx.config.limits.max_sessions_per_tunnel.min(0xfffe) {
            self.refuse_call(
                ctx,
                peer_sid,
                CdnResult::NoFacilitiesTemporary,
                ErrorCode::NoResources,
            );
            return;
        }
        let sid = self.allocate_session_id(ctx);
        let mut call = CallInfo::default();
        call.absorb(&msg);
        self.sessions.insert(
            sid,
            Session {
                local_id: sid,
                peer_id: peer_sid,
                phase: SessionPhase::WaitConnect,
                call: Box::new(call),
            },
        );
        let icrp = Message::new(MessageType::Icrp).with(AvpValue::AssignedSessionId(sid));
        self.send(ctx, peer_sid, icrp);
    }

    /// LAC: starts an incoming call (§7.3.1: ICRQ). Returns our session id.
    pub(crate) fn open_session(&mut self, ctx: &mut Ctx<'_>, mut call: CallInfo) -> u16 {
        let sid = self.allocate_session_id(ctx);
        self.next_call_serial = self.next_call_serial.wrapping_add(1);
        call.call_serial = self.next_call_serial;
        let mut icrq = Message::new(MessageType::Icrq).with(AvpValue::AssignedSessionId(sid));
        for v in call.icrq_avps() {
            icrq = icrq.with(v);
        }
        self.sessions.insert(
            sid,
            Session {
                local_id: sid,
                peer_id: 0,
                phase: SessionPhase::WaitReply,
                call: Box::new(call),
            },
        );
        self.send(ctx, 0, icrq);
        sid
    }

    /// Sends CDN for our session `sid` and forgets it (§5.4.4, §7.3.1).
    pub(crate) fn end_session(
        &mut self,
        ctx: &mut Ctx<'_>,
        sid: u16,
        result: CdnResult,
        error: ErrorCode,
        cause: Option<DisconnectCause>,
    ) {
        let Some(session) = self.sessions.remove(&sid) else {
            return;
        };
        let mut cdn = Message::new(MessageType::Cdn)
            .with(AvpValue::ResultCode(ResultCodeValue {
                result: u16::from(result),
                error: Some(u16::from(error)),
                message: Vec::new(),
            }))
            .with(AvpValue::AssignedSessionId(sid));
        if let Some(c) = cause {
            cdn = cdn.with(AvpValue::PppDisconnectCause(c));
        }
        self.send(ctx, session.peer_id, cdn);
        ctx.events.push_back(Event::SessionDown {
            tunnel: self.local_id,
            session: sid,
            reason: SessionDownReason::LocalCdn { result, error },
        });
    }

    /// CDN for a call we never created (Assigned Session ID 0).
    fn refuse_call(
        &mut self,
        ctx: &mut Ctx<'_>,
        peer_sid: u16,
        result: CdnResult,
        error: ErrorCode,
    ) {
        let cdn = Message::new(MessageType::Cdn)
            .with(AvpValue::ResultCode(ResultCodeValue {
                result: u16::from(result),
                error: Some(u16::from(error)),
                message: Vec::new(),
            }))
            .with(AvpValue::AssignedSessionId(0));
        self.send(ctx, peer_sid, cdn);
        ctx.events.push_back(Event::SessionRefused {
            tunnel: self.local_id,
            peer_session: peer_sid,
            result,
            error,
        });
    }

    fn session_up(&mut self, ctx: &mut Ctx<'_>, sid: u16) {
        if let Some(s) = self.sessions.get(&sid) {
            ctx.events.push_back(Event::SessionUp {
                tunnel: self.local_id,
                session: sid,
                route: SessionRoute {
                    peer: self.peer,
                    local: self.local,
                    peer_tunnel_id: self.peer_id,
                    peer_session_id: s.peer_id,
                },
                call: s.call.clone(),
            });
        }
    }

    /// A random non-zero session id not in use in this tunnel.
    fn allocate_session_id(&mut self, ctx: &mut Ctx<'_>) -> u16 {
        super::endpoint::free_id(&mut *ctx.entropy, |id| self.sessions.contains_key(&id))
    }
}

/// Marks the AVPs §4.3 hiding applies to and inserts a Random Vector before
/// the first one. Returns false if nothing needed hiding.
pub(crate) fn hide_sensitive(msg: &mut Message, random_vector: [u8; 16]) -> bool {
    let sensitive = |v: &AvpValue| {
        matches!(
            v.kind(),
            (0, attr::PROXY_AUTHEN_NAME)
                | (0, attr::PROXY_AUTHEN_CHALLENGE)
                | (0, attr::PROXY_AUTHEN_ID)
                | (0, attr::PROXY_AUTHEN_RESPONSE)
                | (0, attr::CALLING_NUMBER)
                | (0, attr::CALLED_NUMBER)
        )
    };
    let Some(first) = msg.avps.iter().position(|a| sensitive(&a.value)) else {
        return false;
    };
    for a in &mut msg.avps {
        if sensitive(&a.value) {
            a.visibility = Visibility::Hidden;
        }
    }
    msg.avps.insert(
        first,
        Avp {
            criticality: Criticality::Mandatory,
            visibility: Visibility::Clear,
            value: AvpValue::RandomVector(random_vector.to_vec()),
        },
    );
    true
}
