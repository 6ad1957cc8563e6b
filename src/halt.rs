//! Ending a run early when going on is pointless: a target nothing connects to, or a threshold
//! marked `abort = true` that has failed.

use std::time::Duration;

use crate::metrics::{Accumulator, ErrorKind, Key, Tick, judge};
use crate::scenario::Scenario;
use crate::thresholds::{Scoped, Threshold, ThresholdResult, ThresholdSpec};

/// How long a run may see nothing but refused or failed connections before it stops as
/// unreachable (a CI step then fails in seconds, not after the whole duration).
pub const UNREACHABLE_AFTER: f64 = 3.0;

/// Errors that mean no connection was made (TCP refused or failed, TLS handshake failed).
const NO_CONNECTION: [ErrorKind; 3] = [
    ErrorKind::ConnectRefused,
    ErrorKind::Connect,
    ErrorKind::Tls,
];

/// Why a run was ended early.
#[derive(Debug, Clone, PartialEq)]
pub enum Halt {
    /// Every request in the first seconds failed to connect: the run could not be carried out.
    Unreachable(String),
    /// A threshold marked `abort = true` failed after its delay.
    Threshold {
        /// Its verdict when it stopped the run.
        result: ThresholdResult,
        /// Measured seconds when it did.
        at_s: f64,
    },
}

impl Halt {
    /// One line saying why the run stopped, for the summary, the log and the run's notes.
    pub fn reason(&self) -> String {
        match self {
            Halt::Unreachable(why) => why.clone(),
            Halt::Threshold { result, at_s } => format!(
                "stopped at {at_s:.0} s by an abort threshold: {}{} (actual {})",
                result
                    .scope_name()
                    .map(|r| format!("{r}: "))
                    .unwrap_or_default(),
                result.expression,
                result.actual_text
            ),
        }
    }
}

/// Looks at each tick of a run and says when it should stop.
pub struct Watch {
    keys: Vec<Key>,
    journeys: Vec<String>,
    aborters: Vec<(Scoped, Duration)>,
    measured: Accumulator,
    elapsed: f64,
    answered: u64,
    unconnected: u64,
    kinds: [u64; ErrorKind::COUNT],
    fail_fast: bool,
    halted: bool,
}

impl Watch {
    /// A watch over a run of `scenario`; `fail_fast` stops it when nothing connects.
    pub fn new(scenario: &Scenario, fail_fast: bool) -> Watch {
        let keys = Key::all(scenario);
        let scoped = |scope: String, t: &Threshold| {
            t.abort_after.map(|after| {
                let spec = ThresholdSpec {
                    scope,
                    expression: t.text.clone(),
                };
                let mut s = Scoped::parse_all(std::slice::from_ref(&spec));
                (s.remove(0), after)
            })
        };
        let mut aborters: Vec<(Scoped, Duration)> = scenario
            .thresholds
            .iter()
            .filter_map(|t| scoped("total".into(), t))
            .collect();
        for r in &scenario.requests {
            aborters.extend(
                r.thresholds
                    .iter()
                    .filter_map(|t| scoped(format!("request:{}", r.name), t)),
            );
        }
        for j in &scenario.journeys {
            aborters.extend(
                j.thresholds
                    .iter()
                    .filter_map(|t| scoped(format!("journey:{}", j.name), t)),
            );
        }
        Watch {
            journeys: scenario.journeys.iter().map(|j| j.name.clone()).collect(),
            measured: Accumulator::new(keys.len()),
            keys,
            aborters,
            elapsed: 0.0,
            answered: 0,
            unconnected: 0,
            kinds: [0; ErrorKind::COUNT],
            fail_fast,
            halted: false,
        }
    }

    /// Lets a run go on however few requests connect (`run --no-fail-fast`).
    pub fn keep_going(&mut self) {
        self.fail_fast = false;
    }

    /// Takes one more tick; returns why the run should stop the first time it should.
    pub fn see(&mut self, tick: &Tick) -> Option<Halt> {
        if self.halted {
            return None;
        }
        self.elapsed = tick.end;
        for s in &tick.stats {
            self.answered += s.requests - s.errors;
            for (i, n) in s.error_kinds.iter().enumerate() {
                self.kinds[i] += n;
            }
        }
        self.unconnected = NO_CONNECTION.iter().map(|k| self.kinds[*k as usize]).sum();
        let other_errors = self.kinds.iter().sum::<u64>() - self.unconnected;
        if self.fail_fast
            && self.elapsed >= UNREACHABLE_AFTER
            && self.answered == 0
            && other_errors == 0
            && self.unconnected > 0
        {
            self.halted = true;
            let causes: Vec<String> = NO_CONNECTION
                .iter()
                .filter(|k| self.kinds[**k as usize] > 0)
                .map(|k| format!("{} {}", self.kinds[*k as usize], k.as_str()))
                .collect();
            return Some(Halt::Unreachable(format!(
                "unreachable: none of the {} requests in the first {:.0} s connected ({}); \
                 stopped early",
                self.unconnected,
                self.elapsed,
                causes.join(", ")
            )));
        }
        if self.aborters.is_empty() {
            return None;
        }
        self.measured.add(tick);
        for (t, after) in &self.aborters {
            if self.measured.seconds < after.as_secs_f64().max(1.0) {
                continue;
            }
            let result = judge(
                std::slice::from_ref(t),
                &self.keys,
                &self.measured.stats,
                (&self.journeys, &self.measured.journeys),
                self.measured.seconds,
            )
            .remove(0);
            // "No data" yet is not a failure to stop on: the run may simply not have started.
            if !result.passed && result.actual.is_some() {
                self.halted = true;
                return Some(Halt::Threshold {
                    result,
                    at_s: self.measured.seconds,
                });
            }
        }
        None
    }
}
