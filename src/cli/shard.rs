//! `run --shards N`: which shard this process is, the common wall-clock start, the export out.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::metrics::ShardInfo;
use crate::store::Store;

/// The environment variable a Kubernetes Indexed Job sets to each pod's index.
pub const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// This process's shard from `--shards`, `--shard-index` (else `JOB_COMPLETION_INDEX`) and
/// `--start-at`; `None` without `--shards`. Errors name the flag.
pub(super) fn resolve(
    shards: Option<usize>,
    index: Option<usize>,
    start_at: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(ShardInfo, Option<SystemTime>)>, String> {
    let at = match start_at {
        Some(text) => {
            let us = crate::foreign::rfc3339_us(text)
                .map_err(|e| format!("--start-at {text}: {e} (e.g. 2026-12-01T10:00:00Z)"))?;
            Some(crate::format::system_time(us.div_euclid(1000)))
        }
        None => None,
    };
    let Some(count) = shards else {
        if index.is_some() {
            return Err("--shard-index needs --shards N".into());
        }
        return Ok(None);
    };
    if count == 0 {
        return Err("--shards must be at least 1".into());
    }
    let index = match index {
        Some(i) => i,
        None => {
            let text = env(INDEX_ENV).ok_or_else(|| {
                format!("--shards {count} needs --shard-index I or {INDEX_ENV} (set by a Kubernetes Indexed Job)")
            })?;
            text.trim()
                .parse()
                .map_err(|_| format!("{INDEX_ENV}={text:?} is not a shard index (0, 1, 2…)"))?
        }
    };
    if index >= count {
        return Err(format!(
            "shard index {index} is not below --shards {count} (indices run 0..{})",
            count - 1
        ));
    }
    Ok(Some((
        ShardInfo {
            index,
            count,
            start_at: start_at.map(str::to_string),
            late_ms: 0.0,
        },
        at,
    )))
}

/// Waits for `at`; returns how late the start is, ms
/// (0 when it waited). A start more than a day away is refused: a mistyped date, not a plan.
pub(super) fn wait_for(at: SystemTime, quiet: bool) -> Result<f64, String> {
    let now = SystemTime::now();
    match at.duration_since(now) {
        Ok(ahead) => {
            if ahead > Duration::from_secs(86_400) {
                return Err(format!(
                    "--start-at is {} away; at most a day",
                    crate::format::span(ahead)
                ));
            }
            if !quiet {
                eprintln!("waiting {} for --start-at", crate::format::span(ahead));
            }
            // Ctrl-C or SIGTERM meanwhile ends the process as usual: nothing was sent yet.
            while let Ok(left) = at.duration_since(SystemTime::now()) {
                std::thread::sleep(left.min(Duration::from_millis(200)));
            }
            Ok(0.0)
        }
        Err(e) => Ok(e.duration().as_secs_f64() * 1000.0),
    }
}

/// Writes run `id`'s lossless export to `path` (`-`: stdout, one line, so `kubectl logs`
/// carries it whole among the other lines).
pub(super) fn export(db: &Path, id: i64, path: &Path) -> Result<(), String> {
    let store = Store::open_read(db).map_err(|e| e.to_string())?;
    if path.as_os_str() == "-" {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        store
            .write_export(id, &mut out)
            .map_err(|e| e.to_string())?;
        out.flush()
            .map_err(|e| format!("cannot write the export to stdout: {e}"))
    } else {
        crate::output::write_with(path, true, &mut |w| {
            store
                .write_export(id, w)
                .map(|_| ())
                .map_err(|e| std::io::Error::other(e.to_string()))
        })
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_comes_from_the_flag_or_the_job_and_bad_ones_are_named() {
        let none = |_: &str| None;
        let job = |n: &str| (n == INDEX_ENV).then(|| "2".to_string());
        assert!(resolve(None, None, None, &none).expect("ok").is_none());
        let (s, at) = resolve(Some(3), None, Some("2026-12-01T10:00:00Z"), &job)
            .expect("ok")
            .expect("a shard");
        assert_eq!((s.index, s.count), (2, 3));
        assert!(at.is_some());
        assert_eq!(
            resolve(Some(3), Some(0), None, &job)
                .expect("ok")
                .expect("s")
                .0
                .index,
            0
        );
        for (shards, index, at, want) in [
            (Some(3), None, None, "JOB_COMPLETION_INDEX"),
            (Some(0), Some(0), None, "at least 1"),
            (Some(3), Some(3), None, "not below --shards 3"),
            (None, Some(1), None, "needs --shards"),
            (Some(2), Some(0), Some("tomorrow"), "--start-at tomorrow"),
        ] {
            let e = resolve(shards, index, at, &none).expect_err(want);
            assert!(e.contains(want), "{e}");
        }
        let bad = |_: &str| Some("x".to_string());
        assert!(
            resolve(Some(2), None, None, &bad)
                .expect_err("x")
                .contains("not a shard index")
        );
    }
}
