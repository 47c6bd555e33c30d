//! The [`ManagementBackend`] lnsd serves: reads asked to the control task,
//! writes sent to it as operator commands, captures installed on the data
//! plane's taps, RADIUS and counters read from the metrics.
//!
//! Contract (DESIGN.md D4): the control task owns the engine; every read is
//! a [`Query`] closure sent on the control task's bounded signal channel,
//! answered through a oneshot. Both the send and the answer are bounded by
//! [`QUERY_TIMEOUT`]: a busy control task gives UNAVAILABLE "busy", a
//! stopped one UNAVAILABLE "stopping", never a hang. The backend holds only a
//! weak sender, so it never keeps the control task alive after the daemon
//! asked it to stop. Cluster commands go to the optional [`ClusterOps`];
//! without one they answer FAILED_PRECONDITION ([`NOT_A_MEMBER`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::backend::{
    BackendError, BackendResult, CaptureHandle, CaptureSpec, ManagementBackend, RequestedScope,
};
use super::capture::CaptureScope;
use super::cluster_ops::{ClusterOps, NOT_A_MEMBER};
use super::server::CAPTURE_QUEUE;
use super::taps::CaptureTaps;
use super::{exposition, pb, tap, views};
use crate::control::{ControlSignal, Plane, Query};
use crate::engine::{AdminCommand, Engine, SessionKey};
use crate::metrics::Metrics;
use crate::system::now;

/// Longest wait for the control task to take and answer a question.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// What the backend shows about the node itself.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    /// `node.host_name`.
    pub name: String,
    /// The L2TP listen addresses (a single node's tunnel addresses).
    pub tunnel_addresses: Vec<String>,
    /// Configured pool ranges by pool name, for `lnsctl pools`.
    pub pool_ranges: BTreeMap<String, String>,
}

/// lnsd's management backend.
pub struct DaemonBackend {
    control: mpsc::WeakSender<ControlSignal>,
    captures: Arc<CaptureTaps>,
    metrics: Arc<Metrics>,
    identity: NodeIdentity,
    started: Instant,
    cluster: Option<Arc<dyn ClusterOps>>,
}

impl std::fmt::Debug for DaemonBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonBackend")
            .field("identity", &self.identity)
            .field("cluster", &self.cluster.is_some())
            .finish_non_exhaustive()
    }
}

impl DaemonBackend {
    /// A backend asking the control task behind `control`.
    pub fn new(
        control: &mpsc::Sender<ControlSignal>,
        captures: Arc<CaptureTaps>,
        metrics: Arc<Metrics>,
        identity: NodeIdentity,
    ) -> DaemonBackend {
        DaemonBackend {
            control: control.downgrade(),
            captures,
            metrics,
            identity,
            started: Instant::now(),
            cluster: None,
        }
    }

    /// Plugs in the cluster operations (nodes with `[cluster]`).
    pub fn with_cluster(mut self, cluster: Arc<dyn ClusterOps>) -> DaemonBackend {
        self.cluster = Some(cluster);
        self
    }

    /// Runs `f` in the control task and returns its answer.
    async fn ask<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine, &dyn Plane) -> T + Send + 'static,
    ) -> BackendResult<T> {
        let (tx, rx) = oneshot::channel();
        let query = Query::new(move |engine, plane| {
            let _ = tx.send(f(engine, plane));
        });
        self.send(ControlSignal::Query(query)).await?;
        match tokio::time::timeout(QUERY_TIMEOUT, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(stopping()),
            Err(_) => Err(busy()),
        }
    }

    async fn send(&self, signal: ControlSignal) -> BackendResult<()> {
        let control = self.control.upgrade().ok_or_else(stopping)?;
        match tokio::time::timeout(QUERY_TIMEOUT, control.send(signal)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(stopping()),
            Err(_) => Err(busy()),
        }
    }

    fn cluster(&self) -> BackendResult<&Arc<dyn ClusterOps>> {
        self.cluster
            .as_ref()
            .ok_or_else(|| BackendError::Precondition(NOT_A_MEMBER.into()))
    }

    fn exposition(&self) -> BackendResult<String> {
        self.metrics
            .encode()
            .map_err(|e| BackendError::Unavailable(format!("metrics: {e}")))
    }
}

impl ManagementBackend for DaemonBackend {
    async fn status(&self) -> BackendResult<pb::StatusReply> {
        let (tunnels, sessions) = self
            .ask(|engine, _| {
                (
                    engine.endpoint().tunnels().count() as u32,
                    engine.sessions().count() as u32,
                )
            })
            .await?;
        let (role, term, active_node, active_address) = match &self.cluster {
            Some(c) => {
                let v = c.node_view();
                (v.role, v.term, v.active_node, v.active_address)
            }
            None => (
                pb::Role::Single,
                0,
                self.identity.name.clone(),
                String::new(),
            ),
        };
        Ok(pb::StatusReply {
            node: self.identity.name.clone(),
            role: role as i32,
            term,
            active_node,
            active_address,
            tunnel_addresses: self.identity.tunnel_addresses.clone(),
            uptime_seconds: self.started.elapsed().as_secs(),
            tunnels,
            sessions,
            version: env!("CARGO_PKG_VERSION").into(),
            origin: pb::ReplyOrigin::Live as i32,
        })
    }

    async fn list_sessions(&self, filter: pb::SessionFilter) -> BackendResult<pb::SessionList> {
        self.ask(move |engine, plane| views::list_sessions(engine, plane, now(), &filter))
            .await?
    }

    async fn show_session(&self, session_id: u32) -> BackendResult<pb::SessionDetail> {
        self.ask(move |engine, plane| views::session_detail(engine, plane, now(), session_id))
            .await?
    }

    async fn kill_sessions(
        &self,
        request: pb::KillSessionsRequest,
    ) -> BackendResult<pb::WriteOutcome> {
        use pb::kill_sessions_request::Target;
        let keys: Vec<SessionKey> = match request.target {
            Some(Target::SessionId(id)) => {
                let key = views::session_key(id);
                let found = self.ask(move |e, _| e.session(key).is_some()).await?;
                if !found {
                    return Err(BackendError::NotFound(format!("session {id}")));
                }
                vec![key]
            }
            Some(Target::User(user)) => {
                let wanted = user.clone();
                let keys = self
                    .ask(move |e, _| {
                        e.sessions()
                            .filter(|s| s.user == wanted.as_bytes())
                            .map(|s| s.key)
                            .collect::<Vec<_>>()
                    })
                    .await?;
                if keys.is_empty() {
                    return Err(BackendError::NotFound(format!("no session of user {user}")));
                }
                keys
            }
            None => {
                return Err(BackendError::InvalidArgument(
                    "kill needs a session ID or a user".into(),
                ))
            }
        };
        for key in &keys {
            self.send(ControlSignal::Admin(AdminCommand::KillSession(*key)))
                .await?;
        }
        let ids: Vec<String> = keys
            .iter()
            .map(|k| views::session_ref(*k).to_string())
            .collect();
        tracing::info!(sessions = ?ids, reason = %request.reason, "operator killed sessions");
        Ok(pb::WriteOutcome {
            affected: keys.len() as u32,
            forwarded_to: String::new(),
            message: format!("ending session {} (LCP Terminate, CDN)", ids.join(", ")),
        })
    }

    async fn list_tunnels(&self) -> BackendResult<pb::TunnelList> {
        self.ask(|engine, _| views::list_tunnels(engine, now()))
            .await
    }

    async fn show_tunnel(&self, tunnel_id: u32) -> BackendResult<pb::TunnelDetail> {
        self.ask(move |engine, _| views::tunnel_detail(engine, now(), tunnel_id))
            .await?
    }

    async fn kill_tunnel(&self, tunnel_id: u32) -> BackendResult<pb::WriteOutcome> {
        let id = u16::try_from(tunnel_id)
            .map_err(|_| BackendError::NotFound(format!("tunnel {tunnel_id}")))?;
        let sessions = self
            .ask(move |e, _| e.endpoint().tunnel(id).map(|t| t.sessions.len()))
            .await?
            .ok_or_else(|| BackendError::NotFound(format!("tunnel {tunnel_id}")))?;
        self.send(ControlSignal::Admin(AdminCommand::KillTunnel(id)))
            .await?;
        tracing::info!(tunnel = id, sessions, "operator closed a tunnel");
        Ok(pb::WriteOutcome {
            affected: 1,
            forwarded_to: String::new(),
            message: format!("closing tunnel {id} and its {sessions} session(s) (StopCCN)"),
        })
    }

    async fn list_pools(&self) -> BackendResult<pb::PoolList> {
        let ranges = self.identity.pool_ranges.clone();
        self.ask(move |engine, _| views::list_pools(engine, &ranges))
            .await
    }

    async fn radius_status(&self) -> BackendResult<pb::RadiusStatusReply> {
        Ok(pb::RadiusStatusReply {
            servers: self.metrics.radius_board().servers(now()),
        })
    }

    async fn cluster_status(&self) -> BackendResult<pb::ClusterStatusReply> {
        self.cluster()?.status().await
    }

    async fn transfer_leader(
        &self,
        request: pb::TransferLeaderRequest,
    ) -> BackendResult<pb::WriteOutcome> {
        let target = Some(request.target_node).filter(|t| !t.is_empty());
        self.cluster()?.transfer_leader(target).await
    }

    async fn add_member(&self, change: pb::MemberChange) -> BackendResult<pb::WriteOutcome> {
        self.cluster()?.add_member(change).await
    }

    async fn remove_member(&self, change: pb::MemberChange) -> BackendResult<pb::WriteOutcome> {
        self.cluster()?.remove_member(change).await
    }

    async fn drill_switchover(
        &self,
        request: pb::DrillSwitchoverRequest,
    ) -> BackendResult<pb::DrillSwitchoverReply> {
        self.cluster()?.drill_switchover(request).await
    }

    async fn counters(&self) -> BackendResult<pb::CountersReply> {
        Ok(exposition::counters(&self.exposition()?))
    }

    async fn start_capture(&self, spec: CaptureSpec) -> BackendResult<CaptureHandle> {
        let scope = match &spec.scope {
            RequestedScope::Session(id) => {
                let key = views::session_key(*id);
                if !self.ask(move |e, _| e.session(key).is_some()).await? {
                    return Err(BackendError::NotFound(format!("session {id}")));
                }
                CaptureScope::Session {
                    tunnel_id: key.tunnel,
                    session_id: key.session,
                }
            }
            RequestedScope::User(user) => CaptureScope::User(user.clone()),
            RequestedScope::Tunnel(id) => CaptureScope::Tunnel(
                u16::try_from(*id).map_err(|_| BackendError::NotFound(format!("tunnel {id}")))?,
            ),
            RequestedScope::AllTunnels => CaptureScope::AllTunnels,
        };
        let sessions = self
            .ask(|engine, _| crate::control::capture::names(engine))
            .await?;
        let (tap, reader) = tap::capture_tap(spec.filter(scope), CAPTURE_QUEUE);
        self.captures
            .install(tap, sessions)
            .map_err(|e| BackendError::Unavailable(e.to_string()))?;
        tracing::info!(scope = ?spec.scope, kinds = ?spec.kinds, "capture started");
        Ok(CaptureHandle { reader })
    }
}

fn busy() -> BackendError {
    BackendError::Unavailable(format!(
        "the control task did not answer within {}s (overloaded?): retry",
        QUERY_TIMEOUT.as_secs()
    ))
}

fn stopping() -> BackendError {
    BackendError::Unavailable("lnsd is stopping".into())
}

/// The management API of a running lnsd: stop it with [`MgmtServer::stop`].
#[derive(Debug)]
pub struct MgmtServer {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), super::server::ServerError>>,
}

/// Creates the socket's directory, binds (socket mode 0600, optional TCP
/// with its token) and starts serving `backend`. Refuses to take over a
/// socket another process still answers on (a second lnsd with the same
/// `[mgmt] socket`); a stale file left by a crash is replaced.
pub fn start_server<B: ManagementBackend>(
    config: &crate::config::MgmtConfig,
    backend: B,
) -> Result<MgmtServer, super::server::ServerError> {
    if std::os::unix::net::UnixStream::connect(&config.socket).is_ok() {
        return Err(super::server::ServerError::Config(format!(
            "another process already serves {}: stop it or set [mgmt] socket to another path",
            config.socket.display()
        )));
    }
    if let Some(dir) = config.socket.parent() {
        std::fs::create_dir_all(dir).map_err(|source| super::server::ServerError::Socket {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let bound = super::server::bind(&config.server_config()?)?;
    tracing::info!(
        socket = %config.socket.display(),
        tcp = ?bound.tcp_addr(),
        "serving the management API"
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(super::server::serve(bound, Arc::new(backend), async {
        let _ = stopped.await;
    }));
    Ok(MgmtServer { stop, task })
}

impl MgmtServer {
    /// Stops serving and removes the socket.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("management API: {e}"),
            Err(e) => tracing::warn!("management API task: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(control: &mpsc::Sender<ControlSignal>) -> DaemonBackend {
        DaemonBackend::new(
            control,
            Arc::new(CaptureTaps::new()),
            Arc::new(Metrics::new("0", "test").expect("static definitions")),
            NodeIdentity {
                name: "lns-test".into(),
                tunnel_addresses: vec!["192.0.2.2:1701".into()],
                pool_ranges: BTreeMap::new(),
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_control_task_that_never_answers_gives_unavailable_not_a_hang() {
        let (tx, mut rx) = mpsc::channel(1);
        let b = backend(&tx);
        // The control task takes the question but never runs it.
        let hold = tokio::spawn(async move {
            let taken = rx.recv().await;
            std::future::pending::<()>().await;
            drop(taken);
        });
        let e = b.status().await.expect_err("no answer");
        assert!(
            matches!(&e, BackendError::Unavailable(m) if m.contains("did not answer")),
            "{e}"
        );
        hold.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_signal_channel_gives_unavailable_not_a_hang() {
        let (tx, _rx) = mpsc::channel(1);
        tx.try_send(ControlSignal::Shutdown).expect("room for one");
        let b = backend(&tx);
        let e = b.list_tunnels().await.expect_err("channel full");
        assert!(matches!(e, BackendError::Unavailable(_)), "{e}");
    }

    #[tokio::test]
    async fn a_stopped_control_task_says_lnsd_is_stopping() {
        let (tx, rx) = mpsc::channel(1);
        let b = backend(&tx);
        drop(tx);
        drop(rx);
        let e = b.list_pools().await.expect_err("stopped");
        assert_eq!(e, BackendError::Unavailable("lnsd is stopping".into()));
    }

    #[tokio::test]
    async fn the_backend_alone_does_not_keep_the_control_channel_open() {
        let (tx, mut rx) = mpsc::channel(1);
        let _b = backend(&tx);
        drop(tx);
        assert!(rx.recv().await.is_none(), "only a weak sender remains");
    }

    #[tokio::test]
    async fn cluster_commands_on_a_single_node_name_the_missing_section() {
        let (tx, _rx) = mpsc::channel(1);
        let b = backend(&tx);
        let e = b.cluster_status().await.expect_err("single node");
        assert_eq!(e, BackendError::Precondition(NOT_A_MEMBER.into()));
        let status = super::super::server::status_from(e);
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        assert!(status.message().contains("no [cluster]"));
        let e = b
            .transfer_leader(pb::TransferLeaderRequest::default())
            .await
            .expect_err("single node");
        assert!(matches!(e, BackendError::Precondition(_)));
    }

    #[tokio::test]
    async fn a_question_dropped_unanswered_says_lnsd_is_stopping() {
        let (tx, mut rx) = mpsc::channel(1);
        let b = backend(&tx);
        let answered = tokio::spawn(async move {
            // A control task that ends while holding the question.
            let Some(ControlSignal::Query(q)) = rx.recv().await else {
                panic!("a query");
            };
            drop(q);
        });
        // The closure was dropped unanswered: the oneshot closes.
        let e = b.list_tunnels().await.expect_err("dropped unanswered");
        assert_eq!(e, BackendError::Unavailable("lnsd is stopping".into()));
        answered.await.expect("stand-in ran");
    }

    #[tokio::test]
    async fn a_socket_another_process_serves_is_not_taken_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mgmt.sock");
        let other = std::os::unix::net::UnixListener::bind(&path).expect("bind");
        let (tx, _rx) = mpsc::channel(1);
        let config = crate::config::MgmtConfig {
            socket: path.clone(),
            ..Default::default()
        };
        let e = start_server(&config, backend(&tx)).expect_err("in use");
        assert!(e.to_string().contains("already serves"), "{e}");
        drop(other);
        // A stale file (its listener gone) is replaced.
        let server = start_server(&config, backend(&tx)).expect("stale socket replaced");
        assert!(std::os::unix::net::UnixStream::connect(&path).is_ok());
        server.stop().await;
        assert!(!path.exists(), "removed on stop");
    }

    #[tokio::test]
    async fn radius_reads_the_client_board_and_counters_the_metrics() {
        use lns_proto::radius::{Client, ClientConfig, Secret, ServerConfig};
        let (tx, _rx) = mpsc::channel(1);
        let b = backend(&tx);
        b.metrics.radius_server("198.18.0.9:1812");
        let client = Client::new(ClientConfig {
            auth_servers: vec![ServerConfig {
                addr: "198.18.0.9:1812".parse().expect("literal"),
                secret: Secret::new("s"),
                timeout: std::time::Duration::from_secs(1),
                tries: 3,
            }],
            ..ClientConfig::default()
        });
        b.metrics
            .radius_board()
            .publish(crate::metrics::RadiusKind::Auth, &client);
        let r = b.radius_status().await.expect("from the board");
        assert!(r
            .servers
            .iter()
            .any(|s| s.address == "198.18.0.9:1812" && s.state == "idle"));
        let c = b.counters().await.expect("from metrics");
        assert!(c
            .counters
            .iter()
            .any(|c| c.name.starts_with("lnsd_radius_requests_total{")));
    }
}
