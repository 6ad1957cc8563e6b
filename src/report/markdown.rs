//! Markdown for a docs site: verdict first, tables, SVG charts written beside the file.

use std::fmt::Write;

use super::{Exporter, Report};

/// The Markdown exporter.
pub struct Markdown;

/// The report's tables as rows of text, shared by Markdown and HTML.
pub struct Tables {
    /// Headline: the verdict in one sentence.
    pub verdict: String,
    /// Whether every threshold held.
    pub passed: bool,
    /// One line about the run.
    pub about: String,
    /// Thresholds: scope, threshold, actual, result.
    pub thresholds: Vec<[String; 4]>,
    /// Per request: request, target, count, rate, errors, p50, p90, p95, p99, p99.9, max.
    pub results: Vec<Vec<String>>,
    /// Environment: key, value.
    pub environment: Vec<[String; 2]>,
}

/// Column names of [`Report::comparison_rows`].
pub const COMPARE_COLUMNS: [&str; 7] = [
    "request",
    "metric",
    "baseline",
    "this run",
    "change",
    "95% interval",
    "verdict",
];

/// Column names of [`Tables::results`].
pub const RESULT_COLUMNS: [&str; 11] = [
    "request", "target", "count", "rate", "errors", "p50", "p90", "p95", "p99", "p99.9", "max",
];

impl Tables {
    /// Builds the tables of a report.
    pub fn of(r: &Report) -> Tables {
        use crate::format;
        let s = &r.summary;
        // The same line the run's log ended with, comparison included.
        let verdict = crate::analysis::verdict::line(
            s,
            r.comparisons.first().map(|c| &c.comparison),
            Some(r.run.row.id),
            s.status == crate::metrics::RunStatus::Stopped && s.halted.is_none(),
        );
        let row = &r.run.row;
        let about = format!(
            "Scenario **{}**, {}, run #{} ({}), started {} UTC, {} measured{}; {} requests at {}{}.",
            s.scenario,
            match r.measured_by() {
                Some(tool) => format!("measured by {tool}"),
                None => format!("{} model", s.model),
            },
            row.id,
            s.status,
            s.started_at.replace('T', " ").trim_end_matches('Z'),
            format::span(format::secs((s.duration_s * 10.0).round() / 10.0)),
            if s.warmup_s > 0.0 {
                format!(
                    " after a {} warm-up",
                    format::span(format::secs(s.warmup_s.round()))
                )
            } else {
                String::new()
            },
            s.total.count,
            format::rate(s.total.rate),
            // A journey's iterations are what its open-model schedule counted.
            s.journeys
                .iter()
                .map(|j| format!(
                    "; {} iterations of journey {} at {}",
                    j.count,
                    j.request,
                    format::rate(j.rate)
                ))
                .collect::<String>(),
        );
        // What the edges of the run did, said wherever it happened: never a silent figure.
        let mut edges = Vec::new();
        let aborted = s.total.error_kinds.get("aborted").copied().unwrap_or(0);
        if aborted > 0 {
            edges.push(format!(
                "{aborted} requests were still unanswered when the run ended (aborted: errors, in latency at their wait so far)"
            ));
        }
        if s.not_started > 0 {
            edges.push(format!(
                "{} requests were due but never started (max_in_flight reached)",
                s.not_started
            ));
        }
        if s.total.retries > 0 {
            edges.push(format!(
                "{} requests were sent again on a new connection",
                s.total.retries
            ));
        }
        let about = if edges.is_empty() {
            about
        } else {
            format!("{about} {}.", edges.join("; "))
        };
        let thresholds = s
            .thresholds
            .iter()
            .map(|t| {
                [
                    t.scope.clone(),
                    t.expression.clone(),
                    t.actual_text.clone(),
                    if t.passed {
                        "pass".into()
                    } else {
                        "FAIL".into()
                    },
                ]
            })
            .collect();
        let ms = |v: f64, n: u64| {
            if n == 0 {
                "-".to_string()
            } else {
                format::micros(v * 1000.0)
            }
        };
        let results = r
            .endpoint_rows()
            .into_iter()
            .map(|e| {
                let l = &e.latency;
                let n = l.samples;
                vec![
                    if e.request == "*" {
                        "all".into()
                    } else {
                        e.request.clone()
                    },
                    if e.target == "*" {
                        "all".into()
                    } else {
                        e.target.clone()
                    },
                    e.count.to_string(),
                    format::rate(e.rate),
                    format!("{} ({})", e.errors, format::percent(e.error_rate)),
                    ms(l.p50_ms, n),
                    ms(l.p90_ms, n),
                    ms(l.p95_ms, n),
                    ms(l.p99_ms, n),
                    ms(l.p99_9_ms, n),
                    ms(l.max_ms, n),
                ]
            })
            .collect();
        let machine = |host: &serde_json::Value| {
            let get = |k: &str| {
                host.get(k)
                    .map(|v| v.to_string().trim_matches('"').to_string())
                    .unwrap_or_default()
            };
            format!("{} {}, {} cores", get("os"), get("arch"), get("cores"))
        };
        let imported = r.run.host.get("imported");
        let mut environment = match imported {
            // Another tool measured it: say which, and from what file.
            Some(i) => vec![
                ["measured by".to_string(), r.run.version.clone()],
                [
                    "imported from".to_string(),
                    format!(
                        "{} ({})",
                        i.get("file").and_then(|v| v.as_str()).unwrap_or("?"),
                        i.get("format").and_then(|v| v.as_str()).unwrap_or("?")
                    ),
                ],
            ],
            None => vec![["loadbench".to_string(), r.run.version.clone()]],
        };
        match r.run.host.get("merged_from").and_then(|m| m.as_array()) {
            // A merged run: one line per shard, each with the machine it ran on.
            Some(shards) => {
                for s in shards {
                    environment.push([
                        format!(
                            "shard run {}",
                            s.get("run").map_or(String::new(), |v| format!("#{v}"))
                        ),
                        machine(s.get("host").unwrap_or(&serde_json::Value::Null)),
                    ]);
                }
            }
            None if imported.is_none() => {
                environment.push(["machine".into(), machine(&r.run.host)])
            }
            None => {}
        }
        let demos = demo_targets(&r.run.scenario_text);
        for (name, url) in &r.run.targets {
            // A demo target's random port says nothing to a reader: say what it was.
            let shown = if demos.contains(name) {
                format!("the embedded demo service ({url} for this run)")
            } else {
                url.clone()
            };
            environment.push([format!("target {name}"), shown]);
        }
        if !row.tags.is_empty() {
            environment.push(["tags".into(), row.tags.join(", ")]);
        }
        if !r.run.notes.is_empty() {
            environment.push(["notes".into(), r.run.notes.replace('\n', "; ")]);
        }
        Tables {
            verdict,
            passed: s.thresholds_passed,
            about,
            thresholds,
            results,
            environment,
        }
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn md_table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(
        out,
        "|{}",
        header.iter().map(|_| " --- |").collect::<String>()
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} |",
            r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
        );
    }
}

impl Exporter for Markdown {
    fn render(&self, r: &Report, stem: &str) -> (Vec<u8>, Vec<(String, String)>) {
        let t = Tables::of(r);
        let mut out = String::new();
        let _ = writeln!(out, "# {}: load test report\n", md_cell(&r.run.row.name));
        let _ = writeln!(out, "**{}**\n", t.verdict);
        let _ = writeln!(out, "{}\n", t.about);
        let compared = r.comparison_rows();
        for c in &compared {
            let _ = writeln!(out, "{}: **{}**.\n", c.title, c.verdict);
            for n in &c.notes {
                let _ = writeln!(out, "- {}", md_cell(n));
            }
            if !c.notes.is_empty() {
                out.push('\n');
            }
        }
        if !t.thresholds.is_empty() {
            out.push_str("## Thresholds\n\n");
            let rows: Vec<Vec<String>> = t.thresholds.iter().map(|r| r.to_vec()).collect();
            md_table(&mut out, &["scope", "threshold", "actual", "result"], &rows);
            out.push('\n');
        }
        let _ = write!(out, "## Results\n\n{}\n\n", r.latency_origin());
        md_table(&mut out, &RESULT_COLUMNS, &t.results);
        for c in &compared {
            let _ = writeln!(out, "\n## {}\n", c.title);
            md_table(&mut out, &COMPARE_COLUMNS, &c.rows);
        }
        for (name, rows) in r.beside_rows() {
            let _ = writeln!(
                out,
                "\n## Beside {}\n\n{}\n",
                md_cell(&name),
                super::BESIDE_INTRO
            );
            md_table(&mut out, &crate::analysis::compare::BESIDE_COLUMNS, &rows);
        }
        for sec in super::evidence::report_sections(r) {
            let _ = writeln!(out, "\n## {}\n\n{}\n", sec.title, sec.intro);
            md_table(&mut out, &sec.columns, &sec.rows);
        }
        if let Some(super::Scalability {
            columns,
            rows,
            line,
        }) = r.scalability()
        {
            let _ = writeln!(
                out,
                "\n## Scalability\n\nOne row per level held ({}). {line}.\n",
                columns[0]
            );
            md_table(&mut out, &columns, &rows);
        }
        let mut monitor_files = Vec::new();
        let (rows, gaps) = r.monitor_rows();
        if !rows.is_empty() || !gaps.is_empty() {
            let _ = writeln!(out, "\n## Server side\n\n{}\n", super::MONITOR_INTRO);
            md_table(&mut out, &super::MONITOR_COLUMNS, &rows);
            for g in gaps {
                let _ = writeln!(out, "\n{g}.");
            }
            for (suffix, title, svg) in r.monitor_charts() {
                let name = format!("{stem}-{suffix}.svg");
                let _ = writeln!(out, "\n![{title}]({name})");
                monitor_files.push((name, svg));
            }
        }
        let notes = r.annotation_rows();
        if !notes.is_empty() {
            out.push_str("\n## Annotations\n\nNumbered as the charts mark them.\n\n");
            md_table(&mut out, &["#", "at", "note"], &notes);
        }
        out.push_str("\n## Charts\n\n");
        let mut files = monitor_files;
        for (suffix, title, svg) in r.charts() {
            let name = format!("{stem}-{suffix}.svg");
            let _ = writeln!(out, "![{title}]({name})\n");
            files.push((name, svg));
        }
        out.push_str("## Environment\n\n");
        let rows: Vec<Vec<String>> = t.environment.iter().map(|r| r.to_vec()).collect();
        md_table(&mut out, &["item", "value"], &rows);
        // Another tool's run has no scenario of ours to show.
        if !r.run.scenario_text.trim().is_empty() {
            let _ = writeln!(
                out,
                "\n## Scenario\n\n```toml\n{}\n```",
                r.run.scenario_text.trim_end()
            );
        }
        (out.into_bytes(), files)
    }
}

/// The names of the scenario's targets that were the embedded demo service (`api = "demo"`,
/// `{ url = "demo", … }` or `{ demo = { … } }`).
fn demo_targets(scenario_text: &str) -> Vec<String> {
    let Ok(doc) = scenario_text.parse::<toml_edit::DocumentMut>() else {
        return Vec::new();
    };
    let Some(targets) = doc.get("targets").and_then(|t| t.as_table_like()) else {
        return Vec::new();
    };
    targets
        .iter()
        .filter(|(_, v)| {
            v.as_str() == Some("demo")
                || v.as_table_like().is_some_and(|t| {
                    t.get("demo").is_some() || t.get("url").and_then(|u| u.as_str()) == Some("demo")
                })
        })
        .map(|(k, _)| k.to_string())
        .collect()
}
