//! [`ClusterOps`] over the Raft member's [`ClusterHandle`]: what `lnsctl
//! cluster ...`, `lnsctl drill switchover` and the role part of `lnsctl
//! status` answer on a cluster member (issue 7 items 1-2, issue 6).
//!
//! Contract: members are named by their decimal id (`lnsctl cluster
//! transfer-leader 2`). Writes (transfer, add, remove, drill) run on the
//! active node only; a standby or the witness refuses them with
//! `NotActive` naming the active node's id and its cluster address (the
//! management address of another member is not known here). A membership
//! change the library refuses (two voters without a witness) reaches lnsctl
//! as FAILED_PRECONDITION with the library's reason. The pure mappings
//! ([`status_reply`], [`backend_error`], [`member_id`], [`node_view`]) are
//! unit tested below; the async methods only call the member.
//!
//! The drill gap is measured on the old active node: from the transfer
//! request to the first entry applied here after the target was seen
//! leading. Only an active node proposes, so that entry is the new active
//! node's first proposal (its `Rearm`): the gap includes the new leader's
//! lease wait, as a client sees it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lns_cluster::{
    Activity, ClusterStatus, Leadership, MemberId, Membership, MembershipChange, ProposeError, Role,
};

use super::backend::{BackendError, BackendResult};
use super::cluster_ops::{ClusterOps, NodeView, OpFuture};
use super::pb;
use crate::config::{ClusterRole, ClusterSection};
use crate::control::cluster::ClusterHandle;
use crate::replica::SharedReplica;

/// How long the drill waits for the target to lead and become active.
const DRILL_TIMEOUT: Duration = Duration::from_secs(10);
/// The status view is polled this often during a drill.
const DRILL_POLL: Duration = Duration::from_millis(10);

/// The cluster side of the management API of one member.
#[derive(Debug, Clone)]
pub struct ClusterBackend {
    handle: ClusterHandle,
    replica: SharedReplica,
    book: AddressBook,
}

/// What the configuration says about every member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressBook {
    /// This member.
    pub me: MemberId,
    /// This member is a witness (no L2TP, never active).
    pub witness_self: bool,
    /// Cluster address by member id.
    pub addresses: BTreeMap<MemberId, String>,
    /// Members configured as witnesses.
    pub witnesses: Vec<MemberId>,
}

impl AddressBook {
    /// The book of `section`.
    pub fn from_section(section: &ClusterSection) -> AddressBook {
        AddressBook {
            me: section.node_id,
            witness_self: section.role == ClusterRole::Witness,
            addresses: section
                .members
                .iter()
                .map(|m| (m.id, m.address.to_string()))
                .collect(),
            witnesses: section
                .members
                .iter()
                .filter(|m| m.role == ClusterRole::Witness)
                .map(|m| m.id)
                .collect(),
        }
    }

    fn address(&self, id: MemberId) -> String {
        self.addresses.get(&id).cloned().unwrap_or_default()
    }
}

impl ClusterBackend {
    /// The cluster operations of the member behind `handle`.
    pub fn new(
        handle: ClusterHandle,
        replica: SharedReplica,
        section: &ClusterSection,
    ) -> ClusterBackend {
        ClusterBackend {
            handle,
            replica,
            book: AddressBook::from_section(section),
        }
    }

    fn sessions(&self) -> u32 {
        let count = self.replica.lock().engine().sessions().count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    /// Refuses a write unless this node is the active one.
    fn must_be_active(&self) -> BackendResult<()> {
        let l = *self.handle.leadership().borrow();
        if l.activity == Activity::Active {
            return Ok(());
        }
        Err(not_active(l.leader, &self.book))
    }

    async fn transfer(&self, target: Option<String>) -> BackendResult<MemberId> {
        self.must_be_active()?;
        let target = target
            .filter(|t| !t.is_empty())
            .map(|t| member_id(&t))
            .transpose()?;
        if let Some(t) = target {
            if self.book.witnesses.contains(&t) {
                return Err(BackendError::InvalidArgument(format!(
                    "member {t} is a witness: it never becomes active"
                )));
            }
            if t == self.book.me {
                return Err(BackendError::InvalidArgument(format!(
                    "member {t} is this node, already active"
                )));
            }
        }
        self.handle
            .transfer_leader(target)
            .await
            .map_err(|e| backend_error(e, &self.book))
    }

    async fn drill(
        &self,
        request: pb::DrillSwitchoverRequest,
    ) -> BackendResult<pb::DrillSwitchoverReply> {
        self.must_be_active()?;
        let sessions_before = self.sessions();
        let before = self
            .handle
            .status()
            .await
            .map_err(|e| backend_error(e, &self.book))?;
        let started = Instant::now();
        let to = self.transfer(Some(request.target_node)).await?;
        // Wait until the target leads in a newer term, then until an entry
        // is applied past what was committed then (the new active node's
        // first proposal).
        let mut leading_at: Option<u64> = None;
        loop {
            if started.elapsed() > DRILL_TIMEOUT {
                return Err(BackendError::Unavailable(format!(
                    "member {to} did not become active within {}s",
                    DRILL_TIMEOUT.as_secs()
                )));
            }
            if let Ok(s) = self.handle.status().await {
                let led =
                    s.leadership.leader == Some(to) && s.leadership.term > before.leadership.term;
                match leading_at {
                    None if led => leading_at = Some(s.commit),
                    Some(mark) if s.applied > mark => break,
                    _ => {}
                }
            }
            tokio::time::sleep(DRILL_POLL).await;
        }
        let gap = started.elapsed();
        Ok(pb::DrillSwitchoverReply {
            from_node: self.book.me.to_string(),
            to_node: to.to_string(),
            gap_ms: u64::try_from(gap.as_millis()).unwrap_or(u64::MAX),
            sessions_before,
            sessions_after: self.sessions(),
            forwarded_to: String::new(),
        })
    }
}

impl ClusterOps for ClusterBackend {
    fn status(&self) -> OpFuture<'_, pb::ClusterStatusReply> {
        Box::pin(async move {
            let s = self
                .handle
                .status()
                .await
                .map_err(|e| backend_error(e, &self.book))?;
            Ok(status_reply(&s, &self.book))
        })
    }

    fn transfer_leader(&self, target: Option<String>) -> OpFuture<'_, pb::WriteOutcome> {
        Box::pin(async move {
            let to = self.transfer(target).await?;
            Ok(pb::WriteOutcome {
                affected: 1,
                forwarded_to: String::new(),
                message: format!("leadership handed to member {to}"),
            })
        })
    }

    fn add_member(&self, change: pb::MemberChange) -> OpFuture<'_, pb::WriteOutcome> {
        Box::pin(async move {
            self.must_be_active()?;
            let id = member_id(&change.node)?;
            let status = self
                .handle
                .status()
                .await
                .map_err(|e| backend_error(e, &self.book))?;
            let current = status
                .members
                .iter()
                .find(|m| m.id == id)
                .map(|m| m.membership);
            let address = Some(change.address)
                .filter(|a| !a.is_empty())
                .or_else(|| self.book.addresses.get(&id).cloned())
                .ok_or_else(|| {
                    BackendError::InvalidArgument(format!(
                        "member {id} is not in [[cluster.members]]: give its cluster ADDRESS \
                         (lnsctl cluster add {id} HOST:PORT)"
                    ))
                })?;
            if !change.learner && current == Some(Membership::Learner) {
                // A promotion: refused while the learner lags far behind.
                let matched = status
                    .members
                    .iter()
                    .find(|m| m.id == id)
                    .and_then(|m| m.match_index);
                super::promote_guard::check(id, status.commit, matched, change.force.into())?;
            }
            let (change, done) = membership_change(id, address, change.learner, current)?;
            self.handle
                .member()
                .change_membership(change)
                .await
                .map_err(|e| backend_error(e, &self.book))?;
            Ok(pb::WriteOutcome {
                affected: 1,
                forwarded_to: String::new(),
                message: done,
            })
        })
    }

    fn remove_member(&self, change: pb::MemberChange) -> OpFuture<'_, pb::WriteOutcome> {
        Box::pin(async move {
            self.must_be_active()?;
            let id = member_id(&change.node)?;
            self.handle
                .member()
                .change_membership(MembershipChange::Remove { id })
                .await
                .map_err(|e| backend_error(e, &self.book))?;
            Ok(pb::WriteOutcome {
                affected: 1,
                forwarded_to: String::new(),
                message: format!("member {id} removed"),
            })
        })
    }

    fn drill_switchover(
        &self,
        request: pb::DrillSwitchoverRequest,
    ) -> OpFuture<'_, pb::DrillSwitchoverReply> {
        Box::pin(self.drill(request))
    }

    fn node_view(&self) -> NodeView {
        node_view(&self.handle.leadership().borrow(), &self.book)
    }
}

/// The `lnsctl cluster status` reply for `s`.
pub fn status_reply(s: &ClusterStatus, book: &AddressBook) -> pb::ClusterStatusReply {
    let now = s
        .members
        .iter()
        .find(|m| m.id == s.id)
        .and_then(|m| m.last_contact)
        .unwrap_or(0);
    let members = s
        .members
        .iter()
        .map(|m| pb::ClusterMember {
            id: m.id,
            name: m.id.to_string(),
            address: book.address(m.id),
            role: member_role(m.id, &s.leadership, book) as i32,
            match_index: m.match_index.unwrap_or(0),
            lag_entries: m.lag.unwrap_or(0),
            last_contact_ms: if m.id == s.id {
                0
            } else {
                // Never heard from: as old as our clock.
                now.saturating_sub(m.last_contact.unwrap_or(0)) / 1000
            },
            learner: m.membership == Membership::Learner,
        })
        .collect();
    pb::ClusterStatusReply {
        term: s.leadership.term,
        commit_index: s.commit,
        members,
    }
}

/// Role, term and active node of this member (`lnsctl status`).
pub fn node_view(l: &Leadership, book: &AddressBook) -> NodeView {
    let role = if book.witness_self {
        pb::Role::Witness
    } else {
        match (l.activity, l.role) {
            (Activity::Active, _) => pb::Role::Active,
            (Activity::Inactive, Role::Candidate | Role::PreCandidate) => pb::Role::Candidate,
            (Activity::Inactive, _) => pb::Role::Standby,
        }
    };
    NodeView {
        role,
        term: l.term,
        active_node: l.leader.map(|id| id.to_string()).unwrap_or_default(),
        active_address: l.leader.map(|id| book.address(id)).unwrap_or_default(),
    }
}

/// The membership change `lnsctl cluster add|promote` asks for, given the
/// member's `current` membership, and what to tell the operator once done.
/// Adding an existing learner as a voter promotes it; anything that would
/// change nothing (or demote a voter) is refused with what to do instead.
pub fn membership_change(
    id: MemberId,
    address: String,
    learner: bool,
    current: Option<Membership>,
) -> BackendResult<(MembershipChange, String)> {
    match (learner, current) {
        (true, None) => Ok((
            MembershipChange::AddLearner { id, address },
            format!(
                "member {id} added as a learner: it receives the log but does not vote; \
                 once `lnsctl cluster status` shows its lag near 0, run `lnsctl cluster \
                 promote {id}`"
            ),
        )),
        (false, None) => Ok((
            MembershipChange::AddVoter { id, address },
            format!("member {id} added as a voter"),
        )),
        (false, Some(Membership::Learner)) => Ok((
            MembershipChange::AddVoter { id, address },
            format!("member {id} promoted from learner to voter"),
        )),
        (true, Some(Membership::Learner)) => Err(BackendError::Precondition(format!(
            "member {id} is already a learner: promote it with `lnsctl cluster promote {id}`"
        ))),
        (_, Some(Membership::Voter)) => Err(BackendError::Precondition(format!(
            "member {id} is already a voter: to replace it, `lnsctl cluster remove {id}` first"
        ))),
    }
}

/// A member named on the command line (its decimal id).
pub fn member_id(name: &str) -> BackendResult<MemberId> {
    match name.trim().parse::<MemberId>() {
        Ok(id) if id != 0 => Ok(id),
        _ => Err(BackendError::InvalidArgument(format!(
            "{name:?} is not a member id (a number from [[cluster.members]])"
        ))),
    }
}

/// What the operator is told when the member refuses.
pub fn backend_error(e: ProposeError, book: &AddressBook) -> BackendError {
    match e {
        ProposeError::NotLeader { leader } => not_active(leader, book),
        ProposeError::MembershipRefused(r) => {
            BackendError::Precondition(format!("membership change refused: {r}"))
        }
        ProposeError::Dropped | ProposeError::TimedOut | ProposeError::Stopped => {
            BackendError::Unavailable(e.to_string())
        }
        ProposeError::Storage(_) => BackendError::Unavailable(e.to_string()),
    }
}

fn not_active(leader: Option<MemberId>, book: &AddressBook) -> BackendError {
    match leader {
        Some(id) if id != book.me => BackendError::NotActive {
            active_node: id.to_string(),
            active_address: book.address(id),
        },
        _ => BackendError::Unavailable("no active node right now (election running): retry".into()),
    }
}

fn member_role(id: MemberId, l: &Leadership, book: &AddressBook) -> pb::Role {
    if book.witnesses.contains(&id) {
        pb::Role::Witness
    } else if l.leader == Some(id) {
        pb::Role::Active
    } else {
        pb::Role::Standby
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lns_cluster::{MemberStatus, MembershipRefusal};

    fn book() -> AddressBook {
        AddressBook {
            me: 1,
            witness_self: false,
            addresses: [
                (1, "198.18.0.1:7000"),
                (2, "198.18.0.2:7000"),
                (3, "198.18.0.3:7000"),
            ]
            .into_iter()
            .map(|(i, a)| (i, a.to_string()))
            .collect(),
            witnesses: vec![3],
        }
    }

    fn leadership(leader: Option<MemberId>, role: Role, activity: Activity) -> Leadership {
        Leadership {
            term: 7,
            leader,
            role,
            activity,
        }
    }

    fn member(id: MemberId, matched: Option<u64>, contact: Option<u64>) -> MemberStatus {
        MemberStatus {
            id,
            membership: Membership::Voter,
            match_index: matched,
            lag: matched.map(|m| 50 - m),
            last_contact: contact,
        }
    }

    #[test]
    fn status_lists_every_member_with_role_lag_and_contact_age() {
        let s = ClusterStatus {
            id: 1,
            leadership: leadership(Some(1), Role::Leader, Activity::Active),
            commit: 48,
            applied: 48,
            last_index: 50,
            snapshot_index: 0,
            members: vec![
                member(1, Some(50), Some(9_000_000)),
                member(2, Some(45), Some(8_750_000)),
                member(3, Some(50), None),
            ],
        };
        let r = status_reply(&s, &book());
        assert_eq!(r.term, 7);
        assert_eq!(r.commit_index, 48);
        let roles: Vec<_> = r.members.iter().map(|m| (m.id, m.role)).collect();
        assert_eq!(
            roles,
            vec![
                (1, pb::Role::Active as i32),
                (2, pb::Role::Standby as i32),
                (3, pb::Role::Witness as i32)
            ]
        );
        assert_eq!(r.members[1].lag_entries, 5);
        assert_eq!(r.members[1].match_index, 45);
        assert_eq!(r.members[1].last_contact_ms, 250);
        assert_eq!(r.members[1].address, "198.18.0.2:7000");
        assert_eq!(r.members[0].last_contact_ms, 0);
        assert_eq!(r.members[2].last_contact_ms, 9_000);
        assert!(!r.members[1].learner);
        let mut learning = s.clone();
        learning.members[1].membership = Membership::Learner;
        assert!(status_reply(&learning, &book()).members[1].learner);
    }

    #[test]
    fn node_view_names_the_role_and_the_active_node() {
        let b = book();
        let active = node_view(&leadership(Some(1), Role::Leader, Activity::Active), &b);
        assert_eq!(active.role, pb::Role::Active);
        assert_eq!(active.active_node, "1");
        let standby = node_view(&leadership(Some(2), Role::Follower, Activity::Inactive), &b);
        assert_eq!(standby.role, pb::Role::Standby);
        assert_eq!(standby.active_address, "198.18.0.2:7000");
        assert_eq!(standby.term, 7);
        // A leader still waiting out the lease is not active yet.
        let waiting = node_view(&leadership(Some(1), Role::Leader, Activity::Inactive), &b);
        assert_eq!(waiting.role, pb::Role::Standby);
        let electing = node_view(&leadership(None, Role::Candidate, Activity::Inactive), &b);
        assert_eq!(electing.role, pb::Role::Candidate);
        assert_eq!(electing.active_node, "");
        let w = AddressBook {
            me: 3,
            witness_self: true,
            ..b
        };
        let witness = node_view(&leadership(Some(1), Role::Follower, Activity::Inactive), &w);
        assert_eq!(witness.role, pb::Role::Witness);
    }

    #[test]
    fn not_leader_becomes_not_active_with_the_leaders_address() {
        let e = backend_error(ProposeError::NotLeader { leader: Some(2) }, &book());
        assert_eq!(
            e,
            BackendError::NotActive {
                active_node: "2".into(),
                active_address: "198.18.0.2:7000".into()
            }
        );
        let e = backend_error(ProposeError::NotLeader { leader: None }, &book());
        assert!(matches!(e, BackendError::Unavailable(_)), "{e:?}");
    }

    #[test]
    fn the_two_voter_refusal_keeps_its_reason() {
        let refusal = MembershipRefusal::TwoVotersNeedWitness { voters: vec![1, 2] };
        let e = backend_error(ProposeError::MembershipRefused(refusal), &book());
        let BackendError::Precondition(msg) = e else {
            panic!("expected a precondition, got {e:?}");
        };
        assert!(msg.contains("add a witness"), "{msg}");
        let e = backend_error(ProposeError::TimedOut, &book());
        assert!(matches!(e, BackendError::Unavailable(_)), "{e:?}");
    }

    #[test]
    fn add_adds_a_learner_or_a_voter_and_promotes_a_learner() {
        let addr = || "198.18.0.2:7000".to_string();
        let (c, m) = membership_change(2, addr(), true, None).expect("new learner");
        assert_eq!(
            c,
            MembershipChange::AddLearner {
                id: 2,
                address: addr()
            }
        );
        assert!(m.contains("cluster promote 2"), "{m}");
        let (c, _) = membership_change(2, addr(), false, None).expect("new voter");
        assert_eq!(
            c,
            MembershipChange::AddVoter {
                id: 2,
                address: addr()
            }
        );
        let (c, m) =
            membership_change(2, addr(), false, Some(Membership::Learner)).expect("promotion");
        assert_eq!(
            c,
            MembershipChange::AddVoter {
                id: 2,
                address: addr()
            }
        );
        assert!(m.contains("promoted"), "{m}");
        let e = membership_change(2, addr(), true, Some(Membership::Learner)).expect_err("again");
        assert!(
            matches!(e, BackendError::Precondition(ref m) if m.contains("promote")),
            "{e:?}"
        );
        let e = membership_change(2, addr(), true, Some(Membership::Voter)).expect_err("demote");
        assert!(
            matches!(e, BackendError::Precondition(ref m) if m.contains("remove")),
            "{e:?}"
        );
    }

    #[test]
    fn members_are_named_by_nonzero_decimal_id() {
        assert_eq!(member_id("2"), Ok(2));
        assert_eq!(member_id(" 12 "), Ok(12));
        assert!(matches!(
            member_id("0"),
            Err(BackendError::InvalidArgument(_))
        ));
        assert!(matches!(
            member_id("lns-b"),
            Err(BackendError::InvalidArgument(_))
        ));
    }
}
