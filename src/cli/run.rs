//! `loadbench run`: a scenario headless, with live progress, a summary and a verdict line.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::compare::{compare_to_spec, comparison_text, gate};
use super::launch::execute;
use super::parse::parse_dur;
use crate::demo::DemoConfig;
use crate::engine::RunStatus;
use crate::exit::*;
use crate::halt::Halt;
use crate::printer::{self, Progress};
use crate::scenario::{BaseUrl, Load, Profile, Scenario, TargetKind};
use crate::store::Store;

#[derive(Args)]
pub(super) struct RunArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// Print the summary as JSON (schema loadbench.summary/1) instead of a table.
    #[arg(long)]
    json: bool,
    /// No progress line.
    #[arg(long, short)]
    quiet: bool,
    /// When stderr is not a terminal (a CI log), one progress line per this much run time
    /// (default 10s; the first second is always shown). A terminal gets one line, updated.
    #[arg(long, value_parser = parse_dur, default_value = "10s")]
    progress_interval: Duration,
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
    /// After the run, write a report of it: FORMAT=PATH, e.g. md=docs/performance/api.md or
    /// junit=junit.xml (repeatable; with --compare-to, the comparison is in it). The files are
    /// this run's output, so existing ones are replaced (never through a symbolic link).
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report_spec)]
    reports: Vec<(crate::report::Format, PathBuf)>,
    /// Go on for the whole duration even when no request connects (by default a run whose
    /// first 3 s see nothing but failed connections stops and exits 3).
    #[arg(long)]
    no_fail_fast: bool,
    /// Send each second's figures to a DogStatsD agent (Datadog) at HOST:PORT: rate, p50/p95/p99,
    /// errors by kind, in flight, tagged with scenario, request and target. Never slows the run:
    /// sent once a second after the tick, never waiting; lost packets are counted, not fatal.
    #[arg(long, value_name = "HOST:PORT")]
    statsd: Option<String>,
    /// Serve each second's figures as a Prometheus text exposition on HOST:PORT while the run
    /// goes (any path; port 0 picks one, printed at the start).
    #[arg(long, value_name = "HOST:PORT")]
    metrics_listen: Option<String>,
    /// After the run, compare it with its scenario's baseline runs (`baseline`) or with run ids
    /// (`12` or `12,13,14`); exit 4 on a significant regression.
    #[arg(long, value_name = "baseline|ID[,ID...]")]
    compare_to: Option<String>,
    /// Run one of N shards of the scenario (one per machine or pod): the shards' sends together
    /// are exactly the single-process schedule; `runs merge` or `cluster collect` joins them.
    #[arg(long, value_name = "N")]
    shards: Option<usize>,
    /// This process's shard, 0-based (default: $JOB_COMPLETION_INDEX, as a Kubernetes Indexed
    /// Job sets it).
    #[arg(long, value_name = "I")]
    shard_index: Option<usize>,
    /// Wait for this wall-clock moment before starting (RFC 3339, e.g. 2026-12-01T10:00:00Z), so
    /// every shard starts together; a late shard says by how much.
    #[arg(long, value_name = "TIME")]
    start_at: Option<String>,
    /// After the run, write its lossless export (as `runs export`) to PATH, or `-` for stdout as
    /// one line (the summary then goes to stderr), so `kubectl logs` carries it out of the pod.
    #[arg(long, value_name = "PATH")]
    export: Option<PathBuf>,
}

/// Reads `--report FORMAT=PATH`.
fn parse_report_spec(s: &str) -> Result<(crate::report::Format, PathBuf), String> {
    let (format, path) = s.split_once('=').ok_or_else(|| {
        format!("\"{s}\": expected FORMAT=PATH, e.g. md=report.md or junit=junit.xml")
    })?;
    if path.is_empty() {
        return Err(format!("\"{s}\": the path is empty"));
    }
    Ok((super::report::parse_format(format)?, PathBuf::from(path)))
}

/// Writes the `--report` files of a stored run (with its comparison); false if any failed.
fn write_reports(
    db: &std::path::Path,
    run: i64,
    baselines: &[i64],
    reports: &[(crate::report::Format, PathBuf)],
) -> bool {
    let report = Store::open_read(db)
        .map_err(|e| e.to_string())
        .and_then(|s| {
            crate::report::Report::load_compared(&s, run, baselines).map_err(|e| e.to_string())
        });
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadbench: cannot write the reports: {e}");
            return false;
        }
    };
    let mut ok = true;
    for (format, path) in reports {
        match crate::report::write(&report, *format, path, true) {
            Ok(files) => {
                for f in files {
                    eprintln!("wrote {}", f.display());
                }
            }
            Err(e) => {
                eprintln!("loadbench: cannot write {}: {e}", path.display());
                ok = false;
            }
        }
    }
    ok
}

/// Applies command-line overrides to a loaded scenario; errors name the flag.
pub(super) fn apply_overrides(s: &mut Scenario, args: &RunArgs) -> Result<(), String> {
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

pub(super) fn run(args: RunArgs, db: &std::path::Path) -> i32 {
    let mut scenario = match Scenario::load(&args.scenario) {
        Ok(s) => {
            super::say_warnings(&s);
            s
        }
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
    if !args.reports.is_empty() && args.no_store {
        eprintln!(
            "loadbench: --report writes a report of the stored run; it cannot go with --no-store"
        );
        return EXIT_INVALID;
    }
    let shard = match super::shard::resolve(
        args.shards,
        args.shard_index,
        args.start_at.as_deref(),
        &|n| std::env::var(n).ok(),
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("loadbench: {e}");
            return EXIT_INVALID;
        }
    };
    if args.export.is_some() && args.no_store {
        eprintln!("loadbench: --export writes the stored run; it cannot go with --no-store");
        return EXIT_INVALID;
    }
    // With the export on stdout, stdout carries nothing else.
    let to_stdout = args.export.as_ref().is_some_and(|p| p.as_os_str() == "-");
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
    let fail_fast = !args.no_fail_fast;
    let every = args.progress_interval.as_secs_f64().max(1.0);
    let mut next_line_at = every;
    let journeys: Vec<String> = scenario.journeys.iter().map(|j| j.name.clone()).collect();
    let mut statsd = match &args.statsd {
        Some(addr) => {
            match crate::statsd::Statsd::new(
                addr,
                &scenario.name,
                &crate::metrics::Key::all(&scenario),
            ) {
                Ok(s) => Some(s.with_journeys(&journeys)),
                Err(e) => {
                    eprintln!("loadbench: {e}");
                    return EXIT_INVALID;
                }
            }
        }
        None => None,
    };
    let mut exposition = match &args.metrics_listen {
        Some(addr) => match crate::exposition::Exposition::listen(
            addr,
            &scenario.name,
            &crate::metrics::Key::all(&scenario),
        ) {
            Ok(x) => {
                eprintln!("metrics: http://{}/metrics", x.addr);
                Some(x.with_journeys(&journeys))
            }
            Err(e) => {
                eprintln!("loadbench: {e}");
                return EXIT_INVALID;
            }
        },
        None => None,
    };
    let mut options = crate::engine::RunOptions {
        threads: args.threads,
        ..Default::default()
    };
    if let Some((mut info, at)) = shard {
        if let Some(at) = at {
            match super::shard::wait_for(at, quiet) {
                Ok(late) => info.late_ms = late,
                Err(e) => {
                    eprintln!("loadbench: {e}");
                    return EXIT_INVALID;
                }
            }
            if info.late_ms >= 1.0 {
                eprintln!(
                    "loadbench: shard {} of {} started {} after --start-at",
                    info.index,
                    info.count,
                    crate::format::micros(info.late_ms * 1000.0)
                );
            }
        }
        if !quiet {
            eprintln!("shard {} of {}", info.index, info.count);
        }
        options.shard = Some(info);
    }
    let executed = execute(scenario, name, options, stored, quiet, fail_fast, |tick| {
        if let Some(s) = statsd.as_mut() {
            s.send(tick);
        }
        if let Some(x) = exposition.as_mut() {
            x.update(tick);
        }
        if quiet {
            return;
        }
        let line = progress.line(tick);
        let mut err = std::io::stderr().lock();
        if tty {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else if tick.index == 1 || tick.end + 1e-9 >= next_line_at {
            let _ = writeln!(err, "{line}");
            next_line_at = (tick.end / every).floor() * every + every;
        }
        let _ = err.flush();
    });
    if tty && !quiet {
        eprintln!();
    }
    if let Some(s) = &statsd
        && s.failed.0 > 0
    {
        eprintln!(
            "loadbench: statsd: {} of {} packet(s) could not be sent ({})",
            s.failed.0,
            s.failed.0 + s.sent,
            s.failed.1.as_deref().unwrap_or("unknown")
        );
    }
    let (outcome, stored_id, halt) = match executed {
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
    let reported = match stored_id {
        Some(id) if !args.reports.is_empty() => {
            let baselines = comparison.as_ref().map_or_else(Vec::new, |c| {
                if c.baselines.is_empty() {
                    vec![c.baseline]
                } else {
                    c.baselines.clone()
                }
            });
            write_reports(db, id, &baselines, &args.reports)
        }
        _ => true,
    };
    let verdict = crate::analysis::verdict::line(
        &outcome.summary,
        comparison.as_ref(),
        stored_id,
        outcome.status == RunStatus::Stopped,
    );
    if args.json {
        // The summary, plus what a script needs next: the stored id, the comparison, the verdict.
        let doc = serde_json::to_value(&outcome.summary).map(|mut v| {
            if let Some(o) = v.as_object_mut() {
                o.insert("run_id".into(), serde_json::json!(stored_id));
                o.insert("comparison".into(), serde_json::json!(comparison));
                o.insert("verdict".into(), serde_json::json!(verdict));
            }
            v
        });
        match doc.and_then(|d| serde_json::to_string_pretty(&d)) {
            Ok(j) if to_stdout => eprintln!("{j}"),
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("loadbench: cannot encode the summary: {e}");
                return EXIT_RUN_ERROR;
            }
        }
    } else if to_stdout {
        eprint!("{}", printer::summary(&outcome.summary));
    } else {
        print!("{}", printer::summary(&outcome.summary));
    }
    let exported = match (&args.export, stored_id) {
        (Some(path), Some(id)) => match super::shard::export(db, id, path) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("loadbench: {e}");
                false
            }
        },
        (Some(_), None) => {
            eprintln!("loadbench: the run was not stored, so there is nothing to export");
            false
        }
        (None, _) => true,
    };
    // The last line of the log says what was decided and why, whatever scrolled by above.
    let _ = std::io::stdout().flush();
    eprintln!("{verdict}");
    let code = match (&halt, outcome.status) {
        (Some(Halt::Unreachable(_)), _) => EXIT_RUN_ERROR,
        (Some(Halt::Threshold { .. }), _) => EXIT_THRESHOLD_FAILED,
        (None, status) => match status {
            RunStatus::Stopped => EXIT_STOPPED,
            RunStatus::Failed | RunStatus::Interrupted | RunStatus::Running => EXIT_RUN_ERROR,
            RunStatus::Completed if !outcome.summary.thresholds_passed => EXIT_THRESHOLD_FAILED,
            RunStatus::Completed if regressed => EXIT_REGRESSED,
            RunStatus::Completed => EXIT_OK,
        },
    };
    if !(reported && exported) && code == EXIT_OK {
        return EXIT_RUN_ERROR;
    }
    code
}
