//! Sub-millisecond sleeps: tokio's timer wheel ticks in whole milliseconds, which would add up to
//! 1 ms of scheduling lag to every open-model request and every demo-service delay.

use std::time::{Duration, Instant};

/// Waits shorter than this spin (yielding to other tasks) instead of arming a timer.
const SPIN_BELOW: Duration = Duration::from_micros(20);

/// A reusable precise timer: one timerfd re-armed for each wait, so a loop that sleeps thousands of
/// times a second (the open model's dispatcher) costs one syscall per wait, not five.
pub struct Timer {
    #[cfg(target_os = "linux")]
    fd: Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>>,
    spin: Duration,
}

impl Timer {
    /// A timer for the current tokio runtime (falls back to tokio's own timer if timerfd fails).
    pub fn new() -> Timer {
        Timer::spinning(SPIN_BELOW)
    }

    /// A timer that spins (yielding to other tasks) through any wait shorter than `spin`: the
    /// thread never sleeps through a short gap, so neither the next deadline nor a response that
    /// arrives in between pays for a wake-up from idle (tens of µs, and more on a VM).
    pub fn spinning(spin: Duration) -> Timer {
        Timer {
            #[cfg(target_os = "linux")]
            fd: linux::timerfd(),
            spin: spin.max(SPIN_BELOW),
        }
    }

    /// Sleeps until `deadline` with microsecond precision.
    pub async fn sleep_until(&mut self, deadline: Instant) {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            let left = deadline - now;
            if left < self.spin {
                tokio::task::yield_now().await;
                continue;
            }
            if !self.fine_sleep(left - SPIN_BELOW / 2).await {
                tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
                return;
            }
        }
    }

    #[cfg(target_os = "linux")]
    async fn fine_sleep(&mut self, d: Duration) -> bool {
        match &self.fd {
            Some(fd) => linux::wait(fd, d).await,
            None => false,
        }
    }

    #[cfg(not(target_os = "linux"))]
    async fn fine_sleep(&mut self, _d: Duration) -> bool {
        false
    }
}

impl Default for Timer {
    fn default() -> Timer {
        Timer::new()
    }
}

/// Sleeps until `deadline` with microsecond precision.
pub async fn sleep_until(deadline: Instant) {
    Timer::new().sleep_until(deadline).await;
}

/// Sleeps for `d` with microsecond precision.
/// A wait too long for the clock to represent (a hostile `delay_ms`) waits for ever.
pub async fn sleep(d: Duration) {
    match Instant::now().checked_add(d) {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::time::Duration;

    use tokio::io::unix::AsyncFd;

    /// A non-blocking monotonic timerfd registered with the runtime's reactor.
    pub(super) fn timerfd() -> Option<AsyncFd<OwnedFd>> {
        // SAFETY: timerfd_create has no memory-safety preconditions; the result is checked.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return None;
        }
        // SAFETY: `raw` is a fresh, valid descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the AsyncFd owns `fd` (an OwnedFd), so it stays open and the same descriptor for
        // the AsyncFd's whole life.
        unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }.ok()
    }

    /// Arms the timer for `d` and waits for it; false if the kernel refused.
    pub(super) async fn wait(fd: &AsyncFd<OwnedFd>, d: Duration) -> bool {
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                tv_nsec: libc::c_long::from(d.subsec_nanos() as i32).max(1),
            },
        };
        // SAFETY: `spec` is a valid itimerspec and the old-value pointer may be null.
        if unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) } < 0 {
            return false;
        }
        // A wake-up left over from an earlier, abandoned wait only costs the caller one more loop:
        // it re-checks the clock and re-arms.
        match fd.readable().await {
            Ok(mut guard) => {
                let mut buf = [0u8; 8];
                // SAFETY: reading at most 8 bytes into an 8-byte buffer from our own descriptor.
                let _ = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                guard.clear_ready();
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    /// How late a sleep may typically wake: well under tokio's whole-millisecond wheel (whose
    /// 300 µs sleep takes over 1 ms), with room for a busy test machine (measured here: 10–60 µs,
    /// also with three spinning neighbours; tokio's own sleep: 780 µs).
    const TYPICAL_LATENESS_US: u64 = 400;

    /// The median of 21 sleeps' lateness, µs: one preempted wake-up cannot fail the test, a
    /// timer that rounds to the millisecond always does.
    async fn median_lateness(us: u64) -> u64 {
        let mut late = Vec::new();
        for _ in 0..21 {
            let start = Instant::now();
            sleep(Duration::from_micros(us)).await;
            let took = start.elapsed().as_micros() as u64;
            assert!(took >= us, "slept {took} µs for {us} µs");
            late.push(took - us);
        }
        late.sort_unstable();
        late[late.len() / 2]
    }

    #[test]
    fn sleeps_are_precise() {
        runtime().block_on(async {
            for us in [300u64, 1_500, 7_300] {
                let late = median_lateness(us).await;
                assert!(
                    late < TYPICAL_LATENESS_US,
                    "a {us} µs sleep typically woke {late} µs late"
                );
            }
        });
    }

    #[test]
    fn a_reused_timer_survives_an_abandoned_wait() {
        runtime().block_on(async {
            let mut timer = Timer::new();
            // Abandon a wait half-way: its expiry fires later, while nobody listens.
            let _ = tokio::time::timeout(Duration::from_millis(1), async {
                timer
                    .sleep_until(Instant::now() + Duration::from_millis(3))
                    .await;
            })
            .await;
            tokio::time::sleep(Duration::from_millis(4)).await;
            // The stale expiry must not end the next wait early.
            for us in [500u64, 2_000] {
                let start = Instant::now();
                timer.sleep_until(start + Duration::from_micros(us)).await;
                let took = start.elapsed().as_micros() as u64;
                assert!(took >= us, "slept {took} µs for {us} µs");
            }
        });
    }
}
