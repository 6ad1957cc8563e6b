//! Frame times and memory of a long session, appended to the file `LOADBENCH_FRAME_LOG` names.
//!
//! For soaks of the window (bench/gui-soak.sh): every `LOADBENCH_FRAME_LOG_EVERY` seconds
//! (default 60) one line `elapsed_s frames p50_ms p99_ms max_ms rss_mb`, where a frame's time is
//! eframe's own measure (the app's `ui` plus tessellation and painting, vsync excluded).

use std::io::Write;
use std::time::{Duration, Instant};

/// Collects frame times and writes one summary line per period.
pub struct FrameLog {
    file: std::fs::File,
    every: Duration,
    started: Instant,
    period_start: Instant,
    frames_ms: Vec<f32>,
}

impl FrameLog {
    /// The log the environment asks for, if any (a file that cannot be opened is said once).
    pub fn from_env() -> Option<FrameLog> {
        let path = std::env::var_os("LOADBENCH_FRAME_LOG")?;
        let every = std::env::var("LOADBENCH_FRAME_LOG_EVERY")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|&s| s > 0)
            .unwrap_or(60);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| eprintln!("loadbench: LOADBENCH_FRAME_LOG {path:?}: {e}"))
            .ok()?;
        let now = Instant::now();
        Some(FrameLog {
            file,
            every: Duration::from_secs(every),
            started: now,
            period_start: now,
            frames_ms: Vec::new(),
        })
    }

    /// Notes the previous frame's time (None on the first frame) and writes a line when due.
    pub fn frame(&mut self, seconds: Option<f32>) {
        if let Some(s) = seconds {
            self.frames_ms.push(s * 1e3);
        }
        if self.period_start.elapsed() < self.every {
            return;
        }
        self.period_start = Instant::now();
        let mut ms = std::mem::take(&mut self.frames_ms);
        ms.sort_by(f32::total_cmp);
        let at = |q: f64| {
            ms.get(((ms.len() as f64 * q).ceil() as usize).saturating_sub(1))
                .copied()
                .unwrap_or(0.0)
        };
        let line = format!(
            "{:.0} {} {:.2} {:.2} {:.2} {:.1}\n",
            self.started.elapsed().as_secs_f64(),
            ms.len(),
            at(0.5),
            at(0.99),
            ms.last().copied().unwrap_or(0.0),
            rss_mb().unwrap_or(f64::NAN),
        );
        let _ = self.file.write_all(line.as_bytes());
    }
}

/// The process's resident memory now, from /proc (Linux only).
fn rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}
