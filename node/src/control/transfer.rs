//! The planned transfer of the active role (issue 6): the tunnel addresses
//! leave this node before the target may campaign.
//!
//! Contract: [`hand_over`] first removes this node's tunnel addresses
//! ([`HandOver::release`] returns once they are gone: from then on its
//! kernel answers no ARP request or Neighbor Solicitation for them, and no
//! claim decided earlier adds them back), and only then asks Raft to hand
//! leadership over ([`HandOver::transfer`]). raft-rs sends MsgTimeoutNow
//! inside that call (a caught-up target) or later, once the target caught
//! up, and the target campaigns only on it; it adds the addresses when it
//! becomes active. So the two nodes never hold an address at once, however
//! slow this node's `ip addr del` is under load (before, the old node
//! removed them after MsgTimeoutNow, racing the target's `ip addr replace`).
//!
//! Meanwhile this node is still the active one for a few milliseconds
//! (a caught-up target): the LAC and the core still send to its MAC; its
//! kernel forwards what is addressed to the tunnel address (queued until
//! the target announces it), its data plane still forwards the core's
//! traffic and sends from the removed address (IP_TRANSPARENT), and once
//! the lease is released the fence's drain (`LeaseFence::allows_forwarding`)
//! goes on as before.
//!
//! A transfer that does not happen gives the addresses back: if Raft
//! refuses it, or this node is still active in the same term
//! [`HandOver::abandon_after`] later (raft-rs gave up on a target that did
//! not catch up within an election timeout), the addresses are claimed
//! again ([`HandOver::reclaim_if_active_in`]) — only if this node held
//! them when the hand-over began (a leader refusing to serve, whose
//! configuration differs, never claims them).

use lns_cluster::{MemberId, ProposeError};
use std::future::Future;
use std::time::Duration;

/// What a hand-over acts on: this node's tunnel addresses and its Raft
/// member.
pub trait HandOver {
    /// Whether this node holds the addresses (or is claiming them).
    fn claimed(&self) -> bool;
    /// The current Raft term.
    fn term(&self) -> u64;
    /// Removes the addresses; returns once they are gone.
    fn release(&self);
    /// Asks the Raft member to hand leadership to `target`.
    fn transfer(&self, target: MemberId) -> impl Future<Output = Result<(), ProposeError>> + Send;
    /// Claims the addresses again if this node is still active in `term`;
    /// true if it does.
    fn reclaim_if_active_in(&self, term: u64) -> bool;
    /// How long a transfer may take before it counts as abandoned.
    fn abandon_after(&self) -> Duration;
}

/// What is left to do after [`hand_over`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aftercare {
    /// Nothing: this node held no address, or has claimed them again.
    Nothing,
    /// Call [`watch_abandoned`] (the transfer was accepted; the addresses
    /// come back if it never happens).
    WatchTerm(u64),
}

/// Hands the active role to `target`, the addresses first (see the module
/// contract).
pub async fn hand_over<H: HandOver>(h: &H, target: MemberId) -> Result<Aftercare, ProposeError> {
    let claimed = h.claimed();
    let term = h.term();
    // 1. The addresses go first: the target may campaign the moment the
    //    transfer call below sends MsgTimeoutNow.
    h.release();
    // 2. Only then may Raft hand over.
    match h.transfer(target).await {
        Ok(()) if claimed => Ok(Aftercare::WatchTerm(term)),
        Ok(()) => Ok(Aftercare::Nothing),
        Err(e) => {
            if claimed && h.reclaim_if_active_in(term) {
                tracing::warn!("leadership transfer refused ({e}): tunnel addresses claimed again");
            }
            Err(e)
        }
    }
}

/// After an accepted transfer: waits [`HandOver::abandon_after`], then
/// claims the addresses again if this node is still active in `term`.
pub async fn watch_abandoned<H: HandOver>(h: &H, term: u64) {
    tokio::time::sleep(h.abandon_after()).await;
    if h.reclaim_if_active_in(term) {
        tracing::warn!(
            term,
            "leadership transfer did not happen: still active, tunnel addresses claimed again"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Step {
        Release,
        Transfer(MemberId),
        Reclaim(u64),
    }

    /// Records the steps; the "kernel" holds the address until released,
    /// and a transfer asserts that it is gone when MsgTimeoutNow would
    /// leave.
    struct Fake {
        steps: Mutex<Vec<Step>>,
        holds: Mutex<bool>,
        refuse: bool,
        active_in: Option<u64>,
    }

    impl Fake {
        fn new(holds: bool, refuse: bool, active_in: Option<u64>) -> Fake {
            Fake {
                steps: Mutex::new(Vec::new()),
                holds: Mutex::new(holds),
                refuse,
                active_in,
            }
        }
        fn steps(&self) -> Vec<Step> {
            self.steps.lock().expect("not poisoned").clone()
        }
        fn push(&self, s: Step) {
            self.steps.lock().expect("not poisoned").push(s);
        }
    }

    impl HandOver for Fake {
        fn claimed(&self) -> bool {
            *self.holds.lock().expect("not poisoned")
        }
        fn term(&self) -> u64 {
            7
        }
        fn release(&self) {
            *self.holds.lock().expect("not poisoned") = false;
            self.push(Step::Release);
        }
        fn transfer(
            &self,
            target: MemberId,
        ) -> impl Future<Output = Result<(), ProposeError>> + Send {
            let still_held = *self.holds.lock().expect("not poisoned");
            self.push(Step::Transfer(target));
            let refuse = self.refuse;
            async move {
                assert!(
                    !still_held,
                    "MsgTimeoutNow may leave while this node still holds the address"
                );
                if refuse {
                    Err(ProposeError::NotLeader { leader: None })
                } else {
                    Ok(())
                }
            }
        }
        fn reclaim_if_active_in(&self, term: u64) -> bool {
            let active = self.active_in == Some(term);
            if active {
                *self.holds.lock().expect("not poisoned") = true;
                self.push(Step::Reclaim(term));
            }
            active
        }
        fn abandon_after(&self) -> Duration {
            Duration::from_secs(2)
        }
    }

    /// The planned-transfer race of issue 6: the old active node's
    /// addresses are gone before the transfer call that sends
    /// MsgTimeoutNow.
    #[tokio::test]
    async fn the_addresses_leave_before_the_target_may_campaign() {
        let h = Fake::new(true, false, Some(7));
        let after = hand_over(&h, 2).await.expect("accepted");
        assert_eq!(h.steps(), vec![Step::Release, Step::Transfer(2)]);
        assert_eq!(after, Aftercare::WatchTerm(7));
    }

    /// A refused transfer leaves the node active: it claims the addresses
    /// again at once.
    #[tokio::test]
    async fn a_refused_transfer_claims_the_addresses_again() {
        let h = Fake::new(true, true, Some(7));
        assert!(hand_over(&h, 2).await.is_err());
        assert_eq!(
            h.steps(),
            vec![Step::Release, Step::Transfer(2), Step::Reclaim(7)]
        );
        assert!(h.claimed());
    }

    /// A node that held nothing (a leader refusing to serve) claims
    /// nothing after a refused transfer, and has nothing to watch.
    #[tokio::test]
    async fn a_node_without_the_addresses_never_claims_them() {
        let refused = Fake::new(false, true, Some(7));
        assert!(hand_over(&refused, 2).await.is_err());
        assert_eq!(refused.steps(), vec![Step::Release, Step::Transfer(2)]);
        let accepted = Fake::new(false, false, Some(7));
        assert_eq!(hand_over(&accepted, 2).await, Ok(Aftercare::Nothing));
    }

    /// An accepted transfer that never happened (still active in the same
    /// term after the wait) gets the addresses back; one that happened
    /// (no longer active in that term) does not.
    #[tokio::test(start_paused = true)]
    async fn an_abandoned_transfer_gets_the_addresses_back_after_the_wait() {
        let stuck = Fake::new(true, false, Some(7));
        let Ok(Aftercare::WatchTerm(term)) = hand_over(&stuck, 2).await else {
            panic!("accepted, with a term to watch");
        };
        let started = tokio::time::Instant::now();
        watch_abandoned(&stuck, term).await;
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        assert_eq!(stuck.steps().last(), Some(&Step::Reclaim(7)));
        let moved = Fake::new(true, false, None);
        assert_eq!(hand_over(&moved, 2).await, Ok(Aftercare::WatchTerm(7)));
        watch_abandoned(&moved, 7).await;
        assert!(!moved.steps().contains(&Step::Reclaim(7)));
        assert!(!moved.claimed());
    }
}
