//! Interop with a real FreeRADIUS: the sans-IO `Client` of lns-proto driven
//! over real UDP sockets against `freeradius -f` started from the config
//! `lns_chaos_tests::peers::freeradius` writes into a temporary directory
//! (REFERENCE.md "Running FreeRADIUS in a test"; moved here from proto's
//! tests so the workspace has one generator). Checks PAP accept and reject, CHAP accept and reject, the
//! Access-Accept read into `Authorization`, failover from a dead server,
//! and accounting Start/Stop acknowledged and present in the detail file.
//!
//! FreeRADIUS 3.2.1 (Debian bookworm) does not put a Message-Authenticator
//! in its replies unless told to; the config adds one in post-auth, as the
//! BlastRADIUS advisories tell operators to (and for Status-Server in its
//! Autz-Type section). Without it our client drops the replies (RFC 3579
//! §3.2), which is the point.
//!
//! A second test plays the NAS side of RFC 5176: `radclient` (from
//! freeradius-utils) sends Disconnect-Requests to a socket of the test,
//! which checks them with `dae::verify_request` and answers with
//! `dae::encode_response`; radclient verifying and printing our ACK/NAK
//! proves the authenticators.

use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lns_chaos_tests::peers::freeradius::{free_udp_port, freeradius_binary, LocalRadius, ALICE};
use lns_proto::entropy::Seeded;
use lns_proto::radius::attribute::Ipv6Prefix;
use lns_proto::radius::crypto::chap_response;
use lns_proto::radius::signing::MessageAuthenticatorPolicy;
use lns_proto::radius::values::AcctAuthentic;
use lns_proto::radius::{
    access_request, accounting_nas_event, accounting_request, AccessParams, AccountingKind,
    AccountingParams, AcctTerminateCause, Authorization, Client, ClientConfig, Code, Counters,
    Credentials, Event, Nas, NasEvent, Packet, Password, Port, Request, Secret, ServerConfig,
    TunnelInfo,
};
use lns_proto::radius::{dae, ErrorCause};
use lns_proto::time::Timestamp;

const SECRET: &str = "s3cr3t-lnsd";

fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    Timestamp::from_unix_micros(u64::try_from(d.as_micros()).expect("fits u64"))
}

/// FreeRADIUS on the loopback (config from `peers::freeradius`): auth and
/// accounting listeners.
fn start(bin: &Path) -> (LocalRadius, SocketAddr, SocketAddr) {
    let server = LocalRadius::loopback(bin, SECRET, ALICE).expect("start freeradius");
    let (auth, acct) = (server.auth(), server.acct());
    (server, auth, acct)
}

fn server(addr: SocketAddr, timeout_ms: u64, tries: u8) -> ServerConfig {
    ServerConfig {
        addr,
        secret: Secret::new(SECRET),
        timeout: Duration::from_millis(timeout_ms),
        tries,
    }
}

/// Drives the client over a real socket until it reports an event. The
/// client's own retransmissions also cover FreeRADIUS still starting up.
fn run_until_event(client: &mut Client, sock: &UdpSocket, entropy: &mut Seeded) -> Event {
    let give_up = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 4096];
    loop {
        assert!(Instant::now() < give_up, "no event from the client in 20 s");
        while let Some(t) = client.poll_transmit() {
            sock.send_to(&t.payload, t.server)
                .expect("send to FreeRADIUS");
        }
        if let Some(ev) = client.poll_event() {
            return ev;
        }
        let wait = client
            .poll_timeout()
            .map(|d| d.saturating_since(now()))
            .unwrap_or(Duration::from_millis(100))
            .max(Duration::from_millis(1));
        sock.set_read_timeout(Some(wait)).expect("set timeout");
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => client.handle_datagram(now(), from, &buf[..n]),
            Err(_) => client.handle_timeout(now(), entropy),
        }
    }
}

fn reply(ev: Event) -> Packet {
    match ev {
        Event::Reply { packet, .. } => packet,
        Event::Timeout { handle } => panic!("request {handle:?} timed out"),
    }
}

fn nas() -> Nas {
    Nas {
        ipv4: Some(Ipv4Addr::new(192, 0, 2, 1)),
        ipv6: None,
        identifier: Some("lnsd-test".into()),
    }
}

fn pap(user: &str, password: &str) -> AccessParams {
    AccessParams {
        user_name: user.into(),
        credentials: Credentials::Pap(Password::new(password)),
        nas: nas(),
        port: Port {
            nas_port: 7,
            nas_port_id: Some("tunnel-1/session-7".into()),
            calling_station_id: Some("0102030405".into()),
            called_station_id: Some("lns.example".into()),
        },
        state: None,
    }
}

fn chap(user: &str, password: &str, ident: u8) -> AccessParams {
    let challenge: Vec<u8> = (0u8..16)
        .map(|i| i.wrapping_mul(37).wrapping_add(ident))
        .collect();
    let response = chap_response(ident, &Password::new(password), &challenge);
    AccessParams {
        credentials: Credentials::Chap {
            ident,
            challenge,
            response,
        },
        ..pap(user, "")
    }
}

fn accounting(kind: AccountingKind, session_id: &str) -> AccountingParams {
    AccountingParams {
        kind,
        session_id: session_id.into(),
        user_name: "alice".into(),
        nas: nas(),
        port: Port {
            nas_port: 7,
            ..Port::default()
        },
        authentic: AcctAuthentic::Radius,
        framed_ip: Some(Ipv4Addr::new(198, 18, 64, 7)),
        framed_ipv6_prefixes: Ipv6Prefix::new("2001:db8:1:2::".parse().expect("addr"), 64)
            .into_iter()
            .collect(),
        delegated_ipv6_prefix: None,
        class: vec![b"plan-gold".to_vec()],
        session_time: Duration::from_secs(125),
        counters: Counters {
            input_octets: (1 << 32) + 1000,
            output_octets: 2000,
            input_packets: 10,
            output_packets: 20,
        },
        event_time: now(),
        tunnel: Some(TunnelInfo {
            client_endpoint: "192.0.2.2".into(),
            server_endpoint: "192.0.2.1".into(),
            connection: "1/7".into(),
        }),
    }
}

#[test]
fn freeradius_pap_chap_and_accounting() {
    let Some(bin) = freeradius_binary() else {
        eprintln!("SKIPPED: freeradius is not installed (chaos-tests/bin/setup installs it)");
        return;
    };
    let (fr, auth, acct) = start(&bin);
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind client socket");
    let mut entropy = Seeded::new(u64::from(std::process::id()));
    let mut client = Client::new(ClientConfig {
        auth_servers: vec![server(auth, 300, 30)],
        acct_servers: vec![server(acct, 300, 30)],
        dead_time: Duration::ZERO,
    });
    let log = || fs::read_to_string(fr.dir().join("stdout.log")).unwrap_or_default();

    // PAP, right password: Access-Accept, read into an Authorization.
    client
        .send_access(
            now(),
            access_request(&pap("alice", "wonderland")),
            &mut entropy,
        )
        .expect("encodable");
    let accept = reply(run_until_event(&mut client, &sock, &mut entropy));
    assert_eq!(accept.code, Code::AccessAccept, "log:\n{}", log());
    let z = Authorization::from_accept(&accept).expect("framed PPP service");
    assert_eq!(z.framed_ip, Some(Ipv4Addr::new(198, 18, 64, 7)));
    assert_eq!(z.session_timeout, Some(Duration::from_secs(3600)));
    assert_eq!(z.acct_interim_interval, Some(Duration::from_secs(300)));
    assert_eq!(z.class, [b"plan-gold".to_vec()]);
    assert_eq!(z.primary_dns, Some(Ipv4Addr::new(192, 0, 2, 53)));
    assert_eq!(z.secondary_dns, Some(Ipv4Addr::new(192, 0, 2, 54)));
    assert_eq!(
        z.ipv6_dns,
        ["2001:db8::53".parse::<Ipv6Addr>().expect("addr")]
    );
    assert_eq!(
        z.framed_ipv6_prefixes,
        Ipv6Prefix::new("2001:db8:1:2::".parse().expect("addr"), 64)
            .into_iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        z.delegated_ipv6_prefix,
        Ipv6Prefix::new("2001:db8:100::".parse().expect("addr"), 56)
    );

    // RFC 5997 Status-Server on the auth port: Access-Accept.
    client
        .send_access(now(), Request::new(Code::StatusServer), &mut entropy)
        .expect("encodable");
    let alive = reply(run_until_event(&mut client, &sock, &mut entropy));
    assert_eq!(alive.code, Code::AccessAccept, "log:\n{}", log());

    // PAP, wrong password: Access-Reject.
    client
        .send_access(now(), access_request(&pap("alice", "wrong")), &mut entropy)
        .expect("encodable");
    let reject = reply(run_until_event(&mut client, &sock, &mut entropy));
    assert_eq!(reject.code, Code::AccessReject);

    // CHAP, right and wrong secret.
    client
        .send_access(
            now(),
            access_request(&chap("alice", "wonderland", 0x21)),
            &mut entropy,
        )
        .expect("encodable");
    let chap_ok = reply(run_until_event(&mut client, &sock, &mut entropy));
    assert_eq!(chap_ok.code, Code::AccessAccept, "log:\n{}", log());
    client
        .send_access(
            now(),
            access_request(&chap("alice", "nope", 0x22)),
            &mut entropy,
        )
        .expect("encodable");
    let chap_bad = reply(run_until_event(&mut client, &sock, &mut entropy));
    assert_eq!(chap_bad.code, Code::AccessReject);

    // Accounting-On at start-up is acknowledged.
    client
        .send_accounting(
            now(),
            accounting_nas_event(NasEvent::On, &nas(), "lnsd-boot-1", now()),
        )
        .expect("encodable");
    let on = reply(run_until_event(&mut client, &sock, &mut entropy));
    assert_eq!(on.code, Code::AccountingResponse);

    // Accounting Start then Stop, acknowledged and written to detail.
    let session_id = format!("lnsd-{}-{:x}", std::process::id(), now().unix_micros());
    for kind in [
        AccountingKind::Start,
        AccountingKind::Interim,
        AccountingKind::Stop(AcctTerminateCause::UserRequest),
    ] {
        client
            .send_accounting(now(), accounting_request(&accounting(kind, &session_id)))
            .expect("encodable");
        let ack = reply(run_until_event(&mut client, &sock, &mut entropy));
        assert_eq!(ack.code, Code::AccountingResponse);
    }
    let detail = fs::read_to_string(fr.dir().join("acct/detail")).expect("detail file written");
    let records: Vec<&str> = detail
        .split("\n\n")
        .filter(|r| r.contains(&session_id))
        .collect();
    assert_eq!(records.len(), 3, "detail:\n{detail}");
    let has = |i: usize, text: &str| {
        assert!(records[i].contains(text), "no {text:?} in:\n{}", records[i]);
    };
    has(0, "Acct-Status-Type = Start");
    has(1, "Acct-Status-Type = Interim-Update");
    has(1, "Acct-Input-Gigawords = 1");
    has(2, "Acct-Status-Type = Stop");
    has(2, "Acct-Input-Gigawords = 1");
    has(2, "Acct-Input-Octets = 1000");
    has(2, "Acct-Session-Time = 125");
    has(2, "Acct-Terminate-Cause = User-Request");
    has(2, "Class = 0x706c616e2d676f6c64");
    has(2, "Framed-IPv6-Prefix = 2001:db8:1:2::/64");
    has(2, "Tunnel-Type:0 = L2TP");

    let stats = client.stats(auth).expect("configured server");
    assert_eq!(stats.replies, 5);
    assert_eq!(stats.bad_authenticators, 0);
    assert_eq!(client.stats(acct).map(|s| s.replies), Some(4));

    // Failover: the first server is a port nobody listens on.
    let dead = SocketAddr::from((
        Ipv4Addr::LOCALHOST,
        free_udp_port(Ipv4Addr::LOCALHOST.into()),
    ));
    let mut failover = Client::new(ClientConfig {
        auth_servers: vec![server(dead, 200, 2), server(auth, 300, 30)],
        acct_servers: vec![],
        dead_time: Duration::from_secs(30),
    });
    failover
        .send_access(
            now(),
            access_request(&pap("alice", "wonderland")),
            &mut entropy,
        )
        .expect("encodable");
    let via_second = reply(run_until_event(&mut failover, &sock, &mut entropy));
    assert_eq!(via_second.code, Code::AccessAccept);
    // The dead server is now skipped: the next login goes straight through.
    failover
        .send_access(
            now(),
            access_request(&pap("alice", "wonderland")),
            &mut entropy,
        )
        .expect("encodable");
    let direct = reply(run_until_event(&mut failover, &sock, &mut entropy));
    assert_eq!(direct.code, Code::AccessAccept);
    assert_eq!(failover.stats(auth).map(|s| s.replies), Some(2));
    let dead_stats = failover.stats(dead).expect("configured");
    assert_eq!(
        (
            dead_stats.requests,
            dead_stats.retransmits,
            dead_stats.timeouts
        ),
        (1, 1, 1)
    );
    drop(fr);
}

fn radclient_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join("radclient"))
        .find(|p| p.is_file())
}

/// Runs radclient for one Disconnect-Request and answers it with `decide`.
fn disconnect_round(
    radclient: &Path,
    sock: &UdpSocket,
    attributes: &str,
    decide: impl Fn(&Packet) -> dae::Outcome,
) -> String {
    let port = sock.local_addr().expect("local addr").port();
    let mut child = Command::new(radclient)
        .args(["-x", "-r", "1", "-t", "5"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["disconnect", SECRET])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn radclient");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(attributes.as_bytes())
            .expect("write radclient input");
    }
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set timeout");
    let mut buf = [0u8; 4096];
    let (n, from) = sock.recv_from(&mut buf).expect("radclient sent a request");
    let secret = Secret::new(SECRET);
    let request = dae::verify_request(&buf[..n], &secret, MessageAuthenticatorPolicy::Required)
        .expect("radclient's Disconnect-Request authenticates");
    dae::check_event_timestamp(
        &request,
        now(),
        Duration::from_secs(300),
        dae::TimestampPolicy::Required,
    )
    .expect("fresh Event-Timestamp");
    let mut out = Vec::new();
    dae::encode_response(&request, decide(&request), &secret, &mut out).expect("small reply");
    sock.send_to(&out, from).expect("answer radclient");
    let output = child.wait_with_output().expect("radclient exits");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn radclient_disconnect_is_verified_and_answered() {
    let Some(radclient) = radclient_binary() else {
        eprintln!("SKIPPED: radclient is not installed (chaos-tests/bin/setup installs it)");
        return;
    };
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind DAE socket");
    let stamp = now().unix_micros() / 1_000_000;
    let known = "lnsd-session-1";
    let decide = |p: &Packet| match dae::session_selector(p) {
        Ok(s) if s.acct_session_id.as_deref() == Some(known) => dae::Outcome::Ack,
        Ok(_) => dae::Outcome::Nak(ErrorCause::SessionContextNotFound),
        Err(cause) => dae::Outcome::Nak(cause),
    };
    let input = |id: &str| {
        format!(
            "Acct-Session-Id = \"{id}\", User-Name = \"alice\", Event-Timestamp = {stamp}, \
             Message-Authenticator = 0x00, Proxy-State = 0x0102\n"
        )
    };
    let ack = disconnect_round(&radclient, &sock, &input(known), decide);
    assert!(
        ack.contains("Received Disconnect-ACK"),
        "radclient said:\n{ack}"
    );
    assert!(
        ack.contains("Proxy-State = 0x0102"),
        "radclient said:\n{ack}"
    );
    let nak = disconnect_round(&radclient, &sock, &input("unknown"), decide);
    assert!(
        nak.contains("Received Disconnect-NAK"),
        "radclient said:\n{nak}"
    );
    assert!(
        nak.contains("Error-Cause = Session-Context-Not-Found"),
        "radclient said:\n{nak}"
    );
}
