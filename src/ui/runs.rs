//! The run history: a sortable, filterable table; one run opened with its charts, percentile
//! spectrum and histogram; any time window recomputed from the stored histograms.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::Msg;
use super::charts::{self, ChartData};
use crate::format;
use crate::metrics::{Accumulator, RunStatus};
use crate::store::{RunRow, RunSeries, Store, StoredRun};

/// A column the table can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum SortBy {
    /// Start time.
    #[default]
    Date,
    /// Scenario / run name.
    Name,
    /// Status.
    Status,
    /// Achieved rate.
    Rate,
    /// Corrected p95.
    P95,
    /// Error rate.
    Errors,
}

/// A run opened for a closer look.
pub struct OpenRun {
    /// The stored run.
    pub run: StoredRun,
    /// Its chart series.
    pub chart: ChartData,
    /// Its per-series points.
    pub series: RunSeries,
    /// The selected window in seconds, if any.
    pub window: Option<(f64, f64)>,
    /// Totals of the window (or the whole run), recomputed from the stored histograms.
    pub window_totals: Option<(String, Accumulator)>,
    /// The window totals being recomputed; replacing or dropping it cancels that work.
    pending: Option<super::Background<Result<(String, Accumulator), String>>>,
    /// Notes being edited.
    pub notes: String,
    /// A tag being typed.
    pub new_tag: String,
    /// The export format picked.
    pub export_format: crate::report::Format,
    drag_from: Option<f64>,
    /// Bumped by "Reset view": part of every chart's id, so a zoom or pan is forgotten.
    pub view: u32,
    /// The time range (s) the latency chart showed last frame: what a zoom or pan changed.
    pub shown_x: Option<(f64, f64)>,
    /// The request every chart shows alone (clicked in the table), with its chart series.
    pub shown: Option<(usize, ChartData)>,
    /// An annotation being written: its time (s) and text.
    pub new_note: (f64, String),
    /// Latency heatmaps (all requests, then each), from every stored histogram.
    pub heat: Option<Vec<super::heatmap::HeatmapData>>,
    /// The server side sampled beside the run (`[monitor]`), read with the heatmaps.
    pub monitor: crate::store::MonitorData,
    /// An open-model ramp's levels (offered rate, concurrency, responses/s, p95 ms), read with
    /// the heatmaps: the knee and the scalability law's fit.
    pub open_levels: Vec<(f64, f64, f64, f64)>,
    /// A closed-model run's levels (users, responses/s, p95 ms), found once when it opens.
    pub closed_levels: Vec<(f64, f64, f64)>,
    /// The table's rows (series, then journeys), made once rather than every frame.
    pub rows: Vec<crate::metrics::Key>,
    /// The window's summary (phases, slowest and first failing requests), built once its totals arrive.
    pub window_summary: Option<crate::metrics::Summary>,
    /// What a proxy added (requests sent direct and through it), read with the heatmaps.
    pub overhead: Vec<crate::analysis::overhead::Overhead>,
    heat_pending: Option<super::Background<HeatRead>>,
    /// Each request's points, read after the run's own so a day-long run opens at once.
    points_pending: Option<super::Background<PointsRead>>,
}

/// Each request's chart points, or why they could not be read.
type PointsRead = Result<Vec<Vec<crate::store::SeriesPoint>>, String>;

/// What the run page reads in one walk over every stored histogram.
type HeatRead = (
    Vec<super::heatmap::HeatmapData>,
    crate::store::MonitorData,
    Vec<(f64, f64, f64, f64)>,
    Vec<crate::analysis::overhead::Overhead>,
);

impl OpenRun {
    /// The id of one of this run's charts: its own run and view, so a zoom on one run never
    /// carries over to the next opened, and "Reset view" starts from the data's bounds.
    fn chart_id(&self, chart: &str) -> String {
        let only = self
            .shown
            .as_ref()
            .map_or(String::new(), |(i, _)| format!("_r{i}"));
        format!("run{}_{chart}_v{}{only}", self.run.row.id, self.view)
    }

    /// Marks the run's annotations on its charts (after it is opened or they change).
    pub fn set_marks(&mut self) {
        let marks: Vec<(f64, String)> = self
            .run
            .annotations
            .iter()
            .map(|a| (a.at_s, a.text.clone()))
            .collect();
        self.chart.marks = marks.clone();
        if let Some((_, c)) = self.shown.as_mut() {
            c.marks = marks;
        }
    }

    /// Shows one request alone in every chart (or, `None`, all of them).
    pub fn show_request(&mut self, shown: Option<usize>) {
        let rows = self.run.info.keys.len() + self.run.info.journeys.len();
        self.shown = shown.filter(|i| *i < rows).map(|i| {
            (
                i,
                ChartData::of_run(&self.run.info, &self.series.ticks_of(i)),
            )
        });
        self.set_marks();
    }

    /// The chart series drawn: the request shown alone, or every request.
    fn drawn(&self) -> &ChartData {
        self.shown.as_ref().map_or(&self.chart, |(_, c)| c)
    }
}

/// State of the runs screen.
#[derive(Default)]
pub struct RunsState {
    /// The listed runs.
    pub rows: Vec<RunRow>,
    /// Text filter on name and scenario.
    pub filter: String,
    /// Status filter (`None` for all).
    pub status: Option<RunStatus>,
    /// Put the cursor in the filter on the next frame (Ctrl+F).
    pub focus_filter: bool,
    /// Sort column and direction (true = descending).
    pub sort: (SortBy, bool),
    /// Runs ticked for comparison.
    pub selected: BTreeSet<i64>,
    /// The opened run.
    pub open: Option<OpenRun>,
    /// A run waiting for delete confirmation.
    pub confirm_delete: Option<i64>,
    /// The last error.
    pub error: Option<String>,
}

impl RunsState {
    /// Reloads the list.
    pub fn refresh(&mut self, store: &Store) {
        match store.list_runs(&crate::store::RunFilter::default()) {
            Ok(rows) => {
                self.rows = rows;
                self.error = None;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// Opens a run: its rows and chart series now (fast), its histograms in the background.
    pub fn open(&mut self, store: &Store, db: PathBuf, id: i64) {
        // The run's own gauges and totals now; each request's points (five times as many rows for
        // five requests) and the histograms behind the heatmap follow in the background.
        let loaded = store.run(id).and_then(|run| {
            let series = crate::store::RunSeries {
                ticks: store.tick_summaries(id)?,
                series: vec![Vec::new(); run.info.rows().len()],
            };
            Ok((run, series))
        });
        match loaded {
            Ok((run, series)) => {
                let chart = ChartData::of_run(&run.info, &series.ticks);
                let notes = run.notes.clone();
                let mut open = OpenRun {
                    run,
                    chart,
                    series,
                    window: None,
                    window_totals: None,
                    pending: None,
                    notes,
                    new_tag: String::new(),
                    export_format: crate::report::Format::Html,
                    drag_from: None,
                    view: 0,
                    shown_x: None,
                    shown: None,
                    heat: None,
                    monitor: crate::store::MonitorData::default(),
                    open_levels: Vec::new(),
                    closed_levels: Vec::new(),
                    rows: Vec::new(),
                    window_summary: None,
                    overhead: Vec::new(),
                    heat_pending: None,
                    points_pending: None,
                    new_note: (0.0, String::new()),
                };
                open.set_marks();
                open.rows = open.run.info.rows();
                if open.run.info.model == crate::scenario::Model::Closed {
                    open.closed_levels = crate::analysis::usl::levels(&open.series.ticks);
                }
                let (keys, journeys) = (open.run.info.keys.len(), open.run.info.journeys.len());
                // The journeys' points follow the series', as their rows follow in the table.
                open.points_pending = Some(super::in_background(&db, None, move |s| {
                    let mut points = s.series_points(id, keys).map_err(|e| e.to_string())?;
                    points.extend(s.journey_points(id, journeys).map_err(|e| e.to_string())?);
                    Ok(points)
                }));
                let open_model = open.run.info.model == crate::scenario::Model::Open;
                let run = open.run.clone();
                open.heat_pending = Some(super::in_background(&db, None, move |s| {
                    let mut maps =
                        vec![super::heatmap::HeatmapData::default(); keys + journeys + 1];
                    let mut levels = crate::analysis::usl::OpenLevels::default();
                    let _ = s.each_tick(id, 0, u32::MAX, crate::store::Histograms::Latency, |t| {
                        super::heatmap::push_tick(&mut maps, &t);
                        if open_model {
                            levels.push(&t);
                        }
                    });
                    let overhead =
                        crate::analysis::overhead::proxy_overhead(s, &run).unwrap_or_default();
                    (
                        maps,
                        s.monitor(id).unwrap_or_default(),
                        levels.finish(),
                        overhead,
                    )
                }));
                open.recompute(db);
                self.open = Some(open);
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// Whether a recompute is running in the background (the window polls for it while it is).
    pub fn busy(&self) -> bool {
        self.open.as_ref().is_some_and(|o| {
            o.pending.is_some() || o.heat_pending.is_some() || o.points_pending.is_some()
        })
    }

    /// Picks up background results; true when something arrived.
    pub fn poll(&mut self) -> bool {
        let Some(open) = self.open.as_mut() else {
            return false;
        };
        let mut arrived = false;
        if let Some((maps, monitor, levels, overhead)) = super::take_ready(&mut open.heat_pending) {
            arrived = true;
            open.overhead = overhead;
            open.heat = Some(maps);
            open.monitor = monitor;
            open.open_levels = levels;
        }
        match super::take_ready(&mut open.points_pending) {
            Some(Ok(points)) => {
                arrived = true;
                open.series.series = points;
                // A request shown alone before its points came is drawn again with them.
                let shown = open.shown.as_ref().map(|(i, _)| *i);
                if shown.is_some() {
                    open.show_request(shown);
                }
            }
            Some(Err(e)) => {
                arrived = true;
                self.error = Some(e);
            }
            None => {}
        }
        if open.pending.is_none() {
            return arrived;
        }
        match super::take_ready(&mut open.pending) {
            Some(Ok(r)) => {
                let started = crate::format::system_time(open.run.row.started_at_ms);
                let mut summary = crate::metrics::Summary::build(
                    &open.run.info,
                    &r.1,
                    open.run.row.status,
                    started,
                );
                // Deliveries are the whole run's (their grace outlasts any window).
                if open.window.is_none() {
                    summary.webhooks = open.run.summary.as_ref().and_then(|s| s.webhooks.clone());
                }
                open.window_summary = Some(summary);
                open.window_totals = Some(r);
                true
            }
            Some(Err(e)) => {
                self.error = Some(e);
                true
            }
            // Still running, or ended without an answer (the slot is empty then).
            None => arrived || open.pending.is_none(),
        }
    }

    fn sorted(&self) -> Vec<&RunRow> {
        let needle = self.filter.to_lowercase();
        let mut rows: Vec<&RunRow> = self
            .rows
            .iter()
            .filter(|r| {
                needle.is_empty()
                    || r.name.to_lowercase().contains(&needle)
                    || r.scenario.to_lowercase().contains(&needle)
                    || r.tags.iter().any(|t| t.contains(&needle))
            })
            .filter(|r| self.status.is_none_or(|s| r.status == s))
            .collect();
        let key = |r: &RunRow| -> f64 {
            match self.sort.0 {
                SortBy::Rate => r.rate.unwrap_or(0.0),
                SortBy::P95 => r.p95_ms.unwrap_or(0.0),
                SortBy::Errors => r.error_rate.unwrap_or(0.0),
                _ => r.started_at_ms as f64,
            }
        };
        rows.sort_by(|a, b| match self.sort.0 {
            SortBy::Name => a.name.cmp(&b.name),
            SortBy::Status => a.status.cmp(&b.status),
            _ => key(a).total_cmp(&key(b)),
        });
        if self.sort.1 {
            rows.reverse();
        }
        rows
    }
}

impl OpenRun {
    /// Recomputes the totals of the selected window (or the whole run) on a background thread.
    pub fn recompute(&mut self, db: PathBuf) {
        let id = self.run.row.id;
        let ticks: Vec<(u32, f64, f64)> = self
            .series
            .ticks
            .iter()
            .map(|t| (t.index, t.end - t.seconds, t.end))
            .collect();
        let (from, to, label) = match self.window {
            Some((a, b)) => {
                let (a, b) = (a.min(b), a.max(b));
                let first = ticks.iter().find(|t| t.2 > a).map_or(1, |t| t.0);
                let last = ticks.iter().rev().find(|t| t.1 < b).map_or(first, |t| t.0);
                (
                    first,
                    last.max(first),
                    format!("seconds {:.0}–{:.0}", a.max(0.0), b),
                )
            }
            None => (0, u32::MAX, "whole run (warm-up excluded)".to_string()),
        };
        let whole = self.window.is_none();
        // Replacing the pending work cancels it: a drag that moved on wants only the latest.
        self.pending = Some(super::in_background(&db, None, move |s| {
            if whole {
                s.totals(id)
            } else {
                s.window(id, from, to)
            }
            .map(|acc| (label, acc))
            .map_err(|e| e.to_string())
        }));
    }
}

fn header_button(ui: &mut egui::Ui, s: &RunsState, by: SortBy, label: &str, msgs: &mut Vec<Msg>) {
    let sorted = (s.sort.0 == by).then_some(s.sort.1);
    if super::widgets::sort_header(ui, label, sorted).clicked() {
        msgs.push(Msg::SortRuns(by));
    }
}

/// Draws the runs screen.
pub fn view(ui: &mut egui::Ui, s: &mut RunsState, msgs: &mut Vec<Msg>) {
    ui.horizontal(|ui| {
        let label = ui.label("Filter");
        let filter = ui
            .add(
                egui::TextEdit::singleline(&mut s.filter)
                    .hint_text("name, scenario or tag (Ctrl+F)")
                    .desired_width(200.0),
            )
            .labelled_by(label.id);
        if std::mem::take(&mut s.focus_filter) {
            filter.request_focus();
        }
        // Its choices name themselves ("any status", "failed"): no label after it on screen,
        // "status" to a screen reader.
        egui::ComboBox::from_id_salt("runs_status")
            .selected_text(s.status.map_or("any status", RunStatus::as_str))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut s.status, None, "any status");
                for st in RunStatus::ALL {
                    ui.selectable_value(&mut s.status, Some(st), st.as_str());
                }
            })
            .response
            .widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, "status"));
        if ui.button("Refresh").clicked() {
            msgs.push(Msg::RefreshRuns);
        }
        let n = s.selected.len();
        if ui
            .add_enabled(n >= 2, egui::Button::new(format!("Compare {n} selected")))
            .clicked()
        {
            msgs.push(Msg::CompareSelected);
        }
        if ui
            .add_enabled(n >= 2, egui::Button::new(format!("Merge {n} selected")))
            .on_hover_text(
                "shards of one scenario run from several machines at once, into one run \
                 (counts add, histograms merge)",
            )
            .clicked()
        {
            msgs.push(Msg::MergeSelected);
        }
        if ui
            .add_enabled(n >= 1, egui::Button::new(format!("Baseline: {n} selected")))
            .on_hover_text(
                "runs of one scenario that later runs are compared with; three or more let the \
                 comparison measure run-to-run drift instead of assuming it",
            )
            .clicked()
        {
            msgs.push(Msg::BaselineSelected);
        }
        if ui
            .button("Import results…")
            .on_hover_text(
                "a run exported by loadbench, or another tool's results as a full run: k6 --out \
                 json or csv, oha --db-url or csv, a JMeter JTL, an Artillery report",
            )
            .clicked()
        {
            msgs.push(Msg::ImportResults);
        }
    });
    if let Some(e) = &s.error {
        ui.colored_label(super::theme::error(ui), e);
    }
    let rows: Vec<RunRow> = s.sorted().into_iter().cloned().collect();
    // With a run open, the list is a panel whose lower edge drags: as many rows as wanted.
    if s.open.is_some() {
        egui::Panel::top("runs_list")
            .resizable(true)
            .default_size(240.0)
            .min_size(90.0)
            .show(ui, |ui| {
                let h = ui.available_height();
                table(ui, s, &rows, h, msgs);
            });
    } else {
        let h = ui.available_height() - 10.0;
        table(ui, s, &rows, h, msgs);
    }
    if let Some(open) = s.open.as_mut() {
        opened(ui, open, msgs);
    }
}

/// The run table: one row per run, sortable headers, a tick box to compare or merge.
fn table(ui: &mut egui::Ui, s: &mut RunsState, rows: &[RunRow], height: f32, msgs: &mut Vec<Msg>) {
    egui::ScrollArea::vertical()
        .id_salt("runs_table")
        .max_height(height)
        .show(ui, |ui| {
            // Columns widen with the window: a wide screen shows the table across it, not in
            // its left third.
            let min_col = (ui.available_width() / 13.0).max(40.0);
            egui::Grid::new("runs_grid")
                .striped(true)
                .min_col_width(min_col)
                .num_columns(10)
                .show(ui, |ui| {
                    ui.label("");
                    ui.strong("id");
                    header_button(ui, s, SortBy::Name, "scenario", msgs);
                    header_button(ui, s, SortBy::Date, "date (UTC)", msgs);
                    header_button(ui, s, SortBy::Status, "status", msgs);
                    header_button(ui, s, SortBy::Rate, "rate", msgs);
                    header_button(ui, s, SortBy::P95, "p95", msgs);
                    header_button(ui, s, SortBy::Errors, "errors", msgs);
                    ui.strong("verdict");
                    ui.strong("tags");
                    ui.end_row();
                    for r in rows {
                        let mut ticked = s.selected.contains(&r.id);
                        let tick = ui.checkbox(&mut ticked, "");
                        tick.widget_info(|| {
                            egui::WidgetInfo::selected(
                                egui::Role::CheckBox,
                                true,
                                ticked,
                                format!("select run #{} for comparison", r.id),
                            )
                        });
                        if tick.changed() {
                            msgs.push(Msg::ToggleSelect(r.id));
                        }
                        let opened = s.open.as_ref().is_some_and(|o| o.run.row.id == r.id);
                        if ui.selectable_label(opened, format!("#{}", r.id)).clicked() {
                            msgs.push(Msg::OpenRun(r.id));
                        }
                        if ui.selectable_label(opened, &r.name).clicked() {
                            msgs.push(Msg::OpenRun(r.id));
                        }
                        ui.label(date(r.started_at_ms));
                        ui.label(r.status.as_str());
                        ui.label(r.rate.map_or("-".into(), format::rate));
                        ui.label(r.p95_ms.map_or("-".into(), |p| format::micros(p * 1000.0)));
                        ui.label(r.error_rate.map_or("-".into(), format::percent));
                        match r.verdict() {
                            "pass" => ui.colored_label(super::theme::good(ui), "pass"),
                            "FAIL" => ui.colored_label(super::theme::bad(ui), "FAIL"),
                            other => ui.label(other),
                        };
                        ui.label(if r.baseline {
                            std::iter::once("baseline".to_string())
                                .chain(r.tags.iter().cloned())
                                .collect::<Vec<_>>()
                                .join(", ")
                        } else {
                            r.tags.join(", ")
                        });
                        ui.end_row();
                    }
                });
        });
}

/// A date for people (UTC, to the second).
pub fn date(ms: i64) -> String {
    crate::format::utc(ms)
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_string()
}

fn opened(ui: &mut egui::Ui, o: &mut OpenRun, msgs: &mut Vec<Msg>) {
    let id = o.run.row.id;
    ui.horizontal(|ui| {
        ui.heading(format!("Run #{id}: {}", o.run.row.name));
        // Another tool's run says which tool measured it, not a model it did not declare.
        let how = match o.run.host.get("imported").and_then(|i| i.get("tool")) {
            Some(tool) => format!("measured by {}", tool.as_str().unwrap_or("another tool")),
            None => o.run.info.model.to_string(),
        };
        ui.label(format!(
            "{} · {} · {how}",
            o.run.row.status,
            date(o.run.row.started_at_ms)
        ));
        if ui.button("Close").clicked() {
            msgs.push(Msg::CloseRun);
        }
        if ui.button("Delete…").clicked() {
            msgs.push(Msg::DeleteRun(id));
        }
        if ui
            .button("Mark as baseline")
            .on_hover_text("the run later runs of this scenario are compared with")
            .clicked()
        {
            msgs.push(Msg::MarkBaseline(id));
        }
        ui.separator();
        egui::ComboBox::from_label("format")
            .selected_text(o.export_format.extension())
            .show_ui(ui, |ui| {
                for (name, f) in crate::report::Format::ALL {
                    ui.selectable_value(&mut o.export_format, f, name);
                }
            });
        if ui.button("Export…").clicked() {
            msgs.push(Msg::Export(id, o.export_format));
        }
    });
    ui.horizontal_wrapped(|ui| {
        ui.label("Tags:");
        for t in o.run.row.tags.clone() {
            if ui
                .small_button(format!("{t} x"))
                .on_hover_text("remove this tag")
                .clicked()
            {
                msgs.push(Msg::RemoveTag(id, t));
            }
        }
        ui.add(
            egui::TextEdit::singleline(&mut o.new_tag)
                .hint_text("new tag")
                .desired_width(100.0),
        );
        if ui.button("Add tag").clicked() && !o.new_tag.trim().is_empty() {
            msgs.push(Msg::AddTag(id, o.new_tag.trim().to_string()));
            o.new_tag.clear();
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Notes:");
        ui.add(egui::TextEdit::singleline(&mut o.notes).desired_width(400.0))
            .labelled_by(label.id);
        if ui
            .add_enabled(o.notes != o.run.notes, egui::Button::new("Save notes"))
            .clicked()
        {
            msgs.push(Msg::SetNotes(id, o.notes.clone()));
        }
    });
    annotations(ui, o, msgs);
    if let Some(summary) = &o.run.summary {
        super::widgets::badges(ui, &summary.thresholds, true);
        if let Some(why) = summary
            .environment
            .as_ref()
            .and_then(crate::monitor::Environment::generator_saturated)
        {
            ui.colored_label(super::theme::warn(ui), format!("Warning: {why}"));
        }
    }
    egui::ScrollArea::vertical()
        .id_salt("opened_run")
        .show(ui, |ui| {
            let h = 160.0;
            if ui
                .button("Reset view")
                .on_hover_text("forget zoom and pan: every chart back to the run's own bounds")
                .clicked()
            {
                msgs.push(Msg::ResetView);
            }
            if let Some((i, _)) = &o.shown {
                let name = o.rows.get(*i).map_or(String::new(), |k| {
                    let journey = if k.is_journey() { " (journey)" } else { "" };
                    format!("{}{journey}", k.request)
                });
                ui.strong(format!(
                    "Showing only {name} (click it in the table below for every request)"
                ));
            }
            let (rate_id, latency_id) = (o.chart_id("rate"), o.chart_id("latency"));
            ui.columns(2, |cols| {
                cols[0].label("Throughput");
                charts::rate_chart(&mut cols[0], o.drawn(), &rate_id, h);
                cols[1].label("Latency — drag across the chart to select a time window");
                let resp = charts::latency_chart(
                    &mut cols[1],
                    o.drawn(),
                    &latency_id,
                    h,
                    false,
                    o.window.or(o.drag_from.map(|a| (a, a))),
                );
                let b = resp.transform.bounds();
                o.shown_x = Some((b.min()[0], b.max()[0]));
                if resp.response.secondary_clicked()
                    && let Some(pos) = resp.response.interact_pointer_pos()
                {
                    // A right click picks the time of a new annotation.
                    o.new_note.0 = resp.transform.value_from_position(pos).x.max(0.0);
                }
                if resp.response.clicked()
                    && let Some(pos) = resp.response.interact_pointer_pos()
                {
                    // A click picks that second: its totals, and the requests behind it.
                    let t = resp.transform.value_from_position(pos).x.max(0.0).floor();
                    msgs.push(Msg::SelectWindow(t, t + 1.0));
                }
                if resp.response.drag_started() {
                    o.drag_from = resp
                        .transform
                        .value_from_position(
                            resp.response.interact_pointer_pos().unwrap_or_default(),
                        )
                        .x
                        .into();
                }
                if resp.response.drag_stopped()
                    && let (Some(a), Some(pos)) =
                        (o.drag_from.take(), resp.response.interact_pointer_pos())
                {
                    let b = resp.transform.value_from_position(pos).x;
                    if (b - a).abs() > 0.5 {
                        msgs.push(Msg::SelectWindow(a.min(b), a.max(b)));
                    }
                }
            });
            let (errors_id, in_flight_id) = (o.chart_id("errors"), o.chart_id("inflight"));
            ui.columns(2, |cols| {
                cols[0].label("Errors by kind");
                charts::errors_chart(&mut cols[0], o.drawn(), &errors_id, h);
                cols[1].label("In flight (every request)");
                charts::in_flight_chart(&mut cols[1], o.drawn(), &in_flight_id, h);
            });
            ui.label(
                "Latency heatmap: responses per second and latency band (log), brighter for more",
            );
            let heat_id = o.chart_id("heatmap");
            let which = o.shown.as_ref().map_or(0, |(i, _)| i + 1);
            match o.heat.as_ref().and_then(|m| m.get(which)) {
                Some(map) => {
                    if let Some(t) = super::heatmap::chart(ui, map, &heat_id, h + 40.0) {
                        msgs.push(Msg::SelectWindow(t, t + map.column_seconds()));
                    }
                }
                None => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("reading every second's histogram…");
                    });
                }
            }
            server_side(ui, o, h);
            // An open-model ramp: concurrency by Little's law at each offered rate held.
            if o.open_levels.len() >= 2 {
                ui.label(
                    "Scalability: one point per offered rate held (concurrency by Little's law)",
                );
                let points: Vec<(f64, f64, f64)> =
                    o.open_levels.iter().map(|l| (l.1, l.2, l.3)).collect();
                let fit = crate::analysis::usl::fit(
                    &points.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
                );
                charts::knee(ui, &points, fit, "concurrency", &o.chart_id("open_knee"));
            }
            // A closed-model run that stepped its virtual users: where throughput stopped growing.
            let levels = &o.closed_levels;
            if levels.len() >= 2 {
                ui.label("Scalability: one point per number of virtual users");
                let points: Vec<(f64, f64)> = levels.iter().map(|l| (l.0, l.1)).collect();
                let fit = crate::analysis::usl::fit(&points);
                charts::knee(ui, levels, fit, "virtual users", &o.chart_id("knee"));
            }
            ui.horizontal(|ui| {
                match &o.window_totals {
                    Some((label, _)) => ui.strong(format!("Distribution: {label}")),
                    None => ui.label("Distribution: loading from the stored histograms…"),
                };
                if o.pending.is_some() {
                    ui.spinner();
                }
                if o.window.is_some() && ui.button("Whole run").clicked() {
                    msgs.push(Msg::ClearWindow);
                }
            });
            let (spectrum_id, histogram_id) = (o.chart_id("spectrum"), o.chart_id("histogram"));
            if let Some((_, acc)) = &o.window_totals {
                let total = match &o.shown {
                    Some((i, _)) => acc.row(*i).cloned().unwrap_or_default(),
                    None => acc.total(),
                };
                ui.columns(2, |cols| {
                    charts::spectrum_chart(
                        &mut cols[0],
                        &[
                            ("corrected", &total.latency),
                            ("service time", &total.service),
                        ],
                        &spectrum_id,
                        200.0,
                    );
                    charts::histogram_chart(&mut cols[1], &total.latency, &histogram_id, 200.0);
                });
                let shown = o.shown.as_ref().map(|(i, _)| *i);
                if let Some(pick) =
                    super::widgets::request_table(ui, &o.rows, &acc.rows(), acc.seconds, shown)
                {
                    msgs.push(Msg::ShowRequest(pick));
                }
            }
            super::evidence::overhead(ui, &o.overhead);
            if let (Some(summary), Some((label, _))) = (&o.window_summary, &o.window_totals) {
                super::evidence::view(ui, summary, label);
            }
        });
}

/// The run's annotations, numbered as the charts mark them, and a row to add one (a right click
/// on the latency chart picks its time).
fn annotations(ui: &mut egui::Ui, o: &mut OpenRun, msgs: &mut Vec<Msg>) {
    let id = o.run.row.id;
    ui.horizontal_wrapped(|ui| {
        ui.label("Annotations:");
        for (n, a) in o.run.annotations.iter().enumerate() {
            ui.label(format!("{}. {} s {}", n + 1, format::plain(a.at_s), a.text));
            if ui
                .small_button("x")
                .on_hover_text("remove this annotation")
                .clicked()
            {
                msgs.push(Msg::RemoveAnnotation(id, a.clone()));
            }
        }
        let at = ui.label("at (s)");
        ui.add(
            egui::DragValue::new(&mut o.new_note.0)
                .range(0.0..=o.run.row.duration_s.max(1.0) + 3600.0)
                .speed(0.5),
        )
        .labelled_by(at.id)
        .on_hover_text("right-click the latency chart to pick the time");
        let note = ui.add(
            egui::TextEdit::singleline(&mut o.new_note.1)
                .hint_text("what happened then (a deploy, a failover)")
                .desired_width(260.0),
        );
        let add = ui.button("Annotate");
        let note = note.labelled_by(add.id);
        let entered = note.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (add.clicked() || entered) && !o.new_note.1.trim().is_empty() {
            msgs.push(Msg::Annotate(
                id,
                crate::store::Annotation {
                    at_s: o.new_note.0,
                    text: o.new_note.1.trim().to_string(),
                },
            ));
            o.new_note.1.clear();
        }
    });
}

/// The most server-side charts drawn; the rest are named.
const MONITOR_CHARTS: usize = 8;

/// What the run's `[monitor]` read, one small chart per series on the run's time axis (its
/// cursor linked with the latency), gaps where a read failed.
fn server_side(ui: &mut egui::Ui, o: &OpenRun, h: f32) {
    let m = &o.monitor;
    if m.series.is_empty() && m.failures.is_empty() {
        return;
    }
    ui.label(
        "Beside the load, each second: what [monitor] read (counters as rates /s), webhook \
         deliveries, each split value's share",
    );
    let shown: Vec<_> = m.series.iter().take(MONITOR_CHARTS).collect();
    for pair in shown.chunks(2) {
        ui.columns(2, |cols| {
            for (col, s) in cols.iter_mut().zip(pair) {
                let id = o.chart_id(&format!("monitor {}", s.name));
                charts::monitor_chart(col, &s.name, &s.points, &id, h * 0.7);
            }
        });
    }
    if m.series.len() > MONITOR_CHARTS {
        let rest: Vec<&str> = m.series[MONITOR_CHARTS..]
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        ui.label(format!(
            "also read (in the report and JSON): {}",
            rest.join(", ")
        ));
    }
    let mut failed: std::collections::BTreeMap<&str, (usize, &str)> = Default::default();
    for f in &m.failures {
        let e = failed
            .entry(f.source.as_str())
            .or_insert((0, f.why.as_str()));
        e.0 += 1;
    }
    for (source, (n, why)) in failed {
        ui.colored_label(
            super::theme::error(ui),
            format!("{source} could not be read {n} times ({why}): gaps in its series"),
        );
    }
}
