//! The ticker's edges: order, gaps, hostile times, the last partial second, the series cap.

use super::{Sample, Ticker};
use crate::metrics::Tick;

fn sample(t: &mut Ticker, end_us: i64, ms: u64) -> Sample {
    Sample {
        end_us,
        series: t.series("r", "t").unwrap(),
        latency_us: ms * 1000,
        service_us: ms * 1000,
        status: 200,
        ..Sample::default()
    }
}

fn run(samples: &[(i64, u64)]) -> Result<Vec<Tick>, String> {
    let mut ticks = Vec::new();
    let mut t = Ticker::new();
    let mut sink = |tick: Tick| -> Result<(), String> {
        ticks.push(tick);
        Ok(())
    };
    for &(end, ms) in samples {
        let s = sample(&mut t, end, ms);
        t.add(&s, &mut sink)?;
    }
    t.finish(&mut sink)?;
    Ok(ticks)
}

const S: i64 = 1_000_000;

#[test]
fn requests_fall_in_the_second_they_ended_and_gaps_are_empty_ticks() {
    // The first request started at 0 (ended at 10 ms after a 10 ms wait).
    let ticks = run(&[(10_000, 10), (S + 5, 1), (3 * S + 500_000, 2)]).unwrap();
    let counts: Vec<u64> = ticks.iter().map(|t| t.stats[0].requests).collect();
    assert_eq!(counts, vec![1, 1, 0, 1]);
    let indices: Vec<u32> = ticks.iter().map(|t| t.index).collect();
    assert_eq!(indices, vec![1, 2, 3, 4]);
    // The last tick is as long as the data reaches into it.
    let last = ticks.last().unwrap();
    assert!((last.seconds - 0.5).abs() < 1e-6, "{}", last.seconds);
}

#[test]
fn a_little_out_of_order_is_taken_far_out_of_order_is_refused() {
    let ticks = run(&[(10_000, 10), (5 * S, 1), (2 * S, 1)]).unwrap();
    assert_eq!(ticks.iter().map(|t| t.stats[0].requests).sum::<u64>(), 3);
    let err = run(&[(10_000, 10), (40 * S, 1), (2 * S, 1)]).unwrap_err();
    assert!(err.contains("not in time order"), "{err}");
}

#[test]
fn a_hostile_timestamp_is_refused_before_any_tick_is_made() {
    let err = run(&[(10_000, 10), (100 * 365 * 86_400 * S, 1)]).unwrap_err();
    assert!(err.contains("more than 31 days"), "{err}");
}

#[test]
fn unnamed_urls_cannot_make_unbounded_series() {
    let mut t = Ticker::new();
    for i in 0..super::ticker::MAX_SERIES {
        t.series(&format!("/items/{i}"), "h").unwrap();
    }
    let err = t.series("/items/one-more", "h").unwrap_err();
    assert!(err.contains("distinct requests"), "{err}");
}
