//! Work off the window's thread: started with its own database connection, polled each frame,
//! cancelled when no longer wanted.

use std::sync::mpsc::Receiver;

use crate::store::Store;

/// Work running off the window's thread: its answer arrives on `rx`; dropping this (a window
/// closed, newer work replacing it) cancels the work at its next minute of ticks.
pub struct Background<T> {
    rx: Receiver<T>,
    cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<T> Drop for Background<T> {
    fn drop(&mut self) {
        self.cancel
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Runs `work` on its own thread with its own connection to the database, so the window never
/// waits on a long query (histograms decoded for a comparison or a merge); the answer arrives
/// for [`take_ready`], which the frame polls.
pub fn in_background<T: Send + 'static>(
    db: &std::path::Path,
    ctx: Option<egui::Context>,
    work: impl FnOnce(&Store) -> T + Send + 'static,
) -> Background<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = cancel.clone();
    let db = db.to_path_buf();
    std::thread::spawn(move || {
        if let Ok(mut store) = Store::open(&db) {
            store.cancel_when(flag);
            let _ = tx.send(work(&store));
        }
        if let Some(ctx) = ctx {
            ctx.request_repaint();
        }
    });
    Background { rx, cancel }
}

/// What background work sent, once it has; the slot empties then, or when the work ended
/// without an answer (the database could not be opened), so nothing polls for ever.
pub fn take_ready<T>(slot: &mut Option<Background<T>>) -> Option<T> {
    let got = match slot.as_ref()?.rx.try_recv() {
        Ok(v) => Some(v),
        Err(std::sync::mpsc::TryRecvError::Empty) => return None,
        Err(std::sync::mpsc::TryRecvError::Disconnected) => None,
    };
    *slot = None;
    got
}
