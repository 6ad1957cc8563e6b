//! The HTTP/1.1 hot path: request bytes written as they are, the response parsed with httparse
//! (hyper's own parser) straight from one reused buffer, in the clear or over TLS. Per request this
//! skips hyper's header map, its dispatch channel and its body channel, which were most of the
//! generator's user-space time (HTTP/2 stays on hyper).

use std::io;
use std::time::{Duration, Instant};

use super::failure::{Fail, classify_io};
use super::h1_io::H1Io;
use super::stream::StreamScan;
use super::trace::Trace;
use crate::metrics::ErrorKind;

/// Most response headers parsed; a response with more is refused as malformed.
const MAX_HEADERS: usize = 64;
/// Initial read buffer; it grows only for a response head larger than this.
const BUF: usize = 16 * 1024;
/// The largest response head (or chunk-size line and trailers) read before the response is refused
/// as a protocol error, so a hostile server cannot grow the buffer without bound.
const MAX_HEAD: usize = 256 * 1024;
/// Interim (1xx) responses accepted before the final one; a server that sends more is broken.
const MAX_INTERIM: u32 = 16;
/// Reads in a row that find data waiting before the connection yields to the runtime once.
const EAGER_READS: u32 = 64;
/// A connection idle this long is checked for a close by the server before it is reused (one
/// non-blocking read). Servers close idle connections after seconds (nginx 75 s, Node 5 s), so
/// busier connections skip the check and its system call.
const PROBE_IDLE: Duration = Duration::from_millis(50);

/// One HTTP/1.1 connection and its read buffer; unread bytes are `buf[start..end]`.
pub(crate) struct H1Conn {
    io: H1Io,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    closed: bool,
    /// When the last request on it was sent.
    last_sent: Instant,
    /// Reads that found data waiting, since the last yield to the runtime.
    eager_reads: u32,
    /// The most body bytes the current exchange keeps.
    keep_cap: usize,
}

/// How the response body is delimited.
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

impl H1Conn {
    /// Wraps a connected socket, or a TLS session over one.
    pub(crate) fn new(io: impl Into<H1Io>) -> H1Conn {
        H1Conn {
            io: io.into(),
            buf: vec![0; BUF],
            start: 0,
            end: 0,
            closed: false,
            last_sent: Instant::now(),
            eager_reads: 0,
            keep_cap: 0,
        }
    }

    /// Whether the connection must not carry another request sent at `now`: closed on our side,
    /// or, when it sat idle, closed by the server meanwhile (its FIN is waiting to be read).
    pub(crate) fn is_closed(&mut self, now: Instant) -> bool {
        if !self.closed && now.saturating_duration_since(self.last_sent) >= PROBE_IDLE {
            self.start = 0;
            self.end = 0;
            match self.io.try_read(&mut self.buf) {
                // Nothing to read: still open.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // End of stream, an error, or bytes nobody asked for (out of step): not reusable.
                _ => self.closed = true,
            }
        }
        self.closed
    }

    /// [`H1Conn::exchange_traced`] without the trace, keeping bodies up to the checks' cap.
    #[cfg(test)]
    pub(crate) async fn exchange(
        &mut self,
        wire: &[u8],
        head: bool,
        keep: Option<&mut Vec<u8>>,
        now: Instant,
    ) -> Result<(u16, u64), Fail> {
        let mut trace = Trace::default();
        let cap = crate::metrics::MAX_CHECKED_BODY;
        self.exchange_traced(wire, head, keep, cap, now, &mut trace)
            .await
    }

    /// Sends `wire` and reads the whole response: (status, body bytes). `head` for HEAD requests;
    /// `keep` takes up to `cap` body bytes; when the request was written, when the answer's
    /// first byte came and the final head go to `trace`.
    pub(crate) async fn exchange_traced(
        &mut self,
        wire: &[u8],
        head: bool,
        keep: Option<&mut Vec<u8>>,
        cap: usize,
        now: Instant,
        trace: &mut Trace,
    ) -> Result<(u16, u64), Fail> {
        self.last_sent = now;
        self.keep_cap = cap;
        if self.start != self.end {
            // Bytes nobody asked for: the connection is out of step, and nothing was sent.
            self.closed = true;
            return Err(Fail::Unsent(ErrorKind::Protocol));
        }
        self.write_all(wire).await?;
        trace.written = Some(Instant::now());
        let (status, framing, close) = self.read_head(head, trace).await?;
        let scan = &mut trace.stream;
        let bytes = match framing {
            Framing::None => 0,
            Framing::Length(n) => self.read_exact_body(n, keep, scan).await?,
            Framing::Chunked => self.read_chunked(keep, scan).await?,
            Framing::UntilClose => {
                self.closed = true;
                self.read_to_close(keep, scan).await?
            }
        };
        if close || self.start != self.end {
            self.closed = true;
        }
        Ok((status, bytes))
    }

    async fn write_all(&mut self, mut wire: &[u8]) -> Result<(), Fail> {
        let mut first = true;
        while !wire.is_empty() {
            match self.io.write(wire).await {
                Ok(0) => return Err(self.fail(&io::ErrorKind::WriteZero.into(), first)),
                Ok(n) => {
                    wire = &wire[n..];
                    first = false;
                }
                Err(e) => return Err(self.fail(&e, first)),
            }
        }
        self.io.flush().await.map_err(|e| self.fail(&e, false))
    }

    /// The failure of a write (`nothing_sent`: not one byte of the request went out).
    fn fail(&mut self, e: &io::Error, nothing_sent: bool) -> Fail {
        self.closed = true;
        let kind = kind_of(e, ErrorKind::Reset);
        if nothing_sent {
            Fail::Unsent(kind)
        } else {
            Fail::Kind(kind)
        }
    }

    /// Reads more bytes into the buffer; `Ok(0)` at end of stream. A head that would need more than
    /// [`MAX_HEAD`] is an `InvalidData` error.
    async fn fill(&mut self) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.buf.len() >= MAX_HEAD {
                self.closed = true;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "response head over 256 KiB",
                ));
            } else {
                self.buf.resize((self.buf.len() * 2).min(MAX_HEAD), 0);
            }
        }
        // A server that never stops sending would keep every read ready: yield now and then, so
        // the request's timeout (and the rest of the thread) still gets to run.
        self.eager_reads += 1;
        if self.eager_reads >= EAGER_READS {
            self.eager_reads = 0;
            tokio::task::yield_now().await;
        }
        let mut waited = false;
        let n = self.io.read(&mut self.buf[self.end..], &mut waited).await?;
        if waited {
            self.eager_reads = 0;
        }
        self.end += n;
        Ok(n)
    }

    /// Reads the status line and headers, skipping interim (1xx) responses.
    async fn read_head(
        &mut self,
        head: bool,
        trace: &mut Trace,
    ) -> Result<(u16, Framing, bool), Fail> {
        let mut received = false;
        let mut interim = 0u32;
        loop {
            if self.start < self.end {
                received = true;
                let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut resp = httparse::Response::new(&mut headers);
                match resp.parse(&self.buf[self.start..self.end]) {
                    Ok(httparse::Status::Complete(n)) => {
                        let status = resp.code.unwrap_or(0);
                        let http10 = resp.version == Some(0);
                        let framing = framing(status, head, resp.headers);
                        let close = (http10
                            && !has_token(resp.headers, "connection", "keep-alive"))
                            || has_token(resp.headers, "connection", "close");
                        self.start += n;
                        if status < 100 {
                            // "000" and the like: not a status HTTP has.
                            self.closed = true;
                            return Err(Fail::Kind(ErrorKind::Protocol));
                        }
                        if (100..200).contains(&status) && status != 101 {
                            interim += 1;
                            if interim > MAX_INTERIM {
                                self.closed = true;
                                return Err(Fail::Kind(ErrorKind::Protocol));
                            }
                            continue;
                        }
                        let framing = framing.map_err(|()| {
                            self.closed = true;
                            Fail::Kind(ErrorKind::Protocol)
                        })?;
                        trace
                            .head
                            .extend_from_slice(&self.buf[self.start - n..self.start]);
                        if trace.stream.mode().is_some() {
                            trace.stream.event_stream = resp.headers.iter().any(|h| {
                                h.name.eq_ignore_ascii_case("content-type")
                                    && is_event_stream(h.value)
                            });
                        }
                        return Ok((status, framing, close || status == 101));
                    }
                    Ok(httparse::Status::Partial) => {}
                    Err(_) => {
                        self.closed = true;
                        return Err(Fail::Kind(ErrorKind::Protocol));
                    }
                }
            }
            let filled = self.fill().await;
            if !received && trace.first_byte.is_none() && matches!(filled, Ok(1..)) {
                trace.first_byte = Some(Instant::now());
            }
            match filled {
                Ok(0) => {
                    self.closed = true;
                    // The whole request went out and the server closed without a byte of answer:
                    // it may have acted on it, so only an idempotent request may be sent again.
                    return Err(if received {
                        Fail::Kind(ErrorKind::Reset)
                    } else {
                        Fail::Unanswered(ErrorKind::Reset)
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    self.closed = true;
                    let kind = kind_of(&e, ErrorKind::Reset);
                    return Err(if received || kind == ErrorKind::Protocol {
                        Fail::Kind(kind)
                    } else {
                        Fail::Unanswered(kind)
                    });
                }
            }
        }
    }

    /// Takes up to `want` buffered body bytes, copying them to `keep` and showing them to a
    /// streamed answer's scan.
    fn take(&mut self, want: u64, keep: &mut Option<&mut Vec<u8>>, scan: &mut StreamScan) -> u64 {
        let n = (self.end - self.start).min(usize::try_from(want).unwrap_or(usize::MAX));
        if let Some(k) = keep.as_deref_mut() {
            let room = self.keep_cap.saturating_sub(k.len());
            k.extend_from_slice(&self.buf[self.start..self.start + n.min(room)]);
        }
        if scan.mode().is_some() && n > 0 {
            scan.bytes(&self.buf[self.start..self.start + n], Instant::now());
        }
        self.start += n;
        n as u64
    }

    async fn body_fill(&mut self) -> Result<(), Fail> {
        match self.fill().await {
            Ok(0) => {
                self.closed = true;
                Err(Fail::Kind(ErrorKind::Body))
            }
            Ok(_) => Ok(()),
            Err(e) => {
                self.closed = true;
                Err(Fail::Kind(kind_of(&e, ErrorKind::Body)))
            }
        }
    }

    async fn read_exact_body(
        &mut self,
        len: u64,
        mut keep: Option<&mut Vec<u8>>,
        scan: &mut StreamScan,
    ) -> Result<u64, Fail> {
        let mut left = len;
        loop {
            left -= self.take(left, &mut keep, scan);
            if left == 0 {
                return Ok(len);
            }
            self.body_fill().await?;
        }
    }

    async fn read_chunked(
        &mut self,
        mut keep: Option<&mut Vec<u8>>,
        scan: &mut StreamScan,
    ) -> Result<u64, Fail> {
        let mut total = 0u64;
        loop {
            // The chunk-size line.
            let size = loop {
                match httparse::parse_chunk_size(&self.buf[self.start..self.end]) {
                    Ok(httparse::Status::Complete((n, size))) => {
                        self.start += n;
                        break size;
                    }
                    Ok(httparse::Status::Partial) => self.body_fill().await?,
                    Err(_) => {
                        self.closed = true;
                        return Err(Fail::Kind(ErrorKind::Protocol));
                    }
                }
            };
            if size == 0 {
                // Trailers, if any, up to the empty line.
                loop {
                    let pending = &self.buf[self.start..self.end];
                    if let Some(i) = pending.windows(2).position(|w| w == b"\r\n") {
                        self.start += i + 2;
                        if i == 0 {
                            return Ok(total);
                        }
                        continue;
                    }
                    self.body_fill().await?;
                }
            }
            let mut left = size;
            while left > 0 {
                left -= self.take(left, &mut keep, scan);
                if left > 0 {
                    self.body_fill().await?;
                }
            }
            scan.chunk(Instant::now());
            total += size;
            // The CRLF after the chunk data.
            while self.end - self.start < 2 {
                self.body_fill().await?;
            }
            if &self.buf[self.start..self.start + 2] != b"\r\n" {
                self.closed = true;
                return Err(Fail::Kind(ErrorKind::Protocol));
            }
            self.start += 2;
        }
    }

    async fn read_to_close(
        &mut self,
        mut keep: Option<&mut Vec<u8>>,
        scan: &mut StreamScan,
    ) -> Result<u64, Fail> {
        let mut total = self.take(u64::MAX, &mut keep, scan);
        loop {
            match self.fill().await {
                Ok(0) => return Ok(total),
                Ok(_) => total += self.take(u64::MAX, &mut keep, scan),
                Err(e) => return Err(Fail::Kind(kind_of(&e, ErrorKind::Body))),
            }
        }
    }
}

/// Whether a content type is server-sent events (`text/event-stream`, any parameters).
pub(super) fn is_event_stream(value: &[u8]) -> bool {
    let media = value.split(|&b| b == b';').next().unwrap_or_default();
    media
        .trim_ascii()
        .eq_ignore_ascii_case(b"text/event-stream")
}

/// Classifies an I/O error on a connection: rustls's own errors (a bad record, an alert) are TLS
/// errors; any other `InvalidData` is our own refusal of an oversized head, a protocol error.
fn kind_of(e: &io::Error, default: ErrorKind) -> ErrorKind {
    if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
        ErrorKind::Tls
    } else if e.kind() == io::ErrorKind::InvalidData {
        ErrorKind::Protocol
    } else {
        classify_io(e, default)
    }
}

/// How the body of a response with this status and these headers is delimited (RFC 9112 §6.3).
fn framing(status: u16, head: bool, headers: &[httparse::Header<'_>]) -> Result<Framing, ()> {
    if head || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::None);
    }
    // Transfer-Encoding wins over Content-Length; the body is chunked only when chunked is the
    // final coding, and any other coding is read until the server closes (RFC 9112 §6.3).
    let codings: Vec<&str> = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("transfer-encoding"))
        .filter_map(|h| std::str::from_utf8(h.value).ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if let Some(last) = codings.last() {
        return Ok(if last.eq_ignore_ascii_case("chunked") {
            Framing::Chunked
        } else {
            Framing::UntilClose
        });
    }
    let mut length = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-length") {
            let v: u64 = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or(())?;
            if length.is_some_and(|l| l != v) {
                return Err(());
            }
            length = Some(v);
        }
    }
    Ok(length.map_or(Framing::UntilClose, Framing::Length))
}

/// Whether a comma-separated header (any of its occurrences) holds `token`, case-insensitively.
fn has_token(headers: &[httparse::Header<'_>], name: &str, token: &str) -> bool {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .filter_map(|h| std::str::from_utf8(h.value).ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// A one-connection server that answers each request with the next canned response.
    async fn serve(responses: Vec<&'static [u8]>, close_after: bool) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 4096];
            for r in responses {
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut buf).await.expect("read");
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                // Split writes exercise partial reads.
                let (a, b) = r.split_at(r.len() / 2);
                s.write_all(a).await.expect("write");
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                s.write_all(b).await.expect("write");
            }
            if close_after {
                let _ = s.shutdown().await;
            }
        });
        addr
    }

    async fn conn(addr: std::net::SocketAddr) -> H1Conn {
        H1Conn::new(TcpStream::connect(addr).await.expect("connect"))
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    fn ok(r: Result<(u16, u64), Fail>) -> (u16, u64) {
        match r {
            Ok(v) => v,
            Err(f) => panic!("failed: {:?}", kind(&f)),
        }
    }

    fn kind(f: &Fail) -> ErrorKind {
        match f {
            Fail::Closed(k) | Fail::Unsent(k) | Fail::Unanswered(k) | Fail::Kind(k) => *k,
        }
    }

    fn now() -> Instant {
        Instant::now()
    }

    #[test]
    fn reads_length_chunked_interim_and_no_body_responses_on_one_connection() {
        rt().block_on(async {
            let addr = serve(
                vec![
                    b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nx-trailer: 1\r\n\r\n",
                    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
                    b"HTTP/1.1 204 No Content\r\ncontent-length: 99\r\n\r\n",
                    b"HTTP/1.1 503 Busy\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
                ],
                false,
            )
            .await;
            let mut c = conn(addr).await;
            let mut body = Vec::new();
            assert_eq!(ok(c.exchange(GET, false, Some(&mut body), now()).await), (200, 5));
            assert_eq!(body, b"hello");
            body.clear();
            assert_eq!(ok(c.exchange(GET, false, Some(&mut body), now()).await), (200, 7));
            assert_eq!(body, b"abcdefg");
            assert_eq!(ok(c.exchange(GET, false, None, now()).await), (201, 2));
            assert_eq!(ok(c.exchange(GET, false, None, now()).await), (204, 0));
            assert!(!c.is_closed(now()));
            assert_eq!(ok(c.exchange(GET, false, None, now()).await), (503, 0));
            assert!(c.is_closed(now()), "connection: close is honoured");
        });
    }

    #[test]
    fn a_body_until_close_and_a_close_before_any_answer() {
        rt().block_on(async {
            let addr = serve(vec![b"HTTP/1.0 200 OK\r\n\r\nuntil the end"], true).await;
            let mut c = conn(addr).await;
            let mut body = Vec::new();
            assert_eq!(
                ok(c.exchange(GET, false, Some(&mut body), now()).await),
                (200, 13)
            );
            assert_eq!(body, b"until the end");
            assert!(c.is_closed(now()));
            // A server that hangs up without answering after reading the whole request: unanswered
            // (retried only for idempotent requests, and only when allowed), not silently stale.
            let addr = serve(vec![], true).await;
            let mut c = conn(addr).await;
            assert!(matches!(
                c.exchange(GET, false, None, now()).await,
                Err(Fail::Unanswered(ErrorKind::Reset))
            ));
            // A truncated body is a body error.
            let addr = serve(
                vec![b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"],
                true,
            )
            .await;
            let mut c = conn(addr).await;
            assert!(matches!(
                c.exchange(GET, false, None, now()).await,
                Err(Fail::Kind(ErrorKind::Body))
            ));
        });
    }

    #[test]
    fn malformed_and_conflicting_heads_are_refused() {
        rt().block_on(async {
            for bad in [
                &b"NOT HTTP\r\n\r\n"[..],
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok",
                b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n",
            ] {
                let addr = serve(vec![bad], true).await;
                let mut c = conn(addr).await;
                assert!(
                    matches!(
                        c.exchange(GET, false, None, now()).await,
                        Err(Fail::Kind(ErrorKind::Protocol))
                    ),
                    "{}",
                    String::from_utf8_lossy(bad)
                );
                assert!(c.is_closed(now()));
            }
        });
    }
}

#[cfg(test)]
mod edge_tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";

    /// Accepts one connection, reads a request head, writes `reply`, then closes.
    async fn one_reply(reply: Vec<u8>) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(&reply).await;
            let _ = s.shutdown().await;
        });
        addr
    }

    async fn exchange(reply: Vec<u8>) -> (Result<(u16, u64), Fail>, Vec<u8>) {
        let addr = one_reply(reply).await;
        let mut c = H1Conn::new(TcpStream::connect(addr).await.expect("connect"));
        let mut body = Vec::new();
        let r = c
            .exchange(GET, false, Some(&mut body), Instant::now())
            .await;
        (r, body)
    }

    #[test]
    fn chunked_counts_only_as_the_final_coding_and_other_codings_read_to_close() {
        rt().block_on(async {
            // "chunked, gzip": chunked is not final, so the body runs to the close, chunk syntax and all.
            let (r, body) = exchange(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n".to_vec(),
            )
            .await;
            assert!(matches!(r, Ok((200, 13))), "{:?}", r.as_ref().ok());
            assert_eq!(body, b"3\r\nabc\r\n0\r\n\r\n");
            // Transfer-Encoding without chunked and with a Content-Length: the length is ignored.
            let (r, body) = exchange(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\ncontent-length: 2\r\n\r\nwhole body".to_vec(),
            )
            .await;
            assert!(matches!(r, Ok((200, 10))));
            assert_eq!(body, b"whole body");
            // Two header lines, chunked last: chunked.
            let (r, body) = exchange(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n".to_vec(),
            )
            .await;
            assert!(matches!(r, Ok((200, 2))));
            assert_eq!(body, b"ok");
        });
    }

    #[test]
    fn a_head_larger_than_the_cap_is_a_protocol_error_and_memory_stays_bounded() {
        rt().block_on(async {
            let mut reply = b"HTTP/1.1 200 OK\r\n".to_vec();
            while reply.len() < 1024 * 1024 {
                reply.extend_from_slice(
                    b"x-filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
                );
            }
            let addr = one_reply(reply).await;
            let mut c = H1Conn::new(TcpStream::connect(addr).await.expect("connect"));
            let r = c.exchange(GET, false, None, Instant::now()).await;
            assert!(matches!(r, Err(Fail::Kind(ErrorKind::Protocol))));
            assert!(c.buf.len() <= MAX_HEAD, "buffer grew to {}", c.buf.len());
            // An endless chunk-size line is refused the same way.
            let mut reply = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
            reply.extend(std::iter::repeat_n(b'1', 600 * 1024));
            let (r, _) = exchange(reply).await;
            assert!(
                matches!(r, Err(Fail::Kind(ErrorKind::Protocol))),
                "{:?}",
                r.as_ref().ok()
            );
        });
    }

    #[test]
    fn an_idle_connection_the_server_closed_is_found_closed_before_sending() {
        rt().block_on(async {
            let addr = one_reply(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec()).await;
            let mut c = H1Conn::new(TcpStream::connect(addr).await.expect("connect"));
            let sent = Instant::now();
            assert!(matches!(
                c.exchange(GET, false, None, sent).await,
                Ok((200, 2))
            ));
            // The server has closed; a request right away does not look (no system call) ...
            assert!(!c.is_closed(sent));
            // ... one after the connection sat idle does, and finds the close.
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(c.is_closed(sent + PROBE_IDLE));
        });
    }
}
