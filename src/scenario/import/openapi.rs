//! An OpenAPI 3.0/3.1 document (JSON or YAML) as a scenario: a request per operation, its
//! parameters and JSON body from examples or schemas, its security scheme read from the environment.

use serde_json::Value;

use super::{Imported, literal};
use crate::scenario::credentials::{Found, env_name};

/// `$ref` hops followed before a chain counts as a loop.
const MAX_HOPS: usize = 32;
/// Schema nesting sampled before a (recursive) schema is cut short.
const MAX_SAMPLE_DEPTH: usize = 8;
/// The methods an operation can have, in the order a scenario lists them.
const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// A JSON pointer's segment, escaped.
fn seg(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// The document being read, for `$ref`s.
struct Doc<'a> {
    root: &'a Value,
}

impl<'a> Doc<'a> {
    /// `v` with its `$ref` chain followed (local references only); errors name `at`.
    fn resolve(&self, mut v: &'a Value, at: &str) -> Result<&'a Value, Unresolved> {
        for _ in 0..MAX_HOPS {
            let Some(r) = v.get("$ref").and_then(Value::as_str) else {
                return Ok(v);
            };
            let Some(pointer) = r.strip_prefix('#') else {
                return Err(Unresolved::External(format!("{at}: $ref \"{r}\"")));
            };
            let pointer = percent_decode(pointer);
            v = self.root.pointer(&pointer).ok_or_else(|| {
                Unresolved::Bad(format!(
                    "{at}: $ref \"{r}\" points to nothing in the document"
                ))
            })?;
        }
        Err(Unresolved::Bad(format!(
            "{at}: $ref chain longer than {MAX_HOPS} (a loop?)"
        )))
    }

    /// A value made from a schema: its example, default, const or first enum value, else one
    /// built from its type; `guessed` is set when nothing in the document said what to send.
    fn sample(
        &self,
        schema: &'a Value,
        at: &str,
        depth: usize,
        guessed: &mut bool,
    ) -> Result<Value, Unresolved> {
        if depth > MAX_SAMPLE_DEPTH {
            *guessed = true;
            return Ok(Value::Null);
        }
        let s = self.resolve(schema, at)?;
        for key in ["example", "default", "const"] {
            if let Some(v) = s.get(key) {
                return Ok(v.clone());
            }
        }
        for key in ["examples", "enum"] {
            if let Some(v) = s.get(key).and_then(Value::as_array).and_then(|a| a.first()) {
                return Ok(v.clone());
            }
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            let mut merged = serde_json::Map::new();
            for (i, part) in all.iter().enumerate() {
                if let Value::Object(m) =
                    self.sample(part, &format!("{at}/allOf/{i}"), depth + 1, guessed)?
                {
                    merged.extend(m);
                }
            }
            return Ok(Value::Object(merged));
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(first) = s.get(key).and_then(Value::as_array).and_then(|a| a.first()) {
                return self.sample(first, &format!("{at}/{key}/0"), depth + 1, guessed);
            }
        }
        let kind = match s.get("type") {
            Some(Value::String(t)) => t.as_str(),
            // 3.1: a list of types; the first that is not null.
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null"),
            _ if s.get("properties").is_some() => "object",
            _ if s.get("items").is_some() => "array",
            _ => "string",
        };
        *guessed |= !matches!(kind, "object" | "array");
        Ok(match kind {
            "object" => {
                let mut m = serde_json::Map::new();
                if let Some(props) = s.get("properties").and_then(Value::as_object) {
                    for (name, p) in props {
                        let v = self.sample(
                            p,
                            &format!("{at}/properties/{}", seg(name)),
                            depth + 1,
                            guessed,
                        )?;
                        m.insert(name.clone(), v);
                    }
                }
                Value::Object(m)
            }
            "array" => match s.get("items") {
                Some(items) => Value::Array(vec![self.sample(
                    items,
                    &format!("{at}/items"),
                    depth + 1,
                    guessed,
                )?]),
                None => Value::Array(Vec::new()),
            },
            "integer" => Value::from(s.get("minimum").and_then(Value::as_i64).unwrap_or(1)),
            "number" => s.get("minimum").cloned().unwrap_or(Value::from(1)),
            "boolean" => Value::Bool(true),
            "null" => Value::Null,
            _ => Value::String(
                match s.get("format").and_then(Value::as_str) {
                    Some("date-time") => "2025-01-01T00:00:00Z",
                    Some("date") => "2025-01-01",
                    Some("uuid") => "00000000-0000-4000-8000-000000000001",
                    Some("email") => "user@example.com",
                    Some("uri" | "url") => "https://example.com/",
                    _ => "string",
                }
                .into(),
            ),
        })
    }
}

/// Why a part could not be read: the document is wrong (`Bad`, refused) or points outside itself
/// (`External`, the operation is left out and said so).
enum Unresolved {
    Bad(String),
    External(String),
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map_or_else(|| s.to_string(), |(_, v)| v.into_owned())
}

/// A parameter's value as text in a path, query or header.
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(as_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// One operation as it will be written.
struct Op {
    name: String,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<String>,
    status: Option<u16>,
}

/// An OpenAPI 3.0 or 3.1 document (JSON, or YAML) as a scenario.
pub fn openapi(text: &str) -> Result<Imported, String> {
    let root: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(json) if text.trim_start().starts_with('{') => {
            return Err(format!("not JSON: {json}"));
        }
        Err(_) => super::yaml::to_json(text)?,
    };
    let doc = Doc { root: &root };
    let bad = |e: Unresolved| match e {
        Unresolved::Bad(m) | Unresolved::External(m) => m,
    };
    if !root.is_object() {
        return Err("(root): not an OpenAPI document (expected an object)".into());
    }
    match root.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0") || v.starts_with("3.1") => {}
        Some(v) => {
            return Err(format!(
                "/openapi: version \"{v}\" is not supported (3.0 and 3.1 are)"
            ));
        }
        None if root.get("swagger").is_some() => {
            return Err(
                "/swagger: Swagger 2.0 is not supported; convert it to OpenAPI 3 first".into(),
            );
        }
        None => return Err("/openapi: missing; this is not an OpenAPI 3 document".into()),
    }
    let paths = root
        .get("paths")
        .and_then(Value::as_object)
        .ok_or("/paths: missing or not an object: no operations to load-test")?;
    let mut notes: Vec<String> = Vec::new();
    let (base, server_note) = server(&root)?;
    notes.extend(server_note);
    let mut found = Found::default();
    let mut ops: Vec<Op> = Vec::new();
    for (path, item) in paths {
        let at_path = format!("/paths/{}", seg(path));
        let item = doc.resolve(item, &at_path).map_err(bad)?;
        if !item.is_object() {
            return Err(format!("{at_path}: a path item must be an object"));
        }
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let at = format!("{at_path}/{method}");
            if !op.is_object() {
                return Err(format!("{at}: an operation must be an object"));
            }
            match operation(&doc, path, item, op, method, &at, &mut found, &mut notes) {
                Ok(o) => ops.push(o),
                Err(Unresolved::External(what)) => notes.push(format!(
                    "left out {} {path}: {what} is in another file (only references inside the document are followed)",
                    method.to_uppercase()
                )),
                Err(Unresolved::Bad(m)) => return Err(m),
            }
        }
    }
    if ops.is_empty() {
        return Err("/paths: no operations to load-test".into());
    }
    if root.get("webhooks").is_some() {
        notes.push("webhooks (3.1) are calls the API makes, not requests to it: left out".into());
    }
    let name = root
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("OpenAPI import")
        .to_string();
    write(&name, &base, ops, found, notes)
}

/// The first server's URL with its variables at their defaults; a relative or missing one is
/// put on http://127.0.0.1:8080 and said so.
fn server(root: &Value) -> Result<(String, Option<String>), String> {
    let Some(s) = root.pointer("/servers/0") else {
        return Ok((
            "http://127.0.0.1:8080".into(),
            Some(
                "no servers: the target is http://127.0.0.1:8080; change it to your service".into(),
            ),
        ));
    };
    let mut url = s
        .get("url")
        .and_then(Value::as_str)
        .ok_or("/servers/0/url: missing")?
        .to_string();
    if let Some(vars) = s.get("variables").and_then(Value::as_object) {
        for (k, v) in vars {
            let d = v.get("default").map(as_text).unwrap_or_default();
            url = url.replace(&format!("{{{k}}}"), &d);
        }
    }
    let mut note = None;
    if url.starts_with('/') || url.is_empty() {
        note = Some(format!(
            "the server URL \"{url}\" is relative: the target is http://127.0.0.1:8080{url}; change it to your service"
        ));
        url = format!("http://127.0.0.1:8080{url}");
    }
    let url = url.trim_end_matches('/').to_string();
    crate::scenario::BaseUrl::parse(&url).map_err(|e| format!("/servers/0/url: {e}"))?;
    if root.pointer("/servers/1").is_some() {
        note.get_or_insert_with(|| "several servers: the target is the first".into());
    }
    Ok((url, note))
}

#[allow(clippy::too_many_arguments)]
fn operation<'a>(
    doc: &Doc<'a>,
    path: &str,
    item: &'a Value,
    op: &'a Value,
    method: &str,
    at: &str,
    found: &mut Found,
    notes: &mut Vec<String>,
) -> Result<Op, Unresolved> {
    let label = format!("{} {path}", method.to_uppercase());
    let name = op
        .get("operationId")
        .and_then(Value::as_str)
        .map_or_else(|| label.clone(), str::to_string);
    let mut out = Op {
        name,
        method: method.to_uppercase(),
        path: path.to_string(),
        query: Vec::new(),
        headers: Vec::new(),
        body: None,
        status: None,
    };
    // Path-level parameters, then the operation's (which override by name and place).
    let mut params: Vec<(&Value, String)> = Vec::new();
    for (list, where_) in [
        (item.get("parameters"), "/../parameters"),
        (op.get("parameters"), "/parameters"),
    ] {
        let Some(list) = list else { continue };
        let base = if where_.starts_with("/..") {
            at.rsplit_once('/')
                .map_or(at.to_string(), |(p, _)| format!("{p}/parameters"))
        } else {
            format!("{at}/parameters")
        };
        let list = list
            .as_array()
            .ok_or_else(|| Unresolved::Bad(format!("{base}: parameters must be a list")))?;
        for (i, p) in list.iter().enumerate() {
            let pat = format!("{base}/{i}");
            let p = doc.resolve(p, &pat)?;
            let key = |p: &Value| (p.get("name").cloned(), p.get("in").cloned());
            params.retain(|(q, _)| key(q) != key(p));
            params.push((p, pat));
        }
    }
    for (p, pat) in params {
        let (Some(pname), Some(place)) = (
            p.get("name").and_then(Value::as_str),
            p.get("in").and_then(Value::as_str),
        ) else {
            return Err(Unresolved::Bad(format!(
                "{pat}: a parameter needs a name and an in"
            )));
        };
        let required = p
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(place == "path");
        let given = p.get("example").cloned().or_else(|| {
            p.get("examples")
                .and_then(Value::as_object)
                .and_then(|m| m.values().next())
                .and_then(|e| doc.resolve(e, &pat).ok())
                .and_then(|e| e.get("value").cloned())
        });
        let has_example = given.is_some()
            || p.pointer("/schema/example").is_some()
            || p.pointer("/schema/default").is_some()
            || p.pointer("/schema/enum").is_some();
        if !required && !has_example {
            continue;
        }
        let mut guessed = false;
        let value = match (given, p.get("schema")) {
            (Some(v), _) => v,
            (None, Some(s)) => doc.sample(s, &format!("{pat}/schema"), 0, &mut guessed)?,
            (None, None) => {
                guessed = true;
                Value::String("string".into())
            }
        };
        let text = as_text(&value);
        if guessed {
            notes.push(format!(
                "{}: {place} parameter {pname} has no example: \"{text}\" stands in",
                out.name
            ));
        }
        match place {
            "path" => out.path = out.path.replace(&format!("{{{pname}}}"), &text),
            "query" => out.query.push((pname.to_string(), text)),
            "header" => out.headers.push((pname.to_ascii_lowercase(), text)),
            other => notes.push(format!(
                "{}: {other} parameter {pname} is not sent (cookie parameters are not supported)",
                out.name
            )),
        }
    }
    if let Some(body) = op.get("requestBody") {
        let bat = format!("{at}/requestBody");
        let body = doc.resolve(body, &bat)?;
        let content = body.get("content").and_then(Value::as_object);
        let json = content.and_then(|c| {
            c.iter()
                .find(|(t, _)| t.starts_with("application/json") || t.ends_with("+json"))
        });
        match json {
            Some((ctype, media)) => {
                let mat = format!("{bat}/content/{}", seg(ctype));
                let mut guessed = false;
                let example = media.get("example").cloned().or_else(|| {
                    media
                        .get("examples")
                        .and_then(Value::as_object)
                        .and_then(|m| m.values().next())
                        .and_then(|e| doc.resolve(e, &mat).ok())
                        .and_then(|e| e.get("value").cloned())
                });
                let value = match (example, media.get("schema")) {
                    (Some(v), _) => v,
                    (None, Some(s)) => doc.sample(s, &format!("{mat}/schema"), 0, &mut guessed)?,
                    (None, None) => Value::Object(Default::default()),
                };
                if guessed {
                    notes.push(format!(
                        "{}: the JSON body is built from its schema (no example): check its values",
                        out.name
                    ));
                }
                out.body = Some(value.to_string());
                out.headers.push(("content-type".into(), ctype.clone()));
            }
            None => {
                let kinds: Vec<&str> =
                    content.map_or(Vec::new(), |c| c.keys().map(String::as_str).collect());
                notes.push(format!(
                    "{}: the request body ({}) is not JSON: it is sent empty",
                    out.name,
                    if kinds.is_empty() {
                        "no content".into()
                    } else {
                        kinds.join(", ")
                    }
                ));
            }
        }
    }
    security(doc, op, &mut out, found, notes)?;
    out.status = op
        .get("responses")
        .and_then(Value::as_object)
        .and_then(|r| {
            r.keys()
                .filter_map(|k| k.parse::<u16>().ok())
                .filter(|s| (200..300).contains(s))
                .min()
        });
    if op.get("callbacks").is_some() {
        notes.push(format!("{}: callbacks are not followed", out.name));
    }
    Ok(out)
}

/// The operation's security (its own, else the document's): the first requirement's first
/// scheme, its credential read from the environment.
fn security(
    doc: &Doc<'_>,
    op: &Value,
    out: &mut Op,
    found: &mut Found,
    notes: &mut Vec<String>,
) -> Result<(), Unresolved> {
    let reqs = op
        .get("security")
        .or_else(|| doc.root.get("security"))
        .and_then(Value::as_array);
    let Some(scheme_name) = reqs
        .and_then(|r| r.first())
        .and_then(Value::as_object)
        .and_then(|m| m.keys().next())
    else {
        return Ok(());
    };
    let at = format!("/components/securitySchemes/{}", seg(scheme_name));
    let scheme = doc.root.pointer(&at).ok_or_else(|| {
        Unresolved::Bad(format!(
            "{at}: the security scheme {scheme_name} is not defined"
        ))
    })?;
    let scheme = doc.resolve(scheme, &at)?;
    let var = env_name(scheme_name);
    let kind = scheme.get("type").and_then(Value::as_str).unwrap_or("");
    let http_scheme = scheme
        .get("scheme")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    let what = format!("the {scheme_name} credential");
    match (kind, http_scheme.as_str()) {
        ("http", "basic") => {
            let r = found.replace(var, format!("{what} (base64 of user:password)"));
            out.headers
                .push(("authorization".into(), format!("Basic {r}")));
        }
        ("http", _) | ("oauth2" | "openIdConnect", _) => {
            if kind != "http" {
                notes.push(format!(
                    "{}: {kind} needs a token from its flow: set {var} to one",
                    out.name
                ));
            }
            let r = found.replace(var, format!("{what} (a bearer token)"));
            out.headers
                .push(("authorization".into(), format!("Bearer {r}")));
        }
        ("apiKey", _) => {
            let name = scheme
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("x-api-key");
            let r = found.replace(var, what);
            match scheme.get("in").and_then(Value::as_str) {
                Some("query") => out.query.push((name.to_string(), r)),
                Some("cookie") => out.headers.push(("cookie".into(), format!("{name}={r}"))),
                _ => out.headers.push((name.to_ascii_lowercase(), r)),
            }
        }
        _ => notes.push(format!(
            "{}: security scheme {scheme_name} ({kind}) is not supported: no credential is sent",
            out.name
        )),
    }
    Ok(())
}

/// The scenario's TOML.
fn write(
    name: &str,
    base: &str,
    ops: Vec<Op>,
    found: Found,
    mut notes: Vec<String>,
) -> Result<Imported, String> {
    use toml_edit::{Array, InlineTable, Item, Table, Value as T, value};
    let mut d = super::starting_doc(
        name,
        &format!("Every operation of the OpenAPI document {name}, against {base}."),
        value(base),
    );
    let mut names = std::collections::HashSet::new();
    let mut reqs = toml_edit::ArrayOfTables::new();
    let mut deletes = 0;
    for op in ops {
        let mut n: String = op
            .name
            .chars()
            .filter(|c| !c.is_control())
            .take(60)
            .collect();
        let base_name = n.clone();
        let mut k = 2;
        while !names.insert(n.clone()) {
            n = format!("{base_name} #{k}");
            k += 1;
        }
        deletes += usize::from(op.method == "DELETE");
        let mut t = Table::new();
        t["name"] = value(n);
        t["method"] = value(op.method.as_str());
        let path = if op.path.starts_with('/') {
            op.path
        } else {
            format!("/{}", op.path)
        };
        // Path text a URL cannot carry ({ } and spaces from an unreplaced template) is escaped.
        let path: String = path
            .chars()
            .flat_map(|c| match c {
                ' ' => "%20".chars().collect::<Vec<_>>(),
                '{' => "%7B".chars().collect(),
                '}' => "%7D".chars().collect(),
                c => vec![c],
            })
            .collect();
        t["path"] = value(literal(&path));
        if !op.query.is_empty() {
            let mut q = InlineTable::new();
            for (k, v) in &op.query {
                q.insert(k, T::from(keep_vars(v)));
            }
            t["query"] = value(q);
        }
        let headers: Vec<_> = op
            .headers
            .iter()
            .filter(|(n, v)| super::check_header(n, v.split("${").next().unwrap_or("")).is_ok())
            .collect();
        if !headers.is_empty() {
            let mut h = InlineTable::new();
            for (k, v) in headers {
                h.insert(k, T::from(keep_vars(v)));
            }
            t["headers"] = value(h);
        }
        if let Some(b) = &op.body {
            t["body"] = value(literal(b));
        }
        if let Some(s) = op.status {
            let mut check = InlineTable::new();
            check.insert("status", i64::from(s).into());
            let mut checks = Array::new();
            checks.push(check);
            t["checks"] = value(checks);
        }
        reqs.push(t);
    }
    d["requests"] = Item::ArrayOfTables(reqs);
    if deletes > 0 {
        notes.push(format!(
            "{deletes} DELETE operation(s) are in the mix: point the target at a test environment"
        ));
    }
    for (env, what) in &found.vars {
        notes.push(format!(
            "{what} reads ${{env.{env}}}: set {env} before running"
        ));
    }
    let header = format!(
        "# {}: written by `loadbench import openapi`.\n\
         # Check the rate, duration, thresholds and values before running it: they are starting points.\n\
         # Load goes to {base} only; credentials come from the environment.\n\n",
        name.replace('\n', " ")
    );
    Ok(Imported {
        toml: format!("{header}{d}"),
        secrets: found.vars,
        notes,
    })
}

/// A value that may hold the `${env.*}` this import wrote, and otherwise literal text.
fn keep_vars(v: &str) -> String {
    match v.find("${env.") {
        Some(i) => format!("{}{}", literal(&v[..i]), &v[i..]),
        None => literal(v),
    }
}
