//! Simulator properties (see `simnet`): hundreds of seeds in `cargo test`,
//! more with `LNS_SIM_SEEDS=5000 cargo test -p lns-cluster --test sim`.
//!
//! Checked on every step of every seed: at most one active member, a witness
//! never active. Checked at the end of every seed: no acknowledged command
//! lost, no command applied twice, every member applied the same sequence
//! (same index and hash chain), one leader after healing.

mod simnet;

use lns_cluster::{MemberKind, MembershipChange, Role};
use simnet::{members, NetParams, Sim, MS};

use MemberKind::{Eligible as E, Witness as W};

/// Seeds to run: `LNS_SIM_SEEDS` of them (default `default`), starting at
/// `LNS_SIM_FIRST` (default 0) to replay one failing seed.
fn seeds(default: u64) -> std::ops::Range<u64> {
    let env = |k: &str| std::env::var(k).ok().and_then(|s| s.parse().ok());
    let first = env("LNS_SIM_FIRST").unwrap_or(0);
    first..first + env("LNS_SIM_SEEDS").unwrap_or(default)
}

fn assert_clean(sim: &Sim) {
    let v = sim.final_checks();
    assert!(v.is_empty(), "seed {}: {v:#?}", sim.seed);
}

/// Runs until some member is active; returns it.
fn wait_active(sim: &mut Sim, limit: u64) -> Option<u64> {
    let end = sim.now + limit;
    while sim.now < end {
        if let Some(a) = sim.active().first() {
            return Some(*a);
        }
        sim.run_for(5 * MS);
    }
    None
}

fn settle(sim: &mut Sim) {
    sim.heal();
    let ids: Vec<u64> = sim.nodes.keys().copied().collect();
    for id in ids {
        sim.restart(id);
    }
    sim.params = NetParams::lan();
    sim.run_for(2_000 * MS);
    sim.load_every = 0;
    sim.run_for(1_000 * MS);
}

#[test]
fn random_faults_keep_every_property() {
    let topologies: [&[MemberKind]; 3] = [&[E, E, W], &[E, E, E], &[E, E, E, E, W]];
    let mut acked_total = 0;
    for seed in seeds(300) {
        let kinds = topologies[(seed % 3) as usize];
        let all = members(kinds);
        let voters: Vec<u64> = all.keys().copied().collect();
        let mut sim = Sim::new(seed, &all, &voters);
        sim.params = NetParams::random(&mut sim.rng);
        let minority = (voters.len() as u64 - 1) / 2;
        sim.run_for(700 * MS);
        for _ in 0..6 {
            let victim = 1 + sim.rng.below(voters.len() as u64);
            match sim.rng.below(6) {
                5 => {
                    // Planned transfer to a random member.
                    if let Some(l) = sim.leaders().first().copied() {
                        let to = 1 + sim.rng.below(voters.len() as u64);
                        let now = sim.now;
                        if let Some(c) = sim.core_mut(l) {
                            let _ = c.transfer_leader(to);
                            let _ = c.flush(now);
                        }
                    }
                }
                0 | 1 => {
                    let down = voters.iter().filter(|id| !sim.alive(**id)).count() as u64;
                    if down < minority {
                        sim.crash(victim);
                    }
                }
                2 => sim.restart(victim),
                3 => sim.isolate(victim),
                _ => sim.heal(),
            }
            let d = 300 * MS + sim.rng.below(500 * MS);
            sim.run_for(d);
        }
        settle(&mut sim);
        assert_clean(&sim);
        acked_total += sim.acked.len();
    }
    assert!(acked_total > 0, "no command was ever acknowledged");
}

/// The fsync-thread path (raft-rs async ready) under crashes: every member
/// is on a disk that makes writes durable only after a seeded sync delay
/// and loses the rest when it crashes. Leaders and followers are crashed
/// mid-stream, often with writes in flight; no acknowledged command may be
/// lost and every member must still agree.
#[test]
fn crashes_lose_unsynced_writes_but_never_an_acknowledged_command() {
    let topologies: [&[MemberKind]; 2] = [&[E, E, W], &[E, E, E, E, W]];
    let (mut acked_total, mut lost_total, mut lossy_crashes) = (0, 0, 0);
    for seed in seeds(20) {
        let all = members(topologies[(seed % 2) as usize]);
        let voters: Vec<u64> = all.keys().copied().collect();
        let mut sim = Sim::with_lossy_disks(seed, &all, &voters);
        sim.params = NetParams::random(&mut sim.rng);
        sim.load_every = MS;
        let minority = (voters.len() as u64 - 1) / 2;
        sim.run_for(600 * MS);
        for _ in 0..8 {
            // The leader most of the time: its unsynced tail is the riskiest.
            let victim = match sim.leaders().first() {
                Some(l) if sim.rng.chance(700) => *l,
                _ => 1 + sim.rng.below(voters.len() as u64),
            };
            let down = voters.iter().filter(|id| !sim.alive(**id)).count() as u64;
            if down < minority && sim.alive(victim) {
                let before = sim.lost_on_crash;
                sim.crash(victim);
                lossy_crashes += u64::from(sim.lost_on_crash > before);
            }
            let d = 50 * MS + sim.rng.below(400 * MS);
            sim.run_for(d);
            if sim.rng.chance(600) {
                let back = 1 + sim.rng.below(voters.len() as u64);
                sim.restart(back);
            }
        }
        settle(&mut sim);
        assert_clean(&sim);
        acked_total += sim.acked.len();
        lost_total += sim.lost_on_crash;
    }
    eprintln!(
        "lossy disks: {acked_total} acknowledged, {lossy_crashes} crashes lost \
         {lost_total} unsynced entries"
    );
    assert!(acked_total > 0, "no command was ever acknowledged");
    // The disks really lost writes: the property above was tested against
    // crashes that threw away unsynced entries, not only clean ones.
    assert!(
        lost_total > 0 && lossy_crashes > 0,
        "no crash lost an unsynced write (lost {lost_total} entries)"
    );
}

#[test]
fn same_seed_replays_exactly() {
    let run = |seed| {
        let all = members(&[E, E, W]);
        let mut sim = Sim::new(seed, &all, &[1, 2, 3]);
        sim.params = NetParams::random(&mut sim.rng);
        sim.run_for(1_000 * MS);
        sim.crash(1);
        sim.run_for(1_500 * MS);
        sim.restart(1);
        sim.run_for(1_000 * MS);
        let states: Vec<(u64, u64)> = sim
            .nodes
            .values()
            .filter_map(|n| n.core.as_ref())
            .map(|c| (c.state_machine().last_index, c.state_machine().hash))
            .collect();
        (sim.acked.clone(), states)
    };
    for seed in 0..5 {
        assert_eq!(run(seed), run(seed), "seed {seed} did not replay");
    }
}

/// FAILOVER.md: the standby is active within one second of the active
/// member's death, on every seed, even when the election splits (two
/// members time out in the same tick: one more election timeout). The new
/// leader's wait runs from the vote floor (`lease` module), about the
/// instant of the death, so the median stays near one election timeout;
/// waiting from the election instead gives ~800 ms and misses 1 s on some
/// seeds (`LNS_SIM_SEEDS=2000`: seed 473 took 1 005 ms).
#[test]
fn standby_becomes_active_within_one_second_of_the_active_dying() {
    let mut times = Vec::new();
    for seed in seeds(60).chain(473..474) {
        let kinds: &[MemberKind] = if seed % 2 == 0 {
            &[E, E, W]
        } else {
            &[E, E, E]
        };
        let all = members(kinds);
        let mut sim = Sim::new(seed, &all, &[1, 2, 3]);
        wait_active(&mut sim, 3_000 * MS).expect("an active member at start");
        let d = sim.rng.below(200 * MS);
        sim.run_for(d);
        let Some(first) = sim.active().first().copied() else {
            continue;
        };
        sim.crash(first);
        let died = sim.now;
        if std::env::var_os("LNS_SIM_TRACE").is_some() {
            eprintln!("t={}ms crash {first}", died / MS);
        }
        let next = wait_active(&mut sim, 3_000 * MS);
        let took = sim.now - died;
        assert!(next.is_some(), "seed {seed}: nobody became active");
        assert!(
            took <= 1_000 * MS,
            "seed {seed}: failover took {} ms",
            took / MS
        );
        times.push((took, seed));
        settle(&mut sim);
        assert_clean(&sim);
    }
    times.sort_unstable();
    let within = times.iter().filter(|(t, _)| *t <= 1_000 * MS).count();
    eprintln!(
        "failover over {} seeds: p50 {} ms, max {} ms, {} within 1 s; slowest (ms, seed): {:?}",
        times.len(),
        times[times.len() / 2].0 / MS,
        times[times.len() - 1].0 / MS,
        within,
        times
            .iter()
            .rev()
            .take(5)
            .map(|(t, s)| (t / MS, *s))
            .collect::<Vec<_>>()
    );
    let median = times[times.len() / 2].0;
    assert!(
        median <= 650 * MS,
        "median failover {} ms: is the wait running from the election again?",
        median / MS
    );
}

#[test]
fn isolated_leader_fences_itself_then_steps_down_within_one_election_timeout() {
    let lease = simnet::default_lease();
    let mut worst = 0;
    for seed in seeds(40) {
        let all = members(&[E, E, E]);
        let mut sim = Sim::new(seed, &all, &[1, 2, 3]);
        let leader = wait_active(&mut sim, 3_000 * MS).expect("an active member");
        let d = sim.rng.below(100 * MS);
        sim.run_for(d);
        sim.isolate(leader);
        let cut_at = sim.now;
        let mut inactive_at = None;
        let mut follower_at = None;
        while sim.now < cut_at + 2_000 * MS {
            sim.run_for(MS);
            let c = sim.core(leader).expect("alive");
            if inactive_at.is_none() && !c.is_active(sim.now) {
                inactive_at = Some(sim.now);
            }
            if follower_at.is_none() && c.leadership().role != Role::Leader {
                follower_at = Some(sim.now);
            }
        }
        let inactive = inactive_at.expect("isolated leader stayed active") - cut_at;
        assert!(
            inactive <= lease + MS,
            "seed {seed}: active {inactive} us after the cut"
        );
        let stepped = follower_at.expect("isolated leader never stepped down") - cut_at;
        // Within one election timeout of the cut (raft-rs's check_quorum
        // alone can take up to two); the 1 ms is the loop's granularity.
        let election = sim.nodes[&leader].config.timing.election_ticks_min as u64 * simnet::tick();
        assert!(
            stepped <= election + MS,
            "seed {seed}: stepped down {} ms after the cut, election timeout {} ms",
            stepped / MS,
            election / MS
        );
        worst = worst.max(stepped * 100 / election);
        settle(&mut sim);
        assert_clean(&sim);
    }
    eprintln!("slowest step-down: {worst}% of the election timeout");
}

#[test]
fn lagging_member_catches_up_by_snapshot() {
    for seed in seeds(20) {
        let all = members(&[E, E, E]);
        let mut sim = Sim::new(seed, &all, &[1, 2, 3]);
        let leader = wait_active(&mut sim, 3_000 * MS).expect("an active member");
        let lagger = if leader == 3 { 2 } else { 3 };
        sim.crash(lagger);
        sim.run_for(3_000 * MS);
        sim.restart(lagger);
        sim.run_for(2_000 * MS);
        assert!(
            sim.nodes[&lagger].snapshots_installed >= 1,
            "seed {seed}: member {lagger} caught up without a snapshot"
        );
        settle(&mut sim);
        assert_clean(&sim);
    }
}

#[test]
fn membership_changes_keep_every_property() {
    for seed in seeds(30) {
        let all = members(&[E, E, E, E]);
        // Half the seeds never compact: the new member must then learn the
        // initial configuration from the bootstrap snapshot.
        let mut sim = Sim::with_config(seed, &all, &[1, 2, 3], |c| {
            if seed % 2 == 0 {
                c.compact_after = 1_000_000;
            }
        });
        sim.params = NetParams::random(&mut sim.rng);
        wait_active(&mut sim, 5_000 * MS).expect("an active member");
        sim.run_for(500 * MS);
        let learner = MembershipChange::AddLearner {
            id: 4,
            address: "sim-4".into(),
        };
        assert!(
            run_change(&mut sim, learner, 1 << 48),
            "seed {seed}: add learner"
        );
        sim.run_for(1_000 * MS);
        let voter = MembershipChange::AddVoter {
            id: 4,
            address: "sim-4".into(),
        };
        assert!(
            run_change(&mut sim, voter, (1 << 48) + 1),
            "seed {seed}: promote"
        );
        sim.run_for(500 * MS);
        let leader = sim.leaders().first().copied().unwrap_or(1);
        let removed = if leader == 1 { 2 } else { 1 };
        assert!(
            run_change(
                &mut sim,
                MembershipChange::Remove { id: removed },
                (1 << 48) + 2
            ),
            "seed {seed}: remove {removed}"
        );
        sim.run_for(500 * MS);
        sim.crash(removed);
        let status = sim.core(sim.leaders()[0]).expect("leader alive").status();
        let ids: Vec<u64> = status.members.iter().map(|m| m.id).collect();
        assert!(
            !ids.contains(&removed) && ids.contains(&4),
            "seed {seed}: {ids:?}"
        );
        let victim = ids[sim.rng.below(ids.len() as u64) as usize];
        sim.crash(victim);
        sim.run_for(1_500 * MS);
        sim.nodes.remove(&removed);
        settle(&mut sim);
        assert_clean(&sim);
    }
}

/// Proposes a change through whoever leads, retrying until it is applied.
fn run_change(sim: &mut Sim, change: MembershipChange, token: u64) -> bool {
    for _ in 0..20 {
        sim.admin_results.remove(&token);
        if sim.change_membership(change.clone(), token) {
            sim.run_for(500 * MS);
            if let Some(Ok(())) = sim.admin_results.get(&token) {
                return true;
            }
        } else {
            sim.run_for(200 * MS);
        }
    }
    false
}

#[test]
fn elected_witness_hands_leadership_to_an_eligible_member() {
    for seed in seeds(30) {
        let all = members(&[E, E, W]);
        let mut sim = Sim::new(seed, &all, &[1, 2, 3]);
        let leader = wait_active(&mut sim, 3_000 * MS).expect("an active member");
        sim.run_for(100 * MS);
        let now = sim.now;
        let core = sim.core_mut(leader).expect("alive");
        core.transfer_leader(3).expect("leader accepts a transfer");
        let _ = core.flush(now);
        sim.run_for(2_000 * MS);
        let leaders = sim.leaders();
        assert_eq!(leaders.len(), 1, "seed {seed}");
        assert_ne!(
            leaders[0], 3,
            "seed {seed}: the witness kept the leadership"
        );
        assert!(
            sim.active().len() == 1,
            "seed {seed}: nobody active after the hand-off"
        );
        settle(&mut sim);
        assert_clean(&sim);
    }
}

#[test]
fn many_proposals_share_one_ready_and_one_message_per_peer() {
    let all = members(&[E, E, E]);
    let mut sim = Sim::new(7, &all, &[1, 2, 3]);
    sim.load_every = 0;
    let leader = wait_active(&mut sim, 3_000 * MS).expect("an active member");
    sim.run_for(200 * MS);
    let now = sim.now;
    let core = sim.core_mut(leader).expect("alive");
    for i in 0..100u64 {
        core.propose(i.to_be_bytes().to_vec(), (1 << 40) + i)
            .expect("leader accepts");
    }
    core.flush(now).expect("flush");
    let mut appends_per_peer = std::collections::BTreeMap::new();
    while let Some(out) = core.poll_transmit() {
        use protobuf::Message as _;
        let m = raft::eraftpb::Message::parse_from_bytes(&out.envelope.raft_message)
            .expect("our own message");
        if m.get_msg_type() == raft::eraftpb::MessageType::MsgAppend {
            *appends_per_peer.entry(out.to).or_insert(0) += 1;
            assert_eq!(m.entries.len(), 100, "all proposals in one append");
        }
    }
    assert_eq!(appends_per_peer.len(), 2);
    assert!(
        appends_per_peer.values().all(|n| *n == 1),
        "{appends_per_peer:?}"
    );
}

#[test]
fn read_index_covers_everything_committed_before_the_request() {
    let (mut asked, mut answered) = (0, 0);
    for seed in seeds(20) {
        let all = members(&[E, E, W]);
        let mut sim = Sim::new(seed, &all, &[1, 2, 3]);
        sim.params = NetParams::random(&mut sim.rng);
        let leader = wait_active(&mut sim, 5_000 * MS).expect("an active member");
        sim.run_for(300 * MS);
        let follower = if leader == 1 { 2 } else { 1 };
        let now = sim.now;
        let mut floors = Vec::new();
        for (token, id) in [(1u64 << 50, leader), ((1 << 50) + 1, follower)] {
            let commit = sim.core(leader).expect("leader").status().commit;
            let core = sim.core_mut(id).expect("alive");
            core.read_index(token);
            let _ = core.flush(now);
            floors.push((token, commit));
        }
        sim.run_for(1_000 * MS);
        for (token, floor) in floors {
            asked += 1;
            let Some((_, index)) = sim.reads.get(&token) else {
                // A read may be lost with its message; the caller times out.
                continue;
            };
            answered += 1;
            assert!(
                *index >= floor,
                "seed {seed}: read index {index} < commit {floor}"
            );
        }
        settle(&mut sim);
        assert_clean(&sim);
    }
    assert!(
        answered * 2 >= asked,
        "only {answered} of {asked} reads answered"
    );
}

#[test]
fn status_reports_members_match_index_and_contact() {
    let all = members(&[E, E, W]);
    let mut sim = Sim::new(3, &all, &[1, 2, 3]);
    let leader = wait_active(&mut sim, 3_000 * MS).expect("an active member");
    sim.run_for(500 * MS);
    let st = sim.core(leader).expect("leader").status();
    assert_eq!(st.leadership.role, Role::Leader);
    assert_eq!(st.members.len(), 3);
    for m in &st.members {
        let matched = m.match_index.expect("leader knows every match index");
        assert!(matched + 5 >= st.last_index, "member {} lags: {m:?}", m.id);
        assert!(
            m.last_contact.is_some_and(|t| t + 200 * MS >= sim.now),
            "{m:?}"
        );
    }
    let follower_view = sim
        .core(if leader == 1 { 2 } else { 1 })
        .expect("alive")
        .status();
    assert!(follower_view
        .members
        .iter()
        .all(|m| m.match_index.is_none()));
}

#[test]
fn manual_failover_mode_never_activates_on_its_own() {
    use lns_cluster::FailoverMode;
    for seed in seeds(10) {
        let all = members(&[E, E]);
        let mut sim = Sim::with_config(seed, &all, &[1, 2], |c| c.failover = FailoverMode::Manual);
        sim.run_for(3_000 * MS);
        assert!(
            sim.active().is_empty(),
            "seed {seed}: a member activated itself"
        );
        let leader = *sim.leaders().first().expect("a leader");
        let now = sim.now;
        sim.core_mut(leader)
            .expect("alive")
            .activate()
            .expect("leader accepts");
        let _ = sim.core_mut(leader).expect("alive").flush(now);
        sim.run_for(1_000 * MS);
        assert_eq!(
            sim.active(),
            vec![leader],
            "seed {seed}: activation ignored"
        );
        // A new term (after a transfer) needs a new activation.
        let other = if leader == 1 { 2 } else { 1 };
        let now = sim.now;
        sim.core_mut(leader)
            .expect("alive")
            .transfer_leader(other)
            .expect("leader");
        let _ = sim.core_mut(leader).expect("alive").flush(now);
        sim.run_for(2_000 * MS);
        assert!(
            sim.active().is_empty(),
            "seed {seed}: {:?} active without activation",
            sim.active()
        );
    }
}

/// Planned switchover: the old leader releases its lease with the
/// MsgTimeoutNow, so the target is active without waiting out the lease.
#[test]
fn planned_transfer_hands_over_activity_in_tens_of_milliseconds() {
    let mut worst = 0;
    for seed in seeds(30) {
        let all = members(&[E, E, W]);
        let mut sim = Sim::new(seed, &all, &[1, 2, 3]);
        let leader = wait_active(&mut sim, 3_000 * MS).expect("an active member");
        sim.run_for(200 * MS);
        let target = if leader == 1 { 2 } else { 1 };
        let now = sim.now;
        let core = sim.core_mut(leader).expect("alive");
        core.transfer_leader(target).expect("leader accepts");
        let _ = core.flush(now);
        let start = sim.now;
        let mut gap = None;
        while sim.now < start + 2_000 * MS {
            sim.run_for(MS);
            if sim.active() == vec![target] {
                gap = Some(sim.now - start);
                break;
            }
        }
        let gap = gap.expect("target never became active");
        assert!(
            gap <= 50 * MS,
            "seed {seed}: hand-over took {} ms",
            gap / MS
        );
        worst = worst.max(gap);
        settle(&mut sim);
        assert_clean(&sim);
    }
    eprintln!("worst planned hand-over: {} ms", worst / MS);
}

/// Planned switchovers back and forth (each member hands over more than
/// once): the harness checks at every step that no two members are active;
/// each target is active within one heartbeat of the hand-over; the member
/// that handed over is never active again in that term, and relays data
/// only until the lease it released runs out (`forward_until`), never longer.
#[test]
fn planned_transfers_back_and_forth_never_overlap_and_the_old_member_drains() {
    for seed in seeds(20) {
        let all = members(&[E, E, W]);
        let mut sim = Sim::new(seed, &all, &[1, 2, 3]);
        let mut leader = wait_active(&mut sim, 3_000 * MS).expect("an active member");
        for round in 0..4 {
            sim.run_for(300 * MS);
            let target = if leader == 1 { 2 } else { 1 };
            let heartbeat = {
                let t = &sim.nodes[&leader].config.timing;
                t.tick.as_micros() as u64 * t.heartbeat_ticks as u64
            };
            let lease = sim.nodes[&leader].config.timing.lease.as_micros() as u64;
            let now = sim.now;
            let core = sim.core_mut(leader).expect("alive");
            assert!(core.is_active(now), "seed {seed} round {round}: not active");
            core.transfer_leader(target).expect("leader accepts");
            let _ = core.flush(now);
            // The release goes with the MsgTimeoutNow (at once, or once the
            // target has caught up).
            let start = sim.now;
            let mut released_at = None;
            let mut active_after = None;
            let mut drain_end = None;
            while sim.now < start + 1_000 * MS {
                let now = sim.now;
                let old = sim.core_mut(leader).expect("alive");
                let (active, forward) = (old.is_active(now), old.forward_until(now));
                if released_at.is_none() && !active {
                    released_at = Some(now);
                    assert!(
                        forward > now,
                        "seed {seed} round {round}: the old member relays data after handing over"
                    );
                    assert!(
                        forward <= now + lease,
                        "seed {seed} round {round}: it relays for at most its lease"
                    );
                    drain_end = Some(forward);
                }
                if let Some(end) = drain_end {
                    assert!(
                        !active,
                        "seed {seed} round {round}: active again after handing over"
                    );
                    assert!(
                        forward == end || (forward == 0 && now >= end),
                        "seed {seed} round {round}: drain until {end}, got {forward} at {now}"
                    );
                }
                if active_after.is_none() && sim.active() == vec![target] {
                    active_after = Some(now);
                }
                if active_after.is_some() && drain_end.is_some_and(|e| now >= e) {
                    break;
                }
                sim.run_for(MS);
            }
            let released = released_at.expect("the old member released its lease");
            let active = active_after.expect("the target became active");
            assert!(
                active - released <= heartbeat,
                "seed {seed} round {round}: the target was active {} ms after the hand-over",
                (active - released) / MS
            );
            let now = sim.now;
            assert_eq!(
                sim.core_mut(leader).expect("alive").forward_until(now),
                0,
                "seed {seed} round {round}: the drain ended"
            );
            leader = target;
        }
        settle(&mut sim);
        assert_clean(&sim);
    }
}

/// The start-up rule (two voters need a witness for automatic failover)
/// also holds for online changes: the leader refuses, with a typed error,
/// a change that would leave two eligible voters and no witness.
#[test]
fn membership_change_to_two_voters_without_witness_is_refused() {
    use lns_cluster::{FailoverMode, MembershipRefusal, ProposeError};
    let remove = |id| MembershipChange::Remove { id };
    for (kinds, failover, change, refused) in [
        // three eligible voters: removing one leaves two, no witness.
        (&[E, E, E][..], FailoverMode::Automatic, remove(3), true),
        // demoting a voter to learner counts as removing it.
        (
            &[E, E, E][..],
            FailoverMode::Automatic,
            MembershipChange::AddLearner {
                id: 2,
                address: "sim-2".into(),
            },
            true,
        ),
        // two eligible and a witness: removing the witness is refused...
        (&[E, E, W][..], FailoverMode::Automatic, remove(3), true),
        // ...removing an eligible member keeps the witness.
        (&[E, E, W][..], FailoverMode::Automatic, remove(2), false),
        // four eligible voters: removing one leaves three.
        (&[E, E, E, E][..], FailoverMode::Automatic, remove(4), false),
        // Manual failover never activates on its own: allowed.
        (&[E, E, E][..], FailoverMode::Manual, remove(3), false),
    ] {
        let all = members(kinds);
        let voters: Vec<u64> = all.keys().copied().collect();
        let mut sim = Sim::with_config(11, &all, &voters, |c| c.failover = failover);
        sim.load_every = 0;
        sim.run_for(3_000 * MS);
        let leader = *sim.leaders().first().expect("a leader");
        let now = sim.now;
        let core = sim.core_mut(leader).expect("alive");
        let r = core.propose_membership(&change, 1 << 48);
        let _ = core.flush(now);
        if refused {
            let Err(ProposeError::MembershipRefused(MembershipRefusal::TwoVotersNeedWitness {
                voters,
            })) = r
            else {
                panic!("{kinds:?} {change:?}: expected a refusal, got {r:?}");
            };
            assert_eq!(voters.len(), 2, "{voters:?}");
            assert!(
                ProposeError::MembershipRefused(MembershipRefusal::TwoVotersNeedWitness { voters })
                    .to_string()
                    .contains("witness"),
                "the error says why"
            );
        } else {
            assert_eq!(r, Ok(()), "{kinds:?} {failover:?} {change:?}");
            sim.run_for(1_000 * MS);
            assert_eq!(
                sim.admin_results.get(&(1 << 48)),
                Some(&Ok(())),
                "{kinds:?} {change:?} applied"
            );
        }
    }
}
