//! Latency over time as counts per (time column, log-latency row), from per-second histograms:
//! the grid a heatmap draws, bounded in columns however long the run.

use hdrhistogram::Histogram;

use super::Tick;

/// Rows per decade of latency.
pub const PER_DECADE: f64 = 10.0;
/// The lowest row starts at 10^1 µs (10 µs).
pub const LOW_LOG_US: f64 = 1.0;
/// Rows from 10 µs to 100 s.
pub const ROWS: usize = 70;
/// Columns kept: a longer run merges neighbours, so memory and drawing stay bounded.
pub const MAX_COLS: usize = 600;

/// Response counts per (time column, latency row), for one series or all together.
#[derive(Debug, Clone, Default)]
pub struct HeatmapData {
    /// Start of the first column (s since the start of the run).
    start: Option<f64>,
    /// Ticks per column (doubles each time the columns are merged).
    ticks_per_col: usize,
    /// Ticks in the last column so far.
    filling: usize,
    /// Counts per column, `ROWS` per column, lowest latency first.
    cols: Vec<[u64; ROWS]>,
    /// Most columns kept (0: [`MAX_COLS`]).
    cap: usize,
    /// The last tick's drain (s): its responses arrived over its second and this, so the last
    /// column is drawn that much thinner (a run's slow end is not a bright stripe).
    drain: f64,
}

/// The row a latency (µs) falls in.
pub fn row_of(us: u64) -> usize {
    // Where each row starts, found once with the logarithm itself (so the rows are exactly
    // its rows); a whole-run walk then places a day's buckets without a logarithm each.
    static STARTS: std::sync::OnceLock<[u64; ROWS]> = std::sync::OnceLock::new();
    let starts = STARTS.get_or_init(|| {
        let mut starts = [0u64; ROWS];
        for (row, start) in starts.iter_mut().enumerate().skip(1) {
            *start = first_of_row(row);
        }
        starts
    });
    starts.partition_point(|&s| s <= us) - 1
}

/// The row of `us` by its logarithm.
fn log_row_of(us: u64) -> usize {
    let log = (us.max(1) as f64).log10();
    (((log - LOW_LOG_US) * PER_DECADE).max(0.0) as usize).min(ROWS - 1)
}

/// The smallest latency in `row` (rows grow with latency).
fn first_of_row(row: usize) -> u64 {
    let (mut low, mut high) = (0u64, u64::MAX);
    while low < high {
        let mid = low + (high - low) / 2;
        if log_row_of(mid) >= row {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    low
}

impl HeatmapData {
    /// An empty grid keeping at most `columns` columns (a report's chart needs fewer than the
    /// window's).
    pub fn bounded(columns: usize) -> HeatmapData {
        HeatmapData {
            cap: columns.max(2),
            ..HeatmapData::default()
        }
    }

    /// Adds one tick's latency histogram (a column per tick until there are too many).
    pub fn push(&mut self, (start, drain): (f64, f64), h: &Histogram<u64>) {
        self.begin_tick(start, drain);
        for v in h.iter_recorded() {
            self.add(v.value_iterated_to(), v.count_at_value());
        }
    }

    /// Adds `count` responses of latency `us` (a bucket's highest value) to the current tick.
    pub fn add(&mut self, us: u64, count: u64) {
        if let Some(col) = self.cols.last_mut() {
            let cell = &mut col[row_of(us)];
            *cell = cell.saturating_add(count);
        }
    }

    /// Starts the next tick, whose counts [`HeatmapData::add`] then adds; `drain` is how long
    /// after it its last responses arrived (0 but for a run's last tick).
    pub fn begin_tick(&mut self, start: f64, drain: f64) {
        self.drain = drain;
        if self.ticks_per_col == 0 {
            self.ticks_per_col = 1;
        }
        self.start.get_or_insert(start);
        if self.cols.is_empty() || self.filling >= self.ticks_per_col {
            let cap = if self.cap == 0 { MAX_COLS } else { self.cap };
            if self.cols.len() >= cap {
                self.halve();
            }
            self.cols.push([0; ROWS]);
            self.filling = 0;
        }
        self.filling += 1;
    }

    /// Merges neighbouring columns: half as many, each twice as wide.
    fn halve(&mut self) {
        let merged: Vec<[u64; ROWS]> = self
            .cols
            .chunks(2)
            .map(|pair| {
                let mut c = pair[0];
                if let Some(b) = pair.get(1) {
                    for (x, y) in c.iter_mut().zip(b) {
                        *x += y;
                    }
                }
                c
            })
            .collect();
        // The last old column (`filling` ticks) ends the last merged one, after a full one if
        // it had a partner.
        if self.cols.len().is_multiple_of(2) {
            self.filling += self.ticks_per_col;
        }
        self.cols = merged;
        self.ticks_per_col *= 2;
    }

    /// Counts per column, `ROWS` per column, lowest latency first.
    pub fn columns(&self) -> &[[u64; ROWS]] {
        &self.cols
    }

    /// Start of the first column, s since the start of the run (0 before any tick).
    pub fn start(&self) -> f64 {
        self.start.unwrap_or(0.0)
    }

    /// Seconds each column spans.
    pub fn column_seconds(&self) -> f64 {
        self.ticks_per_col.max(1) as f64
    }

    /// The last tick's drain, s ([`HeatmapData::begin_tick`]).
    pub fn drain(&self) -> f64 {
        self.drain
    }

    /// What a count in each column is multiplied by to draw it as responses per second of the
    /// column: 1, but for the last column's share of its time plus the drain after it.
    pub fn weights(&self) -> impl Iterator<Item = f64> + '_ {
        let last = self.cols.len().saturating_sub(1);
        let filled = self.filling as f64;
        (0..self.cols.len()).map(move |i| {
            if i == last && self.drain > 0.0 && filled > 0.0 {
                filled / (filled + self.drain)
            } else {
                1.0
            }
        })
    }

    /// The most any cell is drawn as ([`HeatmapData::weights`] applied), over rows `lo..=hi`.
    pub fn weighted_max(&self, lo: usize, hi: usize) -> f64 {
        self.cols
            .iter()
            .zip(self.weights())
            .flat_map(|(c, w)| c[lo..=hi].iter().map(move |&n| n as f64 * w))
            .fold(0.0, f64::max)
    }

    /// Every response counted.
    pub fn total(&self) -> u64 {
        self.cols.iter().flatten().sum()
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.cols.iter().all(|c| c.iter().all(|n| *n == 0))
    }

    /// The rows that hold responses (lowest, highest), for the latency axis's range.
    pub fn used_rows(&self) -> Option<(usize, usize)> {
        let used = |r: usize| self.cols.iter().any(|c| c[r] > 0);
        let lo = (0..ROWS).find(|r| used(*r))?;
        let hi = (0..ROWS).rev().find(|r| used(*r))?;
        Some((lo, hi))
    }

    /// The count in the tile under a plot point, and that tile's time and latency range.
    pub fn at(&self, x: f64, y: f64) -> Option<(u64, f64, f64, f64)> {
        let start = self.start?;
        let col = ((x - start) / self.ticks_per_col as f64).floor();
        let row = ((y - LOW_LOG_US) * PER_DECADE).floor();
        if col < 0.0 || row < 0.0 || row >= ROWS as f64 {
            return None;
        }
        let c = self.cols.get(col as usize)?;
        let lo = 10f64.powf(LOW_LOG_US + row / PER_DECADE);
        let hi = 10f64.powf(LOW_LOG_US + (row + 1.0) / PER_DECADE);
        Some((
            c[row as usize],
            start + col * self.ticks_per_col as f64,
            lo,
            hi,
        ))
    }
}

/// A count's colour from dark blue (few) through green to yellow (most), as RGB: a log scale,
/// since one busy latency band would otherwise wash out the rare slow responses a heatmap is for.
pub fn colour(count: f64, max: f64) -> Option<[u8; 3]> {
    if count <= 0.0 {
        return None;
    }
    let x = (count.ln_1p() / max.ln_1p().max(1e-9)).clamp(0.0, 1.0);
    let stops = [
        (0.0, [40u8, 30, 110]),
        (0.35, [30, 120, 160]),
        (0.7, [70, 190, 90]),
        (1.0, [250, 230, 40]),
    ];
    let i = stops
        .iter()
        .rposition(|s| s.0 <= x)
        .unwrap_or(0)
        .min(stops.len() - 2);
    let (a, b) = (stops[i], stops[i + 1]);
    let f = (x - a.0) / (b.0 - a.0);
    let mix = |k: usize| (f64::from(a.1[k]) + (f64::from(b.1[k]) - f64::from(a.1[k])) * f) as u8;
    Some([mix(0), mix(1), mix(2)])
}

/// Heatmaps of a run: all requests together first, then one per series.
pub fn of_ticks<'a>(keys: usize, ticks: impl IntoIterator<Item = &'a Tick>) -> Vec<HeatmapData> {
    let mut maps = vec![HeatmapData::default(); keys + 1];
    for t in ticks {
        push_tick(&mut maps, t);
    }
    maps
}

/// Adds a tick to a run's heatmaps (all together, then per series, then per journey for as
/// many maps as there are).
pub fn push_tick(maps: &mut [HeatmapData], t: &Tick) {
    let start = (t.end - t.seconds, t.drain);
    if let Some(all) = maps.first_mut() {
        all.push(start, &t.total().latency);
    }
    for (m, st) in maps
        .iter_mut()
        .skip(1)
        .zip(t.stats.iter().chain(&t.journeys))
    {
        m.push(start, &st.latency);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_found_by_table_equal_rows_by_logarithm() {
        let mut us = 0u64;
        while us < 1 << 40 {
            for v in [us, us + 1, us.saturating_sub(1)] {
                assert_eq!(row_of(v), log_row_of(v), "{v} µs");
            }
            us = us * 17 / 16 + 1;
        }
        for row in 1..ROWS {
            let s = first_of_row(row);
            assert_eq!((log_row_of(s - 1), log_row_of(s)), (row - 1, row));
        }
        assert_eq!(row_of(u64::MAX), ROWS - 1);
    }

    #[test]
    fn counts_land_in_their_log_rows_and_long_runs_merge_columns() {
        let mut h = Histogram::<u64>::new(3).expect("histogram");
        h.record_n(100, 5).expect("record"); // 100 µs
        h.record_n(80_000, 2).expect("record"); // 80 ms
        let mut d = HeatmapData::default();
        for i in 0..(MAX_COLS + 10) {
            d.push((i as f64, 0.0), &h);
        }
        assert!(d.cols.len() <= MAX_COLS, "{} columns", d.cols.len());
        assert_eq!(d.ticks_per_col, 2);
        let total: u64 = d.cols.iter().map(|c| c[row_of(100)]).sum();
        assert_eq!(total, 5 * (MAX_COLS as u64 + 10), "every response kept");
        assert_eq!(row_of(100), 10);
        assert_eq!(row_of(80_000), 39);
        let (n, _, a, b) = d.at(0.5, 2.05).expect("a tile");
        assert_eq!(n, 10, "two ticks of 5 at 100 µs");
        assert!(a <= 100.0 && 100.0 < b, "{a}–{b}");
    }

    #[test]
    fn the_last_column_is_drawn_per_second_of_its_drain_too() {
        let mut h = Histogram::<u64>::new(3).expect("histogram");
        h.record_n(2_000_000, 50).expect("record");
        let mut d = HeatmapData::default();
        d.push((0.0, 0.0), &h);
        // 150 responses in the last second, 100 of them after it over a 2 s drain: 50/s.
        h.record_n(2_000_000, 100).expect("record");
        d.push((1.0, 2.0), &h);
        let w: Vec<f64> = d.weights().collect();
        assert_eq!(w, vec![1.0, 1.0 / 3.0]);
        let row = row_of(2_000_000);
        assert_eq!(d.weighted_max(row, row), 50.0);
        assert_eq!(d.cols[1][row], 150, "the counts stay exact");
        // A drain is the run's last tick's only: a later tick clears it.
        d.push((2.0, 0.0), &h);
        assert!(d.weights().all(|w| w == 1.0));
    }
}
