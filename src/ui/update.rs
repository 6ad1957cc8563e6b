//! What each message does: every click of the window, carried out on the workbench's state.

use std::path::PathBuf;

use super::dialogs::{Answer, PathKind, Question};
use super::*;

impl Workbench {
    /// Carries out one message.
    pub fn update(&mut self, msg: Msg) {
        match msg {
            Msg::Goto(s) => {
                self.screen = s;
                // Trends opens on the scenario in hand: the opened run's, else the newest run's.
                if s == Screen::Trends && self.trends.scenario.is_none() {
                    let scenario = self
                        .runs
                        .open
                        .as_ref()
                        .map(|o| o.run.row.scenario.clone())
                        .or_else(|| {
                            self.runs
                                .rows
                                .iter()
                                .max_by_key(|r| r.started_at_ms)
                                .map(|r| r.scenario.clone())
                        });
                    if let Some(name) = scenario {
                        self.trends.load(&self.db, self.ctx.clone(), name);
                    }
                }
            }
            Msg::ShowTrends(name) => self.trends.load(&self.db, self.ctx.clone(), name),
            m @ (Msg::OpenScenario(_)
            | Msg::NewFromSample
            | Msg::ImportCurl(_)
            | Msg::ImportHar
            | Msg::ImportOpenApi
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
                self.ask(Purpose::Har, "Import a HAR recording", PathKind::Open, None)
            }
            Msg::ImportOpenApi => self.ask(
                Purpose::OpenApi,
                "Import an OpenAPI document",
                PathKind::Open,
                None,
            ),
            Msg::OpenFolder => self.ask(
                Purpose::Folder,
                "Open a folder of scenarios",
                PathKind::Folder,
                None,
            ),
            Msg::PathChosen(path) => {
                if let Some((purpose, _)) = self.asking.take() {
                    self.answered(purpose, path);
                }
            }
            Msg::CancelPath => self.asking = None,
            Msg::Duplicate => {
                if let Some(ed) = &self.scenarios.editor {
                    let mut copy = Editor::unsaved(ed.text.clone(), &self.scenarios.default_dir());
                    let name = format!("{} (copy)", copy.name());
                    copy.apply(Edit::Top("name", name));
                    self.scenarios.editor = Some(copy);
                }
            }
            Msg::Save => self.save(false, None),
            Msg::SaveAs => self.save(true, None),
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
            Msg::FindRuns => self.runs.focus_filter = true,
            Msg::SetEnv(name, crate::scenario::Secret(value)) => {
                if value.is_empty() {
                    self.scenarios.env.remove(&name);
                } else {
                    self.scenarios.env.insert(name, value);
                }
            }
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
                if self.made_pending.is_none() {
                    let ids: Vec<i64> = self.runs.selected.iter().copied().collect();
                    self.made_pending = Some(in_background(&self.db, self.ctx.clone(), move |s| {
                        s.merge_runs(&ids, true).map_err(|e| format!("merge: {e}"))
                    }));
                }
            }
            Msg::ImportResults => self.ask(
                Purpose::Results,
                "Import results (a loadbench export, k6, oha, JMeter, Artillery)",
                PathKind::Open,
                None,
            ),
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
                let ids: Vec<i64> = self.runs.selected.iter().copied().collect();
                // The baseline: the ticked runs marked as their scenario's baseline (a set when
                // there are several), else the oldest ticked.
                let mut bases: Vec<i64> = self
                    .runs
                    .rows
                    .iter()
                    .filter(|r| r.baseline && self.runs.selected.contains(&r.id))
                    .map(|r| r.id)
                    .collect();
                bases.sort_unstable();
                if bases.is_empty() || bases.len() == ids.len() {
                    bases = ids.first().copied().into_iter().collect();
                }
                if let Some(s) = &self.store
                    && !bases.is_empty()
                {
                    self.compare.report_on = None;
                    self.compare
                        .load(s, &self.db, self.ctx.clone(), &ids, &bases);
                    self.screen = Screen::Compare;
                }
            }
            Msg::CompareBaseline(bases) => {
                let ids = self.compare.ids();
                if let Some(s) = &self.store {
                    self.compare
                        .load(s, &self.db, self.ctx.clone(), &ids, &bases);
                }
            }
            Msg::ExportCompare(candidate, format) => {
                let bases = self.compare.bases.clone();
                self.export(candidate, format, bases);
            }
            Msg::CloseCompare => {
                self.compare.clear();
                self.screen = Screen::Runs;
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
            Msg::Annotate(id, a) => self.store_op(id, |s| s.annotate(id, &a)),
            Msg::RemoveAnnotation(id, a) => self.store_op(id, |s| s.remove_annotation(id, &a)),
            Msg::SelectWindow(a, b) => {
                if let Some(o) = self.runs.open.as_mut() {
                    o.window = Some((a, b));
                    o.recompute(self.db.clone());
                }
            }
            Msg::ShowRequest(shown) => match self.screen {
                Screen::Live => self.live.shown = shown,
                _ => {
                    if let Some(o) = self.runs.open.as_mut() {
                        o.show_request(shown);
                    }
                }
            },
            Msg::ResetView => {
                if let Some(o) = self.runs.open.as_mut() {
                    o.view += 1;
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
                self.save(false, Some(next));
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
            Msg::Export(id, format) => self.export(id, format, Vec::new()),
            Msg::ImportBenchmark => self.ask(
                Purpose::Benchmark,
                "Import benchmark figures",
                PathKind::Open,
                None,
            ),
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
                    o.set_marks();
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

    /// Writes a run's report (with its verdicts against `baselines`, if any) where the user
    /// says; loading every histogram and writing happen off the window's thread.
    fn export(&mut self, id: i64, format: crate::report::Format, baselines: Vec<i64>) {
        let name = if baselines.is_empty() {
            format!("run-{id}.{}", format.extension())
        } else {
            format!("run-{id}-vs-{}.{}", baselines[0], format.extension())
        };
        self.ask(
            Purpose::Report(id, format, baselines),
            "Export report",
            PathKind::Save,
            Some(name),
        );
    }

    /// Writes the report asked for to `path`, off the window's thread.
    fn write_report(
        &mut self,
        id: i64,
        format: crate::report::Format,
        baselines: Vec<i64>,
        path: PathBuf,
    ) {
        self.status = format!("exporting run #{id} to {}…", path.display());
        self.export_pending = Some(in_background(&self.db, self.ctx.clone(), move |store| {
            let report = crate::report::Report::load_against_set(store, id, &baselines)
                .map_err(|e| format!("run #{id}: {e}"))?;
            crate::report::write(&report, format, &path, true)
                .map(|files| format!("exported {} file(s) to {}", files.len(), path.display()))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))
        }));
    }

    /// Where file dialogs start: the open scenario's folder, else the library's first.
    fn start_dir(&self) -> PathBuf {
        self.scenarios
            .editor
            .as_ref()
            .and_then(|e| e.path.as_ref())
            .and_then(|p| p.parent())
            .filter(|d| !d.as_os_str().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| self.scenarios.default_dir())
    }

    /// Asks for a path: the desktop's dialog, or the in-window path field where none can open.
    fn ask(&mut self, purpose: Purpose, title: &str, kind: PathKind, name: Option<String>) {
        let dir = self.start_dir();
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let question = Question {
            title: title.to_string(),
            dir,
            name,
            kind,
        };
        match self.dialogs.ask(&question) {
            Answer::Path(p) => self.answered(purpose, p),
            Answer::Cancelled => {}
            Answer::Unavailable => {
                self.asking = Some((purpose, super::path_prompt::PathPrompt::new(question)))
            }
        }
    }

    /// Does what the path was asked for.
    fn answered(&mut self, purpose: Purpose, path: PathBuf) {
        match purpose {
            Purpose::Folder => {
                if !self.scenarios.dirs.contains(&path) {
                    self.scenarios.dirs.push(path);
                }
                self.scenarios.rescan();
            }
            Purpose::Har => {
                let result = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read: {e}"))
                    .and_then(|text| crate::scenario::import::har(&text, None, false, false))
                    .map_err(|e| format!("{}: {e}", path.display()));
                self.imported(result);
            }
            Purpose::OpenApi => {
                // A document is megabytes at most; anything far larger is not one.
                let result = match std::fs::metadata(&path) {
                    Ok(m) if m.len() > 20 << 20 => Err("over 20 MiB: not read".to_string()),
                    _ => std::fs::read_to_string(&path).map_err(|e| format!("cannot read: {e}")),
                }
                .and_then(|text| crate::scenario::import::openapi(&text))
                .map_err(|e| format!("{}: {e}", path.display()));
                self.imported(result);
            }
            Purpose::Results => {
                if self.made_pending.is_none() {
                    self.status = format!("importing {}…", path.display());
                    self.made_pending = Some(in_background(&self.db, self.ctx.clone(), move |s| {
                        import_results(s, &path).map_err(|e| format!("import: {e}"))
                    }));
                }
            }
            Purpose::Benchmark => {
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
            Purpose::SaveScenario(then) => self.save_to(path, then),
            Purpose::Report(id, format, baselines) => {
                self.write_report(id, format, baselines, path)
            }
        }
    }

    /// Saves the open scenario (asking where if `ask` or never saved), then does `then`.
    fn save(&mut self, ask: bool, then: Option<Box<Msg>>) {
        let Some(ed) = self.scenarios.editor.as_ref() else {
            return;
        };
        match (&ed.path, ask) {
            (Some(p), false) => {
                let p = p.clone();
                self.save_to(p, then);
            }
            _ => {
                let name = format!(
                    "{}.toml",
                    ed.name()
                        .to_lowercase()
                        .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
                );
                self.ask(
                    Purpose::SaveScenario(then),
                    "Save scenario as",
                    PathKind::Save,
                    Some(name),
                );
            }
        }
    }

    /// Writes the open scenario to `path` and marks it saved there; then does `then`.
    fn save_to(&mut self, path: PathBuf, then: Option<Box<Msg>>) {
        let Some(ed) = self.scenarios.editor.as_mut() else {
            return;
        };
        match std::fs::write(&path, &ed.text) {
            Ok(()) => {
                ed.saved_as(path.clone());
                self.scenarios.error = None;
                self.status = format!("saved {}", path.display());
                if let Some(dir) = path.parent().map(PathBuf::from)
                    && !dir.as_os_str().is_empty()
                    && !self.scenarios.dirs.contains(&dir)
                {
                    self.scenarios.dirs.push(dir);
                }
                self.scenarios.rescan();
                if let Some(next) = then {
                    self.update(*next);
                }
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
        let secs = |x: f64| {
            std::time::Duration::from_secs_f64(if x.is_finite() {
                x.clamp(0.0, 1e9)
            } else {
                0.0
            })
        };
        let step = secs(s.step_s);
        if let Err((setting, e)) = capacity::check_settings(s.start, s.max, s.precision, step) {
            self.scenarios.error = Some(format!("capacity: {setting} {e}"));
            return;
        }
        self.scenarios.error = None;
        self.live.capacity = Some(live::CapacityState {
            base: sc.clone(),
            search: Search::new(s.start, s.max, s.precision / 100.0),
            step,
            goal,
            steps: Vec::new(),
            current: None,
            verdict: None,
            cooldown: secs(s.cooldown_s),
            resume_at: None,
        });
        self.screen = Screen::Live;
        self.next_capacity_step();
    }

    /// Runs the search's next step, or writes its answer when there is none.
    pub(super) fn next_capacity_step(&mut self) {
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
    pub(super) fn capacity_step_done(&mut self, stored: &Result<i64, String>) {
        use crate::analysis::capacity::{self, Step};
        let stopped = self
            .live
            .finished
            .as_ref()
            .is_some_and(|(status, _)| *status != crate::metrics::RunStatus::Completed);
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

/// Stores a results file: our own export, else another tool's results (format guessed).
fn import_results(
    store: &crate::store::Store,
    path: &std::path::Path,
) -> crate::store::Result<i64> {
    if crate::foreign::is_run_export(path) {
        return store.import_export_file(path).map(|(id, _)| id);
    }
    match crate::foreign::import_file(store, path, None, None, None)? {
        crate::foreign::Outcome::Already(id) => Ok(id),
        crate::foreign::Outcome::Stored(done) => Ok(done.id),
    }
}
