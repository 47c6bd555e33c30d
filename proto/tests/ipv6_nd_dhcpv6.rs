//! Black-box tests of `lns_proto::nd` and `lns_proto::dhcpv6`: whole
//! exchanges as a PPP subscriber's client would run them, the RFC 8415 §16
//! discard rules, determinism and replication, tshark decodes of what we
//! emit, and property tests (round trips, no panic on arbitrary bytes).

mod support;

use std::net::Ipv6Addr;

use lns_proto::dhcpv6::{
    emit_udp_packet, parse_udp_packet, AddressChoice, Dhcpv6Config, Dhcpv6Error, Dhcpv6Ignored,
    Dhcpv6Message, Dhcpv6Option, Dhcpv6Packet, Dhcpv6Server, Duid, Ia, IaKind, MessageType,
    StatusCode, ALL_DHCP_RELAY_AGENTS_AND_SERVERS, CLIENT_PORT, SERVER_PORT,
};
use lns_proto::entropy::Seeded;
use lns_proto::nd::{
    emit_nd_packet, link_local_address, parse_nd_packet, NdMessage, NdOption, PrefixInformation,
    RaConfig, RouterAdvertiser, RouterSolicitation, ALL_ROUTERS,
};
use lns_proto::time::Timestamp;
use proptest::prelude::*;
use support::{pcap::RawIpPcapWriter, tshark};

fn a(s: &str) -> Ipv6Addr {
    s.parse().expect("literal")
}

const CLIENT_LL: &str = "fe80::a8bb:ccff:fedd:eeff";

fn lns_ll() -> Ipv6Addr {
    link_local_address([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01])
}

fn server_duid() -> Duid {
    Duid::En {
        enterprise_number: 0x0000_e1a5,
        identifier: b"lnsd-cluster-1".to_vec(),
    }
}

fn server(choice: AddressChoice) -> Dhcpv6Server {
    let mut c = Dhcpv6Config::new(server_duid());
    c.dns_servers = vec![a("2001:db8:53::1"), a("2001:db8:53::2")];
    c.domains = vec!["ffdn.example".into()];
    c.sol_max_rt = Some(3600);
    c.address_choice = choice;
    Dhcpv6Server::new(
        c,
        lns_ll(),
        a("2001:db8:aa:1::"),
        Some((a("2001:db8:bb00::"), 56)),
    )
    .expect("valid config")
}

fn client_duid() -> Duid {
    Duid::Ll {
        hardware_type: 1,
        link_layer_address: vec![0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff],
    }
}

/// A client message to ff02::1:2 from the client's link-local address.
fn from_client(msg: &Dhcpv6Message) -> Vec<u8> {
    let mut payload = Vec::new();
    Dhcpv6Packet::Message(msg.clone())
        .emit(&mut payload)
        .expect("valid");
    let mut p = Vec::new();
    emit_udp_packet(
        a(CLIENT_LL),
        ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        CLIENT_PORT,
        SERVER_PORT,
        &payload,
        &mut p,
    )
    .expect("fits");
    p
}

/// The reply the server queued, checked as a packet to the client.
fn reply_of(s: &mut Dhcpv6Server) -> Dhcpv6Message {
    let p = s.poll_transmit().expect("a reply was queued");
    let d = parse_udp_packet(&p).expect("valid UDP with a good checksum");
    assert_eq!((d.src, d.dst), (lns_ll(), a(CLIENT_LL)));
    assert_eq!((d.src_port, d.dst_port), (SERVER_PORT, CLIENT_PORT));
    match Dhcpv6Packet::parse_bytes(d.payload).expect("valid DHCPv6") {
        Dhcpv6Packet::Message(m) => m,
        other => panic!("relay reply: {other:?}"),
    }
}

fn msg(ty: MessageType, xid: u32, options: Vec<Dhcpv6Option>) -> Dhcpv6Message {
    Dhcpv6Message {
        msg_type: ty,
        transaction_id: xid,
        options,
    }
}

fn ia(iaid: u32, options: Vec<Dhcpv6Option>) -> Ia {
    Ia {
        iaid,
        t1: 0,
        t2: 0,
        options,
    }
}

fn ia_na_address(m: &Dhcpv6Message) -> Option<Ipv6Addr> {
    m.options.iter().find_map(|o| match o {
        Dhcpv6Option::IaNa(ia) => ia.options.iter().find_map(|o| match o {
            Dhcpv6Option::IaAddr {
                address,
                valid_lifetime,
                ..
            } if *valid_lifetime > 0 => Some(*address),
            _ => None,
        }),
        _ => None,
    })
}

fn ia_pd_prefix(m: &Dhcpv6Message) -> Option<(Ipv6Addr, u8)> {
    m.options.iter().find_map(|o| match o {
        Dhcpv6Option::IaPd(ia) => ia.options.iter().find_map(|o| match o {
            Dhcpv6Option::IaPrefix {
                prefix, prefix_len, ..
            } => Some((*prefix, *prefix_len)),
            _ => None,
        }),
        _ => None,
    })
}

fn ia_status(m: &Dhcpv6Message, kind: IaKind) -> Option<StatusCode> {
    m.options.iter().find_map(|o| match (o, kind) {
        (Dhcpv6Option::IaNa(ia), IaKind::Na) | (Dhcpv6Option::IaPd(ia), IaKind::Pd) => {
            ia.options.iter().find_map(|o| match o {
                Dhcpv6Option::StatusCode { status, .. } => Some(*status),
                _ => None,
            })
        }
        _ => None,
    })
}

/// A Solicit as odhcp6c sends it on a PPP link, built by hand from the RFC
/// 8415 formats: Client ID (DUID-LL), ORO (DNS 23, domains 24, SOL_MAX_RT
/// 82), Elapsed Time 0, IA_NA (IAID 1, T1/T2 0), IA_PD (IAID 1, T1/T2 0,
/// IAPREFIX hint ::/56 with zero lifetimes).
const ODHCP6C_SOLICIT: [u8; 95] = [
    0x01, 0xa1, 0xb2, 0xc3, // Solicit, xid a1b2c3
    0x00, 0x01, 0x00, 0x0a, // Client ID, 10
    0x00, 0x03, 0x00, 0x01, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, // DUID-LL Ethernet
    0x00, 0x06, 0x00, 0x06, 0x00, 0x17, 0x00, 0x18, 0x00, 0x52, // ORO 23 24 82
    0x00, 0x08, 0x00, 0x02, 0x00, 0x00, // Elapsed Time 0
    0x00, 0x03, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, // IA_NA
    0x00, 0x19, 0x00, 0x29, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, // IA_PD, 41
    0x00, 0x1a, 0x00, 0x19, 0, 0, 0, 0, 0, 0, 0, 0, 0x38, // IAPREFIX, 25, /56
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ::
];

fn odhcp6c_solicit_packet() -> Vec<u8> {
    let mut p = Vec::new();
    emit_udp_packet(
        a(CLIENT_LL),
        ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        CLIENT_PORT,
        SERVER_PORT,
        &ODHCP6C_SOLICIT,
        &mut p,
    )
    .expect("fits");
    p
}

#[test]
fn odhcp6c_solicit_parses_and_gets_an_advertise() {
    let parsed = Dhcpv6Packet::parse_bytes(&ODHCP6C_SOLICIT).expect("valid Solicit");
    let Dhcpv6Packet::Message(m) = parsed else {
        panic!("not a client message")
    };
    assert_eq!(m.msg_type, MessageType::Solicit);
    assert_eq!(m.transaction_id, 0xa1_b2c3);
    assert_eq!(m.options[0], Dhcpv6Option::ClientId(client_duid()));
    assert_eq!(m.options[1], Dhcpv6Option::Oro(vec![23, 24, 82]));

    let mut s = server(AddressChoice::FromClientId);
    let mut e = Seeded::new(1);
    let now = Timestamp::from_unix_millis(1_700_000_000_000);
    assert_eq!(
        s.handle(now, &odhcp6c_solicit_packet(), &mut e),
        Ok(MessageType::Advertise)
    );
    let adv = reply_of(&mut s);
    assert_eq!(adv.msg_type, MessageType::Advertise);
    assert_eq!(adv.transaction_id, 0xa1_b2c3);
    // RFC 8415 §18.3: Server ID and the client's Client ID in every answer.
    assert!(adv.options.contains(&Dhcpv6Option::ServerId(server_duid())));
    assert!(adv.options.contains(&Dhcpv6Option::ClientId(client_duid())));
    let addr = ia_na_address(&adv).expect("an address");
    assert_eq!(addr.segments()[..4], a("2001:db8:aa:1::").segments()[..4]);
    assert_eq!(ia_pd_prefix(&adv), Some((a("2001:db8:bb00::"), 56)));
    assert!(adv.options.contains(&Dhcpv6Option::DnsServers(vec![
        a("2001:db8:53::1"),
        a("2001:db8:53::2")
    ])));
    assert!(adv
        .options
        .contains(&Dhcpv6Option::DomainList(vec!["ffdn.example".into()])));
    assert!(adv.options.contains(&Dhcpv6Option::SolMaxRt(3600)));
    assert!(adv.options.contains(&Dhcpv6Option::Preference(255)));
    // An Advertise commits nothing (RFC 8415 §18.3.1).
    assert_eq!(s.bindings().count(), 0);
}

/// The daemon's path for a subscriber's IPv6 packet: classify, then hand
/// RS to the advertiser and DHCPv6 to the server; everything they send goes
/// back to the subscriber's link-local address or ff02::1.
#[test]
fn subscriber_link_dispatch() {
    use lns_proto::ip::{classify_subscriber_ipv6, SubscriberIpv6};
    let mut ra =
        RouterAdvertiser::new(RaConfig::for_prefix(a("2001:db8:aa:1::")), lns_ll()).expect("valid");
    let mut dhcp = server(AddressChoice::FromClientId);
    let mut e = Seeded::new(12);
    let t0 = Timestamp::from_unix_millis(2_000_000);
    ra.start(t0, &mut e);
    let mut rs = Vec::new();
    emit_nd_packet(
        a(CLIENT_LL),
        ALL_ROUTERS,
        &NdMessage::RouterSolicitation(RouterSolicitation::default()),
        &mut rs,
    )
    .expect("valid");
    let inputs = [rs, odhcp6c_solicit_packet()];
    let t1 = t0 + core::time::Duration::from_secs(30);
    for p in &inputs {
        match classify_subscriber_ipv6(p).expect("valid IPv6") {
            SubscriberIpv6::RouterSolicitation => ra.handle_rs(t1, p, &mut e).expect("RS"),
            SubscriberIpv6::Dhcpv6 => {
                dhcp.handle(t1, p, &mut e).expect("answered");
            }
            other => panic!("misrouted: {other:?}"),
        }
    }
    let due = ra.poll_timeout().expect("armed");
    ra.handle_timeout(due, &mut e);
    let out: Vec<Vec<u8>> = std::iter::from_fn(|| ra.poll_transmit())
        .chain(std::iter::from_fn(|| dhcp.poll_transmit()))
        .collect();
    // The initial RA, the solicited RA, the Advertise.
    assert_eq!(out.len(), 3);
    for p in &out {
        let dst = lns_proto::ip::destination_address(p).expect("valid");
        assert!(dst == a(CLIENT_LL) || dst == a("ff02::1"), "{dst}");
    }
}

#[test]
fn solicit_advertise_request_reply_renew_release() {
    let mut s = server(AddressChoice::FromClientId);
    let mut e = Seeded::new(2);
    let t0 = Timestamp::from_unix_millis(1_700_000_000_000);
    let cid = Dhcpv6Option::ClientId(client_duid());
    let sid = Dhcpv6Option::ServerId(server_duid());
    let oro = Dhcpv6Option::Oro(vec![23]);

    s.handle(t0, &odhcp6c_solicit_packet(), &mut e)
        .expect("answered");
    let adv = reply_of(&mut s);
    let offered = ia_na_address(&adv).expect("offered");

    // Request echoing the offer.
    let req = msg(
        MessageType::Request,
        0x10,
        vec![
            cid.clone(),
            sid.clone(),
            oro.clone(),
            Dhcpv6Option::IaNa(ia(
                1,
                vec![Dhcpv6Option::IaAddr {
                    address: offered,
                    preferred_lifetime: 0,
                    valid_lifetime: 0,
                    options: vec![],
                }],
            )),
            Dhcpv6Option::IaPd(ia(1, vec![])),
        ],
    );
    assert_eq!(
        s.handle(t0, &from_client(&req), &mut e),
        Ok(MessageType::Reply)
    );
    let reply = reply_of(&mut s);
    assert_eq!(ia_na_address(&reply), Some(offered));
    assert_eq!(ia_pd_prefix(&reply), Some((a("2001:db8:bb00::"), 56)));
    // RFC 8415 §21.4: T1 = 0.5, T2 = 0.8 x preferred (14400 s).
    let Some(Dhcpv6Option::IaNa(na)) = reply
        .options
        .iter()
        .find(|o| matches!(o, Dhcpv6Option::IaNa(_)))
    else {
        panic!("no IA_NA")
    };
    assert_eq!((na.t1, na.t2), (7200, 11520));
    assert_eq!(s.bindings().count(), 2);
    let expiry = s.poll_timeout().expect("bindings expire");

    // Renew an hour later: same bindings, later expiry.
    let t1 = t0 + core::time::Duration::from_secs(3600);
    let renew = msg(
        MessageType::Renew,
        0x11,
        vec![
            cid.clone(),
            sid.clone(),
            Dhcpv6Option::IaNa(ia(1, vec![])),
            Dhcpv6Option::IaPd(ia(1, vec![])),
        ],
    );
    assert_eq!(
        s.handle(t1, &from_client(&renew), &mut e),
        Ok(MessageType::Reply)
    );
    let renewed = reply_of(&mut s);
    assert_eq!(ia_na_address(&renewed), Some(offered));
    assert_eq!(ia_pd_prefix(&renewed), Some((a("2001:db8:bb00::"), 56)));
    assert!(s.poll_timeout().expect("armed") > expiry);

    // Release: bindings gone, Success.
    let release = msg(
        MessageType::Release,
        0x12,
        vec![
            cid,
            sid,
            Dhcpv6Option::IaNa(ia(1, vec![])),
            Dhcpv6Option::IaPd(ia(1, vec![])),
        ],
    );
    assert_eq!(
        s.handle(t1, &from_client(&release), &mut e),
        Ok(MessageType::Reply)
    );
    let released = reply_of(&mut s);
    assert!(released.options.iter().any(|o| matches!(
        o,
        Dhcpv6Option::StatusCode {
            status: StatusCode::Success,
            ..
        }
    )));
    assert_eq!(s.bindings().count(), 0);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn rapid_commit_solicit_gets_a_committed_reply() {
    // RFC 8415 §18.3.1 and §21.14.
    let mut s = server(AddressChoice::FromEntropy);
    let mut e = Seeded::new(3);
    let solicit = msg(
        MessageType::Solicit,
        0x20,
        vec![
            Dhcpv6Option::ClientId(client_duid()),
            Dhcpv6Option::RapidCommit,
            Dhcpv6Option::IaNa(ia(7, vec![])),
        ],
    );
    let now = Timestamp::from_unix_millis(5);
    assert_eq!(
        s.handle(now, &from_client(&solicit), &mut e),
        Ok(MessageType::Reply)
    );
    let reply = reply_of(&mut s);
    assert!(reply.options.contains(&Dhcpv6Option::RapidCommit));
    let addr = ia_na_address(&reply).expect("address");
    let (key, binding) = s.bindings().next().expect("committed");
    assert_eq!((key.kind, key.iaid, binding.prefix), (IaKind::Na, 7, addr));
}

#[test]
fn a_fixed_address_is_offered_ahead_of_the_clients_hint() {
    // RFC 6911 §3.1 (Framed-IPv6-Address) given by IA_NA, RFC 8415 §18.3.1.
    let fixed = a("2001:db8:aa:1::99");
    let mut s = server(AddressChoice::Fixed(fixed));
    let mut e = Seeded::new(5);
    let hint = Dhcpv6Option::IaAddr {
        address: a("2001:db8:aa:1::7"),
        preferred_lifetime: 0,
        valid_lifetime: 0,
        options: vec![],
    };
    let solicit = msg(
        MessageType::Solicit,
        0x21,
        vec![
            Dhcpv6Option::ClientId(client_duid()),
            Dhcpv6Option::RapidCommit,
            Dhcpv6Option::IaNa(ia(7, vec![hint])),
        ],
    );
    let now = Timestamp::from_unix_millis(5);
    assert_eq!(
        s.handle(now, &from_client(&solicit), &mut e),
        Ok(MessageType::Reply)
    );
    assert_eq!(ia_na_address(&reply_of(&mut s)), Some(fixed));
    // Off the link, the fixed address is unusable: the hint is taken.
    let mut off = server(AddressChoice::Fixed(a("2001:db8:ff::1")));
    assert_eq!(
        off.handle(now, &from_client(&solicit), &mut e),
        Ok(MessageType::Reply)
    );
    assert_eq!(
        ia_na_address(&reply_of(&mut off)),
        Some(a("2001:db8:aa:1::7"))
    );
}

#[test]
fn information_request_gets_configuration_only() {
    // RFC 8415 §18.3.6.
    let mut s = server(AddressChoice::FromClientId);
    let mut e = Seeded::new(4);
    let ir = msg(
        MessageType::InformationRequest,
        0x30,
        vec![Dhcpv6Option::Oro(vec![23, 24, 32])],
    );
    let now = Timestamp::from_unix_millis(5);
    assert_eq!(
        s.handle(now, &from_client(&ir), &mut e),
        Ok(MessageType::Reply)
    );
    let reply = reply_of(&mut s);
    assert!(reply
        .options
        .contains(&Dhcpv6Option::InformationRefreshTime(86_400)));
    assert!(reply
        .options
        .iter()
        .any(|o| matches!(o, Dhcpv6Option::DnsServers(_))));
    assert!(reply
        .options
        .contains(&Dhcpv6Option::DomainList(vec!["ffdn.example".into()])));
    assert!(!reply
        .options
        .iter()
        .any(|o| matches!(o, Dhcpv6Option::IaNa(_) | Dhcpv6Option::ClientId(_))));
}

#[test]
fn renew_of_an_unknown_ia_gets_no_binding() {
    // RFC 8415 §18.3.4.
    let mut s = server(AddressChoice::FromClientId);
    let mut e = Seeded::new(5);
    let renew = msg(
        MessageType::Renew,
        0x40,
        vec![
            Dhcpv6Option::ClientId(client_duid()),
            Dhcpv6Option::ServerId(server_duid()),
            Dhcpv6Option::IaNa(ia(9, vec![])),
            Dhcpv6Option::IaPd(ia(9, vec![])),
        ],
    );
    let now = Timestamp::from_unix_millis(5);
    assert_eq!(
        s.handle(now, &from_client(&renew), &mut e),
        Ok(MessageType::Reply)
    );
    let reply = reply_of(&mut s);
    assert_eq!(ia_status(&reply, IaKind::Na), Some(StatusCode::NoBinding));
    assert_eq!(ia_status(&reply, IaKind::Pd), Some(StatusCode::NoBinding));
    assert_eq!(ia_na_address(&reply), None);
    // A Rebind listing an address off this link gets it with lifetime 0.
    let rebind = msg(
        MessageType::Rebind,
        0x41,
        vec![
            Dhcpv6Option::ClientId(client_duid()),
            Dhcpv6Option::IaNa(ia(
                9,
                vec![Dhcpv6Option::IaAddr {
                    address: a("2001:db8:ffff::1"),
                    preferred_lifetime: 100,
                    valid_lifetime: 200,
                    options: vec![],
                }],
            )),
        ],
    );
    assert_eq!(
        s.handle(now, &from_client(&rebind), &mut e),
        Ok(MessageType::Reply)
    );
    let reply = reply_of(&mut s);
    let Some(Dhcpv6Option::IaNa(na)) = reply
        .options
        .iter()
        .find(|o| matches!(o, Dhcpv6Option::IaNa(_)))
    else {
        panic!("no IA_NA")
    };
    assert_eq!(
        na.options,
        vec![Dhcpv6Option::IaAddr {
            address: a("2001:db8:ffff::1"),
            preferred_lifetime: 0,
            valid_lifetime: 0,
            options: vec![],
        }]
    );
}

#[test]
fn bad_messages_are_ignored_with_a_reason() {
    // RFC 8415 §16.
    let mut s = server(AddressChoice::FromClientId);
    let mut e = Seeded::new(6);
    let now = Timestamp::from_unix_millis(5);
    let cid = Dhcpv6Option::ClientId(client_duid());
    let other_server = Dhcpv6Option::ServerId(Duid::Ll {
        hardware_type: 1,
        link_layer_address: vec![1, 2, 3, 4, 5, 6],
    });
    let cases = [
        (
            msg(
                MessageType::Solicit,
                1,
                vec![Dhcpv6Option::IaNa(ia(1, vec![]))],
            ),
            Dhcpv6Ignored::MissingClientId,
        ),
        (
            msg(
                MessageType::Solicit,
                1,
                vec![cid.clone(), Dhcpv6Option::ServerId(server_duid())],
            ),
            Dhcpv6Ignored::UnexpectedServerId,
        ),
        (
            msg(MessageType::Request, 1, vec![cid.clone()]),
            Dhcpv6Ignored::MissingServerId,
        ),
        (
            msg(
                MessageType::Request,
                1,
                vec![cid.clone(), other_server.clone()],
            ),
            Dhcpv6Ignored::WrongServerId,
        ),
        (
            msg(
                MessageType::Renew,
                1,
                vec![Dhcpv6Option::ServerId(server_duid())],
            ),
            Dhcpv6Ignored::MissingClientId,
        ),
        (
            msg(MessageType::Advertise, 1, vec![cid.clone()]),
            Dhcpv6Ignored::ServerMessage(MessageType::Advertise),
        ),
        (
            msg(MessageType::Unknown(99), 1, vec![cid.clone()]),
            Dhcpv6Ignored::UnknownType(99),
        ),
        (
            msg(
                MessageType::InformationRequest,
                1,
                vec![Dhcpv6Option::IaNa(ia(1, vec![]))],
            ),
            Dhcpv6Ignored::IaInInformationRequest,
        ),
        (
            msg(MessageType::InformationRequest, 1, vec![other_server]),
            Dhcpv6Ignored::WrongServerId,
        ),
        (
            msg(
                MessageType::Confirm,
                1,
                vec![cid.clone(), Dhcpv6Option::IaNa(ia(1, vec![]))],
            ),
            Dhcpv6Ignored::NothingToConfirm,
        ),
    ];
    for (m, why) in cases {
        assert_eq!(s.handle(now, &from_client(&m), &mut e), Err(why), "{m:?}");
    }
    let mut corrupt = odhcp6c_solicit_packet();
    corrupt[60] ^= 0x40;
    assert_eq!(
        s.handle(now, &corrupt, &mut e),
        Err(Dhcpv6Ignored::Malformed(Dhcpv6Error::BadUdpChecksum))
    );
    let mut other_port = Vec::new();
    emit_udp_packet(
        a(CLIENT_LL),
        ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        CLIENT_PORT,
        53,
        &ODHCP6C_SOLICIT,
        &mut other_port,
    )
    .expect("fits");
    assert_eq!(
        s.handle(now, &other_port, &mut e),
        Err(Dhcpv6Ignored::NotDhcp)
    );
    assert_eq!(s.poll_transmit(), None);
}

#[test]
fn decline_moves_the_client_to_another_address_and_bindings_expire() {
    // RFC 8415 §18.3.8: a declined address is not handed out again.
    let mut s = server(AddressChoice::FromClientId);
    let mut e = Seeded::new(7);
    let now = Timestamp::from_unix_millis(1_000);
    let cid = Dhcpv6Option::ClientId(client_duid());
    let sid = Dhcpv6Option::ServerId(server_duid());
    let req = msg(
        MessageType::Request,
        1,
        vec![cid.clone(), sid.clone(), Dhcpv6Option::IaNa(ia(1, vec![]))],
    );
    s.handle(now, &from_client(&req), &mut e).expect("reply");
    let first = ia_na_address(&reply_of(&mut s)).expect("address");
    let decline = msg(
        MessageType::Decline,
        2,
        vec![cid, sid, Dhcpv6Option::IaNa(ia(1, vec![]))],
    );
    s.handle(now, &from_client(&decline), &mut e)
        .expect("reply");
    reply_of(&mut s);
    s.handle(now, &from_client(&req), &mut e).expect("reply");
    let second = ia_na_address(&reply_of(&mut s)).expect("address");
    assert_ne!(first, second);
    // A client declining in a loop: every new address differs from the
    // last MAX_DECLINED ones, and the remembered set stays bounded.
    let mut recent = vec![first, second];
    for _ in 0..20 {
        s.handle(now, &from_client(&decline), &mut e)
            .expect("reply");
        reply_of(&mut s);
        s.handle(now, &from_client(&req), &mut e).expect("reply");
        let next = ia_na_address(&reply_of(&mut s)).expect("address");
        let window = recent.len().saturating_sub(lns_proto::dhcpv6::MAX_DECLINED);
        assert!(!recent[window..].contains(&next), "{next} reused");
        recent.push(next);
    }
    assert_eq!(s.to_pb().declined.len(), lns_proto::dhcpv6::MAX_DECLINED);
    // Valid lifetime 86400 s: gone after it.
    let later = now + core::time::Duration::from_secs(86_401);
    assert!(s.poll_timeout().expect("armed") <= later);
    s.handle_timeout(later);
    assert_eq!(s.bindings().count(), 0);
}

#[test]
fn deterministic_replies_and_replicated_bindings() {
    let run = |seed| {
        let mut s = server(AddressChoice::FromEntropy);
        let mut e = Seeded::new(seed);
        let now = Timestamp::from_unix_millis(9);
        let solicit = msg(
            MessageType::Solicit,
            3,
            vec![
                Dhcpv6Option::ClientId(client_duid()),
                Dhcpv6Option::RapidCommit,
                Dhcpv6Option::IaNa(ia(1, vec![])),
                Dhcpv6Option::IaPd(ia(2, vec![])),
            ],
        );
        s.handle(now, &from_client(&solicit), &mut e)
            .expect("reply");
        let bytes = s.poll_transmit().expect("reply");
        (s, bytes)
    };
    let (s1, b1) = run(11);
    let (_, b2) = run(11);
    assert_eq!(b1, b2);
    let state = s1.to_pb();
    let restored = Dhcpv6Server::from_pb(
        Dhcpv6Config {
            dns_servers: vec![],
            ..Dhcpv6Config::new(server_duid())
        },
        lns_ll(),
        a("2001:db8:aa:1::"),
        Some((a("2001:db8:bb00::"), 56)),
        &state,
    )
    .expect("valid state");
    assert_eq!(restored.to_pb(), state);
    assert_eq!(
        restored.bindings().collect::<Vec<_>>(),
        s1.bindings().collect::<Vec<_>>()
    );
}

#[test]
fn router_advertiser_answers_a_real_rs() {
    // An RS as Linux sends it after IPV6CP: from its link-local address to
    // ff02::2, Hop Limit 255, no options (RFC 4861 §4.1), checksum by hand.
    let rs: [u8; 48] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 0x3a, 0xff, // IPv6, len 8, ICMPv6, 255
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xa8, 0xbb, 0xcc, 0xff, 0xfe, 0xdd, 0xee, 0xff, 0xff, 0x02,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // ff02::2
        0x85, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // RS, checksum filled below
    ];
    let mut rs = rs.to_vec();
    let sum = rs_checksum(&rs);
    rs[42..44].copy_from_slice(&sum.to_be_bytes());
    let rx = parse_nd_packet(&rs).expect("valid RS");
    assert_eq!(rx.dst, ALL_ROUTERS);

    let mut cfg = RaConfig::for_prefix(a("2001:db8:aa:1::"));
    cfg.other_config = true;
    cfg.mtu = Some(1492);
    cfg.dns_servers = vec![a("2001:db8:53::1")];
    cfg.search_domains = vec!["ffdn.example".into()];
    let mut ra = RouterAdvertiser::new(cfg, lns_ll()).expect("valid");
    let mut e = Seeded::new(8);
    let t0 = Timestamp::from_unix_millis(1_000_000);
    ra.start(t0, &mut e);
    let first = ra.poll_transmit().expect("initial RA");
    let t1 = t0 + core::time::Duration::from_secs(5);
    ra.handle_rs(t1, &rs, &mut e).expect("accepted");
    let (now, answer) = loop {
        let t = ra.poll_timeout().expect("armed");
        ra.handle_timeout(t, &mut e);
        if let Some(p) = ra.poll_transmit() {
            break (t, p);
        }
    };
    assert!(now.saturating_since(t1) <= core::time::Duration::from_secs(16));
    let got = parse_nd_packet(&answer).expect("valid RA");
    assert_eq!(got.src, lns_ll());
    let NdMessage::RouterAdvertisement(adv) = got.message else {
        panic!("not an RA")
    };
    assert_eq!(adv.router_lifetime, 1800);
    assert!(adv.options.contains(&NdOption::Mtu(1492)));
    assert!(adv.options.iter().any(|o| matches!(
        o,
        NdOption::PrefixInformation(p) if p.on_link() && p.autonomous() && p.prefix_len == 64
    )));
    ra.stop(now);
    let last = ra.poll_transmit().expect("final RA");

    if !tshark::available() {
        eprintln!("SKIPPED tshark part: tshark is not installed");
        return;
    }
    let mut w = RawIpPcapWriter::new();
    w.packet(1, &rs);
    w.packet(2, &first);
    w.packet(3, &answer);
    w.packet(4, &last);
    let mut s = server(AddressChoice::FromClientId);
    let solicit = odhcp6c_solicit_packet();
    w.packet(5, &solicit);
    s.handle(t1, &solicit, &mut e).expect("advertise");
    w.packet(6, &s.poll_transmit().expect("advertise"));
    let ir = msg(
        MessageType::InformationRequest,
        0x30,
        vec![Dhcpv6Option::Oro(vec![23, 24, 32])],
    );
    s.handle(t1, &from_client(&ir), &mut e).expect("reply");
    w.packet(7, &s.poll_transmit().expect("reply"));
    let rel = msg(
        MessageType::Renew,
        0x40,
        vec![
            Dhcpv6Option::ClientId(client_duid()),
            Dhcpv6Option::ServerId(server_duid()),
            Dhcpv6Option::IaNa(ia(9, vec![])),
        ],
    );
    s.handle(t1, &from_client(&rel), &mut e).expect("reply");
    w.packet(8, &s.poll_transmit().expect("reply"));

    let dir = std::env::temp_dir().join(format!("lns-ipv6-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("ipv6.pcap");
    w.write_to(&path).expect("write");
    let v = tshark::decode_with_prefs(&path, &["udp.check_checksum:TRUE"]).expect("tshark");
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(v.frames, 8, "{}", v.decode);
    assert!(v.problems.is_empty(), "{:?}\n{}", v.problems, v.decode);
    for needle in [
        "Type: Router Solicitation (133)",
        "Type: Router Advertisement (134)",
        "Router lifetime (s): 0",
        "ICMPv6 Option (Recursive DNS Server 2001:db8:53::1)",
        "ICMPv6 Option (DNS Search List Option ffdn.example)",
        "ICMPv6 Option (MTU : 1492)",
        "Message type: Solicit (1)",
        "Message type: Advertise (2)",
        "Message type: Reply (7)",
        "Identity Association for Prefix Delegation",
        "Status Code: NoBinding (3)",
        "Domain Search List",
        // Wireshark 4.0 still names option 32 by its RFC 4242 title.
        "Option: Lifetime (32)",
    ] {
        assert!(
            v.decode.contains(needle),
            "missing {needle:?}:\n{}",
            v.decode
        );
    }
    assert!(!v.decode.contains("[Checksum Status: Bad]"), "{}", v.decode);
    assert_eq!(
        v.decode.matches("[Checksum Status: Good]").count(),
        8,
        "{}",
        v.decode
    );
}

fn rs_checksum(p: &[u8]) -> u16 {
    let mut acc = lns_proto::ip::checksum::Accumulator::new();
    acc.add_bytes(&p[8..40])
        .add_u32(8)
        .add_u16(58)
        .add_bytes(&p[40..]);
    acc.checksum()
}

fn any_addr() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from)
}

fn any_domain() -> impl Strategy<Value = String> {
    proptest::collection::vec("[a-z0-9-]{1,20}", 1..4).prop_map(|labels| labels.join("."))
}

fn any_dhcp_option() -> impl Strategy<Value = Dhcpv6Option> {
    let leaf = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(|id| Dhcpv6Option::ClientId(
            Duid::En {
                enterprise_number: 9,
                identifier: id
            }
        )),
        proptest::collection::vec(any::<u16>(), 0..6).prop_map(Dhcpv6Option::Oro),
        any::<u8>().prop_map(Dhcpv6Option::Preference),
        any::<u16>().prop_map(Dhcpv6Option::ElapsedTime),
        (any::<u16>(), "[ -~]{0,20}").prop_map(|(c, m)| Dhcpv6Option::StatusCode {
            status: StatusCode::from(c),
            message: m
        }),
        Just(Dhcpv6Option::RapidCommit),
        proptest::collection::vec(any_addr(), 0..3).prop_map(Dhcpv6Option::DnsServers),
        proptest::collection::vec(any_domain(), 0..3).prop_map(Dhcpv6Option::DomainList),
        any::<u32>().prop_map(Dhcpv6Option::InformationRefreshTime),
        any::<u32>().prop_map(Dhcpv6Option::SolMaxRt),
        (any_addr(), any::<u32>(), any::<u32>()).prop_map(|(address, p, v)| {
            Dhcpv6Option::IaAddr {
                address,
                preferred_lifetime: p,
                valid_lifetime: v,
                options: vec![],
            }
        }),
        (1000u16..2000, proptest::collection::vec(any::<u8>(), 0..10))
            .prop_map(|(code, data)| Dhcpv6Option::Unknown { code, data }),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(inner, 0..4),
        )
            .prop_map(|(iaid, t1, t2, options)| {
                Dhcpv6Option::IaPd(Ia {
                    iaid,
                    t1,
                    t2,
                    options,
                })
            })
    })
}

fn any_nd_option() -> impl Strategy<Value = NdOption> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 6..=6).prop_map(NdOption::SourceLinkLayerAddress),
        (
            any_addr(),
            0u8..=128,
            any::<u8>(),
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(
                |(prefix, prefix_len, flags, valid_lifetime, preferred_lifetime)| {
                    NdOption::PrefixInformation(PrefixInformation {
                        prefix,
                        prefix_len,
                        flags,
                        valid_lifetime,
                        preferred_lifetime,
                    })
                }
            ),
        any::<u32>().prop_map(NdOption::Mtu),
        (any::<u32>(), proptest::collection::vec(any_addr(), 1..4))
            .prop_map(|(lifetime, servers)| NdOption::Rdnss { lifetime, servers }),
        (any::<u32>(), proptest::collection::vec(any_domain(), 1..4))
            .prop_map(|(lifetime, domains)| NdOption::Dnssl { lifetime, domains }),
        (100u8..=200, proptest::collection::vec(any::<u8>(), 0..3)).prop_map(|(kind, n)| {
            NdOption::Unknown {
                kind,
                data: n.iter().flat_map(|b| [*b; 8]).chain([0u8; 6]).collect(),
            }
        }),
    ]
}

proptest! {
    #[test]
    fn dhcpv6_messages_round_trip(ty in 1u8..=11, xid in 0u32..0x0100_0000,
                                  options in proptest::collection::vec(any_dhcp_option(), 0..6)) {
        let m = Dhcpv6Packet::Message(Dhcpv6Message {
            msg_type: MessageType::from(ty),
            transaction_id: xid,
            options,
        });
        let mut out = Vec::new();
        m.emit(&mut out).expect("valid");
        prop_assert_eq!(Dhcpv6Packet::parse_bytes(&out), Ok(m));
    }

    #[test]
    fn nd_packets_round_trip(options in proptest::collection::vec(any_nd_option(), 0..5),
                             lifetime in any::<u16>(), flags in any::<u8>()) {
        let ra = NdMessage::RouterAdvertisement(lns_proto::nd::RouterAdvertisement {
            cur_hop_limit: 64,
            flags,
            router_lifetime: lifetime,
            reachable_time: 0,
            retrans_timer: 0,
            options: options.clone(),
        });
        let mut p = Vec::new();
        emit_nd_packet(lns_ll(), a("ff02::1"), &ra, &mut p).expect("valid");
        prop_assert_eq!(parse_nd_packet(&p).expect("valid").message, ra);
        let rs = NdMessage::RouterSolicitation(RouterSolicitation { options });
        let mut p = Vec::new();
        emit_nd_packet(a(CLIENT_LL), ALL_ROUTERS, &rs, &mut p).expect("valid");
        prop_assert_eq!(parse_nd_packet(&p).expect("valid").message, rs);
    }

    #[test]
    fn no_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300),
                                   wrap in any::<bool>()) {
        let _ = Dhcpv6Packet::parse_bytes(&bytes);
        let _ = parse_nd_packet(&bytes);
        let mut s = server(AddressChoice::FromEntropy);
        let mut e = Seeded::new(1);
        let packet = if wrap {
            let mut p = Vec::new();
            emit_udp_packet(a(CLIENT_LL), ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
                            CLIENT_PORT, SERVER_PORT, &bytes, &mut p).expect("fits");
            p
        } else {
            bytes.clone()
        };
        let _ = s.handle(Timestamp::EPOCH, &packet, &mut e);
        let mut ra = RouterAdvertiser::new(RaConfig::for_prefix(a("2001:db8::")), lns_ll())
            .expect("valid");
        ra.start(Timestamp::EPOCH, &mut e);
        let _ = ra.handle_rs(Timestamp::EPOCH, &packet, &mut e);
    }
}
