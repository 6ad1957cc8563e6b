//! `loadbench capacity`: the highest arrival rate that holds a scenario's thresholds.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::launch::execute;
use super::parse::parse_dur;
use crate::engine::RunStatus;
use crate::exit::*;
use crate::scenario::Scenario;
use crate::store::Store;

#[derive(Args)]
pub(super) struct CapacityArgs {
    /// The scenario file (TOML): open model; each step must hold its thresholds.
    scenario: PathBuf,
    /// The first rate tried (req/s); the rate doubles until a step fails, then the gap halves.
    #[arg(long, default_value_t = 100.0)]
    start: f64,
    /// The highest rate tried (req/s).
    #[arg(long, default_value_t = 100_000.0)]
    max: f64,
    /// How long each step runs after the scenario's warm-up (e.g. 10s).
    #[arg(long, value_parser = parse_dur, default_value = "10s")]
    step: Duration,
    /// Stop when the highest rate that held and the lowest that failed are this close (percent).
    #[arg(long, default_value_t = 5.0)]
    precision: f64,
    /// Idle time between steps, so the target works off the last step's load before the next.
    #[arg(long, value_parser = parse_dur, default_value = "5s")]
    cooldown: Duration,
    /// Print the search as JSON (schema loadbench.capacity/1).
    #[arg(long)]
    json: bool,
    /// Do not store the steps' runs (they are stored tagged `capacity` by default).
    #[arg(long)]
    no_store: bool,
    /// Engine threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// No line per step.
    #[arg(long, short)]
    quiet: bool,
}

/// `loadbench capacity`: doubling, then bisecting, the arrival rate of an open-model scenario.
pub(super) fn capacity(args: CapacityArgs, db: &std::path::Path) -> i32 {
    use crate::analysis::capacity::{self, Search, Step};
    let scenario = match Scenario::load(&args.scenario) {
        Ok(s) => {
            super::say_warnings(&s);
            s
        }
        Err(e) => {
            eprintln!("{e}");
            return EXIT_INVALID;
        }
    };
    let invalid = |m: &str| {
        eprintln!("loadbench: capacity: {m}");
        EXIT_INVALID
    };
    let thresholds = match capacity::goal(&scenario) {
        Ok(t) => t,
        Err(e) => return invalid(&e),
    };
    if let Err((flag, e)) =
        capacity::check_settings(args.start, args.max, args.precision, args.step)
    {
        return invalid(&format!("--{flag} {e}"));
    }
    if !args.no_store
        && let Err(e) = Store::open(db)
    {
        eprintln!("loadbench: {e}\n(run with --no-store to run without storing)");
        return EXIT_RUN_ERROR;
    }
    let talk = !args.quiet && !args.json;
    if talk {
        eprintln!(
            "capacity of \"{}\": the highest rate holding {} — steps of {} after {} warm-up",
            scenario.name,
            thresholds.join(", "),
            crate::format::span(args.step),
            crate::format::span(scenario.warmup)
        );
    }
    let tags = ["capacity".to_string()];
    let store = (!args.no_store).then_some((db, &tags[..]));
    let mut search = Search::new(args.start, args.max, args.precision / 100.0);
    let mut steps: Vec<Step> = Vec::new();
    let mut stopped = false;
    while let Some(rate) = search.next() {
        if !steps.is_empty() && !args.cooldown.is_zero() {
            std::thread::sleep(args.cooldown);
        }
        let s = capacity::step_scenario(&scenario, rate, args.step);
        let name = capacity::step_name(&scenario, rate);
        let (outcome, run, _) = match execute(
            s,
            name,
            crate::engine::RunOptions {
                threads: args.threads,
                ..Default::default()
            },
            store,
            true,
            true,
            |_| {},
        ) {
            Ok(done) => done,
            Err(e) => {
                eprintln!("loadbench: capacity: the step at {rate}/s could not run: {e}");
                return EXIT_RUN_ERROR;
            }
        };
        match outcome.status {
            RunStatus::Stopped => {
                stopped = true;
                break;
            }
            RunStatus::Failed | RunStatus::Interrupted | RunStatus::Running => {
                let why = outcome
                    .summary
                    .halted
                    .as_deref()
                    .unwrap_or("the engine failed");
                eprintln!(
                    "loadbench: capacity: the step at {rate}/s could not be carried out: {why}"
                );
                return EXIT_RUN_ERROR;
            }
            RunStatus::Completed => {}
        }
        let step = Step::judge(rate, &outcome.summary, run);
        search.record(rate, step.held);
        if talk {
            eprintln!(
                "step {:>2}: {:>9}  achieved {:>9}  p50 {:>9}  p95 {:>9}  p99 {:>9}  errors {:>7}  {}",
                steps.len() + 1,
                crate::format::rate(step.rate),
                crate::format::rate(step.achieved),
                crate::format::micros(step.p50_ms * 1000.0),
                crate::format::micros(step.p95_ms * 1000.0),
                crate::format::micros(step.p99_ms * 1000.0),
                crate::format::percent(step.error_rate),
                if step.held {
                    "held".to_string()
                } else {
                    format!("FAILED: {}", step.failed.join("; "))
                }
            );
        }
        steps.push(step);
    }
    let ending = search.ending();
    let (held, failed) = (search.held(), search.failed());
    let verdict = capacity::verdict(&search, stopped);
    let usl = capacity::usl(&steps);
    if args.json {
        let doc = serde_json::json!({
            "schema": "loadbench.capacity/1",
            "scenario": scenario.name,
            "thresholds": thresholds,
            "step_s": args.step.as_secs_f64(),
            "cooldown_s": args.cooldown.as_secs_f64(),
            "warmup_s": scenario.warmup.as_secs_f64(),
            "steps": steps,
            "capacity": held,
            "failed_at": failed,
            "ending": if stopped { None } else { ending },
            "verdict": verdict,
            "usl": usl.as_ref().ok(),
            "usl_note": usl.as_ref().err(),
        });
        match serde_json::to_string_pretty(&doc) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("loadbench: cannot encode the search: {e}");
                return EXIT_RUN_ERROR;
            }
        }
    } else {
        println!("capacity: {verdict}");
        match &usl {
            Ok(u) => println!("{}", u.describe()),
            Err(why) => println!("USL: not fitted: {why}"),
        }
    }
    if stopped {
        EXIT_STOPPED
    } else if held.is_none() {
        EXIT_THRESHOLD_FAILED
    } else {
        EXIT_OK
    }
}
