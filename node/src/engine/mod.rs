//! # The engine: the whole control plane of one LNS, sans IO
//!
//! Contract: [`Engine::apply`]`(now, input, entropy)` is the only way state
//! changes; outputs are drained with [`Engine::poll_output`] and the next
//! timer with [`Engine::poll_timeout`] (feed [`Input::Tick`] then). No IO, no
//! clock, no hidden randomness, ordered maps only: the same state and the
//! same inputs (bytes, `now`, entropy bytes) give the same outputs and the
//! same state, which is what the failover issue replicates (DESIGN.md D1).
//!
//! It owns the L2TP [`Endpoint`] (Side::Lns), one PPP [`Link`] per session,
//! the address [`Pools`] and the session table. Life of a session:
//!
//! ```text
//! ICRQ/ICCN -> SessionUp event -> Link::open (proxy LCP if any)
//!   LCP up -> PAP/CHAP -> Output::Authenticate -> Input::AuthResult
//!   -> Ack/Success (or Nak/Failure -> LCP Terminate -> CDN cause 16)
//!   -> IPCP: address from the grant or a pool (exhausted: refused, CDN 4)
//!   -> Ipv4Up -> Output::SessionUp (data plane)
//! end: peer CDN/StopCCN, LCP Terminate, echo failure, session/idle
//!   timeout, admin kill, shutdown -> CDN with the RFC 3145 cause
//!   -> Output::SessionDown, address released
//! ```

pub mod accounting;
pub mod ipv6;
mod ipv6_snapshot;
pub mod pool;
pub mod session;
pub mod types;
pub mod v6pool;

mod authorize;
mod flood;
mod ppp_events;
mod rearm;
pub mod setup_failure;
pub mod snapshot;
pub mod stored_grant;
pub mod tally;

pub use accounting::{
    Accounting, AccountingConfig, AccountingMode, AccountingRecord, NasAnnounce, RecordKind,
    SessionCounters, Traffic,
};
pub use authorize::Selector;
pub use ipv6::{Ipv6Grant, Ipv6Settings, PrefixSource, SessionIpv6};
pub use ipv6_snapshot::{Ipv6Record, Ipv6RestoreError};
pub use pool::{PoolError, PoolSpec, Pools};
pub use rearm::{ACCOUNTING_SPREAD, RETRANSMIT_SPREAD, TIMER_SPREAD};
pub use session::{AcctSessionId, AuthPhase, Ending, Session, Stations};
pub use setup_failure::SetupFailures;
pub use snapshot::SnapshotError;
pub use stored_grant::{CompactDuration, StoredGrant};
pub use tally::Tally;
pub use types::{
    AddressGrant, AdminCommand, AuthOutcome, AuthQuery, EngineConfig, Grant, Input, Level, Notice,
    Output, Reauthorization, SecondLoginPolicy, SessionKey,
};
pub use v6pool::{PrefixPool, V6PoolError};

use crate::dataplane::SessionEntry;
use crate::metrics::SessionSetupFailure;
use flood::SetupLimiter;
use lns_proto::entropy::Entropy;
use lns_proto::inline_bytes::InlineBytes;
use lns_proto::l2tp::header::{HeaderView, Kind};
use lns_proto::l2tp::{
    CdnResult, Endpoint, ErrorCode, Event, PeerTable, SessionDownReason, StopCcnResult,
};
use lns_proto::ppp::{Direction, DisconnectCause, DisconnectCode, Link, LinkConfig, Side};
use lns_proto::radius::AcctTerminateCause;
use lns_proto::time::Timestamp;
pub use ppp_events::{data_plane_entry, route_of};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// PPP frames kept per call that arrive before its ICCN is processed.
pub const EARLY_FRAMES: usize = 4;

/// Whether the engine still accepts new tunnels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Normal operation.
    Running,
    /// Shutdown requested: everything is being closed.
    ShuttingDown,
}

/// The control plane of one LNS. Its `Debug` is a summary (the tunnels
/// hold their secrets).
pub struct Engine {
    config: EngineConfig,
    /// `config.link`, shared by every session's PPP link.
    link_config: Arc<LinkConfig>,
    endpoint: Endpoint,
    /// Boxed: a `BTreeMap` node holds 11 values inline and is about half
    /// full after in-order inserts, so a 1.4 KB `Session` inline would
    /// cost about twice its size; boxed, the slack is 8-byte pointers.
    sessions: BTreeMap<SessionKey, Box<Session>>,
    pools: Pools,
    limiter: SetupLimiter,
    next_request: u64,
    state: RunState,
    /// Sessions whose link may have output to drain.
    dirty: BTreeSet<SessionKey>,
    /// Timer index: (deadline, session), so ticks and `poll_timeout` do
    /// not scan every session. Each session keeps its own entry's instant
    /// (`Session::indexed_at`): no second per-session map.
    timers: BTreeSet<(Timestamp, SessionKey)>,
    /// Calls between ICRQ and ICCN, already published to the data plane so
    /// that a PPP frame racing the ICCN is not lost: frames buffered (at
    /// most [`EARLY_FRAMES`]) until the session is up.
    early: BTreeMap<SessionKey, Vec<Vec<u8>>>,
    outputs: VecDeque<Output>,
    /// Event counts by reason, for metrics.
    tally: Tally,
    /// First known cause of each session that may end before it is up.
    failures: SetupFailures,
    /// IPv6 service: prefix pools and per-session RA/DHCPv6 (ipv6.rs).
    v6: ipv6::Ipv6State,
    /// Accounting records and per-session accounting timers.
    accounting: Accounting,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("state", &self.state)
            .field("tunnels", &self.endpoint.tunnels().count())
            .field("sessions", &self.sessions.len())
            .field("pools", &self.pools.usage())
            .finish()
    }
}

impl Engine {
    /// An engine with no tunnels.
    pub fn new(config: EngineConfig) -> Engine {
        let ipv6 = config.ipv6.clone();
        let mut engine = Engine {
            endpoint: Endpoint::new(config.endpoint.clone()),
            pools: Pools::new(&config.pools),
            limiter: SetupLimiter::new(config.setups_per_second_per_source),
            sessions: BTreeMap::new(),
            next_request: 1,
            state: RunState::Running,
            dirty: BTreeSet::new(),
            timers: BTreeSet::new(),
            early: BTreeMap::new(),
            outputs: VecDeque::new(),
            tally: Tally::default(),
            failures: SetupFailures::default(),
            v6: ipv6::Ipv6State::default(),
            accounting: Accounting::new(config.accounting.clone()),
            link_config: Arc::new(config.link.clone()),
            config,
        };
        if let Some(settings) = ipv6 {
            if let Err(e) = engine.enable_ipv6(settings) {
                // Config validation builds these pools first; reaching this
                // means a config that skipped validation.
                engine.notice(Level::Warn, None, format!("IPv6 service off: {e}"));
            }
        }
        engine
    }

    /// Applies one input at `now`.
    pub fn apply(&mut self, now: Timestamp, input: Input, entropy: &mut dyn Entropy) {
        self.accounting_announce(now, entropy);
        match input {
            Input::L2tpDatagram { local, peer, bytes } => {
                self.on_datagram(now, local, peer, &bytes, entropy)
            }
            Input::PppFrame { session, bytes } => {
                if let Some(s) = self.sessions.get_mut(&session) {
                    s.link.handle_frame(now, &bytes, entropy);
                    self.dirty.insert(session);
                    self.on_ipv6_frame(now, session, &bytes, entropy);
                } else if let Some(buffer) = self.early.get_mut(&session) {
                    if buffer.len() < EARLY_FRAMES {
                        buffer.push(bytes);
                    }
                }
            }
            Input::AuthResult {
                session,
                request,
                outcome,
            } => self.on_auth_result(now, session, request, outcome),
            Input::Tick => self.on_tick(now, entropy),
            Input::Admin(cmd) => self.on_admin(now, cmd, entropy),
            Input::Counters(batch) => {
                for c in &batch {
                    if let Some(s) = self.sessions.get_mut(&c.session) {
                        s.counters = s.counters.max(c.traffic);
                    }
                }
                self.accounting_counters(batch)
            }
            Input::AccountingAcked { record } => self.accounting_acked(record),
            Input::Reauthorize { session, change } => self.reauthorize(now, session, change),
            Input::TrafficSeen { session, at } => {
                if let Some(s) = self.sessions.get_mut(&session) {
                    if at > s.last_traffic {
                        s.last_traffic = at;
                        s.link.note_traffic(at.min(now));
                        self.dirty.insert(session);
                    }
                }
            }
            Input::Rearm => self.rearm(now, entropy),
        }
        self.pump(now, entropy);
        self.accounting_sign_off(now, entropy);
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to feed [`Input::Tick`] next. O(log sessions): the sessions'
    /// deadlines (PPP link, RA/DHCPv6) come from the timer index, never a
    /// scan (the control task asks after every batch; a scan cost 85 % of
    /// lnsd's CPU at 20 000 sessions). Tests check it against the scan.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        [
            self.endpoint.poll_timeout(),
            self.timers.first().map(|&(t, _)| t),
            self.accounting.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// SIGHUP: new LAC table (existing tunnels keep their settings) and pools.
    pub fn reconfigure(&mut self, peers: PeerTable, pools: Vec<PoolSpec>) {
        // Kept in the config too: a snapshot restore rebuilds the endpoint
        // from it.
        self.config.endpoint.peers = peers.clone();
        self.endpoint.set_peers(peers);
        self.pools.reconfigure(&pools);
        self.config.pools = pools;
    }

    /// Whether shutdown is done: every StopCCN acknowledged (or given up).
    pub fn quiescent(&self) -> bool {
        self.endpoint.tunnels().all(|t| t.reliable.queue.is_empty())
    }

    /// Running or shutting down.
    pub fn run_state(&self) -> RunState {
        self.state
    }

    /// The session table.
    pub fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values().map(|s| &**s)
    }

    /// One session.
    pub fn session(&self, key: SessionKey) -> Option<&Session> {
        self.sessions.get(&key).map(|s| &**s)
    }

    /// The L2TP endpoint (tunnels, for status views).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The pools (usage, for status views).
    pub fn pools(&self) -> &Pools {
        &self.pools
    }

    /// Event counts by reason since start (control drops, tunnel setup
    /// failures), for metrics.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    // ---- inputs --------------------------------------------------------

    fn on_datagram(
        &mut self,
        now: Timestamp,
        local: std::net::SocketAddr,
        peer: std::net::SocketAddr,
        bytes: &[u8],
        entropy: &mut dyn Entropy,
    ) {
        // A new tunnel (control message to tunnel 0, i.e. an SCCRQ): refused
        // while shutting down, and rate-limited per source address.
        let new_tunnel = HeaderView::new_checked(bytes)
            .is_ok_and(|h| h.kind() == Kind::Control && h.tunnel_id() == 0);
        if new_tunnel {
            if self.state == RunState::ShuttingDown {
                return self.notice(
                    Level::Debug,
                    None,
                    format!("SCCRQ from {peer} dropped: shutting down"),
                );
            }
            if !self.limiter.admit(now, peer.ip()) {
                return self.notice(
                    Level::Debug,
                    None,
                    format!(
                        "SCCRQ from {peer} dropped: more than {} setups per second from {}",
                        self.config.setups_per_second_per_source,
                        peer.ip()
                    ),
                );
            }
        }
        self.endpoint
            .handle_datagram(now, local, peer, bytes, entropy);
        if let Ok(h) = HeaderView::new_checked(bytes) {
            self.publish_calls(h.tunnel_id());
        }
    }

    /// Publishes calls of `tunnel` that got their ICRP but not yet ICCN
    /// (RFC 2661 §7.4.1 wait-connect): a LAC may send the subscriber's
    /// first LCP frame right behind its ICCN, and the data plane drops data
    /// for sessions it does not know.
    fn publish_calls(&mut self, tunnel: u16) {
        let Some(t) = self.endpoint.tunnel(tunnel) else {
            return;
        };
        for (sid, call) in &t.sessions {
            let key = SessionKey {
                tunnel,
                session: *sid,
            };
            if call.phase != lns_proto::l2tp::session::SessionPhase::WaitConnect
                || self.sessions.contains_key(&key)
                || self.early.contains_key(&key)
            {
                continue;
            }
            self.early.insert(key, Vec::new());
            self.outputs.push_back(Output::SessionUp(SessionEntry {
                tunnel_id: tunnel,
                session_id: *sid,
                peer_tunnel_id: t.peer_id,
                peer_session_id: call.peer_id,
                peer: t.peer,
                local: t.local,
                ipv4: None,
                ipv6_prefixes: Vec::new(),
                mru: self.config.link.mru,
                compression: lns_proto::ppp::frame::Compression::default(),
            }));
        }
    }

    fn on_auth_result(
        &mut self,
        now: Timestamp,
        key: SessionKey,
        request: u64,
        outcome: AuthOutcome,
    ) {
        let Some(s) = self.sessions.get_mut(&key) else {
            return; // The session ended while AAA was thinking.
        };
        if s.auth != AuthPhase::Pending(request) {
            return; // A stale answer (retransmitted PAP/CHAP got a new request).
        }
        self.dirty.insert(key);
        match outcome {
            AuthOutcome::Accept(grant) => {
                s.auth = AuthPhase::Accepted;
                s.authenticated_at = Some(now);
                let timeout = grant.session_timeout.or(self.config.session_timeout);
                s.session_deadline = timeout.map(|t| now + t);
                s.idle_timeout = grant.idle_timeout.or(self.config.idle_timeout).into();
                // RFC 3162 §2.2: Framed-Interface-Id is the identifier the
                // subscriber's IPV6CP must settle on (Nak'd to it otherwise).
                if let Some(id) = grant.ipv6().interface_id {
                    s.link.assign_peer_interface_id(u64::from_be_bytes(id));
                }
                s.grant = Some(StoredGrant::from(grant));
                s.link.auth_accepted(now, "Welcome");
                let user = s.user.clone();
                let text = format!("user {:?} authenticated", s.user_text());
                self.notice(Level::Info, Some(key), text);
                if self.config.second_login == SecondLoginPolicy::ReplaceOlder {
                    self.replace_older(now, key, &user);
                }
            }
            AuthOutcome::Reject | AuthOutcome::Unavailable => {
                let (message, why, failure) = if outcome == AuthOutcome::Reject {
                    (
                        "Authentication failed",
                        "rejected",
                        SessionSetupFailure::AuthRejected,
                    )
                } else {
                    (
                        "Authentication service unavailable",
                        "AAA unavailable",
                        SessionSetupFailure::RadiusUnavailable,
                    )
                };
                self.failures.note(key, failure);
                s.auth = AuthPhase::Rejected;
                s.link.auth_rejected(now, message);
                let text = format!("user {:?} refused: {why}", s.user_text());
                self.notice(Level::Warn, Some(key), text);
            }
        }
    }

    fn on_tick(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        if self.endpoint.poll_timeout().is_some_and(|t| t <= now) {
            self.endpoint.handle_timeout(now, entropy);
        }
        let due: Vec<SessionKey> = self
            .timers
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, k)| *k)
            .collect();
        for key in due {
            let Some(s) = self.sessions.get_mut(&key) else {
                continue;
            };
            self.dirty.insert(key);
            if s.link.poll_timeout().is_some_and(|d| d <= now) {
                s.link.handle_timeout(now, entropy);
            }
            self.ipv6_timeout(now, key, entropy);
            let Some(s) = self.sessions.get_mut(&key) else {
                continue;
            };
            let why = if s.ending != Ending::No {
                None
            } else if s.session_deadline.is_some_and(|d| d <= now) {
                Some(("session timeout", AcctTerminateCause::SessionTimeout))
            } else if s.idle_deadline().is_some_and(|d| d <= now) {
                Some(("idle timeout", AcctTerminateCause::IdleTimeout))
            } else {
                None
            };
            if let Some((why, cause)) = why {
                // RFC 2866 §5.10.
                self.accounting.note_cause(key, cause);
                self.notice(Level::Info, Some(key), format!("ending session: {why}"));
                self.end_session(now, key, CdnResult::Administrative, why);
            }
        }
        self.accounting_tick(now);
    }

    fn on_admin(&mut self, now: Timestamp, cmd: AdminCommand, entropy: &mut dyn Entropy) {
        match cmd {
            AdminCommand::KillSession(key) => {
                // RFC 2866 §5.10: an operator or a Disconnect-Request.
                self.accounting
                    .note_cause(key, AcctTerminateCause::AdminReset);
                self.notice(
                    Level::Info,
                    Some(key),
                    "session killed by the operator".into(),
                );
                self.end_session(
                    now,
                    key,
                    CdnResult::Administrative,
                    "killed by the operator",
                );
            }
            AdminCommand::KillTunnel(id) => {
                let keys: Vec<SessionKey> = self
                    .sessions
                    .keys()
                    .filter(|k| k.tunnel == id)
                    .copied()
                    .collect();
                for k in keys {
                    self.accounting
                        .note_cause(k, AcctTerminateCause::AdminReset);
                }
                self.terminate_links(
                    now,
                    |k| k.tunnel == id,
                    "tunnel killed by the operator",
                    entropy,
                );
                let r =
                    self.endpoint
                        .close_tunnel(now, id, StopCcnResult::ClearConnection, entropy);
                if r.is_err() {
                    self.notice(
                        Level::Warn,
                        None,
                        format!("kill tunnel {id}: no such tunnel"),
                    );
                }
            }
            AdminCommand::Shutdown => {
                self.state = RunState::ShuttingDown;
                self.notice(
                    Level::Info,
                    None,
                    "shutting down: closing every session and tunnel".into(),
                );
                let keys: Vec<SessionKey> = self.sessions.keys().copied().collect();
                for k in &keys {
                    // RFC 2866 §5.10: the administrator ends service on
                    // the NAS (before a restart or reboot).
                    self.accounting
                        .note_cause(*k, AcctTerminateCause::AdminReboot);
                }
                self.terminate_links(now, |_| true, "LNS shutting down", entropy);
                let cause = DisconnectCause::new(DisconnectCode::Administrative, Direction::Local)
                    .with_message("LNS shutting down");
                for k in keys {
                    // RFC 2661 §5.4.4: CDN for each call, then StopCCN.
                    let _ = self.endpoint.close_session(
                        now,
                        k.tunnel,
                        k.session,
                        CdnResult::Administrative,
                        ErrorCode::NoError,
                        Some(session::l2tp_cause(&cause)),
                        entropy,
                    );
                }
                let tunnels: Vec<u16> = self.endpoint.tunnels().map(|t| t.local_id).collect();
                for t in tunnels {
                    let _ =
                        self.endpoint
                            .close_tunnel(now, t, StopCcnResult::ShuttingDown, entropy);
                }
            }
        }
    }

    // ---- the pump: events of one machine become inputs of another -------

    fn pump(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        loop {
            let mut moved = false;
            while let Some(ev) = self.endpoint.poll_event() {
                moved = true;
                self.tally.account(&ev);
                self.on_l2tp_event(now, ev, entropy);
            }
            let dirty = std::mem::take(&mut self.dirty);
            for key in dirty {
                moved |= self.drain_link(now, key, entropy);
                self.reindex(key);
            }
            if !moved && self.dirty.is_empty() {
                break;
            }
        }
        while let Some(t) = self.endpoint.poll_transmit() {
            self.outputs.push_back(Output::SendL2tp(t));
        }
    }

    fn on_l2tp_event(&mut self, now: Timestamp, ev: Event, entropy: &mut dyn Entropy) {
        match ev {
            Event::SessionUp {
                tunnel,
                session,
                route,
                call,
            } => self.on_session_up(now, SessionKey { tunnel, session }, route, *call, entropy),
            Event::SessionDown {
                tunnel,
                session,
                reason,
            } => self.on_session_down(now, SessionKey { tunnel, session }, reason),
            Event::TunnelUp {
                tunnel,
                peer,
                peer_host_name,
                ..
            } => self.notice(
                Level::Info,
                None,
                format!(
                    "tunnel {tunnel} up with {peer} ({})",
                    String::from_utf8_lossy(&peer_host_name)
                ),
            ),
            Event::TunnelDown { tunnel, reason } => {
                let gone: Vec<SessionKey> = self
                    .sessions
                    .keys()
                    .chain(self.early.keys())
                    .filter(|k| k.tunnel == tunnel)
                    .copied()
                    .collect();
                for k in gone {
                    self.on_session_down(now, k, SessionDownReason::TunnelDown);
                }
                self.notice(
                    Level::Info,
                    None,
                    format!("tunnel {tunnel} down: {reason:?}"),
                );
            }
            Event::TunnelRefused {
                peer,
                result,
                error,
                ..
            } => self.notice(
                Level::Warn,
                None,
                format!("tunnel from {peer} refused: {result:?} {error:?}"),
            ),
            Event::SessionRefused {
                tunnel,
                result,
                error,
                ..
            } => self.notice(
                Level::Warn,
                None,
                format!("call in tunnel {tunnel} refused: {result:?} {error:?}"),
            ),
            Event::Dropped { peer, reason } => self.notice(
                Level::Debug,
                None,
                format!("datagram from {peer} dropped: {reason:?}"),
            ),
            Event::SetLinkInfo { .. } | Event::WanErrorNotify { .. } | Event::Delivered { .. } => {}
        }
    }

    fn on_session_up(
        &mut self,
        now: Timestamp,
        key: SessionKey,
        route: lns_proto::l2tp::SessionRoute,
        call: lns_proto::l2tp::CallInfo,
        entropy: &mut dyn Entropy,
    ) {
        if self.sessions.len() >= self.config.max_sessions {
            self.failures.note(key, SessionSetupFailure::SessionLimit);
            self.notice(
                Level::Warn,
                Some(key),
                format!(
                    "session refused: max_sessions {} reached",
                    self.config.max_sessions
                ),
            );
            let _ = self.endpoint.close_session(
                now,
                key.tunnel,
                key.session,
                CdnResult::NoFacilitiesTemporary,
                ErrorCode::NoResources,
                None,
                entropy,
            );
            return;
        }
        let mut acct = [0u8; 8];
        entropy.fill(&mut acct);
        let mut link = Link::new(Side::Lns, Arc::clone(&self.link_config));
        match session::ppp_proxy(&call) {
            Some(proxy) => link.open_with_proxy(now, &proxy, entropy),
            None => link.open(now, entropy),
        }
        for frame in self.early.remove(&key).unwrap_or_default() {
            link.handle_frame(now, &frame, entropy);
        }
        let s = Session {
            key,
            peer_session_id: route.peer_session_id,
            stations: session::Stations::of(&call),
            link,
            auth: AuthPhase::Waiting,
            user: InlineBytes::new(),
            grant: None,
            ipv4: None,
            acct_session_id: session::AcctSessionId::from_bytes(acct),
            started: now,
            authenticated_at: None,
            last_traffic: now,
            session_deadline: None,
            idle_timeout: CompactDuration::NONE,
            mru: self.config.link.mru,
            ending: Ending::No,
            published: false,
            counters: Traffic::default(),
            indexed_at: None,
        };
        // The data plane must know the session before PPP can flow (it
        // carries our LCP frames and hands the subscriber's to us).
        self.outputs
            .push_back(Output::SessionUp(ppp_events::entry_on(&s, route)));
        self.sessions.insert(key, Box::new(s));
        self.dirty.insert(key);
    }

    fn on_session_down(&mut self, now: Timestamp, key: SessionKey, reason: SessionDownReason) {
        let setup_failure = self.failures.take(key, &reason);
        let Some(s) = self.sessions.remove(&key) else {
            if self.early.remove(&key).is_some() {
                // A call that never reached ICCN: withdraw it.
                self.outputs.push_back(Output::SessionDown {
                    session: key,
                    user: String::new(),
                    class: Vec::new(),
                    acct_session_id: String::new(),
                    setup_failure,
                });
            }
            return;
        };
        self.dirty.remove(&key);
        if let Some(t) = s.indexed_at {
            self.timers.remove(&(t, key));
        }
        if let Some(a) = s.ipv4 {
            self.pools.release(a, (key.tunnel, key.session));
        }
        self.notice(
            Level::Info,
            Some(key),
            format!("session of {:?} down: {reason:?}", s.user_text()),
        );
        self.accounting_session_down(now, &s, &reason);
        self.outputs.push_back(Output::SessionDown {
            session: key,
            user: s.user_text(),
            class: s.grant.map(|g| g.class().to_vec()).unwrap_or_default(),
            acct_session_id: s.acct_session_id.to_string(),
            setup_failure,
        });
        // Last, so that everything above (accounting) can still read the
        // session's IPv6 prefixes with `ipv6_prefixes(key)`.
        self.ipv6_session_ended(key);
    }

    /// Updates the timer index entry of one session.
    /// Only sessions are indexed: the IPv6 state of a key exists only
    /// while its session does (restored after it, ended with it).
    fn reindex(&mut self, key: SessionKey) {
        let ipv6 = self.ipv6_deadline(key);
        let Some(s) = self.sessions.get_mut(&key) else {
            return;
        };
        if let Some(t) = s.indexed_at.take() {
            self.timers.remove(&(t, key));
        }
        let next = [s.next_deadline(), ipv6].into_iter().flatten().min();
        if let Some(t) = next {
            s.indexed_at = Some(t);
            self.timers.insert((t, key));
        }
    }

    /// Drains one link's frames and events; true if anything came out.
    fn drain_link(&mut self, now: Timestamp, key: SessionKey, entropy: &mut dyn Entropy) -> bool {
        let mut moved = false;
        loop {
            let Some(s) = self.sessions.get_mut(&key) else {
                return moved;
            };
            if let Some(frame) = s.link.poll_transmit() {
                moved = true;
                self.outputs.push_back(Output::SendPpp {
                    session: key,
                    frame,
                });
                continue;
            }
            let Some(ev) = s.link.poll_event() else {
                return moved;
            };
            moved = true;
            self.on_link_event(now, key, ev, entropy);
        }
    }

    fn notice(&mut self, level: Level, session: Option<SessionKey>, text: String) {
        self.outputs.push_back(Output::Log(Notice {
            level,
            session,
            text,
        }));
    }
}

#[cfg(test)]
impl Engine {
    /// `poll_timeout` computed by scanning every session (checks the index).
    fn scanned_timeout(&self) -> Option<Timestamp> {
        let sessions = self
            .sessions
            .values()
            .filter_map(|s| s.next_deadline())
            .min();
        [
            self.endpoint.poll_timeout(),
            sessions,
            self.ipv6_earliest(),
            self.accounting.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

#[cfg(test)]
mod tests;
