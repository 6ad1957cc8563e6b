//! Hostile input through the real command line: files that lie about their sizes, times no
//! clock can hold, devices posing as files, bytes that are not text, outputs that would
//! overwrite, and the signal a CI runner sends. Each gets a clear error and leaves what is stored
//! as it was; none panics, hangs or eats memory.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn lb(db: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loadbench"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const QUICK: &str = r#"name = "quick"
duration = "1s"
[targets]
api = "demo"
[load]
model = "open"
rate = 50
[[requests]]
name = "echo"
path = "/v1/echo"
"#;

/// A stored run's export, to be tampered with.
fn exported(dir: &std::path::Path, db: &std::path::Path) -> serde_json::Value {
    let s = dir.join("quick.toml");
    std::fs::write(&s, QUICK).expect("write");
    let o = lb(db, &["run", s.to_str().expect("path"), "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = dir.join("run.json");
    let o = lb(
        db,
        &["runs", "export", "1", "-o", out.to_str().expect("path")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("json")
}

fn import(db: &std::path::Path, dir: &std::path::Path, doc: &serde_json::Value) -> Output {
    let f = dir.join("tampered.json");
    std::fs::write(&f, doc.to_string()).expect("write");
    lb(db, &["runs", "import", f.to_str().expect("path")])
}

#[test]
fn tampered_exports_are_refused_and_stored_oddities_never_break_a_reader() {
    let _g = common::serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    let good = exported(dir.path(), &db);
    let mut cases: Vec<(&str, serde_json::Value, &str)> = Vec::new();
    let mut year_10000 = good.clone();
    year_10000["uuid"] = "00000000-0000-4000-8000-0000000000a1".into();
    year_10000["started_at_ms"] = 253_402_300_800_000i64.into();
    cases.push((
        "a start in the year 10000",
        year_10000,
        "between 1970 and 9999",
    ));
    let mut huge_seconds = good.clone();
    huge_seconds["uuid"] = "00000000-0000-4000-8000-0000000000a2".into();
    huge_seconds["ticks"][0]["seconds"] = 1e308.into();
    cases.push(("a tick of 1e308 seconds", huge_seconds, "not a finite"));
    let mut gap = good.clone();
    gap["uuid"] = "00000000-0000-4000-8000-0000000000a3".into();
    gap["ticks"][0]["index"] = 7.into();
    cases.push(("a gap in the ticks", gap, "without gaps"));
    let mut more_errors = good.clone();
    more_errors["uuid"] = "00000000-0000-4000-8000-0000000000a4".into();
    more_errors["ticks"][0]["series"][0]["errors"] = 1_000_000.into();
    cases.push(("more errors than requests", more_errors, "more than the"));
    // A histogram whose header claims a 2 GB payload, in a file of a few kilobytes.
    let mut claim = vec![0x1c, 0x84, 0x93, 0x14, 0x7f, 0xff, 0xff, 0xff];
    claim.extend_from_slice(&[0u8; 64]);
    let mut big = good.clone();
    big["uuid"] = "00000000-0000-4000-8000-0000000000a5".into();
    big["ticks"][0]["series"][0]["latency"] = base64_of(&claim).into();
    cases.push(("a histogram claiming 2 GB", big, "claims more bytes"));
    let mut far = good.clone();
    far["uuid"] = "00000000-0000-4000-8000-0000000000a6".into();
    far["monitor"] = serde_json::json!({
        "series": [{"name": "queue", "points": [[1e12, 1.0]]}],
        "failures": [],
    });
    cases.push(("a monitor point long after the run", far, "outside the run"));
    for (what, doc, says) in cases {
        let started = Instant::now();
        let o = import(&db, dir.path(), &doc);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{what}: {out}");
        assert!(out.contains(says), "{what}: {out}");
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
    }
    let o = lb(&db, &["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "nothing was stored");
    // Stored data is input too: odd values written straight into the database (as an older
    // build's import let in) are shown, not panicked on.
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute_batch(
        "UPDATE runs SET started_at_ms = 253402300800000, ended_at_ms = 9223372036854775807 WHERE id = 1;
         UPDATE ticks SET seconds = 1e308, t_end = 1e308 WHERE run_id = 1 AND tick = 1;",
    )
    .expect("tamper");
    drop(conn);
    for args in [
        &["runs"][..],
        &["runs", "--json"],
        &["runs", "show", "1"],
        &["report", "1", "--format", "hlog"],
        &["report", "1", "--format", "csv"],
        &["report", "1", "--format", "json"],
    ] {
        let o = lb(&db, args);
        let out = text(&o);
        assert!(!out.contains("panicked"), "{args:?}: {out}");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {out}");
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn devices_fifos_and_bytes_that_are_not_text_are_refused_at_their_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    let with_data = |file: &str| {
        format!(
            "{}\n[data]\nfile = \"{file}\"\n",
            QUICK.replace("path = \"/v1/echo\"", "path = \"/v1/echo/${data.id}\"")
        )
    };
    let s = dir.path().join("s.toml");
    // /dev/zero never ends; a FIFO waits for a writer that never comes.
    let fifo = dir.path().join("rows.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    let mut files = vec!["/dev/zero".to_string()];
    if made.is_ok_and(|s| s.success()) {
        files.push(fifo.display().to_string());
    }
    for f in files {
        std::fs::write(&s, with_data(&f)).expect("write");
        let started = Instant::now();
        let o = lb(&db, &["validate", s.to_str().expect("path")]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{f}: {out}");
        assert!(
            out.contains("not a regular file") && out.contains(":13:8:"),
            "{f}: {out}"
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{f} hung");
    }
    // Latin-1 bytes where UTF-8 belongs: the line and byte are named.
    let mut bytes = QUICK.as_bytes().to_vec();
    let at = QUICK.find("quick").expect("name");
    bytes.splice(at..at + 1, [0xe9]);
    std::fs::write(&s, bytes).expect("write");
    let o = lb(&db, &["validate", s.to_str().expect("path")]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains(":1:") && out.contains("not UTF-8") && out.contains("0xe9"),
        "{out}"
    );
}

#[test]
fn outputs_are_never_overwritten_or_written_through_a_link_without_force() {
    let _g = common::serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    let _ = exported(dir.path(), &db);
    let out = dir.path().join("report.md");
    let o = lb(
        &db,
        &[
            "report",
            "1",
            "--format",
            "md",
            "-o",
            out.to_str().expect("p"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The report and a chart beside it exist now: a second report is refused, and the chart it
    // would have replaced is untouched too.
    let chart = dir.path().join("report-latency.svg");
    std::fs::write(&chart, "mine").expect("write");
    let o = lb(
        &db,
        &[
            "report",
            "1",
            "--format",
            "md",
            "-o",
            out.to_str().expect("p"),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--force"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&chart).expect("chart"), "mine");
    let o = lb(
        &db,
        &[
            "report",
            "1",
            "--format",
            "md",
            "-o",
            out.to_str().expect("p"),
            "--force",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        std::fs::read_to_string(&chart)
            .expect("chart")
            .contains("<svg")
    );
    // Exports likewise, and never through a symbolic link.
    let export = dir.path().join("run.json");
    let o = lb(
        &db,
        &["runs", "export", "1", "-o", export.to_str().expect("p")],
    );
    assert_eq!(o.status.code(), Some(2), "exists already: {}", text(&o));
    #[cfg(unix)]
    {
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep").expect("write");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let o = lb(
            &db,
            &[
                "runs",
                "export",
                "1",
                "-o",
                link.to_str().expect("p"),
                "--force",
            ],
        );
        assert_ne!(o.status.code(), Some(0), "{}", text(&o));
        assert!(text(&o).contains("symbolic link"), "{}", text(&o));
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep");
    }
}

#[test]
fn odd_curl_methods_and_header_names_are_errors_not_bugs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    for (line, says) in [
        (
            "curl -X 'GET THIS' http://127.0.0.1:1/x",
            "is not an HTTP method",
        ),
        (
            "curl -H 'Bad Name: 1' http://127.0.0.1:1/x",
            "is not a valid header name",
        ),
        (
            "curl -H $'x-ok: a\\x01b' http://127.0.0.1:1/x",
            "characters HTTP does not allow",
        ),
    ] {
        let o = lb(&db, &["import", "curl", line]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{line}: {out}");
        assert!(
            out.contains(says) && !out.contains("a bug"),
            "{line}: {out}"
        );
    }
}

#[cfg(unix)]
#[test]
fn sigterm_stops_a_run_like_ctrl_c_and_keeps_what_was_measured() {
    let _g = common::serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    let s = dir.path().join("long.toml");
    std::fs::write(&s, QUICK.replace("duration = \"1s\"", "duration = \"60s\"")).expect("write");
    let child = Command::new(env!("CARGO_BIN_EXE_loadbench"))
        .arg("--db")
        .arg(&db)
        .args(["run", s.to_str().expect("path"), "-q"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_secs(2));
    let started = Instant::now();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let o = child.wait_with_output().expect("waits");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped within seconds"
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(130), "{out}");
    assert!(out.contains("stopping (SIGTERM)"), "{out}");
    assert!(
        out.contains("latency (corrected)"),
        "the summary is printed: {out}"
    );
    let o = lb(&db, &["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(runs[0]["status"], "stopped", "{runs}");
}

#[test]
fn reading_commands_neither_write_nor_wait_for_a_writer() {
    let _g = common::serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    let s = dir.path().join("quick.toml");
    std::fs::write(&s, QUICK).expect("write");
    for _ in 0..2 {
        let o = lb(&db, &["run", s.to_str().expect("path"), "-q"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    let before = std::fs::read(&db).expect("db");
    let export = dir.path().join("e.json");
    // Another process holds the write lock (a writer mid-transaction): readers that only read
    // are not held up by it, as a reader that began with a write would be for its busy timeout.
    let writer = rusqlite::Connection::open(&db).expect("open");
    writer.execute_batch("BEGIN IMMEDIATE").expect("lock");
    for args in [
        &["runs"][..],
        &["runs", "--json"],
        &["runs", "show", "1"],
        &["runs", "export", "1", "-o", export.to_str().expect("p")],
        &["report", "2", "--format", "json"],
        &["compare", "1", "2"],
    ] {
        let started = Instant::now();
        let o = lb(&db, args);
        assert!(
            o.status.code().is_some_and(|c| c == 0 || c == 4),
            "{args:?}: {}",
            text(&o)
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{args:?} waited for the write lock"
        );
        assert!(
            std::fs::read(&db).expect("db") == before,
            "{args:?} changed the database"
        );
    }
    writer.execute_batch("ROLLBACK").expect("unlock");
}
