//! A run held against a benchmark set: figures measured elsewhere (another tool, a competitor's
//! published numbers), like held against like.

use super::*;

/// The metrics held against a benchmark set: those of a run, plus p90 and max.
const BENCHMARK_METRICS: [MetricDef; 7] = [
    METRICS[0],
    MetricDef {
        name: "p90",
        stat: Stat::Quantile(0.90),
        higher_is_worse: true,
        shown: |e| e.latency.p90_ms,
    },
    METRICS[1],
    METRICS[2],
    MetricDef {
        name: "max",
        stat: Stat::Quantile(1.0),
        higher_is_worse: true,
        shown: |e| e.latency.max_ms,
    },
    METRICS[3],
    METRICS[4],
];

/// A benchmark figure for one metric, or `None` when the set has none.
fn figure(f: &crate::benchmark::Figures, metric: &str) -> Option<f64> {
    match metric {
        "p50" => f.p50_ms,
        "p90" => f.p90_ms,
        "p95" => f.p95_ms,
        "p99" => f.p99_ms,
        "max" => f.max_ms,
        "rate" => f.rate,
        _ => f.error_rate,
    }
}

/// Compares a stored run with a benchmark set (figures measured elsewhere, endpoints matched by
/// request name). Like is held against like: a set of service times against our service time,
/// a set of corrected latency against our corrected latency. Rates are compared only when the
/// run measured throughput (closed model): an open-model run's rate is what it was asked to send.
pub fn compare_to_benchmark(
    store: &Store,
    run_id: i64,
    set: &crate::benchmark::BenchmarkSet,
) -> crate::store::Result<Comparison> {
    use crate::benchmark::LatencyKind;
    let run = store.run(run_id)?;
    let service = set.latency == LatencyKind::Service;
    let measured = measure_with(store, &run, service)?;
    let open = run.info.model == crate::scenario::Model::Open;
    let mut notes = vec![format!(
        "{} is one set of figures: run-to-run drift is taken to be {:.0} %; its latency is {} \
         and is held against this run's {}",
        set.name,
        SINGLE_RUN_SPREAD * 100.0,
        if service {
            "service time (from the actual send)"
        } else {
            "corrected latency (from the intended start)"
        },
        if service {
            "service time"
        } else {
            "corrected latency"
        }
    )];
    if open && set.figures.iter().any(|f| f.rate.is_some()) {
        notes.push(format!(
            "rate not compared: run #{run_id} is an open-model run, whose rate is what it was \
             asked to send; compare throughput with a closed-model run at saturation or a \
             capacity search"
        ));
    }
    let mut names = Vec::new();
    let mut judged = Vec::new();
    for fig in &set.figures {
        let Some(ours) = measured.iter().find(|m| {
            if fig.endpoint == "*" {
                m.name == "*"
            } else {
                m.name == fig.endpoint
                    || m.name
                        .split_once('@')
                        .is_some_and(|(r, _)| r == fig.endpoint)
            }
        }) else {
            continue;
        };
        let mut per_metric = Vec::new();
        for (i, def) in BENCHMARK_METRICS.iter().enumerate() {
            let Some(theirs) = figure(fig, def.name) else {
                continue;
            };
            if def.name == "rate" && open {
                continue;
            }
            let latency = matches!(def.stat, Stat::Quantile(_));
            let blocks = if latency && service {
                &ours.service
            } else {
                &ours.blocks
            };
            let shown = if latency && service {
                shown_service(def.name, &ours.figures)
            } else {
                (def.shown)(&ours.figures)
            };
            let cand = Side {
                blocks,
                shown,
                seed: seed_of(&ours.name, i, run_id),
            };
            let base = Side {
                blocks: &FIXED,
                shown: theirs,
                seed: 0,
            };
            per_metric.push(judge(def, &cand, &[base]));
        }
        names.push(fig.endpoint.clone());
        judged.push(per_metric);
    }
    settle(&mut judged, Machine::default());
    finish(
        0,
        Vec::new(),
        Some(set.name.clone()),
        run_id,
        names,
        judged,
        notes,
        Vec::new(),
    )
}

/// A figure's stand-in blocks: exactly known, no spread of its own (the assumed run-to-run
/// spread covers it).
static FIXED: Blocks = Blocks::fixed();

fn shown_service(metric: &str, e: &EndpointSummary) -> f64 {
    let s = &e.service_time;
    match metric {
        "p50" => s.p50_ms,
        "p90" => s.p90_ms,
        "p95" => s.p95_ms,
        "p99" => s.p99_ms,
        _ => s.max_ms,
    }
}
