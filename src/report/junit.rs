//! JUnit XML: each threshold is a test case, so any CI shows pass/fail natively.

use std::fmt::Write;

use super::svg::escape;
use super::{Exporter, Report};

/// The JUnit exporter.
pub struct Junit;

impl Exporter for Junit {
    fn render(&self, r: &Report, _stem: &str) -> (Vec<u8>, Vec<(String, String)>) {
        let th = &r.summary.thresholds;
        let failures = th.iter().filter(|t| !t.passed).count();
        let name = format!("loadbench: {}", r.summary.scenario);
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">",
            escape(&name),
            th.len(),
            r.summary.duration_s
        );
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{:.3}\" timestamp=\"{}\">",
            escape(&name),
            th.len(),
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
        out.push_str("  </testsuite>\n</testsuites>\n");
        (out.into_bytes(), vec![])
    }
}
