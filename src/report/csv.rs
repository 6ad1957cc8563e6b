//! CSV: the tick series, one row per tick per request name and target.

use std::fmt::Write;

use super::{Exporter, Report};

/// The CSV exporter.
pub struct Csv;

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Exporter for Csv {
    fn render(&self, r: &Report, _stem: &str) -> (Vec<u8>, Vec<(String, String)>) {
        let mut out = String::from(
            "tick,end_s,seconds,warmup,request,target,requests,errors,rate_per_s,p50_ms,p90_ms,p95_ms,p99_ms,max_ms,service_p50_ms,service_p95_ms,service_p99_ms,status_codes,error_kinds\n",
        );
        let ms = |us: u64| us as f64 / 1000.0;
        let mut rows: Vec<(u32, usize, &crate::store::SeriesPoint)> = r
            .series
            .series
            .iter()
            .enumerate()
            .flat_map(|(i, pts)| pts.iter().map(move |p| (p.tick, i, p)))
            .collect();
        rows.sort_by_key(|(tick, i, _)| (*tick, *i));
        for (tick, i, p) in rows {
            let Some(t) = r.ticks.iter().find(|t| t.index == tick) else {
                continue;
            };
            let key = &r.run.info.keys[i];
            let rate = if t.seconds > 0.0 {
                p.requests as f64 / t.seconds
            } else {
                0.0
            };
            let _ = writeln!(
                out,
                "{tick},{:.3},{:.3},{},{},{},{},{},{rate:.1},{},{},{},{},{},{},{},{},{},{}",
                t.end,
                t.seconds,
                t.warmup,
                field(&key.request),
                field(&key.target),
                p.requests,
                p.errors,
                ms(p.latency_us[0]),
                ms(p.latency_us[1]),
                ms(p.latency_us[2]),
                ms(p.latency_us[3]),
                ms(p.latency_us[4]),
                ms(p.service_us[0]),
                ms(p.service_us[2]),
                ms(p.service_us[3]),
                field(&p.status.clone().unwrap_or_default().replace(',', " ")),
                field(&p.error_kinds.clone().unwrap_or_default().replace(',', " ")),
            );
        }
        (out.into_bytes(), vec![])
    }
}
