//! Ticks: one second of every series, what charts draw of it, and the run's running totals.

use super::*;

/// The name of one measured series: a request against a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// The request's name in the scenario.
    pub request: String,
    /// The target's name in the scenario.
    pub target: String,
}

impl Key {
    /// Series measured by a run of `scenario`: (request, target) pairs, request-major; a request
    /// split by a header has its first value's series there, and the rest of its split after
    /// every pair (the mix picks among the pairs, whose order is the plan's).
    pub fn all(scenario: &crate::scenario::Scenario) -> Vec<Key> {
        let key = |r: &crate::scenario::Request, t: usize, value: usize| Key {
            request: r.name.clone(),
            target: Key::target_label(scenario, r, t, value),
        };
        let pairs = scenario
            .requests
            .iter()
            .flat_map(|r| r.targets.iter().map(move |&t| key(r, t, 0)));
        let rest = scenario.requests.iter().flat_map(|r| {
            let more = r.split.as_ref().map_or(0, |s| s.values.len());
            r.targets
                .iter()
                .flat_map(move |&t| (1..=more).map(move |v| key(r, t, v)))
        });
        pairs.chain(rest).collect()
    }

    /// The row a journey's whole iterations show as beside the series (tables, charts).
    pub fn journey(name: &str) -> Key {
        Key {
            request: name.to_string(),
            target: super::JOURNEY_TARGET.to_string(),
        }
    }

    /// Whether this row is a journey's whole iterations rather than a request's series.
    pub fn is_journey(&self) -> bool {
        self.target == super::JOURNEY_TARGET
    }

    /// The target name a series shows: the target's, and for a split request which part of the
    /// split (`api [x-cache: HIT]`).
    pub fn target_label(
        scenario: &crate::scenario::Scenario,
        r: &crate::scenario::Request,
        t: usize,
        value: usize,
    ) -> String {
        let name = &scenario.targets[t].name;
        match &r.split {
            Some(s) => format!("{name} [{}]", s.label(value)),
            None => name.clone(),
        }
    }
}

/// One second of a run: what every series did in it. Everything downstream of the engine sees only these.
#[derive(Debug, Clone)]
pub struct Tick {
    /// 1-based number of the tick; tick i covers `[i-1, i)` seconds (the last may be shorter).
    pub index: u32,
    /// Seconds since the start at the end of this tick.
    pub end: f64,
    /// Length of this tick in seconds.
    pub seconds: f64,
    /// The last tick only: how long after its end the requests still in flight took to finish
    /// (the drain). Its responses arrived over `seconds + drain`, which a per-second rate
    /// divides by; the window (and the run's rate) stays `seconds`.
    pub drain: f64,
    /// Whether this tick is part of the warm-up, excluded from results.
    pub warmup: bool,
    /// Open model: the scheduled rate (req/s) over this tick; closed model: the virtual users at its end.
    pub target: f64,
    /// The most requests in flight at once during this tick.
    pub in_flight: u64,
    /// Open model: requests whose start time passed but which never started (only on the last tick).
    pub not_started: u64,
    /// Per series, indexed like the run's keys.
    pub stats: Vec<Stats>,
    /// Per journey, indexed like the run's journeys: each whole iteration's duration, kept
    /// apart from `stats` so an iteration is never counted as one more request in the totals.
    pub journeys: Vec<Stats>,
}

impl Tick {
    /// Takes the next tick into this one: one tick spanning both (how a store that fell behind
    /// keeps every request while holding fewer ticks).
    pub fn absorb(&mut self, later: &Tick) {
        let seconds = self.seconds + later.seconds;
        if seconds > 0.0 {
            self.target = (self.target * self.seconds + later.target * later.seconds) / seconds;
        }
        self.seconds = seconds;
        self.drain = later.drain;
        self.end = later.end;
        self.in_flight = self.in_flight.max(later.in_flight);
        self.not_started += later.not_started;
        for (a, b) in self.stats.iter_mut().zip(&later.stats) {
            a.merge(b);
        }
        merge_all(&mut self.journeys, &later.journeys);
    }

    /// `n` per second over the time this tick's responses arrived in (its drain included).
    pub fn per_second(&self, n: u64) -> f64 {
        per_second(n, self.seconds + self.drain)
    }

    /// All series of this tick merged.
    pub fn total(&self) -> Stats {
        let mut t = Stats::default();
        for s in &self.stats {
            t.merge(s);
        }
        t
    }
}

/// One tick reduced to what charts draw: totals over every series, a few numbers, constant size.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickSummary {
    /// Tick number.
    pub index: u32,
    /// Seconds since the start at its end.
    pub end: f64,
    /// Its length in seconds.
    pub seconds: f64,
    /// The last tick only: the drain after it ([`Tick::drain`]).
    pub drain: f64,
    /// Part of the warm-up.
    pub warmup: bool,
    /// Scheduled rate (open) or virtual users (closed).
    pub target: f64,
    /// Most requests in flight.
    pub in_flight: u64,
    /// Requests completed.
    pub requests: u64,
    /// Errors.
    pub errors: u64,
    /// Corrected latency µs: p50, p90, p95, p99, max (0 when no response).
    pub latency_us: [u64; 5],
    /// Service time µs: p50, p90, p95, p99, max.
    pub service_us: [u64; 5],
    /// Errors by kind.
    pub error_kinds: Vec<(String, u64)>,
}

/// Leaves a tick's drain out of what is written (exports, JSON reports) when it had none: every
/// tick but the last.
pub(crate) fn no_drain(drain: &f64) -> bool {
    *drain == 0.0
}

/// `n` over `seconds`, 0 for no time at all.
fn per_second(n: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        n as f64 / seconds
    } else {
        0.0
    }
}

/// A histogram's counts in `bins` bins evenly spaced in log10(ms) from its min to its max, as
/// (bin middle, bin width, count) for the non-empty bins: a 2 ms mode and an 80 ms mode each get
/// bars of their own, where linear bins made everything below the tail one bar.
pub fn log_bins(h: &Histogram<u64>, bins: usize) -> Vec<(f64, f64, u64)> {
    if h.is_empty() || bins == 0 {
        return Vec::new();
    }
    let log_ms = |us: u64| (us.max(1) as f64 / 1000.0).log10();
    let lo = log_ms(h.min());
    let hi = log_ms(h.max()).max(lo + 0.1);
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0u64; bins];
    for v in h.iter_recorded() {
        let i = (((log_ms(v.value_iterated_to()) - lo) / width).max(0.0) as usize).min(bins - 1);
        counts[i] += v.count_at_value();
    }
    counts
        .into_iter()
        .enumerate()
        .filter(|(_, c)| *c > 0)
        .map(|(i, c)| (lo + width * (i as f64 + 0.5), width, c))
        .collect()
}

/// p50, p90, p95, p99 and max of a histogram, µs (zeros when empty).
pub fn quantiles(h: &Histogram<u64>) -> [u64; 5] {
    if h.is_empty() {
        return [0; 5];
    }
    [
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.9),
        h.value_at_quantile(0.95),
        h.value_at_quantile(0.99),
        h.max(),
    ]
}

impl TickSummary {
    /// Reduces a tick to its totals.
    pub fn of(tick: &Tick) -> TickSummary {
        TickSummary::with(tick, &tick.total())
    }

    /// One series of a tick (the gauges stay the whole tick's), for charts of one request;
    /// the indices after the series are the journeys'.
    pub fn of_series(tick: &Tick, series: usize) -> TickSummary {
        let journey = series.checked_sub(tick.stats.len());
        match tick
            .stats
            .get(series)
            .or_else(|| tick.journeys.get(journey?))
        {
            Some(st) => TickSummary::with(tick, st),
            None => TickSummary::with(tick, &Stats::default()),
        }
    }

    fn with(tick: &Tick, total: &Stats) -> TickSummary {
        TickSummary {
            index: tick.index,
            end: tick.end,
            seconds: tick.seconds,
            drain: tick.drain,
            warmup: tick.warmup,
            target: tick.target,
            in_flight: tick.in_flight,
            requests: total.requests,
            errors: total.errors,
            latency_us: quantiles(&total.latency),
            service_us: quantiles(&total.service),
            error_kinds: total.error_counts().collect(),
        }
    }

    /// Completed requests per second over this tick.
    pub fn rate(&self) -> f64 {
        per_second(self.requests, self.seconds + self.drain)
    }

    /// `n` per second over the time this tick's responses arrived in (its drain included).
    pub fn per_second(&self, n: u64) -> f64 {
        per_second(n, self.seconds + self.drain)
    }
}

/// Merges ticks as they come into the run's totals (warm-up excluded): constant memory however long the run.
#[derive(Debug, Clone)]
pub struct Accumulator {
    /// Run totals per series.
    pub stats: Vec<Stats>,
    /// Run totals per journey (whole iterations), indexed like the run's journeys.
    pub journeys: Vec<Stats>,
    /// Measured seconds (warm-up excluded).
    pub seconds: f64,
    /// Seconds of warm-up seen.
    pub warmup_seconds: f64,
    /// Requests never started (open model).
    pub not_started: u64,
    /// Scheduled requests over the measured time (open model), for the mean target rate.
    pub scheduled: f64,
    /// Ticks merged, warm-up included.
    pub ticks: u32,
}

impl Accumulator {
    /// An empty accumulator for `keys` series.
    pub fn new(keys: usize) -> Accumulator {
        Accumulator {
            stats: vec![Stats::default(); keys],
            journeys: Vec::new(),
            seconds: 0.0,
            warmup_seconds: 0.0,
            not_started: 0,
            scheduled: 0.0,
            ticks: 0,
        }
    }

    /// Adds one tick.
    pub fn add(&mut self, tick: &Tick) {
        self.ticks += 1;
        self.not_started += tick.not_started;
        if tick.warmup {
            self.warmup_seconds += tick.seconds;
            return;
        }
        self.seconds += tick.seconds;
        self.scheduled += tick.target * tick.seconds;
        for (acc, s) in self.stats.iter_mut().zip(&tick.stats) {
            acc.merge(s);
        }
        merge_all(&mut self.journeys, &tick.journeys);
    }

    /// The figures of a table's rows ([`super::RunInfo::rows`]): the series, then the journeys.
    pub fn rows(&self) -> Vec<&Stats> {
        self.stats.iter().chain(&self.journeys).collect()
    }

    /// The figures of row `i` of [`Accumulator::rows`].
    pub fn row(&self, i: usize) -> Option<&Stats> {
        let journey = i.checked_sub(self.stats.len());
        self.stats.get(i).or_else(|| self.journeys.get(journey?))
    }

    /// All series merged.
    pub fn total(&self) -> Stats {
        let mut t = Stats::default();
        for s in &self.stats {
            t.merge(s);
        }
        t
    }
}

/// Adds `more` into `into` item by item, growing `into` to hold them all (a reader that does
/// not know how many journeys a run has learns it from its ticks).
pub fn merge_all(into: &mut Vec<Stats>, more: &[Stats]) {
    if into.len() < more.len() {
        into.resize_with(more.len(), Stats::default);
    }
    for (a, b) in into.iter_mut().zip(more) {
        a.merge(b);
    }
}
