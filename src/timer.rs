//! Sub-millisecond sleeps: tokio's timer wheel ticks in whole milliseconds, which would add up to
//! 1 ms of scheduling lag to every open-model request and every demo-service delay.

use std::time::{Duration, Instant};

/// Waits shorter than this spin (yielding to other tasks) instead of arming a timer.
const SPIN_BELOW: Duration = Duration::from_micros(50);
/// Waits longer than this first sleep on tokio's coarse timer, leaving this margin for the precise one.
const COARSE_MARGIN: Duration = Duration::from_millis(2);

/// Sleeps until `deadline` with microsecond precision (Linux timerfd; elsewhere tokio's timer).
pub async fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline <= now {
        return;
    }
    let wait = deadline - now;
    if wait > COARSE_MARGIN * 2 {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline - COARSE_MARGIN)).await;
    }
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        let left = deadline - now;
        if left < SPIN_BELOW {
            tokio::task::yield_now().await;
            continue;
        }
        if !fine_sleep(left).await {
            tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
            return;
        }
    }
}

/// Sleeps for `d` with microsecond precision.
pub async fn sleep(d: Duration) {
    sleep_until(Instant::now() + d).await;
}

#[cfg(target_os = "linux")]
async fn fine_sleep(d: Duration) -> bool {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: timerfd_create has no memory-safety preconditions; the result is checked.
    let raw = unsafe {
        libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
        )
    };
    if raw < 0 {
        return false;
    }
    // SAFETY: `raw` is a fresh, valid descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
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
    // SAFETY: the AsyncFd owns `fd` (an OwnedFd), so it stays open and the same descriptor for
    // the AsyncFd's whole life.
    let registered = unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
    };
    let Ok(afd) = registered else {
        return false;
    };
    match afd.readable().await {
        Ok(mut guard) => {
            let mut buf = [0u8; 8];
            // SAFETY: reading at most 8 bytes into an 8-byte buffer from our own descriptor.
            let _ = unsafe { libc::read(afd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            guard.clear_ready();
            true
        }
        Err(_) => false,
    }
}

#[cfg(not(target_os = "linux"))]
async fn fine_sleep(_d: Duration) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_are_precise() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            for us in [300u64, 1_500, 7_300] {
                let start = Instant::now();
                sleep(Duration::from_micros(us)).await;
                let took = start.elapsed().as_micros() as u64;
                assert!(took >= us, "slept {took} µs for {us} µs");
            }
        });
    }
}
