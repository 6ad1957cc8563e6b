//! The run page's bottleneck evidence: the report's sections (where the time went, the slowest
//! and first failing requests) for the selected window, drawn as grids.

use crate::metrics::Summary;

/// Draws the evidence sections of `s` (the selected window's summary, or the whole run's);
/// `label` names the window.
pub fn view(ui: &mut egui::Ui, s: &Summary, label: &str) {
    for sec in crate::report::evidence::sections(s) {
        ui.separator();
        ui.strong(format!("{}: {label}", sec.title))
            .on_hover_text(sec.intro);
        egui::Grid::new(sec.title).striped(true).show(ui, |ui| {
            for c in &sec.columns {
                ui.strong(*c);
            }
            ui.end_row();
            for row in &sec.rows {
                for cell in row {
                    ui.label(cell);
                }
                ui.end_row();
            }
        });
    }
    if !s.slowest.is_empty() {
        ui.weak("Click a second on the latency chart or the heatmap for the requests behind it.");
    }
}
