//! Reading runs back: the list, one run, its chart series, its full ticks, any time window.

use rusqlite::{OptionalExtension, params, params_from_iter};

use super::{Result, Store, StoreError, parse_info};
use crate::metrics::{
    Accumulator, RunInfo, RunStatus, Stats, Summary, Tick, TickSummary, decode_counts,
    decode_histogram,
};

/// One line of the run list.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// Local id (`#12`).
    pub id: i64,
    /// Identity across databases (kept by export/import).
    pub uuid: String,
    /// The run's name.
    pub name: String,
    /// The scenario's name.
    pub scenario: String,
    /// `running`, `completed`, `stopped`, `interrupted` or `failed`.
    pub status: RunStatus,
    /// Start, ms since the epoch.
    pub started_at_ms: i64,
    /// End, ms since the epoch.
    pub ended_at_ms: Option<i64>,
    /// Measured seconds.
    pub duration_s: f64,
    /// Requests completed.
    pub requests: i64,
    /// Requests per measured second.
    pub rate: Option<f64>,
    /// Corrected p95 in ms.
    pub p95_ms: Option<f64>,
    /// Error share.
    pub error_rate: Option<f64>,
    /// Whether every threshold held (None while running).
    pub thresholds_passed: Option<bool>,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Whether it is (one of) its scenario's baseline runs.
    pub baseline: bool,
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Only runs of this scenario.
    pub scenario: Option<String>,
    /// Only runs with this tag.
    pub tag: Option<String>,
    /// Only runs with this status.
    pub status: Option<RunStatus>,
    /// Only runs started at or after this time (ms since the epoch).
    pub since_ms: Option<i64>,
    /// Only runs started before this time (ms since the epoch).
    pub until_ms: Option<i64>,
    /// At most this many (newest first).
    pub limit: Option<usize>,
}

/// A stored run with everything but its ticks.
#[derive(Debug, Clone)]
pub struct StoredRun {
    /// The list figures.
    pub row: RunRow,
    /// Scenario name, model, series and thresholds.
    pub info: RunInfo,
    /// The summary (None while the run is still being written).
    pub summary: Option<Summary>,
    /// The scenario as it ran, `${env.*}` unresolved.
    pub scenario_text: String,
    /// The scenario file, if it came from one.
    pub scenario_path: Option<String>,
    /// Target names and the URLs used.
    pub targets: Vec<(String, String)>,
    /// Free-text notes.
    pub notes: String,
    /// The loadbench version that ran it.
    pub version: String,
    /// OS, architecture, cores.
    pub host: serde_json::Value,
    /// Notes pinned to times of the run, earliest first.
    pub annotations: Vec<super::Annotation>,
}

/// One series' figures in one tick, as charts draw them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesPoint {
    /// Tick number.
    pub tick: u32,
    /// Requests completed.
    pub requests: u64,
    /// Errors.
    pub errors: u64,
    /// Corrected latency percentiles and max, µs: p50, p90, p95, p99, max.
    pub latency_us: [u64; 5],
    /// Service time percentiles and max, µs.
    pub service_us: [u64; 5],
    /// Error kinds with counts, as stored (`timeout:3,http_5xx:1`).
    pub error_kinds: Option<String>,
    /// Status codes with counts, as stored.
    pub status: Option<String>,
}

/// A window of a run's ticks: their gauges (columns as [`gauge_tick`] reads them).
pub(super) const TICK_ROWS: &str =
    "SELECT tick, t_end, seconds, warmup, target, in_flight, not_started, drain
     FROM ticks WHERE run_id = ?1 AND tick BETWEEN ?2 AND ?3 ORDER BY tick";

/// A window of a run's series rows with their histograms.
pub(super) const SERIES_ROWS: &str = "SELECT s.tick, s.series, s.requests, s.errors, s.bytes_in,
        s.bytes_out, s.late, s.status, s.error_kinds, h.latency, h.service, h.failed, s.retries,
        s.new_conns, h.phases
     FROM tick_series s JOIN tick_histograms h
       ON h.run_id = s.run_id AND h.tick = s.tick AND h.series = s.series
     WHERE s.run_id = ?1 AND s.tick BETWEEN ?2 AND ?3 ORDER BY s.tick, s.series";

/// A tick's gauges from a [`TICK_ROWS`] row, with `stats` for its series.
pub(super) fn gauge_tick(r: &rusqlite::Row<'_>, stats: Vec<Stats>) -> rusqlite::Result<Tick> {
    Ok(Tick {
        index: r.get(0)?,
        end: r.get(1)?,
        seconds: r.get(2)?,
        warmup: r.get(3)?,
        target: r.get(4)?,
        in_flight: r.get::<_, i64>(5)? as u64,
        not_started: r.get::<_, i64>(6)? as u64,
        drain: r.get(7)?,
        stats,
        journeys: Vec::new(),
    })
}

/// Which stored histograms a walk over ticks decodes: decoding is most of its cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Histograms {
    /// Latency and service time.
    Both,
    /// Latency only (service histograms stay empty).
    Latency,
}

/// Everything a chart of a run needs, without histograms.
#[derive(Debug, Clone, Default)]
pub struct RunSeries {
    /// One entry per tick: gauges and totals over every series.
    pub ticks: Vec<TickSummary>,
    /// Per series (indexed like the run's keys), its points in tick order (empty ticks omitted).
    pub series: Vec<Vec<SeriesPoint>>,
}

impl RunSeries {
    /// One series' points as per-tick summaries (ticks it had nothing in count 0; the gauges,
    /// target and in flight, stay the whole run's), for charts of one request.
    pub fn ticks_of(&self, series: usize) -> Vec<TickSummary> {
        let points = self.series.get(series).map_or(&[][..], Vec::as_slice);
        let mut at = 0;
        self.ticks
            .iter()
            .map(|t| {
                while points.get(at).is_some_and(|p| p.tick < t.index) {
                    at += 1;
                }
                let mut s = TickSummary {
                    requests: 0,
                    errors: 0,
                    latency_us: [0; 5],
                    service_us: [0; 5],
                    error_kinds: Vec::new(),
                    ..t.clone()
                };
                if let Some(p) = points.get(at).filter(|p| p.tick == t.index) {
                    s.requests = p.requests;
                    s.errors = p.errors;
                    s.latency_us = p.latency_us;
                    s.service_us = p.service_us;
                    s.error_kinds = p
                        .error_kinds
                        .as_deref()
                        .map(crate::metrics::decode_counts)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, n)| (k.to_string(), n))
                        .collect();
                }
                s
            })
            .collect()
    }
}

const ROW_COLUMNS: &str = "id, uuid, name, scenario, status, started_at_ms, ended_at_ms, duration_s, requests, rate, p95_ms, error_rate, thresholds_passed, baseline";

/// Five nullable µs columns from `from` on (p50, p90, p95, p99, max), NULL as 0.
fn five_us(r: &rusqlite::Row<'_>, from: usize) -> rusqlite::Result<[u64; 5]> {
    let mut out = [0u64; 5];
    for (i, v) in out.iter_mut().enumerate() {
        *v = r.get::<_, Option<i64>>(from + i)?.unwrap_or(0) as u64;
    }
    Ok(out)
}

impl RunRow {
    /// The run list's verdict: `FAIL`, `pass` only for a run that ran its whole schedule
    /// (thresholds that held over 9 s of a 45 s run stopped early are `partial`), `-` without
    /// thresholds.
    pub fn verdict(&self) -> &'static str {
        match (self.thresholds_passed, self.status) {
            (Some(false), _) => "FAIL",
            (Some(true), RunStatus::Completed) => "pass",
            (Some(true), _) => "partial",
            (None, _) => "-",
        }
    }
}

fn row_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        uuid: r.get(1)?,
        name: r.get(2)?,
        scenario: r.get(3)?,
        status: {
            // Stored data is input: a status this version does not know is an error that names
            // it, not a panic and not a guess.
            let text: String = r.get(4)?;
            RunStatus::from_name(&text).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    4,
                    rusqlite::types::Type::Text,
                    format!("unknown run status \"{text}\"").into(),
                )
            })?
        },
        started_at_ms: r.get(5)?,
        ended_at_ms: r.get(6)?,
        duration_s: r.get(7)?,
        requests: r.get(8)?,
        rate: r.get(9)?,
        p95_ms: r.get(10)?,
        error_rate: r.get(11)?,
        thresholds_passed: r.get(12)?,
        tags: Vec::new(),
        baseline: r.get(13)?,
    })
}

impl Store {
    /// Lists runs, newest first.
    pub fn list_runs(&self, f: &RunFilter) -> Result<Vec<RunRow>> {
        let mut sql = format!("SELECT {ROW_COLUMNS} FROM runs WHERE 1 = 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(s) = &f.scenario {
            sql.push_str(" AND scenario = ?");
            args.push(s.clone().into());
        }
        if let Some(s) = f.status {
            sql.push_str(" AND status = ?");
            args.push(s.as_str().to_string().into());
        }
        if let Some(t) = &f.tag {
            sql.push_str(" AND id IN (SELECT run_id FROM run_tags WHERE tag = ?)");
            args.push(t.clone().into());
        }
        if let Some(s) = f.since_ms {
            sql.push_str(" AND started_at_ms >= ?");
            args.push(s.into());
        }
        if let Some(u) = f.until_ms {
            sql.push_str(" AND started_at_ms < ?");
            args.push(u.into());
        }
        sql.push_str(" ORDER BY started_at_ms DESC, id DESC");
        if let Some(l) = f.limit {
            sql.push_str(&format!(" LIMIT {l}"));
        }
        let e = self.err();
        let mut stmt = self.conn.prepare_cached(&sql).map_err(&e)?;
        let mut rows = stmt
            .query_map(params_from_iter(args), row_from)
            .map_err(&e)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&e)?;
        self.attach_tags(&mut rows)?;
        Ok(rows)
    }

    /// Fills in tags with one query for all rows (tags are few; a per-row subquery is not).
    fn attach_tags(&self, rows: &mut [RunRow]) -> Result<()> {
        let e = self.err();
        let mut by_run: std::collections::HashMap<i64, Vec<String>> =
            std::collections::HashMap::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT run_id, tag FROM run_tags ORDER BY run_id, tag")
            .map_err(&e)?;
        let mut q = stmt.query([]).map_err(&e)?;
        while let Some(r) = q.next().map_err(&e)? {
            by_run
                .entry(r.get(0).map_err(&e)?)
                .or_default()
                .push(r.get(1).map_err(&e)?);
        }
        for row in rows {
            if let Some(tags) = by_run.remove(&row.id) {
                row.tags = tags;
            }
        }
        Ok(())
    }

    /// One run, without its ticks.
    pub fn run(&self, id: i64) -> Result<StoredRun> {
        let e = self.err();
        let sql = format!(
            "SELECT {ROW_COLUMNS}, info_json, summary_json, scenario_text, scenario_path, targets_json, notes, version, host_json
             FROM runs WHERE id = ?1"
        );
        let found = self
            .conn
            .query_row(&sql, params![id], |r| {
                Ok((
                    row_from(r)?,
                    r.get::<_, String>(14)?,
                    r.get::<_, Option<String>>(15)?,
                    r.get::<_, String>(16)?,
                    r.get::<_, Option<String>>(17)?,
                    r.get::<_, String>(18)?,
                    r.get::<_, String>(19)?,
                    r.get::<_, String>(20)?,
                    r.get::<_, String>(21)?,
                ))
            })
            .optional()
            .map_err(&e)?;
        let (mut row, info, summary, scenario_text, scenario_path, targets, notes, version, host) =
            found.ok_or(StoreError::NoSuchRun(id))?;
        self.attach_tags(std::slice::from_mut(&mut row))?;
        let bad = |what: &str, err: serde_json::Error| {
            StoreError::Invalid(format!("run #{id}: stored {what} is unreadable: {err}"))
        };
        Ok(StoredRun {
            row,
            info: parse_info(&info)?,
            summary: summary
                .map(|s| serde_json::from_str(&s))
                .transpose()
                .map_err(|err| bad("summary", err))?,
            scenario_text,
            scenario_path,
            targets: serde_json::from_str(&targets).map_err(|err| bad("targets", err))?,
            notes,
            version,
            host: serde_json::from_str(&host).unwrap_or_default(),
            annotations: self.annotations(id)?,
        })
    }

    /// A run's chart data: gauges per tick and figures per series per tick (no histograms).
    pub fn series(&self, id: i64, keys: usize) -> Result<RunSeries> {
        Ok(RunSeries {
            ticks: self.tick_summaries(id)?,
            series: self.series_points(id, keys)?,
        })
    }

    /// A run's gauges and totals per tick: what its charts draw first (a day-long run's
    /// per-request rows, five times as many, can follow in the background).
    pub fn tick_summaries(&self, id: i64) -> Result<Vec<TickSummary>> {
        let e = self.err();
        let mut out = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT tick, t_end, seconds, warmup, target, in_flight, requests, errors,
                        p50_us, p90_us, p95_us, p99_us, max_us, s_p50_us, s_p90_us, s_p95_us, s_p99_us, s_max_us, error_kinds,
                        drain
                 FROM ticks WHERE run_id = ?1 ORDER BY tick",
            )
            .map_err(&e)?;
        let mut rows = stmt.query(params![id]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            let kinds: Option<String> = r.get(18).map_err(&e)?;
            out.push(TickSummary {
                index: r.get(0).map_err(&e)?,
                end: r.get(1).map_err(&e)?,
                seconds: r.get(2).map_err(&e)?,
                drain: r.get(19).map_err(&e)?,
                warmup: r.get(3).map_err(&e)?,
                target: r.get(4).map_err(&e)?,
                in_flight: r.get::<_, i64>(5).map_err(&e)? as u64,
                requests: r.get::<_, i64>(6).map_err(&e)? as u64,
                errors: r.get::<_, i64>(7).map_err(&e)? as u64,
                latency_us: five_us(r, 8).map_err(&e)?,
                service_us: five_us(r, 13).map_err(&e)?,
                error_kinds: kinds
                    .as_deref()
                    .map(decode_counts)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, n)| (k.to_string(), n))
                    .collect(),
            });
        }
        Ok(out)
    }

    /// Each series' points per tick, indexed like the run's keys.
    pub fn series_points(&self, id: i64, keys: usize) -> Result<Vec<Vec<SeriesPoint>>> {
        let e = self.err();
        let mut out = vec![Vec::new(); keys];
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT series, tick, requests, errors, p50_us, p90_us, p95_us, p99_us, max_us,
                        s_p50_us, s_p90_us, s_p95_us, s_p99_us, s_max_us, error_kinds, status
                 FROM tick_series WHERE run_id = ?1 ORDER BY tick, series",
            )
            .map_err(&e)?;
        let mut rows = stmt.query(params![id]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            let series: usize = r.get::<_, i64>(0).map_err(&e)? as usize;
            let point = SeriesPoint {
                tick: r.get(1).map_err(&e)?,
                requests: r.get::<_, i64>(2).map_err(&e)? as u64,
                errors: r.get::<_, i64>(3).map_err(&e)? as u64,
                latency_us: five_us(r, 4).map_err(&e)?,
                service_us: five_us(r, 9).map_err(&e)?,
                error_kinds: r.get(14).map_err(&e)?,
                status: r.get(15).map_err(&e)?,
            };
            if let Some(s) = out.get_mut(series) {
                s.push(point);
            }
        }
        Ok(out)
    }

    /// A run's ticks exactly as the engine emitted them, histograms included (optionally a window).
    pub fn ticks_between(&self, id: i64, from_tick: u32, to_tick: u32) -> Result<Vec<Tick>> {
        let info = self.run(id)?.info;
        let shape = (info.keys.len(), info.journeys.len());
        self.load_ticks(id, shape, from_tick, to_tick, Histograms::Both)
    }

    /// Ticks of run `id`, which has `keys` series and `journeys` journeys (read once by the
    /// caller, not per chunk).
    pub(super) fn load_ticks(
        &self,
        id: i64,
        (keys, journeys): (usize, usize),
        from_tick: u32,
        to_tick: u32,
        histograms: Histograms,
    ) -> Result<Vec<Tick>> {
        let e = self.err();
        let mut ticks: Vec<Tick> = Vec::new();
        let mut stmt = self.conn.prepare_cached(TICK_ROWS).map_err(&e)?;
        let mut rows = stmt.query(params![id, from_tick, to_tick]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            ticks.push(gauge_tick(r, vec![Stats::default(); keys]).map_err(&e)?);
        }
        let first = ticks.first().map_or(0, |t| t.index);
        let mut stmt = self.conn.prepare_cached(SERIES_ROWS).map_err(&e)?;
        let mut rows = stmt.query(params![id, from_tick, to_tick]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            let tick: u32 = r.get(0).map_err(&e)?;
            let series = r.get::<_, i64>(1).map_err(&e)? as usize;
            let Some(t) = ticks
                .get_mut(tick.saturating_sub(first) as usize)
                .filter(|t| t.index == tick)
            else {
                continue;
            };
            let Some(s) = t.stats.get_mut(series) else {
                continue;
            };
            s.requests = r.get::<_, i64>(2).map_err(&e)? as u64;
            s.errors = r.get::<_, i64>(3).map_err(&e)? as u64;
            s.bytes_in = r.get::<_, i64>(4).map_err(&e)? as u64;
            s.bytes_out = r.get::<_, i64>(5).map_err(&e)? as u64;
            s.late = r.get::<_, i64>(6).map_err(&e)? as u64;
            let status: Option<String> = r.get(7).map_err(&e)?;
            let kinds: Option<String> = r.get(8).map_err(&e)?;
            s.set_counts_from_text(status.as_deref(), kinds.as_deref());
            let decode = |col: usize| -> Result<hdrhistogram::Histogram<u64>> {
                let bytes =
                    r.get_ref(col).map_err(&e)?.as_blob().map_err(|err| {
                        StoreError::Invalid(format!("run #{id} tick {tick}: {err}"))
                    })?;
                decode_histogram(bytes)
                    .map_err(|m| StoreError::Invalid(format!("run #{id} tick {tick}: {m}")))
            };
            s.latency = decode(9)?;
            if r.get_ref(11)
                .map_err(&e)?
                .as_blob_or_null()
                .ok()
                .flatten()
                .is_some()
            {
                s.failed = decode(11)?;
            }
            if histograms == Histograms::Both {
                s.service = decode(10)?;
                if let Some(blob) = r.get_ref(14).map_err(&e)?.as_blob_or_null().ok().flatten() {
                    s.phases
                        .decode_into(blob)
                        .map_err(|m| StoreError::Invalid(format!("run #{id} tick {tick}: {m}")))?;
                }
            }
            s.retries = r.get::<_, i64>(12).map_err(&e)?.max(0) as u64;
            s.phases.new_conns = r.get::<_, i64>(13).map_err(&e)?.max(0) as u64;
        }
        if histograms == Histograms::Both {
            self.attach_exemplars(id, keys, &mut ticks)?;
        }
        self.attach_journeys(id, journeys, from_tick, to_tick, &mut ticks)?;
        Ok(ticks)
    }

    /// All of a run's ticks, histograms included.
    pub fn ticks(&self, id: i64) -> Result<Vec<Tick>> {
        self.ticks_between(id, 0, u32::MAX)
    }

    /// Walks a run's ticks in order, histograms included, 15 seconds at a time: an hour-long
    /// run's histograms would take gigabytes if loaded at once.
    pub fn each_tick(
        &self,
        id: i64,
        from_tick: u32,
        to_tick: u32,
        histograms: Histograms,
        mut f: impl FnMut(Tick),
    ) -> Result<()> {
        // Ticks decoded at a time: what a whole-run walk holds. 15 s of 5 wide series (both
        // histograms up to 1 s) is ~25 MB; a query per 15 s costs nothing next to the decoding.
        const CHUNK: u32 = 15;
        let info = self.run(id)?.info;
        let shape = (info.keys.len(), info.journeys.len());
        let mut from = from_tick;
        loop {
            if self.cancelled() {
                return Err(StoreError::Cancelled);
            }
            let to = from.saturating_add(CHUNK - 1).min(to_tick);
            let ticks = self.load_ticks(id, shape, from, to, histograms)?;
            // A run's ticks are numbered without gaps, so a chunk that ends short is the last.
            let more = ticks.last().is_some_and(|t| t.index == to) && to < to_tick;
            ticks.into_iter().for_each(&mut f);
            if !more {
                break;
            }
            from = to + 1;
        }
        Ok(())
    }

    /// A run's totals over its measured seconds (warm-up excluded), read 15 seconds at a time.
    pub fn totals(&self, id: i64) -> Result<Accumulator> {
        self.accumulate(id, 0, u32::MAX, false, None)
    }

    /// Merges a window of ticks (inclusive, warm-up included if asked for) into per-series totals,
    /// from the stored histograms: any percentile of any window, exactly.
    pub fn window(&self, id: i64, from_tick: u32, to_tick: u32) -> Result<Accumulator> {
        self.accumulate(id, from_tick, to_tick, true, None)
    }

    /// Adds tags to a run.
    pub fn tag(&self, id: i64, tags: &[String]) -> Result<()> {
        self.each_tag(
            id,
            tags,
            "INSERT OR IGNORE INTO run_tags (run_id, tag) VALUES (?1, ?2)",
        )
    }

    /// Removes tags from a run.
    pub fn untag(&self, id: i64, tags: &[String]) -> Result<()> {
        self.each_tag(
            id,
            tags,
            "DELETE FROM run_tags WHERE run_id = ?1 AND tag = ?2",
        )
    }

    fn each_tag(&self, id: i64, tags: &[String], sql: &str) -> Result<()> {
        self.run_exists(id)?;
        for t in tags {
            self.conn.execute(sql, params![id, t]).map_err(self.err())?;
        }
        Ok(())
    }

    /// Makes these runs, all of one scenario, the baseline of that scenario (replacing any
    /// earlier baseline): one run, or several so that a comparison can measure run-to-run drift.
    pub fn set_baseline(&self, ids: &[i64]) -> Result<()> {
        let mut scenario: Option<String> = None;
        for id in ids {
            let s: Option<String> = self
                .conn
                .query_row(
                    "SELECT scenario FROM runs WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(self.err())?;
            let s = s.ok_or(StoreError::NoSuchRun(*id))?;
            match &scenario {
                Some(first) if *first != s => {
                    return Err(StoreError::Invalid(format!(
                        "run #{id} is of scenario \"{s}\", not \"{first}\": a baseline is runs of one scenario"
                    )));
                }
                _ => scenario = Some(s),
            }
        }
        let Some(scenario) = scenario else {
            return Err(StoreError::Invalid("no run given".into()));
        };
        let tx = self.conn.unchecked_transaction().map_err(self.err())?;
        tx.execute(
            "UPDATE runs SET baseline = 0 WHERE baseline = 1 AND scenario = ?1",
            params![scenario],
        )
        .map_err(self.err())?;
        for id in ids {
            tx.execute("UPDATE runs SET baseline = 1 WHERE id = ?1", params![id])
                .map_err(self.err())?;
        }
        tx.commit().map_err(self.err())
    }

    /// The baseline runs of a scenario, oldest first (empty when none is marked).
    pub fn baselines_of(&self, scenario: &str) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id FROM runs WHERE scenario = ?1 AND baseline = 1 ORDER BY started_at_ms, id",
            )
            .map_err(self.err())?;
        stmt.query_map(params![scenario], |r| r.get(0))
            .map_err(self.err())?
            .collect::<rusqlite::Result<Vec<i64>>>()
            .map_err(self.err())
    }

    /// The (first) baseline run of a scenario, if one is marked.
    pub fn baseline_of(&self, scenario: &str) -> Result<Option<i64>> {
        Ok(self.baselines_of(scenario)?.first().copied())
    }

    /// Replaces a run's notes.
    pub fn set_notes(&self, id: i64, notes: &str) -> Result<()> {
        let n = self
            .conn
            .execute(
                "UPDATE runs SET notes = ?2 WHERE id = ?1",
                params![id, notes],
            )
            .map_err(self.err())?;
        if n == 0 {
            return Err(StoreError::NoSuchRun(id));
        }
        Ok(())
    }

    /// Deletes a run and everything stored with it.
    pub fn delete_run(&self, id: i64) -> Result<()> {
        let n = self
            .conn
            .execute("DELETE FROM runs WHERE id = ?1", params![id])
            .map_err(self.err())?;
        if n == 0 {
            return Err(StoreError::NoSuchRun(id));
        }
        Ok(())
    }

    fn run_exists(&self, id: i64) -> Result<()> {
        let found: Option<i64> = self
            .conn
            .query_row("SELECT id FROM runs WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err())?;
        found.map(|_| ()).ok_or(StoreError::NoSuchRun(id))
    }
}
