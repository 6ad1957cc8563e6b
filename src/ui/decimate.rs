//! Keeps long series drawable: a line gets at most a couple of points per pixel of the plot, each
//! bucket's lowest and highest value kept in time order, so a one-second spike in a day still shows.

/// The points of `(t, y)` to draw: those in `range` (with one neighbour each side, so the line
/// reaches the frame's edges; all of them when `range` is None), at most about `budget` of them.
/// `skip_zero` leaves out zeros (a latency of 0 is "nothing measured").
pub fn points(
    t: &[f64],
    ys: &[f64],
    range: Option<(f64, f64)>,
    budget: usize,
    skip_zero: bool,
) -> Vec<[f64; 2]> {
    let n = t.len().min(ys.len());
    let (from, to) = match range {
        Some((lo, hi)) => {
            let from = t[..n].partition_point(|x| *x < lo).saturating_sub(1);
            let to = (t[..n].partition_point(|x| *x <= hi) + 1).min(n);
            (from, to.max(from))
        }
        None => (0, n),
    };
    let keep = |i: &usize| !skip_zero || ys[*i] > 0.0;
    let count = to - from;
    let buckets = (budget / 2).max(1);
    if count <= budget.max(2) {
        return (from..to).filter(keep).map(|i| [t[i], ys[i]]).collect();
    }
    let per = count.div_ceil(buckets);
    let mut out = Vec::with_capacity(2 * buckets);
    let mut start = from;
    while start < to {
        let end = (start + per).min(to);
        let mut lo: Option<usize> = None;
        let mut hi: Option<usize> = None;
        for i in (start..end).filter(keep) {
            if lo.is_none_or(|j| ys[i] < ys[j]) {
                lo = Some(i);
            }
            if hi.is_none_or(|j| ys[i] > ys[j]) {
                hi = Some(i);
            }
        }
        match (lo, hi) {
            (Some(a), Some(b)) if a != b => {
                let (first, second) = if a < b { (a, b) } else { (b, a) };
                out.push([t[first], ys[first]]);
                out.push([t[second], ys[second]]);
            }
            (Some(a), _) => out.push([t[a], ys[a]]),
            _ => {}
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_series_are_drawn_whole_and_long_ones_keep_each_buckets_extremes() {
        let t: Vec<f64> = (0..10).map(f64::from).collect();
        let y: Vec<f64> = (0..10).map(|i| f64::from(i % 3)).collect();
        assert_eq!(points(&t, &y, None, 100, false).len(), 10);
        assert_eq!(points(&t, &y, None, 100, true).len(), 6, "zeros left out");

        // A day of seconds with one spike: about `budget` points, the spike among them.
        let t: Vec<f64> = (0..86_400).map(f64::from).collect();
        let mut y = vec![5.0; 86_400];
        y[40_000] = 900.0;
        y[70_000] = 0.5;
        let p = points(&t, &y, None, 2_000, false);
        assert!(p.len() <= 2_000, "{}", p.len());
        assert!(p.contains(&[40_000.0, 900.0]), "the spike is drawn");
        assert!(p.contains(&[70_000.0, 0.5]), "and the dip");
        assert!(p.windows(2).all(|w| w[0][0] < w[1][0]), "in time order");
    }

    #[test]
    fn a_zoomed_range_draws_its_own_points_at_full_detail_with_a_neighbour_each_side() {
        let t: Vec<f64> = (0..86_400).map(f64::from).collect();
        let y: Vec<f64> = t.iter().map(|x| x % 7.0).collect();
        let p = points(&t, &y, Some((100.5, 200.5)), 2_000, false);
        assert_eq!(p.first().map(|p| p[0]), Some(100.0));
        assert_eq!(p.last().map(|p| p[0]), Some(201.0));
        assert_eq!(p.len(), 102, "every second of the range, none skipped");
        assert!(points(&t, &y, Some((1e6, 2e6)), 2_000, false).len() <= 1);
        assert!(points(&[], &[], Some((0.0, 1.0)), 10, false).is_empty());
    }
}
