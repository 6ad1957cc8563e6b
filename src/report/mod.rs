//! Exporters, one small type per format (hyperfine-style): a stored run in, files out.

mod csv;
pub mod evidence;
mod hlog;
mod html;
mod json;
mod junit;
mod markdown;
pub mod svg;

use crate::scenario::SENSITIVE_HEADERS;
use std::path::{Path, PathBuf};

use crate::metrics::{Accumulator, EndpointSummary, Summary, TickSummary};
use crate::store::{RunSeries, Store, StoredRun};

/// Everything an exporter may show about one run, loaded once.
pub struct Report {
    /// The stored run (its scenario text already redacted).
    pub run: StoredRun,
    /// The run's summary (rebuilt from its ticks if it has none yet).
    pub summary: Summary,
    /// Per-tick totals, for charts and CSV.
    pub ticks: Vec<TickSummary>,
    /// Per-series tick figures, for CSV.
    pub series: RunSeries,
    /// Run totals from the stored histograms (warm-up excluded), for the spectrum and the hlog.
    pub totals: Accumulator,
    /// The latency heatmap (150 columns at most), built in the one walk over the stored ticks.
    pub heat: crate::metrics::heatmap::HeatmapData,
    /// An open-model ramp's levels (offered rate, concurrency, responses/s, p95 ms), from that walk.
    pub open_levels: Vec<(f64, f64, f64, f64)>,
    /// The database the run is in: the hlog walks its ticks again rather than holding them all.
    pub db: std::path::PathBuf,
    /// Comparisons of this run (the candidate) against baselines, with each baseline's name and totals.
    pub comparisons: Vec<Baseline>,
    /// The server side sampled beside the run (`[monitor]`), point by point.
    pub monitor: crate::store::MonitorData,
    /// What a proxy added to requests sent both direct and through it (none without a proxy).
    pub overhead: Vec<crate::analysis::overhead::Overhead>,
}

/// Column names of [`Report::monitor_rows`].
pub const MONITOR_COLUMNS: [&str; 6] = ["series", "min", "mean", "max", "last", "seconds"];

/// What the server-side section says before its table.
pub const MONITOR_INTRO: &str = "What was read each second beside the load: the scenario's \
[monitor] (gauges as read, counters as rates per second (/s), histograms as quantiles of what \
they observed), webhook deliveries, and each split value's share of its request's responses.";

/// What the side-by-side section says before its table.
pub const BESIDE_INTRO: &str = "Where the time went and what the server did, in both runs: \
phases at their p95 and monitored series, set side by side without a verdict (they explain the \
verdicts above; they are not judged).";

/// Table rows, cell by cell.
type Rows = Vec<Vec<String>>;

/// A staged ramp's levels as a report shows them.
pub struct Scalability {
    /// Column names (the level's kind first).
    pub columns: Vec<&'static str>,
    /// One row per level held.
    pub rows: Vec<Vec<String>>,
    /// The scalability law's fit, or why it was not fitted.
    pub line: String,
}

/// A baseline this run is compared with.
pub struct Baseline {
    /// Its name.
    pub name: String,
    /// Its totals (for the overlaid spectrum).
    pub totals: crate::metrics::Stats,
    /// The verdicts.
    pub comparison: crate::analysis::compare::Comparison,
    /// Its summary, when it is one run (for its phases and server side beside this run's).
    pub summary: Option<Summary>,
}

/// What a report is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Markdown with SVG charts beside it.
    Markdown,
    /// One self-contained HTML file (the one that opens anywhere).
    #[default]
    Html,
    /// The full summary, versioned.
    Json,
    /// The tick series.
    Csv,
    /// Thresholds as JUnit test cases.
    Junit,
    /// HdrHistogram interval log.
    Hlog,
}

impl Format {
    /// Every format, as `--format` names it.
    pub const ALL: [(&'static str, Format); 6] = [
        ("md", Format::Markdown),
        ("html", Format::Html),
        ("json", Format::Json),
        ("csv", Format::Csv),
        ("junit", Format::Junit),
        ("hlog", Format::Hlog),
    ];

    /// Parses a `--format` value.
    pub fn from_name(s: &str) -> Option<Format> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, f)| *f)
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Junit => "xml",
            Format::Hlog => "hlog",
        }
    }

    /// The exporter of this format.
    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Format::Markdown => Box::new(markdown::Markdown),
            Format::Html => Box::new(html::Html),
            Format::Json => Box::new(json::Json),
            Format::Csv => Box::new(csv::Csv),
            Format::Junit => Box::new(junit::Junit),
            Format::Hlog => Box::new(hlog::Hlog),
        }
    }
}

/// One output format.
pub trait Exporter {
    /// Renders the report's main file; extra files (charts) are returned as (file name, content).
    fn render(&self, report: &Report, stem: &str) -> (Vec<u8>, Vec<(String, String)>);

    /// Writes the main file to `out` as it is made, for output that grows with the run's length
    /// (the default renders it whole first); returns the extra files.
    fn render_to(
        &self,
        report: &Report,
        stem: &str,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<Vec<(String, String)>> {
        let (main, extra) = self.render(report, stem);
        out.write_all(&main)?;
        Ok(extra)
    }
}

/// Writes `report` to `out` in `format` (charts beside it for Markdown); returns every file written.
/// Existing files (the report or a chart beside it) are replaced only when `replace`; nothing is
/// written unless every file may be, and each is written whole or not at all.
pub fn write(
    report: &Report,
    format: Format,
    out: &Path,
    replace: bool,
) -> std::io::Result<Vec<PathBuf>> {
    let stem = out.file_stem().map_or_else(
        || "report".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    if format == Format::Hlog {
        // A histogram a second per series: a day's log is hundreds of MB, written as it is made.
        let exporter = format.exporter();
        crate::output::write_with(out, replace, &mut |f| {
            exporter.render_to(report, &stem, f).map(|_| ())
        })?;
        return Ok(vec![out.to_path_buf()]);
    }
    let (main, extra) = format.exporter().render(report, &stem);
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(&dir)?;
    }
    let extra: Vec<(PathBuf, String)> = extra.into_iter().map(|(n, c)| (dir.join(n), c)).collect();
    for p in std::iter::once(out).chain(extra.iter().map(|(p, _)| p.as_path())) {
        crate::output::check(p, replace)?;
    }
    let mut written = vec![out.to_path_buf()];
    crate::output::write(out, &main, replace)?;
    for (p, content) in extra {
        crate::output::write(&p, content.as_bytes(), replace)?;
        written.push(p);
    }
    Ok(written)
}

impl Report {
    /// The tool that measured the run when it was imported from another tool's results.
    pub fn measured_by(&self) -> Option<&str> {
        self.run.host.get("imported")?.get("tool")?.as_str()
    }

    /// Whether latency runs from the actual send (another tool's results without coordinated
    /// omission correction), so no sentence or title claims it was corrected.
    pub fn timed_from_send(&self) -> bool {
        self.measured_by().is_some()
            && self.run.host["imported"]
                .get("corrected")
                .and_then(|c| c.as_bool())
                != Some(true)
    }

    /// The server side as rows (series, min, mean, max, last, seconds), and a line per source
    /// that could not always be read; empty when the run had no `[monitor]`.
    pub fn monitor_rows(&self) -> (Vec<Vec<String>>, Vec<String>) {
        self.summary
            .monitor
            .as_ref()
            .map_or_else(Default::default, |m| (m.rows(), m.gaps()))
    }

    /// A chart per monitored series (up to 8), on the run's time axis with its annotations;
    /// a second that was not read is a gap. Each is (file suffix, title, SVG).
    pub fn monitor_charts(&self) -> Vec<(String, String, String)> {
        let marks: Vec<f64> = self.run.annotations.iter().map(|a| a.at_s).collect();
        let secs = |x: f64| format!("{} s", crate::format::plain(x));
        let value = |y: f64| crate::format::reading(y);
        self.monitor
            .series
            .iter()
            .take(8)
            .enumerate()
            .map(|(i, m)| {
                let mut points = Vec::with_capacity(m.points.len() + 8);
                for (j, p) in m.points.iter().enumerate() {
                    if j > 0 && p.0 - m.points[j - 1].0 > 1.5 {
                        points.push(((p.0 + m.points[j - 1].0) / 2.0, f64::NAN));
                    }
                    points.push(*p);
                }
                let svg = svg::line_chart_marked(
                    &svg::Axes {
                        title: &m.name,
                        x_label: "time (s)",
                        y_label: "",
                        x_fmt: &secs,
                        y_fmt: &value,
                        x_ticks: None,
                        empty: "never read",
                    },
                    &[svg::Series {
                        name: "each second",
                        points,
                        dashed: false,
                    }],
                    &marks,
                );
                (format!("monitor-{}", i + 1), m.name.clone(), svg)
            })
            .collect()
    }

    /// The sentence under "Results" saying where latency is measured from.
    pub fn latency_origin(&self) -> String {
        match self.measured_by() {
            Some(tool) if self.timed_from_send() => format!(
                "Latency as {tool} measured it: from each request's actual send (not corrected for coordinated omission)."
            ),
            Some(tool) => format!(
                "Latency as {tool} measured it, from each request's intended start (coordinated omission corrected)."
            ),
            None => "Latency is measured from each request's intended start (coordinated omission corrected).".into(),
        }
    }

    /// Loads a stored run with everything the exporters need.
    pub fn load(store: &Store, id: i64) -> crate::store::Result<Report> {
        Report::load_compared(store, id, &[])
    }

    /// Loads a run and its verdicts against a baseline set (several runs judged as one, their
    /// spread the run-to-run drift, as `run --compare-to baseline` judges); one run alone is
    /// [`Report::load_compared`].
    pub fn load_against_set(
        store: &Store,
        id: i64,
        baselines: &[i64],
    ) -> crate::store::Result<Report> {
        if baselines.len() < 2 {
            return Report::load_compared(store, id, baselines);
        }
        let mut report = Report::load_compared(store, id, &[])?;
        let comparison = crate::analysis::compare::compare_to_runs(store, baselines, id)?;
        let mut totals = crate::metrics::Stats::default();
        for &b in baselines {
            totals.merge(&store.totals(b)?.total());
        }
        report.comparisons.push(Baseline {
            name: comparison.against(),
            totals,
            comparison,
            summary: None,
        });
        Ok(report)
    }

    /// Loads a run and its comparisons against `baselines`.
    pub fn load_compared(
        store: &Store,
        id: i64,
        baselines: &[i64],
    ) -> crate::store::Result<Report> {
        let mut comparisons = Vec::new();
        for &b in baselines {
            let comparison = crate::analysis::compare::compare_runs(store, b, id)?;
            let base = store.run(b)?;
            comparisons.push(Baseline {
                name: base.row.name,
                totals: store.totals(b)?.total(),
                comparison,
                summary: base.summary,
            });
        }
        let mut run = store.run(id)?;
        let mut series = store.series(id, run.info.keys.len())?;
        // The journeys' points follow the series' (rows as `RunInfo::rows` gives them).
        let journeys = run.info.journeys.len();
        series.series.extend(store.journey_points(id, journeys)?);
        // The totals, and each tick's latency for the heatmap and the ramp's levels, in one pass
        // over the stored bytes.
        // 150 columns at most: a day-long run's report stays a readable size.
        let mut heat = crate::metrics::heatmap::HeatmapData::bounded(150);
        let mut levels = crate::analysis::usl::OpenLevels::default();
        // Ramp levels need two offered rates at least: a steady run skips their per-second work.
        let mut offered = series.ticks.iter().filter(|t| !t.warmup);
        let first = offered.next().map(|t| t.target.round() as u64);
        let ramp = run.info.model == crate::scenario::Model::Open
            && first.is_some_and(|f| offered.any(|t| t.target.round() as u64 != f));
        let mut all = crate::metrics::Buckets::default();
        let totals = store.totals_and_each_tick(id, &mut |t, series| {
            heat.begin_tick(t.end - t.seconds, t.drain);
            all.clear();
            let (mut requests, mut errors) = (0, 0);
            for s in series {
                for (_, highest, count) in s.latency.iter() {
                    heat.add(highest, count);
                }
                if ramp {
                    all.add(&s.latency);
                    requests += s.requests;
                    errors += s.errors;
                }
            }
            if ramp {
                levels.push_buckets(t, requests, errors, &mut all);
            }
        })?;
        let summary = match run.summary.clone() {
            Some(s) => s,
            None => {
                let started = crate::format::system_time(run.row.started_at_ms);
                Summary::build(&run.info, &totals, run.row.status, started)
            }
        };
        let overhead = crate::analysis::overhead::proxy_overhead(store, &run)?;
        run.scenario_text = redact(&run.scenario_text);
        let monitor = store.monitor(id)?;
        Ok(Report {
            ticks: series.ticks.clone(),
            series,
            run,
            summary,
            totals,
            heat,
            open_levels: levels.finish(),
            db: store.path().to_path_buf(),
            comparisons,
            monitor,
            overhead,
        })
    }

    /// A staged ramp: one row per level held (virtual users, or an offered rate with its
    /// concurrency by Little's law), the columns, and the scalability law fitted to the levels'
    /// concurrency and throughput (or why not); None for runs without two or more levels.
    pub fn scalability(&self) -> Option<Scalability> {
        use crate::format;
        let (columns, points, rows): (Vec<&'static str>, Vec<(f64, f64)>, Rows) =
            match self.run.info.model {
                crate::scenario::Model::Closed => {
                    let levels = crate::analysis::usl::levels(&self.ticks);
                    (
                        vec!["virtual users", "responses/s", "p95"],
                        levels.iter().map(|l| (l.0, l.1)).collect(),
                        levels
                            .iter()
                            .map(|(n, x, p95)| {
                                vec![
                                    format::plain(*n),
                                    format::rate(*x),
                                    format::micros(p95 * 1000.0),
                                ]
                            })
                            .collect(),
                    )
                }
                crate::scenario::Model::Open => {
                    let levels = &self.open_levels;
                    (
                        vec![
                            "offered rate",
                            "concurrency (Little's law)",
                            "responses/s",
                            "p95",
                        ],
                        levels.iter().map(|l| (l.1, l.2)).collect(),
                        levels
                            .iter()
                            .map(|(rate, n, x, p95)| {
                                vec![
                                    format::rate(*rate),
                                    format!("{n:.2}"),
                                    format::rate(*x),
                                    format::micros(p95 * 1000.0),
                                ]
                            })
                            .collect(),
                    )
                }
            };
        if rows.len() < 2 {
            return None;
        }
        let line = match crate::analysis::usl::fit(&points) {
            Ok(u) => u.describe(),
            Err(why) => format!("USL not fitted: {why}"),
        };
        Some(Scalability {
            columns,
            rows,
            line,
        })
    }

    /// The run's annotations as rows (number, time, text), numbered as the charts mark them.
    pub fn annotation_rows(&self) -> Vec<Vec<String>> {
        self.run
            .annotations
            .iter()
            .enumerate()
            .map(|(i, a)| {
                vec![
                    (i + 1).to_string(),
                    format!("{} s", crate::format::plain(a.at_s)),
                    a.text.clone(),
                ]
            })
            .collect()
    }

    /// The endpoints and, when there are several, the total.
    pub fn endpoint_rows(&self) -> Vec<&EndpointSummary> {
        let mut rows: Vec<&EndpointSummary> = self.summary.endpoints.iter().collect();
        if rows.len() > 1 {
            rows.push(&self.summary.total);
        }
        rows
    }

    /// The SVG charts: (file suffix, title, svg).
    pub fn charts(&self) -> Vec<(&'static str, &'static str, String)> {
        // A run stopped between seconds ends with a sliver of a tick (a request in 5 ms reads
        // as 200/s): drawn, it would be a spike at the end that no second had.
        let ticks = match self.ticks.split_last() {
            Some((last, rest)) if !rest.is_empty() && last.seconds < 0.5 => rest,
            _ => &self.ticks[..],
        };
        let t: Vec<f64> = ticks.iter().map(|t| t.end).collect();
        let pts = |f: &dyn Fn(&TickSummary) -> f64| -> Vec<(f64, f64)> {
            t.iter().zip(ticks).map(|(x, tk)| (*x, f(tk))).collect()
        };
        let secs = |x: f64| format!("{} s", crate::format::plain(x));
        // Seconds without a response have no latency (stored as 0): a gap, not a point at 0.
        let lat = |q: usize| -> Vec<(f64, f64)> {
            pts(&|k| {
                if k.latency_us[q] > 0 {
                    k.latency_us[q] as f64 / 1000.0
                } else {
                    f64::NAN
                }
            })
        };
        let ms = |y: f64| crate::format::micros(y * 1000.0);
        let marks: Vec<f64> = self.run.annotations.iter().map(|a| a.at_s).collect();
        let latency = svg::line_chart_marked(
            &svg::Axes {
                title: if self.timed_from_send() {
                    "Latency over time (from the send)"
                } else {
                    "Latency over time (corrected)"
                },
                x_label: "time (s)",
                y_label: "latency (ms)",
                x_fmt: &secs,
                y_fmt: &ms,
                x_ticks: None,
                empty: svg::NO_RESPONSE,
            },
            &[
                svg::Series {
                    name: "p50",
                    points: lat(0),
                    dashed: false,
                },
                svg::Series {
                    name: "p95",
                    points: lat(2),
                    dashed: false,
                },
                svg::Series {
                    name: "p99",
                    points: lat(3),
                    dashed: false,
                },
            ],
            &marks,
        );
        let open = self.run.info.model == crate::scenario::Model::Open;
        let mut rate_series = vec![svg::Series {
            name: "succeeded",
            points: pts(&|k| k.per_second(k.requests.saturating_sub(k.errors))),
            dashed: false,
        }];
        // Failures drawn apart, so a service refusing everything does not look like throughput.
        if ticks.iter().any(|k| k.errors > 0) {
            rate_series.push(svg::Series {
                name: "failed",
                points: pts(&|k| k.per_second(k.errors)),
                dashed: false,
            });
        }
        if open {
            rate_series.push(svg::Series {
                name: "target",
                points: pts(&|k| k.target),
                dashed: true,
            });
        }
        let rate = svg::line_chart_marked(
            &svg::Axes {
                title: "Throughput over time",
                x_label: "time (s)",
                y_label: "requests/s",
                x_fmt: &secs,
                y_fmt: &|y| crate::format::rate(y),
                x_ticks: None,
                empty: "no request ended",
            },
            &rate_series,
            &marks,
        );
        let total = self.totals.total();
        let spectrum = svg::spectrum_chart(&[
            ("corrected", &total.latency),
            ("service time", &total.service),
        ]);
        let mut charts = vec![
            ("latency", "Latency over time", latency),
            ("rate", "Throughput over time", rate),
            ("spectrum", "Latency by percentile", spectrum),
            (
                "histogram",
                "Latency distribution",
                svg::histogram_chart(&total.latency),
            ),
            ("heatmap", "Latency heatmap", svg::heatmap_chart(&self.heat)),
        ];
        // Errors by kind over time, when there were any: when they came, and of which kind.
        let mut kinds: Vec<&str> = ticks
            .iter()
            .flat_map(|k| k.error_kinds.iter().map(|(n, _)| n.as_str()))
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        if !kinds.is_empty() {
            let series: Vec<svg::Series> = kinds
                .iter()
                .map(|kind| svg::Series {
                    name: kind,
                    points: pts(&|k| {
                        let n = k
                            .error_kinds
                            .iter()
                            .find(|(name, _)| name == kind)
                            .map_or(0, |(_, n)| *n);
                        k.per_second(n)
                    }),
                    dashed: false,
                })
                .collect();
            let errors = svg::line_chart_marked(
                &svg::Axes {
                    title: "Errors by kind over time",
                    x_label: "time (s)",
                    y_label: "errors/s",
                    x_fmt: &secs,
                    y_fmt: &|y| crate::format::rate(y),
                    x_ticks: None,
                    empty: "no error",
                },
                &series,
                &marks,
            );
            charts.push(("errors", "Errors by kind over time", errors));
        }
        if !self.comparisons.is_empty() {
            let this = format!("#{} (this run)", self.run.row.id);
            let names: Vec<String> = self
                .comparisons
                .iter()
                .map(|b| {
                    if b.comparison.baselines.len() > 1 {
                        b.name.clone()
                    } else {
                        format!("#{} {}", b.comparison.baseline, b.name)
                    }
                })
                .collect();
            let mut overlay: Vec<(&str, &hdrhistogram::Histogram<u64>)> =
                vec![(this.as_str(), &total.latency)];
            for (n, b) in names.iter().zip(&self.comparisons) {
                overlay.push((n.as_str(), &b.totals.latency));
            }
            charts.push((
                "compare",
                "Latency by percentile, against the baselines",
                svg::spectrum_chart(&overlay),
            ));
        }
        charts
    }

    /// Per baseline run: its name and the figures set beside this run's (phases, server side).
    pub fn beside_rows(&self) -> Vec<(String, Vec<Vec<String>>)> {
        self.comparisons
            .iter()
            .filter_map(|b| b.summary.as_ref().map(|s| (b.name.clone(), s)))
            .map(|(name, s)| (name, crate::analysis::compare::beside(s, &self.summary)))
            .filter(|(_, rows)| !rows.is_empty())
            .collect()
    }

    /// The comparison tables: per baseline, its title, verdict, the notes that qualify it and
    /// rows of request, metric, baseline, candidate, change, interval, verdict.
    pub fn comparison_rows(&self) -> Vec<Compared> {
        self.comparisons
            .iter()
            .map(|b| {
                let c = &b.comparison;
                let mut rows = Vec::new();
                for (name, changes) in &c.requests {
                    let who = crate::analysis::compare::shown(name);
                    for m in changes {
                        let value = |v: f64| m.format_value(v);
                        rows.push(vec![
                            who.clone(),
                            m.metric.clone(),
                            value(m.baseline),
                            value(m.candidate),
                            m.format_change(m.relative),
                            m.format_interval(),
                            m.verdict.as_str().to_string(),
                        ]);
                    }
                }
                Compared {
                    title: if c.baselines.len() > 1 {
                        format!("Against {}", c.against())
                    } else {
                        format!("Against baseline #{} ({})", c.baseline, b.name)
                    },
                    regressed: !c.regressions().is_empty(),
                    verdict: c.verdict_line(),
                    notes: c.notes.iter().cloned().chain(c.short_of_data()).collect(),
                    rows,
                }
            })
            .collect()
    }
}

/// One comparison as a report prints it: a verdict line, the notes a reader needs to trust it
/// (each its own line, not one parenthesis), then its table.
pub struct Compared {
    /// `Against baseline #1 (Checkout API)`.
    pub title: String,
    /// Whether any metric regressed (the verdict is then `REGRESSED: …`).
    pub regressed: bool,
    /// `REGRESSED: …`, `inconclusive: …` or `no significant regression`.
    pub verdict: String,
    /// How the baseline was measured, what was not judged and why, what more data would settle.
    pub notes: Vec<String>,
    /// Request, metric, baseline, candidate, change, interval, verdict.
    pub rows: Vec<Vec<String>>,
}

/// The scenario text with every value of an authorization-like header replaced by `[redacted]`
/// (literal values and `${env.*}` references alike), so a report shows which headers were sent
/// but never what they held.
pub fn redact(text: &str) -> String {
    let text = &crate::scenario::credentials::redact_userinfo(text);
    let Ok(mut doc) = text.parse::<toml_edit::DocumentMut>() else {
        return redact_lines(text);
    };
    if let Some(reqs) = doc
        .get_mut("requests")
        .and_then(toml_edit::Item::as_array_of_tables_mut)
    {
        for r in reqs.iter_mut() {
            let Some(h) = r.get_mut("headers").and_then(|h| h.as_table_like_mut()) else {
                continue;
            };
            let keys: Vec<String> = h.iter().map(|(k, _)| k.to_string()).collect();
            for k in keys {
                if SENSITIVE_HEADERS.contains(&k.to_ascii_lowercase().as_str())
                    && let Some(v) = h.get_mut(&k).and_then(toml_edit::Item::as_value_mut)
                {
                    let decor = v.decor().clone();
                    *v = "[redacted]".into();
                    *v.decor_mut() = decor;
                }
            }
        }
    }
    doc.to_string()
}

/// Line-based redaction for text that is not valid TOML.
fn redact_lines(text: &str) -> String {
    text.lines()
        .map(|l| {
            let lower = l.to_ascii_lowercase();
            if SENSITIVE_HEADERS.iter().any(|h| lower.contains(h)) {
                "# [line redacted: it names a credential header]".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted_env_references_kept() {
        let t = "[[requests]]\nname = \"a\"\npath = \"/\"\nheaders = { Authorization = \"Bearer abc123\", x-trace = \"keep\", cookie = \"${env.C}\" }\n";
        let r = redact(t);
        assert!(
            !r.contains("abc123") && r.contains("keep") && r.contains("[redacted]"),
            "{r}"
        );
        assert!(!redact_lines("authorization = \"x\"").contains('x'));
    }
}
