//! End to end through a real TUN device and real sockets, as root, in two
//! throw-away network namespaces (skipped with a message otherwise):
//!
//! ```text
//!  ns "lns" (the DataPlane)                          ns "core"
//!  lo: 198.18.0.1 (LNS, UDP 1701)                     core1: 198.18.1.2/24
//!      198.18.0.2 (test LAC socket)                          2001:db8:1::2/64
//!  dptest0 (TUN): 198.19.0.1, 2001:db8:ffff::1        UDP sockets :7000
//!    routes 198.19.1.0/24, 2001:db8:100::/40  <-veth->
//!  core0: 198.18.1.1/24, 2001:db8:1::1/64, forwarding on
//! ```
//!
//! The test LAC speaks L2TP data to the data plane; subscriber packets come
//! out of the TUN, are forwarded to "core", whose answers come back through
//! the TUN and the data plane to the LAC. Only 198.18.0.0/15 and
//! 2001:db8::/32 are used. A guard deletes both namespaces even on failure.

mod netns_support;

use netns_support::{can_run, ip, udp4};
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use lns_node::dataplane::{
    ControlInput, DataPlane, DataPlaneConfig, DropReason, Ipv6LinkPacket, SessionEntry,
};
use lns_proto::ip::checksum::Accumulator;
use lns_proto::ip::{IpProtocol, Ipv6Repr};
use lns_proto::ppp::frame::Compression;
use nix::sched::{setns, CloneFlags};
use tokio::sync::mpsc;

const TIMEOUT: Duration = Duration::from_secs(5);
const LNS: &str = "198.18.0.1:1701";
const LAC: &str = "198.18.0.2:1701";
/// A second LNS address (a second listen socket).
const LNS2: &str = "198.18.0.3:1701";
const LNS2_IP: &str = "198.18.0.3/32";
const SUB_V4: Ipv4Addr = Ipv4Addr::new(198, 19, 1, 10);
const CORE_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
const SUB_V6: &str = "2001:db8:100:1::10";
const CORE_V6: &str = "2001:db8:1::2";
/// The L2TP + PPP header the data plane puts on downstream IP (RFC 2661
/// §3.1 minimal data header with the LAC's ids, RFC 1661 FF 03 + protocol).
const DOWN_V4: [u8; 10] = [0x00, 0x02, 0x01, 0x01, 0x02, 0x02, 0xff, 0x03, 0x00, 0x21];
const DOWN_V6: [u8; 10] = [0x00, 0x02, 0x01, 0x01, 0x02, 0x02, 0xff, 0x03, 0x00, 0x57];

/// Deletes the namespaces it created when dropped.
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Sets `key` (a path under /proc/sys/net) to 1 inside `ns`.
fn sysctl(ns: &str, key: &str) {
    let set = format!("echo 1 > /proc/sys/net/{key}");
    ip(&["netns", "exec", ns, "sh", "-c", &set]);
}

/// Runs `f` on a thread that entered namespace `ns` (sockets and devices it
/// creates live there; threads it spawns inherit the namespace).
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).expect("namespace file");
        setns(file, CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
    .join()
    .expect("namespace thread")
}

fn setup(lns: &str, core: &str) -> Namespaces {
    ip(&["netns", "add", lns]);
    let mut guard = Namespaces(vec![lns.to_owned()]);
    ip(&["netns", "add", core]);
    guard.0.push(core.to_owned());
    ip(&["-n", lns, "link", "set", "lo", "up"]);
    ip(&["-n", core, "link", "set", "lo", "up"]);
    ip(&[
        "-n", lns, "link", "add", "core0", "type", "veth", "peer", "name", "core1", "netns", core,
    ]);
    ip(&["-n", lns, "addr", "add", "198.18.0.1/32", "dev", "lo"]);
    ip(&["-n", lns, "addr", "add", "198.18.0.2/32", "dev", "lo"]);
    ip(&["-n", lns, "addr", "add", LNS2_IP, "dev", "lo"]);
    ip(&["-n", lns, "addr", "add", "198.18.1.1/24", "dev", "core0"]);
    ip(&[
        "-n",
        lns,
        "-6",
        "addr",
        "add",
        "2001:db8:1::1/64",
        "dev",
        "core0",
        "nodad",
    ]);
    ip(&["-n", lns, "link", "set", "core0", "up"]);
    ip(&["-n", core, "addr", "add", "198.18.1.2/24", "dev", "core1"]);
    ip(&[
        "-n",
        core,
        "-6",
        "addr",
        "add",
        "2001:db8:1::2/64",
        "dev",
        "core1",
        "nodad",
    ]);
    ip(&["-n", core, "link", "set", "core1", "up"]);
    ip(&["-n", core, "route", "add", "default", "via", "198.18.1.1"]);
    ip(&[
        "-n",
        core,
        "-6",
        "route",
        "add",
        "default",
        "via",
        "2001:db8:1::1",
    ]);
    sysctl(lns, "ipv4/ip_forward");
    sysctl(lns, "ipv6/conf/all/forwarding");

    guard
}

fn config() -> DataPlaneConfig {
    DataPlaneConfig {
        listen: vec![
            LNS.parse().expect("literal"),
            LNS2.parse().expect("literal"),
        ],
        tun_name: "dptest0".into(),
        tun_mtu: 1500,
        tun_ipv4: Ipv4Addr::new(198, 19, 0, 1),
        tun_ipv6: Some("2001:db8:ffff::1".parse().expect("literal")),
        routes: vec![
            (IpAddr::V4(Ipv4Addr::new(198, 19, 1, 0)), 24),
            (IpAddr::V6("2001:db8:100::".parse().expect("literal")), 40),
        ],
        workers: 1,
        control_queue: 16,
        bind: lns_node::dataplane::BindMode::Local,
        socket_buffer: lns_node::dataplane::DEFAULT_SOCKET_BUFFER,
    }
}

fn session() -> SessionEntry {
    SessionEntry {
        tunnel_id: 0x0011,
        session_id: 0x0022,
        peer_tunnel_id: 0x0101,
        peer_session_id: 0x0202,
        peer: LAC.parse().expect("literal"),
        local: LNS.parse().expect("literal"),
        ipv4: Some(SUB_V4),
        ipv6_prefixes: vec![
            ("2001:db8:100:1::".parse().expect("literal"), 64),
            ("2001:db8:180::".parse().expect("literal"), 48),
        ],
        mru: 1400,
        compression: Compression::default(),
    }
}

/// L2TP data (tunnel 0x11, session 0x22) carrying a PPP frame.
fn l2tp(protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![0x00, 0x02, 0x00, 0x11, 0x00, 0x22, 0xff, 0x03];
    d.extend_from_slice(&protocol.to_be_bytes());
    d.extend_from_slice(payload);
    d
}

fn udp6(src: &str, dst: &str, payload: &[u8]) -> Vec<u8> {
    let (src, dst): (Ipv6Addr, Ipv6Addr) = (src.parse().expect("l"), dst.parse().expect("l"));
    let mut p = vec![0u8; 48 + payload.len()];
    let len = (8 + payload.len()) as u16;
    Ipv6Repr {
        src,
        dst,
        next_header: IpProtocol::Udp,
        payload_len: usize::from(len),
        hop_limit: 64,
    }
    .emit(&mut p)
    .expect("fits");
    p[40..48].copy_from_slice(&[0x13, 0x88, 0x1b, 0x58, (len >> 8) as u8, len as u8, 0, 0]);
    p[48..].copy_from_slice(payload);
    // RFC 8200 §8.1: the UDP checksum is mandatory over IPv6.
    let sum = Accumulator::new()
        .add_ipv6_pseudo_header(src, dst, 0x11, u32::from(len))
        .add_bytes(&p[40..])
        .checksum();
    p[46..48].copy_from_slice(&sum.to_be_bytes());
    p
}

/// The next datagram the LAC receives.
fn lac_recv(lac: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 2048];
    let (n, from) = lac
        .recv_from(&mut buf)
        .expect("LAC receives within the timeout");
    (buf[..n].to_vec(), from)
}

fn control_recv(
    rt: &tokio::runtime::Runtime,
    rx: &mut mpsc::Receiver<ControlInput>,
) -> ControlInput {
    rt.block_on(async { tokio::time::timeout(TIMEOUT, rx.recv()).await })
        .expect("control input within the timeout")
        .expect("channel open")
}

fn drops(plane: &DataPlane, reason: DropReason) -> u64 {
    plane
        .drops()
        .into_iter()
        .find(|(r, _)| *r == reason)
        .map_or(0, |(_, n)| n)
}

/// The namespaces, a started data plane with the test session, the LAC
/// socket and the core sockets (v4, v6).
struct Rig {
    plane: DataPlane,
    lac: UdpSocket,
    core4: UdpSocket,
    core6: UdpSocket,
    // Last: dropped after the data plane and the sockets.
    _guard: Namespaces,
}

fn rig(tag: &str, workers: usize, to_control: mpsc::Sender<ControlInput>) -> Rig {
    let pid = std::process::id();
    let (lns, core) = (format!("dp-lns{tag}-{pid}"), format!("dp-core{tag}-{pid}"));
    let guard = setup(&lns, &core);
    let (plane, lac) = in_netns(&lns, move || {
        let mut config = config();
        config.workers = workers;
        let plane = DataPlane::start(config, to_control).expect("data plane starts");
        let lac = UdpSocket::bind(LAC).expect("LAC socket");
        lac.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        (plane, lac)
    });
    let (core4, core6) = in_netns(&core, || {
        let s4 = UdpSocket::bind("198.18.1.2:7000").expect("core v4");
        let s6 = UdpSocket::bind("[2001:db8:1::2]:7000").expect("core v6");
        s4.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        s6.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        (s4, s6)
    });
    plane.upsert_session(session());
    Rig {
        plane,
        lac,
        core4,
        core6,
        _guard: guard,
    }
}

#[test]
fn multi_queue_workers_carry_traffic_both_ways() {
    if !can_run() {
        return;
    }
    let (tx, _rx) = mpsc::channel(16);
    let rig = rig("mq", 2, tx);
    let mut buf = [0u8; 2048];
    // Several flows (source ports), so the kernel spreads them over queues.
    for port in 5000..5008u16 {
        let mut p = udp4(SUB_V4, CORE_V4, b"mq-up");
        p[20..22].copy_from_slice(&port.to_be_bytes());
        rig.lac.send_to(&l2tp(0x0021, &p), LNS).expect("send");
        let (n, from) = rig.core4.recv_from(&mut buf).expect("core receives");
        assert_eq!((&buf[..n], from.port()), (&b"mq-up"[..], port));
        rig.core4.send_to(b"mq-down", from).expect("send");
        let (d, _) = lac_recv(&rig.lac);
        assert_eq!(&d[..10], &DOWN_V4);
        assert!(d.ends_with(b"mq-down"));
    }
    rig.lac
        .send_to(&l2tp(0x0057, &udp6(SUB_V6, CORE_V6, b"mq6")), LNS)
        .expect("send");
    let (n, from) = rig.core6.recv_from(&mut buf).expect("core receives v6");
    assert_eq!(&buf[..n], b"mq6");
    rig.core6.send_to(b"mq6-down", from).expect("send");
    assert!(lac_recv(&rig.lac).0.ends_with(b"mq6-down"));
    let stats = rig.plane.session_stats(0x11, 0x22).expect("published");
    assert_eq!(stats.tx_packets, 9);

    // A session set up through the second address: its traffic leaves from
    // that address (the LAC's tunnel is bound to it).
    let mut second = session();
    second.session_id = 0x0023;
    second.local = LNS2.parse().expect("literal");
    second.ipv4 = Some(Ipv4Addr::new(198, 19, 1, 20));
    rig.plane.upsert_session(second);
    let mut d = l2tp(
        0x0021,
        &udp4(Ipv4Addr::new(198, 19, 1, 20), CORE_V4, b"two"),
    );
    d[5] = 0x23;
    rig.lac.send_to(&d, LNS2).expect("send");
    let (n, from) = rig.core4.recv_from(&mut buf).expect("core receives");
    assert_eq!(&buf[..n], b"two");
    rig.core4.send_to(b"two-down", from).expect("send");
    let (d, from) = lac_recv(&rig.lac);
    assert_eq!(from, LNS2.parse::<SocketAddr>().expect("literal"));
    assert!(d.ends_with(b"two-down"));
}

#[test]
fn traffic_through_the_tun_both_ways() {
    if !can_run() {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let (tx, mut rx) = mpsc::channel(16);
    let Rig {
        plane,
        lac,
        core4,
        core6,
        _guard,
    } = rig("", 1, tx);
    let lns_addr: SocketAddr = LNS.parse().expect("literal");

    // L2TP control (a ZLB) reaches the control task with both addresses.
    let zlb = [
        0xc8, 0x02, 0x00, 0x0c, 0x00, 0x11, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02,
    ];
    lac.send_to(&zlb, LNS).expect("send");
    assert_eq!(
        control_recv(&rt, &mut rx),
        ControlInput::L2tpControl {
            local: lns_addr,
            peer: LAC.parse().expect("literal"),
            datagram: zlb.to_vec()
        }
    );
    // A PPP LCP Echo-Request reaches the control task as a PPP frame.
    let echo = [0x09, 0x01, 0x00, 0x08, 0x12, 0x34, 0x56, 0x78];
    lac.send_to(&l2tp(0xc021, &echo), LNS).expect("send");
    let mut lcp = vec![0xff, 0x03, 0xc0, 0x21];
    lcp.extend_from_slice(&echo);
    assert_eq!(
        control_recv(&rt, &mut rx),
        ControlInput::PppControl {
            tunnel_id: 0x11,
            session_id: 0x22,
            frame: lcp.clone()
        }
    );
    // The control task's own traffic leaves from the LNS address.
    plane.send_control(lns_addr, LAC.parse().expect("literal"), &zlb);
    assert_eq!(lac_recv(&lac), (zlb.to_vec(), lns_addr));
    plane.send_ppp(0x11, 0x22, &lcp);
    let mut framed = vec![0x00, 0x02, 0x01, 0x01, 0x02, 0x02];
    framed.extend_from_slice(&lcp);
    assert_eq!(lac_recv(&lac), (framed, lns_addr));

    // A spoofed packet first, then a good one: the worker is sequential, so
    // once the good one is out, the spoofed one has been counted.
    let spoofed = udp4(Ipv4Addr::new(198, 19, 1, 99), CORE_V4, b"spoof");
    lac.send_to(&l2tp(0x0021, &spoofed), LNS).expect("send");
    lac.send_to(&l2tp(0x0021, &udp4(SUB_V4, CORE_V4, b"ping4")), LNS)
        .expect("send");
    let mut buf = [0u8; 2048];
    let (n, from) = core4
        .recv_from(&mut buf)
        .expect("core receives the subscriber's IPv4");
    assert_eq!(
        (&buf[..n], from),
        (&b"ping4"[..], "198.19.1.10:5000".parse().expect("l"))
    );
    assert_eq!(drops(&plane, DropReason::Spoofed), 1);
    // The answer comes back through the TUN, framed for the LAC.
    core4.send_to(b"pong4", "198.19.1.10:5000").expect("send");
    let (d, from) = lac_recv(&lac);
    assert_eq!(from, lns_addr);
    assert_eq!(&d[..10], &DOWN_V4);
    assert_eq!(&d[10 + 12..10 + 20], &[198, 18, 1, 2, 198, 19, 1, 10]);
    assert!(d.ends_with(b"pong4"));

    // IPv6 both ways.
    lac.send_to(&l2tp(0x0057, &udp6(SUB_V6, CORE_V6, b"ping6")), LNS)
        .expect("send");
    let (n, from) = core6
        .recv_from(&mut buf)
        .expect("core receives the subscriber's IPv6");
    assert_eq!(
        (&buf[..n], from),
        (
            &b"ping6"[..],
            "[2001:db8:100:1::10]:5000".parse().expect("l")
        )
    );
    core6
        .send_to(b"pong6", "[2001:db8:100:1::10]:5000")
        .expect("send");
    let (d, _) = lac_recv(&lac);
    assert_eq!(&d[..10], &DOWN_V6);
    assert!(d.ends_with(b"pong6"));

    // Opt-in: IPv6 to link-scope destinations (here a DHCPv6 Solicit-like
    // datagram to ff02::1:2) goes to the registered sink, not the TUN.
    let (link_tx, mut link_rx) = mpsc::channel(4);
    plane.divert_ipv6_link(Some(link_tx));
    let solicit = udp6("fe80::1234", "ff02::1:2", b"dhcpv6");
    lac.send_to(&l2tp(0x0057, &solicit), LNS).expect("send");
    let got = rt
        .block_on(async { tokio::time::timeout(TIMEOUT, link_rx.recv()).await })
        .expect("link packet within the timeout")
        .expect("sink open");
    assert_eq!(
        got,
        Ipv6LinkPacket {
            tunnel_id: 0x11,
            session_id: 0x22,
            packet: solicit
        }
    );
    plane.divert_ipv6_link(None);

    // The control channel is bounded: with nobody draining it, inputs past
    // its capacity (16) are dropped and counted; the data path goes on.
    for _ in 0..20 {
        lac.send_to(&l2tp(0xc021, &echo), LNS).expect("send");
    }
    lac.send_to(&l2tp(0x0021, &udp4(SUB_V4, CORE_V4, b"after")), LNS)
        .expect("send");
    let (n, _) = core4.recv_from(&mut buf).expect("data still flows");
    assert_eq!(&buf[..n], b"after");
    assert_eq!(drops(&plane, DropReason::ControlQueueFull), 4);

    // Downstream larger than the MRU (1400) with DF (Linux sets DF on UDP by
    // default): dropped, counted, and an ICMP error reaches the sender,
    // whose connected socket then reports EMSGSIZE.
    core4.connect("198.19.1.10:5000").expect("connect");
    core4.send(&[0x5a; 1450]).expect("send");
    let err = core4
        .recv(&mut buf)
        .expect_err("ICMP fragmentation needed arrives");
    assert_eq!(err.raw_os_error(), Some(nix::errno::Errno::EMSGSIZE as i32));
    core6.connect("[2001:db8:100:1::10]:5000").expect("connect");
    core6.send(&[0x5a; 1450]).expect("send");
    let err = core6
        .recv(&mut buf)
        .expect_err("ICMPv6 packet too big arrives");
    assert_eq!(err.raw_os_error(), Some(nix::errno::Errno::EMSGSIZE as i32));
    assert_eq!(drops(&plane, DropReason::TooBig), 2);
    // One more packet through the downstream worker: once it reaches the
    // LAC, the worker has finished counting the ICMP errors before it.
    core4.send(b"sync").expect("send");
    let (d, _) = lac_recv(&lac);
    assert!(d.ends_with(b"sync"));

    // A last upstream packet: once core has it, the upstream worker has
    // counted everything before it (the last packet itself may still be
    // in flight in the counters, hence the ranges below).
    lac.send_to(&l2tp(0x0021, &udp4(SUB_V4, CORE_V4, b"last")), LNS)
        .expect("send");
    let n = core4.recv(&mut buf).expect("last packet");
    assert_eq!(&buf[..n], b"last");

    let stats = plane.session_stats(0x11, 0x22).expect("session published");
    // Upstream: ping4, ping6, after (+ last). Downstream (counted before
    // the send): pong4, pong6, sync.
    assert!((3..=4).contains(&stats.rx_packets), "{stats:?}");
    assert_eq!(stats.tx_packets, 3);
    assert!(stats.last_rx_unix_micros > 0);
    let totals = plane.totals();
    // 28 datagrams from the LAC (a worker adds its batch's count after
    // forwarding it, so the last, "last", may be uncounted); four
    // subscriber packets (the last may be uncounted) and two ICMP errors
    // into the TUN; two control sends and three data messages out (the
    // last, "sync", may be uncounted).
    assert!((27..=28).contains(&totals.l2tp_rx_packets), "{totals:?}");
    assert!((5..=6).contains(&totals.tun_tx_packets), "{totals:?}");
    assert!((4..=5).contains(&totals.l2tp_tx_packets), "{totals:?}");

    // Removed session: its data is dropped as unknown.
    plane.remove_session(0x11, 0x22);
    assert!(plane.session_stats(0x11, 0x22).is_none());

    let started = Instant::now();
    plane.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown is bounded"
    );
}

/// `add_routes` (pools added on SIGHUP) puts the new prefix into the TUN
/// device of the running data plane; adding it twice is harmless. The
/// stats reader sees the same counters as the handle and stops reading
/// once the data plane is shut down.
#[test]
fn routes_added_at_runtime_point_into_the_tun() {
    if !can_run() {
        return;
    }
    let (tx, _rx) = mpsc::channel(16);
    let rig = rig("rt", 1, tx);
    let Rig {
        plane,
        lac: _lac,
        _guard: guard,
        ..
    } = rig;
    let lns = guard.0[0].clone();
    let new = (IpAddr::V4(Ipv4Addr::new(198, 19, 7, 0)), 28u8);
    // `ip` runs in the caller's namespace: call from inside it, as lnsd's
    // control task does.
    let plane = in_netns(&lns, move || {
        plane.add_routes(&[new]).expect("route added");
        plane.add_routes(&[new]).expect("replace is idempotent");
        plane
    });
    let shown = Command::new("ip")
        .args(["-n", &lns, "-4", "route", "show", "198.19.7.0/28"])
        .output()
        .expect("ip runs");
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown.contains("dev dptest0"), "route: {shown:?}");
    let reader = plane.stats_reader();
    let (totals, drops) = reader.read().expect("data plane running");
    assert_eq!(totals, plane.totals());
    assert_eq!(drops, plane.drops());
    plane.shutdown();
    assert_eq!(reader.read(), None, "nothing kept alive after shutdown");
}

/// Waits (bounded by TIMEOUT) until `reason` was counted `n` times.
fn wait_drops(plane: &DataPlane, reason: DropReason, n: u64) -> u64 {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let seen = drops(plane, reason);
        if seen >= n || Instant::now() >= deadline {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Issue 6, freeze-active: a cluster member's data plane emits only while
/// its lease fence is open. The same traffic first passes, then, with a
/// closed fence installed (a member that lost its lease, or a frozen
/// active node resumed after it), nothing leaves in either direction and
/// the control task's own sends are held back too, each counted as
/// `not_active`.
#[test]
fn a_closed_lease_fence_stops_every_emission() {
    if !can_run() {
        return;
    }
    let (tx, _rx) = mpsc::channel(16);
    let rig = rig("fence", 1, tx);
    let mut buf = [0u8; 2048];
    rig.lac
        .send_to(&l2tp(0x0021, &udp4(SUB_V4, CORE_V4, b"open")), LNS)
        .expect("send");
    let (n, from) = rig.core4.recv_from(&mut buf).expect("core receives");
    assert_eq!(&buf[..n], b"open");
    rig.core4.send_to(b"open-down", from).expect("send");
    assert!(lac_recv(&rig.lac).0.ends_with(b"open-down"));
    assert_eq!(drops(&rig.plane, DropReason::NotActive), 0);

    rig.plane
        .fence(std::sync::Arc::new(lns_cluster::LeaseFence::closed(
            Instant::now(),
        )));
    rig.lac
        .send_to(&l2tp(0x0021, &udp4(SUB_V4, CORE_V4, b"fenced")), LNS)
        .expect("send");
    // The kernel may write packets of its own to the TUN (they are held
    // too), so the counts are lower bounds and the absence is checked below.
    let held = wait_drops(&rig.plane, DropReason::NotActive, 1);
    assert!(held >= 1, "upstream held");
    rig.core4.send_to(b"fenced-down", from).expect("send");
    let held = wait_drops(&rig.plane, DropReason::NotActive, held + 1);
    assert!(held >= 2, "downstream held");
    send_controls(&rig.plane);
    assert!(
        drops(&rig.plane, DropReason::NotActive) >= held + 2,
        "control sends held"
    );
    // Nothing arrived on either side.
    rig.core4.set_nonblocking(true).expect("nonblocking");
    rig.lac.set_nonblocking(true).expect("nonblocking");
    assert!(
        rig.core4.recv_from(&mut buf).is_err(),
        "the core got a fenced packet"
    );
    assert!(
        rig.lac.recv_from(&mut buf).is_err(),
        "the LAC got a fenced datagram"
    );
}

/// One control send of each kind: an L2TP ZLB to the LAC and a PPP LCP
/// Echo-Request on session 0x11/0x22.
fn send_controls(plane: &DataPlane) {
    let lns_addr: SocketAddr = LNS.parse().expect("literal");
    let zlb = [
        0xc8, 0x02, 0x00, 0x0c, 0x00, 0x11, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02,
    ];
    plane.send_control(lns_addr, LAC.parse().expect("literal"), &zlb);
    plane.send_ppp(
        0x11,
        0x22,
        &[0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x04],
    );
}

/// Issue 6, planned switchover: a member that handed its lease over
/// drains. Its fence is no longer active but lets data through until the
/// released lease ends, so packets that stale ARP caches still send it are
/// relayed in both directions; control sends (L2TP control, PPP control
/// frames) are held, counted as `not_active`.
#[test]
fn a_draining_lease_fence_relays_data_but_holds_control_sends() {
    if !can_run() {
        return;
    }
    let (tx, _rx) = mpsc::channel(16);
    let rig = rig("drain", 1, tx);
    let mut buf = [0u8; 2048];
    rig.plane
        .fence(std::sync::Arc::new(lns_cluster::LeaseFence::draining(
            Instant::now(),
            Duration::from_secs(600),
        )));
    rig.lac
        .send_to(&l2tp(0x0021, &udp4(SUB_V4, CORE_V4, b"drain-up")), LNS)
        .expect("send");
    let (n, from) = rig.core4.recv_from(&mut buf).expect("core receives");
    assert_eq!(&buf[..n], b"drain-up");
    rig.core4.send_to(b"drain-down", from).expect("send");
    assert!(lac_recv(&rig.lac).0.ends_with(b"drain-down"));
    let before = drops(&rig.plane, DropReason::NotActive);
    send_controls(&rig.plane);
    assert_eq!(
        drops(&rig.plane, DropReason::NotActive),
        before + 2,
        "control sends held"
    );
    rig.lac.set_nonblocking(true).expect("nonblocking");
    assert!(
        rig.lac.recv_from(&mut buf).is_err(),
        "the LAC got a control datagram from a draining member"
    );
}

/// The routes of the TUN device in namespace `ns` (`ip -4/-6 route show dev dptest0`).
fn tun_routes(ns: &str, family: &str) -> String {
    let out = Command::new("ip")
        .args([
            "netns", "exec", ns, "ip", family, "route", "show", "dev", "dptest0",
        ])
        .output()
        .expect("ip route show");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Issue 8 item 3 (and RADIUS Framed-IP-Address outside the pools): a
/// session whose address or prefixes lie outside every pool route gets its
/// own routes into the TUN while it exists, and loses them when it ends;
/// pool prefixes add nothing.
#[test]
fn prefixes_outside_the_pools_are_routed_while_their_session_lives() {
    if !can_run() {
        return;
    }
    let (tx, _rx) = mpsc::channel(16);
    let Rig {
        plane,
        lac: _lac,
        _guard: guard,
        ..
    } = rig("routes", 1, tx);
    let ns = guard.0[0].clone();
    // The test session's /64 and 2001:db8:180::/48 lie inside the
    // 2001:db8:100::/40 pool: nothing extra.
    assert!(!tun_routes(&ns, "-6").contains("2001:db8:180::/48"));
    let mut radius = session();
    radius.session_id = 0x0030;
    radius.ipv4 = Some(Ipv4Addr::new(198, 18, 200, 7));
    radius.ipv6_prefixes = vec![
        ("2001:db8:4242:1::".parse().expect("literal"), 64),
        ("2001:db8:4300::".parse().expect("literal"), 56),
    ];
    // `ip` runs in the caller's namespace: publish from inside it, as
    // lnsd's control task does.
    let plane = in_netns(&ns, move || {
        plane.upsert_session(radius);
        plane
    });
    let v6 = tun_routes(&ns, "-6");
    assert!(v6.contains("2001:db8:4242:1::/64"), "{v6}");
    assert!(v6.contains("2001:db8:4300::/56"), "{v6}");
    let v4 = tun_routes(&ns, "-4");
    assert!(v4.contains("198.18.200.7"), "{v4}");
    let plane = in_netns(&ns, move || {
        plane.remove_session(0x0011, 0x0030);
        plane
    });
    let v6 = tun_routes(&ns, "-6");
    assert!(!v6.contains("2001:db8:4242:1::/64"), "{v6}");
    assert!(!v6.contains("2001:db8:4300::/56"), "{v6}");
    assert!(!tun_routes(&ns, "-4").contains("198.18.200.7"));
    // The pool routes stay.
    assert!(tun_routes(&ns, "-6").contains("2001:db8:100::/40"));
    plane.shutdown();
}
