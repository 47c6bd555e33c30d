//! Member-to-member transport over tonic gRPC (`proto/schema/peer.proto`).
//!
//! Contract:
//! - Raft messages travel as opaque bytes inside [`Envelope`]s; this module
//!   never looks inside them.
//! - Every RPC carries the cluster token in the `x-lns-cluster-token`
//!   metadata; the server interceptor compares it in constant time and
//!   refuses the call otherwise. The secret is never logged (its `Debug` is
//!   redacted). Without TLS the token crosses the network in clear: mTLS is
//!   a documented follow-up, so run the peer network on a trusted segment.
//! - One [`PeerLink`] per peer: a bounded queue (messages beyond it are
//!   dropped, raft retransmits), a sender task that batches everything queued
//!   into one `Deliver` call, and reconnects with exponential backoff (100 ms
//!   to 2 s). While a peer is down its queue is drained and dropped, so
//!   memory stays bounded.
//! - Snapshots go through `InstallSnapshot` as a stream of chunks of at most
//!   [`SNAPSHOT_CHUNK`] bytes, reassembled and size-checked by the receiver.

use std::time::Duration;

use prost::Message as _;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use crate::config::MemberId;
use crate::core::{Outbound, Payload};
use crate::pb::peer_client::PeerClient;
use crate::pb::peer_server::{Peer, PeerServer};
use crate::pb::{Ack, Batch, Envelope, SnapshotChunk};

/// Wire schema version carried in every batch and chunk.
pub const VERSION: u32 = 1;
/// Snapshot chunk size.
pub const SNAPSHOT_CHUNK: usize = 1024 * 1024;
/// Largest snapshot accepted (bounded memory on the receiver).
pub const MAX_SNAPSHOT: u64 = 4 * 1024 * 1024 * 1024;
const TOKEN_HEADER: &str = "x-lns-cluster-token";
const MAX_BATCH_MESSAGES: usize = 4096;
/// A batch stops growing past this many bytes: a huge `Deliver` would hold
/// heartbeats behind it (head-of-line) long enough to cost the lease.
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// The shared cluster secret. `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret; refuses one shorter than 16 bytes or not usable as
    /// gRPC metadata (printable ASCII).
    pub fn new(s: impl Into<String>) -> Result<Self, SecretError> {
        let s = s.into();
        if s.len() < 16 {
            return Err(SecretError::TooShort);
        }
        if !s.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return Err(SecretError::NotPrintable);
        }
        Ok(Secret(s))
    }

    fn matches(&self, presented: &[u8]) -> bool {
        let ours = self.0.as_bytes();
        // Constant time in the content; the length is not secret.
        if ours.len() != presented.len() {
            return false;
        }
        ours.iter()
            .zip(presented)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A secret the transport cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("cluster secret must be at least 16 bytes")]
    TooShort,
    #[error("cluster secret must be printable ASCII without spaces")]
    NotPrintable,
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

/// The gRPC service with its authentication interceptor.
pub fn server(
    me: MemberId,
    secret: Secret,
    inbound: mpsc::Sender<Inbound>,
) -> tonic::service::interceptor::InterceptedService<
    PeerServer<PeerService>,
    impl tonic::service::Interceptor + Clone,
> {
    let check = move |req: Request<()>| -> Result<Request<()>, Status> {
        match req.metadata().get(TOKEN_HEADER) {
            Some(v) if secret.matches(v.as_bytes()) => Ok(req),
            _ => Err(Status::unauthenticated("bad or missing cluster token")),
        }
    };
    let svc =
        PeerServer::new(PeerService { me, inbound }).max_decoding_message_size(64 * 1024 * 1024);
    tonic::service::interceptor::InterceptedService::new(svc, check)
}

/// Server side of the peer service.
#[derive(Debug)]
pub struct PeerService {
    me: MemberId,
    inbound: mpsc::Sender<Inbound>,
}

#[tonic::async_trait]
impl Peer for PeerService {
    async fn deliver(&self, request: Request<Batch>) -> Result<Response<Ack>, Status> {
        let batch = request.into_inner();
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
        Ok(Response::new(Ack {}))
    }

    async fn install_snapshot(
        &self,
        request: Request<tonic::Streaming<SnapshotChunk>>,
    ) -> Result<Response<Ack>, Status> {
        let mut stream = request.into_inner();
        let mut buf: Vec<u8> = Vec::new();
        let mut from = 0;
        let mut total = None;
        while let Some(chunk) = stream.message().await? {
            if chunk.version != VERSION || chunk.to != self.me {
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
        Ok(Response::new(Ack {}))
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
        secret: Secret,
        capacity: usize,
        feedback: mpsc::UnboundedSender<Feedback>,
    ) -> Self {
        let (queue, rx) = mpsc::channel(capacity.max(1));
        let task = rt.spawn(run_link(me, to, address, secret, rx, feedback));
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
    secret: Secret,
    mut rx: mpsc::Receiver<Outbound>,
    feedback: mpsc::UnboundedSender<Feedback>,
) {
    let mut backoff = Duration::from_millis(100);
    let mut client: Option<PeerClient<tonic::transport::Channel>> = None;
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
            match connect(&address).await {
                Ok(c) => {
                    backoff = Duration::from_millis(100);
                    client = Some(c);
                }
                Err(e) => {
                    tracing::debug!(peer = to, %address, error = %e, "peer unreachable");
                    fail(&feedback, to, &batch);
                    // Drop what queued up while we were down, then wait.
                    while rx.try_recv().is_ok() {}
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            }
        }
        let Some(c) = client.as_mut() else { continue };
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
            authorize(&mut req, &secret);
            if let Err(e) = c.deliver(req).await {
                tracing::debug!(peer = to, error = %e, "deliver failed");
                client = None;
                let _ = feedback.send(Feedback::Unreachable(to));
            }
        }
        for snap in snapshots {
            let Some(c) = client.as_mut() else {
                let _ = feedback.send(Feedback::SnapshotFailed(to));
                continue;
            };
            match send_snapshot(c, me, to, &secret, &snap.envelope).await {
                Ok(()) => {
                    let _ = feedback.send(Feedback::SnapshotSent(to));
                }
                Err(e) => {
                    tracing::warn!(peer = to, error = %e, "snapshot transfer failed");
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

async fn connect(
    address: &str,
) -> Result<PeerClient<tonic::transport::Channel>, tonic::transport::Error> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{address}"))?
        .connect_timeout(Duration::from_millis(500))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(5));
    let channel = endpoint.connect().await?;
    Ok(PeerClient::new(channel)
        .max_decoding_message_size(64 * 1024 * 1024)
        .max_encoding_message_size(64 * 1024 * 1024))
}

fn authorize<T>(req: &mut Request<T>, secret: &Secret) {
    if let Ok(v) = secret.0.parse() {
        req.metadata_mut().insert(TOKEN_HEADER, v);
    }
}

async fn send_snapshot(
    client: &mut PeerClient<tonic::transport::Channel>,
    me: MemberId,
    to: MemberId,
    secret: &Secret,
    envelope: &Envelope,
) -> Result<(), Status> {
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
    authorize(&mut req, secret);
    client.install_snapshot(req).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("0123456789abcdef-very-secret").expect("valid");
        assert!(!format!("{s:?}").contains("secret"));
    }

    #[test]
    fn secret_compare_is_exact() {
        let s = Secret::new("0123456789abcdef").expect("valid");
        assert!(s.matches(b"0123456789abcdef"));
        assert!(!s.matches(b"0123456789abcdeF"));
        assert!(!s.matches(b"0123456789abcde"));
    }

    #[test]
    fn short_or_unprintable_secrets_are_refused() {
        assert_eq!(Secret::new("short").err(), Some(SecretError::TooShort));
        assert_eq!(
            Secret::new("0123456789 abcdef").err(),
            Some(SecretError::NotPrintable)
        );
    }
}
