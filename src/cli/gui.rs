//! `loadbench gui`: the window, on a given screen, run or scenario.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub(super) struct GuiArgs {
    /// The screen to show first: scenarios, live or runs.
    #[arg(long, value_parser = parse_screen)]
    screen: Option<crate::ui::Screen>,
    /// Open this scenario and run it at once.
    #[arg(long, value_name = "SCENARIO")]
    run: Option<PathBuf>,
    /// Open this stored run on the Runs screen.
    #[arg(long, value_name = "ID")]
    open_run: Option<i64>,
}

pub(super) fn parse_screen(s: &str) -> Result<crate::ui::Screen, String> {
    crate::ui::Screen::from_name(s)
        .ok_or_else(|| format!("\"{s}\": expected scenarios, live or runs"))
}

/// Opens the window as the flags say.
pub(super) fn gui(args: GuiArgs, db: PathBuf) -> i32 {
    crate::ui::run(crate::ui::GuiOptions {
        db,
        screen: args.screen,
        run: args.run,
        open_run: args.open_run,
    })
}
