//! JUnit XML: each threshold is a test case, so any CI shows pass/fail natively.

use std::fmt::Write;

use super::svg::escape;
use super::{Exporter, Report};

/// The JUnit exporter.
pub struct Junit;

impl Exporter for Junit {
    fn render(&self, r: &Report, _stem: &str) -> (Vec<u8>, Vec<(String, String)>) {
        let th = &r.summary.thresholds;
        // Baseline checks: one test case per request and metric of each comparison.
        let checks: Vec<(String, String, bool, String)> = r
            .comparisons
            .iter()
            .flat_map(|b| {
                let base = b.comparison.baseline;
                b.comparison
                    .requests
                    .iter()
                    .flat_map(move |(name, changes)| {
                        changes.iter().map(move |m| {
                            (
                                format!("baseline.run{base}"),
                                format!(
                                    "{} {} no regression",
                                    if name == "*" { "all" } else { name },
                                    m.metric
                                ),
                                m.verdict != crate::analysis::compare::Verdict::Regressed,
                                format!(
                                    "{} {} {}",
                                    m.format_change(m.relative),
                                    m.format_interval(),
                                    m.verdict.as_str()
                                ),
                            )
                        })
                    })
            })
            .collect();
        let failures =
            th.iter().filter(|t| !t.passed).count() + checks.iter().filter(|c| !c.2).count();
        let tests = th.len() + checks.len();
        let name = format!("loadbench: {}", r.summary.scenario);
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">",
            escape(&name),
            tests,
            r.summary.duration_s
        );
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{:.3}\" timestamp=\"{}\">",
            escape(&name),
            tests,
            r.summary.duration_s,
            escape(&r.summary.started_at)
        );
        for t in th {
            let _ = write!(
                out,
                "    <testcase classname=\"thresholds.{}\" name=\"{}\" time=\"0\">",
                escape(&t.scope.replace(':', ".")),
                escape(&t.expression)
            );
            if !t.passed {
                let _ = write!(
                    out,
                    "<failure message=\"{} (actual {})\" type=\"threshold\">run #{} {}: {} {} — actual {}</failure>",
                    escape(&t.expression),
                    escape(&t.actual_text),
                    r.run.row.id,
                    escape(&r.run.row.name),
                    escape(&t.scope),
                    escape(&t.expression),
                    escape(&t.actual_text)
                );
            }
            out.push_str("</testcase>\n");
        }
        for (class, case, passed, detail) in &checks {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"0\">",
                escape(class),
                escape(case)
            );
            if !passed {
                let _ = write!(
                    out,
                    "<failure message=\"{}\" type=\"regression\">{}</failure>",
                    escape(detail),
                    escape(detail)
                );
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        (out.into_bytes(), vec![])
    }
}
