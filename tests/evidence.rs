//! Bottleneck evidence against the real demo service: phase timings follow the server's delay,
//! TLS shows only on new connections, and each second's exemplars are the requests behind it.

mod common;

use std::time::Duration;

use common::{run, scenario, serial};
use loadbench::demo::{DemoConfig, DemoServer};
use loadbench::metrics::{Phase, PhaseSummary};

fn phase(
    p: &Option<loadbench::metrics::PhasesSummary>,
    f: fn(&loadbench::metrics::PhasesSummary) -> &Option<PhaseSummary>,
) -> &PhaseSummary {
    let p = p.as_ref().expect("phases measured");
    f(p).as_ref().expect("phase measured")
}

#[test]
fn first_byte_follows_the_servers_delay_and_connects_count_new_connections() {
    let _g = serial();
    let (o, ticks) = run(scenario(
        r#"
name = "phases"
duration = "3s"
[targets]
demo = "demo"
[load]
model = "open"
rate = 60
[[requests]]
name = "slow"
path = "/v1/echo?delay_ms=30"
[[requests]]
name = "fast"
path = "/v1/echo"
"#,
    ));
    let by = |name: &str| {
        o.summary
            .endpoints
            .iter()
            .find(|e| e.request == name)
            .expect("series")
    };
    let slow = by("slow");
    let fast = by("fast");
    let fb = phase(&slow.phases, |p| &p.first_byte);
    // The delay is the server's think time: first byte ≈ 30 ms (loopback adds well under 1 ms).
    assert!(
        (30.0..32.0).contains(&fb.p50_ms),
        "first byte p50 {} ms for a 30 ms delay",
        fb.p50_ms
    );
    assert_eq!(fb.samples, slow.count, "every response has a first byte");
    let fast_fb = phase(&fast.phases, |p| &p.first_byte);
    assert!(
        fast_fb.p50_ms < 5.0,
        "fast first byte {} ms",
        fast_fb.p50_ms
    );
    // Transfer of a small body and the write of a small request are short.
    assert!(phase(&slow.phases, |p| &p.transfer).p95_ms < 5.0);
    assert!(phase(&slow.phases, |p| &p.write).p95_ms < 5.0);
    // Phases add up to the service time: write + first byte + transfer ≈ service p50.
    let parts = phase(&slow.phases, |p| &p.write).p50_ms + fb.p50_ms;
    assert!(
        (parts - slow.service_time.p50_ms).abs() < 2.0,
        "write + first byte {parts} ms against service time {} ms",
        slow.service_time.p50_ms
    );
    // Each connection opened shows once in connect, and the ticks add up to the summary.
    for e in [slow, fast] {
        let p = e.phases.as_ref().expect("phases");
        let connects = p.connect.as_ref().map_or(0, |c| c.samples);
        assert_eq!(connects, p.new_connections, "{}", e.request);
        assert!(p.tls.is_none(), "no TLS on cleartext");
        assert!(
            p.new_connections < e.count,
            "{}: {} connections for {} requests: connections are reused",
            e.request,
            p.new_connections,
            e.count
        );
    }
    let from_ticks: u64 = ticks
        .iter()
        .flat_map(|t| &t.stats)
        .map(|s| s.phases.new_conns)
        .sum();
    let in_summary: u64 = o
        .summary
        .endpoints
        .iter()
        .filter_map(|e| e.phases.as_ref())
        .map(|p| p.new_connections)
        .sum();
    assert_eq!(from_ticks, in_summary);
    let tick_connects: u64 = ticks
        .iter()
        .flat_map(|t| &t.stats)
        .map(|s| s.phases.of(Phase::Connect).len())
        .sum();
    assert_eq!(tick_connects, in_summary);
}

#[test]
fn tls_is_timed_on_new_connections_only() {
    let _g = serial();
    let tls = common::TlsDemo::start();
    let ca = &tls.ca;
    let url = tls.url();
    for http in ["1.1", "2"] {
        let (o, _) = run(scenario(&format!(
            r#"
name = "tls phases"
duration = "2s"
[targets]
secure = {{ url = "{url}", ca_file = "{}", http = "{http}" }}
[load]
model = "closed"
vus = 3
[[requests]]
name = "echo"
path = "/v1/echo"
"#,
            ca.display()
        )));
        let e = &o.summary.total;
        assert_eq!(e.errors, 0, "http {http}: {:?}", e.error_kinds);
        let p = o.summary.endpoints[0].phases.as_ref().expect("phases");
        let tls = p.tls.as_ref().expect("TLS measured");
        assert_eq!(
            tls.samples, p.new_connections,
            "http {http}: one handshake per connection"
        );
        assert!(
            p.new_connections >= 1 && p.new_connections <= 3,
            "http {http}: {p:?}"
        );
        assert!(
            e.count > 50 * p.new_connections,
            "http {http}: reused connections"
        );
        assert!(tls.p50_ms > 0.0, "http {http}: a handshake takes time");
        // The answer's first byte is timed on every request, over the reused connections too.
        assert_eq!(
            p.first_byte.as_ref().expect("first byte").samples,
            e.count,
            "http {http}"
        );
        // HTTP/1.1 over TLS runs on loadbench's own client, which times the write; hyper's
        // HTTP/2 does not expose it.
        let writes = p.write.as_ref().map_or(0, |w| w.samples);
        assert_eq!(
            writes,
            if http == "1.1" { e.count } else { 0 },
            "http {http}"
        );
    }
}

#[test]
fn each_seconds_slowest_requests_are_the_stalled_ones_and_failures_keep_their_body() {
    let _g = serial();
    // The whole service pauses 150 ms every second: the requests caught in it are the slow ones.
    let demo = DemoServer::start(DemoConfig {
        stall_every: Some(Duration::from_secs(1)),
        stall_for: Duration::from_millis(150),
        flaky_rate: 0.3,
        ..DemoConfig::default()
    })
    .expect("demo starts");
    let (o, ticks) = run(scenario(&format!(
        r#"
name = "exemplars"
duration = "4s"
[targets]
demo = "http://{}"
[load]
model = "open"
rate = 100
[[requests]]
name = "echo"
path = "/v1/echo"
weight = 3
[[requests]]
name = "flaky"
path = "/v1/flaky"
"#,
        demo.addr
    )));
    let mut stalled_ticks = 0;
    for t in ticks.iter().filter(|t| t.seconds > 0.99) {
        for (i, s) in t.stats.iter().enumerate() {
            if s.requests == 0 {
                continue;
            }
            let slowest = &s.exemplars.slowest;
            assert!(!slowest.is_empty(), "tick {} series {i}", t.index);
            assert!(slowest.len() <= loadbench::metrics::SLOWEST_KEPT);
            // Slowest first, and the first is the tick's maximum (within HDR precision).
            assert!(
                slowest
                    .windows(2)
                    .all(|w| w[0].latency_us >= w[1].latency_us)
            );
            let max = s.latency.max() as f64;
            let top = slowest[0].latency_us as f64;
            assert!(
                (top - max).abs() <= max * 0.001 + 1.0,
                "tick {} series {i}: exemplar {top} µs, max {max} µs",
                t.index
            );
            if top >= 100_000.0 {
                stalled_ticks += 1;
                // The stall is the server's: the wait is in first byte, not in the generator.
                let fb = slowest[0].phases[Phase::FirstByte as usize].unwrap_or(0);
                assert!(fb >= 50_000, "tick {}: first byte {fb} µs", t.index);
            }
            for f in &s.exemplars.failures {
                assert_eq!(f.status, Some(503));
                assert!(
                    String::from_utf8_lossy(&f.body).contains("upstream unavailable"),
                    "the error body is kept: {:?}",
                    String::from_utf8_lossy(&f.body)
                );
            }
        }
    }
    assert!(
        stalled_ticks >= 4,
        "stalls seen in {stalled_ticks} series-seconds"
    );
    // The run's slowest are stalled requests, and its first failures are the earliest 503s.
    let s = &o.summary;
    assert!(s.slowest.len() >= 3);
    assert!(s.slowest[0].latency_ms >= 100.0, "{:?}", s.slowest[0]);
    assert!(!s.first_failures.is_empty());
    assert!(
        s.first_failures
            .windows(2)
            .all(|w| w[0].at_ms <= w[1].at_ms)
    );
    let f = &s.first_failures[0];
    assert_eq!(f.status, Some(503));
    assert_eq!(f.error.as_deref(), Some("http_5xx"));
    assert!(
        f.headers.contains("content-type: application/json"),
        "{f:?}"
    );
    assert_eq!(s.series_name(f.series), "flaky");
}
