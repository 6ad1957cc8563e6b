//! Run-to-run comparison that accounts for noise: each metric is compared through its per-second
//! values, with a bootstrap confidence interval on the relative change of their means.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::metrics::new_histogram;
use crate::store::{Histograms, Store, StoredRun};
use hdrhistogram::Histogram;

/// Changes smaller than this (relative) are never called significant: two runs of one unchanged
/// system drift by a few percent, and a verdict should mean something to an architect.
pub const PRACTICAL_CHANGE: f64 = 0.05;
/// Bootstrap resamples per comparison.
const RESAMPLES: usize = 2000;

/// What a comparison concludes about one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Worse beyond noise and beyond [`PRACTICAL_CHANGE`].
    Regressed,
    /// Better beyond noise and beyond [`PRACTICAL_CHANGE`].
    Improved,
    /// The interval includes changes too small to matter, or no change.
    NoSignificantChange,
    /// Too few seconds measured on one side to tell.
    NotEnoughData,
}

impl Verdict {
    /// The word people read.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::NoSignificantChange => "no significant change",
            Verdict::NotEnoughData => "not enough data",
        }
    }
}

/// One metric of one request, baseline against candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricChange {
    /// `p50`, `p95`, `p99`, `rate` or `error_rate`.
    pub metric: String,
    /// The baseline's run-level value (ms, req/s or a fraction).
    pub baseline: f64,
    /// The candidate's run-level value.
    pub candidate: f64,
    /// candidate − baseline.
    pub absolute: f64,
    /// Relative change of the per-second means (geometric for latency).
    pub relative: f64,
    /// 95 % bootstrap interval of the relative change.
    pub ci_low: f64,
    /// Upper end of the interval.
    pub ci_high: f64,
    /// The conclusion.
    pub verdict: Verdict,
}

impl MetricChange {
    /// One of this metric's values (baseline, candidate or absolute change) in its own unit.
    pub fn format_value(&self, v: f64) -> String {
        match self.metric.as_str() {
            "rate" => crate::format::rate(v),
            "error_rate" => crate::format::percent(v),
            _ => crate::format::micros(v * 1000.0),
        }
    }
}

/// Compares per-second values of one metric (`higher_is_worse` for latency and errors): the
/// relative change of their means (geometric for latency, whose per-second percentiles are
/// skewed), with a 95 % bootstrap interval. Regressed or improved only when the whole interval
/// lies beyond [`PRACTICAL_CHANGE`].
pub fn compare_values(
    base: &[f64],
    cand: &[f64],
    higher_is_worse: bool,
    seed: u64,
) -> (f64, f64, f64, Verdict) {
    let geometric = higher_is_worse && base.iter().chain(cand).all(|v| *v > 0.0);
    if base.len() < 3 || cand.len() < 3 {
        return (f64::NAN, f64::NAN, f64::NAN, Verdict::NotEnoughData);
    }
    let tf = |v: &[f64]| -> Vec<f64> {
        if geometric {
            v.iter().map(|x| x.ln()).collect()
        } else {
            v.to_vec()
        }
    };
    let (b, c) = (tf(base), tf(cand));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let rel = |mb: f64, mc: f64| {
        if geometric {
            (mc - mb).exp() - 1.0
        } else if mb.abs() < 1e-12 {
            if mc.abs() < 1e-12 { 0.0 } else { 1.0 }
        } else {
            mc / mb - 1.0
        }
    };
    let point = rel(mean(&b), mean(&c));
    let mut rng = SmallRng::seed_from_u64(seed);
    // An index from 32 random bits by multiply-and-shift: no rejection loop, and a bias below
    // n / 2³² (nil for the thousands of seconds a run has). Most of a long comparison is here.
    let resample_mean = |v: &[f64], rng: &mut SmallRng| {
        let n = v.len() as u64;
        (0..v.len())
            .map(|_| v[((u64::from(rng.next_u32()) * n) >> 32) as usize])
            .sum::<f64>()
            / v.len() as f64
    };
    let mut draws: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let mb = resample_mean(&b, &mut rng);
            let mc = resample_mean(&c, &mut rng);
            rel(mb, mc)
        })
        .collect();
    draws.sort_by(f64::total_cmp);
    let lo = draws[(RESAMPLES as f64 * 0.025) as usize];
    let hi = draws[(RESAMPLES as f64 * 0.975) as usize - 1];
    let worse = |x: f64| if higher_is_worse { x } else { -x };
    let verdict = if worse(lo).min(worse(hi)) > PRACTICAL_CHANGE {
        Verdict::Regressed
    } else if worse(lo).max(worse(hi)) < -PRACTICAL_CHANGE {
        Verdict::Improved
    } else {
        Verdict::NoSignificantChange
    };
    (point, lo, hi, verdict)
}

/// Compared values of one series (or the total), warm-up excluded: rate and error share per
/// second, latency percentiles per window of pooled seconds (see [`TAIL_SAMPLES`]).
#[derive(Debug, Clone, Default)]
pub struct SecondValues {
    /// p50, p95, p99 in ms, one per window.
    pub latency: [Vec<f64>; 3],
    /// Requests per second.
    pub rate: Vec<f64>,
    /// Error share per second.
    pub error_rate: Vec<f64>,
}

/// The quantiles behind `SecondValues::latency`.
const QUANTILES: [f64; 3] = [0.50, 0.95, 0.99];

/// Responses beyond a percentile that each compared window must hold. A second of 40 responses
/// has no p99 of its own (it is that second's slowest response, which one hiccup of the machine
/// moves by 10 %), so consecutive seconds are pooled until the window holds this many beyond
/// the percentile: 20 responses for a p50, 200 for a p95, 1,000 for a p99.
pub const TAIL_SAMPLES: f64 = 10.0;

/// Responses a window needs for quantile `q`.
pub fn window_size(q: f64) -> u64 {
    (TAIL_SAMPLES / (1.0 - q)).round() as u64
}

/// Pools consecutive seconds' histograms into windows big enough for one quantile. Responses
/// left at the end that fill no window are left out of this percentile's windows (the run's
/// own figures still count them).
struct Pool {
    q: f64,
    need: u64,
    open: Histogram<u64>,
    values: Vec<f64>,
}

impl Pool {
    fn new(q: f64) -> Pool {
        Pool {
            q,
            need: window_size(q),
            open: new_histogram(),
            values: Vec::new(),
        }
    }

    fn add(&mut self, h: &Histogram<u64>) {
        let ms = |h: &Histogram<u64>| h.value_at_quantile(self.q) as f64 / 1000.0;
        if self.open.is_empty() && h.len() >= self.need {
            // A second that fills a window alone: read it as is (most seconds of a busy run).
            self.values.push(ms(h));
            return;
        }
        // Auto-resizing histograms: adding never fails for in-range values.
        let _ = self.open.add(h);
        if self.open.len() >= self.need {
            self.values.push(ms(&self.open));
            self.open.reset();
        }
    }

    fn finish(self) -> Vec<f64> {
        self.values
    }
}

/// One series' values as they are gathered.
struct Gather {
    pools: [Pool; 3],
    rate: Vec<f64>,
    error_rate: Vec<f64>,
}

impl Gather {
    fn new() -> Gather {
        Gather {
            pools: QUANTILES.map(Pool::new),
            rate: Vec::new(),
            error_rate: Vec::new(),
        }
    }

    fn second(&mut self, requests: u64, errors: u64, secs: f64) {
        self.rate.push(requests as f64 / secs);
        self.error_rate.push(if requests > 0 {
            errors as f64 / requests as f64
        } else {
            0.0
        });
    }

    fn latency(&mut self, h: &Histogram<u64>) {
        for p in &mut self.pools {
            p.add(h);
        }
    }

    fn finish(self) -> SecondValues {
        let [a, b, c] = self.pools.map(Pool::finish);
        SecondValues {
            latency: [a, b, c],
            rate: self.rate,
            error_rate: self.error_rate,
        }
    }
}

impl Comparison {
    /// The metrics that could not be judged and what would let them be, so a short run says
    /// "run longer" instead of passing quietly.
    pub fn short_of_data(&self) -> Option<String> {
        let mut metrics: Vec<&str> = Vec::new();
        for m in self.requests.iter().flat_map(|(_, ch)| ch) {
            if m.verdict == Verdict::NotEnoughData && !metrics.contains(&m.metric.as_str()) {
                metrics.push(&m.metric);
            }
        }
        if metrics.is_empty() {
            return None;
        }
        let sizes: Vec<String> = ["p50", "p95", "p99"]
            .iter()
            .zip(QUANTILES)
            .map(|(name, q)| format!("{name}: {}", crate::format::count(window_size(q))))
            .collect();
        Some(format!(
            "not enough data for {}: each side needs 3 measured seconds, and 3 windows of \
             responses per latency percentile ({} responses a window); run longer or at a \
             higher rate",
            metrics.join(", "),
            sizes.join(", ")
        ))
    }
}

fn values_of(store: &Store, run: &StoredRun) -> crate::store::Result<Vec<(String, SecondValues)>> {
    let mut total = Gather::new();
    let mut each: Vec<Gather> = run.info.keys.iter().map(|_| Gather::new()).collect();
    store.each_tick(run.row.id, 0, u32::MAX, Histograms::Latency, |t| {
        if t.warmup || t.seconds <= 0.5 {
            return;
        }
        // The total pools whole seconds: pooling series one by one would close windows between
        // them, each holding one endpoint's latency only.
        let mut all = new_histogram();
        let (mut requests, mut errors) = (0, 0);
        for (g, s) in each.iter_mut().zip(&t.stats) {
            g.second(s.requests, s.errors, t.seconds);
            g.latency(&s.latency);
            let _ = all.add(&s.latency);
            requests += s.requests;
            errors += s.errors;
        }
        total.second(requests, errors, t.seconds);
        total.latency(&all);
    })?;
    let mut out = vec![("*".to_string(), total.finish())];
    for (k, g) in run.info.keys.iter().zip(each) {
        out.push((format!("{}@{}", k.request, k.target), g.finish()));
    }
    Ok(out)
}

/// All the comparisons of one candidate against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Baseline run id (0 when the baseline is a benchmark set).
    pub baseline: i64,
    /// The benchmark set the run is held against, when the baseline is not a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<String>,
    /// Candidate run id.
    pub candidate: i64,
    /// Per request (`request@target`, `*` for all together): the metric changes.
    pub requests: Vec<(String, Vec<MetricChange>)>,
    /// Whether any metric regressed.
    pub regressed: bool,
}

/// Compares two stored runs request by request (matched by request and target names).
pub fn compare_runs(
    store: &Store,
    baseline: i64,
    candidate: i64,
) -> crate::store::Result<Comparison> {
    let b = store.run(baseline)?;
    let c = store.run(candidate)?;
    let bv = values_of(store, &b)?;
    let cv = values_of(store, &c)?;
    let totals = |r: &StoredRun, name: &str| -> Option<crate::metrics::EndpointSummary> {
        let s = r.summary.as_ref()?;
        if name == "*" {
            return Some(s.total.clone());
        }
        s.endpoints
            .iter()
            .find(|e| format!("{}@{}", e.request, e.target) == name)
            .cloned()
    };
    let mut requests = Vec::new();
    for (name, b_vals) in &bv {
        let Some((_, c_vals)) = cv.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let (Some(bs), Some(cs)) = (totals(&b, name), totals(&c, name)) else {
            continue;
        };
        let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, x| {
            (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3)
        });
        let mut changes = Vec::new();
        let metrics = [
            (
                "p50",
                &b_vals.latency[0],
                &c_vals.latency[0],
                bs.latency.p50_ms,
                cs.latency.p50_ms,
                true,
            ),
            (
                "p95",
                &b_vals.latency[1],
                &c_vals.latency[1],
                bs.latency.p95_ms,
                cs.latency.p95_ms,
                true,
            ),
            (
                "p99",
                &b_vals.latency[2],
                &c_vals.latency[2],
                bs.latency.p99_ms,
                cs.latency.p99_ms,
                true,
            ),
            ("rate", &b_vals.rate, &c_vals.rate, bs.rate, cs.rate, false),
            (
                "error_rate",
                &b_vals.error_rate,
                &c_vals.error_rate,
                bs.error_rate,
                cs.error_rate,
                true,
            ),
        ];
        for (i, (metric, bvals, cvals, base, cand, worse_up)) in metrics.into_iter().enumerate() {
            let (relative, ci_low, ci_high, mut verdict) =
                compare_values(bvals, cvals, worse_up, seed ^ i as u64);
            // Error rates near zero: a change of less than 0.1 point is noise whatever its ratio.
            if metric == "error_rate"
                && (cand - base).abs() < 0.001
                && verdict != Verdict::NotEnoughData
            {
                verdict = Verdict::NoSignificantChange;
            }
            changes.push(MetricChange {
                metric: metric.to_string(),
                baseline: base,
                candidate: cand,
                absolute: cand - base,
                relative,
                ci_low,
                ci_high,
                verdict,
            });
        }
        requests.push((name.clone(), changes));
    }
    let regressed = requests
        .iter()
        .any(|(_, ch)| ch.iter().any(|c| c.verdict == Verdict::Regressed));
    Ok(Comparison {
        baseline,
        benchmark: None,
        candidate,
        requests,
        regressed,
    })
}

/// Compares a stored run with a benchmark set. A benchmark is a set of single figures, so the
/// interval comes from the run's own per-second variability; endpoints match request names.
pub fn compare_to_benchmark(
    store: &Store,
    run_id: i64,
    set: &crate::benchmark::BenchmarkSet,
) -> crate::store::Result<Comparison> {
    let run = store.run(run_id)?;
    let values = values_of(store, &run)?;
    let summary = run.summary.clone();
    let mut requests = Vec::new();
    for fig in &set.figures {
        let matched: Vec<&(String, SecondValues)> = values
            .iter()
            .filter(|(n, _)| {
                if fig.endpoint == "*" {
                    n == "*"
                } else {
                    n == &fig.endpoint || n.split_once('@').is_some_and(|(r, _)| r == fig.endpoint)
                }
            })
            .collect();
        let Some((name, vals)) = matched.first() else {
            continue;
        };
        let ours = summary.as_ref().and_then(|s| {
            if name == "*" {
                Some(s.total.clone())
            } else {
                s.endpoints
                    .iter()
                    .find(|e| &format!("{}@{}", e.request, e.target) == name)
                    .cloned()
            }
        });
        let Some(ours) = ours else { continue };
        let mut changes = Vec::new();
        let metrics = [
            (
                "p50",
                fig.p50_ms,
                &vals.latency[0],
                ours.latency.p50_ms,
                true,
            ),
            (
                "p95",
                fig.p95_ms,
                &vals.latency[1],
                ours.latency.p95_ms,
                true,
            ),
            (
                "p99",
                fig.p99_ms,
                &vals.latency[2],
                ours.latency.p99_ms,
                true,
            ),
            ("rate", fig.rate, &vals.rate, ours.rate, false),
            (
                "error_rate",
                fig.error_rate,
                &vals.error_rate,
                ours.error_rate,
                true,
            ),
        ];
        for (i, (metric, theirs, per_second, value, worse_up)) in metrics.into_iter().enumerate() {
            let Some(theirs) = theirs else { continue };
            let constant = vec![theirs; per_second.len().max(3)];
            let (relative, ci_low, ci_high, mut verdict) =
                compare_values(&constant, per_second, worse_up, 17 ^ i as u64);
            if metric == "error_rate"
                && (value - theirs).abs() < 0.001
                && verdict != Verdict::NotEnoughData
            {
                verdict = Verdict::NoSignificantChange;
            }
            changes.push(MetricChange {
                metric: metric.to_string(),
                baseline: theirs,
                candidate: value,
                absolute: value - theirs,
                relative,
                ci_low,
                ci_high,
                verdict,
            });
        }
        requests.push((fig.endpoint.clone(), changes));
    }
    let regressed = requests
        .iter()
        .any(|(_, ch)| ch.iter().any(|c| c.verdict == Verdict::Regressed));
    Ok(Comparison {
        baseline: 0,
        benchmark: Some(set.name.clone()),
        candidate: run_id,
        requests,
        regressed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    fn lognormal(rng: &mut SmallRng, median: f64) -> f64 {
        let u1: f64 = rng.random_range(f64::EPSILON..1.0);
        let u2: f64 = rng.random();
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        median * (0.15 * z).exp()
    }

    fn seconds(seed: u64, median: f64, n: usize) -> Vec<f64> {
        let mut rng = SmallRng::seed_from_u64(seed);
        (0..n).map(|_| lognormal(&mut rng, median)).collect()
    }

    #[test]
    fn a_20_percent_shift_is_caught_both_ways() {
        let base = seconds(1, 100.0, 30);
        let slower = seconds(2, 120.0, 30);
        let (rel, lo, hi, v) = compare_values(&base, &slower, true, 7);
        assert_eq!(v, Verdict::Regressed, "rel {rel} [{lo}, {hi}]");
        assert!(lo <= rel && rel <= hi);
        let faster = seconds(3, 80.0, 30);
        assert_eq!(compare_values(&base, &faster, true, 7).3, Verdict::Improved);
        // For rates, higher is better.
        assert_eq!(
            compare_values(&base, &slower, false, 7).3,
            Verdict::Improved
        );
    }

    #[test]
    fn identical_distributions_rarely_raise_an_alarm() {
        let pairs = 200;
        let alarms = (0..pairs)
            .filter(|i| {
                let a = seconds(1000 + i * 2, 100.0, 60);
                let b = seconds(1001 + i * 2, 100.0, 60);
                compare_values(&a, &b, true, *i).3 != Verdict::NoSignificantChange
            })
            .count();
        let rate = alarms as f64 / pairs as f64;
        // Each pair: two 60-second runs whose per-second p95 varies by ~15 % (log-normal).
        println!(
            "false-alarm rate over {pairs} seeded identical pairs: {:.1} %",
            rate * 100.0
        );
        assert!(rate <= 0.02, "false alarms in {alarms} of {pairs} pairs");
        let caught = (0..pairs)
            .filter(|i| {
                let a = seconds(5000 + i * 2, 100.0, 60);
                let b = seconds(5001 + i * 2, 120.0, 60);
                compare_values(&a, &b, true, *i).3 == Verdict::Regressed
            })
            .count();
        println!("20 % shifts caught: {caught} of {pairs}");
        assert!(
            caught as f64 / pairs as f64 >= 0.95,
            "caught {caught} of {pairs}"
        );
    }

    #[test]
    fn seconds_too_small_for_a_p99_are_pooled_not_read_alone() {
        // 60 seconds of 40 responses at 20 ms; three seconds hold one 30 ms hiccup each. Read
        // per second, those seconds' p99 would be 30 ms: a 25 % swing from three responses.
        let seconds: Vec<Histogram<u64>> = (0..60)
            .map(|i| {
                let mut h = new_histogram();
                for j in 0..40 {
                    let hiccup = [7, 23, 41].contains(&i) && j == 0;
                    crate::metrics::record(&mut h, if hiccup { 30_000 } else { 20_000 });
                }
                h
            })
            .collect();
        assert_eq!(seconds[7].value_at_quantile(0.99) / 1000, 30);
        let pooled = |q: f64| {
            let mut p = Pool::new(q);
            seconds.iter().for_each(|h| p.add(h));
            p.finish()
        };
        // 2,400 responses: 60 windows for the p50, 12 for the p95, two for the p99 (the last
        // 400 fill no window).
        let (p50, p95, p99) = (pooled(0.50), pooled(0.95), pooled(0.99));
        assert_eq!((p50.len(), p95.len(), p99.len()), (60, 12, 2));
        for v in p50.iter().chain(&p95).chain(&p99) {
            assert!((v - 20.0).abs() < 0.05, "{v}");
        }
        // Two windows are too few to compare.
        assert_eq!(
            compare_values(&p99, &p99, true, 1).3,
            Verdict::NotEnoughData
        );
    }

    #[test]
    fn too_few_seconds_say_so() {
        assert_eq!(
            compare_values(&[1.0, 2.0], &[1.0, 2.0, 3.0], true, 1).3,
            Verdict::NotEnoughData
        );
    }
}
