//! The engine against the real demo service on loopback: rates, latency accuracy, stalls, errors, TLS.

mod common;

use common::{closed_port, http_get, run, scenario, serial};
use loadbench::demo::{DemoConfig, DemoServer};
use loadbench::engine::RunStatus;

#[test]
fn open_model_holds_its_target_rate() {
    let _g = serial();
    let (o, ticks) = run(scenario(
        r#"
name = "rate"
duration = "3s"
[targets]
demo = "demo"
[load]
model = "open"
rate = 500
[[requests]]
name = "echo"
path = "/v1/echo"
"#,
    ));
    assert_eq!(o.status, RunStatus::Completed);
    let total = o.summary.total.count as f64;
    assert!(
        (total - 1500.0).abs() / 1500.0 < 0.03,
        "sent {total}, expected 1500 ± 3%"
    );
    for t in ticks.iter().filter(|t| (t.seconds - 1.0).abs() < 1e-9) {
        let rate = t.total().requests as f64;
        assert!(
            (rate - 500.0).abs() / 500.0 < 0.05,
            "tick {} ran at {rate}/s",
            t.index
        );
    }
    assert_eq!(o.summary.total.errors, 0);
    assert_eq!(o.summary.not_started, 0);
}

#[test]
fn fixed_server_delay_is_reported_within_3ms() {
    let _g = serial();
    let (o, _) = run(scenario(
        r#"
name = "delay"
duration = "3s"
warmup = "1s"
[targets]
demo = "demo"
[load]
model = "open"
rate = 50
[[requests]]
name = "slow"
path = "/v1/echo"
query = { delay_ms = 50 }
"#,
    ));
    let l = &o.summary.total.latency;
    assert!(l.samples >= 90, "only {} samples", l.samples);
    assert!(
        (l.p50_ms - 50.0).abs() <= 3.0,
        "p50 {} ms, expected 50 ± 3",
        l.p50_ms
    );
    let s = &o.summary.total.service_time;
    assert!(
        (s.p50_ms - 50.0).abs() <= 3.0,
        "service p50 {} ms",
        s.p50_ms
    );
}

#[test]
fn a_server_stall_shows_in_corrected_latency_not_in_service_time() {
    let _g = serial();
    // 200 req/s for 4 s with at most 2 requests in flight; the server stalls for 500 ms at t≈2 s.
    // The ~100 requests due during the stall queue in the generator: their latency from the
    // intended start runs from 500 ms down to 0. They are 12.5 % of the run, so the corrected p99
    // sits near 500 × (1 − 0.01/0.125) = 460 ms, while only the 2 requests in flight see the
    // stall in their service time.
    let (o, _) = run(scenario(
        r#"
name = "stall"
duration = "4s"
[targets]
demo = { demo = { stall_every = "2s", stall_for = "500ms" } }
[load]
model = "open"
rate = 200
max_in_flight = 2
[[requests]]
name = "echo"
path = "/v1/echo"
"#,
    ));
    let t = &o.summary.total;
    assert!(
        (330.0..=600.0).contains(&t.latency.p99_ms),
        "corrected p99 {} ms, expected ≈ 460 ms",
        t.latency.p99_ms
    );
    assert!(
        t.service_time.p99_ms < 50.0,
        "service p99 {} ms should not see the stall",
        t.service_time.p99_ms
    );
    assert!(
        t.service_time.max_ms >= 300.0,
        "the requests in flight did wait: max {}",
        t.service_time.max_ms
    );
    assert!(
        t.late_starts >= 50,
        "requests queued behind the stall start late: {}",
        t.late_starts
    );
}

#[test]
fn closed_model_never_exceeds_its_virtual_users_in_flight() {
    let _g = serial();
    let demo = DemoServer::start(DemoConfig::default()).expect("demo starts");
    let text = format!(
        r#"
name = "closed"
duration = "2s"
[targets]
api = "{}"
[load]
model = "closed"
vus = 5
[[requests]]
name = "slowish"
path = "/v1/echo"
query = {{ delay_ms = 20 }}
"#,
        demo.url()
    );
    let (o, ticks) = run(scenario(&text));
    let (_, stats) = http_get(demo.addr, "/admin/stats");
    let stats: serde_json::Value = serde_json::from_str(&stats).expect("stats json");
    let server_max = stats["in_flight_max"].as_u64().expect("in_flight_max");
    assert!(
        server_max <= 5,
        "the server saw {server_max} concurrent requests from 5 VUs"
    );
    assert_eq!(server_max, 5, "all 5 VUs were busy at once");
    assert!(ticks.iter().all(|t| t.in_flight <= 5));
    // 5 VUs × ~20 ms per request ≈ 250 req/s.
    assert!(
        o.summary.total.rate > 150.0,
        "rate {}",
        o.summary.total.rate
    );
    assert_eq!(o.summary.max_vus, Some(5));
}

#[test]
fn open_model_past_its_cap_queues_instead_of_opening_more_connections() {
    let _g = serial();
    let demo = DemoServer::start(DemoConfig::default()).expect("demo starts");
    // 400 req/s scheduled, but 4 connections × 50 ms per request serve only ~80/s: the rest queue
    // in the generator (and show in corrected latency), never as extra connections.
    let text = format!(
        r#"
name = "capped"
duration = "2s"
[targets]
api = "{}"
[load]
model = "open"
rate = 400
max_in_flight = 4
[[requests]]
name = "slow"
path = "/v1/echo"
query = {{ delay_ms = 50 }}
"#,
        demo.url()
    );
    let started = std::time::Instant::now();
    let (o, ticks) = run(scenario(&text));
    let took = started.elapsed();
    let (_, stats) = http_get(demo.addr, "/admin/stats");
    let stats: serde_json::Value = serde_json::from_str(&stats).expect("stats json");
    assert_eq!(stats["in_flight_max"].as_u64(), Some(4), "{stats}");
    assert!(ticks.iter().all(|t| t.in_flight <= 4));
    let t = &o.summary.total;
    assert!((40.0..=100.0).contains(&t.rate), "rate {}", t.rate);
    assert!(
        o.summary.not_started > 400,
        "not started {}",
        o.summary.not_started
    );
    assert!(t.late_starts > 50, "late starts {}", t.late_starts);
    assert!(
        t.service_time.p99_ms < 120.0,
        "service p99 {}",
        t.service_time.p99_ms
    );
    assert!(
        t.latency.p99_ms > 500.0,
        "the queue shows in corrected latency: p99 {}",
        t.latency.p99_ms
    );
    assert!(
        took < std::time::Duration::from_secs(5),
        "the run took {took:?}"
    );
}

#[test]
fn closed_model_ramps_virtual_users() {
    let _g = serial();
    let (_, ticks) = run(scenario(
        r#"
name = "ramp"
[targets]
demo = "demo"
[load]
model = "closed"
stages = [{ duration = "2s", target = 4 }, { duration = "1s", target = 4 }]
[[requests]]
name = "echo"
path = "/v1/echo"
query = { delay_ms = 10 }
"#,
    ));
    let targets: Vec<f64> = ticks.iter().map(|t| t.target).collect();
    assert_eq!(targets.first(), Some(&2.0), "{targets:?}");
    assert!(ticks.iter().all(|t| t.in_flight <= 4));
    assert!(ticks.last().is_some_and(|t| t.target == 4.0), "{targets:?}");
}

#[test]
fn refused_connections_are_classified_not_fatal() {
    let _g = serial();
    let text = format!(
        r#"
name = "refused"
duration = "1s"
thresholds = ["error_rate < 1%"]
[targets]
gone = "http://127.0.0.1:{}"
[load]
model = "open"
rate = 50
[[requests]]
name = "x"
path = "/"
"#,
        closed_port()
    );
    let (o, _) = run(scenario(&text));
    let t = &o.summary.total;
    assert!(t.count >= 40, "{} requests", t.count);
    assert_eq!(t.errors, t.count);
    assert_eq!(t.error_kinds.get("connect_refused"), Some(&t.count));
    assert!(!o.summary.thresholds_passed);
}

#[test]
fn http_errors_timeouts_and_checks_are_classified() {
    let _g = serial();
    let (o, _) = run(scenario(
        r#"
name = "kinds"
duration = "2s"
timeout = "100ms"
[targets]
demo = "demo"
[load]
model = "open"
rate = 40
[[requests]]
name = "notfound"
path = "/v1/nope"
[[requests]]
name = "fivehundred"
path = "/v1/echo"
query = { status = 503 }
[[requests]]
name = "slow"
path = "/v1/echo"
query = { delay_ms = 300 }
[[requests]]
name = "wrongbody"
path = "/v1/echo"
checks = [{ body_contains = "definitely-not-there" }]
[[requests]]
name = "expected404"
path = "/v1/nope"
checks = [{ status = 404 }]
[[requests]]
name = "tooslow"
path = "/v1/echo"
query = { delay_ms = 40 }
checks = [{ latency = "< 20ms" }]
[[requests]]
name = "fastenough"
path = "/v1/echo"
checks = [{ latency = "< 0.08s" }]
"#,
    ));
    let by = |name: &str| {
        o.summary
            .endpoints
            .iter()
            .find(|e| e.request == name)
            .expect(name)
    };
    let only = |name: &str, kind: &str| {
        let e = by(name);
        assert!(e.count > 0, "{name} sent nothing");
        assert_eq!(
            e.error_kinds.get(kind),
            Some(&e.count),
            "{name}: {:?}",
            e.error_kinds
        );
    };
    only("notfound", "http_4xx");
    only("fivehundred", "http_5xx");
    only("slow", "timeout");
    only("wrongbody", "check_failed");
    assert_eq!(by("expected404").errors, 0);
    // A latency check holds a response to its limit (seconds or milliseconds alike).
    only("tooslow", "check_failed");
    assert_eq!(by("fastenough").errors, 0);
}

#[test]
fn https_works_with_the_ca_option_and_fails_clearly_without() {
    let _g = serial();
    let tls = common::TlsDemo::start();
    let ca = &tls.ca;
    let body = |target: String| {
        format!(
            r#"
name = "tls"
duration = "1s"
[targets]
{target}
[load]
model = "open"
rate = 30
[[requests]]
name = "echo"
path = "/v1/echo"
checks = [{{ status = 200 }}]
"#
        )
    };
    let url = tls.url();
    for http in ["1.1", "2"] {
        let (o, _) = run(scenario(&body(format!(
            "secure = {{ url = \"{url}\", ca_file = \"{}\", http = \"{http}\" }}",
            ca.display()
        ))));
        assert!(
            o.summary.total.count >= 25,
            "http {http}: {:?}",
            o.summary.total
        );
        assert_eq!(
            o.summary.total.errors, 0,
            "http {http}: {:?}",
            o.summary.total.error_kinds
        );
    }
    let (o, _) = run(scenario(&body(format!("secure = \"{url}\""))));
    let t = &o.summary.total;
    assert!(t.count > 0);
    assert_eq!(
        t.error_kinds.get("tls"),
        Some(&t.count),
        "{:?}",
        t.error_kinds
    );
    let (o, _) = run(scenario(&body(format!(
        "secure = {{ url = \"{url}\", insecure = true }}"
    ))));
    assert_eq!(o.summary.total.errors, 0);
}

#[test]
fn cleartext_http2_works() {
    let _g = serial();
    let (o, _) = run(scenario(
        r#"
name = "h2c"
duration = "1s"
[targets]
demo = { url = "demo", http = "2" }
[load]
model = "closed"
vus = 2
[[requests]]
name = "echo"
path = "/v1/echo"
checks = [{ status = 200 }, { json = "ok", equals = true }]
"#,
    ));
    assert!(o.summary.total.count > 50);
    assert_eq!(
        o.summary.total.errors, 0,
        "{:?}",
        o.summary.total.error_kinds
    );
}

#[test]
fn per_request_variables_reach_the_server() {
    let _g = serial();
    let demo = DemoServer::start(DemoConfig::default()).expect("demo starts");
    // The echo endpoint reports the body length it got; the JSON body with ${seq}, ${uuid} and
    // ${random} must parse on the ingest endpoint (202), proving the rendered JSON is valid.
    let text = format!(
        r#"
name = "vars"
duration = "1s"
[targets]
api = "{}"
[load]
model = "open"
rate = 50
[[requests]]
name = "ingest"
method = "POST"
path = "/v1/events"
json = {{ id = "${{uuid}}", n = "${{seq}}", r = "${{random(1,9)}}", nested = [{{ a = "${{seq}}" }}] }}
checks = [{{ status = 202 }}, {{ json = "accepted", equals = 1 }}]
[[requests]]
name = "hook"
method = "POST"
path = "/v1/webhooks"
headers = {{ x-delivery = "${{uuid}}" }}
body = "event ${{seq}}"
checks = [{{ status = 204 }}]
"#,
        demo.url()
    );
    let (o, _) = run(scenario(&text));
    assert_eq!(
        o.summary.total.errors, 0,
        "{:?}",
        o.summary.total.error_kinds
    );
    let hooks = o
        .summary
        .endpoints
        .iter()
        .find(|e| e.request == "hook")
        .expect("hook")
        .count;
    let (_, body) = http_get(demo.addr, "/v1/webhooks/count");
    let got: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(got["received"].as_u64(), Some(hooks));
}

#[test]
fn two_targets_interleaved_in_one_run_show_their_difference() {
    let _g = serial();
    // "ours" adds 5 ms, "competitor" 25 ms. Every request picks its target at random, so both
    // see the same machine and the same moment: the per-target series differ by the 20 ms alone.
    let ours = DemoServer::start(DemoConfig {
        delay: std::time::Duration::from_millis(5),
        ..DemoConfig::default()
    })
    .expect("ours");
    let theirs = DemoServer::start(DemoConfig {
        delay: std::time::Duration::from_millis(25),
        ..DemoConfig::default()
    })
    .expect("theirs");
    let text = format!(
        r#"
name = "interleaved"
duration = "3s"
[targets]
ours = "{}"
competitor = "{}"
[load]
model = "open"
rate = 100
[[requests]]
name = "echo"
path = "/v1/echo"
"#,
        ours.url(),
        theirs.url()
    );
    let (o, ticks) = run(scenario(&text));
    let by = |t: &str| {
        o.summary
            .endpoints
            .iter()
            .find(|e| e.target == t)
            .expect(t)
            .clone()
    };
    let (a, b) = (by("ours"), by("competitor"));
    assert!(
        a.count > 100 && b.count > 100,
        "both targets got load: {} / {}",
        a.count,
        b.count
    );
    let diff = b.latency.p50_ms - a.latency.p50_ms;
    assert!(
        (diff - 20.0).abs() < 3.0,
        "p50 {} vs {} ms",
        a.latency.p50_ms,
        b.latency.p50_ms
    );
    // Interleaved: every second has both targets.
    for t in ticks.iter().filter(|t| t.seconds > 0.9) {
        assert!(
            t.stats.iter().all(|s| s.requests > 10),
            "tick {} lacks a target",
            t.index
        );
    }
}

#[test]
fn rows_of_a_data_file_feed_requests_in_order() {
    let _g = serial();
    let demo = DemoServer::start(DemoConfig::default()).expect("demo starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("users.csv");
    // Quotes, commas and a backslash: each must survive into valid JSON (the ingest endpoint
    // answers 400 to anything else).
    std::fs::write(
        &csv,
        "user,name\nu-1,\"O'Brien, \"\"Jr\"\"\"\nu-2,back\\slash\nu-3,plain\n",
    )
    .expect("write");
    let text = format!(
        r#"
name = "data"
duration = "2s"
[targets]
api = "{}"
[load]
model = "open"
rate = 15
[[requests]]
name = "ingest"
method = "POST"
path = "/v1/events?user=${{data.user}}"
json = {{ user = "${{data.user}}", name = "${{data.name}}" }}
checks = [{{ status = 202 }}]
[data]
file = "{}"
"#,
        demo.url(),
        csv.display()
    );
    let (o, _) = run(scenario(&text));
    let t = &o.summary.total;
    assert_eq!(t.errors, 0, "{:?}", t.error_kinds);
    assert_eq!(t.count, 30, "15/s for 2 s");
    // 30 requests over 3 rows in file order: each row 10 times, so the bytes sent are exact.
    let body = |u: &str, n: &str| serde_json::json!({"user": u, "name": n}).to_string().len();
    let per_pass =
        body("u-1", "O'Brien, \"Jr\"") + body("u-2", "back\\slash") + body("u-3", "plain");
    assert_eq!(t.bytes_sent, 10 * per_pass as u64);
}

#[test]
fn a_run_that_cannot_start_says_which_target_and_why() {
    use loadbench::engine::{self, RunOptions, StartError};
    let dir = tempfile::tempdir().expect("tempdir");
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "this is not a certificate").expect("write");
    let s = scenario(&format!(
        r#"
name = "no start"
duration = "1s"
[targets]
secure = {{ url = "https://localhost:1", ca_file = "{}" }}
[load]
model = "open"
rate = 1
[[requests]]
name = "echo"
path = "/"
"#,
        not_pem.display()
    ));
    match engine::start(s, RunOptions::default()) {
        Err(e @ StartError::Tls { .. }) => {
            let text = e.to_string();
            assert!(
                text.starts_with("target `secure`: ca_file ")
                    && text.contains("no PEM certificate"),
                "{text}"
            );
        }
        Err(other) => panic!("expected a TLS set-up error, got {other}"),
        Ok(_) => panic!("a CA file without a certificate started a run"),
    }
}

#[test]
fn a_data_row_that_makes_a_request_unsendable_counts_as_render() {
    let _g = serial();
    let demo = DemoServer::start(DemoConfig::default()).expect("demo");
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("ids.csv");
    // A space cannot be in a request target; a newline cannot be in a header value.
    std::fs::write(
        &csv,
        "id,tag\nok-1,fine\nbad id,fine\nok-2,\"two\nlines\"\n",
    )
    .expect("write");
    let text = format!(
        r#"
name = "render"
duration = "2s"
[targets]
api = "{}"
[load]
model = "open"
rate = 15
[[requests]]
name = "get"
path = "/v1/echo/${{data.id}}"
headers = {{ x-tag = "${{data.tag}}" }}
[data]
file = "{}"
"#,
        demo.url(),
        csv.display()
    );
    let (o, _) = run(scenario(&text));
    let t = &o.summary.total;
    assert_eq!(t.count, 30, "15/s for 2 s");
    // Rows 2 and 3 of every pass of three cannot be sent: 20 of 30, named for what they are.
    assert_eq!(
        t.error_kinds.get("render"),
        Some(&20),
        "{:?}",
        t.error_kinds
    );
    assert_eq!(t.error_kinds.get("other"), None);
}

#[test]
fn the_demo_token_counter_has_a_limit_the_knee_sample_reaches() {
    let _g = serial();
    let rate = |rounds: u32| {
        let (o, _) = run(scenario(&format!(
            r#"
name = "rounds"
duration = "1s"
[targets]
tokens = "demo"
[load]
model = "closed"
vus = 8
[[requests]]
name = "count"
method = "POST"
path = "/v1/tokens/count?rounds={rounds}"
body = "Capacity planning starts with a curve: throughput against latency."
"#
        )));
        assert_eq!(o.summary.total.errors, 0);
        o.summary.total.rate
    };
    let (light, heavy) = (rate(1), rate(100));
    // `rounds` multiplies the work: the service saturates far sooner, well inside the
    // find-the-knee sample's 50 → 1,500/s ramp. Not a hundred times in a test build: there the
    // generator's own cost per request bounds the light rate (18.8× once on a slow CI host).
    assert!(
        light > 10.0 * heavy,
        "rounds=1: {light}/s, rounds=100: {heavy}/s"
    );
    assert!(
        heavy < 1500.0,
        "rounds=100 saturates below the sample's top rate: {heavy}/s"
    );
}

#[test]
fn the_engine_threads_own_cpu_is_measured_for_the_saturation_check() {
    let _g = serial();
    let s = scenario(
        r#"
name = "busy"
duration = "2s"
[targets]
demo = "demo"
[load]
model = "closed"
vus = 20
[[requests]]
name = "echo"
path = "/v1/echo"
"#,
    );
    let handle = loadbench::engine::start(
        s,
        loadbench::engine::RunOptions {
            threads: Some(2),
            ..Default::default()
        },
    )
    .expect("engine starts");
    let outcome = handle.wait(|_| {}).expect("run finishes");
    let env = outcome.summary.environment.expect("measured on Linux");
    assert_eq!(env.engine_threads, 2, "{env:?}");
    // Closed model, no think time: the engine threads are busy for much of the run.
    assert!(
        env.engine_cores > 0.05 && env.engine_cores <= env.cores as f64 + 0.5,
        "{env:?}"
    );
    assert!(
        env.engine_cores <= env.process_cores + 0.05,
        "part of the process: {env:?}"
    );
}
