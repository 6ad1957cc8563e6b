//! What one request's exchange saw on its way (phase moments, a new connection, the response
//! head), and what it says once the request ended.

use std::time::Instant;

use crate::metrics::{Phase, Phases};

/// Filled by the client during one exchange and read by the worker when the request ends.
/// Reused from request to request by its task, so it costs no allocation once warm.
#[derive(Debug, Default)]
pub struct Trace {
    /// TCP connect time of a connection opened for this request, µs.
    pub connect_us: Option<u64>,
    /// TLS handshake time of that connection, µs.
    pub tls_us: Option<u64>,
    /// When the connection was ready (a new one: after its handshakes), if the request waited for one.
    pub ready: Option<Instant>,
    /// When the request's bytes were all written (our own HTTP/1.1 client).
    pub written: Option<Instant>,
    /// When the first byte of the response arrived (hyper: when its head was parsed).
    pub first_byte: Option<Instant>,
    /// The final response's head as received, or for hyper the kept headers as `name: value` lines.
    pub head: Vec<u8>,
    /// A streamed answer's events (begun by the worker for each request).
    pub stream: super::stream::StreamScan,
    /// A header the request's results are split by, kept in `head` even where only a few are.
    pub keep_header: Option<http::HeaderName>,
    /// Keep every header in `head` (a journey step reads cookies and extracts values).
    pub keep_all: bool,
}

impl Trace {
    /// Forgets the last request.
    pub fn reset(&mut self) {
        self.connect_us = None;
        self.tls_us = None;
        self.ready = None;
        self.written = None;
        self.first_byte = None;
        self.head.clear();
    }

    /// The value of header `name` in the response head (`name: value` lines after the status
    /// line).
    pub fn header(&self, name: &http::HeaderName) -> Option<&[u8]> {
        self.head.split(|&b| b == b'\n').skip(1).find_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            line[..colon]
                .trim_ascii()
                .eq_ignore_ascii_case(name.as_str().as_bytes())
                .then(|| line[colon + 1..].trim_ascii())
        })
    }

    /// Records the phases this request (sent at `sent_at`, ended at `done`) went through into
    /// `p`, and returns them (µs, indexed like [`Phase::ALL`]).
    pub fn record_phases(
        &self,
        p: &mut Phases,
        sent_at: Instant,
        done: Instant,
    ) -> [Option<u64>; Phase::COUNT] {
        let micros = |from: Instant, to: Instant| {
            u64::try_from(to.saturating_duration_since(from).as_micros()).unwrap_or(u64::MAX)
        };
        let mut out = [None; Phase::COUNT];
        let mut put = |phase: Phase, us: u64| {
            p.record(phase, us);
            out[phase as usize] = Some(us);
        };
        if let Some(us) = self.connect_us {
            put(Phase::Connect, us);
        }
        if let Some(us) = self.tls_us {
            put(Phase::Tls, us);
        }
        let ready = self.ready.unwrap_or(sent_at);
        if let Some(written) = self.written {
            put(Phase::Write, micros(ready, written));
        }
        if let Some(first) = self.first_byte {
            let from = self.written.unwrap_or(ready);
            put(Phase::FirstByte, micros(from, first));
            put(Phase::Transfer, micros(first, done));
        }
        if let Some(first) = self.stream.first {
            let from = self.written.unwrap_or(ready);
            put(Phase::FirstEvent, micros(from, first));
            if let Some(gaps) = self.stream.gaps() {
                let _ = p.hist[Phase::EventGap as usize].add(gaps);
            }
            out[Phase::EventGap as usize] = self.stream.longest_gap();
        }
        p.new_conns += u64::from(self.connect_us.is_some());
        out
    }
}
