//! Micro-benchmarks of the hot paths: recording a sample, merging a tick, writing a tick.
//! `cargo bench --bench hot_paths`

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{Criterion, criterion_group, criterion_main};
use loadbench::metrics::{Accumulator, Key, RunInfo, Stats, Tick};
use loadbench::store::{NewRun, Recorder, Store};

/// A tick of `series` series with `samples` responses each, spread over 0.2-20 ms.
fn tick(index: u32, series: usize, samples: u64) -> Tick {
    let stats = (0..series)
        .map(|s| {
            let mut st = Stats::default();
            for i in 0..samples {
                st.record_response(
                    200,
                    200 + (i * 7919 + s as u64 * 31) % 20_000,
                    150 + i % 10_000,
                    None,
                );
            }
            st
        })
        .collect();
    Tick {
        index,
        end: f64::from(index),
        seconds: 1.0,
        drain: 0.0,
        warmup: false,
        target: 1000.0,
        in_flight: 10,
        not_started: 0,
        stats,
        journeys: Vec::new(),
    }
}

fn record(c: &mut Criterion) {
    let mut st = Stats::default();
    let mut v = 0u64;
    c.bench_function("record a response", |b| {
        b.iter(|| {
            v = (v + 7919) % 50_000;
            st.record_response(200, black_box(100 + v), black_box(90 + v), None);
        })
    });
}

fn merge(c: &mut Criterion) {
    let t = tick(1, 5, 2_000);
    let mut acc = Accumulator::new(5);
    c.bench_function("merge a tick of 5 series into the run totals", |b| {
        b.iter(|| acc.add(black_box(&t)))
    });
}

fn write(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("loadbench-bench-{}", std::process::id()));
    let db = dir.join("bench.db");
    let keys: Vec<Key> = (0..5)
        .map(|i| Key {
            request: format!("r{i}"),
            target: "t".into(),
        })
        .collect();
    let info = RunInfo {
        shard: None,
        proxies: Vec::new(),
        journeys: Vec::new(),
        scenario: "bench".into(),
        model: loadbench::scenario::Model::Open,
        max_vus: None,
        keys,
        thresholds: vec![],
    };
    let rec = Recorder::start(
        &db,
        NewRun {
            name: "bench".into(),
            scenario_text: String::new(),
            scenario_path: None,
            info,
            targets: vec![],
            started_at: SystemTime::now(),
        },
    )
    .expect("recorder");
    let id = rec.run_id;
    let store = Store::open(&db).expect("store");
    let mut next = tick(1, 5, 2_000);
    let mut index = 0u32;
    c.bench_function(
        "write a tick of 5 series to SQLite (one transaction)",
        |b| {
            b.iter(|| {
                index += 1;
                next.index = index;
                store.append_tick(id, &next).expect("write");
            })
        },
    );
    drop(rec);
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, record, merge, write);
criterion_main!(benches);
