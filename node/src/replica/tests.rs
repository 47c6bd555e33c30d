//! Replica tests in virtual time: a LAC (`lns_proto::l2tp`, Side::Lac) and
//! PAP subscribers (`lns_proto::ppp`, Side::Subscriber) talk to an "active"
//! replica through commands; every command is recorded so other replicas
//! can be fed the same log (DESIGN.md D1).

use super::*;
use crate::engine::ipv6::{ppp_ipv6_frame, Ipv6Settings};
use crate::engine::{AdminCommand, RecordKind, SessionCounters, Traffic};
use crate::engine::{AuthOutcome, Grant, Input, PoolSpec, SecondLoginPolicy, SessionKey};
use lns_proto::dhcpv6::{
    emit_udp_packet, Dhcpv6Config, Dhcpv6Message, Dhcpv6Option, Dhcpv6Packet, Duid, Ia, MessageType,
};
use lns_proto::entropy::{Entropy, Seeded};
use lns_proto::l2tp::{
    CallInfo, Endpoint, EndpointConfig, Event as L2tpEvent, PeerSettings, Side as L2tpSide,
};
use lns_proto::nd::{emit_nd_packet, NdMessage, RaConfig, RouterSolicitation, ALL_ROUTERS};
use lns_proto::ppp::{AuthMethod, Link, LinkConfig, Side};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
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
        Driver::with(config())
    }

    fn with(config: EngineConfig) -> Driver {
        Driver {
            now: Timestamp::from_unix_millis(1_700_000_000_000),
            rng: Seeded::new(11),
            replica: Replica::new(config, None),
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
            fingerprint: None,
            settings: None,
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

impl Driver {
    /// The subscriber of `key` sends an IPv6 packet (as the data plane's
    /// link-scope divert delivers it).
    fn send_v6(&mut self, key: SessionKey, packet: &[u8]) {
        self.commit(vec![Input::PppFrame {
            session: key,
            bytes: ppp_ipv6_frame(packet),
        }]);
        self.pump();
    }

    /// A Router Solicitation, then a Rapid Commit Solicit for an address
    /// and a prefix (RFC 4861 §6.3.7, RFC 8415 §18.2.1).
    fn ipv6_exchanges(&mut self, key: SessionKey) {
        let src: Ipv6Addr = "fe80::1234:5678:9abc:def0".parse().expect("literal");
        let mut rs = Vec::new();
        let msg = NdMessage::RouterSolicitation(RouterSolicitation {
            options: Vec::new(),
        });
        emit_nd_packet(src, ALL_ROUTERS, &msg, &mut rs).expect("encodable");
        self.send_v6(key, &rs);
        let ia = |iaid| Ia {
            iaid,
            t1: 0,
            t2: 0,
            options: Vec::new(),
        };
        let mut payload = Vec::new();
        Dhcpv6Packet::Message(Dhcpv6Message {
            msg_type: MessageType::Solicit,
            transaction_id: u32::from(key.session),
            options: vec![
                Dhcpv6Option::ClientId(Duid::Ll {
                    hardware_type: 1,
                    link_layer_address: vec![0x02, 0, 0, 0, 0, 0x07],
                }),
                Dhcpv6Option::RapidCommit,
                Dhcpv6Option::IaNa(ia(1)),
                Dhcpv6Option::IaPd(ia(2)),
            ],
        })
        .emit(&mut payload)
        .expect("encodable");
        let mut packet = Vec::new();
        let dst: Ipv6Addr = "ff02::1:2".parse().expect("literal");
        emit_udp_packet(src, dst, 546, 547, &payload, &mut packet).expect("encodable");
        self.send_v6(key, &packet);
    }
}

/// `config()` with `[ipv6]` on: sticky link and delegation pools.
fn config_v6() -> EngineConfig {
    let v6 = |s: &str| -> Ipv6Addr { s.parse().expect("literal") };
    let mut ra =
        RaConfig::for_prefix(Ipv6Addr::UNSPECIFIED).with_max_interval(Duration::from_secs(600));
    ra.managed = true;
    ra.other_config = true;
    let mut dhcpv6 = Dhcpv6Config::new(Duid::En {
        enterprise_number: 32473,
        identifier: b"lnsd".to_vec(),
    });
    dhcpv6.dns_servers = vec![v6("2001:db8::53")];
    let mut c = config();
    c.ipv6 = Some(Ipv6Settings {
        link_pool: Some((v6("2001:db8:100::"), 56)),
        pd_pool: Some((v6("2001:db8:200::"), 48)),
        pd_length: 56,
        sticky: true,
        ra,
        dhcpv6,
    });
    c
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
        config_fingerprint: None,
        cfg_settings: None,
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
        config_fingerprint: None,
        cfg_settings: None,
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
        config_fingerprint: None,
        cfg_settings: None,
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
                ipv6: Some(Box::new(crate::engine::Ipv6Grant {
                    framed_prefix: Some(("2001:db8:100:7::".parse().expect("literal"), 64)),
                    delegated_prefix: Some(("2001:db8:200:700::".parse().expect("literal"), 56)),
                    framed_address: None,
                    interface_id: Some([0, 0, 0, 0, 0, 0, 0, 1]),
                    dns: vec!["2001:db8::53".parse().expect("literal")],
                })),
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
                acct_interim_interval: Some(std::time::Duration::from_secs(600)),
                class: vec![b"gold".to_vec()],
            },
        },
    ];
    let c = Command {
        now: Timestamp::from_unix_micros(1),
        seed: [7; 32],
        inputs,
        fingerprint: None,
        settings: None,
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

/// Records of `kind` in the engine's unacknowledged queue, by session.
fn queued(r: &Replica, kind: RecordKind) -> Vec<(SessionKey, String)> {
    r.engine()
        .pending_accounting()
        .filter(|a| a.kind == kind)
        .map(|a| (a.session, a.acct_session_id.clone()))
        .collect()
}

/// Two sessions with IPv6 (RA, DHCPv6 bindings), accounting Starts,
/// counters and a due Interim.
fn dual_stack_traffic(d: &mut Driver) -> (SessionKey, SessionKey) {
    let a = d.dial("alice");
    d.ipv6_exchanges(a);
    let b = d.dial("bob");
    d.ipv6_exchanges(b);
    d.commit(vec![Input::Counters(vec![SessionCounters {
        session: a,
        traffic: Traffic {
            input_octets: 1500,
            output_octets: 9000,
            input_packets: 3,
            output_packets: 7,
        },
    }])]);
    (a, b)
}

#[test]
fn with_accounting_and_ipv6_two_replicas_have_byte_identical_snapshots() {
    let mut d = Driver::with(config_v6());
    let (a, b) = dual_stack_traffic(&mut d);
    d.advance(Duration::from_secs(310)); // an Interim each, RAs repeat
    let snap = d.replica.engine().snapshot();
    let acct = snap.accounting.as_ref().expect("accounting state");
    assert_eq!(acct.live.len(), 2);
    assert!(acct.queue.len() >= 4, "Starts and Interims queued");
    let v6 = snap.ipv6.as_ref().expect("IPv6 state");
    assert_eq!(v6.sessions.len(), 2);
    assert_eq!(v6.link_pool.as_ref().map(|p| p.in_use.len()), Some(2));
    assert_eq!(v6.pd_pool.as_ref().map(|p| p.last.len()), Some(2));
    assert_eq!(queued(&d.replica, RecordKind::Start).len(), 2);
    assert_eq!(queued(&d.replica, RecordKind::Interim).len(), 2);
    assert!(d.replica.engine().ipv6_prefixes(a).len() == 2);
    assert!(d.replica.engine().ipv6_prefixes(b).len() == 2);
    let other = replay(&d.log, 0, Replica::new(config_v6(), None));
    assert_eq!(other.snapshot_bytes(), d.replica.snapshot_bytes());
    assert_eq!(
        other.engine().ipv6_records(),
        d.replica.engine().ipv6_records()
    );
}

#[test]
fn with_accounting_and_ipv6_a_replica_restored_midway_equals_one_that_saw_everything() {
    let mut d = Driver::with(config_v6());
    let (a, _) = dual_stack_traffic(&mut d);
    d.advance(Duration::from_secs(1));
    let midway = d.log.len();
    let outputs_before = d.outputs.len();
    let snapshot = d.replica.snapshot_bytes();
    let stop_wait = d.replica.engine().snapshot();
    assert!(
        stop_wait
            .accounting
            .as_ref()
            .is_some_and(|s| s.live.len() == 2),
        "two live sessions at the snapshot"
    );
    // After the snapshot: a third session, Interims, a Stop waiting for its
    // final counters, a failover, more Interims.
    let c = d.dial("carol");
    d.ipv6_exchanges(c);
    d.advance(Duration::from_secs(301));
    d.commit(vec![Input::Admin(AdminCommand::KillSession(a))]);
    d.advance(Duration::from_millis(500));
    d.commit(vec![Input::Rearm]);
    d.advance(Duration::from_secs(400));
    let mut restored = Replica::new(config_v6(), None);
    restored
        .restore_bytes(midway as u64, &snapshot)
        .expect("restores");
    assert_eq!(restored.snapshot_bytes(), snapshot, "restore is exact");
    assert_eq!(
        restored.engine().poll_timeout(),
        replay(&d.log[..midway], 0, Replica::new(config_v6(), None))
            .engine()
            .poll_timeout(),
        "same timers (RA, accounting) as a replica that saw everything"
    );
    let mut outputs = Vec::new();
    for (i, cmd) in d.log.iter().enumerate().skip(midway) {
        outputs.extend(restored.apply_command(i as u64 + 1, cmd).expect("applies"));
    }
    assert_eq!(outputs, d.outputs[outputs_before..], "same outputs");
    assert_eq!(restored.snapshot_bytes(), d.replica.snapshot_bytes());
    // No Start lost, none sent twice: one per session, all unacked.
    let starts = queued(&restored, RecordKind::Start);
    assert_eq!(starts.len(), 3);
    let ids: std::collections::BTreeSet<&String> = starts.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), 3);
    let sent_starts = outputs
        .iter()
        .filter(|o| matches!(o, Output::Account(r) if r.kind == RecordKind::Start))
        .count();
    assert_eq!(sent_starts, 1, "only carol's Start after the snapshot");
    assert!(restored
        .engine()
        .pending_accounting()
        .any(|r| r.session == a && matches!(r.kind, RecordKind::Stop(_))));
    assert_eq!(
        restored.engine().ipv6_records(),
        d.replica.engine().ipv6_records()
    );
}

#[test]
fn a_restored_engine_hands_out_no_prefix_or_address_already_held() {
    let mut d = Driver::with(config_v6());
    let a = d.dial("alice");
    d.ipv6_exchanges(a);
    let mut restored = Replica::new(config_v6(), None);
    restored
        .restore_bytes(d.log.len() as u64, &d.replica.snapshot_bytes())
        .expect("restores");
    // The restored replica becomes the active one.
    d.replica = restored;
    d.commit(vec![Input::Rearm]);
    let b = d.dial("bob");
    d.ipv6_exchanges(b);
    let e = d.replica.engine();
    let v4 = |k| e.session(k).and_then(|s| s.ipv4);
    assert!(v4(a).is_some() && v4(b).is_some());
    assert_ne!(v4(a), v4(b));
    let (pa, pb) = (e.ipv6_prefixes(a), e.ipv6_prefixes(b));
    assert_eq!((pa.len(), pb.len()), (2, 2), "both have a /64 and a /56");
    assert!(pa.iter().all(|p| !pb.contains(p)), "{pa:?} vs {pb:?}");
    assert_eq!(e.ipv6_pool_usage(), (2, 2));
}

#[test]
fn rearm_spreads_overdue_interims_instead_of_a_burst() {
    let mut d = Driver::with(config_v6());
    let (a, b) = dual_stack_traffic(&mut d);
    let snapshot = d.replica.snapshot_bytes();
    let index = d.log.len() as u64;
    // The active node dies; nobody ticks for 10 minutes, then a standby
    // restored from the snapshot takes over.
    let mut standby = Replica::new(config_v6(), None);
    standby.restore_bytes(index, &snapshot).expect("restores");
    d.replica = standby;
    d.now = d.now + Duration::from_secs(600);
    d.outputs.clear();
    d.commit(vec![Input::Rearm]);
    let now = d.now;
    let interims = |d: &Driver| {
        d.outputs
            .iter()
            .filter(|o| matches!(o, Output::Account(r) if r.kind == RecordKind::Interim))
            .count()
    };
    assert_eq!(interims(&d), 0, "no burst at the takeover");
    let due: Vec<Timestamp> = d
        .replica
        .engine()
        .snapshot()
        .accounting
        .expect("accounting state")
        .live
        .iter()
        .filter_map(|l| l.next_interim_us.map(Timestamp::from_unix_micros))
        .collect();
    assert_eq!(due.len(), 2);
    assert!(due
        .iter()
        .all(|t| *t >= now && *t < now + crate::engine::ACCOUNTING_SPREAD));
    d.advance(Duration::from_secs(31));
    assert_eq!(interims(&d), 2, "one Interim each within the spread");
    assert!(d.replica.engine().session(a).is_some() && d.replica.engine().session(b).is_some());
}

#[test]
fn a_snapshot_written_before_the_accounting_and_ipv6_fields_still_loads() {
    let mut d = Driver::with(config_v6());
    let (a, _) = dual_stack_traffic(&mut d);
    let mut old = d.replica.engine().snapshot();
    old.accounting = None;
    old.ipv6 = None;
    old.setup_failures.clear();
    let mut r = Replica::new(config_v6(), None);
    r.restore_bytes(d.log.len() as u64, &old.encode_to_vec())
        .expect("an older snapshot loads");
    assert_eq!(r.engine().sessions().count(), 2);
    assert!(r.engine().session(a).is_some_and(|s| s.ipv4.is_some()));
    assert_eq!(r.engine().pending_accounting().count(), 0);
    assert_eq!(r.engine().ipv6_pool_usage(), (0, 0));
}

/// Issue 6: the active node's fingerprint in a command tells every member
/// whether it builds the same engine; the snapshot carries it to a member
/// that catches up, and a restore after start-up counts as an install.
#[test]
fn the_logged_fingerprint_is_compared_and_travels_in_snapshots() {
    let active = config();
    let mut other_pool = config();
    other_pool.pools[0].ranges[0].1 = Ipv4Addr::new(198, 19, 0, 100);
    let command = |fingerprint: Option<ConfigFingerprint>| {
        Command {
            now: Timestamp::from_unix_micros(1_800_000_000_000_000),
            seed: [3; 32],
            inputs: Vec::new(),
            fingerprint,
            settings: None,
        }
        .encode()
    };
    let announce = command(Some(ConfigFingerprint::of(&active)));
    let mut same = Replica::new(config(), None);
    let mut differs = Replica::new(other_pool.clone(), None);
    assert_eq!(same.consistency(), Consistency::Unknown);
    same.apply_command(1, &announce).expect("applies");
    differs.apply_command(1, &announce).expect("applies");
    assert_eq!(same.consistency(), Consistency::Matches);
    assert_eq!(
        differs.consistency(),
        Consistency::Differs(vec!["pools".into()])
    );
    // A later command without a fingerprint keeps the reference.
    differs.apply_command(2, &command(None)).expect("applies");
    assert!(differs.consistency().differs());

    // A member restoring the snapshot learns the reference from it; only a
    // restore after start-up is an install.
    let snapshot = same.snapshot_bytes();
    let mut joiner = Replica::new(other_pool, None);
    joiner.restore_bytes(1, &snapshot).expect("restores");
    assert_eq!(joiner.snapshots_installed(), 0, "start-up restore");
    assert!(joiner.consistency().differs());
    joiner.mark_started();
    joiner.restore_bytes(1, &snapshot).expect("restores");
    assert_eq!(joiner.snapshots_installed(), 1);

    // SIGHUP with the active node's pools: the mismatch clears.
    let peers = joiner.config.endpoint.peers.clone();
    joiner.reconfigure(peers, config().pools);
    assert_eq!(joiner.consistency(), Consistency::Matches);
}

mod long_names;
mod witness;
