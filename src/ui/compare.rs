//! The Compare screen: runs side by side against a chosen baseline — verdicts first, then the
//! per-request table, overlaid time series and spectra — and the comparison exported as a report.

use egui::RichText;

use super::charts::{self, ChartData};
use super::{Background, Msg, Spectra};
use crate::analysis::compare::Comparison;
use crate::format;
use crate::metrics::Summary;
use crate::store::Store;

/// State of the compare screen.
#[derive(Default)]
pub struct CompareState {
    /// The compared runs (id, name, summary), the baseline runs first.
    pub runs: Vec<(i64, String, Summary)>,
    /// The baseline: one run, or a set of runs whose spread is the run-to-run drift.
    pub bases: Vec<i64>,
    /// The scenario's marked baseline runs, offered as the baseline when there are two or more.
    pub scenario_set: Vec<i64>,
    /// Verdicts of each candidate against the baseline.
    pub verdicts: Vec<Comparison>,
    /// Chart series of the compared runs, aligned on elapsed time.
    pub charts: Vec<(String, ChartData)>,
    /// Latency histograms of the compared runs (loaded in the background).
    pub spectra: Spectra,
    pending: Option<Background<(Spectra, Vec<Comparison>)>>,
    /// The candidate an exported report is about (with its verdicts against the baseline).
    pub report_on: Option<i64>,
    /// The format of the exported report.
    pub export_format: crate::report::Format,
    /// The last error (a run that could not be read).
    pub error: Option<String>,
}

impl CompareState {
    /// Compares `ids` against `bases` (one run or a set; added to the runs if not among them):
    /// their rows and charts now, their histograms and verdicts in the background.
    pub fn load(
        &mut self,
        store: &Store,
        db: &std::path::Path,
        ctx: Option<egui::Context>,
        ids: &[i64],
        bases: &[i64],
    ) {
        let Some(&baseline) = bases.first() else {
            return;
        };
        let mut order: Vec<i64> = bases.to_vec();
        order.extend(ids.iter().copied().filter(|i| !bases.contains(i)));
        self.bases = bases.to_vec();
        self.scenario_set = store
            .run(baseline)
            .and_then(|r| store.baselines_of(&r.row.scenario))
            .unwrap_or_default();
        self.error = None;
        self.runs.clear();
        self.charts.clear();
        for id in &order {
            let loaded = store
                .run(*id)
                .and_then(|r| store.series(*id, r.info.keys.len()).map(|s| (r, s)));
            match loaded {
                Ok((run, series)) => {
                    self.charts.push((
                        format!("#{id} {}", run.row.name),
                        ChartData::of_run(&run.info, &series.ticks),
                    ));
                    if let Some(sum) = run.summary {
                        self.runs.push((*id, run.row.name, sum));
                    }
                }
                Err(e) => self.error = Some(format!("run #{id}: {e}")),
            }
        }
        self.spectra.clear();
        self.verdicts.clear();
        let candidates: Vec<i64> = order[bases.len()..].to_vec();
        if !self.report_on.is_some_and(|r| candidates.contains(&r)) {
            self.report_on = candidates.last().copied();
        }
        let names: Vec<(i64, String)> = order
            .iter()
            .zip(&self.charts)
            .map(|(id, (n, _))| (*id, n.clone()))
            .collect();
        // Spectra and verdicts both decode every histogram of every run: off the UI thread.
        self.pending = Some(super::in_background(db, ctx, move |store| {
            let spectra = names
                .into_iter()
                .filter_map(|(id, name)| {
                    let keys = store.run(id).ok()?.info.keys.len();
                    let mut acc = crate::metrics::Accumulator::new(keys);
                    store
                        .each_tick(id, 0, u32::MAX, crate::store::Histograms::Both, |t| {
                            acc.add(&t)
                        })
                        .ok()?;
                    Some((name, acc.total().latency))
                })
                .collect();
            let bases: Vec<i64> = order
                .iter()
                .copied()
                .filter(|i| !candidates.contains(i))
                .collect();
            let verdicts = candidates
                .iter()
                .filter_map(|c| crate::analysis::compare::compare_to_runs(store, &bases, *c).ok())
                .collect();
            (spectra, verdicts)
        }));
    }

    /// The (first) baseline run's id, when runs are compared.
    pub fn baseline(&self) -> Option<i64> {
        self.bases.first().copied()
    }

    /// Every compared run's id, the baseline first.
    pub fn ids(&self) -> Vec<i64> {
        self.runs.iter().map(|r| r.0).collect()
    }

    /// Whether the histograms and verdicts are still being computed.
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    /// Picks up the background results.
    pub fn poll(&mut self) {
        if let Some((spectra, verdicts)) = super::take_ready(&mut self.pending) {
            self.spectra = spectra;
            self.verdicts = verdicts;
        }
    }

    /// Forgets the comparison.
    pub fn clear(&mut self) {
        *self = CompareState {
            export_format: self.export_format,
            ..Default::default()
        };
    }
}

/// Draws the compare screen.
pub fn view(ui: &mut egui::Ui, s: &mut CompareState, msgs: &mut Vec<Msg>) {
    if let Some(e) = &s.error {
        ui.colored_label(super::theme::error(ui), e);
    }
    let Some(base) = s.baseline() else {
        ui.label(
            "Tick two or more runs on the Runs screen, then \"Compare\": the runs appear here \
             side by side, with a verdict on every change.",
        );
        if ui.button("Go to Runs").clicked() {
            msgs.push(Msg::Goto(super::Screen::Runs));
        }
        return;
    };
    let name_of = |id: i64| {
        s.runs
            .iter()
            .find(|r| r.0 == id)
            .map_or(format!("#{id}"), |r| format!("#{id} {}", r.1))
    };
    ui.horizontal_wrapped(|ui| {
        ui.heading(format!("Comparing {} runs", s.runs.len()));
        ui.separator();
        let label = ui.label("Baseline");
        let set_name = |set: &[i64]| {
            format!(
                "baseline runs {}",
                set.iter()
                    .map(|b| format!("#{b}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let shown = if s.bases.len() > 1 {
            set_name(&s.bases)
        } else {
            name_of(base)
        };
        egui::ComboBox::from_id_salt("compare_baseline")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                if s.scenario_set.len() > 1
                    && ui
                        .selectable_label(s.bases == s.scenario_set, set_name(&s.scenario_set))
                        .on_hover_text(
                            "the scenario's marked baseline runs: their spread is the run-to-run \
                             drift, as the CI gate judges",
                        )
                        .clicked()
                {
                    msgs.push(Msg::CompareBaseline(s.scenario_set.clone()));
                }
                for (id, name, _) in &s.runs {
                    let only = s.bases == [*id];
                    if ui.selectable_label(only, format!("#{id} {name}")).clicked() && !only {
                        msgs.push(Msg::CompareBaseline(vec![*id]));
                    }
                }
            })
            .response
            .labelled_by(label.id);
        ui.separator();
        if s.runs.len() > s.bases.len() + 1 {
            let label = ui.label("Report on");
            let candidate = s.report_on.unwrap_or(base);
            egui::ComboBox::from_id_salt("compare_report_on")
                .selected_text(name_of(candidate))
                .show_ui(ui, |ui| {
                    for (id, name, _) in s.runs.iter().skip(s.bases.len()) {
                        ui.selectable_value(&mut s.report_on, Some(*id), format!("#{id} {name}"));
                    }
                })
                .response
                .labelled_by(label.id);
        }
        egui::ComboBox::from_label("format")
            .selected_text(s.export_format.extension())
            .show_ui(ui, |ui| {
                for f in [crate::report::Format::Html, crate::report::Format::Markdown] {
                    ui.selectable_value(&mut s.export_format, f, f.extension());
                }
            });
        if let Some(candidate) = s.report_on
            && ui
                .button("Export comparison…")
                .on_hover_text(
                    "the candidate's report with its verdicts against the baseline and the \
                     overlaid spectrum, for a docs site",
                )
                .clicked()
        {
            msgs.push(Msg::ExportCompare(candidate, s.export_format));
        }
        if ui.button("Close").clicked() {
            msgs.push(Msg::CloseCompare);
        }
    });
    egui::ScrollArea::vertical()
        .id_salt("compare_screen")
        .show(ui, |ui| {
            ui.label(RichText::new("Verdicts").heading());
            if s.busy() {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("judging every change from the runs' histograms…");
                });
            }
            super::widgets::verdict_table(ui, &s.verdicts);
            ui.separator();
            ui.label(RichText::new("Per request").heading());
            ui.label(format!(
                "Changes are against the baseline, {}.",
                name_of(base)
            ));
            compare_table(ui, &s.runs, &s.bases);
            beside(ui, &s.runs, &s.bases);
            ui.separator();
            overlay_charts(ui, &s.charts, &s.spectra);
        });
}

/// One baseline run's phases and server side beside each candidate's (no verdict: they explain).
fn beside(ui: &mut egui::Ui, runs: &[(i64, String, Summary)], bases: &[i64]) {
    let [base] = bases else {
        return;
    };
    let Some((_, _, b)) = runs.iter().find(|r| r.0 == *base) else {
        return;
    };
    for (id, name, c) in runs.iter().filter(|r| r.0 != *base) {
        let rows = crate::analysis::compare::beside(b, c);
        if rows.is_empty() {
            continue;
        }
        ui.separator();
        ui.label(
            RichText::new(format!(
                "Where the time went: #{id} {name} beside the baseline"
            ))
            .heading(),
        );
        egui::Grid::new(format!("beside_{id}"))
            .striped(true)
            .show(ui, |ui| {
                for c in crate::analysis::compare::BESIDE_COLUMNS {
                    ui.strong(c);
                }
                ui.end_row();
                for row in &rows {
                    for cell in row {
                        ui.label(cell);
                    }
                    ui.end_row();
                }
            });
    }
}

/// The compared runs side by side, per request: rate, p50, p95, p99, p99.9, max and error rate
/// for each run, with the absolute and relative change against the first run (the baseline).
pub fn compare_table(ui: &mut egui::Ui, runs: &[(i64, String, Summary)], bases: &[i64]) {
    let Some((_, _, base)) = runs.first() else {
        return;
    };
    let mut names: Vec<(String, String)> = base
        .endpoints
        .iter()
        .map(|e| (e.request.clone(), e.target.clone()))
        .collect();
    names.push(("*".into(), "*".into()));
    // Journeys' whole iterations after the total, as they are never part of it.
    let journey = crate::metrics::JOURNEY_TARGET;
    names.extend(
        base.journeys
            .iter()
            .map(|j| (j.request.clone(), journey.into())),
    );
    let find =
        |s: &Summary, (r, t): &(String, String)| -> Option<crate::metrics::EndpointSummary> {
            let listed = if t == journey {
                &s.journeys
            } else {
                &s.endpoints
            };
            if r == "*" {
                Some(s.total.clone())
            } else {
                listed
                    .iter()
                    .find(|e| &e.request == r && &e.target == t)
                    .cloned()
            }
        };
    egui::ScrollArea::horizontal()
        .id_salt("compare_table")
        .show(ui, |ui| {
            egui::Grid::new("compare").striped(true).show(ui, |ui| {
                for h in [
                    "request", "run", "rate", "p50", "p95", "p99", "p99.9", "max", "errors",
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for key in &names {
                    let Some(b) = find(base, key) else { continue };
                    for (id, name, s) in runs {
                        let Some(e) = find(s, key) else { continue };
                        let is_base = std::ptr::eq(s, base);
                        let ms = |v: f64, bv: f64| {
                            let text = format::micros(v * 1000.0);
                            if is_base || bv <= 0.0 {
                                text
                            } else {
                                format!(
                                    "{text} ({:+.2} ms, {:+.0}%)",
                                    v - bv,
                                    (v / bv - 1.0) * 100.0
                                )
                            }
                        };
                        let row = if key.0 == "*" {
                            "*".to_string()
                        } else {
                            format!("{}@{}", key.0, key.1)
                        };
                        ui.label(crate::analysis::compare::shown(&row));
                        ui.label(format!(
                            "#{id} {name}{}",
                            if bases.contains(id) {
                                " (baseline)"
                            } else {
                                ""
                            }
                        ));
                        ui.label(if is_base || b.rate <= 0.0 {
                            format::rate(e.rate)
                        } else {
                            format!(
                                "{} ({:+.0}%)",
                                format::rate(e.rate),
                                (e.rate / b.rate - 1.0) * 100.0
                            )
                        });
                        let (l, bl) = (&e.latency, &b.latency);
                        for (v, bv) in [
                            (l.p50_ms, bl.p50_ms),
                            (l.p95_ms, bl.p95_ms),
                            (l.p99_ms, bl.p99_ms),
                            (l.p99_9_ms, bl.p99_9_ms),
                            (l.max_ms, bl.max_ms),
                        ] {
                            ui.label(ms(v, bv));
                        }
                        ui.label(if is_base {
                            format::percent(e.error_rate)
                        } else {
                            format!(
                                "{} ({:+.2} pt)",
                                format::percent(e.error_rate),
                                (e.error_rate - b.error_rate) * 100.0
                            )
                        });
                        ui.end_row();
                    }
                }
            });
        });
}

/// The compared runs overlaid: p95 and rate over elapsed time, and their percentile spectra.
pub fn overlay_charts(
    ui: &mut egui::Ui,
    runs: &[(String, ChartData)],
    spectra: &[(String, hdrhistogram::Histogram<u64>)],
) {
    use egui_plot::{Line, PlotPoints};
    if runs.is_empty() {
        return;
    }
    let line = |name: &str, d: &ChartData, ys: &[f64]| {
        let pts: Vec<[f64; 2]> = d.t.iter().zip(ys).map(|(t, y)| [*t, *y]).collect();
        Line::new(name.to_string(), PlotPoints::from(pts))
    };
    // Ids of these runs in this order: a zoom on one comparison is not carried to the next.
    let key: String = runs
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join("|");
    let p95_top = charts::top(runs.iter().map(|(_, d)| &d.latency[1]));
    let rate_top = charts::top(runs.iter().map(|(_, d)| &d.rate));
    ui.columns(2, |cols| {
        cols[0].label("p95 latency over elapsed time");
        charts::base_plot(&format!("compare_p95 {key}"), 260.0, "p95", p95_top)
            .y_axis_formatter(|m, _| format::micros(m.value * 1000.0))
            .show(&mut cols[0], |p| {
                for (name, d) in runs {
                    p.line(line(name, d, &d.latency[1]));
                }
            });
        cols[1].label("Successful responses per second");
        charts::base_plot(
            &format!("compare_rate {key}"),
            260.0,
            "requests/s",
            rate_top,
        )
        .y_axis_formatter(|m, _| format::rate(m.value))
        .show(&mut cols[1], |p| {
            for (name, d) in runs {
                p.line(line(name, d, &d.rate));
            }
        });
    });
    if spectra.is_empty() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("loading the runs' histograms…");
        });
    } else {
        let series: Vec<(&str, &hdrhistogram::Histogram<u64>)> =
            spectra.iter().map(|(n, h)| (n.as_str(), h)).collect();
        charts::spectrum_chart(ui, &series, &format!("compare_spectrum {key}"), 300.0);
    }
}
