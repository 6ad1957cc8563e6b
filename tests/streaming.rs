//! Streamed answers against the demo's streaming completion: the first event and the gaps
//! between events follow its configured delays, over HTTP/1.1 and HTTP/2, and an answer that is
//! not the stream asked for is a classified error.

mod common;

use common::{run, scenario, serial};
use loadbench::demo::{DemoConfig, DemoServer};
use loadbench::metrics::{Phase, PhaseSummary, PhasesSummary};

const FIRST_MS: f64 = 80.0;
const GAP_MS: f64 = 10.0;
const TOKENS: u64 = 12;

fn streaming(target: &str, stream: &str, streamed_body: bool) -> String {
    format!(
        r#"
name = "streaming"
duration = "3s"
thresholds = ["first_event p95 < 1ms"]
[targets]
llm = {target}
[load]
model = "closed"
vus = 4
[[requests]]
name = "chat"
method = "POST"
path = "/v1/chat/completions"
query = {{ tokens = "{TOKENS}", first_ms = "{FIRST_MS}", gap_ms = "{GAP_MS}" }}
json = {{ stream = {streamed_body}, messages = [{{ role = "user", content = "hi" }}] }}
stream = "{stream}"
"#
    )
}

fn within(got: f64, want: f64, what: &str) {
    // The issue's bound: 1 ms plus 5 % of the configured time.
    assert!(
        got >= want - 0.5 && got <= want + 1.0 + want * 0.05,
        "{what}: {got} ms for {want} ms configured"
    );
}

fn stream_of(p: &Option<PhasesSummary>) -> (&PhasesSummary, &PhaseSummary, &PhaseSummary) {
    let p = p.as_ref().expect("phases");
    let first = p.first_event.as_ref().expect("first event measured");
    let gap = p.event_gap.as_ref().expect("gaps measured");
    (p, first, gap)
}

#[test]
fn sse_first_event_and_gaps_follow_the_demos_delays_over_http1_and_http2() {
    let _g = serial();
    let tls = common::TlsDemo::start();
    let ca = &tls.ca;
    let url = tls.url();
    for http in ["1.1", "2"] {
        let target = format!(
            r#"{{ url = "{url}", ca_file = "{}", http = "{http}" }}"#,
            ca.display()
        );
        let (o, ticks) = run(scenario(&streaming(&target, "sse", true)));
        let e = &o.summary.endpoints[0];
        assert_eq!(e.errors, 0, "http {http}: {:?}", e.error_kinds);
        assert!(e.count >= 8, "http {http}: {} answers", e.count);
        let (p, first, gap) = stream_of(&e.phases);
        assert_eq!(
            first.samples, e.count,
            "http {http}: one first event per answer"
        );
        assert_eq!(
            gap.samples,
            e.count * (TOKENS - 1),
            "http {http}: every gap"
        );
        assert_eq!(
            p.events_per_response,
            Some(TOKENS as f64),
            "[DONE] is no event"
        );
        within(
            first.p50_ms,
            FIRST_MS,
            &format!("http {http} first event p50"),
        );
        // The tail gets twice the room: on a busy 2-core machine (a build beside the tests) one
        // request in twenty can be scheduled a few ms late.
        assert!(
            first.p95_ms <= FIRST_MS + 2.0 + FIRST_MS * 0.1,
            "http {http} first event p95: {} ms for {FIRST_MS} ms configured",
            first.p95_ms
        );
        within(gap.p50_ms, GAP_MS, &format!("http {http} event gap p50"));
        // The whole answer is the first event and the gaps after it.
        let whole = FIRST_MS + GAP_MS * (TOKENS - 1) as f64;
        within(
            e.service_time.p50_ms,
            whole,
            &format!("http {http} service p50"),
        );
        // Per tick, stored as they are summed.
        let gaps: u64 = ticks
            .iter()
            .flat_map(|t| &t.stats)
            .map(|s| s.phases.of(Phase::EventGap).len())
            .sum();
        assert!(gaps >= gap.samples, "http {http}: ticks hold the gaps");
        // `first_event p95 < 1ms` cannot hold: judged on the measured figure.
        let t = &o.summary.thresholds[0];
        assert!(!t.passed, "http {http}: {t:?}");
        assert!(t.actual.is_some_and(|us| us > FIRST_MS * 900.0), "{t:?}");
    }
}

#[test]
fn chunked_counts_each_chunk_and_an_answer_that_is_not_a_stream_is_a_stream_error() {
    let _g = serial();
    let demo = DemoServer::start(DemoConfig::default()).expect("demo starts");
    let target = format!("\"{}\"", demo.url());
    // Chunked: every chunk is an event, the closing `data: [DONE]` chunk too.
    let (o, _) = run(scenario(&streaming(&target, "chunked", true)));
    let e = &o.summary.endpoints[0];
    assert_eq!(e.errors, 0, "{:?}", e.error_kinds);
    let (p, first, gap) = stream_of(&e.phases);
    assert_eq!(p.events_per_response, Some((TOKENS + 1) as f64));
    within(first.p50_ms, FIRST_MS, "chunked first event p50");
    within(gap.p50_ms, GAP_MS, "chunked event gap p50");
    // An answer that is one JSON document (no `"stream": true`) to a request that asked for
    // server-sent events: a 200 that fails as `stream`, with no event timed.
    let (o, _) = run(scenario(&streaming(&target, "sse", false)));
    let e = &o.summary.endpoints[0];
    assert!(e.count > 0);
    assert_eq!(e.errors, e.count, "every answer fails");
    assert_eq!(
        e.error_kinds.get("stream").copied(),
        Some(e.count),
        "{:?}",
        e.error_kinds
    );
    assert!(e.phases.as_ref().is_none_or(|p| p.first_event.is_none()));
}

#[test]
fn a_bad_stream_mode_is_refused_where_it_is_written() {
    let text = streaming("\"demo\"", "websocket", true);
    let err = loadbench::scenario::Scenario::parse(&text, None, &|_| None)
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("stream must be \"sse\" or \"chunked\"") && err.contains(":16:10:"),
        "{err}"
    );
}
