//! Finding an LNS's forwarding ceiling: offered load stepped up until the
//! delivered rate stops growing or loss passes a threshold.
//!
//! Contract: [`Search`] is a pure decision procedure. The caller runs one
//! step at [`Search::rate`], reports what the generator sent and what the
//! far side received with [`Search::record`], and stops when it answers
//! [`Next::Done`]. [`Search::ceiling`] is the throughput in the sense of
//! RFC 2544 §26.1 (the highest rate forwarded without loss), with the
//! search's loss threshold as tolerance: the step with the highest
//! delivered rate among those that lost no more than the threshold.
//! [`Search::peak`] is the most any step delivered, lossy ones included
//! (what an overloaded LNS still pushes through). Once a step loses more
//! than the threshold after one
//! that did not, the search narrows the bracket between the two by
//! geometric bisection (at most [`REFINE_STEPS`] steps), so the ceiling's
//! resolution is finer than one growth factor. A lossy step is run a
//! second time at the same rate before it counts as lossy ([`CONFIRM`]):
//! one stall of the machine (a neighbour's interrupt, the scheduler giving
//! other work its share) can lose a few thousand packets in a 2 s window,
//! and before this a single such stall ended the search below the LNS's
//! ceiling. Both tries are kept as steps. The search also stops when the generator itself cannot
//! send the offered rate ([`Stop::GeneratorBound`]): the figure is then a
//! lower bound of the LNS's ceiling and the caller must say so.

/// Bisection steps after the first lossy step.
pub const REFINE_STEPS: usize = 2;
/// Tries of a rate before its loss counts: a lossy step is repeated once.
pub const CONFIRM: usize = 2;

/// One measured step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The rate asked of the generator (packets/s).
    pub offered: f64,
    /// What the generator actually sent (packets/s).
    pub sent: f64,
    /// What reached the far side (packets/s).
    pub delivered: f64,
    /// The LNS's CPU time per delivered packet (µs), if measured.
    pub cpu_us_per_packet: Option<f64>,
}

impl Step {
    /// Fraction of the sent packets that did not arrive (0 when none sent).
    pub fn loss(&self) -> f64 {
        if self.sent > 0.0 {
            (1.0 - self.delivered / self.sent).max(0.0)
        } else {
            0.0
        }
    }
}

/// Why the search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Loss above the threshold.
    Loss,
    /// Delivered rate no longer grew.
    Plateau,
    /// The generator could not send the offered rate.
    GeneratorBound,
    /// The step budget ran out.
    Steps,
}

/// What to do after a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Run another step at this rate.
    Rate(f64),
    /// Stop.
    Done(Stop),
}

/// The state of one ceiling search.
#[derive(Debug, Clone)]
pub struct Search {
    rate: f64,
    growth: f64,
    max_loss: f64,
    min_gain: f64,
    max_steps: usize,
    steps: Vec<Step>,
    /// Highest offered rate without excess loss, lowest with.
    bracket: (Option<f64>, Option<f64>),
    refined: usize,
    /// Lossy tries so far of the current rate.
    lossy_tries: usize,
}

impl Search {
    /// Starts at `start` packets/s, multiplying by `growth` each step;
    /// stops at `max_loss` loss (0.01: 1 %), when a step delivers less than
    /// 3 % more than the best so far, or after 16 steps.
    pub fn new(start: f64, growth: f64, max_loss: f64) -> Search {
        Search {
            rate: start.max(1.0),
            growth: growth.max(1.01),
            max_loss,
            min_gain: 0.03,
            max_steps: 16,
            steps: Vec::new(),
            bracket: (None, None),
            refined: 0,
            lossy_tries: 0,
        }
    }

    /// The rate of the next step.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Every step so far.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Records a step and says what comes next.
    pub fn record(&mut self, step: Step) -> Next {
        // Other tries of this same rate do not count as "before".
        let best = self.best_delivered_below(step.offered);
        self.steps.push(step);
        let lossy = step.loss() > self.max_loss;
        if self.steps.len() >= self.max_steps {
            return Next::Done(Stop::Steps);
        }
        if lossy {
            self.lossy_tries += 1;
            if self.lossy_tries < CONFIRM {
                // Once more at the same rate before the loss counts.
                return Next::Rate(self.rate);
            }
        }
        self.lossy_tries = 0;
        let (ok, bad) = &mut self.bracket;
        if lossy {
            *bad = Some(bad.map_or(step.offered, |b: f64| b.min(step.offered)));
        } else {
            *ok = Some(ok.map_or(step.offered, |o: f64| o.max(step.offered)));
        }
        if let (Some(ok), Some(bad)) = self.bracket {
            // Bisecting: between the best clean rate and the first lossy one.
            if self.refined >= REFINE_STEPS || bad <= ok * 1.05 {
                return Next::Done(if lossy { Stop::Loss } else { Stop::Plateau });
            }
            self.refined += 1;
            self.rate = (ok * bad).sqrt();
            return Next::Rate(self.rate);
        }
        if lossy {
            return Next::Done(Stop::Loss);
        }
        if self.steps.len() > 1 && step.delivered < best * (1.0 + self.min_gain) {
            return Next::Done(Stop::Plateau);
        }
        if step.sent < step.offered * 0.9 {
            return Next::Done(Stop::GeneratorBound);
        }
        self.rate = step.offered * self.growth;
        Next::Rate(self.rate)
    }

    /// The throughput: the step that delivered the most among those that
    /// lost no more than the threshold (`None` if every step lost more).
    /// Until session 8 the figure was [`Search::peak`]; under overload,
    /// what an LNS still delivers swung by 20 % between two tries of the
    /// same rate, and the luckiest try decided the figure.
    pub fn ceiling(&self) -> Option<Step> {
        self.best(|s| s.loss() <= self.max_loss)
    }

    /// The step that delivered the most, lossy or not.
    pub fn peak(&self) -> Option<Step> {
        self.best(|_| true)
    }

    /// The step that delivered the most among those `counts` keeps.
    fn best(&self, counts: impl Fn(&Step) -> bool) -> Option<Step> {
        self.steps
            .iter()
            .copied()
            .filter(|s| counts(s))
            .max_by(|a, b| a.delivered.total_cmp(&b.delivered))
    }

    fn best_delivered_below(&self, offered: f64) -> f64 {
        self.steps
            .iter()
            .filter(|s| s.offered < offered)
            .map(|s| s.delivered)
            .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(offered: f64, sent: f64, delivered: f64) -> Step {
        Step {
            offered,
            sent,
            delivered,
            cpu_us_per_packet: None,
        }
    }

    #[test]
    fn grows_until_the_delivered_rate_plateaus() {
        let mut s = Search::new(1000.0, 2.0, 0.01);
        assert_eq!(s.rate(), 1000.0);
        assert_eq!(s.record(step(1000.0, 1000.0, 1000.0)), Next::Rate(2000.0));
        assert_eq!(s.record(step(2000.0, 2000.0, 1995.0)), Next::Rate(4000.0));
        // 4000 offered, only 2010 delivered: too lossy; tried once more.
        assert_eq!(s.record(step(4000.0, 4000.0, 2010.0)), Next::Rate(4000.0));
        // Lossy again: confirmed; bisect 2000..4000.
        let Next::Rate(r) = s.record(step(4000.0, 4000.0, 2020.0)) else {
            panic!("refines");
        };
        assert!((r - 2828.4).abs() < 0.1, "{r}");
        // Lossy twice at 2828: between 2000 and 2828.
        assert_eq!(s.record(step(r, r, 2500.0)), Next::Rate(r));
        let Next::Rate(r) = s.record(step(r, r, 2490.0)) else {
            panic!("refines");
        };
        assert!((r - 2378.4).abs() < 0.1, "{r}");
        // Two refinements done: stop. The ceiling is the best delivery
        // within the loss threshold (2378 delivered of 2378 sent), the
        // peak the best of any step (2500, from a step that lost 12 %).
        assert_eq!(s.record(step(r, r, r)), Next::Done(Stop::Plateau));
        assert_eq!(s.ceiling().map(|c| c.delivered), Some(r));
        assert_eq!(s.peak().map(|c| c.delivered), Some(2500.0));
        assert_eq!(s.steps().len(), 7);
    }

    #[test]
    fn one_lossy_try_is_a_stall_when_the_second_is_clean() {
        let mut s = Search::new(1000.0, 2.0, 0.01);
        assert_eq!(s.record(step(1000.0, 1000.0, 1000.0)), Next::Rate(2000.0));
        // A stall: 5 % lost at 2000; the same rate again.
        assert_eq!(s.record(step(2000.0, 2000.0, 1900.0)), Next::Rate(2000.0));
        // Clean this time: growth goes on (the lossy try is not "before").
        assert_eq!(s.record(step(2000.0, 2000.0, 2000.0)), Next::Rate(4000.0));
        assert_eq!(s.ceiling().map(|c| c.delivered), Some(2000.0));
    }

    #[test]
    fn a_first_rate_lossy_twice_stops_at_once() {
        let mut s = Search::new(1000.0, 2.0, 0.01);
        assert_eq!(s.record(step(1000.0, 1000.0, 500.0)), Next::Rate(1000.0));
        assert_eq!(
            s.record(step(1000.0, 1000.0, 510.0)),
            Next::Done(Stop::Loss)
        );
        // No step within the threshold: no throughput, only a peak.
        assert_eq!(s.ceiling(), None);
        assert_eq!(s.peak().map(|c| c.delivered), Some(510.0));
    }

    #[test]
    fn a_lossy_step_that_delivered_more_is_the_peak_not_the_ceiling() {
        let mut s = Search::new(1000.0, 2.0, 0.01);
        assert_eq!(s.record(step(1000.0, 1000.0, 1000.0)), Next::Rate(2000.0));
        // 0.5 % lost: within the 1 % threshold, it counts.
        assert_eq!(s.record(step(2000.0, 2000.0, 1990.0)), Next::Rate(4000.0));
        // 4000 sent, 2600 and 2100 delivered: confirmed lossy, bisect.
        assert_eq!(s.record(step(4000.0, 4000.0, 2600.0)), Next::Rate(4000.0));
        assert!(matches!(
            s.record(step(4000.0, 4000.0, 2100.0)),
            Next::Rate(_)
        ));
        assert_eq!(s.ceiling().map(|c| c.delivered), Some(1990.0));
        assert_eq!(s.peak().map(|c| c.delivered), Some(2600.0));
    }

    #[test]
    fn a_plateau_without_loss_also_stops() {
        let mut s = Search::new(1000.0, 1.5, 0.5);
        assert!(matches!(
            s.record(step(1000.0, 1000.0, 1000.0)),
            Next::Rate(_)
        ));
        assert_eq!(
            s.record(step(1500.0, 1500.0, 1010.0)),
            Next::Done(Stop::Plateau)
        );
    }

    #[test]
    fn a_generator_that_cannot_keep_up_ends_the_search() {
        let mut s = Search::new(1000.0, 2.0, 0.01);
        assert!(matches!(
            s.record(step(1000.0, 1000.0, 1000.0)),
            Next::Rate(_)
        ));
        assert_eq!(
            s.record(step(2000.0, 1500.0, 1500.0)),
            Next::Done(Stop::GeneratorBound)
        );
        assert_eq!(step(10.0, 0.0, 0.0).loss(), 0.0);
        assert!((step(10.0, 100.0, 90.0).loss() - 0.1).abs() < 1e-12);
    }

    #[test]
    fn the_step_budget_is_bounded() {
        let mut s = Search::new(1.0, 2.0, 0.01);
        let mut last = Next::Rate(1.0);
        for _ in 0..40 {
            let r = s.rate();
            last = s.record(step(r, r, r));
            if matches!(last, Next::Done(_)) {
                break;
            }
        }
        assert_eq!(last, Next::Done(Stop::Steps));
        assert_eq!(s.steps().len(), 16);
    }
}
