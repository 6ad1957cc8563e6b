//! The server side sampled beside a run (`[monitor]`): each second's values and failed reads.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{Result, Store};

/// A run's monitor as stored: every series' points, and every failed read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorData {
    /// Each series with its (seconds since the start, value) points, by name.
    pub series: Vec<MonitorPoints>,
    /// Reads that failed: when, which source, why.
    pub failures: Vec<MonitorFailure>,
}

/// One series' points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorPoints {
    /// Its name.
    pub name: String,
    /// (seconds since the start, value).
    pub points: Vec<(f64, f64)>,
}

/// One failed read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorFailure {
    /// Seconds since the start.
    pub at_s: f64,
    /// The source (a target's name, a host:port, a process).
    pub source: String,
    /// Why it failed.
    pub why: String,
}

/// The most points one run's monitor returns (a day of 20 series is 1.7 million).
const MAX_POINTS: i64 = 2_000_000;
/// The most series an imported monitor may carry (as many as a run keeps).
const MAX_SERIES: usize = 200;
/// The longest series name or failure text kept from an imported file.
const MAX_TEXT: usize = 500;

impl MonitorData {
    /// Whether the run had no monitor (nothing read, nothing failed).
    pub fn is_empty(&self) -> bool {
        self.series.is_empty() && self.failures.is_empty()
    }

    /// Checks a monitor from a file against a run `span` seconds long: bounded counts and
    /// texts, finite values, times within the run (a minute of slack for the last reads).
    pub fn check(&self, span: f64) -> std::result::Result<(), String> {
        if self.series.len() > MAX_SERIES {
            return Err(format!(
                "monitor: {} series, at most {MAX_SERIES}",
                self.series.len()
            ));
        }
        let points: usize = self.series.iter().map(|s| s.points.len()).sum();
        if points + self.failures.len() > MAX_POINTS as usize {
            return Err(format!("monitor: {points} points, at most {MAX_POINTS}"));
        }
        let when = |at: f64| at.is_finite() && (0.0..=span + 60.0).contains(&at);
        for s in &self.series {
            if s.name.is_empty() || s.name.chars().count() > MAX_TEXT {
                return Err("monitor: a series name empty or over 500 characters".into());
            }
            if let Some((at, v)) = s.points.iter().find(|(at, v)| !when(*at) || !v.is_finite()) {
                return Err(format!(
                    "monitor: series `{}` has a point ({at}, {v}) outside the run or not a number",
                    s.name
                ));
            }
        }
        for f in &self.failures {
            if !when(f.at_s)
                || f.source.chars().count() > MAX_TEXT
                || f.why.chars().count() > MAX_TEXT
            {
                return Err(format!(
                    "monitor: a failed read of `{}` outside the run or too long",
                    f.source
                ));
            }
        }
        Ok(())
    }
}

impl Store {
    /// Stores one second's readings of run `id`.
    pub fn add_monitor(
        &self,
        id: i64,
        at_s: f64,
        values: &[(String, f64)],
        failed: &[(String, String)],
    ) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(self.err())?;
        for (name, v) in values.iter().filter(|(_, v)| v.is_finite()) {
            tx.prepare_cached(
                "INSERT INTO monitor_points (run_id, name, at_s, value) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![id, name, at_s, v]))
            .map_err(self.err())?;
        }
        for (source, why) in failed {
            tx.prepare_cached(
                "INSERT INTO monitor_failures (run_id, at_s, source, why) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![id, at_s, source, why]))
            .map_err(self.err())?;
        }
        tx.commit().map_err(self.err())
    }

    /// Stores a whole monitor (an imported run's), once checked by [`MonitorData::check`].
    pub fn insert_monitor(&self, id: i64, m: &MonitorData) -> Result<()> {
        for s in &m.series {
            for (at, v) in &s.points {
                self.conn
                    .prepare_cached(
                        "INSERT INTO monitor_points (run_id, name, at_s, value) VALUES (?1, ?2, ?3, ?4)",
                    )
                    .and_then(|mut st| st.execute(params![id, s.name, at, v]))
                    .map_err(self.err())?;
            }
        }
        for f in &m.failures {
            self.conn
                .prepare_cached(
                    "INSERT INTO monitor_failures (run_id, at_s, source, why) VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut st| st.execute(params![id, f.at_s, f.source, f.why]))
                .map_err(self.err())?;
        }
        Ok(())
    }

    /// Run `id`'s monitor (empty when it had none).
    pub fn monitor(&self, id: i64) -> Result<MonitorData> {
        let mut data = MonitorData::default();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name, at_s, value FROM monitor_points WHERE run_id = ?1
                 ORDER BY name, at_s LIMIT ?2",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![id, MAX_POINTS], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, f64>(1)?,
                    r.get::<_, f64>(2)?,
                ))
            })
            .map_err(self.err())?;
        for row in rows {
            let (name, at, v) = row.map_err(self.err())?;
            match data.series.last_mut() {
                Some(s) if s.name == name => s.points.push((at, v)),
                _ => data.series.push(MonitorPoints {
                    name,
                    points: vec![(at, v)],
                }),
            }
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at_s, source, why FROM monitor_failures WHERE run_id = ?1
                 ORDER BY at_s LIMIT ?2",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![id, MAX_POINTS], |r| {
                Ok(MonitorFailure {
                    at_s: r.get(0)?,
                    source: r.get(1)?,
                    why: r.get(2)?,
                })
            })
            .map_err(self.err())?;
        for f in rows {
            data.failures.push(f.map_err(self.err())?);
        }
        Ok(data)
    }
}
