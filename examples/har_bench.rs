//! How long HAR import takes as recordings grow: it must stay linear (100,000 entries in a few
//! seconds), whether the entries are distinct paths or one path with distinct queries.
//!
//!   cargo run --release --example har_bench [ENTRIES]     (default 100000)

use std::time::Instant;

use loadbench::scenario::Scenario;
use loadbench::scenario::import::har;

fn recording(n: usize, one_path: bool) -> String {
    let entries: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let url = if one_path {
                format!("https://api.example.test/v1/items?page={i}")
            } else {
                format!("https://api.example.test/v1/items/{i}")
            };
            serde_json::json!({
                "request": {"method": "GET", "url": url, "headers": [
                    {"name": "accept", "value": "application/json"},
                    {"name": "authorization", "value": "Bearer secret"}
                ]},
                "response": {"status": 200, "content": {"mimeType": "application/json"}}
            })
        })
        .collect();
    serde_json::json!({"log": {"version": "1.2", "entries": entries}}).to_string()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    for (what, one_path) in [
        ("distinct paths", false),
        ("one path, distinct queries", true),
    ] {
        let text = recording(n, one_path);
        let started = Instant::now();
        let imported = har(&text, None, false, false).expect("imports");
        let import_s = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let scenario =
            Scenario::parse(&imported.toml, None, &|_| Some(String::new())).expect("valid");
        let validate_s = started.elapsed().as_secs_f64();
        println!(
            "{n} entries, {what}: import {import_s:.2} s, validation {validate_s:.2} s \
             ({} requests, HAR {:.1} MB)",
            scenario.requests.len(),
            text.len() as f64 / 1e6
        );
    }
}
