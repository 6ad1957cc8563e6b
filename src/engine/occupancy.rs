//! Requests in flight on one engine thread, kept as the most at once in each 10 ms of a tick, so
//! the run's peak is the peak of the threads' sum rather than the sum of their peaks.

/// Slices per tick (10 ms each).
pub(crate) const BUCKETS: usize = 100;
const SLICE_MS: u64 = 1000 / BUCKETS as u64;

/// The in-flight level over the current tick: `max[i]` is the most at once in slice `i`.
#[derive(Debug, Clone)]
pub(crate) struct Occupancy {
    /// Milliseconds since the run's start at which the current tick began.
    base_ms: u64,
    /// The slice of the latest change.
    cur: usize,
    /// Requests in flight now.
    level: u32,
    max: [u32; BUCKETS],
}

impl Default for Occupancy {
    fn default() -> Self {
        Occupancy {
            base_ms: 0,
            cur: 0,
            level: 0,
            max: [0; BUCKETS],
        }
    }
}

impl Occupancy {
    /// A request started (`up`) or ended at `at_ms` since the run's start.
    pub(crate) fn change(&mut self, at_ms: u64, up: bool) {
        let slice =
            (at_ms.saturating_sub(self.base_ms) / SLICE_MS).min(BUCKETS as u64 - 1) as usize;
        if slice > self.cur {
            // The slices in between held the level as it was.
            for m in &mut self.max[self.cur + 1..=slice] {
                *m = self.level;
            }
            self.cur = slice;
        }
        self.level = if up {
            self.level.saturating_add(1)
        } else {
            self.level.saturating_sub(1)
        };
        let m = &mut self.max[self.cur];
        *m = (*m).max(self.level);
    }

    /// The tick's slices; the next tick starts at the current level.
    pub(crate) fn take(&mut self) -> [u32; BUCKETS] {
        for m in &mut self.max[self.cur + 1..] {
            *m = self.level;
        }
        let out = self.max;
        self.max = [0; BUCKETS];
        self.max[0] = self.level;
        self.cur = 0;
        self.base_ms += 1000;
        out
    }
}

/// The most requests in flight at once across threads: the peak of the slice-wise sum.
pub(crate) fn peak_of_sum<'a>(parts: impl Iterator<Item = &'a [u32; BUCKETS]>) -> u64 {
    let mut sum = [0u64; BUCKETS];
    for p in parts {
        for (s, v) in sum.iter_mut().zip(p) {
            *s += u64::from(*v);
        }
    }
    sum.into_iter().max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_threads_busy_at_different_moments_peak_at_the_larger_not_the_sum() {
        let mut a = Occupancy::default();
        let mut b = Occupancy::default();
        // Thread a: 3 requests in flight from 100 to 200 ms; thread b: 2 from 600 to 700 ms.
        for _ in 0..3 {
            a.change(100, true);
        }
        for _ in 0..3 {
            a.change(200, false);
        }
        for _ in 0..2 {
            b.change(600, true);
        }
        for _ in 0..2 {
            b.change(700, false);
        }
        let (sa, sb) = (a.take(), b.take());
        assert_eq!(sa.iter().max(), Some(&3));
        assert_eq!(peak_of_sum([&sa, &sb].into_iter()), 3, "not 3 + 2");
        // Overlapping: both busy in the same slice add up.
        let mut c = Occupancy::default();
        c.change(150, true);
        c.change(150, true);
        let sc = c.take();
        assert_eq!(peak_of_sum([&sa, &sc].into_iter()), 5);
    }

    #[test]
    fn a_long_request_carries_its_level_into_later_slices_and_ticks() {
        let mut o = Occupancy::default();
        o.change(50, true);
        let first = o.take();
        assert!(first[5..].iter().all(|&m| m == 1), "held from 50 ms on");
        assert_eq!(first[4], 0);
        // Nothing changes in the next tick: the level is still 1 throughout.
        let second = o.take();
        assert!(second.iter().all(|&m| m == 1));
        o.change(2500, false);
        let third = o.take();
        assert_eq!(third[49], 1);
        assert_eq!(third[50], 1, "the slice where it ended still held it");
        assert_eq!(third[51], 0);
    }
}
