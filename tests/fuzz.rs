//! Property tests for everything that reads outside input — scenarios, curl lines, HAR files,
//! benchmark files, run exports, stored histograms, thresholds: whatever the bytes, an answer
//! (a value or an error), never a panic. Bounded for `cargo test`; `bench/fuzz.sh N` runs N
//! cases of each.

use proptest::prelude::*;

use loadbench::scenario::Scenario;

fn fixture(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .expect(path)
}

/// Mutations of a valid text: bytes replaced, removed or inserted at random places, and
/// numbers swapped for extremes, so inputs stay close enough to valid to reach deep code.
fn mutated(base: String) -> impl Strategy<Value = String> {
    let edits = prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            prop_oneof![
                Just(""),
                Just("0"),
                Just("-1"),
                Just("1e308"),
                Just("-1e308"),
                Just("NaN"),
                Just("18446744073709551616"),
                Just("\""),
                Just("{"),
                Just("]"),
                Just("\\u0000"),
                Just("${"),
                Just("\n"),
                Just("99999999999999999999"),
            ],
            0usize..4,
        ),
        0..6,
    );
    edits.prop_map(move |edits| {
        let mut s = base.clone();
        for (at, insert, remove) in edits {
            if s.is_empty() {
                s.push_str(insert);
                continue;
            }
            let mut i = at.index(s.len());
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            let mut j = (i + remove).min(s.len());
            while !s.is_char_boundary(j) {
                j += 1;
            }
            s.replace_range(i..j, insert);
        }
        s
    })
}

fn cases() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn scenarios_parse_or_say_why(text in mutated(fixture("scenarios/api-mix.toml"))) {
        let _ = Scenario::parse(&text, None, &|_| Some("x".into()));
    }

    #[test]
    fn any_text_as_a_scenario(text in ".{0,400}") {
        let _ = Scenario::parse(&text, None, &|_| None);
    }

    #[test]
    fn curl_lines_import_or_say_why(text in mutated(
        "curl -X POST 'http://127.0.0.1:8080/v1/events?x=1' -H 'Authorization: Bearer abc' \
         -H 'content-type: application/json' --data-raw '{\"a\":1,\"password\":\"p\"}' -G -u u:p -k"
            .to_string()
    )) {
        let _ = loadbench::scenario::import::curl(&text);
    }

    #[test]
    fn har_files_import_or_say_why(text in mutated(
        serde_json::json!({"log": {"version": "1.2", "entries": [
            {"request": {"method": "POST", "url": "https://api.test/v1/a?token=t&x=1",
              "headers": [{"name": "Authorization", "value": "Bearer x"}],
              "postData": {"mimeType": "application/json", "text": "{\"password\":\"p\"}"}},
             "response": {"status": 201, "content": {"mimeType": "application/json"}},
             "_resourceType": "fetch"},
            {"request": {"method": "GET", "url": "https://cdn.test/app.js", "headers": []},
             "response": {"status": 200, "content": {"mimeType": "text/javascript"}}}
        ]}}).to_string()
    )) {
        let _ = loadbench::scenario::import::har(&text, None, false, false);
        let _ = loadbench::scenario::import::har(&text, None, false, true);
        let _ = loadbench::scenario::import::har(&text, Some("api.test"), true, false);
    }

    #[test]
    fn benchmark_files_import_or_say_why(
        k6 in mutated(fixture("tests/fixtures/k6-1.1-handle-summary.json")),
        oha in mutated(fixture("tests/fixtures/oha-1.16.json")),
        csv in mutated(fixture("scenarios/benchmarks/competitor-a.csv")),
    ) {
        for text in [&k6, &oha, &csv] {
            let _ = loadbench::benchmark::parse(text, None, "fuzz");
        }
    }

    #[test]
    fn thresholds_parse_or_say_why(text in ".{0,40}") {
        let _ = text.parse::<loadbench::thresholds::Threshold>();
    }

    #[test]
    fn histogram_bytes_decode_or_say_why(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut with_cookie = vec![0x1c, 0x84, 0x93, 0x14];
        with_cookie.extend_from_slice(&bytes);
        let _ = loadbench::metrics::decode_histogram(&bytes);
        let _ = loadbench::metrics::decode_histogram(&with_cookie);
    }

    /// Well-wrapped histograms (the right cookies, a valid zlib stream) whose header and counts
    /// are hostile: what the whole-run walks read from a database an import let in.
    #[test]
    fn hostile_counts_add_or_say_why(
        digits in 0u32..6,
        low in 0u64..5,
        high in prop_oneof![Just(1u64 << 20), any::<u64>()],
        counts in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let bytes = wrapped(digits, low, high, &counts);
        let _ = loadbench::metrics::decode_histogram(&bytes);
        let mut into = loadbench::metrics::new_histogram();
        let _ = loadbench::metrics::add_encoded(&bytes, &mut into);
        let mut buckets = loadbench::metrics::Buckets::default();
        if buckets.add_encoded(&bytes).is_ok() {
            let _ = (buckets.mean(), buckets.value_at_quantile(0.99));
            buckets.record_into(&mut into);
        }
    }
}

/// A run export to mutate: built once, from a real (short) run against the demo.
fn export_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("f.db");
        let s = dir.path().join("s.toml");
        std::fs::write(
            &s,
            "name = \"f\"\nduration = \"2s\"\n[targets]\napi = \"demo\"\n[load]\nmodel = \"open\"\nrate = 20\n[[requests]]\nname = \"r\"\npath = \"/v1/flaky\"\n",
        )
        .expect("write");
        let lb = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_loadbench"))
                .arg("--db")
                .arg(&db)
                .args(args)
                .output()
                .expect("runs")
        };
        assert!(lb(&["run", s.to_str().expect("p"), "-q"]).status.code().is_some());
        let out = dir.path().join("e.json");
        let o = lb(&["runs", "export", "1", "-o", out.to_str().expect("p")]);
        assert_eq!(o.status.code(), Some(0));
        std::fs::read_to_string(out).expect("export")
    })
}

proptest! {
    // Each case runs a whole import and every reader: a quarter of the cases asked for.
    #![proptest_config(ProptestConfig { cases: (cases().cases / 4).max(16), ..cases() })]

    #[test]
    fn run_exports_import_or_say_why_and_what_is_stored_reads_back(
        text in mutated(export_text().to_string())
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = loadbench::store::Store::open(&dir.path().join("i.db")).expect("store");
        let Ok(doc) = serde_json::from_str::<loadbench::store::RunExport>(&text) else {
            return Ok(());
        };
        if let Ok(id) = store.import_run(&doc) {
            // Whatever an import lets in, every reader copes with.
            let run = store.run(id).expect("reads back");
            let _ = store.ticks(id).expect("ticks");
            let _ = store.series(id, run.info.keys.len()).expect("series");
            let r = loadbench::report::Report::load(&store, id).expect("report");
            for f in ["md", "html", "json", "csv", "junit", "hlog"] {
                let f = loadbench::report::Format::from_name(f).expect("format");
                let _ = f.exporter().render(&r, "x");
            }
            let _ = loadbench::printer::summary(&r.summary);
        }
    }
}

/// The first `n` lines of a (gzipped) fixture of another tool's results.
fn foreign_head(name: &str, n: usize) -> String {
    use std::io::Read;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/foreign")
        .join(name);
    let bytes = std::fs::read(&path).expect("fixture");
    let mut text = String::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .expect("gzip");
    } else {
        text = String::from_utf8(bytes).expect("utf-8");
    }
    text.lines().take(n).collect::<Vec<_>>().join("\n")
}

/// Reads `text` as `format` from a file, as `runs import` would: an answer, never a panic.
fn read_foreign(text: &str, format: loadbench::foreign::Format) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("results");
    std::fs::write(&path, text).expect("write");
    let _ = loadbench::foreign::read(&path, format, &mut |_| Ok(()));
    let _ = loadbench::foreign::detect(&path);
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn other_tools_results_read_or_say_why(
        k6 in mutated(foreign_head("k6-1.1.ndjson.gz", 60)),
        k6csv in mutated(foreign_head("k6-1.1.csv.gz", 60)),
        jtl in mutated(foreign_head("jmeter-2.13-header.jtl.gz", 40)),
        xml in mutated(foreign_head("jmeter-2.13.xml.gz", 40)),
        art in mutated(foreign_head("artillery-2.json", 400)),
        oha in mutated(foreign_head("oha-1.16.csv", 40)),
    ) {
        use loadbench::foreign::Format;
        read_foreign(&k6, Format::K6Json);
        read_foreign(&k6csv, Format::K6Csv);
        read_foreign(&jtl, Format::JmeterCsv);
        read_foreign(&xml, Format::JmeterXml);
        read_foreign(&art, Format::Artillery);
        read_foreign(&oha, Format::OhaCsv);
    }

    #[test]
    fn metrics_pages_and_selectors_parse_or_say_why(
        page in mutated("# TYPE x_total counter\nx_total{a=\"1\",b=\"q\\\"\"} 12\n# TYPE h histogram\nh_bucket{le=\"0.1\"} 3\nh_bucket{le=\"+Inf\"} 4\nup 1\n".to_string()),
        any_text in ".{0,200}",
        selector in ".{0,40}",
    ) {
        let _ = loadbench::scrape::prom::parse(&page);
        let _ = loadbench::scrape::prom::parse(&any_text);
        let _ = loadbench::scenario::MetricSelector::parse(&selector);
    }
}

/// An HdrHistogram V2 compressed histogram around `counts` as they are, under a header of the
/// given precision and range.
fn wrapped(digits: u32, low: u64, high: u64, counts: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut inner = Vec::new();
    inner.extend_from_slice(&0x1c84_9313u32.to_be_bytes());
    inner.extend_from_slice(&(counts.len() as u32).to_be_bytes());
    inner.extend_from_slice(&0u32.to_be_bytes());
    inner.extend_from_slice(&digits.to_be_bytes());
    inner.extend_from_slice(&low.to_be_bytes());
    inner.extend_from_slice(&high.to_be_bytes());
    inner.extend_from_slice(&1f64.to_be_bytes());
    inner.extend_from_slice(counts);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = z.write_all(&inner);
    let body = z.finish().unwrap_or_default();
    let mut out = 0x1c84_9314u32.to_be_bytes().to_vec();
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}
