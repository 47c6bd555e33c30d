//! `Peer.Forward` on loopback: an opaque body reaches the handler the
//! application installed and its answer comes back; a member without a
//! handler refuses; a caller with the wrong secret is never answered.

use std::sync::Arc;

use lns_cluster::forward::{self, ForwardError, ForwardSlot};
use lns_cluster::transport::{self, Credentials};
use lns_cluster::{ForwardHandler, Secret};
use tokio::sync::mpsc;

async fn serve(me: u64, secret: Secret, slot: ForwardSlot) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (tx, _rx) = mpsc::channel(16);
    let mut builder = tonic::transport::Server::builder();
    let router = transport::router_with_forward(&mut builder, me, secret, tx, slot);
    tokio::spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let _ = router.serve_with_incoming(incoming).await;
        drop(_rx);
    });
    addr
}

fn secret(s: &str) -> Secret {
    Secret::new(s).expect("secret")
}

/// Answers "from <id>: " followed by the reversed body.
fn echo_handler() -> ForwardHandler {
    Arc::new(|from, body: Vec<u8>| {
        Box::pin(async move {
            let mut out = format!("from {from}: ").into_bytes();
            out.extend(body.iter().rev());
            out
        })
    })
}

#[tokio::test]
async fn a_forwarded_body_reaches_the_handler_and_its_answer_returns() {
    let s = secret("a-long-enough-cluster-secret");
    let slot = ForwardSlot::default();
    assert!(slot.set(echo_handler()));
    assert!(!slot.set(echo_handler()), "installed once only");
    let addr = serve(2, s.clone(), slot).await;
    let answer = forward::forward(1, 2, &addr, &Credentials::secret(s), b"abc".to_vec())
        .await
        .expect("answered");
    assert_eq!(answer, b"from 1: cba");
}

#[tokio::test]
async fn a_member_without_a_handler_refuses() {
    let s = secret("a-long-enough-cluster-secret");
    let addr = serve(2, s.clone(), ForwardSlot::default()).await;
    let e = forward::forward(1, 2, &addr, &Credentials::secret(s), b"abc".to_vec())
        .await
        .expect_err("no handler");
    assert!(matches!(e, ForwardError::Refused { to: 2, .. }), "{e:?}");
}

#[tokio::test]
async fn the_wrong_secret_gets_no_answer() {
    let slot = ForwardSlot::default();
    assert!(slot.set(echo_handler()));
    let addr = serve(2, secret("a-long-enough-cluster-secret"), slot).await;
    let wrong = Credentials::secret(secret("another-long-cluster-secret"));
    let e = forward::forward(1, 2, &addr, &wrong, b"abc".to_vec())
        .await
        .expect_err("wrong secret");
    assert!(
        matches!(e, ForwardError::Unreachable { to: 2, .. }),
        "{e:?}"
    );
}
