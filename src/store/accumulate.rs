//! A stretch of a run's totals straight from the stored bytes: each histogram's counts are added
//! into the totals as they are read, never decoded into a histogram per tick (a day-long run's
//! hour took seconds that way, most of it walking empty buckets).

use rusqlite::params;

use super::{Result, Store, StoreError};
use crate::metrics::{Accumulator, Exemplar, Exemplars, Tick, add_encoded};

impl Store {
    /// Totals of ticks `from_tick..=to_tick` of run `id` as [`Accumulator::add`] over those
    /// ticks would make them, exemplars included; warm-up ticks count as measured when
    /// `warmup_counts` (a window the user chose), else as warm-up (a run's totals).
    pub(super) fn accumulate(
        &self,
        id: i64,
        from_tick: u32,
        to_tick: u32,
        warmup_counts: bool,
    ) -> Result<Accumulator> {
        if self.cancelled() {
            return Err(StoreError::Cancelled);
        }
        let keys = self.run(id)?.info.keys.len();
        let mut acc = Accumulator::new(keys);
        let e = self.err();
        // The gauges, tick by tick; warm-up ticks left out of the totals are remembered.
        let mut left_out = std::collections::HashSet::new();
        let mut stmt = self
            .conn
            .prepare_cached(super::query::TICK_ROWS)
            .map_err(&e)?;
        let mut rows = stmt.query(params![id, from_tick, to_tick]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            let mut tick = super::query::gauge_tick(r, Vec::new()).map_err(&e)?;
            tick.warmup &= !warmup_counts;
            if tick.warmup {
                left_out.insert(tick.index);
            }
            acc.add(&tick);
        }
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
            if left_out.contains(&tick) {
                continue;
            }
            let Some(s) = acc.stats.get_mut(series) else {
                continue;
            };
            let bad = |m: String| StoreError::Invalid(format!("run #{id} tick {tick}: {m}"));
            s.requests += r.get::<_, i64>(2).map_err(&e)? as u64;
            s.errors += r.get::<_, i64>(3).map_err(&e)? as u64;
            s.bytes_in += r.get::<_, i64>(4).map_err(&e)? as u64;
            s.bytes_out += r.get::<_, i64>(5).map_err(&e)? as u64;
            s.late += r.get::<_, i64>(6).map_err(&e)? as u64;
            let status: Option<String> = r.get(7).map_err(&e)?;
            let kinds: Option<String> = r.get(8).map_err(&e)?;
            s.set_counts_from_text(status.as_deref(), kinds.as_deref());
            let blob = |col: usize| -> Result<Option<&[u8]>> {
                r.get_ref(col)
                    .map_err(&e)?
                    .as_blob_or_null()
                    .map_err(|err| bad(err.to_string()))
            };
            let latency = blob(9)?.ok_or_else(|| bad("no latency histogram".into()))?;
            add_encoded(latency, &mut s.latency).map_err(bad)?;
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
        Ok(acc)
    }
}

impl Store {
    /// Walks run `id`'s ticks in order, each with its series added together straight from the
    /// stored bytes: `f(tick, total)` gets the tick's gauges (its `stats` empty) and the
    /// requests, errors and latency of all its series (the other figures left empty) — what a
    /// report's heatmap and ramp levels read, without decoding a histogram per series.
    pub fn each_tick_total_latency(
        &self,
        id: i64,
        mut f: impl FnMut(&Tick, &crate::metrics::Stats),
    ) -> Result<()> {
        if self.cancelled() {
            return Err(StoreError::Cancelled);
        }
        let e = self.err();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT t.tick, t.t_end, t.seconds, t.warmup, t.target, t.in_flight, t.not_started,
                        s.requests, s.errors, h.latency
                 FROM ticks t
                 LEFT JOIN tick_series s ON s.run_id = t.run_id AND s.tick = t.tick
                 LEFT JOIN tick_histograms h
                   ON h.run_id = s.run_id AND h.tick = s.tick AND h.series = s.series
                 WHERE t.run_id = ?1 ORDER BY t.tick",
            )
            .map_err(&e)?;
        let mut rows = stmt.query(params![id]).map_err(&e)?;
        let mut current: Option<Tick> = None;
        let mut total = crate::metrics::Stats::default();
        let mut read = 0u32;
        while let Some(r) = rows.next().map_err(&e)? {
            self.stop_if_cancelled(&mut read)?;
            let index: u32 = r.get(0).map_err(&e)?;
            if current.as_ref().is_none_or(|t| t.index != index) {
                if let Some(done) = current.take() {
                    f(&done, &total);
                }
                total.latency.reset();
                total.requests = 0;
                total.errors = 0;
                current = Some(Tick {
                    index,
                    end: r.get(1).map_err(&e)?,
                    seconds: r.get(2).map_err(&e)?,
                    warmup: r.get(3).map_err(&e)?,
                    target: r.get(4).map_err(&e)?,
                    in_flight: r.get::<_, i64>(5).map_err(&e)? as u64,
                    not_started: r.get::<_, i64>(6).map_err(&e)? as u64,
                    stats: Vec::new(),
                });
            }
            let Some(blob) = r.get_ref(9).map_err(&e)?.as_blob_or_null().ok().flatten() else {
                continue;
            };
            total.requests += r.get::<_, Option<i64>>(7).map_err(&e)?.unwrap_or(0) as u64;
            total.errors += r.get::<_, Option<i64>>(8).map_err(&e)?.unwrap_or(0) as u64;
            add_encoded(blob, &mut total.latency)
                .map_err(|m| StoreError::Invalid(format!("run #{id} tick {index}: {m}")))?;
        }
        if let Some(done) = current {
            f(&done, &total);
        }
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
