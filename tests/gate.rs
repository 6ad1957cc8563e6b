//! The CI gate as a platform team meets it: a down service fails fast with exit 3, an abort
//! threshold stops a bad run early, and `rate` counts only successful responses.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{closed_port, serial};

fn bin(db: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_loadbench"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env("LOADBENCH_DB", db);
    c
}

fn run(db: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = bin(db).args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write scenario");
    p.display().to_string()
}

#[test]
fn a_down_service_stops_within_seconds_and_exits_3() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    let port = closed_port();
    let s = write(
        dir.path(),
        "down.toml",
        &format!(
            r#"
name = "down"
duration = "30s"
thresholds = ["p95 < 200ms", "rate > 90/s"]
[targets]
api = "http://127.0.0.1:{port}"
[load]
model = "open"
rate = 100
[[requests]]
name = "get"
path = "/"
"#
        ),
    );
    let started = Instant::now();
    let (code, out, err) = run(&db, &["run", &s, "--json"]);
    let took = started.elapsed();
    assert_eq!(code, 3, "{err}");
    assert!(
        took < Duration::from_secs(10),
        "took {took:?} of a 30 s run"
    );
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("FAIL: run #")
            && last.contains("unreachable")
            && last.contains("connect_refused"),
        "{last}"
    );
    let j: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(j["status"], "failed");
    assert!(
        j["halted"]
            .as_str()
            .is_some_and(|h| h.contains("unreachable"))
    );
    // Neither a latency objective nor a throughput floor holds on refusals.
    for t in j["thresholds"].as_array().expect("thresholds") {
        assert_eq!(t["passed"], false, "{t}");
    }
    // --no-fail-fast runs the whole (here shortened) schedule and judges thresholds: exit 1.
    let (code, _, err) = run(
        &db,
        &["run", &s, "--duration", "4s", "--no-fail-fast", "--quiet"],
    );
    assert_eq!(code, 1, "{err}");
}

#[test]
fn an_abort_threshold_stops_a_failing_run_after_its_delay() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    let s = write(
        dir.path(),
        "abort.toml",
        r#"
name = "abort"
duration = "30s"
thresholds = ["p95 < 2s", { threshold = "error_rate < 5%", abort = true, after = "2s" }]
[targets]
api = { url = "demo", demo = { flaky_rate = 0.3 } }
[load]
model = "open"
rate = 100
[[requests]]
name = "flaky"
path = "/v1/flaky"
"#,
    );
    let started = Instant::now();
    let (code, out, err) = run(&db, &["run", &s, "--json"]);
    let took = started.elapsed();
    assert_eq!(code, 1, "{err}");
    assert!(
        took < Duration::from_secs(10),
        "took {took:?} of a 30 s run"
    );
    let j: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(
        j["halted"]
            .as_str()
            .is_some_and(|h| h.contains("abort threshold: error_rate < 5%")),
        "{}",
        j["halted"]
    );
    assert!(
        j["duration_s"]
            .as_f64()
            .is_some_and(|d| (2.0..6.0).contains(&d))
    );
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("FAIL: run #") && last.contains("error_rate < 5%"),
        "{last}"
    );
    // A passing abort threshold lets the run finish.
    let pass = write(
        dir.path(),
        "pass.toml",
        r#"
name = "pass"
duration = "3s"
thresholds = [{ threshold = "error_rate < 50%", abort = true }]
[targets]
api = "demo"
[load]
model = "open"
rate = 50
[[requests]]
name = "echo"
path = "/v1/echo"
"#,
    );
    let (code, _, err) = run(&db, &["run", &pass, "--quiet"]);
    assert_eq!(code, 0, "{err}");
    // `after` without `abort` is refused with its place.
    let bad = write(
        dir.path(),
        "bad.toml",
        r#"
name = "bad"
duration = "3s"
thresholds = [{ threshold = "error_rate < 5%", after = "2s" }]
[targets]
api = "demo"
[load]
model = "open"
rate = 50
[[requests]]
name = "echo"
path = "/v1/echo"
"#,
    );
    let (code, _, err) = run(&db, &["run", &bad]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bad.toml:4:") && err.contains("abort = true"),
        "{err}"
    );
}

#[test]
fn rate_counts_successful_responses_only() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    let s = write(
        dir.path(),
        "rate.toml",
        r#"
name = "rate"
duration = "3s"
thresholds = ["rate > 60/s"]
[targets]
api = { url = "demo", demo = { flaky_rate = 0.5 } }
[load]
model = "open"
rate = 100
[[requests]]
name = "flaky"
path = "/v1/flaky"
"#,
    );
    let (code, out, err) = run(&db, &["run", &s, "--json"]);
    assert_eq!(
        code, 1,
        "half of 100/s succeed, so rate > 60/s fails: {err}"
    );
    let j: serde_json::Value = serde_json::from_str(&out).expect("json");
    let actual = j["thresholds"][0]["actual"].as_f64().expect("actual");
    assert!((35.0..65.0).contains(&actual), "rate of successes {actual}");
}

#[test]
fn scripts_get_ids_aliases_idempotent_imports_and_pruning() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    let s = write(
        dir.path(),
        "ids.toml",
        r#"
name = "ids"
duration = "2s"
thresholds = ["error_rate < 1%"]
[targets]
api = "demo"
[load]
model = "open"
rate = 50
[[requests]]
name = "echo"
path = "/v1/echo"
"#,
    );
    // run --json carries the stored id, the comparison and the verdict line.
    let (code, out, err) = run(&db, &["run", &s, "--json", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).expect("json");
    let first = j["run_id"].as_i64().expect("run_id");
    assert!(j["comparison"].is_null());
    assert_eq!(
        j["verdict"].as_str(),
        err.lines().last(),
        "the JSON's verdict is the log's last line"
    );
    let (code, _, err) = run(&db, &["runs", "baseline", "latest"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(
        &db,
        &["run", &s, "--json", "--quiet", "--compare-to", "baseline"],
    );
    assert!(code == 0 || code == 4, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).expect("json");
    let second = j["run_id"].as_i64().expect("run_id");
    assert_eq!(j["comparison"]["baseline"].as_i64(), Some(first));
    assert_eq!(j["comparison"]["candidate"].as_i64(), Some(second));
    // `latest` and `baseline` wherever an id is taken.
    let (code, out, err) = run(&db, &["runs", "show", "latest", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"scenario\": \"ids\""));
    let (code, out, err) = run(
        &db,
        &["report", "baseline", "-f", "json", "--compare", "latest"],
    );
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).expect("report json");
    assert_eq!(r["run"]["id"].as_i64(), Some(first), "{}", r["run"]);
    let (code, _, err) = run(&db, &["runs", "tag", "latest", "baseline"]);
    assert_eq!(code, 2, "a tag named baseline is refused: {err}");
    assert!(err.contains("runs baseline ID"), "{err}");
    // Export the baseline, import it into a fresh database twice: a baseline there too, once.
    let export = dir.path().join("baseline.json");
    let (code, _, err) = run(
        &db,
        &[
            "runs",
            "export",
            "baseline",
            "-o",
            &export.display().to_string(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let other = dir.path().join("other.db");
    let file = export.display().to_string();
    let (code, out1, err) = run(&other, &["runs", "import", &file]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("a baseline of scenario \"ids\""), "{err}");
    let (code, out2, err) = run(&other, &["runs", "import", &file]);
    assert_eq!(code, 0, "a second import of the same run succeeds: {err}");
    assert!(err.contains("already stored as run #"), "{err}");
    assert_eq!(out1, out2, "both print the one run's id");
    let (_, list, _) = run(&other, &["runs", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&list).expect("list");
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["baseline"], true);
    // Prune keeps the newest N per scenario and every baseline.
    let (code, _, err) = run(&db, &["run", &s, "--quiet"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&db, &["runs", "prune", "--keep", "1", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("would delete 1 of 3 runs"), "{err}");
    let (code, _, err) = run(&db, &["runs", "prune", "--keep", "1"]);
    assert_eq!(code, 0, "{err}");
    let (_, list, _) = run(&db, &["runs", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&list).expect("list");
    let ids: Vec<i64> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&first), "the baseline is kept: {ids:?}");
    assert!(!ids.contains(&second), "the middle run went: {ids:?}");
    let (code, _, _) = run(&db, &["runs", "prune"]);
    assert_eq!(code, 2, "prune with no rule is refused");
}

#[test]
fn one_ci_step_runs_gates_and_writes_its_reports() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    let s = write(
        dir.path(),
        "step.toml",
        r#"
name = "step"
duration = "2s"
thresholds = ["p95 < 1ms"]
[targets]
api = { url = "demo", demo = { delay = "5ms" } }
[load]
model = "open"
rate = 50
[[requests]]
name = "echo"
path = "/v1/echo"
"#,
    );
    let md = dir.path().join("docs/performance/step.md");
    let junit = dir.path().join("junit.xml");
    std::fs::create_dir_all(md.parent().expect("dir")).expect("mkdir");
    std::fs::write(&md, "last build's report").expect("old report");
    let md_arg = format!("md={}", md.display());
    let junit_arg = format!("junit={}", junit.display());
    let (code, _, err) = run(
        &db,
        &[
            "run", &s, "--quiet", "--report", &md_arg, "--report", &junit_arg,
        ],
    );
    assert_eq!(code, 1, "p95 < 1ms fails against a 5 ms service: {err}");
    let last = err.lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("FAIL: run #1: p95 < 1ms"), "{last}");
    let text = std::fs::read_to_string(&md).expect("md written");
    assert!(
        text.contains(&format!("**{last}**")),
        "the report leads with the log's last line: {text}"
    );
    assert!(md.with_file_name("step-latency.svg").exists());
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    let doc = roxmltree::Document::parse(&xml).expect("JUnit parses");
    let failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!(failures, 1, "{xml}");
    // A bad --report is refused before anything is sent.
    let started = Instant::now();
    let (code, _, err) = run(&db, &["run", &s, "--report", "pdf=x.pdf"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("pdf"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    let (code, _, err) = run(&db, &["run", &s, "--no-store", "--report", &md_arg]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_ci_log_gets_a_progress_line_per_interval_not_per_second() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    let (code, _, err) = run(
        &db,
        &[
            "run",
            "scenarios/quickstart.toml",
            "--duration",
            "5s",
            "--warmup",
            "0s",
            "--progress-interval",
            "2s",
        ],
    );
    assert_eq!(code, 0, "{err}");
    // stderr is a pipe here, as in CI: the first second, then every 2 s of run time.
    let at: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with('['))
        .filter_map(|l| l.trim_start_matches('[').split('/').next())
        .map(str::trim)
        .collect();
    assert_eq!(at, ["1s", "2s", "4s"], "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("PASS: run #1"),
        "the id and verdict are never hidden: {last}"
    );
}
