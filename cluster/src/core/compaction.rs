//! When a member compacts its log: on a grid of `compact_after` applied
//! entries, shifted per member so that the members of a cluster do not
//! compact at the same moment.
//!
//! Contract: [`next_compaction`] is a pure function of the snapshot index,
//! `compact_after` and the member id. The returned index is always more
//! than `compact_after / 2` and at most `compact_after * 3 / 2` past the
//! snapshot (so the log stays bounded as configured), and once a member
//! has compacted on its grid, the next point is exactly `compact_after`
//! further on. Members with different ids sit on grids shifted by about
//! 0.62 x `compact_after` from each other (id times the golden ratio).
//!
//! Why: every member used to compact at `snapshot + compact_after`, so all
//! three reached the same index together and dropped ~10 000 entries and
//! fsynced a snapshot file in the same few milliseconds. A leader needs
//! one follower's acknowledgement to commit: with both followers busy
//! compacting at once, every proposal in flight waited (the last ~6 ms of
//! the p99 at 1 024 in flight, docs/benchmarks.md, session 6).

use crate::config::MemberId;

/// The applied index at which the member `id`, whose latest snapshot is at
/// `snap_index`, takes its next snapshot.
pub(crate) fn next_compaction(snap_index: u64, compact_after: u64, id: MemberId) -> u64 {
    let every = compact_after.max(1);
    // id x 0.618034 of a period, in integers (no float rounding).
    let phase =
        ((u128::from(id) * u128::from(every) * 618_034 / 1_000_000) % u128::from(every)) as u64;
    let earliest = snap_index.saturating_add(every / 2).saturating_add(1);
    // The first index at or after `earliest` with (index + phase) % every == 0.
    let rem = (earliest % every + phase) % every;
    if rem == 0 {
        earliest
    } else {
        earliest.saturating_add(every - rem)
    }
}

#[cfg(test)]
mod tests {
    use super::next_compaction;

    #[test]
    fn stays_within_half_and_one_and_a_half_periods() {
        for every in [1, 2, 3, 7, 40, 99, 10_000] {
            for id in 1..=5 {
                for snap in (0..3 * every).chain([123_456_789]) {
                    let next = next_compaction(snap, every, id);
                    assert!(
                        next > snap + every / 2,
                        "every {every} id {id} snap {snap}: {next}"
                    );
                    assert!(
                        next <= snap + every / 2 + every,
                        "every {every} id {id} snap {snap}: {next}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_member_on_its_grid_compacts_every_period() {
        let every = 10_000;
        for id in 1..=3 {
            let first = next_compaction(0, every, id);
            // Applied may overshoot the due point by a batch of entries.
            for overshoot in [0, 1, 900, every / 2 - 1] {
                assert_eq!(next_compaction(first + overshoot, every, id), first + every);
            }
        }
    }

    #[test]
    fn three_members_compact_far_apart() {
        let every = 10_000;
        let points: Vec<u64> = (1..=3)
            .map(|id| next_compaction(50_000, every, id) % every)
            .collect();
        for (i, a) in points.iter().enumerate() {
            for b in &points[i + 1..] {
                let gap = a.abs_diff(*b).min(every - a.abs_diff(*b));
                // Golden-ratio spacing: no two of three closer than ~0.23 period.
                assert!(gap >= every / 5, "points {points:?}");
            }
        }
    }

    #[test]
    fn compacting_after_every_entry_is_still_possible() {
        assert_eq!(next_compaction(0, 1, 7), 1);
        assert_eq!(next_compaction(41, 1, 2), 42);
    }
}
