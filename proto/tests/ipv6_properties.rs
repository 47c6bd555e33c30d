//! Property tests of the IPv6 control-plane machines over random event
//! sequences: the DHCPv6 server never hands out an address off the session
//! /64, never the same address twice, and the delegated prefix to at most one
//! IA; its state survives a protobuf round trip at every step. The Router
//! Advertisement sender keeps multicast RAs MIN_DELAY_BETWEEN_RAS apart and
//! answers every solicitation within MIN_DELAY_BETWEEN_RAS + MAX_RA_DELAY_TIME.

use std::net::Ipv6Addr;
use std::time::Duration;

use lns_proto::dhcpv6::{
    emit_udp_packet, parse_udp_packet, AddressChoice, Dhcpv6Config, Dhcpv6Message, Dhcpv6Option,
    Dhcpv6Packet, Dhcpv6Server, Duid, Ia, IaKind, MessageType, ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
    CLIENT_PORT, SERVER_PORT,
};
use lns_proto::entropy::Seeded;
use lns_proto::nd::{
    emit_nd_packet, parse_nd_packet, NdMessage, RaConfig, RouterAdvertiser, RouterSolicitation,
    ALL_NODES, ALL_ROUTERS, MAX_RA_DELAY_TIME, MIN_DELAY_BETWEEN_RAS,
};
use lns_proto::time::Timestamp;
use proptest::prelude::*;

fn a(s: &str) -> Ipv6Addr {
    s.parse().expect("literal")
}

fn server_duid() -> Duid {
    Duid::Ll {
        hardware_type: 1,
        link_layer_address: vec![0x02, 0x00, 0x00, 0x00, 0x00, 0x01],
    }
}

fn new_server(choice: AddressChoice) -> Dhcpv6Server {
    let mut c = Dhcpv6Config::new(server_duid());
    c.address_choice = choice;
    Dhcpv6Server::new(
        c,
        a("fe80::1"),
        a("2001:db8:7:7::"),
        Some((a("2001:db8:700::"), 56)),
    )
    .expect("valid")
}

/// One client action: (client 0-2, message kind 0-7, iaid 0-2, NA, PD, seconds later).
type Step = (u8, u8, u32, bool, bool, u32);

fn client_message(step: Step, xid: u32) -> Dhcpv6Message {
    let (client, kind, iaid, na, pd, _) = step;
    let msg_type = match kind {
        0 | 1 => MessageType::Solicit,
        2 => MessageType::Request,
        3 => MessageType::Renew,
        4 => MessageType::Rebind,
        5 => MessageType::Release,
        6 => MessageType::Decline,
        _ => MessageType::InformationRequest,
    };
    let mut options = Vec::new();
    if msg_type != MessageType::InformationRequest {
        options.push(Dhcpv6Option::ClientId(Duid::En {
            enterprise_number: 9,
            identifier: vec![client],
        }));
    }
    if matches!(
        msg_type,
        MessageType::Request | MessageType::Renew | MessageType::Release | MessageType::Decline
    ) {
        options.push(Dhcpv6Option::ServerId(server_duid()));
    }
    if kind == 1 {
        options.push(Dhcpv6Option::RapidCommit);
    }
    let ia = |iaid| Ia {
        iaid,
        t1: 0,
        t2: 0,
        options: vec![],
    };
    if msg_type != MessageType::InformationRequest {
        if na {
            options.push(Dhcpv6Option::IaNa(ia(iaid)));
        }
        if pd {
            options.push(Dhcpv6Option::IaPd(ia(iaid)));
        }
    }
    Dhcpv6Message {
        msg_type,
        transaction_id: xid,
        options,
    }
}

fn packet(m: &Dhcpv6Message) -> Vec<u8> {
    let mut payload = Vec::new();
    Dhcpv6Packet::Message(m.clone())
        .emit(&mut payload)
        .expect("valid");
    let mut p = Vec::new();
    emit_udp_packet(
        a("fe80::2"),
        ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        CLIENT_PORT,
        SERVER_PORT,
        &payload,
        &mut p,
    )
    .expect("fits");
    p
}

fn any_step() -> impl Strategy<Value = Step> {
    (
        0u8..3,
        0u8..8,
        0u32..3,
        any::<bool>(),
        any::<bool>(),
        0u32..50_000,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn dhcpv6_bindings_stay_unique_and_on_link(
        steps in proptest::collection::vec(any_step(), 1..40),
        entropy_mode in any::<bool>(),
    ) {
        let choice = if entropy_mode { AddressChoice::FromEntropy } else { AddressChoice::FromClientId };
        let mut s = new_server(choice);
        let mut e = Seeded::new(42);
        let mut now = Timestamp::from_unix_millis(1_700_000_000_000);
        for (xid, step) in steps.into_iter().enumerate() {
            now = now + Duration::from_secs(u64::from(step.5));
            s.handle_timeout(now);
            let m = client_message(step, xid as u32);
            if let Ok(ty) = s.handle(now, &packet(&m), &mut e) {
                let bytes = s.poll_transmit().expect("a reply per answered message");
                let udp = parse_udp_packet(&bytes).expect("valid UDP");
                let Ok(Dhcpv6Packet::Message(reply)) = Dhcpv6Packet::parse_bytes(udp.payload) else {
                    panic!("reply does not parse");
                };
                prop_assert_eq!(reply.msg_type, ty);
                prop_assert_eq!(reply.transaction_id, xid as u32);
                prop_assert!(reply.options.contains(&Dhcpv6Option::ServerId(server_duid())));
            }
            prop_assert_eq!(s.poll_transmit(), None);
            let mut seen = std::collections::BTreeSet::new();
            let mut pd = 0;
            for (key, b) in s.bindings() {
                match key.kind {
                    IaKind::Na => {
                        prop_assert_eq!(b.prefix_len, 128);
                        prop_assert_eq!(&b.prefix.octets()[..8], &a("2001:db8:7:7::").octets()[..8]);
                        prop_assert!(b.prefix.segments()[4..] != [0, 0, 0, 0]);
                        prop_assert!(seen.insert(b.prefix), "address {} leased twice", b.prefix);
                    }
                    IaKind::Pd => {
                        pd += 1;
                        prop_assert_eq!((b.prefix, b.prefix_len), (a("2001:db8:700::"), 56));
                    }
                }
                prop_assert!(b.expires > now);
            }
            prop_assert!(pd <= 1);
            prop_assert!(s.to_pb().declined.len() <= lns_proto::dhcpv6::MAX_DECLINED);
            let restored = Dhcpv6Server::from_pb(
                Dhcpv6Config { address_choice: choice, ..Dhcpv6Config::new(server_duid()) },
                a("fe80::1"),
                a("2001:db8:7:7::"),
                Some((a("2001:db8:700::"), 56)),
                &s.to_pb(),
            ).expect("valid state");
            prop_assert_eq!(restored.to_pb(), s.to_pb());
        }
    }

    #[test]
    fn router_advertisements_are_rate_limited_and_answer_solicitations(
        events in proptest::collection::vec((0u64..20_000, any::<bool>()), 1..40),
        seed in any::<u64>(),
    ) {
        let mut cfg = RaConfig::for_prefix(a("2001:db8:7:7::"));
        cfg.max_interval = Duration::from_secs(4);
        cfg.min_interval = Duration::from_secs(3);
        cfg.router_lifetime = 0;
        let mut ra = RouterAdvertiser::new(cfg, a("fe80::1")).expect("valid");
        let mut e = Seeded::new(seed);
        let mut now = Timestamp::from_unix_millis(1_000_000);
        let mut sent: Vec<(Timestamp, Ipv6Addr)> = Vec::new();
        let mut pending_rs: Vec<Timestamp> = Vec::new();
        ra.start(now, &mut e);
        let drain = |ra: &mut RouterAdvertiser, t: Timestamp, sent: &mut Vec<(Timestamp, Ipv6Addr)>| {
            while let Some(p) = ra.poll_transmit() {
                let rx = parse_nd_packet(&p).expect("valid RA");
                assert!(matches!(rx.message, NdMessage::RouterAdvertisement(_)));
                sent.push((t, rx.dst));
            }
        };
        drain(&mut ra, now, &mut sent);
        for (gap_ms, unspecified) in events {
            let at = now + Duration::from_millis(gap_ms);
            // Run every timer due before the next event.
            while let Some(t) = ra.poll_timeout().filter(|t| *t <= at) {
                prop_assert!(t >= now);
                now = t;
                ra.handle_timeout(now, &mut e);
                drain(&mut ra, now, &mut sent);
            }
            now = at;
            let src = if unspecified { Ipv6Addr::UNSPECIFIED } else { a("fe80::2") };
            let mut rs = Vec::new();
            emit_nd_packet(src, ALL_ROUTERS, &NdMessage::RouterSolicitation(RouterSolicitation::default()), &mut rs)
                .expect("valid");
            prop_assert_eq!(ra.handle_rs(now, &rs, &mut e), Ok(()));
            pending_rs.push(now);
        }
        let end = now + Duration::from_secs(10);
        while let Some(t) = ra.poll_timeout().filter(|t| *t <= end) {
            now = t;
            ra.handle_timeout(now, &mut e);
            drain(&mut ra, now, &mut sent);
        }
        // RFC 4861 §6.2.4 / §6.2.6: multicast RAs at least MIN_DELAY_BETWEEN_RAS apart.
        let multicast: Vec<Timestamp> = sent.iter().filter(|(_, d)| *d == ALL_NODES).map(|(t, _)| *t).collect();
        for w in multicast.windows(2) {
            prop_assert!(w[1].saturating_since(w[0]) >= MIN_DELAY_BETWEEN_RAS, "{:?}", sent);
        }
        // Every solicitation is followed by an RA soon enough.
        for rs in pending_rs {
            let limit = rs + MIN_DELAY_BETWEEN_RAS + MAX_RA_DELAY_TIME;
            prop_assert!(sent.iter().any(|(t, _)| *t >= rs && *t <= limit), "RS at {:?} unanswered: {:?}", rs, sent);
        }
    }
}
