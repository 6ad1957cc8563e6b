//! How a comparison is said to people: its verdict in a few words, what regressed, what could
//! not be judged and why, and each compared row's name.

use super::{Comparison, MIN_BLOCKS, TOO_UNCERTAIN, Verdict};

/// A compared row's name as people read it: `all` for every request together, `items (journey)`
/// for a journey's whole iterations (as the results tables say; JSON and JUnit keep the
/// identifier `items@(journey)`), else `request@target`.
pub fn shown(name: &str) -> String {
    if name == "*" {
        return "all".to_string();
    }
    name.strip_suffix(crate::metrics::JOURNEY_TARGET)
        .and_then(|n| n.strip_suffix('@'))
        .map_or_else(|| name.to_string(), |j| format!("{j} (journey)"))
}

impl Comparison {
    /// The metrics that could not be judged and what would let them be, so a short run says
    /// "run longer" instead of passing quietly.
    pub fn short_of_data(&self) -> Option<String> {
        let mut metrics: Vec<&str> = Vec::new();
        for m in self.requests.iter().flat_map(|(_, ch)| ch) {
            if m.verdict == Verdict::NotEnoughData && !metrics.contains(&m.metric.as_str()) {
                metrics.push(&m.metric);
            }
        }
        if metrics.is_empty() {
            return None;
        }
        Some(format!(
            "not enough data for {}: each side needs {MIN_BLOCKS} measured seconds and 10 \
             responses beyond each percentile (p50: 20, p95: 200, p99: 1,000 responses in the \
             run); run longer or at a higher rate",
            metrics.join(", ")
        ))
    }
    /// The metrics that regressed, as `items/login@api p95` (named as [`shown`] names them).
    pub fn regressions(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, changes) in &self.requests {
            let who = shown(name);
            for m in changes.iter().filter(|m| m.verdict == Verdict::Regressed) {
                out.push(format!("{who} {}", m.metric));
            }
        }
        out
    }

    /// The comparison's verdict in a few words, as reports and the window head it: what
    /// regressed, or why nothing could be judged, or that nothing moved.
    pub fn verdict_line(&self) -> String {
        let regressions = self.regressions();
        if !regressions.is_empty() {
            format!("REGRESSED: {}", regressions.join(", "))
        } else if self.inconclusive {
            format!("inconclusive: {}", self.why_inconclusive())
        } else {
            "no significant regression".to_string()
        }
    }

    /// Why a comparison was left inconclusive, in a few words for its one line.
    pub fn why_inconclusive(&self) -> &'static str {
        if self.notes.iter().any(|n| n.starts_with(TOO_UNCERTAIN)) {
            "too uncertain to judge (baseline runs far apart, or runs too short)"
        } else {
            "the machine differed (rerun on a quiet machine)"
        }
    }

    /// What this run was held against, as the log, the reports and JUnit name it: `baseline
    /// #12`, `baseline runs #12, #13, #14` or `benchmark "rival"`.
    pub fn against(&self) -> String {
        match &self.benchmark {
            Some(name) => format!("benchmark \"{name}\""),
            None if self.baselines.len() > 1 => format!(
                "baseline runs {}",
                self.baselines
                    .iter()
                    .map(|b| format!("#{b}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!("baseline #{}", self.baseline),
        }
    }

    /// The worst finding, in one line, for the end of a log: `p95 of * +12.0% (5.37 ms → 6.01 ms)`.
    pub fn headline(&self) -> Option<String> {
        let worst = self
            .requests
            .iter()
            .flat_map(|(name, ch)| ch.iter().map(move |m| (name, m)))
            .filter(|(_, m)| m.verdict == Verdict::Regressed)
            .max_by(|a, b| {
                a.1.p_worse
                    .unwrap_or(1.0)
                    .total_cmp(&b.1.p_worse.unwrap_or(1.0))
                    .reverse()
            })?;
        let (name, m) = worst;
        let whom = if name == "*" {
            String::new()
        } else {
            format!(" of {name}")
        };
        Some(format!(
            "{}{whom} {} ({} → {})",
            m.metric,
            m.format_change(m.relative),
            m.format_value(m.baseline),
            m.format_value(m.candidate)
        ))
    }
}
