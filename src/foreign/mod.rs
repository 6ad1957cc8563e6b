//! Other tools' raw results (k6, oha, JMeter, Artillery) read into the per-second ticks a run is.
//!
//! Each reader streams its file and hands every request (or, for Artillery, every period) to a
//! [`Ticker`], which keeps a short window of open seconds and passes finished ticks on, so a
//! file of any length is read in bounded memory. The readers write nothing: [`import_file`]
//! gives them the store's tick writer, inside a savepoint that a bad file rolls back.

mod artillery;
mod jmeter;
mod k6;
mod oha;
mod stored;
mod ticker;
mod time;

pub use stored::{Imported, Outcome, import_file};
pub use ticker::{Sample, Ticker};
pub use time::rfc3339_us;

use crate::metrics::{ErrorKind, Key, Tick};
use std::io::{BufRead, Read};
use std::path::Path;

/// A file format another tool writes, as `--format` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// k6 `--out json=FILE` (NDJSON of metric points; gzip when the name ends in .gz).
    K6Json,
    /// k6 `--out csv=FILE`.
    K6Csv,
    /// oha `--db-url FILE` (SQLite, one row per response).
    OhaDb,
    /// oha `--output-format csv`.
    OhaCsv,
    /// JMeter's JTL results file in CSV (any column selection with a header line).
    JmeterCsv,
    /// JMeter's JTL results file in XML.
    JmeterXml,
    /// Artillery `--output FILE` JSON report (aggregate and intermediate periods).
    Artillery,
}

impl Format {
    /// Every format, for `--format`'s help and errors.
    pub const ALL: [Format; 7] = [
        Format::K6Json,
        Format::K6Csv,
        Format::OhaDb,
        Format::OhaCsv,
        Format::JmeterCsv,
        Format::JmeterXml,
        Format::Artillery,
    ];

    /// The name `--format` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::K6Json => "k6-json",
            Format::K6Csv => "k6-csv",
            Format::OhaDb => "oha-db",
            Format::OhaCsv => "oha-csv",
            Format::JmeterCsv => "jmeter-csv",
            Format::JmeterXml => "jmeter-xml",
            Format::Artillery => "artillery",
        }
    }

    /// The format named `s` (as [`Format::as_str`] writes it).
    pub fn from_name(s: &str) -> Option<Format> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The tool that writes this format.
    pub fn tool(self) -> &'static str {
        match self {
            Format::K6Json | Format::K6Csv => "k6",
            Format::OhaDb | Format::OhaCsv => "oha",
            Format::JmeterCsv | Format::JmeterXml => "jmeter",
            Format::Artillery => "artillery",
        }
    }
}

/// What a file said about the run besides its ticks, known once it has been read.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// The series, in the order their first request appeared.
    pub keys: Vec<Key>,
    /// When the first request started, ms since the epoch (0 when the file has no clock).
    pub started_at_ms: i64,
    /// How long the run lasted, seconds.
    pub seconds: f64,
    /// The tool's version when the file names it.
    pub version: Option<String>,
    /// Lines or rows read.
    pub records: u64,
    /// What the figures are and are not, for the run's notes (exact counts, approximations).
    pub notes: Vec<String>,
    /// Whether latency runs from each request's intended start (oha --latency-correction);
    /// otherwise it is timed from the actual send.
    pub corrected: bool,
}

/// Where a tick goes once it is complete (the store's writer, or a test's vector).
pub type Sink<'a> = dyn FnMut(Tick) -> Result<(), String> + 'a;

/// Whether the file is one of loadbench's own run exports (`runs export`), not another tool's.
pub fn is_run_export(path: &Path) -> bool {
    let mut head = Vec::new();
    let _ = std::fs::File::open(path).and_then(|f| f.take(4096).read_to_end(&mut head));
    let text = String::from_utf8_lossy(&head);
    text.trim_start().starts_with('{') && text.contains("\"loadbench.run/")
}

/// Guesses the format from the file's name and first bytes.
pub fn detect(path: &Path) -> Result<Format, String> {
    let mut head = Vec::new();
    open(path)?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    if head.starts_with(b"SQLite format 3\0") {
        return Ok(Format::OhaDb);
    }
    let text = String::from_utf8_lossy(&head);
    let first = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches('\u{feff}');
    if first.starts_with("{\"type\":\"Metric\"")
        || first.starts_with("{\"metric\":")
        || (first.starts_with('{') && first.contains("\"type\":\"Point\""))
    {
        return Ok(Format::K6Json);
    }
    if first.starts_with("metric_name,timestamp,metric_value") {
        return Ok(Format::K6Csv);
    }
    if first.starts_with("request-start,") {
        return Ok(Format::OhaCsv);
    }
    if first.contains("timeStamp") && first.contains("elapsed") || headerless_jtl(first) {
        return Ok(Format::JmeterCsv);
    }
    if text.contains("<testResults") {
        return Ok(Format::JmeterXml);
    }
    if text.trim_start().starts_with('{')
        && text.contains("\"aggregate\"")
        && (text.contains("\"intermediate\"") || text.contains("\"counters\""))
    {
        return Ok(Format::Artillery);
    }
    Err(format!(
        "{}: not a file loadbench can read as another tool's results (k6 --out json or csv, oha \
         --db-url or --output-format csv, a JMeter JTL with a header line, an Artillery --output \
         report); name the format with --format ({})",
        path.display(),
        Format::ALL.map(Format::as_str).join(", ")
    ))
}

/// A JTL line without a header: a 13-digit ms timestamp, then the elapsed ms, in JMeter's
/// default 12 (2.x) or 17 columns.
fn headerless_jtl(line: &str) -> bool {
    let fields: Vec<&str> = line.split(',').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    matches!(fields.len(), 12 | 17)
        && fields[0].len() == 13
        && digits(fields[0])
        && digits(fields[1])
}

/// Reads `path` as `format`, passing every finished tick to `sink` in order.
pub fn read(path: &Path, format: Format, sink: &mut Sink<'_>) -> Result<Found, String> {
    let shown = path.display().to_string();
    let located = |e: String| format!("{shown}:{e}");
    match format {
        Format::OhaDb => oha::read_db(path, sink).map_err(|e| format!("{shown}: {e}")),
        Format::K6Json => k6::read_json(lines(path)?, sink).map_err(located),
        Format::K6Csv => k6::read_csv(open(path)?, sink).map_err(located),
        Format::OhaCsv => oha::read_csv(open(path)?, sink).map_err(located),
        Format::JmeterCsv => jmeter::read_csv(open(path)?, sink).map_err(located),
        Format::JmeterXml => jmeter::read_xml(lines(path)?, sink).map_err(located),
        Format::Artillery => {
            artillery::read(open(path)?, sink).map_err(|e| format!("{shown}: {e}"))
        }
    }
}

/// The file's bytes, inflated when it is gzip (k6 writes `--out json=x.json.gz` so).
fn open(path: &Path) -> Result<Box<dyn BufRead>, String> {
    let mut file = std::io::BufReader::with_capacity(
        1 << 16,
        std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
    );
    let gz = file
        .fill_buf()
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?
        .starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(std::io::BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(file),
        ))
    } else {
        Box::new(file)
    })
}

/// The most one line may hold: a longer one is not a line of any of these formats, and reading
/// it whole would let one hostile line take the memory.
const MAX_LINE: u64 = 1 << 20;

/// Lines of the file with their 1-based numbers, each bounded in length.
fn lines(path: &Path) -> Result<Lines, String> {
    Ok(Lines {
        input: open(path)?,
        number: 0,
        buf: String::new(),
    })
}

/// A bounded line reader that knows its line numbers.
struct Lines {
    input: Box<dyn BufRead>,
    number: u64,
    buf: String,
}

impl Lines {
    /// The next line (without its end) and its number, or `None` at the end of the file.
    fn next_line(&mut self) -> Result<Option<(u64, &str)>, String> {
        self.buf.clear();
        self.number += 1;
        let n = (&mut self.input)
            .take(MAX_LINE + 1)
            .read_line(&mut self.buf)
            .map_err(|e| format!("{}: cannot read: {e}", self.number))?;
        if n == 0 {
            return Ok(None);
        }
        if n as u64 > MAX_LINE {
            return Err(format!(
                "{}: a line longer than {} MiB",
                self.number,
                MAX_LINE >> 20
            ));
        }
        Ok(Some((self.number, self.buf.trim_end_matches(['\n', '\r']))))
    }
}

/// What a reader of timed-from-the-send requests found: the ticker's series and span, dated
/// by its first request, with the reader's notes.
fn found(
    ticker: Ticker,
    records: u64,
    notes: Vec<String>,
    sink: &mut Sink<'_>,
) -> Result<Found, String> {
    let start = ticker.start_us().unwrap_or(0);
    let (keys, seconds) = ticker.finish(sink)?;
    Ok(Found {
        keys,
        started_at_ms: start / 1000,
        seconds,
        version: None,
        records,
        notes,
        corrected: false,
    })
}

/// The next CSV record and its line number in the file (`header` lines before the first
/// record), or `None` at the end.
fn next_record(
    reader: &mut csv::Reader<Box<dyn BufRead>>,
    record: &mut csv::StringRecord,
    header: u64,
) -> Result<Option<u64>, String> {
    let n = reader.position().line() + header;
    match reader.read_record(record) {
        Ok(false) => Ok(None),
        Ok(true) => Ok(Some(n)),
        Err(e) => Err(format!("{n}: {e}")),
    }
}

/// The error a failed response counts as, from its status when it has one.
fn status_error(status: u16) -> Option<ErrorKind> {
    match status {
        400..=499 => Some(ErrorKind::Http4xx),
        500..=599 => Some(ErrorKind::Http5xx),
        _ => None,
    }
}

/// A duration in milliseconds (as these tools write them) in whole microseconds, refused when
/// it is not a finite, non-negative figure under a day.
fn ms_to_us(ms: f64, what: &str) -> Result<u64, String> {
    if !ms.is_finite() || !(0.0..=86_400_000.0).contains(&ms) {
        return Err(format!(
            "{what} {ms} ms is not a duration between 0 and a day"
        ));
    }
    Ok((ms * 1000.0).round() as u64)
}

#[cfg(test)]
mod tests;
