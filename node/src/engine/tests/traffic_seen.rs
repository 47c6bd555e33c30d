//! `control::traffic_seen`: which sessions' data-plane traffic the control
//! task reports to the engine (idle timeouts, LCP keepalive), judged
//! against the engine's own `last_traffic` instead of a per-session map.

use super::*;
use crate::control::{traffic_seen, Plane};
use crate::dataplane::{SessionEntry, SessionStats};
use lns_proto::ppp::AuthMethod;
use std::cell::Cell;
use std::net::IpAddr;

/// A data plane whose sessions all last received traffic at `last_rx`;
/// it serves no session while `serving` is false.
struct TrafficPlane {
    last_rx: Cell<u64>,
    serving: Cell<bool>,
}

impl Plane for TrafficPlane {
    fn upsert_session(&self, _entry: SessionEntry) {}
    fn remove_session(&self, _tunnel_id: u16, _session_id: u16) {}
    fn send_control(&self, _local: SocketAddr, _peer: SocketAddr, _datagram: &[u8]) {}
    fn send_ppp(&self, _tunnel_id: u16, _session_id: u16, _frame: &[u8]) {}
    fn session_stats(&self, _tunnel_id: u16, _session_id: u16) -> Option<SessionStats> {
        self.serving.get().then(|| SessionStats {
            rx_packets: 1,
            rx_bytes: 100,
            tx_packets: 0,
            tx_bytes: 0,
            last_rx_unix_micros: self.last_rx.get(),
        })
    }
    fn add_routes(&self, _routes: &[(IpAddr, u8)]) -> Result<(), String> {
        Ok(())
    }
}

#[test]
fn only_traffic_newer_than_the_engine_knows_is_reported_and_once() {
    let mut sim = Sim::new(config());
    let alice = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert!(sim.session_up(alice).is_some());
    let known = sim.engine.session(alice).expect("alice").last_traffic;
    let plane = TrafficPlane {
        last_rx: Cell::new(known.unix_micros()),
        serving: Cell::new(true),
    };
    // Traffic no newer than the engine's last_traffic: nothing to say.
    assert_eq!(traffic_seen(&sim.engine, &plane), []);
    // Newer traffic is reported with its instant...
    let later = known + Duration::from_secs(3);
    plane.last_rx.set(later.unix_micros());
    assert_eq!(traffic_seen(&sim.engine, &plane), [(alice, later)]);
    sim.apply(Input::TrafficSeen {
        session: alice,
        at: later,
    });
    // ...and once the engine has it, not again.
    assert_eq!(
        sim.engine.session(alice).expect("alice").last_traffic,
        later
    );
    assert_eq!(traffic_seen(&sim.engine, &plane), []);
    // A session the data plane does not serve gives nothing.
    plane
        .last_rx
        .set((later + Duration::from_secs(1)).unix_micros());
    plane.serving.set(false);
    assert_eq!(traffic_seen(&sim.engine, &plane), []);
}
