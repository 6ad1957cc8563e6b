//! k6 `--out json` (NDJSON points) and `--out csv`: one `http_req_duration` point per request.

use std::collections::HashMap;
use std::io::BufRead;

use serde::Deserialize;

use super::{Found, Lines, Sample, Sink, Ticker, found, ms_to_us, next_record, status_error};
use crate::metrics::ErrorKind;

/// What every NDJSON line must say, read without its data (most points are not requests).
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    metric: Option<std::borrow::Cow<'a, str>>,
}

/// One NDJSON line: a metric's declaration or one of its points.
#[derive(Deserialize)]
struct Line {
    metric: Option<String>,
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    time: Option<String>,
    value: Option<f64>,
    #[serde(default)]
    tags: Option<HashMap<String, String>>,
}

/// What one request point says, whichever of the two layouts it came from.
struct Point<'a> {
    end_us: i64,
    ms: f64,
    name: Option<&'a str>,
    url: Option<&'a str>,
    status: Option<&'a str>,
    expected: Option<&'a str>,
    error_code: Option<&'a str>,
}

fn notes() -> Vec<String> {
    vec![
        "imported from k6: request counts, statuses and errors are exact, one http_req_duration \
         point per request; latency is k6's http_req_duration, timed from the actual send (k6 \
         does not correct for coordinated omission), so corrected latency and service time are \
         the same figure"
            .into(),
        "bytes are not imported: k6 counts data_sent and data_received per iteration, not per request"
            .into(),
    ]
}

/// Reads k6's NDJSON output.
pub(super) fn read_json(mut lines: Lines, sink: &mut Sink<'_>) -> Result<Found, String> {
    let mut ticker = Ticker::new();
    let mut records = 0;
    while let Some((n, text)) = lines.next_line()? {
        if text.trim().is_empty() {
            continue;
        }
        records += 1;
        let head: Head = serde_json::from_str(text)
            .map_err(|e| format!("{n}: not a k6 JSON output line: {e}"))?;
        let wanted = matches!(head.metric.as_deref(), Some("http_req_duration" | "vus"));
        if head.kind != "Point" || !wanted {
            continue;
        }
        let line: Line = serde_json::from_str(text)
            .map_err(|e| format!("{n}: not a k6 JSON output line: {e}"))?;
        let metric = line.metric.as_deref().unwrap_or("");
        let time = line
            .data
            .time
            .as_deref()
            .ok_or_else(|| format!("{n}: a {metric} point without a time"))?;
        let end_us = super::time::rfc3339_us(time).map_err(|e| format!("{n}: {e}"))?;
        let value = line
            .data
            .value
            .ok_or_else(|| format!("{n}: a {metric} point without a value"))?;
        if metric == "vus" {
            ticker
                .active(end_us, value, sink)
                .map_err(|e| format!("{n}: {e}"))?;
            continue;
        }
        let tags = line.data.tags.unwrap_or_default();
        let tag = |k: &str| tags.get(k).map(String::as_str);
        let point = Point {
            end_us,
            ms: value,
            name: tag("name"),
            url: tag("url"),
            status: tag("status"),
            expected: tag("expected_response"),
            error_code: tag("error_code"),
        };
        request(&mut ticker, &point, sink).map_err(|e| format!("{n}: {e}"))?;
    }
    found(ticker, records, notes(), sink)
}

/// Reads k6's CSV output (any of its time formats).
pub(super) fn read_csv(input: Box<dyn BufRead>, sink: &mut Sink<'_>) -> Result<Found, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| format!("1: not a k6 CSV header: {e}"))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let need =
        |name: &str| col(name).ok_or_else(|| format!("1: no `{name}` column: not k6 --out csv"));
    let (metric_at, time_at, value_at) = (
        need("metric_name")?,
        need("timestamp")?,
        need("metric_value")?,
    );
    let (name_at, url_at, status_at, expected_at, code_at) = (
        col("name"),
        col("url"),
        col("status"),
        col("expected_response"),
        col("error_code"),
    );
    let mut ticker = Ticker::new();
    let mut record = csv::StringRecord::new();
    let mut records = 0;
    while let Some(n) = next_record(&mut reader, &mut record, 1)? {
        records += 1;
        let metric = record.get(metric_at).unwrap_or("");
        if metric != "http_req_duration" && metric != "vus" {
            continue;
        }
        let field = |at: Option<usize>| at.and_then(|i| record.get(i)).filter(|v| !v.is_empty());
        let time = field(Some(time_at)).ok_or_else(|| format!("{n}: no timestamp"))?;
        let end_us = csv_time(time).map_err(|e| format!("{n}: {e}"))?;
        let value: f64 = field(Some(value_at))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{n}: metric_value is not a number"))?;
        if metric == "vus" {
            ticker
                .active(end_us, value, sink)
                .map_err(|e| format!("{n}: {e}"))?;
            continue;
        }
        let point = Point {
            end_us,
            ms: value,
            name: field(name_at),
            url: field(url_at),
            status: field(status_at),
            expected: field(expected_at),
            error_code: field(code_at),
        };
        request(&mut ticker, &point, sink).map_err(|e| format!("{n}: {e}"))?;
    }
    let mut notes = notes();
    notes.push("k6's CSV times are whole seconds unless it ran with K6_CSV_TIME_FORMAT".into());
    found(ticker, records, notes, sink)
}

/// A CSV timestamp: unix seconds (k6's default), ms, µs or ns by magnitude, or RFC 3339.
fn csv_time(text: &str) -> Result<i64, String> {
    if let Ok(n) = text.parse::<i64>() {
        return match n {
            0..100_000_000_000 => Ok(n * 1_000_000),
            100_000_000_000..100_000_000_000_000 => Ok(n * 1000),
            100_000_000_000_000..100_000_000_000_000_000 => Ok(n),
            _ if n > 0 => Ok(n / 1000),
            _ => Err(format!("timestamp {n} is before 1970")),
        };
    }
    super::time::rfc3339_us(text)
}

/// Adds one `http_req_duration` point as a request.
fn request(ticker: &mut Ticker, p: &Point<'_>, sink: &mut Sink<'_>) -> Result<(), String> {
    let us = ms_to_us(p.ms, "http_req_duration")?;
    let request = p.name.or(p.url).unwrap_or("request");
    let target = host(p.url).or_else(|| host(p.name)).unwrap_or("k6");
    let series = ticker.series(request, target)?;
    let status: u16 = match p.status {
        None => 0,
        Some(s) => s
            .parse()
            .ok()
            .filter(|c| *c == 0 || (100..=999).contains(c))
            .ok_or_else(|| format!("status `{s}` is not an HTTP status code"))?,
    };
    let failed = match p.expected {
        Some("false") => true,
        Some("true") | None => status == 0,
        Some(other) => {
            return Err(format!(
                "expected_response `{other}` is neither true nor false"
            ));
        }
    };
    let error = failed.then(|| {
        status_error(status)
            .or_else(|| p.error_code.and_then(|c| c.parse().ok()).map(error_kind))
            .unwrap_or(ErrorKind::Other)
    });
    let sample = Sample {
        end_us: p.end_us,
        series,
        latency_us: us,
        service_us: us,
        status,
        error,
        ..Sample::default()
    };
    ticker.add(&sample, sink)
}

/// The host:port of an absolute URL.
fn host(url: Option<&str>) -> Option<&str> {
    let rest = url?.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|h| !h.is_empty())
}

/// k6's error codes (its documentation's table) as our kinds.
fn error_kind(code: u32) -> ErrorKind {
    match code {
        1050 => ErrorKind::Timeout,
        1100..=1199 | 1200 | 1210 | 1211 | 1213 => ErrorKind::Connect,
        1212 => ErrorKind::ConnectRefused,
        1201 | 1202 | 1220 => ErrorKind::Reset,
        1300..=1399 => ErrorKind::Tls,
        1400..=1499 => ErrorKind::Http4xx,
        1500..=1599 => ErrorKind::Http5xx,
        1600..=1699 => ErrorKind::Protocol,
        _ => ErrorKind::Other,
    }
}
