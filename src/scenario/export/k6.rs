//! A scenario as a k6 script: one scenario executor, the weighted mix, checks and thresholds.

use super::{Piece, base_url, duration, load_notes, pieces};
use crate::scenario::{Check, Load, Profile, Resolved, Scenario};
use crate::thresholds::{Metric, Op, Stat, Threshold};

/// A JavaScript string literal.
fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A JavaScript expression that builds the template's text on each call.
fn expr(r: &Resolved, unmapped: &mut Vec<String>) -> String {
    expr_of(&pieces(r), unmapped)
}

fn expr_of(parts: &[Piece], unmapped: &mut Vec<String>) -> String {
    let mut out: Vec<String> = parts
        .iter()
        .map(|p| match p {
            Piece::Lit(s) => js(s),
            Piece::Env(name) => format!("(__ENV[{}] || \"\")", js(name)),
            Piece::Seq => "String(exec.scenario.iterationInTest)".into(),
            Piece::Random(a, b) => {
                format!("String({a} + Math.floor(Math.random() * {}))", b - a + 1)
            }
            Piece::Uuid => "crypto.randomUUID()".into(),
            Piece::Data(col) => {
                unmapped.push(format!(
                    "${{data.{col}}}: load the [data] file with k6's SharedArray by hand"
                ));
                js(&format!("${{data.{col}}}"))
            }
        })
        .collect();
    if out.is_empty() {
        out.push("\"\"".into());
    }
    out.join(" + ")
}

fn op(o: Op) -> &'static str {
    match o {
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
    }
}

/// A threshold as k6 writes it: the metric and its expression, or why it has none.
fn threshold(t: &Threshold) -> Result<(&'static str, String), String> {
    let o = op(t.op);
    Ok(match t.metric {
        Metric::Latency { stat, .. } => {
            let s = match stat {
                Stat::Min => "min".to_string(),
                Stat::Mean => "avg".to_string(),
                Stat::Max => "max".to_string(),
                Stat::Percentile(p) => format!("p({})", trim(p)),
            };
            (
                "http_req_duration",
                format!("{s}{o}{}", trim(t.limit / 1000.0)),
            )
        }
        Metric::ErrorRate => ("http_req_failed", format!("rate{o}{}", trim(t.limit))),
        Metric::Rate => ("http_reqs", format!("rate{o}{}", trim(t.limit))),
        Metric::Count => ("http_reqs", format!("count{o}{}", trim(t.limit))),
        Metric::Errors => {
            return Err(format!(
                "threshold `{}`: k6's http_req_failed is a rate, it has no count",
                t.text
            ));
        }
        Metric::Streaming { .. } => {
            return Err(format!(
                "threshold `{}`: k6 has no built-in metric of a streamed answer's events",
                t.text
            ));
        }
        Metric::WebhookLost | Metric::WebhookDuplicates | Metric::WebhookLatency(_) => {
            return Err(format!(
                "threshold `{}`: k6 receives no webhook callbacks",
                t.text
            ));
        }
    })
}

fn trim(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Levels as k6 counts them: whole iterations per time unit (a finer unit for fractional rates).
fn unit_for(p: &Profile) -> (f64, &'static str) {
    let whole = std::iter::once(p.start)
        .chain(p.stages.iter().map(|s| s.target))
        .all(|v| v.fract() == 0.0);
    if whole { (1.0, "1s") } else { (100.0, "100s") }
}

fn executor(scenario: &Scenario) -> String {
    let drain = duration(scenario.drain);
    match &scenario.load {
        Load::Open {
            rate,
            max_in_flight,
            ..
        } => {
            let (scale, unit) = unit_for(rate);
            let level = |v: f64| trim((v * scale).round());
            let vus = (*max_in_flight).max(1);
            let pre = vus.min(100);
            if rate.stages.len() == 1 && rate.stages[0].target == rate.start {
                format!(
                    "executor: 'constant-arrival-rate', rate: {}, timeUnit: '{unit}', duration: '{}', preAllocatedVUs: {pre}, maxVUs: {vus}, gracefulStop: '{drain}'",
                    level(rate.start),
                    duration(rate.total())
                )
            } else {
                let stages: Vec<String> = rate
                    .stages
                    .iter()
                    .map(|s| {
                        format!(
                            "{{ target: {}, duration: '{}' }}",
                            level(s.target),
                            duration(s.duration)
                        )
                    })
                    .collect();
                format!(
                    "executor: 'ramping-arrival-rate', startRate: {}, timeUnit: '{unit}', preAllocatedVUs: {pre}, maxVUs: {vus}, gracefulStop: '{drain}',\n      stages: [{}]",
                    level(rate.start),
                    stages.join(", ")
                )
            }
        }
        Load::Closed { vus, .. } => {
            if vus.stages.len() == 1 && vus.stages[0].target == vus.start {
                format!(
                    "executor: 'constant-vus', vus: {}, duration: '{}', gracefulStop: '{drain}'",
                    trim(vus.start.round()),
                    duration(vus.total())
                )
            } else {
                let stages: Vec<String> = vus
                    .stages
                    .iter()
                    .map(|s| {
                        format!(
                            "{{ target: {}, duration: '{}' }}",
                            trim(s.target.round()),
                            duration(s.duration)
                        )
                    })
                    .collect();
                format!(
                    "executor: 'ramping-vus', startVUs: {}, gracefulStop: '{drain}', gracefulRampDown: '{drain}',\n      stages: [{}]",
                    trim(vus.start.round()),
                    stages.join(", ")
                )
            }
        }
    }
}

/// The script.
pub(super) fn write(scenario: &Scenario, unmapped: &mut Vec<String>) -> String {
    load_notes(scenario, unmapped);
    let mut thresholds: Vec<(String, String)> = Vec::new();
    let mut add = |scope: Option<&str>, t: &Threshold, unmapped: &mut Vec<String>| {
        match threshold(t) {
            Ok((metric, e)) => {
                let key = match scope {
                    Some(name) => format!("{metric}{{name:{name}}}"),
                    None => metric.to_string(),
                };
                let rule = match t.abort_after {
                    Some(after) => format!(
                        "{{ threshold: {}, abortOnFail: true, delayAbortEval: '{}' }}",
                        js(&e),
                        duration(after)
                    ),
                    None => js(&e),
                };
                thresholds.push((key, rule));
            }
            Err(why) => unmapped.push(why),
        }
        if let Metric::Latency { service: false, .. } = t.metric {
            unmapped.push(
                "corrected latency: k6's http_req_duration is timed from the actual send, so \
                 latency thresholds judge service time"
                    .into(),
            );
        }
        if t.metric == Metric::Rate {
            unmapped.push(
                "`rate` counts successful responses in loadbench; k6's http_reqs counts all".into(),
            );
        }
    };
    for t in &scenario.thresholds {
        add(None, t, unmapped);
    }
    for r in &scenario.requests {
        for t in &r.thresholds {
            add(Some(&r.name), t, unmapped);
        }
    }
    let mut out = String::new();
    out.push_str("import http from 'k6/http';\nimport { check, sleep } from 'k6';\nimport exec from 'k6/execution';\n\n");
    out.push_str("export const options = {\n  scenarios: {\n    main: {\n      ");
    out.push_str(&executor(scenario));
    out.push_str(",\n    },\n  },\n");
    if !thresholds.is_empty() {
        out.push_str("  thresholds: {\n");
        let mut keys: Vec<&String> = thresholds.iter().map(|(k, _)| k).collect();
        keys.dedup();
        let mut seen = std::collections::BTreeSet::new();
        for (k, _) in &thresholds {
            if !seen.insert(k.clone()) {
                continue;
            }
            let rules: Vec<&str> = thresholds
                .iter()
                .filter(|(k2, _)| k2 == k)
                .map(|(_, r)| r.as_str())
                .collect();
            out.push_str(&format!("    {}: [{}],\n", js(k), rules.join(", ")));
        }
        out.push_str("  },\n");
    }
    out.push_str("};\n\n");
    out.push_str(
        "// The field a JSON check reads, by path (numeric parts index arrays).\nfunction dig(res, path) {\n  let v;\n  try { v = res.json(); } catch (e) { return undefined; }\n  for (const k of path) { if (v === null || v === undefined) return undefined; v = v[k]; }\n  return v;\n}\n\n",
    );
    let timeout = duration(scenario.timeout);
    out.push_str("// The mix: each entry is a request against one target, picked by weight.\nconst requests = [\n");
    for r in &scenario.requests {
        let share = f64::from(r.weight) / r.targets.len().max(1) as f64;
        for &ti in &r.targets {
            let base = match base_url(scenario, ti, unmapped) {
                (url, true) => format!("(__ENV.LOADBENCH_DEMO_URL || {})", js(&url)),
                (url, false) => js(&url),
            };
            let mut url = format!("{base} + {}", expr(&r.path, unmapped));
            for (i, (k, v)) in r.query.iter().enumerate() {
                let sep = if i == 0 { "?" } else { "&" };
                url.push_str(&format!(
                    " + {} + encodeURIComponent({})",
                    js(&format!("{sep}{}=", urlencode(k))),
                    expr(v, unmapped)
                ));
            }
            let headers: Vec<String> = r
                .headers
                .iter()
                .map(|(k, v)| format!("{}: {}", js(k.as_str()), expr(v, unmapped)))
                .collect();
            let body = r
                .body
                .as_ref()
                .map_or("null".to_string(), |b| expr(b, unmapped));
            let mut params = vec![
                format!("tags: {{ name: {} }}", js(&r.name)),
                format!("headers: {{ {} }}", headers.join(", ")),
                format!("timeout: '{timeout}'"),
            ];
            let mut checks = Vec::new();
            for c in &r.checks {
                match c {
                    Check::Status(codes) => {
                        let list: Vec<String> = codes.iter().map(u16::to_string).collect();
                        params.push(format!(
                            "responseCallback: http.expectedStatuses({})",
                            list.join(", ")
                        ));
                        checks.push(format!(
                            "{}: (r) => [{}].includes(r.status)",
                            js(&format!("status is {}", list.join(" or "))),
                            list.join(", ")
                        ));
                    }
                    Check::BodyContains(s) => checks.push(format!(
                        "{}: (r) => typeof r.body === 'string' && r.body.includes({})",
                        js(&format!("body contains {s}")),
                        js(s)
                    )),
                    Check::Json { path, equals } => {
                        let p: Vec<String> = path.iter().map(|s| js(s)).collect();
                        let shown = path.join(".");
                        checks.push(match equals {
                            Some(v) => format!(
                                "{}: (r) => JSON.stringify(dig(r, [{}])) === {}",
                                js(&format!("json {shown} == {v}")),
                                p.join(", "),
                                js(&v.to_string())
                            ),
                            None => format!(
                                "{}: (r) => dig(r, [{}]) !== undefined",
                                js(&format!("json {shown}")),
                                p.join(", ")
                            ),
                        });
                    }
                    Check::Latency { op: o, limit_us } => checks.push(format!(
                        "{}: (r) => r.timings.duration {} {}",
                        js(&format!(
                            "latency {} {} ms",
                            op(*o),
                            trim(limit_us / 1000.0)
                        )),
                        op(*o),
                        trim(limit_us / 1000.0)
                    )),
                }
            }
            if !checks.is_empty() {
                unmapped.push(
                    "a failed check is an error in loadbench; in k6 it only fails the `checks` rate"
                        .into(),
                );
            }
            let check = if checks.is_empty() {
                String::new()
            } else {
                format!("\n      check(res, {{ {} }});", checks.join(", "))
            };
            out.push_str(&format!(
                "  {{ weight: {}, send: () => {{\n      const res = http.request({}, {}, {}, {{ {} }});{check}\n    }} }},\n",
                trim(share),
                js(r.method.as_str()),
                url,
                body,
                params.join(", "),
            ));
        }
    }
    out.push_str("];\nconst total = requests.reduce((a, r) => a + r.weight, 0);\n\n");
    out.push_str("export default function () {\n  let pick = Math.random() * total;\n  for (const r of requests) {\n    pick -= r.weight;\n    if (pick < 0) { r.send(); break; }\n  }\n");
    if let Load::Closed {
        think: Some((lo, hi)),
        ..
    } = &scenario.load
    {
        out.push_str(&format!(
            "  sleep({} + Math.random() * {});\n",
            trim(lo.as_secs_f64()),
            trim((*hi - *lo).as_secs_f64())
        ));
    }
    out.push_str("}\n");
    out
}

/// A query key as it goes in a URL.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
