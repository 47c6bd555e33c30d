//! Issue 6: a witness's engine does not depend on its own file's engine
//! sections. It runs the settings the active node writes into the log
//! (`ConfigSource::Log`), so its state, and the snapshots it hands to a
//! member that catches up, are the active node's.

use super::*;

/// A witness's file: `[node]` and `[cluster]` only, every engine section
/// at its default (no pools, no LAC table, no IPv6, no accounting).
fn witness_config() -> EngineConfig {
    crate::config::Config::from_toml("[node]\nhost_name = \"witness\"\n")
        .expect("parses")
        .engine_config()
}

impl Driver {
    /// Commits the active node's announcement (what the control task
    /// writes when it becomes active): its fingerprint and settings.
    fn announce(&mut self) {
        let mut seed = [0u8; 32];
        self.rng.fill(&mut seed);
        let bytes = Command {
            now: self.now,
            seed,
            inputs: vec![Input::Rearm],
            fingerprint: Some(self.replica.fingerprint().clone()),
            settings: Some(self.replica.settings().clone()),
        }
        .encode();
        let index = self.log.len() as u64 + 1;
        let outs = self.replica.apply_command(index, &bytes).expect("applies");
        self.log.push(bytes);
        self.route(outs);
    }
}

#[test]
fn a_witness_fed_the_log_has_the_active_nodes_state_whatever_its_own_sections() {
    let mut d = Driver::with(config_v6());
    d.announce();
    dual_stack_traffic(&mut d);
    d.advance(Duration::from_secs(310));
    let witness = replay(
        &d.log,
        0,
        Replica::new(witness_config(), None).with_source(ConfigSource::Log),
    );
    assert_eq!(witness.snapshot_bytes(), d.replica.snapshot_bytes());
    assert_eq!(witness.consistency(), Consistency::Matches);
    assert_eq!(witness.engine().sessions().count(), 2);
    // The same file run as its own configuration (the behaviour before)
    // derives another state from the same log: no pool, no address.
    let own = replay(&d.log, 0, Replica::new(witness_config(), None));
    assert_ne!(own.snapshot_bytes(), d.replica.snapshot_bytes());
    assert!(own.consistency().differs());
}

#[test]
fn a_snapshot_through_the_witness_gives_a_new_member_the_active_nodes_state() {
    let mut d = Driver::with(config_v6());
    d.announce();
    let a = d.dial("alice");
    d.ipv6_exchanges(a);
    let midway = d.log.len();
    let snapshot = d.replica.snapshot_bytes();
    d.dial("bob");
    d.advance(Duration::from_secs(30));

    // The witness catches up by the active node's snapshot, then the log.
    let mut witness = Replica::new(witness_config(), None).with_source(ConfigSource::Log);
    witness.mark_started();
    witness
        .restore_bytes(midway as u64, &snapshot)
        .expect("the witness installs the snapshot");
    assert_eq!(witness.snapshot_bytes(), snapshot, "restore is exact");
    let witness = replay(&d.log, midway, witness);
    assert_eq!(witness.snapshot_bytes(), d.replica.snapshot_bytes());

    // A new lns member (same configuration as the active node) installs
    // the witness's snapshot and continues with the log.
    let mut joiner = Replica::new(config_v6(), None);
    joiner.mark_started();
    joiner
        .restore_bytes(d.log.len() as u64, &witness.snapshot_bytes())
        .expect("the new member installs the witness's snapshot");
    assert_eq!(joiner.snapshot_bytes(), d.replica.snapshot_bytes());
    assert_eq!(joiner.consistency(), Consistency::Matches);
    assert_eq!(joiner.snapshots_installed(), 1);
    d.commit(vec![Input::Tick]);
    let joiner = replay(&d.log, d.log.len() - 1, joiner);
    assert_eq!(joiner.snapshot_bytes(), d.replica.snapshot_bytes());
    assert_eq!(
        joiner.engine().ipv6_records(),
        d.replica.engine().ipv6_records()
    );
}

#[test]
fn a_reload_on_the_active_node_reaches_the_witness_at_its_place_in_the_log() {
    let mut d = Driver::new();
    d.announce();
    d.dial("alice");
    let mut wider = config().pools;
    wider[0].ranges[0].1 = Ipv4Addr::new(198, 19, 0, 250);
    let peers = d.replica.config.endpoint.peers.clone();
    d.replica.reconfigure(peers, wider.clone());
    d.announce();
    d.dial("bob");
    let witness = replay(
        &d.log,
        0,
        Replica::new(witness_config(), None).with_source(ConfigSource::Log),
    );
    assert_eq!(witness.config.pools, wider);
    assert_eq!(witness.snapshot_bytes(), d.replica.snapshot_bytes());
}

#[test]
fn an_lns_member_never_replaces_its_own_configuration() {
    let mut d = Driver::new();
    d.announce();
    let mut other = config();
    other.pools[0].ranges[0].1 = Ipv4Addr::new(198, 19, 0, 100);
    let member = replay(&d.log, 0, Replica::new(other.clone(), None));
    assert_eq!(member.config.pools, other.pools);
    assert_eq!(
        member.consistency(),
        Consistency::Differs(vec!["pools".into()])
    );
}
