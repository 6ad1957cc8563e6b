//! The seam around native file dialogs: the app asks for paths through this trait, so tests can
//! answer without a desktop portal (none exists under a bare Xvfb).

use std::path::{Path, PathBuf};

/// Asks the user for paths.
pub trait Dialogs {
    /// A folder of scenarios to add to the library.
    fn pick_folder(&mut self) -> Option<PathBuf>;
    /// Where to save a scenario, starting in `dir` with `name` suggested.
    fn save_scenario(&mut self, dir: &Path, name: &str) -> Option<PathBuf>;
    /// Where to write a report, with `name` suggested.
    fn save_report(&mut self, name: &str) -> Option<PathBuf>;
    /// A file to read.
    fn pick_file(&mut self, title: &str) -> Option<PathBuf>;
}

/// The real dialogs (rfd).
pub struct NativeDialogs;

impl Dialogs for NativeDialogs {
    fn pick_folder(&mut self) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title("Open a folder of scenarios")
            .pick_folder()
    }

    fn save_scenario(&mut self, dir: &Path, name: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title("Save scenario as")
            .set_directory(dir)
            .set_file_name(name)
            .add_filter("Scenario (TOML)", &["toml"])
            .save_file()
    }

    fn pick_file(&mut self, title: &str) -> Option<PathBuf> {
        rfd::FileDialog::new().set_title(title).pick_file()
    }

    fn save_report(&mut self, name: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title("Export report")
            .set_file_name(name)
            .save_file()
    }
}

/// Answers from a script of prepared paths, in order (for tests).
#[derive(Default)]
pub struct ScriptedDialogs {
    /// Answers to `pick_folder`, first first.
    pub folders: Vec<PathBuf>,
    /// Answers to `save_scenario`, first first.
    pub saves: Vec<PathBuf>,
    /// Answers to `save_report`, first first.
    pub reports: Vec<PathBuf>,
    /// Answers to `pick_file`, first first.
    pub files: Vec<PathBuf>,
}

impl Dialogs for ScriptedDialogs {
    fn pick_folder(&mut self) -> Option<PathBuf> {
        (!self.folders.is_empty()).then(|| self.folders.remove(0))
    }

    fn save_scenario(&mut self, _dir: &Path, _name: &str) -> Option<PathBuf> {
        (!self.saves.is_empty()).then(|| self.saves.remove(0))
    }

    fn save_report(&mut self, _name: &str) -> Option<PathBuf> {
        (!self.reports.is_empty()).then(|| self.reports.remove(0))
    }

    fn pick_file(&mut self, _title: &str) -> Option<PathBuf> {
        (!self.files.is_empty()).then(|| self.files.remove(0))
    }
}
