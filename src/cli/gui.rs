//! `loadbench gui` (and `loadbench` alone): the window, on a given screen, run or scenario.

use std::path::PathBuf;

use clap::Args;

#[derive(Args, Default)]
pub(super) struct GuiArgs {
    /// The screen to show first: scenarios, live, runs, benchmarks, compare or trends.
    #[arg(long, value_parser = parse_screen)]
    screen: Option<Screen>,
    /// Open this scenario and run it at once.
    #[arg(long, value_name = "SCENARIO")]
    run: Option<PathBuf>,
    /// Open this stored run on the Runs screen.
    #[arg(long, value_name = "ID")]
    open_run: Option<i64>,
    /// Compare these stored runs on the Compare screen (ids such as 12,13; the scenario's
    /// marked baseline among them, else the first, is the baseline).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    compare: Vec<i64>,
}

#[cfg(feature = "gui")]
type Screen = crate::ui::Screen;

/// A build without the window still parses `--screen`, to say what is missing rather than
/// reject the flag.
#[cfg(not(feature = "gui"))]
type Screen = String;

fn parse_screen(s: &str) -> Result<Screen, String> {
    #[cfg(feature = "gui")]
    return crate::ui::Screen::from_name(s).ok_or_else(|| {
        format!("\"{s}\": expected scenarios, live, runs, benchmarks, compare or trends")
    });
    #[cfg(not(feature = "gui"))]
    Ok(s.to_string())
}

/// Opens the window as the flags say.
#[cfg(feature = "gui")]
pub(super) fn gui(args: GuiArgs, db: PathBuf) -> i32 {
    crate::ui::run(crate::ui::GuiOptions {
        db,
        screen: args.screen,
        run: args.run,
        open_run: args.open_run,
        compare: args.compare,
    })
}

/// Says the window is not in this build (`--no-default-features`), and what is.
#[cfg(not(feature = "gui"))]
pub(super) fn gui(_: GuiArgs, _: PathBuf) -> i32 {
    eprintln!(
        "loadbench: this build has no window (built without the `gui` feature); every headless \
         command is here: loadbench --help"
    );
    super::EXIT_INVALID
}
