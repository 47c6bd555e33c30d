//! The guard on `lnsctl cluster promote` of a learner that lags.
//!
//! Contract: a learner becomes a voter only when its log is close to the
//! leader's: its match index (what the leader knows it holds) at most
//! [`PROMOTE_MAX_LAG`] entries behind the leader's commit index. A voter
//! that is far behind counts in every quorum from the moment it is
//! promoted yet cannot acknowledge new entries until it caught up, so in a
//! small cluster one more slow voter can stall commits, or lose the quorum
//! if another member fails meanwhile. [`check`] refuses such a promotion
//! with the lag and what to do (wait for `lnsctl cluster status` to show
//! the lag near 0, or `--force`); `--force` skips the guard.

use lns_cluster::MemberId;

use super::backend::{BackendError, BackendResult};

/// Most entries a learner may lag behind the leader's commit index and
/// still be promoted without `--force`.
pub const PROMOTE_MAX_LAG: u64 = 1_000;

/// Whether the operator asked to skip the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Force {
    /// Refuse a promotion of a lagging learner.
    No,
    /// Promote whatever the lag (`--force`).
    Yes,
}

impl From<bool> for Force {
    fn from(force: bool) -> Force {
        match force {
            true => Force::Yes,
            false => Force::No,
        }
    }
}

/// Whether learner `id`, whose replicated log the leader knows up to
/// `match_index` (`None`: it has not answered the leader yet), may be
/// promoted while the leader's commit index is `commit`.
pub fn check(
    id: MemberId,
    commit: u64,
    match_index: Option<u64>,
    force: Force,
) -> BackendResult<()> {
    if force == Force::Yes {
        return Ok(());
    }
    let Some(matched) = match_index else {
        return Err(BackendError::Precondition(format!(
            "learner {id} has not answered the leader yet, so how far behind it is is \
             unknown: check that it runs (`lnsctl cluster status` shows its last contact), \
             wait until its lag is near 0, or promote anyway with `lnsctl cluster promote \
             {id} --force`"
        )));
    };
    let lag = commit.saturating_sub(matched);
    if lag > PROMOTE_MAX_LAG {
        return Err(BackendError::Precondition(format!(
            "learner {id} lags {lag} entries behind the leader's commit index {commit} \
             (its match index is {matched}; at most {PROMOTE_MAX_LAG} allowed): as a voter \
             it would count in every quorum before it can vote; wait until `lnsctl cluster \
             status` shows its lag near 0 and promote again, or promote anyway with \
             `lnsctl cluster promote {id} --force`"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(r: BackendResult<()>) -> String {
        match r {
            Err(BackendError::Precondition(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_learner_close_to_the_commit_index_is_promoted() {
        assert_eq!(check(3, 5_000, Some(5_000), Force::No), Ok(()));
        assert_eq!(
            check(3, 5_000, Some(5_000 - PROMOTE_MAX_LAG), Force::No),
            Ok(())
        );
        // A match index ahead of our commit (entries not yet committed).
        assert_eq!(check(3, 5_000, Some(5_010), Force::No), Ok(()));
    }

    #[test]
    fn a_lagging_learner_is_refused_with_the_lag_and_what_to_do() {
        let m = refusal(check(3, 50_000, Some(1_200), Force::No));
        assert!(m.contains("lags 48800 entries"), "{m}");
        assert!(m.contains("commit index 50000"), "{m}");
        assert!(m.contains("match index is 1200"), "{m}");
        assert!(m.contains("wait until"), "{m}");
        assert!(m.contains("lnsctl cluster promote 3 --force"), "{m}");
        let just_over = check(3, 5_000, Some(5_000 - PROMOTE_MAX_LAG - 1), Force::No);
        assert!(just_over.is_err());
    }

    #[test]
    fn a_learner_never_heard_from_is_refused() {
        let m = refusal(check(4, 10, None, Force::No));
        assert!(m.contains("has not answered the leader"), "{m}");
        assert!(m.contains("--force"), "{m}");
    }

    #[test]
    fn force_skips_the_guard() {
        assert_eq!(check(3, 50_000, Some(0), Force::Yes), Ok(()));
        assert_eq!(check(3, 50_000, None, Force::from(true)), Ok(()));
    }
}
