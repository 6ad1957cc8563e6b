//! CSV: the tick series, one row per tick per request name and target (and per journey).

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
        // Every tick × every series, so a second without a response is a row of zeros, not a gap
        // (runs stored before zero rows were kept have no row for it either).
        let ms = |requests: u64, us: u64| {
            if requests == 0 {
                String::new()
            } else {
                (us as f64 / 1000.0).to_string()
            }
        };
        let mut points: std::collections::HashMap<(u32, usize), &crate::store::SeriesPoint> =
            std::collections::HashMap::new();
        for (i, pts) in r.series.series.iter().enumerate() {
            for p in pts {
                points.insert((p.tick, i), p);
            }
        }
        let zero = crate::store::SeriesPoint::default();
        for t in &r.ticks {
            // The series, then each journey's whole iterations (target `(journey)`).
            for (i, key) in r.run.info.rows().iter().enumerate() {
                let p = points.get(&(t.index, i)).copied().unwrap_or(&zero);
                let rate = t.per_second(p.requests);
                let n = p.requests;
                let _ = writeln!(
                    out,
                    "{},{:.3},{:.3},{},{},{},{},{},{rate:.1},{},{},{},{},{},{},{},{},{},{}",
                    t.index,
                    t.end,
                    t.seconds,
                    t.warmup,
                    field(&key.request),
                    field(&key.target),
                    p.requests,
                    p.errors,
                    ms(n, p.latency_us[0]),
                    ms(n, p.latency_us[1]),
                    ms(n, p.latency_us[2]),
                    ms(n, p.latency_us[3]),
                    ms(n, p.latency_us[4]),
                    ms(n, p.service_us[0]),
                    ms(n, p.service_us[2]),
                    ms(n, p.service_us[3]),
                    field(&p.status.clone().unwrap_or_default().replace(',', " ")),
                    field(&p.error_kinds.clone().unwrap_or_default().replace(',', " ")),
                );
            }
        }
        (out.into_bytes(), vec![])
    }
}
