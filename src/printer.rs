//! Text output of the CLI: the live progress line and the end-of-run summary table.

use std::fmt::Write;

use crate::format;
use crate::metrics::{EndpointSummary, LatencySummary, Stats, Summary, Tick};

/// Keeps what the progress line needs between ticks (a run-so-far histogram, constant size).
pub struct Progress {
    so_far: Stats,
    total_s: f64,
    open: bool,
}

impl Progress {
    /// A progress line for a run of `total_s` seconds.
    pub fn new(total_s: f64, open: bool) -> Progress {
        Progress {
            so_far: Stats::default(),
            total_s,
            open,
        }
    }

    /// Adds a tick and returns its progress line.
    pub fn line(&mut self, tick: &Tick) -> String {
        let t = tick.total();
        if !tick.warmup {
            self.so_far.merge(&t);
        }
        let shown = if tick.warmup { &t } else { &self.so_far };
        let rate = tick.per_second(t.requests);
        let q = |p: f64| {
            if shown.latency.is_empty() {
                "-".to_string()
            } else {
                format::micros(shown.latency.value_at_quantile(p) as f64)
            }
        };
        let target = if self.open {
            format!("target {}", format::rate(tick.target))
        } else {
            format!("{} VUs", tick.target)
        };
        let mut line = format!(
            "[{:>5}/{}]{} {} ({target}) | p50 {} p95 {} p99 {} | errors {} ({}) | in flight {}",
            format::span(format::secs(tick.end.round())),
            format::span(format::secs(self.total_s)),
            if tick.warmup { " warm-up" } else { "" },
            format::rate(rate),
            q(0.50),
            q(0.95),
            q(0.99),
            format::count(shown.errors),
            format::percent(shown.error_rate()),
            tick.in_flight,
        );
        if tick.not_started > 0 {
            let _ = write!(line, " | not started {}", tick.not_started);
        }
        line
    }
}

fn lat_cells(l: &LatencySummary) -> [String; 8] {
    let f = |ms: f64| {
        if l.samples == 0 {
            "-".to_string()
        } else {
            format::micros(ms * 1000.0)
        }
    };
    [
        f(l.min_ms),
        f(l.mean_ms),
        f(l.p50_ms),
        f(l.p90_ms),
        f(l.p95_ms),
        f(l.p99_ms),
        f(l.p99_9_ms),
        f(l.max_ms),
    ]
}

fn endpoint_name(e: &EndpointSummary, single_target: bool) -> String {
    if e.request == "*" {
        "TOTAL".to_string()
    } else if single_target {
        e.request.clone()
    } else {
        format!("{} @ {}", e.request, e.target)
    }
}

/// Left-aligns the first column and right-aligns the others.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w - c.chars().count();
            if i == 0 {
                out.push_str(c);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str("  ");
                out.push_str(&" ".repeat(pad));
                out.push_str(c);
            }
        }
        out.push('\n');
    };
    line(
        &mut out,
        &header.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
    );
    for r in rows {
        line(&mut out, r);
    }
    out
}

/// The end-of-run summary as a text table.
pub fn summary(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{} — {} model, {}, {} measured{}",
        s.scenario,
        s.model,
        s.status,
        format::span(format::secs((s.duration_s * 10.0).round() / 10.0)),
        if s.warmup_s > 0.0 {
            format!(
                " (after {} warm-up)",
                format::span(format::secs(s.warmup_s.round()))
            )
        } else {
            String::new()
        }
    );
    if let Some(why) = &s.halted {
        let _ = writeln!(out, "ended early — {why}");
    }
    if let Some(why) = s
        .environment
        .as_ref()
        .and_then(crate::monitor::Environment::generator_saturated)
    {
        let _ = writeln!(out, "warning: {why}");
    }
    // Failures are not throughput: say how much of the rate succeeded when some did not.
    let succeeded = if s.total.errors > 0 && s.duration_s > 0.0 {
        format!(
            ", {} succeeded",
            format::rate(s.total.ok as f64 / s.duration_s)
        )
    } else {
        String::new()
    };
    match (s.target_rate, s.max_vus) {
        (Some(t), _) => {
            // The schedule picks a journey's iteration once, however many requests it sends.
            let iterations: f64 = s.journeys.iter().map(|j| j.rate).sum();
            let journeys = if s.journeys.is_empty() {
                String::new()
            } else {
                format!(
                    " (a journey iteration counts once: iterations ended at {})",
                    format::rate(iterations)
                )
            };
            let _ = writeln!(
                out,
                "rate {} achieved of {} scheduled{journeys}{succeeded}",
                format::rate(s.total.rate),
                format::rate(t)
            );
        }
        (_, Some(v)) => {
            let _ = writeln!(
                out,
                "rate {} with up to {v} virtual users{succeeded}",
                format::rate(s.total.rate)
            );
        }
        _ => {}
    }
    if s.not_started > 0 {
        let _ = writeln!(
            out,
            "{} requests were due but never started (max_in_flight reached): the target could not keep up",
            s.not_started
        );
    }
    let aborted = s.total.error_kinds.get("aborted").copied().unwrap_or(0);
    if aborted > 0 {
        let _ = writeln!(
            out,
            "{aborted} requests were still unanswered when the run ended (aborted: errors, in latency at their wait so far)"
        );
    }
    if s.total.retries > 0 {
        let _ = writeln!(
            out,
            "{} requests were sent again on a new connection (retries)",
            s.total.retries
        );
    }
    out.push('\n');
    let single_target = s
        .endpoints
        .iter()
        .all(|e| e.target == s.endpoints.first().map_or("", |f| f.target.as_str()));
    let header = [
        "latency (corrected)",
        "count",
        "rate",
        "errors",
        "min",
        "mean",
        "p50",
        "p90",
        "p95",
        "p99",
        "p99.9",
        "max",
    ];
    let mut rows = Vec::new();
    let mut entries: Vec<&EndpointSummary> = s.endpoints.iter().collect();
    if s.endpoints.len() > 1 {
        entries.push(&s.total);
    }
    for e in &entries {
        let mut row = vec![
            endpoint_name(e, single_target),
            e.count.to_string(),
            format::rate(e.rate),
            format::percent(e.error_rate),
        ];
        row.extend(lat_cells(&e.latency));
        rows.push(row);
    }
    out.push_str(&table(&header, &rows));
    let journeys = s.journey_rows();
    if !journeys.is_empty() {
        // Whole iterations, apart: an iteration is not one more request in the rows above.
        out.push('\n');
        let mut header = crate::metrics::JOURNEY_COLUMNS;
        header[0] = "journeys (whole iterations)";
        out.push_str(&table(&header, &journeys));
    }
    if s.total.errors > 0 {
        // Failures are in the figures above at the time they failed; these leave them out.
        out.push('\n');
        let header = [
            "successful only",
            "count",
            "min",
            "mean",
            "p50",
            "p90",
            "p95",
            "p99",
            "p99.9",
            "max",
        ];
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                let ok = e.latency_ok.clone().unwrap_or_default();
                let mut row = vec![endpoint_name(e, single_target), ok.samples.to_string()];
                row.extend(lat_cells(&ok));
                row
            })
            .collect();
        out.push_str(&table(&header, &rows));
    }
    if s.model == crate::scenario::Model::Open {
        out.push('\n');
        let header = [
            "service time",
            "late",
            "min",
            "mean",
            "p50",
            "p90",
            "p95",
            "p99",
            "p99.9",
            "max",
        ];
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                let mut row = vec![endpoint_name(e, single_target), e.late_starts.to_string()];
                row.extend(lat_cells(&e.service_time));
                row
            })
            .collect();
        out.push_str(&table(&header, &rows));
    }
    out.push('\n');
    for e in &entries {
        let codes: Vec<String> = e
            .status_codes
            .iter()
            .map(|(c, n)| format!("{c}×{n}"))
            .collect();
        let kinds: Vec<String> = e
            .error_kinds
            .iter()
            .map(|(k, n)| format!("{k}×{n}"))
            .collect();
        let _ = writeln!(
            out,
            "{}: status {}{}",
            endpoint_name(e, single_target),
            if codes.is_empty() {
                "none".to_string()
            } else {
                codes.join(" ")
            },
            if kinds.is_empty() {
                String::new()
            } else {
                format!("; errors {}", kinds.join(" "))
            },
        );
    }
    out.push_str(&evidence(s));
    if let Some(m) = &s.monitor {
        out.push_str(&monitor(m));
    }
    if !s.thresholds.is_empty() {
        let _ = writeln!(out, "\nthresholds:");
        for t in &s.thresholds {
            let _ = writeln!(
                out,
                "  {} {:<28} {:<16} actual {}",
                if t.passed { "✓ pass" } else { "✗ FAIL" },
                t.expression,
                t.scope,
                t.actual_text
            );
        }
    }
    out
}

/// Where the time went per series, and the three slowest requests with what explains them.
pub fn evidence(s: &Summary) -> String {
    let mut out = String::new();
    let phases = s.phase_rows();
    if !phases.is_empty() {
        out.push('\n');
        out.push_str(&table(&crate::metrics::PHASE_COLUMNS, &phases));
    }
    let splits = s.split_rows();
    if !splits.is_empty() {
        out.push('\n');
        out.push_str(&table(&crate::metrics::SPLIT_COLUMNS, &splits));
    }
    let streams = s.stream_rows();
    if !streams.is_empty() {
        out.push('\n');
        out.push_str(&table(&crate::metrics::STREAM_COLUMNS, &streams));
    }
    if let Some(w) = &s.webhooks {
        out.push('\n');
        out.push_str(&table(&crate::metrics::WEBHOOK_COLUMNS, &w.rows()));
    }
    let mut slowest = s.exemplar_rows(false);
    slowest.truncate(3);
    if !slowest.is_empty() {
        let mut header = crate::metrics::EXEMPLAR_COLUMNS;
        header[0] = "slowest requests, at";
        out.push('\n');
        out.push_str(&table(&header, &slowest));
    }
    out
}

/// The server side beside the latency: each monitored series over the run, and failed reads.
pub fn monitor(m: &crate::metrics::MonitorSummary) -> String {
    let mut out = String::new();
    let rows = m.rows();
    if !rows.is_empty() {
        out.push('\n');
        out.push_str(&table(
            &[
                "beside the load (per second)",
                "min",
                "mean",
                "max",
                "last",
                "seconds",
            ],
            &rows,
        ));
    }
    for g in m.gaps() {
        let _ = writeln!(out, "monitor: {g}");
    }
    out
}
