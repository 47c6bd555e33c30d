//! lnsd end to end, as root, in a throw-away network namespace (skipped
//! with a message otherwise): the whole daemon (`daemon::run_with`: AAA
//! task with a users file, the real data plane with its TUN device, the
//! control task) against a LAC built from `lns_proto::l2tp` (Side::Lac)
//! and a pppd-like subscriber from `lns_proto::ppp`, over real UDP.
//!
//! ```text
//!  ns lnsd-e2e-PID
//!  lo: 198.18.0.1 (lnsd, UDP 1701)   198.18.0.2 (test LAC, UDP 1701)
//!  lnse2eN (TUN): 198.19.255.254, routes for the pool 198.19.1.10-20
//!  UDP socket :7000 (the "Internet" the subscriber talks to)
//! ```
//!
//! Checks: tunnel, session, PAP login, IPCP address from the pool, a UDP
//! datagram up through the TUN and the answer back down to the subscriber,
//! then SIGTERM's path (ControlSignal::Shutdown): CDN with cause, StopCCN,
//! and the daemon exits `Clean` once the LAC acknowledged.

use lns_node::config::Config;
use lns_node::control::{ControlSignal, Exit};
use lns_proto::entropy::Seeded;
use lns_proto::ip::{IpProtocol, Ipv4Repr};
use lns_proto::l2tp::data::{parse_data, write_data_header, DataOptions};
use lns_proto::l2tp::header::{HeaderView, Kind};
use lns_proto::l2tp::{
    CallInfo, Endpoint, EndpointConfig, Event, PeerSettings, SessionDownReason, SessionRoute,
    Side as L2tpSide,
};
use lns_proto::ppp::{AuthMethod, Link, LinkConfig, LinkEvent, Side};
use lns_proto::time::Timestamp;
use nix::sched::{setns, CloneFlags};
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

const LNS: &str = "198.18.0.1:1701";
const LAC: &str = "198.18.0.2:1701";
const TUN_V4: Ipv4Addr = Ipv4Addr::new(198, 19, 255, 254);

struct Namespace(String);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip runs");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn can_run() -> bool {
    if !nix::unistd::geteuid().is_root() || Command::new("ip").arg("-V").output().is_err() {
        eprintln!("skipping lnsd_netns: needs root and iproute2");
        return false;
    }
    true
}

fn enter(ns: &str) {
    let file = File::open(format!("/run/netns/{ns}")).expect("namespace file");
    setns(file, CloneFlags::CLONE_NEWNET).expect("setns");
}

fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    Timestamp::from_unix_micros(u64::try_from(d.as_micros()).expect("fits"))
}

fn config(dir: &std::path::Path, tun: &str) -> Config {
    std::fs::write(dir.join("users"), "alice wonderland\n").expect("users file");
    let text = format!(
        r#"
[node]
host_name = "lnsd-e2e"
[[listen]]
address = "{LNS}"
[limits]
accept_unknown_lacs = true
[ppp]
ipcp_local = "{TUN_V4}"
dns = ["198.18.0.53"]
echo_interval_secs = 30
[[pools]]
name = "p"
ranges = [{{ start = "198.19.1.10", end = "198.19.1.20" }}]
[aaa]
users_file = "users"
[tun]
name = "{tun}"
"#
    );
    let mut c = Config::from_toml(&text).expect("parses");
    c.resolve_files(dir).expect("files");
    c.validate().expect("valid");
    c
}

/// The test LAC and its one subscriber.
struct Lac {
    sock: UdpSocket,
    ep: Endpoint,
    e: Seeded,
    call: Option<(u16, SessionRoute, Link)>,
    events: Vec<Event>,
    sub_events: Vec<LinkEvent>,
    ipv4_down: Vec<Vec<u8>>,
}

impl Lac {
    fn send_frame(&self, route: &SessionRoute, frame: &[u8]) {
        let mut buf = vec![0u8; 16 + frame.len()];
        let n = write_data_header(
            &mut buf,
            route.peer_tunnel_id,
            route.peer_session_id,
            DataOptions::MINIMAL,
            frame.len(),
        )
        .expect("header fits");
        buf.truncate(n);
        buf.extend_from_slice(frame);
        self.sock.send_to(&buf, route.peer).expect("send data");
    }

    /// Runs the LAC in real time until `done` or `limit` passes.
    fn drive(&mut self, limit: Duration, done: impl Fn(&Lac) -> bool) -> bool {
        let end = Instant::now() + limit;
        let mut buf = [0u8; 4096];
        loop {
            while let Some(t) = self.ep.poll_transmit() {
                self.sock.send_to(&t.payload, t.peer).expect("send control");
            }
            while let Some(ev) = self.ep.poll_event() {
                if let Event::SessionUp { session, route, .. } = &ev {
                    let mut cfg = LinkConfig::subscriber(b"alice", b"wonderland");
                    cfg.auth_order = vec![AuthMethod::Pap];
                    let mut link = Link::new(Side::Subscriber, cfg);
                    link.open(now(), &mut self.e);
                    self.call = Some((*session, *route, link));
                }
                self.events.push(ev);
            }
            if let Some((_, route, link)) = &mut self.call {
                let route = *route;
                let mut frames = Vec::new();
                while let Some(f) = link.poll_transmit() {
                    frames.push(f);
                }
                while let Some(ev) = link.poll_event() {
                    self.sub_events.push(ev);
                }
                for f in frames {
                    self.send_frame(&route, &f);
                }
            }
            if done(self) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            let timers = [
                self.ep.poll_timeout(),
                self.call.as_ref().and_then(|c| c.2.poll_timeout()),
            ];
            let wait = timers
                .into_iter()
                .flatten()
                .min()
                .map_or(Duration::from_millis(50), |t| t.saturating_since(now()))
                .clamp(Duration::from_millis(1), Duration::from_millis(50));
            self.sock.set_read_timeout(Some(wait)).expect("timeout");
            if let Ok((n, from)) = self.sock.recv_from(&mut buf) {
                let d = &buf[..n];
                let lac: SocketAddr = LAC.parse().expect("literal");
                match HeaderView::new_checked(d).map(|h| h.kind()) {
                    Ok(Kind::Control) => self.ep.handle_datagram(now(), lac, from, d, &mut self.e),
                    Ok(Kind::Data) => {
                        if let (Ok(info), Some((_, _, link))) = (parse_data(d), &mut self.call) {
                            let frame = &d[info.payload];
                            if frame.get(2..4) == Some(&[0x00, 0x21]) {
                                self.ipv4_down.push(frame[4..].to_vec());
                            } else {
                                link.handle_frame(now(), frame, &mut self.e);
                            }
                        }
                    }
                    Err(_) => {}
                }
            }
            let t = now();
            if self.ep.poll_timeout().is_some_and(|d| d <= t) {
                self.ep.handle_timeout(t, &mut self.e);
            }
            if let Some((_, _, link)) = &mut self.call {
                if link.poll_timeout().is_some_and(|d| d <= t) {
                    link.handle_timeout(t, &mut self.e);
                }
            }
        }
    }
}

fn udp4(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 28 + payload.len()];
    Ipv4Repr {
        src,
        dst,
        protocol: IpProtocol::Udp,
        payload_len: 8 + payload.len(),
        ttl: 64,
        dscp_ecn: 0,
        ident: 1,
        dont_fragment: true,
    }
    .emit(&mut p)
    .expect("fits");
    let len = (8 + payload.len()) as u16;
    // Source port 5000, destination 7000, no checksum (allowed over IPv4).
    p[20..28].copy_from_slice(&[0x13, 0x88, 0x1b, 0x58, (len >> 8) as u8, len as u8, 0, 0]);
    p[28..].copy_from_slice(payload);
    p
}

#[test]
fn login_traffic_and_clean_shutdown_end_to_end() {
    if !can_run() {
        return;
    }
    let pid = std::process::id();
    let ns = format!("lnsd-e2e-{pid}");
    ip(&["netns", "add", &ns]);
    let _guard = Namespace(ns.clone());
    ip(&["-n", &ns, "link", "set", "lo", "up"]);
    ip(&["-n", &ns, "addr", "add", "198.18.0.1/32", "dev", "lo"]);
    ip(&["-n", &ns, "addr", "add", "198.18.0.2/32", "dev", "lo"]);
    let dir = std::env::temp_dir().join(format!("lnsd-e2e-{pid}"));
    std::fs::create_dir_all(&dir).expect("tmp");
    let cfg = config(&dir, &format!("lnse2e{}", pid % 10_000));

    let (signals, signals_rx) = mpsc::channel(4);
    let daemon_ns = ns.clone();
    let daemon = std::thread::spawn(move || {
        enter(&daemon_ns);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(lns_node::daemon::run_with(cfg, signals_rx))
    });

    let lac_ns = ns.clone();
    let lac = std::thread::spawn(move || {
        enter(&lac_ns);
        let internet = UdpSocket::bind("0.0.0.0:7000").expect("bind :7000");
        internet
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut lac = Lac {
            sock: UdpSocket::bind(LAC).expect("bind LAC"),
            ep: Endpoint::new(EndpointConfig::new(L2tpSide::Lac, b"test-lac")),
            e: Seeded::new(3),
            call: None,
            events: Vec::new(),
            sub_events: Vec::new(),
            ipv4_down: Vec::new(),
        };
        let (lac_addr, lns_addr) = (LAC.parse().expect("l"), LNS.parse().expect("l"));
        let tunnel = lac
            .ep
            .open_tunnel(now(), lac_addr, lns_addr, PeerSettings::open(), &mut lac.e)
            .expect("open tunnel");
        let up = lac.drive(Duration::from_secs(15), |l| {
            l.events.iter().any(|e| matches!(e, Event::TunnelUp { .. }))
        });
        assert!(up, "tunnel up: {:?}", lac.events);
        let call = CallInfo {
            calling_number: Some(b"0102030405".to_vec()),
            ..CallInfo::default()
        };
        lac.ep
            .open_session(now(), tunnel, call, &mut lac.e)
            .expect("open session");
        let ipcp = lac.drive(Duration::from_secs(15), |l| {
            l.sub_events
                .iter()
                .any(|e| matches!(e, LinkEvent::Ipv4Up { .. }))
        });
        assert!(ipcp, "PPP up: {:?} / {:?}", lac.sub_events, lac.events);
        let (addr, dns) = lac
            .sub_events
            .iter()
            .find_map(|e| match e {
                LinkEvent::Ipv4Up { local, dns, .. } => Some((*local, *dns)),
                _ => None,
            })
            .expect("Ipv4Up");

        // Upstream: subscriber -> TUN -> our socket; downstream: the answer
        // -> TUN -> data plane -> LAC. Retried: the session may reach the
        // data plane's table a moment after IPCP opened.
        let route = lac.call.as_ref().map(|c| c.1).expect("call");
        let mut frame = vec![0xff, 0x03, 0x00, 0x21];
        frame.extend_from_slice(&udp4(addr, TUN_V4, b"ping"));
        let mut buf = [0u8; 64];
        let mut got = None;
        for _ in 0..10 {
            lac.send_frame(&route, &frame);
            internet
                .set_read_timeout(Some(Duration::from_millis(500)))
                .expect("timeout");
            if let Ok((n, from)) = internet.recv_from(&mut buf) {
                got = Some((buf[..n].to_vec(), from));
                break;
            }
        }
        let (payload, from) = got.expect("the subscriber's datagram came out of the TUN");
        assert_eq!(payload, b"ping");
        assert_eq!(from, SocketAddr::from((addr, 5000)));
        internet.send_to(b"pong", from).expect("answer");
        let down = lac.drive(Duration::from_secs(5), |l| {
            l.ipv4_down.iter().any(|p| p.ends_with(b"pong"))
        });
        assert!(
            down,
            "the answer reached the subscriber through the data plane"
        );

        signals
            .blocking_send(ControlSignal::Shutdown)
            .expect("daemon alive");
        let stopped = lac.drive(Duration::from_secs(10), |l| {
            l.events
                .iter()
                .any(|e| matches!(e, Event::TunnelDown { .. }))
        });
        assert!(stopped, "StopCCN received: {:?}", lac.events);
        // Keep answering so our acknowledgement of the StopCCN goes out.
        lac.drive(Duration::from_secs(1), |_| false);
        let cdn = lac.events.iter().find_map(|e| match e {
            Event::SessionDown {
                reason: SessionDownReason::PeerCdn { cause, .. },
                ..
            } => Some(cause.clone()),
            _ => None,
        });
        (addr, dns, cdn)
    });
    let (addr, dns, cdn) = lac.join().expect("LAC thread");
    let exit = daemon.join().expect("daemon thread").expect("daemon ran");
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(addr, Ipv4Addr::new(198, 19, 1, 10));
    assert_eq!(dns[0], Some(Ipv4Addr::new(198, 18, 0, 53)));
    let cdn = cdn
        .expect("CDN before StopCCN")
        .expect("with a PPP disconnect cause");
    assert_eq!(cdn.code, 1, "RFC 3145 administrative");
    assert_eq!(exit, Exit::Clean);
}
