//! The workbench window: one enum of screens, one state struct per screen, one file per view.
//! Views only draw and turn clicks into [`Msg`]s; [`Workbench::update`] carries them out.

pub mod benchmarks;
pub mod charts;
pub mod dialogs;
pub mod live;
pub mod runs;
pub mod scenarios;

use std::path::PathBuf;
use std::sync::mpsc::Receiver;

use egui::{Color32, RichText};
use serde::{Deserialize, Serialize};

use crate::store::Store;
use dialogs::Dialogs;
use scenarios::{Edit, Editor};

/// The screens of the workbench.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Screen {
    /// The scenario library and editor.
    #[default]
    Scenarios,
    /// The run in progress.
    Live,
    /// Stored runs.
    Runs,
    /// Competitor benchmark sets.
    Benchmarks,
}

impl Screen {
    /// Parses a screen name (for `--screen`).
    pub fn from_name(s: &str) -> Option<Screen> {
        match s {
            "scenarios" => Some(Screen::Scenarios),
            "live" => Some(Screen::Live),
            "runs" => Some(Screen::Runs),
            "benchmarks" => Some(Screen::Benchmarks),
            _ => None,
        }
    }
}

/// Everything a view can ask for.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// Show a screen.
    Goto(Screen),
    /// Open the library entry at this index.
    OpenScenario(usize),
    /// Add a folder to the library (file dialog).
    OpenFolder,
    /// Start a new scenario from the quick-start sample.
    NewFromSample,
    /// Duplicate the open scenario as a new unsaved one.
    Duplicate,
    /// Make a new unsaved scenario from a pasted curl command.
    ImportCurl(String),
    /// Make a new unsaved scenario from a HAR recording (file dialog).
    ImportHar,
    /// Save the open scenario (asks where if it was never saved).
    Save,
    /// Save the open scenario elsewhere.
    SaveAs,
    /// The TOML text was edited.
    TextChanged(String),
    /// A form field was edited.
    Edit(Edit),
    /// Run the open scenario.
    Run,
    /// Search the open scenario's capacity: the highest rate holding its thresholds.
    FindCapacity(live::CapacitySettings),
    /// Stop the run in progress.
    Stop,
    /// Reload the run list.
    RefreshRuns,
    /// Sort the run list.
    SortRuns(runs::SortBy),
    /// Open a stored run.
    OpenRun(i64),
    /// Close the opened run.
    CloseRun,
    /// Tick or untick a run for comparison.
    ToggleSelect(i64),
    /// Compare the ticked runs.
    CompareSelected,
    /// Merge the ticked runs (shards of one scenario) into a new run, and open it.
    MergeSelected,
    /// Make the ticked runs (of one scenario) its baseline.
    BaselineSelected,
    /// Ask to delete a run.
    DeleteRun(i64),
    /// Delete it (confirmed).
    ConfirmDelete(i64),
    /// Replace a run's notes.
    SetNotes(i64, String),
    /// Tag a run.
    AddTag(i64, String),
    /// Untag a run.
    RemoveTag(i64, String),
    /// Recompute the opened run's figures for a time window (seconds).
    SelectWindow(f64, f64),
    /// Back to the whole run.
    ClearWindow,
    /// Save the unsaved scenario, then do what was asked.
    SaveThen(Box<Msg>),
    /// Throw away unsaved changes, then do what was asked.
    DiscardThen(Box<Msg>),
    /// Close the "unsaved changes" question.
    CancelPending,
    /// Close the comparison.
    CloseCompare,
    /// Close the window (asks first if a scenario has unsaved changes).
    Quit,
    /// Export a stored run as a report (asks where).
    Export(i64, crate::report::Format),
    /// Make a run the baseline of its scenario.
    MarkBaseline(i64),
    /// Import a benchmark file (file dialog).
    ImportBenchmark,
    /// Start a new, empty benchmark set.
    NewBenchmark,
    /// Edit a stored set.
    EditBenchmark(String),
    /// Save the set being edited (replacing the stored one of that name).
    SaveBenchmark,
    /// Close the editor without saving.
    CancelBenchmark,
    /// Delete a set.
    DeleteBenchmark(String),
    /// Compare a run with a set.
    CompareBenchmark(i64, String),
}

/// The sample scenarios, built in so a first start anywhere has them.
pub const SAMPLES: [(&str, &str); 3] = [
    (
        "quickstart.toml",
        include_str!("../../scenarios/quickstart.toml"),
    ),
    ("api-mix.toml", include_str!("../../scenarios/api-mix.toml")),
    (
        "find-the-knee.toml",
        include_str!("../../scenarios/find-the-knee.toml"),
    ),
];

/// Named latency histograms, one per compared run.
pub type Spectra = Vec<(String, hdrhistogram::Histogram<u64>)>;

/// The whole application state.
pub struct Workbench {
    /// The screen shown.
    pub screen: Screen,
    /// Scenarios screen.
    pub scenarios: scenarios::ScenariosState,
    /// Live screen.
    pub live: live::LiveState,
    /// Runs screen.
    pub runs: runs::RunsState,
    /// Benchmarks screen.
    pub benchmarks: benchmarks::BenchmarksState,
    /// The run database.
    pub db: PathBuf,
    /// A message waiting for an answer about unsaved changes.
    pub pending: Option<Msg>,
    /// Runs being compared (id, name, summary).
    pub compare: Vec<(i64, String, crate::metrics::Summary)>,
    /// Verdicts of each candidate against the first (baseline) of `compare`.
    pub verdicts: Vec<crate::analysis::compare::Comparison>,
    /// Chart series of the compared runs, aligned on elapsed time.
    pub compare_charts: Vec<(String, charts::ChartData)>,
    /// Latency histograms of the compared runs (loaded in the background).
    pub compare_spectra: Spectra,
    compare_pending: Option<Background<(Spectra, Vec<crate::analysis::compare::Comparison>)>>,
    baseline_pending: Option<Background<Option<crate::analysis::compare::Comparison>>>,
    merge_pending: Option<Background<Result<i64, String>>>,
    /// A message for the status line.
    pub status: String,
    dialogs: Box<dyn Dialogs>,
    store: Option<Store>,
    samples: PathBuf,
    quitting: bool,
    ctx: Option<egui::Context>,
}

impl Workbench {
    /// A workbench over the sample folder `samples` and the database `db`.
    pub fn new(samples: PathBuf, db: PathBuf, dialogs: Box<dyn Dialogs>) -> Workbench {
        let mut w = Workbench {
            screen: Screen::Scenarios,
            scenarios: scenarios::ScenariosState {
                dirs: vec![samples.clone()],
                ..Default::default()
            },
            live: live::LiveState::default(),
            runs: runs::RunsState::default(),
            benchmarks: benchmarks::BenchmarksState::default(),
            db,
            pending: None,
            compare: Vec::new(),
            verdicts: Vec::new(),
            compare_charts: Vec::new(),
            compare_spectra: Vec::new(),
            compare_pending: None,
            baseline_pending: None,
            merge_pending: None,
            status: String::new(),
            dialogs,
            store: None,
            samples,
            quitting: false,
            ctx: None,
        };
        w.scenarios.rescan();
        if let Some(i) = w
            .scenarios
            .library
            .iter()
            .position(|e| e.path.file_name().is_some_and(|f| f == "quickstart.toml"))
            .or((!w.scenarios.library.is_empty()).then_some(0))
        {
            w.update(Msg::OpenScenario(i));
        }
        match Store::open(&w.db) {
            Ok(s) => {
                w.runs.refresh(&s);
                w.benchmarks.sets = s.list_benchmarks().unwrap_or_default();
                w.store = Some(s);
            }
            Err(e) => w.status = format!("run history unavailable: {e}"),
        }
        w
    }

    /// Draws one frame and carries out what was clicked.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        if self.ctx.is_none() {
            self.ctx = Some(ui.ctx().clone());
        }
        if self.quitting {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
        // A capacity search's next step, once its cool-down is over.
        let due = self
            .live
            .capacity
            .as_ref()
            .and_then(|c| c.resume_at)
            .filter(|_| !self.live.is_running());
        if let Some(at) = due {
            let now = std::time::Instant::now();
            if now >= at {
                if let Some(c) = self.live.capacity.as_mut() {
                    c.resume_at = None;
                }
                self.next_capacity_step();
            } else {
                ui.ctx().request_repaint_after(at - now);
            }
        }
        let polled = self.live.poll();
        if let Some(stored) = &polled
            && self
                .live
                .capacity
                .as_ref()
                .is_some_and(|c| c.current.is_some())
        {
            self.capacity_step_done(stored);
        }
        if let Some(Ok(id)) = polled
            && let Some(store) = &self.store
        {
            self.status = format!("run stored as #{id}");
            self.runs.refresh(store);
            // After every run: how it compares with its scenario's baseline, if one is marked.
            self.baseline_pending = Some(in_background(&self.db, self.ctx.clone(), move |store| {
                let bases: Vec<i64> = store
                    .run(id)
                    .ok()
                    .and_then(|r| store.baselines_of(&r.row.scenario).ok())
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|b| *b != id)
                    .collect();
                (!bases.is_empty())
                    .then(|| crate::analysis::compare::compare_to_runs(store, &bases, id).ok())
                    .flatten()
            }));
        }
        if let Some(c) = take_ready(&mut self.baseline_pending) {
            self.live.against_baseline = c;
        }
        if let Some(merged) = take_ready(&mut self.merge_pending) {
            match (merged, &self.store) {
                (Ok(id), Some(s)) => {
                    self.runs.selected.clear();
                    self.runs.error = None;
                    self.runs.refresh(s);
                    self.runs.open(s, self.db.clone(), id);
                }
                (Ok(_), None) => {}
                (Err(e), _) => self.runs.error = Some(format!("merge: {e}")),
            }
        }
        self.runs.poll();
        // A live run repaints once per tick: its thread asks for it with each event. Nothing more,
        // since every frame is CPU taken from the engine where there is no GPU.
        // Background work (a window recompute, a comparison's spectra) is polled for while it runs;
        // an open run alone draws nothing more.
        if self.runs.busy()
            || self.compare_pending.is_some()
            || self.baseline_pending.is_some()
            || self.merge_pending.is_some()
        {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(200));
        }
        let mut msgs = Vec::new();
        // The panels leave their background to the window's clear colour (`App::clear_color`):
        // without a GPU, filling a window-sized rectangle each frame is most of a frame's cost.
        let bare = |f: egui::Frame| f.fill(egui::Color32::TRANSPARENT);
        egui::Panel::top("screens")
            .frame(bare(egui::Frame::side_top_panel(ui.style())))
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.heading(RichText::new("loadbench").strong());
                    ui.separator();
                    for (screen, label) in [
                        (Screen::Scenarios, "Scenarios"),
                        (Screen::Live, "Live run"),
                        (Screen::Runs, "Runs"),
                        (Screen::Benchmarks, "Benchmarks"),
                    ] {
                        let label = if screen == Screen::Live && self.live.is_running() {
                            format!("{label} (running)")
                        } else {
                            label.to_string()
                        };
                        if ui.selectable_label(self.screen == screen, label).clicked() {
                            msgs.push(Msg::Goto(screen));
                        }
                    }
                    ui.separator();
                    ui.label(RichText::new(&self.status).weak());
                });
            });
        egui::CentralPanel::default()
            .frame(bare(egui::Frame::central_panel(ui.style())))
            .show(ui, |ui| match self.screen {
                Screen::Scenarios => scenarios::view(ui, &mut self.scenarios, &mut msgs),
                Screen::Live => {
                    let name = self
                        .scenarios
                        .editor
                        .as_ref()
                        .filter(|e| e.check.is_ok())
                        .map(|e| e.name());
                    live::view(ui, &mut self.live, name.as_deref(), &mut msgs);
                }
                Screen::Runs => runs::view(ui, &mut self.runs, &mut msgs),
                Screen::Benchmarks => {
                    let open = self.runs.open.as_ref().map(|o| o.run.row.id);
                    benchmarks::view(ui, &mut self.benchmarks, open, &mut msgs);
                }
            });
        self.dialogs_ui(ui, &mut msgs);
        for m in msgs {
            self.update(m);
        }
    }

    fn dialogs_ui(&mut self, ui: &mut egui::Ui, msgs: &mut Vec<Msg>) {
        if let Some(next) = self.pending.clone() {
            egui::Modal::new(egui::Id::unique("unsaved")).show(ui.ctx(), |ui| {
                ui.heading("Unsaved changes");
                ui.label("The open scenario has changes that are not saved.");
                ui.horizontal(|ui| {
                    if ui.button("Save").clicked() {
                        msgs.push(Msg::SaveThen(Box::new(next.clone())));
                    }
                    if ui.button("Discard changes").clicked() {
                        msgs.push(Msg::DiscardThen(Box::new(next.clone())));
                    }
                    if ui.button("Cancel").clicked() {
                        msgs.push(Msg::CancelPending);
                    }
                });
            });
        }
        if let Some(id) = self.runs.confirm_delete {
            egui::Modal::new(egui::Id::unique("delete")).show(ui.ctx(), |ui| {
                ui.heading(format!("Delete run #{id}?"));
                ui.label("Its ticks and histograms are removed from the database.");
                ui.horizontal(|ui| {
                    if ui
                        .button(RichText::new("Delete").color(Color32::LIGHT_RED))
                        .clicked()
                    {
                        msgs.push(Msg::ConfirmDelete(id));
                    }
                    if ui.button("Cancel").clicked() {
                        self.runs.confirm_delete = None;
                    }
                });
            });
        }
        if let Some((spectra, verdicts)) = take_ready(&mut self.compare_pending) {
            self.compare_spectra = spectra;
            self.verdicts = verdicts;
        }
        if !self.compare.is_empty() {
            // Scrolls inside the screen: with charts and a verdict table per candidate it is
            // taller than a laptop's window, and its Close button would fall below the edge.
            let max_height = ui.ctx().content_rect().height() - 80.0;
            egui::Window::new("Compare runs")
                .collapsible(false)
                .default_width(900.0)
                .max_height(max_height)
                .vscroll(true)
                .show(ui.ctx(), |ui| {
                    ui.label("The first run is the baseline; changes are relative to it.");
                    runs::compare_table(ui, &self.compare);
                    runs::overlay_charts(ui, &self.compare_charts, &self.compare_spectra);
                    runs::verdict_table(ui, &self.verdicts);
                    if ui.button("Close").clicked() {
                        msgs.push(Msg::CloseCompare);
                    }
                });
        }
    }

    /// Opens a scenario file in the editor (adding its folder to the library).
    pub fn open_path(&mut self, path: &std::path::Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let dir = path.parent().map(PathBuf::from).unwrap_or_default();
        if !self.scenarios.dirs.contains(&dir) {
            self.scenarios.dirs.push(dir.clone());
            self.scenarios.rescan();
        }
        self.scenarios.editor = Some(Editor::new(Some(path.to_path_buf()), text, &dir));
        Ok(())
    }

    /// Sets the context used to wake the UI from other threads (done by `show` too).
    pub fn set_context(&mut self, ctx: egui::Context) {
        self.ctx = Some(ctx);
    }

    /// Opens an imported scenario as a new unsaved one, with what the import says about it; an
    /// import that failed leaves the open scenario as it was.
    fn imported(&mut self, result: Result<crate::scenario::import::Imported, String>) {
        match result {
            Ok(imp) => {
                self.scenarios.editor =
                    Some(Editor::new(None, imp.toml, &self.scenarios.default_dir()));
                self.scenarios.notes = imp.notes;
                self.scenarios.curl = None;
                self.scenarios.error = None;
            }
            Err(e) => self.scenarios.error = Some(format!("import: {e}")),
        }
    }

    /// Whether the open scenario has unsaved changes.
    pub fn dirty(&self) -> bool {
        self.scenarios.editor.as_ref().is_some_and(Editor::dirty)
    }

    /// Carries out one message.
    pub fn update(&mut self, msg: Msg) {
        match msg {
            Msg::Goto(s) => self.screen = s,
            m @ (Msg::OpenScenario(_)
            | Msg::NewFromSample
            | Msg::ImportCurl(_)
            | Msg::ImportHar
            | Msg::Quit)
                if self.dirty() =>
            {
                self.pending = Some(m)
            }
            Msg::Quit => self.quitting = true,
            Msg::OpenScenario(i) => {
                if let Some(entry) = self.scenarios.library.get(i).cloned() {
                    match std::fs::read_to_string(&entry.path) {
                        Ok(text) => {
                            let dir = entry.path.parent().map(PathBuf::from).unwrap_or_default();
                            self.scenarios.editor = Some(Editor::new(Some(entry.path), text, &dir));
                            self.scenarios.error = None;
                            self.scenarios.notes.clear();
                        }
                        Err(e) => {
                            self.scenarios.error = Some(format!("{}: {e}", entry.path.display()))
                        }
                    }
                }
            }
            Msg::NewFromSample => {
                let text = std::fs::read_to_string(self.samples.join("quickstart.toml"))
                    .unwrap_or_else(|_| SAMPLES[0].1.to_string());
                self.scenarios.editor = Some(Editor::new(None, text, &self.samples));
                self.scenarios.notes.clear();
            }
            Msg::ImportCurl(text) => {
                let result = crate::scenario::import::curl(&text);
                self.imported(result);
            }
            Msg::ImportHar => {
                if let Some(path) = self.dialogs.pick_file("Import a HAR recording") {
                    let result = std::fs::read_to_string(&path)
                        .map_err(|e| format!("cannot read: {e}"))
                        .and_then(|text| crate::scenario::import::har(&text, None, false))
                        .map_err(|e| format!("{}: {e}", path.display()));
                    self.imported(result);
                }
            }
            Msg::OpenFolder => {
                if let Some(dir) = self.dialogs.pick_folder() {
                    if !self.scenarios.dirs.contains(&dir) {
                        self.scenarios.dirs.push(dir);
                    }
                    self.scenarios.rescan();
                }
            }
            Msg::Duplicate => {
                if let Some(ed) = &self.scenarios.editor {
                    let mut copy =
                        Editor::new(None, ed.text.clone(), &self.scenarios.default_dir());
                    let name = format!("{} (copy)", copy.name());
                    copy.apply(Edit::Top("name", name));
                    self.scenarios.editor = Some(copy);
                }
            }
            Msg::Save => self.save(false),
            Msg::SaveAs => self.save(true),
            Msg::TextChanged(t) => {
                if let Some(ed) = self.scenarios.editor.as_mut() {
                    ed.set_text(t);
                }
            }
            Msg::Edit(e) => {
                if let Some(ed) = self.scenarios.editor.as_mut() {
                    ed.apply(e);
                }
            }
            Msg::Run => self.run(),
            Msg::FindCapacity(settings) => self.find_capacity(settings),
            Msg::Stop => {
                // A capacity search between steps has no run to stop: it ends here.
                if let Some(c) = self.live.capacity.as_mut()
                    && c.resume_at.take().is_some()
                {
                    c.current = None;
                    c.verdict = Some(crate::analysis::capacity::verdict(&c.search, true));
                }
                self.live.stop();
            }
            Msg::RefreshRuns => {
                if let Some(s) = &self.store {
                    self.runs.refresh(s);
                }
            }
            Msg::SortRuns(by) => {
                self.runs.sort = if self.runs.sort.0 == by {
                    (by, !self.runs.sort.1)
                } else {
                    (by, true)
                };
            }
            Msg::OpenRun(id) => {
                if let Some(s) = &self.store {
                    self.runs.open(s, self.db.clone(), id);
                }
            }
            Msg::CloseRun => self.runs.open = None,
            Msg::ToggleSelect(id) => {
                if !self.runs.selected.remove(&id) {
                    self.runs.selected.insert(id);
                }
            }
            Msg::MergeSelected => {
                if self.merge_pending.is_none() {
                    let ids: Vec<i64> = self.runs.selected.iter().copied().collect();
                    self.merge_pending =
                        Some(in_background(&self.db, self.ctx.clone(), move |s| {
                            s.merge_runs(&ids, true).map_err(|e| e.to_string())
                        }));
                }
            }
            Msg::BaselineSelected => {
                let ids: Vec<i64> = self.runs.selected.iter().copied().collect();
                if let Some(&first) = ids.first() {
                    self.store_op(first, |s| s.set_baseline(&ids));
                    if self.runs.error.is_none() {
                        self.status = format!(
                            "baseline: {}",
                            ids.iter()
                                .map(|i| format!("#{i}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                    }
                }
            }
            Msg::CompareSelected => {
                if let Some(s) = &self.store {
                    self.compare = self
                        .runs
                        .selected
                        .iter()
                        .filter_map(|id| s.run(*id).ok())
                        .filter_map(|r| r.summary.map(|sum| (r.row.id, r.row.name, sum)))
                        .collect();
                    let ids: Vec<i64> = self.compare.iter().map(|c| c.0).collect();
                    self.compare_charts = ids
                        .iter()
                        .filter_map(|id| {
                            let run = s.run(*id).ok()?;
                            let series = s.series(*id, run.info.keys.len()).ok()?;
                            let open = run.info.model == "open";
                            Some((
                                format!("#{id} {}", run.row.name),
                                charts::ChartData::from_ticks(open, &series.ticks),
                            ))
                        })
                        .collect();
                    self.compare_spectra.clear();
                    self.verdicts.clear();
                    let names: Vec<(i64, String)> = self
                        .compare_charts
                        .iter()
                        .zip(&ids)
                        .map(|((n, _), id)| (*id, n.clone()))
                        .collect();
                    // Spectra and verdicts both decode every histogram of every run: off the UI thread.
                    self.compare_pending =
                        Some(in_background(&self.db, self.ctx.clone(), move |store| {
                            let spectra = names
                                .into_iter()
                                .filter_map(|(id, name)| {
                                    let keys = store.run(id).ok()?.info.keys.len();
                                    let mut acc = crate::metrics::Accumulator::new(keys);
                                    store
                                        .each_tick(
                                            id,
                                            0,
                                            u32::MAX,
                                            crate::store::Histograms::Both,
                                            |t| acc.add(&t),
                                        )
                                        .ok()?;
                                    Some((name, acc.total().latency))
                                })
                                .collect();
                            let verdicts = ids
                                .iter()
                                .skip(1)
                                .filter_map(|c| {
                                    crate::analysis::compare::compare_runs(store, ids[0], *c).ok()
                                })
                                .collect();
                            (spectra, verdicts)
                        }));
                }
            }
            Msg::CloseCompare => {
                self.compare.clear();
                self.verdicts.clear();
                self.compare_charts.clear();
                self.compare_spectra.clear();
                self.compare_pending = None;
            }
            Msg::DeleteRun(id) => self.runs.confirm_delete = Some(id),
            Msg::ConfirmDelete(id) => {
                self.runs.confirm_delete = None;
                if let Some(s) = &self.store {
                    match s.delete_run(id) {
                        Ok(()) => {
                            self.status = format!("deleted run #{id}");
                            if self.runs.open.as_ref().is_some_and(|o| o.run.row.id == id) {
                                self.runs.open = None;
                            }
                            self.runs.selected.remove(&id);
                            self.runs.refresh(s);
                        }
                        Err(e) => self.runs.error = Some(e.to_string()),
                    }
                }
            }
            Msg::SetNotes(id, text) => self.store_op(id, |s| s.set_notes(id, &text)),
            Msg::AddTag(id, tag) => self.store_op(id, |s| s.tag(id, &[tag])),
            Msg::RemoveTag(id, tag) => self.store_op(id, |s| s.untag(id, &[tag])),
            Msg::SelectWindow(a, b) => {
                if let Some(o) = self.runs.open.as_mut() {
                    o.window = Some((a, b));
                    o.recompute(self.db.clone());
                }
            }
            Msg::ClearWindow => {
                if let Some(o) = self.runs.open.as_mut() {
                    o.window = None;
                    o.recompute(self.db.clone());
                }
            }
            Msg::SaveThen(next) => {
                self.pending = None;
                self.save(false);
                if !self.dirty() {
                    self.update(*next);
                }
            }
            Msg::DiscardThen(next) => {
                self.pending = None;
                if let Some(ed) = self.scenarios.editor.as_mut() {
                    let saved = ed.saved.clone();
                    ed.set_text(saved);
                }
                self.update(*next);
            }
            Msg::CancelPending => self.pending = None,
            Msg::Export(id, format) => self.export(id, format),
            Msg::ImportBenchmark => {
                if let Some(path) = self.dialogs.pick_file("Import benchmark figures") {
                    let name = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let parsed = std::fs::read_to_string(&path)
                        .map_err(|e| e.to_string())
                        .and_then(|t| crate::benchmark::parse(&t, None, &name));
                    match parsed {
                        Ok(set) => self.save_benchmark(set, false),
                        Err(e) => self.benchmarks.error = Some(format!("{}: {e}", path.display())),
                    }
                }
            }
            Msg::NewBenchmark => {
                self.benchmarks.editing = Some(crate::benchmark::BenchmarkSet {
                    name: "competitor".into(),
                    source: String::new(),
                    published: String::new(),
                    notes: String::new(),
                    latency: crate::benchmark::LatencyKind::Service,
                    figures: vec![crate::benchmark::Figures {
                        endpoint: "*".into(),
                        ..Default::default()
                    }],
                });
            }
            Msg::EditBenchmark(name) => {
                self.benchmarks.editing = self
                    .benchmarks
                    .sets
                    .iter()
                    .find(|s| s.name == name)
                    .cloned();
            }
            Msg::SaveBenchmark => {
                if let Some(set) = self.benchmarks.editing.clone() {
                    self.save_benchmark(set, true);
                }
            }
            Msg::CancelBenchmark => self.benchmarks.editing = None,
            Msg::DeleteBenchmark(name) => {
                if let Some(s) = &self.store {
                    match s.delete_benchmark(&name) {
                        Ok(()) => self.benchmarks.sets = s.list_benchmarks().unwrap_or_default(),
                        Err(e) => self.benchmarks.error = Some(e.to_string()),
                    }
                }
            }
            Msg::CompareBenchmark(id, name) => {
                if let Some(s) = &self.store {
                    let r = s.benchmark(&name).and_then(|set| {
                        crate::analysis::compare::compare_to_benchmark(s, id, &set)
                    });
                    match r {
                        Ok(c) => self.benchmarks.comparison = Some(c),
                        Err(e) => self.benchmarks.error = Some(e.to_string()),
                    }
                }
            }
            Msg::MarkBaseline(id) => {
                self.store_op(id, |s| s.set_baseline(&[id]));
                self.status = format!("run #{id} is now its scenario's baseline");
            }
        }
    }

    fn store_op(&mut self, id: i64, op: impl FnOnce(&Store) -> crate::store::Result<()>) {
        let Some(s) = &self.store else { return };
        match op(s) {
            Ok(()) => {
                self.runs.refresh(s);
                if let Ok(run) = s.run(id)
                    && let Some(o) = self.runs.open.as_mut().filter(|o| o.run.row.id == id)
                {
                    o.notes = run.notes.clone();
                    o.run = run;
                }
            }
            Err(e) => self.runs.error = Some(e.to_string()),
        }
    }

    /// Validates and stores a benchmark set (`replace`: an edit replaces the stored set of that name).
    fn save_benchmark(&mut self, set: crate::benchmark::BenchmarkSet, replace: bool) {
        let Some(s) = &self.store else { return };
        let text = serde_json::to_string(&set).unwrap_or_default();
        let checked =
            crate::benchmark::parse(&text, Some(crate::benchmark::Source::Json), &set.name);
        let result = checked.map_err(|e| e.to_string()).and_then(|set| {
            if replace && s.benchmark(&set.name).is_ok() {
                s.delete_benchmark(&set.name).map_err(|e| e.to_string())?;
            }
            s.save_benchmark(&set).map_err(|e| e.to_string())
        });
        match result {
            Ok(_) => {
                self.benchmarks.error = None;
                self.benchmarks.editing = None;
                self.benchmarks.sets = s.list_benchmarks().unwrap_or_default();
            }
            Err(e) => self.benchmarks.error = Some(e),
        }
    }

    fn export(&mut self, id: i64, format: crate::report::Format) {
        let Some(store) = &self.store else { return };
        let report = match crate::report::Report::load(store, id) {
            Ok(r) => r,
            Err(e) => {
                self.runs.error = Some(e.to_string());
                return;
            }
        };
        let Some(path) = self
            .dialogs
            .save_report(&format!("run-{id}.{}", format.extension()))
        else {
            return;
        };
        match crate::report::write(&report, format, &path, true) {
            Ok(files) => {
                self.status = format!("exported {} file(s) to {}", files.len(), path.display())
            }
            Err(e) => self.runs.error = Some(format!("cannot write {}: {e}", path.display())),
        }
    }

    fn save(&mut self, ask: bool) {
        let dir = self.scenarios.default_dir();
        let Some(ed) = self.scenarios.editor.as_mut() else {
            return;
        };
        let target = match (&ed.path, ask) {
            (Some(p), false) => Some(p.clone()),
            _ => {
                let name = format!(
                    "{}.toml",
                    ed.name()
                        .to_lowercase()
                        .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
                );
                self.dialogs.save_scenario(&dir, &name)
            }
        };
        let Some(path) = target else { return };
        match std::fs::write(&path, &ed.text) {
            Ok(()) => {
                ed.saved_as(path.clone());
                self.scenarios.error = None;
                self.status = format!("saved {}", path.display());
                self.scenarios.rescan();
            }
            Err(e) => self.scenarios.error = Some(format!("cannot save {}: {e}", path.display())),
        }
    }

    /// Starts a capacity search on the open scenario; its steps run on the live screen.
    fn find_capacity(&mut self, settings: live::CapacitySettings) {
        use crate::analysis::capacity::{self, Search};
        if self.live.is_running() {
            return;
        }
        let Some(Ok(sc)) = self.scenarios.editor.as_ref().map(|e| &e.check) else {
            self.scenarios.error = Some("capacity: open a valid scenario first".into());
            return;
        };
        let goal = match capacity::goal(sc) {
            Ok(g) => g,
            Err(e) => {
                self.scenarios.error = Some(format!("capacity: {e}"));
                return;
            }
        };
        let s = settings;
        if !(s.start > 0.0 && s.max >= s.start && s.precision > 0.0 && s.step_s >= 1.0) {
            self.scenarios.error = Some(
                "capacity: start above 0, max at least start, precision above 0, steps of 1 s or more"
                    .into(),
            );
            return;
        }
        self.scenarios.error = None;
        self.live.capacity = Some(live::CapacityState {
            base: sc.clone(),
            search: Search::new(s.start, s.max, s.precision / 100.0),
            step: std::time::Duration::from_secs_f64(s.step_s),
            goal,
            steps: Vec::new(),
            current: None,
            verdict: None,
            cooldown: std::time::Duration::from_secs_f64(s.cooldown_s.max(0.0)),
            resume_at: None,
        });
        self.screen = Screen::Live;
        self.next_capacity_step();
    }

    /// Runs the search's next step, or writes its answer when there is none.
    fn next_capacity_step(&mut self) {
        use crate::analysis::capacity;
        let Some(c) = self.live.capacity.as_mut() else {
            return;
        };
        let Some(rate) = c.search.next() else {
            c.current = None;
            c.verdict = Some(capacity::verdict(&c.search, false));
            return;
        };
        c.current = Some(rate);
        let step = capacity::step_scenario(&c.base, rate, c.step);
        let name = capacity::step_name(&c.base, rate);
        let ctx = self.ctx.clone().unwrap_or_default();
        if let Err(e) = self.live.start(step, name, &self.db, ctx) {
            self.live.error = Some(e);
            if let Some(c) = self.live.capacity.as_mut() {
                c.current = None;
                c.verdict = Some(capacity::verdict(&c.search, true));
            }
        }
    }

    /// A capacity step's run ended: judge it from its stored summary and go on (or stop).
    fn capacity_step_done(&mut self, stored: &Result<i64, String>) {
        use crate::analysis::capacity::{self, Step};
        let stopped = self
            .live
            .finished
            .as_ref()
            .is_some_and(|(status, _)| status != "completed");
        let id = stored.as_ref().ok().copied();
        if let (Some(id), Some(store)) = (id, &self.store) {
            let _ = store.tag(id, &["capacity".to_string()]);
        }
        let summary = self.live.summary.take();
        let Some(c) = self.live.capacity.as_mut() else {
            return;
        };
        let (Some(rate), Some(summary), false) = (c.current, summary, stopped) else {
            c.current = None;
            c.verdict = Some(capacity::verdict(&c.search, true));
            return;
        };
        let step = Step::judge(rate, &summary, id);
        c.search.record(rate, step.held);
        c.steps.push(step);
        // The next step starts after the cool-down, from the frame loop (the window never waits).
        c.resume_at = Some(std::time::Instant::now() + c.cooldown);
    }

    fn run(&mut self) {
        if self.live.is_running() {
            return;
        }
        // A plain run ends any capacity search shown on the live screen.
        self.live.capacity = None;
        let Some(ed) = &self.scenarios.editor else {
            return;
        };
        match &ed.check {
            Ok(sc) => {
                let sc = sc.clone();
                self.screen = Screen::Live;
                let ctx = self.ctx.clone().unwrap_or_default();
                let name = sc.name.clone();
                if let Err(e) = self.live.start(sc, name, &self.db, ctx) {
                    self.live.error = Some(e);
                }
            }
            Err(e) => self.scenarios.error = Some(e.to_string()),
        }
    }
}

/// Work running off the window's thread: its answer arrives on `rx`; dropping this (a window
/// closed, newer work replacing it) cancels the work at its next minute of ticks.
pub struct Background<T> {
    rx: Receiver<T>,
    cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<T> Drop for Background<T> {
    fn drop(&mut self) {
        self.cancel
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Runs `work` on its own thread with its own connection to the database, so the window never
/// waits on a long query (histograms decoded for a comparison or a merge); the answer arrives
/// for [`take_ready`], which the frame polls.
pub fn in_background<T: Send + 'static>(
    db: &std::path::Path,
    ctx: Option<egui::Context>,
    work: impl FnOnce(&Store) -> T + Send + 'static,
) -> Background<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = cancel.clone();
    let db = db.to_path_buf();
    std::thread::spawn(move || {
        if let Ok(mut store) = Store::open(&db) {
            store.cancel_when(flag);
            let _ = tx.send(work(&store));
        }
        if let Some(ctx) = ctx {
            ctx.request_repaint();
        }
    });
    Background { rx, cancel }
}

/// What background work sent, once it has; the slot empties then, or when the work ended
/// without an answer (the database could not be opened), so nothing polls for ever.
pub fn take_ready<T>(slot: &mut Option<Background<T>>) -> Option<T> {
    let got = match slot.as_ref()?.rx.try_recv() {
        Ok(v) => Some(v),
        Err(std::sync::mpsc::TryRecvError::Empty) => return None,
        Err(std::sync::mpsc::TryRecvError::Disconnected) => None,
    };
    *slot = None;
    got
}

/// The eframe application around the workbench.
pub struct App {
    /// The workbench.
    pub bench: Workbench,
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let closing = ui.ctx().input(|i| i.viewport().close_requested());
        if closing && self.bench.dirty() && !self.bench.quitting {
            ui.ctx()
                .send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.bench.pending = Some(Msg::Quit);
        }
        if closing {
            self.bench.live.stop();
        }
        self.bench.show(ui);
    }

    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, "screen", &self.bench.screen);
    }
}

/// How the window starts.
#[derive(Debug, Clone, Default)]
pub struct GuiOptions {
    /// The run database.
    pub db: PathBuf,
    /// Show this screen first (else the last one used).
    pub screen: Option<Screen>,
    /// Open this scenario and run it at once.
    pub run: Option<PathBuf>,
    /// Open this stored run on the Runs screen.
    pub open_run: Option<i64>,
}

/// The sample folder: `scenarios/` here if it exists, else a copy in the data directory.
pub fn samples_dir(db: &std::path::Path) -> PathBuf {
    let here = PathBuf::from("scenarios");
    if here.join("quickstart.toml").is_file() {
        return here;
    }
    let dir = db
        .parent()
        .map_or_else(|| PathBuf::from("scenarios"), |d| d.join("scenarios"));
    let _ = std::fs::create_dir_all(&dir);
    for (name, text) in SAMPLES {
        let p = dir.join(name);
        if !p.exists() {
            let _ = std::fs::write(p, text);
        }
    }
    dir
}

/// Whether a window can open here (Linux: an X11 or Wayland display).
pub fn display_available() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let set = |v: &str| std::env::var_os(v).is_some_and(|x| !x.is_empty());
    set("DISPLAY") || set("WAYLAND_DISPLAY")
}

/// Opens the workbench window; returns the process exit code.
pub fn run(opts: GuiOptions) -> i32 {
    const NO_WINDOW: &str =
        "to run a scenario without a window: loadbench run scenarios/quickstart.toml";
    if !display_available() {
        eprintln!(
            "loadbench: no display (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot open; {NO_WINDOW}"
        );
        return crate::exit::EXIT_RUN_ERROR;
    }
    let samples = samples_dir(&opts.db);
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("loadbench")
            .with_app_id("loadbench")
            .with_inner_size([1280.0, 840.0])
            .with_min_inner_size([800.0, 560.0]),
        persist_window: true,
        ..Default::default()
    };
    let result = eframe::run_native(
        "loadbench",
        options,
        Box::new(move |cc| {
            let mut bench =
                Workbench::new(samples, opts.db.clone(), Box::new(dialogs::NativeDialogs));
            bench.set_context(cc.egui_ctx.clone());
            if let Some(screen) = cc
                .storage
                .and_then(|s| eframe::get_value::<Screen>(s, "screen"))
            {
                bench.screen = screen;
            }
            if let Some(s) = opts.screen {
                bench.screen = s;
            }
            if let Some(id) = opts.open_run {
                bench.screen = Screen::Runs;
                bench.update(Msg::OpenRun(id));
            }
            if let Some(path) = &opts.run {
                match bench.open_path(path) {
                    Ok(()) => bench.update(Msg::Run),
                    Err(e) => bench.status = e,
                }
            }
            Ok(Box::new(App { bench }))
        }),
    );
    match result {
        Ok(()) => crate::exit::EXIT_OK,
        Err(e) => {
            eprintln!("loadbench: the window could not open ({e}); {NO_WINDOW}");
            crate::exit::EXIT_RUN_ERROR
        }
    }
}
