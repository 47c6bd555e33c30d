//! Starting a cluster member (issue 6): the Raft member with the replicated
//! engine, the cluster control task, the readiness and role metric that
//! follow the leadership watch, and SIGUSR1 (leadership transfer).
//!
//! Contract: an `lns` member runs everything a single node runs (data
//! plane, AAA task, HTTP) but the control task is
//! [`control::cluster::run`]; a witness runs the Raft member only (no
//! L2TP, no TUN, no RADIUS) until SIGTERM/SIGINT. SIGUSR1 on the active
//! node hands leadership to the next eligible member (docs/RUNBOOK.md).

use super::takeover::Takeover;
use crate::config::{ClusterSection, Config};
use crate::control::cluster::{self as cluster_control, ClusterHandle, ClusterParts};
use crate::control::{Channels, ControlSignal, Exit, Observer, Plane};
use crate::http::{LogState, Readiness, ServingRole};
use crate::metrics::{AddressHolding, Metrics, NodeRole, RaftRole, RaftSample};
use crate::mgmt::cluster_backend::{AddressBook, ClusterBackend};
use crate::mgmt::daemon_backend::{start_server, DaemonBackend};
use crate::mgmt::forwarding::Forwarding;
use crate::replica::fingerprint::SECTIONS;
use crate::replica::{ConfigSource, Consistency, Replica, ReplicaEvent, SharedReplica};
use crate::vip::Vip;
use anyhow::Context;
use lns_cluster::{Activity, ClusterStatus, Member, MemberId, Role, Secret};
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

/// Starts the Raft member of `section` with a replica of `config`'s engine.
pub async fn start_member(
    config: &Config,
    section: &ClusterSection,
) -> anyhow::Result<(
    ClusterHandle,
    SharedReplica,
    mpsc::UnboundedReceiver<ReplicaEvent>,
)> {
    super::sched::warn_if_realtime();
    let secret = section
        .secret
        .as_ref()
        .context("cluster.secret_file was not read")?;
    let secret = Secret::new(secret.expose()).context("cluster.secret_file")?;
    let (tx, rx) = mpsc::unbounded_channel();
    // A witness runs the engine settings the log carries (RUNBOOK "The
    // witness"); an lns member its own, checked against the log's.
    let source = match section.role {
        crate::config::ClusterRole::Witness => ConfigSource::Log,
        crate::config::ClusterRole::Lns => ConfigSource::Own,
    };
    let replica =
        SharedReplica::new(Replica::new(config.engine_config(), Some(tx)).with_source(source));
    std::fs::create_dir_all(&section.data_dir)
        .with_context(|| format!("cluster.data_dir {}", section.data_dir.display()))?;
    let mut cluster_config = section.cluster_config();
    cluster_config.tls = section
        .tls_config()
        .map_err(|e| anyhow::anyhow!("cluster.tls_*: {e}"))?;
    let member = Member::start(cluster_config, replica.clone(), &section.data_dir, secret)
        .await
        .context("cluster member")?;
    // The local snapshot (if any) is restored: a restore from now on is a
    // snapshot installed from a leader.
    replica.lock().mark_started();
    tracing::info!(id = section.node_id, listen = %section.listen, role = ?section.role, "cluster member started");
    Ok((ClusterHandle::new(member, section), replica, rx))
}

/// The management backend of a member: its own, with writes forwarded to
/// the active member while this one is not active (`mgmt::forwarding`).
fn forwarding(
    backend: DaemonBackend,
    ops: ClusterBackend,
    handle: &ClusterHandle,
    section: &ClusterSection,
) -> Forwarding<DaemonBackend> {
    Forwarding::install(
        backend.with_cluster(Arc::new(ops)),
        handle.member().clone(),
        AddressBook::from_section(section),
    )
}

/// Runs a witness until SIGTERM/SIGINT. Its management API answers status,
/// cluster status and reads from its replicated table.
pub async fn run_witness(
    config: Config,
    mut signals: mpsc::Receiver<ControlSignal>,
    readiness: Readiness,
    metrics: Arc<Metrics>,
    backend: DaemonBackend,
) -> anyhow::Result<Exit> {
    let section = config.cluster.clone().context("a witness has [cluster]")?;
    let (handle, replica, mut events) = start_member(&config, &section).await?;
    let ops = ClusterBackend::new(handle.clone(), replica.clone(), &section);
    let mgmt = start_server(&config.mgmt, forwarding(backend, ops, &handle, &section))?;
    readiness.set_role(ServingRole::Witness);
    metrics.observe_node_role(NodeRole::Witness);
    let roles = tokio::spawn(follow_leadership(
        handle.clone(),
        replica.clone(),
        readiness.clone(),
        Arc::clone(&metrics),
    ));
    loop {
        tokio::select! {
            s = signals.recv() => match s {
                Some(ControlSignal::Shutdown) | None => break,
                Some(ControlSignal::Query(q)) => {
                    let replica = replica.lock();
                    q.answer(replica.engine(), &NoPlane);
                }
                Some(_) => {}
            },
            // A witness applies the log too (it may have to send a snapshot)
            // but performs no output.
            Some(_) = events.recv() => {}
        }
    }
    readiness.set_role(ServingRole::Stopping);
    mgmt.stop().await;
    roles.abort();
    handle.member().shutdown().await;
    Ok(Exit::Clean)
}

/// Runs the control side of an `lns` member.
pub async fn run_lns<P: Plane>(
    config: &Config,
    plane: P,
    channels: Channels,
    observer: Observer,
    readiness: Readiness,
    metrics: Arc<Metrics>,
    backend: DaemonBackend,
) -> anyhow::Result<Exit> {
    let section = config
        .cluster
        .clone()
        .context("an lns member has [cluster]")?;
    // A node killed while active left its tunnel addresses behind: a
    // member starts as a standby and must not hold them.
    let vip = Vip::new(section.tunnel_addresses.clone());
    vip.release();
    // Held until this function returns; if lnsd dies instead, the guard
    // removes the addresses (vip.rs).
    let _address_guard = match vip.guard() {
        Ok(g) => Some(g),
        Err(e) => {
            tracing::error!("tunnel address guard not started ({e}): if lnsd dies while active, its tunnel addresses stay on the interface (RUNBOOK: ExecStopPost)");
            None
        }
    };
    let (handle, replica, events) = start_member(config, &section).await?;
    // A planned transfer removes the addresses before the target may
    // campaign (control/transfer.rs): every path (lnsctl, SIGUSR1, SIGTERM)
    // goes through this handle.
    let handle = handle.with_addresses(vip.clone());
    // The data plane emits only while this member's lease fence is open,
    // by its own clock: a resumed frozen node stops before its member task
    // has run (freeze-active).
    plane.fence(handle.member().lease_fence());
    let ops = ClusterBackend::new(handle.clone(), replica.clone(), &section);
    let mgmt = start_server(&config.mgmt, forwarding(backend, ops, &handle, &section))?;
    readiness.set_role(ServingRole::Standby);
    metrics.observe_node_role(NodeRole::Standby);
    let addresses: Vec<std::net::IpAddr> = section
        .tunnel_addresses
        .iter()
        .map(|t| t.address.addr)
        .collect();
    let election_timeout =
        section.timing().tick * u32::try_from(section.election_ticks_min).unwrap_or(u32::MAX);
    let roles = tokio::spawn(follow_roles(
        handle.clone(),
        replica.clone(),
        readiness,
        metrics,
        addresses,
        election_timeout,
        section
            .members
            .iter()
            .filter(|m| m.role == crate::config::ClusterRole::Lns)
            .map(|m| m.id)
            .collect(),
    ));
    let usr1 = tokio::spawn(transfer_on_sigusr1(handle.clone()));
    let parts = ClusterParts {
        handle,
        replica,
        events,
        vip,
        counters_interval: section.counters_interval(),
    };
    let exit = cluster_control::run(parts, plane, channels, observer).await;
    mgmt.stop().await;
    roles.abort();
    usr1.abort();
    Ok(exit?)
}

/// Readiness (`/readyz`), `lnsd_node_role`, `lnsd_tunnel_address_held`,
/// the Raft gauges and the failover counters follow the leadership watch
/// (and the status view, sampled every second).
async fn follow_roles(
    handle: ClusterHandle,
    replica: SharedReplica,
    readiness: Readiness,
    metrics: Arc<Metrics>,
    addresses: Vec<std::net::IpAddr>,
    election_timeout: std::time::Duration,
    eligible: Vec<MemberId>,
) {
    let mut watch = handle.leadership();
    let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
    let mut takeover = Takeover::new(handle.member().id(), election_timeout, eligible);
    loop {
        let l = *watch.borrow_and_update();
        // A member whose configuration differs never serves (the control
        // task refuses to become active and hands leadership on).
        let refused = replica.lock().consistency().differs();
        let (role, node, holding) = match l.activity {
            Activity::Active if !refused => {
                (ServingRole::Active, NodeRole::Active, AddressHolding::Held)
            }
            Activity::Active | Activity::Inactive => (
                ServingRole::Standby,
                NodeRole::Standby,
                AddressHolding::Released,
            ),
        };
        readiness.set_role(role);
        metrics.observe_node_role(node);
        metrics.observe_active_refused(l.activity == Activity::Active && refused);
        for a in &addresses {
            metrics.observe_tunnel_address(*a, holding);
        }
        let seen = std::time::Instant::now();
        let status = handle.status().await.ok();
        let age = match (&status, takeover.previous_leader()) {
            (Some(s), Some(old)) if takeover.needs_contact_age(&l) => contact_age(s, old),
            _ => None,
        };
        if let Some((kind, took)) = takeover.observe(&l, seen, age) {
            tracing::info!(
                ?kind,
                ms = took.as_millis(),
                "this node took over as the active LNS"
            );
            metrics.failover_completed(kind, took, crate::system::now().unix_micros() as f64 / 1e6);
        }
        if let Some(s) = status {
            sample_raft(&metrics, &s);
            sample_replica(&replica, &readiness, &metrics, &s);
        }
        tokio::select! {
            c = watch.changed() => if c.is_err() { return },
            _ = every.tick() => {}
        }
    }
}

/// The Raft gauges of a witness (it never serves, so no role change).
async fn follow_leadership(
    handle: ClusterHandle,
    replica: SharedReplica,
    readiness: Readiness,
    metrics: Arc<Metrics>,
) {
    let mut watch = handle.leadership();
    let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        watch.borrow_and_update();
        if let Ok(s) = handle.status().await {
            sample_raft(&metrics, &s);
            sample_replica(&replica, &readiness, &metrics, &s);
        }
        tokio::select! {
            c = watch.changed() => if c.is_err() { return },
            _ = every.tick() => {}
        }
    }
}

fn sample_raft(metrics: &Metrics, s: &ClusterStatus) {
    metrics.observe_raft(&RaftSample {
        term: s.leadership.term,
        role: match s.leadership.role {
            Role::Leader => RaftRole::Leader,
            Role::Candidate => RaftRole::Candidate,
            Role::PreCandidate => RaftRole::PreCandidate,
            Role::Follower | Role::Learner => RaftRole::Follower,
        },
        leader_id: s.leadership.leader.unwrap_or(0),
        commit_index: s.commit,
        applied_index: s.applied,
    });
    for m in &s.members {
        if let Some(lag) = m.lag {
            metrics.observe_follower_lag(m.id, lag);
        }
    }
}

/// Applied entries a member may lag behind the commit index and still be
/// ready to take over.
const READY_LAG_ENTRIES: u64 = 1_000;

/// The log state for `/readyz` (behind, caught up, or diverged: this
/// member's configuration differs from the active node's) and the
/// replication metrics.
fn sample_replica(
    replica: &SharedReplica,
    readiness: &Readiness,
    metrics: &Metrics,
    s: &ClusterStatus,
) {
    let (consistency, installed) = {
        let r = replica.lock();
        (r.consistency(), r.snapshots_installed())
    };
    let differing = match &consistency {
        Consistency::Differs(d) => d.clone(),
        Consistency::Matches | Consistency::Unknown => Vec::new(),
    };
    metrics.observe_replication(installed, SECTIONS, &differing);
    readiness.set_log(if consistency.differs() {
        LogState::Diverged
    } else if s.commit.saturating_sub(s.applied) <= READY_LAG_ENTRIES {
        LogState::CaughtUp
    } else {
        LogState::Behind
    });
}

/// How long ago (by the member's clock) `old` was last heard from.
fn contact_age(s: &ClusterStatus, old: MemberId) -> Option<std::time::Duration> {
    let now = s.members.iter().find(|m| m.id == s.id)?.last_contact?;
    let then = s.members.iter().find(|m| m.id == old)?.last_contact?;
    Some(std::time::Duration::from_micros(now.saturating_sub(then)))
}

/// A witness has no data plane: reads answer from the replicated table
/// without traffic counters, and nothing is ever sent.
struct NoPlane;

impl Plane for NoPlane {
    fn upsert_session(&self, _entry: crate::dataplane::SessionEntry) {}
    fn remove_session(&self, _tunnel_id: u16, _session_id: u16) {}
    fn send_control(
        &self,
        _local: std::net::SocketAddr,
        _peer: std::net::SocketAddr,
        _datagram: &[u8],
    ) {
    }
    fn send_ppp(&self, _tunnel_id: u16, _session_id: u16, _frame: &[u8]) {}
    fn session_stats(
        &self,
        _tunnel_id: u16,
        _session_id: u16,
    ) -> Option<crate::dataplane::SessionStats> {
        None
    }
    fn add_routes(&self, _routes: &[(std::net::IpAddr, u8)]) -> Result<(), String> {
        Ok(())
    }
}

/// SIGUSR1: the active node hands leadership to the next eligible member.
async fn transfer_on_sigusr1(handle: ClusterHandle) {
    let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
        tracing::error!("cannot install the SIGUSR1 handler");
        return;
    };
    while usr1.recv().await.is_some() {
        if !handle.is_active() {
            tracing::warn!("SIGUSR1: this node is not active; nothing to transfer");
            continue;
        }
        match handle.transfer_leader(None).await {
            Ok(to) => tracing::info!(to, "SIGUSR1: leadership transferred"),
            Err(e) => tracing::warn!("SIGUSR1: transfer refused: {e}"),
        }
    }
}
