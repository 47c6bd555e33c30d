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
    let tunnels = views::list_tunnels(&sim.engine).tunnels;
    assert_eq!(tunnels.len(), 1);
    let t = &tunnels[0];
    assert_eq!(t.state, "established");
    assert_eq!(t.sessions, 2);
    assert_eq!(t.peer_address, LAC);
    assert_eq!(t.local_address, LNS);
    let d = views::tunnel_detail(&sim.engine, t.tunnel_id).expect("exists");
    let mut ids = d.session_ids.clone();
    ids.sort_unstable();
    let mut want = vec![views::session_ref(alice), views::session_ref(bob)];
    want.sort_unstable();
    assert_eq!(ids, want);
    assert!(views::tunnel_detail(&sim.engine, 70_000).is_err());
    let ranges = BTreeMap::from([("p".to_owned(), "100.64.0.1-100.64.0.3".to_owned())]);
    let pools = views::list_pools(&sim.engine, &ranges).pools;
    assert_eq!(pools.len(), 1);
    assert_eq!(
        (pools[0].size, pools[0].used, pools[0].range.as_str()),
        (3, 2, "100.64.0.1-100.64.0.3")
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
        let route = sim.engine.session(alice).expect("alice").route;
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

    #[test]
    fn sent_control_messages_are_attributed_to_our_ids() {
        let (sim, alice, _) = two_sessions();
        let (taps, mut reader) = tapped(CaptureScope::Session {
            tunnel_id: alice.tunnel,
            session_id: alice.session,
        });
        let active = taps.current().expect("installed");
        let route = sim.engine.session(alice).expect("alice").route;
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
}
