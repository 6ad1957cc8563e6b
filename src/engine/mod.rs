//! Turns a scenario into load on its own threads and reports one tick per second; never blocks its caller.

mod arrivals;
mod client;
mod error;
mod failure;
mod h1;
mod h1_io;
mod occupancy;
mod plan;
mod stream;
mod trace;
mod tunnel;
mod webhook;
mod worker;

pub use error::{Lost, StartError};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::demo::DemoServer;
use crate::demo::proxy::DemoProxy;
use crate::metrics::{Accumulator, Key, RunInfo, Stats, Summary, Tick};
use crate::scenario::{Arrivals, Load, Proxy, ProxyUrl, Scenario, TargetKind};
use plan::Plan;
use worker::WorkerMsg;

pub use crate::metrics::RunStatus;

/// What the engine reports while it runs.
#[derive(Debug)]
pub enum Event {
    /// One second of measurements.
    Tick(Arc<Tick>),
    /// The run is over; no event follows.
    Finished(Box<Outcome>),
}

/// The end result of a run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How it ended.
    pub status: RunStatus,
    /// Its figures and threshold verdicts.
    pub summary: Summary,
    /// Run totals per series (histograms included), for storage and comparison.
    pub totals: Accumulator,
}

/// Options a caller can set beside the scenario.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Engine threads; overrides the scenario's `engine.threads`.
    pub threads: Option<usize>,
    /// A Stop button made before the run starts (the GUI starts runs off its own thread).
    pub stopper: Option<Stopper>,
    /// Run only this shard's share of the schedule (`run --shards N`): the union of every
    /// shard's sends is exactly the single-process schedule.
    pub shard: Option<crate::metrics::ShardInfo>,
}

/// A running load test: its events and its Stop button.
pub struct RunHandle {
    /// Ticks, then one `Finished`.
    pub events: Receiver<Event>,
    /// The series measured, in tick order.
    pub keys: Vec<Key>,
    /// The base URL of each target as actually used (demo targets resolved to their port).
    pub target_urls: Vec<(String, String)>,
    /// When the run started.
    pub started_at: SystemTime,
    /// What a summary of this run needs besides its ticks.
    pub info: RunInfo,
    /// The run's webhook deliveries, read each second for their series.
    pub webhooks: Option<Arc<crate::metrics::Ledger>>,
    stop: CancellationToken,
}

/// Stops a run from anywhere (a Ctrl-C handler, a GUI button).
#[derive(Clone)]
pub struct Stopper(CancellationToken);

impl Default for Stopper {
    fn default() -> Self {
        Stopper::new()
    }
}

impl Stopper {
    /// A Stop button for a run not started yet (pass it in [`RunOptions::stopper`]).
    pub fn new() -> Stopper {
        Stopper(CancellationToken::new())
    }

    /// Asks the run to stop; it ends within about a second, keeping what it measured.
    pub fn stop(&self) {
        self.0.cancel();
    }
}

impl RunHandle {
    /// Asks the run to stop.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// A handle that can stop the run from another thread.
    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop.clone())
    }

    /// Waits for the end, passing each tick to `on_tick`.
    pub fn wait(self, mut on_tick: impl FnMut(&Arc<Tick>)) -> Option<Outcome> {
        for ev in self.events.iter() {
            match ev {
                Event::Tick(t) => on_tick(&t),
                Event::Finished(o) => return Some(*o),
            }
        }
        None
    }
}

/// Starts `scenario`: embedded demo services first, then the workers. Errors mean nothing was sent.
pub fn start(scenario: Scenario, options: RunOptions) -> Result<RunHandle, StartError> {
    let mut demos: Vec<DemoServer> = Vec::new();
    let mut demo_urls: Vec<Option<String>> = Vec::new();
    let mut demo_cas: Vec<Option<String>> = Vec::new();
    for (i, t) in scenario.targets.iter().enumerate() {
        match &t.kind {
            TargetKind::Demo(cfg) => {
                // Demo targets set up alike share one server: a target direct and the same
                // through a proxy measure the same service.
                let same = scenario.targets[..i]
                    .iter()
                    .position(|e| matches!(&e.kind, TargetKind::Demo(c) if c == cfg));
                if let Some(j) = same {
                    demo_urls.push(demo_urls[j].clone());
                    demo_cas.push(demo_cas[j].clone());
                    continue;
                }
                let server = DemoServer::start(cfg.clone()).map_err(|source| StartError::Demo {
                    target: t.name.clone(),
                    source,
                })?;
                demo_urls.push(Some(server.url()));
                demo_cas.push(server.ca_pem.clone());
                demos.push(server);
            }
            TargetKind::Url(_) => {
                demo_urls.push(None);
                demo_cas.push(None);
            }
        }
    }
    let (demo_proxies, proxies) = start_proxies(&scenario)?;
    let target_urls = scenario
        .targets
        .iter()
        .zip(&demo_urls)
        .map(|(t, d)| {
            let url = match (&t.kind, d) {
                (_, Some(u)) => u.clone(),
                (TargetKind::Url(b), None) => format!(
                    "{}://{}{}",
                    if b.https { "https" } else { "http" },
                    b.authority(),
                    b.base_path
                ),
                (TargetKind::Demo(_), None) => String::new(),
            };
            (t.name.clone(), url)
        })
        .collect();
    let receiver = match &scenario.webhooks {
        Some(spec) => {
            Some(
                webhook::Receiver::start(spec).map_err(|source| StartError::Webhooks {
                    listen: spec.listen.to_string(),
                    source,
                })?,
            )
        }
        None => None,
    };
    let ledger = receiver.as_ref().map(|r| r.ledger.clone());
    let plan = Arc::new(Plan::new(
        scenario,
        &demo_urls,
        &demo_cas,
        &proxies,
        ledger.clone(),
    )?);
    let keys = plan.keys.clone();
    let mut info = RunInfo::of(&plan.scenario);
    info.proxies = plan
        .scenario
        .targets
        .iter()
        .zip(&proxies)
        .filter_map(|(t, p)| Some((t.name.clone(), p.as_ref()?.url())))
        .collect();
    info.shard = options.shard.clone();
    // A shard's own figures are its share: its users, its part of the schedule.
    if let Some(sh) = &info.shard {
        info.max_vus = info.max_vus.map(|v| sh.share_of(v));
    }
    // A shard's engine threads take every (shards × threads)-th part of the whole schedule:
    // thread `id` of shard `index` is part `index + shards × id`.
    let (shard, shards) = options
        .shard
        .as_ref()
        .map_or((0, 1), |s| (s.index, s.count.max(1)));
    let workers = worker_count(&plan.scenario, &options, shards);
    let stop = options
        .stopper
        .as_ref()
        .map_or_else(CancellationToken::new, |s| s.0.clone());
    let (wtx, wrx) = mpsc::channel::<WorkerMsg>();
    let (etx, erx) = mpsc::channel::<Event>();
    let monitor = crate::monitor::Monitor::start();
    let start = Instant::now();
    let started_at = SystemTime::now();
    for id in 0..workers {
        let plan = plan.clone();
        let stop = stop.clone();
        let wtx = wtx.clone();
        std::thread::Builder::new()
            .name(format!("loadbench-engine-{id}"))
            .spawn(move || {
                worker::run(
                    shard + shards * id,
                    shards * workers,
                    plan,
                    start,
                    stop,
                    wtx,
                )
            })
            .map_err(StartError::Thread)?;
    }
    drop(wtx);
    let stop2 = stop.clone();
    let shard_of = info.clone();
    std::thread::Builder::new()
        .name("loadbench-aggregator".into())
        .spawn(move || {
            aggregate(
                &plan, &shard_of, workers, wrx, &etx, &stop2, started_at, monitor,
            );
            drop(receiver);
            drop(demos);
            drop(demo_proxies);
        })
        .map_err(StartError::Thread)?;
    Ok(RunHandle {
        events: erx,
        keys,
        target_urls,
        started_at,
        info,
        webhooks: ledger,
        stop,
    })
}

/// Starts the embedded demo proxies the targets ask for (one per delay) and gives each target
/// its proxy's address.
#[allow(clippy::type_complexity)]
fn start_proxies(
    scenario: &Scenario,
) -> Result<(Vec<DemoProxy>, Vec<Option<ProxyUrl>>), StartError> {
    let mut started: Vec<(std::time::Duration, DemoProxy)> = Vec::new();
    let mut out = Vec::new();
    for t in &scenario.targets {
        let url = match &t.proxy {
            None => None,
            Some(Proxy::Url(u)) => Some(u.clone()),
            Some(Proxy::Demo { delay }) => {
                let addr = match started.iter().find(|(d, _)| d == delay) {
                    Some((_, p)) => p.addr,
                    None => {
                        let p = DemoProxy::start(0, *delay).map_err(|source| StartError::Demo {
                            target: t.name.clone(),
                            source,
                        })?;
                        let addr = p.addr;
                        started.push((*delay, p));
                        addr
                    }
                };
                Some(ProxyUrl {
                    host: addr.ip().to_string(),
                    port: addr.port(),
                    userinfo: None,
                })
            }
        };
        out.push(url);
    }
    Ok((started.into_iter().map(|(_, p)| p).collect(), out))
}

/// Below this many requests a second per engine thread, another thread only splits a sparse
/// schedule into sparser ones.
const RATE_PER_THREAD: f64 = 2000.0;
/// Each open-model thread queues its own share of `max_in_flight`, and small separate pools queue
/// more than one shared pool (at 85 % of a cap of 8, Poisson arrivals: p99 50 ms on one thread,
/// 90 ms on two): by default a thread gets at least this many slots of the cap.
const SLOTS_PER_THREAD: usize = 64;

/// Engine threads: as asked (`--threads`, `engine.threads`), else one per core; never more than
/// can have work (one per virtual user or in-flight slot), and in the open model by default one
/// per 2,000 requests a second of its peak rate and per 64 slots of `max_in_flight`.
fn worker_count(scenario: &Scenario, options: &RunOptions, shards: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let asked = options.threads.or(scenario.threads);
    let useful = match &scenario.load {
        Load::Open {
            max_in_flight,
            rate,
            ..
        } => {
            let by_rate = (rate.max_level() / RATE_PER_THREAD).ceil().max(1.0) as usize;
            let by_cap = (*max_in_flight / SLOTS_PER_THREAD).max(1);
            (*max_in_flight).min(if asked.is_some() {
                usize::MAX
            } else {
                by_rate.min(by_cap)
            })
        }
        Load::Closed { vus, .. } => vus.max_level().ceil() as usize,
    };
    // A shard has its share of the users and slots to spread over its threads.
    let useful = useful.div_ceil(shards.max(1));
    asked.unwrap_or(cores).max(1).min(useful.max(1))
}

/// Merges the workers' shares of each second into one tick, in order, and computes the summary at the end.
#[allow(clippy::too_many_arguments)]
fn aggregate(
    plan: &Plan,
    info: &RunInfo,
    workers: usize,
    rx: Receiver<WorkerMsg>,
    tx: &Sender<Event>,
    stop: &CancellationToken,
    started_at: SystemTime,
    monitor: crate::monitor::Monitor,
) {
    let scenario = &plan.scenario;
    let mut acc = Accumulator::new(plan.keys.len());
    let mut pending: BTreeMap<u32, Vec<WorkerMsg>> = BTreeMap::new();
    let mut finals: Vec<WorkerMsg> = Vec::new();
    let mut ticks = TickMaker {
        plan,
        shard: info.shard.as_ref(),
        tx,
        warmup_ticks: scenario.warmup.as_secs_f64().ceil() as u32,
        last_end: 0.0,
        last_index: 0,
    };
    let mut failed = false;
    loop {
        let Ok(msg) = rx.recv() else {
            failed = finals.len() < workers;
            break;
        };
        if msg.is_final {
            finals.push(msg);
            if finals.len() == workers {
                break;
            }
            continue;
        }
        let index = msg.index;
        let parts = pending.entry(index).or_default();
        parts.push(msg);
        if parts.len() == workers {
            // Anything older still pending is incomplete (a late worker); send it as it is, in order.
            let ready: Vec<u32> = pending.range(..=index).map(|(i, _)| *i).collect();
            for i in ready {
                if let Some(parts) = pending.remove(&i) {
                    ticks.emit(i, f64::from(i), &parts, 0, &mut acc);
                }
            }
        }
    }
    for (i, parts) in std::mem::take(&mut pending) {
        ticks.emit(i, f64::from(i), &parts, 0, &mut acc);
    }
    // Every worker reports the same window (the schedule, or up to Stop); requests that finished
    // in the drain after it belong to its last tick without lengthening it (its `drain` says how
    // long they took, for its per-second rates).
    let end = finals.iter().map(|f| f.end).fold(ticks.last_end, f64::max);
    let not_started = finals.iter().map(|f| f.not_started).sum();
    let index = finals
        .iter()
        .map(|f| f.index)
        .max()
        .unwrap_or(1)
        .max(ticks.last_index + 1);
    ticks.emit(index, end, &finals, not_started, &mut acc);
    let status = if failed {
        RunStatus::Failed
    } else if stop.is_cancelled() {
        RunStatus::Stopped
    } else {
        RunStatus::Completed
    };
    let mut summary = Summary::build(info, &acc, status, started_at);
    summary.environment = monitor.finish();
    if let Some(ledger) = &plan.webhooks {
        // Callbacks still on their way count until the grace period ends (or all are in).
        let began = Instant::now();
        let grace = scenario
            .webhooks
            .as_ref()
            .map_or(Default::default(), |w| w.grace);
        while ledger.outstanding() > 0 && began.elapsed() < grace && !stop.is_cancelled() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let waited = began.elapsed().as_secs_f64();
        summary.judge_webhooks(info, ledger.summary(waited), &|s| ledger.latency_us(s));
    }
    let _ = tx.send(Event::Finished(Box::new(Outcome {
        status,
        summary,
        totals: acc,
    })));
}

/// Builds ticks from the workers' parts, keeping the time line continuous.
struct TickMaker<'a> {
    plan: &'a Plan,
    /// A shard's ticks name its share of the schedule (or users), so the shards' add up.
    shard: Option<&'a crate::metrics::ShardInfo>,
    tx: &'a Sender<Event>,
    warmup_ticks: u32,
    last_end: f64,
    last_index: u32,
}

impl TickMaker<'_> {
    fn emit(
        &mut self,
        index: u32,
        end: f64,
        parts: &[WorkerMsg],
        not_started: u64,
        acc: &mut Accumulator,
    ) {
        let scenario = &self.plan.scenario;
        let keys = self.plan.keys.len();
        let mut stats = vec![Stats::default(); keys + self.plan.journeys.len()];
        for p in parts {
            for (a, s) in stats.iter_mut().zip(&p.stats) {
                a.merge(s);
            }
        }
        // The workers keep the journeys' iterations after the series.
        let journeys = stats.split_off(keys);
        let in_flight = occupancy::peak_of_sum(parts.iter().map(|p| &p.in_flight));
        let end = end.max(self.last_end);
        let seconds = end - self.last_end;
        let profile = scenario.load.profile();
        let target = match scenario.load {
            // Evenly spaced slots are whole requests: slot n falls in [a, b) exactly when
            // ceil(count(a)) <= n < ceil(count(b)), so a 0.5/s schedule asks 1, 0, 1, … per second.
            Load::Open {
                arrivals: Arrivals::Even,
                ..
            } if seconds > 0.0 => {
                let slots = |t: f64| {
                    let all = (profile.count_until(t) - 1e-9).ceil().max(0.0);
                    self.shard.map_or(all, |sh| sh.share_of(all as u64) as f64)
                };
                (slots(end) - slots(self.last_end)) / seconds
            }
            Load::Open { .. } if seconds > 0.0 => {
                let part = self.shard.map_or(1.0, |sh| 1.0 / sh.count.max(1) as f64);
                (profile.count_until(end) - profile.count_until(self.last_end)) / seconds * part
            }
            Load::Open { .. } => 0.0,
            Load::Closed { .. } => {
                let users = profile
                    .level_at(end.min(profile.total().as_secs_f64() - 1e-9))
                    .round();
                self.shard
                    .map_or(users, |sh| sh.share_of(users.max(0.0) as u64) as f64)
            }
        };
        let tick = Tick {
            index,
            end,
            seconds,
            drain: parts.iter().map(|p| p.drained).fold(0.0, f64::max),
            warmup: index <= self.warmup_ticks,
            target,
            in_flight,
            not_started,
            stats,
            journeys,
        };
        self.last_end = end;
        self.last_index = index;
        acc.add(&tick);
        let _ = self.tx.send(Event::Tick(Arc::new(tick)));
    }
}
