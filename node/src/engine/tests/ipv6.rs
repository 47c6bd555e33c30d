//! IPv6 in virtual time: IPV6CP opens -> RA and prefixes published; RS ->
//! solicited RA; DHCPv6 Solicit/Advertise/Request/Renew/Rebind/Release,
//! Rapid Commit, Information-Request; bad messages counted; prefixes
//! released at session end; AAA prefixes honoured. The subscriber's IPv6
//! packets are built with `lns_proto` and enter as PPP frames 0x0057, as
//! the data plane's link-scope divert delivers them.

use super::*;
use crate::engine::ipv6::{ppp_ipv6_frame, Ipv6Grant, Ipv6Settings};
use lns_proto::dhcpv6::{
    emit_udp_packet, parse_udp_packet, Dhcpv6Config, Dhcpv6Message, Dhcpv6Option, Dhcpv6Packet,
    Duid, Ia, MessageType,
};
use lns_proto::nd::{
    emit_nd_packet, parse_nd_packet, NdMessage, RaConfig, RouterSolicitation, ALL_ROUTERS,
};
use std::net::Ipv6Addr;

fn v6(s: &str) -> Ipv6Addr {
    s.parse().expect("literal")
}

/// The subscriber's link-local address.
const SUB_LL: &str = "fe80::1234:5678:9abc:def0";

fn server_duid() -> Duid {
    Duid::En {
        enterprise_number: 32473,
        identifier: b"lnsd".to_vec(),
    }
}

fn settings() -> Ipv6Settings {
    let mut ra =
        RaConfig::for_prefix(Ipv6Addr::UNSPECIFIED).with_max_interval(Duration::from_secs(600));
    ra.managed = true;
    ra.other_config = true;
    ra.mtu = Some(1460);
    ra.dns_servers = vec![v6("2001:db8::53")];
    ra.search_domains = vec!["example.net".into()];
    for p in &mut ra.prefixes {
        p.valid_lifetime = 86_400;
        p.preferred_lifetime = 14_400;
    }
    let mut dhcpv6 = Dhcpv6Config::new(server_duid());
    dhcpv6.dns_servers = vec![v6("2001:db8::53")];
    dhcpv6.domains = vec!["example.net".into()];
    Ipv6Settings {
        // Two /64s and two /56s: small enough to exhaust.
        link_pool: Some((v6("2001:db8:100::"), 63)),
        pd_pool: Some((v6("2001:db8:200::"), 55)),
        pd_length: 56,
        sticky: false,
        ra,
        dhcpv6,
    }
}

fn sim() -> Sim {
    let mut sim = Sim::new(config());
    sim.engine.enable_ipv6(settings()).expect("valid pools");
    sim
}

/// IPv6 packets the engine sent to `key`, in order.
fn sent_ipv6(sim: &Sim, key: SessionKey) -> Vec<Vec<u8>> {
    sim.outputs
        .iter()
        .filter_map(|o| match o {
            Output::SendPpp { session, frame }
                if *session == key && frame.starts_with(&[0xff, 0x03, 0x00, 0x57]) =>
            {
                Some(frame[4..].to_vec())
            }
            _ => None,
        })
        .collect()
}

/// The last data-plane entry published for `key`.
fn published(sim: &Sim, key: SessionKey) -> Vec<(Ipv6Addr, u8)> {
    sim.outputs
        .iter()
        .rev()
        .find_map(|o| match o {
            Output::SessionUp(e) if e.tunnel_id == key.tunnel && e.session_id == key.session => {
                Some(e.ipv6_prefixes.clone())
            }
            _ => None,
        })
        .unwrap_or_default()
}

fn send(sim: &mut Sim, key: SessionKey, packet: &[u8]) {
    sim.apply(Input::PppFrame {
        session: key,
        bytes: ppp_ipv6_frame(packet),
    });
    sim.pump();
}

fn client_duid() -> Duid {
    Duid::Ll {
        hardware_type: 1,
        link_layer_address: vec![0x02, 0x00, 0x00, 0x00, 0x00, 0x07],
    }
}

fn dhcp(msg_type: MessageType, xid: u32, options: Vec<Dhcpv6Option>) -> Vec<u8> {
    let mut payload = Vec::new();
    Dhcpv6Packet::Message(Dhcpv6Message {
        msg_type,
        transaction_id: xid,
        options,
    })
    .emit(&mut payload)
    .expect("encodable");
    let mut packet = Vec::new();
    emit_udp_packet(v6(SUB_LL), v6("ff02::1:2"), 546, 547, &payload, &mut packet)
        .expect("encodable");
    packet
}

fn ia(iaid: u32) -> Ia {
    Ia {
        iaid,
        t1: 0,
        t2: 0,
        options: Vec::new(),
    }
}

/// The DHCPv6 reply in the last packet sent to `key`: (src, message).
fn last_reply(sim: &Sim, key: SessionKey) -> (Ipv6Addr, Ipv6Addr, Dhcpv6Message) {
    let p = sent_ipv6(sim, key).pop().expect("a reply");
    let udp = parse_udp_packet(&p).expect("valid UDP");
    assert_eq!((udp.src_port, udp.dst_port), (547, 546));
    match Dhcpv6Packet::parse_bytes(udp.payload).expect("valid DHCPv6") {
        Dhcpv6Packet::Message(m) => (udp.src, udp.dst, m),
        Dhcpv6Packet::Relay(_) => panic!("relay reply"),
    }
}

fn ia_contents(m: &Dhcpv6Message) -> (Option<Ipv6Addr>, Option<(Ipv6Addr, u8)>) {
    let mut na = None;
    let mut pd = None;
    for o in &m.options {
        match o {
            Dhcpv6Option::IaNa(ia) => {
                for i in &ia.options {
                    if let Dhcpv6Option::IaAddr { address, .. } = i {
                        na = Some(*address);
                    }
                }
            }
            Dhcpv6Option::IaPd(ia) => {
                for i in &ia.options {
                    if let Dhcpv6Option::IaPrefix {
                        prefix, prefix_len, ..
                    } = i
                    {
                        pd = Some((*prefix, *prefix_len));
                    }
                }
            }
            _ => {}
        }
    }
    (na, pd)
}

fn tally(sim: &Sim, what: &str) -> u64 {
    sim.engine
        .ipv6_tally()
        .find(|(k, _)| *k == what)
        .map_or(0, |(_, v)| v)
}

#[test]
fn ipv6cp_open_publishes_the_prefixes_and_sends_an_ra_from_our_link_local() {
    let mut sim = sim();
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let v = sim.engine.session_ipv6(key).expect("IPv6 up");
    let ours = v.link_local;
    assert_eq!(u128::from(ours) >> 64, 0xfe80_0000_0000_0000);
    let prefixes = vec![(v6("2001:db8:100::"), 64), (v6("2001:db8:200::"), 56)];
    assert_eq!(published(&sim, key), prefixes);
    assert_eq!(sim.engine.ipv6_prefixes(key), prefixes);
    let ras = sent_ipv6(&sim, key);
    let ra = ras.first().expect("an RA at once");
    let rx = parse_nd_packet(ra).expect("valid RA");
    assert_eq!((rx.src, rx.dst), (ours, v6("ff02::1")));
    // RFC 4861 §4.2 and §4.6, RFC 8106 §5: the whole ICMPv6 body, checksum
    // (bytes 2-3) aside.
    #[rustfmt::skip]
    let expected: Vec<u8> = vec![
        0x86, 0x00, 0x00, 0x00,             // RA, code 0, checksum
        0x40, 0xc0, 0x07, 0x08,             // hop limit 64, M and O, lifetime 1800 s
        0, 0, 0, 0, 0, 0, 0, 0,             // reachable time, retrans timer
        0x05, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0xb4, // MTU 1460
        0x03, 0x04, 0x40, 0xc0,             // prefix information /64, L and A
        0x00, 0x01, 0x51, 0x80, 0x00, 0x00, 0x38, 0x40, // valid 86400, preferred 14400
        0, 0, 0, 0,
        0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0x19, 0x03, 0x00, 0x00, 0x00, 0x00, 0x07, 0x08, // RDNSS, lifetime 1800
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x53,
        0x1f, 0x03, 0x00, 0x00, 0x00, 0x00, 0x07, 0x08, // DNSSL, lifetime 1800
        0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'n', b'e', b't', 0x00,
        0, 0, 0,                            // padding to 8 octets
    ];
    let mut body = ra[40..].to_vec();
    body[2..4].copy_from_slice(&[0, 0]);
    assert_eq!(body, expected);
    assert_eq!(ra[7], 255, "hop limit 255 (RFC 4861 §6.1.2)");
}

#[test]
fn router_solicitation_gets_a_unicast_ra_and_ras_repeat() {
    let mut sim = sim();
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let before = sent_ipv6(&sim, key).len();
    let mut rs = Vec::new();
    let msg = NdMessage::RouterSolicitation(RouterSolicitation {
        options: Vec::new(),
    });
    emit_nd_packet(v6(SUB_LL), ALL_ROUTERS, &msg, &mut rs).expect("encodable");
    send(&mut sim, key, &rs);
    assert_eq!(tally(&sim, "router solicitation"), 1);
    // RFC 4861 §6.2.6: after a random delay, and at least
    // MIN_DELAY_BETWEEN_RAS after the previous RA.
    sim.advance(Duration::from_secs(4));
    let ras = sent_ipv6(&sim, key);
    assert!(ras.len() > before, "solicited RA sent");
    let answered = ras[before..]
        .iter()
        .filter_map(|p| parse_nd_packet(p).ok())
        .any(|rx| rx.dst == v6(SUB_LL) || rx.dst == v6("ff02::1"));
    assert!(answered);
    // RFC 4861 §6.2.4: unsolicited RAs keep coming (the initial ones at
    // most 16 s apart, then within the configured interval).
    let n = sent_ipv6(&sim, key).len();
    sim.advance(Duration::from_secs(700));
    assert!(sent_ipv6(&sim, key).len() >= n + 3);
}

#[test]
fn dhcpv6_solicit_request_renew_rebind_release() {
    let mut sim = sim();
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let ours = sim.engine.session_ipv6(key).expect("up").link_local;
    let client = Dhcpv6Option::ClientId(client_duid());
    let oro = Dhcpv6Option::Oro(vec![23, 24]);
    let solicit = dhcp(
        MessageType::Solicit,
        0x00ab_cdef,
        vec![
            client.clone(),
            Dhcpv6Option::IaNa(ia(1)),
            Dhcpv6Option::IaPd(ia(2)),
            oro.clone(),
        ],
    );
    send(&mut sim, key, &solicit);
    let (src, dst, adv) = last_reply(&sim, key);
    // RFC 8415 §18.3.10: from our link-local address to the client's.
    assert_eq!((src, dst), (ours, v6(SUB_LL)));
    assert_eq!(adv.msg_type, MessageType::Advertise);
    assert_eq!(adv.transaction_id, 0x00ab_cdef);
    let (na, pd) = ia_contents(&adv);
    let na = na.expect("IA_NA address");
    assert_eq!(u128::from(na) >> 64, u128::from(v6("2001:db8:100::")) >> 64);
    assert_eq!(pd, Some((v6("2001:db8:200::"), 56)));
    assert!(adv
        .options
        .contains(&Dhcpv6Option::DnsServers(vec![v6("2001:db8::53")])));
    assert!(adv
        .options
        .contains(&Dhcpv6Option::DomainList(vec!["example.net".into()])));
    // RFC 8415 §21.3: the Server Identifier, byte for byte (DUID-EN 32473 "lnsd").
    let p = sent_ipv6(&sim, key).pop().expect("reply");
    let udp = parse_udp_packet(&p).expect("udp");
    assert_eq!(&udp.payload[..4], &[0x02, 0xab, 0xcd, 0xef]);
    let server_id: [u8; 14] = [
        0x00, 0x02, 0x00, 0x0a, 0x00, 0x02, 0x00, 0x00, 0x7e, 0xd9, b'l', b'n', b's', b'd',
    ];
    assert!(udp.payload.windows(14).any(|w| w == server_id));
    assert_eq!(
        sim.engine
            .session_ipv6(key)
            .expect("up")
            .dhcp
            .bindings()
            .count(),
        0
    );

    let server = Dhcpv6Option::ServerId(server_duid());
    let with_server = |t, xid| {
        dhcp(
            t,
            xid,
            vec![
                client.clone(),
                server.clone(),
                Dhcpv6Option::IaNa(ia(1)),
                Dhcpv6Option::IaPd(ia(2)),
            ],
        )
    };
    send(&mut sim, key, &with_server(MessageType::Request, 2));
    let (_, _, reply) = last_reply(&sim, key);
    assert_eq!(reply.msg_type, MessageType::Reply);
    assert_eq!(ia_contents(&reply), (Some(na), pd));
    assert_eq!(
        sim.engine
            .session_ipv6(key)
            .expect("up")
            .dhcp
            .bindings()
            .count(),
        2
    );

    send(&mut sim, key, &with_server(MessageType::Renew, 3));
    assert_eq!(ia_contents(&last_reply(&sim, key).2), (Some(na), pd));
    let rebind = dhcp(
        MessageType::Rebind,
        4,
        vec![
            client.clone(),
            Dhcpv6Option::IaNa(ia(1)),
            Dhcpv6Option::IaPd(ia(2)),
        ],
    );
    send(&mut sim, key, &rebind);
    assert_eq!(ia_contents(&last_reply(&sim, key).2), (Some(na), pd));

    send(&mut sim, key, &with_server(MessageType::Release, 5));
    assert_eq!(last_reply(&sim, key).2.msg_type, MessageType::Reply);
    assert_eq!(
        sim.engine
            .session_ipv6(key)
            .expect("up")
            .dhcp
            .bindings()
            .count(),
        0
    );
    assert_eq!(tally(&sim, "dhcpv6 answered"), 5);
}

#[test]
fn framed_ipv6_address_is_the_ia_na_address_and_its_64_the_link() {
    // RFC 6911 §3.1: Framed-IPv6-Address, given by DHCPv6 IA_NA.
    let mut sim = sim();
    sim.grant.set_ipv6(Ipv6Grant {
        framed_address: Some(v6("2001:db8:100:7::99")),
        ..Ipv6Grant::default()
    });
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert_eq!(published(&sim, key)[0], (v6("2001:db8:100:7::"), 64));
    let solicit = dhcp(
        MessageType::Solicit,
        7,
        vec![
            Dhcpv6Option::ClientId(client_duid()),
            Dhcpv6Option::RapidCommit,
            Dhcpv6Option::IaNa(ia(1)),
        ],
    );
    send(&mut sim, key, &solicit);
    let (_, _, reply) = last_reply(&sim, key);
    assert_eq!(ia_contents(&reply).0, Some(v6("2001:db8:100:7::99")));
}

#[test]
fn rapid_commit_and_information_request_are_answered_with_reply() {
    let mut sim = sim();
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let client = Dhcpv6Option::ClientId(client_duid());
    let solicit = dhcp(
        MessageType::Solicit,
        7,
        vec![
            client.clone(),
            Dhcpv6Option::RapidCommit,
            Dhcpv6Option::IaPd(ia(9)),
        ],
    );
    send(&mut sim, key, &solicit);
    let (_, _, reply) = last_reply(&sim, key);
    // RFC 8415 §18.3.1: a committed Reply carrying Rapid Commit.
    assert_eq!(reply.msg_type, MessageType::Reply);
    assert!(reply.options.contains(&Dhcpv6Option::RapidCommit));
    assert_eq!(ia_contents(&reply).1, Some((v6("2001:db8:200::"), 56)));
    let info = dhcp(
        MessageType::InformationRequest,
        8,
        vec![client, Dhcpv6Option::Oro(vec![23, 24])],
    );
    send(&mut sim, key, &info);
    let (_, _, reply) = last_reply(&sim, key);
    assert_eq!(reply.msg_type, MessageType::Reply);
    assert!(reply
        .options
        .contains(&Dhcpv6Option::DnsServers(vec![v6("2001:db8::53")])));
}

#[test]
fn bad_and_unknown_messages_are_ignored_and_counted() {
    let mut sim = sim();
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let sent = sent_ipv6(&sim, key).len();
    // RFC 8415 §16.2: a Solicit without Client Identifier is discarded.
    send(
        &mut sim,
        key,
        &dhcp(MessageType::Solicit, 1, vec![Dhcpv6Option::IaNa(ia(1))]),
    );
    // §16.3: an Advertise is a server's message.
    send(
        &mut sim,
        key,
        &dhcp(
            MessageType::Advertise,
            2,
            vec![Dhcpv6Option::ClientId(client_duid())],
        ),
    );
    // A truncated IPv6 header and a UDP datagram to another port.
    send(&mut sim, key, &[0x60, 0x00, 0x00]);
    let mut other = Vec::new();
    emit_udp_packet(v6(SUB_LL), v6("ff02::1:2"), 546, 9, b"x", &mut other).expect("ok");
    send(&mut sim, key, &other);
    // An RS with a bad checksum (RFC 4861 §6.1.1).
    let mut rs = Vec::new();
    let msg = NdMessage::RouterSolicitation(RouterSolicitation {
        options: Vec::new(),
    });
    emit_nd_packet(v6(SUB_LL), ALL_ROUTERS, &msg, &mut rs).expect("encodable");
    rs[42] ^= 0xff;
    send(&mut sim, key, &rs);
    // RFC 8415 §16: a DHCPv6 message whose options overrun it is malformed
    // (Solicit, xid 3, an option claiming 0x40 bytes with 2 present).
    let mut bad = Vec::new();
    let garbage = [0x01, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x40, 0xaa, 0xbb];
    emit_udp_packet(v6(SUB_LL), v6("ff02::1:2"), 546, 547, &garbage, &mut bad).expect("ok");
    send(&mut sim, key, &bad);
    assert_eq!(sent_ipv6(&sim, key).len(), sent, "nothing answered");
    let reasons = [
        "dhcpv6 missing client id",
        "dhcpv6 server message",
        "malformed IPv6",
        "udp not dhcpv6",
        "invalid RS",
        "dhcpv6 malformed",
    ];
    for reason in reasons {
        assert_eq!(tally(&sim, reason), 1, "{reason}");
    }
    assert!(sim.logged("IPv6 packet ignored: dhcpv6 missing client id"));
    // The ignored counts (exported as lnsd_ipv6_ignored_total) hold exactly
    // these, each a member of the closed set of reasons; answers are not in.
    let ignored: Vec<(&str, u64)> = sim.engine.ipv6_ignored().collect();
    let mut expected: Vec<(&str, u64)> = reasons.iter().map(|r| (*r, 1)).collect();
    expected.sort();
    assert_eq!(ignored, expected);
    assert!(ignored
        .iter()
        .all(|(r, _)| crate::engine::ipv6::IGNORED_REASONS.contains(r)));
}

#[test]
fn prefixes_go_back_to_the_pools_at_session_end_and_pools_can_run_out() {
    let mut sim = sim();
    let a = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let b = sim.dial("bob", "builder", vec![AuthMethod::Pap]);
    assert_eq!(sim.engine.ipv6_pool_usage(), (2, 2));
    assert_eq!(published(&sim, b)[0], (v6("2001:db8:100:1::"), 64));
    // The link pool holds two /64s: a third session gets no IPv6.
    let c = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert!(sim.engine.session_ipv6(c).is_none());
    assert!(sim.logged("no IPv6 link prefix"));
    assert_eq!(tally(&sim, "no link prefix"), 1);
    sim.apply(Input::Admin(AdminCommand::KillSession(a)));
    sim.advance(Duration::from_secs(10));
    assert!(sim.session_down(a));
    assert!(sim.engine.session_ipv6(a).is_none());
    assert_eq!(sim.engine.ipv6_pool_usage(), (1, 1));
    let d = sim.dial("bob", "builder", vec![AuthMethod::Pap]);
    assert_eq!(
        published(&sim, d),
        vec![(v6("2001:db8:100::"), 64), (v6("2001:db8:200::"), 56)]
    );
}

#[test]
fn sticky_pools_give_a_returning_user_the_same_prefixes() {
    let mut s = settings();
    s.sticky = true;
    let mut sim = Sim::new(config());
    sim.engine.enable_ipv6(s).expect("valid pools");
    let a = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let first = published(&sim, a);
    sim.apply(Input::Admin(AdminCommand::KillSession(a)));
    sim.advance(Duration::from_secs(10));
    let b = sim.dial("bob", "builder", vec![AuthMethod::Pap]);
    assert_ne!(published(&sim, b), first, "the cursor moved on");
    let a2 = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert_eq!(published(&sim, a2), first);
}

#[test]
fn aaa_prefixes_and_dns_are_used_and_reserved_in_the_pools() {
    let mut sim = sim();
    sim.grant.set_ipv6(Ipv6Grant {
        framed_prefix: Some((v6("2001:db8:100:1::"), 64)),
        delegated_prefix: Some((v6("2001:db8:300::"), 48)),
        dns: vec![v6("2001:db8::99")],
        ..Ipv6Grant::default()
    });
    let a = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert_eq!(
        published(&sim, a),
        vec![(v6("2001:db8:100:1::"), 64), (v6("2001:db8:300::"), 48)]
    );
    let ra = parse_nd_packet(&sent_ipv6(&sim, a)[0]).expect("RA");
    let NdMessage::RouterAdvertisement(ra) = ra.message else {
        panic!("not an RA");
    };
    assert!(ra.options.iter().any(|o| matches!(
        o,
        lns_proto::nd::NdOption::Rdnss { servers, .. } if servers == &vec![v6("2001:db8::99")]
    )));
    // The AAA /64 is reserved: the pool's next session gets the other one.
    sim.grant = Grant::default_pool();
    let b = sim.dial("bob", "builder", vec![AuthMethod::Pap]);
    assert_eq!(published(&sim, b)[0], (v6("2001:db8:100::"), 64));
    assert_eq!(sim.engine.ipv6_pool_usage(), (2, 1));
}

#[test]
fn ipv6_exchanges_are_deterministic() {
    let run = || {
        let mut sim = sim();
        let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
        let solicit = dhcp(
            MessageType::Solicit,
            1,
            vec![
                Dhcpv6Option::ClientId(client_duid()),
                Dhcpv6Option::RapidCommit,
                Dhcpv6Option::IaNa(ia(1)),
                Dhcpv6Option::IaPd(ia(2)),
            ],
        );
        send(&mut sim, key, &solicit);
        sim.advance(Duration::from_secs(60));
        sim.outputs
    };
    assert_eq!(run(), run());
}

#[test]
fn without_ipv6_settings_ipv6cp_opens_and_nothing_else_happens() {
    let mut sim = Sim::new(config());
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert!(sim.engine.session_ipv6(key).is_none());
    assert!(sent_ipv6(&sim, key).is_empty());
    assert!(published(&sim, key).is_empty());
    assert!(sim
        .sub_events
        .iter()
        .any(|(k, e)| *k == key && matches!(e, SubEvent::Ipv6Up { .. })));
}

#[test]
fn a_dual_stack_session_holds_its_ipv4_address_once_ipcp_asks() {
    let mut sim = sim();
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert!(sim.engine.session(key).expect("session").ipv4.is_some());
    let used: u64 = sim.engine.pools().usage().iter().map(|(_, u, _)| u).sum();
    assert_eq!(used, 1);
}

#[test]
fn framed_interface_id_is_naked_to_the_subscriber_and_adopted() {
    // RFC 3162 §2.2 through RFC 5072 §4.1: the subscriber's IPV6CP ends
    // with the RADIUS identifier, so its link-local and SLAAC use it.
    let mut sim = sim();
    sim.grant.set_ipv6(Ipv6Grant {
        interface_id: Some([0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55]),
        ..Ipv6Grant::default()
    });
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let ids: Vec<(u64, u64)> = sim
        .sub_events
        .iter()
        .filter(|(k, _)| *k == key)
        .filter_map(|(_, e)| match e {
            SubEvent::Ipv6Up { local_id, peer_id } => Some((*local_id, *peer_id)),
            _ => None,
        })
        .collect();
    let ours = sim.engine.session_ipv6(key).expect("IPv6 up").link_local;
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(ids[0].0, 0x0211_22ff_fe33_4455, "the subscriber adopted it");
    assert_eq!(u128::from(ours) as u64, ids[0].1, "our side unchanged");
}

#[test]
fn an_ipv6_only_session_comes_up_and_counts_as_established() {
    let mut sim = sim();
    sim.drop_ipcp = true;
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.advance(Duration::from_secs(5));
    // No IPCP Configure-Request from the subscriber: no IPv4 address is
    // reserved (the pool shows none in use) and none is published.
    let s = sim.engine.session(key).expect("session");
    assert_eq!(s.ipv4, None);
    let used: u64 = sim.engine.pools().usage().iter().map(|(_, u, _)| u).sum();
    assert_eq!(used, 0, "an IPv6-only session holds no IPv4 address");
    assert_eq!(sim.session_up(key), None, "no IPv4 published");
    assert_eq!(published(&sim, key).len(), 2, "both prefixes published");
    let counts = crate::control::session_counts(&sim.engine);
    assert_eq!((counts.established, counts.negotiating), (1, 0));
    assert!(!sim.session_down(key));
}

#[test]
fn ipv6_state_restores_on_another_engine_with_prefixes_reserved_and_timers_kept() {
    let mut sim = sim();
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let solicit = dhcp(
        MessageType::Solicit,
        1,
        vec![
            Dhcpv6Option::ClientId(client_duid()),
            Dhcpv6Option::RapidCommit,
            Dhcpv6Option::IaNa(ia(1)),
            Dhcpv6Option::IaPd(ia(2)),
        ],
    );
    send(&mut sim, key, &solicit);
    let records = sim.engine.ipv6_records();
    assert_eq!(records.len(), 1);
    // A second engine with the same sessions (dialled the same way).
    let mut other = self::sim();
    let k2 = other.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert_eq!(k2, key);
    other.engine.ipv6_session_ended(key);
    assert_eq!(other.engine.ipv6_pool_usage(), (0, 0));
    other.engine.restore_ipv6(&records).expect("restores");
    assert_eq!(other.engine.ipv6_records(), records);
    assert_eq!(other.engine.ipv6_pool_usage(), (1, 1));
    let v = other.engine.session_ipv6(key).expect("restored");
    assert_eq!(v.dhcp.bindings().count(), 2);
    assert_eq!(
        other.engine.poll_timeout(),
        other.engine.scanned_timeout(),
        "timer index"
    );
    // Unknown sessions and a disabled engine are refused.
    let mut bare = Sim::new(config());
    assert!(bare.engine.restore_ipv6(&records).is_err());
    bare.engine.enable_ipv6(settings()).expect("valid");
    assert_eq!(
        bare.engine.restore_ipv6(&records),
        Err(crate::engine::Ipv6RestoreError::UnknownSession(key))
    );
}

#[test]
fn the_advertised_mtu_never_exceeds_the_subscribers_mru() {
    let mut sim = sim();
    let mut cfg = LinkConfig::subscriber(b"alice", b"wonderland");
    cfg.auth_order = vec![AuthMethod::Pap];
    cfg.mru = 1400;
    let key = sim.dial_with(cfg);
    let ra = parse_nd_packet(&sent_ipv6(&sim, key)[0]).expect("RA");
    let NdMessage::RouterAdvertisement(ra) = ra.message else {
        panic!("not an RA");
    };
    // RFC 4861 §4.6.4: configured 1460, the subscriber receives at most 1400.
    assert!(ra.options.contains(&lns_proto::nd::NdOption::Mtu(1400)));
}

#[test]
fn aaa_prefixes_that_overlap_another_session_or_are_too_short_are_refused() {
    let mut sim = sim();
    sim.grant.set_ipv6(Ipv6Grant {
        framed_prefix: Some((v6("2001:db8:900::"), 64)),
        delegated_prefix: Some((v6("2001:db8:a00::"), 48)),
        ..Ipv6Grant::default()
    });
    let a = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert_eq!(published(&sim, a).len(), 2);
    // The same /64 again: refused, nothing routed to the second session.
    let b = sim.dial("bob", "builder", vec![AuthMethod::Pap]);
    assert!(sim.engine.session_ipv6(b).is_none());
    assert!(sim.logged("prefix 2001:db8:900::/64 is already in use"));
    // A delegated /56 inside alice's /48, and a /8: refused, the link
    // prefix still comes from the pool.
    for d in [(v6("2001:db8:a00:100::"), 56), (v6("2000::"), 8)] {
        sim.grant.set_ipv6(Ipv6Grant {
            delegated_prefix: Some(d),
            ..Ipv6Grant::default()
        });
        let c = sim.dial("bob", "builder", vec![AuthMethod::Pap]);
        let p = published(&sim, c);
        assert_eq!(p.len(), 1, "{p:?}");
        sim.apply(Input::Admin(AdminCommand::KillSession(c)));
        sim.advance(Duration::from_secs(10));
    }
    assert!(sim.logged("is shorter than /32"));
}
