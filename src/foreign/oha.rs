//! oha's `--db-url` SQLite (one row per response) and `--output-format csv`.

use std::io::BufRead;
use std::path::Path;

use super::{Found, Sample, Sink, Ticker, next_record, status_error};

/// Seconds (as oha stores them) to µs, refused when not a finite time within a day.
fn secs_us(s: f64, what: &str) -> Result<i64, String> {
    if !s.is_finite() || !(0.0..=86_400.0 * 31.0).contains(&s) {
        return Err(format!("{what} {s} s is not a time within the run"));
    }
    Ok((s * 1e6).round() as i64)
}

/// Reads an oha result database: the latest run in it.
pub(super) fn read_db(path: &Path, sink: &mut Sink<'_>) -> Result<Found, String> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open as SQLite: {e}"))?;
    let sql_err = |e: rusqlite::Error| {
        format!(
            "not an oha database (a table `oha` with url, start, start_latency_correction, end, duration, status, len_bytes, run): {e}"
        )
    };
    let runs: Vec<i64> = conn
        .prepare("SELECT DISTINCT run FROM oha ORDER BY run")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sql_err)?;
    let Some(&run) = runs.last() else {
        return Err("the oha table holds no requests".into());
    };
    let mut stmt = conn
        .prepare(
            "SELECT url, start, start_latency_correction, end, duration, status, len_bytes
             FROM oha WHERE run = ?1 ORDER BY end",
        )
        .map_err(sql_err)?;
    let mut rows = stmt.query([run]).map_err(sql_err)?;
    let mut ticker = Ticker::new();
    let base_us = run
        .checked_mul(1_000_000)
        .filter(|_| run >= 0)
        .ok_or_else(|| format!("run {run} is not a time"))?;
    let mut corrected = false;
    let mut records = 0u64;
    while let Some(row) = rows.next().map_err(sql_err)? {
        records += 1;
        let here = |e: String| format!("row {records}: {e}");
        let get = |e: rusqlite::Error| here(format!("{e}"));
        let url: String = row.get(0).map_err(get)?;
        let start: f64 = row.get(1).map_err(get)?;
        let intended: Option<f64> = row.get(2).map_err(get)?;
        let end: f64 = row.get(3).map_err(get)?;
        let duration: f64 = row.get(4).map_err(get)?;
        let status: i64 = row.get(5).map_err(get)?;
        let bytes: i64 = row.get(6).map_err(get)?;
        let end_us = secs_us(end, "end").map_err(here)?;
        let service = secs_us(duration, "duration").map_err(here)?;
        let start_us = secs_us(start, "start").map_err(here)?;
        // The corrected latency runs from when the request should have started.
        let from = match intended {
            Some(i) => {
                corrected = true;
                secs_us(i, "start_latency_correction")
                    .map_err(here)?
                    .min(start_us)
            }
            None => start_us,
        };
        let status = u16::try_from(status)
            .ok()
            .filter(|c| (100..=999).contains(c))
            .ok_or_else(|| here(format!("status {status} is not an HTTP status code")))?;
        let series = ticker.series(&url, "oha").map_err(here)?;
        if ticker.start_us().is_none() {
            ticker.start_at(base_us);
        }
        let sample = Sample {
            end_us: base_us + end_us,
            series,
            latency_us: (end_us - from).max(service) as u64,
            service_us: service as u64,
            status,
            error: status_error(status),
            bytes_in: u64::try_from(bytes).map_err(|_| here(format!("len_bytes {bytes}")))?,
            bytes_out: 0,
        };
        ticker.add(&sample, sink).map_err(here)?;
    }
    let (keys, seconds) = ticker.finish(sink)?;
    let mut notes = vec![
        "imported from oha --db-url: one row per response; oha writes no row for a request that \
         got no response (refused, timed out), so connection errors are not in this run"
            .to_string(),
        if corrected {
            "latency is corrected for coordinated omission (oha --latency-correction's \
             start_latency_correction); service time is oha's duration"
                .to_string()
        } else {
            "oha ran without --latency-correction: latency is timed from the actual send, the \
             same figure as service time"
                .to_string()
        },
    ];
    if runs.len() > 1 {
        notes.push(format!(
            "the database holds {} oha runs; this is the latest (run {run}), the others were left",
            runs.len()
        ));
    }
    Ok(Found {
        keys,
        started_at_ms: run * 1000,
        seconds,
        version: None,
        records,
        notes,
        corrected,
    })
}

/// Reads oha's CSV output (times relative to its start; no URL, no wall clock).
pub(super) fn read_csv(input: Box<dyn BufRead>, sink: &mut Sink<'_>) -> Result<Found, String> {
    let mut reader = csv::ReaderBuilder::new().from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| format!("1: not an oha CSV header: {e}"))?
        .clone();
    let need = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("1: no `{name}` column: not oha --output-format csv"))
    };
    let (start_at, duration_at, bytes_at, status_at) = (
        need("request-start")?,
        need("request-duration")?,
        need("bytes")?,
        need("status")?,
    );
    let mut ticker = Ticker::new();
    ticker.start_at(0);
    let series = ticker.series("request", "oha")?;
    let mut record = csv::StringRecord::new();
    let mut records = 0;
    while let Some(n) = next_record(&mut reader, &mut record, 1)? {
        records += 1;
        let number = |at: usize, what: &str| -> Result<f64, String> {
            record
                .get(at)
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| format!("{n}: {what} is not a number"))
        };
        let start = secs_us(number(start_at, "request-start")?, "request-start")
            .map_err(|e| format!("{n}: {e}"))?;
        let duration = secs_us(number(duration_at, "request-duration")?, "request-duration")
            .map_err(|e| format!("{n}: {e}"))?;
        let bytes = number(bytes_at, "bytes")?;
        let status = number(status_at, "status")?;
        if !(100.0..=999.0).contains(&status) || status.fract() != 0.0 {
            return Err(format!("{n}: status {status} is not an HTTP status code"));
        }
        if !(0.0..=1e15).contains(&bytes) {
            return Err(format!("{n}: bytes {bytes} is not a size"));
        }
        let status = status as u16;
        let sample = Sample {
            end_us: start + duration,
            series,
            latency_us: duration as u64,
            service_us: duration as u64,
            status,
            error: status_error(status),
            bytes_in: bytes as u64,
            bytes_out: 0,
        };
        ticker.add(&sample, sink).map_err(|e| format!("{n}: {e}"))?;
    }
    let (keys, seconds) = ticker.finish(sink)?;
    Ok(Found {
        keys,
        started_at_ms: 0,
        seconds,
        version: None,
        records,
        notes: vec![
            "imported from oha's CSV: one row per response, times relative to its start (the \
             file has no clock and no URL: the run is dated by the file); latency is timed from \
             the actual send"
                .into(),
        ],
        corrected: false,
    })
}
