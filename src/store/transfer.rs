//! Moving a run between machines: one JSON file with everything, histograms included, so an
//! import is the same run, figure for figure.

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
    pub status: String,
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
    /// The loadbench version that ran it.
    pub version: String,
    /// The machine it ran on.
    pub host: serde_json::Value,
    /// Every tick.
    pub ticks: Vec<TickExport>,
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
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A tick as the export format holds it (empty series left out, histograms encoded).
pub(super) fn tick_export(t: &Tick) -> TickExport {
    TickExport {
        index: t.index,
        end: t.end,
        seconds: t.seconds,
        warmup: t.warmup,
        target: t.target,
        in_flight: t.in_flight,
        not_started: t.not_started,
        series: t
            .stats
            .iter()
            .enumerate()
            .filter(|(_, s)| s.requests > 0 || s.errors > 0)
            .map(|(i, s)| SeriesExport {
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
            })
            .collect(),
    }
}

impl Store {
    /// Everything about a run, as one document.
    pub fn export_run(&self, id: i64) -> Result<RunExport> {
        let run = self.run(id)?;
        let ticks = self.ticks(id)?;
        let ticks = ticks.iter().map(tick_export).collect();
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
            version: run.version,
            host: run.host,
            ticks,
        })
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

    /// Stores an exported run as a new local run; checks everything first, so a bad file stores nothing.
    pub fn import_run(&self, doc: &RunExport) -> Result<i64> {
        let bad = |m: String| StoreError::Invalid(m);
        if doc.schema != EXPORT_SCHEMA {
            return Err(bad(format!(
                "unsupported export schema \"{}\" (this build reads \"{EXPORT_SCHEMA}\")",
                doc.schema
            )));
        }
        if !["completed", "stopped", "interrupted", "failed"].contains(&doc.status.as_str()) {
            return Err(bad(format!(
                "status \"{}\" is not a finished run's status",
                doc.status
            )));
        }
        let existing: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM runs WHERE uuid = ?1",
                params![doc.uuid],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())?;
        if let Some(id) = existing {
            return Err(bad(format!(
                "this run is already in the database as run #{id}"
            )));
        }
        // Rebuild every tick (decoding every histogram) before writing anything.
        let keys = doc.info.keys.len();
        let mut ticks = Vec::with_capacity(doc.ticks.len());
        for t in &doc.ticks {
            let mut stats = vec![Stats::default(); keys];
            for s in &t.series {
                let where_ = format!("tick {} series {}", t.index, s.series);
                let slot = stats
                    .get_mut(s.series)
                    .ok_or_else(|| bad(format!("{where_}: the run has only {keys} series")))?;
                let hist = |what: &str, text: &str| {
                    let bytes = B64
                        .decode(text)
                        .map_err(|e| bad(format!("{where_}: {what} is not base64: {e}")))?;
                    decode_histogram(&bytes).map_err(|e| bad(format!("{where_}: {what}: {e}")))
                };
                slot.latency = hist("latency", &s.latency)?;
                slot.service = hist("service", &s.service)?;
                if let Some(f) = &s.failed {
                    slot.failed = hist("failed", f)?;
                }
                slot.retries = s.retries;
                slot.requests = s.requests;
                slot.errors = s.errors;
                slot.bytes_in = s.bytes_in;
                slot.bytes_out = s.bytes_out;
                slot.late = s.late;
                let status = encode_counts(s.status.iter().map(|(k, n)| (k.clone(), *n)));
                let kinds = encode_counts(s.error_kinds.iter().map(|(k, n)| (k.clone(), *n)));
                slot.set_counts_from_text(status.as_deref(), kinds.as_deref());
            }
            ticks.push(Tick {
                index: t.index,
                end: t.end,
                seconds: t.seconds,
                warmup: t.warmup,
                target: t.target,
                in_flight: t.in_flight,
                not_started: t.not_started,
                stats,
            });
        }
        // A savepoint: all or nothing, alone or inside import_many's transaction.
        self.conn
            .execute_batch("SAVEPOINT import_run")
            .map_err(self.err())?;
        let written = (|| -> Result<i64> {
            let s = doc.summary.as_ref();
            self.conn.execute(
                "INSERT INTO runs (uuid, name, scenario, scenario_text, scenario_path, model, info_json, targets_json,
                                   status, started_at_ms, ended_at_ms, duration_s, summary_json, thresholds_passed,
                                   requests, rate, p95_ms, error_rate, notes, version, host_json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
                params![
                    doc.uuid,
                    doc.name,
                    doc.info.scenario,
                    doc.scenario_text,
                    doc.scenario_path,
                    doc.info.model,
                    json(&doc.info),
                    json(&doc.targets),
                    doc.status,
                    doc.started_at_ms,
                    doc.ended_at_ms,
                    s.map_or(0.0, |s| s.duration_s),
                    s.map(json),
                    s.and_then(Summary::verdict),
                    s.map_or(0, |s| s.total.count as i64),
                    s.map(|s| s.total.rate),
                    s.filter(|s| s.total.latency.samples > 0)
                        .map(|s| s.total.latency.p95_ms),
                    s.map(|s| s.total.error_rate),
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
            for t in &ticks {
                insert_tick(&self.conn, id, t).map_err(self.err())?;
            }
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
