//! Helpers shared by the integration tests: real loopback HTTP, real engine runs, one at a time.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use loadbench::engine::{self, Outcome, RunOptions};
use loadbench::metrics::Tick;
use loadbench::scenario::Scenario;

static SERIAL: Mutex<()> = Mutex::new(());

/// Load tests in one binary run one at a time, so their timing is not skewed by each other.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Parses scenario text, panicking with the full error if it is invalid.
pub fn scenario(text: &str) -> Scenario {
    match Scenario::parse(text, None, &|n| std::env::var(n).ok()) {
        Ok(s) => s,
        Err(e) => panic!("scenario should be valid:\n{e}"),
    }
}

/// Runs a scenario to the end and returns its outcome and every tick.
pub fn run(s: Scenario) -> (Outcome, Vec<Tick>) {
    let handle = engine::start(s, RunOptions::default()).expect("engine starts");
    let mut ticks = Vec::new();
    let outcome = handle
        .wait(|t| ticks.push(Tick::clone(t)))
        .expect("run finishes");
    (outcome, ticks)
}

/// A plain HTTP/1.1 GET over loopback, returning the status and body.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

/// `loadbench demo` as its own process on a free loopback port, stopped with Ctrl-C on drop.
pub struct DemoProcess {
    child: std::process::Child,
    /// Its base URL, as it printed it.
    pub url: String,
}

impl DemoProcess {
    /// Starts `loadbench demo --port 0` with `extra` flags and waits for its URL.
    pub fn start(extra: &[&str]) -> DemoProcess {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_loadbench"))
            .args(["demo", "--port", "0"])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn demo");
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("read");
        let url = first.trim().rsplit(' ').next().expect("url").to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{first}");
        DemoProcess { child, url }
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// A target that holds four requests at a time for 20 ms each, so it sustains about 200/s,
/// with a p99 goal: what the capacity search tests look for.
pub const CAPACITY_PROBE: &str = r#"name = "Capacity probe"
duration = "10s"
warmup = "1s"
timeout = "5s"
thresholds = ["p99 < 100ms", "error_rate < 1%"]
[targets]
api = { demo = { delay = "20ms" } }
[load]
model = "open"
rate = 50
max_in_flight = 4
[[requests]]
name = "slow"
path = "/v1/echo"
"#;

/// The demo service over HTTPS with its CA written to a file, as a scenario's `ca_file` reads it.
pub struct TlsDemo {
    pub demo: loadbench::demo::DemoServer,
    /// The CA's PEM file (in a folder removed with this).
    pub ca: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsDemo {
    /// Starts it.
    pub fn start() -> TlsDemo {
        let demo = loadbench::demo::DemoServer::start(loadbench::demo::DemoConfig {
            tls: true,
            ..loadbench::demo::DemoConfig::default()
        })
        .expect("demo starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, demo.ca_pem.as_deref().expect("a CA")).expect("write ca");
        TlsDemo {
            demo,
            ca,
            _dir: dir,
        }
    }

    /// Its base URL by name (`https://localhost:PORT`), which its certificate names.
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.demo.addr.port())
    }
}

/// Runs a scenario with a recorder; returns the run id and the live summary.
pub fn recorded_run(
    db: &std::path::Path,
    text: &str,
    on_tick: impl Fn(&loadbench::store::Store, i64),
) -> (i64, loadbench::metrics::Summary) {
    let s = scenario(text);
    let scenario_text = s.text.clone();
    let handle = engine::start(s, RunOptions::default()).expect("engine starts");
    let recorder = loadbench::store::Recorder::start(
        db,
        loadbench::store::NewRun {
            name: "stored".into(),
            scenario_text,
            scenario_path: None,
            info: handle.info.clone(),
            targets: handle.target_urls.clone(),
            started_at: handle.started_at,
        },
    )
    .expect("recorder starts");
    let id = recorder.run_id;
    let reader =
        loadbench::store::Store::open(db).expect("a second connection opens while writing");
    let outcome = handle
        .wait(|t| {
            recorder.tick(t.clone());
            on_tick(&reader, id);
        })
        .expect("finishes");
    recorder
        .finish(outcome.status, &outcome.summary)
        .expect("stored");
    (id, outcome.summary)
}
