//! A stretch of a run's totals straight from the stored bytes: each histogram's counts are added
//! into the totals as they are read, never decoded into a histogram per tick (a day-long run's
//! hour took seconds that way, most of it walking empty buckets).

use rusqlite::params;

use super::{Result, Store, StoreError};
use crate::metrics::{Accumulator, Buckets, Exemplar, Exemplars, Tick, add_encoded};

/// One series of one second as a walk over the stored bytes reads it.
#[derive(Debug, Default)]
pub struct SeriesBuckets {
    /// Its index among the run's keys (a journey's: the number of keys plus its own).
    pub series: usize,
    pub requests: u64,
    pub errors: u64,
    /// Corrected latency.
    pub latency: Buckets,
    /// Service time (filled only by walks that ask for it).
    pub service: Buckets,
}

/// What a walk calls for each second: its gauges (`stats` empty) and the series that answered.
pub type EachTick<'a> = &'a mut dyn FnMut(&Tick, &[SeriesBuckets]);

/// Hands a walk's series rows to [`EachTick`] a second at a time, with the seconds no series
/// answered in between: rows come in tick order, the gauges were read first.
struct ByTick {
    gauges: Vec<Tick>,
    next: usize,
    /// The second being filled (an index into `gauges`) and how many of `series` it uses.
    open: Option<usize>,
    used: usize,
    series: Vec<SeriesBuckets>,
}

impl ByTick {
    fn new(gauges: Vec<Tick>) -> ByTick {
        ByTick {
            gauges,
            next: 0,
            open: None,
            used: 0,
            series: Vec::new(),
        }
    }

    /// The buffer for a row of second `tick`, or None for a row without gauges.
    fn row(&mut self, tick: u32, series: usize, f: EachTick<'_>) -> Option<&mut SeriesBuckets> {
        let current = self.open.map(|i| self.gauges[i].index);
        if current != Some(tick) {
            self.flush(f);
            while self.gauges.get(self.next).is_some_and(|g| g.index < tick) {
                f(&self.gauges[self.next], &[]);
                self.next += 1;
            }
            if self.gauges.get(self.next).is_some_and(|g| g.index == tick) {
                self.open = Some(self.next);
                self.next += 1;
            }
        }
        self.open?;
        if self.used == self.series.len() {
            self.series.push(SeriesBuckets::default());
        }
        let s = &mut self.series[self.used];
        self.used += 1;
        s.series = series;
        s.requests = 0;
        s.errors = 0;
        s.latency.clear();
        s.service.clear();
        Some(s)
    }

    fn flush(&mut self, f: EachTick<'_>) {
        if let Some(i) = self.open.take() {
            f(&self.gauges[i], &self.series[..self.used]);
        }
        self.used = 0;
    }

    /// Hands over the last second and the silent ones after it.
    fn finish(mut self, f: EachTick<'_>) {
        self.flush(f);
        for g in &self.gauges[self.next..] {
            f(g, &[]);
        }
    }
}

impl Store {
    /// Totals of ticks `from_tick..=to_tick` of run `id` as [`Accumulator::add`] over those
    /// ticks would make them, exemplars included; warm-up ticks count as measured when
    /// `warmup_counts` (a window the user chose), else as warm-up (a run's totals). With
    /// `each`, the same pass also hands every second's latency to it, warm-up included (a
    /// report's heatmap and ramp levels: each stored histogram is read once).
    pub(super) fn accumulate(
        &self,
        id: i64,
        from_tick: u32,
        to_tick: u32,
        warmup_counts: bool,
        mut each: Option<EachTick<'_>>,
    ) -> Result<Accumulator> {
        if self.cancelled() {
            return Err(StoreError::Cancelled);
        }
        let info = self.run(id)?.info;
        let keys = info.keys.len();
        let mut acc = Accumulator::new(keys);
        let e = self.err();
        // The gauges, tick by tick; warm-up ticks left out of the totals are remembered.
        let mut left_out = std::collections::HashSet::new();
        let mut gauges = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached(super::query::TICK_ROWS)
            .map_err(&e)?;
        let mut rows = stmt.query(params![id, from_tick, to_tick]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            let mut tick = super::query::gauge_tick(r, Vec::new()).map_err(&e)?;
            if each.is_some() {
                gauges.push(tick.clone());
            }
            tick.warmup &= !warmup_counts;
            if tick.warmup {
                left_out.insert(tick.index);
            }
            acc.add(&tick);
        }
        let mut by_tick = ByTick::new(gauges);
        let mut stmt = self
            .conn
            .prepare_cached(super::query::SERIES_ROWS)
            .map_err(&e)?;
        let mut rows = stmt.query(params![id, from_tick, to_tick]).map_err(&e)?;
        let mut read = 0u32;
        while let Some(r) = rows.next().map_err(&e)? {
            self.stop_if_cancelled(&mut read)?;
            let tick: u32 = r.get(0).map_err(&e)?;
            let series = r.get::<_, i64>(1).map_err(&e)? as usize;
            let bad = |m: String| StoreError::Invalid(format!("run #{id} tick {tick}: {m}"));
            let blob = |col: usize| -> Result<Option<&[u8]>> {
                r.get_ref(col)
                    .map_err(&e)?
                    .as_blob_or_null()
                    .map_err(|err| bad(err.to_string()))
            };
            let latency = blob(9)?.ok_or_else(|| bad("no latency histogram".into()))?;
            let seen = match each.as_deref_mut() {
                Some(f) => by_tick.row(tick, series, f),
                None => None,
            };
            let counted = !left_out.contains(&tick) && series < keys;
            if let Some(seen) = seen {
                seen.requests = r.get::<_, i64>(2).map_err(&e)? as u64;
                seen.errors = r.get::<_, i64>(3).map_err(&e)? as u64;
                seen.latency.add_encoded(latency).map_err(bad)?;
                if counted {
                    seen.latency.record_into(&mut acc.stats[series].latency);
                }
            } else if counted {
                add_encoded(latency, &mut acc.stats[series].latency).map_err(bad)?;
            }
            if !counted {
                continue;
            }
            let s = &mut acc.stats[series];
            s.requests += r.get::<_, i64>(2).map_err(&e)? as u64;
            s.errors += r.get::<_, i64>(3).map_err(&e)? as u64;
            s.bytes_in += r.get::<_, i64>(4).map_err(&e)? as u64;
            s.bytes_out += r.get::<_, i64>(5).map_err(&e)? as u64;
            s.late += r.get::<_, i64>(6).map_err(&e)? as u64;
            let status: Option<String> = r.get(7).map_err(&e)?;
            let kinds: Option<String> = r.get(8).map_err(&e)?;
            s.set_counts_from_text(status.as_deref(), kinds.as_deref());
            let service = blob(10)?.ok_or_else(|| bad("no service histogram".into()))?;
            add_encoded(service, &mut s.service).map_err(bad)?;
            if let Some(failed) = blob(11)? {
                add_encoded(failed, &mut s.failed).map_err(bad)?;
            }
            s.retries += r.get::<_, i64>(12).map_err(&e)?.max(0) as u64;
            s.phases.new_conns += r.get::<_, i64>(13).map_err(&e)?.max(0) as u64;
            if let Some(phases) = blob(14)? {
                s.phases.add_encoded(phases).map_err(bad)?;
            }
        }
        if let Some(f) = each {
            by_tick.finish(f);
        }
        for r in self.read_exemplars(id, keys, from_tick, to_tick)? {
            if left_out.contains(&r.tick) {
                continue;
            }
            let Some(s) = acc.stats.get_mut(r.series) else {
                continue;
            };
            let mut one = Exemplars::default();
            if r.kind == "failed" {
                one.failures.push(Exemplar::from_record(&r));
            } else {
                one.slowest.push(Exemplar::from_record(&r));
            }
            s.exemplars.merge(&one);
        }
        let window = (from_tick, to_tick);
        self.add_journeys(id, info.journeys.len(), window, &left_out, &mut acc)?;
        Ok(acc)
    }

    /// A run's totals over its measured seconds, and every second's latency handed to `each` in
    /// the same pass (see [`Store::accumulate`]).
    pub fn totals_and_each_tick(
        &self,
        id: i64,
        each: &mut dyn FnMut(&Tick, &[SeriesBuckets]),
    ) -> Result<Accumulator> {
        self.accumulate(id, 0, u32::MAX, false, Some(each))
    }

    /// Walks run `id`'s seconds in order with each answering series' requests, errors and latency
    /// (and service time when `service`) as buckets, straight from the stored bytes: what a
    /// comparison's blocks are made of, without decoding a histogram per series and second.
    pub fn each_tick_buckets(
        &self,
        id: i64,
        service: bool,
        each: &mut dyn FnMut(&Tick, &[SeriesBuckets]),
    ) -> Result<()> {
        if self.cancelled() {
            return Err(StoreError::Cancelled);
        }
        let e = self.err();
        let mut gauges = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached(super::query::TICK_ROWS)
            .map_err(&e)?;
        let mut rows = stmt.query(params![id, 0, u32::MAX]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            gauges.push(super::query::gauge_tick(r, Vec::new()).map_err(&e)?);
        }
        let mut by_tick = ByTick::new(gauges);
        let info = self.run(id)?.info;
        let (keys, journeys) = (info.keys.len() as i64, info.journeys.len() as i64);
        // A run with journeys hands them on after its series (index keys + journey); one
        // without reads its series in their stored order, with no sort.
        let sql = if journeys == 0 {
            "SELECT s.tick, s.series, s.requests, s.errors, h.latency,
                    CASE WHEN ?2 THEN h.service END
             FROM tick_series s JOIN tick_histograms h
               ON h.run_id = s.run_id AND h.tick = s.tick AND h.series = s.series
             WHERE s.run_id = ?1 AND ?3 >= 0 AND ?4 >= 0 ORDER BY s.tick, s.series"
        } else {
            "SELECT tick, series, requests, errors, latency, service FROM (
                SELECT s.tick AS tick, s.series AS series, s.requests AS requests,
                       s.errors AS errors, h.latency AS latency,
                       CASE WHEN ?2 THEN h.service END AS service
                FROM tick_series s JOIN tick_histograms h
                  ON h.run_id = s.run_id AND h.tick = s.tick AND h.series = s.series
                WHERE s.run_id = ?1 AND s.series < ?3
                UNION ALL
                SELECT tick, ?3 + journey, iterations, errors, latency,
                       CASE WHEN ?2 THEN service END
                FROM tick_journeys WHERE run_id = ?1 AND journey >= 0 AND journey < ?4)
             ORDER BY tick, series"
        };
        let mut stmt = self.conn.prepare_cached(sql).map_err(&e)?;
        let mut rows = stmt
            .query(params![id, service, keys, journeys])
            .map_err(&e)?;
        let mut read = 0u32;
        while let Some(r) = rows.next().map_err(&e)? {
            self.stop_if_cancelled(&mut read)?;
            let tick: u32 = r.get(0).map_err(&e)?;
            let series = r.get::<_, i64>(1).map_err(&e)? as usize;
            let Some(s) = by_tick.row(tick, series, each) else {
                continue;
            };
            let bad = |m: String| StoreError::Invalid(format!("run #{id} tick {tick}: {m}"));
            s.requests = r.get::<_, i64>(2).map_err(&e)? as u64;
            s.errors = r.get::<_, i64>(3).map_err(&e)? as u64;
            for (col, into) in [(4, &mut s.latency), (5, &mut s.service)] {
                let blob = r.get_ref(col).map_err(&e)?.as_blob_or_null();
                if let Some(bytes) = blob.map_err(|err| bad(err.to_string()))? {
                    into.add_encoded(bytes).map_err(bad)?;
                }
            }
        }
        by_tick.finish(each);
        Ok(())
    }
}

impl Store {
    /// Counts a row read; every 4,096 rows, stops if the work was cancelled (a window the user
    /// has since moved on from).
    fn stop_if_cancelled(&self, read: &mut u32) -> Result<()> {
        *read = read.wrapping_add(1);
        if read.is_multiple_of(4096) && self.cancelled() {
            return Err(StoreError::Cancelled);
        }
        Ok(())
    }
}
