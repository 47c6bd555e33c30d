//! Engine tests: session timeouts, keepalive, second-login policy,
//! operator commands, shutdown, setup floods, the ICCN race and
//! determinism (harness in `super`).

use super::*;

#[test]
fn session_timeout_ends_the_session_administratively() {
    let mut sim = Sim::new(config());
    sim.grant.session_timeout = Some(Duration::from_secs(60));
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert!(sim.session_up(key).is_some());
    sim.advance(Duration::from_secs(50));
    assert!(!sim.session_down(key));
    sim.advance(Duration::from_secs(20));
    assert!(sim.session_down(key));
    assert!(sim.logged("session timeout"));
    assert_eq!(
        sim.cdns(),
        vec![(CdnResult::Administrative, ErrorCode::NoError, Some(1))]
    );
}

#[test]
fn idle_timeout_ends_a_silent_session_but_not_a_busy_one() {
    let mut cfg = config();
    cfg.idle_timeout = Some(Duration::from_secs(120));
    let mut sim = Sim::new(cfg);
    let busy = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let idle = sim.dial("bob", "builder", vec![AuthMethod::Pap]);
    for _ in 0..10 {
        sim.advance(Duration::from_secs(20));
        let at = sim.now;
        sim.apply(Input::TrafficSeen { session: busy, at });
    }
    assert!(sim.session_down(idle));
    assert!(!sim.session_down(busy));
    assert!(sim.logged("idle timeout"));
}

#[test]
fn echo_failure_ends_the_session_with_cause_8_and_lost_carrier() {
    let mut sim = Sim::new(config());
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert!(sim.session_up(key).is_some());
    // Echoes are answered while the subscriber is there.
    sim.advance(Duration::from_secs(60));
    assert!(!sim.session_down(key));
    sim.cut = true;
    sim.advance(Duration::from_secs(60));
    assert!(sim.session_down(key));
    assert_eq!(
        sim.cdns(),
        vec![(CdnResult::LostCarrier, ErrorCode::NoError, Some(8))]
    );
}

#[test]
fn second_login_is_allowed_by_default() {
    let mut sim = Sim::new(config());
    let a = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let b = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert!(sim.session_up(a).is_some() && sim.session_up(b).is_some());
    assert!(!sim.session_down(a));
}

#[test]
fn second_login_can_end_the_older_session() {
    let mut cfg = config();
    cfg.second_login = SecondLoginPolicy::ReplaceOlder;
    let mut sim = Sim::new(cfg);
    let a = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let b = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.advance(Duration::from_secs(10));
    assert!(sim.session_down(a));
    assert!(!sim.session_down(b));
    assert!(sim.logged("replaced by a newer login"));
}

#[test]
fn admin_kill_sends_terminate_then_cdn_administrative() {
    let mut sim = Sim::new(config());
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.apply(Input::Admin(AdminCommand::KillSession(key)));
    sim.advance(Duration::from_secs(10));
    assert!(sim.session_down(key));
    assert_eq!(
        sim.cdns(),
        vec![(CdnResult::Administrative, ErrorCode::NoError, Some(1))]
    );
    // RFC 1661 §5.2: LCP (0xc021) Terminate-Request (code 0x05) went out first.
    let terminate = sim.outputs.iter().any(|o| {
        matches!(o, Output::SendPpp { session, frame } if *session == key && frame.get(..5) == Some(&[0xff, 0x03, 0xc0, 0x21, 0x05][..]))
    });
    assert!(terminate, "the subscriber got an LCP Terminate-Request");
}

#[test]
fn admin_kill_tunnel_sends_stopccn() {
    let mut sim = Sim::new(config());
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.apply(Input::Admin(AdminCommand::KillTunnel(key.tunnel)));
    sim.advance(Duration::from_secs(5));
    assert!(sim.session_down(key));
    let stopped = sim
        .lac_events
        .iter()
        .any(|e| matches!(e, L2tpEvent::TunnelDown { .. }));
    assert!(stopped);
}

#[test]
fn shutdown_sends_cdn_for_every_session_and_stopccn_and_becomes_quiescent() {
    let mut sim = Sim::new(config());
    let a = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let b = sim.dial("bob", "builder", vec![AuthMethod::ChapMd5]);
    sim.apply(Input::Admin(AdminCommand::Shutdown));
    sim.pump();
    assert!(sim.session_down(a) && sim.session_down(b));
    let cdns = sim.cdns();
    assert_eq!(cdns.len(), 2, "{cdns:?}");
    assert!(cdns.iter().all(|c| c.0 == CdnResult::Administrative));
    let stop = sim.lac_events.iter().find_map(|e| match e {
        L2tpEvent::TunnelDown { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert!(
        matches!(
            stop,
            Some(lns_proto::l2tp::TunnelDownReason::PeerStopped {
                result: StopCcnResult::ShuttingDown,
                ..
            })
        ),
        "{stop:?}"
    );
    assert!(sim.engine.quiescent(), "the LAC acked everything");
    assert_eq!(sim.engine.run_state(), RunState::ShuttingDown);
}

#[test]
fn setup_rate_limit_drops_sccrq_floods_from_one_host() {
    let mut cfg = config();
    cfg.setups_per_second_per_source = 3;
    let mut sim = Sim::new(cfg);
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    // A flood of SCCRQs from many source ports of the LAC's host.
    let mut flood = Endpoint::new(EndpointConfig::new(L2tpSide::Lac, b"flood"));
    for port in 0..50u16 {
        let src = SocketAddr::new(addr(LAC).ip(), 20_000 + port);
        flood
            .open_tunnel(sim.now, src, addr(LNS), PeerSettings::open(), &mut sim.e)
            .expect("open");
    }
    while let Some(t) = flood.poll_transmit() {
        sim.apply(Input::L2tpDatagram {
            local: t.peer,
            peer: t.local,
            bytes: t.payload,
        });
    }
    let sccrps = std::iter::from_fn(|| sim.engine.poll_output())
        .filter(|o| matches!(o, Output::SendL2tp(t) if t.peer.port() >= 20_000))
        .count();
    assert_eq!(sccrps, 3);
    // The established tunnel keeps working.
    sim.advance(Duration::from_secs(60));
    assert!(!sim.session_down(key));
}

#[test]
fn same_inputs_give_the_same_outputs() {
    let run = || {
        let mut sim = Sim::new(config());
        sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
        sim.dial("bob", "builder", vec![AuthMethod::ChapMd5]);
        sim.advance(Duration::from_secs(30));
        format!("{:?}", sim.outputs)
    };
    assert_eq!(run(), run());
}

proptest::proptest! {
    #[test]
    fn no_panic_on_any_datagram_or_frame(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        let mut sim = Sim::new(config());
        let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
        sim.apply(Input::L2tpDatagram { local: addr(LNS), peer: addr(LAC), bytes: bytes.clone() });
        sim.apply(Input::PppFrame { session: key, bytes });
        sim.pump();
    }
}

#[test]
fn spoofed_sccrq_flood_from_many_hosts_is_capped_by_the_half_open_limit() {
    let mut cfg = config();
    cfg.endpoint.limits.max_half_open = 5;
    let mut sim = Sim::new(cfg);
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let mut flood = Endpoint::new(EndpointConfig::new(L2tpSide::Lac, b"flood"));
    for i in 0..200u32 {
        let src = SocketAddr::from(([203, 0, (i >> 8) as u8, i as u8], 1701));
        flood
            .open_tunnel(sim.now, src, addr(LNS), PeerSettings::open(), &mut sim.e)
            .expect("open");
    }
    while let Some(t) = flood.poll_transmit() {
        sim.apply(Input::L2tpDatagram {
            local: t.peer,
            peer: t.local,
            bytes: t.payload,
        });
    }
    let half_open = sim
        .engine
        .endpoint()
        .tunnels()
        .filter(|t| t.phase == lns_proto::l2tp::tunnel::Phase::WaitCtlConn)
        .count();
    assert_eq!(half_open, 5);
    // The LAC's established tunnel and session are untouched, and the
    // half-open ones time out (no SCCCN ever comes).
    sim.advance(Duration::from_secs(120));
    assert!(!sim.session_down(key));
    let still_half_open = sim
        .engine
        .endpoint()
        .tunnels()
        .filter(|t| t.phase == lns_proto::l2tp::tunnel::Phase::WaitCtlConn)
        .count();
    assert_eq!(still_half_open, 0);
}

#[test]
fn lcp_frame_racing_the_iccn_is_kept_and_setup_needs_no_restart_timer() {
    let mut sim = Sim::new(config());
    let t = sim.tunnel();
    sim.lac
        .open_session(sim.now, t, CallInfo::default(), &mut sim.e)
        .expect("call");
    // ICRQ -> engine (which publishes the call to the data plane at once).
    let icrq = sim.lac.poll_transmit().expect("ICRQ");
    sim.apply(Input::L2tpDatagram {
        local: icrq.peer,
        peer: icrq.local,
        bytes: icrq.payload,
    });
    let published = std::iter::from_fn(|| sim.engine.poll_output()).find_map(|o| match o {
        Output::SendL2tp(icrp) => {
            sim.lac
                .handle_datagram(sim.now, icrp.peer, icrp.local, &icrp.payload, &mut sim.e);
            None
        }
        Output::SessionUp(e) => Some(SessionKey {
            tunnel: e.tunnel_id,
            session: e.session_id,
        }),
        _ => None,
    });
    let key = published.expect("the call is published before ICCN");
    // Deliver anything left (the ICRP) to the LAC, which answers with ICCN.
    while let Some(o) = sim.engine.poll_output() {
        if let Output::SendL2tp(x) = o {
            sim.lac
                .handle_datagram(sim.now, x.peer, x.local, &x.payload, &mut sim.e);
        }
    }
    let iccn = sim.lac.poll_transmit().expect("ICCN");
    // The subscriber starts at once: its Configure-Request overtakes the ICCN.
    let mut link = Link::new(Side::Subscriber, {
        let mut c = LinkConfig::subscriber(b"alice", b"wonderland");
        c.auth_order = vec![AuthMethod::Pap];
        c
    });
    link.open(sim.now, &mut sim.e);
    let confreq = link.poll_transmit().expect("Configure-Request");
    sim.apply(Input::PppFrame {
        session: key,
        bytes: confreq,
    });
    sim.apply(Input::L2tpDatagram {
        local: iccn.peer,
        peer: iccn.local,
        bytes: iccn.payload,
    });
    // Everything runs without advancing time: the link comes up with no
    // 3 s restart (the harness maps the LAC's session when it sees it up).
    sim.subs.insert(key, link);
    let start = sim.now;
    sim.advance(Duration::from_millis(500));
    assert!(
        sim.session_up(key).is_some(),
        "up within 500 ms of {start:?}"
    );
}

#[test]
fn a_call_that_never_reaches_iccn_is_withdrawn_from_the_data_plane() {
    let mut sim = Sim::new(config());
    let t = sim.tunnel();
    sim.lac
        .open_session(sim.now, t, CallInfo::default(), &mut sim.e)
        .expect("call");
    let icrq = sim.lac.poll_transmit().expect("ICRQ");
    sim.apply(Input::L2tpDatagram {
        local: icrq.peer,
        peer: icrq.local,
        bytes: icrq.payload,
    });
    let key = std::iter::from_fn(|| sim.engine.poll_output())
        .find_map(|o| match o {
            Output::SessionUp(e) => Some(SessionKey {
                tunnel: e.tunnel_id,
                session: e.session_id,
            }),
            _ => None,
        })
        .expect("published at ICRQ");
    sim.apply(Input::Admin(AdminCommand::KillTunnel(key.tunnel)));
    let withdrawn = std::iter::from_fn(|| sim.engine.poll_output())
        .any(|o| matches!(o, Output::SessionDown { session, .. } if session == key));
    assert!(withdrawn);
}

/// RFC 1661 §6.5/§6.6: a subscriber that asks for ACFC and PFC gets
/// compressed frames from the data plane once the session is up; one that
/// does not ask gets full headers.
#[test]
fn negotiated_header_compression_reaches_the_data_plane_entry() {
    use lns_proto::ppp::frame::{Compression, FieldCompression};
    let published = |sim: &Sim, key: SessionKey| {
        sim.outputs.iter().rev().find_map(|o| match o {
            Output::SessionUp(e)
                if e.tunnel_id == key.tunnel && e.session_id == key.session && e.ipv4.is_some() =>
            {
                Some(e.compression)
            }
            _ => None,
        })
    };
    let mut sim = Sim::new(config());
    let mut cfg = LinkConfig::subscriber(b"alice", b"wonderland");
    cfg.auth_order = vec![AuthMethod::Pap];
    cfg.request_compression = Compression {
        address_control: FieldCompression::On,
        protocol: FieldCompression::On,
    };
    let key = sim.dial_with(cfg);
    assert_eq!(
        published(&sim, key),
        Some(Compression {
            address_control: FieldCompression::On,
            protocol: FieldCompression::On,
        })
    );
    let plain = sim.dial("bob", "builder", vec![AuthMethod::Pap]);
    assert_eq!(published(&sim, plain), Some(Compression::default()));
}
