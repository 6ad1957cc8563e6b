//! The requests behind a run's figures: each second's slowest and first failing, stored and read.

use rusqlite::params;

use super::{Result, Store, StoreError};
use crate::metrics::{Exemplar, ExemplarRecord, Tick};

/// Writes a tick's exemplars (its series' slowest and first failures).
pub(super) fn insert(conn: &rusqlite::Connection, id: i64, t: &Tick) -> rusqlite::Result<()> {
    for (series, s) in t.stats.iter().enumerate() {
        let kinds = [(false, &s.exemplars.slowest), (true, &s.exemplars.failures)];
        for (failed, list) in kinds {
            for e in list {
                insert_record(conn, id, &ExemplarRecord::of(e, t.index, series, failed))?;
            }
        }
    }
    Ok(())
}

/// Writes one exemplar record.
pub(super) fn insert_record(
    conn: &rusqlite::Connection,
    id: i64,
    r: &ExemplarRecord,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO exemplars (run_id, tick, series, kind, at_ms, queued_ms, latency_ms, status, error,
             bytes_in, new_connection, phases, headers, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        id,
        r.tick,
        r.series as i64,
        r.kind,
        r.at_ms,
        r.queued_ms,
        r.latency_ms,
        r.status,
        r.error,
        r.bytes_in as i64,
        r.new_connection,
        serde_json::to_string(&r.phases).unwrap_or_default(),
        r.headers,
        r.body,
    ])?;
    Ok(())
}

impl Store {
    /// The exemplars of run `id` in ticks `from_tick..=to_tick`, by tick, series and kind. A row
    /// that does not read back as one loadbench writes is an error naming the run and tick.
    pub fn exemplars(&self, id: i64, from_tick: u32, to_tick: u32) -> Result<Vec<ExemplarRecord>> {
        let keys = self.run(id)?.info.keys.len();
        self.read_exemplars(id, keys, from_tick, to_tick)
    }

    pub(super) fn read_exemplars(
        &self,
        id: i64,
        keys: usize,
        from_tick: u32,
        to_tick: u32,
    ) -> Result<Vec<ExemplarRecord>> {
        let e = self.err();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT tick, series, kind, at_ms, queued_ms, latency_ms, status, error, bytes_in,
                        new_connection, phases, headers, body
                 FROM exemplars WHERE run_id = ?1 AND tick BETWEEN ?2 AND ?3
                 ORDER BY tick, series, kind DESC, latency_ms DESC",
            )
            .map_err(&e)?;
        let mut rows = stmt.query(params![id, from_tick, to_tick]).map_err(&e)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(&e)? {
            let tick: u32 = r.get(0).map_err(&e)?;
            let bad = |why: String| StoreError::Invalid(format!("run #{id} tick {tick}: {why}"));
            let phases: String = r.get(10).map_err(&e)?;
            let record = ExemplarRecord {
                tick,
                series: usize::try_from(r.get::<_, i64>(1).map_err(&e)?).unwrap_or(usize::MAX),
                kind: r.get(2).map_err(&e)?,
                at_ms: r.get(3).map_err(&e)?,
                queued_ms: r.get(4).map_err(&e)?,
                latency_ms: r.get(5).map_err(&e)?,
                status: r.get(6).map_err(&e)?,
                error: r.get(7).map_err(&e)?,
                bytes_in: r.get::<_, i64>(8).map_err(&e)?.max(0) as u64,
                new_connection: r.get(9).map_err(&e)?,
                phases: serde_json::from_str(&phases)
                    .map_err(|err| bad(format!("exemplar phases: {err}")))?,
                headers: r.get(11).map_err(&e)?,
                body: r.get(12).map_err(&e)?,
            };
            record.check(keys).map_err(bad)?;
            out.push(record);
        }
        Ok(out)
    }

    /// Puts stored exemplars back into ticks just loaded (so a run's totals keep its slowest and
    /// first failing requests).
    pub(super) fn attach_exemplars(&self, id: i64, keys: usize, ticks: &mut [Tick]) -> Result<()> {
        let (Some(first), Some(last)) = (ticks.first(), ticks.last()) else {
            return Ok(());
        };
        let first_index = first.index;
        for r in self.read_exemplars(id, keys, first_index, last.index)? {
            let Some(t) = ticks
                .get_mut(r.tick.saturating_sub(first_index) as usize)
                .filter(|t| t.index == r.tick)
            else {
                continue;
            };
            let Some(s) = t.stats.get_mut(r.series) else {
                continue;
            };
            let list = if r.kind == "failed" {
                &mut s.exemplars.failures
            } else {
                &mut s.exemplars.slowest
            };
            list.push(Exemplar::from_record(&r));
        }
        Ok(())
    }
}
