//! One self-contained HTML file: charts inline as SVG, every string escaped, readable offline and printable.

use std::fmt::Write;

use super::markdown::{COMPARE_COLUMNS, RESULT_COLUMNS, Tables};
use super::svg::escape;
use super::{Exporter, Report};

/// The HTML exporter.
pub struct Html;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}\
figure svg{width:100%;height:auto}\
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}\
th:first-child,td:first-child{text-align:left}.pass{color:#1e7a3c;font-weight:bold}.fail{color:#b52a2a;font-weight:bold}\
.notes{color:#555;font-size:14px;margin-top:-0.5em}pre{background:#f6f6f6;padding:1em;overflow:auto}figure{margin:1em 0}@media print{figure{break-inside:avoid}}";

fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    out.push_str("<table><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            let class = match c.as_str() {
                "pass" => " class=\"pass\"",
                "FAIL" => " class=\"fail\"",
                _ => "",
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
}

impl Exporter for Html {
    fn render(&self, r: &Report, _stem: &str) -> (Vec<u8>, Vec<(String, String)>) {
        let t = Tables::of(r);
        let title = format!("{}: load test report", r.run.row.name);
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>{}</title><style>{STYLE}</style></head><body>\n",
            escape(&title)
        );
        let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
        let class = if t.passed { "pass" } else { "fail" };
        let _ = writeln!(
            out,
            "<p class=\"{class}\">{}</p>",
            escape(&t.verdict.replace('`', ""))
        );
        let _ = writeln!(out, "<p>{}</p>", escape(&t.about.replace("**", "")));
        let compared = r.comparison_rows();
        for c in &compared {
            let class = if c.regressed { "fail" } else { "pass" };
            let _ = writeln!(
                out,
                "<p class=\"{class}\">{}: {}</p>",
                escape(&c.title),
                escape(&c.verdict)
            );
            if !c.notes.is_empty() {
                out.push_str("<ul class=\"notes\">\n");
                for n in &c.notes {
                    let _ = writeln!(out, "<li>{}</li>", escape(n));
                }
                out.push_str("</ul>\n");
            }
        }
        if !t.thresholds.is_empty() {
            out.push_str("<h2>Thresholds</h2>\n");
            let rows: Vec<Vec<String>> = t.thresholds.iter().map(|r| r.to_vec()).collect();
            table(&mut out, &["scope", "threshold", "actual", "result"], &rows);
        }
        let _ = writeln!(
            out,
            "<h2>Results</h2>\n<p>{}</p>",
            escape(&r.latency_origin())
        );
        table(&mut out, &RESULT_COLUMNS, &t.results);
        for c in &compared {
            let _ = writeln!(out, "<h2>{}</h2>", escape(&c.title));
            table(&mut out, &COMPARE_COLUMNS, &c.rows);
        }
        for (name, rows) in r.beside_rows() {
            let _ = writeln!(
                out,
                "<h2>Beside {}</h2>\n<p>{}</p>",
                escape(&name),
                escape(super::BESIDE_INTRO)
            );
            table(&mut out, &crate::analysis::compare::BESIDE_COLUMNS, &rows);
        }
        for sec in super::evidence::report_sections(r) {
            let _ = writeln!(
                out,
                "<h2>{}</h2>\n<p>{}</p>",
                escape(sec.title),
                escape(sec.intro)
            );
            table(&mut out, &sec.columns, &sec.rows);
        }
        if let Some(super::Scalability {
            columns,
            rows,
            line,
        }) = r.scalability()
        {
            let _ = writeln!(
                out,
                "<h2>Scalability</h2>\n<p>One row per level held ({}). {}.</p>",
                escape(columns[0]),
                escape(&line)
            );
            table(&mut out, &columns, &rows);
        }
        let (rows, gaps) = r.monitor_rows();
        if !rows.is_empty() || !gaps.is_empty() {
            let _ = writeln!(
                out,
                "<h2>Server side</h2>\n<p>{}</p>",
                escape(super::MONITOR_INTRO)
            );
            table(&mut out, &super::MONITOR_COLUMNS, &rows);
            for g in gaps {
                let _ = writeln!(out, "<p>{}.</p>", escape(&g));
            }
            for (_, title, svg) in r.monitor_charts() {
                let _ = writeln!(
                    out,
                    "<figure>{svg}<figcaption>{}</figcaption></figure>",
                    escape(&title)
                );
            }
        }
        let notes = r.annotation_rows();
        if !notes.is_empty() {
            out.push_str("<h2>Annotations</h2>\n<p>Numbered as the charts mark them.</p>\n");
            table(&mut out, &["#", "at", "note"], &notes);
        }
        out.push_str("<h2>Charts</h2>\n");
        for (_, title, svg) in r.charts() {
            let _ = writeln!(
                out,
                "<figure>{svg}<figcaption>{}</figcaption></figure>",
                escape(title)
            );
        }
        out.push_str("<h2>Environment</h2>\n");
        let rows: Vec<Vec<String>> = t.environment.iter().map(|r| r.to_vec()).collect();
        table(&mut out, &["item", "value"], &rows);
        // Another tool's run has no scenario of ours to show.
        if !r.run.scenario_text.trim().is_empty() {
            let _ = writeln!(
                out,
                "<h2>Scenario</h2>\n<pre>{}</pre>",
                escape(r.run.scenario_text.trim_end())
            );
        }
        out.push_str("</body></html>\n");
        (out.into_bytes(), vec![])
    }
}
