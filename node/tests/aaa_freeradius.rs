//! The AAA task against a real FreeRADIUS (REFERENCE.md "Running
//! FreeRADIUS in a test"; config generated like proto's
//! `radius_freeradius.rs`, with Message-Authenticator added in post-auth
//! because FreeRADIUS 3.2.1 does not send one by itself). Checks PAP and
//! CHAP accept and reject, the grant read from the Access-Accept
//! (Framed-IP-Address, Session-Timeout, Class, DNS, and the IPv6 items:
//! Framed-IPv6-Prefix, Delegated-IPv6-Prefix, Framed-IPv6-Address,
//! Framed-Interface-Id, DNS-Server-IPv6-Address), failover from a dead
//! first server, and that the local users file is asked first.
//! Skipped (with a message) when FreeRADIUS is not installed.

use lns_node::aaa::{self, AaaCommand, AaaSettings, AuthAnswer, RadiusSettings, Users};
use lns_node::engine::{AddressGrant, AuthOutcome, AuthQuery, SessionKey};
use lns_proto::ppp::chap::md5_response;
use lns_proto::ppp::AuthRequest;
use lns_proto::radius::{ClientConfig, Nas, Secret, ServerConfig};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::sync::mpsc;

mod radius_support;

use radius_support::{free_udp_port, freeradius_binary, start, SECRET};

const ALICE: &str = r#"alice Cleartext-Password := "wonderland"
	Service-Type = Framed-User,
	Framed-Protocol = PPP,
	Framed-IP-Address = 198.18.64.7,
	Session-Timeout = 3600,
	Acct-Interim-Interval = 300,
	Class = "plan-gold",
	Framed-IPv6-Prefix = "2001:db8:1:2::/64",
	Delegated-IPv6-Prefix = "2001:db8:100::/56",
	Framed-IPv6-Address = 2001:db8:1:2::99,
	Framed-Interface-Id = 0211:22ff:fe33:4455,
	MS-Primary-DNS-Server = 192.0.2.53,
	MS-Secondary-DNS-Server = 192.0.2.54,
	DNS-Server-IPv6-Address = 2001:db8::53
"#;

fn server(addr: SocketAddr, timeout_ms: u64, tries: u8) -> ServerConfig {
    ServerConfig {
        addr,
        secret: Secret::new(SECRET),
        timeout: Duration::from_millis(timeout_ms),
        tries,
    }
}

fn key(n: u16) -> SessionKey {
    SessionKey {
        tunnel: 1,
        session: n,
    }
}

fn pap(n: u16, user: &str, password: &str) -> AuthQuery {
    AuthQuery {
        session: key(n),
        request: u64::from(n),
        nas_port: u32::from(n),
        calling_station: Some(b"0102030405".to_vec()),
        called_station: Some(b"lns.example".to_vec()),
        proof: AuthRequest::Pap {
            name: user.into(),
            password: password.into(),
        },
    }
}

fn chap(n: u16, user: &str, password: &str) -> AuthQuery {
    let challenge: Vec<u8> = (0u8..16).map(|i| i.wrapping_mul(37)).collect();
    AuthQuery {
        proof: AuthRequest::Chap {
            name: user.into(),
            identifier: 0x11,
            challenge: challenge.clone(),
            response: md5_response(0x11, password.as_bytes(), &challenge).to_vec(),
        },
        ..pap(n, user, "")
    }
}

async fn ask(
    tx: &mpsc::Sender<AaaCommand>,
    rx: &mut mpsc::Receiver<AuthAnswer>,
    q: AuthQuery,
) -> AuthOutcome {
    let want = (q.session, q.request);
    tx.send(AaaCommand::Authenticate(q))
        .await
        .expect("AAA task alive");
    let a = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("an answer within 30 s")
        .expect("AAA task alive");
    assert_eq!((a.session, a.request), want);
    a.outcome
}

#[tokio::test(flavor = "current_thread")]
async fn radius_pap_chap_failover_and_local_users_first() {
    let Some(bin) = freeradius_binary() else {
        eprintln!("freeradius not installed: skipping");
        return;
    };
    let (_server, auth) = start(&bin, ALICE);
    // A dead first server: every request fails over to FreeRADIUS after 200 ms.
    let dead = SocketAddr::from((Ipv4Addr::LOCALHOST, free_udp_port()));
    let settings = AaaSettings {
        users: Some(Users::parse("carol localpw 100.64.3.3\n").expect("users")),
        radius: Some(RadiusSettings {
            client: ClientConfig {
                auth_servers: vec![server(dead, 200, 1), server(auth, 500, 10)],
                acct_servers: vec![],
                dead_time: Duration::ZERO,
            },
            nas: Nas {
                ipv4: Some(Ipv4Addr::new(192, 0, 2, 2)),
                ipv6: None,
                identifier: Some("lnsd-test".into()),
            },
            bind: None,
        }),
    };
    let (answers_tx, mut answers) = mpsc::channel(16);
    let (tx, _task) = aaa::spawn(settings, answers_tx, 16);

    let AuthOutcome::Accept(g) = ask(&tx, &mut answers, pap(1, "alice", "wonderland")).await else {
        panic!("alice's PAP must be accepted");
    };
    assert_eq!(
        g.address,
        AddressGrant::Fixed(Ipv4Addr::new(198, 18, 64, 7))
    );
    assert_eq!(g.session_timeout, Some(Duration::from_secs(3600)));
    assert_eq!(g.class, vec![b"plan-gold".to_vec()]);
    // RFC 3162 / 4818 / 6911: what IPv6CP and the IPv6 engine apply.
    let v6 = |s: &str| s.parse::<std::net::Ipv6Addr>().expect("literal");
    assert_eq!(g.ipv6.framed_prefix, Some((v6("2001:db8:1:2::"), 64)));
    assert_eq!(g.ipv6.delegated_prefix, Some((v6("2001:db8:100::"), 56)));
    assert_eq!(g.ipv6.framed_address, Some(v6("2001:db8:1:2::99")));
    assert_eq!(
        g.ipv6.interface_id,
        Some([0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55])
    );
    assert_eq!(g.ipv6.dns, vec![v6("2001:db8::53")]);
    assert_eq!(
        g.dns,
        [
            Some(Ipv4Addr::new(192, 0, 2, 53)),
            Some(Ipv4Addr::new(192, 0, 2, 54))
        ]
    );

    assert_eq!(
        ask(&tx, &mut answers, pap(2, "alice", "wrong")).await,
        AuthOutcome::Reject
    );
    assert!(matches!(
        ask(&tx, &mut answers, chap(3, "alice", "wonderland")).await,
        AuthOutcome::Accept(_)
    ));
    assert_eq!(
        ask(&tx, &mut answers, chap(4, "alice", "wrong")).await,
        AuthOutcome::Reject
    );
    assert_eq!(
        ask(&tx, &mut answers, pap(5, "nobody", "x")).await,
        AuthOutcome::Reject
    );
    // carol is in the local file: answered without RADIUS (which does not know her).
    let AuthOutcome::Accept(g) = ask(&tx, &mut answers, pap(6, "carol", "localpw")).await else {
        panic!("carol is a local user");
    };
    assert_eq!(g.address, AddressGrant::Fixed(Ipv4Addr::new(100, 64, 3, 3)));
}

#[tokio::test(flavor = "current_thread")]
async fn every_server_silent_gives_unavailable() {
    let dead = SocketAddr::from((Ipv4Addr::LOCALHOST, free_udp_port()));
    let settings = AaaSettings {
        users: None,
        radius: Some(RadiusSettings {
            client: ClientConfig {
                auth_servers: vec![server(dead, 50, 2)],
                acct_servers: vec![],
                dead_time: Duration::ZERO,
            },
            nas: Nas::default(),
            bind: None,
        }),
    };
    let (answers_tx, mut answers) = mpsc::channel(4);
    let (tx, _task) = aaa::spawn(settings, answers_tx, 4);
    assert_eq!(
        ask(&tx, &mut answers, pap(1, "alice", "x")).await,
        AuthOutcome::Unavailable
    );
}
