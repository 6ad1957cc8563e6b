//! Requests in (roughly) time order gathered into one-second ticks, a short window held open.

use std::collections::{HashMap, VecDeque};

use crate::metrics::{ErrorKind, Key, Stats, Tick};

/// How many seconds stay open for requests that arrive out of order: tools write their results
/// in batches (k6 flushes once a second), never minutes apart.
const WINDOW: u32 = 30;
/// The longest run a file may describe, so one hostile timestamp cannot make millions of ticks.
const MAX_SECONDS: f64 = 31.0 * 86_400.0;
/// The most series one import makes: more means unnamed URLs, each its own series.
pub const MAX_SERIES: usize = 500;

/// One request as another tool recorded it.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// When it ended, µs since the epoch (or since the file's own zero).
    pub end_us: i64,
    /// Its series (from [`Ticker::series`]).
    pub series: usize,
    /// Latency from the intended start when the tool corrects for coordinated omission, else
    /// the same as `service_us`.
    pub latency_us: u64,
    /// From the actual send to the end.
    pub service_us: u64,
    /// The status code, 0 when no response came.
    pub status: u16,
    /// Why it counts as an error, if it does.
    pub error: Option<ErrorKind>,
    /// Response bytes.
    pub bytes_in: u64,
    /// Request bytes.
    pub bytes_out: u64,
}

/// Gathers samples into ticks and hands each on when no later sample can still fall into it.
pub struct Ticker {
    start_us: Option<i64>,
    /// Tick number (1-based) of `open[0]`.
    first: u32,
    open: VecDeque<Tick>,
    keys: Vec<Key>,
    index: HashMap<(String, String), usize>,
    last_end_us: i64,
    /// Requests in the file, for the check that nothing was lost between file and store.
    pub requests: u64,
}

impl Default for Ticker {
    fn default() -> Self {
        Self::new()
    }
}

impl Ticker {
    /// An empty ticker; its clock starts at the first sample.
    pub fn new() -> Ticker {
        Ticker {
            start_us: None,
            first: 1,
            open: VecDeque::new(),
            keys: Vec::new(),
            index: HashMap::new(),
            last_end_us: i64::MIN,
            requests: 0,
        }
    }

    /// The series of `request` against `target`, added on first sight.
    pub fn series(&mut self, request: &str, target: &str) -> Result<usize, String> {
        if let Some(&i) = self.index.get(&(request.to_string(), target.to_string())) {
            return Ok(i);
        }
        if self.keys.len() >= MAX_SERIES {
            return Err(format!(
                "more than {MAX_SERIES} distinct requests (`{request}` is one more): name them \
                 in the tool (k6's `name` tag, JMeter's labels) so URLs with ids group"
            ));
        }
        self.keys.push(Key {
            request: request.to_string(),
            target: target.to_string(),
        });
        self.index.insert(
            (request.to_string(), target.to_string()),
            self.keys.len() - 1,
        );
        Ok(self.keys.len() - 1)
    }

    /// The series seen so far.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Sets the clock's zero (µs) when the file names its start; otherwise the first sample's
    /// start is taken.
    pub fn start_at(&mut self, start_us: i64) {
        self.start_us.get_or_insert(start_us);
    }

    /// When the run started, µs (once a sample or [`Ticker::start_at`] set it).
    pub fn start_us(&self) -> Option<i64> {
        self.start_us
    }

    /// The tick a moment falls in, opening ticks (and handing on old ones) as needed.
    fn tick_at(&mut self, at_us: i64, sink: &mut super::Sink<'_>) -> Result<&mut Tick, String> {
        let start = *self.start_us.get_or_insert(at_us);
        let rel = (at_us - start) as f64 / 1e6;
        if rel > MAX_SECONDS {
            return Err(format!(
                "a time {:.0} s after the first one: a file of more than 31 days, or a clock gone wrong",
                rel
            ));
        }
        // Requests a little before the first one's start (out of order) count in the first tick.
        let n = (rel.max(0.0).floor() as u32).saturating_add(1);
        if n < self.first {
            return Err(format!(
                "a time {rel:.3} s into the run, after later ones: the file is not in time order \
                 (more than {WINDOW} s apart)"
            ));
        }
        while n >= self.first + WINDOW {
            self.hand_on(sink)?;
        }
        while self.first + self.open.len() as u32 <= n {
            let index = self.first + self.open.len() as u32;
            self.open.push_back(Tick {
                index,
                end: f64::from(index),
                seconds: 1.0,
                drain: 0.0,
                warmup: false,
                target: 0.0,
                in_flight: 0,
                not_started: 0,
                stats: Vec::new(),
                journeys: Vec::new(),
            });
        }
        let i = (n - self.first) as usize;
        Ok(&mut self.open[i])
    }

    fn hand_on(&mut self, sink: &mut super::Sink<'_>) -> Result<(), String> {
        if let Some(t) = self.open.pop_front() {
            sink(t)?;
        }
        self.first += 1;
        Ok(())
    }

    /// Adds one request.
    pub fn add(&mut self, s: &Sample, sink: &mut super::Sink<'_>) -> Result<(), String> {
        if s.series >= self.keys.len() {
            return Err(format!("series {} was never named (a bug)", s.series));
        }
        // The clock starts when the first request started, not when it ended.
        if self.start_us.is_none() {
            self.start_us = Some(s.end_us - s.service_us.min(i64::MAX as u64) as i64);
        }
        self.requests += 1;
        self.last_end_us = self.last_end_us.max(s.end_us);
        let keys = self.keys.len();
        let tick = self.tick_at(s.end_us, sink)?;
        if tick.stats.len() < keys {
            tick.stats.resize_with(keys, Stats::default);
        }
        let st = &mut tick.stats[s.series];
        match (s.status, s.error) {
            (0, kind) => st.record_failure(
                kind.unwrap_or(ErrorKind::Other),
                s.latency_us,
                Some(s.service_us),
            ),
            (status, error) => st.record_response(status, s.latency_us, s.service_us, error),
        }
        st.bytes_in += s.bytes_in;
        st.bytes_out += s.bytes_out;
        Ok(())
    }

    /// Notes how many users (or requests) were active at a moment: the tick's target and, as
    /// the most seen, its in-flight figure.
    pub fn active(
        &mut self,
        at_us: i64,
        users: f64,
        sink: &mut super::Sink<'_>,
    ) -> Result<(), String> {
        if !users.is_finite() || users < 0.0 {
            return Err(format!("{users} active users is not a count"));
        }
        let tick = self.tick_at(at_us, sink)?;
        tick.target = users;
        tick.in_flight = tick.in_flight.max(users.round() as u64);
        Ok(())
    }

    /// Adds a whole period of already-counted figures (Artillery's intermediate reports).
    pub fn add_stats(
        &mut self,
        at_us: i64,
        series: usize,
        stats: &Stats,
        sink: &mut super::Sink<'_>,
    ) -> Result<(), String> {
        self.requests += stats.requests;
        self.last_end_us = self.last_end_us.max(at_us);
        let keys = self.keys.len();
        let tick = self.tick_at(at_us, sink)?;
        if tick.stats.len() < keys {
            tick.stats.resize_with(keys, Stats::default);
        }
        tick.stats[series].merge(stats);
        Ok(())
    }

    /// Hands on every open tick; the last one is as long as the data reaches into it. Returns
    /// the run's length in seconds.
    pub fn finish(mut self, sink: &mut super::Sink<'_>) -> Result<(Vec<Key>, f64), String> {
        let start = self.start_us.unwrap_or(0);
        let seconds = if self.last_end_us == i64::MIN {
            0.0
        } else {
            ((self.last_end_us - start) as f64 / 1e6).max(0.0)
        };
        let keys = self.keys.len();
        let last = self.first + self.open.len() as u32;
        while let Some(mut t) = self.open.pop_front() {
            t.stats.resize_with(keys, Stats::default);
            if t.index + 1 == last {
                // Tick n covers [n-1, n): the last is as long as the data runs into it.
                let part = seconds - f64::from(t.index - 1);
                if part > 0.0 && part < 1.0 {
                    t.seconds = part.max(0.001);
                    t.end = f64::from(t.index - 1) + t.seconds;
                }
            }
            sink(t)?;
        }
        Ok((self.keys, seconds))
    }
}
