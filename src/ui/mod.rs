//! The workbench window: one enum of screens, one state struct per screen, one file per view.
//! Views only draw and turn clicks into [`Msg`]s; [`Workbench::update`] carries them out.

mod app;
mod background;
pub mod benchmarks;
pub mod charts;
pub mod compare;
mod decimate;
pub mod dialogs;
mod edit;
mod evidence;
mod form;
mod frame_log;
pub mod heatmap;
mod keys;
pub mod live;
pub mod path_prompt;
pub mod runs;
pub mod scenarios;
mod theme;
pub mod trends;
mod update;
pub mod widgets;

pub use app::{App, GuiOptions, display_available, run, samples_dir};
pub use background::{Background, in_background, take_ready};

use std::path::PathBuf;

use egui::RichText;
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
    /// Runs side by side against a baseline.
    Compare,
    /// One scenario's runs over time.
    Trends,
}

impl Screen {
    /// Parses a screen name (for `--screen`).
    pub fn from_name(s: &str) -> Option<Screen> {
        match s {
            "scenarios" => Some(Screen::Scenarios),
            "live" => Some(Screen::Live),
            "runs" => Some(Screen::Runs),
            "benchmarks" => Some(Screen::Benchmarks),
            "compare" => Some(Screen::Compare),
            "trends" => Some(Screen::Trends),
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
    /// Asks for an OpenAPI document to import.
    ImportOpenApi,
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
    /// Put the cursor in the run list's filter (Ctrl+F).
    FindRuns,
    /// Set (or, empty, unset) a `${env.NAME}` value for this window, in memory only.
    SetEnv(String, crate::scenario::Secret),
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
    /// Ask for a results file (ours or another tool's) to store as a run.
    ImportResults,
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
    /// Pin a note to a time of a run.
    Annotate(i64, crate::store::Annotation),
    /// Take a note off a run.
    RemoveAnnotation(i64, crate::store::Annotation),
    /// Recompute the opened run's figures for a time window (seconds).
    SelectWindow(f64, f64),
    /// Back to the whole run.
    ClearWindow,
    /// Forget the opened run's zoom and pan.
    ResetView,
    /// Show one request alone in every chart of the screen shown (`None`: all of them).
    ShowRequest(Option<usize>),
    /// Save the unsaved scenario, then do what was asked.
    SaveThen(Box<Msg>),
    /// Throw away unsaved changes, then do what was asked.
    DiscardThen(Box<Msg>),
    /// Close the "unsaved changes" question.
    CancelPending,
    /// Compare the same runs against another baseline: one run, or a set of runs.
    CompareBaseline(Vec<i64>),
    /// Export a candidate's report with its verdicts against the compare screen's baseline.
    ExportCompare(i64, crate::report::Format),
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
    /// Show a scenario's runs over time on the Trends screen.
    ShowTrends(String),
    /// The in-window path field was answered.
    PathChosen(PathBuf),
    /// The in-window path field was closed.
    CancelPath,
}

/// What a path is asked for: what happens once it is chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Purpose {
    /// A folder to add to the library.
    Folder,
    /// A HAR recording to import.
    Har,
    /// An OpenAPI document (JSON or YAML) to import.
    OpenApi,
    /// Benchmark figures to import.
    Benchmark,
    /// A run export, or another tool's results, to store as a run.
    Results,
    /// Where to save the open scenario, and what to do once it is saved.
    SaveScenario(Option<Box<Msg>>),
    /// Where to write a run's report, with its verdicts against these baselines.
    Report(i64, crate::report::Format, Vec<i64>),
}

/// The sample scenarios, built in so a first start anywhere has them.
pub const SAMPLES: [(&str, &str); 11] = [
    (
        "quickstart.toml",
        include_str!("../../scenarios/quickstart.toml"),
    ),
    ("api-mix.toml", include_str!("../../scenarios/api-mix.toml")),
    (
        "proxy-overhead.toml",
        include_str!("../../scenarios/proxy-overhead.toml"),
    ),
    (
        "journey-items.toml",
        include_str!("../../scenarios/journey-items.toml"),
    ),
    (
        "webhook-delivery.toml",
        include_str!("../../scenarios/webhook-delivery.toml"),
    ),
    (
        "find-the-knee.toml",
        include_str!("../../scenarios/find-the-knee.toml"),
    ),
    (
        "scalability.toml",
        include_str!("../../scenarios/scalability.toml"),
    ),
    (
        "server-side.toml",
        include_str!("../../scenarios/server-side.toml"),
    ),
    (
        "streaming-completion.toml",
        include_str!("../../scenarios/streaming-completion.toml"),
    ),
    (
        "cache-split.toml",
        include_str!("../../scenarios/cache-split.toml"),
    ),
    (
        "availability-soak.toml",
        include_str!("../../scenarios/availability-soak.toml"),
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
    /// Compare screen.
    pub compare: compare::CompareState,
    /// Trends screen.
    pub trends: trends::TrendsState,
    baseline_pending: Option<Background<Option<crate::analysis::compare::Comparison>>>,
    /// A merge or an import making a new run off the window's thread; the run opens once made.
    made_pending: Option<Background<Result<i64, String>>>,
    export_pending: Option<Background<Result<String, String>>>,
    /// A path asked for in the window (no file-dialog portal here), and what it is for.
    pub asking: Option<(Purpose, path_prompt::PathPrompt)>,
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
            // Newest first: the run just made is the one looked for.
            runs: runs::RunsState {
                sort: (runs::SortBy::Date, true),
                ..Default::default()
            },
            benchmarks: benchmarks::BenchmarksState::default(),
            db,
            pending: None,
            compare: compare::CompareState::default(),
            trends: trends::TrendsState::default(),
            baseline_pending: None,
            made_pending: None,
            export_pending: None,
            asking: None,
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
        let making = self.made_pending.is_some();
        let made = take_ready(&mut self.made_pending);
        if made.is_none() && making && self.made_pending.is_none() {
            // Ended without an answer: its own connection to the database did not open.
            self.runs.error = Some("the run database could not be opened".into());
        }
        if let Some(merged) = made {
            match (merged, &self.store) {
                (Ok(id), Some(s)) => {
                    self.runs.selected.clear();
                    self.runs.error = None;
                    self.runs.refresh(s);
                    self.runs.open(s, self.db.clone(), id);
                }
                (Ok(_), None) => {}
                (Err(e), _) => self.runs.error = Some(e),
            }
        }
        self.runs.poll();
        self.compare.poll();
        self.trends.poll();
        let exporting = self.export_pending.is_some();
        match take_ready(&mut self.export_pending) {
            Some(Ok(done)) => self.status = done,
            Some(Err(e)) => {
                self.status = format!("export failed: {e}");
                self.runs.error = Some(e);
            }
            // Ended without an answer: its own connection to the database did not open.
            None if exporting && self.export_pending.is_none() => {
                self.status = "export failed: the run database could not be opened".into();
            }
            None => {}
        }
        // A live run repaints once per tick: its thread asks for it with each event. Nothing more,
        // since every frame is CPU taken from the engine where there is no GPU.
        // Background work (a window recompute, a comparison's spectra) is polled for while it runs;
        // an open run alone draws nothing more.
        if self.runs.busy()
            || self.compare.busy()
            || self.trends.busy()
            || self.baseline_pending.is_some()
            || self.made_pending.is_some()
            || self.export_pending.is_some()
        {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(200));
        }
        let mut msgs = keys::shortcuts(ui.ctx(), self.live.is_running());
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
                        (Screen::Compare, "Compare"),
                        (Screen::Trends, "Trends"),
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
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        theme::chooser(ui);
                    });
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
                Screen::Compare => compare::view(ui, &mut self.compare, &mut msgs),
                Screen::Trends => {
                    let mut names: Vec<String> =
                        self.runs.rows.iter().map(|r| r.scenario.clone()).collect();
                    names.sort();
                    names.dedup();
                    trends::view(ui, &mut self.trends, &names, &mut msgs);
                }
            });
        self.dialogs_ui(ui, &mut msgs);
        for m in msgs {
            self.update(m);
        }
        // Whatever editor is open validates with the window's environment values.
        if let Some(ed) = self.scenarios.editor.as_mut() {
            ed.set_env(&self.scenarios.env);
        }
    }

    fn dialogs_ui(&mut self, ui: &mut egui::Ui, msgs: &mut Vec<Msg>) {
        if let Some((_, prompt)) = self.asking.as_mut() {
            path_prompt::view(ui.ctx(), prompt, msgs);
        }
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
                        .button(RichText::new("Delete").color(theme::error(ui)))
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
                    Some(Editor::unsaved(imp.toml, &self.scenarios.default_dir()));
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
}
