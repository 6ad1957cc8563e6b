//! The Universal Scalability Law fitted to (concurrency, throughput) points: how much of the
//! slowdown is contention (σ, queueing for a shared resource) and how much coherency (κ, the
//! cost of keeping workers in step), and where throughput peaks.
//!
//! X(N) = λN / (1 + σ(N − 1) + κN(N − 1)) (Gunther). N/X is linear in (1, N − 1, N(N − 1)), so
//! λ, σ and κ come from an ordinary least-squares fit of that line, refined by Gauss–Newton
//! steps on the relative error of X itself; σ and κ are kept at or above zero.

use serde::Serialize;

/// Fewest distinct concurrency levels a fit is made from: three parameters need a fourth point
/// to say anything about the fit's error.
pub const MIN_LEVELS: usize = 4;

/// How far past the highest measured concurrency a predicted peak is still reported.
const PEAK_REACH: f64 = 10.0;

/// A fitted curve and what it predicts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Usl {
    /// Throughput of one worker alone, per second (λ).
    pub lambda: f64,
    /// Contention: the share of the work that queues for something shared (σ).
    pub sigma: f64,
    /// Coherency: the cost, per pair of workers, of keeping them consistent (κ).
    pub kappa: f64,
    /// The concurrency at which throughput peaks (None when κ is 0, or the peak would lie more
    /// than ten times beyond the highest concurrency measured: it only levels off there).
    pub peak_concurrency: Option<f64>,
    /// The highest throughput the curve reaches (at the peak, or the ceiling λ/σ it approaches;
    /// None when neither exists: the points show no slowdown at all).
    pub peak_throughput: Option<f64>,
    /// Root mean square of the relative differences between the points and the curve.
    pub error: f64,
    /// Points fitted.
    pub points: usize,
}

impl Usl {
    /// Throughput the curve predicts at concurrency `n`.
    pub fn throughput(&self, n: f64) -> f64 {
        self.lambda * n / (1.0 + self.sigma * (n - 1.0) + self.kappa * n * (n - 1.0))
    }

    /// The fit in one line, for logs and the window.
    pub fn describe(&self) -> String {
        let peak = match (self.peak_concurrency, self.peak_throughput) {
            (Some(n), Some(x)) => {
                format!("peak {} at concurrency {:.1}", crate::format::rate(x), n)
            }
            (None, Some(x)) => format!(
                "levels off towards {} (no retrograde part)",
                crate::format::rate(x)
            ),
            _ => "no slowdown in these points".to_string(),
        };
        format!(
            "USL: σ {:.4} (contention), κ {:.6} (coherency), λ {} per worker; {peak}; fit error {:.1} %",
            self.sigma,
            self.kappa,
            crate::format::rate(self.lambda),
            self.error * 100.0
        )
    }
}

/// Solves the 3×3 system `a · x = b` (Cramer's rule); None when singular.
fn solve3(a: [[f64; 3]; 3], b: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(a);
    if !d.is_finite() || d.abs() < 1e-300 {
        return None;
    }
    let mut out = [0.0; 3];
    for (i, o) in out.iter_mut().enumerate() {
        let mut m = a;
        for r in 0..3 {
            m[r][i] = b[r];
        }
        *o = det(m) / d;
    }
    Some(out)
}

/// Least squares of `y ≈ Σ c_j f_j(N)` over the features kept (`use_`), weighted.
fn linear(points: &[(f64, f64)], use_: [bool; 3]) -> Option<[f64; 3]> {
    let feats = |n: f64| [1.0, n - 1.0, n * (n - 1.0)];
    let mut a = [[0.0; 3]; 3];
    let mut b = [0.0; 3];
    for &(n, x) in points {
        let y = n / x;
        // N/X grows with N; weighting by 1/y² fits relative, not absolute, differences.
        let w = 1.0 / (y * y);
        let f = feats(n);
        for i in 0..3 {
            for j in 0..3 {
                a[i][j] += w * f[i] * f[j];
            }
            b[i] += w * f[i] * y;
        }
    }
    // A feature left out: its row and column become the identity, its coefficient 0.
    for (k, used) in use_.iter().enumerate() {
        if !used {
            a[k] = [0.0; 3];
            for row in a.iter_mut() {
                row[k] = 0.0;
            }
            a[k][k] = 1.0;
            b[k] = 0.0;
        }
    }
    solve3(a, b)
}

fn relative_error(u: &Usl, points: &[(f64, f64)]) -> f64 {
    let sum: f64 = points
        .iter()
        .map(|&(n, x)| ((u.throughput(n) - x) / x).powi(2))
        .sum();
    (sum / points.len() as f64).sqrt()
}

fn curve(c: [f64; 3], points: &[(f64, f64)]) -> Option<Usl> {
    let [a, b, k] = c;
    if !(a.is_finite() && a > 0.0 && b.is_finite() && k.is_finite()) {
        return None;
    }
    let mut u = Usl {
        lambda: 1.0 / a,
        sigma: (b / a).max(0.0),
        kappa: (k / a).max(0.0),
        peak_concurrency: None,
        peak_throughput: None,
        error: 0.0,
        points: points.len(),
    };
    u.error = relative_error(&u, points);
    Some(u)
}

/// Gauss–Newton steps on the relative error of X over (λ, σ, κ), kept at σ, κ ≥ 0; stops when a
/// step no longer helps.
fn refine(mut u: Usl, points: &[(f64, f64)]) -> Usl {
    for _ in 0..50 {
        let mut jtj = [[0.0; 3]; 3];
        let mut jtr = [0.0; 3];
        for &(n, x) in points {
            let den = 1.0 + u.sigma * (n - 1.0) + u.kappa * n * (n - 1.0);
            let pred = u.lambda * n / den;
            let r = (pred - x) / x;
            // d pred / d(λ, σ, κ), divided by x for the relative residual.
            let g = [
                n / den / x,
                -pred * (n - 1.0) / den / x,
                -pred * n * (n - 1.0) / den / x,
            ];
            for i in 0..3 {
                for j in 0..3 {
                    jtj[i][j] += g[i] * g[j];
                }
                jtr[i] += g[i] * r;
            }
        }
        for (i, row) in jtj.iter_mut().enumerate() {
            row[i] *= 1.0 + 1e-9;
        }
        let Some(step) = solve3(jtj, jtr) else { break };
        let next = Usl {
            lambda: u.lambda - step[0],
            sigma: (u.sigma - step[1]).max(0.0),
            kappa: (u.kappa - step[2]).max(0.0),
            ..u.clone()
        };
        // NaN compares false: a step to nowhere ends the refinement like a step that is worse.
        if next.lambda.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            break;
        }
        let e = relative_error(&next, points);
        if e.partial_cmp(&(u.error - 1e-12)) != Some(std::cmp::Ordering::Less) {
            break;
        }
        u = Usl { error: e, ..next };
    }
    u
}

/// Fits the law to `(concurrency, throughput)` points; says why not when it cannot (fewer than
/// [`MIN_LEVELS`] distinct concurrency levels, or points that are not positive).
pub fn fit(points: &[(f64, f64)]) -> Result<Usl, String> {
    let points: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(n, x)| n.is_finite() && x.is_finite() && *n > 0.0 && *x > 0.0)
        .collect();
    let mut levels: Vec<f64> = points.iter().map(|p| p.0).collect();
    levels.sort_by(f64::total_cmp);
    // Levels within 2 % of each other are one level: they say nothing new about the curve.
    levels.dedup_by(|a, b| (*a - *b).abs() <= 0.02 * b.abs().max(1e-9));
    if levels.len() < MIN_LEVELS {
        return Err(format!(
            "{} distinct concurrency level(s) with throughput; the fit needs at least {MIN_LEVELS} \
             (more steps, or a staged ramp with {MIN_LEVELS} or more plateaus)",
            levels.len()
        ));
    }
    // Every way of keeping σ, κ ≥ 0: the free fit, or with one or both held at zero.
    let tries = [
        [true, true, true],
        [true, true, false],
        [true, false, true],
        [true, false, false],
    ];
    let best = tries
        .iter()
        .filter_map(|u| linear(&points, *u).and_then(|c| curve(c, &points)))
        .map(|u| refine(u, &points))
        .min_by(|a, b| a.error.total_cmp(&b.error))
        .ok_or("the points do not determine a curve")?;
    let mut u = best;
    let widest = levels.last().copied().unwrap_or(1.0);
    let peak = (u.kappa > 0.0 && u.sigma < 1.0)
        .then(|| ((1.0 - u.sigma) / u.kappa).sqrt())
        // A peak far beyond every level measured is the fit's arithmetic, not evidence.
        .filter(|n| *n <= PEAK_REACH * widest);
    match peak {
        Some(n) => {
            u.peak_concurrency = Some(n);
            u.peak_throughput = Some(u.throughput(n));
        }
        None if u.sigma > 1e-9 => u.peak_throughput = Some(u.lambda / u.sigma),
        None => {}
    }
    Ok(u)
}

/// The levels of a closed-model run with stages (a staged ramp): per number of virtual users,
/// (users, successful responses per second, median of the seconds' p95 in ms), from its measured
/// seconds — the points a fit of the law takes.
pub fn levels(ticks: &[crate::metrics::TickSummary]) -> Vec<(f64, f64, f64)> {
    let mut by: std::collections::BTreeMap<u64, (f64, f64, Vec<f64>)> = Default::default();
    // A plateau second starts and ends at the same number of users (the tick before ended at
    // it): a ramp's seconds, passing between levels, would blur them.
    let plateau = ticks
        .windows(2)
        .filter(|w| (w[0].target - w[1].target).abs() < 0.5)
        .map(|w| &w[1]);
    for t in plateau.filter(|t| !t.warmup && t.seconds >= 0.5) {
        let vus = t.target.round();
        if vus < 1.0 {
            continue;
        }
        let e = by.entry(vus as u64).or_default();
        e.0 += t.requests.saturating_sub(t.errors) as f64;
        e.1 += t.seconds;
        if t.latency_us[2] > 0 {
            e.2.push(t.latency_us[2] as f64 / 1000.0);
        }
    }
    // A level held for less than two seconds is a ramp passing through, not a plateau.
    by.into_iter()
        .filter(|(_, (_, secs, _))| *secs >= 2.0)
        .map(|(vus, (ok, secs, mut p95))| {
            p95.sort_by(f64::total_cmp);
            let mid = p95.get(p95.len() / 2).copied().unwrap_or(0.0);
            (vus as f64, ok / secs, mid)
        })
        .collect()
}

/// The levels of an open-model run with stages: per offered rate held two seconds or more,
/// (offered rate, concurrency by Little's law — requests per second × their mean latency —,
/// successful responses per second, median of the seconds' p95 in ms). Concurrency is what the
/// law is fitted against, since an open model sets the rate and the server sets the rest.
pub fn open_levels(ticks: &[crate::metrics::Tick]) -> Vec<(f64, f64, f64, f64)> {
    let mut levels = OpenLevels::default();
    ticks.iter().for_each(|t| levels.push(t));
    levels.finish()
}

/// [`open_levels`] a tick at a time, so a long run's levels need no more than one tick held.
#[derive(Default)]
pub struct OpenLevels {
    by: std::collections::BTreeMap<u64, Level>,
    /// The previous tick's offered rate: a plateau second offers what the one before did.
    prev: Option<f64>,
}

#[derive(Default)]
struct Level {
    ok: f64,
    requests: f64,
    latency_s: f64,
    seconds: f64,
    p95: Vec<f64>,
}

impl OpenLevels {
    /// Takes the next tick.
    pub fn push(&mut self, t: &crate::metrics::Tick) {
        let total = t.total();
        let mut latency = crate::metrics::Buckets::default();
        latency.add_histogram(&total.latency);
        self.push_buckets(t, total.requests, total.errors, &mut latency);
    }

    /// [`OpenLevels::push`] with the tick's series already added together: their requests,
    /// errors and latency.
    pub fn push_buckets(
        &mut self,
        t: &crate::metrics::Tick,
        requests: u64,
        errors: u64,
        latency: &mut crate::metrics::Buckets,
    ) {
        let plateau = self
            .prev
            .replace(t.target)
            .is_some_and(|prev| (prev - t.target).abs() <= (t.target * 0.005).max(0.5));
        if !plateau || t.warmup || t.seconds < 0.5 || t.target < 0.5 {
            return;
        }
        if latency.is_empty() {
            return;
        }
        let e = self.by.entry(t.target.round() as u64).or_default();
        e.ok += requests.saturating_sub(errors) as f64;
        e.requests += latency.len() as f64;
        e.latency_s += latency.mean() * latency.len() as f64 / 1e6;
        e.seconds += t.seconds;
        e.p95.push(latency.value_at_quantile(0.95) as f64 / 1000.0);
    }

    /// The levels held two seconds or more, by offered rate.
    pub fn finish(self) -> Vec<(f64, f64, f64, f64)> {
        self.by
            .into_iter()
            .filter(|(_, l)| l.seconds >= 2.0 && l.requests > 0.0)
            .map(|(rate, mut l)| {
                l.p95.sort_by(f64::total_cmp);
                let mid = l.p95.get(l.p95.len() / 2).copied().unwrap_or(0.0);
                (rate as f64, l.latency_s / l.seconds, l.ok / l.seconds, mid)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_levels_take_concurrency_from_littles_law() {
        use crate::metrics::{Stats, Tick};
        // 100/s then 200/s, each held 3 s; every request takes 20 ms then 50 ms: 2 then 10 in flight.
        let tick = |i: u32, rate: f64, ms: u64| {
            let mut s = Stats::default();
            for _ in 0..rate as u64 {
                s.record_response(200, ms * 1000, ms * 1000, None);
            }
            Tick {
                index: i,
                end: f64::from(i),
                seconds: 1.0,
                drain: 0.0,
                warmup: false,
                target: rate,
                in_flight: 0,
                not_started: 0,
                stats: vec![s],
                journeys: Vec::new(),
            }
        };
        let ticks: Vec<Tick> = (1..=3)
            .map(|i| tick(i, 100.0, 20))
            .chain((4..=7).map(|i| tick(i, 200.0, 50)))
            .collect();
        let levels = open_levels(&ticks);
        assert_eq!(levels.len(), 2, "{levels:?}");
        let (rate, n, x, p95) = levels[1];
        assert_eq!(rate, 200.0);
        assert!((n - 10.0).abs() < 0.05, "{n}");
        assert!((x - 200.0).abs() < 1e-9);
        assert!((p95 - 50.0).abs() < 0.1);
        assert!(
            (levels[0].1 - 2.0).abs() < 0.01,
            "the first second of a level is its ramp"
        );
    }

    fn synthetic(lambda: f64, sigma: f64, kappa: f64, noise: &[f64]) -> Vec<(f64, f64)> {
        let truth = Usl {
            lambda,
            sigma,
            kappa,
            peak_concurrency: None,
            peak_throughput: None,
            error: 0.0,
            points: 0,
        };
        // From one worker to past the peak, as a capacity search or a ramp goes.
        [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]
            .iter()
            .zip(noise.iter().cycle())
            .map(|(&n, e)| (n, truth.throughput(n) * (1.0 + e)))
            .collect()
    }

    #[test]
    fn recovers_sigma_and_kappa_within_five_percent() {
        let close = |got: f64, want: f64, within: f64| (got / want - 1.0).abs() < within;
        for (sigma, kappa) in [(0.05f64, 0.0002f64), (0.02, 0.001), (0.1, 0.00005)] {
            let n_star = ((1.0 - sigma) / kappa).sqrt();
            // Exact points: the parameters themselves.
            let u = fit(&synthetic(1000.0, sigma, kappa, &[0.0])).expect("fits");
            assert!(
                close(u.sigma, sigma, 0.001) && close(u.kappa, kappa, 0.001),
                "{u:?}"
            );
            // ±1 % measurement noise: σ and the peak within 5 %. κ too where the peak is sharp;
            // a flat peak (κ 0.00005, at concurrency 134) pins κ least of all, within 15 %.
            let u = fit(&synthetic(
                1000.0,
                sigma,
                kappa,
                &[0.01, -0.01, 0.005, -0.005],
            ))
            .expect("fits");
            let kappa_within = if kappa < 0.0001 { 0.15 } else { 0.05 };
            assert!(close(u.sigma, sigma, 0.05), "σ {} vs {sigma}", u.sigma);
            assert!(
                close(u.kappa, kappa, kappa_within),
                "κ {} vs {kappa}",
                u.kappa
            );
            let peak = u.peak_concurrency.expect("a peak");
            assert!(close(peak, n_star, 0.1), "peak at {peak} vs {n_star}");
            let x_star = fit(&synthetic(1000.0, sigma, kappa, &[0.0]))
                .expect("fits")
                .throughput(n_star);
            assert!(close(u.peak_throughput.expect("peak"), x_star, 0.02));
            assert!(u.error < 0.02, "fit error {}", u.error);
        }
    }

    #[test]
    fn an_amdahl_curve_levels_off_and_linear_points_have_no_ceiling() {
        let pts = synthetic(500.0, 0.1, 0.0, &[0.0]);
        let u = fit(&pts).expect("fits");
        assert!(u.kappa < 1e-6 && u.peak_concurrency.is_none(), "{u:?}");
        let ceiling = u.peak_throughput.expect("a ceiling");
        assert!((ceiling / 5000.0 - 1.0).abs() < 0.02, "λ/σ = {ceiling}");
        let linear: Vec<(f64, f64)> = [1.0, 2.0, 3.0, 4.0, 5.0]
            .iter()
            .map(|&n| (n, 100.0 * n))
            .collect();
        let u = fit(&linear).expect("fits");
        assert!(
            u.sigma < 1e-6 && u.kappa < 1e-6 && u.peak_throughput.is_none(),
            "{u:?}"
        );
    }

    #[test]
    fn fewer_than_four_levels_are_refused_with_the_reason() {
        let e = fit(&[(1.0, 100.0), (2.0, 190.0), (2.01, 191.0), (4.0, 340.0)]).unwrap_err();
        assert!(e.contains("3 distinct concurrency level(s)"), "{e}");
        assert!(fit(&[(1.0, f64::NAN), (2.0, 0.0)]).is_err());
    }
}
