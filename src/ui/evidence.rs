//! The run page's bottleneck evidence: where the time went, and the requests behind a window.

use crate::metrics::{EXEMPLAR_COLUMNS, PHASE_COLUMNS, Summary};

/// Draws the phases per request and the slowest and first failing requests of `s` (the
/// selected window's, or the whole run's); `label` names the window.
pub fn view(ui: &mut egui::Ui, s: &Summary, label: &str) {
    let phases = s.phase_rows();
    if !phases.is_empty() {
        ui.separator();
        ui.strong(format!("Where the time goes: {label}"))
            .on_hover_text(
                "connect and TLS: connections opened; write: preparing and writing the request; \
                 first byte: request written → first byte of the answer (the server's work + \
                 one round trip); transfer: the rest of the body; queued: waiting in the generator",
            );
        grid(ui, "phases", &PHASE_COLUMNS, &phases, &[]);
    }
    let slowest = s.exemplar_rows(false);
    if !slowest.is_empty() {
        ui.separator();
        ui.strong(format!(
            "Slowest requests: {label} (click a second on the latency chart or the heatmap for the requests behind it)"
        ));
        let hover: Vec<String> = s.slowest.iter().map(|r| r.headers.clone()).collect();
        grid(ui, "slowest", &EXEMPLAR_COLUMNS, &slowest, &hover);
    }
    let failures = s.exemplar_rows(true);
    if !failures.is_empty() {
        ui.separator();
        ui.strong(format!("First failures: {label}"));
        let hover: Vec<String> = s
            .first_failures
            .iter()
            .map(|r| format!("{}\n\n{}", r.headers, r.body))
            .collect();
        let mut columns = EXEMPLAR_COLUMNS.to_vec();
        columns.push("body");
        let rows: Vec<Vec<String>> = failures
            .into_iter()
            .zip(&s.first_failures)
            .map(|(mut row, r)| {
                row.push(
                    r.body
                        .chars()
                        .take(60)
                        .collect::<String>()
                        .replace('\n', " "),
                );
                row
            })
            .collect();
        grid(ui, "failures", &columns, &rows, &hover);
    }
}

/// A striped grid of rows under bold column names; a row with hover text shows it (headers, the
/// whole body) when pointed at.
fn grid(ui: &mut egui::Ui, id: &str, columns: &[&str], rows: &[Vec<String>], hover: &[String]) {
    egui::Grid::new(id).striped(true).show(ui, |ui| {
        for c in columns {
            ui.strong(*c);
        }
        ui.end_row();
        for (i, row) in rows.iter().enumerate() {
            for c in row {
                let r = ui.label(c);
                if let Some(h) = hover.get(i).filter(|h| !h.trim().is_empty()) {
                    r.on_hover_text(h.as_str());
                }
            }
            ui.end_row();
        }
    });
}
