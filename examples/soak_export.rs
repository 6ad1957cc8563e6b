//! A synthetic soak as a run export file, for measuring the whole-run paths on it:
//! `cargo run --release --example soak_export -- HOURS OUT.json` (5 series, one tick a second,
//! 400 responses per series per second spread from 100 µs to 1 s, so every histogram is wide).
//! Written a tick at a time: the generator holds one tick, never the run.

use std::io::Write;

use base64::Engine as _;
use loadbench::metrics::{Key, RunInfo, Stats, encode_histogram};
use loadbench::store::{EXPORT_SCHEMA, RunExport, SeriesExport, TickExport};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

const SERIES: usize = 5;
const SAMPLES: u32 = 400;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let hours: f64 = args.next().unwrap_or_else(|| "1".into()).parse()?;
    let out = args.next().unwrap_or_else(|| "soak.json".into());
    let seconds = (hours * 3600.0).round() as u32;
    let keys: Vec<Key> = (0..SERIES)
        .map(|i| Key {
            request: format!("endpoint-{i}"),
            target: "api".into(),
        })
        .collect();
    let header = RunExport {
        schema: EXPORT_SCHEMA.into(),
        uuid: format!("soak-{seconds}"),
        name: format!("soak {hours} h"),
        scenario_text: "name = \"soak\"".into(),
        scenario_path: None,
        info: RunInfo {
            shard: None,
            proxies: Vec::new(),
            journeys: Vec::new(),
            scenario: "soak".into(),
            model: loadbench::scenario::Model::Open,
            max_vus: None,
            keys,
            thresholds: vec![],
        },
        targets: vec![("api".into(), "http://127.0.0.1:8080".into())],
        status: loadbench::metrics::RunStatus::Completed,
        started_at_ms: 1_793_527_200_000,
        ended_at_ms: Some(1_793_527_200_000 + i64::from(seconds) * 1000),
        summary: None,
        notes: String::new(),
        tags: vec![],
        baseline: false,
        version: "soak".into(),
        host: serde_json::json!({}),
        annotations: vec![],
        monitor: Default::default(),
        ticks: vec![],
    };
    let text = serde_json::to_string(&header)?;
    let head = text.strip_suffix("[]}").ok_or("ticks are not last")?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(&out)?);
    w.write_all(head.as_bytes())?;
    w.write_all(b"[")?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut rng = SmallRng::seed_from_u64(7);
    for i in 1..=seconds {
        let series = (0..SERIES)
            .map(|s| {
                let mut st = Stats::default();
                for _ in 0..SAMPLES {
                    // Log-uniform from 100 µs to 1 s: four decades of buckets in every histogram.
                    let us = 100.0 * 10f64.powf(rng.random::<f64>() * 4.0);
                    st.record_response(200, us as u64, (us * 0.9) as u64, None);
                }
                SeriesExport {
                    series: s,
                    requests: st.requests,
                    errors: 0,
                    bytes_in: 512 * u64::from(SAMPLES),
                    bytes_out: 0,
                    late: 0,
                    status: [("200".to_string(), st.requests)].into(),
                    error_kinds: Default::default(),
                    latency: b64.encode(encode_histogram(&st.latency)),
                    service: b64.encode(encode_histogram(&st.service)),
                    failed: None,
                    retries: 0,
                    new_conns: 0,
                    phases: None,
                }
            })
            .collect();
        let tick = TickExport {
            index: i,
            end: f64::from(i),
            seconds: 1.0,
            drain: 0.0,
            warmup: false,
            target: 2000.0,
            in_flight: 40,
            not_started: 0,
            series,
            journeys: vec![],
            exemplars: vec![],
        };
        if i > 1 {
            w.write_all(b",")?;
        }
        serde_json::to_writer(&mut w, &tick)?;
    }
    w.write_all(b"]}\n")?;
    w.flush()?;
    eprintln!("{out}: {seconds} ticks × {SERIES} series");
    Ok(())
}
