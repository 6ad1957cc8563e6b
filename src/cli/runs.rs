//! `loadbench runs`: list, show, tag, annotate, delete, export, import, merge stored runs.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::parse::parse_when;
use crate::exit::*;
use crate::printer::{self};
use crate::store::{RunFilter, Store};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct RunsArgs {
    #[command(subcommand)]
    command: Option<RunsCommand>,
    #[command(flatten)]
    list: ListArgs,
}

#[derive(Args)]
pub(super) struct ListArgs {
    /// Only runs of this scenario (its name).
    #[arg(long)]
    scenario: Option<String>,
    /// Only runs with this tag.
    #[arg(long)]
    tag: Option<String>,
    /// Only runs with this status: running, completed, stopped, interrupted, failed.
    #[arg(long)]
    status: Option<String>,
    /// Only runs started since a date (2026-11-01), a time (2026-11-01T12:00:00Z) or a span ago (24h, 7d).
    #[arg(long, value_parser = parse_when)]
    since: Option<i64>,
    /// Only runs started before a date, time or span ago.
    #[arg(long, value_parser = parse_when)]
    until: Option<i64>,
    /// At most this many runs.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Print a JSON array of runs.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub(super) enum RunsCommand {
    /// Print a stored run's summary, exactly as the live run printed it.
    Show {
        /// Run id.
        id: i64,
        /// The same JSON document as `run --json`.
        #[arg(long)]
        json: bool,
    },
    /// Add tags to a run (or remove them with --remove).
    Tag {
        /// Run id.
        id: i64,
        /// Tags.
        #[arg(required = true)]
        tags: Vec<String>,
        /// Remove these tags instead.
        #[arg(long)]
        remove: bool,
    },
    /// Mark runs of one scenario as its baseline (for `run --compare-to baseline`): one run, or
    /// three or more so that comparisons measure run-to-run drift instead of assuming it.
    Baseline {
        /// Run ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Set a run's notes.
    Note {
        /// Run id.
        id: i64,
        /// The notes (replaces any earlier ones).
        text: String,
    },
    /// Delete runs (asks first; --yes to skip).
    Delete {
        /// Run ids.
        #[arg(required = true)]
        ids: Vec<i64>,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
    /// Write a run, histograms included, to a JSON file another machine can import.
    Export {
        /// Run id.
        id: i64,
        /// Output file (an existing one is kept unless --force).
        #[arg(long, short)]
        output: PathBuf,
        /// Replace the output file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Import a run exported with `runs export`.
    Import {
        /// The exported file.
        file: PathBuf,
    },
    /// Merge shards of one scenario, run from several machines at once, into one new run.
    Merge {
        /// Run ids (two or more; import the other machines' runs first).
        #[arg(required = true, num_args = 2..)]
        ids: Vec<i64>,
        /// Merge shards that started more than 5 s apart anyway.
        #[arg(long)]
        force: bool,
    },
}

pub(super) fn runs(args: RunsArgs, db: &std::path::Path) -> i32 {
    use crate::store::StoreError;
    // Listing, showing and exporting only read: they never write to the database.
    let reads_only = matches!(
        args.command,
        None | Some(RunsCommand::Show { .. }) | Some(RunsCommand::Export { .. })
    );
    let opened = if reads_only {
        Store::open_read(db)
    } else {
        Store::open(db)
    };
    let store = match opened {
        Ok(s) => s,
        Err(e) => {
            eprintln!("loadbench: {e}");
            return EXIT_RUN_ERROR;
        }
    };
    let result = match args.command {
        None => list_runs(&store, &args.list),
        Some(RunsCommand::Show { id, json }) => {
            store.run(id).map(|run| match (run.summary, json) {
                (Some(s), true) => {
                    println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default())
                }
                (Some(s), false) => print!("{}", printer::summary(&s)),
                (None, _) => println!(
                    "run #{id} is still running ({:.0} s stored so far)",
                    run.row.duration_s
                ),
            })
        }
        Some(RunsCommand::Tag { id, tags, remove }) => {
            if remove {
                store.untag(id, &tags)
            } else {
                store.tag(id, &tags)
            }
        }
        Some(RunsCommand::Note { id, text }) => store.set_notes(id, &text),
        Some(RunsCommand::Baseline { ids }) => store.set_baseline(&ids).map(|()| {
            let list: Vec<String> = ids.iter().map(|i| format!("#{i}")).collect();
            if ids.len() == 1 {
                eprintln!(
                    "run {} is now its scenario's baseline (one run: comparisons assume run-to-run \
                     drift; mark 3 or more to measure it)",
                    list[0]
                );
            } else {
                eprintln!("runs {} are now their scenario's baseline", list.join(", "));
            }
        }),
        Some(RunsCommand::Delete { ids, yes }) => delete_runs(&store, &ids, yes),
        Some(RunsCommand::Export { id, output, force }) => store.export_run(id).and_then(|doc| {
            let text =
                serde_json::to_string(&doc).map_err(|e| StoreError::Invalid(e.to_string()))?;
            crate::output::write(&output, text.as_bytes(), force)
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            eprintln!(
                "run #{id} written to {} ({} ticks)",
                output.display(),
                doc.ticks.len()
            );
            Ok(())
        }),
        Some(RunsCommand::Import { file }) => import_run(&store, &file),
        Some(RunsCommand::Merge { ids, force }) => store.merge_runs(&ids, force).and_then(|id| {
            let run = store.run(id)?;
            eprintln!(
                "merged into run #{id}: {} requests, {} ({})",
                run.row.requests,
                run.row.rate.map_or("-".into(), crate::format::rate),
                run.row.name
            );
            Ok(())
        }),
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("loadbench: {e}");
            match e {
                StoreError::NoSuchRun(_) | StoreError::Invalid(_) => EXIT_INVALID,
                _ => EXIT_RUN_ERROR,
            }
        }
    }
}

pub(super) fn list_runs(store: &Store, a: &ListArgs) -> crate::store::Result<()> {
    let rows = store.list_runs(&RunFilter {
        scenario: a.scenario.clone(),
        tag: a.tag.clone(),
        status: a.status.clone(),
        since_ms: a.since,
        until_ms: a.until,
        limit: Some(a.limit),
    })?;
    if a.json {
        let list: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id,
                    "uuid": r.uuid,
                    "name": r.name,
                    "scenario": r.scenario,
                    "status": r.status,
                    "started_at": when(r.started_at_ms),
                    "duration_s": r.duration_s,
                    "requests": r.requests,
                    "rate": r.rate,
                    "p95_ms": r.p95_ms,
                    "error_rate": r.error_rate,
                    "thresholds_passed": r.thresholds_passed,
                    "tags": r.tags,
                    "baseline": r.baseline,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return Ok(());
    }
    if rows.is_empty() {
        println!("no runs stored in {}", store.path().display());
        return Ok(());
    }
    let header = [
        "id",
        "started (UTC)",
        "name",
        "status",
        "verdict",
        "rate",
        "p95",
        "errors",
        "tags",
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                format!("#{}", r.id),
                when(r.started_at_ms)
                    .replace('T', " ")
                    .trim_end_matches('Z')
                    .to_string(),
                r.name.clone(),
                r.status.clone(),
                match r.thresholds_passed {
                    Some(true) => "pass".into(),
                    Some(false) => "FAIL".into(),
                    None => "-".into(),
                },
                r.rate.map_or("-".into(), crate::format::rate),
                r.p95_ms
                    .map_or("-".into(), |p| crate::format::micros(p * 1000.0)),
                r.error_rate.map_or("-".into(), crate::format::percent),
                if r.baseline {
                    std::iter::once("[baseline]".to_string())
                        .chain(r.tags.iter().cloned())
                        .collect::<Vec<_>>()
                        .join(",")
                } else {
                    r.tags.join(",")
                },
            ]
        })
        .collect();
    print!("{}", printer::table(&header, &body));
    Ok(())
}

pub(super) fn when(ms: i64) -> String {
    crate::format::utc(ms)
}

pub(super) fn delete_runs(store: &Store, ids: &[i64], yes: bool) -> crate::store::Result<()> {
    for &id in ids {
        let run = store.run(id)?;
        if !yes {
            eprint!(
                "delete run #{id} ({}, {}, {})? [y/N] ",
                run.row.name,
                when(run.row.started_at_ms),
                run.row.status
            );
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            let _ = std::io::stdin().read_line(&mut answer);
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                eprintln!("kept run #{id}");
                continue;
            }
        }
        store.delete_run(id)?;
        eprintln!("deleted run #{id}");
    }
    Ok(())
}

pub(super) fn import_run(store: &Store, file: &std::path::Path) -> crate::store::Result<()> {
    use crate::store::StoreError;
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|source| StoreError::Io {
        path: shown.clone(),
        source,
    })?;
    let doc: crate::store::RunExport = serde_json::from_str(&text).map_err(|e| {
        StoreError::Invalid(format!(
            "{shown}:{}:{}: not a loadbench run export: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let id = store.import_run(&doc).map_err(|e| match e {
        StoreError::Invalid(m) => StoreError::Invalid(format!("{shown}: {m}")),
        other => other,
    })?;
    eprintln!("imported {shown} as run #{id}");
    println!("{id}");
    Ok(())
}
