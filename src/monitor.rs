//! What happened around the load: how busy the machine was and how steadily its CPU ran during a
//! run, so a comparison can tell a slower machine from a slower service.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The machine during one run, as a comparison reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// Cores of the machine.
    pub cores: usize,
    /// CPU this process used (engine, demo service, window), in cores, mean over the run.
    pub process_cores: f64,
    /// CPU every other process used, in cores, mean over the run (a CI runner's other jobs).
    pub other_cores: f64,
    /// Median time of the probe's fixed chunk of work, µs: the machine's speed during the run.
    pub probe_us: f64,
    /// Share of probe chunks that took more than twice the fastest: time the CPU ran at half
    /// speed or less (taken by other work, or slowed by its host).
    pub slow_share: f64,
    /// CPU the load generator's own engine threads used, in cores, mean over the run.
    #[serde(default)]
    pub engine_cores: f64,
    /// The engine threads that ran.
    #[serde(default)]
    pub engine_threads: usize,
}

impl Environment {
    /// Whether every figure is one a machine can have (an imported file's are checked).
    pub fn is_plausible(&self) -> bool {
        let ok = |v: f64, max: f64| v.is_finite() && (0.0..=max).contains(&v);
        let cores = self.cores as f64;
        (1..=4096).contains(&self.cores)
            && ok(self.process_cores, cores + 0.5)
            && ok(self.other_cores, cores + 0.5)
            && ok(self.probe_us, 1e9)
            && ok(self.slow_share, 1.0)
            && ok(self.engine_cores, cores + 0.5)
            && self.engine_threads <= 4096
    }

    /// Why the generator itself was the limit, or `None`: its engine threads kept the cores they
    /// could use busy (90 % or more of them), so requests waited for the generator, and the
    /// latency and rate measured are partly its own.
    pub fn generator_saturated(&self) -> Option<String> {
        let usable = self.engine_threads.min(self.cores) as f64;
        (usable > 0.0 && self.engine_cores >= usable * SATURATED).then(|| {
            format!(
                "the load generator was saturated: its {} engine thread(s) used {:.2} of the {} \
                 core(s) they could use ({:.0} %), so requests also waited for the generator; \
                 give it more cores (--threads, or another machine and `runs merge`) or lower the load",
                self.engine_threads,
                self.engine_cores,
                usable,
                self.engine_cores / usable * 100.0
            )
        })
    }

    /// Whether the machine's CPUs were nearly all busy (this process and others together), so
    /// the run's own threads had to wait for a core.
    pub fn contended(&self) -> bool {
        self.cores > 0 && self.process_cores + self.other_cores > self.cores as f64 * CONTENDED
    }

    /// Why this run's machine was too shared to compare its latency tightly, or `None`: other
    /// processes busy beside it (measured on a 2-core VM, a neighbour spinning on one core
    /// doubled a 1 ms endpoint's p99 in some runs and not in others), every core busy, or a CPU
    /// at half speed for a noticeable share of the run.
    pub fn noisy(&self) -> Option<String> {
        let mut why = Vec::new();
        if self.other_cores > OTHER_BUSY {
            why.push(format!(
                "other processes used {:.1} cores",
                self.other_cores
            ));
        }
        if self.contended() {
            why.push(format!("all {} cores were busy", self.cores));
        }
        if self.slow_share > SLOW_APART {
            why.push(format!(
                "the CPU ran at half speed {:.0} % of the time",
                self.slow_share * 100.0
            ));
        }
        (!why.is_empty()).then(|| why.join(", "))
    }

    /// Why two runs' environments differ enough that a change between them may be the machine's,
    /// by an amount nothing measures, or `None` when they are alike: one contended and the other
    /// not, or one CPU far less steady. (A CPU of another speed is measured: [`Self::speed_of`].)
    pub fn differs(&self, other: &Environment) -> Option<String> {
        let mut why = Vec::new();
        if self.contended() != other.contended() {
            let busy = |e: &Environment| e.process_cores + e.other_cores;
            why.push(format!(
                "the CPUs were {} busy against {} ({:.1} and {:.1} of {} cores)",
                if other.contended() { "all" } else { "not all" },
                if self.contended() { "all" } else { "not all" },
                busy(other),
                busy(self),
                self.cores
            ));
        }
        let slow = (self.slow_share - other.slow_share).abs();
        if slow > SLOW_APART {
            why.push(format!(
                "the CPU was at half speed {:.0} % of the time against {:.0} %",
                other.slow_share * 100.0,
                self.slow_share * 100.0
            ));
        }
        (!why.is_empty()).then(|| why.join(", "))
    }

    /// How much longer `other`'s probe took than this run's (2.0: its CPU did the same work in
    /// twice the time), when both were measured. CPU-bound work can be slower by as much, and no
    /// more; within [`SPEED_ALIKE`] two quiet runs differ by as much.
    pub fn speed_of(&self, other: &Environment) -> Option<f64> {
        let ratio = other.probe_us / self.probe_us;
        (self.probe_us > 0.0 && other.probe_us > 0.0 && ratio.is_finite()).then_some(ratio)
    }
}

/// Share of the cores the engine threads could use above which the generator was the limit.
const SATURATED: f64 = 0.9;
/// Share of all cores busy above which the machine counts as contended.
const CONTENDED: f64 = 0.85;
/// Cores other processes may use beside a run before its machine counts as shared.
const OTHER_BUSY: f64 = 0.3;
/// Relative difference of the probe's median time that two runs may have and still be alike.
pub const SPEED_ALIKE: f64 = 0.15;
/// Difference of the share of half-speed probe chunks two runs may have and still be alike.
const SLOW_APART: f64 = 0.05;
/// How often the probe runs.
const PROBE_EVERY: Duration = Duration::from_millis(50);

/// Samples the machine on its own thread until finished.
pub struct Monitor {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Environment>>,
}

impl Monitor {
    /// Starts sampling now.
    pub fn start() -> Monitor {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("loadbench-monitor".into())
            .spawn(move || sample(&flag))
            .ok();
        Monitor { stop, thread }
    }

    /// Stops sampling and sums up; `None` when the sampler could not run.
    pub fn finish(mut self) -> Option<Environment> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take()?.join().ok()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn sample(stop: &AtomicBool) -> Environment {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let start = Instant::now();
    let cpu0 = cpu_ticks();
    // Each engine thread's CPU ticks as last seen: a thread that has ended keeps its last value
    // (its final fifth of a second may be missed: a saturation is then understated, never made up).
    let mut engine: std::collections::HashMap<u64, u64> = Default::default();
    let mut chunks: Vec<f64> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(PROBE_EVERY);
        if chunks.len().is_multiple_of(4) {
            engine_ticks(&mut engine);
        }
        let t = Instant::now();
        std::hint::black_box(chunk(std::hint::black_box(20_000)));
        chunks.push(t.elapsed().as_secs_f64() * 1e6);
    }
    engine_ticks(&mut engine);
    let wall = start.elapsed().as_secs_f64();
    // The engine threads start after the sampler, so their ticks all fall within the run.
    let engine_cores = if wall > 0.0 {
        engine.values().sum::<u64>() as f64 / 100.0 / wall
    } else {
        0.0
    };
    let engine_threads = engine.len();
    let (process_cores, other_cores) = match (cpu0, cpu_ticks()) {
        (Some((busy0, own0)), Some((busy1, own1))) if wall > 0.0 => {
            let hz = 100.0; // USER_HZ, fixed at 100 on Linux for /proc
            let own = own1.saturating_sub(own0) as f64 / hz / wall;
            let busy = busy1.saturating_sub(busy0) as f64 / hz / wall;
            (own, (busy - own).max(0.0))
        }
        _ => (0.0, 0.0),
    };
    let fastest = chunks.iter().copied().fold(f64::INFINITY, f64::min);
    chunks.sort_by(f64::total_cmp);
    let probe_us = chunks.get(chunks.len() / 2).copied().unwrap_or(0.0);
    let slow_share = if chunks.is_empty() {
        0.0
    } else {
        chunks.iter().filter(|&&c| c > 2.0 * fastest).count() as f64 / chunks.len() as f64
    };
    Environment {
        cores,
        process_cores,
        other_cores,
        probe_us,
        slow_share,
        engine_cores,
        engine_threads,
    }
}

/// Records the CPU ticks of this process's engine threads (named `loadbench-engine-N`, which the
/// kernel shortens to 15 characters) by thread id, from /proc, Linux only.
fn engine_ticks(seen: &mut std::collections::HashMap<u64, u64>) {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u64>().ok())
        else {
            continue;
        };
        let dir = task.path();
        let is_engine = std::fs::read_to_string(dir.join("comm"))
            .is_ok_and(|c| c.trim_end().starts_with("loadbench-engin"));
        if !is_engine {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let t = f.get(11).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
        seen.insert(tid, t);
    }
}

/// A fixed amount of integer work (about 10–20 µs on a current core).
fn chunk(n: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = x.wrapping_add(i);
    }
    x
}

/// (busy ticks of the whole machine, ticks of this process) from /proc, Linux only.
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    let busy = v.iter().take(8).sum::<u64>() - v.get(3)? - v.get(4)?;
    let own = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at ") ".
    let rest = own.rsplit_once(") ")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let own = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some((busy, own))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_busy_on_every_core_show_as_contention_and_differ() {
        let quiet = {
            let m = Monitor::start();
            std::thread::sleep(Duration::from_millis(600));
            m.finish().expect("sampled")
        };
        // Neighbour processes spinning on every core for the whole window.
        let mut hogs: Vec<std::process::Child> = (0..quiet.cores)
            .map(|_| {
                std::process::Command::new("sh")
                    .args(["-c", "while :; do :; done"])
                    .spawn()
                    .expect("sh")
            })
            .collect();
        let busy = {
            let m = Monitor::start();
            std::thread::sleep(Duration::from_millis(600));
            m.finish().expect("sampled")
        };
        for h in &mut hogs {
            let _ = h.kill();
            let _ = h.wait();
        }
        assert!(quiet.probe_us > 0.0 && busy.probe_us > 0.0);
        // Only measurable when the machine had a core to spare to begin with.
        if cfg!(target_os = "linux") && !quiet.contended() {
            assert!(
                busy.other_cores > quiet.other_cores + 0.5 && busy.contended(),
                "quiet {quiet:?}, busy {busy:?}"
            );
            assert!(quiet.differs(&busy).is_some());
            assert!(
                busy.noisy()
                    .is_some_and(|why| why.contains("other processes"))
            );
        }
        assert_eq!(quiet.differs(&quiet), None);
    }

    #[test]
    fn a_generator_busy_on_the_cores_it_could_use_says_so() {
        let env = |cores: usize, engine_cores: f64, engine_threads: usize| Environment {
            cores,
            engine_cores,
            engine_threads,
            ..Environment::default()
        };
        // One thread at 95 % of its one core: saturated.
        let why = env(2, 0.95, 1).generator_saturated().expect("saturated");
        assert!(
            why.contains("1 engine thread(s) used 0.95 of the 1 core(s)"),
            "{why}"
        );
        // Two threads on a 2-core machine at 1 core in all: half their cores, not saturated.
        assert!(env(2, 1.0, 2).generator_saturated().is_none());
        // Four threads on 2 cores can use 2 cores at most: 1.9 of them is saturated.
        assert!(env(2, 1.9, 4).generator_saturated().is_some());
        // Nothing measured (another OS, an old stored run): nothing said.
        assert!(env(2, 0.0, 0).generator_saturated().is_none());
    }
}
