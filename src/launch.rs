//! One run from start to stored — the engine, its run writer and tags, every tick stored as it
//! comes, and its end — the same for the command line, the window and the capacity search.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::{self, Outcome, RunHandle, RunOptions, Stopper};
use crate::halt::{Halt, Watch};
use crate::metrics::Tick;
use crate::scenario::Scenario;
use crate::store::{NewRun, Recorder, Store};

/// Where a run is stored, and the tags it gets.
#[derive(Debug, Clone)]
pub struct StoreTo {
    /// The database.
    pub db: PathBuf,
    /// Tags for the run (`capacity` for a search's steps).
    pub tags: Vec<String>,
}

/// A run under way: the engine's handle and, when it is stored, its writer.
pub struct Launched {
    /// The engine's view of the run: keys, target URLs, the Stop button.
    pub handle: RunHandle,
    /// What ends the run early (nothing connects, an abort threshold fails).
    pub watch: Watch,
    recorder: Option<(Recorder, PathBuf)>,
    /// The server side sampled each second (`[monitor]`).
    sampler: Option<crate::scrape::Sampler>,
    /// Why the run is not being stored, when it was meant to be.
    pub not_stored: Option<String>,
}

/// How a run ended: the engine's outcome and where it was stored (or why it could not be).
pub struct Finished {
    /// Status, summary and totals.
    pub outcome: Outcome,
    /// The run's id, or why it was not stored completely; `None` when it was not meant to be.
    pub stored: Option<Result<i64, String>>,
    /// Why the run was ended early, if it was.
    pub halt: Option<Halt>,
}

/// Starts `scenario` as run `name`: the engine first (its errors mean nothing was sent), then
/// the run writer, which a failure to store does not stop (it is said in `not_stored`).
pub fn start(
    scenario: Scenario,
    name: String,
    options: RunOptions,
    store: Option<&StoreTo>,
) -> Result<Launched, engine::StartError> {
    // Stored as written (`${env.*}` unresolved), minus any password written into a URL.
    let scenario_text = crate::scenario::credentials::redact_userinfo(&scenario.text);
    let scenario_path = scenario.path.as_ref().map(|p| p.display().to_string());
    let watch = Watch::new(&scenario, true);
    let monitor = scenario.monitor.clone();
    let handle = engine::start(scenario, options)?;
    // Started with the engine, so its seconds are the run's.
    let sampler = monitor
        .as_ref()
        .map(|m| crate::scrape::Sampler::start(m, &handle.target_urls));
    let mut not_stored = None;
    let recorder = store.and_then(|to| {
        let new = NewRun {
            name,
            scenario_text,
            scenario_path,
            info: handle.info.clone(),
            targets: handle.target_urls.clone(),
            started_at: handle.started_at,
        };
        match Recorder::start(&to.db, new) {
            Ok(r) => {
                if !to.tags.is_empty()
                    && let Ok(store) = Store::open(&to.db)
                {
                    let _ = store.tag(r.run_id, &to.tags);
                }
                Some((r, to.db.clone()))
            }
            Err(e) => {
                not_stored = Some(e.to_string());
                None
            }
        }
    });
    Ok(Launched {
        handle,
        watch,
        recorder,
        sampler,
        not_stored,
    })
}

impl Launched {
    /// The Stop button of this run.
    pub fn stopper(&self) -> Stopper {
        self.handle.stopper()
    }

    /// The stored run's id, once its row exists.
    pub fn run_id(&self) -> Option<i64> {
        self.recorder.as_ref().map(|(r, _)| r.run_id)
    }

    /// Runs to the end: each tick stored, then shown to `on_tick`; the final status and summary
    /// written. Returns how it ended.
    pub fn finish(self, on_tick: impl FnMut(&Arc<Tick>)) -> Result<Finished, engine::Lost> {
        self.finish_watching(on_tick, |_| {})
    }

    /// [`Launched::finish`], with each second the `[monitor]` read also shown to `on_reading`
    /// (the live screen's server-side charts).
    pub fn finish_watching(
        self,
        mut on_tick: impl FnMut(&Arc<Tick>),
        mut on_reading: impl FnMut(&crate::scrape::Reading),
    ) -> Result<Finished, engine::Lost> {
        let Launched {
            handle,
            recorder,
            mut watch,
            sampler,
            ..
        } = self;
        let stopper = handle.stopper();
        let mut halt = None;
        // The monitor's readings: summed for the summary, stored beside the ticks.
        let mut totals = crate::scrape::Totals::default();
        let ledger = handle.webhooks.clone();
        // A split request's share per value each second (a cache's hit ratio), kept as series too.
        let splits = crate::metrics::split_groups(
            handle
                .keys
                .iter()
                .map(|k| (k.request.as_str(), k.target.as_str())),
        );
        let mut others: Vec<String> = Vec::new();
        let monitor_store = recorder
            .as_ref()
            .filter(|_| sampler.is_some() || ledger.is_some() || !splits.is_empty())
            .and_then(|(r, db)| Store::open(db).ok().map(|s| (s, r.run_id)));
        let mut keep = |readings: Vec<crate::scrape::Reading>| {
            for r in readings {
                totals.add(&r);
                on_reading(&r);
                if let Some((store, id)) = &monitor_store {
                    let kept: Vec<(String, f64)> = r
                        .values
                        .into_iter()
                        .filter(|(n, _)| totals.keeps(n))
                        .collect();
                    let _ = store.add_monitor(*id, r.at_s, &kept, &r.failed);
                }
            }
        };
        let outcome = handle.wait(|tick| {
            if let Some((r, _)) = &recorder {
                r.tick(tick.clone());
            }
            if let Some(s) = &sampler {
                keep(s.take());
            }
            if let Some(l) = &ledger {
                keep(vec![webhook_reading(l, tick.end, 1.0)]);
            }
            if !splits.is_empty() && !tick.warmup {
                let mut values = crate::metrics::split_shares(&splits, &tick.stats);
                // `other` is charted from its first answer on: a line of zeros says nothing.
                for (name, v) in &values {
                    if *v > 0.0 && name.ends_with(" other share %") && !others.contains(name) {
                        others.push(name.clone());
                    }
                }
                values
                    .retain(|(name, _)| !name.ends_with(" other share %") || others.contains(name));
                keep(vec![crate::scrape::Reading {
                    at_s: tick.end,
                    values,
                    failed: Vec::new(),
                }]);
            }
            if let Some(h) = watch.see(tick) {
                stopper.stop();
                halt = Some(h);
            }
            on_tick(tick);
        });
        let mut outcome = outcome.ok_or(engine::Lost)?;
        let sampled = sampler.is_some();
        if let Some(s) = sampler {
            keep(s.finish());
        }
        if let Some(l) = &ledger {
            // What arrived in the grace period after the last second, at the period's end.
            let grace = outcome.summary.webhooks.as_ref().map_or(0.0, |w| w.grace_s);
            let end = outcome.totals.seconds + outcome.totals.warmup_seconds + grace;
            keep(vec![webhook_reading(l, end, grace.max(1.0))]);
        }
        if sampled || !totals.is_empty() {
            outcome.summary.monitor = Some(totals.summary());
        }
        if let Some(h) = &halt {
            outcome.summary.halted = Some(h.reason());
            match h {
                Halt::Unreachable(_) => outcome.status = engine::RunStatus::Failed,
                Halt::Threshold { .. } => outcome.summary.thresholds_passed = false,
            }
            outcome.summary.status = outcome.status;
        }
        let stored = recorder.map(|(r, db)| {
            r.finish(outcome.status, &outcome.summary).map_err(|e| {
                format!(
                    "the run could not be stored completely in {}: {e}",
                    shown(&db)
                )
            })
        });
        Ok(Finished {
            outcome,
            stored,
            halt,
        })
    }
}

/// The webhook deliveries of the last `seconds` as monitor series (rates per second), so they are
/// stored, charted and summed beside the server's.
fn webhook_reading(l: &crate::metrics::Ledger, at_s: f64, seconds: f64) -> crate::scrape::Reading {
    let s = l.take_second();
    let rate = |n: u64| n as f64 / seconds;
    let mut values = vec![
        ("webhooks delivered/s".to_string(), rate(s.delivered)),
        ("webhooks duplicates/s".to_string(), rate(s.duplicates)),
        ("webhooks out of order/s".to_string(), rate(s.out_of_order)),
        ("webhooks unknown/s".to_string(), rate(s.unknown)),
    ];
    if let Some(p99) = s.p99_ms {
        values.push(("webhook latency p99 (ms)".to_string(), p99));
    }
    crate::scrape::Reading {
        at_s,
        values,
        failed: Vec::new(),
    }
}

fn shown(p: &Path) -> String {
    p.display().to_string()
}
