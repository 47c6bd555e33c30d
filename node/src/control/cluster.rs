//! # The control task of a cluster member (issue 6, DESIGN.md D1)
//!
//! Contract: the engine lives in the [`SharedReplica`] that the Raft
//! member applies committed commands to; this task never changes it
//! directly. On the *active* node (the leadership watch says
//! `Activity::Active`) it turns data-plane inputs, AAA answers, timer
//! expiries (`Tick` when the engine's `poll_timeout` passes), operator
//! commands and traffic counters into [`Command`]s and proposes them, one
//! at a time: inputs that arrive while a proposal is in flight go into the
//! next one (batching). Every node receives the outputs of every applied
//! command ([`ReplicaEvent`]): the active node performs them (sends, AAA
//! queries, logs); a standby only applies the data-plane table updates
//! (hot tables) and emits nothing. Commit before emit holds by
//! construction: an output exists only once its command is committed.
//!
//! Becoming active: claim the tunnel addresses (add, gratuitous ARP),
//! then propose `Rearm` first (timers with jitter, unacked control
//! messages retransmitted, sessions waiting for AAA ended with a cause).
//! Losing it: the queued inputs are dropped and the addresses removed at
//! once; outputs applied afterwards are not emitted.
//!
//! Live capture (`lnsctl capture`) works on the active node: data-plane
//! inputs are shown as received (`control/plane_input.rs`, shared with the
//! single node), and what the node sends when it performs an applied
//! output; a standby shows nothing of the control traffic.
//!
//! Accounting (issue 9) rides the same path: records are engine state, so
//! the active node sends what the applied commands queued
//! (`Output::Account`) and, on becoming active, every record still
//! pending (the failed node's unacknowledged ones); acks and DAE requests
//! become proposed inputs. A standby sends no record.
//!
//! SIGTERM on a cluster member does not end the sessions (they belong to
//! the cluster): an active node first hands leadership to another
//! eligible member, then the task returns.

use super::capture;
use super::plane_input::{data_plane_input, Shown};
use super::{established_first, Channels, ControlSignal, Exit, Observer, Plane};
use crate::config::{ClusterRole, ClusterSection};
use crate::dataplane::ControlInput;
use crate::engine::{
    AuthOutcome, Engine, Input, Level, Output, SessionCounters, SessionKey, Traffic,
};
use crate::mgmt::capture::Direction;
use crate::mgmt::taps::{ActiveCaptures, CaptureTaps};
use crate::replica::{Command, ReplicaEvent, SharedReplica};
use crate::system::{now, OsEntropy};
use crate::vip::Vip;
use lns_cluster::{Activity, ClusterStatus, Leadership, Member, MemberId, ProposeError};
use lns_proto::entropy::Entropy;
use lns_proto::time::Timestamp;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// What the management side (and SIGUSR1) needs from the cluster.
#[derive(Debug, Clone)]
pub struct ClusterHandle {
    member: Member,
    /// Members that may become active, in id order.
    eligible: Vec<MemberId>,
    /// This node's tunnel addresses (an lns member): they leave before a
    /// planned transfer (`control::transfer`).
    vip: Option<Vip>,
    /// A transfer not done after this long was abandoned by raft-rs (twice
    /// the longest election timeout).
    abandon_after: Duration,
}

impl ClusterHandle {
    /// A handle on `member`, configured by `section`.
    pub fn new(member: Member, section: &ClusterSection) -> ClusterHandle {
        let mut eligible: Vec<MemberId> = section
            .members
            .iter()
            .filter(|m| m.role == ClusterRole::Lns)
            .map(|m| m.id)
            .collect();
        eligible.sort_unstable();
        let timing = section.timing();
        let ticks = u32::try_from(timing.election_ticks_max).unwrap_or(u32::MAX);
        ClusterHandle {
            member,
            eligible,
            vip: None,
            abandon_after: timing.tick.saturating_mul(ticks).saturating_mul(2),
        }
    }

    /// The same handle, removing `vip` before every planned transfer it
    /// makes (and claiming it again if the transfer does not happen).
    pub fn with_addresses(mut self, vip: Vip) -> ClusterHandle {
        self.vip = Some(vip);
        self
    }

    /// Hands leadership to `target`, or (None) to the next eligible member
    /// after this one in id order. This member must lead. Returns the
    /// target.
    pub async fn transfer_leader(
        &self,
        target: Option<MemberId>,
    ) -> Result<MemberId, ProposeError> {
        let target = match target {
            Some(t) => t,
            None => next_eligible(self.member.id(), &self.eligible)
                .ok_or(ProposeError::NotLeader { leader: None })?,
        };
        let Some(vip) = &self.vip else {
            self.member.transfer_leader(target).await?;
            return Ok(target);
        };
        let live = LiveHandOver {
            member: self.member.clone(),
            vip: vip.clone(),
            abandon_after: self.abandon_after,
        };
        if let super::transfer::Aftercare::WatchTerm(term) =
            super::transfer::hand_over(&live, target).await?
        {
            tokio::spawn(async move { super::transfer::watch_abandoned(&live, term).await });
        }
        Ok(target)
    }

    /// The Raft status view.
    pub async fn status(&self) -> Result<ClusterStatus, ProposeError> {
        self.member.status().await
    }

    /// True while this node is the active one.
    pub fn is_active(&self) -> bool {
        self.member.is_active()
    }

    /// A watch of term, leader, role and activity.
    pub fn leadership(&self) -> watch::Receiver<Leadership> {
        self.member.leadership()
    }

    /// The member itself.
    pub fn member(&self) -> &Member {
        &self.member
    }

    /// The members that may become active, in id order.
    pub fn eligible(&self) -> &[MemberId] {
        &self.eligible
    }
}

/// A planned transfer on the real member and addresses.
struct LiveHandOver {
    member: Member,
    vip: Vip,
    abandon_after: Duration,
}

impl super::transfer::HandOver for LiveHandOver {
    fn claimed(&self) -> bool {
        self.vip.claimed()
    }
    fn term(&self) -> u64 {
        self.member.leadership().borrow().term
    }
    fn release(&self) {
        tracing::info!("planned transfer: removing the tunnel addresses first");
        self.vip.release();
    }
    fn transfer(
        &self,
        target: MemberId,
    ) -> impl std::future::Future<Output = Result<(), ProposeError>> + Send {
        let member = self.member.clone();
        async move { member.transfer_leader(target).await }
    }
    fn reclaim_if_active_in(&self, term: u64) -> bool {
        let leadership = self.member.leadership();
        let ticket = self.vip.ticket_if(|| {
            let l = *leadership.borrow();
            l.activity == Activity::Active && l.term == term
        });
        let Some(ticket) = ticket else {
            return false;
        };
        let vip = self.vip.clone();
        tokio::spawn(async move { vip.claim(ticket).await });
        true
    }
    fn abandon_after(&self) -> Duration {
        self.abandon_after
    }
}

/// Everything the cluster control task runs with.
#[derive(Debug)]
pub struct ClusterParts {
    /// The Raft member.
    pub handle: ClusterHandle,
    /// The replicated engine (read only here).
    pub replica: SharedReplica,
    /// Applied commands' outputs.
    pub events: mpsc::UnboundedReceiver<ReplicaEvent>,
    /// The moving addresses.
    pub vip: Vip,
    /// Traffic counters are proposed this often.
    pub counters_interval: Duration,
}

/// Runs the cluster control task until SIGTERM (or every input closes).
pub async fn run<P: Plane>(
    parts: ClusterParts,
    plane: P,
    mut ch: Channels,
    observer: Observer,
) -> std::io::Result<Exit> {
    let ClusterParts {
        handle,
        replica,
        mut events,
        vip,
        counters_interval,
    } = parts;
    let (proposed_tx, mut proposed) = mpsc::unbounded_channel();
    let super::AccountingChannels {
        records,
        acks: mut acct_acks,
        dae: mut dae_requests,
        ..
    } = std::mem::replace(&mut ch.accounting, super::AccountingChannels::none());
    let mut leadership = handle.leadership();
    let handoff = super::handoff::Handoff::new(handle.member().id(), handle.eligible());
    let mut t = Task {
        handoff,
        handle,
        replica,
        plane,
        to_aaa: ch.to_aaa.clone(),
        entropy: OsEntropy::open()?,
        observer,
        vip,
        active: false,
        queue: Vec::new(),
        in_flight: false,
        tick_queued: false,
        next_timeout: None,
        last_rx: BTreeMap::new(),
        counter_offset: BTreeMap::new(),
        proposed_tx,
        accounts: super::acct::Accounts::new(records),
        announce: None,
    };
    let mut next_stats = now() + super::STATS_INTERVAL;
    let mut next_counters = now() + counters_interval;
    let mut batch: Vec<ControlInput> = Vec::with_capacity(super::BATCH);
    let mut plane_open = true;
    t.leadership_changed(*leadership.borrow());
    loop {
        t.flush();
        t.accounts.flush();
        let mut wake = next_stats.min(next_counters);
        if let Some(d) = t.next_timeout.filter(|_| t.active && !t.tick_queued) {
            wake = wake.min(d);
        }
        if let Some(d) = t.handoff.due() {
            wake = wake.min(d);
        }
        let sleep = tokio::time::sleep(wake.saturating_since(now()));
        tokio::select! {
            biased;
            s = ch.signals.recv() => match s {
                Some(ControlSignal::Shutdown) | None => {
                    t.step_down().await;
                    return Ok(Exit::Clean);
                }
                Some(ControlSignal::Reload(r)) => {
                    if !r.routes.is_empty() {
                        if let Err(e) = t.plane.add_routes(&r.routes) {
                            tracing::error!("cannot route the new pool ranges into the TUN device: {e}");
                        }
                    }
                    t.replica.lock().reconfigure(r.peers, r.pools);
                    t.announce_fingerprint();
                    t.serve_if_matching(now());
                    let _ = t.to_aaa.send(crate::aaa::AaaCommand::Reload(r.aaa)).await;
                    tracing::info!("configuration reloaded (every member must load the same LAC table and pools)");
                }
                Some(ControlSignal::Admin(cmd)) => t.input(Input::Admin(cmd)),
                // Reads answer from the replicated tables, on a standby too.
                Some(ControlSignal::Query(q)) => {
                    let replica = t.replica.lock();
                    q.answer(replica.engine(), &t.plane);
                }
            },
            c = leadership.changed() => {
                if c.is_err() {
                    tracing::error!("cluster member stopped");
                    t.set_inactive();
                    return Ok(Exit::Orphaned);
                }
                let l = *leadership.borrow_and_update();
                t.leadership_changed(l);
            }
            Some(ev) = events.recv() => t.on_event(ev),
            Some(r) = proposed.recv() => {
                t.in_flight = false;
                t.tick_queued = t.queue.iter().any(|i| matches!(i, Input::Tick));
                if r.is_ok() {
                    t.announce = None;
                }
                if let Err(e) = r {
                    tracing::warn!("proposal not committed: {e} (the peers retransmit)");
                }
            }
            Some(record) = acct_acks.recv() => t.input(Input::AccountingAcked { record }),
            Some(req) = dae_requests.recv() => t.on_dae(req),
            Some(a) = ch.from_aaa.recv() => {
                t.observer.answered(a.session, a.request, &a.outcome);
                t.input(Input::AuthResult { session: a.session, request: a.request, outcome: a.outcome });
            }
            n = ch.from_plane.recv_many(&mut batch, super::BATCH), if plane_open => {
                if n == 0 {
                    plane_open = false;
                }
                t.take_plane_inputs(&mut batch);
            }
            () = sleep => {
                let n = now();
                t.retry_handoff(n);
                if t.active && !t.tick_queued && t.next_timeout.is_some_and(|d| d <= n) {
                    t.tick_queued = true;
                    t.input(Input::Tick);
                }
                if n >= next_stats {
                    next_stats = n + super::STATS_INTERVAL;
                    t.poll_stats();
                }
                if n >= next_counters {
                    next_counters = n + counters_interval;
                    t.poll_counters();
                }
            }
        }
    }
}

struct Task<P: Plane> {
    handle: ClusterHandle,
    replica: SharedReplica,
    plane: P,
    to_aaa: mpsc::Sender<crate::aaa::AaaCommand>,
    entropy: OsEntropy,
    observer: Observer,
    vip: Vip,
    active: bool,
    /// Inputs for the next proposal.
    queue: Vec<Input>,
    in_flight: bool,
    /// A `Tick` is queued or in flight.
    tick_queued: bool,
    next_timeout: Option<Timestamp>,
    last_rx: BTreeMap<SessionKey, u64>,
    /// Per session: replicated counters minus the local data plane's, at
    /// activation, so the counters continue from the replicated value.
    counter_offset: BTreeMap<SessionKey, Traffic>,
    proposed_tx: mpsc::UnboundedSender<Result<Vec<u8>, ProposeError>>,
    /// Records on their way to the accounting task (active node only).
    accounts: super::acct::Accounts,
    /// This node's configuration fingerprint, written into every proposal
    /// until one commits (after becoming active or a reload).
    announce: Option<crate::replica::ConfigFingerprint>,
    /// Leadership refused (configuration mismatch) and handed on.
    handoff: super::handoff::Handoff,
}

impl<P: Plane> Task<P> {
    /// Data-plane inputs, established tunnels first, queued for the next
    /// proposal and shown to running captures (active node only: a
    /// standby's inputs are dropped).
    fn take_plane_inputs(&mut self, batch: &mut Vec<ControlInput>) {
        let inputs = established_first(batch);
        let taps = self
            .plane
            .captures()
            .and_then(CaptureTaps::current)
            .filter(|_| self.active);
        let replica = taps.as_ref().map(|_| self.replica.lock());
        for i in inputs {
            let shown = taps
                .as_deref()
                .zip(replica.as_deref())
                .map(|(taps, r)| Shown {
                    taps,
                    engine: r.engine(),
                });
            let input = data_plane_input(&mut self.observer, shown, now(), i);
            if self.active {
                self.queue.push(input);
            }
        }
    }

    /// Shows what this node emits to running captures (the outputs of
    /// committed commands, on the active node).
    fn show(&self, offer: impl FnOnce(&ActiveCaptures, &Engine)) {
        if let Some(taps) = self.plane.captures().and_then(CaptureTaps::current) {
            offer(&taps, self.replica.lock().engine());
        }
    }

    /// Tells the data plane's captures who each session's user is.
    fn publish_capture_users(&self) {
        if let Some(taps) = self.plane.captures().filter(|t| t.is_active()) {
            taps.set_sessions(now(), capture::names(self.replica.lock().engine()));
        }
    }

    /// Queues an input for the next proposal (active node only).
    fn input(&mut self, input: Input) {
        if self.active {
            self.queue.push(input);
        }
    }

    /// Proposes the queued inputs if nothing is in flight.
    fn flush(&mut self) {
        if !self.active || self.in_flight || self.queue.is_empty() {
            return;
        }
        let mut seed = [0u8; 32];
        self.entropy.fill(&mut seed);
        let command = Command {
            now: now(),
            seed,
            inputs: std::mem::take(&mut self.queue),
            fingerprint: self.announce.clone(),
            settings: self
                .announce
                .as_ref()
                .map(|_| self.replica.lock().settings().clone()),
        };
        self.in_flight = true;
        let member = self.handle.member().clone();
        let tx = self.proposed_tx.clone();
        let bytes = command.encode();
        tokio::spawn(async move {
            let _ = tx.send(member.propose(bytes).await);
        });
    }

    fn leadership_changed(&mut self, l: Leadership) {
        let active = l.activity == Activity::Active;
        tracing::info!(term = l.term, leader = ?l.leader, role = ?l.role, ?active, "cluster leadership");
        if !active {
            self.handoff.stop(now());
        }
        if active == self.active {
            return;
        }
        if active {
            if let crate::replica::Consistency::Differs(sections) =
                self.replica.lock().consistency()
            {
                tracing::error!(
                    ?sections,
                    "refusing to become active: this node's configuration differs from the \
                     one in the log; handing leadership on"
                );
                // Handed on by `retry_handoff` until another member leads.
                self.handoff.refuse(now());
                return;
            }
            self.handoff.stop(now());
            self.active = true;
            tracing::info!("this node is now ACTIVE: claiming the tunnel addresses");
            self.announce_fingerprint();
            let vip = self.vip.clone();
            let ticket = vip.ticket();
            tokio::spawn(async move { vip.claim(ticket).await });
            // Rearm goes first: the inherited timers restart before anything else.
            self.queue.insert(0, Input::Rearm);
            let replica = self.replica.lock();
            let engine = replica.engine();
            self.next_timeout = engine.poll_timeout();
            self.last_rx = engine
                .sessions()
                .filter(|s| s.published)
                .map(|s| (s.key, s.last_traffic.unix_micros()))
                .collect();
            self.counter_offset = engine
                .sessions()
                .map(|s| {
                    let local = self
                        .plane
                        .session_stats(s.key.tunnel, s.key.session)
                        .map(|l| counters(&l))
                        .unwrap_or_default();
                    (s.key, minus(s.counters, local))
                })
                .collect();
            // The previous active node's unacknowledged records: resent
            // (a server that got one already answers again, RFC 2866 §2).
            let pending: Vec<_> = engine.pending_accounting().cloned().collect();
            drop(replica);
            if !pending.is_empty() {
                tracing::info!(
                    records = pending.len(),
                    "resending pending accounting records"
                );
            }
            for r in pending {
                self.accounts.send(r);
            }
        } else {
            self.set_inactive();
        }
    }

    /// While leadership is refused: the due hand-off attempt; or, if the
    /// configuration now matches (a reload), this node becomes active.
    fn retry_handoff(&mut self, n: Timestamp) {
        if self.handoff.due().is_none_or(|d| d > n) || self.serve_if_matching(n) {
            return;
        }
        match self.handoff.poll(n) {
            Some(super::handoff::Attempt::Transfer(target)) => {
                tracing::warn!(
                    target,
                    "configuration mismatch: handing leadership to member {target}"
                );
                let handle = self.handle.clone();
                tokio::spawn(async move {
                    if let Err(e) = handle.transfer_leader(Some(target)).await {
                        tracing::warn!(target, "leadership not handed on (retrying): {e}");
                    }
                });
            }
            Some(super::handoff::Attempt::NobodyEligible) => tracing::error!(
                "configuration mismatch and no other lns member to hand leadership to: the \
                 cluster has NO active node until a member runs the log's configuration \
                 (fix this node's configuration and reload, or start a matching member)"
            ),
            None => {}
        }
    }

    /// A refusing leader whose configuration now matches the log's (a
    /// reload) becomes active; true if it was refusing and no longer is.
    fn serve_if_matching(&mut self, n: Timestamp) -> bool {
        if !self.handoff.is_refusing() || self.replica.lock().consistency().differs() {
            return false;
        }
        tracing::info!("the configuration now matches the log's: this node may serve");
        self.handoff.stop(n);
        let l = *self.handle.leadership().borrow();
        self.leadership_changed(l);
        true
    }

    /// Writes this node's configuration fingerprint into the next
    /// proposals (active node only).
    fn announce_fingerprint(&mut self) {
        if self.active {
            self.announce = Some(self.replica.lock().fingerprint().clone());
        }
    }

    fn set_inactive(&mut self) {
        if self.active {
            tracing::warn!("this node is no longer active: releasing the tunnel addresses");
        }
        self.active = false;
        self.queue.clear();
        self.tick_queued = false;
        self.vip.release();
    }

    /// SIGTERM: hand over if active, then let go.
    async fn step_down(&mut self) {
        if self.handle.is_active() {
            match self.handle.transfer_leader(None).await {
                Ok(to) => tracing::info!(to, "shutdown: leadership handed over"),
                Err(e) => tracing::warn!("shutdown: leadership not handed over: {e}"),
            }
        }
        self.set_inactive();
        self.handle.member().shutdown().await;
    }

    fn on_event(&mut self, ev: ReplicaEvent) {
        match ev {
            ReplicaEvent::Applied {
                outputs,
                next_timeout,
                ..
            } => {
                self.next_timeout = next_timeout;
                // Read the watch itself: a lease lost a moment ago stops
                // emission at once, before our own watch loop notices.
                let emit = self.active && self.handle.is_active();
                for o in outputs {
                    self.route(o, emit);
                }
            }
            ReplicaEvent::Restored {
                index,
                sessions,
                next_timeout,
            } => {
                tracing::info!(
                    index,
                    sessions = sessions.len(),
                    "state restored from a snapshot"
                );
                self.next_timeout = next_timeout;
                // The data plane carries exactly the restored sessions.
                let keep: std::collections::BTreeSet<SessionKey> = sessions
                    .iter()
                    .map(|e| SessionKey {
                        tunnel: e.tunnel_id,
                        session: e.session_id,
                    })
                    .collect();
                let gone: Vec<SessionKey> = self
                    .last_rx
                    .keys()
                    .filter(|k| !keep.contains(k))
                    .copied()
                    .collect();
                for k in gone {
                    self.last_rx.remove(&k);
                    self.plane.remove_session(k.tunnel, k.session);
                }
                for e in sessions {
                    let key = SessionKey {
                        tunnel: e.tunnel_id,
                        session: e.session_id,
                    };
                    self.last_rx.entry(key).or_insert(0);
                    self.plane.upsert_session(e);
                }
            }
        }
    }

    /// Performs one output: everything on the active node, only the
    /// data-plane table on a standby.
    fn route(&mut self, out: Output, emit: bool) {
        match out {
            Output::SessionUp(entry) => {
                let key = SessionKey {
                    tunnel: entry.tunnel_id,
                    session: entry.session_id,
                };
                self.last_rx.entry(key).or_insert(0);
                self.observer.published(key, entry.ipv4.is_some());
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
                self.last_rx.remove(&session);
                self.observer.ended(session, setup_failure);
                self.plane.remove_session(session.tunnel, session.session);
                self.publish_capture_users();
                if emit {
                    tracing::info!(%session, ?user, %acct_session_id, "session ended");
                }
            }
            Output::SendL2tp(t) if emit => {
                self.observer.traffic().sent(t.payload.len());
                self.show(|taps, engine| {
                    capture::control_out(taps, engine, now(), t.local, t.peer, &t.payload)
                });
                self.plane.send_control(t.local, t.peer, &t.payload)
            }
            Output::SendPpp { session, frame } if emit => {
                self.show(|taps, engine| {
                    capture::ppp(taps, engine, now(), session, Direction::ToLac, &frame)
                });
                self.plane.send_ppp(session.tunnel, session.session, &frame)
            }
            Output::Authenticate(q) if emit => {
                let (session, request) = (q.session, q.request);
                self.observer.asked(&q);
                if let Err(e) = self
                    .to_aaa
                    .try_send(crate::aaa::AaaCommand::Authenticate(q))
                {
                    tracing::warn!(%session, "AAA queue full or gone ({e}): refusing the login");
                    self.input(Input::AuthResult {
                        session,
                        request,
                        outcome: AuthOutcome::Unavailable,
                    });
                }
            }
            Output::Log(n) => {
                let session = n.session.map(|k| k.to_string()).unwrap_or_default();
                match (emit, n.level) {
                    (false, _) | (true, Level::Debug) => tracing::debug!(%session, "{}", n.text),
                    (true, Level::Info) => tracing::info!(%session, "{}", n.text),
                    (true, Level::Warn) => tracing::warn!(%session, "{}", n.text),
                }
            }
            Output::Account(record) if emit => self.accounts.send(record),
            // A standby (or a node that just lost its lease) sends nothing.
            Output::SendL2tp(_)
            | Output::SendPpp { .. }
            | Output::Authenticate(_)
            | Output::Account(_) => {}
        }
    }

    /// Metrics, and traffic seen since the last read (idle timeouts, LCP
    /// keepalive) on the active node.
    fn poll_stats(&mut self) {
        self.observer.sample(self.replica.lock().engine());
        if let Some(taps) = self.plane.captures() {
            taps.prune();
        }
        if !self.active {
            return;
        }
        let mut seen = Vec::new();
        for (key, last) in &mut self.last_rx {
            if let Some(s) = self.plane.session_stats(key.tunnel, key.session) {
                if s.last_rx_unix_micros > *last {
                    *last = s.last_rx_unix_micros;
                    seen.push((*key, s.last_rx_unix_micros));
                }
            }
        }
        for (session, at) in seen {
            self.input(Input::TrafficSeen {
                session,
                at: Timestamp::from_unix_micros(at),
            });
        }
    }

    /// A DAE request: resolved against the replicated sessions, performed
    /// through the log like any input. Only the active node holds the
    /// tunnel address the DAE server listens on; a standby answers NAK.
    fn on_dae(&mut self, req: crate::dae::DaeRequest) {
        use lns_proto::radius::dae::Outcome;
        use lns_proto::radius::ErrorCause;
        let outcome = if !self.active {
            Outcome::Nak(ErrorCause::ResourcesUnavailable)
        } else {
            let keys = self.replica.lock().engine().select_sessions(&req.selector);
            if keys.is_empty() {
                // RFC 5176 §3.5.
                Outcome::Nak(ErrorCause::SessionContextNotFound)
            } else {
                for k in keys {
                    let input = match &req.action {
                        crate::dae::Action::Disconnect => {
                            Input::Admin(crate::engine::AdminCommand::KillSession(k))
                        }
                        crate::dae::Action::Change(change) => Input::Reauthorize {
                            session: k,
                            change: change.clone(),
                        },
                    };
                    tracing::info!(session = %k, action = ?req.action, "DAE request proposed");
                    self.input(input);
                }
                Outcome::Ack
            }
        };
        let _ = req.reply.send(outcome);
    }

    /// Replicates the traffic counters of every published session.
    fn poll_counters(&mut self) {
        if !self.active {
            return;
        }
        let batch: Vec<SessionCounters> = self
            .last_rx
            .keys()
            .filter_map(|k| {
                let local = counters(&self.plane.session_stats(k.tunnel, k.session)?);
                let offset = self.counter_offset.get(k).copied().unwrap_or_default();
                Some(SessionCounters {
                    session: *k,
                    traffic: plus(offset, local),
                })
            })
            .collect();
        if !batch.is_empty() {
            self.input(Input::Counters(batch));
        }
    }
}

/// The eligible member after `me` in id order, wrapping around.
pub fn next_eligible(me: MemberId, eligible: &[MemberId]) -> Option<MemberId> {
    eligible
        .iter()
        .copied()
        .find(|id| *id > me)
        .or_else(|| eligible.iter().copied().find(|id| *id != me))
}

fn counters(s: &crate::dataplane::SessionStats) -> Traffic {
    Traffic {
        input_octets: s.rx_bytes,
        output_octets: s.tx_bytes,
        input_packets: s.rx_packets,
        output_packets: s.tx_packets,
    }
}

fn minus(a: Traffic, b: Traffic) -> Traffic {
    Traffic {
        input_octets: a.input_octets.saturating_sub(b.input_octets),
        output_octets: a.output_octets.saturating_sub(b.output_octets),
        input_packets: a.input_packets.saturating_sub(b.input_packets),
        output_packets: a.output_packets.saturating_sub(b.output_packets),
    }
}

fn plus(a: Traffic, b: Traffic) -> Traffic {
    Traffic {
        input_octets: a.input_octets.saturating_add(b.input_octets),
        output_octets: a.output_octets.saturating_add(b.output_octets),
        input_packets: a.input_packets.saturating_add(b.input_packets),
        output_packets: a.output_packets.saturating_add(b.output_packets),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_goes_to_the_next_eligible_member_and_wraps_around() {
        assert_eq!(next_eligible(1, &[1, 2]), Some(2));
        assert_eq!(next_eligible(2, &[1, 2]), Some(1));
        assert_eq!(next_eligible(2, &[1, 2, 4]), Some(4));
        assert_eq!(next_eligible(3, &[1, 2]), Some(1), "from the witness");
        assert_eq!(next_eligible(1, &[1]), None, "nobody to hand over to");
    }

    #[test]
    fn counters_continue_from_the_replicated_value_after_a_takeover() {
        let c = |n| Traffic {
            input_octets: n * 100,
            output_octets: n * 100,
            input_packets: n,
            output_packets: n,
        };
        // Replicated 50, this node's data plane had 10 (an earlier term).
        let offset = minus(c(50), c(10));
        // 5 more packets since: 55 reported, never 65.
        assert_eq!(plus(offset, c(15)), c(55));
        // A data plane ahead of the replicated value gives no negative offset.
        assert_eq!(minus(c(3), c(10)), c(0));
    }
}
