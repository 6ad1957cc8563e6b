//! A summary's journeys (whole iterations) as table rows, for the terminal, reports and the window.

use super::*;

/// Column names of [`Summary::journey_rows`].
pub const JOURNEY_COLUMNS: [&str; 10] = [
    "journey",
    "iterations",
    "rate",
    "failed",
    "ended by",
    "p50",
    "p95",
    "p99",
    "max",
    "steps' service p95",
];

/// What the journeys' table says before it.
pub const JOURNEYS_INTRO: &str = "Each journey's whole iterations (a k6 group, a JMeter \
transaction): from the first step's intended start to the last step's end, think time included. \
An iteration ended early by a failed step, or by an extract rule that found nothing, counts as \
failed when it ended, under that step's error. The steps' service time is their own time summed \
(no think time, no wait in the generator). Iterations cut short by the end of the run are not \
counted.";

impl Summary {
    /// One row per journey: iterations, their rate, how many failed and why, and their duration.
    pub fn journey_rows(&self) -> Vec<Vec<String>> {
        self.journeys
            .iter()
            .map(|j| {
                let ms = |v: f64| crate::format::micros(v * 1000.0);
                let (lat, service) = (&j.latency, &j.service_time);
                let dash = |n: u64, v: f64| if n > 0 { ms(v) } else { "-".into() };
                let kinds: Vec<String> = j
                    .error_kinds
                    .iter()
                    .map(|(k, n)| format!("{k}×{n}"))
                    .collect();
                vec![
                    j.request.clone(),
                    j.count.to_string(),
                    crate::format::rate(j.rate),
                    format!("{} ({})", j.errors, crate::format::percent(j.error_rate)),
                    if kinds.is_empty() {
                        "-".into()
                    } else {
                        kinds.join(" ")
                    },
                    dash(lat.samples, lat.p50_ms),
                    dash(lat.samples, lat.p95_ms),
                    dash(lat.samples, lat.p99_ms),
                    dash(lat.samples, lat.max_ms),
                    dash(service.samples, service.p95_ms),
                ]
            })
            .collect()
    }
}
