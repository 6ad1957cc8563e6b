//! A proxy layer's cost: one request sent direct and through a proxy in the same run, interleaved,
//! its latency quantiles subtracted, with intervals from the same seconds redrawn for both.

use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde::Serialize;

use super::resample::{Blocks, MIN_BLOCKS, Stat};
use crate::store::{Store, StoredRun};

/// The quantiles an overhead is given at.
pub const QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];

/// Redraws per interval.
const RESAMPLES: usize = 1000;

/// What a proxy adds to one request at one quantile, ms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Added {
    /// The quantile (0.5 = p50).
    pub quantile: f64,
    /// The request's latency at that quantile, direct.
    pub direct_ms: f64,
    /// The same through the proxy.
    pub proxied_ms: f64,
    /// Proxied minus direct.
    pub added_ms: f64,
    /// A 95 % interval of the added time (seconds redrawn in blocks, the same for both sides);
    /// `None` for a run too short to redraw.
    pub interval_ms: Option<(f64, f64)>,
}

/// One request direct and through a proxy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overhead {
    /// The request's name.
    pub request: String,
    /// The target it went to direct.
    pub direct: String,
    /// The target that went through the proxy.
    pub proxied: String,
    /// The proxy's URL.
    pub proxy: String,
    /// At p50, p95 and p99.
    pub added: Vec<Added>,
}

/// Column names of [`rows`].
pub const COLUMNS: [&str; 6] = [
    "request",
    "direct",
    "via proxy",
    "added p50",
    "added p95",
    "added p99",
];

/// The proxy overhead of every request a run sent both direct and through a proxy; empty for a
/// run without a proxied target.
pub fn proxy_overhead(store: &Store, run: &StoredRun) -> crate::store::Result<Vec<Overhead>> {
    let proxies = &run.info.proxies;
    if proxies.is_empty() {
        return Ok(Vec::new());
    }
    let measured = super::compare::measure(store, run)?;
    let blocks = |request: &str, target: &str| {
        let name = format!("{request}@{target}");
        measured.iter().find(|m| m.name == name).map(|m| &m.blocks)
    };
    let mut out = Vec::new();
    for (i, key) in run.info.keys.iter().enumerate() {
        let Some((_, proxy)) = proxies.iter().find(|(t, _)| *t == key.target) else {
            continue;
        };
        // The first target this request went to without a proxy.
        let direct = run
            .info
            .keys
            .iter()
            .find(|k| k.request == key.request && !proxies.iter().any(|(t, _)| *t == k.target));
        let Some(direct) = direct else { continue };
        let (Some(d), Some(p)) = (
            blocks(&direct.request, &direct.target),
            blocks(&key.request, &key.target),
        ) else {
            continue;
        };
        let added = QUANTILES
            .iter()
            .filter_map(|&q| added(d, p, q, seed(run.row.id, i, q)))
            .collect::<Vec<_>>();
        if added.is_empty() {
            continue;
        }
        out.push(Overhead {
            request: key.request.clone(),
            direct: direct.target.clone(),
            proxied: key.target.clone(),
            proxy: proxy.clone(),
            added,
        });
    }
    Ok(out)
}

/// One quantile's added time, its interval from the same blocks drawn for both sides.
fn added(direct: &Blocks, proxied: &Blocks, q: f64, seed: u64) -> Option<Added> {
    let stat = Stat::Quantile(q);
    let direct_ms = direct.stat(stat, &direct.all())?;
    let proxied_ms = proxied.stat(stat, &proxied.all())?;
    let n = direct.len();
    let interval_ms = (n == proxied.len() && n >= MIN_BLOCKS)
        .then(|| {
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut times = vec![0u32; n];
            let mut diffs = Vec::with_capacity(RESAMPLES);
            for _ in 0..RESAMPLES {
                super::resample::redraw(&mut rng, &mut times);
                if let (Some(a), Some(b)) = (direct.stat(stat, &times), proxied.stat(stat, &times))
                {
                    diffs.push(b - a);
                }
            }
            if diffs.len() < RESAMPLES / 2 {
                return None;
            }
            diffs.sort_by(f64::total_cmp);
            let at = |p: f64| to_us(diffs[((diffs.len() - 1) as f64 * p).round() as usize]);
            Some((at(0.025), at(0.975)))
        })
        .flatten();
    Some(Added {
        quantile: q,
        direct_ms,
        proxied_ms,
        added_ms: to_us(proxied_ms - direct_ms),
        interval_ms,
    })
}

/// Milliseconds kept to whole microseconds (what the histograms hold), without float residue.
fn to_us(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

fn seed(run: i64, series: usize, q: f64) -> u64 {
    (run as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ ((series as u64) << 16) ^ q.to_bits()
}

/// Table rows: the request, its two targets, then each quantile's added time with its interval.
pub fn rows(overheads: &[Overhead]) -> Vec<Vec<String>> {
    overheads
        .iter()
        .map(|o| {
            let mut row = vec![
                o.request.clone(),
                o.direct.clone(),
                format!("{} ({})", o.proxied, o.proxy),
            ];
            for q in QUANTILES {
                row.push(
                    o.added
                        .iter()
                        .find(|a| a.quantile == q)
                        .map_or_else(|| "-".into(), cell),
                );
            }
            row
        })
        .collect()
}

/// `+2.10 ms (2.02 – 2.19)`: the added time and its interval.
fn cell(a: &Added) -> String {
    let ms = |v: f64| {
        let sign = if v < 0.0 { "−" } else { "+" };
        format!("{sign}{}", crate::format::micros(v.abs() * 1000.0))
    };
    match a.interval_ms {
        Some((lo, hi)) => format!("{} ({} to {})", ms(a.added_ms), ms(lo), ms(hi)),
        None => ms(a.added_ms),
    }
}

/// What the overhead section says before its table.
pub const INTRO: &str = "The same request sent direct and through a forward proxy in one run, \
interleaved request by request, so both saw the same seconds: what the proxy layer adds at each \
quantile (through the proxy minus direct), with a 95 % interval from the run's seconds redrawn \
in blocks, the same draw for both sides.";
