//! Form edits applied to a scenario's TOML document in place, so the file keeps its comments
//! and layout.

use toml_edit::{DocumentMut, Item, Table, value};

/// A change made through the form.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// A top-level string: name, description, duration, warmup, timeout (empty removes it).
    Top(&'static str, String),
    /// Scenario thresholds, one per line.
    Thresholds(String),
    /// A target's URL (or "demo").
    TargetUrl(String, String),
    /// Adds a target.
    AddTarget,
    /// Removes a target.
    RemoveTarget(String),
    /// The load model: "open" or "closed".
    Model(String),
    /// A number under [load]: rate, vus, max_in_flight, start (empty removes it).
    LoadNumber(&'static str, String),
    /// Think time (closed model).
    ThinkTime(String),
    /// A stage's duration.
    StageDuration(usize, String),
    /// A stage's target.
    StageTarget(usize, String),
    /// Adds a stage (switching from a constant level to stages).
    AddStage,
    /// Removes a stage.
    RemoveStage(usize),
    /// A request's string field: name, method, path, target, body (empty removes it).
    Request(usize, &'static str, String),
    /// A request's weight.
    Weight(usize, String),
    /// A request header's value.
    Header(usize, String, String),
    /// Adds a header to a request.
    AddHeader(usize, String),
    /// Removes a header.
    RemoveHeader(usize, String),
    /// A request's expected status codes ("200" or "200, 204"; empty removes the check).
    StatusCheck(usize, String),
    /// Adds a request.
    AddRequest,
    /// Removes a request.
    RemoveRequest(usize),
}

/// A TOML value for text typed into a number field: a number if it is one, else the text (which
/// validation then reports at its line).
fn number(text: &str) -> toml_edit::Value {
    let t = text.trim();
    if let Ok(i) = t.parse::<i64>() {
        i.into()
    } else if let Ok(f) = t.parse::<f64>() {
        f.into()
    } else {
        t.into()
    }
}

fn table<'a>(doc: &'a mut DocumentMut, key: &str) -> &'a mut Table {
    if !doc.contains_table(key) {
        doc[key] = Item::Table(Table::new());
    }
    doc[key].as_table_mut().expect("just made a table")
}

/// Sets a key's value keeping the comments and spacing around the old one, or removes the key.
fn set_or_remove(t: &mut dyn toml_edit::TableLike, key: &str, v: Option<toml_edit::Value>) {
    match v {
        Some(mut v) => {
            if let Some(old) = t.get_mut(key).and_then(Item::as_value_mut) {
                *v.decor_mut() = old.decor().clone();
                *old = v;
            } else {
                t.insert(key, Item::Value(v));
            }
        }
        None => {
            t.remove(key);
        }
    }
}

fn requests(doc: &mut DocumentMut) -> Option<&mut toml_edit::ArrayOfTables> {
    doc.get_mut("requests")
        .and_then(Item::as_array_of_tables_mut)
}

impl Edit {
    pub(super) fn apply(self, doc: &mut DocumentMut) {
        let text_or_none = |s: &str| (!s.trim().is_empty()).then(|| toml_edit::Value::from(s));
        match self {
            Edit::Top(key, v) => {
                // Keep top-level keys above the tables, where TOML needs them.
                let v = text_or_none(&v);
                set_or_remove(doc.as_table_mut(), key, v);
            }
            Edit::Thresholds(lines) => {
                let mut arr = toml_edit::Array::new();
                for l in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    arr.push(l);
                }
                if arr.is_empty() {
                    doc.remove("thresholds");
                } else {
                    doc["thresholds"] = value(arr);
                }
            }
            Edit::TargetUrl(name, url) => {
                set_or_remove(table(doc, "targets"), &name, Some(url.as_str().into()));
            }
            Edit::AddTarget => {
                let t = table(doc, "targets");
                let mut i = t.len() + 1;
                while t.contains_key(&format!("target-{i}")) {
                    i += 1;
                }
                t[&format!("target-{i}")] = value("http://127.0.0.1:8080");
            }
            Edit::RemoveTarget(name) => {
                table(doc, "targets").remove(&name);
            }
            Edit::Model(m) => {
                let has_stages = table(doc, "load").contains_key("stages");
                let l = table(doc, "load");
                l["model"] = value(m.as_str());
                if m == "open" {
                    l.remove("vus");
                    l.remove("think_time");
                    if !has_stages && !l.contains_key("rate") {
                        l["rate"] = value(100);
                    }
                } else {
                    l.remove("rate");
                    l.remove("max_in_flight");
                    if !has_stages && !l.contains_key("vus") {
                        l["vus"] = value(10);
                    }
                }
            }
            Edit::LoadNumber(key, v) => {
                let v = (!v.trim().is_empty()).then(|| number(&v));
                set_or_remove(table(doc, "load"), key, v);
            }
            Edit::ThinkTime(v) => {
                let v = text_or_none(&v);
                set_or_remove(table(doc, "load"), "think_time", v);
            }
            Edit::StageDuration(i, v) => {
                if let Some(st) = stage(doc, i) {
                    st.insert("duration", v.as_str().into());
                }
            }
            Edit::StageTarget(i, v) => {
                if let Some(st) = stage(doc, i) {
                    st.insert("target", number(&v));
                }
            }
            Edit::AddStage => {
                let model = table(doc, "load")
                    .get("model")
                    .and_then(Item::as_str)
                    .unwrap_or("open")
                    .to_string();
                let level_key = if model == "open" { "rate" } else { "vus" };
                let l = table(doc, "load");
                let level = l.get(level_key).and_then(Item::as_integer).unwrap_or(10);
                let duration = doc
                    .get("duration")
                    .and_then(Item::as_str)
                    .unwrap_or("30s")
                    .to_string();
                let l = table(doc, "load");
                l.remove(level_key);
                if l.get("stages").and_then(Item::as_array).is_none() {
                    l["stages"] = value(toml_edit::Array::new());
                }
                if let Some(arr) = l.get_mut("stages").and_then(Item::as_array_mut) {
                    let mut st = toml_edit::InlineTable::new();
                    st.insert("duration", duration.as_str().into());
                    st.insert("target", level.into());
                    arr.push(st);
                }
                doc.remove("duration");
            }
            Edit::RemoveStage(i) => {
                if let Some(arr) = table(doc, "load")
                    .get_mut("stages")
                    .and_then(Item::as_array_mut)
                    && i < arr.len()
                {
                    arr.remove(i);
                }
            }
            Edit::Request(i, key, v) => {
                if let Some(r) = requests(doc).and_then(|a| a.get_mut(i)) {
                    let v = text_or_none(&v);
                    set_or_remove(r, key, v);
                }
            }
            Edit::Weight(i, v) => {
                if let Some(r) = requests(doc).and_then(|a| a.get_mut(i)) {
                    let v = (!v.trim().is_empty()).then(|| number(&v));
                    set_or_remove(r, "weight", v);
                }
            }
            Edit::Header(i, k, v) => {
                if let Some(h) = headers(doc, i) {
                    h.insert(&k, v.as_str().into());
                }
            }
            Edit::AddHeader(i, k) => {
                if let Some(h) = headers(doc, i) {
                    h.insert(&k, "".into());
                }
            }
            Edit::RemoveHeader(i, k) => {
                if let Some(h) = headers(doc, i) {
                    h.remove(&k);
                }
            }
            Edit::StatusCheck(i, v) => {
                let codes: Vec<i64> = v.split(',').filter_map(|c| c.trim().parse().ok()).collect();
                if let Some(r) = requests(doc).and_then(|a| a.get_mut(i)) {
                    let mut checks = r
                        .get("checks")
                        .and_then(Item::as_array)
                        .cloned()
                        .unwrap_or_default();
                    checks.retain(|c| {
                        c.as_inline_table()
                            .is_none_or(|t| !t.contains_key("status"))
                    });
                    if !codes.is_empty() {
                        let mut t = toml_edit::InlineTable::new();
                        let status: toml_edit::Value = if codes.len() == 1 {
                            codes[0].into()
                        } else {
                            codes.iter().copied().collect::<toml_edit::Array>().into()
                        };
                        t.insert("status", status);
                        checks.insert(0, t);
                    }
                    if checks.is_empty() {
                        r.remove("checks");
                    } else {
                        r["checks"] = value(checks);
                    }
                }
            }
            Edit::AddRequest => {
                let n = requests(doc).map_or(0, |a| a.len());
                let mut t = Table::new();
                t["name"] = value(format!("request-{}", n + 1));
                t["method"] = value("GET");
                t["path"] = value("/");
                match requests(doc) {
                    Some(a) => a.push(t),
                    None => {
                        let mut a = toml_edit::ArrayOfTables::new();
                        a.push(t);
                        doc["requests"] = Item::ArrayOfTables(a);
                    }
                }
            }
            Edit::RemoveRequest(i) => {
                if let Some(a) = requests(doc)
                    && i < a.len()
                {
                    a.remove(i);
                }
            }
        }
    }
}

fn stage(doc: &mut DocumentMut, i: usize) -> Option<&mut toml_edit::InlineTable> {
    table(doc, "load")
        .get_mut("stages")
        .and_then(Item::as_array_mut)
        .and_then(|a| a.get_mut(i))
        .and_then(toml_edit::Value::as_inline_table_mut)
}

fn headers(doc: &mut DocumentMut, i: usize) -> Option<&mut toml_edit::InlineTable> {
    let r = requests(doc)?.get_mut(i)?;
    if r.get("headers").is_none() {
        r["headers"] = value(toml_edit::InlineTable::new());
    }
    r.get_mut("headers").and_then(Item::as_inline_table_mut)
}
