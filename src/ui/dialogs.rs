//! The seam around native file dialogs: the app asks for paths through this trait, so tests can
//! answer without a desktop portal, and a desktop without one gets the in-window path field.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a file dialog answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The user chose this path.
    Path(PathBuf),
    /// The user closed the dialog.
    Cancelled,
    /// No dialog could open here (no desktop portal): ask in the window instead.
    Unavailable,
}

/// What a path is asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// The dialog's title.
    pub title: String,
    /// Where it starts.
    pub dir: PathBuf,
    /// The file name suggested (saving), if any.
    pub name: Option<String>,
    /// What is picked.
    pub kind: PathKind,
}

/// Whether a question picks a folder, a file to read or a file to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// An existing folder.
    Folder,
    /// An existing file.
    Open,
    /// A file to write (it may exist).
    Save,
}

/// Asks the user for paths.
pub trait Dialogs {
    /// Asks one question.
    fn ask(&mut self, q: &Question) -> Answer;
}

/// The real dialogs (rfd), or `Unavailable` where they cannot open.
pub struct NativeDialogs;

/// Whether a native dialog can be expected to open: a D-Bus session for the desktop portal, and
/// not turned off with `LOADBENCH_FILE_DIALOG=window`.
fn portal_expected() -> bool {
    if std::env::var("LOADBENCH_FILE_DIALOG").is_ok_and(|v| v == "window") {
        return false;
    }
    if !cfg!(target_os = "linux") {
        return true;
    }
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty());
    let runtime_bus =
        std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| Path::new(&d).join("bus").exists());
    bus || runtime_bus
}

impl Dialogs for NativeDialogs {
    fn ask(&mut self, q: &Question) -> Answer {
        if !portal_expected() {
            return Answer::Unavailable;
        }
        let mut d = rfd::FileDialog::new()
            .set_title(&q.title)
            .set_directory(&q.dir);
        if let Some(name) = &q.name {
            d = d.set_file_name(name);
        }
        let asked = Instant::now();
        let got = match q.kind {
            PathKind::Folder => d.pick_folder(),
            PathKind::Open => d.pick_file(),
            PathKind::Save => d.save_file(),
        };
        match got {
            Some(p) => Answer::Path(p),
            // No one closes a dialog within a blink: a portal that is missing or refused answers
            // at once (rfd logs why), so the window asks instead.
            None if asked.elapsed() < Duration::from_millis(150) => Answer::Unavailable,
            None => Answer::Cancelled,
        }
    }
}

/// Answers from a script of prepared paths, in order (for tests).
#[derive(Default)]
pub struct ScriptedDialogs {
    /// Answers to folder questions, first first.
    pub folders: Vec<PathBuf>,
    /// Answers to "save scenario" questions, first first.
    pub saves: Vec<PathBuf>,
    /// Answers to "export report" questions, first first.
    pub reports: Vec<PathBuf>,
    /// Answers to "open file" questions, first first.
    pub files: Vec<PathBuf>,
    /// Behave like a desktop without a portal: every question is `Unavailable`.
    pub unavailable: bool,
    /// Every question asked, for tests to check where a dialog would have opened.
    pub asked: std::sync::Arc<std::sync::Mutex<Vec<Question>>>,
}

impl Dialogs for ScriptedDialogs {
    fn ask(&mut self, q: &Question) -> Answer {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(q.clone());
        }
        if self.unavailable {
            return Answer::Unavailable;
        }
        let queue = match q.kind {
            PathKind::Folder => &mut self.folders,
            PathKind::Open => &mut self.files,
            PathKind::Save if q.title.starts_with("Save scenario") => &mut self.saves,
            PathKind::Save => &mut self.reports,
        };
        if queue.is_empty() {
            Answer::Cancelled
        } else {
            Answer::Path(queue.remove(0))
        }
    }
}
