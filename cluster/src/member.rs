//! The tokio member: one task owns a [`MemberCore`]; callers hold a
//! [`Member`] handle and talk to the task through typed commands.
//!
//! Contract:
//! - [`Member::start`] validates the config, opens (or refuses) the data
//!   directory, binds the peer gRPC server on this member's address and
//!   spawns the task. The task drains every queued command and peer message,
//!   then flushes the core once: that is the batching point (one Ready, one
//!   fsync, one `Deliver` per peer for the whole batch). The flush is split
//!   around the fsync: a leader's appends and the replies to committed
//!   proposals are routed before it, everything that must follow the fsync
//!   after it.
//! - [`Member::propose`] resolves when the command is committed and applied
//!   locally, with the state machine's result, or with a [`ProposeError`].
//! - [`Member::leadership`] is a watch of term, leader, role and activity;
//!   activity changes are published at the instant the lease says so (the
//!   task wakes at the core's `poll_timeout`).
//! - The task runs on a thread of its own (a current-thread runtime), and
//!   with fsync on the store writes sled and syncs on threads of its own
//!   (raft-rs async ready, see `storage::syncer`; compaction serialises the
//!   state's frozen view there too): the task keeps taking proposals and
//!   acknowledgements while a batch reaches the disk, and the messages that
//!   depend on a batch leave once the store reports it durable. Heartbeats
//!   keep flowing under disk load.
//! - A storage failure stops the member (it reports itself inactive first):
//!   carrying on after a failed fsync could break Raft's promises.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::config::{Bootstrap, ClusterConfig, ConfigError, MemberId};
use crate::core::{
    Activity, ClusterStatus, CoreError, Event, Leadership, MemberCore, MembershipChange,
    ProposeError, Role, StateMachine,
};
use crate::fence::LeaseFence;
use crate::forward::{ForwardError, ForwardHandler, ForwardSlot};
use crate::lease::Micros;
use crate::storage::{LogStore, StoreError};
use crate::transport::{self, Credentials, Feedback, Inbound, PeerLink, Secret};

/// How long a proposal may wait before `ProposeError::TimedOut`.
pub const PROPOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a member could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("member address {0:?} is not a socket address")]
    Address(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("cannot start the member thread: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The handle to a running member. Cheap to clone.
#[derive(Clone)]
pub struct Member {
    id: MemberId,
    commands: mpsc::Sender<Command>,
    leadership: watch::Receiver<Leadership>,
    credentials: Credentials,
    forward: ForwardSlot,
    fence: std::sync::Arc<LeaseFence>,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("id", &self.id)
            .field("forwarding", &self.forward.get().is_some())
            .finish_non_exhaustive()
    }
}

impl Member {
    /// Starts a member: `config` (validated), the caller's state machine,
    /// the data directory and the shared cluster secret.
    pub async fn start<S>(
        config: ClusterConfig,
        state_machine: S,
        data_dir: &Path,
        secret: Secret,
    ) -> Result<Member, StartError>
    where
        S: StateMachine + Send + 'static,
    {
        config.validate()?;
        let me = config.id;
        let own = config
            .members
            .get(&me)
            .map(|p| p.address.clone())
            .unwrap_or_default();
        let addr: SocketAddr = own.parse().map_err(|_| StartError::Address(own.clone()))?;
        let voters: Vec<MemberId> = match config.bootstrap {
            Bootstrap::Founding => config.members.keys().copied().collect(),
            Bootstrap::Joining => Vec::new(),
        };
        let mut store = LogStore::open(data_dir, &voters, config.fsync)?;
        // fsyncs on a thread of the store's: this task never waits for the
        // disk; the store wakes it when a batch became durable.
        let synced = std::sync::Arc::new(tokio::sync::Notify::new());
        let waker = synced.clone();
        store.start_background_sync(std::sync::Arc::new(move || waker.notify_one()))?;
        let origin = Instant::now();
        let fence = std::sync::Arc::new(LeaseFence::closed(origin.into_std()));
        let core = MemberCore::new(
            &config,
            store,
            state_machine,
            &crate::log_bridge::logger(),
            0,
        )?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Listen { addr, source })?;
        let (inbound_tx, inbound_rx) = mpsc::channel(8192);
        let (feedback_tx, feedback_rx) = mpsc::unbounded_channel();
        let (commands, commands_rx) = mpsc::channel(65536);
        let initial = core.leadership();
        let (leadership_tx, leadership) = watch::channel(initial);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let incoming = peer_incoming(listener);
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = &config.tls {
            builder = builder
                .tls_config(tls.server())
                .map_err(|e| StartError::Tls(e.to_string()))?;
        }
        let forward = ForwardSlot::default();
        let router = transport::router_with_forward(
            &mut builder,
            me,
            secret.clone(),
            inbound_tx,
            forward.clone(),
        );
        tracing::info!(
            %addr,
            security = if config.tls.is_some() {
                "mutual TLS and the cluster secret"
            } else {
                "the cluster secret (no TLS)"
            },
            "peer server listening"
        );
        let credentials = Credentials {
            secret,
            tls: config.tls.clone(),
        };
        tokio::spawn(async move {
            let r = router
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stop_rx.await;
                })
                .await;
            if let Err(e) = r {
                tracing::error!(error = %e, "peer server stopped");
            }
        });
        let rt = tokio::runtime::Handle::current();
        let mut links = BTreeMap::new();
        for (id, peer) in config.members.iter().filter(|(id, _)| **id != me) {
            let link = PeerLink::spawn(
                &rt,
                me,
                *id,
                peer.address.clone(),
                credentials.clone(),
                config.peer_queue,
                feedback_tx.clone(),
            );
            links.insert(*id, link);
        }
        let task_credentials = credentials.clone();
        let task = Task {
            me,
            core,
            origin,
            links,
            credentials,
            peer_queue: config.peer_queue,
            feedback_tx,
            pending: BTreeMap::new(),
            reads: BTreeMap::new(),
            next_token: 1,
            leadership: leadership_tx,
            fence: fence.clone(),
            synced,
            rt,
            _stop_server: stop_tx,
        };
        let thread_rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        std::thread::Builder::new()
            .name(format!("lns-cluster-{me}"))
            .spawn(move || thread_rt.block_on(task.run(commands_rx, inbound_rx, feedback_rx)))
            .map_err(StartError::Runtime)?;
        Ok(Member {
            id: me,
            commands,
            leadership,
            credentials: task_credentials,
            forward,
            fence,
        })
    }

    pub fn id(&self) -> MemberId {
        self.id
    }

    /// Proposes `command`; resolves once committed and applied locally.
    pub async fn propose(&self, command: Vec<u8>) -> Result<Vec<u8>, ProposeError> {
        let (reply, rx) = oneshot::channel();
        self.call(Command::Propose { command, reply }, rx).await?
    }

    /// The lease fence: other threads (a data plane) read it to stop
    /// emitting by their own clock the instant the lease runs out.
    pub fn lease_fence(&self) -> std::sync::Arc<LeaseFence> {
        self.fence.clone()
    }

    /// A watch of the leadership view (term, leader, role, activity).
    pub fn leadership(&self) -> watch::Receiver<Leadership> {
        self.leadership.clone()
    }

    /// True when this member is active right now.
    pub fn is_active(&self) -> bool {
        self.leadership.borrow().activity == Activity::Active
    }

    /// Hands leadership to `target` (this member must lead).
    pub async fn transfer_leader(&self, target: MemberId) -> Result<(), ProposeError> {
        let (reply, rx) = oneshot::channel();
        self.call(Command::Transfer { target, reply }, rx).await?
    }

    /// Adds or removes a voter or learner; resolves once applied. In
    /// `FailoverMode::Automatic` a change that would leave two eligible
    /// voters and no witness is refused with
    /// `ProposeError::MembershipRefused` (grow a one-voter cluster by adding
    /// the witness first).
    pub async fn change_membership(&self, change: MembershipChange) -> Result<(), ProposeError> {
        let (reply, rx) = oneshot::channel();
        self.call(Command::Membership { change, reply }, rx)
            .await?
            .map(|_| ())
    }

    /// A linearizable read index: once this resolves, every command
    /// committed before the call is applied locally.
    pub async fn read_index(&self) -> Result<u64, ProposeError> {
        let (reply, rx) = oneshot::channel();
        self.call(Command::ReadIndex { reply }, rx).await?
    }

    /// `FailoverMode::Manual`: activates this member if it leads.
    pub async fn activate(&self) -> Result<(), ProposeError> {
        let (reply, rx) = oneshot::channel();
        self.call(Command::Activate { reply }, rx).await?
    }

    /// The status view.
    pub async fn status(&self) -> Result<ClusterStatus, ProposeError> {
        let (reply, rx) = oneshot::channel();
        self.call(Command::Status { reply }, rx).await
    }

    /// Installs the handler that answers `Peer.Forward` on this member
    /// (once; `false` if one was already installed).
    pub fn serve_forwarded(&self, handler: ForwardHandler) -> bool {
        self.forward.set(handler)
    }

    /// Hands an opaque `body` to member `to` at `address` over the
    /// authenticated peer transport and returns its handler's answer.
    pub async fn forward(
        &self,
        to: MemberId,
        address: &str,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, ForwardError> {
        crate::forward::forward(self.id, to, address, &self.credentials, body).await
    }

    /// Stops the member task and its server.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
    }

    async fn call<T>(&self, cmd: Command, rx: oneshot::Receiver<T>) -> Result<T, ProposeError> {
        self.commands
            .send(cmd)
            .await
            .map_err(|_| ProposeError::Stopped)?;
        match tokio::time::timeout(PROPOSE_TIMEOUT, rx).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(ProposeError::Stopped),
            Err(_) => Err(ProposeError::TimedOut),
        }
    }
}

type Reply<T> = oneshot::Sender<T>;

#[derive(Debug)]
enum Command {
    Propose {
        command: Vec<u8>,
        reply: Reply<Result<Vec<u8>, ProposeError>>,
    },
    Membership {
        change: MembershipChange,
        reply: Reply<Result<Vec<u8>, ProposeError>>,
    },
    Transfer {
        target: MemberId,
        reply: Reply<Result<(), ProposeError>>,
    },
    ReadIndex {
        reply: Reply<Result<u64, ProposeError>>,
    },
    Activate {
        reply: Reply<Result<(), ProposeError>>,
    },
    Status {
        reply: Reply<ClusterStatus>,
    },
    Shutdown,
}

struct Task<S: StateMachine> {
    me: MemberId,
    core: MemberCore<S>,
    origin: Instant,
    links: BTreeMap<MemberId, PeerLink>,
    credentials: Credentials,
    peer_queue: usize,
    feedback_tx: mpsc::UnboundedSender<Feedback>,
    pending: BTreeMap<u64, Reply<Result<Vec<u8>, ProposeError>>>,
    reads: BTreeMap<u64, Reply<Result<u64, ProposeError>>>,
    next_token: u64,
    leadership: watch::Sender<Leadership>,
    /// The lease deadline for other threads, stored after every step.
    fence: std::sync::Arc<LeaseFence>,
    /// Notified by the store's fsync thread when a batch became durable.
    synced: std::sync::Arc<tokio::sync::Notify>,
    rt: tokio::runtime::Handle,
    _stop_server: oneshot::Sender<()>,
}

/// Upper bound of inputs drained into one batch.
const MAX_DRAIN: usize = 8192;
/// A flush (Ready, fsync, routing) at least this long is logged at debug.
const SLOW_FLUSH: Duration = Duration::from_millis(10);

impl<S: StateMachine> Task<S> {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut inbound: mpsc::Receiver<Inbound>,
        mut feedback: mpsc::UnboundedReceiver<Feedback>,
    ) {
        loop {
            let wake = self.origin + Duration::from_micros(self.core.poll_timeout());
            tokio::select! {
                c = commands.recv() => match c {
                    Some(c) => if self.command(c) { break },
                    None => break,
                },
                Some(m) = inbound.recv() => self.inbound(m),
                Some(f) = feedback.recv() => self.feedback(f),
                () = self.synced.notified() => {}
                _ = tokio::time::sleep_until(wake) => {}
            }
            // Batch: take whatever else is already queued before the flush.
            let mut stop = false;
            for _ in 0..MAX_DRAIN {
                let mut progressed = false;
                if let Ok(c) = commands.try_recv() {
                    stop |= self.command(c);
                    progressed = true;
                }
                if let Ok(m) = inbound.try_recv() {
                    self.inbound(m);
                    progressed = true;
                }
                if let Ok(f) = feedback.try_recv() {
                    self.feedback(f);
                    progressed = true;
                }
                if !progressed || stop {
                    break;
                }
            }
            if stop {
                break;
            }
            let now = self.now();
            if self.core.poll_timeout() <= now {
                self.core.handle_timeout(now);
            }
            // The leader's appends and the replies to committed proposals
            // leave before this member's fsync, so they overlap it.
            let started = std::time::Instant::now();
            if let Err(e) = self.core.begin_flush(now) {
                tracing::error!(error = %e, "member stopping: storage or raft failure");
                break;
            }
            let t_core = started.elapsed();
            self.route();
            let begun = started.elapsed();
            if let Err(e) = self.core.finish_flush() {
                tracing::error!(error = %e, "member stopping: storage or raft failure");
                break;
            }
            self.route();
            let now = self.now();
            self.fence
                .set(self.core.active_until(now), self.core.forward_until(now));
            let took = started.elapsed();
            if took >= SLOW_FLUSH {
                tracing::debug!(
                    core_us = t_core.as_micros() as u64,
                    before_sync_us = begun.as_micros() as u64,
                    total_us = took.as_micros() as u64,
                    "slow flush"
                );
            }
        }
        self.fence.close();
        let mut l = self.core.leadership();
        l.activity = Activity::Inactive;
        l.role = Role::Follower;
        let _ = self.leadership.send(l);
        for (_, r) in std::mem::take(&mut self.pending) {
            let _ = r.send(Err(ProposeError::Stopped));
        }
    }

    fn now(&self) -> Micros {
        u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn token(&mut self) -> u64 {
        let t = self.next_token;
        self.next_token += 1;
        t
    }

    /// Returns true on shutdown.
    fn command(&mut self, c: Command) -> bool {
        match c {
            Command::Propose { command, reply } => {
                let token = self.token();
                match self.core.propose(command, token) {
                    Ok(()) => {
                        self.pending.insert(token, reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::Membership { change, reply } => {
                let token = self.token();
                match self.core.propose_membership(&change, token) {
                    Ok(()) => {
                        self.pending.insert(token, reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::Transfer { target, reply } => {
                let _ = reply.send(self.core.transfer_leader(target));
            }
            Command::ReadIndex { reply } => {
                let token = self.token();
                self.core.read_index(token);
                self.reads.insert(token, reply);
            }
            Command::Activate { reply } => {
                let _ = reply.send(self.core.activate());
            }
            Command::Status { reply } => {
                let _ = reply.send(self.core.status());
            }
            Command::Shutdown => return true,
        }
        false
    }

    fn inbound(&mut self, m: Inbound) {
        let now = self.now();
        self.core.handle_envelope(now, m.from, &m.envelope);
    }

    fn feedback(&mut self, f: Feedback) {
        match f {
            Feedback::Unreachable(id) => self.core.report_unreachable(id),
            Feedback::SnapshotSent(id) => self.core.report_snapshot(id, Ok(())),
            Feedback::SnapshotFailed(id) => self.core.report_snapshot(id, Err(())),
        }
    }

    fn route(&mut self) {
        // Events first: the leadership watch reports a released lease before
        // the MsgTimeoutNow that hands it over leaves this member.
        while let Some(e) = self.core.poll_event() {
            match e {
                Event::Proposed { token, result } => {
                    if let Some(r) = self.pending.remove(&token) {
                        let _ = r.send(result);
                    }
                }
                Event::ReadReady { token, index } => {
                    if let Some(r) = self.reads.remove(&token) {
                        let _ = r.send(Ok(index));
                    }
                }
                Event::Leadership(l) => {
                    tracing::info!(term = l.term, leader = ?l.leader, role = ?l.role, activity = ?l.activity, "leadership");
                    let _ = self.leadership.send(l);
                }
                Event::Membership {
                    change,
                    voters,
                    learners,
                } => {
                    tracing::info!(?change, ?voters, ?learners, "membership changed");
                    match change {
                        MembershipChange::AddVoter { id, address }
                        | MembershipChange::AddLearner { id, address } => {
                            if id != self.me && !self.links.contains_key(&id) && !address.is_empty()
                            {
                                let link = PeerLink::spawn(
                                    &self.rt,
                                    self.me,
                                    id,
                                    address,
                                    self.credentials.clone(),
                                    self.peer_queue,
                                    self.feedback_tx.clone(),
                                );
                                self.links.insert(id, link);
                            }
                        }
                        MembershipChange::Remove { id } => {
                            self.links.remove(&id);
                        }
                    }
                }
                Event::SnapshotInstalled { index } => {
                    tracing::info!(index, "snapshot installed");
                }
            }
        }
        while let Some(out) = self.core.poll_transmit() {
            let to = out.to;
            let snapshot = out.payload == crate::core::Payload::Snapshot;
            let queued = self.links.get(&to).is_some_and(|l| l.send(out));
            if !queued {
                self.core.report_unreachable(to);
                if snapshot {
                    self.core.report_snapshot(to, Err(()));
                }
            }
        }
    }
}

/// The peer server's accepted connections, with Nagle off. tonic ignores
/// the builder's `tcp_nodelay` for a listener of our own; without it, Nagle
/// holds a small reply (an append acknowledgement) behind the previous
/// unacknowledged segment until the peer's delayed ACK (40 ms on Linux).
/// That was the commit-latency tail of the bench at 256 and 1 024 in flight.
fn peer_incoming(listener: tokio::net::TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

#[cfg(test)]
mod tests {
    use tokio_stream::StreamExt;

    #[tokio::test]
    async fn accepted_peer_connections_have_nagle_off() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("bound address");
        let mut incoming = super::peer_incoming(listener);
        let _client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let accepted = incoming
            .next()
            .await
            .expect("a connection")
            .expect("accepted");
        assert!(
            accepted.nodelay().expect("TCP_NODELAY readable"),
            "Nagle is on for a peer connection"
        );
    }
}
