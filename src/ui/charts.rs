//! Chart helpers shared by the live and stored views: aggregated points per tick, axes with units.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use egui::Color32;
use egui_plot::{
    Bar, BarChart, GridInput, GridMark, Legend, Line, Plot, PlotPoint, PlotPoints, Span, Text,
};
use hdrhistogram::Histogram;

use crate::format;
use crate::metrics::TickSummary;

/// Ticks shorter than this (only a stopped run's last) are not drawn.
pub const SLIVER: f64 = 0.5;

/// Chart series built from ticks: a few numbers per second, whatever the request rate.
#[derive(Debug, Clone, Default)]
pub struct ChartData {
    /// Seconds since the start at each tick's end.
    pub t: Vec<f64>,
    /// Successful responses/s (failures are drawn on the errors chart, not as throughput).
    pub rate: Vec<f64>,
    /// Scheduled rate (open) or virtual users (closed).
    pub target: Vec<f64>,
    /// Corrected latency in ms: p50, p95, p99.
    pub latency: [Vec<f64>; 3],
    /// Service time in ms: p50, p95, p99.
    pub service: [Vec<f64>; 3],
    /// Most requests in flight.
    pub in_flight: Vec<f64>,
    /// Errors per second by kind, aligned with `t`.
    pub errors: BTreeMap<String, Vec<f64>>,
    /// Whether the target is a rate (open model) or virtual users (closed).
    pub open: bool,
    /// The open model's target line in the legend: what its schedule counts, when that is not
    /// requests (journey iterations, or arrivals of requests and iterations).
    pub target_name: String,
    /// The end of the warm-up (s), shaded on time charts: its seconds are in no figure.
    pub warmup_end: Option<f64>,
    /// The run's annotations (time, text), marked on every time chart.
    pub marks: Vec<(f64, String)>,
}

impl ChartData {
    /// Empty series for a run of the given model.
    pub fn new(open: bool) -> ChartData {
        ChartData {
            open,
            ..ChartData::default()
        }
    }

    /// Names the target line for what the run's schedule counted
    /// ([`crate::metrics::RunInfo::arrivals`]).
    pub fn counting(mut self, arrivals: &str) -> ChartData {
        self.target_name = match arrivals {
            "requests" => String::new(),
            other => format!("target ({other}/s)"),
        };
        self
    }

    /// Series of a stored run (or one of its series) from its ticks.
    pub fn of_run(info: &crate::metrics::RunInfo, ticks: &[TickSummary]) -> ChartData {
        let open = info.model == crate::scenario::Model::Open;
        let mut d = ChartData::new(open).counting(info.arrivals());
        for t in ticks {
            d.push(t);
        }
        d
    }

    /// Adds one tick. The sliver of a second a stopped run ends with is left out: a request in
    /// 5 ms would draw as a spike to 200/s that no second had.
    pub fn push(&mut self, s: &TickSummary) {
        if s.seconds < SLIVER {
            return;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        let n = self.t.len();
        if s.warmup {
            self.warmup_end = Some(s.end);
        }
        self.t.push(s.end);
        self.rate
            .push(s.per_second(s.requests.saturating_sub(s.errors)));
        self.target.push(s.target);
        for (i, q) in [0usize, 2, 3].into_iter().enumerate() {
            self.latency[i].push(ms(s.latency_us[q]));
            self.service[i].push(ms(s.service_us[q]));
        }
        self.in_flight.push(s.in_flight as f64);
        for (kind, _) in &s.error_kinds {
            self.errors
                .entry(kind.clone())
                .or_insert_with(|| vec![0.0; n]);
        }
        for (kind, v) in self.errors.iter_mut() {
            let c = s
                .error_kinds
                .iter()
                .find(|(k, _)| k == kind)
                .map_or(0, |(_, c)| *c);
            v.push(s.per_second(c));
        }
    }

    fn line(&self, v: View, name: &str, ys: &[f64]) -> Line<'static> {
        let pts = super::decimate::points(&self.t, ys, v.range, v.budget, false);
        Line::new(name.to_string(), PlotPoints::from(pts))
    }

    /// A latency line without the seconds that had no response: their stored 0 is "nothing
    /// measured", not a 0 ms response, and drawn it would pull the line to the axis.
    fn latency_line(&self, v: View, name: &str, ys: &[f64]) -> Line<'static> {
        let pts = super::decimate::points(&self.t, ys, v.range, v.budget, true);
        Line::new(name.to_string(), PlotPoints::from(pts))
    }
}

/// What part of a series a plot shows, and how many points are worth drawing there.
#[derive(Clone, Copy)]
struct View {
    /// The x range shown when the user zoomed or panned (None: the plot fits the data, so every
    /// point counts towards its bounds).
    range: Option<(f64, f64)>,
    /// Two points per pixel of width.
    budget: usize,
}

/// The view of a plot as it was last drawn.
fn view_of(p: &egui_plot::PlotUi<'_>) -> View {
    let width = p.transform().frame().width();
    let budget = if width.is_finite() && width > 10.0 {
        (2.0 * width) as usize
    } else {
        2_000
    };
    let range = (!p.auto_bounds().x).then(|| {
        let r = p.plot_bounds().range_x();
        (*r.start(), *r.end())
    });
    View { range, budget }
}

/// Says inside an empty plot why it is empty, centred on `(x, 0.5)` of a 0–1 y axis.
fn say_empty(p: &mut egui_plot::PlotUi<'_>, x: f64, why: &str) {
    p.text(Text::new("", PlotPoint::new(x, 0.5), why.to_string()).color(Color32::GRAY));
}

/// What an empty latency chart says: every request of the run (or window) failed, or none ended.
const NO_RESPONSE: &str = "no response to measure";

/// The largest value of some series, 0 when there is none.
/// The largest value of some series (0 when there is none).
pub(crate) fn top<'a>(series: impl IntoIterator<Item = &'a Vec<f64>>) -> f64 {
    series.into_iter().flatten().copied().fold(0.0, f64::max)
}

fn time_axis(mark: GridMark, _range: &RangeInclusive<f64>) -> String {
    format!("{} s", format::plain(mark.value))
}

/// Smallest grid spacing egui_plot draws, in points; `GridInput::base_step_size` is this many
/// points' worth of plot units.
const GRID_MIN_PX: f32 = 8.0;

/// Grid lines at 1-2-5 steps, the labelled ones at least `label_px` apart. egui_plot's default
/// steps by powers of ten, so a 10 s axis had its 1 s marks 55 points apart, too close for a
/// label, and showed "10 s" alone; a 0–4 ms axis showed only "0 µs".
fn nice_spacer(label_px: f64) -> impl Fn(GridInput) -> Vec<GridMark> {
    nice_spacer_from(label_px, 0.0)
}

/// [`nice_spacer`] whose labelled step is at least `min_step` (1 for counts such as requests in
/// flight, which have no halves).
fn nice_spacer_from(label_px: f64, min_step: f64) -> impl Fn(GridInput) -> Vec<GridMark> {
    egui_plot::uniform_grid_spacer(move |input| {
        let per_px = input.base_step_size / f64::from(GRID_MIN_PX);
        let label = format::nice_step((per_px * label_px).max(min_step));
        [
            format::nice_step(label / 5.0),
            label,
            format::nice_step(label * 4.5),
        ]
    })
}

/// Labelled 1-2-5 grid steps on both axes (see [`nice_spacer`]), for any plot of figures.
pub(crate) fn nice_axes(plot: Plot<'_>) -> Plot<'_> {
    plot.grid_spacing(egui::Rangef::new(GRID_MIN_PX, 300.0))
        .x_grid_spacer(nice_spacer(80.0))
        .y_grid_spacer(nice_spacer(30.0))
}

/// A time chart from 0 up; `top` is the largest value shown. With nothing above 0 (no errors,
/// no response yet) the axis runs from 0 to 1 rather than egui_plot's ±1 around 0, which
/// labelled error-only runs with negative latencies and error-free runs with −1 errors/s.
/// The time axis starts at 0 (not egui_plot's ±100 s before the first tick), the legend sits
/// top left (the newest data is on the right), and 15 % headroom keeps a steady line off the
/// frame.
pub(crate) fn base_plot(id: &str, height: f32, y_label: &str, top: f64) -> Plot<'static> {
    let plot = Plot::new(id.to_string())
        // Every time chart of one run (`run12_…`, `live_…`) shares a cursor: the pointer's
        // second is marked on all of them, so a latency spike lines up with its errors.
        .link_cursor(cursor_group(id), egui::Vec2b::new(true, false))
        .height(height)
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .x_axis_label("time (s)")
        .y_axis_label(y_label.to_string())
        .x_axis_formatter(time_axis)
        .include_x(0.0)
        .include_x(1.0);
    let plot = nice_axes(plot).include_y(0.0).allow_scroll(false);
    if top > 0.0 {
        plot.include_y(top * 1.15)
    } else {
        plot.include_y(1.0)
    }
}

/// The linked-cursor group of a chart: its id up to the first `_` (the run, or `live`).
pub(crate) fn cursor_group(id: &str) -> egui::Id {
    egui::Id::unique(("cursor", id.split('_').next().unwrap_or(id)))
}

/// Marks the run's annotations: a dashed line at each, numbered as the run's note list.
fn annotation_marks(p: &mut egui_plot::PlotUi<'_>, d: &ChartData) {
    let colour = Color32::from_rgb(200, 150, 30);
    let top = p.plot_bounds().max()[1];
    for (n, (at, text)) in d.marks.iter().enumerate() {
        p.vline(
            egui_plot::VLine::new(format!("{}. {text}", n + 1), *at)
                .color(colour)
                .style(egui_plot::LineStyle::dashed_dense()),
        );
        p.text(
            Text::new("", PlotPoint::new(*at, top), format!(" {}", n + 1))
                .color(colour)
                .anchor(egui::Align2::LEFT_TOP),
        );
    }
}

/// Shades the warm-up, whose seconds are sent but in no figure.
fn warmup_span(p: &mut egui_plot::PlotUi<'_>, d: &ChartData) {
    annotation_marks(p, d);
    if let Some(end) = d.warmup_end {
        p.span(
            Span::new("warm-up", 0.0..=end)
                .fill(Color32::from_rgba_unmultiplied(160, 160, 160, 28))
                // At the foot: the legend covers the top left, down to the middle.
                .label_align(egui::Align2::CENTER_BOTTOM),
        );
    }
}

/// The target line's name in the legend.
fn target_name(d: &ChartData) -> &str {
    if d.target_name.is_empty() {
        "target"
    } else {
        &d.target_name
    }
}

/// Successful responses per second vs the target rate (a service refusing everything draws 0/s,
/// not a perfect line at the target).
pub fn rate_chart(ui: &mut egui::Ui, d: &ChartData, id: &str, height: f32) {
    base_plot(id, height, "requests/s", top([&d.rate, &d.target]))
        .y_axis_formatter(|m, _| format::rate(m.value))
        .show(ui, |p| {
            let v = view_of(p);
            warmup_span(p, d);
            p.line(d.line(v, "succeeded", &d.rate));
            if d.open {
                p.line(
                    d.line(v, target_name(d), &d.target)
                        .style(egui_plot::LineStyle::dashed_loose()),
                );
            }
        });
}

/// Latency percentiles over time (corrected; service time beside it if asked); returns the plot
/// response so a caller can turn a drag into a time-window selection.
pub fn latency_chart(
    ui: &mut egui::Ui,
    d: &ChartData,
    id: &str,
    height: f32,
    service: bool,
    window: Option<(f64, f64)>,
) -> egui_plot::PlotResponse<()> {
    let shown = d
        .latency
        .iter()
        .chain(if service { &d.service[..] } else { &[] });
    let peak = top(shown);
    let empty = peak <= 0.0;
    let (first, last) = (
        d.t.first().copied().unwrap_or(0.0),
        d.t.last().copied().unwrap_or(1.0),
    );
    base_plot(id, height, "latency (ms)", peak)
        .include_x(first)
        .include_x(last)
        .y_axis_formatter(|m, _| format::micros(m.value * 1000.0))
        .allow_drag(window.is_none())
        .show(ui, |p| {
            if empty {
                say_empty(p, (first + last) / 2.0, NO_RESPONSE);
            }
            let v = view_of(p);
            warmup_span(p, d);
            for (i, name) in ["p50", "p95", "p99"].iter().enumerate() {
                p.line(d.latency_line(v, name, &d.latency[i]));
            }
            if service {
                for (i, name) in ["service p50", "service p95", "service p99"]
                    .iter()
                    .enumerate()
                {
                    p.line(
                        d.latency_line(v, name, &d.service[i])
                            .style(egui_plot::LineStyle::dotted_dense()),
                    );
                }
            }
            if let Some((a, b)) = window {
                p.span(
                    Span::new("selected window", a.min(b)..=a.max(b))
                        .fill(Color32::from_rgba_unmultiplied(120, 160, 255, 40)),
                );
            }
        })
}

/// Errors per second by kind.
pub fn errors_chart(ui: &mut egui::Ui, d: &ChartData, id: &str, height: f32) {
    base_plot(id, height, "errors/s", top(d.errors.values()))
        .y_axis_formatter(|m, _| format::plain(m.value))
        .show(ui, |p| {
            let v = view_of(p);
            annotation_marks(p, d);
            if d.errors.is_empty() {
                p.line(d.line(v, "errors", &vec![0.0; d.t.len()]));
            }
            for (kind, ys) in &d.errors {
                p.line(d.line(v, kind, ys));
            }
        });
}

/// Requests in flight, and virtual users for the closed model.
pub fn in_flight_chart(ui: &mut egui::Ui, d: &ChartData, id: &str, height: f32) {
    base_plot(
        id,
        height,
        "requests in flight",
        top([&d.in_flight, &d.target]),
    )
    .y_grid_spacer(nice_spacer_from(30.0, 1.0))
    .y_axis_formatter(|m, _| format::plain(m.value))
    .show(ui, |p| {
        let v = view_of(p);
        annotation_marks(p, d);
        p.line(d.line(v, "in flight", &d.in_flight));
        if !d.open {
            p.line(
                d.line(v, "virtual users", &d.target)
                    .style(egui_plot::LineStyle::dashed_loose()),
            );
        }
    });
}

/// One series a run's `[monitor]` read, on the run's time axis; a read that failed leaves a gap.
pub fn monitor_chart(ui: &mut egui::Ui, name: &str, points: &[(f64, f64)], id: &str, height: f32) {
    let top = points.iter().map(|p| p.1).fold(0.0f64, f64::max);
    // One colour for every piece, so a gap does not look like a second series.
    let colour = Color32::from_rgb(214, 96, 77);
    base_plot(id, height, "", top)
        .y_axis_formatter(|m, _| format::reading(m.value))
        .show(ui, |p| {
            // Points more than 1.5 s apart are not joined: the second between was not read.
            let mut start = 0;
            for i in 1..=points.len() {
                let gap = i == points.len() || points[i].0 - points[i - 1].0 > 1.5;
                if gap {
                    let part: Vec<[f64; 2]> =
                        points[start..i].iter().map(|(t, v)| [*t, *v]).collect();
                    p.line(
                        egui_plot::Line::new(name.to_string(), part)
                            .width(1.5)
                            .color(colour),
                    );
                    start = i;
                }
            }
        });
}

/// Maps a percentile (0-100) to the spectrum's x axis: 0 → 0, 90 → 1, 99 → 2, 99.9 → 3 ...
fn spectrum_x(p: f64) -> f64 {
    -(1.0 - (p / 100.0).min(0.999_999)).log10()
}

/// Latency by percentile on a log scale (HdrHistogram's percentile plot): where the tail lives.
pub fn spectrum_chart(
    ui: &mut egui::Ui,
    series: &[(&str, &Histogram<u64>)],
    id: &str,
    height: f32,
) {
    let empty = series.iter().all(|(_, h)| h.is_empty());
    Plot::new(id.to_string())
        .height(height)
        .legend(Legend::default())
        .x_axis_label("percentile")
        .y_axis_label("latency (ms)")
        .x_axis_formatter(|m, _| {
            let p = 100.0 * (1.0 - 10f64.powf(-m.value));
            if m.value.fract().abs() > 1e-9 {
                String::new()
            } else if p < 99.0 {
                format!("{p:.0}%")
            } else {
                format!("{}%", format::plain(p))
            }
        })
        .y_axis_formatter(|m, _| format::micros(m.value * 1000.0))
        .grid_spacing(egui::Rangef::new(GRID_MIN_PX, 300.0))
        .y_grid_spacer(nice_spacer(30.0))
        .include_x(0.0)
        .include_x(5.0)
        .include_y(0.0)
        .include_y(if empty { 1.0 } else { 0.0 })
        .allow_scroll(false)
        .show(ui, |p| {
            if empty {
                say_empty(p, 2.5, NO_RESPONSE);
            }
            for (name, h) in series {
                if h.is_empty() {
                    continue;
                }
                let mut pts = Vec::new();
                let mut q = 0.0f64;
                while q <= 99.999 {
                    pts.push([
                        spectrum_x(q),
                        h.value_at_quantile(q / 100.0) as f64 / 1000.0,
                    ]);
                    // Denser towards the tail.
                    q += ((100.0 - q) / 40.0).max(0.0005);
                }
                pts.push([
                    spectrum_x(99.999),
                    h.value_at_quantile(0.99999) as f64 / 1000.0,
                ]);
                p.line(Line::new(name.to_string(), PlotPoints::from(pts)));
            }
        });
}

/// The latency distribution as a histogram (40 bins from the minimum to p99.9; the rest in the last bin).
pub fn histogram_chart(ui: &mut egui::Ui, h: &Histogram<u64>, id: &str, height: f32) {
    let bars: Vec<Bar> = crate::metrics::log_bins(h, 40)
        .into_iter()
        .map(|(mid, width, c)| Bar::new(mid, c as f64).width(width * 0.9))
        .collect();
    let mut plot = Plot::new(id.to_string())
        .height(height)
        .x_axis_label("latency (ms, log scale)")
        .y_axis_label("responses")
        .x_axis_formatter(|m, _| format::micros(10f64.powf(m.value) * 1000.0))
        .allow_scroll(false);
    if h.is_empty() {
        plot = plot
            .include_x(0.0)
            .include_x(1.0)
            .include_y(0.0)
            .include_y(1.0);
    }
    plot.show(ui, |p| {
        if h.is_empty() {
            say_empty(p, 0.5, NO_RESPONSE);
        }
        p.bar_chart(BarChart::new("responses", bars));
    });
}

/// Where throughput stops growing: throughput against concurrency with the fitted Universal
/// Scalability Law curve (or why it was not fitted), and p95 against throughput; `points` are
/// (concurrency, successful responses/s, p95 ms), one per step or plateau.
pub fn knee(
    ui: &mut egui::Ui,
    points: &[(f64, f64, f64)],
    usl: Result<crate::analysis::usl::Usl, String>,
    concurrency: &str,
    id: &str,
) {
    match &usl {
        Ok(u) => ui.label(u.describe()),
        Err(why) => ui.weak(format!("USL not fitted: {why}")),
    };
    let top_n = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let top_x = points.iter().map(|p| p.1).fold(1.0, f64::max);
    ui.columns(2, |cols| {
        cols[0].label(format!("Throughput against {concurrency}"));
        let curve: Option<Vec<[f64; 2]>> = usl.as_ref().ok().map(|u| {
            let end = u
                .peak_concurrency
                .map_or(top_n * 1.3, |p| (p * 1.5).max(top_n * 1.3));
            (0..=200)
                .map(|i| {
                    let n = (end * f64::from(i) / 200.0).max(0.01);
                    [n, u.throughput(n)]
                })
                .collect()
        });
        nice_axes(
            Plot::new(format!("{id}_usl"))
                .height(200.0)
                .legend(Legend::default().position(egui_plot::Corner::RightBottom))
                .x_axis_label(concurrency.to_string())
                .y_axis_label("responses/s")
                // Little's-law concurrency is fractional: 0.5 must not read as 0.
                .x_axis_formatter(|m, _| format::plain((m.value * 100.0).round() / 100.0))
                .y_axis_formatter(|m, _| format::rate(m.value))
                .include_x(0.0)
                .include_y(0.0)
                .include_y(top_x * 1.15)
                .allow_scroll(false),
        )
        .show(&mut cols[0], |p| {
            if let Some(c) = curve {
                p.line(Line::new("USL fit", PlotPoints::from(c)));
            }
            let pts: Vec<[f64; 2]> = points.iter().map(|q| [q.0, q.1]).collect();
            p.points(
                egui_plot::Points::new("measured", PlotPoints::from(pts))
                    .radius(4.0)
                    .filled(true),
            );
        });
        cols[1].label("p95 latency against throughput");
        let pts: Vec<[f64; 2]> = points.iter().map(|q| [q.1, q.2]).collect();
        nice_axes(
            Plot::new(format!("{id}_latency_throughput"))
                .height(200.0)
                .x_axis_label("responses/s")
                .y_axis_label("p95")
                .x_axis_formatter(|m, _| format::rate(m.value))
                .y_axis_formatter(|m, _| format::micros(m.value * 1000.0))
                .include_x(0.0)
                .include_y(0.0)
                .allow_scroll(false),
        )
        .show(&mut cols[1], |p| {
            let mut sorted = pts.clone();
            sorted.sort_by(|a, b| a[0].total_cmp(&b[0]));
            p.line(Line::new("p95", PlotPoints::from(sorted)));
            p.points(
                egui_plot::Points::new("p95", PlotPoints::from(pts))
                    .radius(4.0)
                    .filled(true),
            );
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spectrum_axis_puts_nines_at_integers() {
        assert!((spectrum_x(90.0) - 1.0).abs() < 1e-9);
        assert!((spectrum_x(99.9) - 3.0).abs() < 1e-9);
        assert_eq!(format::plain(99.9), "99.9");
    }

    #[test]
    fn chart_data_keeps_error_kinds_aligned() {
        let mut d = ChartData::new(true);
        d.push(&TickSummary {
            end: 1.0,
            seconds: 1.0,
            requests: 10,
            ..TickSummary::default()
        });
        d.push(&TickSummary {
            end: 2.0,
            seconds: 1.0,
            requests: 10,
            errors: 2,
            error_kinds: vec![("timeout".into(), 2)],
            ..TickSummary::default()
        });
        assert_eq!(d.errors["timeout"], vec![0.0, 2.0]);
        assert_eq!(
            d.rate,
            vec![10.0, 8.0],
            "2 of 10 failed: 8 succeeded per second"
        );
    }

    #[test]
    fn two_latency_modes_get_bars_of_their_own() {
        let mut h = crate::metrics::new_histogram();
        for _ in 0..900 {
            crate::metrics::record(&mut h, 2_000);
        }
        for _ in 0..100 {
            crate::metrics::record(&mut h, 80_000);
        }
        let bars = crate::metrics::log_bins(&h, 40);
        let at = |ms: f64| {
            bars.iter()
                .find(|(mid, w, _)| (ms.log10() - mid).abs() <= w / 2.0 + 1e-9)
                .map_or(0, |b| b.2)
        };
        assert_eq!(at(2.0), 900);
        assert_eq!(at(80.0), 100, "{bars:?}");
        assert_eq!(bars.len(), 2, "nothing between the modes: {bars:?}");
    }

    #[test]
    fn warm_up_is_marked_and_a_stopped_runs_sliver_left_out() {
        let tick = |index: u32, end: f64, seconds: f64, warmup: bool| TickSummary {
            index,
            end,
            seconds,
            warmup,
            requests: 100,
            ..TickSummary::default()
        };
        let mut d = ChartData::new(true);
        for t in [
            tick(1, 1.0, 1.0, true),
            tick(2, 2.0, 1.0, true),
            tick(3, 3.0, 1.0, false),
            tick(4, 3.004, 0.004, false),
        ] {
            d.push(&t);
        }
        assert_eq!(d.warmup_end, Some(2.0));
        assert_eq!(
            d.t,
            vec![1.0, 2.0, 3.0],
            "the 4 ms sliver would read 25,000/s"
        );
    }
}
