//! `loadbench runs`: list, show, tag, annotate, delete, export, import, merge stored runs.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::ids::{many_runs, one_run};
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
    #[arg(long, value_parser = parse_status)]
    status: Option<crate::metrics::RunStatus>,
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
        /// Run id, `latest` or `baseline`.
        id: String,
        /// The same JSON document as `run --json`.
        #[arg(long)]
        json: bool,
    },
    /// Add tags to a run (or remove them with --remove).
    Tag {
        /// Run id, `latest` or `baseline`.
        id: String,
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
        /// Run ids (`12`, `12,13`, `latest`, `baseline`).
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Set a run's notes.
    Note {
        /// Run id, `latest` or `baseline`.
        id: String,
        /// The notes (replaces any earlier ones).
        text: String,
    },
    /// Pin a note to a time of a run (a deploy, a failover); drawn on its charts and listed in
    /// its reports. `--remove` takes one off.
    Annotate {
        /// Run id, `latest` or `baseline`.
        id: String,
        /// Seconds since the run's start (`42`, `42.5s`, `1m30s`).
        #[arg(value_parser = parse_at)]
        at: f64,
        /// What happened then.
        text: String,
        /// Remove this annotation instead.
        #[arg(long)]
        remove: bool,
    },
    /// Delete runs (asks first; --yes to skip).
    Delete {
        /// Run ids (`12`, `12,13`, `latest`, `baseline`).
        #[arg(required = true)]
        ids: Vec<String>,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
    /// Write a run, histograms included, to a JSON file another machine can import.
    Export {
        /// Run id, `latest` or `baseline`.
        id: String,
        /// Output file (an existing one is kept unless --force).
        #[arg(long, short)]
        output: PathBuf,
        /// Replace the output file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Import a run: a `runs export` file, or another tool's raw results as a full run (k6
    /// --out json or csv, oha --db-url or --output-format csv, a JMeter JTL in CSV or XML, an
    /// Artillery --output report), its format guessed from its content.
    Import {
        /// The file.
        file: PathBuf,
        /// Read it as this format: k6-json, k6-csv, oha-db, oha-csv, jmeter-csv, jmeter-xml,
        /// artillery.
        #[arg(long, value_parser = super::runs_import::parse_format)]
        format: Option<crate::foreign::Format>,
        /// The scenario another tool's run is filed under, so trends and compare group it
        /// (default: the file's name).
        #[arg(long)]
        scenario: Option<String>,
        /// The tool's version, which k6's, oha's and JMeter's files do not record.
        #[arg(long, value_name = "VERSION")]
        tool_version: Option<String>,
    },
    /// Delete old runs to keep a database (a CI cache) from growing: runs beyond the newest N of
    /// each scenario, or older than a span. Baseline runs and running runs are always kept.
    Prune {
        /// Keep the newest N runs of each scenario.
        #[arg(long, value_name = "N")]
        keep: Option<usize>,
        /// Delete runs that started before this (30d, 12h, or a date such as 2026-11-01).
        #[arg(long, value_name = "WHEN", value_parser = super::parse::parse_when)]
        older_than: Option<i64>,
        /// List what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Merge shards of one scenario, run from several machines at once, into one new run.
    Merge {
        /// Run ids (two or more; import the other machines' runs first).
        #[arg(required = true, num_args = 2..)]
        ids: Vec<String>,
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
    let one = |w: &str| one_run(&store, w).map_err(StoreError::Invalid);
    let many = |w: &[String]| many_runs(&store, w).map_err(StoreError::Invalid);
    let result = match args.command {
        None => list_runs(&store, &args.list),
        Some(RunsCommand::Show { id, json }) => one(&id).and_then(|id| {
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
        }),
        Some(RunsCommand::Tag { .. }) if !tagging_baseline_allowed(&args.command) => {
            Err(StoreError::Invalid(
                "`baseline` is not a tag here: `loadbench runs baseline ID` marks the runs \
                 `--compare-to baseline` compares with (a tag of that name would be ignored)"
                    .into(),
            ))
        }
        Some(RunsCommand::Tag { id, tags, remove }) => one(&id).and_then(|id| {
            if remove {
                store.untag(id, &tags)
            } else {
                store.tag(id, &tags)
            }
        }),
        Some(RunsCommand::Note { id, text }) => one(&id).and_then(|id| store.set_notes(id, &text)),
        Some(RunsCommand::Annotate {
            id,
            at,
            text,
            remove,
        }) => one(&id).and_then(|id| {
            let a = crate::store::Annotation { at_s: at, text };
            if remove {
                store.remove_annotation(id, &a)
            } else {
                store.annotate(id, &a)
            }
        }),
        Some(RunsCommand::Baseline { ids }) => many(&ids).and_then(|ids| {
            store.set_baseline(&ids).map(|()| {
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
        })
        }),
        Some(RunsCommand::Delete { ids, yes }) => {
            many(&ids).and_then(|ids| delete_runs(&store, &ids, yes))
        }
        Some(RunsCommand::Export { id, output, force }) => one(&id).and_then(|id| {
            // A tick at a time into the file, which replaces the target only once whole.
            let mut ticks = Ok(0);
            crate::output::write_with(&output, force, &mut |w| {
                ticks = store.write_export(id, w);
                match &ticks {
                    Ok(_) => Ok(()),
                    Err(e) => Err(std::io::Error::other(e.to_string())),
                }
            })
            .map_err(|e| match ticks.as_ref() {
                Err(_) => StoreError::Invalid(format!("run #{id}: {e}")),
                Ok(_) => StoreError::Invalid(e.to_string()),
            })?;
            eprintln!(
                "run #{id} written to {} ({} ticks)",
                output.display(),
                ticks.unwrap_or(0)
            );
            Ok(())
        }),
        Some(RunsCommand::Import {
            file,
            format,
            scenario,
            tool_version,
        }) => super::runs_import::import(
            &store,
            &file,
            format,
            scenario.as_deref(),
            tool_version.as_deref(),
        ),
        Some(RunsCommand::Prune {
            keep,
            older_than,
            dry_run,
        }) => prune_runs(&store, keep, older_than, dry_run),
        Some(RunsCommand::Merge { ids, force }) => many(&ids).and_then(|ids| {
            store.merge_runs(&ids, force).and_then(|id| {
                let run = store.run(id)?;
                eprintln!(
                    "merged into run #{id}: {} requests, {} ({})",
                    run.row.requests,
                    run.row.rate.map_or("-".into(), crate::format::rate),
                    run.row.name
                );
                Ok(())
            })
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

/// Reads `--status`.
fn parse_status(s: &str) -> Result<crate::metrics::RunStatus, String> {
    crate::metrics::RunStatus::from_name(s).ok_or_else(|| {
        format!("\"{s}\": expected completed, stopped, interrupted, failed or running")
    })
}

/// Whether a `runs tag` may go ahead: adding a tag named `baseline` is refused (it looks like
/// the baseline mark but is not one).
fn tagging_baseline_allowed(command: &Option<RunsCommand>) -> bool {
    !matches!(command, Some(RunsCommand::Tag { tags, remove: false, .. }) if tags.iter().any(|t| t == "baseline"))
}

/// A time into a run: plain seconds (`42.5`) or a duration (`1m30s`).
fn parse_at(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Ok(_) => Err(format!("\"{s}\": a time from 0 s into the run")),
        Err(_) => crate::format::parse_duration(s.trim())
            .map(|d| d.as_secs_f64())
            .map_err(|e| format!("\"{s}\": {e} (seconds such as 42.5, or 1m30s)")),
    }
}

pub(super) fn list_runs(store: &Store, a: &ListArgs) -> crate::store::Result<()> {
    let rows = store.list_runs(&RunFilter {
        scenario: a.scenario.clone(),
        tag: a.tag.clone(),
        status: a.status,
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
                    "verdict": r.verdict(),
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
                r.status.to_string(),
                r.verdict().to_string(),
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

/// `runs prune`: which runs go is decided first, then each is deleted (baselines and running
/// runs never).
fn prune_runs(
    store: &Store,
    keep: Option<usize>,
    older_than: Option<i64>,
    dry_run: bool,
) -> crate::store::Result<()> {
    use crate::store::StoreError;
    if keep.is_none() && older_than.is_none() {
        return Err(StoreError::Invalid(
            "runs prune needs --keep N and/or --older-than WHEN".into(),
        ));
    }
    // Newest first, so the first N seen of a scenario are the ones kept.
    let rows = store.list_runs(&RunFilter::default())?;
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut doomed = Vec::new();
    for r in &rows {
        let n = seen.entry(r.scenario.as_str()).or_default();
        *n += 1;
        let beyond = keep.is_some_and(|k| *n > k);
        let old = older_than.is_some_and(|t| r.started_at_ms < t);
        if (beyond || old) && !r.baseline && r.status != crate::metrics::RunStatus::Running {
            doomed.push(r);
        }
    }
    for r in &doomed {
        if dry_run {
            eprintln!(
                "would delete run #{} ({}, {})",
                r.id,
                r.name,
                when(r.started_at_ms)
            );
        } else {
            store.delete_run(r.id)?;
        }
    }
    let verb = if dry_run { "would delete" } else { "deleted" };
    eprintln!(
        "{verb} {} of {} runs (baselines and running runs are kept)",
        doomed.len(),
        rows.len()
    );
    Ok(())
}
