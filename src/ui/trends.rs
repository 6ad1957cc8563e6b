//! The Trends screen: one scenario's p50/p95/p99, rate and error rate across its runs, the
//! baseline marked and every later run judged against it as Compare judges; a click opens a run.

use std::collections::BTreeMap;

use egui::RichText;
use egui_plot::{Legend, Line, MarkerShape, PlotPoints, Points};

use super::{Background, Msg, Screen};
use crate::analysis::compare::Comparison;
use crate::format;
use crate::store::{RunFilter, Store};

/// Runs shown at most (the newest).
const MAX_RUNS: usize = 200;
/// Runs judged against the baseline at most (the newest): each judgement reads every histogram.
const MAX_JUDGED: usize = 40;

/// The latency lines and their colours (a line and its points share one).
const QUANTILES: [(&str, egui::Color32); 3] = [
    ("p50", egui::Color32::from_rgb(90, 150, 230)),
    ("p95", egui::Color32::from_rgb(230, 160, 60)),
    ("p99", egui::Color32::from_rgb(170, 110, 220)),
];

/// One run on the trend.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    /// The run.
    pub id: i64,
    /// Its start, ms since the epoch.
    pub started_ms: i64,
    /// Corrected p50, p95, p99 of every request together, ms.
    pub latency_ms: [f64; 3],
    /// Requests per measured second.
    pub rate: f64,
    /// Error share.
    pub error_rate: f64,
    /// Whether it is one of the scenario's baseline runs.
    pub baseline: bool,
    /// How it ended.
    pub status: crate::metrics::RunStatus,
}

/// State of the trends screen.
#[derive(Default)]
pub struct TrendsState {
    /// The scenario shown.
    pub scenario: Option<String>,
    /// Its runs, oldest first.
    pub points: Vec<TrendPoint>,
    /// Each later run against the baseline (by run id).
    pub verdicts: BTreeMap<i64, Comparison>,
    points_pending: Option<Background<Result<Vec<TrendPoint>, String>>>,
    verdicts_pending: Option<Background<BTreeMap<i64, Comparison>>>,
    /// Why the trend could not be read.
    pub error: Option<String>,
}

impl TrendsState {
    /// Shows `scenario`'s runs: their figures at once, their verdicts as they are judged.
    pub fn load(&mut self, db: &std::path::Path, ctx: Option<egui::Context>, scenario: String) {
        self.scenario = Some(scenario.clone());
        self.points.clear();
        self.verdicts.clear();
        self.error = None;
        let name = scenario.clone();
        self.points_pending = Some(super::in_background(db, ctx.clone(), move |s| {
            points(s, &name).map_err(|e| e.to_string())
        }));
        self.verdicts_pending = Some(super::in_background(db, ctx, move |s| {
            let mut out = BTreeMap::new();
            let Ok(bases) = s.baselines_of(&scenario) else {
                return out;
            };
            if bases.is_empty() {
                return out;
            }
            let filter = RunFilter {
                scenario: Some(scenario),
                limit: Some(MAX_JUDGED + bases.len()),
                ..Default::default()
            };
            let rows = s.list_runs(&filter).unwrap_or_default();
            for r in rows
                .iter()
                .filter(|r| !bases.contains(&r.id))
                .take(MAX_JUDGED)
            {
                if let Ok(c) = crate::analysis::compare::compare_to_runs(s, &bases, r.id) {
                    out.insert(r.id, c);
                }
            }
            out
        }));
    }

    /// Whether figures or verdicts are still coming.
    pub fn busy(&self) -> bool {
        self.points_pending.is_some() || self.verdicts_pending.is_some()
    }

    /// Picks up background results.
    pub fn poll(&mut self) {
        match super::take_ready(&mut self.points_pending) {
            Some(Ok(p)) => self.points = p,
            Some(Err(e)) => self.error = Some(e),
            None => {}
        }
        if let Some(v) = super::take_ready(&mut self.verdicts_pending) {
            self.verdicts = v;
        }
    }

    /// What the run's verdict against the baseline says, in a word.
    pub fn verdict(&self, p: &TrendPoint) -> &'static str {
        if p.baseline {
            return "baseline";
        }
        use crate::analysis::compare::Verdict;
        let Some(c) = self.verdicts.get(&p.id) else {
            return "-";
        };
        let latency: Vec<Verdict> = c
            .requests
            .iter()
            .flat_map(|(_, ch)| ch)
            .filter(|m| m.metric.starts_with('p'))
            .map(|m| m.verdict)
            .collect();
        let judged = latency
            .iter()
            .filter(|v| **v != Verdict::NotEnoughData)
            .count();
        if c.regressed {
            "REGRESSED"
        } else if c.inconclusive {
            "inconclusive"
        } else if judged == 0 {
            // A run too short to judge must not read as a pass.
            "not enough data"
        } else if judged < latency.len() {
            "no regression (partly judged)"
        } else {
            "no regression"
        }
    }
}

/// A scenario's runs, oldest first, with the figures of their stored summaries.
fn points(s: &Store, scenario: &str) -> crate::store::Result<Vec<TrendPoint>> {
    let filter = RunFilter {
        scenario: Some(scenario.to_string()),
        limit: Some(MAX_RUNS),
        ..Default::default()
    };
    let mut rows = s.list_runs(&filter)?;
    rows.reverse();
    let mut out = Vec::new();
    for r in rows {
        // A run still running or without a summary has no figures to draw.
        let Some(sum) = s.run(r.id).ok().and_then(|run| run.summary) else {
            continue;
        };
        let l = &sum.total.latency;
        out.push(TrendPoint {
            id: r.id,
            started_ms: r.started_at_ms,
            latency_ms: [l.p50_ms, l.p95_ms, l.p99_ms],
            rate: sum.total.rate,
            error_rate: sum.total.error_rate,
            baseline: r.baseline,
            status: r.status,
        });
    }
    Ok(out)
}

/// Draws the trends screen; `scenarios` are the names the run list knows.
pub fn view(ui: &mut egui::Ui, s: &mut TrendsState, scenarios: &[String], msgs: &mut Vec<Msg>) {
    ui.horizontal(|ui| {
        let label = ui.label("Scenario");
        egui::ComboBox::from_id_salt("trend_scenario")
            .selected_text(s.scenario.as_deref().unwrap_or("choose a scenario"))
            .show_ui(ui, |ui| {
                for name in scenarios {
                    if ui
                        .selectable_label(s.scenario.as_deref() == Some(name), name)
                        .clicked()
                    {
                        msgs.push(Msg::ShowTrends(name.clone()));
                    }
                }
            })
            .response
            .labelled_by(label.id);
        if s.busy() {
            ui.spinner();
            ui.label(if s.points.is_empty() {
                "reading the runs…"
            } else {
                "judging each run against the baseline…"
            });
        }
    });
    if let Some(e) = &s.error {
        ui.colored_label(super::theme::error(ui), e);
    }
    if s.scenario.is_none() {
        ui.label("Choose a scenario: its runs over time, judged against its baseline.");
        return;
    }
    if s.points.is_empty() {
        if !s.busy() {
            ui.label("No finished run of this scenario yet.");
        }
        return;
    }
    if !s.points.iter().any(|p| p.baseline) {
        ui.weak(
            "No baseline marked: mark one or more runs as the baseline (Runs screen) and every \
             later run is judged against them here.",
        );
    }
    let h = ((ui.available_height() - 220.0) / 2.0).clamp(160.0, 420.0);
    egui::ScrollArea::vertical().id_salt("trends").show(ui, |ui| {
        ui.label("Latency of every request together (corrected), one point per run; click a point to open the run");
        if let Some(id) = latency_plot(ui, s, h) {
            msgs.push(Msg::OpenRun(id));
            msgs.push(Msg::Goto(Screen::Runs));
        }
        ui.columns(2, |cols| {
            cols[0].label("Rate (requests/s)");
            figure_plot(&mut cols[0], s, "trend_rate", h * 0.7, |p| p.rate, format::rate);
            cols[1].label("Error rate");
            figure_plot(&mut cols[1], s, "trend_errors", h * 0.7, |p| p.error_rate, format::percent);
        });
        table(ui, s, msgs);
    });
}

/// The run's number on the trend's axis (its position, oldest first) as "#id".
fn run_axis(
    ids: Vec<i64>,
) -> impl Fn(egui_plot::GridMark, &std::ops::RangeInclusive<f64>) -> String {
    move |m, _| {
        let i = m.value.round();
        if (m.value - i).abs() > 1e-6 || i < 0.0 {
            return String::new();
        }
        ids.get(i as usize)
            .map_or(String::new(), |id| format!("#{id}"))
    }
}

fn base(id: &str, s: &TrendsState, height: f32) -> egui_plot::Plot<'static> {
    let ids: Vec<i64> = s.points.iter().map(|p| p.id).collect();
    egui_plot::Plot::new(format!(
        "{id} {}",
        s.scenario.as_deref().unwrap_or_default()
    ))
    .height(height)
    .x_axis_label("run")
    .x_axis_formatter(run_axis(ids))
    .x_grid_spacer(egui_plot::uniform_grid_spacer(|_| [1.0, 5.0, 25.0]))
    .include_x(-0.5)
    .include_x(s.points.len() as f64 - 0.5)
    .include_y(0.0)
    .allow_scroll(false)
}

/// p50/p95/p99 per run, baseline runs as diamonds, regressions as red crosses; returns the run
/// clicked.
fn latency_plot(ui: &mut egui::Ui, s: &TrendsState, height: f32) -> Option<i64> {
    let bad = super::theme::bad(ui);
    let top = s.points.iter().map(|p| p.latency_ms[2]).fold(0.0, f64::max);
    let r = base("trend_latency", s, height)
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .y_axis_label("latency")
        .y_axis_formatter(|m, _| format::micros(m.value * 1000.0))
        .include_y(top * 1.15)
        .show(ui, |p| {
            for (q, (name, colour)) in QUANTILES.iter().enumerate() {
                let pts: Vec<[f64; 2]> = s
                    .points
                    .iter()
                    .enumerate()
                    .map(|(i, t)| [i as f64, t.latency_ms[q]])
                    .collect();
                p.line(Line::new(*name, PlotPoints::from(pts.clone())).color(*colour));
                p.points(
                    Points::new(*name, PlotPoints::from(pts))
                        .radius(2.5)
                        .color(*colour),
                );
            }
            let at = |f: &dyn Fn(&TrendPoint) -> bool| -> Vec<[f64; 2]> {
                s.points
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| f(t))
                    .map(|(i, t)| [i as f64, t.latency_ms[1]])
                    .collect()
            };
            p.points(
                Points::new("baseline", PlotPoints::from(at(&|t| t.baseline)))
                    .shape(MarkerShape::Diamond)
                    .radius(7.0)
                    .filled(false),
            );
            p.points(
                Points::new(
                    "regressed",
                    PlotPoints::from(at(&|t| s.verdict(t) == "REGRESSED")),
                )
                .shape(MarkerShape::Cross)
                .radius(8.0)
                .color(bad),
            );
            p.pointer_coordinate()
        });
    if !r.response.clicked() {
        return None;
    }
    let x = r.inner?.x.round();
    (x >= 0.0)
        .then(|| s.points.get(x as usize).map(|p| p.id))
        .flatten()
}

fn figure_plot(
    ui: &mut egui::Ui,
    s: &TrendsState,
    id: &str,
    height: f32,
    value: impl Fn(&TrendPoint) -> f64,
    show: fn(f64) -> String,
) {
    let pts: Vec<[f64; 2]> = s
        .points
        .iter()
        .enumerate()
        .map(|(i, t)| [i as f64, value(t)])
        .collect();
    let top = pts.iter().map(|p| p[1]).fold(0.0, f64::max);
    let ui_colour = QUANTILES[0].1;
    base(id, s, height)
        .y_axis_formatter(move |m, _| show(m.value))
        .include_y(if top > 0.0 { top * 1.15 } else { 1e-3 })
        .show(ui, |p| {
            let c = ui_colour;
            p.line(Line::new(id.to_string(), PlotPoints::from(pts.clone())).color(c));
            p.points(
                Points::new(id.to_string(), PlotPoints::from(pts))
                    .radius(2.5)
                    .color(c),
            );
        });
}

/// Every run as a row, newest first; its id opens it.
fn table(ui: &mut egui::Ui, s: &TrendsState, msgs: &mut Vec<Msg>) {
    ui.separator();
    ui.label(RichText::new("Runs").strong());
    egui::Grid::new("trend_table").striped(true).show(ui, |ui| {
        for h in [
            "run",
            "date (UTC)",
            "status",
            "p50",
            "p95",
            "p99",
            "rate",
            "errors",
            "against the baseline",
        ] {
            ui.strong(h);
        }
        ui.end_row();
        for p in s.points.iter().rev() {
            if ui
                .link(format!("#{}", p.id))
                .on_hover_text("open this run")
                .clicked()
            {
                msgs.push(Msg::OpenRun(p.id));
                msgs.push(Msg::Goto(Screen::Runs));
            }
            ui.label(super::runs::date(p.started_ms));
            ui.label(p.status.as_str());
            for v in p.latency_ms {
                ui.label(format::micros(v * 1000.0));
            }
            ui.label(format::rate(p.rate));
            ui.label(format::percent(p.error_rate));
            let verdict = s.verdict(p);
            let headline = s.verdicts.get(&p.id).and_then(Comparison::headline);
            let text = match (&headline, verdict) {
                // The window's font has no arrow.
                (Some(h), "REGRESSED") => format!("REGRESSED: {}", h.replace('→', "to")),
                _ => verdict.to_string(),
            };
            match verdict {
                "REGRESSED" => ui.colored_label(super::theme::bad(ui), text),
                "no regression" | "no regression (partly judged)" => {
                    ui.colored_label(super::theme::good(ui), text)
                }
                _ => ui.label(text),
            };
            ui.end_row();
        }
    });
}
