//! Issue 9 with a real FreeRADIUS: an Accounting-Request sent again after
//! a failover is a retransmission that the server's duplicate detection
//! recognises (RFC 5080 §2.2.1, RFC 2866 §4.1) only if it is the same
//! datagram from the same (address, port). The "old node" sends a Start with
//! `Client::send_accounting_identical` and gets its answer; its socket
//! closes (the node died before committing the ack); a "new node" binds the
//! same address and port and sends the same request under the same
//! Identifier: FreeRADIUS answers it from its cache and writes one detail
//! record. The same bytes from another port are a new request to the
//! server and are logged again (the defect this guards against).

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lns_chaos_tests::peers::freeradius::{free_udp_port, freeradius_binary, LocalRadius, ALICE};
use lns_proto::entropy::Seeded;
use lns_proto::radius::values::AcctAuthentic;
use lns_proto::radius::{
    accounting_request, AccountingKind, AccountingParams, Attribute, Client, ClientConfig, Code,
    Counters, Event, Nas, Port, Request, Secret, ServerConfig,
};
use lns_proto::time::Timestamp;

const SECRET: &str = "s3cr3t-lnsd";

fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    Timestamp::from_unix_micros(u64::try_from(d.as_micros()).expect("fits u64"))
}

/// The Start as every node builds it from the replicated record.
fn start_request(session_id: &str, event_time: Timestamp) -> Request {
    let mut r = accounting_request(&AccountingParams {
        kind: AccountingKind::Start,
        session_id: session_id.into(),
        user_name: "alice".into(),
        nas: Nas {
            ipv4: Some(Ipv4Addr::new(127, 0, 0, 1)),
            ipv6: None,
            identifier: Some("lnsd-test".into()),
        },
        port: Port {
            nas_port: 7,
            ..Port::default()
        },
        authentic: AcctAuthentic::Radius,
        framed_ip: Some(Ipv4Addr::new(198, 18, 64, 7)),
        framed_ipv6_prefixes: Vec::new(),
        delegated_ipv6_prefix: None,
        class: Vec::new(),
        session_time: Duration::ZERO,
        counters: Counters::default(),
        event_time,
        tunnel: None,
    });
    for a in &mut r.attributes {
        if let Attribute::AcctDelayTime(d) = a {
            *d = 0;
        }
    }
    r
}

/// One node's emission of the request from `from`: (bytes sent, reply code).
fn emit(server: SocketAddr, from: SocketAddr, request: Request) -> (Vec<u8>, Code) {
    let sock = UdpSocket::bind(from).expect("bind the node's source");
    let mut entropy = Seeded::new(1);
    let mut client = Client::new(ClientConfig {
        auth_servers: Vec::new(),
        acct_servers: vec![ServerConfig {
            addr: server,
            secret: Secret::new(SECRET),
            timeout: Duration::from_millis(300),
            tries: 30,
        }],
        dead_time: Duration::ZERO,
    });
    client
        .send_accounting_identical(now(), request, 0x5a)
        .expect("encodable");
    let give_up = Instant::now() + Duration::from_secs(20);
    let mut first = None;
    let mut buf = [0u8; 4096];
    loop {
        assert!(
            Instant::now() < give_up,
            "no answer from FreeRADIUS in 20 s"
        );
        while let Some(t) = client.poll_transmit() {
            first.get_or_insert_with(|| t.payload.clone());
            sock.send_to(&t.payload, t.server).expect("send");
        }
        if let Some(ev) = client.poll_event() {
            return match ev {
                Event::Reply { packet, .. } => (first.expect("sent"), packet.code),
                Event::Timeout { .. } => panic!("FreeRADIUS did not answer"),
            };
        }
        let wait = client
            .poll_timeout()
            .map(|d| d.saturating_since(now()))
            .unwrap_or(Duration::from_millis(100))
            .max(Duration::from_millis(1));
        sock.set_read_timeout(Some(wait)).expect("set timeout");
        match sock.recv_from(&mut buf) {
            Ok((n, src)) => client.handle_datagram(now(), src, &buf[..n]),
            Err(_) => client.handle_timeout(now(), &mut entropy),
        }
    }
}

fn starts_logged(dir: &Path, session_id: &str) -> usize {
    fs::read_to_string(dir.join("acct/detail"))
        .unwrap_or_default()
        .split("\n\n")
        .filter(|r| r.contains(session_id) && r.contains("Acct-Status-Type = Start"))
        .count()
}

#[test]
fn a_start_resent_from_the_same_source_is_logged_once() {
    let Some(bin) = freeradius_binary() else {
        eprintln!("SKIPPED: freeradius is not installed (chaos-tests/bin/setup installs it)");
        return;
    };
    let fr = LocalRadius::loopback(&bin, SECRET, ALICE).expect("start freeradius");
    let localhost = IpAddr::from([127, 0, 0, 1]);
    let source = SocketAddr::new(localhost, free_udp_port(localhost));
    let session_id = format!("lnsd-{}-{:x}", std::process::id(), now().unix_micros());
    let event = now();

    // The old active node: sent, answered, logged once.
    let (old, code) = emit(fr.acct(), source, start_request(&session_id, event));
    assert_eq!(code, Code::AccountingResponse);
    assert_eq!(starts_logged(fr.dir(), &session_id), 1);
    // The new active node, same source, same record: the same datagram,
    // answered from FreeRADIUS's cache and not logged again.
    let (new, code) = emit(fr.acct(), source, start_request(&session_id, event));
    assert_eq!(new, old, "identical bytes");
    assert_eq!(code, Code::AccountingResponse);
    assert_eq!(starts_logged(fr.dir(), &session_id), 1, "a retransmission");
    // The same datagram from another port is a new request (what the old
    // code did: another node's address): logged twice.
    let elsewhere = SocketAddr::new(localhost, free_udp_port(localhost));
    let (other, code) = emit(fr.acct(), elsewhere, start_request(&session_id, event));
    assert_eq!((other, code), (old, Code::AccountingResponse));
    assert_eq!(starts_logged(fr.dir(), &session_id), 2);
}
