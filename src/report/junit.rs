//! JUnit XML: each threshold is a test case, so any CI shows pass/fail natively.

use std::fmt::Write;

use super::svg::escape;
use super::{Exporter, Report};

/// The JUnit exporter.
pub struct Junit;

/// One test case: where it sits, what it checks, how it came out, and what was measured.
struct Case {
    class: String,
    name: String,
    outcome: Outcome,
    detail: String,
}

/// A case's result as CI tools read it.
#[derive(PartialEq)]
enum Outcome {
    Passed,
    Failed(&'static str),
    /// Undecided (too little data, or a machine that differed): neither a pass nor a failure.
    Skipped,
}

impl Exporter for Junit {
    fn render(&self, r: &Report, _stem: &str) -> (Vec<u8>, Vec<(String, String)>) {
        use crate::analysis::compare::Verdict;
        let mut cases: Vec<Case> = r
            .summary
            .thresholds
            .iter()
            .map(|t| Case {
                class: format!("thresholds.{}", t.scope.replace(':', ".")),
                name: t.expression.clone(),
                outcome: if t.passed {
                    Outcome::Passed
                } else {
                    Outcome::Failed("threshold")
                },
                detail: format!("{} {}: actual {}", t.scope, t.expression, t.actual_text),
            })
            .collect();
        // Class names are stable from build to build (no local run ids), so CI test history
        // follows each case: `baseline` (numbered when a report holds several comparisons).
        let several = r.comparisons.len() > 1;
        for (i, b) in r.comparisons.iter().enumerate() {
            let c = &b.comparison;
            let class = match (&c.benchmark, several) {
                (Some(set), _) => format!("benchmark.{set}"),
                (None, false) => "baseline".to_string(),
                (None, true) => format!("baseline{}", i + 1),
            };
            let against = c.against();
            for (name, changes) in &c.requests {
                for m in changes {
                    cases.push(Case {
                        class: class.clone(),
                        name: format!(
                            "{} {} no regression",
                            if name == "*" { "all" } else { name },
                            m.metric
                        ),
                        outcome: match m.verdict {
                            Verdict::Regressed => Outcome::Failed("regression"),
                            Verdict::NotEnoughData | Verdict::Inconclusive => Outcome::Skipped,
                            Verdict::Improved | Verdict::NoSignificantChange => Outcome::Passed,
                        },
                        detail: format!(
                            "{} vs {against}: {} → {}, {} {} {}",
                            m.metric,
                            m.format_value(m.baseline),
                            m.format_value(m.candidate),
                            m.format_change(m.relative),
                            m.format_interval(),
                            m.verdict.as_str()
                        ),
                    });
                }
            }
        }
        let count = |o: fn(&Outcome) -> bool| cases.iter().filter(|c| o(&c.outcome)).count();
        let failures = count(|o| matches!(o, Outcome::Failed(_)));
        let skipped = count(|o| *o == Outcome::Skipped);
        let tests = cases.len();
        // Each case judged the whole measured run, so each takes its time.
        let time = r.summary.duration_s;
        let name = format!("loadbench: {}", r.summary.scenario);
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{time:.3}\">",
            escape(&name),
        );
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time:.3}\" timestamp=\"{}\">",
            escape(&name),
            escape(&r.summary.started_at)
        );
        let run = format!("run #{} {}", r.run.row.id, r.run.row.name);
        for c in &cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{time:.3}\">",
                escape(&c.class),
                escape(&c.name)
            );
            match c.outcome {
                Outcome::Failed(kind) => {
                    let _ = write!(
                        out,
                        "<failure message=\"{}\" type=\"{kind}\">{}: {}</failure>",
                        escape(&c.detail),
                        escape(&run),
                        escape(&c.detail)
                    );
                }
                Outcome::Skipped => {
                    let _ = write!(out, "<skipped message=\"{}\"/>", escape(&c.detail));
                }
                Outcome::Passed => {}
            }
            // The measured value, pass or fail, where CI tools show a case's output.
            let _ = write!(out, "<system-out>{}</system-out>", escape(&c.detail));
            out.push_str("</testcase>\n");
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        (out.into_bytes(), vec![])
    }
}
