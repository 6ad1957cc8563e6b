//! Comparing stored runs: the CI gate (`run --compare-to baseline`) and `loadbench compare`,
//! on real runs against the demo service.

mod common;

use std::process::Command;

const SCENARIO: &str = r#"
name = "gate"
duration = "11s"
warmup = "1s"
[targets]
api = "demo"
[load]
model = "open"
rate = 40
[[requests]]
name = "slow"
path = "/v1/echo"
query = { delay_ms = 20 }
"#;

fn lb(db: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_loadbench"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_baseline_gate_passes_an_unchanged_run_and_fails_a_slower_one() {
    let _g = common::serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gate.db");
    let file = dir.path().join("gate.toml");
    std::fs::write(&file, SCENARIO).expect("write");
    let f = file.to_str().expect("path");
    // A --compare-to that names nothing is an invalid flag: exit 2, nothing sent or stored.
    for bad in ["nonsense", "7", "1,x"] {
        let started = std::time::Instant::now();
        let (code, _, err) = lb(&db, &["run", f, "-q", "--compare-to", bad]);
        assert_eq!(code, 2, "--compare-to {bad}: {err}");
        assert!(err.contains("--compare-to"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
    }
    let (code, out, _) = lb(&db, &["runs", "--json"]);
    assert_eq!((code, out.trim()), (0, "[]"), "nothing was stored");
    // No baseline yet: the run is not compared, and it says so plainly (exit 0: thresholds only).
    let (code, _, err) = lb(&db, &["run", f, "-q", "--compare-to", "baseline"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("has no baseline yet"), "{err}");
    let (code, _, err) = lb(&db, &["runs", "baseline", "1"]);
    assert_eq!(code, 0, "{err}");
    // Same service, same scenario: no significant change, exit 0.
    let (code, _, err) = lb(&db, &["run", f, "-q", "--compare-to", "baseline"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("compare: baseline #1 vs candidate #2"),
        "{err}"
    );
    assert!(!err.contains("REGRESSED"), "{err}");
    // 400 measured responses a side hold no p99 worth comparing (10 beyond it need 1,000): the
    // gate says so rather than reading a few slow responses as a trend.
    assert!(
        err.contains("not enough data for p99") && err.contains("run longer"),
        "{err}"
    );
    assert!(
        err.contains("one baseline run"),
        "says the drift is assumed: {err}"
    );
    // The same scenario against a service 30 ms slower: +150 % latency, exit 4 — beyond what a
    // shared machine can explain (a busy neighbour widens the allowance by 25 %), so the gate
    // holds on a busy runner too.
    let demo = common::DemoProcess::start(&["--delay", "30ms"]);
    let url = demo.url.clone();
    let target = format!("api={url}");
    let (code, _, err) = lb(
        &db,
        &[
            "run",
            f,
            "-q",
            "--target",
            &target,
            "--compare-to",
            "baseline",
        ],
    );
    drop(demo);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("REGRESSED") && err.contains("significant regression"),
        "{err}"
    );
    // Whatever scrolled by, the last line says what failed and against what.
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("FAIL: run #") && last.contains("vs baseline #"),
        "{last}"
    );
    // `compare` gives the same verdicts, as JSON for scripts.
    let (code, out, _) = lb(&db, &["compare", "1", "2", "latest", "--json"]);
    assert_eq!(code, 4);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["schema"], "loadbench.compare/1");
    let v = &v["comparisons"];
    assert_eq!(v[0]["regressed"], false);
    assert_eq!(v[1]["regressed"], true);
    assert!(v[1]["requests"][0]["request"].is_string());
    let p50 = v[1]["requests"][0]["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["metric"] == "p50")
        .expect("p50")
        .clone();
    assert_eq!(p50["verdict"], "regressed");
    let rel = p50["relative"].as_f64().expect("relative");
    assert!(
        (1.2..1.8).contains(&rel),
        "20 ms → 50 ms is about +150 %: {rel}"
    );
    assert!(
        p50["ci_low"].as_f64().expect("low") <= rel
            && rel <= p50["ci_high"].as_f64().expect("high")
    );
}
