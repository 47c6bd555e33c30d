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

mod netns_support;

use lns_node::config::Config;
use lns_node::control::{ControlSignal, Exit};
use lns_proto::l2tp::{CallInfo, Event, SessionDownReason};
use lns_proto::ppp::LinkEvent;
use netns_support::*;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

fn config(dir: &std::path::Path, tun: &str) -> Config {
    let ppp = "dns = [\"198.18.0.53\"]\necho_interval_secs = 30";
    lo_config(
        dir,
        &lo_config_text("lnsd-e2e", tun, ppp, &mgmt_section(dir)),
    )
}

#[test]
fn login_traffic_and_clean_shutdown_end_to_end() {
    if !can_run() {
        return;
    }
    let (ns, dir, tun) = lo_bed("lnsd-e2e", "lnse2e");
    let cfg = config(&dir, &tun);

    let (signals, daemon) = spawn_daemon(&ns.0, cfg);

    let lac_ns = ns.0.clone();
    let lac = std::thread::spawn(move || {
        enter(&lac_ns);
        let internet = UdpSocket::bind("0.0.0.0:7000").expect("bind :7000");
        internet
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut lac = Lac::new();
        let tunnel = lac.tunnel_up();
        let call = CallInfo {
            calling_number: Some(b"0102030405".into()),
            ..CallInfo::default()
        };
        let ipcp = lac.call_up(tunnel, call, Duration::from_secs(15));
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
        let stopped = lac.wait_tunnel_down(Duration::from_secs(10));
        assert!(stopped, "StopCCN received: {:?}", lac.events);
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

use lns_chaos_tests::peers::freeradius::{freeradius_binary, LocalRadius};

const RADIUS_SECRET: &str = "s3cr3t-lnsd";

/// FreeRADIUS on the loopback knowing `users`, requiring signed requests.
fn start_radius(bin: &std::path::Path, users: &str) -> (LocalRadius, std::net::SocketAddr) {
    let server = LocalRadius::loopback(bin, RADIUS_SECRET, users).expect("start freeradius");
    let auth = server.auth();
    (server, auth)
}

const CAROL: &str = r#"carol Cleartext-Password := "secret-carol"
	Framed-IP-Address = 198.19.1.15,
	Session-Timeout = 3600,
	Class = "plan-gold",
	MS-Primary-DNS-Server = 198.18.0.99
"#;

/// The daemon with RADIUS only (no users file): CHAP through FreeRADIUS,
/// Framed-IP-Address and the DNS server applied; a wrong password ends in
/// a CDN with RFC 3145 cause 16.
#[test]
fn chap_login_through_freeradius_end_to_end() {
    if !can_run() {
        return;
    }
    let Some(bin) = freeradius_binary() else {
        eprintln!("freeradius not installed: skipping");
        return;
    };
    let (ns, dir, tun) = lo_bed("lnsd-rad", "lnsrad");
    let rad_ns = ns.0.clone();
    let (_radius, auth) = std::thread::spawn(move || {
        enter(&rad_ns);
        start_radius(&bin, CAROL)
    })
    .join()
    .expect("FreeRADIUS started");
    let text = format!(
        r#"
[node]
host_name = "lnsd-rad"
nas_ip = "198.18.0.1"
[[listen]]
address = "{LNS}"
[limits]
accept_unknown_lacs = true
[ppp]
ipcp_local = "{TUN_V4}"
auth_order = ["chap"]
[[pools]]
name = "p"
ranges = [{{ start = "198.19.1.10", end = "198.19.1.20" }}]
[aaa.radius]
[[aaa.radius.servers]]
address = "{auth}"
secret = "{secret}"
timeout_ms = 500
tries = 10
[tun]
name = "{tun}"
"#,
        secret = RADIUS_SECRET,
    );
    let mut cfg = Config::from_toml(&text).expect("parses");
    cfg.mgmt.socket = dir.join("mgmt.sock");
    cfg.validate().expect("valid");
    let (signals, daemon) = spawn_daemon(&ns.0, cfg);
    let lac_ns = ns.0.clone();
    let (up, cause) = std::thread::spawn(move || {
        enter(&lac_ns);
        let mut lac = Lac::new();
        lac.user = (b"carol".to_vec(), b"secret-carol".to_vec());
        lac.methods = vec![lns_proto::ppp::AuthMethod::ChapMd5];
        let tunnel = lac.tunnel_up();
        let ok = lac.call_up(tunnel, CallInfo::default(), Duration::from_secs(20));
        assert!(ok, "carol up: {:?}", lac.sub_events);
        let up = lac.sub_events.iter().find_map(|e| match e {
            LinkEvent::Ipv4Up { local, dns, .. } => Some((*local, dns[0])),
            _ => None,
        });
        lac.user = (b"carol".to_vec(), b"wrong".to_vec());
        lac.ep
            .open_session(now(), tunnel, CallInfo::default(), &mut lac.e)
            .expect("call");
        let refused = lac.drive(Duration::from_secs(30), |l| {
            l.events.iter().any(|e| {
                matches!(
                    e,
                    Event::SessionDown {
                        reason: SessionDownReason::PeerCdn { .. },
                        ..
                    }
                )
            })
        });
        assert!(refused, "wrong password refused with a CDN");
        let cause = lac.events.iter().find_map(|e| match e {
            Event::SessionDown {
                reason: SessionDownReason::PeerCdn { cause, .. },
                ..
            } => cause.as_ref().map(|c| c.code),
            _ => None,
        });
        signals
            .blocking_send(ControlSignal::Shutdown)
            .expect("daemon alive");
        lac.wait_tunnel_down(Duration::from_secs(3));
        (up, cause)
    })
    .join()
    .expect("LAC thread");
    let exit = daemon.join().expect("daemon thread").expect("daemon ran");
    assert_eq!(
        up,
        Some((
            Ipv4Addr::new(198, 19, 1, 15),
            Some(Ipv4Addr::new(198, 18, 0, 99))
        ))
    );
    assert_eq!(cause, Some(16), "RFC 3145 authentication failure");
    assert_eq!(exit, Exit::Clean);
}
