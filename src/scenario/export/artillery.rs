//! A scenario as an Artillery YAML test: phases, one weighted scenario per request, expect and
//! ensure plugins for checks and thresholds.

use super::{Piece, base_url, load_notes, pieces};
use crate::scenario::{Check, Load, Profile, Resolved, Scenario};
use crate::thresholds::{Metric, Op, Stat, Threshold};

/// A YAML double-quoted scalar (JSON's string syntax is YAML's).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The template in Artillery's `{{ }}` syntax.
fn text(r: &Resolved, unmapped: &mut Vec<String>) -> String {
    pieces(r)
        .iter()
        .map(|p| match p {
            Piece::Lit(s) => s.clone(),
            Piece::Env(name) => format!("{{{{ $processEnvironment.{name} }}}}"),
            Piece::Random(a, b) => format!("{{{{ $randomNumber({a}, {b}) }}}}"),
            Piece::Seq => {
                unmapped.push("${seq}: Artillery has no run-wide request number".into());
                "0".into()
            }
            Piece::Uuid => {
                unmapped.push(
                    "${uuid}: Artillery has no built-in UUID; use a processor function".into(),
                );
                "00000000-0000-4000-8000-000000000000".into()
            }
            Piece::Data(col) => {
                unmapped.push(format!(
                    "${{data.{col}}}: give Artillery the [data] file as config.payload by hand"
                ));
                format!("{{{{ {col} }}}}")
            }
        })
        .collect()
}

fn trim(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn phases(p: &Profile) -> String {
    let mut out = String::new();
    let mut from = p.start;
    for s in &p.stages {
        out.push_str(&format!(
            "    - duration: {}\n      arrivalRate: {}\n",
            trim(s.duration.as_secs_f64().max(1.0).round()),
            trim(from)
        ));
        if s.target != from {
            out.push_str(&format!("      rampTo: {}\n", trim(s.target)));
        }
        from = s.target;
    }
    out
}

fn condition(t: &Threshold) -> Option<String> {
    let op = match t.op {
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
    };
    match t.metric {
        Metric::Latency { stat, .. } => {
            let s = match stat {
                Stat::Min => "min".to_string(),
                Stat::Mean => "mean".to_string(),
                Stat::Max => "max".to_string(),
                Stat::Percentile(50.0) => "p50".to_string(),
                Stat::Percentile(p) if [75.0, 90.0, 95.0, 99.0].contains(&p) => format!("p{p}"),
                Stat::Percentile(99.9) => "p999".to_string(),
                Stat::Percentile(_) => return None,
            };
            Some(format!(
                "http.response_time.{s} {op} {}",
                trim(t.limit / 1000.0)
            ))
        }
        Metric::Count => Some(format!("http.requests {op} {}", trim(t.limit))),
        Metric::Rate => Some(format!("http.request_rate {op} {}", trim(t.limit))),
        Metric::ErrorRate
        | Metric::Errors
        | Metric::Streaming { .. }
        | Metric::WebhookLost
        | Metric::WebhookDuplicates
        | Metric::WebhookLatency(_) => None,
    }
}

/// The YAML.
pub(super) fn write(scenario: &Scenario, unmapped: &mut Vec<String>) -> String {
    load_notes(scenario, unmapped);
    let (first, _) = base_url(
        scenario,
        scenario
            .requests
            .first()
            .and_then(|r| r.targets.first().copied())
            .unwrap_or(0),
        unmapped,
    );
    let mut out = format!(
        "config:\n  target: {}\n  http:\n    timeout: {}\n  phases:\n",
        q(&first),
        trim(scenario.timeout.as_secs_f64())
    );
    // Each arrival runs one flow: one request in the open model; a closed model's user loops.
    let loops = match &scenario.load {
        Load::Open { rate, .. } => {
            out.push_str(&phases(rate));
            None
        }
        Load::Closed { vus, think } => {
            let users = vus.max_level().round();
            let secs = vus.total().as_secs_f64();
            let per = think.map_or(1.0, |(lo, hi)| ((lo + hi).as_secs_f64() / 2.0).max(0.001));
            let rounds = (secs / per).ceil().max(1.0);
            unmapped.push(format!(
                "the closed model: Artillery only has arrivals, so {users} virtual users arrive in the \
                 first second and each loops {rounds} times (the run's length ÷ the think time, or \
                 once a second without one); stages of virtual users are not followed"
            ));
            out.push_str(&format!(
                "    - duration: 1\n      arrivalCount: {}\n",
                trim(users)
            ));
            Some((rounds, *think))
        }
    };
    let mut conditions = Vec::new();
    let mut max_error_rate = None;
    for t in &scenario.thresholds {
        match (t.metric, t.op) {
            (Metric::ErrorRate, Op::Lt | Op::Le) => max_error_rate = Some(t.limit * 100.0),
            _ => match condition(t) {
                Some(c) => conditions.push(c),
                None => unmapped.push(format!("threshold `{}`", t.text)),
            },
        }
        if t.abort_after.is_some() {
            unmapped.push(format!(
                "`{}` stopping the run: ensure judges at the end",
                t.text
            ));
        }
    }
    for r in &scenario.requests {
        for t in &r.thresholds {
            unmapped.push(format!(
                "threshold `{}` on request {}: ensure judges whole runs",
                t.text, r.name
            ));
        }
    }
    out.push_str("  plugins:\n    expect: {}\n    ensure: {}\n    metrics-by-endpoint: {}\n");
    if !conditions.is_empty() || max_error_rate.is_some() {
        out.push_str("  ensure:\n");
        if let Some(m) = max_error_rate {
            out.push_str(&format!("    maxErrorRate: {}\n", trim(m)));
            unmapped.push(
                "error_rate: Artillery's maxErrorRate counts failed virtual users (network errors \
                 and failed expectations), not 4xx/5xx responses without an expectation"
                    .into(),
            );
        }
        if !conditions.is_empty() {
            out.push_str("    conditions:\n");
            for c in conditions {
                out.push_str(&format!("      - expression: {}\n", q(&c)));
            }
        }
    }
    let lcm = scenario
        .requests
        .iter()
        .map(|r| r.targets.len().max(1))
        .fold(1usize, |a, b| a / gcd(a, b) * b);
    out.push_str("scenarios:\n");
    for r in &scenario.requests {
        for &ti in &r.targets {
            let (base, _) = base_url(scenario, ti, unmapped);
            let mut url = format!("{base}{}", text(&r.path, unmapped));
            for (i, (k, v)) in r.query.iter().enumerate() {
                url.push(if i == 0 { '?' } else { '&' });
                url.push_str(&format!("{k}={}", text(v, unmapped)));
            }
            let weight = r.weight as usize * lcm / r.targets.len().max(1);
            out.push_str(&format!(
                "  - name: {}\n    weight: {weight}\n    flow:\n",
                q(&format!(
                    "{} @ {}",
                    r.name,
                    scenario.targets.get(ti).map_or("", |t| t.name.as_str())
                ))
            ));
            let indent = if loops.is_some() {
                out.push_str("      - loop:\n");
                "          "
            } else {
                "      "
            };
            out.push_str(&format!(
                "{indent}- {}:\n{indent}    url: {}\n{indent}    name: {}\n",
                r.method.as_str().to_ascii_lowercase(),
                q(&url),
                q(&r.name)
            ));
            if !r.headers.is_empty() {
                out.push_str(&format!("{indent}    headers:\n"));
                for (k, v) in &r.headers {
                    out.push_str(&format!(
                        "{indent}      {}: {}\n",
                        q(k.as_str()),
                        q(&text(v, unmapped))
                    ));
                }
            }
            if let Some(b) = &r.body {
                out.push_str(&format!("{indent}    body: {}\n", q(&text(b, unmapped))));
            }
            let mut expects = Vec::new();
            for c in &r.checks {
                match c {
                    Check::Status(codes) if codes.len() == 1 => {
                        expects.push(format!("statusCode: {}", codes[0]));
                    }
                    Check::Status(codes) => expects.push(format!(
                        "statusCode: [{}]",
                        codes
                            .iter()
                            .map(u16::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    Check::Json { path, equals: None } => {
                        expects.push(format!("hasProperty: {}", q(&path.join("."))));
                    }
                    Check::Json {
                        path,
                        equals: Some(v),
                    } => unmapped.push(format!(
                        "check json {} == {v} on request {}: capture it and compare in a processor",
                        path.join("."),
                        r.name
                    )),
                    Check::BodyContains(s) => {
                        unmapped.push(format!("check body_contains {s:?} on request {}", r.name))
                    }
                    Check::Latency { .. } => unmapped.push(format!(
                        "a latency check on request {}: expect has none",
                        r.name
                    )),
                }
            }
            if !expects.is_empty() {
                out.push_str(&format!("{indent}    expect:\n"));
                for e in expects {
                    out.push_str(&format!("{indent}      - {e}\n"));
                }
            }
            if let Some((rounds, think)) = loops {
                if let Some((lo, hi)) = think {
                    out.push_str(&format!(
                        "{indent}- think: {}\n",
                        trim(((lo + hi).as_secs_f64() / 2.0).max(0.001))
                    ));
                    unmapped.push(
                        "think time: Artillery thinks a fixed time (the mean is used)".into(),
                    );
                }
                out.push_str(&format!("        count: {}\n", trim(rounds)));
            }
        }
    }
    out
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}
