//! Report charts as SVG: the GUI's series (rate, latency percentiles, percentile spectrum) drawn
//! deterministically, so the same run always gives the same file.

use std::fmt::Write;

use crate::format;

const W: f64 = 720.0;
const H: f64 = 280.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 130.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 45.0;
const COLORS: [&str; 6] = [
    "#d9534f", "#337ab7", "#5cb85c", "#f0ad4e", "#9b59b6", "#17a2b8",
];

/// What a latency chart says when every request failed: there is no latency to draw.
pub const NO_RESPONSE: &str = "no response to measure";

/// One line of a chart.
pub struct Series<'a> {
    /// Legend name.
    pub name: &'a str,
    /// Points (x, y); a NaN y is a gap (nothing measured there).
    pub points: Vec<(f64, f64)>,
    /// Dashed line.
    pub dashed: bool,
}

/// How the axes read.
pub struct Axes<'a> {
    /// Chart title.
    pub title: &'a str,
    /// X axis label (with unit).
    pub x_label: &'a str,
    /// Y axis label (with unit).
    pub y_label: &'a str,
    /// Formats an x tick.
    pub x_fmt: &'a dyn Fn(f64) -> String,
    /// Formats a y tick.
    pub y_fmt: &'a dyn Fn(f64) -> String,
    /// X ticks at these values, which the axis then spans (None: ticks at 1-2-5 steps).
    pub x_ticks: Option<Vec<f64>>,
    /// What the chart says when no series has a point (e.g. "no response to measure").
    pub empty: &'a str,
}

/// Escapes text for XML/HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A chart's opening: the SVG element, its white background and its title.
fn open_svg(title: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(s, r##"<rect width="{W}" height="{H}" fill="#ffffff"/>"##);
    let _ = write!(
        s,
        r#"<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{}</text>"#,
        escape(title)
    );
    s
}

/// Draws a line chart.
pub fn line_chart(axes: &Axes<'_>, series: &[Series<'_>]) -> String {
    line_chart_marked(axes, series, &[])
}

/// Draws a line chart with numbered marks at x values (a run's annotations: 1, 2, … listed
/// beside the chart), each a dashed vertical line.
pub fn line_chart_marked(axes: &Axes<'_>, series: &[Series<'_>], marks: &[f64]) -> String {
    let all = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y1) = (f64::MAX, f64::MIN, 0.0f64);
    let mut empty = true;
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        if y.is_finite() {
            y1 = y1.max(y);
            empty = false;
        }
    }
    for &t in axes.x_ticks.iter().flatten() {
        x0 = x0.min(t);
        x1 = x1.max(t);
    }
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if (x1 - x0).abs() < 1e-9 {
        x1 = x0 + 1.0;
    }
    // Y ticks at 1-2-5 steps with a little headroom above the highest point.
    let y_step = format::nice_step(y1 * 1.05 / 5.0);
    let y_ticks = ((y1 * 1.05 / y_step).ceil() as u32).max(1);
    let y1 = y_step * f64::from(y_ticks);
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| TOP + ph - y / y1 * ph;
    let mut s = open_svg(axes.title);
    for i in 0..=y_ticks {
        let v = y_step * f64::from(i);
        let y = sy(v);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/>"##,
            LEFT + pw
        );
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            y + 4.0,
            escape(&(axes.y_fmt)(v))
        );
    }
    let ticks = axes.x_ticks.clone().unwrap_or_else(|| {
        let step = format::nice_step((x1 - x0) / 5.0);
        let first = (x0 / step - 1e-9).ceil() as i64;
        let last = (x1 / step + 1e-9).floor() as i64;
        (first..=last).map(|i| i as f64 * step).collect()
    });
    for v in ticks
        .into_iter()
        .filter(|v| *v >= x0 - 1e-9 && *v <= x1 + 1e-9)
    {
        let x = sx(v);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#f0f0f0"/>"##,
            TOP + ph
        );
        let _ = write!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            TOP + ph + 15.0,
            escape(&(axes.x_fmt)(v))
        );
    }
    let _ = write!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999999"/>"##
    );
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        LEFT + pw / 2.0,
        H - 8.0,
        escape(axes.x_label)
    );
    let _ = write!(
        s,
        r#"<text x="14" y="{:.1}" text-anchor="middle" transform="rotate(-90 14 {:.1})">{}</text>"#,
        TOP + ph / 2.0,
        TOP + ph / 2.0,
        escape(axes.y_label)
    );
    if empty {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#888888">{}</text>"##,
            LEFT + pw / 2.0,
            TOP + ph / 2.0,
            escape(axes.empty)
        );
    }
    for (n, &at) in marks.iter().enumerate() {
        if !(x0..=x1).contains(&at) {
            continue;
        }
        let x = sx(at);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#7a5c00" stroke-dasharray="3 3"/>"##,
            TOP + ph
        );
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" fill="#7a5c00" font-weight="bold">{}</text>"##,
            x + 3.0,
            TOP + 12.0,
            n + 1
        );
    }
    for (i, ser) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let dash = if ser.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        // A point without a value (NaN) breaks the line: one polyline per unbroken stretch.
        for run in ser.points.split(|(_, y)| !y.is_finite()) {
            if run.is_empty() {
                continue;
            }
            let pts: Vec<String> = run
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
                .collect();
            let _ = write!(
                s,
                r#"<polyline fill="none" stroke="{color}" stroke-width="1.8"{dash} points="{}"/>"#,
                pts.join(" ")
            );
        }
        let ly = TOP + 10.0 + 16.0 * i as f64;
        let lx = LEFT + pw + 12.0;
        let _ = write!(
            s,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{color}" stroke-width="2"{dash}/>"#,
            lx + 18.0
        );
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 24.0,
            ly + 4.0,
            escape(ser.name)
        );
    }
    s.push_str("</svg>");
    s
}

/// The latency distribution as bars on a log latency axis (40 bins from the fastest to the
/// slowest response): two modes, a fast path and a slow one, each show as a hill of their own.
pub fn histogram_chart(h: &hdrhistogram::Histogram<u64>) -> String {
    let bins = crate::metrics::log_bins(h, 40);
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let mut s = open_svg("Latency distribution (log latency axis)");
    let _ = write!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999999"/>"##
    );
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">latency (log scale)</text>"#,
        LEFT + pw / 2.0,
        H - 8.0
    );
    let _ = write!(
        s,
        r#"<text x="14" y="{:.1}" text-anchor="middle" transform="rotate(-90 14 {:.1})">responses</text>"#,
        TOP + ph / 2.0,
        TOP + ph / 2.0
    );
    let Some(first) = bins.first() else {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#888888">{NO_RESPONSE}</text></svg>"##,
            LEFT + pw / 2.0,
            TOP + ph / 2.0
        );
        return s;
    };
    let width = first.1;
    let lo = first.0 - width / 2.0;
    let hi = bins
        .last()
        .map_or(lo + 1.0, |b| b.0 + b.1 / 2.0)
        .max(lo + width);
    let top = bins.iter().map(|b| b.2).max().unwrap_or(1).max(1) as f64;
    let y_step = format::nice_step(top * 1.05 / 4.0);
    let y_ticks = ((top * 1.05 / y_step).ceil() as u32).max(1);
    let y1 = y_step * f64::from(y_ticks);
    let sx = |x: f64| LEFT + (x - lo) / (hi - lo) * pw;
    let sy = |y: f64| TOP + ph - y / y1 * ph;
    for i in 0..=y_ticks {
        let v = y_step * f64::from(i);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            sy(v) + 4.0,
            format::plain(v),
            y = sy(v)
        );
    }
    // Latency ticks at the powers of ten inside the range, and at its two ends.
    let mut ticks: Vec<f64> = vec![lo, hi];
    let mut p = lo.ceil();
    let room = 0.1 * (hi - lo);
    while p < hi {
        // A power of ten close to an end would print over that end's label.
        if p - lo > room && hi - p > room {
            ticks.push(p);
        }
        p += 1.0;
    }
    for t in ticks {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            sx(t),
            TOP + ph + 15.0,
            escape(&format::micros(10f64.powf(t) * 1000.0))
        );
    }
    for (mid, w, count) in &bins {
        let x = sx(mid - w / 2.0);
        let bw = (sx(mid + w / 2.0) - x - 1.0).max(1.0);
        let y = sy(*count as f64);
        let _ = write!(
            s,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{:.1}" fill="{}"><title>{count} response(s) near {}</title></rect>"##,
            TOP + ph - y,
            COLORS[0],
            escape(&format::micros(10f64.powf(*mid) * 1000.0))
        );
    }
    s.push_str("</svg>");
    s
}

/// The latency heatmap: time across, latency up on a log axis, each cell coloured by how many
/// responses took that long in that stretch of time (the window's scale); a cell's count is its
/// tooltip.
pub fn heatmap_chart(d: &crate::metrics::heatmap::HeatmapData) -> String {
    use crate::metrics::heatmap::{LOW_LOG_US, PER_DECADE};
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let mut s = open_svg("Latency heatmap (responses per second and latency band)");
    let Some((lo, hi)) = d.used_rows() else {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#888888">{NO_RESPONSE}</text></svg>"##,
            LEFT + pw / 2.0,
            TOP + ph / 2.0
        );
        return s;
    };
    let cols = d.columns();
    let rows = hi - lo + 1;
    let t0 = d.start();
    let span = d.column_seconds() * cols.len() as f64;
    let max = d.weighted_max(lo, hi).max(1.0);
    let weights: Vec<f64> = d.weights().collect();
    let cw = pw / cols.len().max(1) as f64;
    let rh = ph / rows as f64;
    let _ = write!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="#101018"/>"##
    );
    for (i, (c, w)) in cols.iter().zip(&weights).enumerate() {
        // The last column's responses include those that arrived in the drain after it.
        let drained = if i + 1 == cols.len() && d.drain() > 0.0 {
            format!(" and the {} s drain after it", format::plain(d.drain()))
        } else {
            String::new()
        };
        for (r, &n) in c.iter().enumerate().take(hi + 1).skip(lo) {
            let Some([red, green, blue]) = crate::metrics::heatmap::colour(n as f64 * w, max)
            else {
                continue;
            };
            let from = t0 + d.column_seconds() * i as f64;
            let low = 10f64.powf(LOW_LOG_US + r as f64 / PER_DECADE);
            let _ = write!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.2}" height="{:.2}" fill="rgb({red},{green},{blue})"><title>{n} response(s) from {} in {}–{} s{drained}</title></rect>"#,
                LEFT + cw * i as f64,
                TOP + ph - rh * (r - lo + 1) as f64,
                cw + 0.3,
                rh + 0.3,
                escape(&format::micros(low)),
                format::plain(from),
                format::plain(from + d.column_seconds())
            );
        }
    }
    // Latency labels at each power of ten within the rows shown.
    for r in lo..=hi + 1 {
        let log = LOW_LOG_US + r as f64 / PER_DECADE;
        if (log - log.round()).abs() > 1e-9 {
            continue;
        }
        let y = TOP + ph - rh * (r - lo) as f64;
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            y + 4.0,
            escape(&format::micros(10f64.powf(log)))
        );
    }
    let step = format::nice_step(span / 6.0);
    let mut t = (t0 / step).ceil() * step;
    while t <= t0 + span + 1e-9 {
        let x = LEFT + (t - t0) / span.max(1e-9) * pw;
        let _ = write!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{} s</text>"#,
            TOP + ph + 15.0,
            format::plain(t)
        );
        t += step;
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">time (s)</text><text x="14" y="{:.1}" text-anchor="middle" transform="rotate(-90 14 {:.1})">latency (log)</text>"#,
        LEFT + pw / 2.0,
        H - 8.0,
        TOP + ph / 2.0,
        TOP + ph / 2.0
    );
    s.push_str("</svg>");
    s
}

/// Maps a percentile to the spectrum's x axis: 90 → 1, 99 → 2, 99.9 → 3 ...
pub fn spectrum_x(p: f64) -> f64 {
    -(1.0 - (p / 100.0).min(0.999_999)).log10()
}

/// The percentile spectrum of latency histograms (µs), as the GUI draws it.
pub fn spectrum_chart(series: &[(&str, &hdrhistogram::Histogram<u64>)]) -> String {
    let lines: Vec<Series<'_>> = series
        .iter()
        .filter(|(_, h)| !h.is_empty())
        .map(|(name, h)| {
            let mut points = Vec::new();
            let mut q = 0.0f64;
            while q < 99.999 {
                points.push((
                    spectrum_x(q),
                    h.value_at_quantile(q / 100.0) as f64 / 1000.0,
                ));
                q += ((100.0 - q) / 40.0).max(0.0005);
            }
            points.push((
                spectrum_x(99.999),
                h.value_at_quantile(0.99999) as f64 / 1000.0,
            ));
            Series {
                name,
                points,
                dashed: false,
            }
        })
        .collect();
    line_chart(
        &Axes {
            title: "Latency by percentile",
            x_label: "percentile",
            y_label: "latency (ms)",
            x_fmt: &|x| {
                let p = 100.0 * (1.0 - 10f64.powf(-x));
                let t = format!("{p:.3}");
                format!("{}%", t.trim_end_matches('0').trim_end_matches('.'))
            },
            y_fmt: &|y| format::micros(y * 1000.0),
            x_ticks: Some(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
            empty: NO_RESPONSE,
        },
        &lines,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_and_are_deterministic() {
        let axes = Axes {
            title: "<script>",
            x_label: "time (s)",
            y_label: "ms",
            x_fmt: &|x| format!("{x:.0}"),
            y_fmt: &|y| format!("{y:.0}"),
            x_ticks: None,
            empty: "nothing",
        };
        let series = [Series {
            name: "a&b",
            points: vec![(0.0, 1.0), (1.0, 3.0)],
            dashed: false,
        }];
        let a = line_chart(&axes, &series);
        assert_eq!(a, line_chart(&axes, &series));
        assert!(a.contains("&lt;script&gt;") && a.contains("a&amp;b") && !a.contains("<script>"));
        // 1-2-5 y ticks with headroom: a top of 3 reads 0, 1, 2, 3, 4.
        assert!(a.contains(">4</text>") && !a.contains(">5</text>"), "{a}");
        // A NaN point splits the line in two.
        let gap = [Series {
            name: "g",
            points: vec![
                (0.0, 1.0),
                (1.0, 2.0),
                (2.0, f64::NAN),
                (3.0, 1.0),
                (4.0, 2.0),
            ],
            dashed: false,
        }];
        assert_eq!(line_chart(&axes, &gap).matches("<polyline").count(), 2);
    }

    #[test]
    fn the_histogram_draws_each_mode_and_says_when_there_is_nothing() {
        let mut h = crate::metrics::new_histogram();
        for _ in 0..900 {
            crate::metrics::record(&mut h, 2_000);
        }
        for _ in 0..100 {
            crate::metrics::record(&mut h, 80_000);
        }
        let svg = histogram_chart(&h);
        assert_eq!(
            svg.matches("<rect x=").count(),
            2 + 1,
            "two bars and the frame"
        );
        assert!(svg.contains("900 response(s)") && svg.contains("100 response(s)"));
        let empty = histogram_chart(&crate::metrics::new_histogram());
        assert!(empty.contains(NO_RESPONSE) && empty.ends_with("</svg>"));
    }

    #[test]
    fn the_heatmap_colours_each_cell_with_responses_and_says_when_there_are_none() {
        let mut h = crate::metrics::new_histogram();
        crate::metrics::record(&mut h, 2_000);
        crate::metrics::record(&mut h, 80_000);
        let mut map = crate::metrics::heatmap::HeatmapData::bounded(150);
        map.push((0.0, 0.0), &h);
        map.push((1.0, 0.0), &crate::metrics::new_histogram());
        let svg = heatmap_chart(&map);
        roxmltree::Document::parse(&svg).expect("well-formed");
        assert_eq!(svg.matches("1 response(s) from").count(), 2, "{svg}");
        let empty = heatmap_chart(&crate::metrics::heatmap::HeatmapData::default());
        assert!(empty.contains(NO_RESPONSE));
    }
}
