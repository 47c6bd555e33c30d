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
//! - A newly elected leader becomes active only `lease_wait` after the
//!   *vote floor* of its election (`lease_wait > lease`, the margin covering
//!   clock-rate drift), at the latest `lease_wait` after its election.
//!
//! # The vote floor
//!
//! Every member remembers when it last *heard from a leader*: accepted a
//! message from the leader of its current term, or stopped leading itself
//! (or started: nothing before a restart is remembered). A granted vote
//! carries the voter's silence, `vote_silence`: how long ago, on its own
//! clock, that was when it sent the vote. The candidate turns each granted
//! vote into a floor, `arrival - silence` on its own clock, an instant no
//! earlier than the voter's last contact with a leader (the vote travelled
//! forward in time). The vote floor of the election is the latest of those
//! floors and of the candidate's own last contact; a vote without a silence
//! counts as its arrival time, so older members only make the wait longer.
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
//! The vote floor tightens the same argument: V's last receipt in T1, `r`,
//! is at most V's last contact with a leader when it voted, which is at most
//! the floor L2 computed from V's vote (or L2's own contact, if V is L2). If
//! V is L1 itself, it stopped leading (and being active) before voting, and
//! that instant is its last contact. So `t - lease < r <= floor`, and L2 is
//! active only from `floor + lease_wait > t`. The floor is never later than
//! the election, so the wait never grows. When the active member dies, the
//! voters only vote once their election timeout ran out after its last
//! heartbeat, so the floor is about the instant of the death and the new
//! leader is active about `lease_wait` after it (or at once, if the
//! election took longer than that).
//!
//! # Timing with the defaults (tick 50 ms)
//!
//! Followers notice the leader's death after their randomised election timeout
//! (6-12 ticks: at most 600 ms after the last heartbeat); pre-vote and vote
//! take one round trip (< 10 ms on a LAN); the new leader is active
//! `lease_wait` = 300 ms after the vote floor (about the death) or at once
//! if that has passed: about 610 ms after the death at worst, and one split
//! vote (two members timing out in the same tick) adds at most another
//! election timeout: inside the one second promised by FAILOVER.md. The old
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
    /// Our clock when we last heard from a leader (or led, or started).
    heard: Micros,
    /// Candidate side: (term, latest floor of the granted votes of term).
    votes: Option<(u64, Micros)>,
    /// Leader side: when `wait` started (the vote floor, or the election).
    wait_from: Micros,
}

impl Lease {
    /// Lease bookkeeping for a member started at `now` (what happened
    /// before a restart is not remembered: `now` is the last contact).
    pub fn new(lease: Micros, wait: Micros, now: Micros) -> Self {
        Lease {
            lease,
            wait,
            leading: None,
            echoes: BTreeMap::new(),
            received: None,
            handed_over: false,
            heard: now,
            votes: None,
            wait_from: 0,
        }
    }

    /// We became leader of `term` at `now`: no echo of an older term counts.
    /// The wait runs from the vote floor of `term`'s election (see the
    /// module documentation), never later than `now`.
    pub fn become_leader(&mut self, term: u64, now: Micros) {
        let floor = match self.votes {
            Some((t, floor)) if t == term => floor.max(self.heard),
            // No vote recorded (a lone voter): wait from the election.
            _ => now,
        };
        self.leading = Some((term, now));
        self.wait_from = floor.min(now);
        self.echoes.clear();
        self.handed_over = false;
    }

    /// We accepted a message from the leader of our current term, or
    /// stopped leading, at `now`.
    pub fn heard_leader(&mut self, now: Micros) {
        self.heard = self.heard.max(now);
    }

    /// What a granted vote sent at `now` carries: our silence plus one
    /// (0 means "not given"). A leader, or a member that led until this
    /// instant, is never silent.
    pub fn vote_silence(&self, now: Micros) -> Micros {
        if self.leading.is_some() {
            return 1;
        }
        now.saturating_sub(self.heard).saturating_add(1)
    }

    /// Candidate side: a vote granted in `term` arrived at `now` carrying
    /// `silence` (as produced by [`Lease::vote_silence`], 0 if absent).
    pub fn record_vote(&mut self, term: u64, silence: Micros, now: Micros) {
        let floor = if silence == 0 {
            now
        } else {
            now.saturating_sub(silence - 1)
        };
        match &mut self.votes {
            Some((t, f)) if *t == term => *f = (*f).max(floor),
            // A late vote of an older election: irrelevant.
            Some((t, _)) if *t > term => {}
            _ => self.votes = Some((term, floor)),
        }
    }

    /// We became leader of `term` right after the leader of `term - 1`
    /// released its lease to us (planned transfer): no wait.
    pub fn become_leader_handed_over(&mut self, term: u64, now: Micros) {
        self.become_leader(term, now);
        self.handed_over = true;
    }

    /// We are no longer leader (at `now`, our last contact as a leader).
    pub fn step_down(&mut self, now: Micros) {
        self.leading = None;
        self.echoes.clear();
        self.heard_leader(now);
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

    /// Follower side: the leader of `term` sent a message stamped `stamp`
    /// (a contact with a leader: the caller also calls `heard_leader`).
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
        self.leading.map(|(_, since)| {
            if self.handed_over {
                since
            } else {
                self.wait_from + self.wait
            }
        })
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
        let mut l = Lease::new(250, 300, 0);
        l.become_leader(2, 1_000);
        assert_eq!(l.deadline(1, &[&[1, 2, 3]]), 0);
        assert_eq!(l.active_from(), Some(1_300));
    }

    #[test]
    fn quorum_echo_sets_the_deadline_from_the_stamp() {
        let mut l = Lease::new(250, 300, 0);
        l.become_leader(2, 1_000);
        l.record_echo(2, 2, 1_100);
        l.record_echo(3, 2, 1_050);
        // quorum of 3 = self + the newest peer echo.
        assert_eq!(l.deadline(1, &[&[1, 2, 3]]), 1_350);
    }

    #[test]
    fn echo_of_another_term_is_ignored() {
        let mut l = Lease::new(250, 300, 0);
        l.become_leader(3, 0);
        l.record_echo(2, 2, 500);
        assert_eq!(l.deadline(1, &[&[1, 2, 3]]), 0);
    }

    #[test]
    fn joint_configuration_needs_both_majorities() {
        let mut l = Lease::new(250, 300, 0);
        l.become_leader(1, 0);
        l.record_echo(2, 1, 100);
        // incoming {1,2,3} has a quorum, outgoing {1,4,5} does not.
        assert_eq!(l.deadline(1, &[&[1, 2, 3], &[1, 4, 5]]), 0);
        l.record_echo(4, 1, 80);
        assert_eq!(l.deadline(1, &[&[1, 2, 3], &[1, 4, 5]]), 330);
    }

    #[test]
    fn single_voter_leader_never_loses_its_lease() {
        let mut l = Lease::new(250, 300, 0);
        l.become_leader(1, 0);
        assert_eq!(l.deadline(1, &[&[1]]), Micros::MAX);
    }

    #[test]
    fn quorum_contact_starts_at_the_election_then_follows_the_echoes() {
        let mut l = Lease::new(250, 300, 0);
        assert_eq!(l.quorum_contact(1, &[&[1, 2, 3]]), None);
        l.become_leader(2, 1_000);
        assert_eq!(l.quorum_contact(1, &[&[1, 2, 3]]), Some(1_000));
        l.record_echo(3, 2, 1_400);
        assert_eq!(l.quorum_contact(1, &[&[1, 2, 3]]), Some(1_400));
        assert_eq!(l.quorum_contact(1, &[&[1]]), Some(Micros::MAX));
    }

    #[test]
    fn vote_floor_starts_the_wait_at_the_latest_contact_of_the_voters() {
        let mut l = Lease::new(250, 300, 0);
        l.heard_leader(1_000);
        // Votes of term 3 arriving at 1_500: silent for 400 and 450.
        l.record_vote(3, 401, 1_500);
        l.record_vote(3, 451, 1_500);
        // A late vote of an older election does not count.
        l.record_vote(2, 1, 1_550);
        l.become_leader(3, 1_600);
        // floor = max(1_000 (own), 1_100, 1_050) = 1_100.
        assert_eq!(l.active_from(), Some(1_400));
    }

    #[test]
    fn vote_without_silence_counts_as_its_arrival() {
        let mut l = Lease::new(250, 300, 0);
        l.record_vote(3, 0, 1_500);
        l.become_leader(3, 1_600);
        assert_eq!(l.active_from(), Some(1_800));
    }

    #[test]
    fn without_votes_the_wait_runs_from_the_election() {
        let mut l = Lease::new(250, 300, 0);
        l.become_leader(1, 700);
        assert_eq!(l.active_from(), Some(1_000));
    }

    #[test]
    fn a_leader_or_a_fresh_start_is_never_silent_for_long() {
        let mut l = Lease::new(250, 300, 5_000);
        assert_eq!(l.vote_silence(5_200), 201, "silence counts from the start");
        l.become_leader(2, 6_000);
        assert_eq!(l.vote_silence(6_500), 1, "a leader is not silent");
        l.step_down(7_000);
        assert_eq!(l.vote_silence(7_100), 101);
    }

    #[test]
    fn follower_echoes_only_its_current_term() {
        let mut l = Lease::new(250, 300, 0);
        l.record_stamp(4, 70);
        l.record_stamp(4, 60);
        assert_eq!(l.echo(4), (4, 70));
        assert_eq!(l.echo(5), (0, 0));
    }
}
