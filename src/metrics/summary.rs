//! The run's summary as `run --json` prints it: figures per series and thresholds judged on them.

use super::*;

/// Judges thresholds parsed once on per-series figures measured over `seconds`: `total` ones on
/// every series together, `request:NAME` ones on that request across its targets, `journey:NAME`
/// ones on that journey's whole iterations. The run's summary, the live screen's badges and the
/// capacity steps all judge through here.
pub fn judge(
    thresholds: &[crate::thresholds::Scoped],
    keys: &[Key],
    stats: &[Stats],
    journeys: (&[String], &[Stats]),
    seconds: f64,
) -> Vec<crate::thresholds::ThresholdResult> {
    thresholds
        .iter()
        .map(|t| {
            let mut merged = Stats::default();
            if let Some(name) = t.journey() {
                for (n, s) in journeys.0.iter().zip(journeys.1) {
                    if n == name {
                        merged.merge(s);
                    }
                }
            } else {
                for (k, s) in keys.iter().zip(stats) {
                    if t.request().is_none_or(|r| r == k.request) {
                        merged.merge(s);
                    }
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
    /// Where the time went (connect, TLS, write, first byte, transfer) and connections opened;
    /// `None` for imported runs and runs stored before phases were measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<PhasesSummary>,
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
            phases: PhasesSummary::of(&stats.phases, seconds),
        }
    }
}

/// The target column of a journey's row: a journey has steps, each with its own target.
pub const JOURNEY_TARGET: &str = "(journey)";

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
    pub model: crate::scenario::Model,
    /// How the run ended.
    pub status: RunStatus,
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
    /// One entry per journey: its whole iterations, from the first step's intended start to the
    /// last step's end (think time included; service time is the steps' own, summed). `count`
    /// is iterations; `errors` are iterations a step or an extract rule ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub journeys: Vec<EndpointSummary>,
    /// Threshold verdicts, in scenario order.
    pub thresholds: Vec<crate::thresholds::ThresholdResult>,
    /// Whether every threshold held (true when there are none).
    pub thresholds_passed: bool,
    /// How busy and how steady the machine was during the run (`None` for merged, imported or
    /// interrupted runs and runs stored before it was measured).
    #[serde(default)]
    pub environment: Option<crate::monitor::Environment>,
    /// Why the run was ended early (a target nothing connected to, an abort threshold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halted: Option<String>,
    /// The server side sampled beside the run (`[monitor]`): each series' figures and failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<MonitorSummary>,
    /// Webhook deliveries, for a run whose requests carried `${webhook.id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<WebhookSummary>,
    /// The run's slowest requests (up to 3 per series, at most 10), slowest first, with what
    /// explains them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slowest: Vec<ExemplarRecord>,
    /// The run's first failing requests (up to 3 per series, at most 10), earliest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first_failures: Vec<ExemplarRecord>,
}

/// What a run's `[monitor]` read, series by series, so a summary says what the server did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MonitorSummary {
    /// Seconds sampled.
    pub readings: u64,
    /// Each series (counters as rates per second, histograms as quantiles).
    pub series: Vec<MonitorSeries>,
    /// Failed reads by source: gaps in the series, never a stop.
    pub failures: BTreeMap<String, u64>,
}

impl MonitorSummary {
    /// One row per series (name, min, mean, max, last, seconds), as the terminal and reports
    /// show them.
    pub fn rows(&self) -> Vec<Vec<String>> {
        let figure = crate::format::reading;
        self.series
            .iter()
            .map(|s| {
                vec![
                    s.name.clone(),
                    figure(s.min),
                    figure(s.mean),
                    figure(s.max),
                    figure(s.last),
                    s.samples.to_string(),
                ]
            })
            .collect()
    }

    /// One line per source that could not always be read.
    pub fn gaps(&self) -> Vec<String> {
        self.failures
            .iter()
            .map(|(source, n)| {
                format!(
                    "{source} could not be read {n} of {} seconds (gaps in its series)",
                    self.readings
                )
            })
            .collect()
    }
}

/// One monitored series over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorSeries {
    /// Its name (`demo_queue_depth`, `process nginx cpu %`, `rate(…) /s`).
    pub name: String,
    /// Seconds it was read.
    pub samples: u64,
    /// Lowest.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Highest.
    pub max: f64,
    /// At the end.
    pub last: f64,
}

/// What a summary needs to know about the run besides its ticks; stored with the run so a summary
/// can be rebuilt later (e.g. for an interrupted run) without the scenario file or its secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Scenario name.
    pub scenario: String,
    /// `open` or `closed`.
    pub model: crate::scenario::Model,
    /// Closed model: the most virtual users.
    pub max_vus: Option<u64>,
    /// The series, in tick order.
    pub keys: Vec<Key>,
    /// The thresholds to judge, with their scope.
    pub thresholds: Vec<crate::thresholds::ThresholdSpec>,
    /// Which shard of a split run this is (`run --shards`), so a merge can check it has them all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// Targets reached through a forward proxy, with the proxy's URL (credentials left out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxies: Vec<(String, String)>,
    /// The journeys, in the order of each tick's journey figures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub journeys: Vec<String>,
}

/// One shard of a run split over several processes or machines (`run --shards N`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// This shard's index, 0-based.
    pub index: usize,
    /// How many shards the run was split into.
    pub count: usize,
    /// The wall-clock start every shard waited for (`--start-at`, RFC 3339), if one was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<String>,
    /// How late this shard started after `start_at`, ms (0 when it waited for it).
    #[serde(default)]
    pub late_ms: f64,
}

impl ShardInfo {
    /// How many of the whole run's items `0..n` (slots, users) are this shard's: those whose
    /// number is its index modulo the count.
    pub fn share_of(&self, n: u64) -> u64 {
        let (i, c) = (self.index as u64, self.count.max(1) as u64);
        n.saturating_sub(i).div_ceil(c)
    }

    /// Checks one read from a file: an index below a sane count, times finite.
    pub fn check(&self) -> Result<(), String> {
        if self.count == 0 || self.count > 100_000 || self.index >= self.count {
            return Err(format!(
                "shard {} of {} is not a shard index below a count",
                self.index, self.count
            ));
        }
        if !(self.late_ms.is_finite() && self.late_ms >= 0.0)
            || self.start_at.as_ref().is_some_and(|s| s.len() > 64)
        {
            return Err("shard start figures out of range".into());
        }
        Ok(())
    }
}

impl RunInfo {
    /// A table's rows: the series, then a row per journey (its whole iterations), in the order
    /// [`Accumulator::rows`] gives their figures.
    pub fn rows(&self) -> Vec<Key> {
        let journeys = self.journeys.iter().map(|j| Key::journey(j));
        self.keys.iter().cloned().chain(journeys).collect()
    }

    /// What the open model's schedule counted: requests, journey iterations (a journeys-only
    /// mix), or arrivals of either (a mix of both), so a chart's target is not read as requests.
    pub fn arrivals(&self) -> &'static str {
        let step = |k: &Key| {
            self.journeys.iter().any(|j| {
                k.request
                    .strip_prefix(j.as_str())
                    .is_some_and(|r| r.starts_with('/'))
            })
        };
        match (self.journeys.is_empty(), self.keys.iter().all(step)) {
            (true, _) => "requests",
            (false, true) => "iterations",
            (false, false) => "arrivals",
        }
    }

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
        for j in &scenario.journeys {
            for t in &j.thresholds {
                thresholds.push(crate::thresholds::ThresholdSpec {
                    scope: format!("journey:{}", j.name),
                    expression: t.text.clone(),
                });
            }
        }
        RunInfo {
            shard: None,
            scenario: scenario.name.clone(),
            model: scenario.load.model(),
            max_vus: match &scenario.load {
                crate::scenario::Load::Closed { vus, .. } => Some(vus.max_level().round() as u64),
                crate::scenario::Load::Open { .. } => None,
            },
            keys: Key::all(scenario),
            thresholds,
            proxies: Vec::new(),
            journeys: scenario.journeys.iter().map(|j| j.name.clone()).collect(),
        }
    }
}

impl Summary {
    /// Puts the run's webhook deliveries in and judges the thresholds on them (which had no
    /// data until the deliveries were in).
    pub fn judge_webhooks(
        &mut self,
        info: &RunInfo,
        webhooks: WebhookSummary,
        latency_us: &dyn Fn(crate::thresholds::Stat) -> Option<f64>,
    ) {
        use crate::thresholds::Metric;
        let scoped = crate::thresholds::Scoped::parse_all(&info.thresholds);
        let share = |n: u64| (webhooks.triggered > 0).then(|| n as f64 / webhooks.triggered as f64);
        for (s, r) in scoped.iter().zip(self.thresholds.iter_mut()) {
            let Ok(t) = &s.threshold else { continue };
            let actual = match t.metric {
                Metric::WebhookLost => share(webhooks.lost),
                Metric::WebhookDuplicates => share(webhooks.duplicates),
                Metric::WebhookLatency(stat) => latency_us(stat),
                _ => continue,
            };
            *r = t.verdict(&s.scope, actual);
        }
        self.thresholds_passed = self.thresholds.iter().all(|t| t.passed);
        self.webhooks = Some(webhooks);
    }

    /// The run list's verdict: none without thresholds, so a run of nothing but errors is not a "pass".
    pub fn verdict(&self) -> Option<bool> {
        (!self.thresholds.is_empty()).then_some(self.thresholds_passed)
    }

    /// Summarises a run's accumulated ticks and judges its thresholds on them.
    pub fn build(
        info: &RunInfo,
        acc: &Accumulator,
        status: RunStatus,
        started_at: std::time::SystemTime,
    ) -> Summary {
        let endpoints: Vec<EndpointSummary> = info
            .keys
            .iter()
            .zip(&acc.stats)
            .map(|(k, s)| EndpointSummary::from_stats(&k.request, &k.target, s, acc.seconds))
            .collect();
        let total = EndpointSummary::from_stats("*", "*", &acc.total(), acc.seconds);
        let journeys = info
            .journeys
            .iter()
            .zip(&acc.journeys)
            .map(|(name, s)| EndpointSummary::from_stats(name, JOURNEY_TARGET, s, acc.seconds))
            .collect();
        let scoped = crate::thresholds::Scoped::parse_all(&info.thresholds);
        let thresholds = judge(
            &scoped,
            &info.keys,
            &acc.stats,
            (&info.journeys, &acc.journeys),
            acc.seconds,
        );
        let open = info.model == crate::scenario::Model::Open;
        Summary {
            schema: SUMMARY_SCHEMA.to_string(),
            scenario: info.scenario.clone(),
            model: info.model,
            status,
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
            journeys,
            environment: None,
            halted: None,
            monitor: None,
            webhooks: None,
            slowest: run_exemplars(&acc.stats, false),
            first_failures: run_exemplars(&acc.stats, true),
        }
    }
}

/// The most exemplars a summary lists of each kind.
const SUMMARY_EXEMPLARS: usize = 10;

/// The run's slowest (or first failing) requests over every series, in order.
fn run_exemplars(stats: &[Stats], failed: bool) -> Vec<ExemplarRecord> {
    let mut all: Vec<ExemplarRecord> = stats
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            let list = if failed {
                &s.exemplars.failures
            } else {
                &s.exemplars.slowest
            };
            list.iter()
                .map(move |e| ExemplarRecord::of(e, e.tick(), i, failed))
        })
        .collect();
    if failed {
        all.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
    } else {
        all.sort_by(|a, b| b.latency_ms.total_cmp(&a.latency_ms));
    }
    all.truncate(SUMMARY_EXEMPLARS);
    all
}

/// Where a run stands, as stored, listed and printed: one spelling everywhere, compared as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Still being measured (or its process died and nobody has opened the store since).
    Running,
    /// It ran its full schedule.
    Completed,
    /// Stopped before the end (Ctrl-C, Stop, an abort threshold); what was measured is kept.
    Stopped,
    /// Its process ended without finishing it (a crash, kill -9); its ticks up to then are kept.
    Interrupted,
    /// It could not go on (a worker died, the target was unreachable); what was measured is kept.
    Failed,
}

impl RunStatus {
    /// Every status, in the order a list shows them.
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Completed,
        RunStatus::Stopped,
        RunStatus::Interrupted,
        RunStatus::Failed,
        RunStatus::Running,
    ];

    /// The stable name used in output, JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Stopped => "stopped",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }

    /// The status named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<RunStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
