//! Forward proxies: the overhead against the demo proxy's configured delay, HTTPS and HTTP/2
//! through CONNECT, absolute form with credentials as a proxy sees it, a refused CONNECT classified.

mod common;

use std::io::{Read, Write};
use std::process::Command;

use common::{run, scenario, serial};

/// The added time the report gives at `quantile`, with its interval.
fn added(json: &serde_json::Value, quantile: f64) -> (f64, f64, f64) {
    let a = json["proxy_overhead"][0]["added"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["quantile"].as_f64() == Some(quantile)))
        .unwrap_or_else(|| panic!("an overhead at {quantile} in {json}"));
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    (
        f(&a["added_ms"]),
        f(&a["interval_ms"][0]),
        f(&a["interval_ms"][1]),
    )
}

#[test]
fn overhead_is_the_demo_proxys_delay_with_an_interval_around_it() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, file) = (dir.path().join("runs.db"), dir.path().join("s.toml"));
    std::fs::write(
        &file,
        r#"
name = "proxy overhead"
duration = "10s"
[targets]
direct = "demo"
proxied = { url = "demo", proxy = "demo", proxy_delay = "5ms" }
[load]
model = "open"
rate = 100
[[requests]]
name = "echo"
path = "/v1/echo"
"#,
    )
    .expect("write");
    let bin = env!("CARGO_BIN_EXE_loadbench");
    let status = Command::new(bin)
        .args(["run", "-q", "--db"])
        .arg(&db)
        .arg(&file)
        .status()
        .expect("run");
    assert!(status.success());
    let out = Command::new(bin)
        .args(["report", "-f", "json", "latest", "--db"])
        .arg(&db)
        .output()
        .expect("report");
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // The run names the proxy its target went through, and that both targets reached one server.
    let targets = json["run"]["targets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0]["url"], targets[1]["url"], "{targets:?}");
    let proxy = targets[1]["proxy"].as_str().unwrap_or_default();
    assert!(proxy.starts_with("http://127.0.0.1:"), "{targets:?}");
    assert_eq!(json["proxy_overhead"][0]["proxy"], proxy);
    // The proxy waits 5 ms before forwarding each request: that is what it adds, within 1 ms + 5 %
    // (the hop itself costs tens of µs), and the interval holds the estimate.
    let (p50, lo, hi) = added(&json, 0.5);
    assert!((p50 - 5.0).abs() < 1.0 + 0.25, "p50 added {p50} ms");
    assert!(
        lo <= p50 && p50 <= hi && hi - lo < 1.0,
        "{lo} ≤ {p50} ≤ {hi}"
    );
    let (p99, lo, hi) = added(&json, 0.99);
    assert!(lo <= p99 && p99 <= hi, "{lo} ≤ {p99} ≤ {hi}");
    assert_eq!(json["summary"]["total"]["errors"], 0);
    // The Markdown report has the section.
    let md = dir.path().join("r.md");
    let out = Command::new(bin)
        .args(["report", "-f", "md", "latest", "-o"])
        .arg(&md)
        .arg("--db")
        .arg(&db)
        .output()
        .expect("report");
    assert!(out.status.success());
    let text = std::fs::read_to_string(&md).expect("md");
    assert!(text.contains("## Proxy overhead"), "{text}");
    assert!(text.contains(&format!("proxied ({proxy})")), "{text}");
}

#[test]
fn https_and_http2_go_through_a_connect_tunnel() {
    let _g = serial();
    let tls = common::TlsDemo::start();
    let (o, _) = run(scenario(&format!(
        r#"
name = "tunnels"
duration = "1s"
[targets]
h1 = {{ url = "{url}", ca_file = "{ca}", http = "1.1", proxy = "demo" }}
h2 = {{ url = "{url}", ca_file = "{ca}", http = "2", proxy = "demo" }}
[load]
model = "open"
rate = 100
[[requests]]
name = "echo"
path = "/v1/echo"
checks = [{{ status = 200 }}]
"#,
        url = tls.url(),
        ca = tls.ca.display(),
    )));
    assert_eq!(
        o.summary.total.errors, 0,
        "{:?}",
        o.summary.total.error_kinds
    );
    assert!(o.summary.total.count >= 90);
    // Each request picks a target at random: 100 picks give each ~50 (sd 5); 25 is 5 sd
    // below, still proof that both went through the tunnel.
    for e in &o.summary.endpoints {
        assert!(e.count >= 25, "{} {}", e.target, e.count);
    }
}

#[test]
fn a_refused_connect_is_its_own_error_kind() {
    let _g = serial();
    // The demo proxy cannot reach a closed port (502) and refuses what is not loopback (403);
    // a server that is not a proxy at all answers CONNECT with an error of its own.
    let closed = common::closed_port();
    let not_a_proxy = loadbench::demo::DemoServer::start(Default::default()).expect("demo");
    let (o, _) = run(scenario(&format!(
        r#"
name = "refused"
duration = "1s"
timeout = "2s"
[targets]
closed = {{ url = "https://127.0.0.1:{closed}", proxy = "demo" }}
not-a-proxy = {{ url = "https://127.0.0.1:{closed}", proxy = "http://127.0.0.1:{demo}" }}
[load]
model = "open"
rate = 20
[[requests]]
name = "get"
path = "/"
"#,
        demo = not_a_proxy.addr.port(),
    )));
    assert!(o.summary.total.count >= 18);
    assert_eq!(o.summary.total.errors, o.summary.total.count);
    assert_eq!(
        o.summary.total.error_kinds.get("proxy").copied(),
        Some(o.summary.total.count),
        "{:?}",
        o.summary.total.error_kinds
    );
}

#[test]
fn http1_asks_the_proxy_in_absolute_form_with_its_credentials() {
    let _g = serial();
    // A stand-in proxy that answers every request itself and keeps what it was sent.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        String::from_utf8_lossy(&head).into_owned()
    });
    let (o, _) = run(scenario(&format!(
        r#"
name = "absolute"
duration = "1s"
[targets]
api = {{ url = "http://127.0.0.1:9/base", proxy = "http://user:secret@127.0.0.1:{port}" }}
[load]
model = "closed"
vus = 1
think_time = "2s"
[[requests]]
name = "get"
path = "/v1/x"
query = {{ a = "1" }}
"#
    )));
    let head = seen.join().expect("stand-in proxy");
    assert!(
        head.starts_with("GET http://127.0.0.1:9/base/v1/x?a=1 HTTP/1.1\r\n"),
        "{head}"
    );
    // user:secret in base64.
    assert!(
        head.to_ascii_lowercase()
            .contains("proxy-authorization: basic dxnlcjpzzwnyzxq="),
        "{head}"
    );
    assert!(head.contains("host: 127.0.0.1:9"), "{head}");
    assert_eq!(o.summary.total.count, 1);
    assert_eq!(o.summary.total.errors, 0);
}

#[test]
fn bad_proxies_are_refused_at_their_line() {
    for (target, says) in [
        (
            r#"{ url = "demo", proxy = "https://127.0.0.1:3128" }"#,
            "only plain http://",
        ),
        (
            r#"{ url = "demo", proxy = "http://127.0.0.1:3128/p" }"#,
            "without a path",
        ),
        (
            r#"{ url = "demo", proxy_delay = "2ms" }"#,
            "proxy_delay needs proxy",
        ),
        (
            r#"{ url = "demo", proxy = "http://127.0.0.1:3128", proxy_delay = "2ms" }"#,
            "use it with proxy = \"demo\"",
        ),
    ] {
        let text = format!(
            "name = \"p\"\nduration = \"1s\"\n[targets]\napi = {target}\n[load]\nmodel = \"open\"\nrate = 1\n[[requests]]\nname = \"r\"\npath = \"/\"\n"
        );
        let e = loadbench::scenario::Scenario::parse(&text, None, &|_| None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains(says) && e.contains(":4:"), "{target}: {e}");
    }
}

#[test]
fn the_demo_proxy_forwards_to_loopback_only_and_drops_hostile_requests() {
    let proxy = loadbench::demo::proxy::DemoProxy::start(0, std::time::Duration::ZERO)
        .expect("proxy starts");
    let ask = |text: &str| -> String {
        let mut s = std::net::TcpStream::connect(proxy.addr).expect("connect");
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("timeout");
        // A proxy that closes on a hostile request may reset before it is all written.
        let _ = s.write_all(text.as_bytes());
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    // Load goes only to loopback, even through the demo's proxy.
    let far = ask("CONNECT 192.0.2.1:443 HTTP/1.1\r\nhost: 192.0.2.1:443\r\n\r\n");
    assert!(far.starts_with("HTTP/1.1 403"), "{far}");
    let far = ask("GET http://192.0.2.1/ HTTP/1.1\r\nhost: 192.0.2.1\r\n\r\n");
    assert!(far.starts_with("HTTP/1.1 403"), "{far}");
    let closed = common::closed_port();
    let shut = ask(&format!(
        "CONNECT 127.0.0.1:{closed} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
    ));
    assert!(shut.starts_with("HTTP/1.1 502"), "{shut}");
    // Not a URL; a body it will not hold; a head that never ends: closed, and it keeps serving.
    let bad = ask("GET /relative HTTP/1.1\r\n\r\n");
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
    let demo = loadbench::demo::DemoServer::start(Default::default()).expect("demo");
    let huge = ask(&format!(
        "POST http://{}/v1/echo HTTP/1.1\r\ncontent-length: 99999999999\r\n\r\n",
        demo.addr
    ));
    assert!(huge.is_empty(), "{huge}");
    let endless = ask(&"x-filler: y\r\n".repeat(10_000));
    assert!(endless.is_empty(), "{endless}");
    let fine = ask(&format!(
        "GET http://{0}/v1/echo HTTP/1.1\r\nhost: {0}\r\nconnection: close\r\n\r\n",
        demo.addr
    ));
    assert!(fine.starts_with("HTTP/1.1 200"), "{fine}");
}
