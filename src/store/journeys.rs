//! Journeys' whole iterations in the store: written beside each tick, read back into ticks,
//! totals and chart points.

use std::collections::HashSet;

use rusqlite::params;

use super::{Result, SeriesPoint, Store, StoreError};
use crate::metrics::{Accumulator, Stats, Tick, add_encoded, encode_histogram};

/// The columns every reader takes, in this order.
const COLUMNS: &str = "tick, journey, iterations, errors, p50_us, p90_us, p95_us, p99_us, max_us,
     s_p50_us, s_p90_us, s_p95_us, s_p99_us, s_max_us, status, error_kinds, latency, service, failed";

/// Inserts a tick's journeys, every one (zeros included, so a second without an ended
/// iteration is a row, not a gap in its chart).
pub(super) fn insert(conn: &rusqlite::Connection, id: i64, t: &Tick) -> rusqlite::Result<()> {
    for (journey, s) in t.journeys.iter().enumerate() {
        let f = super::recorder::five_and_five(s);
        conn.prepare_cached(
            "INSERT INTO tick_journeys (run_id, tick, journey, iterations, errors,
                p50_us, p90_us, p95_us, p99_us, max_us, s_p50_us, s_p90_us, s_p95_us, s_p99_us, s_max_us,
                status, error_kinds, latency, service, failed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
        )?
        .execute(params![
            id,
            t.index,
            journey as i64,
            s.requests as i64,
            s.errors as i64,
            f[0],
            f[1],
            f[2],
            f[3],
            f[4],
            f[5],
            f[6],
            f[7],
            f[8],
            f[9],
            s.status_text(),
            s.error_kinds_text(),
            encode_histogram(&s.latency),
            encode_histogram(&s.service),
            (!s.failed.is_empty()).then(|| encode_histogram(&s.failed)),
        ])?;
    }
    Ok(())
}

impl Store {
    /// Each journey's points per tick, indexed like the run's journeys (`journeys` of them).
    pub fn journey_points(&self, id: i64, journeys: usize) -> Result<Vec<Vec<SeriesPoint>>> {
        let mut out = vec![Vec::new(); journeys];
        self.journey_rows(id, 0, u32::MAX, journeys, |r, tick, journey| {
            let five = |from: usize| -> rusqlite::Result<[u64; 5]> {
                let mut v = [0u64; 5];
                for (i, x) in v.iter_mut().enumerate() {
                    *x = r.get::<_, Option<i64>>(from + i)?.unwrap_or(0).max(0) as u64;
                }
                Ok(v)
            };
            let e = self.err();
            out[journey].push(SeriesPoint {
                tick,
                requests: r.get::<_, i64>(2).map_err(&e)?.max(0) as u64,
                errors: r.get::<_, i64>(3).map_err(&e)?.max(0) as u64,
                latency_us: five(4).map_err(&e)?,
                service_us: five(9).map_err(&e)?,
                status: r.get(14).map_err(&e)?,
                error_kinds: r.get(15).map_err(&e)?,
            });
            Ok(())
        })?;
        Ok(out)
    }

    /// Puts the journeys of ticks `from..=to` into `ticks` (which hold that window, in order).
    pub(super) fn attach_journeys(
        &self,
        id: i64,
        journeys: usize,
        from: u32,
        to: u32,
        ticks: &mut [Tick],
    ) -> Result<()> {
        if journeys == 0 {
            return Ok(());
        }
        for t in ticks.iter_mut() {
            t.journeys = vec![Stats::default(); journeys];
        }
        let first = ticks.first().map_or(0, |t| t.index);
        self.journey_rows(id, from, to, journeys, |r, tick, journey| {
            let Some(t) = ticks
                .get_mut(tick.saturating_sub(first) as usize)
                .filter(|t| t.index == tick)
            else {
                return Ok(());
            };
            add_row(r, id, tick, &mut t.journeys[journey], self)
        })
    }

    /// Adds the journeys of ticks `from..=to` into `acc`, but for the ticks `left_out`.
    pub(super) fn add_journeys(
        &self,
        id: i64,
        journeys: usize,
        (from, to): (u32, u32),
        left_out: &HashSet<u32>,
        acc: &mut Accumulator,
    ) -> Result<()> {
        if journeys == 0 {
            return Ok(());
        }
        acc.journeys.resize_with(journeys, Stats::default);
        self.journey_rows(id, from, to, journeys, |r, tick, journey| {
            if left_out.contains(&tick) {
                return Ok(());
            }
            add_row(r, id, tick, &mut acc.journeys[journey], self)
        })
    }

    /// Calls `f` with each row of ticks `from..=to` whose journey is below `journeys` (a row
    /// naming another is not this run's to read), its tick and its journey.
    fn journey_rows(
        &self,
        id: i64,
        from: u32,
        to: u32,
        journeys: usize,
        mut f: impl FnMut(&rusqlite::Row<'_>, u32, usize) -> Result<()>,
    ) -> Result<()> {
        let e = self.err();
        let sql = format!(
            "SELECT {COLUMNS} FROM tick_journeys
             WHERE run_id = ?1 AND tick BETWEEN ?2 AND ?3 ORDER BY tick, journey"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(&e)?;
        let mut rows = stmt.query(params![id, from, to]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            let tick: u32 = r.get(0).map_err(&e)?;
            let journey = r.get::<_, i64>(1).map_err(&e)?;
            if let Some(j) = usize::try_from(journey).ok().filter(|j| *j < journeys) {
                f(r, tick, j)?;
            }
        }
        Ok(())
    }
}

/// Adds one stored row into `s`.
fn add_row(r: &rusqlite::Row<'_>, id: i64, tick: u32, s: &mut Stats, store: &Store) -> Result<()> {
    let e = store.err();
    let bad = |m: String| StoreError::Invalid(format!("run #{id} tick {tick} journey: {m}"));
    let blob = |col: usize| -> Result<Option<&[u8]>> {
        r.get_ref(col)
            .map_err(&e)?
            .as_blob_or_null()
            .map_err(|err| bad(err.to_string()))
    };
    s.requests += r.get::<_, i64>(2).map_err(&e)?.max(0) as u64;
    s.errors += r.get::<_, i64>(3).map_err(&e)?.max(0) as u64;
    let status: Option<String> = r.get(14).map_err(&e)?;
    let kinds: Option<String> = r.get(15).map_err(&e)?;
    s.set_counts_from_text(status.as_deref(), kinds.as_deref());
    if let Some(b) = blob(16)? {
        add_encoded(b, &mut s.latency).map_err(bad)?;
    }
    if let Some(b) = blob(17)? {
        add_encoded(b, &mut s.service).map_err(bad)?;
    }
    if let Some(b) = blob(18)? {
        add_encoded(b, &mut s.failed).map_err(bad)?;
    }
    Ok(())
}
