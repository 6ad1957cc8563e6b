//! Ctrl-C and SIGTERM: stop the run in progress, keeping what it measured.

use crate::engine::{self};
use crate::exit::*;

#[cfg(unix)]
pub(super) type Terminate = Option<tokio::signal::unix::Signal>;

#[cfg(not(unix))]
pub(super) type Terminate = Option<()>;

/// A listener for SIGTERM, where there is such a thing.
pub(super) fn terminate_signal() -> Terminate {
    #[cfg(unix)]
    {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok()
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Waits for Ctrl-C or SIGTERM and says which came.
pub(super) async fn next_signal(term: &mut Terminate) -> std::io::Result<&'static str> {
    #[cfg(unix)]
    if let Some(t) = term.as_mut() {
        return tokio::select! {
            r = tokio::signal::ctrl_c() => r.map(|()| "Ctrl-C"),
            _ = t.recv() => Ok("SIGTERM"),
        };
    }
    let _ = term;
    tokio::signal::ctrl_c().await.map(|()| "Ctrl-C")
}

/// Makes Ctrl-C stop `stopper`'s run: one listener for the process, so a command that runs
/// several times (a capacity search) stops the run in progress and says so once.
pub(super) fn spawn_ctrl_c(stopper: engine::Stopper) {
    static CURRENT: std::sync::Mutex<Option<engine::Stopper>> = std::sync::Mutex::new(None);
    static LISTENER: std::sync::Once = std::sync::Once::new();
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(stopper);
    LISTENER.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("loadbench-signal".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    // SIGTERM (what CI runners and Kubernetes send) stops a run like Ctrl-C: the
                    // summary of what was measured is still printed and stored.
                    let mut term = terminate_signal();
                    let Ok(what) = next_signal(&mut term).await else {
                        return;
                    };
                    let current = CURRENT.lock().unwrap_or_else(|e| e.into_inner()).take();
                    if let Some(s) = current {
                        eprintln!(
                            "\nloadbench: stopping ({what}) — keeping what was measured; \
                             Ctrl-C again quits at once"
                        );
                        s.stop();
                    }
                    if let Ok(what) = next_signal(&mut term).await {
                        eprintln!("\nloadbench: quit (second {what})");
                        std::process::exit(EXIT_STOPPED);
                    }
                });
            });
    });
}
