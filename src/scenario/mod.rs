//! The scenario model: TOML in, a validated plan out, with `file:line:col` errors for anything wrong.

pub mod credentials;
mod error;
pub mod export;
pub mod import;
pub mod journey;
pub mod profile;
mod proxy;
mod raw;
pub mod template;
mod validate;
mod webhooks;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::demo::DemoConfig;
use crate::thresholds::{Op, Threshold};
pub use error::{Problem, ScenarioError};
pub use profile::{Profile, Schedule, Stage};
pub use proxy::{Proxy, ProxyUrl};
pub use template::{Resolved, Template};
pub use webhooks::WebhookSpec;

/// Header names whose values are secrets: reports show them as `[redacted]`, and imported
/// requests read them from the environment.
pub const SENSITIVE_HEADERS: [&str; 7] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "x-auth-token",
];

/// A validated scenario, ready for the engine.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Shown in lists and reports.
    pub name: String,
    /// Free text for people.
    pub description: String,
    /// The file it came from, if any.
    pub path: Option<PathBuf>,
    /// The text as written (`${env.*}` unresolved), so the run can be reproduced without storing secrets.
    pub text: String,
    /// Where load goes.
    pub targets: Vec<Target>,
    /// What is sent.
    pub requests: Vec<Request>,
    /// How much is sent, when.
    pub load: Load,
    /// The first part of the run, excluded from results (rounded up to whole seconds).
    pub warmup: Duration,
    /// The limit on one whole request (connect, send, response, body), counted in the open model
    /// from its intended start, so time queued in the generator counts too.
    pub timeout: Duration,
    /// After the schedule ends (or the last virtual user's last request starts), how long requests
    /// still in flight may finish; any still unanswered then count as `aborted`. Default: `timeout`.
    pub drain: Duration,
    /// Send an idempotent request (GET, HEAD, PUT, DELETE, OPTIONS) again on a new connection when
    /// a reused one closed without answering it; counted as a retry. Off by default.
    pub retry_idempotent: bool,
    /// Rules on the run as a whole.
    pub thresholds: Vec<Threshold>,
    /// Engine threads; `None` uses every available core.
    pub threads: Option<usize>,
    /// What is allowed but probably a mistake (an empty secret): said before a run starts.
    pub warnings: Vec<String>,
    /// The server side to sample each second beside the latency (`[monitor]`).
    pub monitor: Option<MonitorSpec>,
    /// The callback receiver, when requests carry `${webhook.*}` (`[webhooks]`).
    pub webhooks: Option<WebhookSpec>,
    /// Ordered steps run as one iteration; their steps are in `requests` too.
    pub journeys: Vec<journey::Journey>,
}

/// `[monitor]`: Prometheus endpoints and local processes sampled once a second during a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MonitorSpec {
    /// Endpoints to scrape: a URL, or a target (the demo's own `/metrics`, a URL target's).
    pub prometheus: Vec<ScrapeFrom>,
    /// Which samples to keep, by name and labels; empty keeps every one (up to a cap).
    pub metrics: Vec<MetricSelector>,
    /// Local processes by name (their command) or pid.
    pub processes: Vec<ProcessSelector>,
}

/// Where a Prometheus page comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ScrapeFrom {
    /// A full URL of the page.
    Url(String),
    /// Target `i`'s base URL with `/metrics` (demo targets resolved when the run starts).
    Target(usize),
}

/// `name` or `name{label="value",…}`: which series of a page to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSelector {
    /// The metric family's name (a histogram's, or a sample's).
    pub name: String,
    /// Labels that must match exactly.
    pub labels: Vec<(String, String)>,
}

impl MetricSelector {
    /// Parses `name` or `name{label="value",…}`.
    pub fn parse(text: &str) -> Result<MetricSelector, String> {
        let t = text.trim();
        let (name, rest) = match t.find('{') {
            Some(i) => (&t[..i], Some(&t[i..])),
            None => (t, None),
        };
        let valid = |n: &str| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !n.starts_with(|c: char| c.is_ascii_digit())
        };
        if !valid(name) {
            return Err(format!(
                "`{t}`: a metric is a name (letters, digits, _ and :) optionally followed by {{label=\"value\"}}"
            ));
        }
        let mut labels = Vec::new();
        if let Some(r) = rest {
            let inner = r
                .strip_prefix('{')
                .and_then(|r| r.strip_suffix('}'))
                .ok_or_else(|| format!("`{t}`: labels go between {{ and }}"))?;
            for pair in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("`{t}`: `{pair}` is not label=\"value\""))?;
                let v = v
                    .trim()
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .ok_or_else(|| format!("`{t}`: the value of `{}` needs quotes", k.trim()))?;
                if !valid(k.trim()) {
                    return Err(format!("`{t}`: `{}` is not a label name", k.trim()));
                }
                labels.push((k.trim().to_string(), v.to_string()));
            }
        }
        Ok(MetricSelector {
            name: name.to_string(),
            labels,
        })
    }
}

/// A local process to watch.
#[derive(Debug, Clone, PartialEq)]
pub enum ProcessSelector {
    /// Every process whose command name is this (as `ps -C` matches).
    Name(String),
    /// One process.
    Pid(u32),
}

/// A named place load goes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Its name in the scenario (`ours`, `competitor-a`).
    pub name: String,
    /// A URL, or the embedded demo service.
    pub kind: TargetKind,
    /// Which HTTP version to speak.
    pub http: HttpVersion,
    /// An extra CA certificate (PEM) to trust for this target.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (test hosts only).
    pub insecure: bool,
    /// HTTP/2: concurrent requests (streams) per connection, as oha's `-p` and h2load's `-m`.
    pub streams: usize,
    /// A forward proxy its connections go through (a proxy layer measured against direct).
    pub proxy: Option<Proxy>,
}

/// Where a target lives.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetKind {
    /// A server at a base URL.
    Url(BaseUrl),
    /// The embedded demo service, started in-process on a random loopback port.
    Demo(DemoConfig),
}

/// A parsed `http(s)://host:port/base` URL.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseUrl {
    /// Whether TLS is used.
    pub https: bool,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port, defaulted from the scheme.
    pub port: u16,
    /// A path prefix put before every request path (no trailing slash).
    pub base_path: String,
    /// `user:password` written in the URL (`https://user:pass@host`), sent as Basic auth.
    pub userinfo: Option<Secret>,
}

/// A credential that never shows in debug output, logs or reports.
#[derive(Clone, PartialEq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl BaseUrl {
    /// Parses a base URL; the error says what is wrong with it.
    pub fn parse(url: &str) -> Result<BaseUrl, String> {
        // Messages show the URL without the credentials it may carry.
        let shown = credentials::redact_userinfo(url);
        let uri: http::Uri = url.parse().map_err(|e| {
            format!(
                "\"{shown}\" is not a URL ({e}); expected e.g. \"http://127.0.0.1:8080\" or \"demo\""
            )
        })?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(other) => {
                return Err(format!(
                    "unsupported scheme \"{other}\" in \"{shown}\": expected http or https"
                ));
            }
            None => {
                return Err(format!(
                    "\"{shown}\" has no scheme: expected http://… or https://…"
                ));
            }
        };
        let host = uri
            .host()
            .ok_or_else(|| format!("\"{shown}\" has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if uri.query().is_some() {
            return Err(format!(
                "\"{shown}\": a base URL cannot have a query; put it on the request"
            ));
        }
        // `Uri::port` reads an out-of-range port as no port at all (then 80 or 443): look at the text.
        let authority = uri.authority().map_or("", |a| a.as_str());
        let userinfo = authority.rsplit_once('@').map(|(info, _)| {
            Secret(
                percent_encoding::percent_decode_str(info)
                    .decode_utf8_lossy()
                    .into_owned(),
            )
        });
        let host_port = authority.rsplit('@').next().unwrap_or(authority);
        let port_text = match host_port.rfind(']') {
            Some(close) => host_port[close..].split_once(':').map(|(_, p)| p),
            None => host_port.rsplit_once(':').map(|(_, p)| p),
        };
        if let Some(text) = port_text.filter(|t| !t.is_empty()) {
            match text.parse::<u16>() {
                Ok(p) if p > 0 => {}
                _ => {
                    return Err(format!(
                        "\"{shown}\": port {text} is out of range (1-65535)"
                    ));
                }
            }
        }
        Ok(BaseUrl {
            https,
            host,
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
            base_path: uri.path().trim_end_matches('/').to_string(),
            userinfo,
        })
    }

    /// The `Host` header value / authority.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.https { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Which HTTP version a target is spoken to with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/2 when TLS negotiates it (ALPN), else HTTP/1.1.
    Auto,
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 only (prior knowledge on cleartext).
    Http2,
}

/// One kind of request in the mix.
#[derive(Debug, Clone)]
pub struct Request {
    /// Its name in results.
    pub name: String,
    /// Indexes of the targets it is sent to.
    pub targets: Vec<usize>,
    /// HTTP method.
    pub method: http::Method,
    /// Path (after the target's base path), with variables.
    pub path: Resolved,
    /// Query parameters, with variables.
    pub query: Vec<(String, Resolved)>,
    /// Headers, with variables.
    pub headers: Vec<(http::HeaderName, Resolved)>,
    /// Body, with variables.
    pub body: Option<Resolved>,
    /// Share of the mix relative to other requests.
    pub weight: u32,
    /// Conditions a response must meet to count as a success.
    pub checks: Vec<Check>,
    /// Rules on this request's figures (all its targets together).
    pub thresholds: Vec<Threshold>,
    /// The answer is a stream whose events are timed (`stream = "sse"` or `"chunked"`).
    pub stream: Option<Stream>,
    /// Its series split by a response header's value (a cache's HIT and MISS).
    pub split: Option<Split>,
    /// A journey step: its journey, what it extracts, its pause (`None` for the plain mix).
    pub step: Option<journey::StepOf>,
}

/// A request's results split by the value of one response header: a series per listed value
/// and one for anything else (the header absent, another value, no answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The header read.
    pub header: http::HeaderName,
    /// The values that get a series of their own, as written (matched without regard to case,
    /// on the value's first word: `HIT from cdn` is `HIT`).
    pub values: Vec<String>,
}

/// The series of a split that is not one of its values.
pub const SPLIT_OTHER: &str = "other";

impl Split {
    /// The index in `values` of a header's value, or `values.len()` for anything else.
    pub fn which(&self, value: Option<&[u8]>) -> usize {
        let word = value.map(|v| {
            let v = v.trim_ascii();
            let end = v
                .iter()
                .position(|b| b.is_ascii_whitespace() || matches!(b, b',' | b';'))
                .unwrap_or(v.len());
            &v[..end]
        });
        word.and_then(|w| {
            self.values
                .iter()
                .position(|v| v.as_bytes().eq_ignore_ascii_case(w))
        })
        .unwrap_or(self.values.len())
    }

    /// The label a series of the split adds to its target: `x-cache: HIT`.
    pub fn label(&self, i: usize) -> String {
        let value = self.values.get(i).map_or(SPLIT_OTHER, String::as_str);
        format!("{}: {value}", self.header)
    }
}

/// How a streamed answer is cut into events, each timed on arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Server-sent events (`text/event-stream`): an event is a block of lines ending in a blank
    /// line with a `data` field; OpenAI's closing `data: [DONE]` is not an event.
    Sse,
    /// Each HTTP/1.1 chunk (an HTTP/2 data frame) of the body is an event.
    Chunked,
}

impl Request {
    /// Whether checks need the response body.
    pub fn needs_body(&self) -> bool {
        self.checks
            .iter()
            .any(|c| matches!(c, Check::BodyContains(_) | Check::Json { .. }))
            || self.step.as_ref().is_some_and(|s| {
                s.extract
                    .iter()
                    .any(|e| matches!(e.from, journey::From::Json(_) | journey::From::Regex(_)))
            })
    }

    /// Whether a status check decides which codes are fine (else 4xx/5xx are errors).
    pub fn has_status_check(&self) -> bool {
        self.checks.iter().any(|c| matches!(c, Check::Status(_)))
    }
}

/// A condition on a response.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// The status is one of these.
    Status(Vec<u16>),
    /// The body contains this text.
    BodyContains(String),
    /// The JSON body has this field (dot path), optionally equal to a value.
    Json {
        /// Path segments; numeric segments index arrays.
        path: Vec<String>,
        /// The value the field must equal, if given.
        equals: Option<serde_json::Value>,
    },
    /// The request's latency compares to a limit (µs).
    Latency {
        /// Comparison.
        op: Op,
        /// Limit in µs.
        limit_us: f64,
    },
}

/// How load is generated.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    /// Requests arrive on a schedule (req/s), whatever the server does: latency counts from the intended start.
    Open {
        /// Arrival rate over time.
        rate: Profile,
        /// The most requests in flight at once (and so connections).
        max_in_flight: usize,
        /// How arrivals are spaced.
        arrivals: Arrivals,
    },
    /// Virtual users each send a request, wait for it, think, and repeat.
    Closed {
        /// Virtual users over time.
        vus: Profile,
        /// Pause between a VU's requests: uniform in `[min, max]`.
        think: Option<(Duration, Duration)>,
    },
}

/// How the open model spaces arrivals at a given rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Arrivals {
    /// Evenly spaced: the least queueing a rate can cause (wrk2, k6's constant-arrival-rate).
    #[default]
    Even,
    /// A Poisson process: independent users arriving at random, with the bursts that brings.
    Poisson,
}

impl Load {
    /// The profile, whatever the model.
    pub fn profile(&self) -> &Profile {
        match self {
            Load::Open { rate, .. } => rate,
            Load::Closed { vus, .. } => vus,
        }
    }

    /// Which model this load follows.
    pub fn model(&self) -> Model {
        match self {
            Load::Open { .. } => Model::Open,
            Load::Closed { .. } => Model::Closed,
        }
    }

    /// `open` or `closed`.
    pub fn model_name(&self) -> &'static str {
        self.model().as_str()
    }
}

/// The load model as runs store and documents print it, so no reader compares spellings by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// Arrivals at a scheduled rate, whatever the responses do.
    Open,
    /// Virtual users, each waiting for its answer before the next request.
    Closed,
}

impl Model {
    /// `open` or `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Model::Open => "open",
            Model::Closed => "closed",
        }
    }
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Scenario {
    /// The whole run length.
    pub fn duration(&self) -> Duration {
        self.load.profile().total()
    }

    /// What one line about a valid scenario says of its mix (`validate`, the editor): plain
    /// requests and journeys apart, since a journey's steps are requests too.
    pub fn mix(&self) -> String {
        let steps: usize = self.journeys.iter().map(|j| j.steps.len()).sum();
        let plain = self.requests.len().saturating_sub(steps);
        let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
        let mut parts = Vec::new();
        if plain > 0 || self.journeys.is_empty() {
            parts.push(plural(plain, "request"));
        }
        if !self.journeys.is_empty() {
            parts.push(format!(
                "{} of {}",
                plural(self.journeys.len(), "journey"),
                plural(steps, "step")
            ));
        }
        parts.push(plural(self.targets.len(), "target"));
        parts.join(", ")
    }

    /// Reads and validates a scenario file, resolving `${env.*}` from the process environment.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        Scenario::load_with(path, &|name| std::env::var(name).ok())
    }

    /// [`Scenario::load`] with environment variables from `env` (an export keeps them as names).
    pub fn load_with(
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Scenario, ScenarioError> {
        let fail = |line: usize, col: usize, message: String, source_line: String| ScenarioError {
            file: path.display().to_string(),
            problems: vec![Problem {
                line,
                col,
                message,
                source_line,
            }],
        };
        let meta = std::fs::metadata(path).map_err(|e| {
            fail(
                0,
                0,
                format!("cannot read the scenario file: {e}"),
                String::new(),
            )
        })?;
        if !meta.is_file() || meta.len() > MAX_SCENARIO_FILE {
            return Err(fail(
                0,
                0,
                format!(
                    "not a scenario file: {}",
                    if meta.is_file() {
                        "over 16 MB"
                    } else {
                        "not a regular file"
                    }
                ),
                String::new(),
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| {
            fail(
                0,
                0,
                format!("cannot read the scenario file: {e}"),
                String::new(),
            )
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            // Where the first byte that is not UTF-8 is: its line, column and byte offset.
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            let before = String::from_utf8_lossy(&good[line_start..]);
            fail(
                line,
                before.chars().count() + 1,
                format!(
                    "the file is not UTF-8 text: byte {} (0x{:02x}) is not valid UTF-8; save it as UTF-8",
                    good.len(),
                    e.as_bytes().get(good.len()).copied().unwrap_or(0)
                ),
                before.into_owned(),
            )
        })?;
        Scenario::parse(&text, Some(path), env)
    }

    /// Validates scenario text; `path` names it in errors and anchors relative file paths.
    pub fn parse(
        text: &str,
        path: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Scenario, ScenarioError> {
        validate::validate(text, path, env)
    }
}

/// Default request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on requests in flight in the open model.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1000;
/// The largest scenario file read.
pub const MAX_SCENARIO_FILE: u64 = 16 << 20;
/// The largest `[data]` file read (rows are held in memory for the run).
pub const MAX_DATA_FILE: u64 = 256 << 20;
/// The highest rate (requests a second) or number of virtual users a scenario may ask for: ten
/// times what one 2-core machine sends, so a typo like 1e12 is an error, not a run that never ends.
pub const MAX_RATE: f64 = 10_000_000.0;
