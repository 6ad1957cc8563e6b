//! Every run in one SQLite file: written tick by tick as it happens, migrated, safe to read while written.

mod accumulate;
mod annotations;
mod benchmarks;
mod exemplars;
mod export_file;
mod journeys;
mod merge;
mod monitor;
mod query;
mod recorder;
mod schema;
mod transfer;

use crate::metrics::RunStatus;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, params};

use crate::metrics::{RunInfo, Summary};
pub use accumulate::SeriesBuckets;
pub use annotations::Annotation;
pub use merge::SHARD_SPREAD_MS;
pub use monitor::{MonitorData, MonitorFailure, MonitorPoints};
pub use query::{Histograms, RunFilter, RunRow, RunSeries, SeriesPoint, StoredRun};
pub use recorder::{NewRun, Recorder};
pub use schema::{APPLICATION_ID, MIGRATIONS};
pub use transfer::{EXPORT_SCHEMA, RunExport, SeriesExport, Streamed, TickExport};

/// What can go wrong with the database; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file exists but is not a loadbench database (or not SQLite at all).
    #[error(
        "{path}: not a loadbench database ({reason}); it was left untouched — pass --db to use another file"
    )]
    NotOurs {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The database was written by a newer loadbench.
    #[error(
        "{path} was written by a newer loadbench (schema version {found}; this build knows up to {known}); it was left untouched — upgrade loadbench or pass --db to use another file"
    )]
    TooNew {
        /// The file.
        path: String,
        /// Its schema version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// SQLite reported an error.
    #[error("{path}: {source}")]
    Sqlite {
        /// The file.
        path: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No run has this id.
    #[error("there is no run #{0}")]
    NoSuchRun(i64),
    /// An imported file is not a valid run export.
    #[error("{0}")]
    Invalid(String),
    /// Whoever asked for the work no longer wants it.
    #[error("cancelled")]
    Cancelled,
}

/// Results of store operations.
pub type Result<T> = std::result::Result<T, StoreError>;

/// An open database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Set by whoever wanted the work: long walks over ticks stop at the next minute of them.
    cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Store {
    /// The database used when neither `--db` nor `LOADBENCH_DB` is given: the platform's data directory.
    pub fn default_path() -> PathBuf {
        directories::ProjectDirs::from("", "", "loadbench")
            .map(|d| d.data_dir().join("loadbench.db"))
            .unwrap_or_else(|| PathBuf::from("loadbench.db"))
    }

    /// Opens (or creates) the database at `path`: refuses a foreign or newer file without touching it,
    /// migrates an older one in a transaction, and marks runs whose writer died as interrupted.
    pub fn open(path: &Path) -> Result<Store> {
        if path.exists() {
            inspect(path)?;
        } else if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let conn = connect(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
            cancel: None,
        };
        store.migrate()?;
        store.recover_interrupted()?;
        Ok(store)
    }

    /// Opens the database for reading only (listing, showing, reporting, comparing): nothing is
    /// written — no migration, no recovery of interrupted runs, no journal change — so a
    /// read-only file or directory can be read, and a reader never contends with a writer. A
    /// database that does not exist yet, or needs migrating, is opened as [`Store::open`] does.
    pub fn open_read(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Store::open(path);
        }
        inspect(path)?;
        let shown = path.display().to_string();
        let e = |source| StoreError::Sqlite {
            path: shown.clone(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = match Connection::open_with_flags(path, flags) {
            Ok(c) => c,
            // A WAL database in a directory we cannot write: read it as it stands.
            Err(_) => Connection::open_with_flags(
                format!("file:{}?immutable=1", path.display()),
                flags | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(&e)?,
        };
        conn.busy_timeout(Duration::from_secs(10)).map_err(&e)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(&e)?;
        if version < MIGRATIONS.len() as i64 {
            drop(conn);
            return Store::open(path).map_err(|err| match err {
                StoreError::Sqlite { path, source } => StoreError::Invalid(format!(
                    "{path} was written by an older loadbench and must be migrated, which needs \
                     write access: {source}"
                )),
                other => other,
            });
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            cancel: None,
        })
    }

    /// Makes long walks over a run's ticks (comparisons, window totals, merges) stop with
    /// [`StoreError::Cancelled`] once `flag` is set: a window closed, a newer recompute started.
    pub fn cancel_when(&mut self, flag: std::sync::Arc<std::sync::atomic::AtomicBool>) {
        self.cancel = Some(flag);
    }

    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn migrate(&self) -> Result<()> {
        let e = self.err();
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(&e)?;
        let result = (|| {
            let version: i64 = self
                .conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(&e)?;
            let known = MIGRATIONS.len() as i64;
            if version > known {
                return Err(StoreError::TooNew {
                    path: self.path.display().to_string(),
                    found: version,
                    known,
                });
            }
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
                self.conn.execute_batch(sql).map_err(&e)?;
                self.conn
                    .execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                    .map_err(&e)?;
            }
            self.conn
                .execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}"))
                .map_err(&e)?;
            Ok(())
        })();
        match result {
            Ok(()) => self.conn.execute_batch("COMMIT").map_err(&e),
            Err(err) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(err)
            }
        }
    }

    /// Folds the write-ahead log into the main file (so its size is the database's size).
    pub fn checkpoint(&self) -> Result<()> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .map_err(self.err())
    }

    /// Marks runs left `running` by a process that no longer holds their lock as `interrupted`,
    /// with their summary rebuilt from the ticks they stored.
    pub fn recover_interrupted(&self) -> Result<Vec<i64>> {
        let e = self.err();
        let running: Vec<(i64, String)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id, uuid FROM runs WHERE status = 'running'")
                .map_err(&e)?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(&e)?
                .collect::<std::result::Result<_, _>>()
                .map_err(&e)?
        };
        let mut recovered = Vec::new();
        for (id, uuid) in running {
            let lock_path = lock_path(&self.path, &uuid);
            let owner_alive = match std::fs::File::open(&lock_path) {
                Ok(f) => match f.try_lock() {
                    Ok(()) => false,
                    Err(std::fs::TryLockError::WouldBlock) => true,
                    Err(std::fs::TryLockError::Error(_)) => false,
                },
                Err(_) => false,
            };
            if owner_alive {
                continue;
            }
            self.finalize(id, RunStatus::Interrupted)?;
            let _ = std::fs::remove_file(&lock_path);
            recovered.push(id);
        }
        Ok(recovered)
    }

    /// Rebuilds a run's summary from its stored ticks and records its final status.
    /// The stored histograms' counts are added straight into the totals: a crashed day-long
    /// soak opens in bounded memory and without decoding a histogram per tick.
    fn finalize(&self, id: i64, status: RunStatus) -> Result<Summary> {
        let run = self.run(id)?;
        let acc = self.totals(id)?;
        let last_end: f64 = self
            .conn
            .query_row(
                "SELECT COALESCE(MAX(t_end), 0.0) FROM ticks WHERE run_id = ?1",
                rusqlite::params![id],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        let started = crate::format::system_time(run.row.started_at_ms);
        let summary = Summary::build(&run.info, &acc, status, started);
        let end_ms = run
            .row
            .started_at_ms
            .saturating_add((last_end * 1000.0) as i64);
        self.write_final(id, status, end_ms, &summary)?;
        Ok(summary)
    }

    fn write_final(
        &self,
        id: i64,
        status: RunStatus,
        ended_at_ms: i64,
        summary: &Summary,
    ) -> Result<()> {
        let json =
            serde_json::to_string(summary).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.conn
            .execute(
                "UPDATE runs SET status = ?2, ended_at_ms = ?3, duration_s = ?4, summary_json = ?5,
                 thresholds_passed = ?6, requests = ?7, rate = ?8, p95_ms = ?9, error_rate = ?10
                 WHERE id = ?1",
                params![
                    id,
                    status.as_str(),
                    ended_at_ms,
                    summary.duration_s,
                    json,
                    summary.verdict(),
                    summary.total.count as i64,
                    summary.total.rate,
                    // No latency measured: nothing to list (not "0 µs").
                    (summary.total.latency.samples > 0).then_some(summary.total.latency.p95_ms),
                    summary.total.error_rate,
                ],
            )
            .map_err(self.err())?;
        Ok(())
    }
}

/// Checks an existing file read-only, so a foreign or newer database is never modified.
fn inspect(path: &Path) -> Result<()> {
    let shown = path.display().to_string();
    let not_ours = |reason: String| StoreError::NotOurs {
        path: shown.clone(),
        reason,
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| not_ours(e.to_string()))?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| not_ours(e.to_string()))?;
    let app: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| not_ours(e.to_string()))?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(|e| not_ours(e.to_string()))?;
    if app != APPLICATION_ID && tables > 0 {
        return Err(not_ours(
            "it is a SQLite database of another application".into(),
        ));
    }
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            path: shown,
            found: version,
            known,
        });
    }
    Ok(())
}

fn connect(path: &Path, flags: OpenFlags) -> Result<Connection> {
    let shown = path.display().to_string();
    let e = |source| StoreError::Sqlite {
        path: shown.clone(),
        source,
    };
    let conn =
        Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(&e)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(&e)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )
    .map_err(&e)?;
    Ok(conn)
}

/// The lock file a live writer holds for a run; its absence or release means the writer is gone.
fn lock_path(db: &Path, uuid: &str) -> PathBuf {
    let mut dir = db.as_os_str().to_owned();
    dir.push(".locks");
    PathBuf::from(dir).join(format!("run-{uuid}.lock"))
}

/// Milliseconds since the Unix epoch.
pub fn epoch_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The facts about this machine stored with each run.
pub fn host_facts() -> serde_json::Value {
    serde_json::json!({
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "cores": std::thread::available_parallelism().map_or(1, usize::from),
    })
}

/// Loads a run's info from its stored JSON.
fn parse_info(json: &str) -> Result<RunInfo> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Invalid(format!("stored run info is unreadable: {e}")))
}
