//! Virtual-time LAC <-> LNS simulator (RFC 2661 §5.8, §7): many tunnels
//! and sessions over a lossy, duplicating, reordering link; every control
//! message must be delivered exactly once on both sides, and a clean
//! teardown must leave both endpoints empty. Also: an LNS endpoint
//! snapshotted mid-conversation and restored into a fresh endpoint carries
//! on without the LAC noticing.

use lns_proto::entropy::{Entropy, Seeded};
use lns_proto::l2tp::{
    CallInfo, CdnResult, DeliveryReports, Endpoint, EndpointConfig, ErrorCode, Event, PeerSettings,
    SessionDownReason, Side, StopCcnResult, TunnelDownReason,
};
use lns_proto::time::Timestamp;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

const LAC_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 1701));
const LNS_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 1701));

/// Link impairments, in percent.
#[derive(Clone, Copy)]
struct Link {
    loss: u64,
    duplicate: u64,
    max_latency_ms: u64,
}

struct Packet {
    at: Timestamp,
    seq: u64,
    to_lns: bool,
    payload: Vec<u8>,
}

#[derive(Default)]
struct SideStats {
    delivered: BTreeMap<(u16, u16), u32>,
    tunnels_up: Vec<u16>,
    tunnel_down: Vec<(u16, TunnelDownReason)>,
    sessions_up: Vec<(u16, u16)>,
    sessions_down: Vec<(u16, u16, SessionDownReason)>,
    other: Vec<Event>,
}

impl SideStats {
    fn record(&mut self, e: Event) {
        match e {
            Event::Delivered { tunnel, ns, .. } => {
                *self.delivered.entry((tunnel, ns)).or_default() += 1
            }
            Event::TunnelUp { tunnel, .. } => self.tunnels_up.push(tunnel),
            Event::TunnelDown { tunnel, reason } => self.tunnel_down.push((tunnel, reason)),
            Event::SessionUp {
                tunnel, session, ..
            } => self.sessions_up.push((tunnel, session)),
            Event::SessionDown {
                tunnel,
                session,
                reason,
            } => self.sessions_down.push((tunnel, session, reason)),
            other => self.other.push(other),
        }
    }
}

struct Sim {
    lac: Endpoint,
    lns: Endpoint,
    now: Timestamp,
    net: Vec<Packet>,
    seq: u64,
    rng: Seeded,
    lac_entropy: Seeded,
    lns_entropy: Seeded,
    link: Link,
    lac_stats: SideStats,
    lns_stats: SideStats,
    datagrams: u64,
    lost: u64,
    duplicated: u64,
    /// A hot standby fed only with `take_changed` + `snapshot_tunnel`.
    follower: Endpoint,
    steps: u64,
}

fn config(side: Side) -> EndpointConfig {
    let mut c = EndpointConfig::new(side, if side == Side::Lac { b"lac1" } else { b"lns1" });
    c.deliveries = DeliveryReports::On;
    // 20% loss each way: a generous budget so no tunnel dies by bad luck.
    c.transport.max_retransmits = 10;
    c.transport.receive_window = 8;
    c
}

impl Sim {
    fn new(seed: u64, link: Link) -> Self {
        Sim {
            lac: Endpoint::new(config(Side::Lac)),
            lns: Endpoint::new(config(Side::Lns)),
            now: Timestamp::from_unix_millis(1_700_000_000_000),
            net: Vec::new(),
            seq: 0,
            rng: Seeded::new(seed),
            lac_entropy: Seeded::new(seed ^ 0x1ac),
            lns_entropy: Seeded::new(seed ^ 0x145),
            link,
            lac_stats: SideStats::default(),
            lns_stats: SideStats::default(),
            datagrams: 0,
            lost: 0,
            duplicated: 0,
            follower: Endpoint::new(config(Side::Lns)),
            steps: 0,
        }
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.rng.next_u64() % 100 < percent
    }

    fn send(&mut self, to_lns: bool, payload: Vec<u8>) {
        self.datagrams += 1;
        if self.chance(self.link.loss) {
            self.lost += 1;
            return;
        }
        let copies = if self.chance(self.link.duplicate) {
            self.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = 1 + self.rng.next_u64() % self.link.max_latency_ms;
            self.seq += 1;
            self.net.push(Packet {
                at: self.now + Duration::from_millis(delay),
                seq: self.seq,
                to_lns,
                payload: payload.clone(),
            });
        }
    }

    /// Moves outputs of both endpoints onto the link and into the stats.
    fn drain(&mut self) {
        while let Some(t) = self.lac.poll_transmit() {
            assert_eq!((t.local, t.peer), (LAC_ADDR, LNS_ADDR));
            self.send(true, t.payload);
        }
        while let Some(t) = self.lns.poll_transmit() {
            assert_eq!(
                (t.local, t.peer),
                (LNS_ADDR, LAC_ADDR),
                "reply leaves from the address the LAC spoke to"
            );
            self.send(false, t.payload);
        }
        while let Some(e) = self.lac.poll_event() {
            self.lac_stats.record(e);
        }
        while let Some(e) = self.lns.poll_event() {
            self.lns_stats.record(e);
        }
    }

    /// Replicates what changed on the LNS to the follower, as the daemon
    /// would through Raft, and periodically checks they are identical.
    fn replicate(&mut self) {
        for id in self.lns.take_changed() {
            match self.lns.snapshot_tunnel(id) {
                Some(state) => {
                    self.follower.restore_tunnel(&state).expect("restore");
                }
                None => self.follower.forget_tunnel(id),
            }
        }
        self.steps += 1;
        if self.steps % 64 == 0 {
            assert_eq!(
                self.follower.snapshot(),
                self.lns.snapshot(),
                "follower diverged"
            );
        }
    }

    /// Advances to the next packet or timer and processes it. False when idle.
    fn step(&mut self) -> bool {
        self.drain();
        self.replicate();
        let next_packet = self.net.iter().map(|p| (p.at, p.seq)).min();
        let next_timer = [self.lac.poll_timeout(), self.lns.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let at = match (next_packet.map(|p| p.0), next_timer) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return false,
        };
        self.now = self.now.max(at);
        if let Some((pat, pseq)) = next_packet {
            if pat <= self.now {
                let i = self
                    .net
                    .iter()
                    .position(|p| p.seq == pseq)
                    .expect("present");
                let p = self.net.swap_remove(i);
                if p.to_lns {
                    self.lns.handle_datagram(
                        self.now,
                        LNS_ADDR,
                        LAC_ADDR,
                        &p.payload,
                        &mut self.lns_entropy,
                    );
                } else {
                    self.lac.handle_datagram(
                        self.now,
                        LAC_ADDR,
                        LNS_ADDR,
                        &p.payload,
                        &mut self.lac_entropy,
                    );
                }
                self.drain();
                return true;
            }
        }
        self.lac.handle_timeout(self.now, &mut self.lac_entropy);
        self.lns.handle_timeout(self.now, &mut self.lns_entropy);
        self.drain();
        true
    }

    fn assert_exactly_once(&self) {
        for (side, stats) in [("LAC", &self.lac_stats), ("LNS", &self.lns_stats)] {
            for ((tunnel, ns), n) in &stats.delivered {
                assert_eq!(*n, 1, "{side}: tunnel {tunnel} Ns {ns} delivered {n} times");
            }
            // Per tunnel, Ns values are contiguous from 0: nothing skipped.
            let mut per_tunnel: BTreeMap<u16, Vec<u16>> = BTreeMap::new();
            for (tunnel, ns) in stats.delivered.keys() {
                per_tunnel.entry(*tunnel).or_default().push(*ns);
            }
            for (tunnel, ns) in per_tunnel {
                let expected: Vec<u16> = (0..ns.len() as u16).collect();
                assert_eq!(ns, expected, "{side}: tunnel {tunnel} delivered a gap");
            }
        }
    }
}

fn call(i: u32) -> CallInfo {
    CallInfo {
        bearer_type: Some(0),
        tx_connect_speed: Some(10_000_000 + i),
        rx_connect_speed: Some(10_000_000),
        framing_type: Some(1),
        calling_number: Some(format!("0033{i:06}").into_bytes().into()),
        ..CallInfo::default()
    }
}

const TUNNELS: usize = 50;
const SESSIONS: usize = 20;

/// Runs the whole scenario; `pause` is called once after sessions start
/// opening, to let a test tamper with the LNS (snapshot/restore).
fn run(seed: u64, tunnels: usize, sessions: usize, mut pause: impl FnMut(&mut Sim) -> bool) -> Sim {
    let link = Link {
        loss: 20,
        duplicate: 10,
        max_latency_ms: 40,
    };
    let mut sim = Sim::new(seed, link);
    let start = sim.now;
    for _ in 0..tunnels {
        sim.lac
            .open_tunnel(
                sim.now,
                LAC_ADDR,
                LNS_ADDR,
                PeerSettings::open(),
                &mut sim.lac_entropy,
            )
            .expect("open tunnel");
    }
    let mut opened = 0usize;
    let mut paused = false;
    let mut closing_sessions = false;
    let mut closing_tunnels = false;
    let mut guard = 0u64;
    loop {
        guard += 1;
        assert!(guard < 5_000_000, "simulation did not converge");
        // Open sessions in every tunnel that came up.
        while opened < sim.lac_stats.tunnels_up.len() {
            let t = sim.lac_stats.tunnels_up[opened];
            for i in 0..sessions {
                sim.lac
                    .open_session(sim.now, t, call(i as u32), &mut sim.lac_entropy)
                    .expect("open session");
            }
            opened += 1;
        }
        if !paused && opened > 0 {
            paused = pause(&mut sim);
        }
        let all = tunnels * sessions;
        if !closing_sessions
            && sim.lns_stats.sessions_up.len() == all
            && sim.lac_stats.sessions_up.len() == all
        {
            closing_sessions = true;
            for (t, s) in sim.lac_stats.sessions_up.clone() {
                sim.lac
                    .close_session(
                        sim.now,
                        t,
                        s,
                        CdnResult::Administrative,
                        ErrorCode::NoError,
                        None,
                        &mut sim.lac_entropy,
                    )
                    .expect("close session");
            }
        }
        if closing_sessions && !closing_tunnels && sim.lns_stats.sessions_down.len() == all {
            closing_tunnels = true;
            for t in sim.lac_stats.tunnels_up.clone() {
                sim.lac
                    .close_tunnel(
                        sim.now,
                        t,
                        StopCcnResult::ClearConnection,
                        &mut sim.lac_entropy,
                    )
                    .expect("close tunnel");
            }
        }
        if !sim.step() {
            break;
        }
    }
    sim.replicate();
    assert_eq!(
        sim.follower.snapshot(),
        sim.lns.snapshot(),
        "follower diverged"
    );
    let summary = format!(
        "l2tp_sim: {} tunnels, {} sessions, {} datagrams ({} lost, {} duplicated, {} retransmitted), {:.1} s virtual",
        tunnels,
        tunnels * sessions,
        sim.datagrams,
        sim.lost,
        sim.duplicated,
        sim.lac.counters().retransmits + sim.lns.counters().retransmits,
        sim.now.saturating_since(start).as_secs_f64()
    );
    println!("{summary}");
    assert!(
        sim.lost * 100 >= sim.datagrams * 15,
        "the link must really lose packets"
    );
    assert!(sim.duplicated > 0);
    sim
}

fn assert_clean_run(sim: &Sim, tunnels: usize, sessions: usize) {
    sim.assert_exactly_once();
    let c = sim.lac.counters();
    assert_eq!(c.tunnels_up as usize, tunnels);
    assert_eq!(c.sessions_up as usize, tunnels * sessions);
    assert!(c.retransmits > 0, "a lossy link needs retransmissions");
    assert_eq!(c.tunnels_timed_out, 0);
    let all = tunnels * sessions;
    assert_eq!(sim.lac_stats.tunnels_up.len(), tunnels);
    assert_eq!(sim.lns_stats.tunnels_up.len(), tunnels);
    assert_eq!(sim.lac_stats.sessions_up.len(), all);
    assert_eq!(sim.lns_stats.sessions_up.len(), all);
    // Every session ended by the LAC's CDN, seen as such by the LNS.
    assert_eq!(sim.lns_stats.sessions_down.len(), all);
    assert!(sim.lns_stats.sessions_down.iter().all(|(_, _, r)| matches!(
        r,
        SessionDownReason::PeerCdn {
            result: CdnResult::Administrative,
            ..
        }
    )));
    // Every tunnel ended by the LAC's StopCCN; nobody gave up retransmitting.
    assert_eq!(sim.lns_stats.tunnel_down.len(), tunnels);
    assert!(sim.lns_stats.tunnel_down.iter().all(|(_, r)| matches!(
        r,
        TunnelDownReason::PeerStopped {
            result: StopCcnResult::ClearConnection,
            ..
        }
    )));
    assert!(sim
        .lac_stats
        .tunnel_down
        .iter()
        .all(|(_, r)| *r == TunnelDownReason::Closed(StopCcnResult::ClearConnection)));
    assert_eq!(sim.lac.tunnels().count(), 0);
    assert_eq!(sim.lns.tunnels().count(), 0);
}

#[test]
fn fifty_tunnels_twenty_sessions_over_a_lossy_link() {
    let sim = run(0x5eed, TUNNELS, SESSIONS, |_| true);
    assert_clean_run(&sim, TUNNELS, SESSIONS);
    assert!(sim
        .lac_stats
        .other
        .iter()
        .all(|e| !matches!(e, Event::SessionRefused { .. })));
}

#[test]
fn lns_restored_mid_conversation_continues_unnoticed() {
    let mut restored_with = None;
    let sim = run(0xfa11, 4, 12, |sim| {
        // Wait for a moment where an LNS tunnel has unacked messages and
        // early arrivals buffered, then move the LNS to a fresh endpoint.
        let interesting = sim
            .lns
            .tunnels()
            .find(|t| !t.reliable.queue.is_empty() && !t.reliable.reorder.is_empty())
            .map(|t| t.local_id);
        let Some(id) = interesting else {
            return false;
        };
        let snapshot = sim.lns.snapshot();
        let mut fresh = Endpoint::restore(config(Side::Lns), &snapshot).expect("restore");
        assert_eq!(
            fresh.snapshot(),
            snapshot,
            "restore then snapshot is the identity"
        );
        let one = sim.lns.snapshot_tunnel(id).expect("tunnel exists");
        let mut single = Endpoint::new(config(Side::Lns));
        single.restore_tunnel(&one).expect("restore tunnel");
        assert_eq!(single.snapshot_tunnel(id), Some(one));
        std::mem::swap(&mut sim.lns, &mut fresh);
        restored_with = Some(id);
        true
    });
    assert!(
        restored_with.is_some(),
        "never found a tunnel with unacked and buffered messages"
    );
    assert_clean_run(&sim, 4, 12);
}
