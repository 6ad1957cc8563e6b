//! Other tools' raw results imported as runs, against files those tools wrote themselves
//! (tests/fixtures/foreign/README.md says how each was made): counts equal the tool's own
//! figures, percentiles are true quantiles of the raw requests, bad files store nothing.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use loadbench::metrics::Summary;
use loadbench::store::Store;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/foreign")
        .join(name)
}

/// A fresh database for one test.
fn db(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("loadbench-foreign-{tag}-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// `loadbench runs import ARGS…` into `db`: exit code, stdout, stderr.
fn import(db: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_loadbench"))
        .env("LOADBENCH_DB", db)
        .args(["runs", "import"])
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Imports `file` and returns the stored run's summary.
fn imported(tag: &str, file: &str, extra: &[&str]) -> (Store, i64, Summary) {
    let d = db(tag);
    let path = fixture(file);
    let mut args = vec![path.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    let (code, out, err) = import(&d, &args);
    assert_eq!(code, 0, "{err}");
    let id: i64 = out.trim().parse().expect("the run id on stdout");
    let store = Store::open(&d).expect("store");
    let summary = store.run(id).expect("run").summary.expect("a summary");
    (store, id, summary)
}

fn gunzip(name: &str) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(fixture(name)).expect("fixture"))
        .read_to_string(&mut text)
        .expect("gzip");
    text
}

/// `ours` (ms) is a `q`-quantile of `raw` (ms) within HDR precision: at least q of the values
/// are at or below it, and fewer than q strictly below it.
fn is_quantile(raw: &[f64], q: f64, ours: f64) {
    let tol = ours * 0.001 + 0.001;
    let at_or_below = raw.iter().filter(|v| **v <= ours + tol).count() as f64;
    let below = raw.iter().filter(|v| **v < ours - tol).count() as f64;
    let n = raw.len() as f64;
    assert!(
        at_or_below >= (q * n).floor() && below < (q * n).ceil().max(1.0),
        "{ours} ms is not a {q}-quantile of the {n} raw values ({below} below, {at_or_below} at or below)"
    );
}

#[test]
fn k6_json_counts_equal_k6s_own_summary_and_percentiles_are_quantiles_of_its_points() {
    let (_s, _id, sum) = imported("k6json", "k6-1.1.ndjson.gz", &[]);
    let k6: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("k6-1.1-summary.json")).unwrap()).unwrap();
    let m = &k6["metrics"];
    assert_eq!(sum.total.count, m["http_reqs"]["count"].as_u64().unwrap());
    // k6's rate metric counts `true` (a failed request) as a pass.
    assert_eq!(
        sum.total.errors,
        m["http_req_failed"]["passes"].as_u64().unwrap()
    );
    let k6_max = m["http_req_duration"]["max"].as_f64().unwrap();
    assert!((sum.total.latency.max_ms - k6_max).abs() <= k6_max * 0.001 + 0.001);
    // The raw points, as the file holds them.
    let text = gunzip("k6-1.1.ndjson.gz");
    let points: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "Point" && v["metric"] == "http_req_duration")
        .collect();
    let raw: Vec<f64> = points
        .iter()
        .map(|p| p["data"]["value"].as_f64().unwrap())
        .collect();
    assert_eq!(raw.len() as u64, sum.total.count);
    for (q, ours) in [
        (0.5, sum.total.latency.p50_ms),
        (0.95, sum.total.latency.p95_ms),
        (0.99, sum.total.latency.p99_ms),
    ] {
        is_quantile(&raw, q, ours);
    }
    // Series by k6's `name` tag; failures by cause.
    let names: Vec<&str> = sum.endpoints.iter().map(|e| e.request.as_str()).collect();
    assert!(names.contains(&"echo"), "{names:?}");
    let refused = points
        .iter()
        .filter(|p| p["data"]["tags"]["status"] == "0")
        .count() as u64;
    let s503 = points
        .iter()
        .filter(|p| p["data"]["tags"]["status"] == "503")
        .count() as u64;
    assert!(refused > 0);
    assert_eq!(
        sum.total
            .error_kinds
            .get("connect_refused")
            .copied()
            .unwrap_or(0),
        refused
    );
    assert_eq!(
        sum.total.error_kinds.get("http_5xx").copied().unwrap_or(0),
        s503
    );
    let refused_series = sum
        .endpoints
        .iter()
        .find(|e| e.request.contains("nothing-here"))
        .expect("the refused request's series");
    assert_eq!(refused_series.target, "127.0.0.1:18182");
}

#[test]
fn k6_csv_of_the_same_run_gives_the_same_counts() {
    let (_s, _id, csv) = imported("k6csv", "k6-1.1.csv.gz", &[]);
    let (_t, _jd, json) = imported("k6csv-json", "k6-1.1.ndjson.gz", &[]);
    assert_eq!(csv.total.count, json.total.count);
    assert_eq!(csv.total.errors, json.total.errors);
    assert_eq!(csv.total.status_codes, json.total.status_codes);
    assert!((csv.total.latency.p95_ms - json.total.latency.p95_ms).abs() < 1e-9);
}

#[test]
fn oha_db_keeps_the_corrected_latency_and_matches_ohas_summary() {
    let (store, id, sum) = imported("ohadb", "oha-1.16.db", &["--tool-version", "1.16.0"]);
    let oha: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("oha-1.16-summary.json")).unwrap()).unwrap();
    let codes = oha["statusCodeDistribution"].as_object().unwrap();
    let responses: u64 = codes.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(sum.total.count, responses);
    assert_eq!(
        sum.total.status_codes.get("503").copied(),
        codes.get("503").and_then(|v| v.as_u64())
    );
    let conn = rusqlite::Connection::open(fixture("oha-1.16.db")).unwrap();
    let raw: Vec<f64> = conn
        .prepare("SELECT (end - start_latency_correction) * 1000 FROM oha")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|v| v.unwrap())
        .collect();
    for (q, key, ours) in [
        (0.5, "p50", sum.total.latency.p50_ms),
        (0.95, "p95", sum.total.latency.p95_ms),
        (0.99, "p99", sum.total.latency.p99_ms),
    ] {
        is_quantile(&raw, q, ours);
        let theirs = oha["latencyPercentiles"][key].as_f64().unwrap() * 1000.0;
        assert!(
            (ours - theirs).abs() <= theirs * 0.05,
            "{key}: ours {ours} ms, oha {theirs} ms"
        );
    }
    let run = store.run(id).unwrap();
    assert_eq!(run.version, "oha 1.16.0");
    assert!(run.notes.contains("coordinated omission"), "{}", run.notes);
    assert!(run.row.tags.contains(&"oha".to_string()));
}

#[test]
fn oha_csv_counts_every_row() {
    let (_s, _id, sum) = imported("ohacsv", "oha-1.16.csv", &[]);
    let rows = std::fs::read_to_string(fixture("oha-1.16.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(sum.total.count, rows as u64);
}

#[test]
fn jmeter_jtls_count_what_jmeters_own_summariser_counted() {
    // The figures JMeter's summariser printed at the end of each run ("s = 666 … Err: 236").
    for (file, samples, errors) in [
        ("jmeter-2.13.jtl.gz", 666, 236),
        ("jmeter-2.13-header.jtl.gz", 561, 205),
        ("jmeter-2.13.xml.gz", 573, 209),
    ] {
        let (_s, _id, sum) = imported("jmeter", file, &[]);
        assert_eq!(
            (sum.total.count, sum.total.errors),
            (samples, errors),
            "{file}"
        );
        let refused = sum
            .endpoints
            .iter()
            .find(|e| e.request == "refused")
            .expect(file);
        assert_eq!(
            refused.error_kinds.get("connect_refused").copied(),
            Some(refused.count),
            "{file}"
        );
        let flaky = sum
            .endpoints
            .iter()
            .find(|e| e.request == "flaky")
            .expect(file);
        assert_eq!(
            flaky.error_kinds.get("http_5xx").copied(),
            flaky.status_codes.get("503").copied()
        );
    }
}

#[test]
fn artillery_periods_become_ticks_with_exact_counts_and_its_percentiles() {
    let (store, id, sum) = imported(
        "artillery",
        "artillery-2.json",
        &["--tool-version", "2.0.21"],
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("artillery-2.json")).unwrap()).unwrap();
    let agg = &report["aggregate"]["counters"];
    assert_eq!(sum.total.count, agg["http.requests"].as_u64().unwrap());
    let errors: u64 =
        agg["errors.ECONNREFUSED"].as_u64().unwrap() + agg["http.codes.503"].as_u64().unwrap();
    assert_eq!(sum.total.errors, errors);
    // Each period's p95 per endpoint is Artillery's own (whole ms).
    let ticks = store.ticks(id).unwrap();
    let run = store.run(id).unwrap();
    let periods = report["intermediate"].as_array().unwrap();
    assert_eq!(ticks.len(), periods.len());
    let mut checked = 0;
    for (tick, period) in ticks.iter().zip(periods) {
        for (key, stats) in run.info.keys.iter().zip(&tick.stats) {
            let name = format!(
                "plugins.metrics-by-endpoint.response_time./v1/echo ({})",
                key.request
            );
            let Some(s) = period["summaries"].get(&name) else {
                continue;
            };
            for q in ["p50", "p95", "p99"] {
                let theirs = s[q].as_f64().unwrap();
                let p: f64 = match q {
                    "p50" => 0.5,
                    "p95" => 0.95,
                    _ => 0.99,
                };
                let ours = stats.latency.value_at_quantile(p) as f64 / 1000.0;
                assert!(
                    (ours - theirs).abs() <= theirs * 0.01 + 0.5,
                    "{q}: ours {ours}, artillery {theirs}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(
        checked,
        3 * periods.len(),
        "every period's echo percentiles compared"
    );
    assert!(run.notes.contains("interpolated"), "{}", run.notes);
}

#[test]
fn importing_the_same_file_twice_is_one_run_and_it_reports_like_any_other() {
    let d = db("twice");
    let f = fixture("jmeter-2.13.jtl.gz");
    let f = f.to_str().unwrap();
    let (c1, id1, _) = import(&d, &[f]);
    let (c2, id2, err) = import(&d, &[f]);
    assert_eq!((c1, c2), (0, 0));
    assert_eq!(id1, id2);
    assert!(err.contains("already stored"), "{err}");
    let md_path = std::env::temp_dir().join(format!("loadbench-foreign-{}.md", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_loadbench"))
        .env("LOADBENCH_DB", &d)
        .args(["report", id1.trim(), "--format", "md", "--force", "-o"])
        .arg(&md_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = std::fs::read_to_string(&md_path).unwrap();
    assert!(md.contains("| measured by | jmeter"), "{md}");
    assert!(md.contains("measured by jmeter, run #"), "{md}");
    assert!(
        md.contains("Latency as jmeter measured it: from each request's actual send"),
        "no claim of a correction JMeter did not make: {md}"
    );
    assert!(!md.contains("coordinated omission corrected"), "{md}");
    assert!(
        !md.contains("## Scenario"),
        "no empty scenario section: {md}"
    );
    assert!(md.contains("jmeter"), "{md}");
}

/// Each bad file: an error naming the file and line, exit 2 or more, and nothing stored.
#[test]
fn malformed_files_are_refused_with_their_line_and_store_nothing() {
    let dir = std::env::temp_dir().join(format!("loadbench-foreign-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let k6 = gunzip("k6-1.1.ndjson.gz");
    let mut k6_lines: Vec<&str> = k6.lines().take(40).collect();
    k6_lines[5] = "{\"metric\":\"http_req_duration\",\"type\":\"Point\",\"data\":{\"time\":";
    let late = k6.lines().nth(3).unwrap().replace("2026-", "2126-");
    let mut k6_far: Vec<&str> = k6.lines().take(10).collect();
    k6_far.push(&late);
    let jtl = gunzip("jmeter-2.13-header.jtl.gz");
    let mut jtl_lines: Vec<String> = jtl.lines().take(20).map(str::to_string).collect();
    let fields: Vec<&str> = jtl.lines().nth(7).unwrap().split(',').collect();
    jtl_lines[7] = format!("{},{},{}", fields[0], "soon", fields[2..].join(","));
    let cases: Vec<(&str, String, &str)> = vec![
        ("broken.ndjson", k6_lines.join("\n"), ":6:"),
        ("far.ndjson", k6_far.join("\n"), ":11:"),
        ("broken.jtl", jtl_lines.join("\n"), ":8:"),
        (
            "broken-artillery.json",
            "{\"aggregate\":{\"counters\":{}},\"intermediate\":[{\"period\":\"soon\",\"counters\":{}}]}".into(),
            "intermediate[0]",
        ),
        ("nothing.txt", "hello\n".into(), "not a file loadbench can read"),
    ];
    let d = db("bad");
    for (name, text, located) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let (code, out, err) = import(&d, &[path.to_str().unwrap()]);
        assert!(code >= 1 && out.is_empty(), "{name}: {code} {out} {err}");
        assert!(err.contains(name) && err.contains(located), "{name}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // Our own database is SQLite but not oha's.
    let (code, _, err) = import(&d, &[d.to_str().unwrap(), "--format", "oha-db"]);
    assert!(code >= 1 && err.contains("not an oha database"), "{err}");
    let store = Store::open(&d).unwrap();
    assert!(
        store.list_runs(&Default::default()).unwrap().is_empty(),
        "a bad file stored a run"
    );
}

#[test]
fn filed_under_one_of_our_scenarios_it_takes_our_target_names_and_thresholds() {
    let d = db("ours");
    let dir = tempfile::tempdir().unwrap();
    // One run of ours against the server k6 measured (nothing listens there now: the run stops
    // early, which is enough to know the scenario's targets and thresholds).
    let scenario = dir.path().join("mix.toml");
    std::fs::write(
        &scenario,
        "name = \"mix\"\nduration = \"3s\"\nwarmup = \"0s\"\nthresholds = [\"p95 < 200ms\"]\n\
         [targets]\napi = \"http://127.0.0.1:18181\"\n[load]\nmodel = \"open\"\nrate = 5\n\
         [[requests]]\nname = \"echo\"\npath = \"/v1/echo\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_loadbench"))
        .env("LOADBENCH_DB", &d)
        .args(["run", scenario.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.code().is_some(), "the run ended");
    let f = fixture("k6-1.1.ndjson.gz");
    let (code, out, err) = import(&d, &[f.to_str().unwrap(), "--scenario", "mix"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("filed under scenario \"mix\""), "{err}");
    let store = Store::open(&d).unwrap();
    let run = store.run(out.trim().parse().unwrap()).unwrap();
    let echo = run.info.keys.iter().find(|k| k.request == "echo").unwrap();
    assert_eq!(
        echo.target, "api",
        "k6's 127.0.0.1:18181 is our target `api`"
    );
    let refused = run
        .info
        .keys
        .iter()
        .find(|k| k.request.contains("18182"))
        .unwrap();
    assert_eq!(
        refused.target, "127.0.0.1:18182",
        "a server the scenario does not name keeps its address"
    );
    let summary = run.summary.unwrap();
    assert_eq!(summary.thresholds.len(), 1, "judged by our threshold");
    assert!(summary.thresholds[0].passed);
}
