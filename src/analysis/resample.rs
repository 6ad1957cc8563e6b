//! A run's measured seconds grouped into consecutive blocks and redrawn: the run-level figures a
//! report shows (the p99 of all its responses, its rate, its error share) with their spread over
//! re-drawn runs, keeping whatever clusters in time (a stall, a slow minute) inside its block.

use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::metrics::new_histogram;

/// Blocks a run is cut into: enough to estimate a spread, few enough that each block is long
/// enough to keep the run's slow stretches together.
pub const TARGET_BLOCKS: usize = 30;
/// Blocks each side needs before anything is judged: below this, a resampled spread is too
/// unreliable to trust (a bootstrap over 3 values badly understates it).
pub const MIN_BLOCKS: usize = 10;
/// Redraws per spread.
const RESAMPLES: usize = 1000;

/// What is computed from a set of blocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// A latency quantile (0–1) of every response, ms, as HdrHistogram reads it.
    Quantile(f64),
    /// Requests per second.
    Rate,
    /// Errors ÷ requests.
    ErrorRate,
}

/// Draws as many blocks as there are, with replacement: `times[b]` is how often block `b` came.
pub fn redraw(rng: &mut SmallRng, times: &mut [u32]) {
    let n = times.len() as u64;
    times.iter_mut().for_each(|t| *t = 0);
    for _ in 0..n {
        // An index from 32 random bits by multiply-and-shift (no rejection loop).
        times[((u64::from(rng.next_u32()) * n) >> 32) as usize] += 1;
    }
}

/// One series of one run, in blocks of consecutive seconds, ready to be redrawn.
#[derive(Debug, Clone, Default)]
pub struct Blocks {
    /// A figure known exactly (a benchmark's): no blocks, no spread of its own.
    fixed: bool,
    /// Every latency value recorded, as the highest value of its histogram bucket (µs), ascending.
    grid: Vec<u64>,
    /// Per block: how many responses were at or below each grid value.
    cdf: Vec<Vec<u64>>,
    requests: Vec<u64>,
    errors: Vec<u64>,
    seconds: Vec<f64>,
}

/// Collects seconds into blocks as they are read.
pub struct BlockBuilder {
    per_block: usize,
    open: (Histogram<u64>, u64, u64, f64, usize),
    done: Vec<(Histogram<u64>, u64, u64, f64)>,
}

impl BlockBuilder {
    /// Blocks for a run of about `seconds` measured seconds.
    pub fn for_seconds(seconds: f64) -> BlockBuilder {
        let n = seconds.round().max(1.0) as usize;
        BlockBuilder {
            per_block: n.div_ceil(TARGET_BLOCKS).max(1),
            open: (new_histogram(), 0, 0, 0.0, 0),
            done: Vec::new(),
        }
    }

    /// Adds one measured second: its requests, errors and length, its latency recorded by `fill`
    /// into the open block's histogram.
    pub fn second(
        &mut self,
        requests: u64,
        errors: u64,
        seconds: f64,
        fill: impl FnOnce(&mut Histogram<u64>),
    ) {
        let o = &mut self.open;
        fill(&mut o.0);
        o.1 += requests;
        o.2 += errors;
        o.3 += seconds;
        o.4 += 1;
        if o.4 >= self.per_block {
            let (h, r, e, s, _) = std::mem::replace(o, (new_histogram(), 0, 0, 0.0, 0));
            self.done.push((h, r, e, s));
        }
    }

    /// The blocks; a last block shorter than half the others joins the one before it.
    pub fn finish(mut self) -> Blocks {
        let (h, r, e, s, n) = self.open;
        if n > 0 {
            match self.done.last_mut() {
                Some(last) if n * 2 < self.per_block => {
                    let _ = last.0.add(&h);
                    last.1 += r;
                    last.2 += e;
                    last.3 += s;
                }
                _ => self.done.push((h, r, e, s)),
            }
        }
        let mut grid: Vec<u64> = self
            .done
            .iter()
            .flat_map(|(h, ..)| h.iter_recorded().map(|v| v.value_iterated_to()))
            .collect();
        grid.sort_unstable();
        grid.dedup();
        let cdf = self
            .done
            .iter()
            .map(|(h, ..)| {
                let mut c = vec![0u64; grid.len()];
                for v in h.iter_recorded() {
                    if let Ok(i) = grid.binary_search(&v.value_iterated_to()) {
                        c[i] += v.count_at_value();
                    }
                }
                for i in 1..c.len() {
                    c[i] += c[i - 1];
                }
                c
            })
            .collect();
        Blocks {
            fixed: false,
            grid,
            cdf,
            requests: self.done.iter().map(|b| b.1).collect(),
            errors: self.done.iter().map(|b| b.2).collect(),
            seconds: self.done.iter().map(|b| b.3).collect(),
        }
    }
}

impl Blocks {
    /// The stand-in for a single known figure.
    pub const fn fixed() -> Blocks {
        Blocks {
            fixed: true,
            grid: Vec::new(),
            cdf: Vec::new(),
            requests: Vec::new(),
            errors: Vec::new(),
            seconds: Vec::new(),
        }
    }

    /// Whether this stands for a single known figure.
    pub fn is_fixed(&self) -> bool {
        self.fixed
    }

    /// How many blocks.
    pub fn len(&self) -> usize {
        self.seconds.len()
    }

    /// Whether there is no block.
    pub fn is_empty(&self) -> bool {
        self.seconds.is_empty()
    }

    /// Latency values recorded.
    pub fn responses(&self) -> u64 {
        self.cdf
            .iter()
            .map(|c| c.last().copied().unwrap_or(0))
            .sum()
    }

    /// The statistic over the blocks taken `times[b]` times each (all ones: the run itself);
    /// `None` when there is nothing to compute it from.
    pub fn stat(&self, stat: Stat, times: &[u32]) -> Option<f64> {
        let weighted =
            |v: &[u64]| -> u64 { v.iter().zip(times).map(|(x, m)| x * u64::from(*m)).sum() };
        match stat {
            Stat::Rate => {
                let secs: f64 = self
                    .seconds
                    .iter()
                    .zip(times)
                    .map(|(s, m)| s * f64::from(*m))
                    .sum();
                (secs > 0.0).then(|| weighted(&self.requests) as f64 / secs)
            }
            Stat::ErrorRate => {
                let n = weighted(&self.requests);
                (n > 0).then(|| weighted(&self.errors) as f64 / n as f64)
            }
            Stat::Quantile(q) => {
                let last = self.grid.len().checked_sub(1)?;
                let at = |i: usize| -> u64 {
                    self.cdf
                        .iter()
                        .zip(times)
                        .map(|(c, m)| c[i] * u64::from(*m))
                        .sum()
                };
                let total = at(last);
                if total == 0 {
                    return None;
                }
                // HdrHistogram's rule: the value of the ceil(q·N)-th response, at least the first.
                let rank = ((q * total as f64).ceil() as u64).max(1);
                let (mut lo, mut hi) = (0usize, last);
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    if at(mid) >= rank {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                Some(self.grid[lo] as f64 / 1000.0)
            }
        }
    }

    /// The standard deviation of the statistic over redrawn runs (blocks drawn with replacement),
    /// on a log scale for latency and rate (`log`), as is for error shares.
    pub fn spread(&self, stat: Stat, log: bool, seed: u64) -> Option<f64> {
        if self.fixed {
            return Some(0.0);
        }
        let n = self.len();
        if n == 0 {
            return None;
        }
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut times = vec![0u32; n];
        let mut values = Vec::with_capacity(RESAMPLES);
        for _ in 0..RESAMPLES {
            redraw(&mut rng, &mut times);
            let Some(v) = self.stat(stat, &times) else {
                continue;
            };
            if log {
                if v > 0.0 {
                    values.push(v.ln());
                }
            } else {
                values.push(v);
            }
        }
        if values.len() < RESAMPLES / 2 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let var =
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64;
        Some(var.sqrt())
    }

    /// Every block once.
    pub fn all(&self) -> Vec<u32> {
        vec![1; self.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(values: &[u64]) -> Histogram<u64> {
        let mut h = new_histogram();
        for v in values {
            crate::metrics::record(&mut h, *v);
        }
        h
    }

    #[test]
    fn the_whole_run_reads_as_hdrhistogram_reads_the_merged_run() {
        let mut b = BlockBuilder::for_seconds(95.0);
        let mut merged = new_histogram();
        for s in 0..95u64 {
            let vals: Vec<u64> = (0..50).map(|i| 1000 + (s * 37 + i * 101) % 9000).collect();
            let h = second(&vals);
            let _ = merged.add(&h);
            b.second(50, s % 3, 1.0, |o| {
                let _ = o.add(&h);
            });
        }
        let blocks = b.finish();
        // 95 seconds in blocks of 4: 23 full blocks and a last of 3 (kept: over half a block).
        assert_eq!(blocks.len(), 24);
        for q in [0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            assert_eq!(
                blocks.stat(Stat::Quantile(q), &blocks.all()),
                Some(merged.value_at_quantile(q) as f64 / 1000.0),
                "q {q}"
            );
        }
        assert_eq!(blocks.stat(Stat::Rate, &blocks.all()), Some(50.0));
        let errors: u64 = (0..95).map(|s| s % 3).sum();
        let er = blocks.stat(Stat::ErrorRate, &blocks.all()).expect("rate");
        assert!((er - errors as f64 / 4750.0).abs() < 1e-12);
    }

    #[test]
    fn a_recurring_stall_keeps_its_weight_in_redrawn_runs() {
        // 60 s of 200 responses a second at 1 ms, with a 1 s stall every 10 s: every response due
        // in a stalled second waits for its end, 1000 ms down to 0 (10 % of the run). The run's
        // p99 is the stall's, and redrawn runs keep it there.
        let mut b = BlockBuilder::for_seconds(60.0);
        for s in 0..60 {
            let vals: Vec<u64> = (0..200u64)
                .map(|i| {
                    if s % 10 == 3 {
                        1_000 + (200 - i) * 5_000
                    } else {
                        1_000
                    }
                })
                .collect();
            b.second(200, 0, 1.0, |o| {
                vals.iter().for_each(|v| crate::metrics::record(o, *v))
            });
        }
        let blocks = b.finish();
        let p99 = blocks
            .stat(Stat::Quantile(0.99), &blocks.all())
            .expect("p99");
        assert!((800.0..1000.0).contains(&p99), "{p99}");
        let sd = blocks
            .spread(Stat::Quantile(0.99), true, 1)
            .expect("spread");
        assert!(sd < 0.5, "log spread {sd}: redraws keep the stall in p99");
        let sd50 = blocks.spread(Stat::Quantile(0.5), true, 1).expect("spread");
        assert!(sd50 < 0.01, "the median never moves: {sd50}");
    }
}
