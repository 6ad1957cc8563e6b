//! Competitor benchmark sets: list, import (CSV, JSON, k6, oha), create and edit figures, and
//! hold the opened run against a set.

use egui::RichText;

use super::Msg;
use crate::benchmark::{BenchmarkSet, Figures};

/// State of the benchmarks screen.
#[derive(Default)]
pub struct BenchmarksState {
    /// Stored sets.
    pub sets: Vec<BenchmarkSet>,
    /// The set being edited (a copy; saved on Save).
    pub editing: Option<BenchmarkSet>,
    /// The opened run's comparison with a set.
    pub comparison: Option<crate::analysis::compare::Comparison>,
    /// The last error.
    pub error: Option<String>,
}

fn opt_field(ui: &mut egui::Ui, v: &mut Option<f64>, label: &str) {
    let mut text = v.map(|x| x.to_string()).unwrap_or_default();
    let r = ui.add(egui::TextEdit::singleline(&mut text).desired_width(70.0));
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, label));
    if r.changed() {
        *v = text.trim().parse().ok();
    }
}

/// Draws the benchmarks screen.
pub fn view(
    ui: &mut egui::Ui,
    s: &mut BenchmarksState,
    open_run: Option<i64>,
    msgs: &mut Vec<Msg>,
) {
    ui.horizontal(|ui| {
        ui.heading("Competitor benchmarks");
        if ui
            .button("Import file…")
            .on_hover_text("our CSV or JSON, k6 --summary-export, oha JSON")
            .clicked()
        {
            msgs.push(Msg::ImportBenchmark);
        }
        if ui.button("New set").clicked() {
            msgs.push(Msg::NewBenchmark);
        }
    });
    if let Some(e) = &s.error {
        ui.colored_label(super::theme::error(ui), e);
    }
    egui::ScrollArea::vertical().id_salt("benchmarks").show(ui, |ui| {
        for set in &s.sets {
            ui.separator();
            ui.horizontal(|ui| {
                ui.strong(&set.name);
                ui.label(RichText::new(format!("{} {}", set.source, set.published)).weak());
                if ui.small_button("Edit").clicked() {
                    msgs.push(Msg::EditBenchmark(set.name.clone()));
                }
                if ui.small_button("Delete").clicked() {
                    msgs.push(Msg::DeleteBenchmark(set.name.clone()));
                }
                let compare = ui.add_enabled(open_run.is_some(), egui::Button::new("Compare opened run"));
                if compare.on_disabled_hover_text("open a run on the Runs screen first").clicked()
                    && let Some(id) = open_run
                {
                    msgs.push(Msg::CompareBenchmark(id, set.name.clone()));
                }
            });
            figures_grid(ui, &set.name, &set.figures);
        }
        if s.sets.is_empty() {
            ui.label("No benchmark sets yet: import a file (samples in scenarios/benchmarks/) or start a new set.");
        }
        if let Some(c) = &s.comparison {
            super::widgets::verdict_table(ui, std::slice::from_ref(c));
        }
    });
    if let Some(ed) = s.editing.as_mut() {
        let mut open = true;
        egui::Window::new("Benchmark set")
            .open(&mut open)
            .show(ui.ctx(), |ui| {
                egui::Grid::new("bench_meta").num_columns(2).show(ui, |ui| {
                    for (label, value) in [
                        ("Name", &mut ed.name),
                        ("Source", &mut ed.source),
                        ("Published", &mut ed.published),
                        ("Notes", &mut ed.notes),
                    ] {
                        let l = ui.label(label);
                        ui.add(egui::TextEdit::singleline(value).desired_width(280.0))
                            .labelled_by(l.id);
                        ui.end_row();
                    }
                    // Which of our latencies its figures are held against.
                    ui.label("Latency");
                    ui.horizontal(|ui| {
                        use crate::benchmark::LatencyKind;
                        ui.radio_value(&mut ed.latency, LatencyKind::Service, "service time")
                            .on_hover_text("from the actual send: k6, oha, most published figures");
                        ui.radio_value(&mut ed.latency, LatencyKind::Corrected, "corrected")
                            .on_hover_text("from the intended start: loadbench, wrk2, oha --latency-correction");
                    });
                    ui.end_row();
                });
                egui::Grid::new("bench_figures")
                    .striped(true)
                    .show(ui, |ui| {
                        for h in [
                            "endpoint",
                            "rate /s",
                            "p50 ms",
                            "p90 ms",
                            "p95 ms",
                            "p99 ms",
                            "max ms",
                            "errors (0-1)",
                            "",
                        ] {
                            ui.strong(h);
                        }
                        ui.end_row();
                        let mut remove = None;
                        for (i, f) in ed.figures.iter_mut().enumerate() {
                            let r = ui.add(
                                egui::TextEdit::singleline(&mut f.endpoint).desired_width(120.0),
                            );
                            r.widget_info(|| {
                                egui::WidgetInfo::labeled(
                                    egui::Role::TextInput,
                                    true,
                                    format!("endpoint {}", i + 1),
                                )
                            });
                            for (v, l) in [
                                (&mut f.rate, "rate"),
                                (&mut f.p50_ms, "p50"),
                                (&mut f.p90_ms, "p90"),
                                (&mut f.p95_ms, "p95"),
                                (&mut f.p99_ms, "p99"),
                                (&mut f.max_ms, "max"),
                                (&mut f.error_rate, "errors"),
                            ] {
                                opt_field(ui, v, &format!("{l} {}", i + 1));
                            }
                            if ui.small_button("remove").clicked() {
                                remove = Some(i);
                            }
                            ui.end_row();
                        }
                        if let Some(i) = remove {
                            ed.figures.remove(i);
                        }
                    });
                ui.horizontal(|ui| {
                    if ui.button("Add endpoint").clicked() {
                        ed.figures.push(Figures {
                            endpoint: "*".into(),
                            ..Figures::default()
                        });
                    }
                    if ui.button("Save set").clicked() {
                        msgs.push(Msg::SaveBenchmark);
                    }
                });
            });
        if !open {
            msgs.push(Msg::CancelBenchmark);
        }
    }
}

fn figures_grid(ui: &mut egui::Ui, id: &str, figures: &[Figures]) {
    use crate::format;
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |x| format::micros(x * 1000.0));
    egui::Grid::new(("figures", id))
        .striped(true)
        .show(ui, |ui| {
            for h in [
                "endpoint", "rate", "p50", "p90", "p95", "p99", "max", "errors",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for f in figures {
                ui.label(&f.endpoint);
                ui.label(f.rate.map_or("-".into(), format::rate));
                for v in [f.p50_ms, f.p90_ms, f.p95_ms, f.p99_ms, f.max_ms] {
                    ui.label(ms(v));
                }
                ui.label(f.error_rate.map_or("-".into(), format::percent));
                ui.end_row();
            }
        });
}
