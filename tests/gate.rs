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

/// A one-thread HTTP server on loopback that answers 200 (closing each connection) and keeps
/// every request head it saw.
fn recording_server() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = vec![0u8; 8192];
            let mut head = Vec::new();
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            seen.lock()
                .expect("lock")
                .push(String::from_utf8_lossy(&head).into_owned());
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    (port, heads)
}

#[test]
fn url_credentials_are_sent_as_basic_auth_and_never_shown() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    let (port, heads) = recording_server();
    let s = write(
        dir.path(),
        "creds.toml",
        &format!(
            r#"
name = "creds"
duration = "1s"
[targets]
api = "http://ci:s3cr%40t@127.0.0.1:{port}"
other = "http://${{env.LB_TEST_USER}}:${{env.LB_TEST_PASS}}@127.0.0.1:{port}/x"
[load]
model = "open"
rate = 40                           # both targets get requests: the mix is drawn at random
[[requests]]
name = "get"
path = "/"
headers = {{ x-tenant = "${{env.LB_TEST_UNSET_TENANT:-acme}}", x-key = "${{env.LB_TEST_EMPTY}}" }}
"#
        ),
    );
    let md = dir.path().join("r.md");
    let out = bin(&db)
        .args(["run", &s, "--report", &format!("md={}", md.display())])
        .env("LB_TEST_USER", "envuser")
        .env("LB_TEST_PASS", "envpass")
        .env("LB_TEST_EMPTY", "")
        .env_remove("LB_TEST_UNSET_TENANT")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // "ci:s3cr@t" and "envuser:envpass", base64.
    let heads = heads.lock().expect("lock").clone();
    let lower: Vec<String> = heads.iter().map(|h| h.to_ascii_lowercase()).collect();
    assert!(
        lower
            .iter()
            .any(|h| h.contains("authorization: basic y2k6cznjckb0")),
        "{heads:?}"
    );
    assert!(
        heads
            .iter()
            .any(|h| h.contains("Basic ZW52dXNlcjplbnZwYXNz")),
        "{heads:?}"
    );
    assert!(
        lower.iter().all(|h| h.contains("x-tenant: acme")),
        "the default: {heads:?}"
    );
    assert!(
        err.contains("warning: environment variable `LB_TEST_EMPTY` is set but empty"),
        "{err}"
    );
    // Nowhere shown: not in the log, the summary, the report or the stored run.
    let export = dir.path().join("run.json");
    let (code, _, e) = run(
        &db,
        &[
            "runs",
            "export",
            "latest",
            "-o",
            &export.display().to_string(),
        ],
    );
    assert_eq!(code, 0, "{e}");
    let stored = std::fs::read_to_string(&export).expect("export");
    let report = std::fs::read_to_string(&md).expect("report");
    for (what, text) in [
        ("stderr", err.as_ref()),
        ("stdout", stdout.as_ref()),
        ("export", stored.as_str()),
        ("report", report.as_str()),
    ] {
        assert!(
            !text.contains("s3cr") && !text.contains("envpass"),
            "{what} shows a credential:\n{text}"
        );
    }
    assert!(
        stored.contains("[redacted]@127.0.0.1"),
        "which URL is still said"
    );
    // A bad URL's error does not echo its password either.
    let bad = write(
        dir.path(),
        "bad.toml",
        r#"
name = "bad"
duration = "1s"
[targets]
api = "http://ci:hunter2@127.0.0.1:99999"
[load]
model = "open"
rate = 5
[[requests]]
name = "get"
path = "/"
"#,
    );
    let (code, _, err) = run(&db, &["run", &bad]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("out of range") && !err.contains("hunter2"),
        "{err}"
    );
}
