//! Virtual-time simulator of subscriber <-> LNS PPP links over a lossy,
//! reordering link. The test plays the LNS's caller: it decides
//! authentication (PAP password check, CHAP MD5 check) and assigns
//! addresses and DNS servers. No sockets, no sleeping: time is a number.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use lns_proto::entropy::{Entropy, Seeded};
use lns_proto::ppp::chap::md5_response;
use lns_proto::ppp::fsm::State;
use lns_proto::ppp::{
    AuthMethod, AuthRequest, DisconnectCode, Link, LinkConfig, LinkEvent, Phase, Side,
};
use lns_proto::time::Timestamp;

const USER: &[u8] = b"alice";
const PASSWORD: &[u8] = b"secret";
const DNS: [Option<Ipv4Addr>; 2] = [
    Some(Ipv4Addr::new(192, 0, 2, 53)),
    Some(Ipv4Addr::new(192, 0, 2, 54)),
];

/// Network behaviour between the two ends.
#[derive(Clone, Copy, Debug)]
struct NetModel {
    /// One-way base latency.
    latency: Duration,
    /// Percentage of frames held back by a random extra delay (reordering).
    reorder_percent: u32,
    /// Largest extra delay of a held-back frame.
    jitter: Duration,
    /// Loss probability in percent.
    loss_percent: u32,
}

const LOSSY: NetModel = NetModel {
    latency: Duration::from_millis(10),
    reorder_percent: 10,
    jitter: Duration::from_millis(40),
    loss_percent: 3,
};

const HARSH: NetModel = NetModel {
    latency: Duration::from_millis(10),
    reorder_percent: 30,
    jitter: Duration::from_millis(40),
    loss_percent: 20,
};

const CLEAN: NetModel = NetModel {
    latency: Duration::from_millis(10),
    reorder_percent: 0,
    jitter: Duration::ZERO,
    loss_percent: 0,
};

/// Which end a frame goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum End {
    Lns,
    Subscriber,
}

/// One LNS and one subscriber, the frames in flight, and what happened.
struct Sim {
    now: Timestamp,
    lns: Link,
    sub: Link,
    lns_entropy: Seeded,
    sub_entropy: Seeded,
    net_rng: Seeded,
    net: NetModel,
    /// (arrival time, sequence) -> (destination, frame).
    in_flight: BTreeMap<(Timestamp, u64), (End, Vec<u8>)>,
    seq: u64,
    /// Drop the LNS's first `drop_first_lns` frames (the xl2tpd race).
    drop_first_lns: usize,
    lns_events: Vec<(Timestamp, LinkEvent)>,
    sub_events: Vec<(Timestamp, LinkEvent)>,
    peer_addr: Ipv4Addr,
    /// Password the LNS's "RADIUS" expects.
    expected_password: Vec<u8>,
    /// Every frame the LNS emitted (lost ones included).
    lns_sent: Vec<Vec<u8>>,
}

impl Sim {
    fn new(seed: u64, lns_cfg: LinkConfig, sub_cfg: LinkConfig, net: NetModel) -> Sim {
        Sim {
            now: Timestamp::from_unix_millis(1_700_000_000_000),
            lns: Link::new(Side::Lns, lns_cfg),
            sub: Link::new(Side::Subscriber, sub_cfg),
            lns_entropy: Seeded::new(seed.wrapping_mul(3)),
            sub_entropy: Seeded::new(seed.wrapping_mul(5).wrapping_add(1)),
            net_rng: Seeded::new(seed.wrapping_mul(7).wrapping_add(2)),
            net,
            in_flight: BTreeMap::new(),
            seq: 0,
            drop_first_lns: 0,
            lns_events: Vec::new(),
            sub_events: Vec::new(),
            peer_addr: Ipv4Addr::new(100, 64, (seed >> 8) as u8, seed as u8),
            expected_password: PASSWORD.to_vec(),
            lns_sent: Vec::new(),
        }
    }

    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(frame) = self.lns.poll_transmit() {
                moved = true;
                self.lns_sent.push(frame.clone());
                if self.drop_first_lns > 0 {
                    self.drop_first_lns -= 1;
                    continue;
                }
                self.launch(End::Subscriber, frame);
            }
            while let Some(frame) = self.sub.poll_transmit() {
                moved = true;
                self.launch(End::Lns, frame);
            }
            while let Some(ev) = self.sub.poll_event() {
                self.sub_events.push((self.now, ev));
            }
            let mut decisions = Vec::new();
            while let Some(ev) = self.lns.poll_event() {
                moved = true;
                decisions.push(ev.clone());
                self.lns_events.push((self.now, ev));
            }
            for ev in decisions {
                self.decide(ev);
            }
            if !moved {
                break;
            }
        }
    }

    /// The test as the LNS's caller (RADIUS and the address pool).
    fn decide(&mut self, ev: LinkEvent) {
        match ev {
            LinkEvent::AuthRequest(AuthRequest::Pap { name, password }) => {
                if name == USER && password == self.expected_password {
                    self.lns.auth_accepted(self.now, "welcome");
                } else {
                    self.lns.auth_rejected(self.now, "bad password");
                }
            }
            LinkEvent::AuthRequest(AuthRequest::Chap {
                name,
                identifier,
                challenge,
                response,
            }) => {
                let expected = md5_response(identifier, &self.expected_password, &challenge);
                if name == USER && response == expected {
                    self.lns.auth_accepted(self.now, "welcome");
                } else {
                    self.lns.auth_rejected(self.now, "bad password");
                }
            }
            LinkEvent::Ipv4AddressRequest => {
                self.lns.ipv4_assigned(self.now, self.peer_addr, DNS);
            }
            _ => {}
        }
    }

    fn launch(&mut self, to: End, frame: Vec<u8>) {
        if self.net_rng.next_u32() % 100 < self.net.loss_percent {
            return;
        }
        let jitter_us = self.net.jitter.as_micros() as u64;
        let held_back = self.net_rng.next_u32() % 100 < self.net.reorder_percent;
        let extra = if jitter_us == 0 || !held_back {
            0
        } else {
            self.net_rng.next_u64() % jitter_us
        };
        let at = self.now + self.net.latency + Duration::from_micros(extra);
        self.seq += 1;
        self.in_flight.insert((at, self.seq), (to, frame));
    }

    /// Advances to the next delivery or timer; false when nothing is left
    /// or `until` is reached.
    fn step(&mut self, until: Timestamp) -> bool {
        let next_frame = self.in_flight.keys().next().map(|k| k.0);
        let next = [next_frame, self.lns.poll_timeout(), self.sub.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else { return false };
        if next > until {
            return false;
        }
        self.now = self.now.max(next);
        if next_frame == Some(next) {
            let key = *self.in_flight.keys().next().expect("a frame is due");
            let (to, frame) = self.in_flight.remove(&key).expect("key just read");
            match to {
                End::Lns => self
                    .lns
                    .handle_frame(self.now, &frame, &mut self.lns_entropy),
                End::Subscriber => self
                    .sub
                    .handle_frame(self.now, &frame, &mut self.sub_entropy),
            }
        } else {
            self.lns.handle_timeout(self.now, &mut self.lns_entropy);
            self.sub.handle_timeout(self.now, &mut self.sub_entropy);
        }
        self.pump();
        true
    }

    /// Runs until `done` or `until`; time then stands at `until` unless
    /// `done` stopped it earlier.
    fn run_until(&mut self, until: Timestamp, done: impl Fn(&Sim) -> bool) {
        while !done(self) {
            if !self.step(until) {
                self.now = self.now.max(until);
                return;
            }
        }
    }

    fn saw(events: &[(Timestamp, LinkEvent)], f: impl Fn(&LinkEvent) -> bool) -> Option<Timestamp> {
        events.iter().find(|(_, e)| f(e)).map(|(t, _)| *t)
    }

    /// Both NCPs Opened on both ends, right now.
    fn network_up(&self) -> bool {
        [&self.lns, &self.sub].iter().all(|l| {
            l.phase() == Phase::Network
                && l.ipcp_state() == State::Opened
                && l.ipv6cp_state() == State::Opened
        })
    }

    fn link_down(events: &[(Timestamp, LinkEvent)]) -> Option<lns_proto::ppp::DisconnectCause> {
        events.iter().find_map(|(_, e)| match e {
            LinkEvent::LinkDown { cause } => Some(cause.clone()),
            _ => None,
        })
    }
}

fn lns_config(order: Vec<AuthMethod>) -> LinkConfig {
    let mut c = LinkConfig::lns(Ipv4Addr::new(100, 64, 0, 1));
    c.auth_order = order;
    c
}

fn sub_config(order: Vec<AuthMethod>) -> LinkConfig {
    let mut c = LinkConfig::subscriber(USER, PASSWORD);
    c.auth_order = order;
    c
}

fn bring_up(
    seed: u64,
    lns_order: Vec<AuthMethod>,
    sub_order: Vec<AuthMethod>,
    net: NetModel,
) -> Sim {
    let mut sim = Sim::new(seed, lns_config(lns_order), sub_config(sub_order), net);
    let t0 = sim.now;
    sim.lns.open(t0, &mut sim.lns_entropy);
    sim.pump();
    // pppd attaches after ICCN: its first request comes ~150 ms later.
    sim.run_until(t0 + Duration::from_millis(150), |_| false);
    sim.sub.open(sim.now, &mut sim.sub_entropy);
    sim.pump();
    sim.run_until(t0 + Duration::from_secs(120), Sim::network_up);
    sim
}

fn assert_up(sim: &Sim, seed: u64, method: AuthMethod) {
    assert!(
        sim.network_up(),
        "seed {seed}: not up; lns {:?} sub {:?}\nlns events {:?}\nsub events {:?}",
        sim.lns.phase(),
        sim.sub.phase(),
        sim.lns_events,
        sim.sub_events
    );
    // The subscriber learnt the assigned address and DNS (RFC 1332, RFC 1877).
    let sub_v4 = sim.sub_events.iter().find_map(|(_, e)| match e {
        LinkEvent::Ipv4Up { local, peer, dns } => Some((*local, *peer, *dns)),
        _ => None,
    });
    assert_eq!(
        sub_v4,
        Some((sim.peer_addr, Ipv4Addr::new(100, 64, 0, 1), DNS)),
        "seed {seed}"
    );
    let authenticated = Sim::saw(&sim.lns_events, |e| {
        *e == LinkEvent::Authenticated {
            method: Some(method),
        }
    });
    assert!(authenticated.is_some(), "seed {seed}: {:?}", sim.lns_events);
    assert_eq!(sim.lns.user_name(), USER);
    // Interface identifiers are distinct and non-zero (RFC 5072 §4.1).
    let ids = sim.lns_events.iter().find_map(|(_, e)| match e {
        LinkEvent::Ipv6Up { local_id, peer_id } => Some((*local_id, *peer_id)),
        _ => None,
    });
    let (a, b) = ids.expect("IPV6CP up");
    assert!(a != 0 && b != 0 && a != b, "seed {seed}: {a:x} {b:x}");
}

/// Brings up 1 000 links and checks each; returns the setup times sorted.
fn thousand_links(first_seed: u64, method: AuthMethod) -> Vec<Duration> {
    let mut times = Vec::new();
    for seed in first_seed..first_seed + 1_000 {
        let sim = bring_up(
            seed,
            vec![method],
            vec![AuthMethod::ChapMd5, AuthMethod::Pap],
            LOSSY,
        );
        assert_up(&sim, seed, method);
        let up = sim.now;
        let start = Timestamp::from_unix_millis(1_700_000_000_000);
        times.push(up.saturating_since(start));
    }
    times.sort();
    times
}

#[test]
fn thousand_links_up_with_pap_over_a_lossy_link() {
    let t = thousand_links(0, AuthMethod::Pap);
    eprintln!(
        "PAP setup: median {:?}, p99 {:?}, max {:?}",
        t[500], t[990], t[999]
    );
    // 3 % loss: most links need no retransmission at all (each lost
    // packet costs a 3 s restart timer).
    assert!(t[500] < Duration::from_secs(1), "median {:?}", t[500]);
}

#[test]
fn thousand_links_up_with_chap_over_a_lossy_link() {
    let t = thousand_links(10_000, AuthMethod::ChapMd5);
    eprintln!(
        "CHAP setup: median {:?}, p99 {:?}, max {:?}",
        t[500], t[990], t[999]
    );
    assert!(t[500] < Duration::from_secs(1), "median {:?}", t[500]);
}

#[test]
fn links_converge_under_twenty_percent_loss() {
    for seed in 50_000..50_200u64 {
        for method in [AuthMethod::Pap, AuthMethod::ChapMd5] {
            let sim = bring_up(seed, vec![method], vec![method], HARSH);
            assert_up(&sim, seed, method);
        }
    }
}

#[test]
fn subscriber_naking_chap_gets_pap() {
    // REFERENCE.md: pppd configured for PAP only Naks CHAP to PAP.
    for seed in 0..50u64 {
        let sim = bring_up(
            seed,
            vec![AuthMethod::ChapMd5, AuthMethod::Pap],
            vec![AuthMethod::Pap],
            LOSSY,
        );
        assert_up(&sim, seed, AuthMethod::Pap);
    }
}

fn wrong_password(seed: u64, method: AuthMethod, net: NetModel) -> Sim {
    let mut sim = Sim::new(
        seed,
        lns_config(vec![method]),
        sub_config(vec![method]),
        net,
    );
    sim.expected_password = b"other".to_vec();
    let t0 = sim.now;
    sim.lns.open(t0, &mut sim.lns_entropy);
    sim.sub.open(t0, &mut sim.sub_entropy);
    sim.pump();
    sim.run_until(t0 + Duration::from_secs(120), |s| {
        Sim::link_down(&s.lns_events).is_some() && Sim::link_down(&s.sub_events).is_some()
    });
    sim
}

#[test]
fn wrong_password_ends_with_nak_or_failure_and_cause_16() {
    // RFC 1334 §2.2.2 Nak, RFC 1994 §4.2 Failure, RFC 3145 code 16.
    for (method, answer) in [
        (AuthMethod::Pap, [0xc0, 0x23, 0x03]),
        (AuthMethod::ChapMd5, [0xc2, 0x23, 0x04]),
    ] {
        let mut sim = Sim::new(1, lns_config(vec![method]), sub_config(vec![method]), CLEAN);
        sim.expected_password = b"other".to_vec();
        let t0 = sim.now;
        sim.lns.open(t0, &mut sim.lns_entropy);
        sim.sub.open(t0, &mut sim.sub_entropy);
        sim.pump();
        sim.run_until(t0 + Duration::from_secs(60), |_| false);
        assert!(
            sim.lns_sent
                .iter()
                .any(|f| f.len() > 4 && f[2..5] == answer),
            "{method:?}: no Nak/Failure sent"
        );
        for events in [&sim.lns_events, &sim.sub_events] {
            let cause = Sim::link_down(events).expect("link down");
            assert_eq!(
                cause.code,
                DisconnectCode::AuthFailed,
                "{method:?} {cause:?}"
            );
        }
        assert_eq!(sim.lns.phase(), Phase::Dead);
        assert!(Sim::saw(&sim.lns_events, |e| matches!(e, LinkEvent::Ipv4Up { .. })).is_none());
    }
    // Over a lossy link the LNS still reports cause 16 and goes down cleanly.
    for seed in 0..100u64 {
        for method in [AuthMethod::Pap, AuthMethod::ChapMd5] {
            let sim = wrong_password(seed, method, LOSSY);
            let cause = Sim::link_down(&sim.lns_events).expect("LNS link down");
            assert_eq!(
                cause.code,
                DisconnectCode::AuthFailed,
                "seed {seed} {method:?}"
            );
        }
    }
}

#[test]
fn first_configure_request_race_is_resolved_in_one_round_trip() {
    // REFERENCE.md (xl2tpd): the LNS's first ConfReq is lost; pppd's arrives
    // 150 ms later. LCP must open about one RTT after that, not after the
    // 3 s restart timer.
    let mut sim = Sim::new(
        7,
        lns_config(vec![AuthMethod::Pap]),
        sub_config(vec![AuthMethod::Pap]),
        CLEAN,
    );
    sim.drop_first_lns = 1;
    let t0 = sim.now;
    sim.lns.open(t0, &mut sim.lns_entropy);
    sim.pump();
    sim.run_until(t0 + Duration::from_millis(150), |_| false);
    sim.sub.open(sim.now, &mut sim.sub_entropy);
    let sub_start = sim.now;
    sim.pump();
    sim.run_until(t0 + Duration::from_secs(10), Sim::network_up);
    let lcp_up = |e: &LinkEvent| matches!(e, LinkEvent::LcpUp { .. });
    let lns_up = Sim::saw(&sim.lns_events, lcp_up).expect("LNS LCP up");
    let sub_up = Sim::saw(&sim.sub_events, lcp_up).expect("subscriber LCP up");
    let rtt = CLEAN.latency * 2;
    let last = lns_up.max(sub_up);
    assert!(
        last.saturating_since(sub_start) <= rtt * 2,
        "LCP took {:?} after the subscriber's first request",
        last.saturating_since(sub_start)
    );
    assert!(sim.network_up());
    // Whole setup well under a second (l2tpns: 2.2-2.9 s).
    let v4 = Sim::saw(&sim.lns_events, |e| matches!(e, LinkEvent::Ipv4Up { .. })).expect("v4");
    assert!(
        v4.saturating_since(t0) < Duration::from_secs(1),
        "{:?}",
        v4.saturating_since(t0)
    );
}

#[test]
fn echo_keepalive_detects_a_dead_peer() {
    // The brief: echo after N idle seconds; dead after M unanswered.
    let mut sim = bring_up(3, vec![AuthMethod::Pap], vec![AuthMethod::Pap], CLEAN);
    assert!(sim.network_up());
    let cut = sim.now;
    // The subscriber vanishes: nothing it sends arrives any more.
    sim.net.loss_percent = 100;
    sim.in_flight.clear();
    sim.run_until(cut + Duration::from_secs(120), |s| {
        Sim::link_down(&s.lns_events).is_some()
    });
    let cause = Sim::link_down(&sim.lns_events).expect("link declared dead");
    assert_eq!(cause.code, DisconnectCode::EchoTimeout);
    let down_at = sim.lns_events.last().expect("events").0;
    // 10 s idle + 3 unanswered echoes 10 s apart = 40 s.
    let took = down_at.saturating_since(cut);
    assert!(
        took >= Duration::from_secs(30) && took <= Duration::from_secs(41),
        "{took:?}"
    );
}

#[test]
fn echoes_are_answered_with_the_same_magic_while_up() {
    let mut sim = bring_up(
        4,
        vec![AuthMethod::ChapMd5],
        vec![AuthMethod::ChapMd5],
        LOSSY,
    );
    assert!(sim.network_up());
    let start = sim.now;
    sim.net.loss_percent = 0;
    sim.run_until(start + Duration::from_secs(300), |_| false);
    assert!(
        Sim::link_down(&sim.lns_events).is_none(),
        "{:?}",
        sim.lns_events
    );
    assert_eq!(sim.lns.phase(), Phase::Network);
}

#[test]
fn link_restored_mid_session_keeps_answering_echoes_with_the_same_magic() {
    // FAILOVER.md: a link restored on another node answers the next
    // Echo-Request with the same magic number and carries on.
    use prost::Message;
    let mut sub_cfg = sub_config(vec![AuthMethod::ChapMd5]);
    sub_cfg.echo_interval = Some(Duration::from_secs(5));
    let lns_cfg = lns_config(vec![AuthMethod::ChapMd5]);
    let mut sim = Sim::new(42, lns_cfg.clone(), sub_cfg, LOSSY);
    let t0 = sim.now;
    sim.lns.open(t0, &mut sim.lns_entropy);
    sim.sub.open(t0, &mut sim.sub_entropy);
    sim.pump();
    sim.run_until(t0 + Duration::from_secs(60), Sim::network_up);
    assert!(sim.network_up());
    sim.net.loss_percent = 0;
    sim.run_until(sim.now + Duration::from_secs(7), |_| false);
    let magic = sim.lns.our_magic();
    assert_ne!(magic, 0);

    // "Fail over": the LNS state crosses a process boundary as protobuf.
    let bytes = sim.lns.snapshot().encode_to_vec();
    let state = lns_proto::pb::ppp::LinkState::decode(&bytes[..]).expect("decodes");
    let restored = Link::restore(lns_cfg, &state).expect("restores");
    assert_eq!(restored, sim.lns, "restore is exact");
    sim.lns = restored;
    sim.lns_entropy = Seeded::new(0xfeed); // a different node, other randomness
    let sent_before = sim.lns_sent.len();
    sim.run_until(sim.now + Duration::from_secs(60), |_| false);

    let replies: Vec<&Vec<u8>> = sim.lns_sent[sent_before..]
        .iter()
        .filter(|f| f.starts_with(&[0xff, 0x03, 0xc0, 0x21, 0x0a]))
        .collect();
    assert!(replies.len() >= 10, "{} echo replies", replies.len());
    for r in replies {
        assert_eq!(r[8..12], magic.to_be_bytes(), "RFC 1661 §5.8: our magic");
    }
    assert!(sim.network_up());
    assert!(Sim::link_down(&sim.lns_events).is_none());
    assert!(Sim::link_down(&sim.sub_events).is_none());
}

#[test]
fn same_inputs_give_the_same_outputs_bit_for_bit() {
    // common.md determinism: a follower re-running inputs gets the same state.
    let a = bring_up(
        77,
        vec![AuthMethod::ChapMd5],
        vec![AuthMethod::ChapMd5],
        LOSSY,
    );
    let b = bring_up(
        77,
        vec![AuthMethod::ChapMd5],
        vec![AuthMethod::ChapMd5],
        LOSSY,
    );
    assert_eq!(a.lns_sent, b.lns_sent);
    assert_eq!(a.lns_events, b.lns_events);
    assert_eq!(a.lns.snapshot(), b.lns.snapshot());
}
