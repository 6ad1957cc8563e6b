//! The command line: `run` a scenario headless, start the `demo` service, `validate` a file.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::demo::{DemoConfig, DemoServer};
use crate::engine::{self, RunOptions, RunStatus};
use crate::printer::{self, Progress};
use crate::scenario::{BaseUrl, Load, Profile, Scenario, TargetKind};
use crate::store::{NewRun, Recorder, RunFilter, Store};

/// Exit code: the run completed and every threshold held.
pub const EXIT_OK: i32 = 0;
/// Exit code: a threshold failed.
pub const EXIT_THRESHOLD_FAILED: i32 = 1;
/// Exit code: the scenario or a flag is invalid (nothing was sent).
pub const EXIT_INVALID: i32 = 2;
/// Exit code: the run could not be carried out (e.g. the demo service could not start).
pub const EXIT_RUN_ERROR: i32 = 3;
/// Exit code: a significant regression against the baseline (`run --compare-to`, `compare`).
pub const EXIT_REGRESSED: i32 = 4;
/// Exit code: stopped with Ctrl-C (the summary of what was measured is still printed).
pub const EXIT_STOPPED: i32 = 130;

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
    Run(RunArgs),
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
    /// Check a scenario file and report every problem with its line and column.
    Validate {
        /// The scenario file (TOML).
        scenario: PathBuf,
    },
}

#[derive(Args)]
struct CapacityArgs {
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

#[derive(Args)]
struct ImportArgs {
    #[command(subcommand)]
    from: ImportFrom,
    /// Write the scenario here (refuses to replace a file) instead of printing it.
    #[arg(long, short, global = true)]
    output: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ImportFrom {
    /// A curl command line (as "Copy as cURL" gives it): the words after `import curl`, or one
    /// quoted string, or `-` to read it from standard input.
    Curl {
        /// The command, e.g. loadbench import curl 'curl https://… -H …'
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true, trailing_var_arg = true)]
        command: Vec<String>,
    },
    /// A HAR file (browser devtools "Save all as HAR", or a proxy's export).
    Har {
        /// The .har file.
        file: PathBuf,
        /// Keep the requests to this host (default: the host most requests went to).
        #[arg(long)]
        host: Option<String>,
        /// Keep page assets too (scripts, styles, images, fonts), left out by default.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Args)]
struct RunArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// Print the summary as JSON (schema loadbench.summary/1) instead of a table.
    #[arg(long)]
    json: bool,
    /// No progress line.
    #[arg(long, short)]
    quiet: bool,
    /// Override the duration of a constant-load scenario (e.g. 30s).
    #[arg(long, value_parser = parse_dur)]
    duration: Option<Duration>,
    /// Override the warm-up (e.g. 5s).
    #[arg(long, value_parser = parse_dur)]
    warmup: Option<Duration>,
    /// Override the arrival rate of a constant open-model scenario (req/s).
    #[arg(long)]
    rate: Option<f64>,
    /// Override the virtual users of a constant closed-model scenario.
    #[arg(long)]
    vus: Option<u32>,
    /// Point a target elsewhere: NAME=URL (URL may be `demo`).
    #[arg(long = "target", value_name = "NAME=URL")]
    targets: Vec<String>,
    /// Add a threshold on the total, e.g. "p95 < 200ms".
    #[arg(long = "threshold", value_name = "EXPR")]
    thresholds: Vec<String>,
    /// Engine threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Do not store this run in the database.
    #[arg(long)]
    no_store: bool,
    /// Name the stored run (default: the scenario's name).
    #[arg(long)]
    name: Option<String>,
    /// Tag the stored run (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// After the run, compare it with its scenario's baseline runs (`baseline`) or with run ids
    /// (`12` or `12,13,14`); exit 4 on a significant regression.
    #[arg(long, value_name = "baseline|ID[,ID...]")]
    compare_to: Option<String>,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct RunsArgs {
    #[command(subcommand)]
    command: Option<RunsCommand>,
    #[command(flatten)]
    list: ListArgs,
}

#[derive(Args)]
struct ListArgs {
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
enum RunsCommand {
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

#[derive(Args)]
struct CompareArgs {
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

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct BenchmarksArgs {
    #[command(subcommand)]
    command: Option<BenchmarksCommand>,
}

#[derive(Subcommand)]
enum BenchmarksCommand {
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

fn parse_source(s: &str) -> Result<crate::benchmark::Source, String> {
    crate::benchmark::Source::from_name(s)
        .ok_or_else(|| format!("\"{s}\": expected csv, json, k6 or oha"))
}

#[derive(Args)]
struct ReportArgs {
    /// Run id (see `loadbench runs`).
    run: i64,
    /// md, html, json, csv, junit or hlog.
    #[arg(long, short, value_parser = parse_format)]
    format: crate::report::Format,
    /// Output file (Markdown writes its charts beside it). Without it: stdout (not for md).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Compare the run with these baseline runs (tables with verdicts, an overlaid chart, and
    /// JUnit cases for regressions).
    #[arg(long = "compare", value_name = "BASE")]
    compare: Vec<i64>,
    /// Replace the output file (and a Markdown report's charts) if they exist.
    #[arg(long)]
    force: bool,
}

fn parse_format(s: &str) -> Result<crate::report::Format, String> {
    crate::report::Format::from_name(s)
        .ok_or_else(|| format!("\"{s}\": expected md, html, json, csv, junit or hlog"))
}

#[derive(Args)]
struct GuiArgs {
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

fn parse_screen(s: &str) -> Result<crate::ui::Screen, String> {
    crate::ui::Screen::from_name(s)
        .ok_or_else(|| format!("\"{s}\": expected scenarios, live or runs"))
}

#[derive(Args)]
struct DemoArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Serve HTTPS with a generated certificate.
    #[arg(long)]
    tls: bool,
    /// With --tls: write the CA certificate (PEM) here, for a scenario's `ca_file`.
    #[arg(long, value_name = "PATH")]
    ca_out: Option<PathBuf>,
    /// Pause the whole service every so often (e.g. 5s) ...
    #[arg(long, value_parser = parse_dur)]
    stall_every: Option<Duration>,
    /// ... for this long (default 1s).
    #[arg(long, value_parser = parse_dur, default_value = "1s")]
    stall_for: Duration,
    /// Share of /v1/flaky answered with 503.
    #[arg(long, default_value_t = 0.1)]
    flaky_rate: f64,
    /// Delay added to every /v1 response (e.g. 20ms).
    #[arg(long, value_parser = parse_dur)]
    delay: Option<Duration>,
    /// Runtime threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn parse_dur(s: &str) -> Result<Duration, String> {
    crate::format::parse_duration(s)
}

/// Parses a point in time as ms since the epoch: a date, an RFC 3339 time, or a span ago.
fn parse_when(s: &str) -> Result<i64, String> {
    let now = crate::store::epoch_ms(std::time::SystemTime::now());
    if let Some(days) = s.strip_suffix('d').and_then(|d| d.parse::<f64>().ok()) {
        return Ok(now - (days * 86_400_000.0) as i64);
    }
    if let Ok(d) = crate::format::parse_duration(s) {
        return Ok(now - d.as_millis() as i64);
    }
    let text = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    humantime::parse_rfc3339_weak(&text)
        .map(crate::store::epoch_ms)
        .map_err(|_| format!("\"{s}\": expected a date (2026-11-01), a time (2026-11-01T12:00:00Z) or a span ago (24h, 7d)"))
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
        None => crate::ui::run(crate::ui::GuiOptions {
            db,
            ..Default::default()
        }),
        Some(Command::Gui(args)) => crate::ui::run(crate::ui::GuiOptions {
            db,
            screen: args.screen,
            run: args.run,
            open_run: args.open_run,
        }),
        Some(Command::Run(args)) => run(args, &db),
        Some(Command::Runs(args)) => runs(args, &db),
        Some(Command::Report(args)) => report(args, &db),
        Some(Command::Compare(args)) => compare(args, &db),
        Some(Command::Benchmarks(args)) => benchmarks(args, &db),
        Some(Command::Demo(args)) => demo(args),
        Some(Command::Import(args)) => import(args),
        Some(Command::Capacity(args)) => capacity(args, &db),
        Some(Command::Validate { scenario }) => match Scenario::load(&scenario) {
            Ok(s) => {
                println!(
                    "{}: ok — \"{}\", {} model, {} request(s), {} target(s), {}",
                    scenario.display(),
                    s.name,
                    s.load.model_name(),
                    s.requests.len(),
                    s.targets.len(),
                    crate::format::span(s.duration())
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

/// `loadbench capacity`: doubling, then bisecting, the arrival rate of an open-model scenario.
fn capacity(args: CapacityArgs, db: &std::path::Path) -> i32 {
    use crate::analysis::capacity::{self, Search, Step};
    let scenario = match Scenario::load(&args.scenario) {
        Ok(s) => s,
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
    if !(args.start > 0.0 && args.max >= args.start) {
        return invalid("--start must be above 0 and --max at least --start");
    }
    if !(args.precision > 0.0 && args.precision <= 100.0) {
        return invalid("--precision is a percentage between 0 and 100");
    }
    if args.step < Duration::from_secs(1) {
        return invalid("--step must be at least 1s (figures are per second)");
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
        let (outcome, run) = match execute(s, name, args.threads, store, true, |_| {}) {
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
            RunStatus::Failed => {
                eprintln!("loadbench: capacity: the step at {rate}/s failed to run");
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
    }
    if stopped {
        EXIT_STOPPED
    } else if held.is_none() {
        EXIT_THRESHOLD_FAILED
    } else {
        EXIT_OK
    }
}

/// `loadbench import`: a scenario from captured requests, checked before it is written.
fn import(args: ImportArgs) -> i32 {
    use crate::scenario::import;
    let result = match &args.from {
        ImportFrom::Curl { command } => {
            let text = if command.len() == 1 && command[0] == "-" {
                let mut t = String::new();
                match std::io::Read::read_to_string(&mut std::io::stdin(), &mut t) {
                    Ok(_) => t,
                    Err(e) => {
                        eprintln!("loadbench: import curl: cannot read standard input: {e}");
                        return EXIT_INVALID;
                    }
                }
            } else if command.len() == 1 {
                command[0].clone()
            } else {
                // Words the shell already split: quote each again so the parser sees them whole.
                command
                    .iter()
                    .map(|w| format!("'{}'", w.replace('\'', "'\\''")))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            import::curl(&text)
        }
        ImportFrom::Har { file, host, all } => match std::fs::read_to_string(file) {
            Ok(text) => import::har(&text, host.as_deref(), *all)
                .map_err(|e| format!("{}: {e}", file.display())),
            Err(e) => Err(format!("{}: cannot read: {e}", file.display())),
        },
    };
    let imported = match result {
        Ok(i) => i,
        Err(e) => {
            eprintln!("loadbench: import: {e}");
            return EXIT_INVALID;
        }
    };
    // The scenario must validate as written (its credential variables stand in as set).
    if let Err(e) = Scenario::parse(&imported.toml, None, &|_| Some(String::new())) {
        eprintln!("loadbench: import: the scenario written would not validate (a bug):\n{e}");
        return EXIT_RUN_ERROR;
    }
    match &args.output {
        Some(path) => {
            let written = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .and_then(|mut f| std::io::Write::write_all(&mut f, imported.toml.as_bytes()));
            if let Err(e) = written {
                let why = if e.kind() == std::io::ErrorKind::AlreadyExists {
                    "the file exists; choose another name (nothing was changed)".to_string()
                } else {
                    e.to_string()
                };
                eprintln!("loadbench: import: {}: {why}", path.display());
                return EXIT_INVALID;
            }
            eprintln!("wrote {}", path.display());
        }
        None => print!("{}", imported.toml),
    }
    for n in &imported.notes {
        eprintln!("note: {n}");
    }
    EXIT_OK
}

/// Applies command-line overrides to a loaded scenario; errors name the flag.
fn apply_overrides(s: &mut Scenario, args: &RunArgs) -> Result<(), String> {
    fn constant(p: &Profile) -> Option<f64> {
        (p.stages.len() == 1 && p.start == p.stages[0].target).then_some(p.start)
    }
    let profile = match &mut s.load {
        Load::Open { rate, .. } => rate,
        Load::Closed { vus, .. } => vus,
    };
    if let Some(d) = args.duration {
        if d.is_zero() {
            return Err("--duration must be longer than zero".into());
        }
        let level = constant(profile)
            .ok_or("--duration applies to constant-load scenarios; this one has stages")?;
        *profile = Profile::constant(level, d);
    }
    let total = profile.total();
    match (&mut s.load, args.rate, args.vus) {
        (Load::Open { rate, .. }, Some(r), _) => {
            constant(rate).ok_or("--rate applies to a constant rate; this scenario has stages")?;
            if !(r > 0.0 && r.is_finite()) {
                return Err("--rate must be greater than zero".into());
            }
            if r > crate::scenario::MAX_RATE {
                return Err(format!(
                    "--rate {r} is beyond what one generator can send (at most {})",
                    crate::scenario::MAX_RATE
                ));
            }
            *rate = Profile::constant(r, total);
        }
        (Load::Closed { .. }, Some(_), _) => {
            return Err(
                "--rate applies to the open model; this scenario is closed (use --vus)".into(),
            );
        }
        (Load::Closed { vus, .. }, _, Some(v)) => {
            constant(vus)
                .ok_or("--vus applies to constant virtual users; this scenario has stages")?;
            if v == 0 {
                return Err("--vus must be at least 1".into());
            }
            *vus = Profile::constant(f64::from(v), total);
        }
        (Load::Open { .. }, _, Some(_)) => {
            return Err(
                "--vus applies to the closed model; this scenario is open (use --rate)".into(),
            );
        }
        _ => {}
    }
    if let Some(w) = args.warmup {
        s.warmup = w;
    }
    if s.warmup >= s.duration() {
        return Err(format!(
            "the warm-up ({}) must be shorter than the run ({})",
            crate::format::span(s.warmup),
            crate::format::span(s.duration())
        ));
    }
    for t in &args.targets {
        let (name, url) = t
            .split_once('=')
            .ok_or_else(|| format!("--target {t}: expected NAME=URL"))?;
        let target = s
            .targets
            .iter_mut()
            .find(|x| x.name == name)
            .ok_or_else(|| format!("--target {t}: the scenario has no target named `{name}`"))?;
        target.kind = if url == "demo" {
            TargetKind::Demo(DemoConfig::default())
        } else {
            TargetKind::Url(BaseUrl::parse(url).map_err(|e| format!("--target {t}: {e}"))?)
        };
    }
    for t in &args.thresholds {
        s.thresholds
            .push(t.parse().map_err(|e| format!("--threshold \"{t}\": {e}"))?);
    }
    Ok(())
}

fn run(args: RunArgs, db: &std::path::Path) -> i32 {
    let mut scenario = match Scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_INVALID;
        }
    };
    if let Err(e) = apply_overrides(&mut scenario, &args) {
        eprintln!("loadbench: {e}");
        return EXIT_INVALID;
    }
    if args.threads == Some(0) {
        eprintln!("loadbench: --threads must be at least 1");
        return EXIT_INVALID;
    }
    let total_s = scenario.duration().as_secs_f64();
    let open = matches!(scenario.load, Load::Open { .. });
    if !args.no_store
        && let Err(e) = Store::open(db)
    {
        eprintln!("loadbench: {e}\n(run with --no-store to run without storing)");
        return EXIT_RUN_ERROR;
    }
    // A bad --compare-to is an invalid flag like any other: refused before anything is sent.
    let compare_to = match args
        .compare_to
        .as_deref()
        .map(|a| compare_to_spec(a, db, args.no_store))
        .transpose()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("loadbench: {e}");
            return EXIT_INVALID;
        }
    };
    let name = args.name.clone().unwrap_or_else(|| scenario.name.clone());
    let mut progress = Progress::new(total_s, open);
    let tty = std::io::stderr().is_terminal();
    let quiet = args.quiet;
    let stored = (!args.no_store).then_some((db, args.tags.as_slice()));
    let executed = execute(scenario, name, args.threads, stored, quiet, |tick| {
        if quiet {
            return;
        }
        let line = progress.line(tick);
        let mut err = std::io::stderr().lock();
        if tty {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    });
    if tty && !quiet {
        eprintln!();
    }
    let (outcome, stored_id) = match executed {
        Ok(done) => done,
        Err(e) => {
            eprintln!("loadbench: {e}");
            return EXIT_RUN_ERROR;
        }
    };
    if let Some(id) = stored_id
        && !quiet
    {
        eprintln!("stored as run #{id} in {}", db.display());
    }
    let mut regressed = false;
    let mut comparison = None;
    if let Some(against) = &compare_to {
        match gate(db, against, &outcome.summary.scenario, stored_id) {
            Ok(Some(c)) => {
                eprint!("{}", comparison_text(&c));
                regressed = c.regressed;
                comparison = Some(c);
            }
            Ok(None) => eprintln!(
                "loadbench: scenario \"{}\" has no baseline yet, so this run was not compared \
                 (the exit code reflects its thresholds only); mark this run as the baseline with: \
                 loadbench runs baseline {}",
                outcome.summary.scenario,
                stored_id.map_or("ID".to_string(), |i| i.to_string())
            ),
            Err(e) => eprintln!("loadbench: cannot compare: {e}"),
        }
    }
    if args.json {
        match serde_json::to_string_pretty(&outcome.summary) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("loadbench: cannot encode the summary: {e}");
                return EXIT_RUN_ERROR;
            }
        }
    } else {
        print!("{}", printer::summary(&outcome.summary));
    }
    // The last line of the log says what was decided and why, whatever scrolled by above.
    let _ = std::io::stdout().flush();
    eprintln!(
        "{}",
        printer::verdict_line(
            &outcome.summary,
            comparison.as_ref(),
            stored_id,
            outcome.status == RunStatus::Stopped
        )
    );
    match outcome.status {
        RunStatus::Stopped => EXIT_STOPPED,
        RunStatus::Failed => EXIT_RUN_ERROR,
        RunStatus::Completed if !outcome.summary.thresholds_passed => EXIT_THRESHOLD_FAILED,
        RunStatus::Completed if regressed => EXIT_REGRESSED,
        RunStatus::Completed => EXIT_OK,
    }
}

/// One run of a scenario: the engine started, every tick stored as it comes (when `store` gives
/// a database and tags) and shown to `on_tick`, Ctrl-C stopping it; the outcome and its run id.
fn execute(
    scenario: Scenario,
    name: String,
    threads: Option<usize>,
    store: Option<(&std::path::Path, &[String])>,
    quiet: bool,
    mut on_tick: impl FnMut(&std::sync::Arc<crate::metrics::Tick>),
) -> Result<(engine::Outcome, Option<i64>), String> {
    let scenario_text = scenario.text.clone();
    let scenario_path = scenario.path.as_ref().map(|p| p.display().to_string());
    let handle = engine::start(
        scenario,
        RunOptions {
            threads,
            ..RunOptions::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let recorder = store.and_then(|(db, tags)| {
        let new = NewRun {
            name,
            scenario_text,
            scenario_path,
            info: handle.info.clone(),
            targets: handle.target_urls.clone(),
            started_at: handle.started_at,
        };
        match Recorder::start(db, new) {
            Ok(r) => {
                if !tags.is_empty()
                    && let Ok(store) = Store::open(db)
                {
                    let _ = store.tag(r.run_id, tags);
                }
                Some((r, db))
            }
            Err(e) => {
                eprintln!("loadbench: not storing this run: {e}");
                None
            }
        }
    });
    if !quiet {
        for (name, url) in &handle.target_urls {
            eprintln!("target {name}: {url}");
        }
    }
    spawn_ctrl_c(handle.stopper());
    let outcome = handle.wait(|tick| {
        if let Some((r, _)) = &recorder {
            r.tick(tick.clone());
        }
        on_tick(tick);
    });
    let outcome = outcome.ok_or("the engine ended without a result")?;
    let mut stored_id = None;
    if let Some((r, db)) = recorder {
        match r.finish(outcome.status.as_str(), &outcome.summary) {
            Ok(id) => stored_id = Some(id),
            Err(e) => eprintln!(
                "loadbench: the run could not be stored completely in {}: {e}",
                db.display()
            ),
        }
    }
    Ok((outcome, stored_id))
}

#[cfg(unix)]
type Terminate = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Terminate = Option<()>;

/// A listener for SIGTERM, where there is such a thing.
fn terminate_signal() -> Terminate {
    #[cfg(unix)]
    {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok()
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Waits for Ctrl-C or SIGTERM and says which came.
async fn next_signal(term: &mut Terminate) -> std::io::Result<&'static str> {
    #[cfg(unix)]
    if let Some(t) = term.as_mut() {
        return tokio::select! {
            r = tokio::signal::ctrl_c() => r.map(|()| "Ctrl-C"),
            _ = t.recv() => Ok("SIGTERM"),
        };
    }
    let _ = term;
    tokio::signal::ctrl_c().await.map(|()| "Ctrl-C")
}

/// Makes Ctrl-C stop `stopper`'s run: one listener for the process, so a command that runs
/// several times (a capacity search) stops the run in progress and says so once.
fn spawn_ctrl_c(stopper: engine::Stopper) {
    static CURRENT: std::sync::Mutex<Option<engine::Stopper>> = std::sync::Mutex::new(None);
    static LISTENER: std::sync::Once = std::sync::Once::new();
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(stopper);
    LISTENER.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("loadbench-signal".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    // SIGTERM (what CI runners and Kubernetes send) stops a run like Ctrl-C: the
                    // summary of what was measured is still printed and stored.
                    let mut term = terminate_signal();
                    let Ok(what) = next_signal(&mut term).await else {
                        return;
                    };
                    let current = CURRENT.lock().unwrap_or_else(|e| e.into_inner()).take();
                    if let Some(s) = current {
                        eprintln!(
                            "\nloadbench: stopping ({what}) — keeping what was measured; \
                             Ctrl-C again quits at once"
                        );
                        s.stop();
                    }
                    if let Ok(what) = next_signal(&mut term).await {
                        eprintln!("\nloadbench: quit (second {what})");
                        std::process::exit(EXIT_STOPPED);
                    }
                });
            });
    });
}

fn demo(args: DemoArgs) -> i32 {
    let config = DemoConfig {
        tls: args.tls,
        stall_every: args.stall_every,
        stall_for: args.stall_for,
        flaky_rate: args.flaky_rate.clamp(0.0, 1.0),
        delay: args.delay.unwrap_or_default(),
        port: args.port,
        threads: args.threads.max(1),
    };
    let server = match DemoServer::start(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "loadbench demo: cannot listen on 127.0.0.1:{}: {e}",
                args.port
            );
            return EXIT_RUN_ERROR;
        }
    };
    if let (Some(path), Some(pem)) = (&args.ca_out, &server.ca_pem)
        && let Err(e) = std::fs::write(path, pem)
    {
        eprintln!("loadbench demo: cannot write {}: {e}", path.display());
        return EXIT_RUN_ERROR;
    }
    println!("demo service listening on {}", server.url());
    let _ = std::io::stdout().flush();
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return EXIT_RUN_ERROR;
    };
    rt.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    server.stop();
    EXIT_OK
}

fn runs(args: RunsArgs, db: &std::path::Path) -> i32 {
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

fn list_runs(store: &Store, a: &ListArgs) -> crate::store::Result<()> {
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

fn when(ms: i64) -> String {
    crate::format::utc(ms)
}

fn delete_runs(store: &Store, ids: &[i64], yes: bool) -> crate::store::Result<()> {
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

fn import_run(store: &Store, file: &std::path::Path) -> crate::store::Result<()> {
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

fn report(args: ReportArgs, db: &std::path::Path) -> i32 {
    use crate::report::{Format, Report};
    let store = match Store::open_read(db) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("loadbench: {e}");
            return EXIT_RUN_ERROR;
        }
    };
    let report = match Report::load_compared(&store, args.run, &args.compare) {
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
            let (bytes, _) = args.format.exporter().render(&report, "report");
            let mut out = std::io::stdout().lock();
            match out.write_all(&bytes).and_then(|()| out.flush()) {
                Ok(()) => EXIT_OK,
                Err(e) => {
                    eprintln!("loadbench: cannot write the report to standard output: {e}");
                    EXIT_RUN_ERROR
                }
            }
        }
    }
}

/// What `--compare-to` names: the scenario's marked baseline runs, or runs by id.
#[derive(Debug, Clone, PartialEq)]
enum CompareTo {
    Baseline,
    Runs(Vec<i64>),
}

/// Reads `--compare-to` before anything is sent, checking that named runs exist.
fn compare_to_spec(
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
fn gate(
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
fn comparison_text(c: &crate::analysis::compare::Comparison) -> String {
    use crate::analysis::compare::Verdict;
    let mut rows = Vec::new();
    for (name, changes) in &c.requests {
        for m in changes {
            let value = |v: f64| m.format_value(v);
            rows.push(vec![
                if name == "*" {
                    "all".to_string()
                } else {
                    name.clone()
                },
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
    let against = match &c.benchmark {
        Some(name) => format!("benchmark \"{name}\""),
        None if c.baselines.len() > 1 => format!(
            "baseline runs {}",
            c.baselines
                .iter()
                .map(|b| format!("#{b}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => format!("baseline #{}", c.baseline),
    };
    let mut notes: Vec<String> = c.notes.clone();
    notes.extend(c.short_of_data());
    let notes: String = notes.iter().map(|n| format!("note: {n}\n")).collect();
    format!(
        "\ncompare: {against} vs candidate #{}{}\n{}{notes}",
        c.candidate,
        if c.regressed {
            " — significant regression"
        } else if c.inconclusive {
            " — inconclusive (the machine differed)"
        } else {
            ""
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

/// Run ids from a command-line word: `12`, `12,13,14`, `latest`, or `baseline` (the marked
/// baseline runs of `scenario`).
fn run_ids(store: &Store, word: &str, scenario: Option<&str>) -> Result<Vec<i64>, String> {
    match word {
        "latest" => store
            .list_runs(&crate::store::RunFilter {
                limit: Some(1),
                ..Default::default()
            })
            .map_err(|e| e.to_string())?
            .first()
            .map(|r| vec![r.id])
            .ok_or_else(|| "`latest`: there is no run yet".to_string()),
        "baseline" => {
            let scenario =
                scenario.ok_or("`baseline` needs a candidate run to name its scenario")?;
            let ids = store.baselines_of(scenario).map_err(|e| e.to_string())?;
            if ids.is_empty() {
                return Err(format!(
                    "scenario \"{scenario}\" has no baseline yet: mark one with loadbench runs baseline ID"
                ));
            }
            Ok(ids)
        }
        _ => {
            let ids = word
                .split(',')
                .map(|t| t.trim().parse::<i64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    format!(
                        "`{word}`: expected a run id, ids such as 12,13,14, `latest` or `baseline`"
                    )
                })?;
            for id in &ids {
                store.run(*id).map_err(|e| e.to_string())?;
            }
            Ok(ids)
        }
    }
}

fn compare(args: CompareArgs, db: &std::path::Path) -> i32 {
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
        println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
    } else {
        for c in &all {
            print!("{}", comparison_text(c));
        }
    }
    if all.iter().any(|c| c.regressed) {
        EXIT_REGRESSED
    } else {
        EXIT_OK
    }
}

fn benchmarks(args: BenchmarksArgs, db: &std::path::Path) -> i32 {
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
