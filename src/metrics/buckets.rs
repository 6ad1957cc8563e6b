//! A second's latency as only the buckets that hold counts: what whole-run readers add up and
//! query, where a histogram would walk its ten thousand mostly empty buckets every second.

use hdrhistogram::Histogram;

use super::{decode_histogram, each_encoded_count};

/// Counts of one or more stored histograms as `(lowest, highest, count)` per bucket; figures
/// equal to those of the histogram the same counts would make.
#[derive(Debug, Default, Clone)]
pub struct Buckets {
    items: Vec<(u64, u64, u64)>,
    count: u64,
    /// Whether `items` is in ascending order with each bucket once.
    settled: bool,
}

impl Buckets {
    /// Empties it, keeping its memory for the next second.
    pub fn clear(&mut self) {
        self.items.clear();
        self.count = 0;
        self.settled = true;
    }

    /// Adds `count` values of the bucket `lowest..=highest`.
    pub fn push(&mut self, lowest: u64, highest: u64, count: u64) {
        if count == 0 {
            return;
        }
        self.settled &= self.items.last().is_none_or(|l| l.0 < lowest);
        self.items.push((lowest, highest, count));
        self.count = self.count.saturating_add(count);
    }

    /// Adds the counts of [`super::encode_histogram`]'s output.
    pub fn add_encoded(&mut self, bytes: &[u8]) -> Result<(), String> {
        let walked = each_encoded_count(bytes, None, |lowest, highest, count| {
            self.push(lowest, highest, count);
            Ok(())
        })?;
        if !walked {
            // A layout the walker does not read (no lowest value): the general way.
            let h = decode_histogram(bytes)?;
            self.add_histogram(&h);
        }
        Ok(())
    }

    /// Adds the counts of a histogram.
    pub fn add_histogram(&mut self, h: &Histogram<u64>) {
        for v in h.iter_recorded() {
            let highest = v.value_iterated_to();
            self.push(h.lowest_equivalent(highest), highest, v.count_at_value());
        }
    }

    /// Adds another's counts.
    pub fn add(&mut self, other: &Buckets) {
        for &(lowest, highest, count) in &other.items {
            self.push(lowest, highest, count);
        }
    }

    /// Records every count into `h` at its bucket's lowest value.
    pub fn record_into(&self, h: &mut Histogram<u64>) {
        for &(lowest, _, count) in &self.items {
            if h.record_n(lowest, count).is_err() {
                h.saturating_record_n(lowest, count);
            }
        }
    }

    /// The buckets as `(lowest, highest, count)`, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.items.iter().copied()
    }

    /// How many values it holds.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The mean as [`Histogram::mean`] computes it (each bucket at its middle, in bucket order).
    pub fn mean(&mut self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        self.settle();
        let total = self.count as f64;
        self.items
            .iter()
            .fold(0.0, |sum, &(lowest, highest, count)| {
                let middle = lowest + ((highest - lowest + 1) >> 1);
                sum + middle as f64 * count as f64 / total
            })
    }

    /// The value at `quantile` as [`Histogram::value_at_quantile`] gives it.
    pub fn value_at_quantile(&mut self, quantile: f64) -> u64 {
        self.settle();
        let quantile = quantile.min(1.0);
        let wanted = ((quantile * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for &(lowest, highest, count) in &self.items {
            seen = seen.saturating_add(count);
            if seen >= wanted {
                return if quantile == 0.0 { lowest } else { highest };
            }
        }
        0
    }

    /// Sorts the buckets and joins repeats. Buckets added a histogram at a time are runs already
    /// in order, which the stable sort merges rather than sorts.
    fn settle(&mut self) {
        if self.settled {
            return;
        }
        self.items.sort_by_key(|b| b.0);
        let mut joined = 0;
        for i in 1..self.items.len() {
            if self.items[i].0 == self.items[joined].0 {
                self.items[joined].2 = self.items[joined].2.saturating_add(self.items[i].2);
            } else {
                joined += 1;
                self.items[joined] = self.items[i];
            }
        }
        self.items.truncate(joined + 1);
        self.settled = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{encode_histogram, new_histogram, record};

    /// Mean and quantiles equal the histogram's over several histograms added together, bucket
    /// for bucket, so reports read from buckets print what they printed from histograms.
    #[test]
    fn figures_equal_the_histograms_they_stand_for() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..50 {
            let mut whole = new_histogram();
            let mut buckets = Buckets::default();
            for _ in 0..(1 + round % 5) {
                let mut h = new_histogram();
                for _ in 0..(next() % 500) {
                    let us = match next() % 3 {
                        0 => 100 + next() % 900,
                        1 => 1_000 + next() % 100_000,
                        _ => next() % 2_000_000,
                    };
                    record(&mut h, us);
                }
                let _ = whole.add(&h);
                buckets.add_encoded(&encode_histogram(&h)).expect("ours");
            }
            assert_eq!(buckets.len(), whole.len());
            assert_eq!(
                buckets.mean().to_bits(),
                whole.mean().to_bits(),
                "round {round}"
            );
            for q in [0.0, 0.5, 0.95, 0.99, 0.999, 1.0] {
                assert_eq!(
                    buckets.value_at_quantile(q),
                    whole.value_at_quantile(q),
                    "round {round} q {q}"
                );
            }
            let mut again = new_histogram();
            buckets.record_into(&mut again);
            assert_eq!(again, whole);
        }
    }

    #[test]
    fn an_empty_set_has_no_figures() {
        let mut b = Buckets::default();
        assert!(b.is_empty());
        assert_eq!(b.mean(), 0.0);
        assert_eq!(b.value_at_quantile(0.95), 0);
    }
}
