//! The management views (`mgmt::views`) over a real engine in virtual time:
//! what `lnsctl sessions`, `session show`, `tunnels`, `tunnel show` and
//! `pools` print for sessions the simulated LAC brought up.

use super::*;
use crate::control::Plane;
use crate::dataplane::{SessionEntry, SessionStats};
use crate::mgmt::pb;
use crate::mgmt::views;
use lns_proto::ppp::AuthMethod;
use std::net::IpAddr;

/// A data plane that counts 1000 bytes each way for every session.
struct CountingPlane;

impl Plane for CountingPlane {
    fn upsert_session(&self, _entry: SessionEntry) {}
    fn remove_session(&self, _tunnel_id: u16, _session_id: u16) {}
    fn send_control(&self, _local: SocketAddr, _peer: SocketAddr, _datagram: &[u8]) {}
    fn send_ppp(&self, _tunnel_id: u16, _session_id: u16, _frame: &[u8]) {}
    fn session_stats(&self, _tunnel_id: u16, _session_id: u16) -> Option<SessionStats> {
        Some(SessionStats {
            rx_packets: 10,
            rx_bytes: 1000,
            tx_packets: 10,
            tx_bytes: 1000,
            last_rx_unix_micros: 0,
        })
    }
    fn add_routes(&self, _routes: &[(IpAddr, u8)]) -> Result<(), String> {
        Ok(())
    }
}

fn two_sessions() -> (Sim, SessionKey, SessionKey) {
    let mut sim = Sim::new(config());
    let alice = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let bob = sim.dial("bob", "builder", vec![AuthMethod::ChapMd5]);
    assert!(sim.session_up(alice).is_some() && sim.session_up(bob).is_some());
    (sim, alice, bob)
}

fn list(sim: &Sim, filter: pb::SessionFilter) -> Vec<pb::SessionSummary> {
    views::list_sessions(&sim.engine, &CountingPlane, sim.now, &filter)
        .expect("valid filter")
        .sessions
}

#[test]
fn sessions_are_listed_up_with_their_user_address_and_counters() {
    let (sim, alice, _) = two_sessions();
    let all = list(&sim, pb::SessionFilter::default());
    assert_eq!(all.len(), 2);
    let a = all
        .iter()
        .find(|s| s.user == "alice")
        .expect("alice listed");
    assert_eq!(a.session_id, views::session_ref(alice));
    assert_eq!(a.tunnel_id, u32::from(alice.tunnel));
    assert_eq!(a.state, pb::SessionState::Up as i32);
    assert_eq!(a.ipv4, "100.64.0.1");
    assert_eq!((a.rx_bytes, a.tx_bytes), (1000, 1000));
}

#[test]
fn filters_select_by_user_ip_tunnel_and_state() {
    let (sim, alice, _) = two_sessions();
    let users = |f: pb::SessionFilter| -> Vec<String> {
        list(&sim, f).into_iter().map(|s| s.user).collect()
    };
    let by_user = pb::SessionFilter {
        user: "bob".into(),
        ..Default::default()
    };
    assert_eq!(users(by_user), ["bob"]);
    let by_ip = pb::SessionFilter {
        ip: "100.64.0.1".into(),
        ..Default::default()
    };
    assert_eq!(users(by_ip), ["alice"]);
    let by_tunnel = pb::SessionFilter {
        tunnel_id: Some(u32::from(alice.tunnel)),
        ..Default::default()
    };
    assert_eq!(users(by_tunnel).len(), 2, "one LAC tunnel carries both");
    let other_tunnel = pb::SessionFilter {
        tunnel_id: Some(u32::from(alice.tunnel) + 1),
        ..Default::default()
    };
    assert!(users(other_tunnel).is_empty());
    let closing = pb::SessionFilter {
        state: pb::SessionState::Closing as i32,
        ..Default::default()
    };
    assert!(users(closing).is_empty());
}

#[test]
fn session_show_names_one_session_and_unknown_ids_are_not_found() {
    let (sim, alice, _) = two_sessions();
    let d = views::session_detail(
        &sim.engine,
        &CountingPlane,
        sim.now,
        views::session_ref(alice),
    )
    .expect("exists");
    assert_eq!(d.summary.map(|s| s.user).as_deref(), Some("alice"));
    assert_eq!(d.calling_number, "0123456789");
    assert_eq!((d.rx_packets, d.tx_packets), (10, 10));
    let missing = views::session_ref(SessionKey {
        tunnel: alice.tunnel,
        session: alice.session.wrapping_add(100),
    });
    assert!(matches!(
        views::session_detail(&sim.engine, &CountingPlane, sim.now, missing),
        Err(crate::mgmt::BackendError::NotFound(_))
    ));
}

#[test]
fn tunnels_and_pools_reflect_the_engine() {
    let (sim, alice, bob) = two_sessions();
    let tunnels = views::list_tunnels(&sim.engine, sim.now).tunnels;
    assert_eq!(tunnels.len(), 1);
    let t = &tunnels[0];
    assert_eq!(t.state, "established");
    assert_eq!(t.sessions, 2);
    assert_eq!(t.peer_address, LAC);
    assert_eq!(t.local_address, LNS);
    let d = views::tunnel_detail(&sim.engine, sim.now, t.tunnel_id).expect("exists");
    let mut ids = d.session_ids.clone();
    ids.sort_unstable();
    let mut want = vec![views::session_ref(alice), views::session_ref(bob)];
    want.sort_unstable();
    assert_eq!(ids, want);
    assert!(views::tunnel_detail(&sim.engine, sim.now, 70_000).is_err());
    let ranges = BTreeMap::from([("p".to_owned(), "100.64.0.1-100.64.0.3".to_owned())]);
    let pools = views::list_pools(&sim.engine, &ranges).pools;
    assert_eq!(pools.len(), 1);
    assert_eq!(
        (pools[0].size, pools[0].used, pools[0].range.as_str()),
        (3, 2, "100.64.0.1-100.64.0.3")
    );
}

#[test]
fn session_show_names_the_negotiated_auth_protocol() {
    let (sim, alice, bob) = two_sessions();
    let protocol = |key| {
        views::session_detail(
            &sim.engine,
            &CountingPlane,
            sim.now,
            views::session_ref(key),
        )
        .expect("exists")
        .auth_protocol
    };
    assert_eq!(protocol(alice), "PAP");
    assert_eq!(protocol(bob), "CHAP");
}

#[test]
fn tunnels_show_uptime_vendor_and_their_own_retransmits() {
    let (mut sim, alice, _) = two_sessions();
    let started = sim
        .engine
        .endpoint()
        .tunnel(alice.tunnel)
        .expect("up")
        .started;
    sim.advance(Duration::from_secs(30));
    let line = views::list_tunnels(&sim.engine, sim.now).tunnels[0].clone();
    assert_eq!(
        line.uptime_seconds,
        sim.now.saturating_since(started).as_secs()
    );
    assert!(line.uptime_seconds >= 30, "{}", line.uptime_seconds);
    let before = views::tunnel_detail(&sim.engine, sim.now, line.tunnel_id).expect("exists");
    assert_eq!(before.retransmits, 0, "the LAC acked everything");
    assert_eq!(before.vendor_name, "lnsd", "the test LAC's Vendor Name AVP");
    // The LAC goes silent: the CDN of a killed session is never acked, so
    // the LNS retransmits it (RFC 2661 §5.8).
    sim.apply(Input::Admin(AdminCommand::KillSession(alice)));
    let end = sim.now + Duration::from_secs(20);
    while let Some(at) = sim.engine.poll_timeout().filter(|t| *t <= end) {
        sim.now = sim.now.max(at);
        sim.apply(Input::Tick);
        while sim.engine.poll_output().is_some() {}
    }
    let after = views::tunnel_detail(&sim.engine, sim.now, line.tunnel_id).expect("exists");
    let total = sim.engine.endpoint().counters().retransmits;
    assert!(total > 0, "nothing was retransmitted");
    assert_eq!(
        u64::from(after.retransmits),
        total,
        "one tunnel holds them all"
    );
}

mod capture {
    //! What the control task shows to running captures (`control::capture`).
    use super::*;
    use crate::control::capture;
    use crate::mgmt::capture::{CaptureFilter, CaptureScope, Direction, KindSet};
    use crate::mgmt::tap::{capture_tap, CaptureReader};
    use crate::mgmt::taps::CaptureTaps;

    fn tapped(scope: CaptureScope) -> (CaptureTaps, CaptureReader) {
        let taps = CaptureTaps::new();
        let filter = CaptureFilter {
            scope,
            kinds: KindSet::EVERYTHING,
        };
        let (tap, reader) = capture_tap(filter, 16);
        taps.install(tap, BTreeMap::new()).expect("room");
        (taps, reader)
    }

    /// RFC 1661 §5.8 LCP Echo-Request, id 1, magic 0.
    const ECHO: [u8; 12] = [
        0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn ppp_frames_get_the_data_header_the_receiver_expects_and_the_user_scope() {
        let (sim, alice, bob) = two_sessions();
        let (taps, mut reader) = tapped(CaptureScope::User("alice".into()));
        let active = taps.current().expect("installed");
        let route = crate::engine::route_of(
            sim.engine.endpoint(),
            sim.engine.session(alice).expect("alice"),
        );
        capture::ppp(
            &active,
            &sim.engine,
            sim.now,
            alice,
            Direction::ToLac,
            &ECHO,
        );
        capture::ppp(
            &active,
            &sim.engine,
            sim.now,
            alice,
            Direction::FromLac,
            &ECHO,
        );
        capture::ppp(&active, &sim.engine, sim.now, bob, Direction::ToLac, &ECHO);
        let out = reader.packets.try_recv().expect("alice's frame to the LAC");
        assert_eq!((out.src, out.dst), (addr(LNS), addr(LAC)));
        // RFC 2661 §3.1: flags/version 0x0002, then the LAC's IDs.
        let mut want = vec![0x00, 0x02];
        want.extend_from_slice(&route.peer_tunnel_id.to_be_bytes());
        want.extend_from_slice(&route.peer_session_id.to_be_bytes());
        want.extend_from_slice(&ECHO);
        assert_eq!(out.datagram, want);
        let inbound = reader
            .packets
            .try_recv()
            .expect("alice's frame from the LAC");
        assert_eq!((inbound.src, inbound.dst), (addr(LAC), addr(LNS)));
        assert_eq!(inbound.datagram[2..4], alice.tunnel.to_be_bytes());
        assert_eq!(inbound.datagram[4..6], alice.session.to_be_bytes());
        assert!(reader.packets.try_recv().is_err(), "bob is not in scope");
    }

    /// PAP Authenticate-Request (RFC 1334 §2.2.1): id 1, Peer-ID "carol",
    /// empty password; in a PPP frame (0xff03, protocol 0xc023).
    const CAROL_PAP: [u8; 15] = [
        0xff, 0x03, 0xc0, 0x23, 0x01, 0x01, 0x00, 0x0b, 0x05, b'c', b'a', b'r', b'o', b'l', 0x00,
    ];

    #[test]
    fn a_received_login_is_captured_in_its_user_scope_before_the_engine_reads_it() {
        use crate::control::plane_input::{data_plane_input, Shown};
        use crate::control::{ControlTraffic, Observer};
        use crate::dataplane::ControlInput;
        let mut sim = Sim::new(config());
        // The subscriber's frames are lost: the session exists, no user yet.
        sim.cut = true;
        let carol = sim.dial("carol", "", vec![AuthMethod::Pap]);
        assert!(sim.engine.session(carol).is_some_and(|s| s.user.is_empty()));
        let (taps, mut reader) = tapped(CaptureScope::User("carol".into()));
        let active = taps.current().expect("installed");
        let metrics =
            std::sync::Arc::new(crate::metrics::Metrics::for_this_build().expect("registry"));
        let mut observer = Observer::new(metrics, std::sync::Arc::new(ControlTraffic::default()));
        let shown = Shown {
            taps: &active,
            engine: &sim.engine,
        };
        let input = data_plane_input(
            &mut observer,
            Some(shown),
            sim.now,
            ControlInput::PppControl {
                tunnel_id: carol.tunnel,
                session_id: carol.session,
                frame: CAROL_PAP.to_vec(),
            },
        );
        assert!(
            matches!(input, Input::PppFrame { session, ref bytes } if session == carol && bytes[..] == CAROL_PAP)
        );
        let got = reader.packets.try_recv().expect("carol's login captured");
        assert_eq!(got.datagram[6..], CAROL_PAP);
        assert_eq!(capture::login_name(&CAROL_PAP).as_deref(), Some("carol"));
        assert_eq!(capture::login_name(&ECHO), None, "not a login");
    }

    #[test]
    fn sent_control_messages_are_attributed_to_our_ids() {
        let (sim, alice, _) = two_sessions();
        let (taps, mut reader) = tapped(CaptureScope::Session {
            tunnel_id: alice.tunnel,
            session_id: alice.session,
        });
        let active = taps.current().expect("installed");
        let route = crate::engine::route_of(
            sim.engine.endpoint(),
            sim.engine.session(alice).expect("alice"),
        );
        // RFC 2661 §3.1 control header (T, L, S; version 2) carrying the
        // peer's IDs, as every message we send does.
        let t = route.peer_tunnel_id.to_be_bytes();
        let s = route.peer_session_id.to_be_bytes();
        let zlb = [0xc8, 0x02, 0x00, 0x0c, t[0], t[1], s[0], s[1], 0, 0, 0, 0];
        capture::control_out(&active, &sim.engine, sim.now, addr(LNS), addr(LAC), &zlb);
        let got = reader.packets.try_recv().expect("in the session's scope");
        assert_eq!(got.datagram, zlb);
        // The same IDs from another peer address belong to no tunnel of ours.
        capture::control_out(
            &active,
            &sim.engine,
            sim.now,
            addr(LNS),
            addr("192.0.2.9:1701"),
            &zlb,
        );
        assert!(reader.packets.try_recv().is_err());
    }

    /// Whether `datagram` is an L2TP control message (T, L, S set; RFC
    /// 2661 §3.1) whose first AVP is Message Type (§4.4.1) = CDN (14).
    fn is_cdn(datagram: &[u8]) -> bool {
        datagram.len() >= 20
            && datagram[0] & 0xc8 == 0xc8
            && datagram[16..18] == [0x00, 0x00]
            && datagram[18..20] == [0x00, 0x0e]
    }

    #[test]
    fn the_cdn_of_a_killed_session_is_captured_in_its_user_and_session_scopes() {
        let (mut sim, alice, bob) = two_sessions();
        sim.outputs.clear();
        let mut readers = Vec::new();
        let taps = CaptureTaps::new();
        for scope in [
            CaptureScope::User("alice".into()),
            CaptureScope::Session {
                tunnel_id: alice.tunnel,
                session_id: alice.session,
            },
        ] {
            let filter = CaptureFilter {
                scope,
                kinds: KindSet::EVERYTHING,
            };
            let (tap, reader) = capture_tap(filter, 16);
            taps.install(tap, capture::names(&sim.engine))
                .expect("room");
            readers.push(reader);
        }
        // The kill sends LCP Terminate-Request (RFC 1661 §3.7); the
        // subscriber's Terminate-Ack ends the link and the CDN (RFC 2661
        // §5.7) follows, after the engine has forgotten the session. The
        // outputs are shown as the control task routes them, after the
        // whole exchange (the engine knows nothing of alice any more), and
        // the session list is published again at her SessionDown.
        sim.apply(Input::Admin(AdminCommand::KillSession(alice)));
        sim.pump();
        assert!(sim.engine.session(alice).is_none());
        let now = sim.now;
        let show = |taps: &CaptureTaps, outputs: Vec<Output>, engine: &Engine| {
            let mut cdns = 0;
            for out in outputs {
                let active = taps.current().expect("installed");
                match &out {
                    Output::SendL2tp(t) => {
                        cdns += usize::from(is_cdn(&t.payload));
                        capture::control_out(&active, engine, now, t.local, t.peer, &t.payload);
                    }
                    Output::SendPpp { session, frame } => {
                        capture::ppp(&active, engine, now, *session, Direction::ToLac, frame)
                    }
                    Output::SessionDown { .. } => taps.set_sessions(now, capture::names(engine)),
                    _ => {}
                }
            }
            cdns
        };
        let outputs = std::mem::take(&mut sim.outputs);
        assert_eq!(show(&taps, outputs, &sim.engine), 1, "one CDN");
        for reader in &mut readers {
            let term = reader
                .packets
                .try_recv()
                .expect("alice's Terminate-Request");
            // RFC 1661 §5.5: LCP (0xc021) code 5, after the data header.
            assert_eq!(term.datagram[6..11], [0xff, 0x03, 0xc0, 0x21, 0x05]);
            let got = reader.packets.try_recv().expect("alice's CDN captured");
            assert!(is_cdn(&got.datagram), "{:02x?}", got.datagram);
            assert_eq!((got.src, got.dst), (addr(LNS), addr(LAC)));
        }
        // Bob's, after the same publication, are in neither scope.
        sim.apply(Input::Admin(AdminCommand::KillSession(bob)));
        sim.pump();
        let outputs = std::mem::take(&mut sim.outputs);
        assert_eq!(show(&taps, outputs, &sim.engine), 1, "bob's CDN");
        for reader in &mut readers {
            assert!(reader.packets.try_recv().is_err(), "bob is not in scope");
        }
    }
}
