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

/// Decodes [`encode_histogram`]'s output into a histogram that grows as needed. Every length in
/// the encoding is checked against what the input can hold before anything is allocated, and
/// the inflated payload is capped, so a few hostile bytes cannot claim gigabytes.
pub fn decode_histogram(bytes: &[u8]) -> Result<Histogram<u64>, String> {
    use std::io::Read;
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
    let mut inflated = Vec::new();
    flate2::read::ZlibDecoder::new(body)
        .take(MAX_HISTOGRAM_PAYLOAD as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| bad(&e.to_string()))?;
    if inflated.len() > MAX_HISTOGRAM_PAYLOAD {
        return Err(bad("it inflates beyond any histogram of ours"));
    }
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
    let mut h: Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(&inflated))
        .map_err(|e| bad(&format!("{e:?}")))?;
    h.auto(true);
    Ok(h)
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
    /// Anything not classified above.
    Other,
}

impl ErrorKind {
    /// Every kind, in counter order.
    pub const ALL: [ErrorKind; 12] = [
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
    }

    /// A threshold metric's value in canonical units (µs, fraction, req/s, count) over
    /// `seconds`; `None` when nothing was measured.
    pub fn figure(&self, metric: crate::thresholds::Metric, seconds: f64) -> Option<f64> {
        use crate::thresholds::{Metric, Stat};
        match metric {
            Metric::Latency { stat, service } => {
                let h = if service {
                    &self.service
                } else {
                    &self.latency
                };
                if h.is_empty() {
                    return None;
                }
                Some(match stat {
                    Stat::Min => h.min() as f64,
                    Stat::Mean => h.mean(),
                    Stat::Max => h.max() as f64,
                    Stat::Percentile(p) => h.value_at_quantile(p / 100.0) as f64,
                })
            }
            Metric::ErrorRate => (self.requests > 0).then(|| self.error_rate()),
            Metric::Rate => Some(if seconds > 0.0 {
                self.requests as f64 / seconds
            } else {
                0.0
            }),
            Metric::Count => Some(self.requests as f64),
            Metric::Errors => Some(self.errors as f64),
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

/// The name of one measured series: a request against a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// The request's name in the scenario.
    pub request: String,
    /// The target's name in the scenario.
    pub target: String,
}

/// One second of a run: what every series did in it. Everything downstream of the engine sees only these.
#[derive(Debug, Clone)]
pub struct Tick {
    /// 1-based number of the tick; tick i covers `[i-1, i)` seconds (the last may be shorter).
    pub index: u32,
    /// Seconds since the start at the end of this tick.
    pub end: f64,
    /// Length of this tick in seconds.
    pub seconds: f64,
    /// Whether this tick is part of the warm-up, excluded from results.
    pub warmup: bool,
    /// Open model: the scheduled rate (req/s) over this tick; closed model: the virtual users at its end.
    pub target: f64,
    /// The most requests in flight at once during this tick.
    pub in_flight: u64,
    /// Open model: requests whose start time passed but which never started (only on the last tick).
    pub not_started: u64,
    /// Per series, indexed like the run's keys.
    pub stats: Vec<Stats>,
}

impl Tick {
    /// Takes the next tick into this one: one tick spanning both (how a store that fell behind
    /// keeps every request while holding fewer ticks).
    pub fn absorb(&mut self, later: &Tick) {
        let seconds = self.seconds + later.seconds;
        if seconds > 0.0 {
            self.target = (self.target * self.seconds + later.target * later.seconds) / seconds;
        }
        self.seconds = seconds;
        self.end = later.end;
        self.in_flight = self.in_flight.max(later.in_flight);
        self.not_started += later.not_started;
        for (a, b) in self.stats.iter_mut().zip(&later.stats) {
            a.merge(b);
        }
    }

    /// All series of this tick merged.
    pub fn total(&self) -> Stats {
        let mut t = Stats::default();
        for s in &self.stats {
            t.merge(s);
        }
        t
    }
}

/// One tick reduced to what charts draw: totals over every series, a few numbers, constant size.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickSummary {
    /// Tick number.
    pub index: u32,
    /// Seconds since the start at its end.
    pub end: f64,
    /// Its length in seconds.
    pub seconds: f64,
    /// Part of the warm-up.
    pub warmup: bool,
    /// Scheduled rate (open) or virtual users (closed).
    pub target: f64,
    /// Most requests in flight.
    pub in_flight: u64,
    /// Requests completed.
    pub requests: u64,
    /// Errors.
    pub errors: u64,
    /// Corrected latency µs: p50, p90, p95, p99, max (0 when no response).
    pub latency_us: [u64; 5],
    /// Service time µs: p50, p90, p95, p99, max.
    pub service_us: [u64; 5],
    /// Errors by kind.
    pub error_kinds: Vec<(String, u64)>,
}

/// p50, p90, p95, p99 and max of a histogram, µs (zeros when empty).
pub fn quantiles(h: &Histogram<u64>) -> [u64; 5] {
    if h.is_empty() {
        return [0; 5];
    }
    [
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.9),
        h.value_at_quantile(0.95),
        h.value_at_quantile(0.99),
        h.max(),
    ]
}

impl TickSummary {
    /// Reduces a tick to its totals.
    pub fn of(tick: &Tick) -> TickSummary {
        let total = tick.total();
        TickSummary {
            index: tick.index,
            end: tick.end,
            seconds: tick.seconds,
            warmup: tick.warmup,
            target: tick.target,
            in_flight: tick.in_flight,
            requests: total.requests,
            errors: total.errors,
            latency_us: quantiles(&total.latency),
            service_us: quantiles(&total.service),
            error_kinds: total.error_counts().collect(),
        }
    }

    /// Completed requests per second over this tick.
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Merges ticks as they come into the run's totals (warm-up excluded): constant memory however long the run.
#[derive(Debug, Clone)]
pub struct Accumulator {
    /// Run totals per series.
    pub stats: Vec<Stats>,
    /// Measured seconds (warm-up excluded).
    pub seconds: f64,
    /// Seconds of warm-up seen.
    pub warmup_seconds: f64,
    /// Requests never started (open model).
    pub not_started: u64,
    /// Scheduled requests over the measured time (open model), for the mean target rate.
    pub scheduled: f64,
    /// Ticks merged, warm-up included.
    pub ticks: u32,
}

impl Accumulator {
    /// An empty accumulator for `keys` series.
    pub fn new(keys: usize) -> Accumulator {
        Accumulator {
            stats: vec![Stats::default(); keys],
            seconds: 0.0,
            warmup_seconds: 0.0,
            not_started: 0,
            scheduled: 0.0,
            ticks: 0,
        }
    }

    /// Adds one tick.
    pub fn add(&mut self, tick: &Tick) {
        self.ticks += 1;
        self.not_started += tick.not_started;
        if tick.warmup {
            self.warmup_seconds += tick.seconds;
            return;
        }
        self.seconds += tick.seconds;
        self.scheduled += tick.target * tick.seconds;
        for (acc, s) in self.stats.iter_mut().zip(&tick.stats) {
            acc.merge(s);
        }
    }

    /// All series merged.
    pub fn total(&self) -> Stats {
        let mut t = Stats::default();
        for s in &self.stats {
            t.merge(s);
        }
        t
    }
}

/// Judges thresholds parsed once on per-series figures measured over `seconds`: `total` ones on
/// every series together, `request:NAME` ones on that request across its targets. The run's
/// summary, the live screen's badges and the capacity steps all judge through here.
pub fn judge(
    thresholds: &[crate::thresholds::Scoped],
    keys: &[Key],
    stats: &[Stats],
    seconds: f64,
) -> Vec<crate::thresholds::ThresholdResult> {
    thresholds
        .iter()
        .map(|t| {
            let mut merged = Stats::default();
            for (k, s) in keys.iter().zip(stats) {
                if t.request().is_none_or(|r| r == k.request) {
                    merged.merge(s);
                }
            }
            t.verdict(|th| merged.figure(th.metric, seconds))
        })
        .collect()
}

/// Latency figures in milliseconds, as people and dashboards read them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Responses measured.
    pub samples: u64,
    /// Fastest response.
    pub min_ms: f64,
    /// Arithmetic mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p99_9_ms: f64,
    /// Slowest response.
    pub max_ms: f64,
}

impl LatencySummary {
    /// Summarises a microsecond histogram.
    pub fn from_histogram(h: &Histogram<u64>) -> LatencySummary {
        if h.is_empty() {
            return LatencySummary::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        LatencySummary {
            samples: h.len(),
            min_ms: ms(h.min()),
            mean_ms: h.mean().round() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p99_9_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// The figures of one series (or of all together) over the measured part of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointSummary {
    /// Request name (`*` for the total).
    pub request: String,
    /// Target name (`*` for the total).
    pub target: String,
    /// Requests completed.
    pub count: u64,
    /// Requests that were not errors.
    pub ok: u64,
    /// Requests that were errors.
    pub errors: u64,
    /// errors ÷ count.
    pub error_rate: f64,
    /// Completed requests per measured second.
    pub rate: f64,
    /// Responses by status code.
    pub status_codes: BTreeMap<String, u64>,
    /// Errors by kind (only kinds that occurred).
    pub error_kinds: BTreeMap<String, u64>,
    /// Response body bytes received.
    pub bytes_received: u64,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    /// Open model: requests that started more than 2 ms late.
    pub late_starts: u64,
    /// Requests sent again on a new connection (see [`Stats::retries`]).
    #[serde(default)]
    pub retries: u64,
    /// Latency from the intended start (coordinated omission corrected), every ended request:
    /// failures count at the time they failed, so a server that sheds load cannot look faster.
    pub latency: LatencySummary,
    /// The same over successful responses only (k6's `expected_response:true`); `None` when no
    /// response succeeded, and in summaries stored before it existed.
    #[serde(default)]
    pub latency_ok: Option<LatencySummary>,
    /// Service time from the actual send.
    pub service_time: LatencySummary,
}

impl EndpointSummary {
    /// Summarises `stats` measured over `seconds`.
    pub fn from_stats(request: &str, target: &str, stats: &Stats, seconds: f64) -> EndpointSummary {
        EndpointSummary {
            request: request.to_string(),
            target: target.to_string(),
            count: stats.requests,
            ok: stats.requests - stats.errors,
            errors: stats.errors,
            error_rate: stats.error_rate(),
            rate: if seconds > 0.0 {
                stats.requests as f64 / seconds
            } else {
                0.0
            },
            status_codes: stats.status_counts().collect(),
            error_kinds: stats.error_counts().collect(),
            bytes_received: stats.bytes_in,
            bytes_sent: stats.bytes_out,
            late_starts: stats.late,
            retries: stats.retries,
            latency: LatencySummary::from_histogram(&stats.latency),
            latency_ok: Some(stats.latency_ok())
                .filter(|h| !h.is_empty())
                .map(|h| LatencySummary::from_histogram(&h)),
            service_time: LatencySummary::from_histogram(&stats.service),
        }
    }
}

/// The version of the JSON summary document; bumped on any incompatible change.
pub const SUMMARY_SCHEMA: &str = "loadbench.summary/1";

/// A run's results as `loadbench run --json` prints them (see docs/json-summary.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Always [`SUMMARY_SCHEMA`].
    pub schema: String,
    /// Scenario name.
    pub scenario: String,
    /// `open` or `closed`.
    pub model: String,
    /// `completed`, `stopped` or `failed`.
    pub status: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// Measured seconds (warm-up excluded).
    pub duration_s: f64,
    /// Warm-up seconds, excluded from every figure.
    pub warmup_s: f64,
    /// Open model: the mean scheduled rate over the measured time.
    pub target_rate: Option<f64>,
    /// Closed model: the most virtual users.
    pub max_vus: Option<u64>,
    /// Open model: requests whose start time came but which never started (in-flight cap reached).
    pub not_started: u64,
    /// One entry per request name and target.
    pub endpoints: Vec<EndpointSummary>,
    /// Everything together.
    pub total: EndpointSummary,
    /// Threshold verdicts, in scenario order.
    pub thresholds: Vec<crate::thresholds::ThresholdResult>,
    /// Whether every threshold held (true when there are none).
    pub thresholds_passed: bool,
    /// How busy and how steady the machine was during the run (`None` for merged, imported or
    /// interrupted runs and runs stored before it was measured).
    #[serde(default)]
    pub environment: Option<crate::monitor::Environment>,
}

/// What a summary needs to know about the run besides its ticks; stored with the run so a summary
/// can be rebuilt later (e.g. for an interrupted run) without the scenario file or its secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Scenario name.
    pub scenario: String,
    /// `open` or `closed`.
    pub model: String,
    /// Closed model: the most virtual users.
    pub max_vus: Option<u64>,
    /// The series, in tick order.
    pub keys: Vec<Key>,
    /// The thresholds to judge, with their scope.
    pub thresholds: Vec<crate::thresholds::ThresholdSpec>,
}

impl RunInfo {
    /// The run info of a scenario.
    pub fn of(scenario: &crate::scenario::Scenario) -> RunInfo {
        let mut thresholds: Vec<crate::thresholds::ThresholdSpec> = scenario
            .thresholds
            .iter()
            .map(|t| crate::thresholds::ThresholdSpec {
                scope: "total".into(),
                expression: t.text.clone(),
            })
            .collect();
        for r in &scenario.requests {
            for t in &r.thresholds {
                thresholds.push(crate::thresholds::ThresholdSpec {
                    scope: format!("request:{}", r.name),
                    expression: t.text.clone(),
                });
            }
        }
        RunInfo {
            scenario: scenario.name.clone(),
            model: scenario.load.model_name().to_string(),
            max_vus: match &scenario.load {
                crate::scenario::Load::Closed { vus, .. } => Some(vus.max_level().round() as u64),
                crate::scenario::Load::Open { .. } => None,
            },
            keys: scenario.keys(),
            thresholds,
        }
    }
}

impl Summary {
    /// The run list's verdict: none without thresholds, so a run of nothing but errors is not a "pass".
    pub fn verdict(&self) -> Option<bool> {
        (!self.thresholds.is_empty()).then_some(self.thresholds_passed)
    }

    /// Summarises a run's accumulated ticks and judges its thresholds on them.
    pub fn build(
        info: &RunInfo,
        acc: &Accumulator,
        status: &str,
        started_at: std::time::SystemTime,
    ) -> Summary {
        let endpoints: Vec<EndpointSummary> = info
            .keys
            .iter()
            .zip(&acc.stats)
            .map(|(k, s)| EndpointSummary::from_stats(&k.request, &k.target, s, acc.seconds))
            .collect();
        let total = EndpointSummary::from_stats("*", "*", &acc.total(), acc.seconds);
        let scoped = crate::thresholds::Scoped::parse_all(&info.thresholds);
        let thresholds = judge(&scoped, &info.keys, &acc.stats, acc.seconds);
        let open = info.model == "open";
        Summary {
            schema: SUMMARY_SCHEMA.to_string(),
            scenario: info.scenario.clone(),
            model: info.model.clone(),
            status: status.to_string(),
            started_at: crate::format::utc_of(started_at),
            duration_s: acc.seconds,
            warmup_s: acc.warmup_seconds,
            target_rate: open.then(|| {
                if acc.seconds > 0.0 {
                    acc.scheduled / acc.seconds
                } else {
                    0.0
                }
            }),
            max_vus: info.max_vus,
            not_started: acc.not_started,
            thresholds_passed: thresholds.iter().all(|t| t.passed),
            thresholds,
            endpoints,
            total,
            environment: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_ticks_equals_recording_once() {
        let mut a = Stats::default();
        let mut b = Stats::default();
        let mut whole = Stats::default();
        for i in 1..=1000u64 {
            let (s, e) = if i % 7 == 0 {
                (503, Some(ErrorKind::Http5xx))
            } else {
                (200, None)
            };
            let target = if i % 2 == 0 { &mut a } else { &mut b };
            target.record_response(s, i * 10, i * 5, e);
            whole.record_response(s, i * 10, i * 5, e);
        }
        a.record_failure(ErrorKind::Timeout, 5000, Some(4000));
        whole.record_failure(ErrorKind::Timeout, 5000, Some(4000));
        let mut merged = Stats::default();
        merged.merge(&a);
        merged.merge(&b);
        assert_eq!(merged.requests, whole.requests);
        assert_eq!(merged.errors, whole.errors);
        assert_eq!(merged.status, whole.status);
        assert_eq!(merged.error_kinds, whole.error_kinds);
        for q in [0.5, 0.9, 0.99, 0.999] {
            assert_eq!(
                merged.latency.value_at_quantile(q),
                whole.latency.value_at_quantile(q)
            );
        }
        let s = EndpointSummary::from_stats("r", "t", &merged, 10.0);
        assert_eq!(s.count, 1001);
        assert_eq!(s.error_kinds.get("timeout"), Some(&1));
        assert_eq!(s.error_kinds.get("http_5xx"), Some(&142));
        assert!((s.rate - 100.1).abs() < 1e-9);
        assert!((s.latency.p50_ms - 5.0).abs() < 0.01);
        assert_eq!(merged.failed.len(), whole.failed.len());
    }

    #[test]
    fn hostile_histogram_bytes_are_refused_without_allocating_what_they_claim() {
        let mut h = new_histogram();
        for v in [1, 50, 1_000, 2_000_000] {
            record(&mut h, v);
        }
        let good = encode_histogram(&h);
        let back = decode_histogram(&good).expect("round trip");
        assert_eq!(back.len(), 4);
        assert_eq!(back.max(), h.max());
        // Claims of more bytes than there are, at each level.
        let mut long = good.clone();
        long[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_histogram(&long).is_err());
        assert!(decode_histogram(&good[..good.len() / 2]).is_err());
        assert!(decode_histogram(b"").is_err());
        // A V2 payload that claims 2 GB of counts, deflated to a few bytes.
        let mut inner = Vec::new();
        inner.extend_from_slice(&0x1c84_9313u32.to_be_bytes());
        inner.extend_from_slice(&0x8000_0000u32.to_be_bytes());
        inner.extend_from_slice(&0u32.to_be_bytes());
        inner.extend_from_slice(&3u32.to_be_bytes());
        inner.extend_from_slice(&1u64.to_be_bytes());
        inner.extend_from_slice(&1_000_000u64.to_be_bytes());
        inner.extend_from_slice(&1.0f64.to_be_bytes());
        let claim = |inner: &[u8]| {
            use std::io::Write;
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(inner).expect("deflate");
            let body = z.finish().expect("deflate");
            let mut out = 0x1c84_9314u32.to_be_bytes().to_vec();
            out.extend_from_slice(&(body.len() as u32).to_be_bytes());
            out.extend_from_slice(&body);
            out
        };
        assert!(decode_histogram(&claim(&inner)).is_err());
        // A deflate bomb: megabytes of zeros from a few kilobytes.
        let mut bomb = inner.clone();
        bomb[4..8].copy_from_slice(&0u32.to_be_bytes());
        bomb.resize(64 << 20, 0);
        assert!(decode_histogram(&claim(&bomb)).is_err());
        // A range no histogram of ours has (5 digits up to 2^62: a 100 MB counts array).
        let mut wide = inner;
        wide[4..8].copy_from_slice(&0u32.to_be_bytes());
        wide[12..16].copy_from_slice(&5u32.to_be_bytes());
        wide[24..32].copy_from_slice(&(1u64 << 62).to_be_bytes());
        assert!(decode_histogram(&claim(&wide)).is_err());
    }

    #[test]
    fn failures_count_in_latency_and_success_only_figures_leave_them_out() {
        let mut s = Stats::default();
        // 90 fast successes, 5 fast 503s and 5 timeouts at 10 s: the timeouts are the slowest
        // outcomes, and a p95 that left them out would read 1 ms.
        for _ in 0..90 {
            s.record_response(200, 1000, 1000, None);
        }
        for _ in 0..5 {
            s.record_response(503, 500, 500, Some(ErrorKind::Http5xx));
        }
        for _ in 0..5 {
            s.record_failure(ErrorKind::Timeout, 10_000_000, Some(9_000_000));
        }
        // One request never sent: it waited out its timeout in the queue (no service time).
        s.record_failure(ErrorKind::Timeout, 10_000_000, None);
        let sum = EndpointSummary::from_stats("r", "t", &s, 1.0);
        assert_eq!(sum.count, 101);
        assert_eq!(sum.latency.samples, 101);
        assert!(sum.latency.p95_ms > 9_000.0, "p95 {}", sum.latency.p95_ms);
        assert_eq!(sum.service_time.samples, 100);
        let ok = sum.latency_ok.expect("success-only figures");
        assert_eq!(ok.samples, 90);
        assert!((ok.p99_ms - 1.0).abs() < 0.01 && (ok.max_ms - 1.0).abs() < 0.01);
        // Merged shares give the same success-only figures.
        let mut merged = Stats::default();
        merged.merge(&s);
        merged.merge(&Stats::default());
        assert_eq!(merged.latency_ok().len(), 90);
    }

    #[test]
    fn thresholds_judge_on_the_figures_they_name() {
        let mut s = Stats::default();
        for i in 1..=100 {
            s.record_response(200, i * 1000, i * 500, None);
        }
        s.record_failure(
            crate::metrics::ErrorKind::Timeout,
            10_000_000,
            Some(10_000_000),
        );
        use crate::thresholds::Threshold;
        let judged =
            |t: &Threshold, s: &Stats, secs: f64| t.verdict("total", s.figure(t.metric, secs));
        let p95: Threshold = "p95 < 200ms".parse().unwrap();
        assert!(judged(&p95, &s, 1.0).passed);
        let p95: Threshold = "p95 < 50ms".parse().unwrap();
        assert!(!judged(&p95, &s, 1.0).passed);
        let er: Threshold = "error_rate < 0.1%".parse().unwrap();
        assert!(!judged(&er, &s, 1.0).passed);
        let rate: Threshold = "rate > 50/s".parse().unwrap();
        assert!(judged(&rate, &s, 1.0).passed);
        assert!(!judged(&rate, &s, 10.0).passed);
        let empty = Stats::default();
        assert!(!judged(&p95, &empty, 1.0).passed);
    }
}
