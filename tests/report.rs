//! Reports from a fixed stored run: golden Markdown and JSON, well-formed HTML and JUnit, an
//! interval log that reads back, and no secret in any format.

mod common;

use std::collections::BTreeMap;

use base64::Engine as _;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use loadbench::metrics::{
    Accumulator, ErrorKind, Exemplar, ExemplarRecord, Key, Phase, RunInfo, Stats, Summary, Tick,
    encode_histogram,
};
use loadbench::report::{Format, Report};
use loadbench::store::{RunExport, Store};

const STARTED_MS: i64 = 1_793_527_200_000; // 2026-11-01T10:00:00Z

/// A run with fixed figures: 6 ticks (1 warm-up) of two requests, one failing threshold.
fn fixture(name: &str) -> RunExport {
    fixture_with(name, 1.0, "00000000-0000-4000-8000-000000000001")
}

/// The fixture with every latency multiplied by `factor`.
fn fixture_with(name: &str, factor: f64, uuid: &str) -> RunExport {
    let f = |us: u64| (us as f64 * factor) as u64;
    let keys = vec![
        Key {
            request: "ingest".into(),
            target: "api".into(),
        },
        Key {
            request: "dashboard".into(),
            target: "api".into(),
        },
    ];
    let info = RunInfo {
        shard: None,
        proxies: Vec::new(),
        journeys: Vec::new(),
        scenario: name.into(),
        model: loadbench::scenario::Model::Open,
        max_vus: None,
        keys: keys.clone(),
        thresholds: vec![
            loadbench::thresholds::ThresholdSpec {
                scope: "total".into(),
                expression: "p95 < 200ms".into(),
            },
            loadbench::thresholds::ThresholdSpec {
                scope: "total".into(),
                expression: "error_rate < 0.1%".into(),
            },
            loadbench::thresholds::ThresholdSpec {
                scope: "request:ingest".into(),
                expression: "p99 < 50ms".into(),
            },
        ],
    };
    let mut ticks = Vec::new();
    let mut acc = Accumulator::new(2);
    for i in 1..=12u32 {
        let mut a = Stats::default();
        let mut b = Stats::default();
        for j in 0..100u64 {
            a.record_response(
                202,
                f(1_000 + j * 37 + u64::from(i) * 11),
                f(900 + j * 30),
                None,
            );
        }
        for j in 0..20u64 {
            let err = (j == 0 && i % 2 == 0).then_some(ErrorKind::Http5xx);
            b.record_response(
                if err.is_some() { 503 } else { 200 },
                f(40_000 + j * 4_000),
                f(39_000 + j * 4_000),
                err,
            );
        }
        a.bytes_in = 1_600;
        // Phases: two connections opened at the start, then a write, a wait and a transfer each.
        for j in 0..100u64 {
            a.phases.record(Phase::Write, 20 + j % 7);
            a.phases.record(Phase::FirstByte, f(850 + j * 30));
            a.phases.record(Phase::Transfer, 15 + j % 5);
        }
        if i == 1 {
            a.phases.new_conns = 2;
            a.phases.record(Phase::Connect, 150);
            a.phases.record(Phase::Connect, 180);
        }
        // The requests behind the figures: each tick's slowest dashboard, and its failure.
        let slow = f(40_000 + 19 * 4_000);
        b.exemplars.offer(slow, false, |e| {
            *e = Exemplar {
                at_ms: f64::from(i - 1) * 1000.0 + 500.0,
                queued_us: 300,
                latency_us: slow,
                status: Some(200),
                bytes_in: 5_120,
                new_conn: i == 2,
                phases: [
                    Some(140),
                    None,
                    Some(25),
                    Some(slow - 500),
                    Some(175),
                    None,
                    None,
                ],
                head:
                    b"HTTP/1.1 200 OK\r\nServer: demo\r\nX-Cache: MISS\r\nSet-Cookie: s=1\r\n\r\n"
                        .to_vec(),
                ..Exemplar::default()
            };
        });
        if i % 2 == 0 {
            b.exemplars.offer(f(40_000), true, |e| {
                *e = Exemplar {
                    at_ms: f64::from(i - 1) * 1000.0 + 100.0,
                    latency_us: f(40_000),
                    status: Some(503),
                    error: Some(ErrorKind::Http5xx),
                    bytes_in: 60,
                    phases: [None, None, Some(20), Some(f(39_500)), Some(30), None, None],
                    head: b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\n\r\n".to_vec(),
                    body: b"{\"error\":\"overloaded\",\"token\":\"tk-should-not-show\"}".to_vec(),
                    ..Exemplar::default()
                };
            });
        }
        let tick = Tick {
            index: i,
            end: f64::from(i),
            seconds: 1.0,
            drain: 0.0,
            warmup: i == 1,
            target: 120.0,
            in_flight: 7,
            not_started: 0,
            stats: vec![a, b],
            journeys: Vec::new(),
        };
        acc.add(&tick);
        ticks.push(tick);
    }
    let started = std::time::UNIX_EPOCH + std::time::Duration::from_millis(STARTED_MS as u64);
    let summary = Summary::build(
        &info,
        &acc,
        loadbench::metrics::RunStatus::Completed,
        started,
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    RunExport {
        schema: loadbench::store::EXPORT_SCHEMA.into(),
        uuid: uuid.into(),
        name: name.into(),
        scenario_text: "name = \"fixture\"\n[[requests]]\nname = \"ingest\"\npath = \"/v1/events\"\nheaders = { authorization = \"Bearer literal-secret-token\", x-api-key = \"${env.API_KEY}\" }\n".into(),
        scenario_path: Some("scenarios/fixture.toml".into()),
        info,
        targets: vec![("api".into(), "http://127.0.0.1:8080".into())],
        status: loadbench::metrics::RunStatus::Completed,
        started_at_ms: STARTED_MS,
        ended_at_ms: Some(STARTED_MS + 12_000),
        summary: Some(summary),
        notes: "baseline | before the cache change".into(),
        tags: vec!["baseline".into()],
        baseline: false,
        version: "0.1.0".into(),
        host: serde_json::json!({"os": "linux", "arch": "x86_64", "cores": 2}),
        annotations: vec![],
        monitor: Default::default(),
        ticks: ticks
            .iter()
            .map(|t| loadbench::store::TickExport {
                index: t.index,
                end: t.end,
                seconds: t.seconds,
                drain: t.drain,
                warmup: t.warmup,
                target: t.target,
                in_flight: t.in_flight,
                not_started: 0,
                series: t
                    .stats
                    .iter()
                    .enumerate()
                    .map(|(i, s)| loadbench::store::SeriesExport {
                        series: i,
                        requests: s.requests,
                        errors: s.errors,
                        bytes_in: s.bytes_in,
                        bytes_out: 0,
                        late: 0,
                        status: s.status_counts().collect::<BTreeMap<_, _>>(),
                        error_kinds: s.error_counts().collect(),
                        latency: b64.encode(encode_histogram(&s.latency)),
                        service: b64.encode(encode_histogram(&s.service)),
                        failed: (!s.failed.is_empty())
                            .then(|| b64.encode(encode_histogram(&s.failed))),
                        retries: 0,
                        new_conns: s.phases.new_conns,
                        phases: s.phases.encode().map(|p| b64.encode(p)),
                    })
                    .collect(),
                journeys: Vec::new(),
                exemplars: t
                    .stats
                    .iter()
                    .enumerate()
                    .flat_map(|(i, s)| {
                        let slow = s.exemplars.slowest.iter().map(move |e| (i, e, false));
                        slow.chain(s.exemplars.failures.iter().map(move |e| (i, e, true)))
                    })
                    .map(|(i, e, failed)| ExemplarRecord::of(e, t.index, i, failed))
                    .collect(),
            })
            .collect(),
    }
}

fn report(name: &str) -> (tempfile::TempDir, Report) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("r.db")).expect("store");
    let id = store.import_run(&fixture(name)).expect("import");
    let r = Report::load(&store, id).expect("load");
    (dir, r)
}

fn render(r: &Report, f: Format) -> String {
    String::from_utf8(f.exporter().render(r, "report").0).expect("utf-8")
}

fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
    }
    let expected = std::fs::read_to_string(&path).expect("golden file (UPDATE_GOLDEN=1 writes it)");
    assert_eq!(actual, expected, "{name} differs from its golden file");
}

#[test]
fn markdown_and_json_match_their_golden_files() {
    let (_d, r) = report("Checkout API");
    golden("report.md", &render(&r, Format::Markdown));
    golden("report.json", &render(&r, Format::Json));
    // The evidence survives the store: phases, the slowest and the first failing requests, with
    // the token an error body held redacted in every format.
    for f in [Format::Markdown, Format::Html, Format::Json] {
        let text = render(&r, f);
        for needle in ["Where the time goes", "Slowest requests", "First failures"] {
            let json = matches!(f, Format::Json);
            assert!(json || text.contains(needle), "{f:?} lacks {needle}");
        }
        assert!(text.contains("overloaded"), "{f:?} lost the error body");
        assert!(!text.contains("tk-should-not-show"), "{f:?} leaked a token");
    }
    let json: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).expect("json");
    let slowest = json["summary"]["slowest"].as_array().expect("slowest");
    assert_eq!(slowest.len(), 3, "the dashboard's three slowest");
    assert!(slowest.iter().all(|e| {
        e["headers"]
            .as_str()
            .is_some_and(|h| h.contains("x-cache: MISS") && !h.contains("set-cookie"))
    }));
    let (_d2, r2) = report("Checkout API");
    assert_eq!(
        render(&r, Format::Markdown),
        render(&r2, Format::Markdown),
        "deterministic"
    );
}

#[test]
fn markdown_links_its_svg_charts_relatively() {
    let (dir, r) = report("Checkout API");
    let out = dir.path().join("docs/performance/checkout.md");
    let files = loadbench::report::write(&r, Format::Markdown, &out, false).expect("write");
    let md = std::fs::read_to_string(&out).expect("md");
    // The fixture has errors (6 of the dashboard's), so an errors-by-kind chart too.
    for suffix in [
        "latency",
        "rate",
        "spectrum",
        "histogram",
        "heatmap",
        "errors",
    ] {
        let name = format!("checkout-{suffix}.svg");
        assert!(md.contains(&format!("]({name})")), "{md}");
        let svg = std::fs::read_to_string(out.with_file_name(&name)).expect("svg beside the md");
        roxmltree::Document::parse(&svg).expect("the SVG is well-formed");
    }
    assert_eq!(files.len(), 7);
    assert!(
        md.contains("**FAIL: run #1: error_rate < 0.1% (actual"),
        "verdict first, the run's own last line: {md}"
    );
}

#[test]
fn html_parses_holds_its_charts_and_escapes_hostile_names() {
    let (_d, r) = report("<script>alert('x')</script>");
    let html = render(&r, Format::Html);
    assert!(
        !html.contains("<script>"),
        "a scenario name must not inject markup"
    );
    assert!(html.contains("&lt;script&gt;"));
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .expect("the HTML is well-formed");
    let svgs = doc
        .descendants()
        .filter(|n| n.has_tag_name(("http://www.w3.org/2000/svg", "svg")))
        .count();
    assert_eq!(
        svgs, 6,
        "six inline charts: latency, rate, spectrum, histogram, heatmap, errors"
    );
    assert!(doc.descendants().any(|n| n.has_tag_name("table")));
}

#[test]
fn junit_counts_match_the_verdicts() {
    let (_d, r) = report("Checkout API");
    let xml = render(&r, Format::Junit);
    let doc = roxmltree::Document::parse(&xml).expect("JUnit XML parses");
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("suite");
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let failures = cases
        .iter()
        .filter(|c| c.children().any(|x| x.has_tag_name("failure")))
        .count();
    let verdicts = &r.summary.thresholds;
    assert_eq!(cases.len(), verdicts.len());
    assert_eq!(failures, verdicts.iter().filter(|t| !t.passed).count());
    assert_eq!(failures, 1, "error_rate < 0.1% fails in the fixture");
    assert_eq!(suite.attribute("failures"), Some("1"));
    assert_eq!(suite.attribute("tests"), Some("3"));
}

#[test]
fn the_hlog_reads_back_to_the_same_counts_and_percentiles() {
    let (_d, r) = report("Checkout API");
    let bytes = Format::Hlog.exporter().render(&r, "report").0;
    let mut merged = loadbench::metrics::new_histogram();
    let mut tagged = 0;
    for entry in IntervalLogIterator::new(&bytes) {
        if let LogEntry::Interval(h) = entry.expect("a valid log entry") {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(h.encoded_histogram())
                .expect("base64");
            let hist: hdrhistogram::Histogram<u64> = Deserializer::new()
                .deserialize(&mut raw.as_slice())
                .expect("histogram");
            if h.tag().is_some() {
                tagged += 1;
            } else {
                merged.add(&hist).expect("add");
            }
        }
    }
    let total = r.totals.total();
    assert_eq!(
        merged.len(),
        total.latency.len(),
        "same number of samples (warm-up excluded)"
    );
    for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
        assert_eq!(
            merged.value_at_quantile(q),
            total.latency.value_at_quantile(q),
            "q{q}"
        );
    }
    assert_eq!(
        tagged, 22,
        "one tagged interval per series per measured second"
    );
}

#[test]
fn no_format_leaks_a_secret() {
    let _g = common::serial();
    // A real run whose header uses ${env.TOKEN}: the engine sends the resolved value; no export may hold it.
    let secret = "s3cr3t-token-value-42";
    let text = "name = \"secrets\"\nduration = \"1s\"\n[targets]\ndemo = \"demo\"\n[load]\nmodel = \"open\"\nrate = 20\n\
[[requests]]\nname = \"echo\"\npath = \"/v1/echo\"\nheaders = { Authorization = \"Bearer ${env.TOKEN}\", x-api-key = \"literal-key-7\" }\n";
    let scenario = loadbench::scenario::Scenario::parse(text, None, &|n| {
        (n == "TOKEN").then(|| secret.to_string())
    })
    .expect("valid");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    let handle = loadbench::engine::start(scenario, loadbench::engine::RunOptions::default())
        .expect("start");
    let recorder = loadbench::store::Recorder::start(
        &db,
        loadbench::store::NewRun {
            name: "secrets".into(),
            scenario_text: text.into(),
            scenario_path: None,
            info: handle.info.clone(),
            targets: handle.target_urls.clone(),
            started_at: handle.started_at,
        },
    )
    .expect("recorder");
    let outcome = handle.wait(|t| recorder.tick(t.clone())).expect("finishes");
    assert_eq!(outcome.summary.total.errors, 0);
    let id = recorder
        .finish(loadbench::metrics::RunStatus::Completed, &outcome.summary)
        .expect("stored");
    let store = Store::open(&db).expect("store");
    let r = Report::load(&store, id).expect("report");
    // The demo's random port is said for what it is.
    assert!(
        render(&r, Format::Markdown)
            .contains("| target demo | the embedded demo service (http://127.0.0.1:"),
        "{}",
        render(&r, Format::Markdown)
    );
    for (name, f) in Format::ALL {
        let out = dir.path().join(format!("out.{}", f.extension()));
        let files = loadbench::report::write(&r, f, &out, false).expect("write");
        for file in files {
            let bytes = std::fs::read(&file).expect("read");
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(secret),
                "{name}: {} holds the resolved token",
                file.display()
            );
            assert!(
                !text.contains("literal-key-7"),
                "{name}: {} holds a literal API key",
                file.display()
            );
        }
    }
    let md = std::fs::read_to_string(dir.path().join("out.md")).expect("md");
    assert!(
        md.contains("[redacted]"),
        "credential headers are shown redacted"
    );
}

#[test]
fn a_comparison_report_shows_verdicts_an_overlay_and_junit_cases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("c.db")).expect("store");
    let base = store.import_run(&fixture("Checkout API")).expect("base");
    let same = store
        .import_run(&fixture_with(
            "Checkout API",
            1.0,
            "00000000-0000-4000-8000-000000000002",
        ))
        .expect("same");
    let slow = store
        .import_run(&fixture_with(
            "Checkout API",
            1.5,
            "00000000-0000-4000-8000-000000000003",
        ))
        .expect("slow");
    let r = Report::load_compared(&store, slow, &[base]).expect("load");
    let md = render(&r, Format::Markdown);
    assert!(
        md.contains("Against baseline #1 (Checkout API): **REGRESSED"),
        "{md}"
    );
    assert!(md.contains("| ingest@api | p95 |"), "{md}");
    // The phases beside: the slower run's server wait is 1.5 × the baseline's.
    assert!(md.contains("## Beside Checkout API"), "{md}");
    let fb = md
        .lines()
        .find(|l| l.starts_with("| ingest | first byte p95 |"))
        .unwrap_or_else(|| panic!("a first byte row: {md}"));
    assert!(fb.ends_with("| +50.0% |"), "{fb}");
    // With two requests, the latency of both together moves with the mix: shown, not judged.
    assert!(!md.contains("| all | p95 |"), "{md}");
    assert!(
        md.contains("latency of all requests together is not judged"),
        "{md}"
    );
    assert!(
        r.charts().iter().any(|(suffix, _, _)| *suffix == "compare"),
        "an overlaid spectrum"
    );
    let xml = render(&r, Format::Junit);
    let doc = roxmltree::Document::parse(&xml).expect("parses");
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("suite");
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let failed = |c: &roxmltree::Node<'_, '_>| c.children().any(|x| x.has_tag_name("failure"));
    let regressions: usize = r.comparisons[0]
        .comparison
        .requests
        .iter()
        .map(|(_, ch)| {
            ch.iter()
                .filter(|m| m.verdict == loadbench::analysis::compare::Verdict::Regressed)
                .count()
        })
        .sum();
    // Eleven measured seconds of 100 + 20 responses: the p50, p95 and p99 of ingest and the
    // dashboard's p50 and p95 regress by 50 %; the dashboard's 220 responses hold no p99 (10
    // beyond it need 1,000), which the report says instead of guessing.
    assert_eq!(regressions, 5, "{md}");
    assert!(
        md.contains("not enough data for p99") && md.contains("run longer"),
        "{md}"
    );
    assert_eq!(
        cases.len(),
        3 + 9,
        "3 thresholds + all together's error share + 2 requests × (3 percentiles + error share)"
    );
    assert_eq!(cases.iter().filter(|c| failed(c)).count(), 1 + regressions);
    // "Not enough data" is neither a pass nor a failure: skipped, with the reason.
    let skipped: Vec<_> = cases
        .iter()
        .filter(|c| c.children().any(|x| x.has_tag_name("skipped")))
        .collect();
    assert_eq!(skipped.len(), 1, "the dashboard's p99: {xml}");
    assert!(
        skipped[0]
            .attribute("name")
            .is_some_and(|n| n.contains("p99"))
    );
    assert_eq!(suite.attribute("skipped"), Some("1"));
    for c in &cases {
        // Stable class names (no local run ids), the measured time, the values shown.
        let class = c.attribute("classname").unwrap_or_default();
        assert!(
            class.starts_with("thresholds.") || class == "baseline",
            "{class}"
        );
        assert_ne!(c.attribute("time"), Some("0"), "{xml}");
        let out = c
            .children()
            .find(|x| x.has_tag_name("system-out"))
            .and_then(|x| x.text())
            .unwrap_or_default();
        assert!(
            out.contains("actual") || out.contains(" → "),
            "every case says what was measured: {out}"
        );
    }
    let json: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).expect("json");
    assert_eq!(json["comparisons"][0]["regressed"], true);
    // An unchanged run: no regression anywhere.
    let r = Report::load_compared(&store, same, &[base]).expect("load");
    assert!(!r.comparisons[0].comparison.regressed);
    let md = render(&r, Format::Markdown);
    // The verdict on its own line; what qualifies it (one baseline run: drift assumed) below it,
    // one note a line, not a parenthesis after the verdict.
    assert!(
        md.contains("Against baseline #1 (Checkout API): **no significant regression**.\n\n- one baseline run: run-to-run drift is taken to be"),
        "{md}"
    );
    let html = render(&r, Format::Html);
    assert!(
        html.contains("no significant regression</p>\n<ul class=\"notes\">\n<li>one baseline run"),
        "{html}"
    );
}
