//! The in-window path field: where a desktop has no file-dialog portal (bare X11, some tiling
//! window managers), a path is typed, or picked from the folder's listing, inside the window.

use std::path::{Path, PathBuf};

use egui::RichText;

use super::Msg;
use super::dialogs::{PathKind, Question};

/// A path being asked for in the window.
pub struct PathPrompt {
    /// What is asked.
    pub question: Question,
    /// The path typed so far.
    pub text: String,
    /// The folder listed below the field, and its entries (name, is a folder), read once per folder.
    listing: Option<(PathBuf, Vec<(String, bool)>)>,
    /// Why the last OK was refused.
    pub error: Option<String>,
}

impl PathPrompt {
    /// Starts in the question's folder, with its suggested name.
    pub fn new(question: Question) -> PathPrompt {
        let mut text = question.dir.display().to_string();
        if !text.ends_with(std::path::MAIN_SEPARATOR) {
            text.push(std::path::MAIN_SEPARATOR);
        }
        if let Some(name) = &question.name {
            text.push_str(name);
        }
        PathPrompt {
            question,
            text,
            listing: None,
            error: None,
        }
    }

    /// The path typed, if it answers the question (an existing folder or file, or a file to
    /// write in an existing folder); else why not.
    pub fn answer(&self) -> Result<PathBuf, String> {
        let p = PathBuf::from(self.text.trim());
        if self.text.trim().is_empty() {
            return Err("type a path".into());
        }
        match self.question.kind {
            PathKind::Folder if p.is_dir() => Ok(p),
            PathKind::Folder => Err(format!("{}: not a folder", p.display())),
            PathKind::Open if p.is_file() => Ok(p),
            PathKind::Open => Err(format!("{}: no such file", p.display())),
            PathKind::Save if p.is_dir() => {
                Err(format!("{}: a folder; add a file name", p.display()))
            }
            PathKind::Save => match p.parent() {
                Some(dir) if dir.as_os_str().is_empty() || dir.is_dir() => Ok(p),
                Some(dir) => Err(format!("{}: no such folder", dir.display())),
                None => Err(format!("{}: not a file path", p.display())),
            },
        }
    }

    /// The folder whose entries are listed: the path itself if a folder, else its parent.
    fn folder(&self) -> PathBuf {
        let p = PathBuf::from(self.text.trim());
        if self.text.ends_with(std::path::MAIN_SEPARATOR) || p.is_dir() {
            p
        } else {
            p.parent().map(Path::to_path_buf).unwrap_or_default()
        }
    }

    fn entries(&mut self) -> (PathBuf, Vec<(String, bool)>) {
        let dir = self.folder();
        if self.listing.as_ref().is_none_or(|(d, _)| *d != dir) {
            let mut entries: Vec<(String, bool)> = std::fs::read_dir(&dir)
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .map(|e| {
                            let name = e.file_name().to_string_lossy().into_owned();
                            (name, e.path().is_dir())
                        })
                        .filter(|(n, _)| !n.starts_with('.'))
                        .collect()
                })
                .unwrap_or_default();
            entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            // A big folder lists its first entries; the field takes any path.
            entries.truncate(500);
            self.listing = Some((dir, entries));
        }
        self.listing.clone().unwrap_or_default()
    }
}

/// Draws the path field as a modal over the window.
pub fn view(ctx: &egui::Context, p: &mut PathPrompt, msgs: &mut Vec<Msg>) {
    egui::Modal::new(egui::Id::unique("path_prompt")).show(ctx, |ui| {
        ui.set_width(620.0);
        ui.heading(&p.question.title);
        ui.label(
            RichText::new(
                "No file dialog can open on this desktop (no portal), so the path is asked here: \
                 type it, or pick from the folder below.",
            )
            .weak(),
        );
        let label = ui.label("Full path");
        let r = ui
            .add(egui::TextEdit::singleline(&mut p.text).desired_width(f32::INFINITY))
            .labelled_by(label.id);
        let entered = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let (dir, entries) = p.entries();
        egui::ScrollArea::vertical()
            .max_height(260.0)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                if let Some(up) = dir.parent()
                    && ui.selectable_label(false, ".. (up a folder)").clicked()
                {
                    p.text = folder_text(up);
                }
                for (name, is_dir) in &entries {
                    if !is_dir && p.question.kind == PathKind::Folder {
                        // Shown, so the folder's scenarios can be seen, but not chosen.
                        ui.weak(format!("  {name}"));
                        continue;
                    }
                    let shown = if *is_dir {
                        format!("{name}/")
                    } else {
                        name.clone()
                    };
                    if ui.selectable_label(false, shown).clicked() {
                        p.text = if *is_dir {
                            folder_text(&dir.join(name))
                        } else {
                            dir.join(name).display().to_string()
                        };
                        p.error = None;
                    }
                }
            });
        if p.question.kind == PathKind::Save && PathBuf::from(p.text.trim()).is_file() {
            ui.colored_label(
                super::theme::warn(ui),
                "this file exists and will be replaced",
            );
        }
        if let Some(e) = &p.error {
            ui.colored_label(super::theme::error(ui), e);
        }
        ui.horizontal(|ui| {
            let ok = match p.question.kind {
                PathKind::Folder => "Choose folder",
                PathKind::Open => "Open this file",
                PathKind::Save => "Save here",
            };
            if ui.button(ok).clicked() || entered {
                match p.answer() {
                    Ok(path) => msgs.push(Msg::PathChosen(path)),
                    Err(e) => p.error = Some(e),
                }
            }
            if ui.button("Cancel").clicked() {
                msgs.push(Msg::CancelPath);
            }
        });
    });
}

fn folder_text(dir: &Path) -> String {
    let mut t = dir.display().to_string();
    if !t.ends_with(std::path::MAIN_SEPARATOR) {
        t.push(std::path::MAIN_SEPARATOR);
    }
    t
}
