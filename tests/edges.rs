//! The edges of a run against real loopback servers: what is in flight at the end, failures in
//! latency, timeouts from the intended start, retries, sparse schedules, zero seconds, HTTP/2 streams.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{http_get, run, scenario, serial};
use loadbench::demo::{DemoConfig, DemoServer};
use loadbench::engine::{self, Event, RunOptions, RunStatus};

fn demo() -> DemoServer {
    DemoServer::start(DemoConfig::default()).expect("demo starts")
}

fn stats(demo: &DemoServer) -> serde_json::Value {
    let (_, body) = http_get(demo.addr, "/admin/stats");
    serde_json::from_str(&body).expect("stats json")
}

#[test]
fn a_stall_in_the_last_seconds_keeps_every_request_and_its_wait() {
    let _g = serial();
    let demo = demo();
    let addr = demo.addr;
    // 100/s for 4 s; the server stalls from 2.5 s to 5.5 s. The 150 requests due from 2.5 s on
    // wait for the stall's end, 1.5 to 3 s each, and finish after the schedule is over.
    let staller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(2500));
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        write!(
            s,
            "POST /admin/stall?ms=3000 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        let mut sink = String::new();
        let _ = s.read_to_string(&mut sink);
    });
    let (o, ticks) = run(scenario(&format!(
        r#"
name = "stall at the end"
duration = "4s"
[targets]
api = "{}"
[load]
model = "open"
rate = 100
[[requests]]
name = "echo"
path = "/v1/echo"
"#,
        demo.url()
    )));
    staller.join().expect("staller");
    let t = &o.summary.total;
    assert_eq!(o.status, RunStatus::Completed);
    assert_eq!(t.count, 400, "every scheduled request is counted: {t:?}");
    assert_eq!(t.errors, 0);
    assert!(
        (1_400.0..=3_300.0).contains(&t.latency.p99_ms),
        "the stall's wait is in p99: {} ms",
        t.latency.p99_ms
    );
    assert_eq!(o.summary.duration_s, 4.0, "the window is the schedule");
    assert!((t.rate - 100.0).abs() < 1e-9, "rate {}", t.rate);
    let last = ticks.last().expect("ticks");
    assert_eq!((last.index, last.end, last.seconds), (4, 4.0, 1.0));
    assert!(
        last.total().requests >= 140,
        "the drained responses belong to the last second: {}",
        last.total().requests
    );
}

#[test]
fn the_last_seconds_rate_spreads_its_drained_responses_over_the_drain() {
    let _g = serial();
    let demo = demo();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    // 50/s for 3 s of 2 s responses: none arrives in the first two seconds, and all 150 in the
    // last second and the 2 s drain after it. Over one second they would chart as 150/s, three
    // times the schedule, where they arrived at 50/s.
    let (id, summary) = common::recorded_run(
        &db,
        &format!(
            r#"
name = "slow to the end"
duration = "3s"
[targets]
api = "{}"
[load]
model = "open"
rate = 50
[[requests]]
name = "slow"
path = "/v1/echo?delay_ms=2000"
"#,
            demo.url()
        ),
        |_, _| {},
    );
    assert_eq!((summary.total.count, summary.total.errors), (150, 0));
    assert_eq!(summary.duration_s, 3.0, "the window is the schedule");
    assert!(
        (summary.total.rate - 50.0).abs() < 1e-9,
        "{}",
        summary.total.rate
    );
    let store = loadbench::store::Store::open(&db).expect("store");
    let ticks = store.tick_summaries(id).expect("ticks");
    let last = ticks.last().expect("ticks");
    assert_eq!((last.index, last.seconds, last.requests), (3, 1.0, 150));
    assert!(
        (1.9..2.6).contains(&last.drain),
        "the drain took the responses' 2 s: {}",
        last.drain
    );
    assert!((40.0..=52.0).contains(&last.rate()), "{}", last.rate());
    for t in &ticks[..2] {
        assert_eq!(t.drain, 0.0, "only the last tick drains");
    }
    // The chart's last point, the JSON report's tick and the CSV row say the same.
    #[cfg(feature = "gui")]
    {
        let mut chart = loadbench::ui::charts::ChartData::new(true);
        ticks.iter().for_each(|t| chart.push(t));
        assert_eq!(chart.rate.last().copied(), Some(last.rate()));
    }
    let report = loadbench::report::Report::load(&store, id).expect("report");
    let json_path = dir.path().join("r.json");
    let csv_path = dir.path().join("r.csv");
    use loadbench::report::{Format, write};
    write(&report, Format::Json, &json_path, false).expect("json");
    write(&report, Format::Csv, &csv_path, false).expect("csv");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("json")).expect("parses");
    let json_last = doc["ticks"]
        .as_array()
        .and_then(|t| t.last())
        .expect("ticks");
    assert_eq!(json_last["drain_s"].as_f64(), Some(last.drain));
    assert_eq!(json_last["rate"].as_f64(), Some(last.rate()));
    assert!(
        doc["ticks"][0].get("drain_s").is_none(),
        "{}",
        doc["ticks"][0]
    );
    let csv = std::fs::read_to_string(&csv_path).expect("csv");
    let row = csv.lines().find(|l| l.starts_with("3,")).expect("last row");
    let csv_rate: f64 = row
        .split(',')
        .nth(8)
        .and_then(|v| v.parse().ok())
        .expect("rate");
    assert!((csv_rate - last.rate()).abs() < 0.06, "{row}");
    // An export carries the drain, and its copy charts the same.
    let mut doc = store.export_run(id).expect("export");
    doc.uuid = format!("{}-copy", doc.uuid);
    let copy = store.import_run(&doc).expect("import");
    let copied = store.tick_summaries(copy).expect("ticks");
    assert_eq!(copied.last().map(|t| t.drain), Some(last.drain));
    // A drain that is not a finite figure in range is refused at its tick.
    let mut bad = store.export_run(id).expect("export");
    bad.uuid = format!("{}-bad", bad.uuid);
    if let Some(t) = bad.ticks.last_mut() {
        t.drain = -1.0;
    }
    let e = store.import_run(&bad).expect_err("refused").to_string();
    assert!(e.contains("tick 3") && e.contains("drain -1"), "{e}");
}

#[test]
fn responses_slower_than_the_drain_are_aborted_at_their_wait_so_far() {
    let _g = serial();
    let demo = demo();
    let text = |drain: &str| {
        format!(
            r#"
name = "slower than the run"
duration = "2s"
{drain}
[targets]
api = "{}"
[load]
model = "open"
rate = 10
[[requests]]
name = "slow"
path = "/v1/echo"
query = {{ delay_ms = 2500 }}
"#,
            demo.url()
        )
    };
    // With the default drain (the timeout, 10 s) every response arrives and counts.
    let started = Instant::now();
    let (o, _) = run(scenario(&text("")));
    let t = &o.summary.total;
    assert_eq!((t.count, t.errors), (20, 0), "{t:?}");
    assert!((t.latency.p50_ms - 2500.0).abs() < 100.0, "{:?}", t.latency);
    assert!(started.elapsed() < Duration::from_secs(6));
    // With a 500 ms drain none arrives in time: each is an `aborted` error at its wait so far
    // (from 0.5 s for the last one sent to 2.5 s for the first), not a vanished request.
    let started = Instant::now();
    let (o, _) = run(scenario(&text("drain = \"500ms\"")));
    let took = started.elapsed();
    let t = &o.summary.total;
    assert_eq!((t.count, t.errors), (20, 20), "{t:?}");
    assert_eq!(t.error_kinds.get("aborted"), Some(&20));
    assert!(
        t.latency.min_ms >= 450.0 && t.latency.max_ms <= 2_700.0,
        "{:?}",
        t.latency
    );
    assert!(t.latency_ok.is_none(), "no response succeeded");
    assert_eq!(o.summary.duration_s, 2.0);
    assert!(took < Duration::from_secs(4), "the run took {took:?}");
    let printed = loadbench::printer::summary(&o.summary);
    assert!(
        printed.contains("20 requests were still unanswered when the run ended"),
        "{printed}"
    );
}

#[test]
fn timeouts_count_from_the_intended_start_and_enter_latency_at_the_timeout() {
    let _g = serial();
    let demo = demo();
    // One connection serving 200 ms requests (5/s) against 20/s scheduled, timeout 500 ms: the
    // queue grows, and a request whose 500 ms run out — waiting or on the wire — is a timeout at
    // about 500 ms of latency. Nothing's latency can exceed the timeout by more than a little.
    let (o, _) = run(scenario(&format!(
        r#"
name = "queue and timeouts"
duration = "3s"
timeout = "500ms"
[targets]
api = "{}"
[load]
model = "open"
rate = 20
max_in_flight = 1
[[requests]]
name = "slow"
path = "/v1/echo"
query = {{ delay_ms = 200 }}
"#,
        demo.url()
    )));
    let t = &o.summary.total;
    let timeouts = t.error_kinds.get("timeout").copied().unwrap_or(0);
    assert!(timeouts >= 30, "{t:?}");
    assert_eq!(t.count + o.summary.not_started, 60, "{t:?}");
    assert!(
        t.latency.max_ms < 600.0,
        "bounded by the timeout from the intended start: {:?}",
        t.latency
    );
    assert!(
        t.latency.p99_ms >= 499.0,
        "timeouts are the slowest outcomes and are in p99: {:?}",
        t.latency
    );
    // Once the queue is older than 300 ms no request has the 200 ms it needs: only the first
    // few succeed, and success-only figures show just those.
    let ok = t.latency_ok.as_ref().expect("some succeeded");
    assert!(ok.samples >= 1 && ok.max_ms < 500.0, "{ok:?}");
    assert!(
        t.service_time.max_ms < 520.0,
        "a queued request gets only what is left of its timeout: {:?}",
        t.service_time
    );
}

/// A server that answers the first request on each connection and, on the second, reads it whole
/// and closes without a word; it counts the requests it read.
fn answers_once_then_hangs_up() -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(AtomicU64::new(0));
    let count = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let count = count.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                for answer in [true, false] {
                    // One request: the head, then its Content-Length body.
                    let end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match s.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < end + len {
                        match s.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..end + len);
                    count.fetch_add(1, Ordering::Relaxed);
                    if answer {
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
                    }
                }
                // Dropping the socket closes it with the second request unanswered.
            });
        }
    });
    (addr, seen)
}

#[test]
fn a_request_the_server_read_and_never_answered_is_an_error_not_a_silent_retry() {
    let _g = serial();
    let run_against = |method: &str, retry: bool| {
        let (addr, seen) = answers_once_then_hangs_up();
        let (o, _) = run(scenario(&format!(
            r#"
name = "hang up"
duration = "1s"
retry_idempotent = {retry}
[targets]
api = "http://{addr}"
[load]
model = "closed"
vus = 1
think_time = "20ms"
[[requests]]
name = "r"
method = "{method}"
path = "/"
body = "payload"
"#
        )));
        (o.summary.total, seen.load(Ordering::Relaxed))
    };
    // POST: every second request on a connection is read and not answered. It must count as an
    // error, and the server must have seen exactly as many requests as the run counts.
    let (t, seen) = run_against("POST", true);
    assert!(t.count >= 10, "{t:?}");
    assert_eq!(t.retries, 0, "a POST is never sent twice");
    assert_eq!(seen, t.count, "no request was sent behind the count's back");
    let resets = t.error_kinds.get("reset").copied().unwrap_or(0);
    assert!(
        resets * 2 + 2 >= t.count && resets * 2 <= t.count + 2,
        "every second request fails: {t:?}"
    );
    // GET without retry_idempotent: the same.
    let (t, seen) = run_against("GET", false);
    assert_eq!((t.retries, seen), (0, t.count), "{t:?}");
    assert!(t.errors * 2 + 2 >= t.count, "{t:?}");
    // GET with retry_idempotent: the unanswered request goes again on a new connection, succeeds,
    // and is counted as a retry; the server saw the retries too.
    let (t, seen) = run_against("GET", true);
    assert_eq!(t.errors, 0, "{t:?}");
    assert!(t.retries * 2 + 2 >= t.count, "{t:?}");
    assert_eq!(seen, t.count + t.retries);
}

#[test]
fn one_request_a_second_over_eight_threads_ticks_every_second_on_time() {
    let _g = serial();
    let demo = demo();
    let s = scenario(&format!(
        r#"
name = "sparse"
duration = "5s"
[engine]
threads = 8
[targets]
api = "{}"
[load]
model = "open"
rate = 1
[[requests]]
name = "echo"
path = "/v1/echo"
"#,
        demo.url()
    ));
    let started = Instant::now();
    let handle = engine::start(s, RunOptions::default()).expect("starts");
    let mut arrivals = Vec::new();
    let outcome = loop {
        match handle.events.recv().expect("events") {
            Event::Tick(t) => arrivals.push((t.index, t.total().requests, started.elapsed())),
            Event::Finished(o) => break o,
        }
    };
    assert_eq!(outcome.summary.total.count, 5);
    assert_eq!(arrivals.len(), 5, "{arrivals:?}");
    for (i, (index, requests, at)) in arrivals.iter().enumerate() {
        assert_eq!(*index, i as u32 + 1);
        assert_eq!(*requests, 1, "one request in each second: {arrivals:?}");
        let due = Duration::from_secs(i as u64 + 1);
        assert!(
            *at >= due && *at < due + Duration::from_millis(600),
            "tick {index} arrived at {at:?}, not about {due:?}: {arrivals:?}"
        );
    }
}

#[test]
fn a_second_without_responses_is_a_row_of_zeros_in_the_csv() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    let toml = dir.path().join("outage.toml");
    // One connection at 20/s; the demo stalls from 2 s to 3.5 s, so nothing completes in tick 3.
    std::fs::write(
        &toml,
        r#"
name = "outage"
duration = "4s"
[targets]
api = { demo = { stall_every = "2s", stall_for = "1500ms" } }
[load]
model = "open"
rate = 20
max_in_flight = 1
[[requests]]
name = "echo"
path = "/v1/echo"
"#,
    )
    .expect("write");
    let bin = env!("CARGO_BIN_EXE_loadbench");
    let out = std::process::Command::new(bin)
        .args(["run", toml.to_str().expect("path"), "-q", "--db"])
        .arg(&db)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    let out = std::process::Command::new(bin)
        .args(["report", "1", "--format", "csv", "--db"])
        .arg(&db)
        .output()
        .expect("report");
    assert!(out.status.success(), "{out:?}");
    let csv = String::from_utf8_lossy(&out.stdout);
    let ticks: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap_or(""))
        .collect();
    assert_eq!(ticks, ["1", "2", "3", "4"], "{csv}");
    let third: Vec<&str> = csv.lines().nth(3).expect("tick 3").split(',').collect();
    assert_eq!(third[6], "0", "no response in tick 3: {csv}");
    assert_eq!(
        third[9], "",
        "no latency for a second without responses: {csv}"
    );
}

#[test]
fn http2_streams_share_connections() {
    let _g = serial();
    let connections = |streams: Option<u32>| {
        let demo = demo();
        let streams = streams.map_or(String::new(), |n| format!(", streams = {n}"));
        // 200/s of 100 ms requests: about 20 in flight.
        let (o, _) = run(scenario(&format!(
            r#"
name = "h2"
duration = "2s"
[targets]
api = {{ url = "{}", http = "2"{streams} }}
[load]
model = "open"
rate = 200
[[requests]]
name = "echo"
path = "/v1/echo"
query = {{ delay_ms = 100 }}
"#,
            demo.url()
        )));
        assert_eq!(o.summary.total.errors, 0, "{:?}", o.summary.total);
        assert_eq!(
            o.summary.total.count, 400,
            "not started: {}",
            o.summary.not_started
        );
        let s = stats(&demo);
        (
            // Less the connection that asked for the stats.
            s["connections"].as_u64().unwrap_or(0) - 1,
            s["in_flight_max"].as_u64().unwrap_or(0),
        )
    };
    let (one_each, in_flight) = connections(None);
    assert!(
        one_each >= 15,
        "one stream a connection: {one_each} connections"
    );
    let (shared, in_flight_shared) = connections(Some(10));
    assert!(
        (2..=4).contains(&shared),
        "10 streams a connection for ~20 in flight: {shared} connections"
    );
    assert!(
        in_flight >= 15 && in_flight_shared >= 15,
        "same load both ways"
    );
}

#[test]
fn poisson_arrivals_send_the_rate_on_average() {
    let _g = serial();
    let demo = demo();
    let (o, ticks) = run(scenario(&format!(
        r#"
name = "poisson"
duration = "4s"
[targets]
api = "{}"
[load]
model = "open"
rate = 500
arrivals = "poisson"
[[requests]]
name = "echo"
path = "/v1/echo"
"#,
        demo.url()
    )));
    let n = o.summary.total.count as f64;
    // 2,000 expected, sd 45.
    assert!((n - 2000.0).abs() < 200.0, "{n} requests");
    assert_eq!(o.summary.total.errors, 0);
    let per_tick: Vec<u64> = ticks.iter().map(|t| t.total().requests).collect();
    assert!(
        per_tick.iter().any(|&c| c != 500),
        "random arrivals are not exactly 500 each second: {per_tick:?}"
    );
}

/// One sample's value from a Prometheus text page.
fn sample(page: &str, name: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{page}"))
}

#[test]
fn the_demo_exposes_its_own_figures_as_prometheus_text() {
    let demo = demo();
    let (status, before) = http_get(demo.addr, "/metrics");
    assert_eq!(status, 200);
    for l in before.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = l.split_once(' ').expect("`name value` lines");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{l}"
        );
        assert!(value.parse::<f64>().is_ok(), "{l}");
    }
    for _ in 0..5 {
        assert_eq!(http_get(demo.addr, "/v1/echo").0, 200);
    }
    // Requests that arrive during a stall are queued: seen while it lasts, gone after.
    {
        let mut s = std::net::TcpStream::connect(demo.addr).expect("connect");
        write!(
            s,
            "POST /admin/stall?ms=600 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        let mut reply = String::new();
        s.read_to_string(&mut reply).expect("read");
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }
    let waiting: Vec<_> = (0..3)
        .map(|_| {
            let addr = demo.addr;
            std::thread::spawn(move || http_get(addr, "/v1/echo"))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(250));
    let (_, during) = http_get(demo.addr, "/metrics");
    assert_eq!(sample(&during, "demo_queue_depth"), 3.0, "{during}");
    for w in waiting {
        assert_eq!(w.join().expect("joins").0, 200);
    }
    let (_, after) = http_get(demo.addr, "/metrics");
    assert_eq!(sample(&after, "demo_queue_depth"), 0.0);
    assert_eq!(
        sample(&after, "demo_requests_total") - sample(&before, "demo_requests_total"),
        8.0,
        "5 + 3 echo requests (the stall and metrics pages are not counted)"
    );
    assert!(sample(&after, "process_cpu_seconds_total") > 0.0);
    assert!(sample(&after, "demo_requests_in_flight_max") >= 3.0);
}

#[test]
fn requests_due_inside_the_window_are_sent_when_the_engine_wakes_late() {
    let _g = serial();
    let demo = demo();
    // Busy threads (three per core) make the engine's timers fire late, the window's end among
    // them. A request due just before the end whose connection was free then is sent late (its
    // wait counted in its latency), not reported as stopped by the in-flight cap. Before the fix
    // 3 runs in 12 lost 1 to 5 of their 1,000 requests as "not started" here (8 runs all passing
    // by chance: about 1 in 10).
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let busy = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let hogs: Vec<_> = (0..3 * cores)
        .map(|_| {
            let busy = busy.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while busy.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            })
        })
        .collect();
    let mut lost = Vec::new();
    for _ in 0..8 {
        let (o, _) = run(scenario(&format!(
            r#"
name = "late wake"
duration = "1s"
[targets]
api = {{ url = "{}" }}
[load]
model = "open"
rate = 1000
[[requests]]
name = "echo"
path = "/v1/echo"
query = {{ delay_ms = 20 }}
"#,
            demo.url()
        )));
        lost.push((o.summary.total.count, o.summary.not_started));
    }
    busy.store(false, Ordering::Relaxed);
    hogs.into_iter()
        .for_each(|h| h.join().expect("busy thread"));
    assert!(
        lost.iter()
            .all(|&(count, not_started)| count == 1000 && not_started == 0),
        "(sent, not started) per run: {lost:?}"
    );
}
