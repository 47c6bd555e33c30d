//! # The control task: the single owner of the engine
//!
//! Contract (DESIGN.md D4): one tokio task owns the [`Engine`]; everything
//! else talks to it through bounded channels. It receives
//! [`ControlInput`]s from the data plane, [`AuthAnswer`]s from the AAA
//! task, [`ControlSignal`]s (SIGTERM, SIGHUP, operator commands) and its own
//! timer; turns each into an engine input with the wall clock and the OS
//! RNG; and routes the engine's outputs: L2TP and PPP control traffic and
//! the session table to the data plane ([`Plane`]), queries to AAA, notices
//! to the log.
//!
//! Fairness under a setup flood: inputs are taken from the data-plane
//! channel in batches of at most [`BATCH`]; within a batch, traffic of
//! established tunnels (PPP, L2TP to a non-zero tunnel id) is applied
//! before new-tunnel requests (tunnel id 0), which also pass the engine's
//! per-source rate limit and the endpoint's half-open limit. The channel
//! itself is bounded (the data plane counts what it drops).
//!
//! Shutdown: on [`ControlSignal::Shutdown`] the engine sends CDN and
//! StopCCN for everything; the task keeps running (retransmitting) until
//! every StopCCN is acknowledged or the grace period ends, then returns. A
//! second shutdown request returns at once.
//!
//! Metrics: an [`Observer`] sees every AAA query and verdict and every
//! session published or withdrawn, and samples the engine's tables and
//! counts once per [`STATS_INTERVAL`] (see `control/observe.rs`).

mod acct;
pub(crate) mod capture;
pub mod cluster;
pub mod handoff;
mod observe;
pub(crate) mod plane_input;
mod query;
pub mod transfer;

pub use acct::{AccountingChannels, COUNTERS_INTERVAL};
pub use observe::{session_counts, tunnel_counts, ControlTraffic, ControlTrafficTotals, Observer};
pub use query::Query;

use crate::aaa::{AaaCommand, AaaSettings, AuthAnswer};
use crate::dataplane::{ControlInput, DataPlane, SessionEntry, SessionStats};
use crate::engine::{
    AdminCommand, AuthOutcome, Engine, Input, Level, Output, PoolSpec, SessionKey,
};
use crate::mgmt::capture::Direction;
use crate::mgmt::taps::CaptureTaps;
use crate::system::{now, OsEntropy};
use lns_proto::l2tp::header::{HeaderView, Kind};
use lns_proto::l2tp::PeerTable;
use lns_proto::time::Timestamp;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Most data-plane inputs taken per batch.
pub const BATCH: usize = 256;

/// How often traffic counters are read for idle timeouts and keepalive.
pub const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// What the control task needs from the data plane (the [`DataPlane`]
/// handle; tests substitute a recorder).
pub trait Plane: Send {
    /// Publishes a session.
    fn upsert_session(&self, entry: SessionEntry);
    /// Withdraws a session.
    fn remove_session(&self, tunnel_id: u16, session_id: u16);
    /// Sends an L2TP control datagram.
    fn send_control(&self, local: SocketAddr, peer: SocketAddr, datagram: &[u8]);
    /// Sends a PPP control frame in the session's data header.
    fn send_ppp(&self, tunnel_id: u16, session_id: u16, frame: &[u8]);
    /// The session's counters.
    fn session_stats(&self, tunnel_id: u16, session_id: u16) -> Option<SessionStats>;
    /// Routes new pool prefixes into the TUN device.
    fn add_routes(&self, routes: &[(IpAddr, u8)]) -> Result<(), String>;
    /// The running captures the control task offers its traffic to
    /// (`None`: captures are not supported by this plane).
    fn captures(&self) -> Option<&CaptureTaps> {
        None
    }
    /// Makes the plane emit (L2TP out, TUN writes) only while `fence`
    /// allows, judged by its own clock once per batch (a cluster member:
    /// the lease fence). Default: no fence (a plane that never emits).
    fn fence(&self, _fence: Arc<lns_cluster::LeaseFence>) {}
}

/// Sessions whose data plane received traffic after the instant the
/// engine last heard of (`Session::last_traffic`, which `TrafficSeen` only
/// moves forward), with the instant of that traffic. The engine keeps the
/// instant, so the control task needs no per-session map of its own
/// (issue 5: memory per session).
pub(crate) fn traffic_seen<P: Plane>(engine: &Engine, plane: &P) -> Vec<(SessionKey, Timestamp)> {
    engine
        .sessions()
        .filter_map(|s| {
            let stats = plane.session_stats(s.key.tunnel, s.key.session)?;
            let at = Timestamp::from_unix_micros(stats.last_rx_unix_micros);
            (at > s.last_traffic).then_some((s.key, at))
        })
        .collect()
}

impl Plane for DataPlane {
    fn upsert_session(&self, entry: SessionEntry) {
        DataPlane::upsert_session(self, entry)
    }
    fn remove_session(&self, tunnel_id: u16, session_id: u16) {
        DataPlane::remove_session(self, tunnel_id, session_id)
    }
    fn send_control(&self, local: SocketAddr, peer: SocketAddr, datagram: &[u8]) {
        DataPlane::send_control(self, local, peer, datagram)
    }
    fn send_ppp(&self, tunnel_id: u16, session_id: u16, frame: &[u8]) {
        DataPlane::send_ppp(self, tunnel_id, session_id, frame)
    }
    fn session_stats(&self, tunnel_id: u16, session_id: u16) -> Option<SessionStats> {
        DataPlane::session_stats(self, tunnel_id, session_id)
    }
    fn add_routes(&self, routes: &[(IpAddr, u8)]) -> Result<(), String> {
        DataPlane::add_routes(self, routes).map_err(|e| e.to_string())
    }
    fn captures(&self) -> Option<&CaptureTaps> {
        Some(DataPlane::captures(self))
    }
    fn fence(&self, fence: Arc<lns_cluster::LeaseFence>) {
        DataPlane::fence(self, fence)
    }
}

/// What can change without a restart (SIGHUP).
#[derive(Debug)]
pub struct Reload {
    /// The new LAC table (new tunnels only).
    pub peers: PeerTable,
    /// The pools (new ones added, ranges updated).
    pub pools: Vec<PoolSpec>,
    /// Users file and RADIUS servers.
    pub aaa: AaaSettings,
    /// Prefixes of new pool ranges, to route into the TUN device before
    /// the pools are used.
    pub routes: Vec<(IpAddr, u8)>,
}

/// Signals and operator commands.
#[derive(Debug)]
pub enum ControlSignal {
    /// SIGTERM/SIGINT: end everything cleanly, then return.
    Shutdown,
    /// SIGHUP: apply a reloaded configuration.
    Reload(Box<Reload>),
    /// An operator command.
    Admin(AdminCommand),
    /// A read-only question (management API).
    Query(Query),
}

/// The channels of the control task.
#[derive(Debug)]
pub struct Channels {
    /// From the data plane.
    pub from_plane: mpsc::Receiver<ControlInput>,
    /// To the AAA task.
    pub to_aaa: mpsc::Sender<AaaCommand>,
    /// From the AAA task.
    pub from_aaa: mpsc::Receiver<AuthAnswer>,
    /// Signals and commands.
    pub signals: mpsc::Receiver<ControlSignal>,
    /// Accounting records out, acks and DAE requests in.
    pub accounting: AccountingChannels,
}

/// How the task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every StopCCN was acknowledged.
    Clean,
    /// The grace period ended first.
    GraceExpired,
    /// Every input channel closed.
    Orphaned,
}

/// Runs the control task until shutdown completes, with metrics nobody
/// scrapes (tests, and a daemon without `[http]` would use
/// [`run_observed`] the same way).
pub async fn run<P: Plane>(
    engine: Engine,
    plane: P,
    ch: Channels,
    grace: Duration,
) -> std::io::Result<Exit> {
    let metrics = crate::metrics::Metrics::for_this_build()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let observer = Observer::new(Arc::new(metrics), Arc::default());
    run_observed(engine, plane, ch, grace, observer).await
}

/// Runs the control task until shutdown completes, reporting to `observer`.
pub async fn run_observed<P: Plane>(
    engine: Engine,
    plane: P,
    mut ch: Channels,
    grace: Duration,
    observer: Observer,
) -> std::io::Result<Exit> {
    let mut task = Task {
        engine,
        plane,
        to_aaa: ch.to_aaa.clone(),
        entropy: OsEntropy::open()?,
        observer,
        accounts: acct::Accounts::new(ch.accounting.records.take()),
    };
    let counters_interval = ch.accounting.counters_interval;
    let mut next_counters = now() + counters_interval;
    let mut shutdown_by: Option<Timestamp> = None;
    let mut next_stats = now() + STATS_INTERVAL;
    let mut batch: Vec<ControlInput> = Vec::with_capacity(BATCH);
    let (mut plane_open, mut signals_open) = (true, true);
    // A lone node starts accounting now: its Accounting-On goes before
    // anything else (engine::accounting::nas).
    task.apply(Input::Tick);
    loop {
        if let Some(deadline) = shutdown_by {
            let pending = task.engine.pending_accounting().count();
            if task.engine.quiescent()
                && task.engine.accounting_settled()
                && !task.accounts.delivering(pending)
            {
                return Ok(Exit::Clean);
            }
            if now() >= deadline {
                return Ok(Exit::GraceExpired);
            }
        }
        let wake = [
            task.engine.poll_timeout(),
            Some(next_stats),
            Some(next_counters),
            shutdown_by,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(next_stats);
        let sleep = tokio::time::sleep(wake.saturating_since(now()));
        tokio::select! {
            biased;
            s = ch.signals.recv(), if signals_open => match s {
                Some(ControlSignal::Shutdown) => {
                    if shutdown_by.is_some() {
                        // A second SIGTERM/SIGINT: stop waiting for acks.
                        tracing::warn!("second shutdown request: exiting without waiting");
                        return Ok(Exit::GraceExpired);
                    }
                    tracing::info!(grace = ?grace, "shutdown: ending every session and tunnel");
                    shutdown_by = Some(now() + grace);
                    task.apply(Input::Admin(AdminCommand::Shutdown));
                }
                Some(ControlSignal::Reload(r)) => task.reload(*r).await,
                Some(ControlSignal::Admin(cmd)) => task.apply(Input::Admin(cmd)),
                Some(ControlSignal::Query(q)) => q.answer(&task.engine, &task.plane),
                None => {
                    // Nobody can stop us any more: behave as if told to.
                    signals_open = false;
                    if shutdown_by.is_none() {
                        shutdown_by = Some(now() + grace);
                        task.apply(Input::Admin(AdminCommand::Shutdown));
                    }
                }
            },
            Some(a) = ch.from_aaa.recv() => task.apply(Input::AuthResult {
                session: a.session,
                request: a.request,
                outcome: a.outcome,
            }),
            Some(record) = ch.accounting.acks.recv() => {
                task.apply(Input::AccountingAcked { record });
            }
            Some(req) = ch.accounting.dae.recv() => task.on_dae(req),
            n = ch.from_plane.recv_many(&mut batch, BATCH), if plane_open => {
                if n == 0 {
                    // The data plane is gone: nothing can be sent any more.
                    plane_open = false;
                    if !signals_open {
                        return Ok(Exit::Orphaned);
                    }
                }
                task.apply_batch(&mut batch);
            }
            () = sleep => {
                task.apply(Input::Tick);
                if now() >= next_stats {
                    next_stats = now() + STATS_INTERVAL;
                    task.poll_stats();
                }
                if now() >= next_counters {
                    next_counters = now() + counters_interval;
                    task.read_counters();
                }
            }
        }
    }
}

struct Task<P: Plane> {
    engine: Engine,
    plane: P,
    to_aaa: mpsc::Sender<AaaCommand>,
    entropy: OsEntropy,
    observer: Observer,
    accounts: acct::Accounts,
}

impl<P: Plane> Task<P> {
    /// Established-tunnel traffic first, then new-tunnel requests.
    fn apply_batch(&mut self, batch: &mut Vec<ControlInput>) {
        for input in established_first(batch) {
            let taps = self.plane.captures().and_then(CaptureTaps::current);
            let shown = taps.as_deref().map(|taps| plane_input::Shown {
                taps,
                engine: &self.engine,
            });
            let input = plane_input::data_plane_input(&mut self.observer, shown, now(), input);
            self.apply(input);
        }
    }

    fn apply(&mut self, input: Input) {
        let mut pending = vec![input];
        while let Some(input) = pending.pop() {
            if let Input::AuthResult {
                session,
                request,
                outcome,
            } = &input
            {
                self.observer.answered(*session, *request, outcome);
            }
            self.engine.apply(now(), input, &mut self.entropy);
            while let Some(out) = self.engine.poll_output() {
                if let Some(follow_up) = self.route(out) {
                    pending.push(follow_up);
                }
            }
        }
    }

    /// Performs one output; returns an input when AAA cannot take a query.
    fn route(&mut self, out: Output) -> Option<Input> {
        match out {
            Output::SendL2tp(t) => {
                self.observer.traffic().sent(t.payload.len());
                if let Some(taps) = self.plane.captures().and_then(CaptureTaps::current) {
                    capture::control_out(&taps, &self.engine, now(), t.local, t.peer, &t.payload);
                }
                self.plane.send_control(t.local, t.peer, &t.payload)
            }
            Output::SendPpp { session, frame } => {
                if self.capturing() {
                    self.show_ppp(session, Direction::ToLac, &frame);
                }
                self.plane.send_ppp(session.tunnel, session.session, &frame)
            }
            Output::Authenticate(q) => {
                let (session, request) = (q.session, q.request);
                self.observer.asked(&q);
                if let Err(e) = self.to_aaa.try_send(AaaCommand::Authenticate(q)) {
                    tracing::warn!(%session, "AAA queue full or gone ({e}): refusing the login");
                    return Some(Input::AuthResult {
                        session,
                        request,
                        outcome: AuthOutcome::Unavailable,
                    });
                }
            }
            Output::SessionUp(entry) => {
                let key = SessionKey {
                    tunnel: entry.tunnel_id,
                    session: entry.session_id,
                };
                // An IPv6-only session (no IPCP) is up once it has its prefixes.
                let up = entry.ipv4.is_some() || !entry.ipv6_prefixes.is_empty();
                self.observer.published(key, up);
                self.plane.upsert_session(entry);
                self.publish_capture_users();
            }
            Output::SessionDown {
                session,
                user,
                acct_session_id,
                setup_failure,
                ..
            } => {
                // The last counters before the data plane forgets them:
                // the session's Acct-Stop counts everything.
                let last = self.counters_of(session);
                self.observer.ended(session, setup_failure);
                self.plane.remove_session(session.tunnel, session.session);
                self.publish_capture_users();
                tracing::info!(%session, ?user, %acct_session_id, "session ended");
                if let Some(c) = last {
                    return Some(Input::Counters(vec![c]));
                }
            }
            Output::Account(record) => self.accounts.send(record),
            Output::Log(n) => {
                let session = n.session.map(|k| k.to_string()).unwrap_or_default();
                match n.level {
                    Level::Debug => tracing::debug!(%session, "{}", n.text),
                    Level::Info => tracing::info!(%session, "{}", n.text),
                    Level::Warn => tracing::warn!(%session, "{}", n.text),
                }
            }
        }
        None
    }

    /// Reads counters; traffic since the last read becomes `TrafficSeen`.
    fn poll_stats(&mut self) {
        self.observer.sample(&self.engine);
        if let Some(taps) = self.plane.captures() {
            taps.prune();
        }
        for (session, at) in traffic_seen(&self.engine, &self.plane) {
            self.apply(Input::TrafficSeen { session, at });
        }
    }

    fn capturing(&self) -> bool {
        self.plane.captures().is_some_and(CaptureTaps::is_active)
    }

    fn show_ppp(&self, session: SessionKey, direction: Direction, frame: &[u8]) {
        if let Some(taps) = self.plane.captures().and_then(CaptureTaps::current) {
            capture::ppp(&taps, &self.engine, now(), session, direction, frame);
        }
    }

    /// Tells the data plane's captures who each session's user is.
    fn publish_capture_users(&self) {
        if let Some(taps) = self.plane.captures().filter(|t| t.is_active()) {
            taps.set_sessions(now(), capture::names(&self.engine));
        }
    }

    async fn reload(&mut self, r: Reload) {
        // Routes first: a pool must not hand out addresses the TUN cannot
        // reach.
        if !r.routes.is_empty() {
            match self.plane.add_routes(&r.routes) {
                Ok(()) => {
                    tracing::info!(routes = ?r.routes, "routes added for the new pool ranges")
                }
                Err(e) => tracing::error!(
                    "cannot route the new pool ranges into the TUN device ({e}): \
                     add them by hand or restart lnsd before they are used"
                ),
            }
        }
        self.engine.reconfigure(r.peers, r.pools);
        if self.to_aaa.send(AaaCommand::Reload(r.aaa)).await.is_err() {
            tracing::warn!("AAA task gone: reload not applied to AAA");
        }
        tracing::info!("configuration reloaded (LAC table, pools, users file, RADIUS servers)");
    }
}

/// Empties `batch`: established-tunnel inputs first, then new-tunnel
/// requests, each group in arrival order.
pub fn established_first(batch: &mut Vec<ControlInput>) -> Vec<ControlInput> {
    let (setups, mut established): (Vec<ControlInput>, Vec<ControlInput>) =
        batch.drain(..).partition(is_setup);
    established.extend(setups);
    established
}

/// A control message to tunnel id 0: a new-tunnel request.
fn is_setup(input: &ControlInput) -> bool {
    match input {
        ControlInput::L2tpControl { datagram, .. } => HeaderView::new_checked(&datagram[..])
            .is_ok_and(|h| h.kind() == Kind::Control && h.tunnel_id() == 0),
        ControlInput::PppControl { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l2tp(tunnel: u16, tag: u8) -> ControlInput {
        // RFC 2661 §3.1 control header: T, L, S bits, version 2, length 12.
        let t = tunnel.to_be_bytes();
        ControlInput::L2tpControl {
            local: "192.0.2.2:1701".parse().expect("literal"),
            peer: "192.0.2.1:1701".parse().expect("literal"),
            datagram: vec![
                0xc8, 0x02, 0x00, 0x0c, t[0], t[1], 0x00, 0x00, 0x00, 0x00, 0x00, tag,
            ],
        }
    }

    #[test]
    fn established_traffic_goes_before_new_tunnel_requests() {
        let ppp = ControlInput::PppControl {
            tunnel_id: 7,
            session_id: 9,
            frame: vec![0xff, 0x03, 0xc0, 0x21],
        };
        let mut batch = vec![
            l2tp(0, 1),
            l2tp(0, 2),
            l2tp(7, 3),
            ppp.clone(),
            l2tp(0, 4),
            l2tp(8, 5),
        ];
        let order = established_first(&mut batch);
        assert!(batch.is_empty());
        assert_eq!(
            order,
            vec![
                l2tp(7, 3),
                ppp,
                l2tp(8, 5),
                l2tp(0, 1),
                l2tp(0, 2),
                l2tp(0, 4)
            ]
        );
    }

    #[test]
    fn garbage_counts_as_established_and_reaches_the_engine_to_be_dropped() {
        let junk = ControlInput::L2tpControl {
            local: "192.0.2.2:1701".parse().expect("literal"),
            peer: "192.0.2.1:1701".parse().expect("literal"),
            datagram: vec![0x01],
        };
        assert!(!is_setup(&junk));
    }
}
