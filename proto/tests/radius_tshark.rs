//! An independent reader for our RADIUS bytes: Wireshark's dissector.
//! Requests and replies built by proto::radius (PAP and CHAP
//! Access-Request, an Access-Accept with every attribute an LNS reads,
//! Accounting Start/Stop, a Disconnect-Request and its NAK) go into a pcap;
//! tshark must decode every attribute without a malformed or expert-error
//! mark and, given the shared secret, reveal the User-Password we hid.

mod support;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::time::Duration;

use lns_proto::radius::attribute::{Attribute, Ipv6Prefix, Vsa};
use lns_proto::radius::crypto::chap_response;
use lns_proto::radius::dae::{self, Outcome};
use lns_proto::radius::signing::encode_reply;
use lns_proto::radius::values::{AcctAuthentic, ServiceType};
use lns_proto::radius::{
    access_request, accounting_request, AccessParams, AccountingKind, AccountingParams,
    AcctTerminateCause, Code, Counters, Credentials, ErrorCause, Nas, Packet, Password, Port,
    Request, Secret, TunnelInfo,
};
use lns_proto::time::Timestamp;
use support::{pcap::PcapWriter, tshark};

const SECRET: &str = "tshark-secret";

fn nas() -> Nas {
    Nas {
        ipv4: Some(Ipv4Addr::new(192, 0, 2, 1)),
        ipv6: Some("2001:db8::1".parse().expect("literal")),
        identifier: Some("lnsd".into()),
    }
}

fn port() -> Port {
    Port {
        nas_port: 7,
        nas_port_id: Some("t1/s7".into()),
        calling_station_id: Some("0102030405".into()),
        called_station_id: Some("lns.example".into()),
    }
}

fn prefix(s: &str, len: u8) -> Ipv6Prefix {
    Ipv6Prefix::new(s.parse().expect("literal"), len).expect("valid prefix")
}

fn encode(r: &Request, id: u8, ra: [u8; 16]) -> Vec<u8> {
    let mut out = Vec::new();
    r.encode(id, ra, &Secret::new(SECRET), &mut out)
        .expect("fits");
    out
}

fn reply(p: &Packet, request: &[u8]) -> Vec<u8> {
    let mut ra = [0u8; 16];
    ra.copy_from_slice(&request[4..20]);
    let mut out = Vec::new();
    encode_reply(p, &ra, &Secret::new(SECRET), &mut out).expect("fits");
    out
}

fn accounting(kind: AccountingKind) -> AccountingParams {
    AccountingParams {
        kind,
        session_id: "0000002a".into(),
        user_name: "alice".into(),
        nas: nas(),
        port: port(),
        authentic: AcctAuthentic::Radius,
        framed_ip: Some(Ipv4Addr::new(198, 18, 64, 7)),
        framed_ipv6_prefixes: vec![prefix("2001:db8:1:2::", 64)],
        delegated_ipv6_prefix: Some(prefix("2001:db8:100::", 56)),
        class: vec![b"plan-gold".to_vec()],
        session_time: Duration::from_secs(125),
        counters: Counters {
            input_octets: (1 << 32) + 1000,
            output_octets: 2000,
            input_packets: 10,
            output_packets: 20,
        },
        event_time: Timestamp::from_unix_millis(1_700_000_000_000),
        tunnel: Some(TunnelInfo {
            client_endpoint: "192.0.2.2".into(),
            server_endpoint: "192.0.2.1".into(),
            connection: "1/7".into(),
        }),
    }
}

#[test]
fn tshark_decodes_every_attribute_and_unhides_our_password() {
    if !tshark::available() {
        eprintln!("SKIPPED: tshark is not installed (chaos-tests/bin/setup installs it)");
        return;
    }
    let nas_addr = |p| SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), p);
    let srv_addr = |p| SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 10), p);
    let mut w = PcapWriter::new();
    let mut t = 1_700_000_000_000_000u64;
    let mut push = |w: &mut PcapWriter, src, dst, payload: &[u8]| {
        t += 1_000;
        w.udp(t, src, dst, payload);
    };

    let pap = encode(
        &access_request(&AccessParams {
            user_name: "alice".into(),
            credentials: Credentials::Pap(Password::new("wonderland")),
            nas: nas(),
            port: port(),
            state: None,
        }),
        1,
        [0x11; 16],
    );
    push(&mut w, nas_addr(40000), srv_addr(1812), &pap);
    let accept = Packet {
        code: Code::AccessAccept,
        identifier: 1,
        authenticator: [0; 16],
        attributes: vec![
            Attribute::ServiceType(ServiceType::Framed),
            Attribute::FramedIpAddress(Ipv4Addr::new(198, 18, 64, 7)),
            Attribute::SessionTimeout(3600),
            Attribute::IdleTimeout(600),
            Attribute::AcctInterimInterval(300),
            Attribute::Class(b"plan-gold".to_vec()),
            Attribute::VendorSpecific(Vsa::MsPrimaryDnsServer(Ipv4Addr::new(192, 0, 2, 53))),
            Attribute::VendorSpecific(Vsa::MsSecondaryDnsServer(Ipv4Addr::new(192, 0, 2, 54))),
            Attribute::DnsServerIpv6Address("2001:db8::53".parse::<Ipv6Addr>().expect("literal")),
            Attribute::FramedIpv6Prefix(prefix("2001:db8:1:2::", 64)),
            Attribute::DelegatedIpv6Prefix(prefix("2001:db8:100::", 56)),
            Attribute::FramedInterfaceId([0x02, 0, 0, 0, 0, 0, 0, 0x01]),
            Attribute::FramedIpv6Address("2001:db8:1:2::7".parse().expect("literal")),
            Attribute::ReplyMessage("welcome".into()),
        ],
    };
    push(
        &mut w,
        srv_addr(1812),
        nas_addr(40000),
        &reply(&accept, &pap),
    );

    let challenge = [0x5a; 16];
    let chap = encode(
        &access_request(&AccessParams {
            user_name: "bob".into(),
            credentials: Credentials::Chap {
                ident: 9,
                challenge: challenge.to_vec(),
                response: chap_response(9, &Password::new("pw"), &challenge),
            },
            nas: nas(),
            port: port(),
            state: None,
        }),
        2,
        [0x22; 16],
    );
    push(&mut w, nas_addr(40000), srv_addr(1812), &chap);

    let start = encode(
        &accounting_request(&accounting(AccountingKind::Start)),
        3,
        [0; 16],
    );
    push(&mut w, nas_addr(40001), srv_addr(1813), &start);
    let stop_kind = AccountingKind::Stop(AcctTerminateCause::LostCarrier);
    let stop = encode(&accounting_request(&accounting(stop_kind)), 4, [0; 16]);
    push(&mut w, nas_addr(40001), srv_addr(1813), &stop);
    let acct_ack = Packet {
        code: Code::AccountingResponse,
        identifier: 4,
        authenticator: [0; 16],
        attributes: vec![],
    };
    push(
        &mut w,
        srv_addr(1813),
        nas_addr(40001),
        &reply(&acct_ack, &stop),
    );

    let mut disconnect = Request::new(Code::DisconnectRequest);
    disconnect.attributes = vec![
        Attribute::AcctSessionId("0000002a".into()),
        Attribute::EventTimestamp(1_700_000_000),
    ];
    let dm = encode(&disconnect, 5, [0; 16]);
    push(&mut w, srv_addr(40002), nas_addr(3799), &dm);
    let dm_packet = Packet::parse(&dm).expect("valid");
    let mut nak = Vec::new();
    dae::encode_response(
        &dm_packet,
        Outcome::Nak(ErrorCause::SessionContextNotFound),
        &Secret::new(SECRET),
        &mut nak,
    )
    .expect("fits");
    push(&mut w, nas_addr(3799), srv_addr(40002), &nak);

    let path = std::env::temp_dir().join(format!("lnsd-radius-{}.pcap", std::process::id()));
    w.write_to(&path).expect("write pcap");
    let verdict = tshark::decode(&path).expect("tshark available");
    let with_secret = std::process::Command::new("tshark")
        .args([
            "-n",
            "-V",
            "-o",
            &format!("radius.shared_secret:{SECRET}"),
            "-r",
        ])
        .arg(&path)
        .output()
        .expect("tshark runs");
    let _ = std::fs::remove_file(&path);
    let d = &String::from_utf8_lossy(&with_secret.stdout).into_owned();
    assert_eq!(verdict.frames, 8);
    assert!(
        verdict.problems.is_empty(),
        "tshark problems: {:?}\n{d}",
        verdict.problems
    );
    for needle in [
        // Wireshark unhides it with the secret: our RFC 2865 §5.2 hiding.
        "User-Password: wonderland",
        "t=CHAP-Password(3) l=19 val=09",
        "CHAP-Challenge: 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
        "NAS-Port-Type: Virtual (5)",
        "Framed-Protocol: PPP (1)",
        "t=NAS-IPv6-Address(95) l=18 val=2001:db8::1",
        "Framed-IPv6-Prefix: 004020010db800010002",
        "Delegated-IPv6-Prefix: 003820010db8010000",
        "MS-Primary-DNS-Server: 192.0.2.53",
        "MS-Secondary-DNS-Server: 192.0.2.54",
        "t=DNS-Server-IPv6-Address(169) l=18 val=2001:db8::53",
        "Framed-Interface-Id: 0200000000000001",
        "Framed-IPv6-Address: 2001:db8:1:2::7",
        "Acct-Input-Gigawords: 1",
        "Acct-Input-Octets: 1000",
        "Acct-Terminate-Cause: Lost-Carrier (2)",
        "t=Tunnel-Type(64) l=6 Tag=0x00 val=L2TP(3)",
        "t=Tunnel-Client-Endpoint(66) l=12 Tag=0x00 val=192.0.2.2",
        "t=Acct-Tunnel-Connection(68) l=5 val=1/7",
        "Error-Cause: Session-Context-Not-Found (503)",
    ] {
        assert!(d.contains(needle), "tshark did not show {needle:?}:\n{d}");
    }
}
