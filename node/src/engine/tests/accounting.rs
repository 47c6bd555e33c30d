//! Engine tests: accounting records (RFC 2866, RFC 2869) and dynamic
//! authorization (RFC 5176) in virtual time (harness in `super`).

use super::*;
use crate::engine::accounting::FINAL_COUNTERS_WAIT;
use lns_proto::radius::AcctTerminateCause;

/// The sessions' records (Accounting-On/-Off have their own tests).
fn records(sim: &Sim) -> Vec<AccountingRecord> {
    all_records(sim)
        .into_iter()
        .filter(|r| !is_nas(r))
        .collect()
}

fn all_records(sim: &Sim) -> Vec<AccountingRecord> {
    sim.outputs
        .iter()
        .filter_map(|o| match o {
            Output::Account(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn is_nas(r: &AccountingRecord) -> bool {
    matches!(r.kind, RecordKind::AccountingOn | RecordKind::AccountingOff)
}

/// The queued records of sessions.
fn pending_sessions(sim: &Sim) -> Vec<AccountingRecord> {
    sim.engine
        .pending_accounting()
        .filter(|r| !is_nas(r))
        .cloned()
        .collect()
}

/// The server answers the Accounting-On (queued by the first input).
fn ack_accounting_on(sim: &mut Sim) {
    sim.apply(Input::Tick);
    let on = sim
        .engine
        .pending_accounting()
        .find(|r| r.kind == RecordKind::AccountingOn)
        .map(|r| r.id)
        .expect("an Accounting-On is queued");
    sim.apply(Input::AccountingAcked { record: on });
}

fn kinds(sim: &Sim, key: SessionKey) -> Vec<RecordKind> {
    records(sim)
        .into_iter()
        .filter(|r| r.session == key)
        .map(|r| r.kind)
        .collect()
}

fn stop_cause(sim: &Sim, key: SessionKey) -> Option<AcctTerminateCause> {
    records(sim).into_iter().find_map(|r| match r.kind {
        RecordKind::Stop(c) if r.session == key => Some(c),
        _ => None,
    })
}

fn traffic(n: u64) -> Traffic {
    Traffic {
        input_octets: n,
        output_octets: 2 * n,
        input_packets: n / 100,
        output_packets: n / 50,
    }
}

fn hang_up(sim: &mut Sim, key: SessionKey) {
    let cause = DisconnectCause::new(DisconnectCode::Normal, Direction::Local);
    let now = sim.now;
    sim.subs
        .get_mut(&key)
        .expect("subscriber")
        .close(now, cause);
    // Until the session is down (RFC 1661 Stopping ends on the restart
    // timer), in steps well under FINAL_COUNTERS_WAIT.
    for _ in 0..40 {
        if sim.session_down(key) {
            return;
        }
        sim.advance(Duration::from_millis(250));
    }
}

#[test]
fn rfc2866_start_once_when_ipcp_opens_then_stop_user_request_with_final_counters() {
    let mut sim = Sim::new(config());
    sim.grant.class = vec![b"gold".to_vec()];
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let start = records(&sim);
    assert_eq!(start.len(), 1, "{start:?}");
    let s = &start[0];
    assert_eq!(s.kind, RecordKind::Start);
    assert_eq!(s.user, "alice");
    assert_eq!(s.framed_ip, Some(ip("100.64.0.1")));
    assert_eq!(s.class, vec![b"gold".to_vec()]);
    assert_eq!(
        s.nas_port,
        (u32::from(key.tunnel) << 16) | u32::from(key.session)
    );
    assert_eq!(s.calling_station.as_deref(), Some(&b"0123456789"[..]));
    // The test's AAA grants like the users file does (RFC 2866 §5.6).
    assert_eq!(s.authentic, lns_proto::radius::values::AcctAuthentic::Local);
    let acct_id = sim
        .engine
        .session(key)
        .expect("up")
        .acct_session_id
        .to_string();
    assert_eq!(s.acct_session_id, acct_id);
    assert_eq!(s.traffic, Traffic::default());
    sim.apply(Input::Counters(vec![SessionCounters {
        session: key,
        traffic: traffic(1_000),
    }]));
    sim.advance(Duration::from_secs(100));
    // The subscriber hangs up (LCP Terminate-Request from its side).
    hang_up(&mut sim, key);
    assert!(sim.session_down(key));
    // The Stop waits for the data plane's last read ...
    assert_eq!(kinds(&sim, key), vec![RecordKind::Start]);
    sim.apply(Input::Counters(vec![SessionCounters {
        session: key,
        traffic: traffic(5_000),
    }]));
    sim.pump();
    let all = records(&sim);
    assert_eq!(
        kinds(&sim, key),
        vec![
            RecordKind::Start,
            RecordKind::Stop(AcctTerminateCause::UserRequest)
        ]
    );
    let stop = all.last().expect("stop");
    assert_eq!(stop.traffic, traffic(5_000));
    assert_eq!(stop.acct_session_id, acct_id);
    assert!(stop.session_time >= Duration::from_secs(100));
    assert!(stop.id > all[0].id, "record ids grow");
    // Nothing was acknowledged: both wait.
    assert_eq!(pending_sessions(&sim).len(), 2);
}

#[test]
fn a_stop_without_final_counters_goes_out_with_the_last_batch() {
    let mut sim = Sim::new(config());
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.apply(Input::Counters(vec![SessionCounters {
        session: key,
        traffic: traffic(700),
    }]));
    // A late, smaller batch never makes counters go back.
    sim.apply(Input::Counters(vec![SessionCounters {
        session: key,
        traffic: traffic(300),
    }]));
    sim.apply(Input::Admin(AdminCommand::KillSession(key)));
    sim.advance(Duration::from_secs(10) + FINAL_COUNTERS_WAIT);
    let stop = records(&sim).pop().expect("records");
    assert_eq!(stop.kind, RecordKind::Stop(AcctTerminateCause::AdminReset));
    assert_eq!(stop.traffic, traffic(700));
}

#[test]
fn rfc2869_interims_follow_the_grant_interval_with_the_latest_counters() {
    let mut cfg = config();
    cfg.accounting.interim_interval = Some(Duration::from_secs(600));
    let mut sim = Sim::new(cfg);
    // Acct-Interim-Interval from the Access-Accept wins over the config.
    sim.grant.acct_interim_interval = Some(Duration::from_secs(60));
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    for i in 1..=3u64 {
        sim.apply(Input::Counters(vec![SessionCounters {
            session: key,
            traffic: traffic(i * 1_000),
        }]));
        sim.advance(Duration::from_secs(60));
    }
    let interims: Vec<AccountingRecord> = records(&sim)
        .into_iter()
        .filter(|r| r.kind == RecordKind::Interim)
        .collect();
    assert_eq!(interims.len(), 3, "{interims:?}");
    assert_eq!(interims[2].traffic, traffic(3_000));
    let t = interims[1].session_time.as_secs();
    assert!((119..=121).contains(&t), "{t}");
    // A newer Interim replaces an unacknowledged older one: Start + last.
    let pending: Vec<RecordKind> = pending_sessions(&sim).iter().map(|r| r.kind).collect();
    assert_eq!(pending, vec![RecordKind::Start, RecordKind::Interim]);
    assert_eq!(kinds(&sim, key).first(), Some(&RecordKind::Start));
}

#[test]
fn acked_records_leave_the_queue_and_pending_lists_the_rest() {
    let mut cfg = config();
    cfg.accounting.interim_interval = Some(Duration::from_secs(60));
    let mut sim = Sim::new(cfg);
    let a = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let b = sim.dial("bob", "builder", vec![AuthMethod::Pap]);
    let start_a = records(&sim)
        .into_iter()
        .find(|r| r.session == a)
        .expect("start");
    sim.apply(Input::AccountingAcked { record: start_a.id });
    // Acking twice, or an unknown id, is harmless.
    sim.apply(Input::AccountingAcked { record: start_a.id });
    sim.apply(Input::AccountingAcked { record: 9_999 });
    let pending: Vec<SessionKey> = pending_sessions(&sim).iter().map(|r| r.session).collect();
    assert_eq!(pending, vec![b]);
}

#[test]
fn a_full_queue_drops_the_oldest_interim_never_a_start_or_stop() {
    let mut cfg = config();
    cfg.accounting.interim_interval = Some(Duration::from_secs(60));
    cfg.accounting.max_queued = 3;
    let mut sim = Sim::new(cfg);
    ack_accounting_on(&mut sim);
    let a = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let b = sim.dial("bob", "builder", vec![AuthMethod::Pap]);
    // Two Starts, then an Interim each: 4 > 3, the oldest Interim goes.
    sim.advance(Duration::from_secs(60));
    assert!(sim.logged("accounting queue full"));
    assert_eq!(sim.engine.accounting().dropped(), 1);
    let pending: Vec<RecordKind> = sim.engine.pending_accounting().map(|r| r.kind).collect();
    assert_eq!(
        pending,
        vec![RecordKind::Start, RecordKind::Start, RecordKind::Interim]
    );
    // Stops are kept above the bound.
    sim.apply(Input::Admin(AdminCommand::KillSession(a)));
    sim.apply(Input::Admin(AdminCommand::KillSession(b)));
    sim.advance(Duration::from_secs(10));
    let stops = sim
        .engine
        .pending_accounting()
        .filter(|r| matches!(r.kind, RecordKind::Stop(_)))
        .count();
    assert_eq!(stops, 2);
    let starts = sim
        .engine
        .pending_accounting()
        .filter(|r| r.kind == RecordKind::Start)
        .count();
    assert_eq!(starts, 2);
}

#[test]
fn rfc2866_5_10_terminate_causes_follow_the_real_reason() {
    // Session-Timeout.
    let mut sim = Sim::new(config());
    sim.grant.session_timeout = Some(Duration::from_secs(30));
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.advance(Duration::from_secs(40));
    assert_eq!(
        stop_cause(&sim, key),
        Some(AcctTerminateCause::SessionTimeout)
    );
    // Idle-Timeout.
    let mut cfg = config();
    cfg.idle_timeout = Some(Duration::from_secs(30));
    let mut sim = Sim::new(cfg);
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.advance(Duration::from_secs(40));
    assert_eq!(stop_cause(&sim, key), Some(AcctTerminateCause::IdleTimeout));
    // Echo failure: the line is gone.
    let mut sim = Sim::new(config());
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.cut = true;
    sim.advance(Duration::from_secs(60));
    assert_eq!(stop_cause(&sim, key), Some(AcctTerminateCause::LostCarrier));
    // Shutdown of the LNS.
    let mut sim = Sim::new(config());
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.apply(Input::Admin(AdminCommand::Shutdown));
    sim.advance(FINAL_COUNTERS_WAIT);
    assert_eq!(stop_cause(&sim, key), Some(AcctTerminateCause::AdminReboot));
    // Replaced by a newer login.
    let mut cfg = config();
    cfg.second_login = SecondLoginPolicy::ReplaceOlder;
    let mut sim = Sim::new(cfg);
    let old = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.advance(Duration::from_secs(10));
    assert_eq!(stop_cause(&sim, old), Some(AcctTerminateCause::NasRequest));
}

#[test]
fn a_session_that_never_got_an_address_has_no_records() {
    let mut sim = Sim::new(config());
    let key = sim.dial("alice", "not-the-password", vec![AuthMethod::Pap]);
    sim.advance(Duration::from_secs(30));
    assert!(sim.session_down(key));
    assert!(records(&sim).is_empty());
    // And accounting off queues nothing at all.
    let mut cfg = config();
    cfg.accounting = AccountingConfig::off();
    let mut sim = Sim::new(cfg);
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.apply(Input::Admin(AdminCommand::KillSession(key)));
    sim.advance(Duration::from_secs(10));
    assert!(records(&sim).is_empty());
}

#[test]
fn accounting_is_deterministic() {
    let run = || {
        let mut cfg = config();
        cfg.accounting.interim_interval = Some(Duration::from_secs(30));
        let mut sim = Sim::new(cfg);
        let k = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
        sim.apply(Input::Counters(vec![SessionCounters {
            session: k,
            traffic: traffic(123),
        }]));
        sim.advance(Duration::from_secs(95));
        sim.apply(Input::Admin(AdminCommand::KillSession(k)));
        sim.advance(Duration::from_secs(10));
        records(&sim)
    };
    let first = run();
    assert!(first.len() >= 4, "{first:?}");
    assert_eq!(first, run());
}

#[test]
fn overdue_interims_are_spread_after_a_failover_rearm() {
    let mut cfg = config();
    cfg.accounting.interim_interval = Some(Duration::from_secs(60));
    let mut sim = Sim::new(cfg);
    let a = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let b = sim.dial("bob", "builder", vec![AuthMethod::Pap]);
    // No tick for 10 minutes (no active node): both Interims are overdue.
    sim.now = sim.now + Duration::from_secs(600);
    let now = sim.now;
    sim.engine
        .rearm_accounting(now, Duration::from_secs(30), &mut sim.e);
    let next = sim.engine.accounting().next_deadline().expect("armed");
    assert!(next >= now && next < now + Duration::from_secs(30));
    let before = records(&sim).len();
    sim.apply(Input::Tick);
    sim.pump();
    // Not both at the first tick ...
    let due_now = records(&sim).len() - before;
    assert!(due_now <= 1, "{due_now}");
    // ... but both within the spread, once each.
    sim.advance(Duration::from_secs(30));
    let interims = |k: SessionKey| {
        kinds(&sim, k)
            .into_iter()
            .filter(|r| *r == RecordKind::Interim)
            .count()
    };
    assert_eq!((interims(a), interims(b)), (1, 1));
}

#[test]
fn ipv6cp_first_waits_for_ipcp_so_the_start_carries_the_ipv4_address() {
    use crate::engine::accounting::IPV4_WAIT;
    // IPCP follows within the wait: one Start, with Framed-IP-Address.
    let mut sim = Sim::new(config());
    sim.aaa = Aaa::Manual;
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let now = sim.now;
    sim.engine.accounting_ipv6_up(now, key);
    let q = sim.queries.last().cloned().expect("asked");
    sim.apply(Input::AuthResult {
        session: key,
        request: q.request,
        outcome: AuthOutcome::Accept(Grant::default_pool()),
    });
    sim.advance(IPV4_WAIT * 2);
    let starts: Vec<AccountingRecord> = records(&sim)
        .into_iter()
        .filter(|r| r.kind == RecordKind::Start)
        .collect();
    assert_eq!(starts.len(), 1, "{starts:?}");
    assert_eq!(starts[0].framed_ip, Some(ip("100.64.0.1")));
    // No IPCP: an IPv6-only Start once the wait is over, and a session
    // that ends still gets its Start and Stop.
    let mut sim = Sim::new(config());
    sim.aaa = Aaa::Manual;
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let now = sim.now;
    sim.engine.accounting_ipv6_up(now, key);
    sim.advance(IPV4_WAIT / 2);
    assert!(records(&sim).is_empty());
    sim.advance(IPV4_WAIT);
    assert_eq!(kinds(&sim, key), vec![RecordKind::Start]);
    let mut sim = Sim::new(config());
    sim.aaa = Aaa::Manual;
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let now = sim.now;
    sim.engine.accounting_ipv6_up(now, key);
    sim.apply(Input::Admin(AdminCommand::KillSession(key)));
    sim.advance(Duration::from_secs(10));
    assert_eq!(
        kinds(&sim, key),
        vec![
            RecordKind::Start,
            RecordKind::Stop(AcctTerminateCause::AdminReset)
        ]
    );
}

#[test]
fn rfc5176_selectors_find_running_sessions_by_each_attribute() {
    let mut sim = Sim::new(config());
    let a = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let b = sim.dial("bob", "builder", vec![AuthMethod::Pap]);
    let acct_b = sim
        .engine
        .session(b)
        .expect("b")
        .acct_session_id
        .to_string();
    let by = |sel: Selector| sim.engine.select_sessions(&sel);
    assert_eq!(
        by(Selector {
            user_name: Some("alice".into()),
            ..Selector::default()
        }),
        vec![a]
    );
    assert_eq!(
        by(Selector {
            acct_session_id: Some(acct_b),
            ..Selector::default()
        }),
        vec![b]
    );
    assert_eq!(
        by(Selector {
            framed_ip: Some(ip("100.64.0.2")),
            ..Selector::default()
        }),
        vec![b]
    );
    assert_eq!(
        by(Selector {
            nas_port: Some((u32::from(a.tunnel) << 16) | u32::from(a.session)),
            ..Selector::default()
        }),
        vec![a]
    );
    // Every attribute must match; none given selects nothing.
    assert!(by(Selector {
        user_name: Some("alice".into()),
        framed_ip: Some(ip("100.64.0.2")),
        ..Selector::default()
    })
    .is_empty());
    assert!(by(Selector::default()).is_empty());
    assert!(by(Selector {
        user_name: Some("mallory".into()),
        ..Selector::default()
    })
    .is_empty());
}

#[test]
fn rfc5176_coa_session_timeout_ends_the_session_at_the_new_time() {
    let mut sim = Sim::new(config());
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let authenticated = sim
        .engine
        .session(key)
        .and_then(|s| s.authenticated_at)
        .expect("authenticated");
    sim.apply(Input::Reauthorize {
        session: key,
        change: Reauthorization {
            session_timeout: Some(Duration::from_secs(20)),
            ..Reauthorization::default()
        },
    });
    assert_eq!(
        sim.engine.session(key).and_then(|s| s.session_deadline),
        Some(authenticated + Duration::from_secs(20))
    );
    let before = authenticated + Duration::from_secs(19);
    sim.advance(before.saturating_since(sim.now));
    assert!(!sim.session_down(key));
    sim.advance(Duration::from_secs(5));
    assert!(sim.session_down(key));
    sim.advance(FINAL_COUNTERS_WAIT);
    assert_eq!(
        stop_cause(&sim, key),
        Some(AcctTerminateCause::SessionTimeout)
    );
    // Zero removes a limit.
    let mut sim = Sim::new(config());
    sim.grant.session_timeout = Some(Duration::from_secs(30));
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.apply(Input::Reauthorize {
        session: key,
        change: Reauthorization {
            session_timeout: Some(Duration::ZERO),
            ..Reauthorization::default()
        },
    });
    sim.advance(Duration::from_secs(60));
    assert!(!sim.session_down(key));
}

#[test]
fn rfc5176_coa_acct_interim_interval_reschedules_the_interims() {
    let mut cfg = config();
    cfg.accounting.interim_interval = Some(Duration::from_secs(600));
    let mut sim = Sim::new(cfg);
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let interims = |sim: &Sim| {
        records(sim)
            .into_iter()
            .filter(|r| r.session == key && r.kind == RecordKind::Interim)
            .collect::<Vec<_>>()
    };
    sim.advance(Duration::from_secs(100));
    assert!(interims(&sim).is_empty());
    // RFC 2869 §5.16 via RFC 5176 §3.2: every 30 s from now on.
    let asked = sim.now;
    sim.apply(Input::Reauthorize {
        session: key,
        change: Reauthorization {
            acct_interim_interval: Some(Duration::from_secs(30)),
            ..Reauthorization::default()
        },
    });
    sim.pump();
    assert!(sim.logged("interim interval Some(30s)"));
    sim.advance(Duration::from_secs(29));
    assert!(interims(&sim).is_empty(), "not before the new interval");
    sim.advance(Duration::from_secs(62));
    let got = interims(&sim);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].event_time, asked + Duration::from_secs(30));
    assert_eq!(got[2].event_time, asked + Duration::from_secs(90));
    // The grant follows (what a snapshot or a later Start would use).
    let grant = sim
        .engine
        .session(key)
        .and_then(|s| s.grant.as_ref().map(|g| g.grant()));
    assert_eq!(
        grant.and_then(|g| g.acct_interim_interval),
        Some(Duration::from_secs(30))
    );
    // Zero: no Interim any more.
    sim.apply(Input::Reauthorize {
        session: key,
        change: Reauthorization {
            acct_interim_interval: Some(Duration::ZERO),
            ..Reauthorization::default()
        },
    });
    sim.advance(Duration::from_secs(300));
    assert_eq!(interims(&sim).len(), 3);
    assert!(sim.engine.accounting().next_deadline().is_none());
}

#[test]
fn rfc5176_coa_class_replaces_the_class_of_later_records() {
    let mut cfg = config();
    cfg.accounting.interim_interval = Some(Duration::from_secs(60));
    let mut sim = Sim::new(cfg);
    sim.grant.class = vec![b"bronze".to_vec()];
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.apply(Input::Reauthorize {
        session: key,
        change: Reauthorization {
            class: vec![b"gold".to_vec(), b"plan-7".to_vec()],
            ..Reauthorization::default()
        },
    });
    sim.advance(Duration::from_secs(61));
    hang_up(&mut sim, key);
    sim.advance(FINAL_COUNTERS_WAIT);
    let all: Vec<AccountingRecord> = records(&sim)
        .into_iter()
        .filter(|r| r.session == key)
        .collect();
    let classes: Vec<(RecordKind, Vec<Vec<u8>>)> =
        all.iter().map(|r| (r.kind, r.class.clone())).collect();
    let new = vec![b"gold".to_vec(), b"plan-7".to_vec()];
    assert_eq!(classes.len(), 3, "{classes:?}");
    assert_eq!(classes[0], (RecordKind::Start, vec![b"bronze".to_vec()]));
    assert_eq!(classes[1], (RecordKind::Interim, new.clone()));
    assert_eq!(classes[2].1, new);
    // An empty Class list leaves the Class alone.
    let mut sim = Sim::new(config());
    sim.grant.class = vec![b"bronze".to_vec()];
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.apply(Input::Reauthorize {
        session: key,
        change: Reauthorization {
            idle_timeout: Some(Duration::from_secs(600)),
            ..Reauthorization::default()
        },
    });
    let grant = sim
        .engine
        .session(key)
        .and_then(|s| s.grant.as_ref().map(|g| g.grant()));
    assert_eq!(grant.map(|g| g.class), Some(vec![b"bronze".to_vec()]));
}

#[test]
fn rfc2866_5_1_accounting_on_before_the_first_start_and_never_again() {
    let mut sim = Sim::new(config());
    // The first input (a lone node's start-up tick) queues it.
    sim.apply(Input::Tick);
    sim.pump();
    let first = all_records(&sim);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].kind, RecordKind::AccountingOn);
    assert_eq!(first[0].session, crate::engine::accounting::NO_SESSION);
    assert!(first[0].acct_session_id.starts_with("nas-"));
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let kinds_all: Vec<RecordKind> = all_records(&sim).iter().map(|r| r.kind).collect();
    assert_eq!(kinds_all, vec![RecordKind::AccountingOn, RecordKind::Start]);
    // A node that takes over from the replicated state (a failover) sends
    // none: the state says it was announced.
    sim.outputs.clear();
    let snap = sim.engine.snapshot();
    let mut taken_over = Engine::restore(config(), &snap).expect("restores");
    assert_eq!(
        taken_over.accounting().nas_announce(),
        crate::engine::NasAnnounce::Announced
    );
    taken_over.apply(sim.now, Input::Rearm, &mut sim.e);
    let mut out = Vec::new();
    while let Some(o) = taken_over.poll_output() {
        out.push(o);
    }
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::Account(r) if r.kind == RecordKind::AccountingOn)),
        "{out:?}"
    );
    // The unacknowledged On is still queued, to be sent again.
    assert_eq!(
        taken_over
            .pending_accounting()
            .filter(|r| r.kind == RecordKind::AccountingOn)
            .count(),
        1
    );
    // A snapshot from before the state existed (no field: 0) with live
    // sessions never announces: the server would close them all.
    let mut old = snap.clone();
    if let Some(a) = old.accounting.as_mut() {
        a.nas_announce = 0;
    }
    let mut upgraded = Engine::restore(config(), &old).expect("restores");
    upgraded.apply(sim.now, Input::Tick, &mut sim.e);
    let mut out = Vec::new();
    while let Some(o) = upgraded.poll_output() {
        out.push(o);
    }
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::Account(r) if r.kind == RecordKind::AccountingOn)),
        "{out:?}"
    );
    assert!(sim.engine.session(key).is_some());
}

#[test]
fn rfc2866_5_1_accounting_off_after_every_stop_on_shutdown_only() {
    let mut sim = Sim::new(config());
    let a = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let b = sim.dial("bob", "builder", vec![AuthMethod::Pap]);
    // Killing sessions is no shutdown: no Off.
    sim.apply(Input::Admin(AdminCommand::KillSession(a)));
    sim.advance(Duration::from_secs(10));
    assert!(!all_records(&sim)
        .iter()
        .any(|r| r.kind == RecordKind::AccountingOff));
    assert!(sim.session_down(a));
    sim.apply(Input::Admin(AdminCommand::Shutdown));
    sim.advance(Duration::from_secs(10));
    assert!(sim.session_down(b));
    sim.advance(FINAL_COUNTERS_WAIT);
    let kinds_all: Vec<RecordKind> = all_records(&sim).iter().map(|r| r.kind).collect();
    assert_eq!(kinds_all.first(), Some(&RecordKind::AccountingOn));
    assert_eq!(
        kinds_all.last(),
        Some(&RecordKind::AccountingOff),
        "{kinds_all:?}"
    );
    assert_eq!(
        kinds_all
            .iter()
            .filter(|k| matches!(k, RecordKind::Stop(_)))
            .count(),
        2
    );
    assert_eq!(
        kinds_all
            .iter()
            .filter(|k| **k == RecordKind::AccountingOff)
            .count(),
        1
    );
    assert!(sim.engine.accounting_settled());
    // More inputs do not send a second one.
    sim.advance(Duration::from_secs(10));
    assert_eq!(
        all_records(&sim)
            .iter()
            .filter(|r| r.kind == RecordKind::AccountingOff)
            .count(),
        1
    );
}

#[test]
fn no_accounting_no_nas_records() {
    let mut cfg = config();
    cfg.accounting = AccountingConfig::off();
    let mut sim = Sim::new(cfg);
    sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.apply(Input::Admin(AdminCommand::Shutdown));
    sim.advance(Duration::from_secs(10));
    assert!(all_records(&sim).is_empty());
    assert!(sim.engine.accounting_settled());
}
