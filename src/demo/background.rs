//! A demo piece's own thread and runtime, stopped and joined when it is dropped.

use std::future::Future;
use std::time::Duration;

use tokio::sync::oneshot;

/// Work running on its own thread until [`Background::stop`] or drop.
pub(crate) struct Background {
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Runs the future `work()` makes on a runtime of `threads` workers named `name` (made on
    /// that runtime, so it may take sockets into it), until stopped.
    pub(crate) fn spawn<F, W>(name: &str, threads: usize, work: W) -> std::io::Result<Background>
    where
        W: FnOnce() -> F + Send + 'static,
        F: Future<Output = ()>,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name(name)
            .enable_all()
            .build()?;
        let (tx, rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        _ = work() => {}
                        _ = rx => {}
                    }
                });
                runtime.shutdown_timeout(Duration::from_millis(100));
            })?;
        Ok(Background {
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// Stops the work and waits for its thread.
    pub(crate) fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}
