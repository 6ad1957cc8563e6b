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
    /// Rescans the library folders.
    pub fn rescan(&mut self) {
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

/// A value as text for a field: strings without quotes, anything else as TOML without comments.
fn value_text(v: &toml_edit::Value) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => {
            let mut bare = v.clone();
            bare.decor_mut().clear();
            bare.to_string().trim().to_string()
        }
    }
}

fn item_text(item: Option<&Item>) -> String {
    item.and_then(Item::as_value)
        .map(value_text)
        .unwrap_or_default()
}

/// A one-line text field bound to a value of the document; emits an edit when the user changes it.
fn field(
    ui: &mut egui::Ui,
    label: &str,
    current: String,
    width: f32,
    msgs: &mut Vec<Msg>,
    edit: impl FnOnce(String) -> Edit,
) {
    let l = ui.label(label);
    let id = ui.make_persistent_id(("field", label));
    // A fixed size: in a grid, a text field's desired width gives way to the column's width
    // remembered from earlier frames, which cut a target's URL to its first letters.
    let changed = drafted(ui, id, &current, |ui, text| {
        ui.add_sized(
            [width, ui.spacing().interact_size.y],
            egui::TextEdit::singleline(text).id(id),
        )
        .labelled_by(l.id)
    });
    if let Some(text) = changed {
        msgs.push(Msg::Edit(edit(text)));
    }
}

/// A text field over a value that lives in the TOML document: while it has focus it shows what
/// is being typed (its draft), not the document's value re-read each frame, so a separator
/// typed before the next item (`202,` on the way to `202,204`; a new line before the next
/// threshold) is not eaten by the round trip. Returns the text when it changed.
fn drafted(
    ui: &mut egui::Ui,
    id: egui::Id,
    current: &str,
    widget: impl FnOnce(&mut egui::Ui, &mut String) -> egui::Response,
) -> Option<String> {
    let draft_id = id.with("draft");
    let mut text = ui
        .data(|d| d.get_temp::<String>(draft_id))
        .unwrap_or_else(|| current.to_string());
    let r = widget(ui, &mut text);
    if r.has_focus() {
        ui.data_mut(|d| d.insert_temp(draft_id, text.clone()));
    } else {
        ui.data_mut(|d| d.remove::<String>(draft_id));
    }
    (r.changed() && text != current).then_some(text)
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
                for (i, entry) in s.library.iter().enumerate() {
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
            ui.colored_label(Color32::LIGHT_RED, e);
        }
        for n in &s.notes {
            ui.colored_label(Color32::from_rgb(230, 190, 90), format!("import: {n}"));
        }
        environment(ui, &ed.env_names(), &s.env, msgs);
        match &ed.check {
            Ok(sc) => {
                ui.label(format!(
                    "valid: {} model, {} request(s), {} target(s), {}",
                    sc.load.model_name(),
                    sc.requests.len(),
                    sc.targets.len(),
                    crate::format::span(sc.duration())
                ));
            }
            Err(err) => {
                for p in &err.problems {
                    ui.colored_label(
                        Color32::LIGHT_RED,
                        format!("line {}, column {}: {}", p.line, p.col, p.message),
                    );
                }
            }
        }
        ui.separator();
        match s.face {
            Face::Toml => toml_face(ui, ed, msgs),
            Face::Form => form_face(ui, ed, msgs),
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
                    let changed = drafted(ui, id, &current, |ui, text| {
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

fn form_face(ui: &mut egui::Ui, ed: &Editor, msgs: &mut Vec<Msg>) {
    let Some(doc) = ed.doc.as_ref() else {
        ui.colored_label(
            Color32::LIGHT_RED,
            "The TOML does not parse; fix it on the TOML face.",
        );
        return;
    };
    egui::ScrollArea::vertical().show(ui, |ui| {
        egui::Grid::new("top_fields").num_columns(2).show(ui, |ui| {
            for (key, label) in [
                ("name", "Name"),
                ("description", "Description"),
                ("duration", "Duration"),
                ("warmup", "Warm-up"),
                ("timeout", "Timeout"),
            ] {
                field(ui, label, item_text(doc.get(key)), 320.0, msgs, |v| {
                    Edit::Top(key, v)
                });
                ui.end_row();
            }
        });
        egui::CollapsingHeader::new("Targets")
            .default_open(true)
            .show(ui, |ui| {
                if let Some(t) = doc.get("targets").and_then(Item::as_table_like) {
                    let names: Vec<String> = t.iter().map(|(k, _)| k.to_string()).collect();
                    egui::Grid::new("targets").num_columns(3).show(ui, |ui| {
                        for n in names {
                            let url = item_text(t.get(&n));
                            let n2 = n.clone();
                            field(ui, &n, url, 320.0, msgs, move |v| Edit::TargetUrl(n2, v));
                            if ui.small_button("remove").clicked() {
                                msgs.push(Msg::Edit(Edit::RemoveTarget(n)));
                            }
                            ui.end_row();
                        }
                    });
                }
                if ui.button("Add target").clicked() {
                    msgs.push(Msg::Edit(Edit::AddTarget));
                }
            });
        let load = doc.get("load").and_then(Item::as_table_like);
        let get = |k: &str| item_text(load.and_then(|l| l.get(k)));
        egui::CollapsingHeader::new("Load")
            .default_open(true)
            .show(ui, |ui| {
                let model = get("model");
                ui.horizontal(|ui| {
                    ui.label("Model");
                    for m in ["open", "closed"] {
                        if ui.selectable_label(model == m, m).clicked() && model != m {
                            msgs.push(Msg::Edit(Edit::Model(m.to_string())));
                        }
                    }
                });
                let stages: Vec<(String, String)> = load
                    .and_then(|l| l.get("stages"))
                    .and_then(Item::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_inline_table())
                            .map(|t| {
                                (
                                    t.get("duration")
                                        .and_then(|d| d.as_str())
                                        .unwrap_or("")
                                        .to_string(),
                                    t.get("target").map(value_text).unwrap_or_default(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                egui::Grid::new("load_fields")
                    .num_columns(2)
                    .show(ui, |ui| {
                        if stages.is_empty() {
                            let (key, label) = if model == "closed" {
                                ("vus", "Virtual users")
                            } else {
                                ("rate", "Rate (req/s)")
                            };
                            field(ui, label, get(key), 120.0, msgs, move |v| {
                                Edit::LoadNumber(key, v)
                            });
                            ui.end_row();
                        }
                        if model == "closed" {
                            field(
                                ui,
                                "Think time",
                                get("think_time"),
                                120.0,
                                msgs,
                                Edit::ThinkTime,
                            );
                        } else {
                            field(
                                ui,
                                "Max in flight",
                                get("max_in_flight"),
                                120.0,
                                msgs,
                                |v| Edit::LoadNumber("max_in_flight", v),
                            );
                        }
                        ui.end_row();
                    });
                ui.label(if stages.is_empty() {
                    "Constant load. Stages ramp linearly between targets:"
                } else {
                    "Stages (linear ramps between targets):"
                });
                egui::Grid::new("stages").num_columns(3).show(ui, |ui| {
                    for (i, (d, t)) in stages.iter().enumerate() {
                        field(
                            ui,
                            &format!("{}. duration", i + 1),
                            d.clone(),
                            80.0,
                            msgs,
                            move |v| Edit::StageDuration(i, v),
                        );
                        field(ui, "target", t.clone(), 80.0, msgs, move |v| {
                            Edit::StageTarget(i, v)
                        });
                        if ui.small_button("remove").clicked() {
                            msgs.push(Msg::Edit(Edit::RemoveStage(i)));
                        }
                        ui.end_row();
                    }
                });
                if ui.button("Add stage").clicked() {
                    msgs.push(Msg::Edit(Edit::AddStage));
                }
                if let Ok(sc) = &ed.check {
                    let unit = if sc.load.model_name() == "open" {
                        "requests/s"
                    } else {
                        "virtual users"
                    };
                    ui.label(format!("Load profile ({unit} over time)"));
                    let pts = sc.load.profile().outline();
                    let plot = egui_plot::Plot::new("profile_preview")
                        .height(140.0)
                        .x_axis_label("time (s)")
                        .y_axis_label(unit)
                        .include_y(0.0)
                        .allow_scroll(false);
                    super::charts::nice_axes(plot).show(ui, |p| {
                        p.line(egui_plot::Line::new(
                            "load",
                            egui_plot::PlotPoints::from(pts),
                        ))
                    });
                }
            });
        egui::CollapsingHeader::new("Requests")
            .default_open(true)
            .show(ui, |ui| {
                let reqs = doc.get("requests").and_then(Item::as_array_of_tables);
                for (i, r) in reqs.into_iter().flat_map(|a| a.iter()).enumerate() {
                    let title = format!("{}. {}", i + 1, item_text(r.get("name")));
                    egui::CollapsingHeader::new(title)
                        .id_salt(("request", i))
                        .default_open(i == 0)
                        .show(ui, |ui| {
                            egui::Grid::new(("request_fields", i))
                                .num_columns(2)
                                .show(ui, |ui| {
                                    for (key, label) in [
                                        ("name", "Request name"),
                                        ("method", "Method"),
                                        ("path", "Path"),
                                        ("target", "Target"),
                                    ] {
                                        field(
                                            ui,
                                            label,
                                            item_text(r.get(key)),
                                            280.0,
                                            msgs,
                                            move |v| Edit::Request(i, key, v),
                                        );
                                        ui.end_row();
                                    }
                                    field(
                                        ui,
                                        "Weight",
                                        item_text(r.get("weight")),
                                        80.0,
                                        msgs,
                                        move |v| Edit::Weight(i, v),
                                    );
                                    ui.end_row();
                                    let status = r
                                        .get("checks")
                                        .and_then(Item::as_array)
                                        .and_then(|a| {
                                            a.iter()
                                                .filter_map(|c| c.as_inline_table())
                                                .find_map(|t| t.get("status").map(value_text))
                                        })
                                        .unwrap_or_default()
                                        .trim()
                                        .trim_start_matches('[')
                                        .trim_end_matches(']')
                                        .to_string();
                                    field(ui, "Expected status", status, 120.0, msgs, move |v| {
                                        Edit::StatusCheck(i, v)
                                    });
                                    ui.end_row();
                                });
                            ui.label("Headers");
                            let hs: Vec<(String, String)> = r
                                .get("headers")
                                .and_then(Item::as_inline_table)
                                .map(|h| {
                                    h.iter()
                                        .map(|(k, v)| {
                                            (
                                                k.to_string(),
                                                v.as_str().unwrap_or_default().to_string(),
                                            )
                                        })
                                        .collect()
                                })
                                .unwrap_or_default();
                            egui::Grid::new(("headers", i))
                                .num_columns(3)
                                .show(ui, |ui| {
                                    for (k, v) in hs {
                                        let k2 = k.clone();
                                        field(ui, &k, v, 260.0, msgs, move |v| {
                                            Edit::Header(i, k2, v)
                                        });
                                        if ui.small_button("remove").clicked() {
                                            msgs.push(Msg::Edit(Edit::RemoveHeader(i, k)));
                                        }
                                        ui.end_row();
                                    }
                                });
                            ui.horizontal(|ui| {
                                let id = ui.scope_id().with(("new_header", i));
                                let mut name: String =
                                    ui.data_mut(|d| d.get_temp(id).unwrap_or_default());
                                ui.add(
                                    egui::TextEdit::singleline(&mut name)
                                        .hint_text("header name")
                                        .desired_width(160.0),
                                );
                                if ui.button("Add header").clicked() && !name.trim().is_empty() {
                                    msgs.push(Msg::Edit(Edit::AddHeader(
                                        i,
                                        name.trim().to_string(),
                                    )));
                                    name.clear();
                                }
                                ui.data_mut(|d| d.insert_temp(id, name));
                            });
                            if r.get("json").is_some() {
                                ui.label("Body: JSON (edit it on the TOML face)");
                            } else {
                                let label = ui.label("Body");
                                let current = item_text(r.get("body"));
                                let mut body = current.clone();
                                if ui
                                    .add(
                                        egui::TextEdit::multiline(&mut body)
                                            .desired_rows(2)
                                            .desired_width(f32::INFINITY),
                                    )
                                    .labelled_by(label.id)
                                    .changed()
                                    && body != current
                                {
                                    msgs.push(Msg::Edit(Edit::Request(i, "body", body)));
                                }
                            }
                            if ui.small_button("Remove request").clicked() {
                                msgs.push(Msg::Edit(Edit::RemoveRequest(i)));
                            }
                        });
                }
                if ui.button("Add request").clicked() {
                    msgs.push(Msg::Edit(Edit::AddRequest));
                }
            });
        ui.collapsing("Thresholds", |ui| {
            let tables = doc
                .get("thresholds")
                .and_then(Item::as_array)
                .is_some_and(|a| a.iter().any(|v| v.as_str().is_none()));
            if tables {
                // The one-per-line form would drop `{ threshold, abort, after }` tables.
                ui.label("This scenario has thresholds written as tables (abort = true): edit them in the TOML text.");
                return;
            }
            let current: String = doc
                .get("thresholds")
                .and_then(Item::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            let label = ui.label("One per line, e.g. p95 < 200ms, error_rate < 0.1%, rate > 900/s");
            let id = ui.make_persistent_id("thresholds");
            let changed = drafted(ui, id, &current, |ui, text| {
                ui.add(egui::TextEdit::multiline(text).desired_rows(3).id(id))
                    .labelled_by(label.id)
            });
            if let Some(text) = changed {
                msgs.push(Msg::Edit(Edit::Thresholds(text)));
            }
        });
    });
}
