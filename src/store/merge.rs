//! Shards of one load test, run from several machines at once and imported here, merged into
//! one run: counts add and histograms merge exactly, so the merged percentiles are those of all
//! the requests together, not an average of percentiles.

use crate::metrics::RunStatus;
use std::collections::BTreeMap;

use super::transfer::{EXPORT_SCHEMA, RunExport, tick_export};
use super::{Histograms, Result, Store, StoreError, StoredRun};
use crate::metrics::{Accumulator, RunInfo, Stats, Summary, Tick};

/// Shards of one `run --shards` wait for one `--start-at`: further apart than this, they did not.
pub const SHARD_SPREAD_MS: i64 = 1_000;

/// Whether `runs` are the shards of one split run (`run --shards`), checked to be all of them:
/// the same count, every index once. Runs of which only some are shards are refused.
fn check_shards(runs: &[StoredRun]) -> Result<bool> {
    let bad = |m: String| StoreError::Invalid(m);
    let shards: Vec<_> = runs.iter().filter_map(|r| r.info.shard.as_ref()).collect();
    if shards.is_empty() {
        return Ok(false);
    }
    if shards.len() < runs.len() {
        return Err(bad(
            "some of these runs are shards of a split run (run --shards) and some are not".into(),
        ));
    }
    let count = shards[0].count;
    if let Some((r, s)) = runs.iter().zip(&shards).find(|(_, s)| s.count != count) {
        return Err(bad(format!(
            "run #{} is a shard of {}, run #{} of {count}: shards of one run have one count",
            r.row.id, s.count, runs[0].row.id
        )));
    }
    let mut seen = vec![None; count];
    for (r, s) in runs.iter().zip(&shards) {
        match seen.get_mut(s.index) {
            Some(Some(other)) => {
                return Err(bad(format!(
                    "runs #{other} and #{} are both shard {}: each shard counts once",
                    r.row.id, s.index
                )));
            }
            Some(slot) => *slot = Some(r.row.id),
            None => {
                return Err(bad(format!(
                    "run #{} is shard {} of {count}: no such shard",
                    r.row.id, s.index
                )));
            }
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "shard(s) {} of {count} are missing: a merge of some shards is not the run",
            missing.join(", ")
        )));
    }
    Ok(true)
}

/// Ticks read from each run at a time, so an hour-long shard is never held whole.
const CHUNK: u32 = 60;
/// Shards that started further apart than this do not line up tick by tick.
pub const START_SPREAD_MS: i64 = 5_000;

impl Store {
    /// Stores the merge of runs `ids` (shards of one scenario, started together: tick *n* of
    /// each covers the same second) as a new run tagged `merged`; the shards stay as they are.
    /// Refused: a run named twice, shards of different scenario text, and (unless `force`)
    /// shards that started more than [`START_SPREAD_MS`] apart, which no tick lines up.
    pub fn merge_runs(&self, ids: &[i64], force: bool) -> Result<i64> {
        let bad = |m: String| StoreError::Invalid(m);
        if ids.len() < 2 {
            return Err(bad("merging needs two runs or more".into()));
        }
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                return Err(bad(format!(
                    "run #{id} is named twice: each shard counts once"
                )));
            }
        }
        let runs = ids
            .iter()
            .map(|id| self.run(*id))
            .collect::<Result<Vec<StoredRun>>>()?;
        let first = &runs[0];
        for r in &runs[1..] {
            if r.info.scenario != first.info.scenario || r.info.model != first.info.model {
                return Err(bad(format!(
                    "run #{} is \"{}\" ({} model) and run #{} is \"{}\" ({} model): only shards of \
                     one scenario merge",
                    first.row.id,
                    first.info.scenario,
                    first.info.model,
                    r.row.id,
                    r.info.scenario,
                    r.info.model
                )));
            }
        }
        for r in &runs[1..] {
            if r.scenario_text != first.scenario_text {
                return Err(bad(format!(
                    "runs #{} and #{} ran different scenario text: shards of one load test run \
                     the same file",
                    first.row.id, r.row.id
                )));
            }
        }
        let sharded = check_shards(&runs)?;
        let starts = runs.iter().map(|r| r.row.started_at_ms);
        let spread = starts.clone().max().unwrap_or(0) - starts.min().unwrap_or(0);
        if sharded && spread > SHARD_SPREAD_MS && !force {
            return Err(bad(format!(
                "the shards started {:.3} s apart, more than {} s: they waited for different                  moments (give every shard the same --start-at; --force merges anyway)",
                spread as f64 / 1000.0,
                SHARD_SPREAD_MS / 1000
            )));
        }
        if spread > START_SPREAD_MS && !force {
            return Err(bad(format!(
                "the runs started {:.1} s apart: tick n of one is not tick n of another, so the \
                 merge would add seconds that did not happen together (shards start at one \
                 moment; --force merges anyway)",
                spread as f64 / 1000.0
            )));
        }
        if let Some(r) = runs.iter().find(|r| r.row.status == RunStatus::Running) {
            return Err(bad(format!(
                "run #{} is still running; merge it when it has ended",
                r.row.id
            )));
        }
        // Series by request and target, and journeys by name, in first-seen order; each
        // shard's indices map into them.
        let (keys, maps) = union(runs.iter().map(|r| &r.info.keys[..]));
        let (journeys, journey_maps) = union(runs.iter().map(|r| &r.info.journeys[..]));
        let info = RunInfo {
            shard: None,
            scenario: first.info.scenario.clone(),
            model: first.info.model,
            // Each shard (or separate run) names its own users: together, their sum.
            max_vus: runs.iter().map(|r| r.info.max_vus).sum::<Option<u64>>(),
            keys: keys.clone(),
            thresholds: first.info.thresholds.clone(),
            proxies: first.info.proxies.clone(),
            journeys: journeys.clone(),
        };
        let mut acc = Accumulator::new(keys.len());
        let mut ticks = Vec::new();
        let mut from = 0u32;
        loop {
            let to = from + CHUNK - 1;
            let mut window: BTreeMap<u32, Tick> = BTreeMap::new();
            // Ticks are numbered without gaps: a chunk that ends short is a shard's last.
            let mut more = false;
            for ((run, map), journey_map) in runs.iter().zip(&maps).zip(&journey_maps) {
                let shape = (run.info.keys.len(), run.info.journeys.len());
                let chunk = self.load_ticks(run.row.id, shape, from, to, Histograms::Both)?;
                more |= chunk.last().is_some_and(|t| t.index == to);
                for t in chunk {
                    let m = window.entry(t.index).or_insert_with(|| Tick {
                        index: t.index,
                        end: t.end,
                        seconds: t.seconds,
                        drain: 0.0,
                        warmup: t.warmup,
                        target: 0.0,
                        in_flight: 0,
                        not_started: 0,
                        stats: vec![Stats::default(); keys.len()],
                        journeys: vec![Stats::default(); journeys.len()],
                    });
                    m.end = m.end.max(t.end);
                    m.seconds = m.seconds.max(t.seconds);
                    m.drain = m.drain.max(t.drain);
                    m.warmup &= t.warmup;
                    // Each shard's tick names its share of the rate (or users): they add up.
                    m.target += t.target;
                    m.in_flight += t.in_flight;
                    m.not_started += t.not_started;
                    for (k, s) in t.stats.iter().enumerate() {
                        if let Some(into) = map.get(k).and_then(|&i| m.stats.get_mut(i)) {
                            into.merge(s);
                        }
                    }
                    for (j, s) in t.journeys.iter().enumerate() {
                        let to = journey_map.get(j).and_then(|&i| m.journeys.get_mut(i));
                        if let Some(into) = to {
                            into.merge(s);
                        }
                    }
                }
            }
            for t in window.into_values() {
                acc.add(&t);
                ticks.push(tick_export(&t));
            }
            if !more {
                break;
            }
            from = to + 1;
        }
        let started_at_ms = runs.iter().map(|r| r.row.started_at_ms).min().unwrap_or(0);
        let status = runs
            .iter()
            .map(|r| r.row.status)
            .find(|s| *s != RunStatus::Completed)
            .unwrap_or(RunStatus::Completed);
        let started = crate::format::system_time(started_at_ms);
        let summary = Summary::build(&info, &acc, status, started);
        let mut targets: Vec<(String, String)> = Vec::new();
        for t in runs.iter().flat_map(|r| r.targets.iter()) {
            if !targets.contains(t) {
                targets.push(t.clone());
            }
        }
        let list = ids
            .iter()
            .map(|id| format!("#{id}"))
            .collect::<Vec<_>>()
            .join(" + ");
        // Every shard's annotations (the same note from several shards once), in time order.
        let mut annotations: Vec<super::Annotation> = Vec::new();
        for a in runs.iter().flat_map(|r| r.annotations.iter()) {
            if !annotations.contains(a) {
                annotations.push(a.clone());
            }
        }
        annotations.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        let doc = RunExport {
            schema: EXPORT_SCHEMA.to_string(),
            uuid: uuid::Uuid::new_v4().to_string(),
            name: format!("{} (merged {list})", first.row.name),
            scenario_text: first.scenario_text.clone(),
            scenario_path: first.scenario_path.clone(),
            info,
            targets,
            status,
            started_at_ms,
            ended_at_ms: runs.iter().filter_map(|r| r.row.ended_at_ms).max(),
            summary: Some(summary),
            notes: if sharded {
                let late = runs
                    .iter()
                    .filter_map(|r| r.info.shard.as_ref())
                    .map(|s| s.late_ms)
                    .fold(0.0, f64::max);
                format!(
                    "Merged from {} shards (runs {list}); their starts were {} ms apart{}.",
                    runs.len(),
                    spread,
                    if late >= 1.0 {
                        format!(", the latest {late:.0} ms after --start-at")
                    } else {
                        String::new()
                    }
                )
            } else {
                format!(
                    "Merged from runs {list}, one shard each; their starts were {:.1} s apart.",
                    spread as f64 / 1000.0
                )
            },
            tags: vec!["merged".to_string()],
            baseline: false,
            version: env!("CARGO_PKG_VERSION").to_string(),
            host: serde_json::json!({
                "merged_from": runs.iter().map(|r| serde_json::json!({
                    "run": r.row.id, "uuid": r.row.uuid, "host": r.host
                })).collect::<Vec<_>>()
            }),
            annotations,
            // Each shard watched its own servers: the merged run keeps the shards' monitors on them.
            monitor: Default::default(),
            ticks,
        };
        self.import_run(&doc)
    }
}

/// The items of several lists once each, in first-seen order, and where each list's items went.
fn union<'a, T: PartialEq + Clone + 'a>(
    lists: impl Iterator<Item = &'a [T]>,
) -> (Vec<T>, Vec<Vec<usize>>) {
    let mut all: Vec<T> = Vec::new();
    let maps = lists
        .map(|list| {
            list.iter()
                .map(|x| {
                    all.iter().position(|m| m == x).unwrap_or_else(|| {
                        all.push(x.clone());
                        all.len() - 1
                    })
                })
                .collect()
        })
        .collect();
    (all, maps)
}
