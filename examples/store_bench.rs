//! Store speed and size figures: `cargo run --release --example store_bench [DIR]`.
//!
//! Writes a one-hour run of 5 request names through the real recorder (3,600 ticks, 18,000
//! series rows, two histograms each), imports 10,000 more small runs, then times what the GUI
//! does: list every run, load the hour with everything a chart needs, recompute a window.
//!
//! `store_bench open DB RUN` times the same on a stored run of any length (bench/whole_run.sh
//! makes a day of one): opening it for its charts, a one-hour window from its middle, the
//! peak memory of each, and listing every run the database holds.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use loadbench::metrics::{Key, RunInfo, Stats, Summary, Tick};
use loadbench::store::{NewRun, Recorder, RunFilter, Store};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

const SERIES: usize = 5;
const SECONDS: u32 = 3600;
const RUNS: usize = 10_000;
const SAMPLES_PER_TICK: u32 = 400;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(reps: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

fn size_of(path: &std::path::Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

/// The process's peak resident memory so far, in MB (Linux).
fn peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Opening a stored run for the run page, then a one-hour window from its middle.
fn open_stored(db: &std::path::Path, id: i64) -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::open(db)?;
    // What the run page reads before it draws; each request's points follow in the background.
    let t = Instant::now();
    let run = store.run(id)?;
    let summaries = store.tick_summaries(id)?;
    let open = t.elapsed();
    let open_peak = peak_mb();
    let t = Instant::now();
    let points: usize = store
        .series_points(id, run.info.keys.len())?
        .iter()
        .map(Vec::len)
        .sum();
    let background = t.elapsed();
    let ticks = summaries.len() as u32;
    let (from, to) = (ticks / 2, (ticks / 2 + 3599).min(ticks));
    let t = Instant::now();
    let requests = store.window(id, from.max(1), to)?.total().requests;
    let window = t.elapsed();
    println!(
        "  open run {id} for its charts ({ticks} ticks × {} series): {:>8.1} ms, peak {:.0} MB",
        run.info.keys.len(),
        open.as_secs_f64() * 1e3,
        open_peak
    );
    println!(
        "  then, in the background, each request's {points} points: {:>8.1} ms, peak {:.0} MB",
        background.as_secs_f64() * 1e3,
        peak_mb()
    );
    println!(
        "  recompute ticks {from}–{to} from histograms ({requests} responses): {:>8.1} ms, peak {:.0} MB",
        window.as_secs_f64() * 1e3,
        peak_mb()
    );
    let list = time(15, || {
        store.list_runs(&RunFilter::default()).map(|r| r.len())
    });
    println!(
        "  list all {} runs of the database (median of 15):  {:>8.2} ms",
        store.list_runs(&RunFilter::default())?.len(),
        list.as_secs_f64() * 1e3
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("open") {
        let db = args.next().ok_or("store_bench open DB RUN")?;
        let id = args.next().ok_or("store_bench open DB RUN")?.parse()?;
        return open_stored(std::path::Path::new(&db), id);
    }
    let dir = match std::env::args().nth(1) {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("loadbench-store-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let hour_db = dir.join("hour.db");
    let _ = std::fs::remove_file(&hour_db);

    let keys: Vec<Key> = (0..SERIES)
        .map(|i| Key {
            request: format!("endpoint-{i}"),
            target: "api".into(),
        })
        .collect();
    let info = RunInfo {
        shard: None,
        proxies: Vec::new(),
        journeys: Vec::new(),
        scenario: "one hour".into(),
        model: loadbench::scenario::Model::Open,
        max_vus: None,
        keys: keys.clone(),
        thresholds: vec![],
    };
    let rec = Recorder::start(
        &hour_db,
        NewRun {
            name: "one hour".into(),
            scenario_text: "name = \"one hour\"".into(),
            scenario_path: None,
            info: info.clone(),
            targets: vec![("api".into(), "http://127.0.0.1:8080".into())],
            started_at: SystemTime::now(),
        },
    )?;
    let mut rng = SmallRng::seed_from_u64(1);
    let mut acc = loadbench::metrics::Accumulator::new(SERIES);
    let start = Instant::now();
    for i in 1..=SECONDS {
        let stats = (0..SERIES)
            .map(|s| {
                let mut st = Stats::default();
                for _ in 0..SAMPLES_PER_TICK {
                    // Log-normal-ish latencies around 2-40 ms, with a tail.
                    let base = 2_000.0 * (1 + s) as f64;
                    let v = base * (rng.random::<f64>() * 2.5).exp();
                    let err = (rng.random::<f64>() < 0.002)
                        .then_some(loadbench::metrics::ErrorKind::Http5xx);
                    st.record_response(
                        if err.is_some() { 503 } else { 200 },
                        v as u64,
                        (v * 0.8) as u64,
                        err,
                    );
                }
                st.bytes_in = 512 * u64::from(SAMPLES_PER_TICK);
                st
            })
            .collect();
        let tick = Tick {
            index: i,
            end: f64::from(i),
            seconds: 1.0,
            drain: 0.0,
            warmup: false,
            target: 2000.0,
            in_flight: 40,
            not_started: 0,
            stats,
            journeys: Vec::new(),
        };
        acc.add(&tick);
        rec.tick(Arc::new(tick));
    }
    let summary = Summary::build(
        &info,
        &acc,
        loadbench::metrics::RunStatus::Completed,
        SystemTime::now(),
    );
    let hour_id = rec.finish(loadbench::metrics::RunStatus::Completed, &summary)?;
    let write = start.elapsed();
    let store = Store::open(&hour_db)?;
    store.checkpoint()?;
    let hour_bytes = size_of(&hour_db);

    // 10,000 more runs for the list, imported from a small exported run with fresh ids.
    let mut small = store.export_run(hour_id)?;
    small.ticks.truncate(2);
    let t = Instant::now();
    store.import_many((0..RUNS).map(|i| {
        let mut d = small.clone();
        d.uuid = format!("bench-{i}");
        d.name = format!("run {i}");
        d.started_at_ms -= i as i64 * 60_000;
        d
    }))?;
    let import = t.elapsed();

    let list = time(15, || {
        store.list_runs(&RunFilter::default()).map(|r| r.len())
    });
    let listed = store.list_runs(&RunFilter::default())?.len();
    let load = time(15, || {
        let run = store.run(hour_id).expect("run");
        store.series(hour_id, run.info.keys.len()).expect("series")
    });
    let series = store.series(hour_id, SERIES)?;
    let rows: usize = series.series.iter().map(Vec::len).sum();
    let minute = time(7, || {
        store
            .window(hour_id, 1800, 1859)
            .map(|a| a.total().requests)
    });
    let whole = time(3, || {
        store
            .window(hour_id, 1, SECONDS)
            .map(|a| a.total().requests)
    });
    let compare = time(3, || {
        loadbench::analysis::compare::compare_runs(&store, hour_id, hour_id).map(|c| c.regressed)
    });

    println!(
        "loadbench store figures ({} cores, release build)",
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!(
        "  write one hour, 5 series, through the recorder: {:>8.2} s ({:.0} ticks/s)",
        write.as_secs_f64(),
        f64::from(SECONDS) / write.as_secs_f64()
    );
    println!(
        "  one hour on disk ({rows} series rows + histograms): {:>6.1} MB (target < 50 MB)",
        hour_bytes as f64 / 1e6
    );
    println!(
        "  import {RUNS} small runs:                         {:>8.2} s",
        import.as_secs_f64()
    );
    println!(
        "  list all {listed} runs (median of 15):              {:>8.2} ms (target < 50 ms)",
        list.as_secs_f64() * 1e3
    );
    println!(
        "  load the hour for charts, {} ticks × {SERIES} series:   {:>8.2} ms (target < 50 ms)",
        series.ticks.len(),
        load.as_secs_f64() * 1e3
    );
    println!(
        "  recompute a 1-minute window from histograms:       {:>8.2} ms",
        minute.as_secs_f64() * 1e3
    );
    println!(
        "  recompute the whole hour from histograms:          {:>8.2} ms",
        whole.as_secs_f64() * 1e3
    );
    println!(
        "  compare the hour with itself (every histogram):    {:>8.2} ms",
        compare.as_secs_f64() * 1e3
    );
    println!("  database: {}", hour_db.display());
    Ok(())
}
