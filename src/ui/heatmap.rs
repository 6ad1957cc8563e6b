//! The latency heatmap drawn: time × latency (log axis) coloured by how many responses took that
//! long, from the counts of `metrics::heatmap` — bimodal latencies and stalls show at a glance.

use egui::Color32;

use crate::format;
pub use crate::metrics::heatmap::{HeatmapData, push_tick};
use crate::metrics::heatmap::{LOW_LOG_US, PER_DECADE, ROWS};

/// A count's colour on the shared scale (transparent for none).
fn colour(count: f64, max: f64) -> Color32 {
    crate::metrics::heatmap::colour(count, max)
        .map_or(Color32::TRANSPARENT, |[r, g, b]| Color32::from_rgb(r, g, b))
}

/// Draws a heatmap: time across, latency up (log), colour for the number of responses; the
/// tile under the pointer says its count. Returns the start (s) of the column clicked, if one was.
pub fn chart(ui: &mut egui::Ui, d: &HeatmapData, id: &str, height: f32) -> Option<f64> {
    use egui_plot::{Heatmap, Plot, PlotPoint};
    let plot = Plot::new(id.to_string())
        .link_cursor(
            super::charts::cursor_group(id),
            egui::Vec2b::new(true, false),
        )
        .height(height)
        .x_axis_label("time (s)")
        .y_axis_label("latency (log)")
        .y_axis_formatter(|m, _| format::micros(10f64.powf(m.value)))
        .x_axis_formatter(|m, _| format!("{} s", format::plain(m.value)))
        .allow_scroll(false)
        .include_x(0.0)
        .show_grid([true, false]);
    let Some((lo, hi)) = d.used_rows() else {
        plot.include_y(LOW_LOG_US)
            .include_y(LOW_LOG_US + 3.0)
            .show(ui, |p| {
                p.text(
                    egui_plot::Text::new(
                        "",
                        PlotPoint::new(0.5, LOW_LOG_US + 1.5),
                        "no response yet",
                    )
                    .color(Color32::GRAY),
                );
            });
        return None;
    };
    // A row of margin either side, so the fastest and slowest bands are off the frame.
    let (lo, hi) = (lo.saturating_sub(1), (hi + 1).min(ROWS - 1));
    let rows = hi - lo + 1;
    let mut values = Vec::with_capacity(rows * d.columns().len());
    for r in lo..=hi {
        values.extend(d.columns().iter().map(|c| c[r] as f64));
    }
    let max = values.iter().copied().fold(0.0, f64::max);
    let width = d.column_seconds() as f32;
    let start = d.start();
    let y0 = LOW_LOG_US + lo as f64 / PER_DECADE;
    let response = plot
        .include_y(y0)
        .include_y(y0 + rows as f64 / PER_DECADE)
        .label_formatter(|_| None)
        .show(ui, |p| {
            p.heatmap(
                Heatmap::new(values, d.columns().len())
                    .at(PlotPoint::new(start, y0))
                    .tile_size(width, (1.0 / PER_DECADE) as f32)
                    .show_labels(false)
                    .custom_mapping(Box::new(move |v| colour(v, max))),
            );
            p.pointer_coordinate()
        });
    let clicked = response.response.clicked();
    let mut picked = None;
    if let Some(at) = response.inner
        && let Some((n, t, a, b)) = d.at(at.x, at.y)
    {
        if clicked {
            picked = Some(t);
        }
        response.response.on_hover_text(format!(
            "{n} response(s) of {}–{} in {}–{} s (click for the requests behind it)",
            format::micros(a),
            format::micros(b),
            format::plain(t),
            format::plain(t + d.column_seconds())
        ));
    }
    picked
}
