//! A run on the command line: the shared launch, with targets said, Ctrl-C stopping it and a
//! storage problem reported on stderr.

use super::signals::spawn_ctrl_c;
use crate::engine::{self, RunOptions};
use crate::halt::Halt;
use crate::launch::StoreTo;
use crate::scenario::Scenario;

/// One run of a scenario: started, every tick stored as it comes (when `store` says where) and
/// shown to `on_tick`, Ctrl-C stopping it; the outcome and its run id.
pub(super) fn execute(
    scenario: Scenario,
    name: String,
    options: RunOptions,
    store: Option<(&std::path::Path, &[String])>,
    quiet: bool,
    fail_fast: bool,
    on_tick: impl FnMut(&std::sync::Arc<crate::metrics::Tick>),
) -> Result<(engine::Outcome, Option<i64>, Option<Halt>), String> {
    let to = store.map(|(db, tags)| StoreTo {
        db: db.to_path_buf(),
        tags: tags.to_vec(),
    });
    let mut launched =
        crate::launch::start(scenario, name, options, to.as_ref()).map_err(|e| e.to_string())?;
    if !fail_fast {
        launched.watch.keep_going();
    }
    if let Some(e) = &launched.not_stored {
        eprintln!("loadbench: not storing this run: {e}");
    }
    if !quiet {
        let proxies = &launched.handle.info.proxies;
        for (name, url) in &launched.handle.target_urls {
            match proxies.iter().find(|(n, _)| n == name) {
                Some((_, proxy)) => eprintln!("target {name}: {url} via proxy {proxy}"),
                None => eprintln!("target {name}: {url}"),
            }
        }
    }
    spawn_ctrl_c(launched.stopper());
    let done = launched.finish(on_tick).map_err(|e| e.to_string())?;
    let stored_id = match done.stored {
        Some(Ok(id)) => Some(id),
        Some(Err(e)) => {
            eprintln!("loadbench: {e}");
            None
        }
        None => None,
    };
    Ok((done.outcome, stored_id, done.halt))
}
