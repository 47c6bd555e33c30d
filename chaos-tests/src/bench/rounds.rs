//! Combining several rounds of the same benchmark into one figure.
//!
//! Contract: [`median`] is the middle of the measured values (the mean of
//! the two middle ones for an even count), ignoring rounds where the figure
//! was unavailable; `None` when no round measured it. Pure.
//!
//! Why rounds: on this shared 2-core VM one forward ceiling search of the
//! same LNS moves by ±15 % from one run to the next (l2tpns's up-64 went
//! from 148k to 262k pps between runs of one session), as much as the
//! difference being measured. `bench forward --rounds N` alternates the
//! two LNSs N times, each round on fresh beds, and reports each figure's
//! median, so one lucky or unlucky search on either side decides nothing.
//! Every round's figures are printed too.

/// The median of the values that were measured.
pub fn median(values: &[Option<f64>]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().flatten().copied().collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn odd_count_takes_the_middle_value() {
        assert_eq!(median(&[Some(3.0), Some(1.0), Some(2.0)]), Some(2.0));
        assert_eq!(
            median(&[Some(262.0), Some(148.0), Some(205.0)]),
            Some(205.0)
        );
    }

    #[test]
    fn even_count_takes_the_mean_of_the_middle_two() {
        assert_eq!(
            median(&[Some(4.0), Some(1.0), Some(3.0), Some(2.0)]),
            Some(2.5)
        );
    }

    #[test]
    fn unmeasured_rounds_are_ignored() {
        assert_eq!(median(&[None, Some(7.0), None]), Some(7.0));
        assert_eq!(median(&[Some(1.0), None, Some(5.0)]), Some(3.0));
        assert_eq!(median(&[None, None]), None);
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn one_outlier_does_not_move_the_median() {
        let calm = median(&[Some(250.0), Some(252.0), Some(248.0)]);
        let stalled = median(&[Some(250.0), Some(120.0), Some(248.0)]);
        assert_eq!(calm, Some(250.0));
        assert_eq!(stalled, Some(248.0));
    }
}
