//! Correlation in a recorded flow: values a response issued (a token in its JSON, a header, a
//! cookie) that later requests send back become extract rules and `${vars.NAME}`, never literals.

use super::Captured;

/// What a recorded response held, for finding the values later requests send back.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// Response headers as recorded.
    pub headers: Vec<(String, String)>,
    /// The response body's text, when recorded.
    pub body: Option<String>,
}

/// Where a step finds a value: `json` (a JSON pointer), `header` or `cookie`, and the key.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The variable.
    pub var: String,
    /// `json`, `header` or `cookie`.
    pub kind: &'static str,
    /// The pointer, header name or cookie name.
    pub key: String,
}

/// What stands for `${vars.NAME}` until the scenario text is escaped.
pub const MARK: &str = "__LBVAR_";

/// Values shorter than this are too likely to appear by chance (`1`, `true`, `en`).
const MIN_LEN: usize = 8;
/// Headers whose values are about the message, not issued state (a Location is a URL; the
/// id inside it is found from the body).
const NOT_STATE: [&str; 15] = [
    "date",
    "content-length",
    "content-type",
    "server",
    "vary",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "cache-control",
    "expires",
    "last-modified",
    "age",
    "location",
    "content-location",
    "link",
];

/// Rewrites `steps` (in recorded order) so every value an earlier answer issued and a later request
/// sends is `MARK…` text; returns each step's rules and a note per correlation found. Cookies
/// the server set leave the later Cookie headers: the journey's cookie jar sends them.
pub fn correlate(steps: &mut [Captured], answers: &[Answer]) -> (Vec<Vec<Rule>>, Vec<String>) {
    let mut rules: Vec<Vec<Rule>> = vec![Vec::new(); steps.len()];
    let mut notes = Vec::new();
    let mut names: Vec<String> = Vec::new();
    // Every value each answer issued, longest first so a token is found before any part of it.
    let mut issued: Vec<(usize, &'static str, String, String)> = Vec::new();
    for (i, a) in answers.iter().enumerate().take(steps.len()) {
        for (n, v) in &a.headers {
            let lower = n.to_ascii_lowercase();
            if lower == "set-cookie" {
                if let Some((cn, cv)) = v.split(';').next().and_then(|c| c.split_once('=')) {
                    issued.push((i, "cookie", cn.trim().to_string(), cv.trim().to_string()));
                }
            } else if !NOT_STATE.contains(&lower.as_str()) {
                issued.push((i, "header", lower, v.trim().to_string()));
            }
        }
        if let Some(body) = &a.body
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(body)
        {
            leaves(&v, String::new(), &mut |pointer, text| {
                issued.push((i, "json", pointer, text));
            });
        }
    }
    // Short values only from id-like JSON fields, and then only as a whole path segment
    // (`/items/42`): a 42 anywhere else is as likely a count as the item.
    issued.retain(|(_, kind, key, v)| {
        !v.is_empty()
            && !v.contains(MARK)
            && (v.len() >= MIN_LEN || (*kind == "json" && id_like(key)))
    });
    issued.sort_by(|a, b| b.3.len().cmp(&a.3.len()).then(a.0.cmp(&b.0)));
    let mut done: Vec<String> = Vec::new();
    for (i, kind, key, value) in issued {
        if done.contains(&value) {
            continue;
        }
        // Cookies go back by the jar: out of later Cookie headers, and no variable needed.
        if kind == "cookie" {
            let mut sent = false;
            for s in steps.iter_mut().skip(i + 1) {
                sent |= drop_cookie(&mut s.headers, &key, &value);
            }
            if sent {
                notes.push(format!(
                    "correlation: cookie {key} set by step {} goes back with later steps (the cookie jar)",
                    i + 1
                ));
                done.push(value);
            }
            continue;
        }
        let short = value.len() < MIN_LEN;
        let used: Vec<usize> = (i + 1..steps.len())
            .filter(|&j| {
                if short {
                    in_path(&steps[j].url, &value)
                } else {
                    sends(&steps[j], &value)
                }
            })
            .collect();
        if used.is_empty() {
            continue;
        }
        let var = name_for(&key, &mut names);
        let mark = format!("{MARK}{var}__");
        for &j in &used {
            if short {
                steps[j].url = replace_segment(&steps[j].url, &value, &mark);
            } else {
                replace_in(&mut steps[j], &value, &mark);
            }
        }
        rules[i].push(Rule {
            var: var.clone(),
            kind,
            key: key.clone(),
        });
        notes.push(format!(
            "correlation: {var} from step {}'s {} {key}, sent by step{} {}",
            i + 1,
            if kind == "json" { "JSON" } else { "header" },
            if used.len() > 1 { "s" } else { "" },
            used.iter()
                .map(|j| (j + 1).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        done.push(value);
    }
    (rules, notes)
}

/// Every string (and long number) leaf of a JSON value with its pointer.
fn leaves(v: &serde_json::Value, at: String, out: &mut dyn FnMut(String, String)) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                leaves(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                leaves(x, format!("{at}/{i}"), out);
            }
        }
        serde_json::Value::String(s) => out(at, s.clone()),
        serde_json::Value::Number(n) => out(at, n.to_string()),
        _ => {}
    }
}

/// A JSON field that names an object: `id`, `item_id`, `itemId`, `uuid`.
fn id_like(pointer: &str) -> bool {
    let last = pointer.rsplit('/').next().unwrap_or("");
    let lower = last.to_ascii_lowercase();
    lower == "id" || lower == "uuid" || lower.ends_with("_id") || last.ends_with("Id")
}

/// The URL's path (before any query) and its segments.
fn segments(url: &str) -> (usize, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path_at = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    let end = url[path_at..]
        .find(['?', '#'])
        .map_or(url.len(), |i| path_at + i);
    (path_at, &url[path_at..end])
}

fn in_path(url: &str, value: &str) -> bool {
    segments(url).1.split('/').any(|seg| seg == value)
}

fn replace_segment(url: &str, value: &str, mark: &str) -> String {
    let (at, path) = segments(url);
    let new: Vec<&str> = path
        .split('/')
        .map(|seg| if seg == value { mark } else { seg })
        .collect();
    format!("{}{}{}", &url[..at], new.join("/"), &url[at + path.len()..])
}

/// Where a URL's path starts: values are looked for after the scheme and host, which stay literal.
fn path_start(url: &str) -> usize {
    segments(url).0
}

fn sends(c: &Captured, value: &str) -> bool {
    c.url[path_start(&c.url)..].contains(value)
        || c.headers
            .iter()
            .any(|(n, v)| !n.eq_ignore_ascii_case("cookie") && v.contains(value))
        || c.body.as_ref().is_some_and(|b| b.contains(value))
}

fn replace_in(c: &mut Captured, value: &str, mark: &str) {
    let at = path_start(&c.url);
    c.url = format!("{}{}", &c.url[..at], c.url[at..].replace(value, mark));
    for (n, v) in &mut c.headers {
        if !n.eq_ignore_ascii_case("cookie") {
            *v = v.replace(value, mark);
        }
    }
    if let Some(b) = &mut c.body {
        *b = b.replace(value, mark);
    }
}

/// Takes cookie `name=value` out of a request's Cookie headers (the header goes when empty).
fn drop_cookie(headers: &mut Vec<(String, String)>, name: &str, value: &str) -> bool {
    let mut found = false;
    for (n, v) in headers.iter_mut() {
        if !n.eq_ignore_ascii_case("cookie") {
            continue;
        }
        let kept: Vec<&str> = v
            .split(';')
            .map(str::trim)
            .filter(|c| {
                let same = c
                    .split_once('=')
                    .is_some_and(|(k, x)| k.trim() == name && x.trim() == value);
                found |= same;
                !same && !c.is_empty()
            })
            .collect();
        *v = kept.join("; ");
    }
    headers.retain(|(n, v)| !(n.eq_ignore_ascii_case("cookie") && v.is_empty()));
    found
}

/// A variable name from a pointer's last part or a header name: letters, digits and single _.
fn name_for(key: &str, names: &mut Vec<String>) -> String {
    let last = key.rsplit('/').next().unwrap_or(key);
    let mut base: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    while base.contains("__") {
        base = base.replace("__", "_");
    }
    let base = base.trim_matches('_').to_string();
    let base = if base.is_empty() {
        "value".to_string()
    } else if base.starts_with(|c: char| c.is_ascii_digit()) {
        format!("v_{base}")
    } else {
        base
    };
    let mut name = base.clone();
    let mut k = 2;
    while names.contains(&name) {
        name = format!("{base}_{k}");
        k += 1;
    }
    names.push(name.clone());
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(url: &str, headers: Vec<(&str, &str)>) -> Captured {
        Captured {
            method: "GET".into(),
            url: url.into(),
            headers: headers
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
            body: None,
            status: None,
        }
    }

    #[test]
    fn the_host_and_links_stay_literal() {
        // The login answer names the host (as a field) and a link; neither is state.
        let mut steps = vec![
            get("http://api.test:8080/login", vec![]),
            get(
                "http://api.test:8080/items/7?t=abcdef123456",
                vec![("x-token", "abcdef123456")],
            ),
        ];
        let answers = vec![
            Answer {
                headers: vec![],
                body: Some(r#"{"host":"api.test:8080","next":"http://api.test:8080/items/7","token":"abcdef123456","id":7}"#.into()),
            },
            Answer::default(),
        ];
        let (rules, _) = correlate(&mut steps, &answers);
        assert_eq!(
            steps[1].url,
            format!("http://api.test:8080/items/{MARK}id__?t={MARK}token__")
        );
        assert_eq!(steps[1].headers[0].1, format!("{MARK}token__"));
        let vars: Vec<&str> = rules[0].iter().map(|r| r.var.as_str()).collect();
        assert_eq!(vars, ["token", "id"]);
    }
}
