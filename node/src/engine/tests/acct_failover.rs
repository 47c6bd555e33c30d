//! Engine + accounting sender: a record the old active node sent, whose
//! acknowledgement was never committed, is sent again by the node that
//! takes over from the replicated state as the same record: every
//! attribute (Acct-Session-Id, Event-Timestamp, addresses, ...) equal, only
//! Acct-Delay-Time grown by the time it waited (RFC 2866 §5.2), so a
//! collector can tell the copy from a second Start (issue 9: no duplicated
//! Start across a failover).

use super::*;
use crate::aaa::accounting::{AccountingSettings, Sender};
use crate::dataplane::BindMode;
use lns_proto::radius::{ClientConfig, Nas, Secret, ServerConfig};
use std::net::SocketAddr;

fn settings() -> AccountingSettings {
    AccountingSettings {
        client: ClientConfig {
            auth_servers: Vec::new(),
            acct_servers: vec![ServerConfig {
                addr: SocketAddr::from(([198, 18, 2, 10], 1813)),
                secret: Secret::new("acct-secret"),
                timeout: Duration::from_secs(2),
                tries: 3,
            }],
            dead_time: Duration::ZERO,
        },
        nas: Nas {
            ipv4: Some([198, 18, 1, 100].into()),
            ipv6: None,
            identifier: Some("lnsd".into()),
        },
        bind: Some(SocketAddr::from(([198, 18, 1, 100], 1814))),
        bind_mode: BindMode::Freebind,
    }
}

/// Every datagram `sender` has to send now.
fn sent(sender: &mut Sender) -> Vec<(SocketAddr, Vec<u8>)> {
    std::iter::from_fn(|| sender.poll_transmit()).collect()
}

#[test]
fn a_start_resent_after_a_leader_change_is_the_same_record_with_its_delay_grown() {
    let mut sim = Sim::new(config());
    // The old active node: Accounting-On, then two sessions' Starts.
    sim.apply(Input::Tick);
    sim.pump();
    let keys: Vec<SessionKey> = [("alice", "wonderland"), ("bob", "builder")]
        .into_iter()
        .map(|(u, p)| sim.dial(u, p, vec![AuthMethod::Pap]))
        .collect();
    let mut old = Sender::new(&settings());
    for o in &sim.outputs {
        if let Output::Account(r) = o {
            old.submit(sim.now, r.clone());
        }
    }
    // The On goes first; the server answers it and the ack is committed.
    let on = sent(&mut old);
    assert_eq!(on.len(), 1, "the Starts wait for the Accounting-On");
    let on_id = sim
        .engine
        .pending_accounting()
        .find(|r| r.kind == RecordKind::AccountingOn)
        .map(|r| r.id)
        .expect("queued");
    sim.apply(Input::AccountingAcked { record: on_id });
    old.handle_datagram(sim.now, on[0].0, &reply(&on[0].1));
    let first = sent(&mut old);
    assert_eq!(first.len(), keys.len(), "one Start per session");
    // The old node dies before the Starts' acks are committed. A replica
    // takes over from the replicated state 40 s later.
    let snap = sim.engine.snapshot();
    let mut replica = Engine::restore(config(), &snap).expect("restores");
    let later = sim.now + Duration::from_secs(40);
    replica.apply(later, Input::Rearm, &mut sim.e);
    let pending: Vec<AccountingRecord> = replica.pending_accounting().cloned().collect();
    assert_eq!(pending.len(), keys.len());
    assert!(pending.iter().all(|r| r.kind == RecordKind::Start));
    let mut new = Sender::new(&settings());
    for r in pending {
        new.submit(later, r);
    }
    let again = sent(&mut new);
    assert_eq!(again.len(), first.len());
    for ((to_a, a), (to_b, b)) in first.iter().zip(&again) {
        assert_eq!(to_a, to_b, "the same server");
        let (old_attrs, old_delay) = content(a);
        let (new_attrs, new_delay) = content(b);
        assert_eq!(
            old_attrs, new_attrs,
            "the same record, attribute for attribute"
        );
        // RFC 2866 §5.2: the seconds it has waited since its event.
        let old_delay = old_delay.expect("Acct-Delay-Time");
        assert_eq!(new_delay, Some(old_delay + 40), "RFC 2866 §5.2");
    }
}

/// A request's attributes but Acct-Delay-Time and Message-Authenticator
/// (per transmission), and its Acct-Delay-Time.
fn content(request: &[u8]) -> (Vec<lns_proto::radius::Attribute>, Option<u32>) {
    use lns_proto::radius::{Attribute, Packet};
    let p = Packet::parse(request).expect("our request parses");
    let mut delay = None;
    let attrs = p
        .attributes
        .into_iter()
        .filter(|a| match a {
            Attribute::AcctDelayTime(d) => {
                delay = Some(*d);
                false
            }
            Attribute::MessageAuthenticator(_) => false,
            _ => true,
        })
        .collect();
    (attrs, delay)
}

/// An Accounting-Response to `request`.
fn reply(request: &[u8]) -> Vec<u8> {
    crate::aaa::accounting::accounting_response(request, "acct-secret")
}
