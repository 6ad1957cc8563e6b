//! JSON: the run, its summary and its tick series, with a schema version (docs/json-report.md).

use serde_json::{Value, json};

use super::{Exporter, Report};

/// The version of the JSON report document.
pub const REPORT_SCHEMA: &str = "loadbench.report/2";

/// The JSON exporter.
pub struct Json;

fn lat(us: &[u64; 5]) -> Value {
    let ms = |v: u64| v as f64 / 1000.0;
    json!({"p50_ms": ms(us[0]), "p90_ms": ms(us[1]), "p95_ms": ms(us[2]), "p99_ms": ms(us[3]), "max_ms": ms(us[4])})
}

impl Exporter for Json {
    fn render(&self, r: &Report, _stem: &str) -> (Vec<u8>, Vec<(String, String)>) {
        let row = &r.run.row;
        let ticks: Vec<Value> = r
            .ticks
            .iter()
            .map(|t| {
                json!({
                    "tick": t.index, "end_s": t.end, "seconds": t.seconds, "warmup": t.warmup,
                    "target": t.target, "in_flight": t.in_flight, "requests": t.requests,
                    "errors": t.errors, "rate": t.rate(),
                    "latency": lat(&t.latency_us), "service_time": lat(&t.service_us),
                    "error_kinds": t.error_kinds.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
                })
            })
            .collect();
        let mut doc = json!({
            "schema": REPORT_SCHEMA,
            "run": {
                "id": row.id, "uuid": row.uuid, "name": row.name, "scenario": row.scenario,
                "status": row.status, "model": r.run.info.model,
                "started_at_ms": row.started_at_ms, "ended_at_ms": row.ended_at_ms,
                "tags": row.tags, "notes": r.run.notes, "version": r.run.version, "host": r.run.host,
                "annotations": r.run.annotations,
                "targets": r.run.targets.iter().map(|(n, u)| json!({"name": n, "url": u})).collect::<Vec<_>>(),
            },
            "summary": r.summary,
            "comparisons": r.comparisons.iter().map(|b| &b.comparison).collect::<Vec<_>>(),
            "ticks": ticks,
            "scenario_text": r.run.scenario_text,
        });
        // The server side, point by point, for runs that had a [monitor].
        if !r.monitor.series.is_empty() || !r.monitor.failures.is_empty() {
            doc["monitor"] = json!(r.monitor);
        }
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        (text.into_bytes(), vec![])
    }
}
