//! Webhook delivery against the demo's sender: loss and duplicates as configured (within binomial
//! noise), the delivery latency its delay, callbacks without a sent id counted apart, bad
//! `[webhooks]` refused at their line.

mod common;

use std::process::Command;

use common::{run, scenario, serial};

/// Whether `n` of `trials` is within 4.5 standard deviations of a share `p`.
fn binomial_ok(n: u64, trials: u64, p: f64) -> bool {
    let mean = trials as f64 * p;
    let sd = (trials as f64 * p * (1.0 - p)).sqrt();
    (n as f64 - mean).abs() <= 4.5 * sd + 1.0
}

#[test]
fn loss_duplicates_and_latency_are_the_senders_own() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, file) = (dir.path().join("runs.db"), dir.path().join("s.toml"));
    std::fs::write(
        &file,
        r#"
name = "webhooks"
duration = "5s"
thresholds = ["webhook_lost < 0.1%", "webhook_p99 < 2s"]
[webhooks]
grace = "2s"
[targets]
api = "demo"
[load]
model = "open"
rate = 300
[[requests]]
name = "order"
method = "POST"
path = "/v1/webhooks/trigger"
query = { deliver_ms = "100", loss = "0.05", dup = "0.05" }
json = { callback_url = "${webhook.url}", id = "${webhook.id}" }
"#,
    )
    .expect("write");
    let bin = env!("CARGO_BIN_EXE_loadbench");
    let out = Command::new(bin)
        .args(["run", "--json", "--db"])
        .arg(&db)
        .arg(&file)
        .output()
        .expect("run");
    // 5 % lost fails webhook_lost < 0.1%: the run fails its thresholds.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let w = &json["webhooks"];
    let n = |k: &str| w[k].as_u64().unwrap_or_else(|| panic!("{k} in {w}"));
    let triggered = n("triggered");
    assert_eq!(triggered, json["total"]["count"].as_u64().unwrap_or(0));
    assert!(triggered >= 1400, "{w}");
    assert!(binomial_ok(n("lost"), triggered, 0.05), "lost {w}");
    assert_eq!(n("delivered") + n("lost"), triggered, "{w}");
    // A duplicate is a second delivery of a delivered id.
    assert!(
        binomial_ok(n("duplicates"), n("delivered"), 0.05),
        "duplicates {w}"
    );
    assert_eq!(n("unknown"), 0);
    // Sent 100 ms after the trigger: the delivery latency, within 1 ms + 5 %.
    let p50 = w["latency"]["p50_ms"].as_f64().unwrap_or(0.0);
    assert!((p50 - 100.0).abs() <= 1.0 + 5.0, "delivery p50 {p50} ms");
    let judged: Vec<(String, bool)> = json["thresholds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["expression"].as_str().unwrap_or("").to_string(),
                t["passed"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    assert_eq!(
        judged,
        [
            ("webhook_lost < 0.1%".to_string(), false),
            ("webhook_p99 < 2s".to_string(), true)
        ]
    );
    // Per second, stored beside the run: deliveries add up to the delivered ids.
    let out = Command::new(bin)
        .args(["report", "-f", "json", "latest", "--db"])
        .arg(&db)
        .output()
        .expect("report");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let series = report["monitor"]["series"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let delivered = series
        .iter()
        .find(|s| s["name"] == "webhooks delivered/s")
        .unwrap_or_else(|| panic!("a delivered series in {series:?}"));
    // Each point is a rate over the time since the one before (the last: the grace period).
    let mut before = 0.0;
    let mut sum = 0.0;
    for p in delivered["points"].as_array().into_iter().flatten() {
        let (at, rate) = (p[0].as_f64().unwrap_or(0.0), p[1].as_f64().unwrap_or(0.0));
        sum += rate * (at - before);
        before = at;
    }
    assert_eq!(sum.round() as u64, n("delivered"));
    assert_eq!(report["summary"]["webhooks"], json["webhooks"]);
}

#[test]
fn jitter_reorders_and_ids_never_sent_are_unknown() {
    let _g = serial();
    // Callbacks 50–150 ms after their trigger, at 200/s: many overtake one another. A second
    // request has the sender call back with an id loadbench never issued.
    let (o, _) = run(scenario(
        r#"
name = "webhook order"
duration = "2s"
[webhooks]
grace = "1s"
[targets]
api = "demo"
[load]
model = "open"
rate = 200
[[requests]]
name = "order"
method = "POST"
path = "/v1/webhooks/trigger"
query = { deliver_ms = "50", jitter_ms = "100" }
json = { callback_url = "${webhook.url}", id = "${webhook.id}" }
[[requests]]
name = "forged"
method = "POST"
path = "/v1/webhooks/trigger"
query = { deliver_ms = "10" }
json = { callback_url = "${webhook.url}", id = "order-${seq}" }
"#,
    ));
    let w = o.summary.webhooks.as_ref().expect("webhooks");
    let forged = o
        .summary
        .endpoints
        .iter()
        .find(|e| e.request == "forged")
        .map_or(0, |e| e.count);
    assert!(forged > 100, "{forged}");
    assert_eq!(w.unknown, forged, "{w:?}");
    assert_eq!(w.lost, 0, "{w:?}");
    assert_eq!(w.delivered, w.triggered);
    assert!(
        w.out_of_order > w.delivered / 10,
        "{} of {} out of order",
        w.out_of_order,
        w.delivered
    );
    assert!(
        w.latency.min_ms >= 50.0 && w.latency.max_ms < 170.0,
        "{w:?}"
    );
}

#[test]
fn bad_webhook_settings_are_refused_at_their_line() {
    for (section, says) in [
        ("listen = \"nowhere\"", "expected an address and port"),
        ("grace = \"2h\"", "at most 1h"),
        ("port = 80", "unknown field"),
    ] {
        let text = format!(
            "name = \"w\"\nduration = \"1s\"\n[webhooks]\n{section}\n[targets]\napi = \"demo\"\n\
             [load]\nmodel = \"open\"\nrate = 1\n[[requests]]\nname = \"r\"\npath = \"/\"\n"
        );
        let e = loadbench::scenario::Scenario::parse(&text, None, &|_| None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains(says) && e.contains(":4:"), "{section}: {e}");
    }
    let e = loadbench::scenario::Scenario::parse(
        "name = \"w\"\nduration = \"1s\"\n[targets]\napi = \"demo\"\n[load]\nmodel = \"open\"\n\
         rate = 1\n[[requests]]\nname = \"r\"\npath = \"/${webhook.token}\"\n",
        None,
        &|_| None,
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(e.contains("${webhook.url} or ${webhook.id}"), "{e}");
}
