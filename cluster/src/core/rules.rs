//! The rules a member applies on top of raft-rs, each a small check run
//! from [`MemberCore::flush`] or before a proposal: a witness hands its
//! leadership over, a failed planned transfer is abandoned, a leader that
//! lost its quorum steps down within one election timeout, and a membership
//! change that would break automatic failover is refused.
//!
//! Contract: pure functions of the member's state and its clock; no IO.

use raft::StateRole;

use super::{MemberCore, MembershipChange, MembershipRefusal, ProposeError, StateMachine};
use crate::config::{FailoverMode, MemberId, MemberKind};
use crate::lease::Micros;

impl<S: StateMachine> MemberCore<S> {
    /// A leader that released its lease and is still leading an election
    /// timeout later (the transfer failed) steps down, so that a normal
    /// election, with the full lease wait, elects someone who can be active.
    pub(super) fn abandon_failed_transfer(&mut self) {
        let r = &self.raw.raft;
        let Some((term, at)) = self.released else {
            return;
        };
        if r.state == StateRole::Leader && r.term == term && self.now >= at + self.election_timeout
        {
            tracing::warn!(
                term,
                "leadership transfer failed after releasing the lease: stepping down"
            );
            self.raw.raft.become_follower(term, raft::INVALID_ID);
        }
    }

    /// A leader that has not heard from a quorum for one (minimum)
    /// election timeout becomes a follower at once. raft-rs's check_quorum
    /// only looks every election timeout, so a cut-off leader could keep
    /// the role for up to two; the lease echoes say exactly when the quorum
    /// went silent. It stopped being active `lease` after that instant
    /// already; stepping down also stops it accepting proposals.
    pub(super) fn step_down_without_quorum(&mut self) {
        let r = &self.raw.raft;
        if r.state != StateRole::Leader || self.leading_term != Some(r.term) {
            return;
        }
        let cs = r.prs().conf().to_conf_state();
        let Some(contact) = self
            .lease
            .quorum_contact(self.id, &[&cs.voters, &cs.voters_outgoing])
        else {
            return;
        };
        if contact != Micros::MAX && self.now >= contact.saturating_add(self.election_timeout) {
            let term = r.term;
            tracing::warn!(
                term,
                silent_us = self.now - contact,
                "no quorum heard for an election timeout: stepping down"
            );
            // Raft thesis (Ongaro 2014) §6.2: a leader steps down when an
            // election timeout passes without a round with a majority.
            self.raw.raft.become_follower(term, raft::INVALID_ID);
        }
    }

    /// In `FailoverMode::Automatic`, refuses a change after which the
    /// voters would be exactly two eligible members: the start-up rule of
    /// `ClusterConfig::validate`, applied to the configuration the change
    /// would produce.
    pub(super) fn check_failover_keeps_working(
        &self,
        change: &MembershipChange,
    ) -> Result<(), ProposeError> {
        if self.failover != FailoverMode::Automatic {
            return Ok(());
        }
        let mut voters: std::collections::BTreeSet<MemberId> =
            self.raw.raft.prs().conf().voters().ids().iter().collect();
        match change {
            MembershipChange::AddVoter { id, .. } => {
                voters.insert(*id);
            }
            // A voter added as a learner is demoted.
            MembershipChange::AddLearner { id, .. } | MembershipChange::Remove { id } => {
                voters.remove(id);
            }
        }
        let witnesses = voters
            .iter()
            .filter(|id| self.kinds.get(id).copied() == Some(MemberKind::Witness))
            .count();
        if voters.len() == 2 && witnesses == 0 {
            return Err(ProposeError::MembershipRefused(
                MembershipRefusal::TwoVotersNeedWitness {
                    voters: voters.into_iter().collect(),
                },
            ));
        }
        Ok(())
    }

    /// A witness that leads hands leadership to the eligible voter that is
    /// furthest along, at once (re-tried while it still leads).
    pub(super) fn witness_hand_off(&mut self) {
        let r = &self.raw.raft;
        let Some(since) = self.leading_since else {
            return;
        };
        if self.kind != MemberKind::Witness
            || r.state != StateRole::Leader
            || r.lead_transferee.is_some()
        {
            return;
        }
        let target = r
            .prs()
            .conf()
            .voters()
            .ids()
            .iter()
            .filter(|id| *id != self.id)
            .filter(|id| self.kinds.get(id).copied() != Some(MemberKind::Witness))
            // Only a member heard from since our election: a transfer to a
            // dead member would stall until raft-rs aborts it.
            .filter(|id| self.last_contact.get(id).is_some_and(|t| *t >= since))
            .filter_map(|id| r.prs().get(id).map(|p| (p.matched, id)))
            .max();
        if let Some((_, id)) = target {
            tracing::info!(target = id, "witness elected: handing leadership over");
            self.raw.transfer_leader(id);
        }
    }
}
