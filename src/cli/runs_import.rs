//! `loadbench runs import`: a `runs export` file, or another tool's raw results, as a stored run.

use std::path::Path;

use crate::foreign::Format;
use crate::store::Store;

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
    if format.is_none() && crate::foreign::is_run_export(file) {
        return import_export(store, file);
    }
    let shown = file.display().to_string();
    let began = std::time::Instant::now();
    let done = match crate::foreign::import_file(store, file, format, scenario, tool_version)? {
        crate::foreign::Outcome::Already(id) => {
            eprintln!("{shown} is already stored as run #{id}; nothing imported");
            println!("{id}");
            return Ok(());
        }
        crate::foreign::Outcome::Stored(done) => done,
    };
    let secs = began.elapsed().as_secs_f64();
    let run = store.run(done.id)?;
    let f = &done.found;
    eprintln!(
        "imported {shown} ({}) as run #{}: {} requests in {} series over {:.1} s; {} records, {} ticks, {:.1} MB/s",
        done.format.as_str(),
        done.id,
        run.row.requests,
        f.keys.len(),
        f.seconds,
        f.records,
        done.ticks,
        done.bytes as f64 / 1e6 / secs.max(1e-6)
    );
    for n in &f.notes {
        eprintln!("  note: {n}");
    }
    println!("{}", done.id);
    Ok(())
}

/// Stores a `runs export` file.
pub(super) fn import_export(store: &Store, file: &Path) -> crate::store::Result<()> {
    let shown = file.display().to_string();
    let (id, before) = store.import_export_file(file)?;
    if before {
        eprintln!("{shown} is already stored as run #{id}; nothing imported");
    } else if store.run(id)?.row.baseline {
        eprintln!(
            "imported {shown} as run #{id}, a baseline of scenario \"{}\" as it was where exported",
            store.run(id)?.info.scenario
        );
    } else {
        eprintln!("imported {shown} as run #{id}");
    }
    println!("{id}");
    Ok(())
}
