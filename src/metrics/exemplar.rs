//! The requests behind the figures: each second's slowest and first failing requests of a series.

use super::*;

/// Slowest requests kept per series per tick (and over a run's totals).
pub const SLOWEST_KEPT: usize = 3;
/// First failures kept per series per tick (and over a run's totals).
pub const FAILURES_KEPT: usize = 3;

/// Response headers an exemplar keeps (lower case): what explains a slow or failed answer.
pub const KEPT_HEADERS: [&str; 10] = [
    "server",
    "via",
    "x-cache",
    "age",
    "retry-after",
    "content-type",
    "content-length",
    "x-request-id",
    "traceparent",
    "x-trace-id",
];

/// The first bytes of a response body an exemplar keeps.
pub const BODY_SNIPPET: usize = 512;

/// Whether `name` is one of [`KEPT_HEADERS`] (compared without case).
pub fn is_kept(name: &str) -> bool {
    KEPT_HEADERS.iter().any(|k| k.eq_ignore_ascii_case(name))
}

/// One request, with what explains it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exemplar {
    /// Its intended start (open model; the actual send in the closed model), ms since the run's start.
    pub at_ms: f64,
    /// How long after its intended start it was sent, µs (the generator's queue).
    pub queued_us: u64,
    /// Corrected latency, µs.
    pub latency_us: u64,
    /// The response's status, if one came.
    pub status: Option<u16>,
    /// Why it counted as an error, if it did.
    pub error: Option<ErrorKind>,
    /// Response body bytes.
    pub bytes_in: u64,
    /// Whether it opened a connection (else it reused one).
    pub new_conn: bool,
    /// Its phases in µs, indexed like [`Phase::ALL`] (`None`: not gone through).
    pub phases: [Option<u64>; Phase::COUNT],
    /// The response head as received (raw), or kept header lines.
    pub head: Vec<u8>,
    /// The first bytes of the body (only kept for failures).
    pub body: Vec<u8>,
}

/// A series' exemplars over a tick or a run: the slowest, slowest first, and the first failures,
/// earliest first. Bounded: a slow request that displaces another reuses its buffers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exemplars {
    /// The slowest requests, slowest first, at most [`SLOWEST_KEPT`].
    pub slowest: Vec<Exemplar>,
    /// The earliest failures, earliest first, at most [`FAILURES_KEPT`].
    pub failures: Vec<Exemplar>,
}

impl Exemplars {
    /// Whether a request of this latency would be kept among the slowest (the cheap test made for
    /// every request before an exemplar is filled in).
    pub fn wants_slow(&self, latency_us: u64) -> bool {
        self.slowest.len() < SLOWEST_KEPT
            || self
                .slowest
                .last()
                .is_some_and(|e| latency_us > e.latency_us)
    }

    /// Whether a failure would be kept (the first ones are).
    pub fn wants_failure(&self) -> bool {
        self.failures.len() < FAILURES_KEPT
    }

    /// A slot for a slow request of `latency_us`, reusing the dropped one's buffers; the caller
    /// fills it in and then calls [`Exemplars::settle`].
    pub fn slow_slot(&mut self) -> &mut Exemplar {
        if self.slowest.len() < SLOWEST_KEPT {
            self.slowest.push(Exemplar::default());
        }
        let n = self.slowest.len() - 1;
        &mut self.slowest[n]
    }

    /// Puts the slot just filled where its latency ranks.
    pub fn settle(&mut self) {
        let mut i = self.slowest.len().saturating_sub(1);
        while i > 0 && self.slowest[i].latency_us > self.slowest[i - 1].latency_us {
            self.slowest.swap(i, i - 1);
            i -= 1;
        }
    }

    /// A slot for the next failure (call only when [`Exemplars::wants_failure`]).
    pub fn failure_slot(&mut self) -> &mut Exemplar {
        self.failures.push(Exemplar::default());
        let n = self.failures.len() - 1;
        &mut self.failures[n]
    }

    /// Keeps a request that ended after `latency_us` if it is among the slowest or the first
    /// failures; `fill` writes its details into the slot (its buffers may hold a dropped one's).
    pub fn offer(&mut self, latency_us: u64, failed: bool, fill: impl Fn(&mut Exemplar)) {
        if self.wants_slow(latency_us) {
            fill(self.slow_slot());
            self.settle();
        }
        if failed && self.wants_failure() {
            fill(self.failure_slot());
        }
    }

    /// Adds `other`'s exemplars: the slowest of both, the earliest failures of both.
    pub fn merge(&mut self, other: &Exemplars) {
        if !other.slowest.is_empty() {
            self.slowest.extend(other.slowest.iter().cloned());
            self.slowest.sort_by(|a, b| {
                b.latency_us
                    .cmp(&a.latency_us)
                    .then(a.at_ms.total_cmp(&b.at_ms))
            });
            self.slowest.truncate(SLOWEST_KEPT);
        }
        if !other.failures.is_empty() {
            self.failures.extend(other.failures.iter().cloned());
            self.failures.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
            self.failures.truncate(FAILURES_KEPT);
        }
    }

    /// Forgets them all.
    pub fn reset(&mut self) {
        self.slowest.clear();
        self.failures.clear();
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.slowest.is_empty() && self.failures.is_empty()
    }
}

/// An exemplar as stored, exported and reported: its head reduced to the kept headers, its body
/// to redacted text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExemplarRecord {
    /// Tick (second) it ended in.
    pub tick: u32,
    /// Its series' index among the run's keys.
    pub series: usize,
    /// `slowest` or `failed`.
    pub kind: String,
    /// Intended start, ms since the run's start.
    pub at_ms: f64,
    /// Time between the intended start and the send, ms.
    pub queued_ms: f64,
    /// Corrected latency, ms.
    pub latency_ms: f64,
    /// The status, if a response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The error kind, if it counted as an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Response body bytes.
    pub bytes_in: u64,
    /// Whether it opened a connection.
    pub new_connection: bool,
    /// Phases that it went through, ms, by name.
    #[serde(default)]
    pub phases: BTreeMap<String, f64>,
    /// Kept response headers (`name: value` lines).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub headers: String,
    /// The first bytes of an error body, credentials redacted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
}

impl ExemplarRecord {
    /// Reduces an exemplar of series `series` in tick `tick` to its record.
    pub fn of(e: &Exemplar, tick: u32, series: usize, failed: bool) -> ExemplarRecord {
        let ms = |us: u64| us as f64 / 1000.0;
        ExemplarRecord {
            tick,
            series,
            kind: if failed { "failed" } else { "slowest" }.into(),
            at_ms: e.at_ms,
            queued_ms: ms(e.queued_us),
            latency_ms: ms(e.latency_us),
            status: e.status,
            error: e.error.map(|k| k.as_str().to_string()),
            bytes_in: e.bytes_in,
            new_connection: e.new_conn,
            phases: Phase::ALL
                .iter()
                .zip(e.phases)
                .filter_map(|(p, v)| v.map(|us| (p.as_str().to_string(), ms(us))))
                .collect(),
            headers: kept_headers(&e.head),
            body: crate::scenario::credentials::redact_text(&String::from_utf8_lossy(&e.body)),
        }
    }

    /// The record's kind as a flag.
    pub fn failed(&self) -> bool {
        self.kind == "failed"
    }

    /// Checks a record read from a file or the store: figures finite and in range, the error
    /// kind and status ones loadbench writes, texts bounded.
    pub fn check(&self, keys: usize) -> Result<(), String> {
        let fine = |v: f64| v.is_finite() && (0.0..1e12).contains(&v);
        if self.series >= keys {
            return Err(format!(
                "exemplar of series {} in a run of {keys}",
                self.series
            ));
        }
        if !(self.kind == "slowest" || self.kind == "failed") {
            return Err(format!(
                "exemplar kind `{}` is not slowest or failed",
                self.kind
            ));
        }
        if !fine(self.at_ms)
            || !fine(self.queued_ms)
            || !fine(self.latency_ms)
            || !self.phases.values().all(|v| fine(*v))
        {
            return Err("exemplar times must be finite and non-negative".into());
        }
        if let Some(e) = &self.error
            && ErrorKind::from_name(e).is_none()
        {
            return Err(format!("exemplar error `{e}` is not an error kind"));
        }
        if let Some(s) = self.status
            && !(100..=999).contains(&s)
        {
            return Err(format!("exemplar status {s} is not an HTTP status"));
        }
        if self.phases.len() > Phase::ALL.len()
            || self
                .phases
                .keys()
                .any(|k| !Phase::ALL.iter().any(|p| p.as_str() == k))
        {
            return Err("exemplar phases name a phase loadbench does not measure".into());
        }
        if self.headers.len() > 8192 || self.body.len() > 4 * BODY_SNIPPET {
            return Err("exemplar headers or body longer than loadbench keeps".into());
        }
        Ok(())
    }
}

impl Exemplar {
    /// The tick it ended in (tick i covers seconds [i-1, i)).
    pub fn tick(&self) -> u32 {
        let end_s = (self.at_ms + self.latency_us as f64 / 1000.0) / 1000.0;
        (end_s.max(0.0).floor() as u32).saturating_add(1)
    }

    /// An exemplar back from its record (its headers as a head, its redacted body as the body),
    /// so stored ticks merge like live ones.
    pub fn from_record(r: &ExemplarRecord) -> Exemplar {
        let us = |ms: f64| (ms * 1000.0).round().max(0.0) as u64;
        let mut head = b"stored\r\n".to_vec();
        for line in r.headers.lines() {
            head.extend_from_slice(line.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        Exemplar {
            at_ms: r.at_ms,
            queued_us: us(r.queued_ms),
            latency_us: us(r.latency_ms),
            status: r.status,
            error: r.error.as_deref().and_then(ErrorKind::from_name),
            bytes_in: r.bytes_in,
            new_conn: r.new_connection,
            phases: Phase::ALL.map(|p| r.phases.get(p.as_str()).map(|ms| us(*ms))),
            head,
            body: r.body.as_bytes().to_vec(),
        }
    }
}

/// The kept headers of a response head as `name: value` lines (a raw head is parsed again; hyper's
/// heads already hold only the kept ones).
fn kept_headers(head: &[u8]) -> String {
    let mut out = String::new();
    let text = String::from_utf8_lossy(head);
    for line in text.split("\r\n").skip(1) {
        if let Some((name, value)) = line.split_once(':')
            && is_kept(name.trim())
        {
            let value = value.trim();
            let value = if crate::scenario::credentials::secret_value(value) {
                "[redacted]"
            } else {
                value
            };
            out.push_str(&name.trim().to_ascii_lowercase());
            out.push_str(": ");
            out.push_str(&value.chars().take(200).collect::<String>());
            out.push('\n');
        }
    }
    out.truncate(out.trim_end().len());
    out
}
