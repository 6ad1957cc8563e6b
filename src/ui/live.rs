//! The live run screen: Run/Stop, charts updated every tick, the per-request table, threshold badges.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};

use egui::RichText;

use super::Msg;
use super::charts::{self, ChartData};
use super::widgets::{badges, request_table};
use crate::engine::{Outcome, RunOptions, Stopper};
use crate::format;
use crate::metrics::{Key, Stats, Tick, TickSummary};
use crate::scenario::Scenario;
use crate::thresholds::{Scoped, ThresholdResult};

/// What the forwarding thread hands the UI.
pub enum LiveEvent {
    /// One second of measurements.
    Tick(Arc<Tick>),
    /// The run ended; the stored run's id, or why it could not be stored.
    Done(Box<Outcome>, Result<i64, String>),
    /// The run could not start (a name that does not resolve, a demo that cannot listen).
    Failed(String),
    /// One second of what the scenario's `[monitor]` read.
    Monitor(crate::scrape::Reading),
}

/// A run in progress, seen from the UI thread (which never blocks on it).
pub struct LiveRun {
    events: Receiver<LiveEvent>,
    stopper: Stopper,
}

/// State of the live screen.
#[derive(Default)]
pub struct LiveState {
    /// The run in progress, if any.
    pub run: Option<LiveRun>,
    /// The charts' series.
    pub chart: ChartData,
    /// The same per request (indexed like `keys`), for charts of one request.
    pub per_series: Vec<ChartData>,
    /// The request the charts show alone (clicked in the table), if any.
    pub shown: Option<usize>,
    /// Latency heatmaps so far: all requests, then each.
    pub heat: Vec<super::heatmap::HeatmapData>,
    /// Show service time beside corrected latency.
    pub show_service: bool,
    /// The series of the run, then a row per journey (its whole iterations).
    pub keys: Vec<Key>,
    /// How many of `keys` are series (the rest are journeys).
    pub series: usize,
    /// The journeys' names, for thresholds scoped to one.
    pub journeys: Vec<String>,
    /// Per-series totals so far (warm-up excluded), then the journeys': constant size however
    /// long the run.
    pub totals: Vec<Stats>,
    /// Measured seconds so far.
    pub seconds: f64,
    /// The thresholds, parsed once when the run starts.
    pub thresholds: Vec<Scoped>,
    /// Verdicts so far, one per threshold.
    pub badges: Vec<ThresholdResult>,
    /// The scenario being run.
    pub scenario_name: String,
    /// The run's planned length in seconds.
    pub total_s: f64,
    /// The last tick's totals.
    pub last: Option<TickSummary>,
    /// The journeys' iterations per second in that tick (the schedule's unit when it picks
    /// journeys, where `last`'s rate counts their requests).
    pub last_iterations: f64,
    /// The finished run: its status, and its id in the store.
    pub finished: Option<(crate::metrics::RunStatus, Result<i64, String>)>,
    /// The finished run's summary.
    pub summary: Option<crate::metrics::Summary>,
    /// Why the last start failed.
    pub error: Option<String>,
    /// The finished run against its scenario's baseline.
    pub against_baseline: Option<crate::analysis::compare::Comparison>,
    /// A capacity search whose steps are the runs shown here, one after another.
    pub capacity: Option<CapacityState>,
    /// What the scenario's `[monitor]` read so far, series by series.
    pub monitor: Vec<crate::store::MonitorPoints>,
    /// Failed monitor reads so far, by source.
    pub monitor_failed: std::collections::BTreeMap<String, u64>,
}

/// How a capacity search is set up (the CLI's `capacity` flags).
#[derive(Debug, Clone, PartialEq)]
pub struct CapacitySettings {
    /// First rate tried, req/s.
    pub start: f64,
    /// Highest rate tried, req/s.
    pub max: f64,
    /// Measured seconds per step (after the scenario's warm-up).
    pub step_s: f64,
    /// Done when the bracket is this close, percent.
    pub precision: f64,
    /// Idle seconds between steps, so the target works off the last step's load.
    pub cooldown_s: f64,
}

impl Default for CapacitySettings {
    fn default() -> Self {
        CapacitySettings {
            start: 100.0,
            max: 100_000.0,
            step_s: 10.0,
            precision: 5.0,
            cooldown_s: 5.0,
        }
    }
}

/// A capacity search in progress or done: each step is a live run of the scenario at one rate.
pub struct CapacityState {
    /// The scenario as it was when the search began.
    pub base: Scenario,
    /// Where the search stands.
    pub search: crate::analysis::capacity::Search,
    /// Measured length of each step.
    pub step: std::time::Duration,
    /// The thresholds each step must hold.
    pub goal: Vec<String>,
    /// Steps done, in order.
    pub steps: Vec<crate::analysis::capacity::Step>,
    /// The rate of the step running now.
    pub current: Option<f64>,
    /// The answer, once the search is over.
    pub verdict: Option<String>,
    /// Idle time between steps.
    pub cooldown: std::time::Duration,
    /// When the next step may start (the cool-down after the last one).
    pub resume_at: Option<std::time::Instant>,
}

impl LiveState {
    /// Whether a run is in progress.
    pub fn is_running(&self) -> bool {
        self.run.is_some()
    }

    /// Starts `scenario`, storing it in `db` as run `name`. Everything that can wait (opening the
    /// database, resolving target names, starting demo services, the engine, the store writer)
    /// happens on a thread of its own; a failure to start arrives as [`LiveEvent::Failed`].
    pub fn start(
        &mut self,
        scenario: Scenario,
        name: String,
        db: &Path,
        ctx: egui::Context,
    ) -> Result<(), String> {
        let total_s = scenario.duration().as_secs_f64();
        let open = matches!(scenario.load, crate::scenario::Load::Open { .. });
        let info = crate::metrics::RunInfo::of(&scenario);
        let series = info.keys.len();
        let arrivals = info.arrivals();
        let mut keys = info.keys;
        keys.extend(info.journeys.iter().map(|j| Key::journey(j)));
        let (tx, rx) = channel();
        let stopper = Stopper::new();
        *self = LiveState {
            show_service: self.show_service,
            capacity: self.capacity.take(),
            chart: ChartData::new(open).counting(arrivals),
            per_series: vec![ChartData::new(open).counting(arrivals); keys.len()],
            heat: vec![super::heatmap::HeatmapData::default(); keys.len() + 1],
            totals: vec![Stats::default(); keys.len()],
            keys,
            series,
            journeys: info.journeys,
            thresholds: Scoped::parse_all(&info.thresholds),
            scenario_name: name.clone(),
            total_s,
            ..LiveState::default()
        };
        let options = RunOptions {
            stopper: Some(stopper.clone()),
            ..RunOptions::default()
        };
        let to = crate::launch::StoreTo {
            db: db.to_path_buf(),
            tags: Vec::new(),
        };
        std::thread::Builder::new()
            .name("loadbench-ui-forward".into())
            .spawn(move || {
                // Everything that can wait happens here, off the window's thread.
                let started = crate::store::Store::open(&to.db)
                    .map_err(|e| e.to_string())
                    .and_then(|_| {
                        crate::launch::start(scenario, name, options, Some(&to))
                            .map_err(|e| e.to_string())
                    });
                let launched = match started {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = tx.send(LiveEvent::Failed(e));
                        repaint_once(&ctx);
                        return;
                    }
                };
                let not_stored = launched.not_stored.clone();
                let readings = tx.clone();
                let finished = launched.finish_watching(
                    |t| {
                        let _ = tx.send(LiveEvent::Tick(t.clone()));
                        repaint_once(&ctx);
                    },
                    |r| {
                        let _ = readings.send(LiveEvent::Monitor(r.clone()));
                    },
                );
                match finished {
                    Ok(done) => {
                        let stored = match (done.stored, not_stored) {
                            (Some(r), _) => r,
                            (None, Some(e)) => Err(e),
                            (None, None) => Err("not stored".into()),
                        };
                        let _ = tx.send(LiveEvent::Done(Box::new(done.outcome), stored));
                    }
                    Err(e) => {
                        let _ = tx.send(LiveEvent::Failed(e.to_string()));
                    }
                }
                repaint_once(&ctx);
            })
            .map_err(|e| e.to_string())?;
        self.run = Some(LiveRun {
            events: rx,
            stopper,
        });
        Ok(())
    }

    /// Asks the run to stop (it ends within a second, keeping what it measured).
    pub fn stop(&self) {
        if let Some(r) = &self.run {
            r.stopper.stop();
        }
    }

    /// Takes what arrived since the last frame; returns the stored run's id when the run just ended.
    pub fn poll(&mut self) -> Option<Result<i64, String>> {
        let mut done = None;
        let events: Vec<LiveEvent> = match &self.run {
            Some(r) => r.events.try_iter().collect(),
            None => return None,
        };
        for ev in events {
            match ev {
                LiveEvent::Tick(t) => self.add_tick(&t),
                LiveEvent::Done(o, stored) => {
                    self.badges = o.summary.thresholds.clone();
                    self.finished = Some((o.status, stored.clone()));
                    self.summary = Some(o.summary);
                    done = Some(stored);
                }
                LiveEvent::Failed(e) => {
                    self.error = Some(format!("the run could not start: {e}"));
                    done = Some(Err(e));
                }
                LiveEvent::Monitor(r) => self.add_reading(r),
            }
        }
        if done.is_some() {
            self.run = None;
        }
        done
    }

    /// Keeps one second's monitor readings: at most [`LIVE_SERIES`] series of at most a day of
    /// points each, so a soak's window stays bounded.
    fn add_reading(&mut self, r: crate::scrape::Reading) {
        for (name, v) in r.values {
            let i = match self.monitor.iter().position(|s| s.name == name) {
                Some(i) => i,
                None if self.monitor.len() < LIVE_SERIES => {
                    self.monitor.push(crate::store::MonitorPoints {
                        name,
                        points: Vec::new(),
                    });
                    self.monitor.len() - 1
                }
                None => continue,
            };
            let points = &mut self.monitor[i].points;
            if points.len() < 86_400 {
                points.push((r.at_s, v));
            }
        }
        for (source, _) in r.failed {
            *self.monitor_failed.entry(source).or_insert(0) += 1;
        }
    }

    fn add_tick(&mut self, t: &Tick) {
        let s = TickSummary::of(t);
        self.chart.push(&s);
        for (j, chart) in self.per_series.iter_mut().enumerate() {
            chart.push(&TickSummary::of_series(t, j));
        }
        super::heatmap::push_tick(&mut self.heat, t);
        if !t.warmup {
            self.seconds += t.seconds;
            for (acc, st) in self
                .totals
                .iter_mut()
                .zip(t.stats.iter().chain(&t.journeys))
            {
                acc.merge(st);
            }
        }
        if s.seconds >= super::charts::SLIVER {
            self.last_iterations = t.per_second(t.journeys.iter().map(|j| j.requests).sum());
            self.last = Some(s);
        }
        // Judged as the summary will judge them, from the thresholds parsed at the start.
        let n = self.series.min(self.keys.len()).min(self.totals.len());
        self.badges = crate::metrics::judge(
            &self.thresholds,
            &self.keys[..n],
            &self.totals[..n],
            (&self.journeys, &self.totals[n..]),
            self.seconds,
        );
    }
}

/// The schedule beside the achieved rate: the open model's target, or its journeys' iterations
/// of it (the schedule picks an iteration once, however many requests it sends); the closed
/// model's users.
fn schedule(open: bool, target: String, iterations: Option<f64>) -> String {
    match (open, iterations) {
        (true, None) => format!("target {target}"),
        (true, Some(i)) => format!("iterations {} of {target} scheduled", format::rate(i)),
        (false, None) => format!("VUs {target}"),
        (false, Some(i)) => format!("VUs {target}, iterations {}", format::rate(i)),
    }
}

/// Draws the live screen; clicks become messages.
pub fn view(ui: &mut egui::Ui, s: &mut LiveState, can_run: Option<&str>, msgs: &mut Vec<Msg>) {
    ui.horizontal(|ui| {
        let cooling = s.capacity.as_ref().is_some_and(|c| c.resume_at.is_some());
        if s.is_running() || cooling {
            if ui
                .button(RichText::new("Stop").strong())
                .on_hover_text("Esc")
                .clicked()
            {
                msgs.push(Msg::Stop);
            }
            if cooling {
                ui.label("cooling down before the next step");
            }
        } else {
            let run = ui
                .add_enabled(
                    can_run.is_some(),
                    egui::Button::new(RichText::new("Run").strong()),
                )
                .on_hover_text("Ctrl+Enter");
            if run.clicked() {
                msgs.push(Msg::Run);
            }
        }
        match (can_run, s.is_running()) {
            (_, true) => {
                let elapsed = s.last.as_ref().map_or(0.0, |l| l.end);
                ui.label(format!(
                    "{} — {} / {}",
                    s.scenario_name,
                    format::span(format::secs(elapsed.round())),
                    format::span(format::secs(s.total_s))
                ));
                // A static mark, not a spinner: a spinner repaints every frame, and a window
                // redrawing flat out takes CPU from the engine (half a core with software GL).
                ui.colored_label(ui.visuals().warn_fg_color, "running");
            }
            (Some(name), false) => {
                ui.label(format!("scenario: {name}"));
            }
            (None, false) => {
                ui.label("Open a valid scenario on the Scenarios screen to run it.");
            }
        }
        ui.checkbox(&mut s.show_service, "show service time");
    });
    if let Some(e) = &s.error {
        ui.colored_label(super::theme::error(ui), e);
    }
    if let Some(c) = &s.capacity {
        capacity_panel(ui, c);
    }
    if let Some((status, stored)) = &s.finished {
        match stored {
            Ok(id) => ui.label(format!("Run {status}; stored as run #{id} (see Runs).")),
            Err(e) => ui.colored_label(
                super::theme::error(ui),
                format!("Run {status}; not stored: {e}"),
            ),
        };
    }
    if let Some(why) = s.summary.as_ref().and_then(|sum| sum.halted.as_ref()) {
        ui.colored_label(super::theme::error(ui), format!("Ended early: {why}"));
    }
    if let Some(sum) = &s.summary {
        let aborted = sum.total.error_kinds.get("aborted").copied().unwrap_or(0);
        let edges = [
            (aborted, "unanswered when the run ended (aborted)"),
            (sum.not_started, "due but never started (max_in_flight)"),
            (sum.total.retries, "sent again on a new connection"),
        ];
        for (n, what) in edges.into_iter().filter(|(n, _)| *n > 0) {
            ui.colored_label(ui.visuals().warn_fg_color, format!("{n} requests {what}"));
        }
    }
    if let Some(sum) = &s.summary {
        // Once the run ended, the headline is the whole run (the figures the badges judged),
        // not its last second.
        let t = &sum.total;
        let ms = |v: f64| {
            if t.latency.samples == 0 {
                "-".to_string()
            } else {
                format::micros(v * 1000.0)
            }
        };
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("whole run").italics());
            ui.label(RichText::new(format!("rate {}", format::rate(t.rate))).strong());
            let iterations =
                (!sum.journeys.is_empty()).then(|| sum.journeys.iter().map(|j| j.rate).sum());
            if let Some(target) = sum.target_rate {
                ui.label(schedule(true, format::rate(target), iterations));
            } else if let Some(i) = iterations {
                ui.label(format!("iterations {}", format::rate(i)));
            }
            ui.label(format!("p50 {}", ms(t.latency.p50_ms)));
            ui.label(format!("p95 {}", ms(t.latency.p95_ms)));
            ui.label(format!("p99 {}", ms(t.latency.p99_ms)));
            ui.label(format!(
                "errors {} ({})",
                format::count(t.errors),
                format::percent(t.error_rate)
            ));
        });
    } else if let Some(last) = &s.last {
        ui.horizontal_wrapped(|ui| {
            let target = if s.chart.open {
                format::rate(last.target)
            } else {
                format!("{:.0}", last.target)
            };
            ui.label(RichText::new("last second").italics());
            ui.label(RichText::new(format!("rate {}", format::rate(last.rate()))).strong());
            let iterations = (!s.journeys.is_empty()).then_some(s.last_iterations);
            ui.label(schedule(s.chart.open, target, iterations));
            // A second without a response has no latency: "-", not "0 µs".
            let lat = |us: u64| {
                if us == 0 {
                    "-".to_string()
                } else {
                    format::micros(us as f64)
                }
            };
            ui.label(format!("p50 {}", lat(last.latency_us[0])));
            ui.label(format!("p95 {}", lat(last.latency_us[2])));
            ui.label(format!("p99 {}", lat(last.latency_us[3])));
            ui.label(format!(
                "errors {}",
                format::rate(last.per_second(last.errors))
            ));
            ui.label(format!("in flight {}", last.in_flight));
            if last.warmup {
                ui.label(RichText::new("warm-up").italics());
            }
        });
    }
    badges(ui, &s.badges, !(s.is_running() && s.seconds == 0.0));
    if let Some(why) = s
        .summary
        .as_ref()
        .and_then(|sum| sum.environment.as_ref())
        .and_then(crate::monitor::Environment::generator_saturated)
    {
        ui.colored_label(super::theme::warn(ui), format!("Warning: {why}"));
    }
    if let Some(c) = &s.against_baseline {
        let head = RichText::new(format!(
            "Against baseline #{}: {}",
            c.baseline,
            c.verdict_line()
        ));
        egui::CollapsingHeader::new(if c.regressed {
            head.color(super::theme::error(ui))
        } else {
            head
        })
        .default_open(c.regressed)
        .show(ui, |ui| {
            super::widgets::verdict_table(ui, std::slice::from_ref(c))
        });
    }
    let (chart, title) = match s
        .shown
        .and_then(|i| Some((s.per_series.get(i)?, s.keys.get(i)?)))
    {
        Some((c, k)) => (
            c,
            format!(
                "Showing only {}{} (click it in the table for all)",
                k.request,
                if k.is_journey() { " (journey)" } else { "" }
            ),
        ),
        None => (&s.chart, String::new()),
    };
    if !title.is_empty() {
        ui.strong(title);
    }
    // The charts share the height the table leaves, so a big window shows big charts.
    let table = (s.keys.len() as f32 + 1.0) * 18.0 + 24.0;
    let h = ((ui.available_height() - table) / 3.0 - 30.0).clamp(120.0, 500.0);
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.columns(2, |cols| {
            cols[0].label("Throughput");
            charts::rate_chart(&mut cols[0], chart, "live_rate", h);
            cols[1].label(if s.show_service {
                "Latency (corrected, with service time)"
            } else {
                "Latency (corrected)"
            });
            charts::latency_chart(&mut cols[1], chart, "live_latency", h, s.show_service, None);
        });
        ui.columns(2, |cols| {
            cols[0].label("Errors by kind");
            charts::errors_chart(&mut cols[0], chart, "live_errors", h);
            cols[1].label(if s.chart.open {
                "Requests in flight"
            } else {
                "In flight and virtual users"
            });
            charts::in_flight_chart(&mut cols[1], chart, "live_inflight", h);
        });
        // Before a run there is no grid to draw: no title over nothing.
        let which = s.shown.map_or(0, |i| i + 1);
        if let Some(map) = s.heat.get(which) {
            ui.label(
                "Latency heatmap: responses per second and latency band (log), brighter for more",
            );
            super::heatmap::chart(ui, map, &format!("live_heatmap_{which}"), h);
        }
        live_monitor(ui, s, h);
        let totals: Vec<&Stats> = s.totals.iter().collect();
        if let Some(shown) = request_table(ui, &s.keys, &totals, s.seconds, s.shown) {
            msgs.push(Msg::ShowRequest(shown));
        }
    });
}

/// The most monitored series the live screen keeps.
const LIVE_SERIES: usize = 20;

/// The live run's server side: a chart per monitored series (up to 8), failed sources named.
fn live_monitor(ui: &mut egui::Ui, s: &LiveState, h: f32) {
    if s.monitor.is_empty() && s.monitor_failed.is_empty() {
        return;
    }
    ui.label(
        "Beside the load, each second: what [monitor] reads (counters as rates /s), webhook \
         deliveries, each split value's share",
    );
    let shown: Vec<_> = s.monitor.iter().take(8).collect();
    for pair in shown.chunks(2) {
        ui.columns(2, |cols| {
            for (col, m) in cols.iter_mut().zip(pair) {
                charts::monitor_chart(
                    col,
                    &m.name,
                    &m.points,
                    &format!("live_monitor {}", m.name),
                    h * 0.7,
                );
            }
        });
    }
    for (source, n) in &s.monitor_failed {
        ui.colored_label(
            super::theme::error(ui),
            format!("{source} could not be read {n} times: gaps in its series"),
        );
    }
}

/// Asks for exactly one frame: `request_repaint` makes egui draw two, and without a GPU every frame
/// is CPU taken from the engine.
fn repaint_once(ctx: &egui::Context) {
    ctx.request_repaint_after(std::time::Duration::from_millis(1));
}

/// The capacity search's steps so far, and its answer once it has one.
fn capacity_panel(ui: &mut egui::Ui, c: &CapacityState) {
    ui.separator();
    let head = match (&c.verdict, c.current) {
        (Some(v), _) => format!("Capacity: {v}"),
        (None, Some(rate)) => format!(
            "Capacity search: step {} at {} (holding {})",
            c.steps.len() + 1,
            format::rate(rate),
            c.goal.join(", ")
        ),
        (None, None) => "Capacity search".to_string(),
    };
    ui.strong(head);
    egui::Grid::new("capacity_steps")
        .striped(true)
        .show(ui, |ui| {
            for h in [
                "step", "rate", "achieved", "p50", "p95", "p99", "errors", "result",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for (i, st) in c.steps.iter().enumerate() {
                ui.label(format!("{}", i + 1));
                ui.label(format::rate(st.rate));
                ui.label(format::rate(st.achieved));
                for ms in [st.p50_ms, st.p95_ms, st.p99_ms] {
                    ui.label(format::micros(ms * 1000.0));
                }
                ui.label(format::percent(st.error_rate));
                if st.held {
                    ui.colored_label(super::theme::good(ui), "held");
                } else {
                    ui.colored_label(
                        super::theme::bad(ui),
                        format!("failed: {}", st.failed.join("; ")),
                    );
                }
                ui.end_row();
            }
        });
    if c.steps.len() >= 2 {
        let points: Vec<(f64, f64, f64)> = c
            .steps
            .iter()
            .map(|s| (s.concurrency, s.achieved * (1.0 - s.error_rate), s.p95_ms))
            .collect();
        super::charts::knee(
            ui,
            &points,
            crate::analysis::capacity::usl(&c.steps),
            "concurrency (mean in flight, by Little's law)",
            "capacity",
        );
    }
}

#[cfg(test)]
mod tests {
    /// Passes egui runs after `ask`, once the start-up frames have settled.
    fn passes_after(ask: impl Fn(&egui::Context)) -> u32 {
        let ctx = egui::Context::default();
        let pass = |ctx: &egui::Context| {
            let mut out = ctx.run_ui(egui::RawInput::default(), |ui| {
                ui.label("tick");
            });
            out.textures_delta.clear();
        };
        for _ in 0..10 {
            pass(&ctx);
        }
        assert!(
            !ctx.has_requested_repaint(),
            "start-up frames did not settle"
        );
        ask(&ctx);
        let mut n = 0;
        while ctx.has_requested_repaint() && n < 10 {
            pass(&ctx);
            n += 1;
        }
        n
    }

    #[test]
    fn a_live_tick_draws_one_frame_not_two() {
        assert_eq!(passes_after(super::repaint_once), 1);
        // What it guards against: egui's plain request draws a second frame.
        assert_eq!(passes_after(egui::Context::request_repaint), 2);
    }

    #[test]
    fn the_schedule_reads_in_the_unit_it_picks() {
        assert_eq!(super::schedule(true, "200/s".into(), None), "target 200/s");
        assert_eq!(
            super::schedule(true, "25/s".into(), Some(4.5)),
            "iterations 4.5/s of 25/s scheduled"
        );
        assert_eq!(super::schedule(false, "10".into(), None), "VUs 10");
        assert_eq!(
            super::schedule(false, "10".into(), Some(40.0)),
            "VUs 10, iterations 40/s"
        );
    }
}
