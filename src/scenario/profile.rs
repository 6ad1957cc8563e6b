//! The load level over time: linear ramps between stage targets, and the request schedule they imply.

use std::time::Duration;

/// One stage: move linearly from the previous level to `target` over `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// How long the ramp (or plateau) lasts.
    pub duration: Duration,
    /// The level reached at the end of the stage (requests/s or virtual users).
    pub target: f64,
}

/// A piecewise-linear load level: arrival rate for the open model, virtual users for the closed one.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The level at t = 0.
    pub start: f64,
    /// The stages, in order.
    pub stages: Vec<Stage>,
}

impl Profile {
    /// A flat profile: `level` for `duration`.
    pub fn constant(level: f64, duration: Duration) -> Profile {
        Profile {
            start: level,
            stages: vec![Stage {
                duration,
                target: level,
            }],
        }
    }

    /// The whole length of the profile.
    pub fn total(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// The highest level anywhere in the profile.
    pub fn max_level(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| s.target)
            .fold(self.start, f64::max)
    }

    fn segments(&self) -> impl Iterator<Item = (f64, f64, f64, f64)> + '_ {
        // (t0, duration, r0, r1)
        let mut t0 = 0.0;
        let mut r0 = self.start;
        self.stages.iter().map(move |s| {
            let d = s.duration.as_secs_f64();
            let seg = (t0, d, r0, s.target);
            t0 += d;
            r0 = s.target;
            seg
        })
    }

    /// The level at `t` seconds (0 after the end).
    pub fn level_at(&self, t: f64) -> f64 {
        for (t0, d, r0, r1) in self.segments() {
            if t < t0 + d {
                let f = if d > 0.0 { (t - t0) / d } else { 1.0 };
                return r0 + (r1 - r0) * f.clamp(0.0, 1.0);
            }
        }
        0.0
    }

    /// How many requests the rate schedules in `[0, t)` (the integral of the level).
    pub fn count_until(&self, t: f64) -> f64 {
        let mut total = 0.0;
        for (t0, d, r0, r1) in self.segments() {
            if t <= t0 {
                break;
            }
            let tau = (t - t0).min(d);
            total += r0 * tau + (r1 - r0) * tau * tau / (2.0 * d.max(f64::MIN_POSITIVE));
        }
        total
    }

    /// Points `(seconds, level)` at every stage boundary, for a preview plot.
    pub fn outline(&self) -> Vec<[f64; 2]> {
        let mut pts = vec![[0.0, self.start]];
        for (t0, d, _, r1) in self.segments() {
            pts.push([t0 + d, r1]);
        }
        pts
    }
}

/// Walks the open-model schedule forward: the intended start of request n, for increasing n.
#[derive(Debug, Clone)]
pub struct Schedule {
    segments: Vec<(f64, f64, f64, f64, f64)>, // (t0, d, r0, r1, count at t0)
    seg: usize,
}

impl Schedule {
    /// Prepares the schedule of `profile`.
    pub fn new(profile: &Profile) -> Schedule {
        let mut count = 0.0;
        let segments = profile
            .segments()
            .map(|(t0, d, r0, r1)| {
                let seg = (t0, d, r0, r1, count);
                count += (r0 + r1) / 2.0 * d;
                seg
            })
            .collect();
        Schedule { segments, seg: 0 }
    }

    /// Seconds from the start at which request `n` (0-based) is due, or `None` past the end.
    /// Calls must not go backwards in `n`.
    pub fn time_of(&mut self, n: u64) -> Option<f64> {
        self.time_at(n as f64)
    }

    /// Seconds from the start at which the schedule has sent `n` requests (the inverse of
    /// [`Profile::count_until`]), or `None` past the end. Calls must not go backwards in `n`.
    pub fn time_at(&mut self, n: f64) -> Option<f64> {
        while let Some(&(t0, d, r0, r1, c0)) = self.segments.get(self.seg) {
            let c_end = c0 + (r0 + r1) / 2.0 * d;
            if n < c_end {
                let c = n - c0;
                if c <= 0.0 {
                    return Some(t0);
                }
                let a = (r1 - r0) / (2.0 * d);
                let disc = (r0 * r0 + 4.0 * a * c).max(0.0);
                let tau = 2.0 * c / (r0 + disc.sqrt());
                return Some(t0 + tau.min(d));
            }
            self.seg += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn constant_rate_is_evenly_spaced() {
        let p = Profile::constant(100.0, secs(2));
        let mut s = Schedule::new(&p);
        assert_eq!(s.time_of(0), Some(0.0));
        assert!((s.time_of(50).unwrap() - 0.5).abs() < 1e-9);
        assert!((s.time_of(199).unwrap() - 1.99).abs() < 1e-9);
        assert_eq!(s.time_of(200), None);
        assert!((p.count_until(2.0) - 200.0).abs() < 1e-9);
    }

    #[test]
    fn ramps_are_linear_and_inverse_matches_integral() {
        let p = Profile {
            start: 0.0,
            stages: vec![
                Stage {
                    duration: secs(10),
                    target: 100.0,
                },
                Stage {
                    duration: secs(5),
                    target: 100.0,
                },
                Stage {
                    duration: secs(5),
                    target: 20.0,
                },
            ],
        };
        assert!((p.level_at(5.0) - 50.0).abs() < 1e-9);
        assert!((p.level_at(17.5) - 60.0).abs() < 1e-9);
        let mut s = Schedule::new(&p);
        let total = p.count_until(20.0);
        assert!((total - (500.0 + 500.0 + 300.0)).abs() < 1e-6);
        for n in (0..1300).step_by(37) {
            let t = s.time_of(n).unwrap();
            assert!((p.count_until(t) - n as f64).abs() < 1e-6, "n={n} t={t}");
        }
        assert_eq!(s.time_of(1300), None);
    }
}
