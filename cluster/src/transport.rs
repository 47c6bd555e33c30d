//! Member-to-member transport over tonic gRPC (`proto/schema/peer.proto`).
//!
//! Contract:
//! - Raft messages travel as opaque bytes inside [`Envelope`]s; this module
//!   never looks inside them.
//! - Both ends authenticate each other with the shared cluster secret
//!   (`auth`: a `Hello` opens a session in which the server proves it knows
//!   the secret; every later call carries a fresh proof, every answer an
//!   acknowledgement proof the caller checks). The secret never crosses the
//!   network and is never logged. `Hello` lives in its own service
//!   (`PeerAuth`); every `Peer` call is checked by an interceptor before
//!   its body is decoded, so an unauthenticated caller cannot make the
//!   server buffer a large message.
//! - Optionally everything runs inside mutual TLS ([`Credentials::tls`],
//!   `tls`): the server requires a client certificate from the cluster CA.
//! - One [`PeerLink`] per peer: a bounded queue (messages beyond it are
//!   dropped, raft retransmits), a sender task that batches everything queued
//!   into one `Deliver` call, and reconnects (new TLS connection, new
//!   session) with exponential backoff (100 ms to 2 s). While a peer is down
//!   its queue is drained and dropped, so memory stays bounded.
//! - Snapshots go through `InstallSnapshot` as a stream of chunks of at most
//!   [`SNAPSHOT_CHUNK`] bytes, reassembled and size-checked by the receiver.

use std::sync::Arc;
use std::time::Duration;

use prost::Message as _;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

pub use crate::auth::{AuthError, Secret, SecretError, Session};
use crate::auth::{Sessions, Verified};
use crate::config::MemberId;
use crate::core::{Outbound, Payload};
use crate::forward::ForwardSlot;
use crate::pb::peer_auth_server::{PeerAuth, PeerAuthServer};
use crate::pb::peer_client::PeerClient;
use crate::pb::peer_server::{Peer, PeerServer};
use crate::pb::{
    Ack, Batch, Envelope, ForwardReply, ForwardRequest, HelloReply, HelloRequest, SnapshotChunk,
};
use crate::tls::TlsConfig;

/// Wire schema version carried in every batch and chunk.
pub const VERSION: u32 = 1;
/// Snapshot chunk size.
pub const SNAPSHOT_CHUNK: usize = 1024 * 1024;
/// Largest snapshot accepted (bounded memory on the receiver).
pub const MAX_SNAPSHOT: u64 = 4 * 1024 * 1024 * 1024;
const MAX_BATCH_MESSAGES: usize = 4096;
/// A batch stops growing past this many bytes: a huge `Deliver` would hold
/// heartbeats behind it (head-of-line) long enough to cost the lease.
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// How a member proves who it is to its peers, and checks them.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub secret: Secret,
    /// Mutual TLS when set; plain HTTP/2 otherwise.
    pub tls: Option<TlsConfig>,
}

impl Credentials {
    /// The shared secret alone (no TLS).
    pub fn secret(secret: Secret) -> Self {
        Credentials { secret, tls: None }
    }
}

/// Why a link could not reach (or trust) its peer.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("connect: {0}")]
    Connect(#[from] tonic::transport::Error),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// What the server hands to the member task.
#[derive(Debug)]
pub struct Inbound {
    pub from: MemberId,
    pub envelope: Envelope,
}

/// What a link reports back to the member task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    Unreachable(MemberId),
    SnapshotSent(MemberId),
    SnapshotFailed(MemberId),
}

/// Adds the peer services to `builder`: `PeerAuth` (the `Hello` that opens
/// a session) and `Peer`, behind an interceptor that refuses any call
/// without a valid session proof before its body is decoded. (TLS, when
/// configured, is set on `builder` by the caller with [`TlsConfig::server`].)
pub fn router(
    builder: &mut tonic::transport::Server,
    me: MemberId,
    secret: Secret,
    inbound: mpsc::Sender<Inbound>,
) -> tonic::transport::server::Router {
    router_with_forward(builder, me, secret, inbound, ForwardSlot::default())
}

/// [`router`], with `Peer.Forward` answered by the handler in `forward`
/// once the application installs one (`forward` module).
pub fn router_with_forward(
    builder: &mut tonic::transport::Server,
    me: MemberId,
    secret: Secret,
    inbound: mpsc::Sender<Inbound>,
    forward: ForwardSlot,
) -> tonic::transport::server::Router {
    let sessions = Arc::new(Sessions::new(me, secret));
    let auth = PeerAuthServer::new(AuthService {
        sessions: sessions.clone(),
    });
    let checker = sessions.clone();
    let check = move |mut req: Request<()>| -> Result<Request<()>, Status> {
        let call = checker.check(req.metadata())?;
        req.extensions_mut().insert(call);
        Ok(req)
    };
    let peer = PeerServer::new(PeerService {
        me,
        inbound,
        sessions,
        forward,
    })
    .max_decoding_message_size(64 * 1024 * 1024);
    builder
        .add_service(auth)
        .add_service(tonic::service::interceptor::InterceptedService::new(
            peer, check,
        ))
}

/// Server side of `PeerAuth`.
#[derive(Debug)]
pub struct AuthService {
    sessions: Arc<Sessions>,
}

#[tonic::async_trait]
impl PeerAuth for AuthService {
    async fn hello(&self, request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        self.sessions.hello(request.get_ref()).map(Response::new)
    }
}

/// Server side of the peer service.
#[derive(Debug)]
pub struct PeerService {
    me: MemberId,
    inbound: mpsc::Sender<Inbound>,
    sessions: Arc<Sessions>,
    forward: ForwardSlot,
}

/// The session proof the interceptor verified for this call.
fn verified<T>(request: &Request<T>) -> Result<Verified, Status> {
    request
        .extensions()
        .get::<Verified>()
        .copied()
        .ok_or_else(|| Status::unauthenticated("cluster authentication: not checked"))
}

#[tonic::async_trait]
impl Peer for PeerService {
    async fn deliver(&self, request: Request<Batch>) -> Result<Response<Ack>, Status> {
        let call = verified(&request)?;
        let batch = request.into_inner();
        if batch.from != call.from() {
            return Err(Status::permission_denied(
                "batch claims another sender than its session",
            ));
        }
        if batch.version != VERSION {
            return Err(Status::failed_precondition("unknown peer schema version"));
        }
        if batch.to != self.me {
            return Err(Status::invalid_argument(
                "batch addressed to another member",
            ));
        }
        for envelope in batch.envelopes {
            self.inbound
                .send(Inbound {
                    from: batch.from,
                    envelope,
                })
                .await
                .map_err(|_| Status::unavailable("member stopping"))?;
        }
        let mut resp = Response::new(Ack {});
        self.sessions.acknowledge(&call, &mut resp);
        Ok(resp)
    }

    async fn install_snapshot(
        &self,
        request: Request<tonic::Streaming<SnapshotChunk>>,
    ) -> Result<Response<Ack>, Status> {
        let call = verified(&request)?;
        let mut stream = request.into_inner();
        let mut buf: Vec<u8> = Vec::new();
        let mut from = 0;
        let mut total = None;
        while let Some(chunk) = stream.message().await? {
            if chunk.version != VERSION || chunk.to != self.me || chunk.from != call.from() {
                return Err(Status::invalid_argument("bad snapshot chunk header"));
            }
            if chunk.total_len > MAX_SNAPSHOT {
                return Err(Status::resource_exhausted("snapshot too large"));
            }
            if *total.get_or_insert(chunk.total_len) != chunk.total_len
                || chunk.offset != buf.len() as u64
                || buf.len() as u64 + chunk.data.len() as u64 > chunk.total_len
            {
                return Err(Status::invalid_argument("snapshot chunks out of order"));
            }
            if buf.is_empty() {
                buf.reserve(usize::try_from(chunk.total_len).unwrap_or(0));
            }
            from = chunk.from;
            buf.extend_from_slice(&chunk.data);
        }
        if total != Some(buf.len() as u64) {
            return Err(Status::invalid_argument("snapshot stream ended early"));
        }
        let envelope = Envelope::decode(buf.as_slice())
            .map_err(|_| Status::invalid_argument("undecodable snapshot envelope"))?;
        self.inbound
            .send(Inbound { from, envelope })
            .await
            .map_err(|_| Status::unavailable("member stopping"))?;
        let mut resp = Response::new(Ack {});
        self.sessions.acknowledge(&call, &mut resp);
        Ok(resp)
    }

    async fn forward(
        &self,
        request: Request<ForwardRequest>,
    ) -> Result<Response<ForwardReply>, Status> {
        let call = verified(&request)?;
        crate::forward::serve(
            self.me,
            &self.forward,
            &self.sessions,
            call,
            request.into_inner(),
        )
        .await
    }
}

/// The sending half towards one peer.
#[derive(Debug)]
pub struct PeerLink {
    queue: mpsc::Sender<Outbound>,
    task: tokio::task::JoinHandle<()>,
}

impl PeerLink {
    /// Starts the sender task for `to` at `address` (`host:port`) on `rt`.
    pub fn spawn(
        rt: &tokio::runtime::Handle,
        me: MemberId,
        to: MemberId,
        address: String,
        credentials: Credentials,
        capacity: usize,
        feedback: mpsc::UnboundedSender<Feedback>,
    ) -> Self {
        let (queue, rx) = mpsc::channel(capacity.max(1));
        let task = rt.spawn(run_link(me, to, address, credentials, rx, feedback));
        PeerLink { queue, task }
    }

    /// Queues a message; `false` when the queue is full (message dropped).
    pub fn send(&self, out: Outbound) -> bool {
        self.queue.try_send(out).is_ok()
    }
}

impl Drop for PeerLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run_link(
    me: MemberId,
    to: MemberId,
    address: String,
    credentials: Credentials,
    mut rx: mpsc::Receiver<Outbound>,
    feedback: mpsc::UnboundedSender<Feedback>,
) {
    let secret = &credentials.secret;
    let mut backoff = Duration::from_millis(100);
    let mut client: Option<(PeerClient<tonic::transport::Channel>, Session)> = None;
    // Connect failures are logged at warn once per outage (a TLS refusal
    // must be visible at the default level), then at debug.
    let mut outage_logged = false;
    while let Some(first) = rx.recv().await {
        let mut bytes = first.envelope.raft_message.len();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH_MESSAGES && bytes < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok(m) => {
                    bytes += m.envelope.raft_message.len();
                    batch.push(m);
                }
                Err(_) => break,
            }
        }
        if client.is_none() {
            match open(me, to, &address, &credentials).await {
                Ok(c) => {
                    backoff = Duration::from_millis(100);
                    client = Some(c);
                    if outage_logged {
                        tracing::info!(peer = to, %address, "peer reachable again");
                    }
                    outage_logged = false;
                }
                Err(e) => {
                    match e {
                        LinkError::Auth(ref a) => {
                            tracing::warn!(peer = to, %address, error = %a, "peer not trusted")
                        }
                        LinkError::Connect(ref c) if !outage_logged => {
                            let chain = error_chain(c);
                            tracing::warn!(peer = to, %address, error = %chain, "peer unreachable")
                        }
                        LinkError::Connect(ref c) => {
                            tracing::debug!(peer = to, %address, error = %c, "peer unreachable")
                        }
                    }
                    outage_logged = true;
                    fail(&feedback, to, &batch);
                    // Drop what queued up while we were down, then wait.
                    while rx.try_recv().is_ok() {}
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            }
        }
        let Some((c, session)) = client.as_mut() else {
            continue;
        };
        let (snapshots, regular): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .partition(|o| o.payload == Payload::Snapshot);
        if !regular.is_empty() {
            let mut req = Request::new(Batch {
                version: VERSION,
                from: me,
                to,
                envelopes: regular.into_iter().map(|o| o.envelope).collect(),
            });
            session.sign(&mut req, secret);
            let outcome = match c.deliver(req).await {
                Ok(resp) => session.check_ack(&resp, secret).map_err(LinkFailure::Auth),
                Err(e) => Err(LinkFailure::Call(e)),
            };
            if let Err(e) = outcome {
                e.log(to, "deliver");
                client = None;
                let _ = feedback.send(Feedback::Unreachable(to));
            }
        }
        for snap in snapshots {
            let Some((c, session)) = client.as_mut() else {
                let _ = feedback.send(Feedback::SnapshotFailed(to));
                continue;
            };
            match send_snapshot(c, session, me, to, secret, &snap.envelope).await {
                Ok(()) => {
                    let _ = feedback.send(Feedback::SnapshotSent(to));
                }
                Err(e) => {
                    e.log(to, "snapshot transfer");
                    client = None;
                    let _ = feedback.send(Feedback::SnapshotFailed(to));
                }
            }
        }
    }
}

fn fail(feedback: &mpsc::UnboundedSender<Feedback>, to: MemberId, batch: &[Outbound]) {
    let _ = feedback.send(Feedback::Unreachable(to));
    for o in batch.iter().filter(|o| o.payload == Payload::Snapshot) {
        let _ = o;
        let _ = feedback.send(Feedback::SnapshotFailed(to));
    }
}

/// Connects to a peer at `address` (`host:port`), over mutual TLS when
/// `tls` is set. No authentication yet: see [`Session::open`].
pub async fn connect(
    address: &str,
    tls: Option<&TlsConfig>,
) -> Result<tonic::transport::Channel, tonic::transport::Error> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = tonic::transport::Endpoint::from_shared(format!("{scheme}://{address}"))?
        .connect_timeout(Duration::from_millis(500))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(5));
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls.client())?;
    }
    endpoint.connect().await
}

/// The `Peer` client over a connected channel.
pub fn peer_client(channel: tonic::transport::Channel) -> PeerClient<tonic::transport::Channel> {
    PeerClient::new(channel)
        .max_decoding_message_size(64 * 1024 * 1024)
        .max_encoding_message_size(64 * 1024 * 1024)
}

/// Connects and opens an authenticated session (the server proved that it
/// knows the secret).
pub async fn open(
    me: MemberId,
    to: MemberId,
    address: &str,
    credentials: &Credentials,
) -> Result<(PeerClient<tonic::transport::Channel>, Session), LinkError> {
    let channel = connect(address, credentials.tls.as_ref()).await?;
    let session = Session::open(channel.clone(), me, to, &credentials.secret).await?;
    Ok((peer_client(channel), session))
}

/// An error and its sources on one line ("transport error: ... : invalid
/// peer certificate: UnknownIssuer"): tonic's own message hides the cause.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Why a call on an open session failed.
enum LinkFailure {
    Call(Status),
    Auth(AuthError),
}

impl LinkFailure {
    fn log(&self, to: MemberId, what: &str) {
        match self {
            LinkFailure::Call(s) if s.code() == tonic::Code::Unauthenticated => {
                tracing::warn!(peer = to, error = %s, "{what} refused by the peer")
            }
            LinkFailure::Call(s) => tracing::debug!(peer = to, error = %s, "{what} failed"),
            LinkFailure::Auth(a) => {
                tracing::warn!(peer = to, error = %a, "{what}: peer not trusted")
            }
        }
    }
}

async fn send_snapshot(
    client: &mut PeerClient<tonic::transport::Channel>,
    session: &mut Session,
    me: MemberId,
    to: MemberId,
    secret: &Secret,
    envelope: &Envelope,
) -> Result<(), LinkFailure> {
    let bytes = envelope.encode_to_vec();
    let total_len = bytes.len() as u64;
    let chunks: Vec<SnapshotChunk> = bytes
        .chunks(SNAPSHOT_CHUNK)
        .enumerate()
        .map(|(i, data)| SnapshotChunk {
            version: VERSION,
            from: me,
            to,
            offset: (i * SNAPSHOT_CHUNK) as u64,
            total_len,
            data: data.to_vec(),
        })
        .collect();
    let mut req = Request::new(tokio_stream::iter(chunks));
    session.sign(&mut req, secret);
    let resp = client
        .install_snapshot(req)
        .await
        .map_err(LinkFailure::Call)?;
    session.check_ack(&resp, secret).map_err(LinkFailure::Auth)
}
