//! The gRPC transport on loopback: batches arrive in order, snapshots larger
//! than one chunk are reassembled exactly; both ends check the cluster
//! secret (a caller with the wrong secret is refused by the server, a server
//! with the wrong secret is refused by the caller); with mutual TLS a good
//! pair talks and a member whose certificate comes from another CA is
//! refused in either role.

mod scratch;

use scratch::TempDir;
use std::time::Duration;

use lns_cluster::core::{Outbound, Payload};
use lns_cluster::pb::{Batch, Envelope};
use lns_cluster::transport::{self, Credentials, Feedback, PeerLink, Session, SNAPSHOT_CHUNK};
use lns_cluster::{AuthError, Secret, TlsConfig};
use tokio::sync::mpsc;

async fn serve(
    me: u64,
    secret: Secret,
    tls: Option<&TlsConfig>,
) -> (String, mpsc::Receiver<transport::Inbound>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (tx, rx) = mpsc::channel(1024);
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls.server()).expect("server tls");
    }
    let router = transport::router(&mut builder, me, secret, tx);
    tokio::spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let _ = router.serve_with_incoming(incoming).await;
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
            vote_silence: 0,
        },
    }
}

fn secret(s: &str) -> Secret {
    Secret::new(s).expect("secret")
}

const WAIT: Duration = Duration::from_secs(10);

/// Sends one message through a fresh link; returns whether it arrived
/// (`Err` carries the link's feedback when it did not).
async fn one_message(
    addr: String,
    inbound: &mut mpsc::Receiver<transport::Inbound>,
    credentials: Credentials,
) -> Result<(), Option<Feedback>> {
    let (fb_tx, mut feedback) = mpsc::unbounded_channel();
    let rt = tokio::runtime::Handle::current();
    let link = PeerLink::spawn(&rt, 1, 2, addr, credentials, 64, fb_tx);
    assert!(link.send(out(2, Payload::Regular, vec![1, 2, 3])));
    tokio::select! {
        m = inbound.recv() => {
            let m = m.expect("open");
            assert_eq!(m.envelope.raft_message, vec![1, 2, 3]);
            Ok(())
        }
        f = feedback.recv() => Err(f),
        _ = tokio::time::sleep(WAIT) => Err(None),
    }
}

#[tokio::test]
async fn messages_and_multi_chunk_snapshots_arrive_intact() {
    let secret = secret("transport-test-secret-42");
    let (addr, mut inbound) = serve(2, secret.clone(), None).await;
    let (fb_tx, mut feedback) = mpsc::unbounded_channel();
    let rt = tokio::runtime::Handle::current();
    let link = PeerLink::spawn(&rt, 1, 2, addr, Credentials::secret(secret), 64, fb_tx);
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
async fn link_with_the_wrong_secret_delivers_nothing() {
    let (addr, mut inbound) = serve(2, secret("the-right-secret-0000"), None).await;
    let r = one_message(
        addr,
        &mut inbound,
        Credentials::secret(secret("the-wrong-secret-0000")),
    )
    .await;
    assert_eq!(r, Err(Some(Feedback::Unreachable(2))));
    assert!(
        inbound.try_recv().is_err(),
        "a refused batch must not be delivered"
    );
}

#[tokio::test]
async fn caller_refuses_a_server_that_does_not_know_the_secret() {
    let (addr, _inbound) = serve(2, secret("the-impostor-secret-00"), None).await;
    let channel = transport::connect(&addr, None).await.expect("connect");
    let r = Session::open(channel, 1, 2, &secret("the-right-secret-0000")).await;
    assert_eq!(r.err(), Some(AuthError::ServerProof(2)));
    // A server of the right secret is accepted by the same code.
    let (addr, _inbound) = serve(2, secret("the-right-secret-0000"), None).await;
    let channel = transport::connect(&addr, None).await.expect("connect");
    let r = Session::open(channel, 1, 2, &secret("the-right-secret-0000")).await;
    assert!(r.is_ok(), "{r:?}");
}

#[tokio::test]
async fn server_refuses_a_caller_that_does_not_know_the_secret_and_replays() {
    let right = secret("the-right-secret-0000");
    let (addr, mut inbound) = serve(2, right.clone(), None).await;
    let channel = transport::connect(&addr, None).await.expect("connect");
    let mut client = transport::peer_client(channel.clone());
    let mut session = Session::open(channel, 1, 2, &right).await.expect("hello");
    let batch = || Batch {
        version: transport::VERSION,
        from: 1,
        to: 2,
        envelopes: vec![out(2, Payload::Regular, vec![9]).envelope],
    };
    // A proof made with another secret.
    let mut req = tonic::Request::new(batch());
    session.sign(&mut req, &secret("the-wrong-secret-0000"));
    let e = client.deliver(req).await.expect_err("refused");
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    // No proof at all.
    let e = client
        .deliver(tonic::Request::new(batch()))
        .await
        .expect_err("refused");
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    assert!(inbound.try_recv().is_err(), "nothing delivered");
    // A good call is delivered and acknowledged; replaying its metadata is
    // refused.
    let mut req = tonic::Request::new(batch());
    session.sign(&mut req, &right);
    let md = req.metadata().clone();
    let resp = client.deliver(req).await.expect("accepted");
    assert_eq!(session.check_ack(&resp, &right), Ok(()));
    assert!(inbound.recv().await.is_some());
    let mut replay = tonic::Request::new(batch());
    *replay.metadata_mut() = md;
    let e = client.deliver(replay).await.expect_err("replay refused");
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    // A batch claiming another sender than the session is refused.
    let mut req = tonic::Request::new(Batch { from: 3, ..batch() });
    session.sign(&mut req, &right);
    let e = client.deliver(req).await.expect_err("refused");
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
}

/// A test CA and certificates for 127.0.0.1 signed by it.
struct Ca {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl Ca {
    fn new(name: &str) -> Self {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("self-signed CA");
        Ca { cert, key }
    }

    /// A member's TLS config: a certificate for 127.0.0.1 from this CA,
    /// trusting `trust`.
    fn member(&self, trust: &Ca) -> TlsConfig {
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("signed");
        TlsConfig::from_pem(trust.cert.pem(), cert.pem(), key.serialize_pem()).expect("pem")
    }
}

fn tls(config: TlsConfig) -> Credentials {
    Credentials {
        secret: secret("transport-tls-secret-0"),
        tls: Some(config),
    }
}

#[tokio::test]
async fn mutual_tls_good_pair_talks() {
    let ca = Ca::new("lns cluster test CA");
    let server_tls = ca.member(&ca);
    let (addr, mut inbound) = serve(2, secret("transport-tls-secret-0"), Some(&server_tls)).await;
    let r = one_message(addr, &mut inbound, tls(ca.member(&ca))).await;
    assert_eq!(r, Ok(()));
}

#[tokio::test]
async fn mutual_tls_refuses_a_caller_certificate_from_another_ca() {
    let ca = Ca::new("lns cluster test CA");
    let other = Ca::new("some other CA");
    let (addr, mut inbound) =
        serve(2, secret("transport-tls-secret-0"), Some(&ca.member(&ca))).await;
    // The caller trusts the right CA but its own certificate is foreign.
    let r = one_message(addr.clone(), &mut inbound, tls(other.member(&ca))).await;
    assert_eq!(r, Err(Some(Feedback::Unreachable(2))));
    // Nor may a caller skip TLS (or the client certificate) altogether.
    let r = one_message(
        addr,
        &mut inbound,
        Credentials::secret(secret("transport-tls-secret-0")),
    )
    .await;
    assert_eq!(r, Err(Some(Feedback::Unreachable(2))));
    assert!(inbound.try_recv().is_err());
}

#[tokio::test]
async fn mutual_tls_caller_refuses_a_server_certificate_from_another_ca() {
    let ca = Ca::new("lns cluster test CA");
    let other = Ca::new("some other CA");
    // The server accepts our certificate, but its own is foreign to us.
    let (addr, mut inbound) = serve(
        2,
        secret("transport-tls-secret-0"),
        Some(&other.member(&ca)),
    )
    .await;
    let r = one_message(addr.clone(), &mut inbound, tls(ca.member(&ca))).await;
    assert_eq!(r, Err(Some(Feedback::Unreachable(2))));
    let e = transport::connect(&addr, Some(&ca.member(&ca)))
        .await
        .expect_err("the handshake fails");
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        chain = format!("{chain}: {s}");
        source = s.source();
    }
    assert!(
        chain.contains("certificate"),
        "the refusal names the certificate: {chain}"
    );
}

/// A free loopback port (bound, then released for the member to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `ClusterConfig::tls` end to end: three members over mutual TLS elect
/// an active leader and replicate; a fourth member whose certificate comes
/// from another CA cannot take part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_over_mutual_tls_replicate_and_a_foreign_member_is_kept_out() {
    use lns_cluster::{ClusterConfig, Member, MemberKind, PeerSpec, RestoreError, StateMachine};

    #[derive(Debug, Default)]
    struct Count(u64);
    impl StateMachine for Count {
        fn apply(&mut self, _index: u64, _command: &[u8]) -> Vec<u8> {
            self.0 += 1;
            self.0.to_be_bytes().to_vec()
        }
        fn snapshot(&self) -> Vec<u8> {
            self.0.to_be_bytes().to_vec()
        }
        fn restore(&mut self, _index: u64, s: &[u8]) -> Result<(), RestoreError> {
            let b: [u8; 8] = s.try_into().map_err(|_| RestoreError("length".into()))?;
            self.0 = u64::from_be_bytes(b);
            Ok(())
        }
    }

    let ca = Ca::new("lns cluster test CA");
    let other = Ca::new("some other CA");
    let dir = TempDir::new("tls");
    let members: std::collections::BTreeMap<u64, PeerSpec> = (1..=3u64)
        .map(|i| {
            let address = format!("127.0.0.1:{}", free_port());
            (
                i,
                PeerSpec {
                    address,
                    kind: MemberKind::Eligible,
                },
            )
        })
        .collect();
    let secret = secret("transport-tls-secret-0");
    let mut started = Vec::new();
    for id in 1..=3u64 {
        let mut config = ClusterConfig::new(id, members.clone());
        config.fsync = lns_cluster::Fsync::Never;
        // Member 3 holds a certificate from another CA (it trusts ours).
        let issuer = if id == 3 { &other } else { &ca };
        config.tls = Some(issuer.member(&ca));
        let m = Member::start(
            config,
            Count::default(),
            &dir.path().join(format!("m{id}")),
            secret.clone(),
        )
        .await
        .expect("member starts");
        started.push(m);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let leader = loop {
        if let Some(m) = started.iter().find(|m| m.is_active()) {
            break m.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no active member over TLS"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_ne!(leader.id(), 3, "the foreign member cannot win an election");
    for i in 1..=5u64 {
        let r = leader
            .propose(vec![0xab; 16])
            .await
            .expect("committed over TLS");
        assert_eq!(r, i.to_be_bytes().to_vec());
    }
    let status = leader.status().await.expect("status");
    let foreign = status
        .members
        .iter()
        .find(|m| m.id == 3)
        .expect("member 3 listed");
    let good = status
        .members
        .iter()
        .find(|m| m.id != 3 && m.id != leader.id())
        .expect("the other good member");
    assert!(
        good.match_index.is_some_and(|i| i >= status.commit),
        "{good:?}"
    );
    assert_eq!(
        foreign.last_contact, None,
        "member 3 never got through: {foreign:?}"
    );
    for m in &started {
        m.shutdown().await;
    }
}
