//! How steadily does this core run? A load generator's tail latency can be no better than the
//! machine's: when a virtual CPU runs at half speed for 50 ms, a generator that needs 90 % of the
//! core falls behind, and every request scheduled meanwhile shows the backlog in corrected latency.
//!
//! Times a fixed chunk of arithmetic (about 10 µs) back to back for the given seconds and prints
//! how much of the time chunks took over twice the fastest one, and the longest such stretch.
//!
//!   cargo run --release --example steadiness -- [SECONDS]      (pin it: taskset -c 1 ...)
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A fixed amount of work: a chain of dependent multiply-adds the compiler cannot skip.
fn chunk(n: u32) -> u64 {
    let mut x = black_box(1u64);
    for _ in 0..n {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
    }
    black_box(x)
}

fn main() {
    let secs: f64 = match std::env::args().nth(1).map(|s| s.parse()) {
        None => 10.0,
        Some(Ok(s)) if s > 0.0 => s,
        Some(_) => {
            eprintln!("steadiness: SECONDS must be a positive number");
            std::process::exit(2);
        }
    };
    // Size the chunk to about 10 µs, and take its fastest time as the core's full speed.
    let mut n = 1_000u32;
    while {
        let t = Instant::now();
        chunk(n);
        t.elapsed() < Duration::from_micros(10)
    } {
        n *= 2;
    }
    let best = (0..5_000)
        .map(|_| {
            let t = Instant::now();
            chunk(n);
            t.elapsed()
        })
        .min()
        .unwrap_or(Duration::from_micros(10));
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let (mut chunks, mut slow_chunks) = (0u64, 0u64);
    let (mut slow, mut stretch, mut longest) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut stretches_over_5ms = 0u32;
    while Instant::now() < end {
        let t = Instant::now();
        chunk(n);
        let d = t.elapsed();
        chunks += 1;
        if d > best * 2 {
            slow_chunks += 1;
            slow += d;
            stretch += d;
        } else {
            if stretch > Duration::from_millis(5) {
                stretches_over_5ms += 1;
            }
            stretch = Duration::ZERO;
        }
        longest = longest.max(stretch);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "steadiness: {chunks} chunks of {:.1} µs at best; {:.2} % of them ran below half speed, \
         {:.0} ms of {secs} s ({:.1} %); longest such stretch {:.1} ms; stretches over 5 ms: {stretches_over_5ms}",
        best.as_secs_f64() * 1e6,
        slow_chunks as f64 / chunks.max(1) as f64 * 100.0,
        ms(slow),
        ms(slow) / (secs * 10.0),
        ms(longest),
    );
}
