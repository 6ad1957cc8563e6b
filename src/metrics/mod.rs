//! Recorders and summaries: HdrHistograms of latency plus counters, per request name and target.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// How much of a response body checks (`body_contains`, `json`) read: the rest is counted in
/// bytes but not held, so a huge body cannot take the generator's memory.
pub const MAX_CHECKED_BODY: usize = 1 << 20;

/// Significant digits kept by every latency histogram.
pub const SIGFIG: u8 = 3;

/// A fresh latency histogram in microseconds that grows as needed.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new(SIGFIG).expect("3 significant digits is a valid histogram precision")
}

/// Records a microsecond value, growing the histogram as needed (values below 1 µs count as 1 µs).
pub fn record(h: &mut Histogram<u64>, us: u64) {
    let v = us.max(1);
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

/// Encodes a histogram losslessly (HdrHistogram V2 + deflate), the format other HdrHistogram tools read.
pub fn encode_histogram(h: &Histogram<u64>) -> Vec<u8> {
    use hdrhistogram::serialization::Serializer;
    let mut out = Vec::new();
    // Writing to a Vec cannot fail for I/O; an encoding error would mean a corrupt histogram.
    let _ = hdrhistogram::serialization::V2DeflateSerializer::new().serialize(h, &mut out);
    out
}

/// The most a decoded histogram's payload may hold: a 3-digit histogram up to years in µs needs
/// well under 1 MB, so anything larger is a hostile file, not a histogram of ours.
const MAX_HISTOGRAM_PAYLOAD: usize = 4 << 20;

thread_local! {
    /// One zlib inflater per thread, reset for each histogram: a whole-run walk inflates
    /// hundreds of thousands of small streams, and setting one up was much of each.
    static INFLATER: std::cell::RefCell<flate2::Decompress> =
        std::cell::RefCell::new(flate2::Decompress::new(true));
}

/// Inflates a zlib stream of at most [`MAX_HISTOGRAM_PAYLOAD`] bytes.
fn inflate(body: &[u8]) -> Result<Vec<u8>, String> {
    use flate2::{FlushDecompress, Status};
    INFLATER.with_borrow_mut(|d| {
        d.reset(true);
        let mut out = Vec::with_capacity(
            body.len()
                .saturating_mul(8)
                .clamp(256, MAX_HISTOGRAM_PAYLOAD),
        );
        loop {
            let (was_in, was_out) = (d.total_in(), d.total_out());
            let input = body.get(was_in as usize..).unwrap_or_default();
            let status = d
                .decompress_vec(input, &mut out, FlushDecompress::Finish)
                .map_err(|e| e.to_string())?;
            if status == Status::StreamEnd {
                return Ok(out);
            }
            if out.len() == out.capacity() {
                if out.len() >= MAX_HISTOGRAM_PAYLOAD {
                    return Err("it inflates beyond any histogram of ours".into());
                }
                out.reserve(out.len().min(MAX_HISTOGRAM_PAYLOAD - out.len()));
            } else if d.total_in() == was_in && d.total_out() == was_out {
                return Err("the stream ends early".into());
            }
        }
    })
}

/// The checked, inflated V2 form of [`encode_histogram`]'s output: (inner bytes, digits, lowest;
/// 0 for a histogram with a normalizing offset, which loadbench never writes).
/// Every length in the encoding is checked against what the input can hold before anything is
/// allocated, and the inflated payload is capped, so a few hostile bytes cannot claim gigabytes.
fn inflate_checked(bytes: &[u8]) -> Result<(Vec<u8>, u32, u64), String> {
    const V2_COMPRESSED: u32 = 0x1c84_9314;
    const V2: u32 = 0x1c84_9313;
    let be32 = |b: &[u8], at: usize| -> Option<u32> {
        b.get(at..at + 4)
            .map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
    };
    let bad = |why: &str| format!("bad histogram encoding: {why}");
    if be32(bytes, 0) != Some(V2_COMPRESSED) {
        return Err(bad("not an HdrHistogram V2 compressed histogram"));
    }
    let compressed = be32(bytes, 4).ok_or_else(|| bad("truncated header"))? as usize;
    let body = bytes
        .get(8..8usize.saturating_add(compressed))
        .ok_or_else(|| bad("it claims more bytes than it has"))?;
    let mut inflated = inflate(body).map_err(|why| bad(&why))?;
    // The inner V2 header: cookie, payload length, offset, digits, lowest, highest, ratio (40 bytes).
    if be32(&inflated, 0) != Some(V2) || inflated.len() < 40 {
        return Err(bad("no V2 histogram inside"));
    }
    let payload = be32(&inflated, 4).unwrap_or(u32::MAX) as usize;
    if payload > inflated.len() - 40 {
        return Err(bad("its counts claim more bytes than it has"));
    }
    let digits = be32(&inflated, 12).unwrap_or(0);
    let be64 = |at: usize| {
        inflated
            .get(at..at + 8)
            .and_then(|x| x.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0)
    };
    let (low, high) = (be64(16), be64(24));
    if !(1..=u32::from(SIGFIG)).contains(&digits) || low < 1 || high < 2 * low || high > 1 << 50 {
        return Err(bad("its range or precision is not one loadbench writes"));
    }
    let offset = be32(&inflated, 8).unwrap_or(0);
    inflated.truncate(40 + payload);
    Ok((inflated, digits, if offset == 0 { low } else { 0 }))
}

/// Decodes [`encode_histogram`]'s output into a histogram that grows as needed.
pub fn decode_histogram(bytes: &[u8]) -> Result<Histogram<u64>, String> {
    let (inflated, _, _) = inflate_checked(bytes)?;
    let mut h: Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(&inflated))
        .map_err(|e| format!("bad histogram encoding: {e:?}"))?;
    h.auto(true);
    Ok(h)
}

/// Adds the counts of [`encode_histogram`]'s output into `into` without building the histogram:
/// work in proportion to the buckets that hold counts, where decoding then adding walks every
/// bucket up to the largest value twice (most of a day-long run's whole-run walks).
pub fn add_encoded(bytes: &[u8], into: &mut Histogram<u64>) -> Result<(), String> {
    let (digits, low) = (u32::from(into.sigfig()), into.low());
    let walked = each_encoded_count(bytes, Some((digits, low)), |lowest, _, count| {
        into.record_n(lowest, count)
            .map_err(|e| format!("bad histogram encoding: {e:?}"))
    })?;
    if !walked {
        // Another precision, floor or offset (not one loadbench writes): the general way.
        return into
            .add(decode_histogram(bytes)?)
            .map_err(|e| format!("bad histogram encoding: {e:?}"));
    }
    Ok(())
}

/// Calls `f(lowest, highest, count)` for each bucket of [`encode_histogram`]'s output that holds
/// counts, in ascending order, without building the histogram. With `only` (digits, lowest)
/// set, a histogram of another layout is not walked and `Ok(false)` says so.
pub fn each_encoded_count(
    bytes: &[u8],
    only: Option<(u32, u64)>,
    mut f: impl FnMut(u64, u64, u64) -> Result<(), String>,
) -> Result<bool, String> {
    let (inflated, digits, low) = inflate_checked(bytes)?;
    let bad = |why: &str| format!("bad histogram encoding: {why}");
    if low == 0 || only.is_some_and(|o| o != (digits, low)) {
        return Ok(false);
    }
    // Bucket layout (HdrHistogram's): values below 2^(half+1) one per unit, then each doubling
    // of the range in 2^half sub-buckets twice as wide as the previous.
    let single = 2 * 10u64.pow(digits);
    let magnitude = 64 - (single - 1).leading_zeros(); // ceil(log2(single))
    let half_magnitude = magnitude - 1;
    let half = 1u64 << half_magnitude;
    let unit = 63 - low.leading_zeros(); // floor(log2(low))
    let mut rest = &inflated[40..];
    let mut index: u64 = 0;
    while !rest.is_empty() {
        // LEB128 of a zig-zag i64, at most 9 bytes (the ninth carries 8 bits).
        let mut raw: u64 = 0;
        let mut used = 0;
        for (i, b) in rest.iter().enumerate().take(9) {
            used = i + 1;
            if i == 8 {
                raw |= u64::from(*b) << 56;
                break;
            }
            raw |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                break;
            }
        }
        rest = &rest[used..];
        let v = ((raw >> 1) as i64) ^ -((raw & 1) as i64);
        if v < 0 {
            index = index.saturating_add(v.unsigned_abs());
            continue;
        }
        let count = v as u64;
        if count > 0 {
            let bucket = (index >> half_magnitude).saturating_sub(1);
            let sub = if index >> half_magnitude == 0 {
                index
            } else {
                (index & (half - 1)) + half
            };
            let shift = bucket + u64::from(unit);
            if shift >= 63 || sub.leading_zeros() as u64 <= shift {
                return Err(bad("a count beyond any value loadbench records"));
            }
            let lowest = sub << shift;
            f(lowest, lowest + (1u64 << shift) - 1, count)?;
        }
        index = index.saturating_add(1);
    }
    Ok(true)
}

/// Encodes counts by name as compact text (`200:950,503:2`), the form the store keeps per tick.
pub fn encode_counts<'a>(items: impl Iterator<Item = (String, u64)> + 'a) -> Option<String> {
    let parts: Vec<String> = items
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k}:{n}"))
        .collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

/// Parses [`encode_counts`]'s text.
pub fn decode_counts(text: &str) -> Vec<(&str, u64)> {
    text.split(',')
        .filter_map(|p| p.split_once(':'))
        .filter_map(|(k, n)| n.parse().ok().map(|n| (k, n)))
        .collect()
}

impl Stats {
    /// Status codes as stored text.
    pub fn status_text(&self) -> Option<String> {
        encode_counts(self.status_counts())
    }

    /// The error kinds that occurred, by stable name, with their counts.
    pub fn error_counts(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        ErrorKind::ALL
            .iter()
            .zip(self.error_kinds.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| (k.as_str().to_string(), *n))
    }

    /// Status codes by code as text, with their counts.
    pub fn status_counts(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        self.status.iter().map(|(c, n)| (c.to_string(), *n))
    }

    /// Error kinds as stored text.
    pub fn error_kinds_text(&self) -> Option<String> {
        encode_counts(self.error_counts())
    }

    /// Restores status codes and error kinds from stored text.
    pub fn set_counts_from_text(&mut self, status: Option<&str>, kinds: Option<&str>) {
        for (code, n) in status.map(decode_counts).unwrap_or_default() {
            if let Ok(code) = code.parse::<u16>() {
                *self.status.entry(code).or_insert(0) += n;
            }
        }
        for (kind, n) in kinds.map(decode_counts).unwrap_or_default() {
            let k = ErrorKind::from_name(kind).unwrap_or(ErrorKind::Other);
            self.error_kinds[k as usize] += n;
        }
    }
}

/// Why a request did not succeed, so errors can be counted by cause rather than lumped together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The target refused the TCP connection.
    ConnectRefused,
    /// Any other failure to connect (unreachable, name resolution).
    Connect,
    /// No complete response within the request timeout.
    Timeout,
    /// The connection was reset or closed mid-request.
    Reset,
    /// The TLS handshake failed (unknown CA, bad name, protocol).
    Tls,
    /// The response body could not be read completely.
    Body,
    /// A response arrived but a scenario check failed on it.
    CheckFailed,
    /// A 4xx status where no status check said it was expected.
    Http4xx,
    /// A 5xx status where no status check said it was expected.
    Http5xx,
    /// Still unanswered when the run's drain ended (or on Stop): recorded at its latency so far.
    Aborted,
    /// The response broke HTTP/1.1 framing (malformed head, conflicting lengths, a head too large).
    Protocol,
    /// A variable's value (a `[data]` row, `${random}`…) made the request unsendable: a path
    /// that is not a request target, a header value HTTP does not allow. Nothing was sent.
    Render,
    /// A request asked to stream (`stream = "sse"` or `"chunked"`) got a successful answer that
    /// was not that stream (another content type, no chunks) or held no event.
    Stream,
    /// A forward proxy refused to open a tunnel (CONNECT answered with anything but 2xx) or
    /// answered it with something that is not HTTP.
    Proxy,
    /// A journey step's `extract` rule found nothing in its successful answer (the iteration ends).
    Extract,
    /// Anything not classified above.
    Other,
}

impl ErrorKind {
    /// Every kind, in counter order.
    pub const ALL: [ErrorKind; 16] = [
        ErrorKind::ConnectRefused,
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Reset,
        ErrorKind::Tls,
        ErrorKind::Body,
        ErrorKind::CheckFailed,
        ErrorKind::Http4xx,
        ErrorKind::Http5xx,
        ErrorKind::Aborted,
        ErrorKind::Protocol,
        ErrorKind::Render,
        ErrorKind::Stream,
        ErrorKind::Proxy,
        ErrorKind::Extract,
        ErrorKind::Other,
    ];
    /// How many kinds there are.
    pub const COUNT: usize = Self::ALL.len();

    /// The stable name used in output, JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "connect_refused",
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Tls => "tls",
            ErrorKind::Body => "body",
            ErrorKind::CheckFailed => "check_failed",
            ErrorKind::Http4xx => "http_4xx",
            ErrorKind::Http5xx => "http_5xx",
            ErrorKind::Aborted => "aborted",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Render => "render",
            ErrorKind::Stream => "stream",
            ErrorKind::Proxy => "proxy",
            ErrorKind::Extract => "extract",
            ErrorKind::Other => "other",
        }
    }

    /// The kind with the stable name `name`.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// What one request name against one target did over an interval (a tick) or a whole run.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Latency from the intended start (coordinated omission corrected), µs, for every request
    /// that ended: responses, and failures at the time they failed (a timeout at its timeout).
    pub latency: Histogram<u64>,
    /// Service time from the actual send, µs, for every request that was sent.
    pub service: Histogram<u64>,
    /// The part of `latency` that counted as errors, so success-only figures are `latency − failed`.
    pub failed: Histogram<u64>,
    /// Requests that ended, with a response or an error.
    pub requests: u64,
    /// Requests that counted as errors.
    pub errors: u64,
    /// Errors by kind, indexed like [`ErrorKind::ALL`].
    pub error_kinds: [u64; ErrorKind::COUNT],
    /// Responses by status code.
    pub status: BTreeMap<u16, u64>,
    /// Response bytes received (body).
    pub bytes_in: u64,
    /// Request bytes sent (body).
    pub bytes_out: u64,
    /// Open model: requests that started later than [`LATE_AFTER`] behind their intended time.
    pub late: u64,
    /// Requests sent a second time on a new connection (the first attempt's write failed, or an
    /// idempotent request went unanswered and `retry_idempotent` allows it).
    pub retries: u64,
    /// Where the time went: connect, TLS, write, first byte, transfer; connections opened.
    pub phases: Phases,
    /// The slowest and first failing requests, with what explains them.
    pub exemplars: Exemplars,
}

/// A request that starts this far behind its intended time counts as late.
pub const LATE_AFTER: Duration = Duration::from_millis(2);

impl Default for Stats {
    fn default() -> Self {
        Stats {
            latency: new_histogram(),
            service: new_histogram(),
            failed: new_histogram(),
            requests: 0,
            errors: 0,
            error_kinds: [0; ErrorKind::COUNT],
            status: BTreeMap::new(),
            bytes_in: 0,
            bytes_out: 0,
            late: 0,
            retries: 0,
            phases: Phases::default(),
            exemplars: Exemplars::default(),
        }
    }
}

impl Stats {
    /// Records a response (`error` says whether it still counts as an error, e.g. a 5xx or a failed check).
    pub fn record_response(
        &mut self,
        status: u16,
        latency_us: u64,
        service_us: u64,
        error: Option<ErrorKind>,
    ) {
        self.requests += 1;
        record(&mut self.latency, latency_us);
        record(&mut self.service, service_us);
        *self.status.entry(status).or_insert(0) += 1;
        if let Some(kind) = error {
            self.errors += 1;
            self.error_kinds[kind as usize] += 1;
            record(&mut self.failed, latency_us);
        }
    }

    /// Records a request that ended without a response, at the latency it had when it failed;
    /// `service_us` is `None` for a request that was never sent (it waited out its timeout).
    pub fn record_failure(&mut self, kind: ErrorKind, latency_us: u64, service_us: Option<u64>) {
        self.requests += 1;
        self.errors += 1;
        self.error_kinds[kind as usize] += 1;
        record(&mut self.latency, latency_us);
        record(&mut self.failed, latency_us);
        if let Some(s) = service_us {
            record(&mut self.service, s);
        }
    }

    /// Corrected latency of the requests that succeeded (k6's `expected_response:true`).
    pub fn latency_ok(&self) -> Histogram<u64> {
        let mut ok = self.latency.clone();
        if !self.failed.is_empty() && ok.subtract(&self.failed).is_err() {
            // Only data that was never recorded together can fail to subtract (a hand-made
            // import): with nothing to trust, say nothing rather than something wrong.
            ok.reset();
        }
        ok
    }

    /// Adds `other` into `self`: how ticks become totals and worker shares become ticks.
    pub fn merge(&mut self, other: &Stats) {
        // Both histograms auto-resize, so adding never fails for in-range values.
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        if !other.failed.is_empty() {
            let _ = self.failed.add(&other.failed);
        }
        self.requests += other.requests;
        self.errors += other.errors;
        for (a, b) in self.error_kinds.iter_mut().zip(other.error_kinds.iter()) {
            *a += b;
        }
        for (code, n) in &other.status {
            *self.status.entry(*code).or_insert(0) += n;
        }
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.late += other.late;
        self.retries += other.retries;
        self.phases.merge(&other.phases);
        self.exemplars.merge(&other.exemplars);
    }

    /// Clears the counts, keeping the histograms' allocated size.
    pub fn reset(&mut self) {
        self.latency.reset();
        self.service.reset();
        self.failed.reset();
        self.requests = 0;
        self.errors = 0;
        self.error_kinds = [0; ErrorKind::COUNT];
        self.status.clear();
        self.bytes_in = 0;
        self.bytes_out = 0;
        self.late = 0;
        self.retries = 0;
        self.phases.reset();
        self.exemplars.reset();
    }

    /// A threshold metric's value in canonical units (µs, fraction, req/s, count) over
    /// `seconds`; `None` when nothing was measured. A latency with no successful response is
    /// `None` too (fast refusals of a down service hold no latency objective), and `rate` counts
    /// successful responses, so a service that refuses every request meets neither.
    pub fn figure(&self, metric: crate::thresholds::Metric, seconds: f64) -> Option<f64> {
        use crate::thresholds::{Metric, Stat};
        match metric {
            Metric::Latency { stat, service } => {
                let h = if service {
                    &self.service
                } else {
                    &self.latency
                };
                if h.is_empty() || self.errors >= self.requests {
                    return None;
                }
                Some(match stat {
                    Stat::Min => h.min() as f64,
                    Stat::Mean => h.mean(),
                    Stat::Max => h.max() as f64,
                    Stat::Percentile(p) => h.value_at_quantile(p / 100.0) as f64,
                })
            }
            Metric::Streaming { stat, what } => {
                let h = self.phases.of(match what {
                    crate::thresholds::Streaming::FirstEvent => Phase::FirstEvent,
                    crate::thresholds::Streaming::EventGap => Phase::EventGap,
                });
                (!h.is_empty()).then(|| match stat {
                    Stat::Min => h.min() as f64,
                    Stat::Mean => h.mean(),
                    Stat::Max => h.max() as f64,
                    Stat::Percentile(p) => h.value_at_quantile(p / 100.0) as f64,
                })
            }
            Metric::ErrorRate => (self.requests > 0).then(|| self.error_rate()),
            Metric::Rate => Some(if seconds > 0.0 {
                self.requests.saturating_sub(self.errors) as f64 / seconds
            } else {
                0.0
            }),
            Metric::Count => Some(self.requests as f64),
            Metric::Errors => Some(self.errors as f64),
            // Judged on the run's deliveries once they are in (`Summary::judge_webhooks`).
            Metric::WebhookLost | Metric::WebhookDuplicates | Metric::WebhookLatency(_) => None,
        }
    }

    /// Errors as a share of completed requests (0 when nothing completed).
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }
}

mod buckets;
mod evidence;
mod exemplar;
pub mod heatmap;
pub mod journeys;
mod phases;
mod summary;
mod tick;
mod webhooks;
pub use buckets::Buckets;
pub use evidence::*;
pub use exemplar::*;
pub use journeys::{JOURNEY_COLUMNS, JOURNEYS_INTRO};
pub use phases::*;
pub use summary::*;
pub use tick::*;
pub use webhooks::{Ledger, WEBHOOK_COLUMNS, WebhookSecond, WebhookSummary};

#[cfg(test)]
mod tests;
