//! Writes a run as it happens, on its own thread: one transaction per tick, so a crash loses at
//! most the last second, and the caller (a CLI loop or the GUI thread) never waits on the disk.

use crate::metrics::RunStatus;
use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::SystemTime;

use rusqlite::params;

use super::{Result, Store, StoreError, epoch_ms, host_facts, lock_path};
use crate::metrics::{RunInfo, Summary, Tick, TickSummary, encode_counts, encode_histogram};

/// What is known about a run when it starts.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// Shown in lists (defaults to the scenario name).
    pub name: String,
    /// The scenario text as written (`${env.*}` unresolved: no secret is stored).
    pub scenario_text: String,
    /// The scenario file, if any.
    pub scenario_path: Option<String>,
    /// Model, series and thresholds.
    pub info: RunInfo,
    /// Target names and URLs.
    pub targets: Vec<(String, String)>,
    /// When the engine started.
    pub started_at: SystemTime,
}

/// Attempts to write one tick before the writer gives up (a disk full for this long).
const WRITE_RETRIES: u32 = 60;
/// The pause between those attempts.
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(500);

/// Ticks waiting for the disk: at most this many; beyond, a new tick is merged into the last one
/// waiting (a coarser second, nothing lost), so a stalled disk cannot grow memory without bound.
pub const QUEUE_TICKS: usize = 120;

/// What the writer thread has to do.
#[derive(Default)]
struct Queue {
    ticks: VecDeque<Arc<Tick>>,
    finish: Option<(RunStatus, Box<Summary>)>,
    /// The caller went away without finishing.
    closed: bool,
    /// Ticks merged into others because the disk was behind.
    merged: u64,
}

type Shared = Arc<(Mutex<Queue>, Condvar)>;

/// A run being stored.
pub struct Recorder {
    /// The run's id in the database.
    pub run_id: i64,
    queue: Shared,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Recorder {
    /// Creates the run (status `running`) and starts the writer thread.
    pub fn start(db: &Path, run: NewRun) -> Result<Recorder> {
        let store = Store::open(db)?;
        let uuid = uuid::Uuid::new_v4().to_string();
        let lock_file = lock_path(db, &uuid);
        let lock = take_lock(&lock_file)?;
        store
            .conn
            .execute(
                "INSERT INTO runs (uuid, name, scenario, scenario_text, scenario_path, model, info_json, targets_json,
                                   status, started_at_ms, version, host_json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'running', ?9, ?10, ?11)",
                params![
                    uuid,
                    run.name,
                    run.info.scenario,
                    run.scenario_text,
                    run.scenario_path,
                    run.info.model.as_str(),
                    json(&run.info),
                    json(&run.targets),
                    epoch_ms(run.started_at),
                    env!("CARGO_PKG_VERSION"),
                    host_facts().to_string(),
                ],
            )
            .map_err(store.err())?;
        let run_id = store.conn.last_insert_rowid();
        // The writer only appends: a small page cache keeps a long run's memory flat instead of
        // growing to SQLite's default 2 MB as the file grows.
        let _ = store.conn.execute_batch("PRAGMA cache_size = -256");
        let queue: Shared = Arc::default();
        let q = queue.clone();
        let thread = std::thread::Builder::new()
            .name("loadbench-store".into())
            .spawn(move || write_loop(store, run_id, &q, lock, lock_file))
            .map_err(|source| StoreError::Io {
                path: db.display().to_string(),
                source,
            })?;
        Ok(Recorder {
            run_id,
            queue,
            thread: Some(thread),
        })
    }

    /// Queues a tick for writing; never blocks, and never holds more than [`QUEUE_TICKS`].
    pub fn tick(&self, tick: Arc<Tick>) {
        let (lock, ready) = &*self.queue;
        let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
        let full = q.ticks.len() >= QUEUE_TICKS;
        match q.ticks.back_mut() {
            Some(last) if full && last.warmup == tick.warmup => {
                Arc::make_mut(last).absorb(&tick);
                q.merged += 1;
            }
            _ => q.ticks.push_back(tick),
        }
        ready.notify_one();
    }

    /// Records the final status and summary, waits for everything to be written, and reports
    /// the first write error, if any.
    pub fn finish(mut self, status: RunStatus, summary: &Summary) -> Result<i64> {
        {
            let (lock, ready) = &*self.queue;
            let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
            q.finish = Some((status, Box::new(summary.clone())));
            ready.notify_one();
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r.map(|()| self.run_id),
            Some(Err(_)) => Err(StoreError::Invalid("the store writer thread failed".into())),
            None => Ok(self.run_id),
        }
    }
}

/// JSON text of plain data (which cannot fail to serialize).
pub(super) fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn take_lock(path: &PathBuf) -> Result<File> {
    let io = |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let f = File::create(path).map_err(io)?;
    f.lock().map_err(io)?;
    Ok(f)
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let (lock, ready) = &*self.queue;
        lock.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
        ready.notify_one();
    }
}

/// What the writer does next.
enum Next {
    Tick(Arc<Tick>),
    Finish(RunStatus, Box<Summary>, u64),
    Gone,
}

fn write_loop(store: Store, id: i64, queue: &Shared, lock: File, lock_file: PathBuf) -> Result<()> {
    let mut first_error: Option<StoreError> = None;
    let mut finished = false;
    // Stored ticks are numbered 1, 2, 3… whatever was merged while the disk was behind.
    let mut stored = 0u32;
    let mut retries = 0u32;
    loop {
        let next = {
            let (q, ready) = &**queue;
            let mut q = q.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(t) = q.ticks.pop_front() {
                    break Next::Tick(t);
                }
                if let Some((status, summary)) = q.finish.take() {
                    break Next::Finish(status, summary, q.merged);
                }
                if q.closed {
                    break Next::Gone;
                }
                q = ready.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let r = match next {
            Next::Tick(mut t) => {
                if t.index != stored + 1 {
                    Arc::make_mut(&mut t).index = stored + 1;
                }
                match store.append_tick(id, &t) {
                    Ok(()) => {
                        stored += 1;
                        Ok(())
                    }
                    Err(e) => {
                        // A full disk or a locked file: the tick goes back to the head of the
                        // queue and is tried again, so no second is skipped (a gap would end
                        // every reader's walk there); ticks arriving meanwhile merge behind it.
                        let (q, _) = &**queue;
                        q.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .ticks
                            .push_front(t);
                        retries += 1;
                        if retries > WRITE_RETRIES {
                            // Still failing: stop here, leaving the run `running` with every
                            // second written so far; the next open marks it interrupted.
                            first_error.get_or_insert(e);
                            break;
                        }
                        std::thread::sleep(RETRY_PAUSE);
                        continue;
                    }
                }
            }
            Next::Finish(status, summary, merged) => {
                finished = true;
                let end = epoch_ms(SystemTime::now());
                let noted = if merged > 0 {
                    store.note_coarser(id, merged)
                } else {
                    Ok(())
                };
                noted.and_then(|()| store.write_final(id, status, end, &summary))
            }
            Next::Gone => break,
        };
        retries = 0;
        if let Err(e) = r {
            first_error.get_or_insert(e);
        }
        if finished {
            break;
        }
    }
    // Without a Finish (the caller went away), the run stays `running`; with the lock released
    // below, the next open marks it interrupted with the ticks written so far.
    drop(lock);
    if finished {
        let _ = std::fs::remove_file(&lock_file);
    }
    first_error.map_or(Ok(()), Err)
}

impl Store {
    /// Says in a run's notes that some seconds were stored merged with the next, because the
    /// disk fell behind.
    fn note_coarser(&self, id: i64, merged: u64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET notes = notes || ?2 WHERE id = ?1",
                params![
                    id,
                    format!(
                        "{merged} seconds were stored merged into the second before them: the \
                         disk fell behind (no request is lost; those stretches are coarser). "
                    )
                ],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Appends one tick to a run in its own transaction (what the recorder does once a second).
    pub fn append_tick(&self, id: i64, t: &Tick) -> Result<()> {
        let e = self.err();
        let tx = self.conn.unchecked_transaction().map_err(&e)?;
        let measured = insert_tick(&tx, id, t).map_err(&e)?;
        if !t.warmup {
            tx.prepare_cached(
                "UPDATE runs SET duration_s = duration_s + ?2, requests = requests + ?3 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![id, t.seconds, measured as i64]))
            .map_err(&e)?;
        }
        tx.commit().map_err(&e)
    }
}

/// A series' latency and then service time at p50, p90, p95, p99 and max, µs, as the per-tick
/// columns hold them (`NULL` for an empty histogram).
pub(super) fn five_and_five(s: &crate::metrics::Stats) -> [Option<i64>; 10] {
    let mut out = [None; 10];
    for (h, at) in [(&s.latency, 0), (&s.service, 5)] {
        if h.is_empty() {
            continue;
        }
        for (i, q) in [0.5, 0.9, 0.95, 0.99].into_iter().enumerate() {
            out[at + i] = Some(h.value_at_quantile(q) as i64);
        }
        out[at + 4] = Some(h.max() as i64);
    }
    out
}

/// Inserts one tick: its gauges, and for each series its figures (zeros included, so a second
/// without a response is a row, not a gap) and, when it had requests, its histograms.
/// Returns the requests it holds.
pub(super) fn insert_tick(conn: &rusqlite::Connection, id: i64, t: &Tick) -> rusqlite::Result<u64> {
    let total = TickSummary::of(t);
    let opt = |v: u64| (v > 0).then_some(v as i64);
    let (l, sv) = (total.latency_us, total.service_us);
    conn.prepare_cached(
        "INSERT INTO ticks (run_id, tick, t_end, seconds, warmup, target, in_flight, not_started, requests, errors,
             p50_us, p90_us, p95_us, p99_us, max_us, s_p50_us, s_p90_us, s_p95_us, s_p99_us, s_max_us, error_kinds, drain)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
    )?
    .execute(params![
        id,
        t.index,
        t.end,
        t.seconds,
        t.warmup,
        t.target,
        t.in_flight as i64,
        t.not_started as i64,
        total.requests as i64,
        total.errors as i64,
        opt(l[0]),
        opt(l[1]),
        opt(l[2]),
        opt(l[3]),
        opt(l[4]),
        opt(sv[0]),
        opt(sv[1]),
        opt(sv[2]),
        opt(sv[3]),
        opt(sv[4]),
        encode_counts(total.error_kinds.iter().cloned()),
        t.drain,
    ])?;
    let mut measured = 0u64;
    for (series, s) in t.stats.iter().enumerate() {
        measured += s.requests;
        let [l50, l90, l95, l99, lmax, s50, s90, s95, s99, smax] = five_and_five(s);
        conn.prepare_cached(
            "INSERT INTO tick_series (run_id, tick, series, requests, errors, bytes_in, bytes_out, late,
                p50_us, p90_us, p95_us, p99_us, max_us, s_p50_us, s_p90_us, s_p95_us, s_p99_us, s_max_us,
                status, error_kinds, retries, new_conns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
        )?
        .execute(params![
            id,
            t.index,
            series as i64,
            s.requests as i64,
            s.errors as i64,
            s.bytes_in as i64,
            s.bytes_out as i64,
            s.late as i64,
            l50,
            l90,
            l95,
            l99,
            lmax,
            s50,
            s90,
            s95,
            s99,
            smax,
            s.status_text(),
            s.error_kinds_text(),
            s.retries as i64,
            s.phases.new_conns as i64,
        ])?;
        if s.requests == 0 && s.latency.is_empty() {
            continue;
        }
        conn.prepare_cached(
            "INSERT INTO tick_histograms (run_id, tick, series, latency, service, failed, phases)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            id,
            t.index,
            series as i64,
            encode_histogram(&s.latency),
            encode_histogram(&s.service),
            (!s.failed.is_empty()).then(|| encode_histogram(&s.failed)),
            s.phases.encode(),
        ])?;
    }
    super::exemplars::insert(conn, id, t)?;
    super::journeys::insert(conn, id, t)?;
    Ok(measured)
}
