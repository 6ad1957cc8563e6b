//! Capacity search: the highest arrival rate at which a scenario still holds its thresholds,
//! found by doubling the rate until a step fails and then halving the gap, one short run per step.

use serde::{Deserialize, Serialize};

/// The most steps one search takes, whatever the precision asked for.
pub const MAX_STEPS: usize = 16;

/// Where a search stands: the highest rate that held and the lowest that did not.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    start: f64,
    max: f64,
    precision: f64,
    held: Option<f64>,
    failed: Option<f64>,
    steps: usize,
}

/// Why the search stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// The highest rate that held and the lowest that failed are within the precision.
    Converged,
    /// Every step up to the maximum rate held: the capacity is at least that.
    ReachedMax,
    /// Even a small fraction of the starting rate failed.
    NothingHeld,
    /// The step budget ran out first.
    OutOfSteps,
}

impl Search {
    /// A search from `start` req/s, never above `max`, done when the gap between the highest rate
    /// that held and the lowest that failed is at most `precision` of the former (0.05 = 5 %).
    pub fn new(start: f64, max: f64, precision: f64) -> Search {
        Search {
            start: start.max(1.0),
            max: max.max(start.max(1.0)),
            precision: precision.clamp(0.001, 1.0),
            held: None,
            failed: None,
            steps: 0,
        }
    }

    /// The rate to try next, or None when the search is over.
    pub fn next(&self) -> Option<f64> {
        if self.ending().is_some() {
            return None;
        }
        let rate = match (self.held, self.failed) {
            (None, None) => self.start,
            (Some(h), None) => (h * 2.0).min(self.max),
            (None, Some(f)) => f / 2.0,
            (Some(h), Some(f)) => (h + f) / 2.0,
        };
        Some(rate.round().max(1.0))
    }

    /// Records how a step at `rate` went.
    pub fn record(&mut self, rate: f64, held: bool) {
        self.steps += 1;
        if held {
            self.held = Some(self.held.map_or(rate, |h| h.max(rate)));
        } else {
            self.failed = Some(self.failed.map_or(rate, |f| f.min(rate)));
        }
    }

    /// Why the search is over, or None while it goes on.
    pub fn ending(&self) -> Option<Ending> {
        match (self.held, self.failed) {
            (Some(h), None) if h >= self.max => Some(Ending::ReachedMax),
            (None, Some(f)) if f <= (self.start / 16.0).max(1.0) => Some(Ending::NothingHeld),
            (Some(h), Some(f)) if (f - h) <= h * self.precision || f - h <= 1.0 => {
                Some(Ending::Converged)
            }
            _ if self.steps >= MAX_STEPS => Some(Ending::OutOfSteps),
            _ => None,
        }
    }

    /// The highest rate that held every threshold so far.
    pub fn held(&self) -> Option<f64> {
        self.held
    }

    /// The lowest rate that did not.
    pub fn failed(&self) -> Option<f64> {
        self.failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(capacity: f64, start: f64, max: f64, precision: f64) -> (Search, Vec<f64>) {
        let mut s = Search::new(start, max, precision);
        let mut tried = Vec::new();
        while let Some(r) = s.next() {
            tried.push(r);
            s.record(r, r <= capacity);
        }
        (s, tried)
    }

    #[test]
    fn it_brackets_the_capacity_within_the_precision() {
        for capacity in [7.0, 180.0, 999.0, 12_345.0, 80_000.0] {
            let (s, tried) = search(capacity, 100.0, 1e6, 0.05);
            let (h, f) = (s.held(), s.failed());
            assert_eq!(s.ending(), Some(Ending::Converged), "{capacity}: {tried:?}");
            let (h, f) = (h.expect("held"), f.expect("failed"));
            assert!(
                h <= capacity && capacity < f,
                "{capacity}: {h}..{f} {tried:?}"
            );
            assert!(f - h <= h * 0.05 || f - h <= 1.0, "{capacity}: {h}..{f}");
            assert!(
                tried.len() <= MAX_STEPS,
                "{capacity}: {} steps",
                tried.len()
            );
        }
    }

    #[test]
    fn it_says_when_the_limit_is_the_maximum_or_nothing_holds() {
        let (s, tried) = search(1e9, 100.0, 1000.0, 0.05);
        assert_eq!(s.ending(), Some(Ending::ReachedMax));
        assert_eq!(tried, [100.0, 200.0, 400.0, 800.0, 1000.0]);
        let (s, tried) = search(0.0, 100.0, 1000.0, 0.05);
        assert_eq!(s.ending(), Some(Ending::NothingHeld));
        assert_eq!(s.held(), None);
        assert_eq!(tried, [100.0, 50.0, 25.0, 13.0, 7.0, 4.0]);
    }
}
