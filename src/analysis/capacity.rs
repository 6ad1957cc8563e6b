//! Capacity search: the highest arrival rate at which a scenario still holds its thresholds,
//! found by doubling the rate until a step fails and then halving the gap, one short run per step;
//! a failure near the knee is run again before it counts, and the answer is confirmed by a
//! second run.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::metrics::Summary;
use crate::scenario::{Load, Profile, Scenario};

/// The most steps one search takes, whatever the precision asked for (re-tests and the
/// confirmation included).
pub const MAX_STEPS: usize = 20;

/// A failure within this factor of a rate that held is near the knee, where one noisy step
/// decides the answer: it is run again before it counts.
const KNEE: f64 = 1.25;

/// Where a search stands: the rates that held, the lowest that did not (after its re-test), and
/// whether the answer has been confirmed.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    start: f64,
    max: f64,
    precision: f64,
    held: Vec<f64>,
    failed: Option<f64>,
    steps: usize,
    /// A rate that failed once near the knee and runs again before it counts: one noisy step
    /// would otherwise cap the bracket for good.
    retest: Option<f64>,
    /// Rates already re-tested.
    retested: Vec<f64>,
    /// The answer, run a second time and held.
    confirmed: Option<f64>,
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

/// Checks a search's settings (rates in req/s, precision in percent) the same way for the command
/// line and the window, so neither runs a search the other would refuse. The error names the
/// setting (`start`, `max`, `precision`, `step`) and what is wrong with it.
pub fn check_settings(
    start: f64,
    max: f64,
    precision_pct: f64,
    step: Duration,
) -> Result<(), (&'static str, String)> {
    if !(start > 0.0 && start.is_finite()) {
        return Err(("start", format!("must be above 0 req/s (got {start})")));
    }
    if !(max >= start && max.is_finite()) {
        return Err((
            "max",
            format!("must be at least the start rate {start} (got {max})"),
        ));
    }
    if !(precision_pct > 0.0 && precision_pct <= 100.0) {
        return Err((
            "precision",
            format!("is a percentage above 0 and at most 100 (got {precision_pct})"),
        ));
    }
    if step < Duration::from_secs(1) {
        return Err((
            "step",
            "must last at least 1 s (figures are per second)".into(),
        ));
    }
    Ok(())
}

impl Search {
    /// A search from `start` req/s, never above `max`, done when the gap between the highest rate
    /// that held and the lowest that failed is at most `precision` of the former (0.05 = 5 %).
    pub fn new(start: f64, max: f64, precision: f64) -> Search {
        Search {
            start: start.max(1.0),
            max: max.max(start.max(1.0)),
            precision: precision.clamp(0.001, 1.0),
            held: Vec::new(),
            failed: None,
            steps: 0,
            retest: None,
            retested: Vec::new(),
            confirmed: None,
        }
    }

    /// Whether the bracket is as narrow as asked.
    fn narrow(&self) -> bool {
        match (self.held(), self.failed) {
            (Some(h), Some(f)) => (f - h) <= h * self.precision || f - h <= 1.0,
            _ => false,
        }
    }

    /// The rate to try next, or None when the search is over.
    pub fn next(&self) -> Option<f64> {
        if self.ending().is_some() {
            return None;
        }
        if let Some(r) = self.retest {
            return Some(r);
        }
        let rate = match (self.held(), self.failed) {
            // The bracket is narrow: run the answer once more before giving it.
            (Some(h), Some(_)) if self.narrow() => h,
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
        if self.retest == Some(rate) {
            // The second run of a rate decides it.
            self.retest = None;
        } else if self.narrow() && self.held() == Some(rate) {
            // The confirmation of the answer.
            if held {
                self.confirmed = Some(rate);
                return;
            }
        } else if !held
            && self.held().is_some_and(|h| rate <= h * KNEE)
            && !self.retested.contains(&rate)
        {
            // A failure just above a rate that held: run it again before it caps the bracket.
            self.retest = Some(rate);
            self.retested.push(rate);
            return;
        }
        if held {
            self.held.push(rate);
        } else {
            self.failed = Some(self.failed.map_or(rate, |f| f.min(rate)));
            // A rate that held once but not now (a confirmation that failed) no longer counts.
            self.held.retain(|h| *h < rate);
        }
    }

    /// Why the search is over, or None while it goes on.
    pub fn ending(&self) -> Option<Ending> {
        match (self.held(), self.failed) {
            (Some(h), None) if h >= self.max => Some(Ending::ReachedMax),
            (None, Some(f)) if f <= (self.start / 16.0).max(1.0) => Some(Ending::NothingHeld),
            (Some(h), Some(_)) if self.narrow() && self.confirmed == Some(h) => {
                Some(Ending::Converged)
            }
            _ if self.steps >= MAX_STEPS => Some(Ending::OutOfSteps),
            _ => None,
        }
    }

    /// The highest rate that held every threshold so far (below any that failed).
    pub fn held(&self) -> Option<f64> {
        self.held
            .iter()
            .copied()
            .filter(|h| self.failed.is_none_or(|f| *h < f))
            .reduce(f64::max)
    }

    /// The lowest rate that did not.
    pub fn failed(&self) -> Option<f64> {
        self.failed
    }
}

/// What a capacity search needs of a scenario: an open model and thresholds; returns the
/// thresholds as written (request ones as `NAME: p99 < 50ms`), or why the search cannot run.
pub fn goal(scenario: &Scenario) -> Result<Vec<String>, String> {
    if !matches!(scenario.load, Load::Open { .. }) {
        return Err(
            "needs an open-model scenario ([load] model = \"open\"): capacity is an arrival rate"
                .into(),
        );
    }
    // A rate threshold cannot be judged while the search sets the rate: each step's own check
    // (achieved within 5 % of what it asked) stands for it.
    let judged = |t: &&crate::thresholds::Threshold| t.metric != crate::thresholds::Metric::Rate;
    let thresholds: Vec<String> = scenario
        .thresholds
        .iter()
        .filter(judged)
        .map(|t| t.text.clone())
        .chain(scenario.requests.iter().flat_map(|r| {
            r.thresholds
                .iter()
                .filter(judged)
                .map(move |t| format!("{}: {}", r.name, t.text))
        }))
        .collect();
    if thresholds.is_empty() {
        return Err(
            "the scenario has no thresholds, and capacity is the highest rate that holds them; \
             add e.g. thresholds = [\"p99 < 200ms\", \"error_rate < 0.1%\"]"
                .into(),
        );
    }
    Ok(thresholds)
}

/// The scenario of one step: `rate` held for `step` after the scenario's own warm-up.
pub fn step_scenario(base: &Scenario, rate: f64, step: Duration) -> Scenario {
    let mut s = base.clone();
    if let Load::Open { rate: profile, .. } = &mut s.load {
        *profile = Profile::constant(rate, step + base.warmup);
    }
    s
}

/// The name a step's stored run gets.
pub fn step_name(base: &Scenario, rate: f64) -> String {
    format!("{} @ {}", base.name, crate::format::rate(rate))
}

/// One step of a search, as the CLI prints it, the GUI lists it and `--json` writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// The constant arrival rate tried, req/s.
    pub rate: f64,
    /// Completions per second over the step.
    pub achieved: f64,
    /// Corrected latency of all requests together, ms.
    pub p50_ms: f64,
    /// The same, p95.
    pub p95_ms: f64,
    /// The same, p99.
    pub p99_ms: f64,
    /// Errors as a fraction.
    pub error_rate: f64,
    /// Requests in flight on average (Little's law: completions per second × mean corrected
    /// latency), the concurrency the service saw at this rate.
    pub concurrency: f64,
    /// Every threshold held, nothing went unsent, the rate came within 5 %.
    pub held: bool,
    /// What failed: thresholds with their values, unsent requests, a short rate.
    pub failed: Vec<String>,
    /// The stored run.
    pub run: Option<i64>,
}

impl Step {
    /// Judges a finished step from its run's summary.
    pub fn judge(rate: f64, sum: &Summary, run: Option<i64>) -> Step {
        let mut failed: Vec<String> = sum
            .thresholds
            .iter()
            .filter(|t| !t.passed)
            .filter(|t| {
                // The search sets the rate: a rate threshold is not this step's to fail.
                t.expression
                    .parse::<crate::thresholds::Threshold>()
                    .is_ok_and(|th| th.metric != crate::thresholds::Metric::Rate)
            })
            .map(|t| {
                let scope = t.scope_name().map_or(String::new(), |r| format!("{r}: "));
                format!("{scope}{} ({})", t.expression, t.actual_text)
            })
            .collect();
        if sum.not_started > 0 {
            failed.push(format!(
                "{} requests never started (max_in_flight reached)",
                sum.not_started
            ));
        }
        // Judged against what the schedule sent over the measured window (whole requests), with
        // responses that arrived in the drain after it counted in it.
        let scheduled = sum.target_rate.unwrap_or(rate);
        if sum.total.rate < scheduled * 0.95 {
            failed.push(format!(
                "achieved {} of {}",
                crate::format::rate(sum.total.rate),
                crate::format::rate(rate)
            ));
        }
        let l = &sum.total.latency;
        Step {
            rate,
            achieved: sum.total.rate,
            p50_ms: l.p50_ms,
            p95_ms: l.p95_ms,
            p99_ms: l.p99_ms,
            error_rate: sum.total.error_rate,
            concurrency: sum.total.rate * l.mean_ms / 1000.0,
            held: failed.is_empty(),
            failed,
            run,
        }
    }
}

/// The Universal Scalability Law fitted to the steps: successful responses per second against
/// the concurrency each step's rate made (see [`crate::analysis::usl`]).
pub fn usl(steps: &[Step]) -> Result<super::usl::Usl, String> {
    let points: Vec<(f64, f64)> = steps
        .iter()
        .map(|s| (s.concurrency, s.achieved * (1.0 - s.error_rate)))
        .collect();
    super::usl::fit(&points)
}

/// The search's answer in a sentence.
pub fn verdict(search: &Search, stopped: bool) -> String {
    let rate = crate::format::rate;
    let ending = search.ending();
    match (ending, search.held(), search.failed()) {
        _ if stopped => "stopped before the search ended".to_string(),
        (Some(Ending::ReachedMax), Some(h), _) => {
            format!("at least {} (every step up to the maximum held)", rate(h))
        }
        (_, None, Some(f)) => format!("below {}: no step held", rate(f)),
        (_, Some(h), Some(f)) => format!(
            "{} holds every threshold; {} does not{}",
            rate(h),
            rate(f),
            if ending == Some(Ending::OutOfSteps) {
                " (out of steps before the precision was reached)"
            } else {
                ""
            }
        ),
        _ => "no step ran".to_string(),
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

    #[test]
    fn one_noisy_step_near_the_knee_is_run_again_and_the_answer_is_confirmed() {
        // Capacity 180/s, but the step at 175/s fails once by bad luck (a busy moment).
        let mut s = Search::new(100.0, 1e6, 0.05);
        let mut tried = Vec::new();
        let mut unlucky = true;
        while let Some(r) = s.next() {
            tried.push(r);
            let held = r <= 180.0 && !(r == 175.0 && std::mem::take(&mut unlucky));
            s.record(r, held);
        }
        assert_eq!(s.ending(), Some(Ending::Converged), "{tried:?}");
        let h = s.held().expect("held");
        assert!((171.0..=180.0).contains(&h), "{h}: {tried:?}");
        // 175 ran three times: the unlucky failure, its re-test (held), and the confirmation
        // of the answer at the end; the failures just above it ran twice each.
        assert_eq!(h, 175.0, "{tried:?}");
        assert_eq!(
            tried.iter().filter(|r| **r == 175.0).count(),
            3,
            "{tried:?}"
        );
        assert_eq!(tried.last(), Some(&h), "confirmed: {tried:?}");
        // A confirmation that fails moves the answer down instead of standing.
        let mut s = Search::new(100.0, 1e6, 0.25);
        let mut tried = Vec::new();
        let mut confirmations = 0;
        while let Some(r) = s.next() {
            let confirming = tried.contains(&r) && s.held() == Some(r);
            tried.push(r);
            confirmations += usize::from(confirming);
            // 150 holds the first time and fails its confirmation.
            s.record(r, r < 150.0 || (r == 150.0 && !confirming));
        }
        assert!(s.held().is_some_and(|h| h < 150.0), "{tried:?}");
        assert!(confirmations >= 1, "{tried:?}");
    }

    #[test]
    fn a_rate_threshold_is_left_to_the_search_not_judged_per_step() {
        let text = "name = \"q\"\nduration = \"5s\"\nthresholds = [\"p99 < 100ms\", \"rate > 180/s\"]\n\
                    [targets]\napi = \"demo\"\n[load]\nmodel = \"open\"\nrate = 200\n\
                    [[requests]]\nname = \"r\"\npath = \"/\"\n";
        let sc = Scenario::parse(text, None, &|_| None).expect("valid");
        assert_eq!(goal(&sc).expect("goal"), ["p99 < 100ms"]);
    }
}
