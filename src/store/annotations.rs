//! Notes pinned to a time of a run (a deploy at 30 s, a failover): stored with it, exported and
//! imported with it, drawn on its charts and listed in its reports.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{Result, Store, StoreError};

/// Longest annotation kept, in characters: a note, not a document.
pub const MAX_TEXT: usize = 500;
/// Most annotations one run may carry (an import beyond this is refused).
pub const MAX_PER_RUN: usize = 1000;

/// A note at a time of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Annotation {
    /// Seconds since the run's start.
    pub at_s: f64,
    /// What happened then.
    pub text: String,
}

impl Annotation {
    /// Checks an annotation from any source (the window, the command line, an imported file).
    pub fn check(&self, run_seconds: f64) -> std::result::Result<(), String> {
        if !self.at_s.is_finite() || self.at_s < 0.0 {
            return Err(format!(
                "annotation at {} s: a time from 0 s into the run",
                self.at_s
            ));
        }
        let limit = run_seconds.max(0.0) + 1.0;
        if self.at_s > limit {
            return Err(format!(
                "annotation at {} s: after the run's end ({} s)",
                crate::format::plain(self.at_s),
                crate::format::plain(run_seconds)
            ));
        }
        let text = self.text.trim();
        if text.is_empty() {
            return Err("annotation: empty text".into());
        }
        if text.chars().count() > MAX_TEXT {
            return Err(format!(
                "annotation at {} s: longer than {MAX_TEXT} characters",
                crate::format::plain(self.at_s)
            ));
        }
        Ok(())
    }
}

impl Store {
    /// A run's annotations, earliest first.
    pub fn annotations(&self, run: i64) -> Result<Vec<Annotation>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at_s, text FROM annotations WHERE run_id = ?1 ORDER BY at_s, id",
            )
            .map_err(self.err())?;
        stmt.query_map(params![run], |r| {
            Ok(Annotation {
                at_s: r.get(0)?,
                text: r.get(1)?,
            })
        })
        .map_err(self.err())?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(self.err())
    }

    /// Pins a note to a time of a run (checked first: a time within the run, a short text).
    pub fn annotate(&self, run: i64, a: &Annotation) -> Result<()> {
        let r = self.run(run)?;
        a.check(
            r.row.duration_s.max(
                r.row
                    .ended_at_ms
                    .map_or(0.0, |e| (e - r.row.started_at_ms) as f64 / 1000.0),
            ),
        )
        .map_err(StoreError::Invalid)?;
        if self.annotations(run)?.len() >= MAX_PER_RUN {
            return Err(StoreError::Invalid(format!(
                "run #{run} already has {MAX_PER_RUN} annotations"
            )));
        }
        self.insert_annotation(run, a)
    }

    pub(super) fn insert_annotation(&self, run: i64, a: &Annotation) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO annotations (run_id, at_s, text) VALUES (?1, ?2, ?3)",
                params![run, a.at_s, a.text.trim()],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Removes a run's annotation (the first with this time and text).
    pub fn remove_annotation(&self, run: i64, a: &Annotation) -> Result<()> {
        let n = self
            .conn
            .execute(
                "DELETE FROM annotations WHERE id = (SELECT id FROM annotations
                   WHERE run_id = ?1 AND at_s = ?2 AND text = ?3 ORDER BY id LIMIT 1)",
                params![run, a.at_s, a.text],
            )
            .map_err(self.err())?;
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "run #{run} has no annotation \"{}\" at {} s",
                a.text,
                crate::format::plain(a.at_s)
            )));
        }
        Ok(())
    }
}
