//! The `loadbench` binary as a user runs it: progress, summary, JSON, exit codes, Ctrl-C, demo.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::serial;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_loadbench"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    // Runs are stored; keep them out of the user's own database.
    let db = std::env::temp_dir().join(format!("loadbench-cli-test-{}.db", std::process::id()));
    c.env("LOADBENCH_DB", db);
    c
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn quickstart_runs_and_prints_json_with_a_schema() {
    let _g = serial();
    let (code, out, err) = run(&[
        "run",
        "scenarios/quickstart.toml",
        "--duration",
        "2s",
        "--warmup",
        "0s",
        "--json",
        "--progress-interval",
        "1s",
    ]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("stdout is JSON");
    assert_eq!(v["schema"], "loadbench.summary/1");
    assert_eq!(v["status"], "completed");
    assert_eq!(v["endpoints"].as_array().map(Vec::len), Some(2));
    let count = v["total"]["count"].as_u64().expect("count");
    assert!((380..=420).contains(&count), "200/s for 2 s sent {count}");
    assert!(
        v["total"]["latency"]["p99_ms"]
            .as_f64()
            .is_some_and(|p| p > 0.0)
    );
    assert_eq!(v["thresholds_passed"], true);
    assert_eq!(v["thresholds"].as_array().map(Vec::len), Some(4));
    let progress: Vec<&str> = err.lines().filter(|l| l.starts_with('[')).collect();
    assert!(progress.len() >= 2, "a progress line each second:\n{err}");
    assert!(
        progress[0].contains("target 200/s") && progress[0].contains("p95"),
        "{}",
        progress[0]
    );
}

#[test]
fn summary_table_has_every_figure() {
    let _g = serial();
    let (code, out, err) = run(&[
        "run",
        "scenarios/quickstart.toml",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "-q",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    for needle in [
        "count",
        "rate",
        "errors",
        "min",
        "mean",
        "p50",
        "p90",
        "p95",
        "p99",
        "p99.9",
        "max",
        "TOTAL",
        "status 200×",
        "✓ pass",
        "service time",
    ] {
        assert!(out.contains(needle), "summary lacks {needle}:\n{out}");
    }
    // --quiet prints no progress; the one line it keeps is the verdict the run ends with.
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("PASS: run #") && lines[0].ends_with(": all 4 thresholds held"),
        "{err}"
    );
}

#[test]
fn a_failed_threshold_exits_1() {
    let _g = serial();
    let (code, out, _) = run(&[
        "run",
        "scenarios/quickstart.toml",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "-q",
        "--threshold",
        "p50 < 1us",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("✗ FAIL p50 < 1us"), "{out}");
}

#[test]
fn invalid_scenarios_and_flags_exit_2_with_the_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\nduration = \"5s\"\n[targets]\napi = \"demo\"\n[load]\nmodel = \"open\"\nrate = \"fast\"\n[[requests]]\nname = \"a\"\npath = \"/\"\n").expect("write");
    let (code, _, err) = run(&["run", bad.to_str().expect("path")]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:7:8:"), "{err}");
    let (code, _, err) = run(&["run", "scenarios/quickstart.toml", "--rate", "abc"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["run", "scenarios/quickstart.toml", "--vus", "3"]);
    assert_eq!(code, 2);
    assert!(err.contains("--vus applies to the closed model"), "{err}");
    let (code, _, err) = run(&[
        "run",
        "scenarios/quickstart.toml",
        "--target",
        "nope=http://127.0.0.1:1",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no target named `nope`"), "{err}");
    let (code, _, err) = run(&["run", "scenarios/quickstart.toml", "--threshold", "p95 <"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["run", "does/not/exist.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn ctrl_c_stops_within_a_second_and_keeps_the_results() {
    let _g = serial();
    let mut child = bin()
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--duration",
            "30s",
            "--warmup",
            "0s",
            "--json",
            "--progress-interval",
            "1s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut ticks = 0;
    for line in lines.by_ref() {
        if line.expect("line").starts_with('[') {
            ticks += 1;
            if ticks == 2 {
                break;
            }
        }
    }
    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    std::thread::spawn(move || for _ in lines {});
    let out = child.wait_with_output().expect("wait");
    let took = signalled.elapsed();
    assert!(took < Duration::from_millis(1500), "stopping took {took:?}");
    assert_eq!(out.status.code(), Some(130));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("a JSON summary of what was measured");
    assert_eq!(v["status"], "stopped");
    assert!(
        v["total"]["count"].as_u64().is_some_and(|c| c >= 350),
        "{}",
        v["total"]
    );
    // Its thresholds held over 2 of 30 s: the run list says partial, not pass.
    let id = v["run_id"].as_i64().expect("stored");
    let (_, list, _) = run(&["runs", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&list).expect("list");
    let row = list
        .as_array()
        .and_then(|l| l.iter().find(|r| r["id"].as_i64() == Some(id)).cloned())
        .expect("listed");
    assert_eq!(row["verdict"], "partial", "{row}");
}

#[test]
fn demo_subcommand_serves_and_a_run_can_target_it() {
    let _g = serial();
    let demo = common::DemoProcess::start(&["--delay", "5ms"]);
    let url = demo.url.clone();
    let target = format!("demo={url}");
    let (code, out, err) = run(&[
        "run",
        "scenarios/quickstart.toml",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--json",
        "--target",
        &target,
    ]);
    drop(demo);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains(&url), "runs against the given URL: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(
        v["total"]["latency"]["p50_ms"]
            .as_f64()
            .is_some_and(|p| p >= 5.0),
        "the 5 ms delay shows: {}",
        v["total"]["latency"]
    );
}

#[test]
fn validate_reports_ok_for_every_sample() {
    for entry in
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios")).expect("scenarios/")
    {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let (code, out, err) = run(&["validate", path.to_str().expect("path")]);
            assert_eq!(code, 0, "{}: {err}", path.display());
            assert!(out.contains(": ok"), "{out}");
        }
    }
}

#[test]
fn a_har_recording_imports_into_a_scenario_that_runs_against_the_demo() {
    let _g = serial();
    let demo = common::DemoProcess::start(&[]);
    let url = demo.url.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let entry = |method: &str, u: &str, body: Option<&str>, status: u16| {
        serde_json::json!({
            "request": {
                "method": method, "url": u,
                "headers": [
                    {"name": "Authorization", "value": "Bearer secret-123"},
                    {"name": "Content-Type", "value": "application/json"},
                    {"name": "Content-Length", "value": "12"}
                ],
                "postData": body.map(|b| serde_json::json!({"mimeType": "application/json", "text": b}))
            },
            "response": {"status": status}
        })
    };
    let har = serde_json::json!({"log": {"version": "1.2", "entries": [
        entry("GET", &format!("{url}/v1/echo"), None, 200),
        entry("GET", &format!("{url}/v1/echo"), None, 200),
        entry("GET", &format!("{url}/v1/echo"), None, 200),
        entry("POST", &format!("{url}/v1/events"), Some("{\"kind\":\"view\"}"), 202),
        entry("GET", "https://analytics.example.com/collect", None, 200),
    ]}});
    let har_file = dir.path().join("session.har");
    std::fs::write(&har_file, har.to_string()).expect("write har");
    let toml = dir.path().join("imported.toml");
    let import = [
        "import",
        "-o",
        toml.to_str().expect("path"),
        "har",
        har_file.to_str().expect("path"),
    ];
    let (code, _, err) = run(&import);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("set AUTHORIZATION") && err.contains("analytics.example.com"),
        "{err}"
    );
    let text = std::fs::read_to_string(&toml).expect("written");
    assert!(!text.contains("secret-123"), "{text}");
    // Importing again over the file is refused and leaves it as it was.
    let (code, _, err) = run(&import);
    assert_eq!(code, 2, "{err}");
    assert_eq!(std::fs::read_to_string(&toml).expect("still there"), text);
    // The imported scenario runs as written: echo weighted 3, events 1, recorded statuses checked.
    let out = bin()
        .args([
            "run",
            toml.to_str().expect("path"),
            "--duration",
            "2s",
            "--warmup",
            "0s",
            "--rate",
            "200",
            "--json",
            "-q",
        ])
        .env("AUTHORIZATION", "Bearer from-the-environment")
        .output()
        .expect("runs");
    drop(demo);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let count = |name: &str| {
        v["endpoints"]
            .as_array()
            .and_then(|e| e.iter().find(|e| e["request"] == name))
            .and_then(|e| e["count"].as_u64())
            .unwrap_or(0)
    };
    let (echo, events) = (count("GET /v1/echo"), count("POST /v1/events"));
    assert_eq!(echo + events, 400, "200/s for 2 s: {stdout}");
    // Weights 3:1 pick events with probability 1/4: 100 expected, sd 8.7; 4 sd either side.
    assert!(
        (65..=135).contains(&events),
        "weights 3:1 → {echo} echo, {events} events"
    );
    assert_eq!(v["total"]["errors"], 0, "{stdout}");
}

#[test]
fn a_curl_command_imports_from_the_words_the_shell_split() {
    let (code, out, err) = run(&[
        "import",
        "curl",
        "curl",
        "http://127.0.0.1:8080/v1/tokens/count",
        "-H",
        "x-api-key: key-42",
        "--json",
        "{\"text\": \"it's ${not} a variable\"}",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("x-api-key = \"${env.X_API_KEY}\""), "{out}");
    assert!(!out.contains("key-42"), "{out}");
    assert!(out.contains("it's $${not} a variable"), "{out}");
    assert!(out.contains("method = \"POST\""), "{out}");
    let (code, _, err) = run(&["import", "curl", "curl http://127.0.0.1/ --frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.contains("--frobnicate"), "{err}");
}

#[test]
fn capacity_search_finds_the_rate_a_four_slot_20ms_service_sustains() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cap.toml");
    std::fs::write(&file, common::CAPACITY_PROBE).expect("write");
    let f = file.to_str().expect("path");
    let db = dir.path().join("cap.db");
    let out = bin()
        .env("LOADBENCH_DB", &db)
        .args([
            "capacity",
            f,
            "--start",
            "50",
            "--step",
            "2s",
            "--precision",
            "25",
            "--cooldown",
            "1s",
            "--json",
        ])
        .output()
        .expect("runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(v["schema"], "loadbench.capacity/1");
    let capacity = v["capacity"].as_f64().expect("a rate held");
    let failed_at = v["failed_at"].as_f64().expect("a rate failed");
    assert!(
        (100.0..=250.0).contains(&capacity) && failed_at > capacity,
        "about 200/s: held {capacity}, failed {failed_at}\n{stdout}"
    );
    assert!(failed_at - capacity <= capacity * 0.25 + 1.0, "{stdout}");
    let steps = v["steps"].as_array().expect("steps");
    assert!(
        steps
            .iter()
            .any(|s| s["held"] == false && s["failed"].as_array().is_some_and(|f| !f.is_empty()))
    );
    // Each step's concurrency by Little's law: about rate × 20 ms below the limit.
    let first = &steps[0];
    let n = first["concurrency"].as_f64().expect("concurrency");
    let expect = first["achieved"].as_f64().expect("achieved") * 0.02;
    assert!((n / expect - 1.0).abs() < 0.3, "{n} vs {expect}");
    // The scalability law fitted to the steps, or why not (fewer than 4 distinct levels).
    match v["usl"].as_object() {
        Some(u) => {
            assert!(u["sigma"].as_f64().is_some_and(|x| x >= 0.0), "{stdout}");
            assert!(u["kappa"].as_f64().is_some_and(|x| x >= 0.0), "{stdout}");
            assert_eq!(u["points"].as_u64(), Some(steps.len() as u64));
            assert!(v["usl_note"].is_null());
        }
        None => assert!(
            v["usl_note"]
                .as_str()
                .is_some_and(|n| n.contains("distinct concurrency level")),
            "{stdout}"
        ),
    }
    // Every step is a stored run, tagged for finding it later.
    let (code, list, _) = run(&[
        "--db",
        db.to_str().expect("db"),
        "runs",
        "--tag",
        "capacity",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        list.matches("Capacity probe @").count(),
        steps.len(),
        "{list}"
    );
    // A closed-model scenario has no arrival rate to search; one without thresholds no goal.
    let rest = "[targets]\napi = \"demo\"\n[[requests]]\nname = \"r\"\npath = \"/\"\n";
    for (head, says) in [
        (
            "thresholds = [\"p99 < 1s\"]\n[load]\nmodel = \"closed\"\nvus = 1\n",
            "open-model",
        ),
        ("[load]\nmodel = \"open\"\nrate = 5\n", "no thresholds"),
    ] {
        let bad = dir.path().join("bad.toml");
        std::fs::write(
            &bad,
            format!("name = \"b\"\nduration = \"1s\"\n{head}{rest}"),
        )
        .expect("write");
        let (code, _, err) = run(&["capacity", bad.to_str().expect("path")]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn statsd_gets_each_seconds_figures_tagged_by_request_and_a_bad_address_is_refused() {
    let _g = serial();
    let agent = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    agent
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    let addr = agent.local_addr().expect("addr").to_string();
    let (code, _, err) = run(&[
        "run",
        "scenarios/quickstart.toml",
        "--duration",
        "3s",
        "--warmup",
        "1s",
        "--no-store",
        "-q",
        "--statsd",
        &addr,
    ]);
    assert_eq!(code, 0, "{err}");
    let mut got = String::new();
    let mut packets = 0;
    let mut buf = [0u8; 65_536];
    while let Ok(n) = agent.recv(&mut buf) {
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
        got.push('\n');
        packets += 1;
        if got.matches("loadbench.in_flight:").count() >= 3 {
            break;
        }
    }
    // Three seconds, the first of them warm-up: each with every series and the total.
    assert!(
        got.matches("loadbench.in_flight:").count() >= 3,
        "{packets} packets:\n{got}"
    );
    for want in [
        "phase:warmup",
        "phase:measured",
        "|g|#scenario:Quick_start,phase:measured,request:echo,target:demo",
        "loadbench.latency.p95:",
        "request:all,target:all",
    ] {
        assert!(got.contains(want), "{want} in:\n{got}");
    }
    let (code, _, err) = run(&[
        "run",
        "scenarios/quickstart.toml",
        "--no-store",
        "--statsd",
        "127.0.0.1",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--statsd 127.0.0.1"), "{err}");
}

#[test]
fn metrics_listen_serves_the_running_seconds_as_a_prometheus_page() {
    let _g = serial();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = bin()
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--duration",
            "4s",
            "--warmup",
            "1s",
            "--no-store",
            "-q",
            "--metrics-listen",
            &addr,
        ])
        .spawn()
        .expect("starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(6);
    let mut page = String::new();
    while std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let Ok(sock) = addr.parse::<std::net::SocketAddr>() else {
            break;
        };
        if std::net::TcpStream::connect(sock).is_err() {
            continue;
        }
        let (_, body) = common::http_get(sock, "/metrics");
        if body.contains("phase=\"measured\"") {
            page = body;
            break;
        }
    }
    let status = child.wait().expect("ends");
    assert!(status.success());
    for want in [
        "# TYPE loadbench_rate gauge",
        "loadbench_rate{scenario=\"Quick start\",request=\"echo\",target=\"demo\",phase=\"measured\"}",
        "loadbench_latency_seconds{",
        "quantile=\"0.95\"",
        "# TYPE loadbench_requests_total counter",
        "loadbench_requests_total{scenario=\"Quick start\",request=\"ingest\",target=\"demo\"}",
    ] {
        assert!(page.contains(want), "{want} in:\n{page}");
    }
    // A port that is taken is refused before anything is sent.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy = taken.local_addr().expect("addr").to_string();
    let (code, _, err) = run(&[
        "run",
        "scenarios/quickstart.toml",
        "--no-store",
        "--metrics-listen",
        &busy,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--metrics-listen"), "{err}");
}

#[test]
fn a_monitor_reads_the_demos_metrics_beside_the_load_and_a_dead_endpoint_is_only_a_gap() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("dir");
    let dead = common::closed_port();
    let me = std::process::id();
    let path = dir.path().join("monitored.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"monitored\"\nduration = \"4s\"\nwarmup = \"0s\"\n[targets]\napi = \"demo\"\n\
             [load]\nmodel = \"open\"\nrate = 100\n[[requests]]\nname = \"echo\"\npath = \"/v1/echo\"\n\
             [monitor]\nprometheus = [\"api\", \"http://127.0.0.1:{dead}/metrics\"]\n\
             metrics = [\"demo_requests_total\", \"demo_queue_depth\"]\nprocesses = [{me}]\n"
        ),
    )
    .expect("write");
    let (code, out, err) = run(&["run", path.to_str().expect("utf-8"), "--json"]);
    assert_eq!(
        code, 0,
        "a dead metrics endpoint never stops the run: {err}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let m = &v["monitor"];
    let series = |name: &str| {
        m["series"]
            .as_array()
            .expect("series")
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {m}"))
            .clone()
    };
    // The demo's own count of requests, as a rate: the scheduled 100/s seen from the server.
    let handled = series("api demo_requests_total /s");
    let mean = handled["mean"].as_f64().expect("mean");
    assert!((85.0..=115.0).contains(&mean), "{handled}");
    assert_eq!(series("api demo_queue_depth")["max"], 0.0);
    assert!(
        series(&format!("process pid {me} rss MB"))["min"]
            .as_f64()
            .expect("rss")
            > 1.0
    );
    let readings = m["readings"].as_u64().expect("readings");
    assert!(readings >= 3, "{m}");
    assert_eq!(
        m["failures"][format!("127.0.0.1:{dead}")].as_u64(),
        Some(readings),
        "{m}"
    );
    // Stored point by point: the run's JSON report has them, and the failed reads with why.
    let (code, report, err) = run(&["report", "latest", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&report).expect("json");
    let points = r["monitor"]["series"]
        .as_array()
        .expect("series")
        .iter()
        .find(|s| s["name"] == "api demo_requests_total /s")
        .map(|s| s["points"].as_array().expect("points").len())
        .unwrap_or(0);
    assert!(points >= 2, "{}", r["monitor"]);
    assert_eq!(r["monitor"]["failures"][0]["why"], "cannot connect");
    // The Markdown report: the server-side table, a chart per series, the gap named.
    let md = dir.path().join("r.md");
    let (code, _, err) = run(&[
        "report",
        "latest",
        "--format",
        "md",
        "-o",
        md.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&md).expect("md");
    assert!(text.contains("## Server side"), "{text}");
    assert!(text.contains("| api demo_requests_total /s |"), "{text}");
    assert!(
        text.contains(&format!("127.0.0.1:{dead} could not be read")),
        "{text}"
    );
    let chart =
        std::fs::read_to_string(dir.path().join("r-monitor-1.svg")).expect("a monitor chart");
    assert!(chart.starts_with("<svg"), "{chart}");
    // Exported and imported elsewhere, the monitor comes along, point for point.
    let export = dir.path().join("run.json");
    let (code, _, err) = run(&[
        "runs",
        "export",
        "latest",
        "-o",
        export.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    let other = dir.path().join("other.db");
    let out = bin()
        .env("LOADBENCH_DB", &other)
        .args(["runs", "import", export.to_str().expect("utf-8")])
        .output()
        .expect("import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin()
        .env("LOADBENCH_DB", &other)
        .args(["report", "latest", "--format", "json"])
        .output()
        .expect("report");
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(again["monitor"], r["monitor"]);
    assert_eq!(again["summary"]["monitor"], r["summary"]["monitor"]);
}

#[test]
fn an_open_staged_ramp_reports_its_levels_with_concurrency_by_littles_law() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("ramp.toml");
    std::fs::write(
        &path,
        "name = \"open ramp\"\nwarmup = \"0s\"\n[targets]\napi = \"demo\"\n[load]\nmodel = \"open\"\n\
         start = 50\nstages = [{ duration = \"3s\", target = 50 }, { duration = \"1s\", target = 200 }, \
         { duration = \"3s\", target = 200 }]\n[[requests]]\nname = \"echo\"\npath = \"/v1/echo\"\n\
         query = { delay_ms = \"10\" }\n",
    )
    .expect("write");
    let (code, _, err) = run(&["run", path.to_str().expect("utf-8"), "-q"]);
    assert_eq!(code, 0, "{err}");
    let md = dir.path().join("r.md");
    let (code, _, err) = run(&[
        "report",
        "latest",
        "--format",
        "md",
        "-o",
        md.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&md).expect("md");
    let table: Vec<Vec<String>> = text
        .lines()
        .skip_while(|l| !l.starts_with("| offered rate"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.split('|')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(table.len(), 2, "{text}");
    assert_eq!(
        (table[0][0].as_str(), table[1][0].as_str()),
        ("50/s", "200/s")
    );
    // In flight = rate × mean latency (≥ 10 ms): about 0.5, then about 2.
    let n: Vec<f64> = table
        .iter()
        .map(|r| r[1].parse().expect("a number"))
        .collect();
    assert!(n[0] >= 0.5 && n[1] >= 2.0, "{n:?}");
    assert!(
        (2.5..6.0).contains(&(n[1] / n[0])),
        "four times the rate, about four times in flight: {n:?}"
    );
    assert!(
        text.contains("USL not fitted"),
        "two levels are too few to fit: {text}"
    );
}
