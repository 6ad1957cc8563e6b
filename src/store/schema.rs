//! The database schema as an ordered list of migrations; `PRAGMA user_version` counts those applied.

/// Marks a SQLite file as a loadbench database (`PRAGMA application_id`, "LBnc").
pub const APPLICATION_ID: i32 = 0x4C42_6E63;

/// Each entry moves the schema from version i to i + 1, inside one transaction.
pub const MIGRATIONS: &[&str] = &[
    // 1: runs, ticks, per-series tick figures, tick histograms, tags, benchmark sets.
    r#"
CREATE TABLE runs (
    -- Small columns the run list reads come first; SQLite reads a row's columns in order, and the
    -- large texts at the end may spill into overflow pages the list then never touches.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    scenario TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'stopped', 'interrupted', 'failed')),
    started_at_ms INTEGER NOT NULL,
    ended_at_ms INTEGER,
    duration_s REAL NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    rate REAL,
    p95_ms REAL,
    error_rate REAL,
    thresholds_passed INTEGER,
    model TEXT NOT NULL,
    version TEXT NOT NULL,
    scenario_path TEXT,
    notes TEXT NOT NULL DEFAULT '',
    host_json TEXT NOT NULL,
    targets_json TEXT NOT NULL,
    info_json TEXT NOT NULL,
    summary_json TEXT,
    scenario_text TEXT NOT NULL
);
CREATE INDEX runs_by_start ON runs (started_at_ms DESC, id DESC);
CREATE INDEX runs_by_scenario ON runs (scenario, started_at_ms DESC);
CREATE INDEX runs_running ON runs (status) WHERE status = 'running';

CREATE TABLE run_tags (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (run_id, tag)
) WITHOUT ROWID;
CREATE INDEX run_tags_by_tag ON run_tags (tag, run_id);

-- One row per tick (second): the run-level gauges and totals.
CREATE TABLE ticks (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    tick INTEGER NOT NULL,
    t_end REAL NOT NULL,
    seconds REAL NOT NULL,
    warmup INTEGER NOT NULL,
    target REAL NOT NULL,
    in_flight INTEGER NOT NULL,
    not_started INTEGER NOT NULL,
    -- Totals over every series, so whole-run charts need no histogram.
    requests INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    p50_us INTEGER, p90_us INTEGER, p95_us INTEGER, p99_us INTEGER, max_us INTEGER,
    s_p50_us INTEGER, s_p90_us INTEGER, s_p95_us INTEGER, s_p99_us INTEGER, s_max_us INTEGER,
    error_kinds TEXT,
    PRIMARY KEY (run_id, tick)
) WITHOUT ROWID;

-- One row per tick per series (request name × target): what charts draw. Empty series are omitted.
CREATE TABLE tick_series (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    tick INTEGER NOT NULL,
    series INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    bytes_in INTEGER NOT NULL,
    bytes_out INTEGER NOT NULL,
    late INTEGER NOT NULL,
    p50_us INTEGER, p90_us INTEGER, p95_us INTEGER, p99_us INTEGER, max_us INTEGER,
    s_p50_us INTEGER, s_p90_us INTEGER, s_p95_us INTEGER, s_p99_us INTEGER, s_max_us INTEGER,
    status TEXT,
    error_kinds TEXT,
    PRIMARY KEY (run_id, tick, series)
) WITHOUT ROWID;

-- The interval histograms themselves (HdrHistogram V2 + deflate), kept apart so loading charts
-- never reads them; any percentile of any window is recomputed exactly from these.
CREATE TABLE tick_histograms (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    tick INTEGER NOT NULL,
    series INTEGER NOT NULL,
    latency BLOB NOT NULL,
    service BLOB NOT NULL
);
CREATE UNIQUE INDEX tick_histograms_key ON tick_histograms (run_id, tick, series);

CREATE TABLE benchmark_sets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL DEFAULT '',
    published TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE benchmark_figures (
    set_id INTEGER NOT NULL REFERENCES benchmark_sets (id) ON DELETE CASCADE,
    endpoint TEXT NOT NULL,
    rate REAL, p50_ms REAL, p90_ms REAL, p95_ms REAL, p99_ms REAL, max_ms REAL, error_rate REAL,
    PRIMARY KEY (set_id, endpoint)
) WITHOUT ROWID;
"#,
    // 2: the baseline of each scenario, for comparisons and the CI gate.
    r#"
ALTER TABLE runs ADD COLUMN baseline INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_baseline ON runs (scenario) WHERE baseline = 1;
"#,
    // 3: retries per series, and the latency of failed requests (NULL when none failed), so
    // success-only percentiles can be recomputed for any window. Series rows with no request are
    // now stored too, so an outage second is a row of zeros rather than a gap.
    r#"
ALTER TABLE tick_series ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tick_histograms ADD COLUMN failed BLOB;
"#,
    // 4: what a benchmark set's latency measures (corrected or service time), and request counts.
    r#"
ALTER TABLE benchmark_sets ADD COLUMN latency TEXT NOT NULL DEFAULT 'corrected' CHECK (latency IN ('corrected', 'service'));
ALTER TABLE benchmark_figures ADD COLUMN count INTEGER;
"#,
    // 5: notes pinned to a time of a run (a deploy, a failover), shown on its charts and reports.
    r#"
CREATE TABLE annotations (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    at_s REAL NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX annotations_run ON annotations (run_id, at_s);
"#,
    // 6: the server side sampled beside a run (`[monitor]`): each second's values, and the reads
    // that failed (gaps, with why).
    r#"
CREATE TABLE monitor_points (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    at_s REAL NOT NULL,
    value REAL NOT NULL
);
CREATE INDEX monitor_points_run ON monitor_points (run_id, name, at_s);
CREATE TABLE monitor_failures (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    at_s REAL NOT NULL,
    source TEXT NOT NULL,
    why TEXT NOT NULL
);
CREATE INDEX monitor_failures_run ON monitor_failures (run_id, at_s);
"#,
    // 7: where the time went (phase histograms per tick and series, connections opened) and the
    // requests behind the figures (each second's slowest and first failing, with what explains them).
    r#"
ALTER TABLE tick_series ADD COLUMN new_conns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tick_histograms ADD COLUMN phases BLOB;
CREATE TABLE exemplars (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    tick INTEGER NOT NULL,
    series INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('slowest', 'failed')),
    at_ms REAL NOT NULL,
    queued_ms REAL NOT NULL,
    latency_ms REAL NOT NULL,
    status INTEGER,
    error TEXT,
    bytes_in INTEGER NOT NULL,
    new_connection INTEGER NOT NULL,
    phases TEXT NOT NULL,
    headers TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX exemplars_run ON exemplars (run_id, tick, series);
"#,
    // 8: journeys' whole iterations per tick, apart from tick_series so that no total, chart or
    // comparison of requests counts an iteration as one more request.
    r#"
CREATE TABLE tick_journeys (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    tick INTEGER NOT NULL,
    journey INTEGER NOT NULL,
    iterations INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    p50_us INTEGER, p90_us INTEGER, p95_us INTEGER, p99_us INTEGER, max_us INTEGER,
    s_p50_us INTEGER, s_p90_us INTEGER, s_p95_us INTEGER, s_p99_us INTEGER, s_max_us INTEGER,
    status TEXT,
    error_kinds TEXT,
    latency BLOB NOT NULL,
    service BLOB NOT NULL,
    failed BLOB,
    PRIMARY KEY (run_id, tick, journey)
) WITHOUT ROWID;
"#,
    // 9: how long the last tick's drain took, so its per-second rate divides by the time its
    // responses really arrived over (0 for runs stored before, as they were charted).
    r#"
ALTER TABLE ticks ADD COLUMN drain REAL NOT NULL DEFAULT 0;
"#,
];
