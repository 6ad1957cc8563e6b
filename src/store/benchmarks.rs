//! Competitor benchmark sets in the database.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store, StoreError, epoch_ms};
use crate::benchmark::{BenchmarkSet, Figures};

impl Store {
    /// Stores a benchmark set; a name already taken is refused and nothing is written.
    pub fn save_benchmark(&self, set: &BenchmarkSet) -> Result<i64> {
        let exists: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM benchmark_sets WHERE name = ?1",
                params![set.name],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())?;
        if exists.is_some() {
            return Err(StoreError::Invalid(format!(
                "a benchmark set named \"{}\" exists already; delete it first or pick another --name",
                set.name
            )));
        }
        let tx = self.conn.unchecked_transaction().map_err(self.err())?;
        tx.execute(
            "INSERT INTO benchmark_sets (name, source, published, notes, created_at_ms, latency) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![set.name, set.source, set.published, set.notes, epoch_ms(std::time::SystemTime::now()), set.latency.as_str()],
        )
        .map_err(self.err())?;
        let id = tx.last_insert_rowid();
        for f in &set.figures {
            tx.execute(
                "INSERT INTO benchmark_figures (set_id, endpoint, rate, p50_ms, p90_ms, p95_ms, p99_ms, max_ms, error_rate, count)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![id, f.endpoint, f.rate, f.p50_ms, f.p90_ms, f.p95_ms, f.p99_ms, f.max_ms, f.error_rate, f.count.map(|c| i64::try_from(c).unwrap_or(i64::MAX))],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(_, _) => StoreError::Invalid(format!("endpoint `{}` appears twice", f.endpoint)),
                other => StoreError::Sqlite { path: self.path.display().to_string(), source: other },
            })?;
        }
        tx.commit().map_err(self.err())?;
        Ok(id)
    }

    /// Every benchmark set, by name.
    pub fn list_benchmarks(&self) -> Result<Vec<BenchmarkSet>> {
        let names: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT name FROM benchmark_sets ORDER BY name")
                .map_err(self.err())?;
            stmt.query_map([], |r| r.get(0))
                .map_err(self.err())?
                .collect::<rusqlite::Result<_>>()
                .map_err(self.err())?
        };
        names.iter().map(|n| self.benchmark(n)).collect()
    }

    /// One benchmark set by name.
    pub fn benchmark(&self, name: &str) -> Result<BenchmarkSet> {
        let e = self.err();
        let head: Option<(i64, String, String, String, String)> = self
            .conn
            .query_row(
                "SELECT id, source, published, notes, latency FROM benchmark_sets WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(&e)?;
        let (id, source, published, notes, latency) = head.ok_or_else(|| {
            StoreError::Invalid(format!("there is no benchmark set named \"{name}\""))
        })?;
        let mut stmt = self
            .conn
            .prepare("SELECT endpoint, rate, p50_ms, p90_ms, p95_ms, p99_ms, max_ms, error_rate, count FROM benchmark_figures WHERE set_id = ?1 ORDER BY endpoint")
            .map_err(&e)?;
        let figures = stmt
            .query_map(params![id], |r| {
                Ok(Figures {
                    endpoint: r.get(0)?,
                    rate: r.get(1)?,
                    p50_ms: r.get(2)?,
                    p90_ms: r.get(3)?,
                    p95_ms: r.get(4)?,
                    p99_ms: r.get(5)?,
                    max_ms: r.get(6)?,
                    error_rate: r.get(7)?,
                    count: r
                        .get::<_, Option<i64>>(8)?
                        .and_then(|c| u64::try_from(c).ok()),
                })
            })
            .map_err(&e)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&e)?;
        Ok(BenchmarkSet {
            name: name.to_string(),
            source,
            published,
            notes,
            latency: if latency == "service" {
                crate::benchmark::LatencyKind::Service
            } else {
                crate::benchmark::LatencyKind::Corrected
            },
            figures,
        })
    }

    /// Deletes a benchmark set.
    pub fn delete_benchmark(&self, name: &str) -> Result<()> {
        let n = self
            .conn
            .execute("DELETE FROM benchmark_sets WHERE name = ?1", params![name])
            .map_err(self.err())?;
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "there is no benchmark set named \"{name}\""
            )));
        }
        Ok(())
    }
}
