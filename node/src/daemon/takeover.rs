//! Which leadership changes are failovers (issue 7 item 2): the tracker
//! behind `lnsd_failovers_total{kind}` and
//! `lnsd_last_failover_duration_seconds` (leader changes are counted by
//! `Metrics::observe_raft`).
//!
//! Contract: [`Takeover::observe`] is fed every leadership view this
//! member's watch reports, with the time it was seen and, when this member
//! just became leader, how long ago it last heard from the previous
//! leader. It answers the takeover to count, if any. A takeover is *planned* when the old
//! leader was heard from within half the minimum election timeout (a
//! transfer: the old leader itself just told us to campaign), otherwise
//! *unplanned* (we campaigned because it went silent for at least about an
//! election timeout; ticks make that a little less than the minimum). Its duration runs from the last
//! contact with the old active node (unplanned) or from the leadership
//! change (planned) to this member becoming active. The first leader a
//! member ever sees (cluster start) is no failover, nor is taking over from
//! a member that cannot be active (a witness that won the first election
//! hands leadership to an `lns` member).

use std::time::{Duration, Instant};

use lns_cluster::{Activity, Leadership, MemberId, Role};

use crate::metrics::FailoverKind;

/// The tracker of one member.
#[derive(Debug, Clone)]
pub struct Takeover {
    me: MemberId,
    election_timeout: Duration,
    eligible: Vec<MemberId>,
    leader: Option<MemberId>,
    /// Set when this member became leader after another one led.
    pending: Option<Pending>,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    term: u64,
    at: Instant,
    kind: FailoverKind,
    silence: Duration,
}

impl Takeover {
    /// A tracker for member `me` whose minimum election timeout is
    /// `election_timeout`, in a cluster whose members that may be active
    /// are `eligible`.
    pub fn new(me: MemberId, election_timeout: Duration, eligible: Vec<MemberId>) -> Takeover {
        Takeover {
            me,
            election_timeout,
            eligible,
            leader: None,
            pending: None,
        }
    }

    /// True when `l` makes this member a leader whose predecessor must be
    /// looked up (the caller then passes its contact age to `observe`).
    pub fn needs_contact_age(&self, l: &Leadership) -> bool {
        l.role == Role::Leader
            && self.pending.is_none_or(|p| p.term != l.term)
            && self
                .leader
                .is_some_and(|old| old != self.me && self.eligible.contains(&old))
    }

    /// The previous leader (whose contact age `observe` wants).
    pub fn previous_leader(&self) -> Option<MemberId> {
        self.leader
    }

    /// Feeds the view `l` seen at `at`; `old_contact_age` is how long before
    /// `at` the previous leader was last heard from (when
    /// [`Takeover::needs_contact_age`] said so; `None`: never).
    pub fn observe(
        &mut self,
        l: &Leadership,
        at: Instant,
        old_contact_age: Option<Duration>,
    ) -> Option<(FailoverKind, Duration)> {
        let mut counted = None;
        if self.needs_contact_age(l) {
            let (kind, silence) = match old_contact_age {
                Some(age) if age < self.election_timeout / 2 => {
                    (FailoverKind::Planned, Duration::ZERO)
                }
                Some(age) => (FailoverKind::Unplanned, age),
                None => (FailoverKind::Unplanned, Duration::ZERO),
            };
            self.pending = Some(Pending {
                term: l.term,
                at,
                kind,
                silence,
            });
        }
        // Only an eligible member counts as the previous active one: a
        // witness that wins an election after the active node died hands
        // leadership on at once, and must not hide that node's loss.
        if let Some(id) = l.leader.filter(|id| self.eligible.contains(id)) {
            self.leader = Some(id);
        }
        match (l.role, l.activity, self.pending) {
            (Role::Leader, Activity::Active, Some(p)) if p.term == l.term => {
                let took = at.saturating_duration_since(p.at) + p.silence;
                counted = Some((p.kind, took));
                self.pending = None;
            }
            (Role::Leader, _, _) => {}
            // Lost the leadership before becoming active.
            _ => self.pending = None,
        }
        counted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(term: u64, leader: Option<MemberId>, role: Role, activity: Activity) -> Leadership {
        Leadership {
            term,
            leader,
            role,
            activity,
        }
    }

    const TIMEOUT: Duration = Duration::from_millis(300);

    #[test]
    fn first_leader_is_no_failover() {
        let t0 = Instant::now();
        let mut t = Takeover::new(1, TIMEOUT, vec![1, 2]);
        let c = t.observe(
            &view(1, Some(1), Role::Leader, Activity::Inactive),
            t0,
            None,
        );
        assert_eq!(c, None);
        let c = t.observe(
            &view(1, Some(1), Role::Leader, Activity::Active),
            t0 + Duration::from_millis(300),
            None,
        );
        assert_eq!(c, None);
    }

    #[test]
    fn a_silent_old_leader_is_an_unplanned_failover_timed_from_its_last_contact() {
        let t0 = Instant::now();
        let mut t = Takeover::new(2, TIMEOUT, vec![1, 2]);
        t.observe(
            &view(1, Some(1), Role::Follower, Activity::Inactive),
            t0,
            None,
        );
        let lead = view(2, Some(2), Role::Leader, Activity::Inactive);
        assert!(t.needs_contact_age(&lead));
        assert_eq!(t.previous_leader(), Some(1));
        let at = t0 + Duration::from_secs(1);
        let c = t.observe(&lead, at, Some(Duration::from_millis(280)));
        assert_eq!(c, None);
        let c = t.observe(
            &view(2, Some(2), Role::Leader, Activity::Active),
            at + Duration::from_millis(300),
            None,
        );
        assert_eq!(
            c,
            Some((FailoverKind::Unplanned, Duration::from_millis(580)))
        );
    }

    #[test]
    fn the_witness_handing_over_at_start_is_no_failover() {
        let t0 = Instant::now();
        let mut t = Takeover::new(2, TIMEOUT, vec![1, 2]);
        t.observe(
            &view(2, Some(3), Role::Follower, Activity::Inactive),
            t0,
            None,
        );
        let lead = view(3, Some(2), Role::Leader, Activity::Inactive);
        assert!(!t.needs_contact_age(&lead));
        t.observe(&lead, t0, Some(Duration::from_millis(2)));
        let c = t.observe(&view(3, Some(2), Role::Leader, Activity::Active), t0, None);
        assert_eq!(c, None);
    }

    #[test]
    fn a_failover_through_an_interim_witness_leader_still_counts() {
        let t0 = Instant::now();
        let mut t = Takeover::new(2, TIMEOUT, vec![1, 2]);
        t.observe(
            &view(1, Some(1), Role::Follower, Activity::Inactive),
            t0,
            None,
        );
        // Member 1 dies; the witness (3) wins term 2 and hands over.
        t.observe(
            &view(2, Some(3), Role::Follower, Activity::Inactive),
            t0,
            None,
        );
        let lead = view(3, Some(2), Role::Leader, Activity::Inactive);
        assert!(t.needs_contact_age(&lead));
        assert_eq!(t.previous_leader(), Some(1));
        t.observe(&lead, t0, Some(Duration::from_millis(700)));
        let c = t.observe(&view(3, Some(2), Role::Leader, Activity::Active), t0, None);
        assert_eq!(c.map(|(kind, _)| kind), Some(FailoverKind::Unplanned));
    }

    #[test]
    fn a_transfer_is_planned_and_timed_from_the_leadership_change() {
        let t0 = Instant::now();
        let mut t = Takeover::new(2, TIMEOUT, vec![1, 2]);
        t.observe(
            &view(1, Some(1), Role::Follower, Activity::Inactive),
            t0,
            None,
        );
        let lead = view(2, Some(2), Role::Leader, Activity::Inactive);
        t.observe(&lead, t0, Some(Duration::from_millis(5)));
        let c = t.observe(
            &view(2, Some(2), Role::Leader, Activity::Active),
            t0 + Duration::from_millis(320),
            None,
        );
        assert_eq!(c, Some((FailoverKind::Planned, Duration::from_millis(320))));
    }

    #[test]
    fn losing_the_leadership_before_active_counts_no_takeover() {
        let t0 = Instant::now();
        let mut t = Takeover::new(2, TIMEOUT, vec![1, 2]);
        t.observe(
            &view(1, Some(1), Role::Follower, Activity::Inactive),
            t0,
            None,
        );
        t.observe(
            &view(2, Some(2), Role::Leader, Activity::Inactive),
            t0,
            Some(Duration::from_secs(1)),
        );
        let c = t.observe(
            &view(3, Some(1), Role::Follower, Activity::Inactive),
            t0,
            None,
        );
        assert_eq!(c, None);
        assert_eq!(t.previous_leader(), Some(1));
    }
}
