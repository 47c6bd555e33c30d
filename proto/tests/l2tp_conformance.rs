//! Black-box conformance of the L2TP endpoint, organised by RFC 2661
//! section: what an LNS must answer to real and to broken peers. Each test
//! drives `Endpoint`s with byte-exact datagrams and virtual time only.

mod l2tp_common;

use l2tp_common::*;

// RFC 2661 §6.1/§6.2 with xl2tpd's own bytes: the LNS answers SCCRP.
#[test]
fn xl2tpd_sccrq_gets_sccrp() {
    let mut lns = Endpoint::new(EndpointConfig::new(Side::Lns, b"lns1"));
    let bytes = include_bytes!("data/xl2tpd_sccrq.bin");
    let (tx, _) = poke(&mut lns, t0(), bytes);
    assert_eq!(tx.len(), 1);
    let h = HeaderView::new_checked(&tx[0]).expect("valid");
    assert_eq!(
        h.tunnel_id(),
        0x4a1f,
        "header carries the LAC's Assigned Tunnel ID"
    );
    assert_eq!(h.sequence().map(|s| (s.ns, s.nr)), Some((0, 1)));
    let m = message_of(&tx[0]).expect("SCCRP");
    assert_eq!(m.message_type, MessageType::Sccrp);
    assert_eq!(m.missing_mandatory(), None);
    assert!(m.challenge().is_none(), "no challenge unless required");
    // A retransmitted SCCRQ (same peer, same Assigned Tunnel ID) is acked, not a new tunnel.
    let (tx, _) = poke(&mut lns, t0(), bytes);
    assert_eq!(lns.tunnels().count(), 1);
    assert_eq!(tx.len(), 1);
    assert!(HeaderView::new_checked(&tx[0]).expect("valid").is_zlb());
}

// RFC 2661 §5.1 / REFERENCE.md: a refused SCCRQ gets StopCCN, not silence.
#[test]
fn refused_sccrq_gets_stopccn() {
    let mut cfg = EndpointConfig::new(Side::Lns, b"lns1");
    cfg.peers = PeerTable {
        entries: vec![PeerEntry {
            host_name: Some(b"bas1".to_vec()),
            address: None,
            settings: PeerSettings::open(),
        }],
        default: None,
    };
    let mut lns = Endpoint::new(cfg);
    let (tx, ev) = poke(&mut lns, t0(), &datagram(0, 0, 0, 0, &sccrq(Some(7))));
    let stop = message_of(&tx[0]).expect("StopCCN");
    assert_eq!(stop.message_type, MessageType::StopCcn);
    assert_eq!(
        result_of(&stop),
        (u16::from(StopCcnResult::NotAuthorized), None)
    );
    assert_eq!(HeaderView::new_checked(&tx[0]).expect("ok").tunnel_id(), 7);
    assert!(matches!(
        ev[0],
        Event::TunnelRefused {
            result: StopCcnResult::NotAuthorized,
            ..
        }
    ));
    assert_eq!(lns.tunnels().count(), 0);

    // §6.1: SCCRQ without Assigned Tunnel ID: refused with StopCCN 2/3.
    let mut lns = Endpoint::new(EndpointConfig::new(Side::Lns, b"lns1"));
    let (tx, _) = poke(&mut lns, t0(), &datagram(0, 0, 0, 0, &sccrq(None)));
    assert_eq!(
        result_of(&message_of(&tx[0]).expect("StopCCN")),
        (2, Some(3))
    );
    assert_eq!(lns.tunnels().count(), 0);

    // §4.1: unknown mandatory AVP in SCCRQ: StopCCN 2/8.
    let mut m = sccrq(Some(8));
    m.avps.push(Avp {
        criticality: Criticality::Mandatory,
        visibility: Visibility::Clear,
        value: AvpValue::Unknown {
            vendor_id: 0,
            attr_type: 0x0123,
            value: vec![1],
        },
    });
    let (tx, _) = poke(&mut lns, t0(), &datagram(0, 0, 0, 0, &m));
    assert_eq!(
        result_of(&message_of(&tx[0]).expect("StopCCN")),
        (2, Some(8))
    );
}

// Limits: max tunnels and half-open tunnels answer "no resources" (StopCCN 2/4).
#[test]
fn tunnel_limits_answer_no_resources() {
    let mut cfg = EndpointConfig::new(Side::Lns, b"lns1");
    cfg.limits.max_half_open = 2;
    let mut lns = Endpoint::new(cfg);
    for peer_tid in 1..=2 {
        let (tx, _) = poke(
            &mut lns,
            t0(),
            &datagram(0, 0, 0, 0, &sccrq(Some(peer_tid))),
        );
        assert_eq!(
            message_of(&tx[0]).expect("SCCRP").message_type,
            MessageType::Sccrp
        );
    }
    let (tx, ev) = poke(&mut lns, t0(), &datagram(0, 0, 0, 0, &sccrq(Some(3))));
    assert_eq!(
        result_of(&message_of(&tx[0]).expect("StopCCN")),
        (2, Some(4))
    );
    assert!(matches!(
        ev[0],
        Event::TunnelRefused {
            error: ErrorCode::NoResources,
            ..
        }
    ));
}

// RFC 2661 §3.1 / REFERENCE.md: an ICRQ with tunnel id 0 never gets an ICRP;
// nor do messages for unknown tunnels or from another address.
#[test]
fn icrq_with_tunnel_zero_and_unknown_tunnels_are_refused() {
    let mut p = Pair::plain();
    let (_, lns_id) = p.open_tunnel(PeerSettings::open());
    let icrq = Message::new(MessageType::Icrq)
        .with(AvpValue::AssignedSessionId(5))
        .with(AvpValue::CallSerialNumber(1));
    let (tx, ev) = poke(&mut p.lns, p.now, &datagram(0, 0, 1, 1, &icrq));
    assert!(tx.is_empty());
    assert_eq!(
        ev,
        vec![Event::Dropped {
            peer: LAC,
            reason: DropReason::ZeroTunnelId(MessageType::Icrq)
        }]
    );
    let other = lns_id.wrapping_add(1).max(1);
    let (tx, ev) = poke(&mut p.lns, p.now, &datagram(other, 0, 1, 1, &icrq));
    assert!(tx.is_empty());
    assert!(matches!(
        ev[0],
        Event::Dropped {
            reason: DropReason::UnknownTunnel(_),
            ..
        }
    ));
    let mut e = Seeded::new(3);
    let stranger = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)), 1701);
    p.lns.handle_datagram(
        p.now,
        LNS,
        stranger,
        &datagram(lns_id, 0, 1, 1, &icrq),
        &mut e,
    );
    assert!(p.lns.poll_transmit().is_none());
    assert_eq!(
        p.lns.poll_event(),
        Some(Event::Dropped {
            peer: stranger,
            reason: DropReason::WrongPeer(lns_id)
        })
    );
    // Versions 1 and 3 are distinct header errors, dropped.
    let (tx, ev) = poke(
        &mut p.lns,
        p.now,
        &[0xc8, 0x03, 0x00, 0x0c, 0, 1, 0, 0, 0, 0, 0, 0],
    );
    assert!(tx.is_empty());
    assert!(matches!(
        ev[0],
        Event::Dropped {
            reason: DropReason::Header(_),
            ..
        }
    ));
}

// RFC 2661 §4.1: unknown M-bit AVP in a session message ends only that
// RFC 2661 §4.1: unknown message type without M is acked and ignored; with M it ends the tunnel.
#[test]
fn unknown_message_types() {
    let mut p = Pair::plain();
    let (_lac_t, lns_t) = p.open_tunnel(PeerSettings::open());
    let tunnel = p.lns.tunnel(lns_t).expect("tunnel");
    let (ns, nr) = (tunnel.reliable.nr, tunnel.reliable.ns_next);
    let mut optional = Message::new(MessageType::Unknown(0x0063));
    optional.type_criticality = Criticality::Optional;
    let (tx, ev) = poke(&mut p.lns, p.now, &datagram(lns_t, 0, ns, nr, &optional));
    assert!(tx.is_empty(), "ack is delayed, not immediate");
    assert!(matches!(
        ev[0],
        Event::Dropped {
            reason: DropReason::IgnoredMessage {
                message_type: 0x63,
                ..
            },
            ..
        }
    ));
    let mut e = Seeded::new(2);
    p.lns
        .handle_timeout(p.now + Duration::from_millis(100), &mut e);
    let zlb = p.lns.poll_transmit().expect("delayed ZLB ack");
    let h = HeaderView::new_checked(&zlb.payload).expect("ok");
    assert!(h.is_zlb());
    assert_eq!(h.sequence().map(|s| s.nr), Some(ns.wrapping_add(1)));
    let mandatory = Message::new(MessageType::Unknown(0x0064));
    let (tx, _) = poke(
        &mut p.lns,
        p.now,
        &datagram(lns_t, 0, ns.wrapping_add(1), nr, &mandatory),
    );
    let stop = message_of(&tx[0]).expect("StopCCN");
    assert_eq!(result_of(&stop), (2, Some(8)));
}

// RFC 2661 §4.2 / §5.1.1: challenge in both directions, per-peer optional.
#[test]
fn tunnel_authentication_both_directions() {
    let secret = PeerSettings {
        secret: Some(b"tunnel-secret".to_vec()),
        auth: TunnelAuth::Required,
        hiding: Hiding::Off,
    };
    let mut lns_cfg = EndpointConfig::new(Side::Lns, b"lns1");
    lns_cfg.peers = PeerTable::allow_all(secret.clone());
    let mut p = Pair::new(EndpointConfig::new(Side::Lac, b"lac1"), lns_cfg.clone());
    p.open_tunnel(secret.clone());
    assert!(p
        .lac_events
        .iter()
        .any(|e| matches!(e, Event::TunnelUp { .. })));
    let sccrq = message_of(&p.wire[0].1).expect("SCCRQ");
    assert!(sccrq.challenge().is_some(), "LAC challenged");
    let sccrp = message_of(&p.wire[1].1).expect("SCCRP");
    assert!(sccrp.challenge().is_some() && sccrp.challenge_response().is_some());
    let scccn = message_of(&p.wire[2].1).expect("SCCCN");
    assert!(scccn.challenge_response().is_some());

    // Wrong secret on the LAC: the LAC rejects the LNS's response (StopCCN 4).
    let wrong = PeerSettings {
        secret: Some(b"other".to_vec()),
        ..secret.clone()
    };
    let mut p = Pair::new(EndpointConfig::new(Side::Lac, b"lac1"), lns_cfg.clone());
    p.lac
        .open_tunnel(p.now, LAC, LNS, wrong, &mut p.e)
        .expect("open");
    p.pump();
    assert!(p.lac_events.iter().any(|e| matches!(
        e,
        Event::TunnelDown {
            reason: TunnelDownReason::Refused {
                result: StopCcnResult::NotAuthorized,
                ..
            },
            ..
        }
    )));
    assert!(p.lns_events.iter().any(|e| matches!(
        e,
        Event::TunnelDown {
            reason: TunnelDownReason::PeerStopped {
                result: StopCcnResult::NotAuthorized,
                ..
            },
            ..
        }
    )));

    // A LAC that sends no challenge but knows the secret (xl2tpd style) answers ours.
    let mut p = Pair::new(EndpointConfig::new(Side::Lac, b"lac1"), lns_cfg.clone());
    p.open_tunnel(PeerSettings {
        auth: TunnelAuth::NotRequired,
        ..secret.clone()
    });
    // A LAC without the secret cannot answer: the LNS is never told SCCCN, the LAC stops.
    let mut p = Pair::new(EndpointConfig::new(Side::Lac, b"lac1"), lns_cfg);
    p.lac
        .open_tunnel(p.now, LAC, LNS, PeerSettings::open(), &mut p.e)
        .expect("open");
    p.pump();
    assert!(!p
        .lns_events
        .iter()
        .any(|e| matches!(e, Event::TunnelUp { .. })));
}

// RFC 2661 §5.8: retransmission 1, 2, 4, 8, 8, 8 s then the tunnel is dead;
// §6.5 HELLO after the idle time; §5.7 StopCCN hold-down.
#[test]
fn retransmission_exhaustion_hello_and_hold_down() {
    let mut p = Pair::plain();
    let (lac_t, lns_t) = p.open_tunnel(PeerSettings::open());
    p.advance(Duration::from_secs(61));
    let hellos = p
        .wire
        .iter()
        .filter_map(|(_, d)| message_of(d))
        .filter(|m| m.message_type == MessageType::Hello)
        .count();
    assert!(hellos >= 1, "a HELLO after 60 s idle");
    assert!(!p
        .lac_events
        .iter()
        .any(|e| matches!(e, Event::TunnelDown { .. })));

    // Now the LNS goes silent: the LAC's HELLO is never acked.
    let mut e = Seeded::new(5);
    let mut now;
    let mut first_send = None;
    let mut sends = 0;
    let mut down = None;
    for _ in 0..200 {
        let Some(t) = p.lac.poll_timeout() else { break };
        now = t;
        p.lac.handle_timeout(now, &mut e);
        while p.lac.poll_transmit().is_some() {
            sends += 1;
            first_send.get_or_insert(now);
        }
        while let Some(ev) = p.lac.poll_event() {
            if let Event::TunnelDown { reason, .. } = ev {
                down = Some((now, reason));
            }
        }
        if down.is_some() {
            break;
        }
    }
    let (when, reason) = down.expect("tunnel declared dead");
    assert_eq!(reason, TunnelDownReason::Unreachable);
    assert_eq!(sends, 6, "HELLO sent once and retransmitted 5 times");
    // 1 + 2 + 4 + 8 + 8 + 8 s after the HELLO was first sent.
    let first = first_send.expect("HELLO sent");
    assert_eq!(when.saturating_since(first), Duration::from_secs(31));
    // The id stays held down for a full cycle, then is released.
    assert!(p.lac.tunnel(lac_t).is_some());
    p.lac.handle_timeout(when + Duration::from_secs(31), &mut e);
    assert!(p.lac.tunnel(lac_t).is_none());
    let _ = lns_t;
}

// Determinism: the same inputs give the same outputs and state, bit for bit.
#[test]
fn same_inputs_same_outputs() {
    let run = || {
        let mut p = Pair::plain();
        let (lac_t, _) = p.open_tunnel(PeerSettings::open());
        for _ in 0..3 {
            p.lac
                .open_session(p.now, lac_t, CallInfo::default(), &mut p.e)
                .expect("open");
        }
        p.advance(Duration::from_secs(70));
        (p.wire, p.lns.snapshot(), p.lac.snapshot())
    };
    assert_eq!(run(), run());
}

// A half-open tunnel whose LAC acked SCCRP but never sent SCCCN is cleared.
#[test]
fn half_open_tunnel_times_out() {
    let mut lns = Endpoint::new(EndpointConfig::new(Side::Lns, b"lns1"));
    let (tx, _) = poke(&mut lns, t0(), &datagram(0, 0, 0, 0, &sccrq(Some(7))));
    let ours = message_of(&tx[0])
        .and_then(|m| m.assigned_tunnel_id())
        .expect("id");
    // The LAC acks SCCRP with a ZLB and goes quiet.
    let mut zlb = Vec::new();
    Header::control(ours, 0, 1, 1).emit(&[], &mut zlb);
    poke(&mut lns, t0(), &zlb);
    let mut e = Seeded::new(4);
    let at = lns.poll_timeout().expect("setup timer");
    assert_eq!(at, t0() + Duration::from_secs(60));
    lns.handle_timeout(at, &mut e);
    let stop = lns.poll_transmit().expect("StopCCN");
    assert_eq!(
        message_of(&stop.payload).expect("msg").message_type,
        MessageType::StopCcn
    );
    assert!(std::iter::from_fn(|| lns.poll_event()).any(|ev| matches!(
        ev,
        Event::TunnelDown {
            reason: TunnelDownReason::SetupTimeout,
            ..
        }
    )));
}

mod no_panic {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Arbitrary datagrams (some re-addressed to a live tunnel) never panic the LNS.
        #[test]
        fn arbitrary_datagrams_never_panic(
            datagrams in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..80), any::<bool>()), 1..12)
        ) {
            let mut p = Pair::plain();
            let (lac_t, lns_t) = p.open_tunnel(PeerSettings::open());
            p.lac.open_session(p.now, lac_t, CallInfo::default(), &mut p.e).expect("open");
            p.pump();
            for (mut d, retarget) in datagrams {
                if retarget && d.len() >= 12 {
                    d[0] = 0xc8;
                    d[1] = 0x02;
                    let len = d.len() as u16;
                    d[2..4].copy_from_slice(&len.to_be_bytes());
                    d[4..6].copy_from_slice(&lns_t.to_be_bytes());
                }
                p.lns.handle_datagram(p.now, LNS, LAC, &d, &mut p.e);
                p.now = p.now + Duration::from_millis(300);
                p.lns.handle_timeout(p.now, &mut p.e);
                while p.lns.poll_transmit().is_some() {}
                while p.lns.poll_event().is_some() {}
            }
            let snap = p.lns.snapshot();
            let back = Endpoint::restore(p.lns.config().clone(), &snap).expect("restore");
            prop_assert_eq!(back.snapshot(), snap);
        }
    }
}

// REFERENCE.md: data for a session under another tunnel's id, or from

// FAILOVER.md: a follower that re-runs the leader's inputs with the entropy
// the leader recorded reaches the same state and emits the same datagrams.
#[test]
fn follower_replaying_inputs_with_recorded_entropy_matches_leader() {
    use lns_proto::entropy::{Recording, Replay};
    enum Input {
        Datagram(Timestamp, Vec<u8>, Vec<u8>),
        Timeout(Timestamp, Vec<u8>),
    }
    let mut lac = Endpoint::new(EndpointConfig::new(Side::Lac, b"lac1"));
    let mut leader = Endpoint::new(EndpointConfig::new(Side::Lns, b"lns1"));
    let mut lac_e = Seeded::new(21);
    let mut rec = Recording::new(Seeded::new(22));
    let mut inputs = Vec::new();
    let mut leader_tx = Vec::new();
    let mut now = t0();
    let lac_t = lac
        .open_tunnel(now, LAC, LNS, PeerSettings::open(), &mut lac_e)
        .expect("open");
    let mut opened = false;
    for _ in 0..40 {
        while let Some(t) = lac.poll_transmit() {
            leader.handle_datagram(now, LNS, LAC, &t.payload, &mut rec);
            inputs.push(Input::Datagram(now, t.payload, rec.take_drawn()));
        }
        while let Some(t) = leader.poll_transmit() {
            leader_tx.push(t.payload.clone());
            lac.handle_datagram(now, LAC, LNS, &t.payload, &mut lac_e);
        }
        // open_session fails (NotEstablished) until SCCRP arrived.
        if !opened {
            opened = lac
                .open_session(now, lac_t, CallInfo::default(), &mut lac_e)
                .is_ok();
        }
        let next = [lac.poll_timeout(), leader.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(t) = next else { break };
        now = now.max(t);
        lac.handle_timeout(now, &mut lac_e);
        leader.handle_timeout(now, &mut rec);
        inputs.push(Input::Timeout(now, rec.take_drawn()));
    }
    leader_tx.extend(std::iter::from_fn(|| leader.poll_transmit()).map(|t| t.payload));
    assert!(opened, "a session was opened");
    let mut follower = Endpoint::new(EndpointConfig::new(Side::Lns, b"lns1"));
    let mut follower_tx = Vec::new();
    for input in &inputs {
        let exhausted = match input {
            Input::Datagram(at, bytes, drawn) => {
                let mut r = Replay::new(drawn);
                follower.handle_datagram(*at, LNS, LAC, bytes, &mut r);
                r.exhausted() || r.remaining() != 0
            }
            Input::Timeout(at, drawn) => {
                let mut r = Replay::new(drawn);
                follower.handle_timeout(*at, &mut r);
                r.exhausted() || r.remaining() != 0
            }
        };
        assert!(!exhausted, "the follower drew exactly what the leader drew");
        while let Some(t) = follower.poll_transmit() {
            follower_tx.push(t.payload);
        }
    }
    assert_eq!(follower_tx, leader_tx);
    assert_eq!(follower.snapshot(), leader.snapshot());
    assert!(leader
        .tunnels()
        .next()
        .is_some_and(|t| !t.sessions.is_empty()));
}
