//! Black-box conformance of the L2TP session layer (RFC 2661 §7.3, §7.4,
//! §4.1, §4.3) and of data-plane admission, with virtual time only.

mod l2tp_common;

use l2tp_common::*;

// RFC 2661 §7.2: a session message before SCCCN gets CDN 2/1, no ICRP.
#[test]
fn icrq_before_scccn_gets_cdn() {
    let mut lns = Endpoint::new(EndpointConfig::new(Side::Lns, b"lns1"));
    let (tx, _) = poke(&mut lns, t0(), &datagram(0, 0, 0, 0, &sccrq(Some(7))));
    let ours = message_of(&tx[0])
        .and_then(|m| m.assigned_tunnel_id())
        .expect("id");
    let icrq = Message::new(MessageType::Icrq)
        .with(AvpValue::AssignedSessionId(5))
        .with(AvpValue::CallSerialNumber(1));
    let (tx, ev) = poke(&mut lns, t0(), &datagram(ours, 0, 1, 1, &icrq));
    let cdn = tx.iter().find_map(|d| message_of(d)).expect("CDN");
    assert_eq!(cdn.message_type, MessageType::Cdn);
    assert_eq!(result_of(&cdn), (2, Some(1)));
    assert_eq!(HeaderView::new_checked(&tx[0]).expect("ok").session_id(), 5);
    assert!(matches!(
        ev[0],
        Event::SessionRefused {
            error: ErrorCode::NoControlConnection,
            ..
        }
    ));
}

// RFC 2661 §4.1: unknown M-bit AVP in a session message ends only that
// session (CDN 2/8); in a tunnel message it ends the tunnel (StopCCN 2/8).
#[test]
fn unknown_mandatory_avp_scope() {
    let mut p = Pair::plain();
    let (lac_t, lns_t) = p.open_tunnel(PeerSettings::open());
    let s1 = p
        .lac
        .open_session(p.now, lac_t, CallInfo::default(), &mut p.e)
        .expect("s1");
    let s2 = p
        .lac
        .open_session(p.now, lac_t, CallInfo::default(), &mut p.e)
        .expect("s2");
    p.pump();
    let lns_sessions: Vec<u16> = p
        .lns_events
        .iter()
        .filter_map(|e| match e {
            Event::SessionUp { session, .. } => Some(*session),
            _ => None,
        })
        .collect();
    assert_eq!(lns_sessions.len(), 2);
    let tunnel = p.lns.tunnel(lns_t).expect("tunnel");
    let (ns, nr) = (tunnel.reliable.nr, tunnel.reliable.ns_next);
    let unknown = Avp {
        criticality: Criticality::Mandatory,
        visibility: Visibility::Clear,
        value: AvpValue::Unknown {
            vendor_id: 0x0009,
            attr_type: 0x0001,
            value: vec![0xaa],
        },
    };
    let mut sli = Message::new(MessageType::Sli).with(AvpValue::Accm {
        send: 0,
        recv: 0xffff_ffff,
    });
    sli.avps.push(unknown.clone());
    let (tx, ev) = poke(
        &mut p.lns,
        p.now,
        &datagram(lns_t, lns_sessions[0], ns, nr, &sli),
    );
    let cdn = message_of(&tx[0]).expect("CDN");
    assert_eq!(cdn.message_type, MessageType::Cdn);
    assert_eq!(result_of(&cdn), (2, Some(8)));
    assert!(matches!(
        ev.last(),
        Some(Event::SessionDown {
            reason: SessionDownReason::LocalCdn { .. },
            ..
        })
    ));
    assert!(
        p.lns.session_route(lns_t, lns_sessions[1]).is_some(),
        "other session untouched"
    );
    assert!(p.lns.session_route(lns_t, lns_sessions[0]).is_none());
    let _ = (s1, s2);

    let mut hello = Message::new(MessageType::Hello);
    hello.avps.push(unknown);
    let (tx, ev) = poke(
        &mut p.lns,
        p.now,
        &datagram(lns_t, 0, ns.wrapping_add(1), nr, &hello),
    );
    let stop = tx.iter().find_map(|d| message_of(d)).expect("StopCCN");
    assert_eq!(stop.message_type, MessageType::StopCcn);
    assert_eq!(result_of(&stop), (2, Some(8)));
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::TunnelDown {
            reason: TunnelDownReason::Refused { .. },
            ..
        }
    )));
}

// RFC 2661 §4.3 end to end: hidden proxy-auth AVPs with a fresh Random Vector per message.
#[test]
fn hidden_avps_end_to_end_and_call_info() {
    let settings = PeerSettings {
        secret: Some(b"s3cr3t".to_vec()),
        auth: TunnelAuth::NotRequired,
        hiding: Hiding::Sensitive,
    };
    let mut lns_cfg = EndpointConfig::new(Side::Lns, b"lns1");
    lns_cfg.peers = PeerTable::allow_all(settings.clone());
    let mut p = Pair::new(EndpointConfig::new(Side::Lac, b"lac1"), lns_cfg);
    let (lac_t, _) = p.open_tunnel(settings);
    let call = CallInfo {
        calling_number: Some(b"0612345678".into()),
        called_number: Some(b"3615".into()),
        tx_connect_speed: Some(1_000_000),
        framing_type: Some(1),
        proxy: Some(Box::new(ProxyInfo {
            authen_type: Some(ProxyAuthType::Chap),
            authen_name: Some(b"alice@isp".to_vec()),
            authen_challenge: Some(vec![0x11; 16]),
            authen_id: Some(0x2a),
            authen_response: Some(vec![0x22; 16]),
            initial_received_lcp_confreq: Some(vec![0x01, 0x04, 0x05, 0xd4]),
            ..ProxyInfo::default()
        })),
        ..CallInfo::default()
    };
    for _ in 0..2 {
        p.lac
            .open_session(p.now, lac_t, call.clone(), &mut p.e)
            .expect("open");
    }
    p.pump();
    let ups: Vec<&CallInfo> = p
        .lns_events
        .iter()
        .filter_map(|e| match e {
            Event::SessionUp { call, .. } => Some(&**call),
            _ => None,
        })
        .collect();
    assert_eq!(ups.len(), 2);
    assert_eq!(ups[0].proxy, call.proxy);
    assert_eq!(ups[0].calling_number, call.calling_number);
    // The ICRQs hide numbers with two different Random Vectors, and the wire never shows the name.
    let rvs: Vec<Vec<u8>> = p
        .wire
        .iter()
        .filter_map(|(_, d)| parse_control(d, Some(b"s3cr3t")).ok()?.1)
        .filter(|m| m.message_type == MessageType::Icrq)
        .filter_map(|m| {
            m.find(|v| match v {
                AvpValue::RandomVector(rv) => Some(rv.clone()),
                _ => None,
            })
        })
        .collect();
    assert_eq!(rvs.len(), 2);
    assert_ne!(rvs[0], rvs[1]);
    assert!(!p
        .wire
        .iter()
        .any(|(_, d)| d.windows(9).any(|w| w == b"alice@isp")));
}

// Limits: sessions per tunnel -> CDN 4/4.
#[test]
fn session_limit_answers_cdn_no_resources() {
    let mut lns_cfg = EndpointConfig::new(Side::Lns, b"lns1");
    lns_cfg.limits.max_sessions_per_tunnel = 1;
    let mut p = Pair::new(EndpointConfig::new(Side::Lac, b"lac1"), lns_cfg);
    let (lac_t, _) = p.open_tunnel(PeerSettings::open());
    p.lac
        .open_session(p.now, lac_t, CallInfo::default(), &mut p.e)
        .expect("1");
    p.lac
        .open_session(p.now, lac_t, CallInfo::default(), &mut p.e)
        .expect("2");
    p.pump();
    assert!(p.lns_events.iter().any(|e| matches!(
        e,
        Event::SessionRefused {
            result: CdnResult::NoFacilitiesTemporary,
            error: ErrorCode::NoResources,
            ..
        }
    )));
    assert!(p.lac_events.iter().any(|e| matches!(
        e,
        Event::SessionDown {
            reason: SessionDownReason::PeerCdn {
                result: CdnResult::NoFacilitiesTemporary,
                ..
            },
            ..
        }
    )));
}

// RFC 2661 §5.4.4/§5.7: CDN and StopCCN from either side; the LNS can close too.
#[test]
fn lns_initiated_cdn_and_stopccn() {
    let mut p = Pair::plain();
    let (lac_t, lns_t) = p.open_tunnel(PeerSettings::open());
    p.lac
        .open_session(p.now, lac_t, CallInfo::default(), &mut p.e)
        .expect("open");
    p.pump();
    let (lns_s, route) = p
        .lns_events
        .iter()
        .find_map(|e| match e {
            Event::SessionUp { session, route, .. } => Some((*session, *route)),
            _ => None,
        })
        .expect("up");
    assert_eq!(p.lns.session_route(lns_t, lns_s), Some(route));
    assert_eq!(
        (route.peer, route.local, route.peer_tunnel_id),
        (LAC, LNS, lac_t)
    );
    let cause = lns_proto::l2tp::avp_types::DisconnectCause {
        code: 0x0003,
        protocol: 0xc021,
        direction: 2,
        message: b"echo timeout".to_vec(),
    };
    p.lns
        .close_session(
            p.now,
            lns_t,
            lns_s,
            CdnResult::Administrative,
            ErrorCode::NoError,
            Some(cause.clone()),
            &mut p.e,
        )
        .expect("close");
    p.pump();
    assert!(p.lac_events.iter().any(|e| matches!(
        e,
        Event::SessionDown { reason: SessionDownReason::PeerCdn { cause: Some(c), .. }, .. } if *c == cause
    )));
    p.lns
        .close_tunnel(p.now, lns_t, StopCcnResult::ShuttingDown, &mut p.e)
        .expect("close");
    p.pump();
    assert!(p.lac_events.iter().any(|e| matches!(
        e,
        Event::TunnelDown {
            reason: TunnelDownReason::PeerStopped {
                result: StopCcnResult::ShuttingDown,
                ..
            },
            ..
        }
    )));
    p.advance(Duration::from_secs(40));
    assert_eq!(p.lns.tunnels().count(), 0);
    assert_eq!(p.lac.tunnels().count(), 0);
    let _ = ResultCodeValue {
        result: 0,
        error: None,
        message: Vec::new(),
    };
}

// another address, is not admitted; the real one is, with its route.
#[test]
fn data_admission_checks_tunnel_session_and_source() {
    use lns_proto::l2tp::data::{parse_data, write_data_header, DataOptions};
    let mut p = Pair::plain();
    let (lac_t, lns_t) = p.open_tunnel(PeerSettings::open());
    let (lac_t2, lns_t2) = {
        let id = p
            .lac
            .open_tunnel(p.now, LAC, LNS, PeerSettings::open(), &mut p.e)
            .expect("open");
        p.pump();
        let lns_id = p
            .lns_events
            .iter()
            .filter_map(|e| match e {
                Event::TunnelUp { tunnel, .. } => Some(*tunnel),
                _ => None,
            })
            .nth(1)
            .expect("second tunnel");
        (id, lns_id)
    };
    p.lac
        .open_session(p.now, lac_t, CallInfo::default(), &mut p.e)
        .expect("open");
    p.pump();
    let lns_s = p
        .lns_events
        .iter()
        .find_map(|e| match e {
            Event::SessionUp { session, .. } => Some(*session),
            _ => None,
        })
        .expect("up");
    let frame = |tid: u16| {
        let mut buf = [0u8; 16];
        let n = write_data_header(&mut buf, tid, lns_s, DataOptions::MINIMAL, 4).expect("fits");
        buf[n..n + 4].copy_from_slice(&[0xff, 0x03, 0xc0, 0x21]);
        parse_data(&buf[..n + 4]).expect("valid")
    };
    let route = p.lns.data_session(LAC, &frame(lns_t)).expect("admitted");
    assert_eq!(route.peer_tunnel_id, lac_t);
    assert_eq!(
        p.lns.data_session(LAC, &frame(lns_t2)),
        None,
        "other tunnel's id"
    );
    let stranger = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)), 1701);
    assert_eq!(
        p.lns.data_session(stranger, &frame(lns_t)),
        None,
        "other source"
    );
    let _ = lac_t2;
}

// RFC 2661 §4.3: hidden AVPs under a different secret end the tunnel with a clear reason.
#[test]
fn hidden_avp_with_wrong_secret_ends_tunnel_clearly() {
    let lac_settings = PeerSettings {
        secret: Some(b"lac-side".to_vec()),
        auth: TunnelAuth::NotRequired,
        hiding: Hiding::Sensitive,
    };
    let mut lns_cfg = EndpointConfig::new(Side::Lns, b"lns1");
    lns_cfg.peers = PeerTable::allow_all(PeerSettings {
        secret: Some(b"lns-side".to_vec()),
        ..lac_settings.clone()
    });
    let mut p = Pair::new(EndpointConfig::new(Side::Lac, b"lac1"), lns_cfg);
    let (lac_t, _) = p.open_tunnel(lac_settings);
    let call = CallInfo {
        calling_number: Some(b"0612345678".into()),
        ..CallInfo::default()
    };
    p.lac
        .open_session(p.now, lac_t, call, &mut p.e)
        .expect("open");
    p.pump();
    assert!(p.lns_events.iter().any(|e| matches!(
        e,
        Event::TunnelDown {
            reason: TunnelDownReason::Undecodable {
                result: StopCcnResult::NotAuthorized,
                ..
            },
            ..
        }
    )));
    assert!(p.lac_events.iter().any(|e| matches!(
        e,
        Event::TunnelDown {
            reason: TunnelDownReason::PeerStopped {
                result: StopCcnResult::NotAuthorized,
                ..
            },
            ..
        }
    )));
}

// RFC 2661 §7.4.1 idle: "Recv ICRP -> Send CDN, clean up"; "Recv ICCN ->
// clean up". An ICRP for a session id the LNS never assigned gets CDN 2/5
// addressed to the session its Assigned Session ID names; an ICCN for an
// unknown session is only acknowledged (no peer session id to answer to).
#[test]
fn unknown_session_icrp_gets_cdn_iccn_only_acked() {
    let mut p = Pair::plain();
    let (_, lns_t) = p.open_tunnel(PeerSettings::open());
    let tunnel = p.lns.tunnel(lns_t).expect("tunnel");
    let (ns, nr) = (tunnel.reliable.nr, tunnel.reliable.ns_next);
    let icrp = Message::new(MessageType::Icrp).with(AvpValue::AssignedSessionId(0x0077));
    let (tx, ev) = poke(&mut p.lns, p.now, &datagram(lns_t, 0x1234, ns, nr, &icrp));
    let cdn_bytes = tx
        .iter()
        .find(|d| message_of(d).is_some_and(|m| m.message_type == MessageType::Cdn))
        .expect("CDN for the unknown session");
    let cdn = message_of(cdn_bytes).expect("CDN");
    assert_eq!(result_of(&cdn), (2, Some(5)));
    assert_eq!(
        HeaderView::new_checked(cdn_bytes).expect("ok").session_id(),
        0x0077,
        "addressed to the peer's session"
    );
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::SessionRefused {
            peer_session: 0x0077,
            error: ErrorCode::InvalidSessionId,
            ..
        }
    )));
    assert!(p.lns.tunnel(lns_t).expect("tunnel").sessions.is_empty());
    let iccn = Message::new(MessageType::Iccn)
        .with(AvpValue::TxConnectSpeed(1_000_000))
        .with(AvpValue::FramingType(1));
    let (tx, ev) = poke(
        &mut p.lns,
        p.now,
        &datagram(lns_t, 0x1235, ns.wrapping_add(1), nr, &iccn),
    );
    assert!(
        tx.iter().all(|d| message_of(d).is_none()),
        "only an ack, no CDN"
    );
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::Dropped {
            reason: DropReason::UnknownSession {
                session: 0x1235,
                ..
            },
            ..
        }
    )));
}

// RFC 2661 §7.4.1 "idle, wait-connect, established: Recv CDN -> Clean up":
// a CDN ends the session without a CDN back, even when it carries an
// unknown M-bit AVP (§4.1 terminates the session, which the CDN already does).
#[test]
fn cdn_with_unknown_mandatory_avp_is_not_answered_with_a_cdn() {
    let mut p = Pair::plain();
    let (lac_t, lns_t) = p.open_tunnel(PeerSettings::open());
    p.lac
        .open_session(p.now, lac_t, CallInfo::default(), &mut p.e)
        .expect("session");
    p.pump();
    let (sid, peer_sid) = p
        .lns_events
        .iter()
        .find_map(|e| match e {
            Event::SessionUp { session, route, .. } => Some((*session, route.peer_session_id)),
            _ => None,
        })
        .expect("LNS session up");
    let tunnel = p.lns.tunnel(lns_t).expect("tunnel");
    let (ns, nr) = (tunnel.reliable.nr, tunnel.reliable.ns_next);
    let mut cdn = Message::new(MessageType::Cdn)
        .with(AvpValue::ResultCode(ResultCodeValue {
            result: 3,
            error: None,
            message: Vec::new(),
        }))
        .with(AvpValue::AssignedSessionId(peer_sid));
    cdn.avps.push(Avp {
        criticality: Criticality::Mandatory,
        visibility: Visibility::Clear,
        value: AvpValue::Unknown {
            vendor_id: 0,
            attr_type: 0x0177,
            value: vec![1, 2],
        },
    });
    let (tx, ev) = poke(&mut p.lns, p.now, &datagram(lns_t, sid, ns, nr, &cdn));
    assert!(
        tx.iter().all(|d| message_of(d).is_none()),
        "no CDN in answer to a CDN"
    );
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::SessionDown {
            reason: SessionDownReason::PeerCdn { .. },
            ..
        }
    )));
    assert!(p.lns.tunnel(lns_t).expect("tunnel").sessions.is_empty());
}
