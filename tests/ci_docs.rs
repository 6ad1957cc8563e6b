//! The CI example in docs/ci is real: its workflow parses as YAML, its scenario is valid, and
//! its loadbench lines, run locally in order for a first build on main and a second on a pull
//! request, do what the comments say (baseline kept, exported, re-imported, compared, reported).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use common::serial;
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Pairs of names and texts: steps (name, script) or environment variables (name, value).
type Named = Vec<(String, String)>;

/// The `run:` scripts of the workflow's steps, in order, with the step names, and its env.
fn workflow() -> (Named, Named) {
    let text = std::fs::read_to_string(root().join("docs/ci/github-actions.yml")).expect("read");
    let docs = YamlLoader::load_from_str(&text).expect("the workflow is valid YAML");
    let doc = &docs[0];
    let env = doc["env"]
        .as_hash()
        .expect("env")
        .iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
        .collect();
    let jobs = doc["jobs"].as_hash().expect("jobs");
    assert_eq!(jobs.len(), 1);
    let (_, job) = jobs.iter().next().expect("a job");
    let steps = job["steps"].as_vec().expect("steps");
    let runs = steps
        .iter()
        .filter_map(|s| match (&s["name"], &s["run"]) {
            (Yaml::String(n), Yaml::String(r)) => Some((n.clone(), r.clone())),
            (_, Yaml::String(r)) => Some((String::new(), r.clone())),
            _ => None,
        })
        .collect();
    (runs, env)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

struct Build<'a> {
    dir: &'a Path,
    env: Vec<(String, String)>,
    demo: Option<Child>,
    main: bool,
    /// (command line, exit code, last line of stderr)
    ran: Vec<(String, i32, String)>,
}

impl Build<'_> {
    fn step(&mut self, script: &str) {
        let mut skip_block = false;
        for line in script.lines().map(str::trim) {
            // `if [ -f FILE ]; then` … `fi`: the test, done here.
            if let Some(rest) = line.strip_prefix("if [ -f ") {
                let file = rest.split(' ').next().unwrap_or_default();
                skip_block = !self.dir.join(file).exists();
                continue;
            }
            if line == "fi" {
                skip_block = false;
                continue;
            }
            if skip_block || !line.starts_with("loadbench ") {
                continue;
            }
            let words: Vec<&str> = line.trim_end_matches('&').split_whitespace().collect();
            if words[1] == "demo" {
                // The service under test: the demo, on a free port instead of 18080.
                let port = free_port();
                let child = Command::new(env!("CARGO_BIN_EXE_loadbench"))
                    .args(["demo", "--port", &port.to_string()])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("demo starts");
                self.demo = Some(child);
                self.env.retain(|(k, _)| k != "API_URL");
                self.env
                    .push(("API_URL".into(), format!("http://127.0.0.1:{port}")));
                std::thread::sleep(std::time::Duration::from_millis(500));
                continue;
            }
            let out = Command::new(env!("CARGO_BIN_EXE_loadbench"))
                .args(&words[1..])
                .current_dir(self.dir)
                .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .output()
                .expect("runs");
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            let code = out.status.code().unwrap_or(-1);
            assert!(
                matches!(code, 0 | 4),
                "`{line}` exited {code} ({} build):\n{err}",
                if self.main { "main" } else { "pull request" }
            );
            let last = err.lines().last().unwrap_or_default().to_string();
            self.ran.push((line.to_string(), code, last));
        }
    }
}

fn build(dir: &Path, main: bool) -> Vec<(String, i32, String)> {
    let (steps, env) = workflow();
    let mut b = Build {
        dir,
        env,
        demo: None,
        main,
        ran: Vec::new(),
    };
    for (name, script) in &steps {
        if name.starts_with("Keep the baseline") && !main {
            continue; // `if: github.ref == 'refs/heads/main'`
        }
        b.step(script);
    }
    if let Some(mut d) = b.demo.take() {
        let _ = d.kill();
        let _ = d.wait();
    }
    b.ran
}

#[test]
fn the_ci_example_runs_as_written() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("perf")).expect("perf/");
    std::fs::copy(
        root().join("docs/ci/perf.toml"),
        dir.path().join("perf/api.toml"),
    )
    .expect("the scenario in place");
    // A first build on main: no baseline yet, so the gate judges thresholds only; then the run
    // becomes the baseline and is exported into the repository.
    let first = build(dir.path(), true);
    let gate = first
        .iter()
        .find(|(l, _, _)| l.starts_with("loadbench run "))
        .expect("the gate ran");
    assert_eq!(gate.1, 0, "{first:?}");
    assert!(gate.2.starts_with("PASS: run #1"), "{}", gate.2);
    assert!(dir.path().join("perf/baseline.json").exists());
    assert!(dir.path().join("docs/performance/api.md").exists());
    assert!(dir.path().join("perf-junit.xml").exists());
    // A pull request's build with a cold cache: the baseline comes back from the repository.
    std::fs::remove_dir_all(dir.path().join(".loadbench")).expect("cold cache");
    let second = build(dir.path(), false);
    assert!(
        second
            .iter()
            .any(|(l, c, _)| l.starts_with("loadbench runs import") && *c == 0),
        "{second:?}"
    );
    let gate = second
        .iter()
        .find(|(l, _, _)| l.starts_with("loadbench run "))
        .expect("the gate ran");
    assert!(
        gate.2.contains("against baseline #1") || gate.2.contains("vs baseline #1"),
        "the pull request was compared with main's baseline: {}",
        gate.2
    );
    let report = std::fs::read_to_string(dir.path().join("docs/performance/api.md")).expect("md");
    assert!(report.contains(&format!("**{}**", gate.2)), "{report}");
}
