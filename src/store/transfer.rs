//! Moving a run between machines: one JSON file with everything, histograms included, so an
//! import is the same run, figure for figure.

use crate::metrics::RunStatus;
use std::collections::BTreeMap;

use base64::Engine as _;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::recorder::{insert_tick, json};
use super::{Result, Store, StoreError};
use crate::metrics::{
    RunInfo, Stats, Summary, Tick, decode_histogram, encode_counts, encode_histogram,
};

/// The version of the run export format.
pub const EXPORT_SCHEMA: &str = "loadbench.run/1";

/// A whole run as a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunExport {
    /// Always [`EXPORT_SCHEMA`].
    pub schema: String,
    /// Identity across databases.
    pub uuid: String,
    /// The run's name.
    pub name: String,
    /// The scenario as it ran.
    pub scenario_text: String,
    /// The scenario file, if any.
    pub scenario_path: Option<String>,
    /// Model, series, thresholds.
    pub info: RunInfo,
    /// Target names and URLs.
    pub targets: Vec<(String, String)>,
    /// Final status.
    pub status: RunStatus,
    /// Start, ms since the epoch.
    pub started_at_ms: i64,
    /// End, ms since the epoch.
    pub ended_at_ms: Option<i64>,
    /// The summary.
    pub summary: Option<Summary>,
    /// Notes.
    pub notes: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Whether it was a baseline run of its scenario where it was exported, so a baseline kept
    /// as a CI artifact is a baseline again once imported.
    #[serde(default)]
    pub baseline: bool,
    /// The loadbench version that ran it.
    pub version: String,
    /// The machine it ran on.
    pub host: serde_json::Value,
    /// Notes pinned to times of the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<super::Annotation>,
    /// What the run's `[monitor]` read, point by point (absent when it had none).
    #[serde(default, skip_serializing_if = "super::MonitorData::is_empty")]
    pub monitor: super::MonitorData,
    /// Every tick.
    pub ticks: Vec<TickExport>,
}

/// What a streamed import learns only once its ticks are read.
#[derive(Debug, Clone, Default)]
pub struct Streamed {
    /// The run's series, which may have grown while reading.
    pub keys: Vec<crate::metrics::Key>,
    /// When the run started, if the header did not know.
    pub started_at_ms: Option<i64>,
    /// What measured it (another tool and its version), if not the header's.
    pub version: Option<String>,
    /// The run's notes, if not the header's.
    pub notes: Option<String>,
    /// What is known of where it ran (or which tool measured it), if not the header's.
    pub host: Option<serde_json::Value>,
}

/// One tick in an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickExport {
    /// Tick number.
    pub index: u32,
    /// Seconds since the start at its end.
    pub end: f64,
    /// Its length in seconds.
    pub seconds: f64,
    /// The last tick: how long its drain took (absent in exports made before it, and when 0).
    #[serde(default, skip_serializing_if = "crate::metrics::no_drain")]
    pub drain: f64,
    /// Part of the warm-up.
    pub warmup: bool,
    /// Scheduled rate or VUs.
    pub target: f64,
    /// Most requests in flight.
    pub in_flight: u64,
    /// Requests never started.
    pub not_started: u64,
    /// Non-empty series.
    pub series: Vec<SeriesExport>,
    /// Journeys with an iteration that ended this tick (`series` indexes `info.journeys`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub journeys: Vec<SeriesExport>,
    /// The tick's slowest and first failing requests (absent in exports made before them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exemplars: Vec<crate::metrics::ExemplarRecord>,
}

/// One series of one tick in an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesExport {
    /// Index into `info.keys`.
    pub series: usize,
    /// Requests completed.
    pub requests: u64,
    /// Errors.
    pub errors: u64,
    /// Body bytes received.
    pub bytes_in: u64,
    /// Body bytes sent.
    pub bytes_out: u64,
    /// Late starts.
    pub late: u64,
    /// Status codes.
    pub status: BTreeMap<String, u64>,
    /// Error kinds.
    pub error_kinds: BTreeMap<String, u64>,
    /// Corrected latency histogram: HdrHistogram V2 + deflate, base64.
    pub latency: String,
    /// Service time histogram, same encoding.
    pub service: String,
    /// Corrected latency of the requests that failed, same encoding (absent when none failed, and
    /// in exports made before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// Requests sent again on a new connection.
    #[serde(default)]
    pub retries: u64,
    /// Connections opened.
    #[serde(default)]
    pub new_conns: u64,
    /// Phase histograms (the store's blob: per phase a 4-byte length and its encoding), base64;
    /// absent when none was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<String>,
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A tick as the export format holds it (empty series left out, histograms encoded).
pub(super) fn tick_export(t: &Tick) -> TickExport {
    let non_empty = |list: &[Stats]| -> Vec<SeriesExport> {
        list.iter()
            .enumerate()
            .filter(|(_, s)| s.requests > 0 || s.errors > 0)
            .map(|(i, s)| series_export(i, s))
            .collect()
    };
    TickExport {
        index: t.index,
        end: t.end,
        seconds: t.seconds,
        drain: t.drain,
        warmup: t.warmup,
        target: t.target,
        in_flight: t.in_flight,
        not_started: t.not_started,
        series: non_empty(&t.stats),
        journeys: non_empty(&t.journeys),
        exemplars: t
            .stats
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                let slow = s.exemplars.slowest.iter().map(move |e| (i, e, false));
                let failed = s.exemplars.failures.iter().map(move |e| (i, e, true));
                slow.chain(failed)
            })
            .map(|(i, e, failed)| crate::metrics::ExemplarRecord::of(e, t.index, i, failed))
            .collect(),
    }
}

/// One series (or journey) of a tick, histograms encoded.
fn series_export(i: usize, s: &Stats) -> SeriesExport {
    SeriesExport {
        series: i,
        requests: s.requests,
        errors: s.errors,
        bytes_in: s.bytes_in,
        bytes_out: s.bytes_out,
        late: s.late,
        status: s.status_counts().collect(),
        error_kinds: s.error_counts().collect(),
        latency: B64.encode(encode_histogram(&s.latency)),
        service: B64.encode(encode_histogram(&s.service)),
        failed: (!s.failed.is_empty()).then(|| B64.encode(encode_histogram(&s.failed))),
        retries: s.retries,
        new_conns: s.phases.new_conns,
        phases: s.phases.encode().map(|b| B64.encode(b)),
    }
}

impl Store {
    /// Everything about a run, as one document (every tick held: for short runs and tests;
    /// files go through [`Store::write_export`], a tick at a time).
    pub fn export_run(&self, id: i64) -> Result<RunExport> {
        let mut doc = self.export_header(id)?;
        self.each_tick(id, 0, u32::MAX, super::Histograms::Both, |t| {
            doc.ticks.push(tick_export(&t))
        })?;
        Ok(doc)
    }

    /// Everything about a run but its ticks.
    pub(super) fn export_header(&self, id: i64) -> Result<RunExport> {
        let run = self.run(id)?;
        let ticks = Vec::new();
        let r = run.row;
        Ok(RunExport {
            schema: EXPORT_SCHEMA.to_string(),
            uuid: r.uuid,
            name: r.name,
            scenario_text: run.scenario_text,
            scenario_path: run.scenario_path,
            info: run.info,
            targets: run.targets,
            status: r.status,
            started_at_ms: r.started_at_ms,
            ended_at_ms: r.ended_at_ms,
            summary: run.summary,
            notes: run.notes,
            tags: r.tags,
            baseline: r.baseline,
            version: run.version,
            host: run.host,
            annotations: run.annotations,
            monitor: self.monitor(id)?,
            ticks,
        })
    }

    /// The local id of a run by its uuid (the same run imported twice is one run).
    pub fn run_by_uuid(&self, uuid: &str) -> Result<Option<i64>> {
        self.conn
            .query_row("SELECT id FROM runs WHERE uuid = ?1", params![uuid], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err())
    }

    /// Imports several runs in one transaction (all or nothing).
    pub fn import_many(&self, docs: impl IntoIterator<Item = RunExport>) -> Result<Vec<i64>> {
        let tx = self.conn.unchecked_transaction().map_err(self.err())?;
        let ids = docs
            .into_iter()
            .map(|d| self.import_run(&d))
            .collect::<Result<Vec<_>>>()?;
        tx.commit().map_err(self.err())?;
        Ok(ids)
    }

    /// Stores an exported run as a new local run. The file is input like any other: every field is
    /// checked (times, counts, seconds, histograms; ticks numbered without gaps), the summary is
    /// rebuilt from the ticks rather than taken on trust, and ticks are decoded and written one at
    /// a time inside a savepoint, so memory stays bounded and a bad file stores nothing.
    pub fn import_run(&self, doc: &RunExport) -> Result<i64> {
        let shape = (doc.info.keys.len(), doc.info.journeys.len());
        self.import_stream(doc, |sink| {
            for (n, t) in doc.ticks.iter().enumerate() {
                sink(rebuild_tick(t, n, shape)?)?;
            }
            Ok(Streamed {
                keys: doc.info.keys.clone(),
                ..Streamed::default()
            })
        })
    }

    /// Stores a run whose ticks come one at a time from `produce` (an export's, or another
    /// tool's file read as it goes): `doc` gives everything but the ticks (its own are ignored),
    /// `produce` hands each tick to the sink in order and returns the run's series, which may
    /// have grown while reading. All inside a savepoint: an error anywhere stores nothing.
    pub fn import_stream(
        &self,
        doc: &RunExport,
        produce: impl FnOnce(
            &mut dyn FnMut(Tick) -> std::result::Result<(), String>,
        ) -> std::result::Result<Streamed, String>,
    ) -> Result<i64> {
        let bad = |m: String| StoreError::Invalid(m);
        if doc.schema != EXPORT_SCHEMA {
            return Err(bad(format!(
                "unsupported export schema \"{}\" (this build reads \"{EXPORT_SCHEMA}\")",
                doc.schema
            )));
        }
        if doc.status == RunStatus::Running {
            return Err(bad(format!(
                "status \"{}\" is not a finished run's status",
                doc.status
            )));
        }
        check_header(doc).map_err(bad)?;
        if let Some(id) = self.run_by_uuid(&doc.uuid)? {
            return Err(bad(format!(
                "this run is already in the database as run #{id}"
            )));
        }
        // A savepoint: all or nothing, alone or inside import_many's transaction.
        self.conn
            .execute_batch("SAVEPOINT import_run")
            .map_err(self.err())?;
        let written = (|| -> Result<i64> {
            self.conn.execute(
                "INSERT INTO runs (uuid, name, scenario, scenario_text, scenario_path, model, info_json, targets_json,
                                   status, started_at_ms, ended_at_ms, notes, version, host_json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    doc.uuid,
                    doc.name,
                    doc.info.scenario,
                    doc.scenario_text,
                    doc.scenario_path,
                    doc.info.model.as_str(),
                    json(&doc.info),
                    json(&doc.targets),
                    doc.status.as_str(),
                    doc.started_at_ms,
                    doc.ended_at_ms,
                    doc.notes,
                    doc.version,
                    doc.host.to_string(),
                ],
            )
            .map_err(self.err())?;
            let id = self.conn.last_insert_rowid();
            for tag in &doc.tags {
                self.conn
                    .execute(
                        "INSERT OR IGNORE INTO run_tags (run_id, tag) VALUES (?1, ?2)",
                        params![id, tag],
                    )
                    .map_err(self.err())?;
            }
            if doc.baseline {
                self.conn
                    .execute("UPDATE runs SET baseline = 1 WHERE id = ?1", params![id])
                    .map_err(self.err())?;
            }
            if doc.annotations.len() > super::annotations::MAX_PER_RUN {
                return Err(bad(format!(
                    "{} annotations: at most {} a run",
                    doc.annotations.len(),
                    super::annotations::MAX_PER_RUN
                )));
            }
            let mut acc = crate::metrics::Accumulator::new(doc.info.keys.len());
            let mut stored: Option<StoreError> = None;
            let mut span = 0.0f64;
            let streamed = produce(&mut |tick: Tick| {
                if acc.stats.len() < tick.stats.len() {
                    acc.stats.resize_with(tick.stats.len(), Stats::default);
                }
                acc.add(&tick);
                span = tick.end;
                insert_tick(&self.conn, id, &tick).map_err(|e| {
                    let shown = e.to_string();
                    stored = Some(self.err()(e));
                    shown
                })?;
                Ok(())
            });
            let streamed = match (streamed, stored) {
                (_, Some(e)) => return Err(e),
                (Err(m), None) => return Err(bad(m)),
                (Ok(k), None) => k,
            };
            let keys = streamed.keys;
            let started_at_ms = streamed.started_at_ms.unwrap_or(doc.started_at_ms);
            if !(0..=LAST_MS).contains(&started_at_ms) {
                return Err(bad(format!(
                    "the run starts at {started_at_ms} ms, not a time between 1970 and 9999"
                )));
            }
            self.conn
                .execute(
                    "UPDATE runs SET started_at_ms = ?2, version = ?3, notes = ?4, host_json = ?5 WHERE id = ?1",
                    params![
                        id,
                        started_at_ms,
                        streamed.version.as_deref().unwrap_or(&doc.version),
                        streamed.notes.as_deref().unwrap_or(&doc.notes),
                        streamed.host.as_ref().unwrap_or(&doc.host).to_string(),
                    ],
                )
                .map_err(self.err())?;
            for a in &doc.annotations {
                a.check(span).map_err(bad)?;
                self.insert_annotation(id, a)?;
            }
            doc.monitor.check(span).map_err(bad)?;
            self.insert_monitor(id, &doc.monitor)?;
            acc.stats.resize_with(keys.len(), Stats::default);
            let info = crate::metrics::RunInfo {
                keys,
                ..doc.info.clone()
            };
            self.conn
                .execute(
                    "UPDATE runs SET info_json = ?2 WHERE id = ?1",
                    params![id, json(&info)],
                )
                .map_err(self.err())?;
            // The figures come from the ticks; only what the ticks cannot say (the machine the
            // run had) is taken from the file's summary, once checked.
            let started = crate::format::system_time(started_at_ms);
            let mut summary = Summary::build(&info, &acc, doc.status, started);
            summary.environment = doc
                .summary
                .as_ref()
                .and_then(|s| s.environment.clone())
                .filter(crate::monitor::Environment::is_plausible);
            // The monitor's figures travel with its points, when they are numbers.
            summary.monitor = doc
                .summary
                .as_ref()
                .and_then(|s| s.monitor.clone())
                .filter(|m| {
                    !doc.monitor.is_empty()
                        && m.series.len() <= 200
                        && m.series
                            .iter()
                            .all(|s| [s.min, s.mean, s.max, s.last].iter().all(|v| v.is_finite()))
                });
            let ended = doc
                .ended_at_ms
                .unwrap_or(started_at_ms + (span * 1000.0).round() as i64);
            self.write_final(id, doc.status, ended, &summary)?;
            Ok(id)
        })();
        match written {
            Ok(id) => {
                self.conn
                    .execute_batch("RELEASE import_run")
                    .map_err(self.err())?;
                Ok(id)
            }
            Err(err) => {
                let _ = self
                    .conn
                    .execute_batch("ROLLBACK TO import_run; RELEASE import_run");
                Err(err)
            }
        }
    }
}

/// The most journeys a run read from a file may have (a scenario has a handful).
const MAX_JOURNEYS: usize = 1000;

/// The latest moment a stored time may name (9999-12-31, the end of RFC 3339).
const LAST_MS: i64 = 253_402_300_799_999;

/// Checks what an export says about the run as a whole.
fn check_header(doc: &RunExport) -> std::result::Result<(), String> {
    if !(0..=LAST_MS).contains(&doc.started_at_ms) {
        return Err(format!(
            "started_at_ms {} is not a time between 1970 and 9999",
            doc.started_at_ms
        ));
    }
    if let Some(end) = doc.ended_at_ms
        && !(doc.started_at_ms..=LAST_MS).contains(&end)
    {
        return Err(format!(
            "ended_at_ms {end} is before the start or after 9999"
        ));
    }
    if doc.uuid.trim().is_empty() {
        return Err("uuid is empty".into());
    }
    if let Some(s) = &doc.info.shard {
        s.check()?;
    }
    let names = &doc.info.journeys;
    if names.len() > MAX_JOURNEYS
        || names.iter().any(|n| n.is_empty() || n.len() > 200)
        || names
            .iter()
            .enumerate()
            .any(|(i, n)| names[..i].contains(n))
    {
        return Err(format!(
            "info.journeys must be at most {MAX_JOURNEYS} distinct names of 1 to 200 bytes"
        ));
    }
    Ok(())
}

/// One exported tick checked and rebuilt (histograms decoded); `n` is its position (0-based),
/// `keys` and `journeys` how many series and journeys the run has.
pub(super) fn rebuild_tick(
    t: &TickExport,
    n: usize,
    (keys, journeys): (usize, usize),
) -> std::result::Result<Tick, String> {
    let here = format!("tick {}", t.index);
    if t.index as usize != n + 1 {
        return Err(format!(
            "{here}: ticks are numbered 1, 2, 3… without gaps, and this is the {} one",
            n + 1
        ));
    }
    let sane = |v: f64, max: f64| v.is_finite() && (0.0..=max).contains(&v);
    if !sane(t.end, 1e9)
        || !sane(t.seconds, 86_400.0)
        || !sane(t.drain, 86_400.0)
        || !sane(t.target, 1e12)
    {
        return Err(format!(
            "{here}: end {}, seconds {}, drain {} or target {} is not a finite, non-negative figure in range",
            t.end, t.seconds, t.drain, t.target
        ));
    }
    let mut stats = rebuild_list(&t.series, keys, &format!("{here} series"), "series")?;
    let journeys = rebuild_list(
        &t.journeys,
        journeys,
        &format!("{here} journey"),
        "journeys",
    )?;
    for r in &t.exemplars {
        let where_ = format!("{here} exemplar");
        r.check(keys).map_err(|e| format!("{where_}: {e}"))?;
        if r.tick != t.index {
            return Err(format!("{where_}: it names tick {}", r.tick));
        }
        let list = &mut stats[r.series].exemplars;
        let (list, most) = if r.failed() {
            (&mut list.failures, crate::metrics::FAILURES_KEPT)
        } else {
            (&mut list.slowest, crate::metrics::SLOWEST_KEPT)
        };
        if list.len() >= most {
            return Err(format!(
                "{where_}: more than the {most} a series keeps per tick"
            ));
        }
        list.push(crate::metrics::Exemplar::from_record(r));
    }
    Ok(Tick {
        index: t.index,
        end: t.end,
        seconds: t.seconds,
        drain: t.drain,
        warmup: t.warmup,
        target: t.target,
        in_flight: t.in_flight,
        not_started: t.not_started,
        stats,
        journeys,
    })
}

/// A tick's series (or journeys) checked and decoded, into a list of `len`; `what` names the
/// list in errors.
fn rebuild_list(
    list: &[SeriesExport],
    len: usize,
    here: &str,
    what: &str,
) -> std::result::Result<Vec<Stats>, String> {
    let mut stats = vec![Stats::default(); len];
    let mut seen = vec![false; len];
    for s in list {
        let where_ = format!("{here} {}", s.series);
        if s.series >= len || std::mem::replace(&mut seen[s.series], true) {
            return Err(format!(
                "{where_}: the run has {len} {what}, each once a tick"
            ));
        }
        stats[s.series] = rebuild_series(s, &where_)?;
    }
    Ok(stats)
}

/// One series of a tick checked and decoded.
fn rebuild_series(s: &SeriesExport, where_: &str) -> std::result::Result<Stats, String> {
    let mut stats = Stats::default();
    let hist = |what: &str, text: &str| {
        let bytes = B64
            .decode(text)
            .map_err(|e| format!("{where_}: {what} is not base64: {e}"))?;
        decode_histogram(&bytes).map_err(|e| format!("{where_}: {what}: {e}"))
    };
    let slot = &mut stats;
    slot.latency = hist("latency", &s.latency)?;
    slot.service = hist("service", &s.service)?;
    if let Some(f) = &s.failed {
        slot.failed = hist("failed", f)?;
    }
    if let Some(p) = &s.phases {
        let bytes = B64
            .decode(p)
            .map_err(|e| format!("{where_}: phases is not base64: {e}"))?;
        slot.phases
            .decode_into(&bytes)
            .map_err(|e| format!("{where_}: phases: {e}"))?;
    }
    slot.phases.new_conns = s.new_conns;
    let counted = |what: &str, n: u64, most: u64| {
        if n > most {
            Err(format!(
                "{where_}: {n} {what}, more than the {most} requests it had"
            ))
        } else {
            Ok(())
        }
    };
    counted("errors", s.errors, s.requests)?;
    counted("latency samples", slot.latency.len(), s.requests)?;
    counted("service samples", slot.service.len(), s.requests)?;
    counted("failed samples", slot.failed.len(), slot.latency.len())?;
    counted(
        "statuses",
        s.status.values().fold(0u64, |a, b| a.saturating_add(*b)),
        s.requests,
    )?;
    counted(
        "classified errors",
        s.error_kinds
            .values()
            .fold(0u64, |a, b| a.saturating_add(*b)),
        s.errors,
    )?;
    if let Some(code) = s
        .status
        .keys()
        .find(|c| c.parse::<u16>().map_or(true, |c| !(100..=999).contains(&c)))
    {
        return Err(format!("{where_}: `{code}` is not an HTTP status code"));
    }
    slot.requests = s.requests;
    slot.errors = s.errors;
    slot.bytes_in = s.bytes_in;
    slot.bytes_out = s.bytes_out;
    slot.late = s.late;
    slot.retries = s.retries;
    let status = encode_counts(s.status.iter().map(|(k, n)| (k.clone(), *n)));
    let kinds = encode_counts(s.error_kinds.iter().map(|(k, n)| (k.clone(), *n)));
    slot.set_counts_from_text(status.as_deref(), kinds.as_deref());
    Ok(stats)
}
