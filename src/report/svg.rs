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

/// One line of a chart.
pub struct Series<'a> {
    /// Legend name.
    pub name: &'a str,
    /// Points (x, y).
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
    /// X ticks at these values (None: five even ticks).
    pub x_ticks: Option<Vec<f64>>,
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

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Draws a line chart.
pub fn line_chart(axes: &Axes<'_>, series: &[Series<'_>]) -> String {
    let all = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y1) = (f64::MAX, f64::MIN, 0.0f64);
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if (x1 - x0).abs() < 1e-9 {
        x1 = x0 + 1.0;
    }
    let y1 = nice_max(y1);
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| TOP + ph - y / y1 * ph;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(s, r##"<rect width="{W}" height="{H}" fill="#ffffff"/>"##);
    let _ = write!(
        s,
        r#"<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{}</text>"#,
        escape(axes.title)
    );
    for i in 0..=4 {
        let v = y1 * f64::from(i) / 4.0;
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
        (0..=4)
            .map(|i| x0 + (x1 - x0) * f64::from(i) / 4.0)
            .collect()
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
    for (i, ser) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts: Vec<String> = ser
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let dash = if ser.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="1.8"{dash} points="{}"/>"#,
            pts.join(" ")
        );
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
        };
        let series = [Series {
            name: "a&b",
            points: vec![(0.0, 1.0), (1.0, 3.0)],
            dashed: false,
        }];
        let a = line_chart(&axes, &series);
        assert_eq!(a, line_chart(&axes, &series));
        assert!(a.contains("&lt;script&gt;") && a.contains("a&amp;b") && !a.contains("<script>"));
        assert_eq!(nice_max(3.2), 5.0);
    }
}
