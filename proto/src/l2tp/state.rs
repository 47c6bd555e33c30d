//! Conversions between live tunnels and their replicated protobuf encoding
//! (`schema/l2tp.proto`, version 1).
//!
//! Contract: `restore(snapshot(t)) == t` for every tunnel, field for field
//! (ids, peer, FSM phase, Ns/Nr, unacked queue with retransmission counts
//! and absolute deadlines, reorder buffer, ack and HELLO timers, settings,
//! sessions with their call information), so a tunnel restored on another
//! node continues the conversation exactly as the original would have.
//! Pending transmits and events are outputs, not state: drain them first.

use super::avp::{emit_avps, parse_avps, Avp, AvpError};
use super::avp_types::AvpValue;
use super::config::{Hiding, PeerSettings, Side, TunnelAuth};
use super::endpoint::Endpoint;
use super::reliable::{Outgoing, Reliable};
use super::session::{CallInfo, Session, SessionPhase};
use super::tunnel::{Phase, Tunnel};
use crate::pb::l2tp as pb;
use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use thiserror::Error;

/// The schema version written by this code.
pub const STATE_VERSION: u32 = 1;

/// A snapshot that cannot be restored (corrupt or from a newer version).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StateError {
    /// Written by an incompatible schema version.
    #[error("unsupported state version {0}")]
    UnsupportedVersion(u32),
    /// An address that does not parse.
    #[error("bad socket address {0:?}")]
    BadAddress(String),
    /// An enum value out of range.
    #[error("bad value for {0}")]
    BadEnum(&'static str),
    /// A 16-bit field holding a larger number.
    #[error("{0} out of range")]
    OutOfRange(&'static str),
    /// Call information that does not decode.
    #[error("bad call AVPs: {0}")]
    BadCall(AvpError),
}

impl Endpoint {
    /// The replicated state of one tunnel.
    pub fn snapshot_tunnel(&self, id: u16) -> Option<pb::TunnelState> {
        self.tunnels.get(&id).map(tunnel_to_pb)
    }

    /// Installs (or replaces) a tunnel from its replicated state; returns its id.
    pub fn restore_tunnel(&mut self, state: &pb::TunnelState) -> Result<u16, StateError> {
        let t = tunnel_from_pb(state)?;
        let id = t.local_id;
        if t.side == Side::Lns {
            self.by_peer.insert((t.peer, t.peer_id), id);
        }
        self.tunnels.insert(id, t);
        Ok(id)
    }

    /// The replicated state of every tunnel.
    pub fn snapshot(&self) -> pb::EndpointState {
        pb::EndpointState {
            version: STATE_VERSION,
            tunnels: self.tunnels.values().map(tunnel_to_pb).collect(),
        }
    }

    /// An endpoint rebuilt from [`Endpoint::snapshot`] with `config`.
    pub fn restore(
        config: super::config::EndpointConfig,
        state: &pb::EndpointState,
    ) -> Result<Endpoint, StateError> {
        if state.version != STATE_VERSION {
            return Err(StateError::UnsupportedVersion(state.version));
        }
        let mut e = Endpoint::new(config);
        for t in &state.tunnels {
            e.restore_tunnel(t)?;
        }
        Ok(e)
    }
}

fn tunnel_to_pb(t: &Tunnel) -> pb::TunnelState {
    let (phase, until) = match t.phase {
        Phase::WaitCtlReply => (pb::TunnelPhase::WaitCtlReply, 0),
        Phase::WaitCtlConn => (pb::TunnelPhase::WaitCtlConn, 0),
        Phase::Established => (pb::TunnelPhase::Established, 0),
        Phase::Closing { until } => (pb::TunnelPhase::Closing, until.unix_micros()),
    };
    let r = &t.reliable;
    pb::TunnelState {
        version: STATE_VERSION,
        side: match t.side {
            Side::Lac => pb::EndpointSide::Lac,
            Side::Lns => pb::EndpointSide::Lns,
        } as i32,
        local_id: u32::from(t.local_id),
        peer_id: u32::from(t.peer_id),
        local: t.local.to_string(),
        peer: t.peer.to_string(),
        phase: phase as i32,
        closing_until_us: until,
        ns_next: u32::from(r.ns_next),
        nr: u32::from(r.nr),
        peer_window: u32::from(r.peer_window),
        cwnd: u32::from(r.cwnd),
        ssthresh: u32::from(r.ssthresh),
        avoidance_acks: u32::from(r.avoidance_acks),
        queue: r
            .queue
            .iter()
            .map(|m| pb::OutgoingMessage {
                ns: u32::from(m.ns),
                tunnel_id: u32::from(m.tunnel_id),
                session_id: u32::from(m.session_id),
                body: m.body.clone(),
                transmissions: m.transmissions,
                deadline_us: m.deadline.unix_micros(),
            })
            .collect(),
        reorder: r
            .reorder
            .iter()
            .map(|(ns, d)| pb::BufferedMessage {
                ns: u32::from(*ns),
                datagram: d.clone(),
            })
            .collect(),
        ack_deadline_us: r.ack_deadline.map(Timestamp::unix_micros),
        last_activity_us: r.last_activity.unix_micros(),
        secret: t.settings.secret.clone(),
        auth: match t.settings.auth {
            TunnelAuth::Required => pb::TunnelAuthMode::Required,
            TunnelAuth::NotRequired => pb::TunnelAuthMode::NotRequired,
        } as i32,
        hiding: match t.settings.hiding {
            Hiding::Off => pb::HidingMode::Off,
            Hiding::Sensitive => pb::HidingMode::Sensitive,
        } as i32,
        our_challenge: t.our_challenge.clone(),
        peer_host_name: t.peer_host_name.clone(),
        next_call_serial: t.next_call_serial,
        started_us: t.started.unix_micros(),
        retransmits: t.retransmits,
        peer_vendor_name: t.peer_vendor_name.clone(),
        sessions: t
            .sessions
            .values()
            .map(|s| pb::SessionState {
                local_id: u32::from(s.local_id),
                peer_id: u32::from(s.peer_id),
                phase: match s.phase {
                    SessionPhase::WaitReply => pb::SessionPhase::WaitReply,
                    SessionPhase::WaitConnect => pb::SessionPhase::WaitConnect,
                    SessionPhase::Established => pb::SessionPhase::Established,
                } as i32,
                call_avps: call_to_bytes(&s.call),
            })
            .collect(),
    }
}

fn tunnel_from_pb(p: &pb::TunnelState) -> Result<Tunnel, StateError> {
    if p.version != STATE_VERSION {
        return Err(StateError::UnsupportedVersion(p.version));
    }
    let side = match pb::EndpointSide::try_from(p.side) {
        Ok(pb::EndpointSide::Lac) => Side::Lac,
        Ok(pb::EndpointSide::Lns) => Side::Lns,
        _ => return Err(StateError::BadEnum("side")),
    };
    let phase = match pb::TunnelPhase::try_from(p.phase) {
        Ok(pb::TunnelPhase::WaitCtlReply) => Phase::WaitCtlReply,
        Ok(pb::TunnelPhase::WaitCtlConn) => Phase::WaitCtlConn,
        Ok(pb::TunnelPhase::Established) => Phase::Established,
        Ok(pb::TunnelPhase::Closing) => Phase::Closing {
            until: Timestamp::from_unix_micros(p.closing_until_us),
        },
        _ => return Err(StateError::BadEnum("phase")),
    };
    let auth = match pb::TunnelAuthMode::try_from(p.auth) {
        Ok(pb::TunnelAuthMode::Required) => TunnelAuth::Required,
        Ok(pb::TunnelAuthMode::NotRequired) => TunnelAuth::NotRequired,
        _ => return Err(StateError::BadEnum("auth")),
    };
    let hiding = match pb::HidingMode::try_from(p.hiding) {
        Ok(pb::HidingMode::Off) => Hiding::Off,
        Ok(pb::HidingMode::Sensitive) => Hiding::Sensitive,
        _ => return Err(StateError::BadEnum("hiding")),
    };
    let mut queue = std::collections::VecDeque::new();
    for m in &p.queue {
        queue.push_back(Outgoing {
            ns: id16(m.ns, "queue.ns")?,
            tunnel_id: id16(m.tunnel_id, "queue.tunnel_id")?,
            session_id: id16(m.session_id, "queue.session_id")?,
            body: m.body.clone(),
            transmissions: m.transmissions,
            deadline: Timestamp::from_unix_micros(m.deadline_us),
        });
    }
    let mut reorder = Vec::new();
    for b in &p.reorder {
        reorder.push((id16(b.ns, "reorder.ns")?, b.datagram.clone()));
    }
    let mut sessions = BTreeMap::new();
    for s in &p.sessions {
        let phase = match pb::SessionPhase::try_from(s.phase) {
            Ok(pb::SessionPhase::WaitReply) => SessionPhase::WaitReply,
            Ok(pb::SessionPhase::WaitConnect) => SessionPhase::WaitConnect,
            Ok(pb::SessionPhase::Established) => SessionPhase::Established,
            _ => return Err(StateError::BadEnum("session.phase")),
        };
        let local_id = id16(s.local_id, "session.local_id")?;
        sessions.insert(
            local_id,
            Session {
                local_id,
                peer_id: id16(s.peer_id, "session.peer_id")?,
                phase,
                call: Box::new(call_from_bytes(&s.call_avps)?),
            },
        );
    }
    Ok(Tunnel {
        side,
        local_id: id16(p.local_id, "local_id")?,
        peer_id: id16(p.peer_id, "peer_id")?,
        local: address(&p.local)?,
        peer: address(&p.peer)?,
        phase,
        reliable: Reliable {
            ns_next: id16(p.ns_next, "ns_next")?,
            nr: id16(p.nr, "nr")?,
            peer_window: id16(p.peer_window, "peer_window")?,
            cwnd: id16(p.cwnd, "cwnd")?,
            ssthresh: id16(p.ssthresh, "ssthresh")?,
            avoidance_acks: id16(p.avoidance_acks, "avoidance_acks")?,
            queue,
            reorder,
            ack_deadline: p.ack_deadline_us.map(Timestamp::from_unix_micros),
            last_activity: Timestamp::from_unix_micros(p.last_activity_us),
        },
        sessions,
        settings: PeerSettings {
            secret: p.secret.clone(),
            auth,
            hiding,
        },
        our_challenge: p.our_challenge.clone(),
        peer_host_name: p.peer_host_name.clone(),
        next_call_serial: p.next_call_serial,
        started: Timestamp::from_unix_micros(p.started_us),
        retransmits: p.retransmits,
        peer_vendor_name: p.peer_vendor_name.clone(),
    })
}

fn id16(v: u32, field: &'static str) -> Result<u16, StateError> {
    u16::try_from(v).map_err(|_| StateError::OutOfRange(field))
}

fn address(s: &str) -> Result<SocketAddr, StateError> {
    s.parse().map_err(|_| StateError::BadAddress(s.to_owned()))
}

/// Present call fields as clear AVPs (absent fields stay absent).
fn call_to_bytes(c: &CallInfo) -> Vec<u8> {
    let mut values = vec![AvpValue::CallSerialNumber(c.call_serial)];
    let icrq = c.icrq_avps();
    values.extend(icrq.into_iter().skip(1));
    let p = c.proxy_info();
    values.extend(c.tx_connect_speed.map(AvpValue::TxConnectSpeed));
    values.extend(c.framing_type.map(AvpValue::FramingType));
    values.extend(c.rx_connect_speed.map(AvpValue::RxConnectSpeed));
    values.extend(
        c.private_group_id()
            .map(|x| AvpValue::PrivateGroupId(x.to_vec())),
    );
    if c.sequencing == super::session::Sequencing::Required {
        values.push(AvpValue::SequencingRequired);
    }
    values.extend(
        p.initial_received_lcp_confreq
            .clone()
            .map(AvpValue::InitialReceivedLcpConfReq),
    );
    values.extend(
        p.last_sent_lcp_confreq
            .clone()
            .map(AvpValue::LastSentLcpConfReq),
    );
    values.extend(
        p.last_received_lcp_confreq
            .clone()
            .map(AvpValue::LastReceivedLcpConfReq),
    );
    values.extend(
        p.authen_type
            .map(|t| AvpValue::ProxyAuthenType(u16::from(t))),
    );
    values.extend(p.authen_name.clone().map(AvpValue::ProxyAuthenName));
    values.extend(
        p.authen_challenge
            .clone()
            .map(AvpValue::ProxyAuthenChallenge),
    );
    values.extend(p.authen_id.map(AvpValue::ProxyAuthenId));
    values.extend(p.authen_response.clone().map(AvpValue::ProxyAuthenResponse));
    let avps: Vec<Avp> = values.into_iter().map(Avp::new).collect();
    let mut out = Vec::new();
    // Clear AVPs of bounded size: emission cannot fail for values that
    // arrived in (or were built for) a single control message.
    let _ = emit_avps(&avps, None, &mut out);
    out
}

fn call_from_bytes(b: &[u8]) -> Result<CallInfo, StateError> {
    let avps = parse_avps(b, None).map_err(StateError::BadCall)?;
    let mut msg = super::message::Message::new(super::message::MessageType::Iccn);
    msg.avps = avps;
    let mut c = CallInfo::default();
    c.absorb(&msg);
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::l2tp::session::{ProxyAuthType, ProxyInfo, RareCallAvps};

    #[test]
    fn call_info_roundtrips_exactly() {
        let full = CallInfo {
            call_serial: 7,
            bearer_type: Some(2),
            physical_channel: Some(3),
            calling_number: Some(b"0612".into()),
            called_number: Some(b"3615".into()),
            tx_connect_speed: Some(1),
            rx_connect_speed: Some(2),
            framing_type: Some(1),
            rare: Some(Box::new(RareCallAvps {
                sub_address: Some(b"x".to_vec()),
                private_group_id: Some(b"g".to_vec()),
            })),
            sequencing: crate::l2tp::session::Sequencing::Required,
            proxy: Some(Box::new(ProxyInfo {
                initial_received_lcp_confreq: Some(vec![0x01, 0x04, 0x05, 0xd4]),
                last_sent_lcp_confreq: Some(vec![0x03, 0x04, 0xc0, 0x23]),
                last_received_lcp_confreq: Some(vec![0x05, 0x06, 0, 0, 0, 1]),
                authen_type: Some(ProxyAuthType::Chap),
                authen_name: Some(b"alice".to_vec()),
                authen_challenge: Some(vec![9; 16]),
                authen_id: Some(4),
                authen_response: Some(vec![8; 16]),
            })),
        };
        for c in [full, CallInfo::default()] {
            assert_eq!(call_from_bytes(&call_to_bytes(&c)), Ok(c));
        }
    }

    #[test]
    fn corrupt_state_is_refused() {
        let mut e = pb::EndpointState {
            version: 9,
            tunnels: Vec::new(),
        };
        let cfg = crate::l2tp::EndpointConfig::new(Side::Lns, b"lns");
        assert_eq!(
            Endpoint::restore(cfg.clone(), &e).err(),
            Some(StateError::UnsupportedVersion(9))
        );
        e.version = STATE_VERSION;
        e.tunnels.push(pb::TunnelState {
            version: STATE_VERSION,
            ..Default::default()
        });
        assert_eq!(
            Endpoint::restore(cfg, &e).err(),
            Some(StateError::BadEnum("side"))
        );
    }
}
