//! `loadbench benchmarks`: competitor figures — list, import, show, delete.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit::*;
use crate::printer::{self};
use crate::store::Store;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct BenchmarksArgs {
    #[command(subcommand)]
    command: Option<BenchmarksCommand>,
}

#[derive(Subcommand)]
pub(super) enum BenchmarksCommand {
    /// Import figures: our CSV or JSON (docs/benchmarks.md), k6 summary JSON (--summary-export or
    /// handleSummary's data), oha JSON.
    Import {
        /// The file.
        file: PathBuf,
        /// What the latency figures measure: `service` (from the actual send: k6, oha without
        /// --latency-correction, most published figures) or `corrected` (from the intended start:
        /// loadbench, wrk2, oha with --latency-correction). Default: service for k6 and oha files,
        /// corrected for our CSV, as the file says for our JSON.
        #[arg(long, value_parser = ["service", "corrected"])]
        latency: Option<String>,
        /// The set's name (required unless the file names it).
        #[arg(long)]
        name: Option<String>,
        /// csv, json, k6 or oha (default: detected).
        #[arg(long, value_parser = parse_source)]
        format: Option<crate::benchmark::Source>,
        /// Where the figures come from.
        #[arg(long)]
        source: Option<String>,
        /// When they were published.
        #[arg(long)]
        published: Option<String>,
        /// Notes.
        #[arg(long)]
        notes: Option<String>,
    },
    /// Print a set's figures.
    Show {
        /// Its name.
        name: String,
    },
    /// Delete a set.
    Delete {
        /// Its name.
        name: String,
    },
}

pub(super) fn parse_source(s: &str) -> Result<crate::benchmark::Source, String> {
    crate::benchmark::Source::from_name(s)
        .ok_or_else(|| format!("\"{s}\": expected csv, json, k6 or oha"))
}

pub(super) fn benchmarks(args: BenchmarksArgs, db: &std::path::Path) -> i32 {
    let store = match Store::open(db) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("loadbench: {e}");
            return EXIT_RUN_ERROR;
        }
    };
    let show = |set: &crate::benchmark::BenchmarkSet| {
        let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("-".to_string(), f);
        let ms = |v: f64| crate::format::micros(v * 1000.0);
        let rows: Vec<Vec<String>> = set
            .figures
            .iter()
            .map(|f| {
                vec![
                    f.endpoint.clone(),
                    opt(f.rate, &crate::format::rate),
                    opt(f.p50_ms, &ms),
                    opt(f.p90_ms, &ms),
                    opt(f.p95_ms, &ms),
                    opt(f.p99_ms, &ms),
                    opt(f.max_ms, &ms),
                    opt(f.error_rate, &crate::format::percent),
                ]
            })
            .collect();
        println!(
            "{} ({}{})",
            set.name,
            if set.source.is_empty() {
                "no source"
            } else {
                &set.source
            },
            if set.published.is_empty() {
                String::new()
            } else {
                format!(", {}", set.published)
            }
        );
        print!(
            "{}",
            printer::table(
                &[
                    "endpoint", "rate", "p50", "p90", "p95", "p99", "max", "errors"
                ],
                &rows
            )
        );
    };
    let result = match args.command {
        None => store.list_benchmarks().map(|sets| {
            if sets.is_empty() {
                println!(
                    "no benchmark sets (import one: loadbench benchmarks import FILE --name NAME)"
                );
            }
            for s in &sets {
                show(s);
                println!();
            }
        }),
        Some(BenchmarksCommand::Show { name }) => store.benchmark(&name).map(|s| show(&s)),
        Some(BenchmarksCommand::Delete { name }) => store
            .delete_benchmark(&name)
            .map(|()| eprintln!("deleted \"{name}\"")),
        Some(BenchmarksCommand::Import {
            file,
            latency,
            name,
            format,
            source,
            published,
            notes,
        }) => {
            let shown = file.display().to_string();
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("loadbench: {shown}: {e}");
                    return EXIT_INVALID;
                }
            };
            let fallback = name.clone().unwrap_or_default();
            match crate::benchmark::parse(&text, format, &fallback) {
                Ok(mut set) => {
                    if let Some(n) = name {
                        set.name = n;
                    }
                    match latency.as_deref() {
                        Some("service") => set.latency = crate::benchmark::LatencyKind::Service,
                        Some("corrected") => {
                            set.latency = crate::benchmark::LatencyKind::Corrected;
                        }
                        _ => {}
                    }
                    if let Some(s) = source {
                        set.source = s;
                    }
                    if let Some(p) = published {
                        set.published = p;
                    }
                    if let Some(n) = notes {
                        set.notes = n;
                    }
                    if set.name.trim().is_empty() {
                        eprintln!("loadbench: {shown}: the set needs a name (--name)");
                        return EXIT_INVALID;
                    }
                    store.save_benchmark(&set).map(|_| {
                        eprintln!(
                            "imported \"{}\" ({} endpoint(s)) from {shown}",
                            set.name,
                            set.figures.len()
                        )
                    })
                }
                Err(e) => {
                    eprintln!("loadbench: {shown}: {e}");
                    return EXIT_INVALID;
                }
            }
        }
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("loadbench: {e}");
            match e {
                crate::store::StoreError::Invalid(_) => EXIT_INVALID,
                _ => EXIT_RUN_ERROR,
            }
        }
    }
}
