//! The eframe application: opening the window, the sample folder, and what a window needs here.

use std::path::PathBuf;

use super::{Msg, SAMPLES, Screen, Workbench, dialogs, runs};

/// The eframe application around the workbench.
pub struct App {
    /// The workbench.
    pub bench: Workbench,
    /// Frame times for soaks, when `LOADBENCH_FRAME_LOG` asks for them.
    frame_log: Option<super::frame_log::FrameLog>,
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        if let Some(log) = &mut self.frame_log {
            log.frame(frame.info().cpu_usage);
        }
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
        eframe::set_value(storage, "runs_sort", &self.bench.runs.sort);
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
    /// Compare these stored runs on the Compare screen.
    pub compare: Vec<i64>,
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
                bench.update(Msg::Goto(screen));
            }
            if let Some(sort) = cc
                .storage
                .and_then(|s| eframe::get_value::<(runs::SortBy, bool)>(s, "runs_sort"))
            {
                bench.runs.sort = sort;
            }
            if let Some(s) = opts.screen {
                bench.update(Msg::Goto(s));
            }
            if let Some(id) = opts.open_run {
                bench.screen = Screen::Runs;
                bench.update(Msg::OpenRun(id));
            }
            if opts.compare.len() >= 2 {
                bench.runs.selected = opts.compare.iter().copied().collect();
                bench.update(Msg::CompareSelected);
            }
            if let Some(path) = &opts.run {
                match bench.open_path(path) {
                    Ok(()) => bench.update(Msg::Run),
                    Err(e) => bench.status = e,
                }
            }
            Ok(Box::new(App {
                bench,
                frame_log: super::frame_log::FrameLog::from_env(),
            }))
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
