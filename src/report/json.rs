//! JSON: the run, its summary and its tick series, with a schema version (docs/json-report.md).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::metrics::TickSummary;

use super::{Exporter, Report};

/// The version of the JSON report document.
pub const REPORT_SCHEMA: &str = "loadbench.report/2";

/// The JSON exporter.
pub struct Json;

/// Percentiles of one tick, in ms (fields in the order the document has always had them).
#[derive(Serialize)]
struct Lat {
    max_ms: f64,
    p50_ms: f64,
    p90_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
}

fn lat(us: &[u64; 5]) -> Lat {
    let ms = |v: u64| v as f64 / 1000.0;
    Lat {
        max_ms: ms(us[4]),
        p50_ms: ms(us[0]),
        p90_ms: ms(us[1]),
        p95_ms: ms(us[2]),
        p99_ms: ms(us[3]),
    }
}

/// One tick of the document, written as it is serialised: a day-long run's 86,400 ticks as a
/// tree of JSON values took ~800 MB.
#[derive(Serialize)]
struct TickOut<'a> {
    /// The last tick: how long its drain took (its `rate` divides by `seconds` + this).
    #[serde(skip_serializing_if = "crate::metrics::no_drain")]
    drain_s: f64,
    end_s: f64,
    error_kinds: BTreeMap<&'a str, u64>,
    errors: u64,
    in_flight: u64,
    latency: Lat,
    rate: f64,
    requests: u64,
    seconds: f64,
    service_time: Lat,
    target: f64,
    tick: u32,
    warmup: bool,
}

/// The ticks, serialised one at a time.
struct Ticks<'a>(&'a [TickSummary]);

impl Serialize for Ticks<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|t| {
            TickOut {
                drain_s: t.drain,
                end_s: t.end,
                error_kinds: t
                    .error_kinds
                    .iter()
                    .map(|(k, n)| (k.as_str(), *n))
                    .collect(),
                errors: t.errors,
                in_flight: t.in_flight,
                latency: lat(&t.latency_us),
                rate: t.rate(),
                requests: t.requests,
                seconds: t.seconds,
                service_time: lat(&t.service_us),
                target: t.target,
                tick: t.index,
                warmup: t.warmup,
            }
        }))
    }
}

/// The document; keys in alphabetical order, as the JSON values it was once built from had them.
#[derive(Serialize)]
struct Doc<'a> {
    comparisons: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    monitor: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proxy_overhead: Option<Value>,
    run: Value,
    scenario_text: &'a str,
    schema: &'static str,
    summary: Value,
    ticks: Ticks<'a>,
}

impl Exporter for Json {
    fn render(&self, r: &Report, _stem: &str) -> (Vec<u8>, Vec<(String, String)>) {
        let row = &r.run.row;
        let doc = Doc {
            schema: REPORT_SCHEMA,
            run: json!({
                "id": row.id, "uuid": row.uuid, "name": row.name, "scenario": row.scenario,
                "status": row.status, "model": r.run.info.model,
                "started_at_ms": row.started_at_ms, "ended_at_ms": row.ended_at_ms,
                "tags": row.tags, "notes": r.run.notes, "version": r.run.version, "host": r.run.host,
                "annotations": r.run.annotations,
                "targets": r.run.targets.iter().map(|(n, u)| {
                    match r.run.info.proxies.iter().find(|(p, _)| p == n) {
                        Some((_, proxy)) => json!({"name": n, "url": u, "proxy": proxy}),
                        None => json!({"name": n, "url": u}),
                    }
                }).collect::<Vec<_>>(),
            }),
            summary: json!(r.summary),
            comparisons: json!(
                r.comparisons
                    .iter()
                    .map(|b| &b.comparison)
                    .collect::<Vec<_>>()
            ),
            ticks: Ticks(&r.ticks),
            scenario_text: &r.run.scenario_text,
            // The server side, point by point, for runs that had a [monitor].
            monitor: (!r.monitor.series.is_empty() || !r.monitor.failures.is_empty())
                .then(|| json!(r.monitor)),
            // What a proxy layer added, for runs with a target through a proxy.
            proxy_overhead: (!r.overhead.is_empty()).then(|| json!(r.overhead)),
        };
        let mut text = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        text.push(b'\n');
        (text, vec![])
    }
}
