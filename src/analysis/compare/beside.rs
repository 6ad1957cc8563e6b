//! Figures set side by side without a verdict: each request's phases and the server side of a
//! baseline run and a candidate, so a regression's where shows next to its what.

use crate::metrics::{PhasesSummary, Summary};

/// Column names of [`beside`]'s rows.
pub const BESIDE_COLUMNS: [&str; 5] = [
    "request or series",
    "figure",
    "baseline",
    "this run",
    "change",
];

/// One row per figure both runs measured: per request (matched by request and target) its
/// connections opened per second and its phases' p95, then each monitored series' mean and max.
pub fn beside(base: &Summary, cand: &Summary) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let ms = |v: f64| crate::format::micros(v * 1000.0);
    let per_s = |v: f64| format!("{}/s", crate::format::plain((v * 100.0).round() / 100.0));
    let mut push = |who: &str, figure: &str, a: f64, b: f64, show: &dyn Fn(f64) -> String| {
        let change = if a > 0.0 {
            crate::format::change(b / a - 1.0)
        } else {
            "-".to_string()
        };
        rows.push(vec![
            who.to_string(),
            figure.to_string(),
            show(a),
            show(b),
            change,
        ]);
    };
    for (i, e) in cand.endpoints.iter().enumerate() {
        let Some(b) = base
            .endpoints
            .iter()
            .find(|x| x.request == e.request && x.target == e.target)
        else {
            continue;
        };
        let (Some(pb), Some(pc)) = (&b.phases, &e.phases) else {
            continue;
        };
        let who = cand.series_name(i);
        push(
            &who,
            "new conns/s",
            pb.new_connections_per_s,
            pc.new_connections_per_s,
            &per_s,
        );
        let p95 = |p: &PhasesSummary, phase: crate::metrics::Phase| {
            p.rows()
                .into_iter()
                .find(|(ph, _)| *ph == phase)
                .map(|(_, s)| s.p95_ms)
        };
        for phase in crate::metrics::Phase::ALL {
            if let (Some(a), Some(c)) = (p95(pb, phase), p95(pc, phase)) {
                push(
                    &who,
                    &format!("{} p95", phase.as_str().replace('_', " ")),
                    a,
                    c,
                    &ms,
                );
            }
        }
    }
    if let (Some(mb), Some(mc)) = (&base.monitor, &cand.monitor) {
        let reading = |v: f64| crate::format::reading(v);
        for s in &mc.series {
            if let Some(b) = mb.series.iter().find(|x| x.name == s.name) {
                push(&s.name, "mean", b.mean, s.mean, &reading);
                push(&s.name, "max", b.max, s.max, &reading);
            }
        }
    }
    rows
}
