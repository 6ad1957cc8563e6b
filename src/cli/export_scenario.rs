//! `loadbench export-scenario`: a scenario as a k6 script or an Artillery test.

use std::path::PathBuf;

use clap::Args;

use crate::exit::*;
use crate::scenario::Scenario;
use crate::scenario::export::{self, Tool};

#[derive(Args)]
pub(super) struct ExportScenarioArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// The tool to write for: k6 or artillery.
    #[arg(long, value_parser = parse_tool)]
    format: Tool,
    /// Write the script here (an existing file is kept unless --force) instead of printing it.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

fn parse_tool(s: &str) -> Result<Tool, String> {
    Tool::from_name(s).ok_or_else(|| format!("unknown format `{s}` (k6 or artillery)"))
}

/// Writes the script; what the tool cannot say goes to its top and to stderr.
pub(super) fn export_scenario(args: ExportScenarioArgs) -> i32 {
    // `${env.NAME}` stays a name: the script reads the variable where it runs.
    let scenario = match Scenario::load_with(&args.scenario, &export::marker_lookup) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_INVALID;
        }
    };
    if scenario.requests.iter().all(|r| r.step.is_some()) {
        eprintln!(
            "loadbench: export-scenario: {} has only journeys; their steps' order, extract rules \
             and cookies need the tool's own scripting, so there is nothing to write",
            args.scenario.display()
        );
        return EXIT_INVALID;
    }
    let out = export::export(&scenario, args.format);
    match &args.output {
        Some(path) => {
            if let Err(e) = crate::output::write(path, out.text.as_bytes(), args.force) {
                eprintln!("loadbench: export-scenario: {}: {e}", path.display());
                return EXIT_INVALID;
            }
            eprintln!("wrote {}", path.display());
        }
        None => print!("{}", out.text),
    }
    for u in &out.unmapped {
        eprintln!("  not carried over: {u}");
    }
    EXIT_OK
}
