//! Engine tests: a session that ends before it is established carries the
//! reason the metrics count it under (`lnsd_session_setup_failures_total`),
//! and different reasons stay different (they were once all "peer_closed").

use super::*;
use crate::metrics::SessionSetupFailure;
use lns_proto::l2tp::StopCcnResult;

/// The setup failure carried by `key`'s SessionDown, if it went down.
fn failure_of(sim: &Sim, key: SessionKey) -> Option<SessionSetupFailure> {
    sim.outputs.iter().find_map(|o| match o {
        Output::SessionDown {
            session,
            setup_failure,
            ..
        } if *session == key => Some(*setup_failure),
        _ => None,
    })
}

/// Every SessionDown's setup failure, in order.
fn failures(sim: &Sim) -> Vec<SessionSetupFailure> {
    sim.outputs
        .iter()
        .filter_map(|o| match o {
            Output::SessionDown { setup_failure, .. } => Some(*setup_failure),
            _ => None,
        })
        .collect()
}

fn wrong_password() -> SessionSetupFailure {
    let mut sim = Sim::new(config());
    let key = sim.dial("alice", "not-the-password", vec![AuthMethod::Pap]);
    sim.advance(Duration::from_secs(30));
    failure_of(&sim, key).expect("down")
}

fn aaa_unavailable() -> SessionSetupFailure {
    let mut sim = Sim::new(config());
    sim.aaa = Aaa::Manual;
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let q = sim.queries.pop().expect("asked AAA");
    sim.apply(Input::AuthResult {
        session: q.session,
        request: q.request,
        outcome: AuthOutcome::Unavailable,
    });
    sim.advance(Duration::from_secs(30));
    failure_of(&sim, key).expect("down")
}

fn pool_exhausted() -> SessionSetupFailure {
    // The test pool holds three addresses.
    let mut sim = Sim::new(config());
    for _ in 0..3 {
        let k = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
        assert!(sim.session_up(k).is_some());
    }
    let fourth = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.advance(Duration::from_secs(30));
    failure_of(&sim, fourth).expect("down")
}

fn session_limit() -> SessionSetupFailure {
    let mut cfg = config();
    cfg.max_sessions = 1;
    let mut sim = Sim::new(cfg);
    let first = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert!(sim.session_up(first).is_some());
    // The second call is refused at its ICCN.
    let t = sim.tunnel();
    sim.lac
        .open_session(sim.now, t, CallInfo::default(), &mut sim.e)
        .expect("call");
    sim.advance(Duration::from_secs(5));
    let all = failures(&sim);
    assert_eq!(all.len(), 1, "only the refused call went down: {all:?}");
    all[0]
}

fn negotiation_timeout() -> SessionSetupFailure {
    // The subscriber never hears us: LCP gives up after Max-Configure.
    let mut sim = Sim::new(config());
    sim.cut = true;
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    sim.advance(Duration::from_secs(120));
    failure_of(&sim, key).expect("down")
}

fn lac_cdn_while_authenticating() -> SessionSetupFailure {
    let mut sim = Sim::new(config());
    sim.aaa = Aaa::Manual;
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let lac_sid = sim
        .lac_sessions
        .iter()
        .find_map(|(sid, k)| (*k == key).then_some(*sid))
        .expect("LAC session");
    let t = sim.tunnel();
    sim.lac
        .close_session(
            sim.now,
            t,
            lac_sid,
            CdnResult::Administrative,
            ErrorCode::NoError,
            None,
            &mut sim.e,
        )
        .expect("CDN");
    sim.advance(Duration::from_secs(5));
    failure_of(&sim, key).expect("down")
}

fn stopccn_while_authenticating() -> SessionSetupFailure {
    let mut sim = Sim::new(config());
    sim.aaa = Aaa::Manual;
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    let t = sim.tunnel();
    sim.lac
        .close_tunnel(sim.now, t, StopCcnResult::ClearConnection, &mut sim.e)
        .expect("StopCCN");
    sim.advance(Duration::from_secs(5));
    failure_of(&sim, key).expect("down")
}

#[test]
fn each_way_a_setup_fails_has_its_own_reason() {
    let seen = [
        (wrong_password(), SessionSetupFailure::AuthRejected),
        (aaa_unavailable(), SessionSetupFailure::RadiusUnavailable),
        (pool_exhausted(), SessionSetupFailure::PoolExhausted),
        (session_limit(), SessionSetupFailure::SessionLimit),
        (negotiation_timeout(), SessionSetupFailure::Timeout),
        (
            lac_cdn_while_authenticating(),
            SessionSetupFailure::PeerClosed,
        ),
        (
            stopccn_while_authenticating(),
            SessionSetupFailure::TunnelClosed,
        ),
    ];
    for (got, want) in seen {
        assert_eq!(got, want);
    }
    // Seven scenarios, seven labels: none lumped with another.
    let labels: BTreeSet<&str> = seen.iter().map(|(got, _)| got.label()).collect();
    assert_eq!(labels.len(), seen.len(), "{labels:?}");
}

#[test]
fn an_established_session_ending_leaves_no_cause_behind() {
    let mut sim = Sim::new(config());
    let key = sim.dial("alice", "wonderland", vec![AuthMethod::Pap]);
    assert!(sim.session_up(key).is_some());
    sim.apply(Input::Admin(AdminCommand::KillTunnel(key.tunnel)));
    sim.advance(Duration::from_secs(30));
    assert!(sim.session_down(key));
    assert!(sim.engine.failures.is_empty());
}
