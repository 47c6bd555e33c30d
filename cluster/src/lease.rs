//! Leader leases: when a leader may call itself *active*.
//!
//! Contract: at no instant may two members be active. This module decides it
//! from elapsed time on each member's own monotonic clock; no clock is ever
//! compared with another machine's.
//!
//! # The mechanism
//!
//! - A leader stamps every message it sends with its clock (`lease_stamp`).
//! - A follower remembers the newest stamp received from the leader of its
//!   current term and echoes it, with that term, on every message it sends.
//! - The leader keeps, per voter, the newest echo for its own term. It holds
//!   its lease until `s_q + lease`, where `s_q` is the newest stamp that a
//!   quorum (itself counting as "now") has echoed. With a joint configuration
//!   both majorities must agree. As soon as the quorum has been silent for
//!   `lease` the leader is inactive: self-fencing by its own clock.
//! - A newly elected leader becomes active only `lease_wait` after its
//!   election (`lease_wait > lease`, the margin covering clock-rate drift).
//!
//! # Planned transfer
//!
//! A leader that is past its own `lease_wait` (so every older lease has run
//! out) may *release* its lease when it sends MsgTimeoutNow: from then on it
//! is never active again in its term, and the envelope says so. The target,
//! if it wins the very next term, is active at once: the only lease that
//! could still be held was the one just released. If the transfer fails, the
//! releasing leader steps down after an election timeout so that a normal
//! election (with the full wait) follows.
//!
//! # Why two members are never active (real time `t`, drift neglected)
//!
//! Say L1 (term T1) is active at `t`. Then a quorum Q1 echoed stamps
//! `>= t - lease`, so each member of Q1 *received*, while in term T1, a
//! message L1 created after `t - lease`. Now L2 is elected at `e` in term
//! T2 > T1 by a quorum Q2. Q1 and Q2 intersect in some member V. V voted
//! for L2 at some `v <= e` and, having persisted term T2 before voting, never
//! again accepts anything in T1; so its T1 receipt came before `v`, hence
//! `t - lease < v <= e`, i.e. `t < e + lease`. L2 is active only from
//! `e + lease_wait > e + lease`. Restarts do not break this: the term and
//! vote are persisted before the vote is sent. Leadership transfer does not
//! either: the argument never relies on followers refusing votes.
//!
//! # Timing with the defaults (tick 50 ms)
//!
//! Followers notice the leader's death after their randomised election timeout
//! (6-12 ticks: at most 600 ms after the last heartbeat); pre-vote and vote
//! take one round trip (< 10 ms on a LAN); the new leader then waits
//! `lease_wait` = 300 ms: the standby is active at most ~910 ms after the
//! active member died, inside the one second promised by FAILOVER.md. The old
//! leader, if alive but cut off, is inactive within `lease` = 250 ms of the
//! last quorum contact, i.e. long before anyone else could be active. The
//! lease covers five heartbeats, so one or two lost heartbeats do not make a
//! healthy leader flap.

use std::collections::BTreeMap;

use crate::config::MemberId;

/// Microseconds on the member's own monotonic clock.
pub type Micros = u64;

/// Lease bookkeeping for one member (both the leader and the follower side).
#[derive(Debug, Clone)]
pub struct Lease {
    lease: Micros,
    wait: Micros,
    /// Leader side: the term we lead and when we became leader.
    leading: Option<(u64, Micros)>,
    /// Leader side: newest stamp echoed by each peer for `leading`'s term.
    echoes: BTreeMap<MemberId, Micros>,
    /// Follower side: (term, newest stamp) received from that term's leader.
    received: Option<(u64, Micros)>,
    /// Leader side: the previous leader released its lease to us.
    handed_over: bool,
}

impl Lease {
    pub fn new(lease: Micros, wait: Micros) -> Self {
        Lease {
            lease,
            wait,
            leading: None,
            echoes: BTreeMap::new(),
            received: None,
            handed_over: false,
        }
    }

    /// We became leader of `term` at `now`: no echo of an older term counts.
    pub fn become_leader(&mut self, term: u64, now: Micros) {
        self.leading = Some((term, now));
        self.echoes.clear();
        self.handed_over = false;
    }

    /// We became leader of `term` right after the leader of `term - 1`
    /// released its lease to us (planned transfer): no wait.
    pub fn become_leader_handed_over(&mut self, term: u64, now: Micros) {
        self.become_leader(term, now);
        self.handed_over = true;
    }

    /// We are no longer leader.
    pub fn step_down(&mut self) {
        self.leading = None;
        self.echoes.clear();
    }

    /// Leader side: `from` echoed `stamp`, received in `term`.
    pub fn record_echo(&mut self, from: MemberId, term: u64, stamp: Micros) {
        if let Some((t, _)) = self.leading {
            if t == term && stamp > 0 {
                let e = self.echoes.entry(from).or_insert(0);
                *e = (*e).max(stamp);
            }
        }
    }

    /// Follower side: the leader of `term` sent a message stamped `stamp`.
    pub fn record_stamp(&mut self, term: u64, stamp: Micros) {
        match &mut self.received {
            Some((t, s)) if *t == term => *s = (*s).max(stamp),
            _ => self.received = Some((term, stamp)),
        }
    }

    /// Follower side: what to echo while in `current_term` (0, 0 if nothing).
    pub fn echo(&self, current_term: u64) -> (u64, Micros) {
        match self.received {
            Some((t, s)) if t == current_term => (t, s),
            _ => (0, 0),
        }
    }

    /// When a leader may first be active (`None` if not leading).
    pub fn active_from(&self) -> Option<Micros> {
        let wait = if self.handed_over { 0 } else { self.wait };
        self.leading.map(|(_, since)| since + wait)
    }

    /// Leader side: the instant the lease runs out, given the voter sets
    /// (incoming and, during a joint change, outgoing). `Micros::MAX` when
    /// this member alone is a quorum.
    pub fn deadline(&self, me: MemberId, voter_sets: &[&[MemberId]]) -> Micros {
        match self.quorum_stamp(me, voter_sets) {
            Micros::MAX => Micros::MAX,
            0 => 0,
            s_q => s_q.saturating_add(self.lease),
        }
    }

    /// Leader side: when the leader last heard from a quorum, or the
    /// instant it was elected if later. `None` when not leading,
    /// `Micros::MAX` when this member alone is a quorum. The leader steps
    /// down once this is an election timeout old (see `core`).
    pub fn quorum_contact(&self, me: MemberId, voter_sets: &[&[MemberId]]) -> Option<Micros> {
        let (_, since) = self.leading?;
        Some(self.quorum_stamp(me, voter_sets).max(since))
    }

    /// `s_q`: the newest stamp a quorum of every voter set echoed (this
    /// member counting as `Micros::MAX`), 0 if none or not leading.
    fn quorum_stamp(&self, me: MemberId, voter_sets: &[&[MemberId]]) -> Micros {
        if self.leading.is_none() {
            return 0;
        }
        let mut oldest = Micros::MAX;
        for set in voter_sets.iter().filter(|s| !s.is_empty()) {
            let mut stamps: Vec<Micros> = set
                .iter()
                .map(|id| {
                    if *id == me {
                        Micros::MAX
                    } else {
                        self.echoes.get(id).copied().unwrap_or(0)
                    }
                })
                .collect();
            stamps.sort_unstable_by(|a, b| b.cmp(a));
            let quorum = set.len() / 2 + 1;
            oldest = oldest.min(stamps[quorum - 1]);
        }
        oldest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leader_without_echoes_holds_no_lease() {
        let mut l = Lease::new(250, 300);
        l.become_leader(2, 1_000);
        assert_eq!(l.deadline(1, &[&[1, 2, 3]]), 0);
        assert_eq!(l.active_from(), Some(1_300));
    }

    #[test]
    fn quorum_echo_sets_the_deadline_from_the_stamp() {
        let mut l = Lease::new(250, 300);
        l.become_leader(2, 1_000);
        l.record_echo(2, 2, 1_100);
        l.record_echo(3, 2, 1_050);
        // quorum of 3 = self + the newest peer echo.
        assert_eq!(l.deadline(1, &[&[1, 2, 3]]), 1_350);
    }

    #[test]
    fn echo_of_another_term_is_ignored() {
        let mut l = Lease::new(250, 300);
        l.become_leader(3, 0);
        l.record_echo(2, 2, 500);
        assert_eq!(l.deadline(1, &[&[1, 2, 3]]), 0);
    }

    #[test]
    fn joint_configuration_needs_both_majorities() {
        let mut l = Lease::new(250, 300);
        l.become_leader(1, 0);
        l.record_echo(2, 1, 100);
        // incoming {1,2,3} has a quorum, outgoing {1,4,5} does not.
        assert_eq!(l.deadline(1, &[&[1, 2, 3], &[1, 4, 5]]), 0);
        l.record_echo(4, 1, 80);
        assert_eq!(l.deadline(1, &[&[1, 2, 3], &[1, 4, 5]]), 330);
    }

    #[test]
    fn single_voter_leader_never_loses_its_lease() {
        let mut l = Lease::new(250, 300);
        l.become_leader(1, 0);
        assert_eq!(l.deadline(1, &[&[1]]), Micros::MAX);
    }

    #[test]
    fn quorum_contact_starts_at_the_election_then_follows_the_echoes() {
        let mut l = Lease::new(250, 300);
        assert_eq!(l.quorum_contact(1, &[&[1, 2, 3]]), None);
        l.become_leader(2, 1_000);
        assert_eq!(l.quorum_contact(1, &[&[1, 2, 3]]), Some(1_000));
        l.record_echo(3, 2, 1_400);
        assert_eq!(l.quorum_contact(1, &[&[1, 2, 3]]), Some(1_400));
        assert_eq!(l.quorum_contact(1, &[&[1]]), Some(Micros::MAX));
    }

    #[test]
    fn follower_echoes_only_its_current_term() {
        let mut l = Lease::new(250, 300);
        l.record_stamp(4, 70);
        l.record_stamp(4, 60);
        assert_eq!(l.echo(4), (4, 70));
        assert_eq!(l.echo(5), (0, 0));
    }
}
