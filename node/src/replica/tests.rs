//! Replica tests in virtual time: a LAC (`lns_proto::l2tp`, Side::Lac) and
//! PAP subscribers (`lns_proto::ppp`, Side::Subscriber) talk to an "active"
//! replica through commands; every command is recorded so other replicas
//! can be fed the same log (DESIGN.md D1).

use super::*;
use crate::engine::{AuthOutcome, Grant, Input, PoolSpec, SecondLoginPolicy, SessionKey};
use lns_proto::entropy::{Entropy, Seeded};
use lns_proto::l2tp::{
    CallInfo, Endpoint, EndpointConfig, Event as L2tpEvent, PeerSettings, Side as L2tpSide,
};
use lns_proto::ppp::{AuthMethod, Link, LinkConfig, Side};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

const LAC: &str = "198.18.0.1:1701";
const LNS: &str = "198.18.0.100:1701";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("literal")
}

fn config() -> EngineConfig {
    let mut link = LinkConfig::lns(Ipv4Addr::new(198, 19, 255, 254));
    link.echo_interval = Some(Duration::from_secs(10));
    EngineConfig {
        endpoint: EndpointConfig::new(L2tpSide::Lns, b"lns1"),
        link,
        pools: vec![PoolSpec {
            name: "p".into(),
            ranges: vec![(Ipv4Addr::new(198, 19, 0, 1), Ipv4Addr::new(198, 19, 0, 200))],
            sticky: false,
        }],
        default_pool: Some("p".into()),
        dns: [Some(Ipv4Addr::new(198, 18, 0, 53)), None],
        session_timeout: None,
        idle_timeout: None,
        second_login: SecondLoginPolicy::Allow,
        max_sessions: 100,
        setups_per_second_per_source: 100,
        ipv6: None,
        accounting: crate::engine::AccountingConfig {
            mode: crate::engine::AccountingMode::On,
            interim_interval: Some(Duration::from_secs(300)),
            max_queued: 1000,
        },
    }
}

/// The active side: a replica fed by commands, the LAC and subscribers.
struct Driver {
    now: Timestamp,
    rng: Seeded,
    replica: Replica,
    log: Vec<Vec<u8>>,
    lac: Endpoint,
    tunnel: Option<u16>,
    subs: BTreeMap<SessionKey, Link>,
    lac_sessions: BTreeMap<u16, SessionKey>,
    outputs: Vec<Output>,
    /// AAA answers (false: queries stay unanswered, as when the active
    /// node dies while asking).
    answer: bool,
}

impl Driver {
    fn new() -> Driver {
        Driver {
            now: Timestamp::from_unix_millis(1_700_000_000_000),
            rng: Seeded::new(11),
            replica: Replica::new(config(), None),
            log: Vec::new(),
            lac: Endpoint::new(EndpointConfig::new(L2tpSide::Lac, b"lac1")),
            tunnel: None,
            subs: BTreeMap::new(),
            lac_sessions: BTreeMap::new(),
            outputs: Vec::new(),
            answer: true,
        }
    }

    /// Proposes (and commits at once) one command.
    fn commit(&mut self, inputs: Vec<Input>) {
        let mut seed = [0u8; 32];
        self.rng.fill(&mut seed);
        let bytes = Command {
            now: self.now,
            seed,
            inputs,
        }
        .encode();
        let index = self.log.len() as u64 + 1;
        let outs = self.replica.apply_command(index, &bytes).expect("applies");
        self.log.push(bytes);
        self.route(outs);
    }

    fn route(&mut self, outs: Vec<Output>) {
        let mut follow = Vec::new();
        for o in outs {
            match &o {
                Output::SendL2tp(t) => {
                    self.lac
                        .handle_datagram(self.now, t.peer, t.local, &t.payload, &mut self.rng)
                }
                Output::SendPpp { session, frame } => {
                    if let Some(l) = self.subs.get_mut(session) {
                        l.handle_frame(self.now, frame, &mut self.rng);
                    }
                }
                Output::Authenticate(q) if self.answer => follow.push(Input::AuthResult {
                    session: q.session,
                    request: q.request,
                    outcome: AuthOutcome::Accept(Grant::default_pool()),
                }),
                _ => {}
            }
            self.outputs.push(o);
        }
        if !follow.is_empty() {
            self.commit(follow);
        }
    }

    /// Moves LAC and subscriber output into one command until quiet.
    fn pump(&mut self) {
        loop {
            let mut batch = Vec::new();
            while let Some(t) = self.lac.poll_transmit() {
                batch.push(Input::L2tpDatagram {
                    local: t.peer,
                    peer: t.local,
                    bytes: t.payload,
                });
            }
            while let Some(ev) = self.lac.poll_event() {
                if let L2tpEvent::SessionUp { session, route, .. } = ev {
                    let key = SessionKey {
                        tunnel: route.peer_tunnel_id,
                        session: route.peer_session_id,
                    };
                    self.lac_sessions.insert(session, key);
                }
            }
            for (k, l) in &mut self.subs {
                while let Some(f) = l.poll_transmit() {
                    batch.push(Input::PppFrame {
                        session: *k,
                        bytes: f,
                    });
                }
                while l.poll_event().is_some() {}
            }
            if batch.is_empty() {
                return;
            }
            self.commit(batch);
        }
    }

    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            self.pump();
            let subs = self.subs.values().filter_map(Link::poll_timeout).min();
            let engine = self.replica.engine().poll_timeout();
            let next = [engine, self.lac.poll_timeout(), subs]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    self.lac.handle_timeout(self.now, &mut self.rng);
                    for l in self.subs.values_mut() {
                        if l.poll_timeout().is_some_and(|x| x <= self.now) {
                            l.handle_timeout(self.now, &mut self.rng);
                        }
                    }
                    if engine.is_some_and(|x| x <= self.now) {
                        self.commit(vec![Input::Tick]);
                    }
                }
                _ => break,
            }
        }
        self.now = end;
        self.pump();
    }

    fn dial(&mut self, user: &str) -> SessionKey {
        let t = match self.tunnel {
            Some(t) => t,
            None => {
                let t = self
                    .lac
                    .open_tunnel(
                        self.now,
                        addr(LAC),
                        addr(LNS),
                        PeerSettings::open(),
                        &mut self.rng,
                    )
                    .expect("tunnel");
                self.pump();
                self.tunnel = Some(t);
                t
            }
        };
        let sid = self
            .lac
            .open_session(self.now, t, CallInfo::default(), &mut self.rng)
            .expect("call");
        self.pump();
        let key = *self.lac_sessions.get(&sid).expect("LAC session up");
        let mut cfg = LinkConfig::subscriber(user.as_bytes(), b"pw");
        cfg.auth_order = vec![AuthMethod::Pap];
        let mut link = Link::new(Side::Subscriber, cfg);
        link.open(self.now, &mut self.rng);
        self.subs.insert(key, link);
        self.advance(Duration::from_secs(3));
        key
    }
}

fn replay(log: &[Vec<u8>], from: usize, mut r: Replica) -> Replica {
    for (i, c) in log.iter().enumerate().skip(from) {
        r.apply_command(i as u64 + 1, c).expect("applies");
    }
    r
}

#[test]
fn two_replicas_fed_the_same_commands_have_byte_identical_snapshots() {
    let mut d = Driver::new();
    let a = d.dial("alice");
    let b = d.dial("bob");
    d.advance(Duration::from_secs(25)); // LCP echoes, HELLO, acks
    let up = |k: SessionKey| {
        d.outputs
            .iter()
            .any(|o| matches!(o, Output::SessionUp(e) if e.tunnel_id == k.tunnel && e.session_id == k.session && e.ipv4.is_some()))
    };
    assert!(up(a) && up(b), "both sessions reached IPCP");
    let other = replay(&d.log, 0, Replica::new(config(), None));
    assert_eq!(other.snapshot_bytes(), d.replica.snapshot_bytes());
    assert_eq!(other.engine().sessions().count(), 2);
    assert_eq!(other.applied(), d.log.len() as u64);
}

#[test]
fn a_replica_restored_midway_then_fed_the_rest_equals_one_that_saw_everything() {
    let mut d = Driver::new();
    d.dial("alice");
    let midway = d.log.len();
    let snapshot = d.replica.snapshot_bytes();
    d.dial("bob");
    d.commit(vec![Input::Rearm]);
    d.advance(Duration::from_secs(30));
    let mut restored = Replica::new(config(), None);
    restored
        .restore_bytes(midway as u64, &snapshot)
        .expect("restores");
    assert_eq!(restored.snapshot_bytes(), snapshot, "restore is exact");
    let restored = replay(&d.log, midway, restored);
    assert_eq!(restored.snapshot_bytes(), d.replica.snapshot_bytes());
    let seen_all = replay(&d.log, 0, Replica::new(config(), None));
    assert_eq!(seen_all.snapshot_bytes(), d.replica.snapshot_bytes());
}

#[test]
fn malformed_or_future_commands_are_refused_and_change_nothing() {
    let mut d = Driver::new();
    d.dial("alice");
    let before = d.replica.snapshot_bytes();
    let mut r = d.replica;
    assert!(matches!(
        r.apply_command(99, &[0xff, 0xff, 0xff]),
        Err(CommandError::Malformed(_))
    ));
    let future = pb::Command {
        version: COMMAND_VERSION + 1,
        now_us: 0,
        seed: vec![0; 32],
        inputs: vec![pb::Input {
            kind: Some(pb::input::Kind::Tick(pb::Tick {})),
        }],
    }
    .encode_to_vec();
    assert_eq!(
        r.apply_command(99, &future),
        Err(CommandError::UnsupportedVersion(COMMAND_VERSION + 1))
    );
    let short_seed = pb::Command {
        version: COMMAND_VERSION,
        now_us: 0,
        seed: vec![0; 8],
        inputs: Vec::new(),
    }
    .encode_to_vec();
    assert_eq!(
        r.apply_command(99, &short_seed),
        Err(CommandError::BadSeed(8))
    );
    // A bad input after a good one: nothing is applied, not even the first.
    let half_bad = pb::Command {
        version: COMMAND_VERSION,
        now_us: 1_800_000_000_000_000,
        seed: vec![0; 32],
        inputs: vec![
            pb::Input {
                kind: Some(pb::input::Kind::Admin(pb::Admin {
                    kind: 3,
                    session: None,
                    tunnel: 0,
                })),
            },
            pb::Input { kind: None },
        ],
    }
    .encode_to_vec();
    assert!(matches!(
        r.apply_command(99, &half_bad),
        Err(CommandError::Input(_))
    ));
    assert_eq!(r.snapshot_bytes(), before);
    assert_ne!(r.applied(), 99);
}

#[test]
fn future_or_corrupt_snapshots_are_refused_and_leave_the_state_alone() {
    let mut d = Driver::new();
    d.dial("alice");
    let before = d.replica.snapshot_bytes();
    let mut s = d.replica.engine().snapshot();
    s.version = 2;
    let mut r = d.replica;
    assert_eq!(
        r.restore_bytes(5, &s.encode_to_vec()),
        Err(SnapshotError::UnsupportedVersion(2))
    );
    assert!(r.restore_bytes(5, &[0xff, 0x01]).is_err());
    assert_eq!(r.snapshot_bytes(), before);
}

#[test]
fn every_input_round_trips_through_its_encoding() {
    let key = SessionKey {
        tunnel: 3,
        session: 9,
    };
    let inputs = vec![
        Input::L2tpDatagram {
            local: addr(LNS),
            peer: addr(LAC),
            bytes: vec![0xc8, 0x02],
        },
        Input::PppFrame {
            session: key,
            bytes: vec![0xff, 0x03, 0xc0, 0x21],
        },
        Input::AuthResult {
            session: key,
            request: 4,
            outcome: AuthOutcome::Accept(Grant {
                address: crate::engine::AddressGrant::Fixed(Ipv4Addr::new(198, 19, 0, 9)),
                session_timeout: Some(Duration::from_secs(60)),
                idle_timeout: None,
                class: vec![b"gold".to_vec()],
                dns: [None, Some(Ipv4Addr::new(198, 18, 0, 53))],
                acct_interim_interval: Some(Duration::from_secs(600)),
                authentic: lns_proto::radius::values::AcctAuthentic::Radius,
                ipv6: crate::engine::Ipv6Grant {
                    framed_prefix: Some(("2001:db8:100:7::".parse().expect("literal"), 64)),
                    delegated_prefix: Some(("2001:db8:200:700::".parse().expect("literal"), 56)),
                    framed_address: None,
                    interface_id: Some([0, 0, 0, 0, 0, 0, 0, 1]),
                    dns: vec!["2001:db8::53".parse().expect("literal")],
                },
            }),
        },
        Input::AuthResult {
            session: key,
            request: 5,
            outcome: AuthOutcome::Unavailable,
        },
        Input::Tick,
        Input::Admin(crate::engine::AdminCommand::KillTunnel(3)),
        Input::TrafficSeen {
            session: key,
            at: Timestamp::from_unix_micros(77),
        },
        Input::Rearm,
        Input::Counters(vec![crate::engine::SessionCounters {
            session: key,
            traffic: crate::engine::Traffic {
                input_octets: 2,
                output_octets: 4,
                input_packets: 1,
                output_packets: 3,
            },
        }]),
        Input::AccountingAcked { record: 9 },
        Input::Reauthorize {
            session: key,
            change: crate::engine::Reauthorization {
                session_timeout: Some(std::time::Duration::from_secs(60)),
                idle_timeout: None,
            },
        },
    ];
    let c = Command {
        now: Timestamp::from_unix_micros(1),
        seed: [7; 32],
        inputs,
    };
    assert_eq!(Command::decode(&c.encode()), Ok(c));
}

#[test]
fn rearm_keeps_established_sessions_and_ends_those_waiting_for_aaa_with_a_cause() {
    let mut d = Driver::new();
    let alice = d.dial("alice");
    d.answer = false;
    let bob = d.dial("bob");
    let pending = |d: &Driver, k| {
        matches!(
            d.replica.engine().session(k).map(|s| &s.auth),
            Some(crate::engine::AuthPhase::Pending(_))
        )
    };
    assert!(pending(&d, bob), "bob waits for AAA");
    // The old active node died; the new one proposes Rearm.
    d.outputs.clear();
    d.commit(vec![Input::Rearm]);
    d.advance(Duration::from_secs(5));
    let down = |k: SessionKey| {
        d.outputs
            .iter()
            .any(|o| matches!(o, Output::SessionDown { session, .. } if *session == k))
    };
    assert!(down(bob), "the half-authenticated session is ended");
    assert!(!down(alice), "the established session survives");
    assert!(d
        .outputs
        .iter()
        .any(|o| matches!(o, Output::Log(n) if n.text.contains("interrupted by a failover"))));
    assert!(d
        .replica
        .engine()
        .session(alice)
        .is_some_and(|s| s.ipv4.is_some()));
    // Its timers were spread: nothing of alice's link is overdue.
    let now = d.now;
    assert!(d.replica.engine().poll_timeout().is_none_or(|t| t > now));
}
