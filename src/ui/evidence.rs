//! The run page's bottleneck evidence: the report's sections (where the time went, the slowest
//! and first failing requests) for the selected window, drawn as grids.

use crate::metrics::Summary;

/// Draws the evidence sections of `s` (the selected window's summary, or the whole run's);
/// `label` names the window.
pub fn view(ui: &mut egui::Ui, s: &Summary, label: &str) {
    for sec in crate::report::evidence::sections(s) {
        table(
            ui,
            &format!("{}: {label}", sec.title),
            sec.intro,
            &sec.columns,
            &sec.rows,
        );
    }
    if !s.slowest.is_empty() {
        ui.weak("Click a second on the latency chart or the heatmap for the requests behind it.");
    }
}

/// Draws what a proxy added to the requests the run sent both direct and through it (the whole
/// run: the intervals need all its seconds); nothing for a run without a proxy.
pub fn overhead(ui: &mut egui::Ui, overheads: &[crate::analysis::overhead::Overhead]) {
    use crate::analysis::overhead;
    if overheads.is_empty() {
        return;
    }
    let rows = overhead::rows(overheads);
    table(
        ui,
        "Proxy overhead: whole run",
        overhead::INTRO,
        &overhead::COLUMNS,
        &rows,
    );
}

/// One titled grid, its intro on hover.
fn table(ui: &mut egui::Ui, title: &str, intro: &str, columns: &[&str], rows: &[Vec<String>]) {
    ui.separator();
    ui.strong(title).on_hover_text(intro);
    egui::Grid::new(title).striped(true).show(ui, |ui| {
        for c in columns {
            ui.strong(*c);
        }
        ui.end_row();
        for row in rows {
            for cell in row {
                ui.label(cell);
            }
            ui.end_row();
        }
    });
}
