//! One engine thread's share of the open model's schedule: when its k-th request is due, evenly
//! spaced or as a Poisson process.

use crate::scenario::{Arrivals, Profile, Schedule};

/// A cursor over one worker's slots. The dispatcher and the connections each walk their own
/// cursor over the same slots; both must give slot k the same time, so the Poisson draws are a
/// function of (seed, k), not of who asks first.
#[derive(Debug, Clone)]
pub(crate) struct Slots {
    schedule: Schedule,
    id: u64,
    workers: u64,
    poisson: Option<Poisson>,
}

/// Running sum of exponential gaps: after slot `next - 1`, `sum` is its arrival in units of the
/// worker's expected count.
#[derive(Debug, Clone)]
struct Poisson {
    seed: u64,
    next: u64,
    sum: f64,
}

impl Slots {
    /// Worker `id` of `workers`: even spacing takes every `workers`-th slot of the whole schedule;
    /// Poisson gives each worker its own process at 1/`workers` of the rate (the superposition of
    /// independent Poisson processes is a Poisson process of the summed rate).
    pub(crate) fn new(
        profile: &Profile,
        arrivals: Arrivals,
        id: usize,
        workers: usize,
        seed: u64,
    ) -> Slots {
        Slots {
            schedule: Schedule::new(profile),
            id: id as u64,
            workers: workers.max(1) as u64,
            poisson: matches!(arrivals, Arrivals::Poisson).then_some(Poisson {
                seed,
                next: 0,
                sum: 0.0,
            }),
        }
    }

    /// Seconds from the start at which slot `k` is due, or `None` past the schedule's end.
    /// Calls must not go backwards in `k`.
    pub(crate) fn time_of(&mut self, k: u64) -> Option<f64> {
        match &mut self.poisson {
            None => self.schedule.time_of(k * self.workers + self.id),
            Some(p) => {
                debug_assert!(k + 1 >= p.next, "Poisson slots walked backwards");
                while p.next <= k {
                    p.sum += exponential(p.seed, p.next);
                    p.next += 1;
                }
                self.schedule.time_at(p.sum * self.workers as f64)
            }
        }
    }

    /// How many of this worker's slots are due before `t` seconds, counting from slot `from`
    /// (which the caller knows is due at or after where this cursor stands).
    pub(crate) fn due_before(&mut self, from: u64, t: f64, profile: &Profile) -> u64 {
        if self.poisson.is_none() {
            // Slot n of the whole schedule is due before t exactly when n < count_until(t).
            let all = profile.count_until(t).ceil().max(0.0) as u64;
            let mine = all.saturating_sub(self.id).div_ceil(self.workers);
            return mine.saturating_sub(from);
        }
        let mut k = from;
        while self.time_of(k).is_some_and(|at| at < t) {
            k += 1;
        }
        k - from
    }
}

/// An Exp(1) draw for slot `k`: the inverse CDF of a uniform in (0, 1) hashed from (seed, k).
fn exponential(seed: u64, k: u64) -> f64 {
    let bits = splitmix64(seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> 11;
    let u = (bits as f64 + 0.5) / (1u64 << 53) as f64;
    -u.ln()
}

/// A fast, well-mixed 64-bit hash (SplitMix64's finaliser).
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn even_slots_of_every_worker_are_the_whole_schedule() {
        let p = Profile::constant(100.0, Duration::from_secs(2));
        let mut all: Vec<f64> = Vec::new();
        for id in 0..3 {
            let mut s = Slots::new(&p, Arrivals::Even, id, 3, 1);
            let mut k = 0;
            while let Some(t) = s.time_of(k) {
                all.push(t);
                k += 1;
            }
            let mut fresh = Slots::new(&p, Arrivals::Even, id, 3, 1);
            assert_eq!(fresh.due_before(0, 2.0, &p), k, "worker {id}");
        }
        all.sort_by(f64::total_cmp);
        assert_eq!(all.len(), 200);
        for (n, t) in all.iter().enumerate() {
            assert!((t - n as f64 / 100.0).abs() < 1e-9, "slot {n} at {t}");
        }
    }

    #[test]
    fn shards_times_threads_split_awkward_rates_and_ramps_exactly() {
        // 301/s over 3 shards of 2 threads, and a ramp 7 → 301/s then a hold: every part's slots
        // together are exactly the single-process schedule, none lost or doubled by rounding.
        let ramp = Profile {
            start: 7.0,
            stages: vec![
                crate::scenario::Stage {
                    duration: Duration::from_secs(3),
                    target: 301.0,
                },
                crate::scenario::Stage {
                    duration: Duration::from_secs(2),
                    target: 301.0,
                },
            ],
        };
        for p in [Profile::constant(301.0, Duration::from_secs(3)), ramp] {
            let times = |id: usize, parts: usize| {
                let mut s = Slots::new(&p, Arrivals::Even, id, parts, 1);
                let mut out = Vec::new();
                while let Some(t) = s.time_of(out.len() as u64) {
                    out.push(t);
                }
                out
            };
            let single = times(0, 1);
            for (shards, threads) in [(3, 2), (3, 1), (7, 2)] {
                let parts = shards * threads;
                let mut union = Vec::new();
                for shard in 0..shards {
                    for thread in 0..threads {
                        let id = shard + shards * thread;
                        let mine = times(id, parts);
                        let mut fresh = Slots::new(&p, Arrivals::Even, id, parts, 1);
                        let end = p.total().as_secs_f64();
                        assert_eq!(fresh.due_before(0, end, &p), mine.len() as u64);
                        union.extend(mine);
                    }
                }
                union.sort_by(f64::total_cmp);
                assert_eq!(union, single, "{shards} shards × {threads} threads");
            }
        }
    }

    #[test]
    fn poisson_arrivals_have_the_rate_and_the_spread_of_a_poisson_process() {
        // 2,000/s for 50 s over 2 workers: 100,000 arrivals expected (sd 316).
        let p = Profile::constant(2000.0, Duration::from_secs(50));
        let mut gaps = Vec::new();
        let mut per_second = vec![0u64; 50];
        let mut total = 0u64;
        for id in 0..2 {
            let mut s = Slots::new(&p, Arrivals::Poisson, id, 2, 42);
            let mut again = Slots::new(&p, Arrivals::Poisson, id, 2, 42);
            let mut k = 0;
            let mut last = 0.0;
            while let Some(t) = s.time_of(k) {
                assert_eq!(again.time_of(k), Some(t), "both cursors agree on slot {k}");
                gaps.push(t - last);
                last = t;
                per_second[t as usize] += 1;
                total += 1;
                k += 1;
            }
        }
        assert!(
            (total as f64 - 100_000.0).abs() < 1_600.0,
            "{total} arrivals"
        );
        // Per worker the gaps are exponential with mean 1/1000 s: their coefficient of variation
        // is 1 (evenly spaced arrivals have 0).
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        let cv = var.sqrt() / mean;
        assert!((mean - 0.001).abs() < 0.000_05, "mean gap {mean}");
        assert!((cv - 1.0).abs() < 0.05, "coefficient of variation {cv}");
        // Counts per second vary like a Poisson count (variance ≈ mean = 2000).
        let m = per_second.iter().sum::<u64>() as f64 / 50.0;
        let v = per_second
            .iter()
            .map(|&c| (c as f64 - m).powi(2))
            .sum::<f64>()
            / 49.0;
        assert!((v / m) > 0.5 && (v / m) < 1.8, "dispersion {}", v / m);
    }

    #[test]
    fn poisson_follows_a_ramp() {
        // 0 → 1000/s over 10 s: half the arrivals fall after 7.07 s (where the count reaches half).
        let p = Profile {
            start: 0.0,
            stages: vec![crate::scenario::Stage {
                duration: Duration::from_secs(10),
                target: 1000.0,
            }],
        };
        let mut s = Slots::new(&p, Arrivals::Poisson, 0, 1, 7);
        let mut times = Vec::new();
        while let Some(t) = s.time_of(times.len() as u64) {
            times.push(t);
        }
        assert!(
            (times.len() as f64 - 5000.0).abs() < 300.0,
            "{}",
            times.len()
        );
        let median = times[times.len() / 2];
        assert!((median - 7.07).abs() < 0.15, "median arrival at {median} s");
    }
}
