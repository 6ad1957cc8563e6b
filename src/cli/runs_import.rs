//! `loadbench runs import`: a `runs export` file, or another tool's raw results, as a stored run.

use std::io::Read;
use std::path::Path;

use crate::foreign::Format;
use crate::store::{EXPORT_SCHEMA, RunExport, Store, StoreError};

/// `--format`'s parser: one of the formats another tool writes.
pub(super) fn parse_format(s: &str) -> Result<Format, String> {
    Format::from_name(s).ok_or_else(|| {
        format!(
            "unknown format `{s}` (one of {})",
            Format::ALL.map(Format::as_str).join(", ")
        )
    })
}

/// Stores `file`: ours when it is a run export and no format was named, else another tool's.
pub(super) fn import(
    store: &Store,
    file: &Path,
    format: Option<Format>,
    scenario: Option<&str>,
    tool_version: Option<&str>,
) -> crate::store::Result<()> {
    if format.is_none() && is_export(file) {
        return import_export(store, file);
    }
    let shown = file.display().to_string();
    let format = match format {
        Some(f) => f,
        None => crate::foreign::detect(file).map_err(StoreError::Invalid)?,
    };
    // The same file imported twice is one run: its uuid is the digest of its bytes.
    let uuid = digest(file).map_err(|source| StoreError::Io {
        path: shown.clone(),
        source,
    })?;
    if let Some(id) = store.run_by_uuid(&uuid)? {
        eprintln!("{shown} is already stored as run #{id}; nothing imported");
        println!("{id}");
        return Ok(());
    }
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
            scenario: scenario.clone(),
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
        host: serde_json::json!({
            "imported": { "tool": tool, "format": format.as_str(), "file": shown },
        }),
        annotations: Vec::new(),
        ticks: Vec::new(),
    };
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let modified_ms = std::fs::metadata(file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64);
    let began = std::time::Instant::now();
    let mut found = None;
    let mut ticks = 0u64;
    let id = store.import_stream(&doc, |sink| {
        let f = crate::foreign::read(file, format, &mut |t| {
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
        if let Some(run) = &ours {
            name_targets(&mut keys, &run.targets);
        }
        let streamed = crate::store::Streamed {
            keys,
            started_at_ms: Some(started),
            version: Some(version),
            notes: Some(f.notes.join("\n")),
        };
        found = Some(f);
        Ok(streamed)
    })?;
    let Some(found) = found else {
        return Err(StoreError::Invalid(format!(
            "{shown}: nothing was read (a bug)"
        )));
    };
    let secs = began.elapsed().as_secs_f64();
    let run = store.run(id)?;
    eprintln!(
        "imported {shown} ({}) as run #{id}: {} requests in {} series over {:.1} s; {} records, {} ticks, {:.1} MB/s",
        format.as_str(),
        run.row.requests,
        found.keys.len(),
        found.seconds,
        found.records,
        ticks,
        size as f64 / 1e6 / secs.max(1e-6)
    );
    for n in &found.notes {
        eprintln!("  note: {n}");
    }
    if let Some(r) = &ours {
        eprintln!(
            "  note: filed under scenario \"{scenario}\": targets named and thresholds judged as in its run #{}",
            r.row.id
        );
    }
    println!("{id}");
    Ok(())
}

/// The newest run loadbench itself made of `scenario`, if any.
fn our_run_of(
    store: &Store,
    scenario: &str,
) -> crate::store::Result<Option<crate::store::StoredRun>> {
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

/// Whether the file is one of our own run exports.
fn is_export(file: &Path) -> bool {
    let mut head = [0u8; 4096];
    let n = std::fs::File::open(file)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]);
    text.trim_start().starts_with('{') && text.contains("\"loadbench.run/")
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

/// Stores a `runs export` file.
pub(super) fn import_export(store: &Store, file: &Path) -> crate::store::Result<()> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|source| StoreError::Io {
        path: shown.clone(),
        source,
    })?;
    let doc: RunExport = serde_json::from_str(&text).map_err(|e| {
        StoreError::Invalid(format!(
            "{shown}:{}:{}: not a loadbench run export: {e}",
            e.line(),
            e.column()
        ))
    })?;
    // Importing a run already here is done already: a CI job that restores its baselines on
    // every build must not fail on the second.
    if let Some(id) = store.run_by_uuid(&doc.uuid)? {
        eprintln!("{shown} is already stored as run #{id}; nothing imported");
        println!("{id}");
        return Ok(());
    }
    let id = store.import_run(&doc).map_err(|e| match e {
        StoreError::Invalid(m) => StoreError::Invalid(format!("{shown}: {m}")),
        other => other,
    })?;
    if doc.baseline {
        eprintln!(
            "imported {shown} as run #{id}, a baseline of scenario \"{}\" as it was where exported",
            doc.info.scenario
        );
    } else {
        eprintln!("imported {shown} as run #{id}");
    }
    println!("{id}");
    Ok(())
}
