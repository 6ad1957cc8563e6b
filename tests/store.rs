//! The run store on a real SQLite file: round trips, crash safety, migrations, export/import,
//! and readers alongside the writer.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{recorded_run, serial};
use loadbench::metrics::{Accumulator, Summary};
use loadbench::store::{NewRun, Recorder, RunFilter, Store, StoreError};

const SCENARIO: &str = r#"
name = "stored"
duration = "3s"
warmup = "1s"
thresholds = ["p99 < 1s", "error_rate < 50%"]
[targets]
demo = "demo"
[load]
model = "open"
rate = 300
[[requests]]
name = "echo"
path = "/v1/echo"
weight = 3
[[requests]]
name = "flaky"
path = "/v1/flaky"
thresholds = ["p95 < 500ms"]
"#;

#[test]
fn a_stored_run_reads_back_figure_for_figure() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    let (id, live) = recorded_run(&db, SCENARIO, |_, _| {});
    let store = Store::open(&db).expect("opens");
    let run = store.run(id).expect("run");
    assert_eq!(run.row.status, loadbench::metrics::RunStatus::Completed);
    assert_eq!(
        run.summary.as_ref(),
        Some(&live),
        "the stored summary is the live one"
    );
    assert_eq!(run.row.requests as u64, live.total.count);
    assert_eq!(run.row.thresholds_passed, Some(live.thresholds_passed));
    assert!(run.scenario_text.contains("name = \"stored\""));
    // Recompute everything from the stored ticks and histograms alone.
    let ticks = store.ticks(id).expect("ticks");
    assert!(ticks.len() >= 3);
    let mut acc = Accumulator::new(run.info.keys.len());
    for t in &ticks {
        acc.add(t);
    }
    let started =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(run.row.started_at_ms as u64);
    let rebuilt = Summary::build(
        &run.info,
        &acc,
        loadbench::metrics::RunStatus::Completed,
        started,
    );
    assert_eq!(
        rebuilt.endpoints, live.endpoints,
        "per-endpoint figures from stored histograms"
    );
    assert_eq!(rebuilt.total, live.total);
    assert_eq!(rebuilt.thresholds, live.thresholds);
    assert_eq!(rebuilt.duration_s, live.duration_s);
    // The totals read straight from the stored bytes (counts added without building each
    // tick's histograms) are the ticks' totals, phases and exemplars included.
    let direct = Summary::build(
        &run.info,
        &store.totals(id).expect("totals"),
        loadbench::metrics::RunStatus::Completed,
        started,
    );
    assert_eq!(direct, rebuilt, "totals from the stored bytes");
    // A window counts its warm-up seconds too, exactly as the ticks merged by hand.
    let last = ticks.last().map_or(0, |t| t.index);
    let mut by_hand = Accumulator::new(run.info.keys.len());
    for t in &ticks {
        let mut t = t.clone();
        t.warmup = false;
        by_hand.add(&t);
    }
    let whole = store.window(id, 0, last).expect("window");
    let build = |a: &Accumulator| {
        Summary::build(
            &run.info,
            a,
            loadbench::metrics::RunStatus::Completed,
            started,
        )
    };
    assert_eq!(build(&whole), build(&by_hand), "a window with its warm-up");
    assert!(ticks.iter().any(|t| t.warmup), "the scenario has a warm-up");
    // A window of the run recomputes from the stored histograms too.
    let window = store.window(id, 2, 2).expect("window");
    let tick2 = ticks.iter().find(|t| t.index == 2).expect("tick 2");
    assert_eq!(window.total().requests, tick2.total().requests);
    assert_eq!(
        window.total().latency.value_at_quantile(0.99),
        tick2.total().latency.value_at_quantile(0.99)
    );
    // Chart series agree with the ticks.
    let series = store.series(id, run.info.keys.len()).expect("series");
    assert_eq!(series.ticks.len(), ticks.len());
    let echo_total: u64 = series.series[0].iter().map(|p| p.requests).sum();
    let echo_ticks: u64 = ticks.iter().map(|t| t.stats[0].requests).sum();
    assert_eq!(echo_total, echo_ticks);
}

#[test]
fn a_run_without_thresholds_lists_no_verdict_even_when_every_request_failed() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    let (id, live) = recorded_run(
        &db,
        r#"
name = "no thresholds"
duration = "1s"
[targets]
demo = "demo"
[load]
model = "open"
rate = 50
[[requests]]
name = "missing"
path = "/no/such/path"
"#,
        |_, _| {},
    );
    assert!(
        live.total.count > 0 && live.total.errors == live.total.count,
        "every request failed"
    );
    let store = Store::open(&db).expect("opens");
    assert_eq!(
        store.run(id).expect("run").row.thresholds_passed,
        None,
        "not a pass"
    );
}

#[test]
fn kill_9_mid_run_leaves_an_interrupted_run_with_its_ticks() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("crash.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_loadbench"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "--db",
            db.to_str().expect("path"),
            "run",
            "scenarios/quickstart.toml",
            "--duration",
            "30s",
            "--warmup",
            "0s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut progress = 0;
    for line in lines.by_ref() {
        if line.expect("line").starts_with('[') {
            progress += 1;
            if progress == 3 {
                break;
            }
        }
    }
    let status = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let _ = child.wait();
    let store = Store::open(&db).expect("reopens");
    let runs = store.list_runs(&RunFilter::default()).expect("list");
    assert_eq!(runs.len(), 1);
    let run = store.run(runs[0].id).expect("run");
    assert_eq!(run.row.status, loadbench::metrics::RunStatus::Interrupted);
    let ticks = store.ticks(run.row.id).expect("ticks");
    assert!(ticks.len() >= 2, "{} ticks kept", ticks.len());
    let summary = run
        .summary
        .expect("a summary rebuilt from the stored ticks");
    assert_eq!(summary.status, loadbench::metrics::RunStatus::Interrupted);
    assert!(summary.duration_s >= 2.0, "{} s", summary.duration_s);
    assert!(summary.total.count >= 350, "{}", summary.total.count);
    // It reads like any other run.
    let out = Command::new(env!("CARGO_BIN_EXE_loadbench"))
        .args([
            "--db",
            db.to_str().expect("path"),
            "runs",
            "show",
            &run.row.id.to_string(),
        ])
        .output()
        .expect("show");
    assert!(String::from_utf8_lossy(&out.stdout).contains("open model, interrupted"));
}

#[test]
fn a_database_from_a_newer_version_is_refused_and_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("future.db");
    drop(Store::open(&db).expect("create"));
    {
        let conn = rusqlite::Connection::open(&db).expect("raw open");
        conn.execute_batch("PRAGMA user_version = 99; PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")
            .expect("bump version");
    }
    let before = std::fs::read(&db).expect("read");
    match Store::open(&db) {
        Err(StoreError::TooNew { found, .. }) => assert_eq!(found, 99),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a newer database must be refused"),
    }
    let out = Command::new(env!("CARGO_BIN_EXE_loadbench"))
        .args(["--db", db.to_str().expect("path"), "runs"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("newer loadbench") && err.contains("schema version 99"),
        "{err}"
    );
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read(&db).expect("read"),
        before,
        "the file's bytes are unchanged"
    );
}

#[test]
fn a_non_sqlite_or_foreign_file_is_reported_not_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.db");
    std::fs::write(
        &junk,
        b"this is not a database, it is a shopping list\n".repeat(100),
    )
    .expect("write");
    let before = std::fs::read(&junk).expect("read");
    let err = Store::open(&junk).err().expect("refused");
    assert!(
        err.to_string().contains("not a loadbench database"),
        "{err}"
    );
    assert_eq!(std::fs::read(&junk).expect("read"), before);

    let foreign = dir.path().join("other-app.db");
    rusqlite::Connection::open(&foreign)
        .expect("open")
        .execute_batch("CREATE TABLE contacts (name TEXT);")
        .expect("create");
    let before = std::fs::read(&foreign).expect("read");
    let err = Store::open(&foreign).err().expect("refused");
    assert!(err.to_string().contains("another application"), "{err}");
    assert_eq!(std::fs::read(&foreign).expect("read"), before);
}

#[test]
fn export_then_import_is_lossless_and_bad_files_store_nothing() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.db");
    let (id, _) = recorded_run(&a, SCENARIO, |_, _| {});
    let store_a = Store::open(&a).expect("a");
    store_a
        .tag(id, &["baseline".into(), "ci".into()])
        .expect("tag");
    store_a
        .set_notes(id, "before the cache change")
        .expect("note");
    let note = |at_s: f64, text: &str| loadbench::store::Annotation {
        at_s,
        text: text.into(),
    };
    store_a
        .annotate(id, &note(2.5, "deploy v2.3"))
        .expect("annotate");
    // A note after the run's end, without text or at a negative time is refused.
    for wrong in [note(60.0, "late"), note(1.0, "  "), note(-1.0, "before")] {
        assert!(store_a.annotate(id, &wrong).is_err(), "{wrong:?}");
    }
    let exported = store_a.export_run(id).expect("export");
    assert_eq!(exported.annotations, vec![note(2.5, "deploy v2.3")]);
    let text = serde_json::to_string(&exported).expect("json");

    let b = dir.path().join("b.db");
    let store_b = Store::open(&b).expect("b");
    let doc = serde_json::from_str(&text).expect("parse");
    let new_id = store_b.import_run(&doc).expect("import");
    let again = store_b.export_run(new_id).expect("export again");
    assert_eq!(
        again, exported,
        "export → import → export is identical, histograms included"
    );
    assert!(
        store_b.import_run(&doc).is_err(),
        "importing the same run twice is refused"
    );

    // Damaged documents: every one refused, nothing stored.
    let mut bad = exported.clone();
    bad.uuid = "other".into();
    bad.ticks[1].series[0].latency = "not base64!".into();
    assert!(
        store_b
            .import_run(&bad)
            .unwrap_err()
            .to_string()
            .contains("not base64")
    );
    let mut bad2 = exported.clone();
    bad2.uuid = "other-2".into();
    bad2.ticks[1].series[0].series = 99;
    assert!(store_b.import_run(&bad2).is_err());
    let mut bad3 = exported.clone();
    bad3.schema = "loadbench.run/999".into();
    assert!(store_b.import_run(&bad3).is_err());
    // Annotations are input too: a NaN time, or thousands of them, store nothing.
    let mut bad4 = exported.clone();
    bad4.uuid = "other-4".into();
    bad4.annotations = vec![note(f64::NAN, "nan")];
    assert!(store_b.import_run(&bad4).is_err());
    let mut bad5 = exported.clone();
    bad5.uuid = "other-5".into();
    bad5.annotations = vec![note(1.0, "many"); 5000];
    assert!(store_b.import_run(&bad5).is_err());
    assert_eq!(
        store_b
            .list_runs(&RunFilter::default())
            .expect("list")
            .len(),
        1
    );

    // Files go a tick at a time, both ways: the streamed export is the document, and a file
    // read twice (header, then ticks) stores the same run, whatever order its fields come in.
    let mut streamed = Vec::new();
    let n = store_a
        .write_export(id, &mut streamed)
        .expect("write_export");
    assert_eq!(n as usize, exported.ticks.len());
    let parsed: loadbench::store::RunExport =
        serde_json::from_slice(&streamed).expect("the streamed export parses");
    assert_eq!(parsed, exported);
    let c = dir.path().join("c.db");
    let store_c = Store::open(&c).expect("c");
    let mut value: serde_json::Value = serde_json::from_slice(&streamed).expect("json");
    let ticks = value["ticks"].take();
    let mut reordered = serde_json::Map::new();
    reordered.insert("ticks".into(), ticks);
    for (k, v) in value.as_object().expect("object") {
        if k != "ticks" {
            reordered.insert(k.clone(), v.clone());
        }
    }
    let file = dir.path().join("reordered.json");
    std::fs::write(
        &file,
        serde_json::to_string_pretty(&reordered).expect("json"),
    )
    .expect("write");
    let (cid, before) = store_c.import_export_file(&file).expect("import the file");
    assert!(!before);
    assert_eq!(store_c.export_run(cid).expect("export"), exported);
    assert_eq!(
        store_c.import_export_file(&file).expect("again"),
        (cid, true)
    );
    // A tick that does not read, half way through the file: its place named, nothing stored.
    let d = dir.path().join("d.db");
    let store_d = Store::open(&d).expect("d");
    let mut broken = value.clone();
    broken["uuid"] = "broken".into();
    let mut bad_ticks = exported
        .ticks
        .iter()
        .map(|t| serde_json::to_value(t).expect("tick"))
        .collect::<Vec<_>>();
    bad_ticks[2]["series"][0]["requests"] = "many".into();
    broken["ticks"] = bad_ticks.into();
    let file = dir.path().join("broken.json");
    std::fs::write(&file, serde_json::to_string_pretty(&broken).expect("json")).expect("write");
    let e = store_d
        .import_export_file(&file)
        .expect_err("refused")
        .to_string();
    assert!(
        e.contains("broken.json:") && e.contains("invalid type"),
        "{e}"
    );
    assert!(
        store_d
            .list_runs(&RunFilter::default())
            .expect("list")
            .is_empty()
    );
}

#[test]
fn readers_see_consistent_data_while_a_run_is_written() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("live.db");
    let stop = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let reader = {
        let db = db.clone();
        let stop = stop.clone();
        let checks = checks.clone();
        std::thread::spawn(move || {
            // Wait for the database to exist, then read in snapshots while the writer commits.
            while !db.exists() && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let conn = rusqlite::Connection::open_with_flags(
                &db,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .expect("reader opens");
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .expect("timeout");
            while !stop.load(Ordering::Relaxed) {
                let tx = conn.unchecked_transaction().expect("read transaction");
                let rows: Vec<(i64, f64, i64)> = tx
                    .prepare("SELECT id, duration_s, requests FROM runs")
                    .and_then(|mut s| {
                        s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                            .collect()
                    })
                    .unwrap_or_default();
                for (id, duration, requests) in rows {
                    let (secs, reqs): (f64, i64) = tx
                        .query_row(
                            "SELECT coalesce(sum(seconds), 0), (SELECT coalesce(sum(s.requests), 0) FROM tick_series s JOIN ticks t
                               ON t.run_id = s.run_id AND t.tick = s.tick WHERE s.run_id = ?1 AND t.warmup = 0)
                             FROM ticks WHERE run_id = ?1 AND warmup = 0",
                            [id],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .expect("tick sums");
                    let (n, min, max): (i64, i64, i64) = tx
                        .query_row(
                            "SELECT count(*), coalesce(min(tick), 1), coalesce(max(tick), 0)
                             FROM ticks WHERE run_id = ?1",
                            [id],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                        )
                        .expect("tick numbers");
                    let hists: i64 = tx
                        .query_row(
                            "SELECT count(*) FROM tick_histograms WHERE run_id = ?1",
                            [id],
                            |r| r.get(0),
                        )
                        .expect("histograms");
                    let series: i64 = tx
                        .query_row(
                            "SELECT count(*) FROM tick_series WHERE run_id = ?1",
                            [id],
                            |r| r.get(0),
                        )
                        .expect("series");
                    assert!(
                        (secs - duration).abs() < 1e-6,
                        "run row says {duration} s, ticks hold {secs} s"
                    );
                    assert_eq!(reqs, requests, "run row and tick rows agree on requests");
                    assert_eq!(hists, series, "every series row has its histograms");
                    assert_eq!(
                        (min, max),
                        (1, n),
                        "a snapshot holds ticks 1..={n} without a gap"
                    );
                    if n > 0 {
                        checks.fetch_add(1, Ordering::Relaxed);
                    }
                }
                drop(tx);
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
    };
    let listed = std::sync::atomic::AtomicU64::new(0);
    recorded_run(&db, SCENARIO, |store, id| {
        // The GUI's kind of reads, between ticks, from another connection.
        let rows = store
            .list_runs(&RunFilter::default())
            .expect("list while writing");
        assert!(
            rows.iter()
                .any(|r| r.id == id && r.status == loadbench::metrics::RunStatus::Running)
        );
        store.series(id, 2).expect("series while writing");
        listed.fetch_add(1, Ordering::Relaxed);
    });
    stop.store(true, Ordering::Relaxed);
    reader.join().expect("reader thread passed its checks");
    assert!(
        checks.load(Ordering::Relaxed) > 10,
        "the reader checked {} snapshots holding ticks",
        checks.load(Ordering::Relaxed)
    );
    assert!(listed.load(Ordering::Relaxed) >= 3);
}

#[test]
fn cli_lists_filters_tags_notes_and_deletes_with_confirmation() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("cli.db");
    let dbs = db.to_str().expect("path");
    let lb = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_loadbench"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("--db")
            .arg(dbs)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("wait");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, live, _) = lb(
        &[
            "run",
            "scenarios/quickstart.toml",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "-q",
            "--tag",
            "nightly",
        ],
        "",
    );
    assert_eq!(code, 0);
    let (code, _, _) = lb(
        &[
            "run",
            "scenarios/quickstart.toml",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "-q",
            "--no-store",
        ],
        "",
    );
    assert_eq!(code, 0);
    let (_, shown, _) = lb(&["runs", "show", "1"], "");
    assert_eq!(
        shown, live,
        "show prints the summary exactly as the live run did"
    );
    let (_, json, _) = lb(&["runs", "--json"], "");
    let list: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "--no-store stored nothing"
    );
    for field in [
        "id",
        "scenario",
        "status",
        "started_at",
        "rate",
        "p95_ms",
        "error_rate",
    ] {
        assert!(list[0].get(field).is_some(), "missing {field}");
    }
    let (_, shown_json, _) = lb(&["runs", "show", "1", "--json"], "");
    let v: serde_json::Value = serde_json::from_str(&shown_json).expect("json");
    assert_eq!(v["schema"], "loadbench.summary/1");
    lb(&["runs", "note", "1", "baseline before tuning"], "");
    lb(&["runs", "tag", "1", "keep"], "");
    let (_, tagged, _) = lb(&["runs", "--tag", "keep"], "");
    assert!(
        tagged.contains("keep,nightly") || tagged.contains("nightly,keep"),
        "{tagged}"
    );
    let (_, none, _) = lb(&["runs", "--status", "failed"], "");
    assert!(none.contains("no runs"), "{none}");
    let (_, recent, _) = lb(&["runs", "--since", "1h"], "");
    assert!(recent.contains("#1"), "{recent}");
    let (code, _, err) = lb(&["runs", "delete", "1"], "n\n");
    assert_eq!(code, 0);
    assert!(err.contains("kept run #1"), "{err}");
    let (code, _, err) = lb(&["runs", "delete", "1"], "y\n");
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = lb(&["runs", "show", "1"], "");
    assert_eq!(code, 2);
    assert!(err.contains("there is no run #1"), "{err}");
}

#[test]
fn shards_merge_into_one_run_with_every_request_and_exact_percentiles() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    // Two shards of one scenario, as two machines would run them (here one after the other).
    let (a, sa) = recorded_run(&db, SCENARIO, |_, _| {});
    let (b, sb) = recorded_run(&db, SCENARIO, |_, _| {});
    let store = Store::open(&db).expect("open");
    // A shard that started a minute later lines up with no tick: refused unless forced.
    let mut late = store.export_run(b).expect("export");
    late.uuid = "00000000-0000-4000-8000-00000000000b".into();
    late.started_at_ms += 60_000;
    late.ended_at_ms = late.ended_at_ms.map(|e| e + 60_000);
    let late = store.import_run(&late).expect("import");
    let e = store.merge_runs(&[a, late], false).expect_err("apart");
    assert!(
        matches!(e, StoreError::Invalid(ref m) if m.contains("s apart") && m.contains("--force")),
        "{e}"
    );
    let e = store.merge_runs(&[a, a], true).expect_err("twice");
    assert!(
        matches!(e, StoreError::Invalid(ref m) if m.contains("named twice")),
        "{e}"
    );
    let merged = store.merge_runs(&[a, b], true).expect("merges");
    let run = store.run(merged).expect("stored");
    let m = run.summary.expect("summary");
    assert_eq!(m.total.count, sa.total.count + sb.total.count);
    assert_eq!(m.total.errors, sa.total.errors + sb.total.errors);
    assert!((m.total.rate - (sa.total.rate + sb.total.rate)).abs() < sa.total.rate * 0.05);
    // A percentile of the union lies between the shards' percentiles, and equals the percentile
    // of their histograms merged (not an average).
    let (lo, hi) = (
        sa.total.latency.p99_ms.min(sb.total.latency.p99_ms),
        sa.total.latency.p99_ms.max(sb.total.latency.p99_ms),
    );
    assert!(
        (lo..=hi).contains(&m.total.latency.p99_ms),
        "{lo}..{hi}: {}",
        m.total.latency.p99_ms
    );
    let mut union = store.window(a, 0, u32::MAX).expect("a").total().latency;
    let b_hist = store.window(b, 0, u32::MAX).expect("b").total().latency;
    union.add(&b_hist).expect("adds");
    let whole = store
        .window(merged, 0, u32::MAX)
        .expect("merged")
        .total()
        .latency;
    assert_eq!(whole.len(), union.len());
    assert_eq!(whole.value_at_quantile(0.99), union.value_at_quantile(0.99));
    assert!(run.row.tags.contains(&"merged".to_string()));
    // Its report names each shard's machine.
    let report = loadbench::report::Report::load(&store, merged).expect("report");
    let (bytes, _) = loadbench::report::Format::Markdown
        .exporter()
        .render(&report, "merged");
    let md = String::from_utf8(bytes).expect("utf-8");
    assert!(
        md.contains(&format!("| shard run #{a} |")) && md.contains(&format!("| shard run #{b} |")),
        "{md}"
    );
    // The shards are untouched; runs of another scenario, or one run alone, are refused.
    assert_eq!(
        store.run(a).expect("a").summary.expect("s").total.count,
        sa.total.count
    );
    let (other, _) = recorded_run(
        &db,
        &SCENARIO.replace("name = \"stored\"", "name = \"other\""),
        |_, _| {},
    );
    let e = store
        .merge_runs(&[a, other], true)
        .expect_err("different scenarios");
    assert!(
        matches!(e, StoreError::Invalid(ref m) if m.contains("one scenario")),
        "{e}"
    );
    let (edited, _) = recorded_run(&db, &format!("# edited\n{SCENARIO}"), |_, _| {});
    let e = store
        .merge_runs(&[a, edited], true)
        .expect_err("different text");
    assert!(
        matches!(e, StoreError::Invalid(ref m) if m.contains("different scenario text")),
        "{e}"
    );
    assert!(store.merge_runs(&[a], true).is_err());
}

#[test]
fn a_disk_that_falls_behind_gets_coarser_seconds_not_unbounded_memory_or_lost_requests() {
    use loadbench::metrics::{Key, RunInfo, Stats, Tick};
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("slow.db");
    let info = RunInfo {
        shard: None,
        proxies: Vec::new(),
        journeys: Vec::new(),
        scenario: "slow disk".into(),
        model: loadbench::scenario::Model::Open,
        max_vus: None,
        keys: vec![Key {
            request: "r".into(),
            target: "t".into(),
        }],
        thresholds: vec![],
    };
    let recorder = Recorder::start(
        &db,
        NewRun {
            name: "slow disk".into(),
            scenario_text: "name = \"slow disk\"".into(),
            scenario_path: None,
            info: info.clone(),
            targets: vec![],
            started_at: std::time::SystemTime::now(),
        },
    )
    .expect("recorder");
    // Another process holds the write lock: the writer waits, and ticks pile up behind it.
    let blocker = rusqlite::Connection::open(&db).expect("open");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let mut acc = Accumulator::new(1);
    for i in 1..=1000u32 {
        let mut s = Stats::default();
        for j in 0..10u64 {
            s.record_response(200, 1000 + j, 900, None);
        }
        let t = Tick {
            index: i,
            end: f64::from(i),
            seconds: 1.0,
            drain: 0.0,
            warmup: false,
            target: 10.0,
            in_flight: 1,
            not_started: 0,
            stats: vec![s],
            journeys: Vec::new(),
        };
        acc.add(&t);
        recorder.tick(Arc::new(t));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    blocker.execute_batch("ROLLBACK").expect("unlock");
    let summary = Summary::build(
        &info,
        &acc,
        loadbench::metrics::RunStatus::Completed,
        std::time::SystemTime::now(),
    );
    let id = recorder
        .finish(loadbench::metrics::RunStatus::Completed, &summary)
        .expect("stored");
    let store = Store::open(&db).expect("open");
    let ticks = store.ticks(id).expect("ticks");
    assert!(
        ticks.len() <= 125,
        "at most the queue's worth of ticks were held: {}",
        ticks.len()
    );
    for (n, t) in ticks.iter().enumerate() {
        assert_eq!(t.index as usize, n + 1, "numbered without gaps");
    }
    let requests: u64 = ticks.iter().map(|t| t.total().requests).sum();
    assert_eq!(requests, 10_000, "no request lost");
    assert_eq!(ticks.last().map(|t| t.end), Some(1000.0));
    let seconds: f64 = ticks.iter().map(|t| t.seconds).sum();
    assert!((seconds - 1000.0).abs() < 1e-6);
    let run = store.run(id).expect("run");
    assert!(run.notes.contains("the disk fell behind"), "{}", run.notes);
    // Work nobody wants any more (a closed window) stops at its next minute of ticks.
    let mut reader = Store::open(&db).expect("open");
    let flag = Arc::new(AtomicBool::new(false));
    reader.cancel_when(flag.clone());
    assert_eq!(reader.totals(id).expect("totals").total().requests, 10_000);
    flag.store(true, Ordering::Relaxed);
    assert!(matches!(reader.totals(id), Err(StoreError::Cancelled)));
}
