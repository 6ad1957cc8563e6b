//! Form edits applied to a scenario's TOML document in place, so the file keeps its comments
//! and layout.

use toml_edit::{DocumentMut, Item, Table, TableLike, value};

/// A change made through the form.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// A top-level string: name, description, duration, warmup, timeout (empty removes it).
    Top(&'static str, String),
    /// One part of a threshold row (of the scenario or of a request).
    Threshold(Scope, usize, ThresholdPart),
    /// Adds a threshold to a list.
    AddThreshold(Scope, String),
    /// Removes a threshold from a list.
    RemoveThreshold(Scope, usize),
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
    /// Think time (closed model): least and most; equal for a fixed pause, both empty for none.
    ThinkTime(String, String),
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
    /// A query parameter's value.
    Query(usize, String, String),
    /// Adds a query parameter to a request.
    AddQuery(usize, String),
    /// Removes a query parameter.
    RemoveQuery(usize, String),
    /// What a request sends: nothing, text, or JSON.
    BodyKind(usize, BodyKind),
    /// A request's JSON body, as JSON text (written as the TOML `json` value; invalid JSON is
    /// refused by the form before it gets here, and ignored if it does).
    JsonBody(usize, String),
    /// One part of a request's check.
    Check(usize, usize, CheckPart),
    /// Adds a check of this kind to a request.
    AddCheck(usize, CheckKind),
    /// Removes a request's check.
    RemoveCheck(usize, usize),
    /// Adds a request.
    AddRequest,
    /// Removes a request (or a journey's step).
    RemoveRequest(usize),
    /// A journey's name.
    JourneyName(usize, String),
    /// Adds a journey with one step.
    AddJourney,
    /// Adds a step at the end of a journey.
    AddStep(usize),
    /// Moves a step (by its [`step_index`]) one place earlier (`true`) or later.
    MoveStep(usize, bool),
    /// Adds an extract rule to a step.
    AddExtract(usize),
    /// One part of a step's extract rule: `var`, or the value of its source (`json`, `header`,
    /// `regex`, `cookie`).
    Extract(usize, usize, &'static str, String),
    /// Where an extract rule reads from: `json`, `header`, `regex` or `cookie`.
    ExtractKind(usize, usize, &'static str),
    /// Removes an extract rule.
    RemoveExtract(usize, usize),
}

/// Requests at or above this index are journey steps (see [`step_index`]): the request
/// editors work on both.
pub const STEP: usize = 1 << 24;

/// The request index of journey `j`'s step `k`.
pub fn step_index(j: usize, k: usize) -> usize {
    STEP + j * 4096 + k
}

/// The kinds of source an extract rule can have, in the order the form offers them.
pub const EXTRACT_KINDS: [&str; 4] = ["json", "header", "regex", "cookie"];

/// Where a list of thresholds lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The scenario's own thresholds (all requests together).
    Scenario,
    /// One request's thresholds.
    Request(usize),
    /// One journey's thresholds (its whole iterations).
    Journey(usize),
}

/// A change to one threshold row.
#[derive(Debug, Clone, PartialEq)]
pub enum ThresholdPart {
    /// The expression, e.g. `p95 < 200ms`.
    Text(String),
    /// Whether failing it stops the run.
    Abort(bool),
    /// How long into the run before it may stop it (empty: at once).
    After(String),
}

/// What a request sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    None,
    /// A text body.
    Text,
    /// A JSON body (written as a TOML value, sent as JSON).
    Json,
}

/// The kinds of check a request can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// The status is one of a list.
    Status,
    /// The body contains a text.
    BodyContains,
    /// The JSON body has a field, optionally equal to a value.
    Json,
    /// The request's latency is under a limit.
    Latency,
}

impl CheckKind {
    /// Every kind, with its label in the form.
    pub const ALL: [(CheckKind, &'static str); 4] = [
        (CheckKind::Status, "status is one of"),
        (CheckKind::BodyContains, "body contains"),
        (CheckKind::Json, "JSON field"),
        (CheckKind::Latency, "latency"),
    ];

    /// The TOML key that names this kind in a check table.
    pub fn key(self) -> &'static str {
        match self {
            CheckKind::Status => "status",
            CheckKind::BodyContains => "body_contains",
            CheckKind::Json => "json",
            CheckKind::Latency => "latency",
        }
    }

    /// The kind of a check table, from the key it has.
    pub fn of(t: &toml_edit::InlineTable) -> Option<CheckKind> {
        CheckKind::ALL
            .iter()
            .map(|(k, _)| *k)
            .find(|k| t.contains_key(k.key()))
    }
}

/// A change to one check.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckPart {
    /// The check's text: body text, JSON field path or latency condition (`< 100ms`).
    Text(String),
    /// The value a JSON field must equal, as JSON (empty: the field only has to exist).
    Equals(String),
    /// Adds an expected status code.
    AddCode(u16),
    /// Removes the expected status code at this position.
    RemoveCode(usize),
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
fn set_or_remove(t: &mut dyn TableLike, key: &str, v: Option<toml_edit::Value>) {
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

fn journeys(doc: &mut DocumentMut) -> Option<&mut toml_edit::ArrayOfTables> {
    doc.get_mut("journeys")
        .and_then(Item::as_array_of_tables_mut)
}

fn steps(doc: &mut DocumentMut, j: usize) -> Option<&mut toml_edit::ArrayOfTables> {
    journeys(doc)?
        .get_mut(j)?
        .get_mut("steps")
        .and_then(Item::as_array_of_tables_mut)
}

/// A request's table: a plain request's, or a journey step's (an index from [`step_index`]).
fn req(doc: &mut DocumentMut, i: usize) -> Option<&mut Table> {
    match i.checked_sub(STEP) {
        Some(s) => steps(doc, s / 4096)?.get_mut(s % 4096),
        None => requests(doc)?.get_mut(i),
    }
}

/// A step's extract rules, made if missing.
fn extracts(doc: &mut DocumentMut, i: usize) -> Option<&mut toml_edit::Array> {
    array(req(doc, i)?, "extract")
}

/// A new step (or request) table.
fn new_request(name: String) -> Table {
    let mut t = Table::new();
    t["name"] = value(name);
    t["method"] = value("GET");
    t["path"] = value("/");
    t
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
            Edit::Threshold(scope, i, part) => {
                if let Some(v) = thresholds(doc, scope).and_then(|a| a.get_mut(i)) {
                    set_threshold_part(v, part);
                }
            }
            Edit::AddThreshold(scope, text) => {
                if !text.trim().is_empty()
                    && let Some(a) = thresholds(doc, scope)
                {
                    a.push(text.trim());
                }
            }
            Edit::RemoveThreshold(scope, i) => {
                if let Some(a) = thresholds(doc, scope)
                    && i < a.len()
                {
                    a.remove(i);
                }
                drop_empty(doc, scope, "thresholds");
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
            Edit::ThinkTime(min, max) => {
                let (min, max) = (min.trim(), max.trim());
                let v = match (min.is_empty(), max.is_empty()) {
                    (true, true) => None,
                    _ if min == max || max.is_empty() => Some(min.into()),
                    _ if min.is_empty() => Some(max.into()),
                    _ => {
                        let mut t = toml_edit::InlineTable::new();
                        t.insert("min", min.into());
                        t.insert("max", max.into());
                        Some(t.into())
                    }
                };
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
                if let Some(r) = req(doc, i) {
                    let v = text_or_none(&v);
                    set_or_remove(r, key, v);
                }
            }
            Edit::Weight(i, v) => {
                if let Some(r) = req(doc, i) {
                    let v = (!v.trim().is_empty()).then(|| number(&v));
                    set_or_remove(r, "weight", v);
                }
            }
            Edit::Header(i, k, v) => {
                if let Some(h) = inline_map(doc, i, "headers") {
                    h.insert(&k, v.as_str().into());
                }
            }
            Edit::AddHeader(i, k) => {
                if let Some(h) = inline_map(doc, i, "headers") {
                    h.insert(&k, "".into());
                    h.fmt();
                }
            }
            Edit::RemoveHeader(i, k) => {
                if let Some(h) = inline_map(doc, i, "headers") {
                    h.remove(&k);
                }
            }
            Edit::Query(i, k, v) => {
                if let Some(q) = inline_map(doc, i, "query") {
                    q.insert(&k, v.as_str().into());
                }
            }
            Edit::AddQuery(i, k) => {
                if let Some(q) = inline_map(doc, i, "query") {
                    q.insert(&k, "".into());
                    q.fmt();
                }
            }
            Edit::RemoveQuery(i, k) => {
                if let Some(q) = inline_map(doc, i, "query") {
                    q.remove(&k);
                    if q.is_empty()
                        && let Some(r) = req(doc, i)
                    {
                        r.remove("query");
                    }
                }
            }
            Edit::BodyKind(i, kind) => {
                if let Some(r) = req(doc, i) {
                    match kind {
                        BodyKind::None => {
                            r.remove("body");
                            r.remove("json");
                        }
                        BodyKind::Text if !r.contains_key("body") => {
                            r.remove("json");
                            r["body"] = value("");
                        }
                        BodyKind::Json if !r.contains_key("json") => {
                            r.remove("body");
                            r["json"] = value(toml_edit::InlineTable::new());
                        }
                        _ => {}
                    }
                }
            }
            Edit::JsonBody(i, text) => {
                let v = serde_json::from_str(&text)
                    .ok()
                    .and_then(|j| from_json(&j).ok());
                if let (Some(v), Some(r)) = (v, req(doc, i)) {
                    r.remove("body");
                    set_or_remove(r, "json", Some(v));
                }
            }
            Edit::Check(i, c, part) => {
                if let Some(t) = checks(doc, i)
                    .and_then(|a| a.get_mut(c))
                    .and_then(toml_edit::Value::as_inline_table_mut)
                {
                    set_check_part(t, part);
                }
            }
            Edit::AddCheck(i, kind) => {
                if let Some(a) = checks(doc, i) {
                    let mut t = toml_edit::InlineTable::new();
                    let v: toml_edit::Value = match kind {
                        CheckKind::Status => 200.into(),
                        CheckKind::BodyContains => "ok".into(),
                        CheckKind::Json => "id".into(),
                        CheckKind::Latency => "< 1s".into(),
                    };
                    t.insert(kind.key(), v);
                    a.push(t);
                }
            }
            Edit::RemoveCheck(i, c) => {
                if let Some(a) = checks(doc, i)
                    && c < a.len()
                {
                    a.remove(c);
                }
                drop_empty(doc, Scope::Request(i), "checks");
            }
            Edit::AddRequest => {
                let n = requests(doc).map_or(0, |a| a.len());
                let t = new_request(format!("request-{}", n + 1));
                match requests(doc) {
                    Some(a) => a.push(t),
                    None => {
                        let mut a = toml_edit::ArrayOfTables::new();
                        a.push(t);
                        doc["requests"] = Item::ArrayOfTables(a);
                    }
                }
            }
            Edit::RemoveRequest(i) => match i.checked_sub(STEP) {
                Some(s) => {
                    if let Some(a) = steps(doc, s / 4096)
                        && s % 4096 < a.len()
                        && a.len() > 1
                    {
                        a.remove(s % 4096);
                    }
                }
                None => {
                    if let Some(a) = requests(doc)
                        && i < a.len()
                    {
                        a.remove(i);
                    }
                }
            },
            Edit::JourneyName(j, v) => {
                if let Some(t) = journeys(doc).and_then(|a| a.get_mut(j)) {
                    set_or_remove(t, "name", text_or_none(&v));
                }
            }
            Edit::AddJourney => {
                let n = journeys(doc).map_or(0, |a| a.len());
                let mut j = Table::new();
                j["name"] = value(format!("journey-{}", n + 1));
                let mut st = toml_edit::ArrayOfTables::new();
                st.push(new_request("step-1".into()));
                j["steps"] = Item::ArrayOfTables(st);
                match journeys(doc) {
                    Some(a) => a.push(j),
                    None => {
                        let mut a = toml_edit::ArrayOfTables::new();
                        a.push(j);
                        doc["journeys"] = Item::ArrayOfTables(a);
                    }
                }
            }
            Edit::AddStep(j) => {
                if let Some(a) = steps(doc, j) {
                    let n = a.len();
                    a.push(new_request(format!("step-{}", n + 1)));
                }
            }
            Edit::MoveStep(i, up) => {
                if let Some(s) = i.checked_sub(STEP)
                    && let Some(a) = steps(doc, s / 4096)
                {
                    let k = s % 4096;
                    let other = if up { k.checked_sub(1) } else { Some(k + 1) };
                    if let Some(o) = other.filter(|o| *o < a.len() && k < a.len()) {
                        // ArrayOfTables has no swap: rebuild it in the new order. Tables print in
                        // the order of their place in the file, so the two trade places too.
                        let mut tables: Vec<Table> = a.iter().cloned().collect();
                        let (pk, po) = (tables[k].position(), tables[o].position());
                        let (nk, no) = match (pk, po) {
                            (Some(_), Some(_)) => (po, pk),
                            _ => (pk.or(po), pk.or(po)),
                        };
                        tables[k].set_position(nk);
                        tables[o].set_position(no);
                        tables.swap(k, o);
                        a.clear();
                        for t in tables {
                            a.push(t);
                        }
                    }
                }
            }
            Edit::AddExtract(i) => {
                if let Some(a) = extracts(doc, i) {
                    let mut e = toml_edit::InlineTable::new();
                    e.insert("var", format!("value{}", a.len() + 1).into());
                    e.insert("json", "$.id".into());
                    a.push(e);
                }
            }
            Edit::Extract(i, n, key, v) => {
                if let Some(e) = extracts(doc, i)
                    .and_then(|a| a.get_mut(n))
                    .and_then(toml_edit::Value::as_inline_table_mut)
                {
                    e.insert(key, v.into());
                }
            }
            Edit::ExtractKind(i, n, kind) => {
                if let Some(e) = extracts(doc, i)
                    .and_then(|a| a.get_mut(n))
                    .and_then(toml_edit::Value::as_inline_table_mut)
                {
                    let old = EXTRACT_KINDS
                        .iter()
                        .find_map(|k| e.remove(k))
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    e.insert(kind, old.into());
                }
            }
            Edit::RemoveExtract(i, n) => {
                if let Some(a) = extracts(doc, i)
                    && n < a.len()
                {
                    a.remove(n);
                }
                if let Some(r) = req(doc, i)
                    && r.get("extract")
                        .and_then(Item::as_array)
                        .is_some_and(|a| a.is_empty())
                {
                    r.remove("extract");
                }
            }
        }
    }
}

/// The threshold list of a scope, made if missing.
fn thresholds(doc: &mut DocumentMut, scope: Scope) -> Option<&mut toml_edit::Array> {
    let t: &mut dyn TableLike = match scope {
        Scope::Scenario => doc.as_table_mut(),
        Scope::Request(i) => req(doc, i)?,
        Scope::Journey(j) => journeys(doc)?.get_mut(j)?,
    };
    array(t, "thresholds")
}

/// A request's check list, made if missing.
fn checks(doc: &mut DocumentMut, i: usize) -> Option<&mut toml_edit::Array> {
    array(req(doc, i)?, "checks")
}

fn array<'a>(t: &'a mut dyn TableLike, key: &str) -> Option<&'a mut toml_edit::Array> {
    if t.get(key).is_none() {
        t.insert(key, value(toml_edit::Array::new()));
    }
    t.get_mut(key).and_then(Item::as_array_mut)
}

/// Removes a list left empty, rather than writing `key = []`.
fn drop_empty(doc: &mut DocumentMut, scope: Scope, key: &str) {
    let t: Option<&mut dyn TableLike> = match scope {
        Scope::Scenario => Some(doc.as_table_mut()),
        Scope::Request(i) => req(doc, i).map(|r| r as &mut dyn TableLike),
        Scope::Journey(j) => journeys(doc)
            .and_then(|a| a.get_mut(j))
            .map(|t| t as &mut dyn TableLike),
    };
    if let Some(t) = t
        && t.get(key)
            .and_then(Item::as_array)
            .is_some_and(|a| a.is_empty())
    {
        t.remove(key);
    }
}

/// A threshold as written in a list: a string, or `{ threshold, abort, after }` when it can stop
/// the run.
fn set_threshold_part(v: &mut toml_edit::Value, part: ThresholdPart) {
    let (mut text, mut abort, mut after) = threshold_parts(v);
    match part {
        ThresholdPart::Text(t) => text = t,
        ThresholdPart::Abort(a) => abort = a,
        ThresholdPart::After(a) => after = a,
    }
    let decor = v.decor().clone();
    *v = if abort {
        let mut t = toml_edit::InlineTable::new();
        t.insert("threshold", text.as_str().into());
        t.insert("abort", true.into());
        if !after.trim().is_empty() {
            t.insert("after", after.trim().into());
        }
        t.into()
    } else {
        text.as_str().into()
    };
    *v.decor_mut() = decor;
}

/// A threshold row's expression, whether it aborts the run, and after how long.
pub fn threshold_parts(v: &toml_edit::Value) -> (String, bool, String) {
    match v.as_inline_table() {
        Some(t) => (
            t.get("threshold")
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .to_string(),
            t.get("abort").and_then(|x| x.as_bool()).unwrap_or(false),
            t.get("after")
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .to_string(),
        ),
        None => (
            v.as_str().unwrap_or_default().to_string(),
            false,
            String::new(),
        ),
    }
}

fn set_check_part(t: &mut toml_edit::InlineTable, part: CheckPart) {
    let Some(kind) = CheckKind::of(t) else { return };
    set_check_part_of(t, kind, part);
    // A key added after the last one would keep the space that closed the table (`"id" ,`).
    t.fmt();
}

fn set_check_part_of(t: &mut toml_edit::InlineTable, kind: CheckKind, part: CheckPart) {
    match part {
        CheckPart::Text(s) => {
            t.insert(kind.key(), s.as_str().into());
        }
        CheckPart::Equals(s) => {
            let v = serde_json::from_str(&s)
                .ok()
                .and_then(|j| from_json(&j).ok())
                // Not JSON: a plain word is the string it looks like.
                .or_else(|| (!s.trim().is_empty()).then(|| s.trim().into()));
            match v {
                Some(v) => {
                    t.insert("equals", v);
                }
                None => {
                    t.remove("equals");
                }
            }
        }
        CheckPart::AddCode(code) => {
            let mut codes = status_codes(t);
            if !codes.contains(&i64::from(code)) {
                codes.push(code.into());
            }
            t.insert("status", codes_value(&codes));
        }
        CheckPart::RemoveCode(at) => {
            let mut codes = status_codes(t);
            if at < codes.len() && codes.len() > 1 {
                codes.remove(at);
            }
            t.insert("status", codes_value(&codes));
        }
    }
}

/// A status check's codes, as written (one code or a list).
pub fn status_codes(t: &toml_edit::InlineTable) -> Vec<i64> {
    match t.get("status") {
        Some(toml_edit::Value::Integer(i)) => vec![*i.value()],
        Some(toml_edit::Value::Array(a)) => a.iter().filter_map(|v| v.as_integer()).collect(),
        _ => Vec::new(),
    }
}

fn codes_value(codes: &[i64]) -> toml_edit::Value {
    match codes {
        [one] => (*one).into(),
        many => many.iter().copied().collect::<toml_edit::Array>().into(),
    }
}

/// A JSON value as a TOML value (TOML has no null, so a null is refused with where it is).
pub fn from_json(j: &serde_json::Value) -> Result<toml_edit::Value, String> {
    use serde_json::Value as J;
    Ok(match j {
        J::Null => return Err("TOML has no null: leave the field out instead".into()),
        J::Bool(b) => (*b).into(),
        J::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or_default().into(),
        },
        J::String(s) => s.as_str().into(),
        J::Array(a) => {
            let mut out = toml_edit::Array::new();
            for (i, v) in a.iter().enumerate() {
                out.push(from_json(v).map_err(|e| format!("[{i}]: {e}"))?);
            }
            out.into()
        }
        J::Object(o) => {
            let mut out = toml_edit::InlineTable::new();
            for (k, v) in o {
                out.insert(k, from_json(v).map_err(|e| format!("{k}: {e}"))?);
            }
            out.into()
        }
    })
}

/// A TOML value as JSON (for showing a `json` body or an `equals` as JSON text).
pub fn to_json(v: &toml_edit::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        toml_edit::Value::String(s) => J::String(s.value().clone()),
        toml_edit::Value::Integer(i) => J::from(*i.value()),
        toml_edit::Value::Float(f) => J::from(*f.value()),
        toml_edit::Value::Boolean(b) => J::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => J::String(d.value().to_string()),
        toml_edit::Value::Array(a) => J::Array(a.iter().map(to_json).collect()),
        toml_edit::Value::InlineTable(t) => {
            J::Object(t.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect())
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

/// A request's inline map (`headers`, `query`), made if missing.
fn inline_map<'a>(
    doc: &'a mut DocumentMut,
    i: usize,
    key: &str,
) -> Option<&'a mut toml_edit::InlineTable> {
    let r = req(doc, i)?;
    if r.get(key).is_none() {
        r[key] = value(toml_edit::InlineTable::new());
    }
    r.get_mut(key).and_then(Item::as_inline_table_mut)
}
