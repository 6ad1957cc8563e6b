//! One file of another tool's results stored as a run: its identity, names, the streaming write.

use std::io::Read;
use std::path::Path;

use super::{Format, Found};
use crate::store::{EXPORT_SCHEMA, RunExport, Store, StoreError, StoredRun, Streamed};

/// What an import did.
#[derive(Debug)]
pub enum Outcome {
    /// The file was stored as this new run.
    Stored(Imported),
    /// The same file was imported before, as this run; nothing was stored.
    Already(i64),
}

/// A file stored as a run, with what the reader learnt of it.
#[derive(Debug)]
pub struct Imported {
    /// The new run.
    pub id: i64,
    /// The format it was read as.
    pub format: Format,
    /// What the file said (series, length, notes).
    pub found: Found,
    /// Ticks written.
    pub ticks: u64,
    /// Bytes of the file.
    pub bytes: u64,
    /// Our own run of the scenario whose target names and thresholds it took, if any.
    pub ours: Option<i64>,
}

/// Stores `file` (of `format`, else guessed) as a run filed under `scenario` (else the file's
/// name); `tool_version` names the tool's version where its file does not.
pub fn import_file(
    store: &Store,
    file: &Path,
    format: Option<Format>,
    scenario: Option<&str>,
    tool_version: Option<&str>,
) -> crate::store::Result<Outcome> {
    let shown = file.display().to_string();
    let format = match format {
        Some(f) => f,
        None => super::detect(file).map_err(StoreError::Invalid)?,
    };
    // The same file imported twice is one run: its uuid is the digest of its bytes.
    let io = |source| StoreError::Io {
        path: shown.clone(),
        source,
    };
    let uuid = digest(file).map_err(io)?;
    if let Some(id) = store.run_by_uuid(&uuid)? {
        return Ok(Outcome::Already(id));
    }
    let meta = std::fs::metadata(file).map_err(io)?;
    let modified_ms = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64);
    let stem = file
        .file_stem()
        .map_or("imported".into(), |s| s.to_string_lossy().into_owned());
    let scenario = scenario.map_or(stem.clone(), str::to_string);
    let tool = format.tool();
    let ours = our_run_of(store, &scenario)?;
    let doc = RunExport {
        schema: EXPORT_SCHEMA.to_string(),
        uuid,
        name: format!("{tool}: {stem}"),
        scenario_text: String::new(),
        scenario_path: None,
        info: crate::metrics::RunInfo {
            shard: None,
            proxies: Vec::new(),
            journeys: Vec::new(),
            scenario,
            model: crate::scenario::Model::Closed,
            max_vus: None,
            keys: Vec::new(),
            // Judged by the thresholds our own runs of the scenario are judged by.
            thresholds: ours
                .as_ref()
                .map_or_else(Vec::new, |r| r.info.thresholds.clone()),
        },
        targets: Vec::new(),
        status: crate::metrics::RunStatus::Completed,
        started_at_ms: 0,
        ended_at_ms: None,
        summary: None,
        notes: String::new(),
        tags: vec!["imported".into(), tool.into()],
        baseline: false,
        version: String::new(),
        host: serde_json::json!({ "imported": { "tool": tool } }),
        annotations: Vec::new(),
        monitor: Default::default(),
        ticks: Vec::new(),
    };
    let mut found = None;
    let mut ticks = 0u64;
    let id = store.import_stream(&doc, |sink| {
        let f = super::read(file, format, &mut |t| {
            ticks += 1;
            sink(t)
        })?;
        // A file without a clock (oha's CSV) is dated by when it was written.
        let started = if f.started_at_ms > 0 {
            f.started_at_ms
        } else {
            modified_ms - (f.seconds * 1000.0) as i64
        };
        let version = match (tool_version, f.version.as_deref()) {
            (Some(v), _) | (None, Some(v)) => format!("{tool} {v}"),
            (None, None) => format!("{tool} (its file does not name the version)"),
        };
        let mut keys = f.keys.clone();
        let mut notes = f.notes.clone();
        if let Some(run) = &ours {
            name_targets(&mut keys, &run.targets);
            notes.push(format!(
                "filed under scenario \"{}\": targets named and thresholds judged as in its run #{}",
                run.info.scenario, run.row.id
            ));
        }
        let streamed = Streamed {
            keys,
            started_at_ms: Some(started),
            version: Some(version),
            notes: Some(notes.join("\n")),
            host: Some(serde_json::json!({
                "imported": {
                    "tool": tool, "format": format.as_str(), "file": shown,
                    "corrected": f.corrected,
                },
            })),
        };
        found = Some(Found { notes, ..f });
        Ok(streamed)
    })?;
    let found = found.ok_or_else(|| StoreError::Invalid(format!("{shown}: nothing was read")))?;
    Ok(Outcome::Stored(Imported {
        id,
        format,
        found,
        ticks,
        bytes: meta.len(),
        ours: ours.map(|r| r.row.id),
    }))
}

/// The newest run loadbench itself made of `scenario`, if any.
fn our_run_of(store: &Store, scenario: &str) -> crate::store::Result<Option<StoredRun>> {
    let rows = store.list_runs(&crate::store::RunFilter {
        scenario: Some(scenario.to_string()),
        limit: Some(50),
        ..Default::default()
    })?;
    match rows
        .iter()
        .find(|r| !r.tags.iter().any(|t| t == "imported"))
    {
        Some(r) => store.run(r.id).map(Some),
        None => Ok(None),
    }
}

/// Gives another tool's targets (`host:port`, or the tool's name when its file has no URL) the
/// names our runs of the scenario use, so the same request against the same server is one
/// series in compare and trends.
fn name_targets(keys: &mut [crate::metrics::Key], targets: &[(String, String)]) {
    let authority = |url: &str| -> String {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        rest[..rest.find('/').unwrap_or(rest.len())].to_string()
    };
    for k in keys {
        if let Some((name, _)) = targets.iter().find(|(_, url)| authority(url) == k.target) {
            k.target = name.clone();
        } else if let [(only, _)] = targets
            && !k.target.contains(':')
        {
            // The file names no server (oha's, Artillery's, a JTL without URLs): our only one.
            k.target = only.clone();
        }
    }
}

/// A uuid-shaped digest of the file's bytes (two FNV-1a hashes: identity, not security).
fn digest(file: &Path) -> std::io::Result<String> {
    let mut f = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(file)?);
    let (mut a, mut b) = (0xcbf2_9ce4_8422_2325u64, 0x6c62_272e_07bb_0142u64);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        for &byte in &buf[..n] {
            a = (a ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
            b = (b ^ u64::from(byte))
                .wrapping_mul(0x0000_0100_0000_01b3)
                .rotate_left(5);
        }
    }
    let bytes = [a.to_be_bytes(), b.to_be_bytes()].concat();
    let mut id = [0u8; 16];
    id.copy_from_slice(&bytes);
    Ok(uuid::Builder::from_custom_bytes(id).into_uuid().to_string())
}
