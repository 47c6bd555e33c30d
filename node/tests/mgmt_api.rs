//! lnsctl against the real tonic server over a temporary Unix socket (and
//! TCP with a token, or with mutual TLS), with an in-memory backend that
//! exists only here.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser;
use lns_node::mgmt::capture::{CaptureScope, DatagramOwner, Direction};
use lns_node::mgmt::ctl::{self, Cli, CtlError};
use lns_node::mgmt::pb;
use lns_node::mgmt::server::{self, ServerConfig, TcpConfig};
use lns_node::mgmt::tap::capture_tap;
use lns_node::mgmt::{
    BackendError, BackendResult, CaptureHandle, CaptureSpec, ManagementBackend, RequestedScope,
};
use lns_proto::time::Timestamp;
use tokio::sync::oneshot;

/// How the test node behaves for writes.
#[derive(Debug, Clone, Copy)]
enum TestRole {
    Active,
    StandbyForwarding,
    StandbyRefusing,
}

#[derive(Debug)]
struct TestBackend {
    role: TestRole,
    sessions: Vec<pb::SessionSummary>,
}

const ACTIVE_ADDR: &str = "198.18.0.1:7443";
const LAC: &str = "192.0.2.10:1701";
const LNS: &str = "192.0.2.1:1701";

fn session(
    id: u32,
    tunnel: u32,
    user: &str,
    ip: &str,
    state: pb::SessionState,
) -> pb::SessionSummary {
    pb::SessionSummary {
        session_id: id,
        tunnel_id: tunnel,
        user: user.into(),
        state: state as i32,
        ipv4: ip.into(),
        ..Default::default()
    }
}

impl TestBackend {
    fn new(role: TestRole) -> Self {
        TestBackend {
            role,
            sessions: vec![
                session(123, 10, "alice@isp", "100.64.0.1", pb::SessionState::Up),
                session(124, 10, "bob@isp", "100.64.0.2", pb::SessionState::Up),
                session(
                    125,
                    11,
                    "alice@isp",
                    "100.64.0.3",
                    pb::SessionState::Authenticating,
                ),
            ],
        }
    }

    fn origin(&self) -> i32 {
        match self.role {
            TestRole::Active => pb::ReplyOrigin::Live as i32,
            _ => pb::ReplyOrigin::Replicated as i32,
        }
    }

    fn write(&self, affected: u32) -> BackendResult<pb::WriteOutcome> {
        match self.role {
            TestRole::Active => Ok(pb::WriteOutcome {
                affected,
                ..Default::default()
            }),
            TestRole::StandbyForwarding => Ok(pb::WriteOutcome {
                affected,
                forwarded_to: ACTIVE_ADDR.into(),
                message: String::new(),
            }),
            TestRole::StandbyRefusing => Err(BackendError::NotActive {
                active_node: "lns-a".into(),
                active_address: ACTIVE_ADDR.into(),
            }),
        }
    }
}

/// Scripted traffic offered to every capture tap: (datagram, owner, direction).
fn traffic() -> Vec<(Vec<u8>, DatagramOwner<'static>, Direction)> {
    let alice = DatagramOwner {
        tunnel_id: 10,
        session_id: 123,
        user: Some("alice@isp"),
    };
    let tunnel10 = DatagramOwner {
        tunnel_id: 10,
        session_id: 0,
        user: None,
    };
    let other = DatagramOwner {
        tunnel_id: 11,
        session_id: 125,
        user: Some("carol@isp"),
    };
    // RFC 2661 §3.1 control header (T, L, S; ver 2) + Message Type AVP = SCCRQ (1).
    let sccrq = vec![
        0xc8, 0x02, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x08, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x01,
    ];
    // Data message, tunnel 10 session 123: PPP PAP Authenticate-Request (RFC 1334 §2.2.1).
    let pap = vec![
        0x00, 0x02, 0x00, 0x0a, 0x00, 0x7b, 0xff, 0x03, 0xc0, 0x23, 0x01, 0x01, 0x00, 0x0c, 0x05,
        b'a', b'l', b'i', b'c', b'e', 0x01, b'x',
    ];
    let mut ipv4 = vec![
        0x00, 0x02, 0x00, 0x0a, 0x00, 0x7b, 0x00, 0x21, 0x45, 0x00, 0x00, 0x14,
    ];
    ipv4.extend_from_slice(&[0, 0, 0, 0, 64, 0x11, 0, 0, 100, 64, 0, 1, 198, 51, 100, 1]);
    let mut foreign = pap.clone();
    foreign[3] = 0x0b;
    vec![
        (sccrq, tunnel10, Direction::FromLac),
        (pap, alice, Direction::FromLac),
        (ipv4, alice, Direction::ToLac),
        (foreign, other, Direction::FromLac),
    ]
}

impl ManagementBackend for TestBackend {
    async fn status(&self) -> BackendResult<pb::StatusReply> {
        let role = match self.role {
            TestRole::Active => pb::Role::Active,
            _ => pb::Role::Standby,
        };
        Ok(pb::StatusReply {
            node: "lns-test".into(),
            role: role as i32,
            term: 7,
            active_node: "lns-a".into(),
            active_address: ACTIVE_ADDR.into(),
            tunnel_addresses: vec!["192.0.2.1".into()],
            uptime_seconds: 3661,
            tunnels: 2,
            sessions: u32::try_from(self.sessions.len()).unwrap_or(u32::MAX),
            version: "test".into(),
            origin: self.origin(),
        })
    }
    async fn list_sessions(&self, f: pb::SessionFilter) -> BackendResult<pb::SessionList> {
        let sessions = self
            .sessions
            .iter()
            .filter(|s| f.user.is_empty() || s.user == f.user)
            .filter(|s| f.tunnel_id.is_none_or(|t| s.tunnel_id == t))
            .filter(|s| f.ip.is_empty() || s.ipv4 == f.ip)
            .filter(|s| f.state == 0 || s.state == f.state)
            .cloned()
            .collect();
        Ok(pb::SessionList {
            sessions,
            origin: self.origin(),
        })
    }
    async fn show_session(&self, id: u32) -> BackendResult<pb::SessionDetail> {
        let summary = self.sessions.iter().find(|s| s.session_id == id).cloned();
        match summary {
            Some(s) => Ok(pb::SessionDetail {
                summary: Some(s),
                mru: 1492,
                ..Default::default()
            }),
            None => Err(BackendError::NotFound(format!("session {id}"))),
        }
    }
    async fn kill_sessions(&self, r: pb::KillSessionsRequest) -> BackendResult<pb::WriteOutcome> {
        use pb::kill_sessions_request::Target;
        let affected = match r.target {
            Some(Target::SessionId(id)) => {
                self.sessions.iter().filter(|s| s.session_id == id).count()
            }
            Some(Target::User(u)) => self.sessions.iter().filter(|s| s.user == u).count(),
            None => 0,
        };
        self.write(u32::try_from(affected).unwrap_or(u32::MAX))
    }
    async fn list_tunnels(&self) -> BackendResult<pb::TunnelList> {
        Ok(pb::TunnelList {
            tunnels: vec![pb::TunnelSummary {
                tunnel_id: 10,
                sessions: 2,
                ..Default::default()
            }],
            origin: self.origin(),
        })
    }
    async fn show_tunnel(&self, id: u32) -> BackendResult<pb::TunnelDetail> {
        Err(BackendError::NotFound(format!("tunnel {id}")))
    }
    async fn kill_tunnel(&self, _id: u32) -> BackendResult<pb::WriteOutcome> {
        // Says who the audit trail names as the caller (mgmt::audit).
        let mut outcome = self.write(1)?;
        if let Some(who) = lns_node::mgmt::audit::current_caller() {
            outcome.message = format!("caller: {who}");
        }
        Ok(outcome)
    }
    async fn list_pools(&self) -> BackendResult<pb::PoolList> {
        Ok(pb::PoolList::default())
    }
    async fn radius_status(&self) -> BackendResult<pb::RadiusStatusReply> {
        Ok(pb::RadiusStatusReply::default())
    }
    async fn cluster_status(&self) -> BackendResult<pb::ClusterStatusReply> {
        Ok(pb::ClusterStatusReply::default())
    }
    async fn transfer_leader(
        &self,
        _r: pb::TransferLeaderRequest,
    ) -> BackendResult<pb::WriteOutcome> {
        self.write(1)
    }
    async fn add_member(&self, _c: pb::MemberChange) -> BackendResult<pb::WriteOutcome> {
        self.write(1)
    }
    async fn remove_member(&self, _c: pb::MemberChange) -> BackendResult<pb::WriteOutcome> {
        self.write(1)
    }
    async fn drill_switchover(
        &self,
        _r: pb::DrillSwitchoverRequest,
    ) -> BackendResult<pb::DrillSwitchoverReply> {
        Err(BackendError::Unavailable("no standby".into()))
    }
    async fn counters(&self) -> BackendResult<pb::CountersReply> {
        Ok(pb::CountersReply::default())
    }
    async fn start_capture(&self, spec: CaptureSpec) -> BackendResult<CaptureHandle> {
        if !matches!(self.role, TestRole::Active) {
            return Err(BackendError::NotActive {
                active_node: "lns-a".into(),
                active_address: ACTIVE_ADDR.into(),
            });
        }
        let scope = match spec.scope.clone() {
            RequestedScope::Session(id) => {
                let s = self
                    .sessions
                    .iter()
                    .find(|s| s.session_id == id)
                    .ok_or_else(|| BackendError::NotFound(format!("session {id}")))?;
                CaptureScope::Session {
                    tunnel_id: u16::try_from(s.tunnel_id).unwrap_or(0),
                    session_id: u16::try_from(s.session_id).unwrap_or(0),
                }
            }
            RequestedScope::User(u) => CaptureScope::User(u),
            RequestedScope::Tunnel(t) => CaptureScope::Tunnel(u16::try_from(t).unwrap_or(0)),
            RequestedScope::AllTunnels => CaptureScope::AllTunnels,
        };
        let (tap, reader) = capture_tap(spec.filter(scope), 64);
        let lac: SocketAddr = LAC.parse().expect("literal");
        let lns: SocketAddr = LNS.parse().expect("literal");
        for (i, (datagram, owner, direction)) in traffic().into_iter().enumerate() {
            let (src, dst) = match direction {
                Direction::FromLac => (lac, lns),
                Direction::ToLac => (lns, lac),
            };
            let at = Timestamp::from_unix_micros(1_700_000_000_000_000 + 1000 * i as u64);
            tap.offer(at, direction, owner, src, dst, &datagram);
        }
        // Dropping the tap here ends the capture once its queue is drained.
        Ok(CaptureHandle { reader })
    }
}

struct Running {
    dir: tempfile::TempDir,
    socket: PathBuf,
    tcp: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Result<(), server::ServerError>>,
}

impl Running {
    async fn stop(mut self) -> PathBuf {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = (&mut self.done).await.expect("server task");
        assert!(result.is_ok(), "{result:?}");
        let _keep = &self.dir;
        self.socket.clone()
    }
}

fn start(role: TestRole, token: Option<&str>) -> Running {
    start_tcp(
        role,
        token.map(|t| TcpConfig {
            listen: "127.0.0.1:0".parse().expect("literal"),
            token: t.into(),
            tls: None,
        }),
    )
}

fn start_tcp(role: TestRole, tcp: Option<TcpConfig>) -> Running {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("mgmt.sock");
    let config = ServerConfig {
        socket_path: socket.clone(),
        socket_mode: 0o600,
        tcp,
    };
    let bound = server::bind(&config).expect("bind");
    let tcp = bound.tcp_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(server::serve(
        bound,
        Arc::new(TestBackend::new(role)),
        async move {
            let _ = stopped.await;
        },
    ));
    Running {
        dir,
        socket,
        tcp,
        stop: Some(stop),
        done,
    }
}

async fn lnsctl(socket: &Path, args: &[&str]) -> Result<String, CtlError> {
    let mut argv = vec![
        "lnsctl",
        "--socket",
        socket.to_str().expect("utf-8 temp path"),
    ];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).expect("valid arguments");
    let mut out = Vec::new();
    ctl::run(cli, &mut out).await?;
    Ok(String::from_utf8(out).expect("utf-8 output"))
}

#[tokio::test]
async fn status_table_and_json() {
    let node = start(TestRole::Active, None);
    let table = lnsctl(&node.socket, &["status"]).await.expect("status");
    assert!(
        table.contains("role:") && table.contains("active"),
        "{table}"
    );
    assert!(table.contains("01:01:01"), "{table}");
    let json = lnsctl(&node.socket, &["--json", "status"])
        .await
        .expect("status");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["role"], "ROLE_ACTIVE");
    assert_eq!(v["term"], 7);
    assert_eq!(v["sessions"], 3);
    node.stop().await;
}

#[tokio::test]
async fn sessions_filters_reach_the_backend() {
    let node = start(TestRole::Active, None);
    let ids = |json: String| -> Vec<u64> {
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        v["sessions"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s["session_id"].as_u64()).collect())
            .unwrap_or_default()
    };
    let all = lnsctl(&node.socket, &["--json", "sessions"])
        .await
        .expect("list");
    assert_eq!(ids(all), [123, 124, 125]);
    let alice = lnsctl(&node.socket, &["--json", "sessions", "--user", "alice@isp"]).await;
    assert_eq!(ids(alice.expect("list")), [123, 125]);
    let t10 = lnsctl(
        &node.socket,
        &[
            "--json",
            "sessions",
            "--tunnel",
            "10",
            "--user",
            "alice@isp",
        ],
    );
    assert_eq!(ids(t10.await.expect("list")), [123]);
    let by_ip = lnsctl(&node.socket, &["--json", "sessions", "--ip", "100.64.0.2"]).await;
    assert_eq!(ids(by_ip.expect("list")), [124]);
    let auth = lnsctl(
        &node.socket,
        &["--json", "sessions", "--state", "authenticating"],
    )
    .await;
    assert_eq!(ids(auth.expect("list")), [125]);
    let table = lnsctl(&node.socket, &["sessions", "--user", "bob@isp"])
        .await
        .expect("list");
    assert!(table.starts_with("SESSION"), "{table}");
    assert!(
        table.contains("bob@isp") && !table.contains("alice"),
        "{table}"
    );
    let missing = lnsctl(&node.socket, &["session", "show", "999"]).await;
    assert!(matches!(&missing, Err(CtlError::Refused(m)) if m.contains("session 999 not found")));
    node.stop().await;
}

#[tokio::test]
async fn kill_on_standby_is_forwarded_or_refused_with_active_address() {
    let forwarding = start(TestRole::StandbyForwarding, None);
    let out = lnsctl(
        &forwarding.socket,
        &["session", "kill", "--user", "alice@isp"],
    )
    .await;
    let out = out.expect("forwarded");
    assert!(
        out.contains("killed: 2") && out.contains(ACTIVE_ADDR),
        "{out}"
    );
    let listed = lnsctl(&forwarding.socket, &["sessions"])
        .await
        .expect("read on standby");
    assert!(listed.contains("replicated tables"), "{listed}");
    forwarding.stop().await;

    let refusing = start(TestRole::StandbyRefusing, None);
    let refused = lnsctl(&refusing.socket, &["session", "kill", "123"]).await;
    match refused {
        Err(CtlError::Refused(message)) => {
            assert!(
                message.contains("standby") && message.contains(ACTIVE_ADDR),
                "{message}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    refusing.stop().await;
}

#[tokio::test]
async fn tcp_requires_the_right_token() {
    let node = start(TestRole::Active, Some("s3cret-token"));
    let addr = node.tcp.expect("tcp configured").to_string();
    let run = |token: Option<&'static str>| {
        let addr = addr.clone();
        async move {
            let mut argv = vec!["lnsctl".to_string(), "--addr".into(), addr];
            if let Some(t) = token {
                argv.extend(["--token".into(), t.into()]);
            }
            argv.push("status".into());
            let cli = Cli::try_parse_from(argv).expect("valid arguments");
            let mut out = Vec::new();
            ctl::run(cli, &mut out).await.map(|()| out)
        }
    };
    match run(Some("wrong")).await {
        Err(CtlError::Refused(m)) => assert!(m.contains("token rejected"), "{m}"),
        other => panic!("wrong token accepted: {other:?}"),
    }
    assert!(matches!(run(None).await, Err(CtlError::Usage(_))));
    let ok = run(Some("s3cret-token")).await.expect("right token");
    assert!(String::from_utf8_lossy(&ok).contains("lns-test"));
    // A write's audit line names the token by its hash prefix
    // (`printf %s s3cret-token | sha256sum | cut -c1-8`), never itself.
    let argv = [
        "lnsctl",
        "--addr",
        &addr,
        "--token",
        "s3cret-token",
        "tunnel",
        "kill",
        "5",
    ];
    let cli = Cli::try_parse_from(argv).expect("valid arguments");
    let mut out = Vec::new();
    ctl::run(cli, &mut out).await.expect("tunnel kill");
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("(token sha256:a81e611a)"), "{out}");
    assert!(!out.contains("s3cret"), "{out}");
    node.stop().await;
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

    /// A certificate for 127.0.0.1 from this CA: (cert PEM, key PEM).
    fn issue(&self) -> (String, String) {
        self.issue_to("lnsd test peer")
    }

    /// [`Ca::issue`] with the subject `CN=common_name,O=FFDN`.
    fn issue_to(&self, common_name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "FFDN");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("signed");
        (cert.pem(), key.serialize_pem())
    }
}

#[tokio::test]
async fn tcp_with_mutual_tls_needs_a_client_certificate_from_the_ca() {
    use lns_cluster::TlsConfig;
    use lns_node::mgmt::pb::management_client::ManagementClient;
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

    let ca = Ca::new("lnsd mgmt test CA");
    let (server_cert, server_key) = ca.issue();
    let server_tls =
        TlsConfig::from_pem(ca.cert.pem(), server_cert, server_key).expect("server pem");
    let node = start_tcp(
        TestRole::Active,
        Some(TcpConfig {
            listen: "127.0.0.1:0".parse().expect("literal"),
            token: String::new(),
            tls: Some(server_tls),
        }),
    );
    let addr = node.tcp.expect("tcp configured").to_string();
    let files = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, pem: &str| {
        let p = files.path().join(name);
        std::fs::write(&p, pem).expect("write pem");
        p.to_str().expect("utf-8 temp path").to_string()
    };
    let ca_file = write("ca.pem", &ca.cert.pem());
    let (client_cert, client_key) = ca.issue_to("noc-alice");
    let cert_file = write("client.pem", &client_cert);
    let key_file = write("client.key", &client_key);
    let foreign = Ca::new("another CA");
    let (foreign_cert, foreign_key) = foreign.issue();
    let foreign_cert_file = write("foreign.pem", &foreign_cert);
    let foreign_key_file = write("foreign.key", &foreign_key);
    let run = |cert: &str, key: &str, command: &[&str]| {
        let argv: Vec<String> = [
            "lnsctl",
            "--addr",
            &addr,
            "--tls-ca",
            &ca_file,
            "--tls-cert",
            cert,
            "--tls-key",
            key,
        ]
        .iter()
        .chain(command)
        .map(|a| a.to_string())
        .collect();
        async move {
            let cli = Cli::try_parse_from(argv).expect("valid arguments");
            let mut out = Vec::new();
            ctl::run(cli, &mut out).await.map(|()| out)
        }
    };
    // With a certificate from the CA: it works.
    let ok = run(&cert_file, &key_file, &["status"])
        .await
        .expect("client certificate");
    assert!(String::from_utf8_lossy(&ok).contains("lns-test"));
    // A write's audit line names the client certificate's subject.
    let out = run(&cert_file, &key_file, &["tunnel", "kill", "5"])
        .await
        .expect("tunnel kill over mTLS");
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("(mTLS CN=noc-alice,O=FFDN)"), "{out}");
    // A certificate from another CA: refused.
    let refused = run(&foreign_cert_file, &foreign_key_file, &["status"]).await;
    assert!(refused.is_err(), "a foreign certificate was accepted");
    // TLS without a client certificate: refused.
    let endpoint = Endpoint::from_shared(format!("https://{addr}"))
        .expect("uri")
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca.cert.pem())))
        .expect("client tls");
    let anonymous = match endpoint.connect().await {
        Ok(channel) => ManagementClient::new(channel)
            .status(pb::StatusRequest {})
            .await
            .map(|_| ()),
        Err(e) => Err(tonic::Status::unavailable(e.to_string())),
    };
    assert!(
        anonymous.is_err(),
        "a client without a certificate was served"
    );
    // Plain HTTP/2 with a token instead of TLS: nothing answers.
    let argv = [
        "lnsctl",
        "--addr",
        &addr,
        "--token",
        "0123456789abcdef",
        "status",
    ];
    let cli = Cli::try_parse_from(argv).expect("valid arguments");
    let mut out = Vec::new();
    assert!(
        ctl::run(cli, &mut out).await.is_err(),
        "plain HTTP/2 was served"
    );
    // Half the TLS flags is a usage error that names them.
    let argv = ["lnsctl", "--addr", &addr, "--tls-ca", &ca_file, "status"];
    let cli = Cli::try_parse_from(argv).expect("valid arguments");
    match ctl::run(cli, &mut Vec::new()).await {
        Err(CtlError::Usage(m)) => assert!(m.contains("--tls-cert"), "{m}"),
        other => panic!("expected a usage error, got {other:?}"),
    }
    node.stop().await;
}

#[tokio::test]
async fn tcp_without_token_is_refused_at_bind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ServerConfig {
        socket_path: dir.path().join("s"),
        socket_mode: 0o600,
        tcp: Some(TcpConfig {
            listen: "127.0.0.1:0".parse().expect("literal"),
            token: String::new(),
            tls: None,
        }),
    };
    assert!(matches!(
        server::bind(&config),
        Err(server::ServerError::Config(_))
    ));
    let world = ServerConfig {
        socket_mode: 0o666,
        tcp: None,
        ..config
    };
    assert!(matches!(
        server::bind(&world),
        Err(server::ServerError::Config(_))
    ));
}

#[tokio::test]
async fn socket_has_its_mode_and_is_removed_on_shutdown() {
    let node = start(TestRole::Active, None);
    let mode = std::fs::metadata(&node.socket)
        .expect("socket exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let path = node.stop().await;
    assert!(!path.exists(), "socket left behind");
}

#[tokio::test]
async fn unreachable_socket_says_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nothing.sock");
    match lnsctl(&missing, &["status"]).await {
        Err(e @ CtlError::Connect(_)) => {
            let m = e.to_string();
            assert!(
                m.contains("cannot reach lnsd at") && m.contains("--socket"),
                "{m}"
            );
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
}

#[tokio::test]
async fn capture_streams_a_pcap_that_tshark_decodes() {
    let node = start(TestRole::Active, None);
    let file = node.dir.path().join("cap.pcap");
    let file_arg = file.to_str().expect("utf-8");
    lnsctl(
        &node.socket,
        &[
            "capture", "--tunnel", "10", "--kind", "control", "--kind", "login", "-w", file_arg,
        ],
    )
    .await
    .expect("capture");
    let pcap = std::fs::read(&file).expect("pcap written");
    assert_eq!(&pcap[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
    let output = std::process::Command::new("tshark")
        .args([
            "-n",
            "-r",
            file_arg,
            "-T",
            "fields",
            "-e",
            "frame.protocols",
            "-e",
            "l2tp.tunnel",
        ])
        .output()
        .expect("tshark is installed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().collect();
    // SCCRQ (tunnel 0) and alice's PAP request; not her IPv4 data nor tunnel 11.
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("udp:l2tp"), "{text}");
    assert!(
        lines[1].contains("l2tp:ppp:pap") && lines[1].ends_with("\t10"),
        "{text}"
    );

    let session = node.dir.path().join("session.pcap");
    let session_arg = session.to_str().expect("utf-8");
    lnsctl(
        &node.socket,
        &[
            "capture",
            "--session",
            "123",
            "--count",
            "1",
            "-w",
            session_arg,
        ],
    )
    .await
    .expect("capture");
    let bytes = std::fs::read(&session).expect("pcap written");
    // Global header + exactly one record: the PAP request (IPv4 20 + UDP 8 + 22).
    assert_eq!(bytes.len(), 24 + 16 + 20 + 8 + 22);
    node.stop().await;
}

#[tokio::test]
async fn capture_on_standby_names_the_active_node() {
    let node = start(TestRole::StandbyRefusing, None);
    let file = node.dir.path().join("x.pcap");
    let out = lnsctl(
        &node.socket,
        &["capture", "--all", "-w", file.to_str().expect("utf-8")],
    )
    .await;
    assert!(
        matches!(&out, Err(CtlError::Refused(m)) if m.contains(ACTIVE_ADDR)),
        "{out:?}"
    );
    node.stop().await;
}

#[test]
fn config_check_reports_syntax_errors_with_line_numbers_offline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[mgmt]\nsocket = \"/run/lnsd/mgmt.sock\"\nmode = = 600\n",
    )
    .expect("write");
    let lnsctl = env!("CARGO_BIN_EXE_lnsctl");
    let out = std::process::Command::new(lnsctl)
        .args(["config", "check", bad.to_str().expect("utf-8")])
        .output()
        .expect("run lnsctl");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("line 3"), "{err}");
}

#[tokio::test]
async fn lnsctl_binary_prints_status_over_the_socket() {
    let node = start(TestRole::Active, None);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_lnsctl"))
        .args(["--socket", node.socket.to_str().expect("utf-8"), "status"])
        .output()
        .await
        .expect("run lnsctl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("lns-test") && text.contains("192.0.2.1"),
        "{text}"
    );
    node.stop().await;
}

#[tokio::test]
async fn lnsctl_binary_exits_2_when_lnsd_is_unreachable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_lnsctl"))
        .args([
            "--socket",
            dir.path().join("none.sock").to_str().expect("utf-8"),
            "sessions",
        ])
        .output()
        .await
        .expect("run lnsctl");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is lnsd running?"), "{err}");
}
