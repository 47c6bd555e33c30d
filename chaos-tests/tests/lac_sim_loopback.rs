//! lac-sim's engine ([`lac::run`]) against a minimal in-process LNS built
//! from `lns-proto`'s LNS side, over real UDP on 127.0.0.1: runs without
//! root, so every CI job checks the test LAC. The fake LNS checks PAP
//! passwords and CHAP responses (RFC 1994 §4.1), hands out 198.19.0.N, and
//! echoes IPv4 probes back into the session (addresses and ports swapped),
//! standing in for the routed reflector of the namespace tests.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lns_chaos_tests::lac::{self, AuthChoice, Hold, LacConfig};
use lns_proto::entropy::Seeded;
use lns_proto::l2tp::data::{parse_data, write_data_header, DataError, DataOptions};
use lns_proto::l2tp::{Endpoint, EndpointConfig, Event, SessionRoute, Side};
use lns_proto::ppp::frame::emit_frame;
use lns_proto::ppp::link::AuthRequest;
use lns_proto::ppp::{Compression, Frame, Link, LinkConfig, LinkEvent, Protocol};
use lns_proto::radius::crypto::{chap_response, Password};
use lns_proto::time::Timestamp;

const PASSWORD: &str = "loop-pw";

fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    Timestamp::from_unix_micros(u64::try_from(d.as_micros()).expect("fits"))
}

/// The fake LNS: one socket, one endpoint, one PPP link per session.
struct FakeLns {
    sock: UdpSocket,
    local: SocketAddr,
    endpoint: Endpoint,
    links: BTreeMap<(u16, u16), (Link, SessionRoute)>,
    entropy: Seeded,
    next_ip: u8,
    stop: Arc<AtomicBool>,
}

impl FakeLns {
    fn run(mut self) {
        let mut buf = vec![0u8; 0x1_0000];
        while !self.stop.load(Ordering::SeqCst) {
            if let Ok((n, from)) = self.sock.recv_from(&mut buf) {
                let t = now();
                match parse_data(&buf[..n]) {
                    Ok(info) => {
                        let key = (info.tunnel_id, info.session_id);
                        let frame = buf[info.payload.clone()].to_vec();
                        self.on_frame(t, key, &frame);
                    }
                    Err(DataError::Control) => self.endpoint.handle_datagram(
                        t,
                        self.local,
                        from,
                        &buf[..n],
                        &mut self.entropy,
                    ),
                    Err(_) => {}
                }
            }
            let t = now();
            self.endpoint.handle_timeout(t, &mut self.entropy);
            for (link, _) in self.links.values_mut() {
                if link.poll_timeout().is_some_and(|d| d <= t) {
                    link.handle_timeout(t, &mut self.entropy);
                }
            }
            self.pump(t);
        }
    }

    fn on_frame(&mut self, t: Timestamp, key: (u16, u16), frame: &[u8]) {
        let Some((link, route)) = self.links.get_mut(&key) else {
            return;
        };
        let route = *route;
        let Ok(f) = Frame::new_checked(frame) else {
            return;
        };
        if f.protocol() == Protocol::Ipv4 {
            // The reflector's job: swap addresses and UDP ports, send back.
            let mut p = f.payload().to_vec();
            if p.len() >= 28 {
                let (src, dst) = (p[12..16].to_vec(), p[16..20].to_vec());
                p[12..16].copy_from_slice(&dst);
                p[16..20].copy_from_slice(&src);
                let (sp, dp) = (p[20..22].to_vec(), p[22..24].to_vec());
                p[20..22].copy_from_slice(&dp);
                p[22..24].copy_from_slice(&sp);
                let mut out = Vec::new();
                emit_frame(Protocol::Ipv4, &p, Compression::default(), &mut out);
                self.send_data(route, &out);
            }
            return;
        }
        link.handle_frame(t, frame, &mut self.entropy);
    }

    fn pump(&mut self, t: Timestamp) {
        while let Some(ev) = self.endpoint.poll_event() {
            if let Event::SessionUp {
                tunnel,
                session,
                route,
                ..
            } = ev
            {
                let mut link = Link::new(
                    lns_proto::ppp::Side::Lns,
                    LinkConfig::lns(Ipv4Addr::new(198, 18, 2, 1)),
                );
                link.open(t, &mut self.entropy);
                self.links.insert((tunnel, session), (link, route));
            }
        }
        let keys: Vec<(u16, u16)> = self.links.keys().copied().collect();
        for key in keys {
            let Some((link, route)) = self.links.get_mut(&key) else {
                continue;
            };
            let route = *route;
            while let Some(ev) = link.poll_event() {
                match ev {
                    LinkEvent::AuthRequest(req) => {
                        let ok = match req {
                            AuthRequest::Pap { password, .. } => password == PASSWORD.as_bytes(),
                            AuthRequest::Chap {
                                identifier,
                                challenge,
                                response,
                                ..
                            } => {
                                response
                                    == chap_response(
                                        identifier,
                                        &Password::new(PASSWORD),
                                        &challenge,
                                    )
                            }
                        };
                        if ok {
                            link.auth_accepted(t, "welcome");
                        } else {
                            link.auth_rejected(t, "no");
                        }
                    }
                    LinkEvent::Ipv4AddressRequest => {
                        self.next_ip += 1;
                        link.ipv4_assigned(
                            t,
                            Ipv4Addr::new(198, 19, 0, self.next_ip),
                            [None, None],
                        );
                    }
                    _ => {}
                }
            }
            let frames: Vec<Vec<u8>> = std::iter::from_fn(|| link.poll_transmit()).collect();
            for f in frames {
                self.send_data(route, &f);
            }
        }
        while let Some(tx) = self.endpoint.poll_transmit() {
            let _ = self.sock.send_to(&tx.payload, tx.peer);
        }
    }

    fn send_data(&self, route: SessionRoute, frame: &[u8]) {
        let mut d = vec![0u8; 6];
        let n = write_data_header(
            &mut d,
            route.peer_tunnel_id,
            route.peer_session_id,
            DataOptions::MINIMAL,
            frame.len(),
        )
        .expect("6-byte buffer holds the minimal header");
        d.truncate(n);
        d.extend_from_slice(frame);
        let _ = self.sock.send_to(&d, route.peer);
    }
}

/// Starts the fake LNS on a thread; returns its address and the stop flag.
fn start_fake_lns() -> (SocketAddr, Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind loopback");
    sock.set_read_timeout(Some(Duration::from_millis(5)))
        .expect("read timeout");
    let local = sock.local_addr().expect("local addr");
    let stop = Arc::new(AtomicBool::new(false));
    let lns = FakeLns {
        sock,
        local,
        endpoint: Endpoint::new(EndpointConfig::new(Side::Lns, b"fake-lns")),
        links: BTreeMap::new(),
        entropy: Seeded::new(0x5eed),
        next_ip: 0,
        stop: stop.clone(),
    };
    let handle = std::thread::spawn(move || lns.run());
    (local, stop, handle)
}

fn run_lac(lns: SocketAddr, auth: AuthChoice, password: &str) -> lac::Report {
    let mut cfg = LacConfig::new(lns, "127.0.0.1".parse().expect("literal"), 3, 4);
    cfg.auth = auth;
    cfg.password = password.to_string();
    cfg.traffic_pps = 50.0;
    cfg.reflector = Some("198.18.1.2:7".parse().expect("literal"));
    cfg.hold = Hold::For(Duration::from_millis(600));
    cfg.setup_timeout = Duration::from_secs(5);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (_tx, rx) = tokio::sync::watch::channel(false);
    rt.block_on(lac::run(cfg, rx)).expect("lac-sim run")
}

#[test]
fn lac_sim_brings_up_pap_and_chap_sessions_and_counts_echoes() {
    let (lns, stop, handle) = start_fake_lns();
    for auth in [AuthChoice::Pap, AuthChoice::Chap] {
        let r = run_lac(lns, auth, PASSWORD);
        let line = r.summary_line();
        println!("{auth:?}: {line}");
        assert_eq!(r.tunnels.len(), 3);
        assert_eq!(r.sessions_up(), 12, "{line}");
        assert_eq!(r.ipv6_up(), 12, "{line}");
        let mut ips: Vec<Ipv4Addr> = r.sessions().filter_map(|s| s.ipv4).collect();
        ips.sort();
        ips.dedup();
        assert_eq!(ips.len(), 12, "every session its own address");
        for s in r.sessions() {
            assert!(s.sent > 0 && s.received == s.sent, "{s:?}");
            assert!(!s.dropped_early);
            assert!(s.user.starts_with("user"));
        }
        assert!(r.setup_percentile(50.0).is_some());
        assert!(r.clean_teardown(), "{line}");
        assert!(line.contains(" losses=0 "), "{line}");
    }
    stop.store(true, Ordering::SeqCst);
    handle.join().expect("fake LNS thread");
}

#[test]
fn wrong_password_leaves_sessions_down() {
    let (lns, stop, handle) = start_fake_lns();
    let r = run_lac(lns, AuthChoice::Pap, "not-the-password");
    let line = r.summary_line();
    assert_eq!(r.sessions_up(), 0, "{line}");
    assert!(line.contains(" tunnels_up=3 "), "{line}");
    assert!(line.contains(" setup_p50_ms=- "), "{line}");
    stop.store(true, Ordering::SeqCst);
    handle.join().expect("fake LNS thread");
}
