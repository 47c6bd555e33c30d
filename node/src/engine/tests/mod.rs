//! Engine tests in virtual time: a LAC built from `lns_proto::l2tp`
//! (Side::Lac) and pppd-like subscribers from `lns_proto::ppp`
//! (Side::Subscriber) talk to the engine through its inputs and outputs;
//! AAA is answered by the test from a small user table. This file holds
//! the harness and the login tests; `lifecycle.rs` the ways sessions end,
//! floods, races and determinism.

use super::*;

mod accounting;
mod acct_failover;
mod failures;
mod host_name;
mod ipv6;
mod lifecycle;
mod traffic_seen;
mod views;
use lns_proto::entropy::Seeded;
use lns_proto::l2tp::{
    CallInfo, EndpointConfig, Event as L2tpEvent, PeerSettings, Side as L2tpSide,
};
use lns_proto::ppp::chap::md5_response;
use lns_proto::ppp::{AuthMethod, AuthRequest, LinkConfig, LinkEvent as SubEvent};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

const LAC: &str = "192.0.2.1:1701";
const LNS: &str = "192.0.2.2:1701";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("literal")
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("literal")
}

fn t0() -> Timestamp {
    Timestamp::from_unix_millis(1_700_000_000_000)
}

fn config() -> EngineConfig {
    let mut link = LinkConfig::lns(ip("100.64.255.254"));
    link.echo_interval = Some(Duration::from_secs(10));
    EngineConfig {
        endpoint: EndpointConfig::new(L2tpSide::Lns, b"lns1"),
        link,
        pools: vec![PoolSpec {
            name: "p".into(),
            ranges: vec![(ip("100.64.0.1"), ip("100.64.0.3"))],
            sticky: false,
        }],
        default_pool: Some("p".into()),
        dns: [Some(ip("192.0.2.53")), None],
        session_timeout: None,
        idle_timeout: None,
        second_login: SecondLoginPolicy::Allow,
        max_sessions: 100,
        setups_per_second_per_source: 100,
        ipv6: None,
        accounting: AccountingConfig {
            mode: AccountingMode::On,
            interim_interval: None,
            max_queued: 100,
        },
    }
}

/// How the test's AAA answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Aaa {
    /// Checks the user table and answers at once.
    Auto,
    /// Keeps the queries for the test to answer.
    Manual,
}

struct Sim {
    now: Timestamp,
    e: Seeded,
    engine: Engine,
    lac: Endpoint,
    lac_tunnel: Option<u16>,
    subs: BTreeMap<SessionKey, Link>,
    /// Which subscriber link the LAC's session id carries.
    lac_sessions: BTreeMap<u16, SessionKey>,
    sub_events: Vec<(SessionKey, SubEvent)>,
    lac_events: Vec<L2tpEvent>,
    outputs: Vec<Output>,
    queries: Vec<AuthQuery>,
    aaa: Aaa,
    grant: Grant,
    /// The subscriber link is cut (nothing delivered either way).
    cut: bool,
    /// IPCP frames are lost both ways (an IPv6-only subscriber).
    drop_ipcp: bool,
}

impl Sim {
    fn new(config: EngineConfig) -> Sim {
        Sim {
            now: t0(),
            e: Seeded::new(7),
            engine: Engine::new(config),
            lac: Endpoint::new(EndpointConfig::new(L2tpSide::Lac, b"lac1")),
            lac_tunnel: None,
            subs: BTreeMap::new(),
            lac_sessions: BTreeMap::new(),
            sub_events: Vec::new(),
            lac_events: Vec::new(),
            outputs: Vec::new(),
            queries: Vec::new(),
            aaa: Aaa::Auto,
            grant: Grant::default_pool(),
            cut: false,
            drop_ipcp: false,
        }
    }

    fn apply(&mut self, input: Input) {
        self.engine.apply(self.now, input, &mut self.e);
    }

    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(o) = self.engine.poll_output() {
                moved = true;
                match &o {
                    Output::SendL2tp(t) => {
                        self.lac
                            .handle_datagram(self.now, t.peer, t.local, &t.payload, &mut self.e)
                    }
                    Output::SendPpp { session, frame } if !(self.drop_ipcp && is_ipcp(frame)) => {
                        if let (Some(l), false) = (self.subs.get_mut(session), self.cut) {
                            l.handle_frame(self.now, frame, &mut self.e);
                        }
                    }
                    Output::Authenticate(q) => {
                        if self.aaa == Aaa::Auto {
                            let outcome = self.verdict(q);
                            self.engine.apply(
                                self.now,
                                Input::AuthResult {
                                    session: q.session,
                                    request: q.request,
                                    outcome,
                                },
                                &mut self.e,
                            );
                        } else {
                            self.queries.push(q.clone());
                        }
                    }
                    _ => {}
                }
                self.outputs.push(o);
            }
            while let Some(t) = self.lac.poll_transmit() {
                moved = true;
                self.engine.apply(
                    self.now,
                    Input::L2tpDatagram {
                        local: t.peer,
                        peer: t.local,
                        bytes: t.payload,
                    },
                    &mut self.e,
                );
            }
            while let Some(ev) = self.lac.poll_event() {
                moved = true;
                match &ev {
                    L2tpEvent::SessionUp { session, route, .. } => {
                        let key = SessionKey {
                            tunnel: route.peer_tunnel_id,
                            session: route.peer_session_id,
                        };
                        self.lac_sessions.insert(*session, key);
                    }
                    L2tpEvent::SessionDown { session, .. } => {
                        if let Some(k) = self.lac_sessions.remove(session) {
                            if let Some(mut l) = self.subs.remove(&k) {
                                while let Some(ev) = l.poll_event() {
                                    self.sub_events.push((k, ev));
                                }
                            }
                        }
                    }
                    _ => {}
                }
                self.lac_events.push(ev);
            }
            let keys: Vec<SessionKey> = self.subs.keys().copied().collect();
            for k in keys {
                let Some(l) = self.subs.get_mut(&k) else {
                    continue;
                };
                while let Some(f) = l.poll_transmit() {
                    moved = true;
                    let lost = self.cut || (self.drop_ipcp && is_ipcp(&f));
                    if !lost {
                        self.engine.apply(
                            self.now,
                            Input::PppFrame {
                                session: k,
                                bytes: f,
                            },
                            &mut self.e,
                        );
                    }
                }
                while let Some(ev) = l.poll_event() {
                    self.sub_events.push((k, ev));
                }
            }
            if !moved {
                assert_eq!(
                    self.engine.poll_timeout(),
                    self.engine.scanned_timeout(),
                    "timer index"
                );
                return;
            }
        }
    }

    fn verdict(&self, q: &AuthQuery) -> AuthOutcome {
        let users: [(&[u8], &[u8]); 2] = [(b"alice", b"wonderland"), (b"bob", b"builder")];
        let Some((_, pw)) = users.iter().find(|(u, _)| *u == q.user()) else {
            return AuthOutcome::Reject;
        };
        let ok = match &q.proof {
            AuthRequest::Pap { password, .. } => password.as_slice() == *pw,
            AuthRequest::Chap {
                identifier,
                challenge,
                response,
                ..
            } => md5_response(*identifier, pw, challenge).as_slice() == response.as_slice(),
        };
        if ok {
            AuthOutcome::Accept(self.grant.clone())
        } else {
            AuthOutcome::Reject
        }
    }

    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            self.pump();
            let subs = self.subs.values().filter_map(Link::poll_timeout).min();
            let next = [self.engine.poll_timeout(), self.lac.poll_timeout(), subs]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    self.lac.handle_timeout(self.now, &mut self.e);
                    for l in self.subs.values_mut() {
                        if l.poll_timeout().is_some_and(|d| d <= self.now) {
                            l.handle_timeout(self.now, &mut self.e);
                        }
                    }
                    self.apply(Input::Tick);
                }
                _ => break,
            }
        }
        self.now = end;
        self.pump();
    }

    fn tunnel(&mut self) -> u16 {
        if let Some(t) = self.lac_tunnel {
            return t;
        }
        let t = self
            .lac
            .open_tunnel(
                self.now,
                addr(LAC),
                addr(LNS),
                PeerSettings::open(),
                &mut self.e,
            )
            .expect("open tunnel");
        self.pump();
        self.lac_tunnel = Some(t);
        t
    }

    /// Dials one subscriber; returns the engine's key for it.
    fn dial(&mut self, user: &str, password: &str, methods: Vec<AuthMethod>) -> SessionKey {
        let mut cfg = LinkConfig::subscriber(user.as_bytes(), password.as_bytes());
        cfg.auth_order = methods;
        self.dial_with(cfg)
    }

    /// Dials with a subscriber configured by the test.
    fn dial_with(&mut self, cfg: LinkConfig) -> SessionKey {
        let t = self.tunnel();
        let call = CallInfo {
            calling_number: Some(b"0123456789".into()),
            called_number: Some(b"lns".into()),
            ..CallInfo::default()
        };
        let lac_sid = self
            .lac
            .open_session(self.now, t, call, &mut self.e)
            .expect("call");
        self.pump();
        let key = *self.lac_sessions.get(&lac_sid).expect("LAC session up");
        let mut link = Link::new(Side::Subscriber, cfg);
        link.open(self.now, &mut self.e);
        self.subs.insert(key, link);
        self.advance(Duration::from_secs(5));
        key
    }

    fn session_up(&self, key: SessionKey) -> Option<Ipv4Addr> {
        self.outputs.iter().find_map(|o| match o {
            Output::SessionUp(e) if e.tunnel_id == key.tunnel && e.session_id == key.session => {
                e.ipv4
            }
            _ => None,
        })
    }

    fn session_down(&self, key: SessionKey) -> bool {
        self.outputs
            .iter()
            .any(|o| matches!(o, Output::SessionDown { session, .. } if *session == key))
    }

    /// The LAC's view of the CDN it received: (result, error, cause code).
    fn cdns(&self) -> Vec<(CdnResult, ErrorCode, Option<u16>)> {
        self.lac_events
            .iter()
            .filter_map(|e| match e {
                L2tpEvent::SessionDown {
                    reason:
                        SessionDownReason::PeerCdn {
                            result,
                            error,
                            cause,
                        },
                    ..
                } => Some((*result, *error, cause.as_ref().map(|c| c.code))),
                _ => None,
            })
            .collect()
    }

    fn subscriber_ipv4(&self, key: SessionKey) -> Option<(Ipv4Addr, [Option<Ipv4Addr>; 2])> {
        self.sub_events.iter().find_map(|(k, e)| match e {
            SubEvent::Ipv4Up { local, dns, .. } if *k == key => Some((*local, *dns)),
            _ => None,
        })
    }

    fn logged(&self, needle: &str) -> bool {
        self.outputs
            .iter()
            .any(|o| matches!(o, Output::Log(n) if n.text.contains(needle)))
    }
}

/// An IPCP frame (RFC 1332: protocol 0x8021).
fn is_ipcp(frame: &[u8]) -> bool {
    lns_proto::ppp::Frame::new_checked(frame)
        .is_ok_and(|f| f.protocol() == lns_proto::ppp::Protocol::Ipcp)
}

#[test]
fn pap_login_brings_the_session_up_with_a_pool_address_and_dns() {
    let mut sim = Sim::new(config());
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert_eq!(sim.session_up(key), Some(ip("100.64.0.1")));
    assert_eq!(
        sim.subscriber_ipv4(key),
        Some((ip("100.64.0.1"), [Some(ip("192.0.2.53")), None]))
    );
    let s = sim.engine.session(key).expect("session");
    assert_eq!(s.user, b"alice");
    assert_eq!(s.auth, AuthPhase::Accepted);
    assert_eq!(s.acct_session_id.to_string().len(), 16);
    // The query carried the station ids and a unique NAS-Port.
    let q = sim.outputs.iter().find_map(|o| match o {
        Output::Authenticate(q) => Some(q.clone()),
        _ => None,
    });
    let q = q.expect("asked AAA");
    assert_eq!(q.calling_station.as_deref(), Some(&b"0123456789"[..]));
    assert_eq!(
        q.nas_port,
        (u32::from(key.tunnel) << 16) | u32::from(key.session)
    );
    assert!(!format!("{q:?}").contains("wonderland"));
}

#[test]
fn chap_login_brings_the_session_up() {
    let mut sim = Sim::new(config());
    let key = sim.dial("bob", "builder", vec![AuthMethod::ChapMd5]);
    assert_eq!(sim.session_up(key), Some(ip("100.64.0.1")));
    let q = sim.outputs.iter().any(|o| {
        matches!(
            o,
            Output::Authenticate(AuthQuery {
                proof: AuthRequest::Chap { .. },
                ..
            })
        )
    });
    assert!(q, "CHAP went to AAA");
}

fn wrong_password(methods: Vec<AuthMethod>) {
    let mut sim = Sim::new(config());
    let key = sim.dial("alice", "not-the-password", methods);
    sim.advance(Duration::from_secs(30));
    assert_eq!(sim.session_up(key), None);
    // RFC 3145: code 16 "authentication failure", CDN general error.
    assert_eq!(
        sim.cdns(),
        vec![(CdnResult::GeneralError, ErrorCode::NoError, Some(16))]
    );
    assert!(sim.session_down(key));
    let failed = sim.sub_events.iter().any(|(_, e)| {
        matches!(e, SubEvent::LinkDown { cause } if cause.code == DisconnectCode::AuthFailed)
    });
    assert!(
        failed,
        "the subscriber saw PAP Nak / CHAP Failure: {:?}",
        sim.sub_events
    );
    assert!(sim.engine.sessions().next().is_none());
    assert_eq!(sim.engine.pools().usage()[0].1, 0);
}

#[test]
fn wrong_pap_password_gets_nak_then_terminate_then_cdn_cause_16() {
    wrong_password(vec![AuthMethod::Pap]);
}

#[test]
fn wrong_chap_password_gets_failure_then_terminate_then_cdn_cause_16() {
    wrong_password(vec![AuthMethod::ChapMd5]);
}

#[test]
fn unknown_user_is_refused_like_a_wrong_password() {
    let mut sim = Sim::new(config());
    let key = sim.dial("mallory", "x", vec![AuthMethod::Pap]);
    sim.advance(Duration::from_secs(30));
    assert_eq!(sim.session_up(key), None);
    assert_eq!(sim.cdns().len(), 1);
    assert!(sim.logged("refused: rejected"));
}

#[test]
fn exhausted_pool_refuses_the_session_with_a_cause() {
    let mut cfg = config();
    cfg.pools[0].ranges = vec![(ip("100.64.0.1"), ip("100.64.0.1"))];
    let mut sim = Sim::new(cfg);
    let first = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert_eq!(sim.session_up(first), Some(ip("100.64.0.1")));
    let second = sim.dial("bob", "builder", vec![AuthMethod::Pap]);
    sim.advance(Duration::from_secs(30));
    assert_eq!(sim.session_up(second), None);
    assert!(sim.logged("pool \"p\" is exhausted"));
    assert_eq!(
        sim.cdns(),
        vec![(
            CdnResult::NoFacilitiesTemporary,
            ErrorCode::NoResources,
            Some(1)
        )]
    );
    // The first session is untouched.
    assert!(!sim.session_down(first));
}

#[test]
fn fixed_address_from_aaa_is_used_and_released() {
    let mut sim = Sim::new(config());
    sim.grant.address = AddressGrant::Fixed(ip("198.51.100.7"));
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert_eq!(sim.session_up(key), Some(ip("198.51.100.7")));
    assert_eq!(
        sim.engine.pools().owner(ip("198.51.100.7")),
        Some((key.tunnel, key.session))
    );
    sim.apply(Input::Admin(AdminCommand::KillSession(key)));
    sim.advance(Duration::from_secs(10));
    assert_eq!(sim.engine.pools().owner(ip("198.51.100.7")), None);
}

#[test]
fn aaa_answer_for_a_stale_request_is_ignored() {
    let mut sim = Sim::new(config());
    sim.aaa = Aaa::Manual;
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let q = sim.queries.last().cloned().expect("asked");
    sim.apply(Input::AuthResult {
        session: key,
        request: q.request + 1000,
        outcome: AuthOutcome::Accept(Grant::default_pool()),
    });
    sim.pump();
    assert_eq!(sim.session_up(key), None);
    sim.apply(Input::AuthResult {
        session: key,
        request: q.request,
        outcome: AuthOutcome::Accept(Grant::default_pool()),
    });
    sim.advance(Duration::from_secs(5));
    assert!(sim.session_up(key).is_some());
}

#[test]
fn aaa_unavailable_refuses_the_login() {
    let mut sim = Sim::new(config());
    sim.aaa = Aaa::Manual;
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let q = sim.queries.last().cloned().expect("asked");
    sim.apply(Input::AuthResult {
        session: key,
        request: q.request,
        outcome: AuthOutcome::Unavailable,
    });
    sim.advance(Duration::from_secs(30));
    assert!(sim.session_down(key));
    assert!(sim.logged("AAA unavailable"));
}

#[test]
fn proxy_lcp_and_pap_from_the_lac_skip_renegotiation() {
    let mut sim = Sim::new(config());
    let t = sim.tunnel();
    let mut call = CallInfo::default();
    let p = call.proxy.get_or_insert_with(Box::default);
    // RFC 2661 §4.4.5: what the LAC sent (Auth-Protocol PAP, Magic) and
    // what the subscriber sent (Magic), options only; PAP already done.
    p.last_sent_lcp_confreq = Some(vec![
        0x03, 0x04, 0xc0, 0x23, 0x05, 0x06, 0x11, 0x22, 0x33, 0x44,
    ]);
    p.last_received_lcp_confreq = Some(vec![0x05, 0x06, 0x55, 0x66, 0x77, 0x88]);
    p.initial_received_lcp_confreq = p.last_received_lcp_confreq.clone();
    p.authen_type = Some(lns_proto::l2tp::ProxyAuthType::Pap);
    p.authen_name = Some(b"alice".to_vec());
    p.authen_response = Some(b"wonderland".to_vec());
    p.authen_id = Some(1);
    sim.lac
        .open_session(sim.now, t, call, &mut sim.e)
        .expect("call");
    sim.pump();
    let asked = sim.outputs.iter().find_map(|o| match o {
        Output::Authenticate(q) => Some(q.user().to_vec()),
        _ => None,
    });
    assert_eq!(
        asked,
        Some(b"alice".to_vec()),
        "proxied PAP went straight to AAA"
    );
    // No LCP Configure-Request of ours was needed.
    let confreq = sim.outputs.iter().any(|o| {
        matches!(o, Output::SendPpp { frame, .. } if frame.get(2..5) == Some(&[0xc0, 0x21, 0x01][..]))
    });
    assert!(!confreq);
    let key = *sim.lac_sessions.values().next().expect("session");
    assert_eq!(
        sim.engine.session(key).map(|s| s.auth.clone()),
        Some(AuthPhase::Accepted)
    );
}

#[test]
fn debug_output_carries_no_tunnel_secret() {
    let mut cfg = config();
    cfg.endpoint.peers = lns_proto::l2tp::PeerTable::allow_all(PeerSettings {
        secret: Some(b"tunnel-secret-xyz".to_vec()),
        auth: lns_proto::l2tp::TunnelAuth::NotRequired,
        hiding: lns_proto::l2tp::Hiding::Off,
    });
    let mut sim = Sim::new(cfg.clone());
    sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let text = format!("{cfg:?} {:?} {:?}", sim.engine, sim.outputs);
    assert!(!text.contains("tunnel-secret-xyz"));
    assert!(!text.contains(&format!("{:?}", b"tunnel-secret-xyz")));
    assert!(!text.contains("wonderland"));
}
