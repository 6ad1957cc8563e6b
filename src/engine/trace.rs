//! What one request's exchange saw on its way: phase moments, a new connection, the response head.

use std::time::Instant;

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
}
