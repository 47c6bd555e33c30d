//! Shared by the netns tests: namespace helpers, the single-node
//! configuration of the lo beds, and a test LAC (one tunnel, one current
//! call with a pppd-like subscriber) driven in real time over a real UDP
//! socket.
#![allow(dead_code)]

use lns_node::config::Config;
use lns_node::control::{ControlSignal, Exit};
use lns_proto::entropy::Seeded;
use lns_proto::ip::{IpProtocol, Ipv4Repr};
use lns_proto::l2tp::data::{parse_data, write_data_header, DataOptions};
use lns_proto::l2tp::header::{HeaderView, Kind};
use lns_proto::l2tp::{CallInfo, Endpoint, EndpointConfig, Event, SessionRoute, Side as L2tpSide};
use lns_proto::ppp::{AuthMethod, Link, LinkConfig, LinkEvent, Side};
use lns_proto::time::Timestamp;
use nix::sched::{setns, CloneFlags};
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

pub const LNS: &str = "198.18.0.1:1701";
pub const LAC: &str = "198.18.0.2:1701";
pub const TUN_V4: Ipv4Addr = Ipv4Addr::new(198, 19, 255, 254);

pub struct Namespace(pub String);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip runs");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether this namespace test can run here (root and iproute2). Off CI it
/// is skipped with a line saying why; under CI (`CI` set, as `.ci/run`
/// does, as root) a test that cannot run is a failure, never a silent pass.
pub fn can_run() -> bool {
    let missing = if !nix::unistd::geteuid().is_root() {
        "root (network namespaces, TUN)"
    } else if Command::new("ip").arg("-V").output().is_err() {
        "iproute2 (`ip`)"
    } else {
        return true;
    };
    let test = std::env::args().next().unwrap_or_default();
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: needs {missing}, and CI must run every namespace test"
    );
    eprintln!("skipping {test}: needs {missing}");
    false
}

pub fn enter(ns: &str) {
    let file = File::open(format!("/run/netns/{ns}")).expect("namespace file");
    setns(file, CloneFlags::CLONE_NEWNET).expect("setns");
}

/// A namespace `TAG-PID` with `lo` up holding [`LNS`] and [`LAC`]'s
/// addresses, its scratch directory (same name, under the temp dir) and a
/// TUN name unique to this test process (`SHORTPID`).
pub fn lo_bed(tag: &str, short: &str) -> (Namespace, PathBuf, String) {
    let pid = std::process::id();
    let ns = Namespace(format!("{tag}-{pid}"));
    ip(&["netns", "add", &ns.0]);
    ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
    ip(&["-n", &ns.0, "addr", "add", "198.18.0.1/32", "dev", "lo"]);
    ip(&["-n", &ns.0, "addr", "add", "198.18.0.2/32", "dev", "lo"]);
    let dir = std::env::temp_dir().join(&ns.0);
    std::fs::create_dir_all(&dir).expect("tmp");
    let tun = format!("{short}{}", pid % 10_000);
    (ns, dir, tun)
}

/// The single-node configuration of the lo beds (TOML): `host_name`,
/// listening on [`LNS`], IPCP local address [`TUN_V4`] and the `ppp` lines,
/// the pool 198.19.1.10-198.19.1.20, the users file `users`, the TUN
/// `tun`, then `sections` (whole sections: `[mgmt]`, `[http]`, ...).
pub fn lo_config_text(host_name: &str, tun: &str, ppp: &str, sections: &str) -> String {
    format!(
        r#"
[node]
host_name = "{host_name}"
[[listen]]
address = "{LNS}"
[limits]
accept_unknown_lacs = true
[ppp]
ipcp_local = "{TUN_V4}"
{ppp}
[[pools]]
name = "p"
ranges = [{{ start = "198.19.1.10", end = "198.19.1.20" }}]
[aaa]
users_file = "users"
[tun]
name = "{tun}"
{sections}
"#
    )
}

/// A `[mgmt]` section with the socket `mgmt.sock` in `dir` (each test its
/// own, never the host's /run/lnsd).
pub fn mgmt_section(dir: &Path) -> String {
    format!("[mgmt]\nsocket = \"{}\"\n", dir.join("mgmt.sock").display())
}

/// `text` parsed, its files resolved against `dir` and validated, after
/// writing the users file there (alice, password wonderland).
pub fn lo_config(dir: &Path, text: &str) -> Config {
    std::fs::write(dir.join("users"), "alice wonderland\n").expect("users file");
    let mut c = Config::from_toml(text).expect("parses");
    c.resolve_files(dir).expect("files");
    c.validate().expect("valid");
    c
}

/// The whole daemon (`daemon::run_with`) on a runtime of its own in
/// `ns`: its signal sender and its thread.
pub fn spawn_daemon(ns: &str, cfg: Config) -> (mpsc::Sender<ControlSignal>, Daemon) {
    let (signals, signals_rx) = mpsc::channel(4);
    let ns = ns.to_owned();
    let daemon = std::thread::spawn(move || {
        enter(&ns);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(lns_node::daemon::run_with(cfg, signals_rx))
    });
    (signals, daemon)
}

/// The daemon thread of [`spawn_daemon`].
pub type Daemon = std::thread::JoinHandle<anyhow::Result<Exit>>;

pub fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    Timestamp::from_unix_micros(u64::try_from(d.as_micros()).expect("fits"))
}

/// The test LAC and its one subscriber.
pub struct Lac {
    pub sock: UdpSocket,
    pub ep: Endpoint,
    pub e: Seeded,
    pub call: Option<(u16, SessionRoute, Link)>,
    pub events: Vec<Event>,
    pub sub_events: Vec<LinkEvent>,
    pub ipv4_down: Vec<Vec<u8>>,
    /// Credentials of the next subscriber.
    pub user: (Vec<u8>, Vec<u8>),
    /// Authentication methods the next subscriber accepts.
    pub methods: Vec<AuthMethod>,
}

impl Lac {
    pub fn new() -> Lac {
        Lac {
            sock: UdpSocket::bind(LAC).expect("bind LAC"),
            ep: Endpoint::new(EndpointConfig::new(L2tpSide::Lac, b"test-lac")),
            e: Seeded::new(3),
            call: None,
            events: Vec::new(),
            sub_events: Vec::new(),
            ipv4_down: Vec::new(),
            user: (b"alice".to_vec(), b"wonderland".to_vec()),
            methods: vec![AuthMethod::Pap],
        }
    }

    /// Opens the tunnel from [`LAC`] to [`LNS`] and waits (15 s) until it
    /// is up; panics with the events otherwise.
    pub fn tunnel_up(&mut self) -> u16 {
        let (lac_addr, lns_addr) = (LAC.parse().expect("l"), LNS.parse().expect("l"));
        let tunnel = self
            .ep
            .open_tunnel(
                now(),
                lac_addr,
                lns_addr,
                lns_proto::l2tp::PeerSettings::open(),
                &mut self.e,
            )
            .expect("open tunnel");
        let up = self.drive(Duration::from_secs(15), |l| {
            l.events.iter().any(|e| matches!(e, Event::TunnelUp { .. }))
        });
        assert!(up, "tunnel up: {:?}", self.events);
        tunnel
    }

    /// Opens a call with `call` on `tunnel` for the next subscriber and
    /// waits (`limit`) until its IPCP is up; whether it came up.
    pub fn call_up(&mut self, tunnel: u16, call: CallInfo, limit: Duration) -> bool {
        let before = self.ipv4_ups();
        self.ep
            .open_session(now(), tunnel, call, &mut self.e)
            .expect("open session");
        self.drive(limit, |l| l.ipv4_ups() > before)
    }

    /// How many times a subscriber's IPCP came up.
    pub fn ipv4_ups(&self) -> usize {
        self.sub_events
            .iter()
            .filter(|e| matches!(e, LinkEvent::Ipv4Up { .. }))
            .count()
    }

    /// Drives until the tunnel is down (`limit`), then one more second so
    /// that our acknowledgement of the StopCCN goes out; whether it went
    /// down.
    pub fn wait_tunnel_down(&mut self, limit: Duration) -> bool {
        let down = self.drive(limit, |l| {
            l.events
                .iter()
                .any(|e| matches!(e, Event::TunnelDown { .. }))
        });
        self.drive(Duration::from_secs(1), |_| false);
        down
    }

    pub fn send_frame(&self, route: &SessionRoute, frame: &[u8]) {
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
    pub fn drive(&mut self, limit: Duration, done: impl Fn(&Lac) -> bool) -> bool {
        let end = Instant::now() + limit;
        let mut buf = [0u8; 4096];
        loop {
            while let Some(t) = self.ep.poll_transmit() {
                self.sock.send_to(&t.payload, t.peer).expect("send control");
            }
            while let Some(ev) = self.ep.poll_event() {
                if let Event::SessionUp { session, route, .. } = &ev {
                    let mut cfg = LinkConfig::subscriber(&self.user.0, &self.user.1);
                    cfg.auth_order = self.methods.clone();
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

pub fn udp4(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
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
