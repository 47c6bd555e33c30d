//! The management gRPC server.
//!
//! Contract: serves [`ManagementBackend`] over a Unix socket (always) and over
//! TCP (only with a bearer token, mutual TLS, or both; TCP with neither is a
//! configuration error). With mutual TLS the TCP listener completes no
//! handshake without a client certificate signed by the configured CA. The Unix socket is bound under a temporary name,
//! given its mode, then renamed into place, so it is never reachable with the
//! umask's permissions; it is removed on shutdown. The token is compared in
//! constant time and never logged.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::{ReceiverStream, UnixListenerStream};
use tokio_stream::Stream;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::audit;
use super::backend::{BackendError, CaptureSpec, ManagementBackend, RequestedScope};
use super::capture::{CaptureKind, KindSet};
use super::pb;
use super::pb::forwarded_write::Call;
use super::pb::management_server::{Management, ManagementServer};
use super::pcap;

/// Default path of the management socket.
pub const DEFAULT_SOCKET_PATH: &str = "/run/lnsd/mgmt.sock";
/// Capacity of one capture's packet queue (packets beyond it are dropped from
/// the capture, never delaying forwarding).
pub const CAPTURE_QUEUE: usize = 1024;

/// Where and how the management API listens.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Unix socket path.
    pub socket_path: PathBuf,
    /// Unix socket mode, `0o600` (root only) or `0o660` (group `lnsd`).
    pub socket_mode: u32,
    /// Optional TCP listener; requires a token.
    pub tcp: Option<TcpConfig>,
}

/// TCP listener settings.
#[derive(Clone)]
pub struct TcpConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Bearer token clients must send (`authorization: Bearer TOKEN`);
    /// empty: none (then `tls` is required).
    pub token: String,
    /// Mutual TLS: the server's identity and the CA of the client
    /// certificates (required).
    pub tls: Option<lns_cluster::TlsConfig>,
}

impl std::fmt::Debug for TcpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpConfig")
            .field("listen", &self.listen)
            .field("token", &"<redacted>")
            .field("tls", &self.tls)
            .finish()
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration asks for something unsafe or impossible.
    #[error("management API config: {0}")]
    Config(String),
    /// Binding or preparing the socket failed.
    #[error("management socket {path}: {source}")]
    Socket {
        /// Path or address concerned.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
    /// The gRPC transport failed.
    #[error("management API transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// A bound, not yet serving, management API (binding separately lets callers
/// learn the TCP port and the socket exist before serving starts).
#[derive(Debug)]
pub struct BoundServer {
    unix: UnixListener,
    socket_path: PathBuf,
    tcp: Option<(TcpListener, String, Option<lns_cluster::TlsConfig>)>,
}

impl BoundServer {
    /// The bound TCP address, if TCP is configured.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|(l, _, _)| l.local_addr().ok())
    }
}

/// Binds the Unix socket (with its mode) and the optional TCP listener.
pub fn bind(config: &ServerConfig) -> Result<BoundServer, ServerError> {
    if config.socket_mode & 0o007 != 0 {
        return Err(ServerError::Config(format!(
            "socket mode {:o} gives access to every local user; use 600 or 660",
            config.socket_mode
        )));
    }
    let unix = bind_unix(&config.socket_path, config.socket_mode)?;
    let tcp = match &config.tcp {
        None => None,
        Some(tcp) if tcp.token.is_empty() && tcp.tls.is_none() => {
            return Err(ServerError::Config(
                "TCP listener configured without a token or mutual TLS; set token_file or \
                 tls_ca/tls_cert/tls_key, or use the Unix socket"
                    .into(),
            ))
        }
        Some(tcp) => {
            let std_listener =
                std::net::TcpListener::bind(tcp.listen).map_err(|source| ServerError::Socket {
                    path: tcp.listen.to_string(),
                    source,
                })?;
            std_listener
                .set_nonblocking(true)
                .map_err(|source| ServerError::Socket {
                    path: tcp.listen.to_string(),
                    source,
                })?;
            let listener =
                TcpListener::from_std(std_listener).map_err(|source| ServerError::Socket {
                    path: tcp.listen.to_string(),
                    source,
                })?;
            Some((listener, tcp.token.clone(), tcp.tls.clone()))
        }
    };
    Ok(BoundServer {
        unix,
        socket_path: config.socket_path.clone(),
        tcp,
    })
}

/// Serves until `shutdown` resolves, then removes the socket file.
pub async fn serve<B: ManagementBackend>(
    bound: BoundServer,
    backend: Arc<B>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let (stop_tx, stop_rx) = watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(());
    });
    let service = MgmtService { backend };
    let stopped = |mut rx: watch::Receiver<()>| async move {
        let _ = rx.changed().await;
    };
    let unix_server = tonic::transport::Server::builder()
        .add_service(ManagementServer::new(service.clone()))
        .serve_with_incoming_shutdown(
            UnixListenerStream::new(bound.unix),
            stopped(stop_rx.clone()),
        );
    let result = match bound.tcp {
        None => unix_server.await,
        Some((listener, token, tls)) => {
            let check = TokenCheck {
                token: Arc::from(token.into_bytes()),
            };
            let mut builder = tonic::transport::Server::builder();
            if let Some(tls) = &tls {
                builder = builder.tls_config(tls.server())?;
            }
            let tcp_server = builder
                .add_service(ManagementServer::with_interceptor(service, check))
                .serve_with_incoming_shutdown(
                    // Nagle off: tonic does not apply it to our own listener.
                    TcpIncoming::from(listener).with_nodelay(Some(true)),
                    stopped(stop_rx),
                );
            let (u, t) = tokio::join!(unix_server, tcp_server);
            u.and(t)
        }
    };
    let _ = std::fs::remove_file(&bound.socket_path);
    result.map_err(ServerError::from)
}

/// Maps a backend error to a gRPC status; `NotActive` carries an encoded
/// `pb::NotActive` in the details so clients can redirect.
pub fn status_from(error: BackendError) -> Status {
    match &error {
        BackendError::NotFound(_) => Status::not_found(error.to_string()),
        BackendError::InvalidArgument(_) => Status::invalid_argument(error.to_string()),
        BackendError::Unavailable(_) => Status::unavailable(error.to_string()),
        BackendError::Precondition(_) => Status::failed_precondition(error.to_string()),
        BackendError::NotActive {
            active_node,
            active_address,
        } => {
            let detail = pb::NotActive {
                active_address: active_address.clone(),
                active_node: active_node.clone(),
            };
            Status::with_details(
                tonic::Code::FailedPrecondition,
                error.to_string(),
                detail.encode_to_vec().into(),
            )
        }
    }
}

/// Checks `authorization: Bearer TOKEN` in constant time (an empty token:
/// no check, the listener runs mutual TLS alone).
#[derive(Clone)]
struct TokenCheck {
    token: Arc<[u8]>,
}

impl tonic::service::Interceptor for TokenCheck {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        if self.token.is_empty() {
            return Ok(request);
        }
        match bearer_token(request.metadata()) {
            Some(p) if constant_time_eq(p, &self.token) => Ok(request),
            Some(_) => Err(Status::unauthenticated(
                "token rejected: check --token or LNSCTL_TOKEN against the lnsd config",
            )),
            None => Err(Status::unauthenticated(
                "a token is required over TCP: pass --token or set LNSCTL_TOKEN",
            )),
        }
    }
}

/// The token a request presents (`authorization: Bearer TOKEN`), if any.
pub(super) fn bearer_token(metadata: &tonic::metadata::MetadataMap) -> Option<&[u8]> {
    metadata
        .get("authorization")
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
}

/// Compares without an early exit on the first differing byte. The length is
/// not secret (it only tells the token's size).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bind_unix(path: &Path, mode: u32) -> Result<UnixListener, ServerError> {
    use std::os::unix::fs::PermissionsExt;
    let err = |source| ServerError::Socket {
        path: path.display().to_string(),
        source,
    };
    let mut staging = path.as_os_str().to_owned();
    staging.push(format!(".{}.new", std::process::id()));
    let staging = PathBuf::from(staging);
    let _ = std::fs::remove_file(&staging);
    let listener = UnixListener::bind(&staging).map_err(err)?;
    std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(mode)).map_err(err)?;
    std::fs::rename(&staging, path).map_err(err)?;
    Ok(listener)
}

#[derive(Debug)]
struct MgmtService<B> {
    backend: Arc<B>,
}

impl<B> Clone for MgmtService<B> {
    fn clone(&self) -> Self {
        MgmtService {
            backend: Arc::clone(&self.backend),
        }
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn reply<T>(result: Result<T, BackendError>) -> Reply<T> {
    result.map(Response::new).map_err(status_from)
}

/// Runs a write as `who` and leaves its audit line.
async fn audited<T>(
    who: &str,
    call: &Call,
    write: impl std::future::Future<Output = Result<T, BackendError>>,
    done: impl Fn(&T) -> String,
) -> Result<T, BackendError> {
    let result = audit::as_caller(who, write).await;
    audit::record(who, &audit::describe(call), &result, done);
    result
}

type ChunkStream = Pin<Box<dyn Stream<Item = Result<pb::CaptureChunk, Status>> + Send>>;

#[tonic::async_trait]
impl<B: ManagementBackend> Management for MgmtService<B> {
    async fn status(&self, _r: Request<pb::StatusRequest>) -> Reply<pb::StatusReply> {
        reply(self.backend.status().await)
    }
    async fn list_sessions(&self, r: Request<pb::SessionFilter>) -> Reply<pb::SessionList> {
        reply(self.backend.list_sessions(r.into_inner()).await)
    }
    async fn show_session(&self, r: Request<pb::SessionRef>) -> Reply<pb::SessionDetail> {
        reply(self.backend.show_session(r.into_inner().session_id).await)
    }
    async fn kill_sessions(&self, r: Request<pb::KillSessionsRequest>) -> Reply<pb::WriteOutcome> {
        let who = audit::caller_of(&r);
        let request = r.into_inner();
        if request.target.is_none() {
            return Err(Status::invalid_argument(
                "kill needs a session ID or a user",
            ));
        }
        let call = Call::KillSessions(request.clone());
        let result = self.backend.kill_sessions(request);
        reply(audited(&who, &call, result, audit::outcome).await)
    }
    async fn list_tunnels(&self, _r: Request<pb::ListTunnelsRequest>) -> Reply<pb::TunnelList> {
        reply(self.backend.list_tunnels().await)
    }
    async fn show_tunnel(&self, r: Request<pb::TunnelRef>) -> Reply<pb::TunnelDetail> {
        reply(self.backend.show_tunnel(r.into_inner().tunnel_id).await)
    }
    async fn kill_tunnel(&self, r: Request<pb::TunnelRef>) -> Reply<pb::WriteOutcome> {
        let who = audit::caller_of(&r);
        let tunnel = r.into_inner();
        let call = Call::KillTunnel(tunnel);
        let result = self.backend.kill_tunnel(tunnel.tunnel_id);
        reply(audited(&who, &call, result, audit::outcome).await)
    }
    async fn list_pools(&self, _r: Request<pb::ListPoolsRequest>) -> Reply<pb::PoolList> {
        reply(self.backend.list_pools().await)
    }
    async fn radius_status(
        &self,
        _r: Request<pb::RadiusStatusRequest>,
    ) -> Reply<pb::RadiusStatusReply> {
        reply(self.backend.radius_status().await)
    }
    async fn cluster_status(
        &self,
        _r: Request<pb::ClusterStatusRequest>,
    ) -> Reply<pb::ClusterStatusReply> {
        reply(self.backend.cluster_status().await)
    }
    async fn transfer_leader(
        &self,
        r: Request<pb::TransferLeaderRequest>,
    ) -> Reply<pb::WriteOutcome> {
        let who = audit::caller_of(&r);
        let request = r.into_inner();
        let call = Call::TransferLeader(request.clone());
        let result = self.backend.transfer_leader(request);
        reply(audited(&who, &call, result, audit::outcome).await)
    }
    async fn add_member(&self, r: Request<pb::MemberChange>) -> Reply<pb::WriteOutcome> {
        let who = audit::caller_of(&r);
        let change = r.into_inner();
        if change.node.is_empty() {
            return Err(Status::invalid_argument(
                "cluster add needs NODE (and ADDRESS unless NODE is in [[cluster.members]])",
            ));
        }
        let call = Call::AddMember(change.clone());
        let result = self.backend.add_member(change);
        reply(audited(&who, &call, result, audit::outcome).await)
    }
    async fn remove_member(&self, r: Request<pb::MemberChange>) -> Reply<pb::WriteOutcome> {
        let who = audit::caller_of(&r);
        let change = r.into_inner();
        let call = Call::RemoveMember(change.clone());
        let result = self.backend.remove_member(change);
        reply(audited(&who, &call, result, audit::outcome).await)
    }
    async fn drill_switchover(
        &self,
        r: Request<pb::DrillSwitchoverRequest>,
    ) -> Reply<pb::DrillSwitchoverReply> {
        let who = audit::caller_of(&r);
        let request = r.into_inner();
        let call = Call::DrillSwitchover(request.clone());
        let result = self.backend.drill_switchover(request);
        reply(audited(&who, &call, result, audit::drill).await)
    }
    async fn counters(&self, _r: Request<pb::CountersRequest>) -> Reply<pb::CountersReply> {
        reply(self.backend.counters().await)
    }

    type CaptureStream = ChunkStream;

    async fn capture(&self, r: Request<pb::CaptureRequest>) -> Reply<ChunkStream> {
        let request = r.into_inner();
        let spec = capture_spec(&request)?;
        let handle = self
            .backend
            .start_capture(spec)
            .await
            .map_err(status_from)?;
        let (tx, rx) = mpsc::channel(16);
        let limits = CaptureLimits {
            max_packets: request.max_packets,
            duration: (request.duration_seconds > 0)
                .then(|| Duration::from_secs(u64::from(request.duration_seconds))),
        };
        tokio::spawn(pump_capture(handle.reader, limits, tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

struct CaptureLimits {
    max_packets: u32,
    duration: Option<Duration>,
}

/// Validates a capture request into a [`CaptureSpec`].
pub fn capture_spec(request: &pb::CaptureRequest) -> Result<CaptureSpec, Status> {
    use pb::capture_request::Scope;
    let scope = match &request.scope {
        Some(Scope::SessionId(id)) => RequestedScope::Session(*id),
        Some(Scope::User(user)) if !user.is_empty() => RequestedScope::User(user.clone()),
        Some(Scope::TunnelId(id)) => RequestedScope::Tunnel(*id),
        Some(Scope::AllTunnels(true)) => RequestedScope::AllTunnels,
        _ => {
            return Err(Status::invalid_argument(
                "capture needs a scope: --session ID, --user U, --tunnel ID or --all",
            ))
        }
    };
    let mut kinds = Vec::new();
    for raw in &request.kinds {
        let kind = match pb::CaptureKind::try_from(*raw) {
            Ok(pb::CaptureKind::Unspecified) => continue,
            Ok(pb::CaptureKind::Control) => CaptureKind::Control,
            Ok(pb::CaptureKind::Login) => CaptureKind::Login,
            Ok(pb::CaptureKind::Negotiation) => CaptureKind::Negotiation,
            Ok(pb::CaptureKind::Dhcpv6) => CaptureKind::Dhcpv6,
            Ok(pb::CaptureKind::RsRa) => CaptureKind::RsRa,
            Ok(pb::CaptureKind::Data) => CaptureKind::Data,
            Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "unknown capture kind {raw}; upgrade lnsd or lnsctl"
                )))
            }
        };
        kinds.push(kind);
    }
    Ok(CaptureSpec {
        scope,
        kinds: KindSet::of(&kinds),
    })
}

/// Turns tap output into pcap chunks until a limit is hit, the tap closes or
/// the client goes away. Dropping the reader on return removes the tap.
async fn pump_capture(
    mut reader: super::tap::CaptureReader,
    limits: CaptureLimits,
    tx: mpsc::Sender<Result<pb::CaptureChunk, Status>>,
) {
    let header = pb::CaptureChunk {
        pcap: pcap::global_header().to_vec(),
        dropped: 0,
    };
    if tx.send(Ok(header)).await.is_err() {
        return;
    }
    let deadline = limits.duration.map(|d| tokio::time::Instant::now() + d);
    let mut sent: u32 = 0;
    loop {
        if limits.max_packets > 0 && sent >= limits.max_packets {
            return;
        }
        let expired = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        // Stop as soon as the client goes away, even with no traffic, so the
        // tap does not stay installed on the forwarding path.
        let next = tokio::select! {
            next = reader.packets.recv() => next,
            () = expired => return,
            () = tx.closed() => return,
        };
        let Some(packet) = next else { return };
        let mut chunk = Vec::with_capacity(packet.datagram.len() + 64);
        pcap::append_record(
            &mut chunk,
            packet.at,
            packet.src,
            packet.dst,
            &packet.datagram,
        );
        let message = pb::CaptureChunk {
            pcap: chunk,
            dropped: reader.dropped(),
        };
        if tx.send(Ok(message)).await.is_err() {
            return;
        }
        sent += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_tokens() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"s3cre", b"s3cret"));
    }

    #[test]
    fn not_active_status_carries_address_in_details() {
        let status = status_from(BackendError::NotActive {
            active_node: "lns-b".into(),
            active_address: "198.18.0.2:7443".into(),
        });
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        let detail = pb::NotActive::decode(status.details()).expect("server encoded it");
        assert_eq!(detail.active_address, "198.18.0.2:7443");
    }

    #[test]
    fn capture_spec_requires_a_scope_and_known_kinds() {
        let mut request = pb::CaptureRequest::default();
        assert!(capture_spec(&request).is_err());
        request.scope = Some(pb::capture_request::Scope::TunnelId(7));
        request.kinds = vec![pb::CaptureKind::Login as i32];
        let spec = capture_spec(&request).expect("valid");
        assert_eq!(spec.scope, RequestedScope::Tunnel(7));
        assert_eq!(spec.kinds, KindSet::of(&[CaptureKind::Login]));
        request.kinds = vec![99];
        assert!(capture_spec(&request).is_err());
    }
}
