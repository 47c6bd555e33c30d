//! # Handing leadership on from a member that refuses to be active
//!
//! Contract: a member whose engine configuration differs from the log's
//! must not become active (`replica::fingerprint`). When leadership lands
//! on it, it hands leadership to another eligible (`lns`) member, and
//! keeps trying while it still leads: a transfer is only a request, and
//! raft-rs aborts it when the target does not take over within an election
//! timeout (dead, partitioned, lagging, or refusing too). Attempts are
//! spaced by a backoff doubling from [`FIRST_RETRY`] to [`MAX_RETRY`], and
//! the targets rotate through the other eligible members in id order, so
//! every one is tried. With no other eligible member it says so once
//! ([`Attempt::NobodyEligible`]) and stays leader without serving: the
//! cluster has no active node until a member with the log's configuration
//! exists, which no retry can change.
//!
//! When leadership comes back to this member soon after it last gave it
//! away (two refusing members would otherwise hand it to each other at
//! election speed), the backoff goes on growing instead of restarting;
//! after [`SETTLED`] without refusing it starts again from an immediate
//! attempt. Time is passed in (virtual time in tests); the caller performs
//! the transfers, logs and sets the `lnsd_active_refused` gauge.

use lns_cluster::MemberId;
use lns_proto::time::Timestamp;
use std::time::Duration;

/// The delay before the second attempt.
pub const FIRST_RETRY: Duration = Duration::from_millis(250);
/// The longest delay between two attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(4);
/// A refusal this long after the previous one ended starts afresh.
pub const SETTLED: Duration = Duration::from_secs(30);

/// What the refusing member must do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Ask Raft to hand leadership to this member.
    Transfer(MemberId),
    /// There is no other eligible member: stay refusing (said once).
    NobodyEligible,
}

/// The hand-off state of one member.
#[derive(Clone, Debug)]
pub struct Handoff {
    /// The other eligible members, in id order.
    others: Vec<MemberId>,
    refusing: Option<Refusing>,
    /// The delay after the next attempt.
    delay: Duration,
    /// The last member asked to take over.
    last: Option<MemberId>,
    /// When the last refusal ended.
    ended: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug)]
struct Refusing {
    due: Timestamp,
    said_nobody: bool,
}

impl Handoff {
    /// The hand-off of member `me` among the `eligible` members.
    pub fn new(me: MemberId, eligible: &[MemberId]) -> Handoff {
        let mut others: Vec<MemberId> = eligible.iter().copied().filter(|id| *id != me).collect();
        others.sort_unstable();
        others.dedup();
        Handoff {
            others,
            refusing: None,
            delay: FIRST_RETRY,
            last: None,
            ended: None,
        }
    }

    /// Leadership landed here at `now` and this member refuses it.
    pub fn refuse(&mut self, now: Timestamp) {
        if self.refusing.is_some() {
            return;
        }
        let recent = self
            .ended
            .is_some_and(|end| now.saturating_since(end) < SETTLED);
        let due = if recent {
            let due = now + self.delay;
            self.grow();
            due
        } else {
            self.delay = FIRST_RETRY;
            now
        };
        self.refusing = Some(Refusing {
            due,
            said_nobody: false,
        });
    }

    /// This member no longer leads (or may serve again) at `now`.
    pub fn stop(&mut self, now: Timestamp) {
        if self.refusing.take().is_some() {
            self.ended = Some(now);
        }
    }

    /// True while leadership is refused.
    pub fn is_refusing(&self) -> bool {
        self.refusing.is_some()
    }

    /// When [`Handoff::poll`] has something to do.
    pub fn due(&self) -> Option<Timestamp> {
        self.refusing
            .filter(|r| !(r.said_nobody && self.others.is_empty()))
            .map(|r| r.due)
    }

    /// The attempt due at `now`, if any; the next one is scheduled.
    pub fn poll(&mut self, now: Timestamp) -> Option<Attempt> {
        let r = self.refusing.as_mut()?;
        if now < r.due {
            return None;
        }
        if self.others.is_empty() {
            if r.said_nobody {
                return None;
            }
            r.said_nobody = true;
            return Some(Attempt::NobodyEligible);
        }
        r.due = now + self.delay;
        let target = self
            .last
            .and_then(|last| self.others.iter().copied().find(|id| *id > last))
            .unwrap_or(self.others[0]);
        self.last = Some(target);
        self.grow();
        Some(Attempt::Transfer(target))
    }

    fn grow(&mut self) {
        self.delay = (self.delay * 2).min(MAX_RETRY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_unix_millis(1_800_000_000_000 + ms)
    }

    /// Polls every millisecond from `from` to `to`: (time, attempt).
    fn run(h: &mut Handoff, from: u64, to: u64) -> Vec<(u64, Attempt)> {
        (from..=to)
            .filter_map(|ms| h.poll(at(ms)).map(|a| (ms, a)))
            .collect()
    }

    #[test]
    fn a_refused_leadership_is_handed_on_at_once_and_retried_with_a_bounded_backoff() {
        let mut h = Handoff::new(2, &[1, 2, 4]);
        assert_eq!(h.due(), None);
        h.refuse(at(0));
        assert_eq!(h.due(), Some(at(0)));
        let attempts = run(&mut h, 0, 20_000);
        let times: Vec<u64> = attempts.iter().map(|(t, _)| *t).collect();
        // 0, +250, +500, +1000, +2000, then every 4 s.
        assert_eq!(
            times,
            [0, 250, 750, 1_750, 3_750, 7_750, 11_750, 15_750, 19_750]
        );
        // Every other eligible member is tried in turn, never this one.
        let targets: Vec<Attempt> = attempts.iter().take(4).map(|(_, a)| *a).collect();
        assert_eq!(
            targets,
            [
                Attempt::Transfer(1),
                Attempt::Transfer(4),
                Attempt::Transfer(1),
                Attempt::Transfer(4)
            ]
        );
    }

    #[test]
    fn attempts_stop_once_another_member_leads() {
        let mut h = Handoff::new(1, &[1, 2]);
        h.refuse(at(0));
        assert_eq!(h.poll(at(0)), Some(Attempt::Transfer(2)));
        h.stop(at(100));
        assert!(!h.is_refusing());
        assert_eq!(h.due(), None);
        assert!(run(&mut h, 100, 10_000).is_empty());
    }

    #[test]
    fn with_nobody_eligible_it_says_so_once_and_stays_refusing() {
        let mut h = Handoff::new(1, &[1]);
        h.refuse(at(0));
        assert_eq!(run(&mut h, 0, 10_000), [(0, Attempt::NobodyEligible)]);
        assert!(h.is_refusing());
        assert_eq!(h.due(), None, "nothing to wake up for");
    }

    #[test]
    fn leadership_bouncing_back_keeps_the_backoff_growing() {
        // Two refusing members: leadership comes back right after each
        // hand-off; the refusals slow down to one per MAX_RETRY.
        let mut h = Handoff::new(1, &[1, 2]);
        let mut now = 0;
        let mut firsts = Vec::new();
        for _ in 0..6 {
            h.refuse(at(now));
            let (t, a) = (now..now + 10_000)
                .find_map(|ms| h.poll(at(ms)).map(|a| (ms, a)))
                .expect("an attempt within 10 s");
            assert_eq!(a, Attempt::Transfer(2));
            firsts.push(t - now);
            now = t + 10;
            h.stop(at(now));
            now += 10;
        }
        assert_eq!(firsts, [0, 500, 2_000, 4_000, 4_000, 4_000]);
        // Long after the last refusal, a new one is handed on at once.
        let later = now + SETTLED.as_millis() as u64;
        h.refuse(at(later));
        assert_eq!(h.poll(at(later)), Some(Attempt::Transfer(2)));
    }
}
