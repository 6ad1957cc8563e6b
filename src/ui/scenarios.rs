//! The scenario library and editor: a form and the raw TOML, two faces of one text.

use std::path::{Path, PathBuf};

use egui::{Color32, RichText};
use toml_edit::{DocumentMut, Item};

use super::Msg;
pub use super::edit::Edit;
use crate::scenario::{Scenario, ScenarioError};

/// A scenario file in the library.
#[derive(Debug, Clone, PartialEq)]
pub struct LibraryEntry {
    /// The file.
    pub path: PathBuf,
    /// Its `name`, or the file name if it has none.
    pub name: String,
}

/// Which face of the scenario is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Face {
    /// Fields for targets, requests, load and thresholds.
    #[default]
    Form,
    /// The TOML text itself.
    Toml,
}

/// The scenario being edited. The TOML text is the truth; the form edits it in place (comments kept).
pub struct Editor {
    /// Where it is saved (None: never saved).
    pub path: Option<PathBuf>,
    /// The current text.
    pub text: String,
    /// The text as last saved or loaded.
    pub saved: String,
    /// The text parsed for editing (None while it is not valid TOML).
    pub doc: Option<DocumentMut>,
    /// The validated scenario, or every problem with its line.
    pub check: Result<Scenario, ScenarioError>,
    base_dir: PathBuf,
    /// Values for `${env.NAME}` set in the window (before the process's own environment): held
    /// in memory only, never written to the file, the store or a report.
    env: std::collections::BTreeMap<String, String>,
}

impl Editor {
    /// An editor on `text` (from `path`, or unsaved with relative paths resolved in `base_dir`).
    pub fn new(path: Option<PathBuf>, text: String, base_dir: &Path) -> Editor {
        let mut e = Editor {
            path,
            saved: text.clone(),
            text: String::new(),
            doc: None,
            check: Err(ScenarioError {
                file: String::new(),
                problems: vec![],
            }),
            base_dir: base_dir.to_path_buf(),
            env: std::collections::BTreeMap::new(),
        };
        e.set_text(text);
        e
    }

    /// Uses these `${env.NAME}` values (the window's Environment panel) and re-validates.
    pub fn set_env(&mut self, env: &std::collections::BTreeMap<String, String>) {
        if &self.env != env {
            self.env = env.clone();
            self.set_text(self.text.clone());
        }
    }

    /// The `${env.NAME}` names the text uses, in order of first use.
    pub fn env_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        let mut rest = self.text.as_str();
        while let Some(i) = rest.find("${env.") {
            rest = &rest[i + "${env.".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// A scenario made here and not on disk yet (an import, a duplicate): unsaved from the start,
    /// so the next action that would replace it asks first.
    pub fn unsaved(text: String, base_dir: &Path) -> Editor {
        let mut e = Editor::new(None, text, base_dir);
        e.saved.clear();
        e
    }

    /// Replaces the text and re-validates it.
    pub fn set_text(&mut self, text: String) {
        self.doc = text.parse::<DocumentMut>().ok();
        let path = self
            .path
            .clone()
            .unwrap_or_else(|| self.base_dir.join("untitled.toml"));
        let env = &self.env;
        self.check = Scenario::parse(&text, Some(&path), &|n| {
            env.get(n).cloned().or_else(|| std::env::var(n).ok())
        });
        self.text = text;
    }

    /// Whether there are changes not saved.
    pub fn dirty(&self) -> bool {
        self.text != self.saved
    }

    /// The scenario's name as written.
    pub fn name(&self) -> String {
        self.doc
            .as_ref()
            .and_then(|d| d.get("name"))
            .and_then(Item::as_str)
            .unwrap_or("untitled")
            .to_string()
    }

    /// Applies a form edit to the TOML (keeping comments and layout) and re-validates.
    pub fn apply(&mut self, edit: Edit) {
        let Some(doc) = self.doc.as_mut() else {
            return;
        };
        edit.apply(doc);
        let text = doc.to_string();
        self.set_text(text);
    }

    /// Marks the current text as saved at `path`.
    pub fn saved_as(&mut self, path: PathBuf) {
        self.path = Some(path);
        self.saved = self.text.clone();
        let text = self.text.clone();
        self.set_text(text);
    }
}

/// State of the scenarios screen.
#[derive(Default)]
pub struct ScenariosState {
    /// Folders in the library (the samples first).
    pub dirs: Vec<PathBuf>,
    /// Scenario files found in them.
    pub library: Vec<LibraryEntry>,
    /// The scenario being edited.
    pub editor: Option<Editor>,
    /// Form or TOML.
    pub face: Face,
    /// The last save or import error.
    pub error: Option<String>,
    /// What the last import said about the scenario it made (credentials to set, requests left out).
    pub notes: Vec<String>,
    /// The curl command being pasted (Some while the paste box is open).
    pub curl: Option<String>,
    /// The capacity search's settings (Some while its form is open).
    pub capacity: Option<super::live::CapacitySettings>,
    /// `${env.NAME}` values typed in the Environment panel: memory only, for this window.
    pub env: std::collections::BTreeMap<String, String>,
}

impl ScenariosState {
    /// Rescans the library folders (one folder reached by two paths is listed once).
    pub fn rescan(&mut self) {
        let mut seen: Vec<PathBuf> = Vec::new();
        self.dirs.retain(|d| {
            let canonical = std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
            let new = !seen.contains(&canonical);
            seen.push(canonical);
            new
        });
        let mut out = Vec::new();
        for dir in &self.dirs {
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            for path in files {
                let name = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| t.parse::<DocumentMut>().ok())
                    .and_then(|d| d.get("name").and_then(Item::as_str).map(str::to_string))
                    .unwrap_or_else(|| {
                        path.file_stem()
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_default()
                    });
                out.push(LibraryEntry { path, name });
            }
        }
        self.library = out;
    }

    /// Where new scenarios are saved by default.
    pub fn default_dir(&self) -> PathBuf {
        self.dirs
            .first()
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

/// Draws the scenarios screen.
pub fn view(ui: &mut egui::Ui, s: &mut ScenariosState, msgs: &mut Vec<Msg>) {
    egui::Panel::left("library")
        .default_size(220.0)
        .show(ui, |ui| {
            ui.heading("Library");
            ui.horizontal_wrapped(|ui| {
                if ui.button("Open folder…").clicked() {
                    msgs.push(Msg::OpenFolder);
                }
                if ui
                    .button("New from sample")
                    .on_hover_text("a copy of the quick-start sample")
                    .clicked()
                {
                    msgs.push(Msg::NewFromSample);
                }
                if ui
                    .button("Import curl…")
                    .on_hover_text("a scenario from a curl command (\"Copy as cURL\")")
                    .clicked()
                {
                    s.curl = Some(s.curl.take().unwrap_or_default());
                }
                if ui
                    .button("Import HAR…")
                    .on_hover_text("a scenario from a browser's or proxy's HAR recording")
                    .clicked()
                {
                    msgs.push(Msg::ImportHar);
                }
                if ui
                    .button("Import OpenAPI…")
                    .on_hover_text(
                        "a request per operation of an OpenAPI 3 document (JSON or YAML)",
                    )
                    .clicked()
                {
                    msgs.push(Msg::ImportOpenApi);
                }
            });
            // The paste box is this view's own state, like the form/TOML switch.
            let mut close = false;
            if let Some(text) = s.curl.as_mut() {
                let label = ui.label("curl command");
                ui.add(
                    egui::TextEdit::multiline(text)
                        .hint_text("curl https://… -H '…' --data-raw '…'")
                        .desired_rows(4)
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(label.id);
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(!text.trim().is_empty(), egui::Button::new("Import"))
                        .clicked()
                    {
                        msgs.push(Msg::ImportCurl(text.clone()));
                    }
                    close = ui.button("Cancel").clicked();
                });
            }
            if close {
                s.curl = None;
            }
            ui.separator();
            egui::ScrollArea::vertical().show(ui, |ui| {
                let current = s.editor.as_ref().and_then(|e| e.path.clone());
                let mut folder: Option<&Path> = None;
                for (i, entry) in s.library.iter().enumerate() {
                    // A heading per folder, so two folders' "Quick start" are told apart.
                    let parent = entry.path.parent();
                    if parent != folder {
                        folder = parent;
                        let dir = parent.unwrap_or(Path::new("."));
                        let name = dir.file_name().map_or_else(
                            || dir.display().to_string(),
                            |n| n.to_string_lossy().into_owned(),
                        );
                        ui.add_space(4.0);
                        ui.label(RichText::new(format!("{name}/")).strong())
                            .on_hover_text(dir.display().to_string());
                    }
                    let selected = current.as_deref() == Some(entry.path.as_path());
                    let label = format!(
                        "{}\n{}",
                        entry.name,
                        entry
                            .path
                            .file_name()
                            .map(|f| f.to_string_lossy())
                            .unwrap_or_default()
                    );
                    if ui.selectable_label(selected, label).clicked() && !selected {
                        msgs.push(Msg::OpenScenario(i));
                    }
                }
            });
        });
    egui::CentralPanel::default().show(ui, |ui| {
        let Some(ed) = s.editor.as_mut() else {
            ui.label("Pick a scenario in the library, or start a new one from the sample.");
            return;
        };
        ui.horizontal(|ui| {
            let title = format!(
                "{}{}",
                ed.path
                    .as_ref()
                    .map_or("untitled".into(), |p| p.display().to_string()),
                if ed.dirty() { " •" } else { "" }
            );
            ui.heading(title);
        });
        ui.horizontal(|ui| {
            if ui
                .add_enabled(ed.dirty() || ed.path.is_none(), egui::Button::new("Save"))
                .on_hover_text("Ctrl+S")
                .clicked()
            {
                msgs.push(Msg::Save);
            }
            if ui.button("Save as…").clicked() {
                msgs.push(Msg::SaveAs);
            }
            if ui.button("Duplicate").clicked() {
                msgs.push(Msg::Duplicate);
            }
            ui.separator();
            ui.selectable_value(&mut s.face, Face::Form, "Form");
            ui.selectable_value(&mut s.face, Face::Toml, "TOML");
            ui.separator();
            let runnable = ed.check.is_ok();
            if ui
                .add_enabled(runnable, egui::Button::new(RichText::new("Run").strong()))
                .on_hover_text("Ctrl+Enter")
                .clicked()
            {
                msgs.push(Msg::Run);
            }
            if ui
                .add_enabled(runnable, egui::Button::new("Find capacity…"))
                .on_hover_text(
                    "the highest arrival rate that holds the thresholds: short runs at rising \
                     rates, then halving the gap",
                )
                .clicked()
            {
                s.capacity = Some(s.capacity.take().unwrap_or_default());
            }
        });
        // The capacity form is this view's own state until Start sends it.
        let mut close = false;
        if let Some(c) = s.capacity.as_mut() {
            ui.horizontal_wrapped(|ui| {
                let number = |ui: &mut egui::Ui, label: &str, v: &mut f64, lo: f64, hi: f64| {
                    let l = ui.label(label);
                    ui.add(egui::DragValue::new(v).range(lo..=hi).speed(1.0))
                        .labelled_by(l.id);
                };
                number(ui, "from (req/s)", &mut c.start, 1.0, 1e7);
                number(ui, "up to (req/s)", &mut c.max, 1.0, 1e7);
                number(ui, "step (s)", &mut c.step_s, 1.0, 3600.0);
                number(ui, "precision (%)", &mut c.precision, 0.1, 100.0);
                number(ui, "cool-down (s)", &mut c.cooldown_s, 0.0, 600.0);
                if ui.button("Start search").clicked() {
                    msgs.push(Msg::FindCapacity(c.clone()));
                    close = true;
                }
                close |= ui.button("Cancel").clicked();
            });
        }
        if close {
            s.capacity = None;
        }
        if let Some(e) = &s.error {
            ui.colored_label(super::theme::error(ui), e);
        }
        for n in &s.notes {
            ui.colored_label(super::theme::warn(ui), format!("import: {n}"));
        }
        environment(ui, &ed.env_names(), &s.env, msgs);
        // The verdict on the text has a fixed height (three lines, scrolling past that), so the
        // form below stays where it is as problems come and go while typing.
        let line = ui.text_style_height(&egui::TextStyle::Body) + ui.spacing().item_spacing.y;
        let height = 3.0 * line;
        egui::ScrollArea::vertical()
            .id_salt("problems")
            .max_height(height)
            .min_scrolled_height(height)
            .auto_shrink([false, false])
            .show(ui, |ui| match &ed.check {
                Ok(sc) => {
                    ui.label(format!(
                        "valid: {} model, {}, {}",
                        sc.load.model_name(),
                        sc.mix(),
                        crate::format::span(sc.duration())
                    ));
                }
                Err(err) => {
                    for p in &err.problems {
                        ui.colored_label(
                            super::theme::error(ui),
                            format!("line {}, column {}: {}", p.line, p.col, p.message),
                        );
                    }
                }
            });
        ui.separator();
        match s.face {
            Face::Toml => toml_face(ui, ed, msgs),
            Face::Form => super::form::form_face(ui, ed, msgs),
        }
    });
}

/// The Environment panel: a value for each `${env.NAME}` the scenario uses, typed here (hidden
/// like a password) and held in memory only; the file keeps `${env.NAME}`.
fn environment(
    ui: &mut egui::Ui,
    names: &[String],
    env: &std::collections::BTreeMap<String, String>,
    msgs: &mut Vec<Msg>,
) {
    if names.is_empty() {
        return;
    }
    let missing = names
        .iter()
        .filter(|n| !env.contains_key(*n) && std::env::var(n.as_str()).is_err())
        .count();
    let title = match missing {
        0 => format!("Environment ({} variables)", names.len()),
        m => format!("Environment ({m} of {} variables not set)", names.len()),
    };
    egui::CollapsingHeader::new(title)
        .default_open(missing > 0)
        .show(ui, |ui| {
            ui.weak("Values typed here are kept in memory for this window only: never saved to the file, the run history or a report.");
            egui::Grid::new("environment").num_columns(3).show(ui, |ui| {
                for name in names {
                    let current = env.get(name).cloned().unwrap_or_default();
                    let l = ui.label(name);
                    let id = ui.make_persistent_id(("env", name));
                    let changed = super::form::drafted(ui, id, &current, |ui, text| {
                        ui.add(
                            egui::TextEdit::singleline(text)
                                .password(true)
                                .id(id)
                                .desired_width(240.0),
                        )
                        .labelled_by(l.id)
                    });
                    if let Some(v) = changed {
                        msgs.push(Msg::SetEnv(name.clone(), crate::scenario::Secret(v)));
                    }
                    ui.weak(match (env.contains_key(name), std::env::var(name).is_ok()) {
                        (true, _) => "set here",
                        (false, true) => "from the process environment",
                        (false, false) => "not set",
                    });
                    ui.end_row();
                }
            });
        });
}

fn toml_face(ui: &mut egui::Ui, ed: &Editor, msgs: &mut Vec<Msg>) {
    let bad_lines: Vec<usize> = match &ed.check {
        Err(e) => e.problems.iter().map(|p| p.line).collect(),
        Ok(_) => vec![],
    };
    let mut layouter = |ui: &egui::Ui, text: &dyn egui::TextBuffer, wrap: f32| {
        let mut job = egui::text::LayoutJob::default();
        let font = egui::TextStyle::Monospace.resolve(ui.style());
        let color = ui.visuals().text_color();
        for (i, line) in text.as_str().split_inclusive('\n').enumerate() {
            let mut fmt = egui::TextFormat::simple(font.clone(), color);
            if bad_lines.contains(&(i + 1)) {
                fmt.background = Color32::from_rgba_unmultiplied(200, 40, 40, 70);
            }
            job.append(line, 0.0, fmt);
        }
        job.wrap.max_width = wrap;
        ui.fonts_mut(|f| f.layout_job(job))
    };
    let mut text = ed.text.clone();
    let label = ui.label("Scenario TOML (problems are highlighted at their line)");
    egui::ScrollArea::vertical().show(ui, |ui| {
        let r = ui
            .add(
                egui::TextEdit::multiline(&mut text)
                    .id_salt("toml_editor")
                    .code_editor()
                    .desired_width(f32::INFINITY)
                    .desired_rows(30)
                    .layouter(&mut layouter),
            )
            .labelled_by(label.id);
        if r.changed() {
            msgs.push(Msg::TextChanged(text));
        }
    });
}
