//! `loadbench report`: a stored run as Markdown, HTML, JSON, CSV, JUnit or an HdrHistogram log.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::exit::*;
use crate::store::Store;

#[derive(Args)]
pub(super) struct ReportArgs {
    /// Run id (see `loadbench runs`), `latest` or `baseline`.
    run: String,
    /// md, html, json, csv, junit or hlog.
    #[arg(long, short, value_parser = parse_format)]
    format: crate::report::Format,
    /// Output file (Markdown writes its charts beside it). Without it: stdout (not for md).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Compare the run with these baseline runs (tables with verdicts, an overlaid chart, and
    /// JUnit cases for regressions).
    #[arg(long = "compare", value_name = "BASE")]
    compare: Vec<String>,
    /// Replace the output file (and a Markdown report's charts) if they exist.
    #[arg(long)]
    force: bool,
}

pub(super) fn parse_format(s: &str) -> Result<crate::report::Format, String> {
    crate::report::Format::from_name(s)
        .ok_or_else(|| format!("\"{s}\": expected md, html, json, csv, junit or hlog"))
}

pub(super) fn report(args: ReportArgs, db: &std::path::Path) -> i32 {
    use crate::report::{Format, Report};
    let store = match Store::open_read(db) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("loadbench: {e}");
            return EXIT_RUN_ERROR;
        }
    };
    let ids = super::ids::one_run(&store, &args.run)
        .and_then(|run| Ok((run, super::ids::many_runs(&store, &args.compare)?)));
    let (run, compare) = match ids {
        Ok(ids) => ids,
        Err(e) => {
            eprintln!("loadbench: {e}");
            return EXIT_INVALID;
        }
    };
    let report = match Report::load_compared(&store, run, &compare) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadbench: {e}");
            return EXIT_INVALID;
        }
    };
    match args.output {
        Some(path) => match crate::report::write(&report, args.format, &path, args.force) {
            Ok(files) => {
                for f in files {
                    eprintln!("wrote {}", f.display());
                }
                EXIT_OK
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                eprintln!("loadbench: {e}");
                EXIT_INVALID
            }
            Err(e) => {
                eprintln!("loadbench: cannot write the report: {e}");
                EXIT_RUN_ERROR
            }
        },
        None if args.format == Format::Markdown => {
            eprintln!(
                "loadbench: --format md writes SVG charts beside the file: give it -o PATH.md"
            );
            EXIT_INVALID
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let written = args
                .format
                .exporter()
                .render_to(&report, "report", &mut out);
            match written.and_then(|_| out.flush()) {
                Ok(()) => EXIT_OK,
                Err(e) => {
                    eprintln!("loadbench: cannot write the report to standard output: {e}");
                    EXIT_RUN_ERROR
                }
            }
        }
    }
}
