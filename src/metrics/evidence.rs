//! A summary's bottleneck evidence as table rows: where the time went, and the requests behind it.

use super::*;

/// Column names of [`Summary::phase_rows`].
pub const PHASE_COLUMNS: [&str; 10] = [
    "request",
    "new conns/s",
    "connect p95",
    "TLS p95",
    "write p95",
    "first byte p50",
    "first byte p95",
    "first byte p99",
    "transfer p95",
    "queued (mean)",
];

/// Column names of [`Summary::stream_rows`].
pub const STREAM_COLUMNS: [&str; 9] = [
    "request",
    "streams",
    "events/response",
    "first event p50",
    "first event p95",
    "first event p99",
    "event gap p50",
    "event gap p99",
    "event gap max",
];

/// Column names of [`Summary::split_rows`].
pub const SPLIT_COLUMNS: [&str; 7] = [
    "request",
    "split by",
    "value",
    "responses",
    "share",
    "p50",
    "p95",
];

/// A split request as `request @ target`, its header, and its parts (series index, value).
pub type SplitGroup = (String, String, Vec<(usize, String)>);

/// The split requests among series named (request, target), in series order: each as
/// `request @ target`, the header, and its parts (series index, value).
pub fn split_groups<'a>(series: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<SplitGroup> {
    // A split series' target reads `name [header: value]`.
    let part = |t: &str| {
        let (base, rest) = t.strip_suffix(']')?.rsplit_once(" [")?;
        let (header, value) = rest.split_once(": ")?;
        Some((base.to_string(), header.to_string(), value.to_string()))
    };
    let mut groups: Vec<SplitGroup> = Vec::new();
    for (i, (request, target)) in series.enumerate() {
        let Some((base, header, value)) = part(target) else {
            continue;
        };
        let name = format!("{request} @ {base}");
        match groups.iter_mut().find(|g| g.0 == name && g.1 == header) {
            Some(g) => g.2.push((i, value)),
            None => groups.push((name, header, vec![(i, value)])),
        }
    }
    groups
}

/// Each split value's share of its request's responses in one second, as named series
/// (`read @ api x-cache HIT share %`); values of a request with no response that second are left out.
pub fn split_shares(groups: &[SplitGroup], stats: &[Stats]) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for (name, header, parts) in groups {
        let count = |i: usize| stats.get(i).map_or(0, |s| s.requests);
        let all: u64 = parts.iter().map(|(i, _)| count(*i)).sum();
        if all == 0 {
            continue;
        }
        for (i, value) in parts {
            out.push((
                format!("{name} {header} {value} share %"),
                count(*i) as f64 * 100.0 / all as f64,
            ));
        }
    }
    out
}

/// Column names of [`Summary::exemplar_rows`].
pub const EXEMPLAR_COLUMNS: [&str; 9] = [
    "at",
    "request",
    "latency",
    "answer",
    "connection",
    "queued",
    "connect+TLS",
    "first byte",
    "transfer",
];

impl Summary {
    /// Whether any series measured its phases (imports and older runs did not).
    pub fn has_phases(&self) -> bool {
        self.endpoints.iter().any(|e| e.phases.is_some())
    }

    /// The name of series `i` as tables show it (`request`, or `request @ target` when the run
    /// had several targets).
    pub fn series_name(&self, i: usize) -> String {
        let several = self
            .endpoints
            .iter()
            .any(|e| e.target != self.endpoints[0].target);
        match self.endpoints.get(i) {
            Some(e) if several => format!("{} @ {}", e.request, e.target),
            Some(e) => e.request.clone(),
            None => format!("series {i}"),
        }
    }

    /// One row per series whose answers streamed: how many, their events per answer, time to
    /// the first event and the gaps between events.
    pub fn stream_rows(&self) -> Vec<Vec<String>> {
        let ms = |v: f64| crate::format::micros(v * 1000.0);
        self.endpoints
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.phases.as_ref().map(|p| (i, p)))
            .filter_map(|(i, p)| p.first_event.as_ref().map(|f| (i, p, f)))
            .map(|(i, p, first)| {
                let gap = |f: fn(&PhaseSummary) -> f64| {
                    p.event_gap.as_ref().map_or("-".to_string(), |g| ms(f(g)))
                };
                vec![
                    self.series_name(i),
                    first.samples.to_string(),
                    p.events_per_response.map_or("-".into(), |n| {
                        crate::format::plain((n * 10.0).round() / 10.0)
                    }),
                    ms(first.p50_ms),
                    ms(first.p95_ms),
                    ms(first.p99_ms),
                    gap(|g| g.p50_ms),
                    gap(|g| g.p99_ms),
                    gap(|g| g.max_ms),
                ]
            })
            .collect()
    }

    /// One row per part of each split request (`split_by`): its responses, their share of the
    /// request's (a cache's hit ratio), and its latency.
    pub fn split_rows(&self) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for (name, header, parts) in self.split_groups() {
            let all: u64 = parts.iter().map(|(i, _)| self.endpoints[*i].count).sum();
            for (i, value) in parts {
                let o = &self.endpoints[i];
                let share = if all > 0 {
                    o.count as f64 / all as f64
                } else {
                    0.0
                };
                let ms = |v: f64| crate::format::micros(v * 1000.0);
                let (p50, p95) = if o.count > 0 {
                    (ms(o.latency.p50_ms), ms(o.latency.p95_ms))
                } else {
                    ("-".into(), "-".into())
                };
                rows.push(vec![
                    name.clone(),
                    header.clone(),
                    value,
                    o.count.to_string(),
                    crate::format::percent(share),
                    p50,
                    p95,
                ]);
            }
        }
        rows
    }

    /// The split requests (`split_by`), in the order [`Summary::split_rows`] lists them: each
    /// as `request @ target`, the header, and its parts (series index, value).
    /// An `other` part that nothing went to is left out.
    pub fn split_groups(&self) -> Vec<SplitGroup> {
        let mut groups = split_groups(
            self.endpoints
                .iter()
                .map(|e| (e.request.as_str(), e.target.as_str())),
        );
        for g in &mut groups {
            g.2.retain(|(i, value)| {
                value != crate::scenario::SPLIT_OTHER
                    || self.endpoints.get(*i).is_some_and(|e| e.count > 0)
            });
        }
        groups
    }

    /// One row per series with phases: connections opened per second, then each phase's
    /// percentiles (`-` where none went through it), then the mean time queued in the generator
    /// (corrected latency minus service time: the open model's wait for a free connection).
    pub fn phase_rows(&self) -> Vec<Vec<String>> {
        let ms = |v: f64| crate::format::micros(v * 1000.0);
        self.endpoints
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.phases.as_ref().map(|p| (i, e, p)))
            .map(|(i, e, p)| {
                let at = |s: &Option<PhaseSummary>, f: fn(&PhaseSummary) -> f64| {
                    s.as_ref().map_or("-".to_string(), |s| ms(f(s)))
                };
                let queued = (e.latency.mean_ms - e.service_time.mean_ms).max(0.0);
                vec![
                    self.series_name(i),
                    crate::format::plain((p.new_connections_per_s * 100.0).round() / 100.0),
                    at(&p.connect, |s| s.p95_ms),
                    at(&p.tls, |s| s.p95_ms),
                    at(&p.write, |s| s.p95_ms),
                    at(&p.first_byte, |s| s.p50_ms),
                    at(&p.first_byte, |s| s.p95_ms),
                    at(&p.first_byte, |s| s.p99_ms),
                    at(&p.transfer, |s| s.p95_ms),
                    ms(queued),
                ]
            })
            .collect()
    }

    /// One row per exemplar (`failed` picks the first failures, else the slowest): when it was
    /// due, which request, its latency, its answer, its connection and where its time went.
    pub fn exemplar_rows(&self, failed: bool) -> Vec<Vec<String>> {
        let list = if failed {
            &self.first_failures
        } else {
            &self.slowest
        };
        list.iter().map(|r| exemplar_row(self, r)).collect()
    }
}

/// One exemplar as a table row (see [`EXEMPLAR_COLUMNS`]).
fn exemplar_row(s: &Summary, r: &ExemplarRecord) -> Vec<String> {
    let ms = |v: f64| crate::format::micros(v * 1000.0);
    let phase = |name: &str| r.phases.get(name).copied();
    let setup = match (phase("connect"), phase("tls")) {
        (None, None) => "-".to_string(),
        (c, t) => ms(c.unwrap_or(0.0) + t.unwrap_or(0.0)),
    };
    let answer = match (r.status, &r.error) {
        (Some(code), Some(e)) => format!("{code} ({e})"),
        (Some(code), None) => code.to_string(),
        (None, Some(e)) => e.clone(),
        (None, None) => "-".into(),
    };
    vec![
        format!("{:.3} s", r.at_ms / 1000.0),
        s.series_name(r.series),
        ms(r.latency_ms),
        answer,
        match (r.new_connection, r.phases.is_empty()) {
            (true, _) => "new",
            (false, false) => "reused",
            (false, true) => "-",
        }
        .into(),
        ms(r.queued_ms),
        setup,
        phase("first_byte").map_or("-".into(), ms),
        phase("transfer").map_or("-".into(), ms),
    ]
}
