//! Recorders, ticks and summaries checked against figures worked out by hand.

use super::*;

#[test]
fn merging_ticks_equals_recording_once() {
    let mut a = Stats::default();
    let mut b = Stats::default();
    let mut whole = Stats::default();
    for i in 1..=1000u64 {
        let (s, e) = if i % 7 == 0 {
            (503, Some(ErrorKind::Http5xx))
        } else {
            (200, None)
        };
        let target = if i % 2 == 0 { &mut a } else { &mut b };
        target.record_response(s, i * 10, i * 5, e);
        whole.record_response(s, i * 10, i * 5, e);
    }
    a.record_failure(ErrorKind::Timeout, 5000, Some(4000));
    whole.record_failure(ErrorKind::Timeout, 5000, Some(4000));
    let mut merged = Stats::default();
    merged.merge(&a);
    merged.merge(&b);
    assert_eq!(merged.requests, whole.requests);
    assert_eq!(merged.errors, whole.errors);
    assert_eq!(merged.status, whole.status);
    assert_eq!(merged.error_kinds, whole.error_kinds);
    for q in [0.5, 0.9, 0.99, 0.999] {
        assert_eq!(
            merged.latency.value_at_quantile(q),
            whole.latency.value_at_quantile(q)
        );
    }
    let s = EndpointSummary::from_stats("r", "t", &merged, 10.0);
    assert_eq!(s.count, 1001);
    assert_eq!(s.error_kinds.get("timeout"), Some(&1));
    assert_eq!(s.error_kinds.get("http_5xx"), Some(&142));
    assert!((s.rate - 100.1).abs() < 1e-9);
    assert!((s.latency.p50_ms - 5.0).abs() < 0.01);
    assert_eq!(merged.failed.len(), whole.failed.len());
}

#[test]
fn hostile_histogram_bytes_are_refused_without_allocating_what_they_claim() {
    let mut h = new_histogram();
    for v in [1, 50, 1_000, 2_000_000] {
        record(&mut h, v);
    }
    let good = encode_histogram(&h);
    let back = decode_histogram(&good).expect("round trip");
    assert_eq!(back.len(), 4);
    assert_eq!(back.max(), h.max());
    // Claims of more bytes than there are, at each level.
    let mut long = good.clone();
    long[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(decode_histogram(&long).is_err());
    assert!(decode_histogram(&good[..good.len() / 2]).is_err());
    assert!(decode_histogram(b"").is_err());
    // A V2 payload that claims 2 GB of counts, deflated to a few bytes.
    let mut inner = Vec::new();
    inner.extend_from_slice(&0x1c84_9313u32.to_be_bytes());
    inner.extend_from_slice(&0x8000_0000u32.to_be_bytes());
    inner.extend_from_slice(&0u32.to_be_bytes());
    inner.extend_from_slice(&3u32.to_be_bytes());
    inner.extend_from_slice(&1u64.to_be_bytes());
    inner.extend_from_slice(&1_000_000u64.to_be_bytes());
    inner.extend_from_slice(&1.0f64.to_be_bytes());
    let claim = |inner: &[u8]| {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(inner).expect("deflate");
        let body = z.finish().expect("deflate");
        let mut out = 0x1c84_9314u32.to_be_bytes().to_vec();
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(&body);
        out
    };
    assert!(decode_histogram(&claim(&inner)).is_err());
    // A deflate bomb: megabytes of zeros from a few kilobytes.
    let mut bomb = inner.clone();
    bomb[4..8].copy_from_slice(&0u32.to_be_bytes());
    bomb.resize(64 << 20, 0);
    assert!(decode_histogram(&claim(&bomb)).is_err());
    // A range no histogram of ours has (5 digits up to 2^62: a 100 MB counts array).
    let mut wide = inner;
    wide[4..8].copy_from_slice(&0u32.to_be_bytes());
    wide[12..16].copy_from_slice(&5u32.to_be_bytes());
    wide[24..32].copy_from_slice(&(1u64 << 62).to_be_bytes());
    assert!(decode_histogram(&claim(&wide)).is_err());
}

#[test]
fn failures_count_in_latency_and_success_only_figures_leave_them_out() {
    let mut s = Stats::default();
    // 90 fast successes, 5 fast 503s and 5 timeouts at 10 s: the timeouts are the slowest
    // outcomes, and a p95 that left them out would read 1 ms.
    for _ in 0..90 {
        s.record_response(200, 1000, 1000, None);
    }
    for _ in 0..5 {
        s.record_response(503, 500, 500, Some(ErrorKind::Http5xx));
    }
    for _ in 0..5 {
        s.record_failure(ErrorKind::Timeout, 10_000_000, Some(9_000_000));
    }
    // One request never sent: it waited out its timeout in the queue (no service time).
    s.record_failure(ErrorKind::Timeout, 10_000_000, None);
    let sum = EndpointSummary::from_stats("r", "t", &s, 1.0);
    assert_eq!(sum.count, 101);
    assert_eq!(sum.latency.samples, 101);
    assert!(sum.latency.p95_ms > 9_000.0, "p95 {}", sum.latency.p95_ms);
    assert_eq!(sum.service_time.samples, 100);
    let ok = sum.latency_ok.expect("success-only figures");
    assert_eq!(ok.samples, 90);
    assert!((ok.p99_ms - 1.0).abs() < 0.01 && (ok.max_ms - 1.0).abs() < 0.01);
    // Merged shares give the same success-only figures.
    let mut merged = Stats::default();
    merged.merge(&s);
    merged.merge(&Stats::default());
    assert_eq!(merged.latency_ok().len(), 90);
}

#[test]
fn thresholds_judge_on_the_figures_they_name() {
    let mut s = Stats::default();
    for i in 1..=100 {
        s.record_response(200, i * 1000, i * 500, None);
    }
    s.record_failure(
        crate::metrics::ErrorKind::Timeout,
        10_000_000,
        Some(10_000_000),
    );
    use crate::thresholds::Threshold;
    let judged = |t: &Threshold, s: &Stats, secs: f64| t.verdict("total", s.figure(t.metric, secs));
    let p95: Threshold = "p95 < 200ms".parse().unwrap();
    assert!(judged(&p95, &s, 1.0).passed);
    let p95: Threshold = "p95 < 50ms".parse().unwrap();
    assert!(!judged(&p95, &s, 1.0).passed);
    let er: Threshold = "error_rate < 0.1%".parse().unwrap();
    assert!(!judged(&er, &s, 1.0).passed);
    let rate: Threshold = "rate > 50/s".parse().unwrap();
    assert!(judged(&rate, &s, 1.0).passed);
    assert!(!judged(&rate, &s, 10.0).passed);
    let empty = Stats::default();
    assert!(!judged(&p95, &empty, 1.0).passed);
}

#[test]
fn adding_stored_bytes_equals_decoding_then_adding_and_hostile_bytes_are_refused() {
    use rand::rngs::SmallRng;
    use rand::{RngExt, SeedableRng};
    let recorded = |h: &Histogram<u64>| -> Vec<(u64, u64)> {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    };
    let mut rng = SmallRng::seed_from_u64(11);
    let (mut sparse, mut dense) = (new_histogram(), new_histogram());
    for round in 0..200 {
        let mut h = new_histogram();
        // From sub-microsecond to hours, some values many times over, some rounds empty.
        for _ in 0..(round % 7) * 60 {
            let us = 10f64.powf(rng.random::<f64>() * 10.0) as u64;
            h.record_n(us.max(1), rng.random_range(1..1_000u64))
                .expect("record");
        }
        let bytes = encode_histogram(&h);
        add_encoded(&bytes, &mut sparse).expect("adds");
        dense
            .add(decode_histogram(&bytes).expect("decodes"))
            .expect("adds");
        assert_eq!(recorded(&sparse), recorded(&dense), "after round {round}");
    }
    assert_eq!(sparse.len(), dense.len());
    assert_eq!(
        (sparse.min_nz(), sparse.max()),
        (dense.min_nz(), dense.max())
    );
    // What the checked decoder refuses, adding refuses too, leaving the totals as they were.
    let before = recorded(&sparse);
    let good = encode_histogram(&dense);
    for bad in [&good[..good.len() / 2], b"", &good[..8]] {
        assert!(add_encoded(bad, &mut sparse).is_err());
    }
    // Zero runs to the end of the index space, then counts: refused, not wrapped around.
    let mut inner = 0x1c84_9313u32.to_be_bytes().to_vec();
    let run = [0xffu8; 9]; // the longest zero run: 2^63 buckets
    let payload: Vec<u8> = [&run[..], &run[..], &[0x00, 0x02]].concat();
    inner.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    inner.extend_from_slice(&0u32.to_be_bytes());
    inner.extend_from_slice(&3u32.to_be_bytes());
    inner.extend_from_slice(&1u64.to_be_bytes());
    inner.extend_from_slice(&1_000_000u64.to_be_bytes());
    inner.extend_from_slice(&1.0f64.to_be_bytes());
    inner.extend_from_slice(&payload);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut z, &inner).expect("deflate");
    let body = z.finish().expect("deflate");
    let mut far = 0x1c84_9314u32.to_be_bytes().to_vec();
    far.extend_from_slice(&(body.len() as u32).to_be_bytes());
    far.extend_from_slice(&body);
    assert!(add_encoded(&far, &mut sparse).is_err());
    assert_eq!(recorded(&sparse), before);
}

#[test]
fn error_kinds_are_listed_in_their_counter_order() {
    // Counters are indexed by the kind's discriminant and named by its place in ALL.
    for (i, k) in ErrorKind::ALL.iter().enumerate() {
        assert_eq!(*k as usize, i, "{k:?}");
    }
}
