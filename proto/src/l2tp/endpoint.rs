//! The L2TP endpoint: demultiplexes datagrams to tunnels, accepts or
//! refuses SCCRQs, runs timers and takes the caller's commands. This is
//! what the daemon (LNS) and the test LAC drive.
//!
//! Contract (quinn-style, sans-IO): inputs are [`Endpoint::handle_datagram`],
//! [`Endpoint::handle_timeout`] and the commands; outputs are drained with
//! [`Endpoint::poll_transmit`], [`Endpoint::poll_event`] and
//! [`Endpoint::poll_timeout`]. Datagrams are matched to a tunnel by our
//! tunnel id and must come from the tunnel's peer address; tunnel id 0 is
//! accepted only for an SCCRQ, and a retransmitted SCCRQ (same peer, same
//! Assigned Tunnel ID) reaches the tunnel it created. A refused SCCRQ gets a
//! StopCCN (RFC 2661 §5.1), never silence. Same state + same inputs (time,
//! bytes, entropy) = same outputs: all maps are ordered.
//!
//! The Tie Breaker AVP (§4.4.3) is parsed and deliberately ignored: it only
//! decides between two SCCRQs crossing between the same pair ("the
//! recipient of a SCCRQ must check to see if a SCCRQ has been sent to the
//! peer"), and an LNS endpoint never sends SCCRQ (`open_tunnel` is LAC-only),
//! so there is never an outstanding SCCRQ of ours to compare with.
//!
//! Unknown tunnel ids (and non-SCCRQ messages with tunnel id 0, e.g. an
//! ICRQ) are dropped with an event and no reply: RFC 2661 defines no answer
//! for them and we cannot address one (we know no peer tunnel id).

use super::avp::AvpError;
use super::avp_types::{AvpValue, CallErrors, DisconnectCause, ResultCodeValue};
use super::config::{EndpointConfig, PeerSettings, PeerTable, Side};
use super::data::DataInfo;
use super::event::{Counters, DropReason, Event, SessionRoute, Transmit};
use super::header::{Header, HeaderView, Kind};
use super::hidden::HiddenError;
use super::message::{Message, MessageError, MessageType};
use super::result_code::{CdnResult, ErrorCode, StopCcnResult};
use super::session::{CallInfo, SessionPhase};
use super::tunnel::{Ctx, Fate, Phase, Tunnel};
use crate::entropy::Entropy;
use crate::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use thiserror::Error;

/// A tunnel's context (`Ctx`) over the endpoint's configuration and output
/// queues only: a macro, so that its borrows stay apart from a borrow of
/// one of `self.tunnels` (a method would borrow the whole endpoint).
macro_rules! tunnel_ctx {
    ($ep:ident, $now:expr, $entropy:expr) => {
        Ctx {
            now: $now,
            config: &$ep.config,
            entropy: $entropy,
            events: &mut $ep.events,
            transmits: &mut $ep.transmits,
            counters: &mut $ep.counters,
        }
    };
}

/// A command the endpoint cannot carry out: the caller's mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CommandError {
    /// No such tunnel.
    #[error("no tunnel {0}")]
    UnknownTunnel(u16),
    /// No such session.
    #[error("no session {session} in tunnel {tunnel}")]
    UnknownSession {
        /// Tunnel.
        tunnel: u16,
        /// Session.
        session: u16,
    },
    /// The tunnel is not (or no longer) established.
    #[error("tunnel {0} is not established")]
    NotEstablished(u16),
    /// The command belongs to the other side (e.g. `open_tunnel` on an LNS).
    #[error("command not available on this side")]
    WrongSide,
    /// A configured limit is reached.
    #[error("resource limit reached")]
    NoResources,
}

/// The L2TP control plane of one node.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub(crate) config: EndpointConfig,
    pub(crate) tunnels: BTreeMap<u16, Tunnel>,
    /// (peer address, peer's Assigned Tunnel ID) -> our id, for SCCRQ retransmissions.
    pub(crate) by_peer: BTreeMap<(SocketAddr, u16), u16>,
    /// Tunnels whose replicated state may have changed since `take_changed`.
    changed: BTreeSet<u16>,
    counters: Counters,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

impl Endpoint {
    /// An endpoint with no tunnels.
    pub fn new(config: EndpointConfig) -> Self {
        Endpoint {
            config,
            tunnels: BTreeMap::new(),
            by_peer: BTreeMap::new(),
            changed: BTreeSet::new(),
            counters: Counters::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Replaces the peer table (SIGHUP); existing tunnels keep their settings.
    pub fn set_peers(&mut self, peers: PeerTable) {
        self.config.peers = peers;
    }

    /// One UDP datagram from `peer` to our address `local`.
    pub fn handle_datagram(
        &mut self,
        now: Timestamp,
        local: SocketAddr,
        peer: SocketAddr,
        datagram: &[u8],
        entropy: &mut dyn Entropy,
    ) {
        self.counters.control_rx += 1;
        let view = match HeaderView::new_checked(datagram) {
            Ok(v) => v,
            Err(e) => return self.drop_datagram(peer, DropReason::Header(e)),
        };
        if view.kind() == Kind::Data {
            return self.drop_datagram(peer, DropReason::DataMessage);
        }
        let tid = view.tunnel_id();
        if tid == 0 {
            return self.on_tunnel_zero(now, local, peer, &view, datagram, entropy);
        }
        let Some(tunnel) = self.tunnels.get_mut(&tid) else {
            return self.drop_datagram(peer, DropReason::UnknownTunnel(tid));
        };
        if tunnel.peer != peer {
            return self.drop_datagram(peer, DropReason::WrongPeer(tid));
        }
        let mut ctx = tunnel_ctx!(self, now, entropy);
        tunnel.on_datagram(&mut ctx, &view, datagram);
        self.changed.insert(tid);
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        let due: Vec<u16> = self
            .tunnels
            .iter()
            .filter(|(_, t)| t.next_deadline(&self.config).is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.changed.insert(id);
            let Some(tunnel) = self.tunnels.get_mut(&id) else {
                continue;
            };
            let mut ctx = tunnel_ctx!(self, now, &mut *entropy);
            if tunnel.on_timeout(&mut ctx) == Fate::Finished {
                self.remove_tunnel(id);
            }
        }
    }

    /// The next instant [`Endpoint::handle_timeout`] has work, if any.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.tunnels
            .values()
            .filter_map(|t| t.next_deadline(&self.config))
            .min()
    }

    /// Ids of tunnels whose replicated state may have changed since the last
    /// call, in order; an id with no [`Endpoint::tunnel`] was removed. The
    /// daemon snapshots exactly these after each batch of inputs and commits
    /// them before sending the batch's transmits (FAILOVER.md, commit before emit).
    pub fn take_changed(&mut self) -> Vec<u16> {
        core::mem::take(&mut self.changed).into_iter().collect()
    }

    /// Removes a tunnel's state without any exchange (a follower applying
    /// a removal that [`Endpoint::take_changed`] reported on the leader).
    pub fn forget_tunnel(&mut self, id: u16) {
        self.remove_tunnel(id);
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let t = self.transmits.pop_front()?;
        self.counters.control_tx += 1;
        Some(t)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.events.pop_front()?;
        self.counters.account(&e);
        Some(e)
    }

    /// Operational counters (not replicated; they restart at zero on restore).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// LAC: opens a tunnel to the LNS at `peer` from our `local` address.
    pub fn open_tunnel(
        &mut self,
        now: Timestamp,
        local: SocketAddr,
        peer: SocketAddr,
        settings: PeerSettings,
        entropy: &mut dyn Entropy,
    ) -> Result<u16, CommandError> {
        if self.config.side != Side::Lac {
            return Err(CommandError::WrongSide);
        }
        if self.over_tunnel_limits() {
            return Err(CommandError::NoResources);
        }
        let id = self.allocate_tunnel_id(entropy);
        let mut ctx = tunnel_ctx!(self, now, entropy);
        let t = Tunnel::open(&mut ctx, id, local, peer, settings);
        self.tunnels.insert(id, t);
        self.changed.insert(id);
        Ok(id)
    }

    /// LAC: starts a call in an established tunnel (ICRQ, then ICCN with
    /// `call`'s speeds, framing, proxy LCP/auth and numbers).
    pub fn open_session(
        &mut self,
        now: Timestamp,
        tunnel: u16,
        call: CallInfo,
        entropy: &mut dyn Entropy,
    ) -> Result<u16, CommandError> {
        if self.config.side != Side::Lac {
            return Err(CommandError::WrongSide);
        }
        let limit = self.config.limits.max_sessions_per_tunnel.min(0xfffe);
        let (t, mut ctx) = self.established(now, tunnel, entropy)?;
        if t.sessions.len() >= limit {
            return Err(CommandError::NoResources);
        }
        let sid = t.open_session(&mut ctx, call);
        t.flush(&mut ctx);
        Ok(sid)
    }

    /// Either side: CDN for our session (§5.4.4), with an optional RFC 3145 cause.
    #[allow(clippy::too_many_arguments)]
    pub fn close_session(
        &mut self,
        now: Timestamp,
        tunnel: u16,
        session: u16,
        result: CdnResult,
        error: ErrorCode,
        cause: Option<DisconnectCause>,
        entropy: &mut dyn Entropy,
    ) -> Result<(), CommandError> {
        let (t, mut ctx) = self.established(now, tunnel, entropy)?;
        if !t.sessions.contains_key(&session) {
            return Err(CommandError::UnknownSession { tunnel, session });
        }
        t.end_session(&mut ctx, session, result, error, cause);
        t.flush(&mut ctx);
        Ok(())
    }

    /// Either side (normally the LNS): Set-Link-Info with the PPP-negotiated ACCM (§6.14).
    pub fn set_link_info(
        &mut self,
        now: Timestamp,
        tunnel: u16,
        session: u16,
        send_accm: u32,
        recv_accm: u32,
        entropy: &mut dyn Entropy,
    ) -> Result<(), CommandError> {
        let msg = Message::new(MessageType::Sli).with(AvpValue::Accm {
            send: send_accm,
            recv: recv_accm,
        });
        self.session_message(now, tunnel, session, msg, entropy)
    }

    /// LAC: WAN-Error-Notify with the call's error counters (§6.13).
    pub fn wan_error_notify(
        &mut self,
        now: Timestamp,
        tunnel: u16,
        session: u16,
        errors: CallErrors,
        entropy: &mut dyn Entropy,
    ) -> Result<(), CommandError> {
        if self.config.side != Side::Lac {
            return Err(CommandError::WrongSide);
        }
        let msg = Message::new(MessageType::Wen).with(AvpValue::CallErrors(errors));
        self.session_message(now, tunnel, session, msg, entropy)
    }

    /// Either side: StopCCN with `result` (§5.7); the id is held down afterwards.
    pub fn close_tunnel(
        &mut self,
        now: Timestamp,
        tunnel: u16,
        result: StopCcnResult,
        entropy: &mut dyn Entropy,
    ) -> Result<(), CommandError> {
        let t = self
            .tunnels
            .get_mut(&tunnel)
            .ok_or(CommandError::UnknownTunnel(tunnel))?;
        let mut ctx = tunnel_ctx!(self, now, entropy);
        t.close(&mut ctx, result);
        self.changed.insert(tunnel);
        Ok(())
    }

    /// Data-plane lookup: (our tunnel id, our session id) -> where frames go.
    pub fn session_route(&self, tunnel: u16, session: u16) -> Option<SessionRoute> {
        let t = self.tunnels.get(&tunnel)?;
        let s = t.sessions.get(&session)?;
        Some(SessionRoute {
            peer: t.peer,
            local: t.local,
            peer_tunnel_id: t.peer_id,
            peer_session_id: s.peer_id,
        })
    }

    /// Data plane admission (RFC 2661 §3.1): the route of the session a
    /// received data message names, only if that session is established in
    /// that tunnel and the datagram came from the tunnel's peer (l2tpns
    /// accepts data under another tunnel's id or from any address).
    pub fn data_session(&self, peer: SocketAddr, info: &DataInfo) -> Option<SessionRoute> {
        let t = self.tunnels.get(&info.tunnel_id)?;
        let s = t.sessions.get(&info.session_id)?;
        (t.peer == peer && t.phase == Phase::Established && s.phase == SessionPhase::Established)
            .then_some(SessionRoute {
                peer: t.peer,
                local: t.local,
                peer_tunnel_id: t.peer_id,
                peer_session_id: s.peer_id,
            })
    }

    /// A tunnel by our id (hold-down included).
    pub fn tunnel(&self, id: u16) -> Option<&Tunnel> {
        self.tunnels.get(&id)
    }

    /// All tunnels in id order (hold-down included).
    pub fn tunnels(&self) -> impl Iterator<Item = &Tunnel> {
        self.tunnels.values()
    }

    fn session_message(
        &mut self,
        now: Timestamp,
        tunnel: u16,
        session: u16,
        msg: Message,
        entropy: &mut dyn Entropy,
    ) -> Result<(), CommandError> {
        let (t, mut ctx) = self.established(now, tunnel, entropy)?;
        let peer_sid = t
            .sessions
            .get(&session)
            .map(|s| s.peer_id)
            .ok_or(CommandError::UnknownSession { tunnel, session })?;
        t.send(&mut ctx, peer_sid, msg);
        t.flush(&mut ctx);
        Ok(())
    }

    fn established<'a>(
        &'a mut self,
        now: Timestamp,
        tunnel: u16,
        entropy: &'a mut dyn Entropy,
    ) -> Result<(&'a mut Tunnel, Ctx<'a>), CommandError> {
        let t = self
            .tunnels
            .get_mut(&tunnel)
            .ok_or(CommandError::UnknownTunnel(tunnel))?;
        if t.phase != Phase::Established {
            return Err(CommandError::NotEstablished(tunnel));
        }
        self.changed.insert(tunnel);
        let ctx = tunnel_ctx!(self, now, entropy);
        Ok((t, ctx))
    }

    /// Tunnel id 0: only an SCCRQ is valid (§3.1, §7.2.1).
    fn on_tunnel_zero(
        &mut self,
        now: Timestamp,
        local: SocketAddr,
        peer: SocketAddr,
        view: &HeaderView<'_>,
        datagram: &[u8],
        entropy: &mut dyn Entropy,
    ) {
        if view.is_zlb() {
            return self.drop_datagram(peer, DropReason::UnknownTunnel(0));
        }
        let msg = match Message::parse(view.payload(), None) {
            Err(MessageError::Avp(AvpError::Hidden(HiddenError::NoSecret))) => {
                let secret = self
                    .config
                    .peers
                    .lookup(None, peer.ip())
                    .and_then(|s| s.secret.clone());
                Message::parse(view.payload(), secret.as_deref())
            }
            other => other,
        };
        let msg = match msg {
            Ok(m) => m,
            Err(e) => return self.drop_datagram(peer, DropReason::Message(e)),
        };
        if msg.message_type != MessageType::Sccrq {
            return self.drop_datagram(peer, DropReason::ZeroTunnelId(msg.message_type));
        }
        if self.config.side != Side::Lns {
            return self.drop_datagram(peer, DropReason::NotAnLns);
        }
        let Some(seq) = view.sequence() else {
            return; // unreachable: control headers carry S
        };
        let peer_tid = msg.assigned_tunnel_id().unwrap_or(0);
        if let Some(&ours) = self.by_peer.get(&(peer, peer_tid)) {
            // A retransmitted SCCRQ: its tunnel acks it again (§5.8).
            if let Some(t) = self.tunnels.get_mut(&ours) {
                let mut ctx = tunnel_ctx!(self, now, entropy);
                t.on_datagram(&mut ctx, view, datagram);
                self.changed.insert(ours);
                return;
            }
        }
        // RFC 2661 §4.1 / §6.1 / §5.1.1 / limits: refuse with StopCCN.
        // RFC 4951 §5.2 / RFC 2661 §4.1: we never offer failover (no Failover
        // Capability AVP), so a recovery SCCRQ is refused as a peer without
        // RFC 4951 would refuse its mandatory Tunnel Recovery AVP.
        let recovery = msg
            .find(|v| matches!(v, AvpValue::TunnelRecovery { .. }).then_some(()))
            .is_some();
        let refusal = if msg.unknown_mandatory().is_some() || recovery {
            Some((StopCcnResult::GeneralError, ErrorCode::UnknownMandatoryAvp))
        } else if msg.missing_mandatory().is_some() || peer_tid == 0 {
            Some((StopCcnResult::GeneralError, ErrorCode::BadValue))
        } else if msg.protocol_version() != Some((0x01, 0x00)) {
            Some((StopCcnResult::UnsupportedVersion, ErrorCode::NoError))
        } else {
            None
        };
        let settings = self
            .config
            .peers
            .lookup(msg.host_name(), peer.ip())
            .cloned();
        let refusal = refusal.or(match &settings {
            None => Some((StopCcnResult::NotAuthorized, ErrorCode::NoError)),
            Some(s) if msg.challenge().is_some() && s.secret.is_none() => {
                Some((StopCcnResult::NotAuthorized, ErrorCode::NoError))
            }
            Some(_) if self.over_tunnel_limits() => {
                Some((StopCcnResult::GeneralError, ErrorCode::NoResources))
            }
            Some(_) => None,
        });
        if let (None, Some(settings)) = (refusal, settings) {
            let id = self.allocate_tunnel_id(entropy);
            let mut ctx = tunnel_ctx!(self, now, entropy);
            let t = Tunnel::accept(&mut ctx, id, local, peer, settings, &msg, seq);
            self.tunnels.insert(id, t);
            self.by_peer.insert((peer, peer_tid), id);
            self.changed.insert(id);
            return;
        }
        let (result, error) = refusal.unwrap_or((StopCcnResult::NotAuthorized, ErrorCode::NoError));
        let stop = Message::new(MessageType::StopCcn)
            .with(AvpValue::AssignedTunnelId(0))
            .with(AvpValue::ResultCode(ResultCodeValue {
                result: u16::from(result),
                error: (error != ErrorCode::NoError).then_some(u16::from(error)),
                message: Vec::new(),
            }));
        let mut body = Vec::new();
        if stop.emit(None, &mut body).is_ok() {
            let mut payload = Vec::with_capacity(12 + body.len());
            Header::control(peer_tid, 0, 0, seq.ns.wrapping_add(1)).emit(&body, &mut payload);
            self.transmits.push_back(Transmit {
                local,
                peer,
                payload,
            });
        }
        self.events.push_back(Event::TunnelRefused {
            peer,
            peer_tunnel: peer_tid,
            result,
            error,
        });
    }

    fn over_tunnel_limits(&self) -> bool {
        let limits = &self.config.limits;
        let half_open = self
            .tunnels
            .values()
            .filter(|t| matches!(t.phase, Phase::WaitCtlConn | Phase::WaitCtlReply))
            .count();
        self.tunnels.len() >= limits.max_tunnels.min(0xfffe) || half_open >= limits.max_half_open
    }

    /// A random non-zero id, not in use and not held down (the caller has
    /// checked the limits, so a free id exists).
    fn allocate_tunnel_id(&self, entropy: &mut dyn Entropy) -> u16 {
        free_id(entropy, |id| self.tunnels.contains_key(&id))
    }

    fn remove_tunnel(&mut self, id: u16) {
        if let Some(t) = self.tunnels.remove(&id) {
            if self.by_peer.get(&(t.peer, t.peer_id)) == Some(&id) {
                self.by_peer.remove(&(t.peer, t.peer_id));
            }
        }
    }

    fn drop_datagram(&mut self, peer: SocketAddr, reason: DropReason) {
        self.events.push_back(Event::Dropped { peer, reason });
    }
}

/// A random non-zero id for which `taken` is false. After a few random
/// draws (an exhausted or constant entropy source must not loop forever)
/// it scans upwards from the last draw. Returns 0 only if every id is taken.
pub(crate) fn free_id(entropy: &mut dyn Entropy, taken: impl Fn(u16) -> bool) -> u16 {
    let mut id = 0;
    for _ in 0..16 {
        id = entropy.next_u16();
        if id != 0 && !taken(id) {
            return id;
        }
    }
    for _ in 0..=0xffffu32 {
        id = id.wrapping_add(1);
        if id != 0 && !taken(id) {
            return id;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::Replay;

    #[test]
    fn id_allocation_survives_exhausted_entropy() {
        // A follower's Replay source returns zeros once exhausted.
        let mut e = Replay::new(&[]);
        assert_eq!(free_id(&mut e, |id| id < 5), 5);
        assert_eq!(free_id(&mut e, |_| true), 0);
    }
}
