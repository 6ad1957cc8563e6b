//! Artillery's `--output` JSON report: counters exact per period, latency only as summaries.
//!
//! Artillery keeps no per-request record: each intermediate period (10 s by default) has
//! counters (exact) and per-endpoint latency summaries (min, p50 … p999, max). Each period
//! becomes one tick as long as the period, its histogram rebuilt from the summary's quantiles,
//! so percentiles read from the run are Artillery's own at those quantiles and interpolated
//! between them.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use serde::Deserialize;

use super::{Found, Sink};
use crate::metrics::{ErrorKind, Key, Stats, Tick};

#[derive(Deserialize)]
struct Report {
    intermediate: Vec<Period>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Period {
    #[serde(default)]
    counters: BTreeMap<String, f64>,
    #[serde(default)]
    summaries: BTreeMap<String, Summary>,
    period: serde_json::Value,
    first_metric_at: Option<f64>,
    last_metric_at: Option<f64>,
}

#[derive(Deserialize, Clone, Copy)]
struct Summary {
    min: f64,
    max: f64,
    count: f64,
    p50: f64,
    p75: Option<f64>,
    p90: Option<f64>,
    p95: Option<f64>,
    p99: Option<f64>,
    p999: Option<f64>,
}

const ENDPOINT: &str = "plugins.metrics-by-endpoint.";

/// Reads the report: one tick per intermediate period.
pub(super) fn read(input: Box<dyn BufRead>, sink: &mut Sink<'_>) -> Result<Found, String> {
    let report: Report = serde_json::from_reader(input).map_err(|e| {
        format!(
            "{}:{}: not an Artillery --output report: {e}",
            e.line(),
            e.column()
        )
    })?;
    let mut keys: Vec<Key> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut start_ms: Option<f64> = None;
    let mut previous_end = 0.0;
    let mut bytes_unsplit = false;
    let mut records = 0;
    for (n, p) in report.intermediate.iter().enumerate() {
        let here = |e: String| format!("intermediate[{n}]: {e}");
        records += 1;
        let period_ms = match &p.period {
            serde_json::Value::String(s) => s.parse::<f64>().ok(),
            serde_json::Value::Number(x) => x.as_f64(),
            _ => None,
        }
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| here("`period` is not a time in ms".into()))?;
        let first = p.first_metric_at.unwrap_or(period_ms);
        let last = p.last_metric_at.unwrap_or(first);
        let start = *start_ms.get_or_insert(first);
        // A period ends where its last metric was taken (Artillery's periods are 10 s, the
        // first and last shorter).
        let end = ((last - start) / 1000.0).max(previous_end + 0.001);
        if end - previous_end > 86_400.0 || !end.is_finite() {
            return Err(here(format!("a period of {:.0} s", end - previous_end)));
        }
        let mut by_series: BTreeMap<usize, Stats> = BTreeMap::new();
        let mut series_of = |name: &str| -> Result<usize, String> {
            if let Some(&i) = index.get(name) {
                return Ok(i);
            }
            if keys.len() >= super::ticker::MAX_SERIES {
                return Err(format!("more than {} endpoints", super::ticker::MAX_SERIES));
            }
            keys.push(Key {
                request: request_name(name).to_string(),
                target: "artillery".into(),
            });
            index.insert(name.to_string(), keys.len() - 1);
            Ok(keys.len() - 1)
        };
        let per_endpoint = p.counters.keys().any(|k| k.starts_with(ENDPOINT));
        for (k, v) in &p.counters {
            let count = count(*v).map_err(|e| here(format!("{k}: {e}")))?;
            let (name, what) = if per_endpoint {
                let Some(rest) = k.strip_prefix(ENDPOINT) else {
                    continue;
                };
                if let Some((name, code)) = rest.rsplit_once(".codes.") {
                    (name, Counter::Code(code))
                } else if let Some((name, code)) = rest.rsplit_once(".errors.") {
                    (name, Counter::Error(code))
                } else {
                    continue;
                }
            } else if let Some(code) = k.strip_prefix("http.codes.") {
                ("http", Counter::Code(code))
            } else if let Some(code) = k.strip_prefix("errors.") {
                ("http", Counter::Error(code))
            } else {
                continue;
            };
            let i = series_of(name).map_err(here)?;
            let st = by_series.entry(i).or_default();
            match what {
                Counter::Code(code) => {
                    let status: u16 = code
                        .parse()
                        .ok()
                        .filter(|c| (100..=999).contains(c))
                        .ok_or_else(|| here(format!("{k}: `{code}` is not an HTTP status code")))?;
                    *st.status.entry(status).or_insert(0) += count;
                    st.requests += count;
                    if let Some(kind) = super::status_error(status) {
                        st.errors += count;
                        st.error_kinds[kind as usize] += count;
                    }
                }
                Counter::Error(code) => {
                    st.requests += count;
                    st.errors += count;
                    st.error_kinds[error_kind(code) as usize] += count;
                }
            }
        }
        for (k, s) in &p.summaries {
            let name = if per_endpoint {
                match k
                    .strip_prefix(ENDPOINT)
                    .and_then(|r| r.strip_prefix("response_time."))
                {
                    Some(name) => name,
                    None => continue,
                }
            } else if k == "http.response_time" {
                "http"
            } else {
                continue;
            };
            let i = series_of(name).map_err(here)?;
            let st = by_series.entry(i).or_default();
            let responses: u64 = st.status.values().sum();
            rebuild(&mut st.latency, s, responses).map_err(|e| here(format!("{k}: {e}")))?;
            st.service = st.latency.clone();
        }
        if let Some(b) = p.counters.get("http.downloaded_bytes") {
            let b = count(*b).map_err(|e| here(format!("http.downloaded_bytes: {e}")))?;
            match by_series.len() {
                0 => {}
                1 => {
                    if let Some(st) = by_series.values_mut().next() {
                        st.bytes_in += b;
                    }
                }
                _ => bytes_unsplit = true,
            }
        }
        let mut stats = vec![Stats::default(); keys.len()];
        for (i, s) in by_series {
            stats[i] = s;
        }
        let vusers = p.counters.get("vusers.created").copied().unwrap_or(0.0);
        sink(Tick {
            index: n as u32 + 1,
            end,
            seconds: end - previous_end,
            drain: 0.0,
            warmup: false,
            target: vusers / (end - previous_end),
            in_flight: 0,
            not_started: 0,
            stats,
            journeys: Vec::new(),
        })?;
        previous_end = end;
    }
    let mut notes = vec![
        "imported from an Artillery report: request, status and error counts are exact per period \
         (one tick per period, usually 10 s); latency histograms are rebuilt from Artillery's \
         summaries (min, p50, p75, p90, p95, p99, p999, max, whole milliseconds), so percentiles \
         are exact at those quantiles and interpolated between them; the target is new virtual \
         users per second"
            .to_string(),
        "Artillery keeps no latency for failed responses apart, so success-only figures include them".into(),
    ];
    if bytes_unsplit {
        notes.push(
            "bytes are not imported: Artillery counts them for all endpoints together".into(),
        );
    }
    Ok(Found {
        keys,
        started_at_ms: start_ms.unwrap_or(0.0) as i64,
        seconds: previous_end,
        version: None,
        records,
        notes,
        corrected: false,
    })
}

enum Counter<'a> {
    Code(&'a str),
    Error(&'a str),
}

/// A counter's value as a count.
fn count(v: f64) -> Result<u64, String> {
    if v.is_finite() && (0.0..=1e15).contains(&v) && v.fract() == 0.0 {
        Ok(v as u64)
    } else {
        Err(format!("{v} is not a count"))
    }
}

/// `/v1/echo (echo)` is the request named `echo`; a request without a name is its URL.
fn request_name(endpoint: &str) -> &str {
    endpoint
        .strip_suffix(')')
        .and_then(|s| s.rsplit_once(" ("))
        .map_or(endpoint, |(_, name)| name)
}

/// A histogram of `responses` values (the summary's count when no code was counted) whose
/// quantiles are the summary's: the quantile function through (0, min), (0.5, p50) …
/// (0.999, p999), (1, max), linear between, sampled at each value's mid-rank.
fn rebuild(
    h: &mut hdrhistogram::Histogram<u64>,
    s: &Summary,
    responses: u64,
) -> Result<(), String> {
    let n = if s.count > 0.0 {
        count(s.count)?
    } else {
        responses
    };
    let mut points = vec![(0.0, s.min), (0.5, s.p50)];
    for (q, v) in [
        (0.75, s.p75),
        (0.9, s.p90),
        (0.95, s.p95),
        (0.99, s.p99),
        (0.999, s.p999),
    ] {
        if let Some(v) = v {
            points.push((q, v));
        }
    }
    points.push((1.0, s.max));
    if points
        .iter()
        .any(|(_, v)| !v.is_finite() || *v < 0.0 || *v > 86_400_000.0)
    {
        return Err("a percentile that is not a duration".into());
    }
    let at = |q: f64| -> f64 {
        let i = points
            .iter()
            .position(|(p, _)| *p >= q)
            .unwrap_or(points.len() - 1);
        if i == 0 {
            return points[0].1;
        }
        let ((q0, v0), (q1, v1)) = (points[i - 1], points[i]);
        if q1 <= q0 {
            v1
        } else {
            v0 + (v1 - v0) * (q - q0) / (q1 - q0)
        }
    };
    // Up to 2000 steps: a period of a million responses is recorded in equal shares.
    let steps = n.min(2000);
    for k in 0..steps {
        let share = n * (k + 1) / steps - n * k / steps;
        let q = (k as f64 + 0.5) / steps as f64;
        let us = (at(q) * 1000.0).round() as u64;
        let v = us.max(1);
        if share > 0 && h.record_n(v, share).is_err() {
            h.saturating_record_n(v, share);
        }
    }
    Ok(())
}

/// Node's error codes, as Artillery counts them, as our kinds.
fn error_kind(code: &str) -> ErrorKind {
    match code {
        "ECONNREFUSED" => ErrorKind::ConnectRefused,
        "ETIMEDOUT" | "ESOCKETTIMEDOUT" | "ERR_GOT_REQUEST_ERROR" => ErrorKind::Timeout,
        "ECONNRESET" | "EPIPE" => ErrorKind::Reset,
        "ENOTFOUND" | "EAI_AGAIN" | "EHOSTUNREACH" | "ENETUNREACH" => ErrorKind::Connect,
        c if c.starts_with("CERT_") || c.starts_with("ERR_TLS") || c.contains("SSL") => {
            ErrorKind::Tls
        }
        _ => ErrorKind::Other,
    }
}
