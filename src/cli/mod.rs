//! The command line: no arguments opens the window; each subcommand lives in a file of its own.

mod benchmarks;
mod capacity;
mod cluster;
mod compare;
mod demo;
mod export_scenario;
mod gui;
mod ids;
mod import;
mod launch;
mod parse;
mod report;
mod run;
mod runs;
mod runs_import;
mod shard;
mod signals;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use crate::exit::*;
use crate::scenario::Scenario;
use crate::store::Store;
use benchmarks::{BenchmarksArgs, benchmarks};
use capacity::{CapacityArgs, capacity};
use cluster::{ClusterArgs, cluster};
use compare::{CompareArgs, compare};
use demo::{DemoArgs, demo};
use export_scenario::{ExportScenarioArgs, export_scenario};
use gui::GuiArgs;
use import::{ImportArgs, import};
use report::{ReportArgs, report};
use run::{RunArgs, run};
use runs::{RunsArgs, runs};

#[derive(Parser)]
#[command(
    name = "loadbench",
    version,
    about = "HTTP load workbench: corrected latency, HDR histograms, thresholds for CI",
    after_help = "Exit codes of `run`: 0 thresholds held, 1 a threshold failed, 2 invalid scenario or flag, \
3 the run could not be carried out, 4 a significant regression against the baseline (--compare-to), \
130 stopped with Ctrl-C."
)]
struct Cli {
    /// The run database (default: the platform's data directory).
    #[arg(long, global = true, env = "LOADBENCH_DB", value_name = "PATH")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario headless: live progress each second, then a summary; exit code from thresholds.
    Run(Box<RunArgs>),
    /// Open the workbench window (what `loadbench` alone does).
    Gui(GuiArgs),
    /// Serve the demo API on 127.0.0.1 until Ctrl-C.
    Demo(DemoArgs),
    /// List stored runs (newest first), or show, tag, annotate, delete, export and import them.
    Runs(RunsArgs),
    /// Compare stored runs: a baseline against one or more candidates, with a verdict per metric.
    Compare(CompareArgs),
    /// Competitor benchmark sets: list, import (CSV, JSON, k6, oha), show, delete.
    Benchmarks(BenchmarksArgs),
    /// Write a stored run as a report: md (with SVG charts beside it), html, json, csv, junit or hlog.
    Report(ReportArgs),
    /// Find the highest arrival rate that holds the scenario's thresholds, one short run per step.
    Capacity(CapacityArgs),
    /// Write a scenario from captured requests: a curl command line or a HAR recording.
    Import(ImportArgs),
    /// Write a scenario as a k6 script or an Artillery test (what they cannot say is listed at the top).
    ExportScenario(ExportScenarioArgs),
    /// Run a scenario as shards on Kubernetes (an Indexed Job), and merge their results.
    Cluster(ClusterArgs),
    /// Check a scenario file and report every problem with its line and column.
    Validate {
        /// The scenario file (TOML).
        scenario: PathBuf,
    },
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                EXIT_INVALID
            } else {
                EXIT_OK
            };
        }
    };
    let db = cli.db.clone().unwrap_or_else(Store::default_path);
    match cli.command {
        None => gui::gui(GuiArgs::default(), db),
        Some(Command::Gui(args)) => gui::gui(args, db),
        Some(Command::Run(args)) => run(*args, &db),
        Some(Command::Runs(args)) => runs(args, &db),
        Some(Command::Report(args)) => report(args, &db),
        Some(Command::Compare(args)) => compare(args, &db),
        Some(Command::Benchmarks(args)) => benchmarks(args, &db),
        Some(Command::Demo(args)) => demo(args),
        Some(Command::Import(args)) => import(args),
        Some(Command::ExportScenario(args)) => export_scenario(args),
        Some(Command::Capacity(args)) => capacity(args, &db),
        Some(Command::Cluster(args)) => cluster(args, &db),
        Some(Command::Validate { scenario }) => match Scenario::load(&scenario) {
            Ok(s) => {
                say_warnings(&s);
                println!(
                    "{}: ok — \"{}\", {} model, {}, {}{}",
                    scenario.display(),
                    s.name,
                    s.load.model_name(),
                    s.mix(),
                    crate::format::span(s.duration()),
                    if s.warmup.is_zero() {
                        String::new()
                    } else {
                        format!(
                            " of which the first {} is warm-up",
                            crate::format::span(s.warmup)
                        )
                    }
                );
                EXIT_OK
            }
            Err(e) => {
                eprintln!("{e}");
                EXIT_INVALID
            }
        },
    }
}

/// Says a scenario's warnings (an empty secret) on stderr before anything runs.
pub(super) fn say_warnings(s: &Scenario) {
    for w in &s.warnings {
        eprintln!("loadbench: warning: {w}");
    }
}
