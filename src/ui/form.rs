//! The scenario form: every part of a scenario as fields and list editors over its TOML text.

use egui::RichText;
use toml_edit::Item;

use super::Msg;
use super::edit::{self, BodyKind, CheckKind, CheckPart, Edit, Scope, ThresholdPart};
use super::scenarios::Editor;

/// A value as text for a field: strings without quotes, anything else as TOML without comments.
fn value_text(v: &toml_edit::Value) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => {
            let mut bare = v.clone();
            bare.decor_mut().clear();
            bare.to_string().trim().to_string()
        }
    }
}

fn item_text(item: Option<&Item>) -> String {
    item.and_then(Item::as_value)
        .map(value_text)
        .unwrap_or_default()
}

/// A one-line text field bound to a value of the document; emits an edit when the user changes it.
fn field(
    ui: &mut egui::Ui,
    label: &str,
    current: String,
    width: f32,
    msgs: &mut Vec<Msg>,
    edit: impl FnOnce(String) -> Edit,
) {
    hinted_field(ui, (label, ""), current, width, msgs, edit);
}

/// A [`field`] that says in grey what leaving it empty means (a request's target: every target).
fn hinted_field(
    ui: &mut egui::Ui,
    (label, hint): (&str, &str),
    current: String,
    width: f32,
    msgs: &mut Vec<Msg>,
    edit: impl FnOnce(String) -> Edit,
) {
    let l = ui.label(label);
    let id = ui.make_persistent_id(("field", label));
    // A fixed size: in a grid, a text field's desired width gives way to the column's width
    // remembered from earlier frames, which cut a target's URL to its first letters.
    let changed = drafted(ui, id, &current, |ui, text| {
        ui.add_sized(
            [width, ui.spacing().interact_size.y],
            egui::TextEdit::singleline(text).id(id).hint_text(hint),
        )
        .labelled_by(l.id)
    });
    if let Some(text) = changed {
        msgs.push(Msg::Edit(edit(text)));
    }
}

/// A text field over a value that lives in the TOML document: while it has focus it shows what
/// is being typed (its draft), not the document's value re-read each frame, so a separator
/// typed before the next item (`202,` on the way to `202,204`; a new line before the next
/// threshold) is not eaten by the round trip. Returns the text when it changed.
pub(super) fn drafted(
    ui: &mut egui::Ui,
    id: egui::Id,
    current: &str,
    widget: impl FnOnce(&mut egui::Ui, &mut String) -> egui::Response,
) -> Option<String> {
    let draft_id = id.with("draft");
    let mut text = ui
        .data(|d| d.get_temp::<String>(draft_id))
        .unwrap_or_else(|| current.to_string());
    let r = widget(ui, &mut text);
    if r.has_focus() {
        ui.data_mut(|d| d.insert_temp(draft_id, text.clone()));
    } else {
        ui.data_mut(|d| d.remove::<String>(draft_id));
    }
    (r.changed() && text != current).then_some(text)
}

/// A text field that is not part of the document yet (a new row's name or value), kept in the
/// window's memory under `id`; returns its text when Enter or the button beside it sends it.
fn adder(ui: &mut egui::Ui, id: egui::Id, hint: &str, button: &str, width: f32) -> Option<String> {
    let mut text: String = ui.data_mut(|d| d.get_temp(id).unwrap_or_default());
    let r = ui.add(
        egui::TextEdit::singleline(&mut text)
            .hint_text(hint)
            .desired_width(width),
    );
    let entered = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    let b = ui.button(button);
    // The field is named by its button for assistive tools (and tests): "Add header".
    let r = r.labelled_by(b.id);
    let clicked = b.clicked();
    let sent = (entered || clicked) && !text.trim().is_empty();
    let out = sent.then(|| text.trim().to_string());
    if sent {
        text.clear();
        if entered {
            // Straight on to the next row, as in a list typed line by line.
            r.request_focus();
        }
    }
    ui.data_mut(|d| d.insert_temp(id, text));
    out
}

/// Name/value rows (headers, query parameters) with remove buttons and an add row.
#[allow(clippy::too_many_arguments)]
fn pairs(
    ui: &mut egui::Ui,
    salt: (&str, usize),
    rows: Vec<(String, String)>,
    noun: &str,
    msgs: &mut Vec<Msg>,
    set: impl Fn(String, String) -> Edit,
    add: impl Fn(String) -> Edit,
    remove: impl Fn(String) -> Edit,
) {
    egui::Grid::new(salt).num_columns(3).show(ui, |ui| {
        for (k, v) in rows {
            let k2 = k.clone();
            field(ui, &k, v, 260.0, msgs, |v| set(k2, v));
            if ui
                .small_button("remove")
                .on_hover_text(format!("remove this {noun}"))
                .clicked()
            {
                msgs.push(Msg::Edit(remove(k)));
            }
            ui.end_row();
        }
    });
    ui.horizontal(|ui| {
        let id = ui.make_persistent_id(("new", salt));
        if let Some(name) = adder(
            ui,
            id,
            &format!("{noun} name"),
            &format!("Add {noun}"),
            160.0,
        ) {
            msgs.push(Msg::Edit(add(name)));
        }
    });
}

/// A map's entries as text rows.
fn map_rows(item: Option<&Item>) -> Vec<(String, String)> {
    item.and_then(Item::as_inline_table)
        .map(|h| {
            h.iter()
                .map(|(k, v)| (k.to_string(), value_text(v)))
                .collect()
        })
        .unwrap_or_default()
}

/// A list of thresholds: one row each (expression, "stops the run", after), an add row.
fn threshold_list(ui: &mut egui::Ui, list: Option<&Item>, scope: Scope, msgs: &mut Vec<Msg>) {
    let Some(arr) = list.map(|l| l.as_array()) else {
        return threshold_add(ui, scope, msgs);
    };
    let Some(arr) = arr else {
        ui.label(
            "These thresholds are not a list of strings or tables: edit them on the TOML face.",
        );
        return;
    };
    let prefix = match scope {
        Scope::Scenario => "Threshold",
        Scope::Request(_) => "Request threshold",
        Scope::Journey(_) => "Journey threshold",
    };
    egui::Grid::new(("thresholds", scope_salt(scope)))
        .num_columns(5)
        .show(ui, |ui| {
            for (i, v) in arr.iter().enumerate() {
                let (text, abort, after) = edit::threshold_parts(v);
                field(ui, &format!("{prefix} {}", i + 1), text, 220.0, msgs, |t| {
                    Edit::Threshold(scope, i, ThresholdPart::Text(t))
                });
                let mut stop = abort;
                if ui
                    .checkbox(&mut stop, "stops the run")
                    .on_hover_text(
                        "when it fails during the run (after the time given), the run ends at once \
                         and the gate fails: a service falling over does not take the whole test",
                    )
                    .changed()
                {
                    msgs.push(Msg::Edit(Edit::Threshold(
                        scope,
                        i,
                        ThresholdPart::Abort(stop),
                    )));
                }
                if abort {
                    field(
                        ui,
                        &format!("{prefix} {} after", i + 1),
                        after,
                        60.0,
                        msgs,
                        |a| Edit::Threshold(scope, i, ThresholdPart::After(a)),
                    );
                } else {
                    ui.label("");
                    ui.label("");
                }
                if ui.small_button("remove").clicked() {
                    msgs.push(Msg::Edit(Edit::RemoveThreshold(scope, i)));
                }
                ui.end_row();
            }
        });
    threshold_add(ui, scope, msgs);
}

fn threshold_add(ui: &mut egui::Ui, scope: Scope, msgs: &mut Vec<Msg>) {
    ui.horizontal(|ui| {
        let id = ui.make_persistent_id(("new_threshold", scope_salt(scope)));
        if let Some(t) = adder(
            ui,
            id,
            "p95 < 200ms, error_rate < 0.1%, rate > 900/s",
            "Add threshold",
            280.0,
        ) {
            msgs.push(Msg::Edit(Edit::AddThreshold(scope, t)));
        }
    });
}

fn scope_salt(scope: Scope) -> (u8, usize) {
    match scope {
        Scope::Scenario => (0, 0),
        Scope::Request(i) => (1, i),
        Scope::Journey(j) => (2, j),
    }
}

/// A request's checks: one row each, by kind, and a button per kind to add one.
fn check_list(ui: &mut egui::Ui, i: usize, list: Option<&Item>, msgs: &mut Vec<Msg>) {
    let tables: Vec<&toml_edit::InlineTable> = match list.map(Item::as_array) {
        None => Vec::new(),
        Some(Some(a)) if a.iter().all(|v| v.as_inline_table().is_some()) => {
            a.iter().filter_map(|v| v.as_inline_table()).collect()
        }
        Some(_) => {
            ui.label("These checks are not written as a list of { … } tables: edit them on the TOML face.");
            return;
        }
    };
    egui::Grid::new(("checks", i))
        .num_columns(3)
        .show(ui, |ui| {
            for (c, t) in tables.iter().enumerate() {
                let kind = CheckKind::of(t);
                let label = CheckKind::ALL
                    .iter()
                    .find(|(k, _)| Some(*k) == kind)
                    .map_or("check", |(_, l)| l);
                ui.label(label);
                ui.horizontal(|ui| match kind {
                    Some(CheckKind::Status) => {
                        let codes = edit::status_codes(t);
                        for (at, code) in codes.iter().enumerate() {
                            let r = ui
                                .add_enabled(
                                    codes.len() > 1,
                                    egui::Button::new(format!("{code} x")),
                                )
                                .on_hover_text("remove this status code");
                            if r.clicked() {
                                msgs.push(Msg::Edit(Edit::Check(i, c, CheckPart::RemoveCode(at))));
                            }
                        }
                        let id = ui.make_persistent_id(("new_code", i, c));
                        if let Some(code) = adder(ui, id, "204", "Add status", 50.0) {
                            match code.parse::<u16>() {
                                Ok(n) if (100..=599).contains(&n) => {
                                    ui.data_mut(|d| d.remove::<String>(id.with("error")));
                                    msgs.push(Msg::Edit(Edit::Check(i, c, CheckPart::AddCode(n))))
                                }
                                _ => {
                                    let e = format!("{code}: not a status code (100–599)");
                                    ui.data_mut(|d| d.insert_temp(id.with("error"), e));
                                }
                            }
                        }
                        if let Some(e) = ui.data(|d| d.get_temp::<String>(id.with("error"))) {
                            ui.colored_label(super::theme::error(ui), e);
                        }
                    }
                    Some(CheckKind::Json) => {
                        let path = t.get("json").map(value_text).unwrap_or_default();
                        field(
                            ui,
                            &format!("JSON field {}", c + 1),
                            path,
                            140.0,
                            msgs,
                            |v| Edit::Check(i, c, CheckPart::Text(v)),
                        );
                        let equals = t
                            .get("equals")
                            .map(|v| edit::to_json(v).to_string())
                            .unwrap_or_default();
                        field(ui, &format!("equals {}", c + 1), equals, 140.0, msgs, |v| {
                            Edit::Check(i, c, CheckPart::Equals(v))
                        });
                    }
                    Some(k) => {
                        let text = t.get(k.key()).map(value_text).unwrap_or_default();
                        let hint = if k == CheckKind::Latency {
                            " (< 100ms)"
                        } else {
                            ""
                        };
                        field(
                            ui,
                            &format!("{label} {}{hint}", c + 1),
                            text,
                            240.0,
                            msgs,
                            |v| Edit::Check(i, c, CheckPart::Text(v)),
                        );
                    }
                    None => {
                        ui.label(value_text(&toml_edit::Value::InlineTable((*t).clone())));
                    }
                });
                if ui
                    .small_button("remove")
                    .on_hover_text("remove this check")
                    .clicked()
                {
                    msgs.push(Msg::Edit(Edit::RemoveCheck(i, c)));
                }
                ui.end_row();
            }
        });
    ui.horizontal(|ui| {
        ui.label("Add a check:");
        for (k, label) in CheckKind::ALL {
            if ui.small_button(format!("+ {label}")).clicked() {
                msgs.push(Msg::Edit(Edit::AddCheck(i, k)));
            }
        }
    });
}

/// What the request sends: a choice of nothing, text or JSON, and the editor for it.
fn body(ui: &mut egui::Ui, i: usize, r: &toml_edit::Table, msgs: &mut Vec<Msg>) {
    let kind = if r.contains_key("json") {
        BodyKind::Json
    } else if r.contains_key("body") {
        BodyKind::Text
    } else {
        BodyKind::None
    };
    ui.horizontal(|ui| {
        ui.label("Body");
        for (k, label) in [
            (BodyKind::None, "none"),
            (BodyKind::Text, "text"),
            (BodyKind::Json, "JSON"),
        ] {
            if ui.selectable_label(kind == k, label).clicked() && kind != k {
                msgs.push(Msg::Edit(Edit::BodyKind(i, k)));
            }
        }
    });
    match kind {
        BodyKind::None => {}
        BodyKind::Text => {
            let label = ui.label("Body text");
            let current = item_text(r.get("body"));
            let id = ui.make_persistent_id(("body", i));
            let changed = drafted(ui, id, &current, |ui, text| {
                ui.add(
                    egui::TextEdit::multiline(text)
                        .id(id)
                        .desired_rows(2)
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(label.id)
            });
            if let Some(b) = changed {
                msgs.push(Msg::Edit(Edit::Request(i, "body", b)));
            }
        }
        BodyKind::Json => {
            let current = r
                .get("json")
                .and_then(Item::as_value)
                .map(|v| serde_json::to_string_pretty(&edit::to_json(v)).unwrap_or_default())
                .unwrap_or_default();
            let label = ui.label("JSON body (templates such as ${uuid} work inside strings)");
            let id = ui.make_persistent_id(("json", i));
            let changed = drafted(ui, id, &current, |ui, text| {
                ui.add(
                    egui::TextEdit::multiline(text)
                        .id(id)
                        .code_editor()
                        .desired_rows(4)
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(label.id)
            });
            let error_id = id.with("error");
            if let Some(text) = changed {
                let checked = serde_json::from_str::<serde_json::Value>(&text)
                    .map_err(|e| format!("line {}, column {}: {e}", e.line(), e.column()))
                    .and_then(|j| edit::from_json(&j).map(|_| ()));
                match checked {
                    Ok(()) => {
                        ui.data_mut(|d| d.remove::<String>(error_id));
                        msgs.push(Msg::Edit(Edit::JsonBody(i, text)));
                    }
                    Err(e) => {
                        ui.data_mut(|d| d.insert_temp(error_id, e));
                    }
                }
            }
            // One line kept for the JSON's error, so the form below does not jump as it comes
            // and goes while typing.
            let error: Option<String> = ui.data(|d| d.get_temp(error_id));
            ui.colored_label(
                super::theme::error(ui),
                error.map_or(String::new(), |e| {
                    format!("not sent until it is valid JSON: {e}")
                }),
            );
        }
    }
}

/// Think time as two fields, least and most (a fixed pause has both equal).
fn think_time(ui: &mut egui::Ui, load: Option<&dyn toml_edit::TableLike>, msgs: &mut Vec<Msg>) {
    let (min, max) = match load
        .and_then(|l| l.get("think_time"))
        .and_then(Item::as_value)
    {
        Some(toml_edit::Value::InlineTable(t)) => (
            t.get("min").map(value_text).unwrap_or_default(),
            t.get("max").map(value_text).unwrap_or_default(),
        ),
        Some(v) => (value_text(v), value_text(v)),
        None => (String::new(), String::new()),
    };
    let (min2, max2) = (min.clone(), max.clone());
    field(ui, "from", min, 80.0, msgs, move |v| {
        Edit::ThinkTime(v, max2)
    });
    field(ui, "to", max, 80.0, msgs, move |v| Edit::ThinkTime(min2, v));
}

/// The scenario's journeys: each one's name and its steps in order, every step a request (the
/// same editor as the mix's) with its pause and its extract rules; steps move up and down.
fn journeys(ui: &mut egui::Ui, doc: &toml_edit::DocumentMut, msgs: &mut Vec<Msg>) {
    use super::edit::{EXTRACT_KINDS, step_index};
    let js = doc.get("journeys").and_then(Item::as_array_of_tables);
    // Remembered apart for scenarios with and without journeys: one without (opened first)
    // must not leave the header closed on one that has them.
    egui::CollapsingHeader::new("Journeys")
        .id_salt(("journeys", js.is_some()))
        .default_open(js.is_some())
        .show(ui, |ui| {
            ui.weak("Steps run in order as one iteration; values a step extracts are ${vars.NAME} after it.");
            for (j, jt) in js.into_iter().flat_map(|a| a.iter()).enumerate() {
                field(ui, "Journey", item_text(jt.get("name")), 240.0, msgs, move |v| {
                    Edit::JourneyName(j, v)
                });
                let steps = jt.get("steps").and_then(Item::as_array_of_tables);
                let n = steps.map_or(0, |a| a.len());
                for (k, st) in steps.into_iter().flat_map(|a| a.iter()).enumerate() {
                    let i = step_index(j, k);
                    let title = format!("{}. {}", k + 1, item_text(st.get("name")));
                    egui::CollapsingHeader::new(title)
                        .id_salt(("step", j, k))
                        .default_open(false)
                        .show(ui, |ui| {
                            ui.horizontal(|ui| {
                                if ui.add_enabled(k > 0, egui::Button::new("Move up").small()).clicked() {
                                    msgs.push(Msg::Edit(Edit::MoveStep(i, true)));
                                }
                                if ui.add_enabled(k + 1 < n, egui::Button::new("Move down").small()).clicked() {
                                    msgs.push(Msg::Edit(Edit::MoveStep(i, false)));
                                }
                                field(ui, "Think time", item_text(st.get("think_time")), 80.0, msgs, move |v| {
                                    Edit::Request(i, "think_time", v)
                                });
                            });
                            ui.label(RichText::new("Extract").strong());
                            let rules = st.get("extract").and_then(Item::as_array);
                            egui::Grid::new(("extract", j, k)).show(ui, |ui| {
                                for (e, rule) in rules.into_iter().flatten().enumerate() {
                                    let Some(t) = rule.as_inline_table() else { continue };
                                    let text = |key: &str| t.get(key).and_then(|v| v.as_str()).unwrap_or("").to_string();
                                    field(ui, "var", text("var"), 100.0, msgs, move |v| Edit::Extract(i, e, "var", v));
                                    let kind = EXTRACT_KINDS.iter().copied().find(|k| t.contains_key(k)).unwrap_or("json");
                                    egui::ComboBox::new(("extract_kind", j, k, e), "source")
                                        .selected_text(kind)
                                        .show_ui(ui, |ui| {
                                            for choice in EXTRACT_KINDS {
                                                if ui.selectable_label(choice == kind, choice).clicked() && choice != kind {
                                                    msgs.push(Msg::Edit(Edit::ExtractKind(i, e, choice)));
                                                }
                                            }
                                        });
                                    field(ui, "from", text(kind), 200.0, msgs, move |v| Edit::Extract(i, e, kind, v));
                                    if ui.small_button("remove").clicked() {
                                        msgs.push(Msg::Edit(Edit::RemoveExtract(i, e)));
                                    }
                                    ui.end_row();
                                }
                            });
                            if ui.small_button("Add extract").clicked() {
                                msgs.push(Msg::Edit(Edit::AddExtract(i)));
                            }
                            request(ui, i, st, msgs);
                        });
                }
                if ui.button("Add step").clicked() {
                    msgs.push(Msg::Edit(Edit::AddStep(j)));
                }
                ui.label(RichText::new("This journey's thresholds (its whole iterations)").strong());
                threshold_list(ui, jt.get("thresholds"), Scope::Journey(j), msgs);
                ui.separator();
            }
            if ui.button("Add journey").clicked() {
                msgs.push(Msg::Edit(Edit::AddJourney));
            }
        });
}

/// The form face: fields for everything, list editors for every list.
pub(super) fn form_face(ui: &mut egui::Ui, ed: &Editor, msgs: &mut Vec<Msg>) {
    let Some(doc) = ed.doc.as_ref() else {
        ui.colored_label(
            super::theme::error(ui),
            "The TOML does not parse; fix it on the TOML face.",
        );
        return;
    };
    egui::ScrollArea::vertical().show(ui, |ui| {
        egui::Grid::new("top_fields").num_columns(2).show(ui, |ui| {
            for (key, label) in [
                ("name", "Name"),
                ("description", "Description"),
                ("duration", "Duration"),
                ("warmup", "Warm-up"),
                ("timeout", "Timeout"),
            ] {
                field(ui, label, item_text(doc.get(key)), 320.0, msgs, |v| {
                    Edit::Top(key, v)
                });
                ui.end_row();
            }
        });
        egui::CollapsingHeader::new("Targets")
            .default_open(true)
            .show(ui, |ui| {
                if let Some(t) = doc.get("targets").and_then(Item::as_table_like) {
                    let names: Vec<String> = t.iter().map(|(k, _)| k.to_string()).collect();
                    egui::Grid::new("targets").num_columns(3).show(ui, |ui| {
                        for n in names {
                            let url = item_text(t.get(&n));
                            let n2 = n.clone();
                            field(ui, &n, url, 320.0, msgs, move |v| Edit::TargetUrl(n2, v));
                            if ui.small_button("remove").clicked() {
                                msgs.push(Msg::Edit(Edit::RemoveTarget(n)));
                            }
                            ui.end_row();
                        }
                    });
                }
                if ui.button("Add target").clicked() {
                    msgs.push(Msg::Edit(Edit::AddTarget));
                }
            });
        load_section(ui, ed, doc, msgs);
        egui::CollapsingHeader::new("Requests")
            .default_open(true)
            .show(ui, |ui| {
                let reqs = doc.get("requests").and_then(Item::as_array_of_tables);
                for (i, r) in reqs.into_iter().flat_map(|a| a.iter()).enumerate() {
                    let title = format!("{}. {}", i + 1, item_text(r.get("name")));
                    egui::CollapsingHeader::new(title)
                        .id_salt(("request", i))
                        .default_open(i == 0)
                        .show(ui, |ui| request(ui, i, r, msgs));
                }
                if ui.button("Add request").clicked() {
                    msgs.push(Msg::Edit(Edit::AddRequest));
                }
            });
        journeys(ui, doc, msgs);
        egui::CollapsingHeader::new("Thresholds")
            .default_open(true)
            .show(ui, |ui| {
                ui.weak("Over every request together; a request's own are under the request.");
                threshold_list(ui, doc.get("thresholds"), Scope::Scenario, msgs);
            });
    });
}

fn request(ui: &mut egui::Ui, i: usize, r: &toml_edit::Table, msgs: &mut Vec<Msg>) {
    egui::Grid::new(("request_fields", i))
        .num_columns(2)
        .show(ui, |ui| {
            for (key, label, hint) in [
                ("name", "Request name", ""),
                ("method", "Method", "GET"),
                ("path", "Path", ""),
                ("target", "Target", "every target"),
            ] {
                let now = item_text(r.get(key));
                hinted_field(ui, (label, hint), now, 280.0, msgs, move |v| {
                    Edit::Request(i, key, v)
                });
                ui.end_row();
            }
            field(
                ui,
                "Weight",
                item_text(r.get("weight")),
                80.0,
                msgs,
                move |v| Edit::Weight(i, v),
            );
            ui.end_row();
        });
    ui.label(RichText::new("Query parameters").strong());
    pairs(
        ui,
        ("query", i),
        map_rows(r.get("query")),
        "parameter",
        msgs,
        move |k, v| Edit::Query(i, k, v),
        move |k| Edit::AddQuery(i, k),
        move |k| Edit::RemoveQuery(i, k),
    );
    ui.label(RichText::new("Headers").strong());
    pairs(
        ui,
        ("headers", i),
        map_rows(r.get("headers")),
        "header",
        msgs,
        move |k, v| Edit::Header(i, k, v),
        move |k| Edit::AddHeader(i, k),
        move |k| Edit::RemoveHeader(i, k),
    );
    body(ui, i, r, msgs);
    ui.label(RichText::new("Checks").strong());
    check_list(ui, i, r.get("checks"), msgs);
    ui.label(RichText::new("This request's thresholds").strong());
    threshold_list(ui, r.get("thresholds"), Scope::Request(i), msgs);
    if ui.small_button("Remove request").clicked() {
        msgs.push(Msg::Edit(Edit::RemoveRequest(i)));
    }
    ui.separator();
}

/// What the open model's rate counts: each arrival is a request of the mix or a journey's whole
/// iteration, so a journeys-only scenario's rate is iterations per second and a mixed one's
/// arrivals (requests and iterations together) per second.
fn arrival_unit(doc: &toml_edit::DocumentMut) -> &'static str {
    let has = |k: &str| {
        doc.get(k)
            .and_then(Item::as_array_of_tables)
            .is_some_and(|a| !a.is_empty())
    };
    match (has("requests"), has("journeys")) {
        (_, false) => "requests/s",
        (false, true) => "iterations/s",
        (true, true) => "arrivals/s",
    }
}

/// The load model, its level or stages, and a preview of the profile.
fn load_section(ui: &mut egui::Ui, ed: &Editor, doc: &toml_edit::DocumentMut, msgs: &mut Vec<Msg>) {
    let load = doc.get("load").and_then(Item::as_table_like);
    let get = |k: &str| item_text(load.and_then(|l| l.get(k)));
    egui::CollapsingHeader::new("Load")
        .default_open(true)
        .show(ui, |ui| {
            let model = get("model");
            let unit = arrival_unit(doc);
            ui.horizontal(|ui| {
                ui.label("Model");
                for m in ["open", "closed"] {
                    if ui.selectable_label(model == m, m).clicked() && model != m {
                        msgs.push(Msg::Edit(Edit::Model(m.to_string())));
                    }
                }
            });
            let stages: Vec<(String, String)> = load
                .and_then(|l| l.get("stages"))
                .and_then(Item::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_inline_table())
                        .map(|t| {
                            (
                                t.get("duration")
                                    .and_then(|d| d.as_str())
                                    .unwrap_or("")
                                    .to_string(),
                                t.get("target").map(value_text).unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            egui::Grid::new("load_fields")
                .num_columns(2)
                .show(ui, |ui| {
                    if stages.is_empty() {
                        let (key, label) = if model == "closed" {
                            ("vus", "Virtual users".to_string())
                        } else {
                            ("rate", format!("Rate ({unit})"))
                        };
                        field(ui, &label, get(key), 120.0, msgs, move |v| {
                            Edit::LoadNumber(key, v)
                        });
                        ui.end_row();
                    }
                    if model == "closed" {
                        ui.label("Think time");
                        ui.horizontal(|ui| think_time(ui, load, msgs));
                    } else {
                        let default =
                            format!("{} (default)", crate::scenario::DEFAULT_MAX_IN_FLIGHT);
                        hinted_field(
                            ui,
                            ("Max in flight", &default),
                            get("max_in_flight"),
                            120.0,
                            msgs,
                            |v| Edit::LoadNumber("max_in_flight", v),
                        );
                    }
                    ui.end_row();
                });
            ui.label(if stages.is_empty() {
                "Constant load. Stages ramp linearly between targets:"
            } else {
                "Stages (linear ramps between targets):"
            });
            egui::Grid::new("stages").num_columns(3).show(ui, |ui| {
                for (i, (d, t)) in stages.iter().enumerate() {
                    field(
                        ui,
                        &format!("{}. duration", i + 1),
                        d.clone(),
                        80.0,
                        msgs,
                        move |v| Edit::StageDuration(i, v),
                    );
                    field(ui, "target", t.clone(), 80.0, msgs, move |v| {
                        Edit::StageTarget(i, v)
                    });
                    if ui.small_button("remove").clicked() {
                        msgs.push(Msg::Edit(Edit::RemoveStage(i)));
                    }
                    ui.end_row();
                }
            });
            if ui.button("Add stage").clicked() {
                msgs.push(Msg::Edit(Edit::AddStage));
            }
            if let Ok(sc) = &ed.check {
                let unit = if sc.load.model_name() == "open" {
                    unit
                } else {
                    "virtual users"
                };
                ui.label(format!("Load profile ({unit} over time)"));
                let pts = sc.load.profile().outline();
                let plot = egui_plot::Plot::new("profile_preview")
                    .height(140.0)
                    .x_axis_label("time (s)")
                    .y_axis_label(unit)
                    .include_y(0.0)
                    .allow_scroll(false);
                super::charts::nice_axes(plot).show(ui, |p| {
                    p.line(egui_plot::Line::new(
                        "load",
                        egui_plot::PlotPoints::from(pts),
                    ))
                });
            }
        });
}
