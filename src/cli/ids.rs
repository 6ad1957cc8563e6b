//! Run ids as people and scripts write them: `12`, `12,13,14`, `latest`, `baseline`.

use crate::store::Store;

/// Run ids from a command-line word: `12`, `12,13,14`, `latest`, or `baseline` (the marked
/// baseline runs of `scenario`).
pub(super) fn run_ids(
    store: &Store,
    word: &str,
    scenario: Option<&str>,
) -> Result<Vec<i64>, String> {
    match word {
        "latest" => store
            .list_runs(&crate::store::RunFilter {
                limit: Some(1),
                ..Default::default()
            })
            .map_err(|e| e.to_string())?
            .first()
            .map(|r| vec![r.id])
            .ok_or_else(|| "`latest`: there is no run yet".to_string()),
        "baseline" => {
            let scenario =
                scenario.ok_or("`baseline` needs a candidate run to name its scenario")?;
            let ids = store.baselines_of(scenario).map_err(|e| e.to_string())?;
            if ids.is_empty() {
                return Err(format!(
                    "scenario \"{scenario}\" has no baseline yet: mark one with loadbench runs baseline ID"
                ));
            }
            Ok(ids)
        }
        _ => {
            let ids = word
                .split(',')
                .map(|t| t.trim().parse::<i64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    format!(
                        "`{word}`: expected a run id, ids such as 12,13,14, `latest` or `baseline`"
                    )
                })?;
            for id in &ids {
                store.run(*id).map_err(|e| e.to_string())?;
            }
            Ok(ids)
        }
    }
}

/// One run id from a command-line word: a number, `latest` (the newest run) or `baseline`
/// (the newest run marked as a baseline, when only one scenario has any).
pub(super) fn one_run(store: &Store, word: &str) -> Result<i64, String> {
    if word == "baseline" {
        let marked: Vec<crate::store::RunRow> = store
            .list_runs(&crate::store::RunFilter::default())
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|r| r.baseline)
            .collect();
        let mut scenarios: Vec<&str> = marked.iter().map(|r| r.scenario.as_str()).collect();
        scenarios.sort_unstable();
        scenarios.dedup();
        return match (marked.first(), scenarios.len()) {
            (None, _) => Err(
                "`baseline`: no run is marked as a baseline yet (loadbench runs baseline ID)"
                    .into(),
            ),
            (Some(r), 1) => Ok(r.id),
            (Some(_), _) => Err(format!(
                "`baseline` is ambiguous here: scenarios {} each have one; give a run id",
                scenarios
                    .iter()
                    .map(|s| format!("\"{s}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
    }
    match run_ids(store, word, None)?.as_slice() {
        [id] => Ok(*id),
        _ => Err(format!("`{word}`: expected one run id")),
    }
}

/// Run ids from several words, each a number, a list, `latest` or `baseline`.
pub(super) fn many_runs(store: &Store, words: &[String]) -> Result<Vec<i64>, String> {
    let mut ids = Vec::new();
    for w in words {
        if w == "baseline" {
            ids.push(one_run(store, w)?);
        } else {
            ids.extend(run_ids(store, w, None)?);
        }
    }
    Ok(ids)
}
