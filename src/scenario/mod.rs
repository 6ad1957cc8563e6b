//! The scenario model: TOML in, a validated plan out, with `file:line:col` errors for anything wrong.

pub mod credentials;
pub mod import;
pub mod profile;
pub mod template;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use crate::demo::DemoConfig;
use crate::format::parse_duration;
use crate::thresholds::{Op, Threshold};
pub use profile::{Profile, Schedule, Stage};
pub use template::{Resolved, Template};

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
}

impl BaseUrl {
    /// Parses a base URL; the error says what is wrong with it.
    pub fn parse(url: &str) -> Result<BaseUrl, String> {
        let uri: http::Uri = url.parse().map_err(|e| {
            format!(
                "\"{url}\" is not a URL ({e}); expected e.g. \"http://127.0.0.1:8080\" or \"demo\""
            )
        })?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(other) => {
                return Err(format!(
                    "unsupported scheme \"{other}\" in \"{url}\": expected http or https"
                ));
            }
            None => {
                return Err(format!(
                    "\"{url}\" has no scheme: expected http://… or https://…"
                ));
            }
        };
        let host = uri
            .host()
            .ok_or_else(|| format!("\"{url}\" has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if uri.query().is_some() {
            return Err(format!(
                "\"{url}\": a base URL cannot have a query; put it on the request"
            ));
        }
        // `Uri::port` reads an out-of-range port as no port at all (then 80 or 443): look at the text.
        let authority = uri.authority().map_or("", |a| a.as_str());
        let host_port = authority.rsplit('@').next().unwrap_or(authority);
        let port_text = match host_port.rfind(']') {
            Some(close) => host_port[close..].split_once(':').map(|(_, p)| p),
            None => host_port.rsplit_once(':').map(|(_, p)| p),
        };
        if let Some(text) = port_text.filter(|t| !t.is_empty()) {
            match text.parse::<u16>() {
                Ok(p) if p > 0 => {}
                _ => {
                    return Err(format!("\"{url}\": port {text} is out of range (1-65535)"));
                }
            }
        }
        Ok(BaseUrl {
            https,
            host,
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
            base_path: uri.path().trim_end_matches('/').to_string(),
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
}

impl Request {
    /// Whether checks need the response body.
    pub fn needs_body(&self) -> bool {
        self.checks
            .iter()
            .any(|c| matches!(c, Check::BodyContains(_) | Check::Json { .. }))
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

    /// `open` or `closed`.
    pub fn model_name(&self) -> &'static str {
        match self {
            Load::Open { .. } => "open",
            Load::Closed { .. } => "closed",
        }
    }
}

impl Scenario {
    /// The whole run length.
    pub fn duration(&self) -> Duration {
        self.load.profile().total()
    }

    /// Series measured by the run: (request, target) pairs, request-major.
    pub fn keys(&self) -> Vec<crate::metrics::Key> {
        self.requests
            .iter()
            .flat_map(|r| {
                r.targets.iter().map(move |&t| crate::metrics::Key {
                    request: r.name.clone(),
                    target: self.targets[t].name.clone(),
                })
            })
            .collect()
    }

    /// Reads and validates a scenario file, resolving `${env.*}` from the process environment.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
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
        Scenario::parse(&text, Some(path), &|name| std::env::var(name).ok())
    }

    /// Validates scenario text; `path` names it in errors and anchors relative file paths.
    pub fn parse(
        text: &str,
        path: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Scenario, ScenarioError> {
        let file = path.map_or_else(|| "<scenario>".to_string(), |p| p.display().to_string());
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            ScenarioError::at(&file, text, span, e.message().to_string())
        })?;
        let base_dir = path
            .and_then(|p| p.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut v = Validator {
            text,
            file: &file,
            problems: Vec::new(),
            env,
            base_dir,
            data: None,
        };
        let scenario = v.scenario(raw, path);
        let problems = std::mem::take(&mut v.problems);
        match scenario {
            Some(s) if problems.is_empty() => Ok(s),
            _ => Err(ScenarioError { file, problems }),
        }
    }
}

/// Everything wrong with a scenario, each with its place in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// The file, as given.
    pub file: String,
    /// The problems found, in file order.
    pub problems: Vec<Problem>,
}

/// One problem at one place.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// 1-based line (0 when the file could not be read).
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong and what was expected.
    pub message: String,
    /// The text of that line, for a caret display.
    pub source_line: String,
}

impl ScenarioError {
    fn at(file: &str, text: &str, span: std::ops::Range<usize>, message: String) -> ScenarioError {
        ScenarioError {
            file: file.to_string(),
            problems: vec![problem_at(text, span, message)],
        }
    }
}

fn problem_at(text: &str, span: std::ops::Range<usize>, message: String) -> Problem {
    let start = span.start.min(text.len());
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let col = text[line_start..start].chars().count() + 1;
    let source_line = text[line_start..]
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    Problem {
        line,
        col,
        message,
        source_line,
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if p.line == 0 {
                write!(f, "{}: {}", self.file, p.message)?;
                continue;
            }
            writeln!(f, "{}:{}:{}: {}", self.file, p.line, p.col, p.message)?;
            let gutter = p.line.to_string().len();
            writeln!(f, "{:gutter$} |", "")?;
            writeln!(f, "{} | {}", p.line, p.source_line)?;
            write!(f, "{:gutter$} | {:>col$}", "", "^", col = p.col)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

// ---------------------------------------------------------------------------------------------
// The file as written (serde), before validation.

/// A duration written as text ("10s").
#[derive(Debug, Clone, Copy)]
struct Dur(Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"10s\", \"250ms\" or \"1m30s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write \"{v}s\" or \"{v}ms\", not {v}"
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write \"{v}s\", not {v}"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string, number or boolean, kept as text (query values).
#[derive(Debug, Clone)]
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    duration: Option<Spanned<Dur>>,
    warmup: Option<Spanned<Dur>>,
    timeout: Option<Spanned<Dur>>,
    drain: Option<Spanned<Dur>>,
    #[serde(default)]
    retry_idempotent: bool,
    targets: Spanned<BTreeMap<Spanned<String>, Spanned<RawTarget>>>,
    requests: Spanned<Vec<Spanned<RawRequest>>>,
    load: Spanned<RawLoad>,
    #[serde(default)]
    thresholds: Vec<Spanned<String>>,
    #[serde(default)]
    engine: RawEngine,
    data: Option<Spanned<RawData>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    file: Spanned<String>,
    order: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEngine {
    threads: Option<Spanned<u32>>,
}

#[derive(Default)]
struct RawTarget {
    url: Option<Spanned<String>>,
    demo: Option<RawDemo>,
    ca_file: Option<Spanned<String>>,
    insecure: bool,
    http: Option<Spanned<String>>,
    streams: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargetTable {
    url: Option<Spanned<String>>,
    demo: Option<RawDemo>,
    ca_file: Option<Spanned<String>>,
    #[serde(default)]
    insecure: bool,
    http: Option<Spanned<String>>,
    streams: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDemo {
    #[serde(default)]
    tls: bool,
    stall_every: Option<Dur>,
    stall_for: Option<Dur>,
    flaky_rate: Option<f64>,
    delay: Option<Dur>,
}

impl<'de> Deserialize<'de> for RawTarget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawTarget;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base URL such as \"http://127.0.0.1:8080\", \"demo\", or a table with url, demo, ca_file, insecure, http, streams")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawTarget, E> {
                Ok(RawTarget {
                    url: Some(Spanned::new(0..0, v.to_string())),
                    ..RawTarget::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawTarget, A::Error> {
                let t = RawTargetTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawTarget {
                    url: t.url,
                    demo: t.demo,
                    ca_file: t.ca_file,
                    insecure: t.insecure,
                    http: t.http,
                    streams: t.streams,
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    name: Spanned<String>,
    target: Option<Spanned<String>>,
    method: Option<Spanned<String>>,
    path: Spanned<String>,
    #[serde(default)]
    query: BTreeMap<String, Spanned<Scalar>>,
    #[serde(default)]
    headers: BTreeMap<Spanned<String>, Spanned<String>>,
    body: Option<Spanned<String>>,
    json: Option<Spanned<toml::Value>>,
    weight: Option<Spanned<i64>>,
    #[serde(default)]
    checks: Vec<Spanned<RawCheck>>,
    #[serde(default)]
    thresholds: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    status: Option<Spanned<OneOrMany>>,
    body_contains: Option<String>,
    json: Option<Spanned<String>>,
    equals: Option<toml::Value>,
    latency: Option<Spanned<String>>,
}

/// A status code or a list of them.
struct OneOrMany(Vec<i64>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a status code such as 200, or a list such as [200, 204]")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![i64::try_from(v).unwrap_or(i64::MAX)]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<i64>()? {
                    out.push(v);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoad {
    model: Spanned<String>,
    rate: Option<Spanned<f64>>,
    vus: Option<Spanned<u32>>,
    start: Option<Spanned<f64>>,
    stages: Option<Spanned<Vec<Spanned<RawStage>>>>,
    max_in_flight: Option<Spanned<u32>>,
    think_time: Option<Spanned<RawThink>>,
    arrivals: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    duration: Dur,
    target: Spanned<f64>,
}

struct RawThink(Duration, Duration);

impl<'de> Deserialize<'de> for RawThink {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Range {
            min: Dur,
            max: Dur,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawThink;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"1s\", or { min = \"500ms\", max = \"2s\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawThink, E> {
                let d = parse_duration(v).map_err(E::custom)?;
                Ok(RawThink(d, d))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawThink, A::Error> {
                let r = Range::deserialize(de::value::MapAccessDeserializer::new(map))?;
                if r.min.0 > r.max.0 {
                    return Err(de::Error::custom("think_time: min must not exceed max"));
                }
                Ok(RawThink(r.min.0, r.max.0))
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------------
// Validation: raw → Scenario, collecting every problem with its place.

struct Validator<'a> {
    text: &'a str,
    file: &'a str,
    problems: Vec<Problem>,
    env: &'a dyn Fn(&str) -> Option<String>,
    base_dir: PathBuf,
    data: Option<std::sync::Arc<template::DataSet>>,
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

impl Validator<'_> {
    fn err(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        let _ = self.file;
        self.problems
            .push(problem_at(self.text, span, message.into()));
    }

    fn scenario(&mut self, raw: Raw, path: Option<&Path>) -> Option<Scenario> {
        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty() {
            self.err(raw.name.span(), "the scenario needs a non-empty name");
        }
        let targets = self.targets(&raw.targets);
        if let Some(d) = &raw.data {
            self.data = self.data_file(d).map(std::sync::Arc::new);
        }
        let requests = self.requests(&raw.requests, &targets);
        let load = self.load(&raw.load, raw.duration.as_ref());
        let timeout = raw
            .timeout
            .as_ref()
            .map_or(DEFAULT_TIMEOUT, |t| t.get_ref().0);
        if let Some(t) = &raw.timeout
            && t.get_ref().0.is_zero()
        {
            self.err(t.span(), "timeout must be longer than zero");
        }
        let drain = raw.drain.as_ref().map_or(timeout, |d| d.get_ref().0);
        let warmup = raw
            .warmup
            .as_ref()
            .map_or(Duration::ZERO, |w| w.get_ref().0);
        if let (Some(w), Some(load)) = (&raw.warmup, &load)
            && warmup >= load.profile().total()
        {
            self.err(
                w.span(),
                format!(
                    "warmup ({}) must be shorter than the run ({})",
                    crate::format::span(warmup),
                    crate::format::span(load.profile().total())
                ),
            );
        }
        let thresholds = self.thresholds(&raw.thresholds);
        let threads = raw.engine.threads.as_ref().map(|t| *t.get_ref() as usize);
        if let Some(t) = &raw.engine.threads
            && !(1..=256).contains(t.get_ref())
        {
            self.err(t.span(), "engine.threads must be between 1 and 256");
        }
        Some(Scenario {
            name,
            description: raw.description,
            path: path.map(Path::to_path_buf),
            text: self.text.to_string(),
            targets,
            requests,
            load: load?,
            warmup,
            timeout,
            drain,
            retry_idempotent: raw.retry_idempotent,
            thresholds,
            threads,
        })
    }

    fn thresholds(&mut self, raw: &[Spanned<String>]) -> Vec<Threshold> {
        raw.iter()
            .filter_map(|t| match t.get_ref().parse::<Threshold>() {
                Ok(th) => Some(th),
                Err(e) => {
                    self.err(t.span(), format!("bad threshold: {e}"));
                    None
                }
            })
            .collect()
    }

    fn targets(
        &mut self,
        raw: &Spanned<BTreeMap<Spanned<String>, Spanned<RawTarget>>>,
    ) -> Vec<Target> {
        if raw.get_ref().is_empty() {
            self.err(
                raw.span(),
                "at least one target is needed, e.g. [targets] api = \"demo\"",
            );
        }
        let mut out = Vec::new();
        for (name, t) in raw.get_ref() {
            let n = name.get_ref();
            if n.is_empty()
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                self.err(
                    name.span(),
                    format!("target name \"{n}\": use letters, digits, - and _"),
                );
            }
            let span = t.span();
            let t = t.get_ref();
            let url = t.url.as_ref().map(|u| {
                let s = if u.span() == (0..0) {
                    span.clone()
                } else {
                    u.span()
                };
                (u.get_ref().trim().to_string(), s)
            });
            let kind = match (&t.demo, url) {
                (Some(demo), None) => Some(TargetKind::Demo(self.demo(demo))),
                (Some(demo), Some((u, _))) if u == "demo" => {
                    Some(TargetKind::Demo(self.demo(demo)))
                }
                (Some(_), Some((_, s))) => {
                    self.err(
                        s,
                        "a target with `demo` options cannot also have a url other than \"demo\"",
                    );
                    None
                }
                (None, Some((u, _))) if u == "demo" => {
                    Some(TargetKind::Demo(DemoConfig::default()))
                }
                (None, Some((u, s))) => match BaseUrl::parse(&u) {
                    Ok(b) => Some(TargetKind::Url(b)),
                    Err(e) => {
                        self.err(s, e);
                        None
                    }
                },
                (None, None) => {
                    self.err(span.clone(), "target needs a `url` (or `demo` options)");
                    None
                }
            };
            let http = match t.http.as_ref().map(|h| (h.get_ref().as_str(), h.span())) {
                None | Some(("auto", _)) => HttpVersion::Auto,
                Some(("1.1" | "1" | "http1", _)) => HttpVersion::Http1,
                Some(("2" | "http2", _)) => HttpVersion::Http2,
                Some((other, s)) => {
                    self.err(
                        s,
                        format!("http = \"{other}\": expected \"auto\", \"1.1\" or \"2\""),
                    );
                    HttpVersion::Auto
                }
            };
            let ca_file = t.ca_file.as_ref().map(|c| {
                let p = PathBuf::from(c.get_ref());
                let p = if p.is_relative() {
                    self.base_dir.join(p)
                } else {
                    p
                };
                if !p.is_file() {
                    self.err(
                        c.span(),
                        format!("ca_file \"{}\" does not exist", p.display()),
                    );
                }
                p
            });
            let streams = match &t.streams {
                None => 1,
                Some(v) if (1..=1000).contains(v.get_ref()) => *v.get_ref() as usize,
                Some(v) => {
                    self.err(v.span(), "streams must be a whole number from 1 to 1000");
                    1
                }
            };
            if let Some(kind) = kind {
                out.push(Target {
                    name: n.clone(),
                    kind,
                    http,
                    ca_file,
                    insecure: t.insecure,
                    streams,
                });
            }
        }
        out
    }

    fn demo(&mut self, d: &RawDemo) -> DemoConfig {
        let mut c = DemoConfig {
            tls: d.tls,
            ..DemoConfig::default()
        };
        if let Some(e) = d.stall_every {
            c.stall_every = Some(e.0);
            c.stall_for = d.stall_for.map_or(Duration::from_secs(1), |s| s.0);
        }
        if let Some(r) = d.flaky_rate {
            c.flaky_rate = r.clamp(0.0, 1.0);
        }
        if let Some(delay) = d.delay {
            c.delay = delay.0;
        }
        c
    }

    fn requests(
        &mut self,
        raw: &Spanned<Vec<Spanned<RawRequest>>>,
        targets: &[Target],
    ) -> Vec<Request> {
        if raw.get_ref().is_empty() {
            self.err(raw.span(), "at least one [[requests]] entry is needed");
        }
        let mut out: Vec<Request> = Vec::new();
        let mut names: std::collections::HashSet<String> = std::collections::HashSet::new();
        for r in raw.get_ref() {
            let r = r.get_ref();
            let name = r.name.get_ref().trim().to_string();
            if name.is_empty() {
                self.err(r.name.span(), "a request needs a non-empty name");
            } else if !names.insert(name.clone()) {
                self.err(
                    r.name.span(),
                    format!("request name \"{name}\" is used twice; names must be unique"),
                );
            }
            let target_ids = match &r.target {
                Some(t) => match targets.iter().position(|x| &x.name == t.get_ref()) {
                    Some(i) => vec![i],
                    None => {
                        let known: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
                        self.err(
                            t.span(),
                            format!(
                                "unknown target \"{}\": expected one of {}",
                                t.get_ref(),
                                known.join(", ")
                            ),
                        );
                        vec![]
                    }
                },
                None => (0..targets.len()).collect(),
            };
            let method = match &r.method {
                None => http::Method::GET,
                Some(m) => {
                    match http::Method::from_bytes(m.get_ref().to_ascii_uppercase().as_bytes()) {
                        Ok(m) => m,
                        Err(_) => {
                            self.err(
                                m.span(),
                                format!("\"{}\" is not an HTTP method", m.get_ref()),
                            );
                            http::Method::GET
                        }
                    }
                }
            };
            if !r.path.get_ref().starts_with('/') {
                self.err(
                    r.path.span(),
                    format!("path \"{}\" must start with /", r.path.get_ref()),
                );
            }
            let path = self.template(r.path.get_ref(), r.path.span(), false);
            let query = r
                .query
                .iter()
                .map(|(k, v)| (k.clone(), self.template(&v.get_ref().0, v.span(), false)))
                .collect();
            let mut headers = Vec::new();
            for (k, v) in &r.headers {
                match http::HeaderName::from_bytes(k.get_ref().as_bytes()) {
                    Ok(h) => headers.push((h, self.template(v.get_ref(), v.span(), false))),
                    Err(_) => self.err(
                        k.span(),
                        format!("\"{}\" is not a valid header name", k.get_ref()),
                    ),
                }
            }
            let body = match (&r.body, &r.json) {
                (Some(_), Some(j)) => {
                    self.err(j.span(), "use either `body` or `json`, not both");
                    None
                }
                (Some(b), None) => Some(self.template(b.get_ref(), b.span(), false)),
                (None, Some(j)) => {
                    let json = toml_to_json(j.get_ref());
                    if !headers.iter().any(|(h, _)| h == http::header::CONTENT_TYPE) {
                        headers.push((
                            http::header::CONTENT_TYPE,
                            Resolved::fixed("application/json"),
                        ));
                    }
                    Some(self.template_json(&json.to_string(), j.span()))
                }
                (None, None) => None,
            };
            let weight = match &r.weight {
                None => 1,
                Some(w) if (1..=1_000_000).contains(w.get_ref()) => *w.get_ref() as u32,
                Some(w) => {
                    self.err(w.span(), "weight must be a whole number from 1 to 1000000");
                    1
                }
            };
            let checks = r.checks.iter().filter_map(|c| self.check(c)).collect();
            let thresholds = self.thresholds(&r.thresholds);
            out.push(Request {
                name,
                targets: target_ids,
                method,
                path,
                query,
                headers,
                body,
                weight,
                checks,
                thresholds,
            });
        }
        out
    }

    /// Reads `[data] file` (CSV with a header row); problems point at the key.
    fn data_file(&mut self, d: &Spanned<RawData>) -> Option<template::DataSet> {
        let raw = d.get_ref();
        let random = match raw.order.as_ref().map(|o| (o.get_ref().as_str(), o.span())) {
            None | Some(("sequential", _)) => false,
            Some(("random", _)) => true,
            Some((other, span)) => {
                self.err(
                    span,
                    format!("order = \"{other}\": expected \"sequential\" or \"random\""),
                );
                false
            }
        };
        let p = PathBuf::from(raw.file.get_ref());
        let p = if p.is_relative() {
            self.base_dir.join(p)
        } else {
            p
        };
        let shown = raw.file.get_ref().clone();
        // A regular file of bounded size only: /dev/zero would never end and a FIFO would wait
        // for a writer that may never come.
        let opened = std::fs::metadata(&p).and_then(|m| {
            if !m.is_file() {
                Err(std::io::Error::other("not a regular file"))
            } else if m.len() > MAX_DATA_FILE {
                Err(std::io::Error::other(format!(
                    "{} bytes, over the {} MB a data file may have",
                    m.len(),
                    MAX_DATA_FILE >> 20
                )))
            } else {
                std::fs::File::open(&p)
            }
        });
        let file = match opened {
            Ok(f) => f,
            Err(e) => {
                self.err(
                    raw.file.span(),
                    format!("data file \"{}\": {e}", p.display()),
                );
                return None;
            }
        };
        let mut reader =
            csv::ReaderBuilder::new().from_reader(std::io::Read::take(file, MAX_DATA_FILE + 1));
        let columns: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(|c| c.trim().to_string()).collect(),
            Err(e) => {
                self.err(raw.file.span(), format!("data file \"{shown}\": {e}"));
                return None;
            }
        };
        let mut rows = Vec::new();
        for rec in reader.records() {
            match rec {
                Ok(r) => rows.push(r.iter().map(str::to_string).collect::<Vec<_>>()),
                Err(e) => {
                    self.err(raw.file.span(), format!("data file \"{shown}\": {e}"));
                    return None;
                }
            }
        }
        if rows.is_empty() {
            self.err(
                raw.file.span(),
                format!("data file \"{shown}\" has a header row but no rows"),
            );
            return None;
        }
        Some(template::DataSet {
            file: shown,
            columns,
            rows,
            random,
        })
    }

    fn template(&mut self, text: &str, span: std::ops::Range<usize>, json: bool) -> Resolved {
        let parsed =
            Template::parse(text).and_then(|t| t.resolve_with(self.env, self.data.as_ref(), json));
        parsed.unwrap_or_else(|e| {
            self.err(span, e);
            Resolved::default()
        })
    }

    fn template_json(&mut self, text: &str, span: std::ops::Range<usize>) -> Resolved {
        let parsed = Template::parse_json(text)
            .and_then(|t| t.resolve_with(self.env, self.data.as_ref(), true));
        parsed.unwrap_or_else(|e| {
            self.err(span, e);
            Resolved::default()
        })
    }

    fn check(&mut self, c: &Spanned<RawCheck>) -> Option<Check> {
        let span = c.span();
        let c = c.get_ref();
        let kinds = [
            c.status.is_some(),
            c.body_contains.is_some(),
            c.json.is_some(),
            c.latency.is_some(),
        ]
        .iter()
        .filter(|k| **k)
        .count();
        if kinds != 1 {
            self.err(span, "a check has exactly one of: status, body_contains, json (with optional equals), latency");
            return None;
        }
        if c.equals.is_some() && c.json.is_none() {
            self.err(span, "`equals` goes with `json = \"field.path\"`");
            return None;
        }
        if let Some(s) = &c.status {
            let codes = s.get_ref().0.clone();
            if codes.is_empty() || codes.iter().any(|c| !(100..=599).contains(c)) {
                self.err(
                    s.span(),
                    "status must be an HTTP status code (100-599) or a list of them",
                );
                return None;
            }
            return Some(Check::Status(codes.into_iter().map(|c| c as u16).collect()));
        }
        if let Some(b) = &c.body_contains {
            return Some(Check::BodyContains(b.clone()));
        }
        if let Some(j) = &c.json {
            let path: Vec<String> = j.get_ref().split('.').map(str::to_string).collect();
            if path.iter().any(String::is_empty) {
                self.err(j.span(), format!("json path \"{}\": expected dot-separated field names such as \"data.items.0.id\"", j.get_ref()));
                return None;
            }
            return Some(Check::Json {
                path,
                equals: c.equals.as_ref().map(toml_to_json),
            });
        }
        let l = c.latency.as_ref()?;
        match format!("latency {}", l.get_ref()).parse::<Threshold>() {
            Ok(Threshold { op, limit, .. }) => Some(Check::Latency {
                op,
                limit_us: limit,
            }),
            Err(_) => {
                self.err(
                    l.span(),
                    format!(
                        "latency check \"{}\": expected e.g. \"< 100ms\"",
                        l.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn load(&mut self, raw: &Spanned<RawLoad>, duration: Option<&Spanned<Dur>>) -> Option<Load> {
        let span = raw.span();
        let l = raw.get_ref();
        let model = l.model.get_ref().as_str();
        let (level_name, level): (&str, Option<(f64, std::ops::Range<usize>)>) = match model {
            "open" => ("rate", l.rate.as_ref().map(|r| (*r.get_ref(), r.span()))),
            "closed" => (
                "vus",
                l.vus.as_ref().map(|v| (*v.get_ref() as f64, v.span())),
            ),
            other => {
                self.err(l.model.span(), format!("model = \"{other}\": expected \"open\" (arrival rate) or \"closed\" (virtual users)"));
                return None;
            }
        };
        let foreign: &[(&str, Option<std::ops::Range<usize>>)] = if model == "open" {
            &[
                ("vus", l.vus.as_ref().map(Spanned::span)),
                ("think_time", l.think_time.as_ref().map(Spanned::span)),
            ]
        } else {
            &[
                ("rate", l.rate.as_ref().map(Spanned::span)),
                ("max_in_flight", l.max_in_flight.as_ref().map(Spanned::span)),
                ("arrivals", l.arrivals.as_ref().map(Spanned::span)),
            ]
        };
        for (key, s) in foreign {
            if let Some(s) = s {
                self.err(
                    s.clone(),
                    format!("`{key}` does not apply to the {model} model"),
                );
            }
        }
        let profile = match (level, &l.stages, duration) {
            (Some((v, s)), None, Some(d)) => {
                if v <= 0.0 || !v.is_finite() {
                    self.err(s, format!("{level_name} must be greater than zero"));
                    return None;
                }
                if v > MAX_RATE {
                    self.err(s, format!("{level_name} {v} is beyond what one generator can send (at most {MAX_RATE})"));
                    return None;
                }
                if d.get_ref().0.is_zero() {
                    self.err(d.span(), "duration must be longer than zero");
                    return None;
                }
                Profile::constant(v, d.get_ref().0)
            }
            (Some(_), None, None) => {
                self.err(span, format!("a constant {level_name} needs a top-level `duration`, e.g. duration = \"30s\""));
                return None;
            }
            (Some((_, s)), Some(_), _) => {
                self.err(
                    s,
                    format!("use either `{level_name}` (constant) or `stages`, not both"),
                );
                return None;
            }
            (None, Some(stages), d) => {
                if let Some(d) = d {
                    self.err(
                        d.span(),
                        "`duration` is the sum of the stages when `stages` is used; remove it",
                    );
                }
                if stages.get_ref().is_empty() {
                    self.err(stages.span(), "stages must not be empty");
                    return None;
                }
                let mut out = Vec::new();
                for st in stages.get_ref() {
                    let t = st.get_ref().target.get_ref();
                    if *t < 0.0 || !t.is_finite() {
                        self.err(
                            st.get_ref().target.span(),
                            "a stage target must be zero or more",
                        );
                    } else if *t > MAX_RATE {
                        self.err(
                            st.get_ref().target.span(),
                            format!("a stage target of {t} is beyond what one generator can send (at most {MAX_RATE})"),
                        );
                    }
                    out.push(Stage {
                        duration: st.get_ref().duration.0,
                        target: *t,
                    });
                }
                let start = l.start.as_ref().map_or(0.0, |s| *s.get_ref());
                if let Some(st) = &l.start
                    && (!start.is_finite() || start < 0.0)
                {
                    self.err(st.span(), "start must be a level of zero or more");
                }
                let p = Profile { start, stages: out };
                if p.total().is_zero() || p.max_level() <= 0.0 {
                    self.err(stages.span(), "the stages add up to no load: give them a duration and a target above zero");
                    return None;
                }
                p
            }
            (None, None, _) => {
                self.err(
                    span,
                    format!("the {model} model needs `{level_name}` (constant) or `stages`"),
                );
                return None;
            }
        };
        Some(if model == "open" {
            let cap = l
                .max_in_flight
                .as_ref()
                .map_or(DEFAULT_MAX_IN_FLIGHT, |m| *m.get_ref() as usize);
            if let Some(m) = &l.max_in_flight
                && cap == 0
            {
                self.err(m.span(), "max_in_flight must be at least 1");
            }
            let arrivals = match l
                .arrivals
                .as_ref()
                .map(|a| (a.get_ref().as_str(), a.span()))
            {
                None | Some(("even", _)) => Arrivals::Even,
                Some(("poisson", _)) => Arrivals::Poisson,
                Some((other, s)) => {
                    self.err(
                        s,
                        format!("arrivals = \"{other}\": expected \"even\" or \"poisson\""),
                    );
                    Arrivals::Even
                }
            };
            Load::Open {
                rate: profile,
                max_in_flight: cap.max(1),
                arrivals,
            }
        } else {
            Load::Closed {
                vus: profile,
                think: l
                    .think_time
                    .as_ref()
                    .map(|t| (t.get_ref().0, t.get_ref().1)),
            }
        })
    }
}

fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => J::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}
