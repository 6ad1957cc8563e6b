//! Widgets more than one screen draws: threshold badges, the per-request table, verdicts, sorting
//! column headers.

use egui::{Color32, RichText};

use crate::format;
use crate::metrics::{Key, Stats};
use crate::thresholds::ThresholdResult;

/// Threshold badges: green while a threshold holds, red the moment it breaks; before a live
/// run's first measured second (`measuring` false: the warm-up), grey "WAIT" rather than a red
/// failure that is not one yet.
pub fn badges(ui: &mut egui::Ui, results: &[ThresholdResult], measuring: bool) {
    if results.is_empty() {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        for r in results {
            let waiting = !measuring && r.actual.is_none();
            let (fill, mark) = if waiting {
                (Color32::from_rgb(90, 90, 90), "WAIT")
            } else if r.passed {
                (Color32::from_rgb(30, 120, 60), "PASS")
            } else {
                (Color32::from_rgb(170, 40, 40), "FAIL")
            };
            let scope = r.scope_name().map(|n| format!("{n}: ")).unwrap_or_default();
            egui::Frame::new()
                .fill(fill)
                .corner_radius(4.0)
                .inner_margin(egui::Margin::symmetric(6, 2))
                .show(ui, |ui| {
                    ui.label(
                        RichText::new(format!(
                            "{mark} {scope}{} ({})",
                            r.expression,
                            if waiting {
                                "waiting for the first measured second"
                            } else {
                                &r.actual_text
                            }
                        ))
                        .color(Color32::WHITE),
                    )
                });
        }
    });
}

/// Per-request figures: rate, p50, p95, p99, max, first byte, new connections, (for streamed
/// answers) first event and event gap, errors, status codes.
/// A click on a request's name asks for every chart to show that request alone (a click on
/// the one shown, for all again): returns the choice when one was clicked.
pub fn request_table(
    ui: &mut egui::Ui,
    keys: &[Key],
    totals: &[&Stats],
    seconds: f64,
    shown: Option<usize>,
) -> Option<Option<usize>> {
    use egui_extras::{Column, TableBuilder};
    if keys.is_empty() {
        return None;
    }
    let mut clicked = None;
    ui.separator();
    // Journeys' rows (whole iterations) have steps on their own targets: they do not count.
    let mut requests = keys.iter().filter(|k| !k.is_journey());
    let first = requests.next().map(|k| k.target.clone());
    let single_target = requests.all(|k| Some(&k.target) == first.as_ref());
    use crate::metrics::Phase;
    // Streamed answers add their time to first event and their gaps between events.
    let streams = totals
        .iter()
        .any(|s| !s.phases.of(Phase::FirstEvent).is_empty());
    let mut columns = vec![
        "request",
        "rate",
        "p50",
        "p95",
        "p99",
        "max",
        "first byte p95",
        "new conns/s",
    ];
    if streams {
        columns.extend(["first event p95", "event gap p99"]);
    }
    columns.extend(["errors", "status codes"]);
    TableBuilder::new(ui)
        .id_salt("request_table")
        // The screen scrolls; a second scroll area inside it would catch the wheel and hide rows.
        .vscroll(false)
        .striped(true)
        .column(Column::auto().at_least(140.0))
        .columns(Column::auto().at_least(70.0), columns.len() - 2)
        .column(Column::remainder())
        .header(20.0, |mut h| {
            for t in &columns {
                h.col(|ui| {
                    ui.strong(*t);
                });
            }
        })
        .body(|mut body| {
            for (i, (k, st)) in keys.iter().zip(totals).enumerate() {
                // A split's `other` part that nothing went to is no row.
                let other = format!(": {}]", crate::scenario::SPLIT_OTHER);
                if st.requests == 0 && k.target.ends_with(&other) {
                    continue;
                }
                body.row(18.0, |mut row| {
                    let q = |p: f64| {
                        if st.latency.is_empty() {
                            "-".to_string()
                        } else {
                            format::micros(st.latency.value_at_quantile(p) as f64)
                        }
                    };
                    let phase_q = |phase: Phase, p: f64| match st.phases.of(phase) {
                        h if h.is_empty() => "-".to_string(),
                        h => format::micros(h.value_at_quantile(p) as f64),
                    };
                    let name = if k.is_journey() {
                        format!("{} (journey)", k.request)
                    } else if single_target {
                        k.request.clone()
                    } else {
                        format!("{} @ {}", k.request, k.target)
                    };
                    let rate = if seconds > 0.0 {
                        st.requests as f64 / seconds
                    } else {
                        0.0
                    };
                    let mut cells = vec![
                        name,
                        format::rate(rate),
                        q(0.5),
                        q(0.95),
                        q(0.99),
                        if st.latency.is_empty() {
                            "-".into()
                        } else {
                            format::micros(st.latency.max() as f64)
                        },
                        // Where the time goes: the server's wait, and connection churn.
                        phase_q(Phase::FirstByte, 0.95),
                        if seconds > 0.0 && !st.phases.is_empty() {
                            format::plain(
                                (st.phases.new_conns as f64 / seconds * 10.0).round() / 10.0,
                            )
                        } else {
                            "-".into()
                        },
                    ];
                    if streams {
                        cells.push(phase_q(Phase::FirstEvent, 0.95));
                        cells.push(phase_q(Phase::EventGap, 0.99));
                    }
                    cells.push(format!(
                        "{} ({})",
                        st.errors,
                        format::percent(st.error_rate())
                    ));
                    cells.push(
                        st.status
                            .iter()
                            .map(|(c, n)| format!("{c}×{n}"))
                            .collect::<Vec<_>>()
                            .join(" "),
                    );
                    let mut cells = cells.into_iter();
                    let name = cells.next().unwrap_or_default();
                    row.col(|ui| {
                        let on = shown == Some(i);
                        if ui
                            .selectable_label(on, name)
                            .on_hover_text(if on {
                                "click again for every request"
                            } else {
                                "show only this request in every chart"
                            })
                            .clicked()
                        {
                            clicked = Some(if on { None } else { Some(i) });
                        }
                    });
                    for c in cells {
                        row.col(|ui| {
                            ui.label(c);
                        });
                    }
                });
            }
        });
    clicked
}

/// Each candidate's verdicts against the baseline, with their 95 % intervals.
pub fn verdict_table(ui: &mut egui::Ui, comparisons: &[crate::analysis::compare::Comparison]) {
    use crate::analysis::compare::Verdict;
    for c in comparisons {
        ui.separator();
        match &c.benchmark {
            Some(name) => ui.strong(format!(
                "Run #{} against \"{name}\"{}",
                c.candidate,
                if c.regressed {
                    ": significantly worse"
                } else {
                    ""
                }
            )),
            None if c.baselines.len() > 1 => ui.strong(format!(
                "#{} against baseline runs {}",
                c.candidate,
                c.baselines
                    .iter()
                    .map(|b| format!("#{b}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            None => ui.strong(format!("#{} against baseline #{}", c.candidate, c.baseline)),
        };
        // The verdict first, as the reports give it; the table is the evidence.
        let colour = if !c.regressions().is_empty() {
            super::theme::bad(ui)
        } else if c.inconclusive {
            super::theme::warn(ui)
        } else {
            super::theme::good(ui)
        };
        ui.colored_label(colour, RichText::new(c.verdict_line()).strong());
        egui::Grid::new(("verdicts", c.candidate))
            .striped(true)
            .show(ui, |ui| {
                for h in [
                    "request",
                    "metric",
                    "baseline",
                    "this run",
                    "change",
                    "95% interval",
                    "verdict",
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for (name, changes) in &c.requests {
                    for m in changes {
                        ui.label(crate::analysis::compare::shown(name));
                        ui.label(&m.metric);
                        // The figures themselves beside the change: +28.8 % says little alone.
                        ui.label(m.format_value(m.baseline));
                        ui.label(m.format_value(m.candidate));
                        ui.label(m.format_change(m.relative));
                        ui.label(m.format_interval());
                        match m.verdict {
                            Verdict::Regressed => {
                                ui.colored_label(super::theme::bad(ui), "regressed")
                            }
                            Verdict::Improved => {
                                ui.colored_label(super::theme::good(ui), "improved")
                            }
                            v => ui.label(v.as_str()),
                        };
                        ui.end_row();
                    }
                }
            });
        for note in c.notes.iter().cloned().chain(c.short_of_data()) {
            ui.weak(note);
        }
    }
}

/// A column header that sorts (`Some(descending)` when the table is sorted by it): the direction
/// is a painted triangle, since the bundled fonts have no arrow glyphs (they drew a box); screen
/// readers hear it in the button's name.
pub fn sort_header(ui: &mut egui::Ui, label: &str, sorted: Option<bool>) -> egui::Response {
    // Room for the triangle after the label.
    let text = if sorted.is_some() {
        format!("{label}    ")
    } else {
        label.to_string()
    };
    let r = ui.button(RichText::new(text).strong());
    let Some(descending) = sorted else {
        return r;
    };
    let c = egui::pos2(
        r.rect.right() - ui.spacing().button_padding.x - 4.0,
        r.rect.center().y,
    );
    let (w, h) = (4.0, 2.5);
    let (tip, base) = if descending { (h, -h) } else { (-h, h) };
    let points = vec![
        c + egui::vec2(-w, base),
        c + egui::vec2(w, base),
        c + egui::vec2(0.0, tip),
    ];
    let colour = ui.style().interact(&r).text_color();
    ui.painter().add(egui::Shape::convex_polygon(
        points,
        colour,
        egui::Stroke::NONE,
    ));
    let order = if descending {
        "descending"
    } else {
        "ascending"
    };
    r.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Button, true, format!("{label}, {order}"))
    });
    r
}
