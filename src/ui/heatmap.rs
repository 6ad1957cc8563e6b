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
    use egui_plot::{Plot, PlotPoint};
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
    // One texture, a pixel per tile, stretched over the plot: a frame draws one quad however
    // many tiles (under software GL, ten thousand tiles took tens of milliseconds a frame).
    let texture = texture(ui.ctx(), id, d, lo, hi);
    let width = d.columns().len() as f64 * d.column_seconds();
    let height = rows as f64 / PER_DECADE;
    let y0 = LOW_LOG_US + lo as f64 / PER_DECADE;
    let response = plot
        .include_y(y0)
        .include_y(y0 + height)
        .label_formatter(|_| None)
        .show(ui, |p| {
            p.image(egui_plot::PlotImage::new(
                "heatmap",
                texture.id(),
                PlotPoint::new(d.start() + width / 2.0, y0 + height / 2.0),
                egui::vec2(width as f32, height as f32),
            ));
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

/// What a heatmap's texture was made from: made again only when it changes (once a second live).
type Made = (usize, u64, usize, usize, u64, u64);

/// The heatmap's rows `lo..=hi` as a texture, a pixel per tile (slowest row on top), kept in the
/// context's memory under `id` and remade only when the counts changed.
fn texture(
    ctx: &egui::Context,
    id: &str,
    d: &HeatmapData,
    lo: usize,
    hi: usize,
) -> egui::TextureHandle {
    let made: Made = (
        d.columns().len(),
        d.total(),
        lo,
        hi,
        d.start().to_bits(),
        d.column_seconds().to_bits(),
    );
    let key = egui::Id::unique(("heatmap texture", id));
    if let Some((was, t)) = ctx.data(|m| m.get_temp::<(Made, egui::TextureHandle)>(key))
        && was == made
    {
        return t;
    }
    let cols = d.columns();
    let max = d.weighted_max(lo, hi);
    let weights: Vec<f64> = d.weights().collect();
    let rows = hi - lo + 1;
    let mut pixels = Vec::with_capacity(rows * cols.len());
    for r in (lo..=hi).rev() {
        pixels.extend(
            cols.iter()
                .zip(&weights)
                .map(|(c, w)| colour(c[r] as f64 * w, max)),
        );
    }
    let image = egui::ColorImage::new([cols.len(), rows], pixels);
    let t = ctx.load_texture(
        format!("heatmap {id}"),
        image,
        egui::TextureOptions::NEAREST,
    );
    ctx.data_mut(|m| m.insert_temp(key, (made, t.clone())));
    t
}
