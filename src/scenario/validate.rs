//! Validation: the file as written becomes a [`Scenario`], with every problem collected at its
//! place in the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::error::problem_at;
use super::raw::*;
use super::*;

mod journeys;
mod requests;

/// Validates scenario text; `path` names it in errors and anchors relative file paths.
pub(super) fn validate(
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
        warnings: Vec::new(),
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

struct Validator<'a> {
    text: &'a str,
    file: &'a str,
    problems: Vec<Problem>,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// What is allowed but probably a mistake (an empty secret), said before a run.
    warnings: Vec<String>,
    base_dir: PathBuf,
    data: Option<std::sync::Arc<template::DataSet>>,
}

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
        let mut names = std::collections::HashSet::new();
        let mut requests = self.requests(
            raw.requests.as_ref(),
            &targets,
            &mut names,
            !raw.journeys.is_empty(),
        );
        let journeys = self.journeys(&raw.journeys, &targets, &mut names, &mut requests);
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
        let monitor = raw.monitor.as_ref().map(|m| self.monitor(m, &targets));
        let webhooks = webhooks::spec(raw.webhooks.as_ref().map(|w| w.get_ref()), &requests)
            .map_err(|(span, e)| self.err(span, e))
            .ok()
            .flatten();
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
            warnings: std::mem::take(&mut self.warnings),
            monitor,
            webhooks,
            journeys,
        })
    }

    fn monitor(
        &mut self,
        raw: &Spanned<super::raw::RawMonitor>,
        targets: &[Target],
    ) -> super::MonitorSpec {
        let m = raw.get_ref();
        let mut spec = super::MonitorSpec::default();
        for p in &m.prometheus {
            let text = p.get_ref().trim();
            if let Some(i) = targets.iter().position(|t| t.name == text) {
                spec.prometheus.push(super::ScrapeFrom::Target(i));
            } else {
                let url = self.url_env(text).unwrap_or_default();
                let ok = url.parse::<http::Uri>().ok().is_some_and(|u| {
                    matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some()
                });
                if ok {
                    spec.prometheus.push(super::ScrapeFrom::Url(url));
                } else {
                    self.err(
                        p.span(),
                        format!(
                            "monitor.prometheus: \"{text}\" is neither a target's name nor an http(s) URL of a metrics page"
                        ),
                    );
                }
            }
        }
        for s in &m.metrics {
            match super::MetricSelector::parse(s.get_ref()) {
                Ok(sel) => spec.metrics.push(sel),
                Err(e) => self.err(s.span(), format!("monitor.metrics: {e}")),
            }
        }
        for p in &m.processes {
            let text = p.get_ref().0.trim();
            match text.parse::<u32>() {
                Ok(pid) if pid > 0 => spec.processes.push(super::ProcessSelector::Pid(pid)),
                _ if !text.is_empty() && !text.contains('/') && text.len() <= 64 => spec
                    .processes
                    .push(super::ProcessSelector::Name(text.to_string())),
                _ => self.err(
                    p.span(),
                    format!("monitor.processes: \"{text}\" is neither a pid nor a command name"),
                ),
            }
        }
        if m.prometheus.is_empty() && m.processes.is_empty() {
            self.err(
                raw.span(),
                "[monitor] needs `prometheus` (a target's name or a metrics URL) or `processes`",
            );
        }
        spec
    }

    fn thresholds(&mut self, raw: &[Spanned<RawThreshold>]) -> Vec<Threshold> {
        raw.iter()
            .filter_map(|t| {
                let (text, abort, after) = match t.get_ref() {
                    RawThreshold::Text(s) => (s, false, None),
                    RawThreshold::Table(x) => (&x.threshold, x.abort, x.after.as_deref()),
                };
                let mut th = match text.parse::<Threshold>() {
                    Ok(th) => th,
                    Err(e) => {
                        self.err(t.span(), format!("bad threshold: {e}"));
                        return None;
                    }
                };
                let after = match after.map(crate::format::parse_duration).transpose() {
                    Ok(a) => a,
                    Err(e) => {
                        self.err(t.span(), format!("threshold \"{text}\": after: {e}"));
                        return None;
                    }
                };
                let why = if after.is_some() && !abort {
                    "`after` delays an abort; add abort = true (or drop `after`)"
                } else if abort && th.is_webhook() {
                    "webhook thresholds are judged after the grace period, so they cannot abort"
                } else {
                    ""
                };
                if !why.is_empty() {
                    self.err(t.span(), format!("threshold \"{text}\": {why}"));
                    return None;
                }
                th.abort_after = abort.then(|| after.unwrap_or_default());
                Some(th)
            })
            .collect()
    }

    /// A target URL with its `${env.NAME}` references resolved (credentials kept out of the file:
    /// `https://${env.API_USER}:${env.API_PASS}@api.example.com`).
    fn url_env(&mut self, url: &str) -> Result<String, String> {
        if !url.contains("${") {
            return Ok(url.to_string());
        }
        let t = Template::parse(url)?;
        self.warn_empty(&t);
        let r = t.resolve(self.env, false)?;
        r.as_static().map(str::to_string).ok_or_else(|| {
            "a target URL may use ${env.NAME} only (it is fixed for the whole run)".to_string()
        })
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
                (None, Some((u, s))) => match self.url_env(&u).and_then(|u| BaseUrl::parse(&u)) {
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
            let proxy = proxy::of(t.proxy.as_ref(), t.proxy_delay.as_ref())
                .map_err(|(span, e)| self.err(span, e))
                .ok()
                .flatten();
            if let Some(kind) = kind {
                out.push(Target {
                    name: n.clone(),
                    kind,
                    http,
                    ca_file,
                    insecure: t.insecure,
                    streams,
                    proxy,
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

    /// Reads `split_by`: a header name and the values that get a series of their own (default
    /// `HIT` and `MISS`, what caches answer).
    fn split(&mut self, sp: &Spanned<super::raw::RawSplit>) -> Option<super::Split> {
        let raw = sp.get_ref();
        let header = match http::HeaderName::from_bytes(raw.header.get_ref().as_bytes()) {
            Ok(h) => h,
            Err(_) => {
                self.err(
                    raw.header.span(),
                    "split_by header is not a valid header name",
                );
                return None;
            }
        };
        let values = match &raw.values {
            None => vec!["HIT".to_string(), "MISS".to_string()],
            Some(v) => {
                let list = v.get_ref();
                let mut seen = std::collections::HashSet::new();
                let bad = list.is_empty()
                    || list.len() > 16
                    || list.iter().any(|x| {
                        x.is_empty()
                            || x.eq_ignore_ascii_case(super::SPLIT_OTHER)
                            || x.bytes()
                                .any(|b| b.is_ascii_whitespace() || matches!(b, b',' | b';'))
                            || !seen.insert(x.to_ascii_lowercase())
                    });
                if bad {
                    self.err(
                        v.span(),
                        "split_by values: 1 to 16 different single words (\"other\" is the series of everything else)",
                    );
                    return None;
                }
                list.clone()
            }
        };
        Some(super::Split { header, values })
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

    /// Says once per variable that an `${env.NAME}` is set but empty.
    fn warn_empty(&mut self, t: &Template) {
        for name in t.empty_env(self.env) {
            let w = format!(
                "environment variable `{name}` is set but empty (used as ${{env.{name}}}); \
                 ${{env.{name}:-default}} gives a default"
            );
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
    }

    fn template(&mut self, text: &str, span: std::ops::Range<usize>, json: bool) -> Resolved {
        let parsed = Template::parse(text).and_then(|t| {
            self.warn_empty(&t);
            t.resolve_with(self.env, self.data.as_ref(), json)
        });
        parsed.unwrap_or_else(|e| {
            self.err(span, e);
            Resolved::default()
        })
    }

    fn template_json(&mut self, text: &str, span: std::ops::Range<usize>) -> Resolved {
        let parsed = Template::parse_json(text).and_then(|t| {
            self.warn_empty(&t);
            t.resolve_with(self.env, self.data.as_ref(), true)
        });
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
        match format!("max {}", l.get_ref()).parse::<Threshold>() {
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
