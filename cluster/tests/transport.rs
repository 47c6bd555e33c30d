//! The gRPC transport on loopback: batches arrive in order, snapshots larger
//! than one chunk are reassembled exactly, and a peer with the wrong cluster
//! secret is refused.

use std::time::Duration;

use lns_cluster::core::{Outbound, Payload};
use lns_cluster::pb::Envelope;
use lns_cluster::transport::{self, Feedback, PeerLink, SNAPSHOT_CHUNK};
use lns_cluster::Secret;
use tokio::sync::mpsc;

async fn serve(me: u64, secret: Secret) -> (String, mpsc::Receiver<transport::Inbound>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (tx, rx) = mpsc::channel(1024);
    let svc = transport::server(me, secret, tx);
    tokio::spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let _ = tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming(incoming)
            .await;
    });
    (addr, rx)
}

fn out(to: u64, payload: Payload, bytes: Vec<u8>) -> Outbound {
    Outbound {
        to,
        payload,
        envelope: Envelope {
            raft_message: bytes,
            lease_stamp: 7,
            lease_echo: 0,
            echo_term: 0,
            lease_released: false,
        },
    }
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn messages_and_multi_chunk_snapshots_arrive_intact() {
    let secret = Secret::new("transport-test-secret-42").expect("secret");
    let (addr, mut inbound) = serve(2, secret.clone()).await;
    let (fb_tx, mut feedback) = mpsc::unbounded_channel();
    let rt = tokio::runtime::Handle::current();
    let link = PeerLink::spawn(&rt, 1, 2, addr, secret, 64, fb_tx);
    for i in 0..10u8 {
        assert!(link.send(out(2, Payload::Regular, vec![i; 100])));
    }
    for i in 0..10u8 {
        let m = tokio::time::timeout(WAIT, inbound.recv())
            .await
            .expect("in time")
            .expect("open");
        assert_eq!(m.from, 1);
        assert_eq!(m.envelope.raft_message, vec![i; 100], "in order");
        assert_eq!(m.envelope.lease_stamp, 7);
    }
    let big: Vec<u8> = (0..(SNAPSHOT_CHUNK * 3 + 12345))
        .map(|i| (i % 251) as u8)
        .collect();
    assert!(link.send(out(2, Payload::Snapshot, big.clone())));
    let m = tokio::time::timeout(WAIT, inbound.recv())
        .await
        .expect("in time")
        .expect("open");
    assert_eq!(m.envelope.raft_message.len(), big.len());
    assert!(
        m.envelope.raft_message == big,
        "snapshot reassembled exactly"
    );
    let f = tokio::time::timeout(WAIT, feedback.recv())
        .await
        .expect("in time");
    assert_eq!(f, Some(Feedback::SnapshotSent(2)));
}

#[tokio::test]
async fn wrong_secret_is_refused() {
    let (addr, mut inbound) = serve(2, Secret::new("the-right-secret-0000").expect("secret")).await;
    let (fb_tx, mut feedback) = mpsc::unbounded_channel();
    let rt = tokio::runtime::Handle::current();
    let wrong = Secret::new("the-wrong-secret-0000").expect("secret");
    let link = PeerLink::spawn(&rt, 1, 2, addr, wrong, 64, fb_tx);
    assert!(link.send(out(2, Payload::Regular, vec![1, 2, 3])));
    let f = tokio::time::timeout(WAIT, feedback.recv())
        .await
        .expect("in time");
    assert_eq!(f, Some(Feedback::Unreachable(2)));
    assert!(
        inbound.try_recv().is_err(),
        "a refused batch must not be delivered"
    );
}
