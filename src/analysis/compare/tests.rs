//! Comparisons checked against what they must conclude: identical runs alike, real shifts caught.

use super::*;
use crate::metrics::new_histogram;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

fn normal(rng: &mut SmallRng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A simulated run of `seconds` seconds of 200 responses each, log-normal around `median_ms`,
/// scaled by a run-level offset (sd `drift`, on a log scale) and by a per-second level that
/// wanders as an AR(1) process (correlation 0.8, sd 0.1): the slow minutes and busy
/// neighbours of a real machine, which a method that takes seconds as independent misjudges.
fn run(seed: u64, median_ms: f64, drift: f64, seconds: usize) -> Blocks {
    let mut rng = SmallRng::seed_from_u64(seed);
    let level = median_ms * 1000.0 * (drift * normal(&mut rng)).exp();
    let mut b = BlockBuilder::for_seconds(seconds as f64);
    let mut wander = 0.0;
    for _ in 0..seconds {
        wander = 0.8 * wander + 0.6 * 0.1 * normal(&mut rng);
        let mut h = new_histogram();
        for _ in 0..200 {
            let v = level * (wander + 0.3 * normal(&mut rng)).exp();
            crate::metrics::record(&mut h, v as u64);
        }
        b.second(200, 0, 1.0, |o| {
            let _ = o.add(&h);
        });
    }
    b.finish()
}

/// The latency verdicts of `cand` against `bases` (p50, p95, p99 of one series).
fn verdicts(cand: &Blocks, bases: &[&Blocks]) -> Vec<Verdict> {
    let mut judged = vec![
        METRICS[..3]
            .iter()
            .enumerate()
            .map(|(i, def)| {
                let base: Vec<Side<'_>> = bases
                    .iter()
                    .enumerate()
                    .map(|(k, b)| side(b, def.stat, 100 + k as u64 * 7 + i as u64))
                    .collect();
                judge(def, &side(cand, def.stat, 1 + i as u64), &base)
            })
            .collect::<Vec<_>>(),
    ];
    settle(&mut judged, Machine::default());
    judged[0].iter().map(|j| j.change.verdict).collect()
}

fn side(b: &Blocks, stat: Stat, seed: u64) -> Side<'_> {
    Side {
        blocks: b,
        shown: b.stat(stat, &b.all()).unwrap_or(0.0),
        seed,
    }
}

fn alarm(v: &[Verdict]) -> bool {
    v.iter()
        .any(|v| matches!(v, Verdict::Regressed | Verdict::Improved))
}

#[test]
fn reruns_with_wandering_seconds_and_run_level_drift_rarely_raise_an_alarm() {
    // Identical systems; each run drifts by 2.5 % (sd) as a whole, so two runs by 3.5 %:
    // within the drift one baseline run lets the method assume. Its seconds wander.
    let pairs = 100;
    let alarms = (0..pairs)
        .filter(|i| {
            let a = run(1000 + i * 2, 20.0, 0.025, 30);
            let b = run(1001 + i * 2, 20.0, 0.025, 30);
            alarm(&verdicts(&b, &[&a]))
        })
        .count();
    println!("false alarms, one baseline run, 2.5 % drift: {alarms} of {pairs} pairs");
    assert!(alarms <= 5, "false alarms in {alarms} of {pairs} pairs");
}

#[test]
fn drift_beyond_the_assumed_one_needs_baseline_runs_to_measure_it() {
    // Each run drifts by 25 % as a whole: far beyond what one baseline run lets the method
    // assume, so single-run verdicts cry wolf; five baseline runs measure the drift and stop it.
    let pairs = 60;
    let mut single = 0;
    let mut set = 0;
    for i in 0..pairs {
        let bases: Vec<Blocks> = (0..5)
            .map(|k| run(5000 + i * 10 + k, 20.0, 0.25, 30))
            .collect();
        let cand = run(5005 + i * 10, 20.0, 0.25, 30);
        single += usize::from(alarm(&verdicts(&cand, &[&bases[0]])));
        let refs: Vec<&Blocks> = bases.iter().collect();
        set += usize::from(alarm(&verdicts(&cand, &refs)));
    }
    println!("25 % drift: false alarms {single} of {pairs} with one baseline run, {set} with five");
    assert!(
        single >= 10,
        "the single-run assumption should break here: {single}"
    );
    assert!(
        set <= 3,
        "five baseline runs measure the drift: {set} alarms"
    );
}

#[test]
fn shifts_are_caught_and_a_recurring_stall_is_a_regression() {
    // +5 ms on a 1 ms endpoint: caught every time, even against one baseline run.
    let caught = (0..20)
        .filter(|i| {
            let a = run(7000 + i * 2, 1.0, 0.05, 30);
            let b = run(7001 + i * 2, 6.0, 0.05, 30);
            verdicts(&b, &[&a]).iter().all(|v| *v == Verdict::Regressed)
        })
        .count();
    assert_eq!(caught, 20);
    // A candidate that stalls 1 s every 10 s, holding 10 % of its responses up to a second.
    let base = run(9000, 1.0, 0.0, 60);
    let mut b = BlockBuilder::for_seconds(60.0);
    for s in 0..60 {
        let mut h = new_histogram();
        for i in 0..200u64 {
            let v = if s % 10 == 3 {
                1_000 + (200 - i) * 5_000
            } else {
                1_000
            };
            crate::metrics::record(&mut h, v);
        }
        b.second(200, 0, 1.0, |o| {
            let _ = o.add(&h);
        });
    }
    let stall = b.finish();
    let v = verdicts(&stall, &[&base]);
    assert_eq!(v[2], Verdict::Regressed, "p99: {v:?}");
    assert_eq!(v[1], Verdict::Regressed, "p95: {v:?}");
    assert_eq!(
        v[0],
        Verdict::NoSignificantChange,
        "p50 is untouched: {v:?}"
    );
}

#[test]
fn error_shares_compare_in_points_and_a_zero_baseline_is_not_plus_100_percent() {
    let blocks = |errors: u64| {
        let mut b = BlockBuilder::for_seconds(20.0);
        for _ in 0..20 {
            b.second(1000, errors, 1.0, |_| {});
        }
        b.finish()
    };
    let (clean, failing) = (blocks(0), blocks(20));
    let def = &METRICS[4];
    let mut judged = vec![vec![judge(
        def,
        &side(&failing, def.stat, 3),
        &[side(&clean, def.stat, 4)],
    )]];
    settle(&mut judged, Machine::default());
    let c = &judged[0][0].change;
    assert_eq!(c.verdict, Verdict::Regressed);
    assert!(
        (c.relative - 0.02).abs() < 1e-12,
        "2 points: {}",
        c.relative
    );
    assert_eq!(c.format_change(c.relative), "+2.00 pt");
}

#[test]
fn a_machine_that_differed_leaves_small_changes_inconclusive_and_large_ones_standing() {
    let verdicts_on = |median: f64, machine: Machine| {
        let a = run(11, 1.0, 0.0, 30);
        let b = run(12, median, 0.0, 30);
        let mut judged = vec![
            METRICS[..3]
                .iter()
                .map(|def| judge(def, &side(&b, def.stat, 5), &[side(&a, def.stat, 6)]))
                .collect::<Vec<_>>(),
        ];
        settle(&mut judged, machine);
        judged[0]
            .iter()
            .map(|j| j.change.verdict)
            .collect::<Vec<_>>()
    };
    let shared = Machine {
        shared: true,
        speed: 0.0,
    };
    // +30 %: a change a busier machine could explain.
    let v = verdicts_on(1.3, shared);
    assert!(v.iter().all(|v| *v == Verdict::Inconclusive), "{v:?}");
    // +500 %: beyond anything the machine explains.
    assert!(
        verdicts_on(6.0, shared)
            .iter()
            .all(|v| *v == Verdict::Regressed)
    );
    // A candidate CPU measured 20 % slower explains +20 % latency, not +50 %; and it never
    // hides an improvement (nor a faster one a regression).
    let slower = Machine {
        shared: false,
        speed: 1.2f64.ln(),
    };
    let v = verdicts_on(1.2, slower);
    assert!(!v.contains(&Verdict::Regressed), "{v:?}");
    assert!(v.contains(&Verdict::Inconclusive), "{v:?}");
    // (p99's own interval is wider: it may stay inconclusive where p50 and p95 are clear.)
    let v = verdicts_on(1.5, slower);
    assert_eq!(v[..2], [Verdict::Regressed; 2], "{v:?}");
    let v = verdicts_on(0.7, slower);
    assert_eq!(v[..2], [Verdict::Improved; 2], "{v:?}");
    let faster = Machine {
        shared: false,
        speed: -(1.2f64.ln()),
    };
    let v = verdicts_on(1.3, faster);
    assert_eq!(v[..2], [Verdict::Regressed; 2], "{v:?}");
}

#[test]
fn the_cpu_speed_counts_only_beyond_what_quiet_runs_differ_by_and_at_most_twice() {
    let probe = |us: f64| Environment {
        cores: 2,
        probe_us: us,
        ..Environment::default()
    };
    assert_eq!(cpu_speed(Some(&probe(110.0)), &[probe(100.0)]), 0.0);
    let s = cpu_speed(Some(&probe(125.0)), &[probe(100.0)]);
    assert!((s - 1.25f64.ln()).abs() < 1e-9, "{s}");
    let s = cpu_speed(Some(&probe(80.0)), &[probe(100.0), probe(100.0)]);
    assert!((s - 0.8f64.ln()).abs() < 1e-9, "{s}");
    assert_eq!(cpu_speed(Some(&probe(900.0)), &[probe(100.0)]), 2f64.ln());
    assert_eq!(cpu_speed(None, &[probe(100.0)]), 0.0);
    assert_eq!(cpu_speed(Some(&probe(0.0)), &[probe(100.0)]), 0.0);
}

#[test]
fn a_change_of_twice_or_more_is_never_no_significant_change() {
    // Three baseline runs far apart among themselves (60 % run-level drift), a candidate at
    // six times their level: with two degrees of freedom the interval spans orders of
    // magnitude and cannot confirm the change, but "no significant change" would deny what was
    // measured. It is inconclusive (or, where the interval allows, regressed).
    let bases: Vec<Blocks> = (0..3).map(|k| run(9000 + k, 1.0, 0.6, 12)).collect();
    let refs: Vec<&Blocks> = bases.iter().collect();
    let cand = run(9100, 6.0, 0.0, 12);
    let v = verdicts(&cand, &refs);
    assert!(
        v.iter()
            .all(|v| matches!(v, Verdict::Inconclusive | Verdict::Regressed)),
        "{v:?}"
    );
    assert!(!v.contains(&Verdict::NoSignificantChange), "{v:?}");
    // Quiet baseline runs still say "no significant change" of a rerun.
    let quiet: Vec<Blocks> = (0..3).map(|k| run(9200 + k, 1.0, 0.02, 12)).collect();
    let refs: Vec<&Blocks> = quiet.iter().collect();
    let again = run(9300, 1.0, 0.02, 12);
    assert!(
        verdicts(&again, &refs)
            .iter()
            .all(|v| *v == Verdict::NoSignificantChange),
        "{:?}",
        verdicts(&again, &refs)
    );
}
