//! Engine + accounting sender: a record the old active node sent, whose
//! acknowledgement was never committed, is sent again by the node that
//! takes over from the replicated state as the very same datagrams (RFC
//! 5080 §2.2.1), so a server's duplicate detection drops the copy (issue 9:
//! no duplicated Start across a failover).

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
fn a_start_resent_after_a_leader_change_is_byte_identical() {
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
    // ... and one retransmission (no answer in time).
    let t = old.poll_timeout().expect("armed");
    old.handle_timeout(t, &mut sim.e);
    assert_eq!(sent(&mut old), first, "a retransmission is the same packet");
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
    assert_eq!(
        sent(&mut new),
        first,
        "the new active node's Starts are retransmissions of the old node's"
    );
}

/// An Accounting-Response to `request`.
fn reply(request: &[u8]) -> Vec<u8> {
    use lns_proto::radius::signing::encode_reply;
    use lns_proto::radius::{Code, Packet};
    let req = Packet::parse(request).expect("our request parses");
    let answer = Packet {
        code: Code::AccountingResponse,
        identifier: req.identifier,
        authenticator: [0; 16],
        attributes: Vec::new(),
    };
    let mut out = Vec::new();
    encode_reply(
        &answer,
        &req.authenticator,
        &Secret::new("acct-secret"),
        &mut out,
    )
    .expect("small");
    out
}
