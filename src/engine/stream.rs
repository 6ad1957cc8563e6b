//! A streamed answer cut into events as its bytes arrive: when the first came, the gaps between.

use std::time::Instant;

use hdrhistogram::Histogram;

use crate::scenario::Stream;

/// Longest line start kept to recognise a `data` field and OpenAI's `[DONE]`.
const LINE_START: usize = 16;

/// What one request's streamed answer did; reused from request to request, so it costs nothing
/// for requests that do not stream, and a histogram of the gaps keeps its memory bounded however
/// many events a server sends.
#[derive(Debug)]
pub struct StreamScan {
    /// How the answer is cut, or None when the request does not stream.
    mode: Option<Stream>,
    /// The answer said it is `text/event-stream` (server-sent events only).
    pub event_stream: bool,
    /// Events seen.
    pub events: u64,
    /// When the first event arrived.
    pub first: Option<Instant>,
    last: Option<Instant>,
    /// The gaps between consecutive events, µs (made when the first streamed request begins, so
    /// the many requests that do not stream hold none).
    gaps: Option<Histogram<u64>>,
    /// Server-sent events: the current line's first bytes, and whether the current block
    /// holds a `data` field (other than `[DONE]`).
    line: [u8; LINE_START],
    line_len: usize,
    has_data: bool,
    /// The last byte was a CR (a CRLF's LF then ends nothing more).
    after_cr: bool,
}

impl Default for StreamScan {
    fn default() -> Self {
        StreamScan {
            mode: None,
            event_stream: false,
            events: 0,
            first: None,
            last: None,
            gaps: None,
            line: [0; LINE_START],
            line_len: 0,
            has_data: false,
            after_cr: false,
        }
    }
}

impl StreamScan {
    /// Starts a request's answer.
    pub fn begin(&mut self, mode: Option<Stream>) {
        self.mode = mode;
        self.event_stream = false;
        self.events = 0;
        self.first = None;
        self.last = None;
        match &mut self.gaps {
            Some(g) if !g.is_empty() => g.reset(),
            Some(_) => {}
            None if mode.is_some() => self.gaps = Some(crate::metrics::new_histogram()),
            None => {}
        }
        self.line_len = 0;
        self.has_data = false;
        self.after_cr = false;
    }

    /// How this answer is cut, if it streams.
    pub fn mode(&self) -> Option<Stream> {
        self.mode
    }

    /// Body bytes that arrived at `now` (server-sent events are found in them).
    pub fn bytes(&mut self, bytes: &[u8], now: Instant) {
        if self.mode != Some(Stream::Sse) {
            return;
        }
        for &b in bytes {
            let end_of_line = b == b'\n' || b == b'\r';
            if b == b'\n' && self.after_cr {
                self.after_cr = false;
                continue;
            }
            self.after_cr = b == b'\r';
            if !end_of_line {
                if self.line_len < LINE_START {
                    self.line[self.line_len] = b;
                }
                self.line_len += 1;
                continue;
            }
            if self.line_len == 0 {
                // A blank line ends the block: an event if it carried data.
                if self.has_data {
                    self.event(now);
                }
                self.has_data = false;
            } else {
                let start = &self.line[..self.line_len.min(LINE_START)];
                let data = start.starts_with(b"data:") || (start == b"data" && self.line_len == 4);
                let done = matches!(start, b"data: [DONE]" | b"data:[DONE]")
                    && self.line_len == start.len();
                self.has_data |= data && !done;
            }
            self.line_len = 0;
        }
    }

    /// One HTTP/1.1 chunk (or HTTP/2 data frame) of the body arrived whole at `now`.
    pub fn chunk(&mut self, now: Instant) {
        if self.mode == Some(Stream::Chunked) {
            self.event(now);
        }
    }

    fn event(&mut self, now: Instant) {
        if let Some(last) = self.last {
            let us = now.saturating_duration_since(last).as_micros() as u64;
            if let Some(g) = &mut self.gaps {
                crate::metrics::record(g, us);
            }
        } else {
            self.first = Some(now);
        }
        self.last = Some(now);
        self.events += 1;
    }

    /// Whether a successful answer was the stream asked for: events came, and server-sent
    /// events said they were.
    pub fn answered(&self) -> bool {
        match self.mode {
            None => true,
            Some(Stream::Sse) => self.event_stream && self.events > 0,
            Some(Stream::Chunked) => self.events > 0,
        }
    }

    /// The gaps between consecutive events, µs, if any came.
    pub fn gaps(&self) -> Option<&Histogram<u64>> {
        self.gaps.as_ref().filter(|g| !g.is_empty())
    }

    /// The largest gap, µs.
    pub fn longest_gap(&self) -> Option<u64> {
        self.gaps().map(Histogram::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn events_are_blocks_with_data_whatever_the_line_ends_and_the_cuts() {
        let text = b": keep-alive\n\ndata: {\"a\":1}\r\n\r\nevent: x\ndata: two\ndata: lines\n\nid: 3\n\ndata\n\ndata: [DONE]\n\n";
        let t0 = Instant::now();
        // Whole, and cut at every byte: the same events.
        for cut in [text.len(), 1, 3, 7] {
            let mut s = StreamScan::default();
            s.begin(Some(Stream::Sse));
            for (i, piece) in text.chunks(cut).enumerate() {
                s.bytes(piece, t0 + Duration::from_millis(i as u64));
            }
            assert_eq!(s.events, 3, "cut {cut}");
            assert_eq!(s.gaps().map(Histogram::len), Some(2));
        }
        let mut s = StreamScan::default();
        s.begin(Some(Stream::Sse));
        s.bytes(b"data: a\n\n", t0);
        s.bytes(b"data: b\n\n", t0 + Duration::from_millis(40));
        s.bytes(b"data: c\n\ndata: d\n\n", t0 + Duration::from_millis(100));
        assert_eq!((s.events, s.first), (4, Some(t0)));
        let h = s.gaps().expect("gaps");
        let gaps: Vec<(u64, u64)> = h
            .iter_recorded()
            .map(|v| {
                (
                    h.lowest_equivalent(v.value_iterated_to()),
                    v.count_at_value(),
                )
            })
            .collect();
        assert_eq!(
            gaps,
            vec![(1, 1), (40_000, 1), (60_000, 1)],
            "0 counts as 1 µs"
        );
        assert_eq!(s.longest_gap(), Some(h.max()));
        assert!(!s.answered(), "no text/event-stream content type");
        s.event_stream = true;
        assert!(s.answered());
        s.begin(Some(Stream::Sse));
        assert!(s.gaps().is_none() && s.events == 0 && !s.answered());
        assert_eq!(s.longest_gap(), None);
    }

    #[test]
    fn chunked_counts_chunks_and_a_plain_request_ignores_both() {
        let t0 = Instant::now();
        let mut s = StreamScan::default();
        s.begin(Some(Stream::Chunked));
        s.bytes(b"data: a\n\n", t0);
        s.chunk(t0);
        s.chunk(t0 + Duration::from_millis(5));
        assert_eq!(
            (s.events, s.gaps().map(Histogram::len), s.longest_gap()),
            (2, Some(1), Some(5_003))
        );
        s.begin(None);
        s.bytes(b"data: a\n\n", t0);
        s.chunk(t0);
        assert_eq!(s.events, 0);
        assert!(s.answered());
    }
}
