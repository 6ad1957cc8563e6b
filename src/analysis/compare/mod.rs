//! Comparisons a deploy can be gated on: the run-level figures that are shown (the p99 of every
//! response, not an average of per-second p99s), judged against the spread of redrawn runs, the
//! spread between runs, a correction for judging many metrics at once, and a check that the
//! machine was alike during both.

use serde::{Deserialize, Serialize};

use super::resample::{BlockBuilder, Blocks, MIN_BLOCKS, Stat};
use super::stats::{quantile, upper_tail};
use crate::metrics::EndpointSummary;
use crate::monitor::{Environment, SPEED_ALIKE};
use crate::scenario::Model;
use crate::store::{Store, StoredRun};

/// Relative changes smaller than this are never called significant: a verdict should mean
/// something to an architect.
pub const PRACTICAL_CHANGE: f64 = 0.05;
/// Error-share changes smaller than this (0.1 point) are never called significant.
pub const PRACTICAL_ERROR_POINTS: f64 = 0.001;
/// How far two runs of one unchanged system drift apart beyond what each run's own redraws show
/// (standard deviation of their difference, log scale) for latency and rate, assumed when the
/// baseline is one run, so nothing measures it (calibrated on real reruns: bench/rerun.sh).
pub const SINGLE_RUN_SPREAD: f64 = 0.04;
/// The same for error shares, in share points.
pub const SINGLE_RUN_ERROR_SPREAD: f64 = 0.0005;
/// How much weight the assumed drift keeps against a baseline set's own spread, in runs' worth
/// of degrees of freedom: three baseline runs cannot pin a spread down alone.
const PRIOR_RUNS: f64 = 8.0;
/// Extra drift allowed (standard deviation of the difference, log scale) when the machine was
/// shared during a run (other processes busy, every core busy, a CPU often at half speed) or
/// differed between the runs: a change beyond even this is the service's; one within it is
/// inconclusive.
pub const MACHINE_SPREAD: f64 = 0.25;
/// Family-wise error rate of a comparison: every interval shown holds at once with 95 %
/// confidence (Bonferroni over every metric judged), and a verdict is read off its interval.
const ALPHA: f64 = 0.05;

/// What a comparison concludes about one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Worse beyond noise and beyond the practical threshold.
    Regressed,
    /// Better beyond noise and beyond the practical threshold.
    Improved,
    /// Within noise, or within the practical threshold.
    NoSignificantChange,
    /// Too little measured on one side to tell.
    NotEnoughData,
    /// It would be a change, but the machine differed between the runs (busier, slower, less
    /// steady), so the change may be the machine's; or the interval is too wide to tell a
    /// doubling from noise.
    Inconclusive,
}

impl Verdict {
    /// The word people read.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::NoSignificantChange => "no significant change",
            Verdict::NotEnoughData => "not enough data",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// One metric of one request, baseline against candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricChange {
    /// `p50`, `p90`, `p95`, `p99`, `max`, `rate` or `error_rate`.
    pub metric: String,
    /// The baseline's run-level value (ms, req/s or a fraction); for a set of baseline runs, their
    /// geometric mean (latency, rate) or mean (error share).
    pub baseline: f64,
    /// The candidate's run-level value, as its summary shows it.
    pub candidate: f64,
    /// candidate − baseline.
    pub absolute: f64,
    /// candidate ÷ baseline − 1 (for `error_rate`: candidate − baseline in share points).
    pub relative: f64,
    /// Lower end of the interval of `relative`: 95 % for all the comparison's metrics at once
    /// (each at 1 − 5 %/m for m metrics judged), so a verdict can be read off it.
    pub ci_low: f64,
    /// Upper end of the interval.
    pub ci_high: f64,
    /// The conclusion: regressed or improved when the whole interval lies beyond the practical
    /// threshold (5 %, or 0.1 point of errors) on that side.
    pub verdict: Verdict,
    /// Probability of a change this far beyond the practical threshold in the worse direction if
    /// there were none, corrected for the metrics judged (Bonferroni, at most 1).
    #[serde(default)]
    pub p_worse: Option<f64>,
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

    /// A change on this metric's scale: `+12.0%`, or `+0.50 pt` for error shares.
    pub fn format_change(&self, x: f64) -> String {
        if self.metric == "error_rate" {
            if x.is_finite() {
                format!("{:+.2} pt", x * 100.0)
            } else {
                "-".into()
            }
        } else {
            crate::format::change(x)
        }
    }

    /// The interval as text: `[+3.1%, +20.4%]`.
    pub fn format_interval(&self) -> String {
        format!(
            "[{}, {}]",
            self.format_change(self.ci_low),
            self.format_change(self.ci_high)
        )
    }
}

/// All the comparisons of one candidate against its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The (first) baseline run (0 when the baseline is a benchmark set).
    pub baseline: i64,
    /// Every baseline run, when the baseline is a set of runs.
    #[serde(default)]
    pub baselines: Vec<i64>,
    /// The benchmark set the run is held against, when the baseline is not a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<String>,
    /// Candidate run id.
    pub candidate: i64,
    /// Per request (`request@target`, `*` for all together): the metric changes. In JSON each
    /// is an object, `{"request": "...", "metrics": [...]}`, so scripts index by name.
    #[serde(with = "named")]
    pub requests: Vec<(String, Vec<MetricChange>)>,
    /// Whether any metric regressed.
    pub regressed: bool,
    /// Whether a change was left undecided: the machine differed, or the interval was too wide.
    #[serde(default)]
    pub inconclusive: bool,
    /// What a reader needs to trust the verdicts: how the baseline was measured, how the machine
    /// differed, what more data would settle.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The JSON shape of [`Comparison::requests`]: objects with named fields, not pairs.
mod named {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::MetricChange;

    #[derive(Serialize, Deserialize)]
    struct Request {
        request: String,
        metrics: Vec<MetricChange>,
    }

    #[derive(Serialize)]
    struct RequestRef<'a> {
        request: &'a str,
        metrics: &'a [MetricChange],
    }

    pub(super) fn serialize<S: Serializer>(
        v: &[(String, Vec<MetricChange>)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            v.iter()
                .map(|(request, metrics)| RequestRef { request, metrics }),
        )
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, Vec<MetricChange>)>, D::Error> {
        Ok(Vec::<Request>::deserialize(d)?
            .into_iter()
            .map(|r| (r.request, r.metrics))
            .collect())
    }
}

/// A metric as compared: its name, how it is computed from blocks, whether higher is worse, and
/// where the summary keeps it.
#[derive(Clone, Copy)]
struct MetricDef {
    name: &'static str,
    stat: Stat,
    higher_is_worse: bool,
    shown: fn(&EndpointSummary) -> f64,
}

const METRICS: [MetricDef; 5] = [
    MetricDef {
        name: "p50",
        stat: Stat::Quantile(0.50),
        higher_is_worse: true,
        shown: |e| e.latency.p50_ms,
    },
    MetricDef {
        name: "p95",
        stat: Stat::Quantile(0.95),
        higher_is_worse: true,
        shown: |e| e.latency.p95_ms,
    },
    MetricDef {
        name: "p99",
        stat: Stat::Quantile(0.99),
        higher_is_worse: true,
        shown: |e| e.latency.p99_ms,
    },
    MetricDef {
        name: "rate",
        stat: Stat::Rate,
        higher_is_worse: false,
        shown: |e| e.rate,
    },
    MetricDef {
        name: "error_rate",
        stat: Stat::ErrorRate,
        higher_is_worse: true,
        shown: |e| e.error_rate,
    },
];

/// One side of a comparison for one series: its blocks and the value its summary shows.
struct Side<'a> {
    blocks: &'a Blocks,
    shown: f64,
    seed: u64,
}

/// A judged metric before the correction for many metrics: the change on its scale (log for
/// latency and rate), its standard error, the degrees of freedom of that error (`None`: normal),
/// the practical threshold, and which way is worse.
struct Judged {
    change: MetricChange,
    judged: bool,
    log: bool,
    d: f64,
    sd: f64,
    df: Option<f64>,
    delta: f64,
    higher_is_worse: bool,
}

/// Judges one metric of one series: the candidate against one or more baseline runs.
fn judge(def: &MetricDef, cand: &Side<'_>, bases: &[Side<'_>]) -> Judged {
    let log = def.stat != Stat::ErrorRate;
    let k = bases.len();
    let t = |x: f64| if log { x.ln() } else { x };
    let untransform = |x: f64| if log { x.exp() } else { x };
    let base_center = if k == 0 {
        f64::NAN
    } else {
        bases.iter().map(|b| t(b.shown)).sum::<f64>() / k as f64
    };
    let baseline = untransform(base_center);
    let mut change = MetricChange {
        metric: def.name.to_string(),
        baseline,
        candidate: cand.shown,
        absolute: cand.shown - baseline,
        relative: f64::NAN,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        verdict: Verdict::NotEnoughData,
        p_worse: None,
    };
    let not_judged = |change: MetricChange| Judged {
        change,
        judged: false,
        log,
        d: f64::NAN,
        sd: f64::NAN,
        df: None,
        delta: 0.0,
        higher_is_worse: def.higher_is_worse,
    };
    let enough = |b: &Blocks| {
        b.is_fixed()
            || b.len() >= MIN_BLOCKS
                && match def.stat {
                    Stat::Quantile(q) => b.responses() as f64 >= (10.0 / (1.0 - q)).round(),
                    _ => true,
                }
    };
    if k == 0 || !enough(cand.blocks) || bases.iter().any(|b| !enough(b.blocks)) {
        return not_judged(change);
    }
    if log && (cand.shown <= 0.0 || bases.iter().any(|b| b.shown <= 0.0)) {
        // A rate that fell to nothing is a change with no log; latency of zero means nothing
        // was measured.
        if def.stat == Stat::Rate && bases.iter().all(|b| b.shown > 0.0) {
            change.relative = -1.0;
            change.ci_low = -1.0;
            change.ci_high = -1.0;
            change.verdict = Verdict::Regressed;
            change.p_worse = Some(0.0);
            return Judged {
                judged: false,
                ..not_judged(change)
            };
        }
        return not_judged(change);
    }
    let spread = |s: &Side<'_>| s.blocks.spread(def.stat, log, s.seed);
    let Some(v_c) = spread(cand).map(|s| s * s) else {
        return not_judged(change);
    };
    let mut v_b = Vec::with_capacity(k);
    for b in bases {
        match spread(b) {
            Some(s) => v_b.push(s * s),
            None => return not_judged(change),
        }
    }
    let d = t(cand.shown) - base_center;
    let drift = if log {
        SINGLE_RUN_SPREAD
    } else {
        SINGLE_RUN_ERROR_SPREAD
    };
    let (var, df) = if k == 1 {
        (v_c + v_b[0] + drift * drift, None)
    } else {
        // One run's variance (its drift and its own noise) from the baseline runs' spread,
        // moderated toward the assumed one: s² of three runs alone is too unsure to judge by.
        let s2 = bases
            .iter()
            .map(|b| (t(b.shown) - base_center).powi(2))
            .sum::<f64>()
            / (k - 1) as f64;
        let within = v_b.iter().sum::<f64>() / k as f64;
        let prior = drift * drift / 2.0 + within;
        // A spread below the assumed one is lifted toward it; a larger one stands as measured,
        // with the few degrees of freedom it has.
        let (per_run, df) = if s2 >= prior {
            (s2, (k - 1) as f64)
        } else {
            let df = PRIOR_RUNS + (k - 1) as f64;
            ((PRIOR_RUNS * prior + (k - 1) as f64 * s2) / df, df)
        };
        // The candidate is one new run; the baseline's mean is known to within per_run / k.
        (per_run.max(v_c) + per_run / k as f64, Some(df))
    };
    let delta = if log {
        (1.0 + PRACTICAL_CHANGE).ln()
    } else {
        PRACTICAL_ERROR_POINTS
    };
    change.verdict = Verdict::NoSignificantChange;
    Judged {
        change,
        judged: true,
        log,
        d,
        sd: var.sqrt(),
        df,
        delta,
        higher_is_worse: def.higher_is_worse,
    }
}

/// What the machine may have done to a comparison's latency and rate, beside the service.
#[derive(Debug, Default, Clone, Copy)]
struct Machine {
    /// Shared or unlike in a way nothing measures (neighbours busy, every core busy, a CPU often
    /// at half speed): latency and rate intervals widen by [`MACHINE_SPREAD`].
    shared: bool,
    /// Log of how much slower the candidate's CPU ran than the baseline's (negative: faster),
    /// when beyond what quiet runs differ by: CPU-bound latency may be worse (or better) by as
    /// much without it being the service's.
    speed: f64,
}

/// Settles the verdicts of judged metrics together: each interval is widened for the m metrics
/// judged (Bonferroni), and a metric whose whole interval lies beyond the practical threshold
/// regressed or improved. Latency and rate also allow for the machine: a CPU measured slower on
/// the candidate's side moves the regression threshold by as much (faster: the improvement
/// threshold), and a shared machine widens the interval by [`MACHINE_SPREAD`]. A change beyond
/// the narrow interval but within what the machine explains is inconclusive.
fn settle(judged: &mut [Vec<Judged>], machine: Machine) {
    let m = judged.iter().flatten().filter(|j| j.judged).count().max(1) as f64;
    for j in judged.iter_mut().flatten().filter(|j| j.judged) {
        let q = quantile(1.0 - ALPHA / (2.0 * m), j.df);
        let (worse_allow, better_allow) = if j.log {
            (machine.speed.max(0.0), (-machine.speed).max(0.0))
        } else {
            (0.0, 0.0)
        };
        let verdict_for = |sd: f64, worse_allow: f64, better_allow: f64| -> (f64, f64, Verdict) {
            let (lo, hi) = (j.d - q * sd, j.d + q * sd);
            let (worse_lo, better_lo) = if j.higher_is_worse {
                (lo, -hi)
            } else {
                (-hi, lo)
            };
            let v = if worse_lo > j.delta + worse_allow {
                Verdict::Regressed
            } else if better_lo > j.delta + better_allow {
                Verdict::Improved
            } else {
                Verdict::NoSignificantChange
            };
            (lo, hi, v)
        };
        let sd = if machine.shared && j.log {
            (j.sd * j.sd + MACHINE_SPREAD * MACHINE_SPREAD).sqrt()
        } else {
            j.sd
        };
        let (lo, hi, mut verdict) = verdict_for(sd, worse_allow, better_allow);
        if verdict == Verdict::NoSignificantChange
            && verdict_for(j.sd, 0.0, 0.0).2 != Verdict::NoSignificantChange
        {
            verdict = Verdict::Inconclusive;
        }
        // "No significant change" claims the change is within noise: a run measured at twice or
        // half its baseline (or further) is never that. When the interval is too wide to confirm
        // it (baseline runs far apart among themselves), the honest word is "inconclusive".
        if verdict == Verdict::NoSignificantChange && j.log && j.d.abs() > TOO_WIDE.ln() {
            verdict = Verdict::Inconclusive;
        }
        let scale = |x: f64| if j.log { x.exp() - 1.0 } else { x };
        let worse = if j.higher_is_worse { j.d } else { -j.d };
        let p = if sd > 0.0 {
            upper_tail((worse - j.delta - worse_allow) / sd, j.df)
        } else if worse > j.delta + worse_allow {
            0.0
        } else {
            1.0
        };
        let c = &mut j.change;
        c.relative = scale(j.d);
        c.ci_low = scale(lo);
        c.ci_high = scale(hi);
        c.p_worse = Some((p * m).min(1.0));
        c.verdict = verdict;
    }
}

/// One run's series, ready to compare: `*` (all together) first, then `request@target`.
pub(crate) struct Measured {
    pub(crate) name: String,
    /// Corrected latency, requests and errors in blocks.
    pub(crate) blocks: Blocks,
    /// Service time in blocks (only when asked for).
    service: Blocks,
    figures: EndpointSummary,
}

/// Each series' latency blocks (the first for all together), over the same measured seconds.
pub(crate) fn measure(store: &Store, run: &StoredRun) -> crate::store::Result<Vec<Measured>> {
    measure_with(store, run, false)
}

/// Latency blocks per series and for all together (`service`: service-time blocks as well).
fn measure_with(
    store: &Store,
    run: &StoredRun,
    service: bool,
) -> crate::store::Result<Vec<Measured>> {
    let Some(summary) = &run.summary else {
        return Ok(Vec::new());
    };
    let builders = || {
        (
            BlockBuilder::for_seconds(summary.duration_s),
            BlockBuilder::for_seconds(summary.duration_s),
        )
    };
    let mut total = builders();
    // The series, then the journeys (their whole iterations, left out of the total).
    let rows = run.info.rows();
    let mut each: Vec<(BlockBuilder, BlockBuilder)> = rows.iter().map(|_| builders()).collect();
    let keys = run.info.keys.len();
    store.each_tick_buckets(run.row.id, service, &mut |t, series| {
        if t.warmup || t.seconds <= 0.0 {
            return;
        }
        let (mut requests, mut errors) = (0, 0);
        for (i, b) in each.iter_mut().enumerate() {
            // Series that did not answer this second still count it, empty.
            let s = series.iter().find(|s| s.series == i);
            let (r, e) = s.map_or((0, 0), |s| (s.requests, s.errors));
            b.0.second(r, e, t.seconds, |h| {
                s.inspect(|s| s.latency.record_into(h));
            });
            if service {
                b.1.second(r, e, t.seconds, |h| {
                    s.inspect(|s| s.service.record_into(h));
                });
            }
            if i < keys {
                requests += r;
                errors += e;
            }
        }
        let known = || series.iter().filter(|s| s.series < keys);
        total.0.second(requests, errors, t.seconds, |h| {
            known().for_each(|s| s.latency.record_into(h));
        });
        if service {
            total.1.second(requests, errors, t.seconds, |h| {
                known().for_each(|s| s.service.record_into(h));
            });
        }
    })?;
    let mut out = vec![Measured {
        name: "*".into(),
        blocks: total.0.finish(),
        service: total.1.finish(),
        figures: summary.total.clone(),
    }];
    for (k, b) in rows.iter().zip(each) {
        let name = format!("{}@{}", k.request, k.target);
        let listed = if k.is_journey() {
            &summary.journeys
        } else {
            &summary.endpoints
        };
        let Some(figures) = listed
            .iter()
            .find(|e| e.request == k.request && e.target == k.target)
        else {
            continue;
        };
        out.push(Measured {
            name,
            blocks: b.0.finish(),
            service: b.1.finish(),
            figures: figures.clone(),
        });
    }
    Ok(out)
}

fn seed_of(name: &str, metric: usize, run: i64) -> u64 {
    name.bytes()
        .chain(run.to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325u64 ^ metric as u64, |h, x| {
            (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3)
        })
}

/// Compares a candidate run with one baseline run (see [`compare_to_runs`]).
pub fn compare_runs(
    store: &Store,
    baseline: i64,
    candidate: i64,
) -> crate::store::Result<Comparison> {
    compare_to_runs(store, &[baseline], candidate)
}

/// Log of how much slower the candidate's CPU ran than the baseline runs' (geometric mean),
/// capped at twice; 0 when unmeasured or within [`SPEED_ALIKE`], as quiet reruns differ.
fn cpu_speed(candidate: Option<&Environment>, baselines: &[Environment]) -> f64 {
    let Some(c) = candidate else { return 0.0 };
    let logs: Vec<f64> = baselines
        .iter()
        .filter_map(|b| b.speed_of(c))
        .map(f64::ln)
        .collect();
    if logs.is_empty() {
        return 0.0;
    }
    let mean = logs.iter().sum::<f64>() / logs.len() as f64;
    if mean.abs() <= (1.0 + SPEED_ALIKE).ln() {
        0.0
    } else {
        mean.clamp(-MAX_SPEED.ln(), MAX_SPEED.ln())
    }
}

/// How the note on intervals too wide to judge begins (and how it is recognised).
const TOO_UNCERTAIN: &str = "too uncertain to judge";

/// A latency or rate measured this many times its baseline (or this fraction of it) is never
/// "no significant change", however wide the interval.
const TOO_WIDE: f64 = 2.0;

/// The most a CPU speed difference is allowed to explain: beyond twice, a run is not comparable
/// anyway and the note says how far apart they were.
const MAX_SPEED: f64 = 2.0;

/// Compares a candidate run with a baseline of one or more runs of the same scenario, request by
/// request (matched by request and target names). With several baseline runs, their own spread
/// is the run-to-run spread; with one, [`SINGLE_RUN_SPREAD`] stands in for it and a note says so.
pub fn compare_to_runs(
    store: &Store,
    baselines: &[i64],
    candidate: i64,
) -> crate::store::Result<Comparison> {
    let c = store.run(candidate)?;
    let cm = measure(store, &c)?;
    let mut bases = Vec::new();
    for id in baselines {
        let run = store.run(*id)?;
        let m = measure(store, &run)?;
        bases.push((run, m));
    }
    let mut notes = Vec::new();
    if baselines.len() == 1 {
        notes.push(format!(
            "one baseline run: run-to-run drift is taken to be {:.0} %, not measured; mark 3 or \
             more baseline runs (loadbench runs baseline A B C) to measure it",
            SINGLE_RUN_SPREAD * 100.0
        ));
    }
    let env = |r: &StoredRun| r.summary.as_ref().and_then(|s| s.environment.clone());
    let mut machine = Vec::new();
    for run in std::iter::once(&c).chain(bases.iter().map(|(r, _)| r)) {
        if let Some(why) = env(run).and_then(|e| e.noisy()) {
            machine.push(format!("during run #{}, {why}", run.row.id));
        }
    }
    if let Some(ce) = env(&c) {
        for (run, _) in &bases {
            if let Some(why) = env(run).and_then(|be| be.differs(&ce)) {
                machine.push(format!("against run #{}: {why}", run.row.id));
            }
        }
    }
    let speed = cpu_speed(
        env(&c).as_ref(),
        &bases.iter().filter_map(|(r, _)| env(r)).collect::<Vec<_>>(),
    );
    if speed != 0.0 {
        notes.push(format!(
            "the candidate's CPU ran {:.0} % {} than the baseline's (the same work took {:.2}× the \
             time): CPU-bound latency and rate may be {} by as much, so only a change beyond \
             that counts as the service's",
            (speed.abs().exp() - 1.0) * 100.0,
            if speed > 0.0 { "slower" } else { "faster" },
            speed.exp(),
            if speed > 0.0 { "worse" } else { "better" },
        ));
    }
    // What is left out, and why: a verdict on it would judge something else than the service.
    let open =
        c.info.model == Model::Open || bases.iter().any(|(r, _)| r.info.model == Model::Open);
    if open {
        notes.push(
            "rate not compared: open-model runs send the rate they are asked for; failures to \
             keep up show as errors, latency and requests not started"
                .into(),
        );
    }
    let mixed = cm.len() > 2;
    if mixed {
        notes.push(
            "latency of all requests together is not judged: with several requests it moves with \
             the mix of the run (random picks), not only with the service; each request is judged"
                .into(),
        );
    }
    let mut names = Vec::new();
    let mut judged: Vec<Vec<Judged>> = Vec::new();
    for cs in &cm {
        let sides: Option<Vec<(&Measured, i64)>> = bases
            .iter()
            .map(|(run, m)| {
                m.iter()
                    .find(|b| b.name == cs.name)
                    .map(|b| (b, run.row.id))
            })
            .collect();
        let Some(sides) = sides else { continue };
        let per_metric = METRICS
            .iter()
            .enumerate()
            .filter(|(_, def)| !(open && def.stat == Stat::Rate))
            .filter(|(_, def)| !(mixed && cs.name == "*" && matches!(def.stat, Stat::Quantile(_))))
            .map(|(i, def)| {
                let base_sides: Vec<Side<'_>> = sides
                    .iter()
                    .map(|(b, id)| Side {
                        blocks: &b.blocks,
                        shown: (def.shown)(&b.figures),
                        seed: seed_of(&cs.name, i, *id),
                    })
                    .collect();
                let cand = Side {
                    blocks: &cs.blocks,
                    shown: (def.shown)(&cs.figures),
                    seed: seed_of(&cs.name, i, candidate),
                };
                judge(def, &cand, &base_sides)
            })
            .collect();
        names.push(cs.name.clone());
        judged.push(per_metric);
    }
    let machine_allows = Machine {
        shared: !machine.is_empty(),
        speed,
    };
    settle(&mut judged, machine_allows);
    finish(
        baselines.first().copied().unwrap_or(0),
        baselines.to_vec(),
        None,
        candidate,
        names,
        judged,
        notes,
        machine,
    )
}

#[allow(clippy::too_many_arguments)]
fn finish(
    baseline: i64,
    baselines: Vec<i64>,
    benchmark: Option<String>,
    candidate: i64,
    names: Vec<String>,
    judged: Vec<Vec<Judged>>,
    mut notes: Vec<String>,
    machine: Vec<String>,
) -> crate::store::Result<Comparison> {
    let requests: Vec<(String, Vec<MetricChange>)> = names
        .into_iter()
        .zip(judged)
        .map(|(n, j)| (n, j.into_iter().map(|j| j.change).collect()))
        .collect();
    let any = |v: Verdict| {
        requests
            .iter()
            .any(|(_, ch)| ch.iter().any(|c| c.verdict == v))
    };
    let inconclusive = any(Verdict::Inconclusive);
    let wide: Vec<String> = requests
        .iter()
        .flat_map(|(n, ch)| ch.iter().map(move |c| (n, c)))
        .filter(|(_, c)| {
            c.verdict == Verdict::Inconclusive
                && c.metric != "error_rate"
                && (c.relative >= TOO_WIDE - 1.0 || c.relative <= 1.0 / TOO_WIDE - 1.0)
        })
        .map(|(n, c)| format!("{} of {}", c.metric, shown(n)))
        .collect();
    if !wide.is_empty() {
        notes.push(format!(
            "{TOO_UNCERTAIN} {}: measured at {TOO_WIDE}× its baseline or more, yet the interval \
             cannot confirm it (the baseline runs differ too much among themselves, or the runs \
             are short); mark baseline runs made on a quiet machine, or more of them",
            wide.join(", ")
        ));
    }
    if !machine.is_empty() {
        notes.push(format!(
            "the machine was shared or differed ({}): latency and rate changes must exceed {:.0} % \
             more drift to count, and smaller ones are inconclusive; rerun on a quiet machine to \
             judge them",
            machine.join("; "),
            MACHINE_SPREAD * 100.0
        ));
    }
    Ok(Comparison {
        baseline,
        baselines,
        benchmark,
        candidate,
        regressed: any(Verdict::Regressed),
        inconclusive,
        requests,
        notes,
    })
}

mod benchmark;
mod beside;
mod said;
pub use benchmark::compare_to_benchmark;
pub use beside::{BESIDE_COLUMNS, beside};
pub use said::shown;

#[cfg(test)]
mod tests;
