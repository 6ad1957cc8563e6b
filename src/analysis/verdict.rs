//! The one line a run ends with and a report leads with: what was decided and why.

use super::compare::Comparison;
use crate::metrics::Summary;

/// The one line a run ends with: PASS or FAIL (or STOPPED), and what decided it — failed
/// thresholds with their values, the worst regression against the baseline, or why a comparison
/// was inconclusive.
pub fn line(
    s: &Summary,
    comparison: Option<&Comparison>,
    run: Option<i64>,
    stopped: bool,
) -> String {
    let mut failed: Vec<String> = s
        .thresholds
        .iter()
        .filter(|t| !t.passed)
        .map(|t| {
            let scope = t.scope_name().map_or(String::new(), |r| format!(" of {r}"));
            format!("{}{scope} (actual {})", t.expression, t.actual_text)
        })
        .collect();
    let against = Comparison::against;
    let mut said = Vec::new();
    if let Some(c) = comparison {
        if let Some(h) = c.headline() {
            failed.push(format!("{h} vs {}", against(c)));
        } else if c.inconclusive {
            said.push(format!(
                "inconclusive against {}: {}",
                against(c),
                c.why_inconclusive()
            ));
        } else {
            said.push(format!("no regression against {}", against(c)));
        }
    }
    let run = run.map_or(String::new(), |id| format!("run #{id}: "));
    if let Some(why) = &s.halted {
        return format!("FAIL: {run}{why}");
    }
    if stopped {
        return format!("STOPPED: {run}stopped before the end; what was measured is kept");
    }
    if failed.is_empty() {
        let held = match s.thresholds.len() {
            0 => "no thresholds set".to_string(),
            n => format!("all {n} thresholds held"),
        };
        said.insert(0, held);
        format!("PASS: {run}{}", said.join("; "))
    } else {
        failed.extend(said);
        format!("FAIL: {run}{}", failed.join("; "))
    }
}
