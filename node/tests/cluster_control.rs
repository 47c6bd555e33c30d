//! The cluster control path with a real Raft member (one voter on
//! loopback, no namespaces, no root): a LAC's SCCRQ that reaches the active
//! node goes into a command, is committed and applied by the replica, and
//! only then does the SCCRP leave through the data plane (commit before
//! emit). The replica and the log agree on what happened.

use lns_node::config::ClusterSection;
use lns_node::control::cluster::{run, ClusterHandle, ClusterParts};
use lns_node::control::{Channels, ControlSignal, Observer, Plane};
use lns_node::dataplane::{ControlInput, SessionEntry, SessionStats};
use lns_node::engine::{EngineConfig, PoolSpec, SecondLoginPolicy};
use lns_node::metrics::Metrics;
use lns_node::replica::{Replica, SharedReplica};
use lns_node::vip::Vip;
use lns_proto::entropy::Seeded;
use lns_proto::l2tp::{Endpoint, EndpointConfig, Event, PeerSettings, Side};
use lns_proto::ppp::LinkConfig;
use lns_proto::time::Timestamp;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// One control datagram sent: (our address, the peer, the bytes).
type Sent = (SocketAddr, SocketAddr, Vec<u8>);

/// A data plane that records what the control task asks of it.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Sent>>>);

impl Plane for Recorder {
    fn upsert_session(&self, _: SessionEntry) {}
    fn remove_session(&self, _: u16, _: u16) {}
    fn send_control(&self, local: SocketAddr, peer: SocketAddr, datagram: &[u8]) {
        self.0
            .lock()
            .expect("not poisoned")
            .push((local, peer, datagram.to_vec()));
    }
    fn send_ppp(&self, _: u16, _: u16, _: &[u8]) {}
    fn session_stats(&self, _: u16, _: u16) -> Option<SessionStats> {
        None
    }
    fn add_routes(&self, _: &[(IpAddr, u8)]) -> Result<(), String> {
        Ok(())
    }
}

fn engine_config() -> EngineConfig {
    EngineConfig {
        endpoint: EndpointConfig::new(Side::Lns, b"lns1"),
        link: LinkConfig::lns(Ipv4Addr::new(198, 19, 255, 254)),
        pools: vec![PoolSpec {
            name: "p".into(),
            ranges: vec![(Ipv4Addr::new(198, 19, 0, 1), Ipv4Addr::new(198, 19, 0, 9))],
            sticky: false,
        }],
        default_pool: Some("p".into()),
        dns: [None, None],
        session_timeout: None,
        idle_timeout: None,
        second_login: SecondLoginPolicy::Allow,
        max_sessions: 10,
        setups_per_second_per_source: 10,
        ipv6: None,
        accounting: lns_node::engine::AccountingConfig {
            mode: lns_node::engine::AccountingMode::Off,
            interim_interval: None,
            max_queued: 100,
        },
    }
}

fn wall() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    Timestamp::from_unix_micros(u64::try_from(d.as_micros()).expect("fits"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tunnel_comes_up_through_raft_and_replies_leave_only_after_commit() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let dir = tempfile::tempdir().expect("tmp");
    let section: ClusterSection = toml::from_str(&format!(
        "node_id = 1\nrole = \"lns\"\nlisten = \"127.0.0.1:{port}\"\n\
         data_dir = \"raft\"\nsecret_file = \"s\"\n\
         [[members]]\nid = 1\naddress = \"127.0.0.1:{port}\"\nrole = \"lns\"\n"
    ))
    .expect("section");
    let (events_tx, events) = mpsc::unbounded_channel();
    let replica = SharedReplica::new(Replica::new(engine_config(), Some(events_tx)));
    let secret =
        lns_cluster::Secret::new("a-test-cluster-secret-0123456789abcdef").expect("secret");
    let member = lns_cluster::Member::start(
        section.cluster_config(),
        replica.clone(),
        dir.path(),
        secret,
    )
    .await
    .expect("member");
    let handle = ClusterHandle::new(member, &section);
    let (plane_tx, from_plane) = mpsc::channel(64);
    let (to_aaa, _aaa_rx) = mpsc::channel(64);
    let (_answers_tx, from_aaa) = mpsc::channel(64);
    let (signals_tx, signals) = mpsc::channel(4);
    let recorder = Recorder::default();
    let metrics = Arc::new(Metrics::for_this_build().expect("metrics"));
    let parts = ClusterParts {
        handle: handle.clone(),
        replica: replica.clone(),
        events,
        vip: Vip::new(Vec::new()),
        counters_interval: Duration::from_secs(5),
    };
    let task = tokio::spawn(run(
        parts,
        recorder.clone(),
        Channels {
            from_plane,
            to_aaa,
            from_aaa,
            signals,
            accounting: lns_node::control::AccountingChannels::none(),
        },
        Observer::new(metrics, Arc::default()),
    ));
    // The single voter elects itself and becomes active after its lease wait.
    let mut watch = handle.leadership();
    tokio::time::timeout(Duration::from_secs(10), async {
        while !handle.is_active() {
            watch.changed().await.expect("member runs");
        }
    })
    .await
    .expect("active");

    let lac_addr: SocketAddr = "198.18.0.1:1701".parse().expect("literal");
    let lns_addr: SocketAddr = "198.18.0.100:1701".parse().expect("literal");
    let mut e = Seeded::new(5);
    let mut lac = Endpoint::new(EndpointConfig::new(Side::Lac, b"lac1"));
    lac.open_tunnel(wall(), lac_addr, lns_addr, PeerSettings::open(), &mut e)
        .expect("tunnel");
    let mut up = false;
    let mut delivered = 0;
    for _ in 0..200 {
        while let Some(t) = lac.poll_transmit() {
            plane_tx
                .send(ControlInput::L2tpControl {
                    local: t.peer,
                    peer: t.local,
                    datagram: t.payload,
                })
                .await
                .expect("control task runs");
        }
        while let Some(ev) = lac.poll_event() {
            up |= matches!(ev, Event::TunnelUp { .. });
        }
        if up && replica.lock().engine().endpoint().tunnels().count() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let sent: Vec<_> = recorder.0.lock().expect("not poisoned").drain(..).collect();
        for (local, peer, datagram) in sent {
            // Every reply was produced by applying a committed command.
            assert!(replica.lock().applied() > 0);
            assert_eq!((local, peer), (lns_addr, lac_addr));
            delivered += 1;
            lac.handle_datagram(wall(), peer, local, &datagram, &mut e);
        }
    }
    assert!(up, "the LAC saw its tunnel come up");
    assert!(delivered >= 1, "SCCRP sent");
    let status = handle.status().await.expect("status");
    assert!(
        status.commit >= 2,
        "the inputs went through the log: {status:?}"
    );
    assert_eq!(replica.lock().engine().endpoint().tunnels().count(), 1);
    signals_tx
        .send(ControlSignal::Shutdown)
        .await
        .expect("task runs");
    let exit = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("task ends")
        .expect("no panic")
        .expect("no IO error");
    assert_eq!(exit, lns_node::control::Exit::Clean);
}
