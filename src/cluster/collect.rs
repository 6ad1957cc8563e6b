//! The shards' exports gathered (files in a folder, or `kubectl logs` of a Job's pods), imported
//! and merged into one run, with the merge's guards.

use std::path::Path;
use std::process::Command;

use crate::store::{EXPORT_SCHEMA, RunExport, Store};

/// What a collection stored.
#[derive(Debug, Clone)]
pub struct Collected {
    /// Each shard's run, by shard index.
    pub shards: Vec<i64>,
    /// The merged run (the only shard's run when there was one).
    pub merged: i64,
    /// How far apart the shards started, ms (what one `--start-at` keeps small).
    pub spread_ms: i64,
}

/// The largest file or log read for exports (a day-long shard's export is tens of MB).
const MAX_LOG: u64 = 2 << 30;

/// Every run export in `text`: the whole text as one document (`runs export -o`), else each
/// line that is one (`run --export -` amid a pod's other log lines). `what` names the source.
pub fn exports_in(text: &str, what: &str) -> Result<Vec<RunExport>, String> {
    if let Ok(doc) = serde_json::from_str::<RunExport>(text) {
        return Ok(vec![doc]);
    }
    let marker = format!("{{\"schema\":\"{EXPORT_SCHEMA}\"");
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        // kubectl logs --timestamps and some log shippers put a prefix before the line.
        let Some(at) = line.find(&marker) else {
            continue;
        };
        let doc = serde_json::from_str::<RunExport>(&line[at..])
            .map_err(|e| format!("{what}:{}: a run export that does not read: {e}", n + 1))?;
        out.push(doc);
    }
    Ok(out)
}

/// Imports the shards exported into the files of `dir` and merges them.
pub fn collect_dir(store: &Store, dir: &Path) -> Result<Collected, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for f in &files {
        let size = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        if size > MAX_LOG {
            return Err(format!(
                "{}: {size} bytes, more than a shard's export",
                f.display()
            ));
        }
        let Ok(text) = std::fs::read_to_string(f) else {
            continue; // not text: not an export
        };
        docs.extend(exports_in(&text, &f.display().to_string())?);
    }
    if docs.is_empty() {
        return Err(format!(
            "{}: no run export in its {} file(s) (write them with `run --export PATH`)",
            dir.display(),
            files.len()
        ));
    }
    merge(store, docs)
}

/// Reads the exports from the logs of Job `job`'s pods through `kubectl` (which must be on the
/// PATH and pointed at the cluster) and merges them.
pub fn collect_job(store: &Store, job: &str, namespace: Option<&str>) -> Result<Collected, String> {
    let kubectl = |args: &[&str]| -> Result<String, String> {
        let mut c = Command::new("kubectl");
        if let Some(ns) = namespace {
            c.args(["--namespace", ns]);
        }
        let out = c.args(args).output().map_err(|e| {
            format!(
                "cannot run kubectl ({e}): collect from a folder of `run --export` files instead"
            )
        })?;
        if !out.status.success() {
            return Err(format!(
                "kubectl {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        String::from_utf8(out.stdout).map_err(|_| format!("kubectl {}: not UTF-8", args.join(" ")))
    };
    let selector = format!("job-name={job}");
    let pods = kubectl(&[
        "get",
        "pods",
        "--selector",
        &selector,
        "--output",
        "jsonpath={.items[*].metadata.name}",
    ])?;
    let pods: Vec<&str> = pods.split_whitespace().collect();
    if pods.is_empty() {
        return Err(format!(
            "job {job}: no pods (is it the right job and namespace?)"
        ));
    }
    let mut docs = Vec::new();
    for pod in &pods {
        let log = kubectl(&["logs", pod, "--container", "loadbench"])?;
        let found = exports_in(&log, &format!("pod {pod}"))?;
        if found.is_empty() {
            return Err(format!(
                "pod {pod}: its log holds no run export (did its shard finish? `kubectl logs {pod}` says why)"
            ));
        }
        docs.extend(found);
    }
    merge(store, docs)
}

/// Imports `docs` (one per shard) and merges them: all of one split run (`run --shards`), every
/// index once, one count, starts within a second.
fn merge(store: &Store, docs: Vec<RunExport>) -> Result<Collected, String> {
    let mut by_index: Vec<(usize, RunExport)> = Vec::new();
    for d in docs {
        let Some(s) = d.info.shard.clone() else {
            return Err(format!(
                "run \"{}\" ({}) is not a shard: it was not run with --shards",
                d.name, d.uuid
            ));
        };
        if by_index.iter().any(|(_, o)| o.uuid == d.uuid) {
            // The same export twice (a file copied, a log read twice): counted once.
            continue;
        }
        by_index.push((s.index, d));
    }
    by_index.sort_by_key(|(i, _)| *i);
    let count = by_index[0].1.info.shard.as_ref().map_or(0, |s| s.count);
    let indices: Vec<usize> = by_index.iter().map(|(i, _)| *i).collect();
    if indices != (0..count).collect::<Vec<_>>() {
        return Err(format!(
            "shards of {count} wanted, every index once; found indices {indices:?}"
        ));
    }
    // Checked before anything is stored, so a wrong set leaves the database as it was.
    let first = &by_index[0].1;
    for (i, d) in &by_index[1..] {
        if d.scenario_text != first.scenario_text {
            return Err(format!(
                "shard {i} ran different scenario text than shard 0: shards of one run run one file"
            ));
        }
        if d.info.shard.as_ref().map(|s| s.count) != Some(count) {
            return Err(format!("shard {i} is one of a different number of shards"));
        }
    }
    let starts = by_index.iter().map(|(_, d)| d.started_at_ms);
    let spread = starts.clone().max().unwrap_or(0) - starts.min().unwrap_or(0);
    if spread > crate::store::SHARD_SPREAD_MS {
        return Err(format!(
            "the shards started {:.3} s apart (at most 1 s): they did not wait for one --start-at",
            spread as f64 / 1000.0
        ));
    }
    let mut ids = Vec::new();
    for (i, d) in &by_index {
        let id = match store.run_by_uuid(&d.uuid).map_err(|e| e.to_string())? {
            Some(id) => id,
            None => store.import_run(d).map_err(|e| format!("shard {i}: {e}"))?,
        };
        ids.push(id);
    }
    let merged = if ids.len() == 1 {
        ids[0]
    } else {
        store.merge_runs(&ids, false).map_err(|e| e.to_string())?
    };
    Ok(Collected {
        shards: ids,
        merged,
        spread_ms: spread,
    })
}
