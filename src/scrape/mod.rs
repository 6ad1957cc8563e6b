//! The server side of a run: Prometheus pages and local processes sampled once a second.
//!
//! A thread of its own reads every source at each whole second of the run (a slow or failing
//! source is a gap and a counted failure, never a stop), turns counters into rates and
//! histograms into quantiles, and hands each second's readings to the run's consumer.

pub mod process;
pub mod prom;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use crate::metrics::MonitorSummary;
use crate::scenario::{MetricSelector, MonitorSpec, ProcessSelector, ScrapeFrom};

/// One second's readings.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    /// Seconds since the run started.
    pub at_s: f64,
    /// Series name and value (rates per second, quantiles in the page's unit).
    pub values: Vec<(String, f64)>,
    /// Sources that failed this second, with why.
    pub failed: Vec<(String, String)>,
}

/// At most this many series from one page when no metric is selected.
const MAX_UNSELECTED: usize = 20;
/// How long one scrape may take: within the second it belongs to.
const SCRAPE_TIMEOUT: Duration = Duration::from_millis(800);
/// The most a metrics page may hold.
const MAX_PAGE: usize = 8 << 20;

/// A source of readings.
struct Source {
    /// How its series are prefixed when there are several (`demo`, `127.0.0.1:9100`).
    label: String,
    url: String,
}

/// The sampling thread of a run; dropping it stops the thread.
pub struct Sampler {
    rx: Receiver<Reading>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Sampler {
    /// Starts sampling `spec`'s sources; `targets` are the run's (name, base URL) as used.
    pub fn start(spec: &MonitorSpec, targets: &[(String, String)]) -> Sampler {
        let mut sources: Vec<Source> = spec
            .prometheus
            .iter()
            .filter_map(|p| match p {
                ScrapeFrom::Url(u) => Some(Source {
                    label: authority(u),
                    url: u.clone(),
                }),
                ScrapeFrom::Target(i) => targets.get(*i).map(|(name, base)| Source {
                    label: name.clone(),
                    url: format!("{}/metrics", base.trim_end_matches('/')),
                }),
            })
            .collect();
        sources.dedup_by(|a, b| a.url == b.url);
        let (tx, rx) = std::sync::mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let selectors = spec.metrics.clone();
        let processes = spec.processes.clone();
        let thread = std::thread::Builder::new()
            .name("loadbench-monitor".into())
            .spawn(move || sample(sources, selectors, processes, tx, flag))
            .ok();
        Sampler { rx, stop, thread }
    }

    /// The readings taken since the last call.
    pub fn take(&self) -> Vec<Reading> {
        self.rx.try_iter().collect()
    }

    /// Stops sampling and returns what was read since the last [`Sampler::take`].
    pub fn finish(mut self) -> Vec<Reading> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.take()
    }
}

/// `host:port` of a URL, credentials left out: it names the source in stored series.
fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    host.rsplit_once('@').map_or(host, |(_, h)| h).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_source_is_named_without_its_credentials() {
        assert_eq!(
            super::authority("http://u:secret@10.0.0.1:9100/metrics"),
            "10.0.0.1:9100"
        );
        assert_eq!(super::authority("https://h/metrics?x=1"), "h");
    }
}

/// The thread: one round at each whole second from the start until told to stop.
fn sample(
    sources: Vec<Source>,
    selectors: Vec<MetricSelector>,
    processes: Vec<ProcessSelector>,
    tx: Sender<Reading>,
    stop: Arc<AtomicBool>,
) {
    // reqwest is built without a TLS provider of its own: it uses ring, as the engine does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::builder()
        .timeout(SCRAPE_TIMEOUT)
        .user_agent(concat!("loadbench/", env!("CARGO_PKG_VERSION"), " monitor"))
        .build()
        .ok();
    let started = Instant::now();
    let mut state = Rates::default();
    let prefix = sources.len() > 1;
    for second in 1u64.. {
        let due = started + Duration::from_secs(second);
        // Sleep in short steps so a stop is seen quickly.
        while Instant::now() < due {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep((due - Instant::now()).min(Duration::from_millis(50)));
        }
        let now = Instant::now();
        let mut reading = Reading {
            at_s: now.duration_since(started).as_secs_f64(),
            ..Reading::default()
        };
        for s in &sources {
            let page = match &client {
                Some(c) => fetch(c, &s.url),
                None => Err("no HTTP client (TLS provider missing)".into()),
            };
            match page {
                Ok(page) => {
                    let pre = if prefix {
                        format!("{} ", s.label)
                    } else {
                        String::new()
                    };
                    state.read(&page, &selectors, &pre, now, &mut reading.values);
                }
                Err(why) => reading.failed.push((s.label.clone(), why)),
            }
        }
        for p in &processes {
            let (label, pids) = match p {
                ProcessSelector::Name(n) => (n.clone(), process::pids(p)),
                ProcessSelector::Pid(pid) => (format!("pid {pid}"), process::pids(p)),
            };
            if pids.is_empty() {
                reading.failed.push((label, "no such process".into()));
                continue;
            }
            let u = process::usage(&pids);
            if let Some(cpu) = state.rate(&format!("process {label} cpu"), u.cpu_s, now) {
                reading
                    .values
                    .push((format!("process {label} cpu %"), cpu * 100.0));
            }
            reading
                .values
                .push((format!("process {label} rss MB"), u.rss / 1e6));
            reading
                .values
                .push((format!("process {label} threads"), u.threads));
            reading
                .values
                .push((format!("process {label} open files"), u.open_files));
        }
        if tx.send(reading).is_err() {
            return;
        }
    }
}

fn fetch(client: &reqwest::blocking::Client, url: &str) -> Result<prom::Page, String> {
    let resp = client.get(url).send().map_err(|e| {
        if e.is_timeout() {
            format!("no answer within {} ms", SCRAPE_TIMEOUT.as_millis())
        } else if e.is_connect() {
            "cannot connect".to_string()
        } else {
            // Without the URL, which may carry credentials.
            e.without_url().to_string()
        }
    })?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status().as_u16()));
    }
    let mut body = Vec::new();
    use std::io::Read;
    resp.take(MAX_PAGE as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    if body.len() > MAX_PAGE {
        return Err(format!("a page over {} MiB", MAX_PAGE >> 20));
    }
    prom::parse(&String::from_utf8_lossy(&body))
}

/// The previous value of every counter, so the next read gives a rate.
#[derive(Default)]
struct Rates {
    last: HashMap<String, (f64, Instant)>,
    buckets: HashMap<String, Vec<(f64, f64)>>,
}

impl Rates {
    /// The per-second rate of a counter since its last read (none on the first, or after a reset).
    fn rate(&mut self, key: &str, value: f64, now: Instant) -> Option<f64> {
        let before = self.last.insert(key.to_string(), (value, now))?;
        let dt = now.duration_since(before.1).as_secs_f64();
        (dt > 0.0 && value >= before.0).then(|| (value - before.0) / dt)
    }

    /// Adds the page's selected series: gauges as they are, counters as rates, histograms as
    /// p50/p95/p99 of what was observed since the last read.
    fn read(
        &mut self,
        page: &prom::Page,
        selectors: &[MetricSelector],
        prefix: &str,
        now: Instant,
        out: &mut Vec<(String, f64)>,
    ) {
        let mut histograms: HashMap<String, Vec<(f64, f64)>> = HashMap::new();
        let mut taken = 0;
        for s in &page.samples {
            let kind = page.kind_of(&s.name);
            let family = match kind {
                prom::Kind::Histogram => s
                    .name
                    .strip_suffix("_bucket")
                    .unwrap_or(&s.name)
                    .to_string(),
                _ => s.name.clone(),
            };
            let wanted = if selectors.is_empty() {
                kind != prom::Kind::Histogram && taken < MAX_UNSELECTED
            } else {
                selectors.iter().any(|sel| {
                    (sel.name == s.name || sel.name == family)
                        && sel
                            .labels
                            .iter()
                            .all(|(k, v)| s.labels.iter().any(|(k2, v2)| k == k2 && v == v2))
                })
            };
            if !wanted || !s.value.is_finite() && kind != prom::Kind::Histogram {
                continue;
            }
            let shown = |labels: &[(String, String)]| {
                let l: Vec<String> = labels
                    .iter()
                    .filter(|(k, _)| k != "le")
                    .map(|(k, v)| format!("{k}=\"{v}\""))
                    .collect();
                if l.is_empty() {
                    String::new()
                } else {
                    format!("{{{}}}", l.join(","))
                }
            };
            match kind {
                prom::Kind::Histogram => {
                    if let Some(le) = s.name.ends_with("_bucket").then(|| {
                        s.labels.iter().find(|(k, _)| k == "le").and_then(|(_, v)| {
                            match v.as_str() {
                                "+Inf" => Some(f64::INFINITY),
                                v => v.parse().ok(),
                            }
                        })
                    }) && let Some(le) = le
                    {
                        let key = format!("{prefix}{family}{}", shown(&s.labels));
                        histograms.entry(key).or_default().push((le, s.value));
                    }
                }
                prom::Kind::Counter => {
                    let key = format!("{prefix}{}{}", s.name, shown(&s.labels));
                    taken += 1;
                    if let Some(r) = self.rate(&key, s.value, now) {
                        out.push((format!("{key} /s"), r));
                    }
                }
                _ => {
                    taken += 1;
                    out.push((format!("{prefix}{}{}", s.name, shown(&s.labels)), s.value));
                }
            }
        }
        for (key, mut buckets) in histograms {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            // Observed since the last read: this read's buckets less the last's.
            let previous = self.buckets.insert(key.clone(), buckets.clone());
            let Some(previous) = previous.filter(|p| p.len() == buckets.len()) else {
                continue;
            };
            let delta: Vec<(f64, f64)> = buckets
                .iter()
                .zip(&previous)
                .map(|((le, n), (_, m))| (*le, (n - m).max(0.0)))
                .collect();
            for (q, name) in [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")] {
                if let Some(v) = prom::quantile(&delta, q) {
                    out.push((format!("{key} {name}"), v));
                }
            }
        }
    }
}

/// Running figures per series, for the run's summary.
#[derive(Debug, Default)]
pub struct Totals {
    series: Vec<(String, f64, f64, f64, u64, f64)>,
    index: HashMap<String, usize>,
    failures: std::collections::BTreeMap<String, u64>,
    readings: u64,
}

/// The most series a run's monitor keeps: a page that changes its labels every second must
/// not grow a run without bound.
const MAX_SERIES: usize = 200;

impl Totals {
    /// Whether no reading was added.
    pub fn is_empty(&self) -> bool {
        self.readings == 0
    }

    /// Adds one second's readings.
    pub fn add(&mut self, r: &Reading) {
        self.readings += 1;
        for (name, v) in &r.values {
            let i = match self.index.get(name) {
                Some(&i) => i,
                None if self.series.len() < MAX_SERIES => {
                    self.series
                        .push((name.clone(), f64::INFINITY, f64::NEG_INFINITY, 0.0, 0, 0.0));
                    self.index.insert(name.clone(), self.series.len() - 1);
                    self.series.len() - 1
                }
                None => continue,
            };
            let s = &mut self.series[i];
            s.1 = s.1.min(*v);
            s.2 = s.2.max(*v);
            s.3 += v;
            s.4 += 1;
            s.5 = *v;
        }
        for (source, _) in &r.failed {
            *self.failures.entry(source.clone()).or_insert(0) += 1;
        }
    }

    /// Whether a series is one the run keeps.
    pub fn keeps(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The summary of everything added.
    pub fn summary(&self) -> MonitorSummary {
        MonitorSummary {
            readings: self.readings,
            series: self
                .series
                .iter()
                .map(
                    |(name, min, max, sum, n, last)| crate::metrics::MonitorSeries {
                        name: name.clone(),
                        samples: *n,
                        min: *min,
                        mean: sum / (*n).max(1) as f64,
                        max: *max,
                        last: *last,
                    },
                )
                .collect(),
            failures: self.failures.clone(),
        }
    }
}
