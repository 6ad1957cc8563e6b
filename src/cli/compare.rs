//! `loadbench compare` and `run --compare-to`: runs against a baseline or a benchmark set.

use clap::Args;

use super::ids::run_ids;
use crate::exit::*;
use crate::printer::{self};
use crate::store::Store;

#[derive(Args)]
pub(super) struct CompareArgs {
    /// A baseline then candidates: run ids, `latest`, or for the baseline `baseline` (the
    /// candidates' scenario's marked baseline runs) or several ids as `12,13,14`; with
    /// --benchmark, the runs to hold against it.
    #[arg(required = true)]
    runs: Vec<String>,
    /// Compare the runs with this competitor benchmark set instead (see `loadbench benchmarks`).
    #[arg(long, value_name = "NAME")]
    benchmark: Option<String>,
    /// Print the comparisons as JSON.
    #[arg(long)]
    json: bool,
}

/// The version of `compare --json`'s document (docs/json-compare.md).
pub const COMPARE_SCHEMA: &str = "loadbench.compare/1";

/// What `--compare-to` names: the scenario's marked baseline runs, or runs by id.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum CompareTo {
    Baseline,
    Runs(Vec<i64>),
}

/// Reads `--compare-to` before anything is sent, checking that named runs exist.
pub(super) fn compare_to_spec(
    against: &str,
    db: &std::path::Path,
    no_store: bool,
) -> Result<CompareTo, String> {
    if no_store {
        return Err("--compare-to needs the run stored; it cannot go with --no-store".into());
    }
    if against == "baseline" {
        return Ok(CompareTo::Baseline);
    }
    let ids: Vec<i64> = against
        .split(',')
        .map(|t| t.trim().parse::<i64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            format!("--compare-to {against}: expected `baseline`, a run id or ids such as 12,13,14")
        })?;
    let store = Store::open_read(db).map_err(|e| e.to_string())?;
    for id in &ids {
        store
            .run(*id)
            .map_err(|e| format!("--compare-to {against}: {e}"))?;
    }
    Ok(CompareTo::Runs(ids))
}

/// Compares a just-stored run with what `--compare-to` named; `None` when the scenario has no
/// baseline marked yet.
pub(super) fn gate(
    db: &std::path::Path,
    against: &CompareTo,
    scenario: &str,
    candidate: Option<i64>,
) -> Result<Option<crate::analysis::compare::Comparison>, String> {
    let candidate = candidate.ok_or("the run was not stored, so it cannot be compared")?;
    let store = Store::open_read(db).map_err(|e| e.to_string())?;
    let bases = match against {
        CompareTo::Baseline => store.baselines_of(scenario).map_err(|e| e.to_string())?,
        CompareTo::Runs(ids) => ids.clone(),
    };
    let bases: Vec<i64> = bases.into_iter().filter(|b| *b != candidate).collect();
    if bases.is_empty() {
        return Ok(None);
    }
    crate::analysis::compare::compare_to_runs(&store, &bases, candidate)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// A comparison as a table: per request, each metric with its change, interval and verdict;
/// then what the reader needs to trust it.
pub(super) fn comparison_text(c: &crate::analysis::compare::Comparison) -> String {
    use crate::analysis::compare::Verdict;
    let mut rows = Vec::new();
    for (name, changes) in &c.requests {
        for m in changes {
            let value = |v: f64| m.format_value(v);
            rows.push(vec![
                crate::analysis::compare::shown(name),
                m.metric.clone(),
                value(m.baseline),
                value(m.candidate),
                m.format_change(m.relative),
                m.format_interval(),
                match m.verdict {
                    Verdict::Regressed => "REGRESSED".to_string(),
                    v => v.as_str().to_string(),
                },
            ]);
        }
    }
    let against = c.against();
    let mut notes: Vec<String> = c.notes.clone();
    notes.extend(c.short_of_data());
    let notes: String = notes.iter().map(|n| format!("note: {n}\n")).collect();
    format!(
        "\ncompare: {against} vs candidate #{}{}\n{}{notes}",
        c.candidate,
        if c.regressed {
            " — significant regression".to_string()
        } else if c.inconclusive {
            format!(" — inconclusive: {}", c.why_inconclusive())
        } else {
            String::new()
        },
        printer::table(
            &[
                "request",
                "metric",
                "baseline",
                "candidate",
                "change",
                "95% interval",
                "verdict"
            ],
            &rows
        )
    )
}

pub(super) fn compare(args: CompareArgs, db: &std::path::Path) -> i32 {
    use crate::analysis::compare::{compare_to_benchmark, compare_to_runs};
    let store = match Store::open_read(db) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("loadbench: {e}");
            return EXIT_RUN_ERROR;
        }
    };
    // Against a benchmark set: every run is a candidate; else the first word is the baseline.
    let (baseline_word, candidate_words) = match &args.benchmark {
        Some(_) => (None, &args.runs[..]),
        None if args.runs.len() < 2 => {
            eprintln!(
                "loadbench: compare needs a baseline and at least one candidate (or --benchmark NAME)"
            );
            return EXIT_INVALID;
        }
        None => (Some(args.runs[0].as_str()), &args.runs[1..]),
    };
    let mut candidates = Vec::new();
    for w in candidate_words {
        match run_ids(&store, w, None) {
            Ok(ids) => candidates.extend(ids),
            Err(e) => {
                eprintln!("loadbench: {e}");
                return EXIT_INVALID;
            }
        }
    }
    let scenario = candidates
        .first()
        .and_then(|c| store.run(*c).ok())
        .map(|r| r.row.scenario);
    let bases = match baseline_word.map(|w| run_ids(&store, w, scenario.as_deref())) {
        Some(Ok(ids)) => ids,
        Some(Err(e)) => {
            eprintln!("loadbench: {e}");
            return EXIT_INVALID;
        }
        None => Vec::new(),
    };
    let all: crate::store::Result<Vec<_>> = match &args.benchmark {
        Some(name) => store.benchmark(name).and_then(|set| {
            candidates
                .iter()
                .map(|run| compare_to_benchmark(&store, *run, &set))
                .collect()
        }),
        None => candidates
            .iter()
            .map(|c| {
                let b: Vec<i64> = bases.iter().copied().filter(|b| b != c).collect();
                compare_to_runs(&store, &b, *c)
            })
            .collect(),
    };
    let all = match all {
        Ok(all) => all,
        Err(e) => {
            eprintln!("loadbench: {e}");
            return EXIT_INVALID;
        }
    };
    if args.json {
        let doc = serde_json::json!({ "schema": COMPARE_SCHEMA, "comparisons": all });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        for c in &all {
            print!("{}", comparison_text(c));
            // One baseline run: its phases and server side beside the candidate's.
            if let [b] = bases.as_slice()
                && let (Ok(base), Ok(cand)) = (store.run(*b), store.run(c.candidate))
                && let (Some(bs), Some(cs)) = (&base.summary, &cand.summary)
            {
                let rows = crate::analysis::compare::beside(bs, cs);
                if !rows.is_empty() {
                    println!(
                        "\n{}",
                        printer::table(&crate::analysis::compare::BESIDE_COLUMNS, &rows)
                    );
                }
            }
        }
    }
    if all.iter().any(|c| c.regressed) {
        EXIT_REGRESSED
    } else {
        EXIT_OK
    }
}
