//! Finding an LNS's forwarding ceiling: offered load stepped up until the
//! delivered rate stops growing or loss passes a threshold.
//!
//! Contract: [`Search`] is a pure decision procedure. The caller runs one
//! step at [`Search::rate`], reports what the generator sent and what the
//! far side received with [`Search::record`], and stops when it answers
//! [`Next::Done`]. [`Search::ceiling`] is the step with the highest
//! delivered rate. The search also stops when the generator itself cannot
//! send the offered rate ([`Stop::GeneratorBound`]): the figure is then a
//! lower bound of the LNS's ceiling and the caller must say so.

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
        let best = self.best_delivered();
        self.steps.push(step);
        if step.loss() > self.max_loss {
            return Next::Done(Stop::Loss);
        }
        if self.steps.len() > 1 && step.delivered < best * (1.0 + self.min_gain) {
            return Next::Done(Stop::Plateau);
        }
        if step.sent < step.offered * 0.9 {
            return Next::Done(Stop::GeneratorBound);
        }
        if self.steps.len() >= self.max_steps {
            return Next::Done(Stop::Steps);
        }
        self.rate = step.offered * self.growth;
        Next::Rate(self.rate)
    }

    /// The step that delivered the most.
    pub fn ceiling(&self) -> Option<Step> {
        self.steps
            .iter()
            .copied()
            .max_by(|a, b| a.delivered.total_cmp(&b.delivered))
    }

    fn best_delivered(&self) -> f64 {
        self.ceiling().map_or(0.0, |s| s.delivered)
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
        // 4000 offered, only 2010 delivered: the loss stops it first.
        assert_eq!(
            s.record(step(4000.0, 4000.0, 2010.0)),
            Next::Done(Stop::Loss)
        );
        assert_eq!(s.ceiling().map(|c| c.delivered), Some(2010.0));
        assert_eq!(s.steps().len(), 3);
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
