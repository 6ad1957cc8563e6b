//! JMeter's JTL results, CSV (with or without a header line) and XML: one sample per request.

use std::io::BufRead;

use super::{Found, Lines, Sample, Sink, Ticker, found, next_record, status_error};
use crate::metrics::ErrorKind;

/// JMeter 2.x's default CSV columns, written without a header line.
const V2_COLUMNS: [&str; 12] = [
    "timeStamp",
    "elapsed",
    "label",
    "responseCode",
    "responseMessage",
    "threadName",
    "dataType",
    "success",
    "bytes",
    "grpThreads",
    "allThreads",
    "Latency",
];
/// JMeter 3 and later's default CSV columns (written with a header line unless told not to).
const V5_COLUMNS: [&str; 17] = [
    "timeStamp",
    "elapsed",
    "label",
    "responseCode",
    "responseMessage",
    "threadName",
    "dataType",
    "success",
    "failureMessage",
    "bytes",
    "sentBytes",
    "grpThreads",
    "allThreads",
    "URL",
    "Latency",
    "IdleTime",
    "Connect",
];

/// One sample, from either layout.
#[derive(Default)]
struct Row<'a> {
    start_ms: Option<&'a str>,
    elapsed_ms: Option<&'a str>,
    label: Option<&'a str>,
    code: Option<&'a str>,
    message: Option<&'a str>,
    success: Option<&'a str>,
    bytes: Option<&'a str>,
    sent: Option<&'a str>,
    threads: Option<&'a str>,
    url: Option<&'a str>,
}

fn notes() -> Vec<String> {
    vec![
        "imported from a JMeter JTL: one sample per request, counts and statuses exact; latency \
         is JMeter's elapsed time from the actual send (JMeter's threads do not correct for \
         coordinated omission), so corrected latency and service time are the same figure; the \
         target is the number of active threads"
            .into(),
    ]
}

/// Reads a CSV JTL: by its header line, or JMeter's default columns when it has none.
pub(super) fn read_csv(mut input: Box<dyn BufRead>, sink: &mut Sink<'_>) -> Result<Found, String> {
    let first = {
        let buf = input
            .fill_buf()
            .map_err(|e| format!("1: cannot read: {e}"))?;
        let end = buf.iter().position(|b| *b == b'\n').unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    };
    let has_header = first.contains("timeStamp");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(has_header)
        .flexible(true)
        .from_reader(input);
    let columns: Vec<String> = if has_header {
        reader
            .headers()
            .map_err(|e| format!("1: {e}"))?
            .iter()
            .map(str::to_string)
            .collect()
    } else {
        let n = first.split(',').count();
        let known: &[&str] = match n {
            12 => &V2_COLUMNS,
            17 => &V5_COLUMNS,
            _ => {
                return Err(format!(
                    "1: no header line and {n} columns, not JMeter's default 12 (2.x) or 17 (3.0 \
                     and later): save the JTL with jmeter.save.saveservice.print_field_names=true"
                ));
            }
        };
        known.iter().map(|c| c.to_string()).collect()
    };
    let col = |name: &str| columns.iter().position(|h| h == name);
    for need in ["timeStamp", "elapsed", "label", "responseCode", "success"] {
        if col(need).is_none() {
            return Err(format!("1: no `{need}` column: not a JMeter JTL"));
        }
    }
    let at = [
        col("timeStamp"),
        col("elapsed"),
        col("label"),
        col("responseCode"),
        col("responseMessage"),
        col("success"),
        col("bytes"),
        col("sentBytes"),
        col("allThreads"),
        col("URL"),
    ];
    let mut ticker = Ticker::new();
    let mut record = csv::StringRecord::new();
    let mut records = 0;
    while let Some(n) = next_record(&mut reader, &mut record, u64::from(!has_header))? {
        records += 1;
        let f = |i: usize| at[i].and_then(|c| record.get(c));
        let row = Row {
            start_ms: f(0),
            elapsed_ms: f(1),
            label: f(2),
            code: f(3),
            message: f(4),
            success: f(5),
            bytes: f(6),
            sent: f(7),
            threads: f(8),
            url: f(9),
        };
        add(&mut ticker, &row, sink).map_err(|e| format!("{n}: {e}"))?;
    }
    found(ticker, records, notes(), sink)
}

/// Reads an XML JTL: the top-level `<httpSample>` and `<sample>` elements, one per line as
/// JMeter writes them (sub-samples of a transaction or redirect are inside their parent).
pub(super) fn read_xml(mut lines: Lines, sink: &mut Sink<'_>) -> Result<Found, String> {
    let mut ticker = Ticker::new();
    let mut depth = 0usize;
    let mut records = 0;
    let mut seen_root = false;
    while let Some((n, line)) = lines.next_line()? {
        let t = line.trim();
        if t.starts_with("<testResults") {
            seen_root = true;
            continue;
        }
        if t.starts_with("</httpSample") || t.starts_with("</sample") {
            depth = depth.saturating_sub(1);
            continue;
        }
        if !(t.starts_with("<httpSample ") || t.starts_with("<sample ")) {
            continue;
        }
        if !seen_root {
            return Err(format!(
                "{n}: a sample before <testResults>: not a JMeter XML JTL"
            ));
        }
        let closed = t.ends_with("/>");
        let top = depth == 0;
        if !closed {
            depth += 1;
        }
        if !top {
            continue;
        }
        records += 1;
        let attrs = attributes(t).map_err(|e| format!("{n}: {e}"))?;
        let get = |k: &str| attrs.iter().find(|(a, _)| *a == k).map(|(_, v)| v.as_str());
        let row = Row {
            start_ms: get("ts"),
            elapsed_ms: get("t"),
            label: get("lb"),
            code: get("rc"),
            message: get("rm"),
            success: get("s"),
            bytes: get("by"),
            sent: get("sby"),
            threads: get("na"),
            url: None,
        };
        add(&mut ticker, &row, sink).map_err(|e| format!("{n}: {e}"))?;
    }
    if !seen_root {
        return Err("no <testResults> element: not a JMeter XML JTL".into());
    }
    found(ticker, records, notes(), sink)
}

/// The `name="value"` pairs of one element, entities decoded.
fn attributes(element: &str) -> Result<Vec<(&str, String)>, String> {
    let mut out = Vec::new();
    let mut rest = element
        .trim_start_matches('<')
        .split_once(char::is_whitespace)
        .map_or("", |(_, r)| r);
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with("/>") || rest.starts_with('>') {
            return Ok(out);
        }
        let (name, after) = rest
            .split_once("=\"")
            .ok_or_else(|| format!("a malformed attribute near `{}`", head(rest)))?;
        let (value, after) = after
            .split_once('"')
            .ok_or_else(|| format!("an unterminated attribute `{name}`"))?;
        out.push((name.trim(), unescape(value)));
        rest = after;
    }
}

fn head(s: &str) -> &str {
    let end = s.char_indices().nth(20).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

/// XML's five entities and numeric references.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(end) = tail.find(';').filter(|e| *e <= 10) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let entity = &tail[1..end];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Adds one sample.
fn add(ticker: &mut Ticker, row: &Row<'_>, sink: &mut Sink<'_>) -> Result<(), String> {
    let int = |v: Option<&str>, what: &str| -> Result<i64, String> {
        let v = v.ok_or_else(|| format!("no {what}"))?;
        v.trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| format!("{what} `{v}` is not a whole number of ms"))
    };
    let start = int(row.start_ms, "timeStamp")?;
    // Milliseconds since 1970, no later than the year 9999: anything else is not a time.
    if start > 253_402_300_799_999 {
        return Err(format!("timeStamp {start} is not a time (ms since 1970)"));
    }
    let elapsed = int(row.elapsed_ms, "elapsed")?;
    if elapsed > 86_400_000 {
        return Err(format!("elapsed {elapsed} ms is more than a day"));
    }
    let optional = |v: Option<&str>| v.and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0);
    let label = row.label.filter(|l| !l.is_empty()).unwrap_or("sample");
    let target = row
        .url
        .and_then(|u| u.split_once("://"))
        .map(|(_, r)| &r[..r.find(['/', '?']).unwrap_or(r.len())])
        .filter(|h| !h.is_empty())
        .unwrap_or("jmeter");
    let series = ticker.series(label, target)?;
    let success = match row.success.map(str::trim) {
        Some("true") => true,
        Some("false") => false,
        other => {
            return Err(format!(
                "success `{}` is neither true nor false",
                other.unwrap_or("")
            ));
        }
    };
    let code = row.code.unwrap_or("").trim();
    let status = code
        .parse::<u16>()
        .ok()
        .filter(|c| (100..=999).contains(c))
        .unwrap_or(0);
    let error = (!success).then(|| {
        if status == 0 {
            exception_kind(code, row.message.unwrap_or(""))
        } else {
            status_error(status).unwrap_or(ErrorKind::CheckFailed)
        }
    });
    let us = elapsed as u64 * 1000;
    if let Some(threads) = row.threads.and_then(|t| t.trim().parse::<f64>().ok()) {
        ticker.active(start * 1000, threads, sink)?;
    }
    let sample = Sample {
        end_us: (start + elapsed) * 1000,
        series,
        latency_us: us,
        service_us: us,
        status,
        error,
        bytes_in: optional(row.bytes),
        bytes_out: optional(row.sent),
    };
    ticker.add(&sample, sink)
}

/// A failure without a response, by the Java exception JMeter names.
fn exception_kind(code: &str, message: &str) -> ErrorKind {
    let text = format!("{code} {message}");
    if text.contains("ConnectException") || text.contains("Connection refused") {
        if text.contains("refused") {
            ErrorKind::ConnectRefused
        } else {
            ErrorKind::Connect
        }
    } else if text.contains("Timeout") || text.contains("timed out") {
        ErrorKind::Timeout
    } else if text.contains("UnknownHost") || text.contains("NoRouteToHost") {
        ErrorKind::Connect
    } else if text.contains("SSL") || text.contains("TLS") {
        ErrorKind::Tls
    } else if text.contains("reset")
        || text.contains("NoHttpResponse")
        || text.contains("SocketException")
    {
        ErrorKind::Reset
    } else {
        ErrorKind::Other
    }
}
