//! Scenarios from requests captured elsewhere: a curl command line (what a browser's "Copy as
//! cURL" or an API console gives) or a HAR file (a browser's or a proxy's recording), so a load
//! test starts from real traffic instead of a blank file.
//!
//! Credentials never reach the file: every authorization-like header becomes `${env.NAME}`, and
//! the import says which variables to set.

use std::collections::BTreeMap;

use base64::Engine as _;

mod correlate;
mod curl;
mod har;
mod openapi;
mod yaml;

use super::SENSITIVE_HEADERS;
pub use correlate::MARK as VAR_MARK;
pub use curl::{curl, shell_words};
pub use har::har;
pub use openapi::openapi;

/// One request as it was captured, before it becomes scenario TOML.
#[derive(Debug, Clone, PartialEq)]
pub struct Captured {
    /// HTTP method, upper case.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// Headers in their captured order.
    pub headers: Vec<(String, String)>,
    /// The request body, if any.
    pub body: Option<String>,
    /// The response status the recording saw (HAR), checked on every request of the run.
    pub status: Option<u16>,
}

/// A scenario made from captured requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The scenario as TOML; `loadbench validate` accepts it once its variables are set.
    pub toml: String,
    /// Environment variables the scenario reads instead of the captured credentials, with what
    /// each stands for (`the Authorization header`, `the query parameter code`).
    pub secrets: Vec<(String, String)>,
    /// What was left out or changed, one line each, for the person importing.
    pub notes: Vec<String>,
}

/// Options a capture carries for its target (curl's `-k`, `--http2`).
#[derive(Debug, Clone, Default, PartialEq)]
struct TargetOptions {
    insecure: bool,
    http2: bool,
}

/// Headers a client sets per connection or per message; a scenario must not fix them.
const CONNECTION_HEADERS: [&str; 8] = [
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "te",
    "proxy-connection",
];

/// `scheme://host[:port]` of an absolute URL.
fn origin(url: &str) -> Result<String, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("\"{url}\" is not a URL: {e}"))?;
    let scheme = uri
        .scheme_str()
        .ok_or_else(|| format!("\"{url}\" has no scheme"))?;
    if scheme != "http" && scheme != "https" {
        return Err(format!("\"{url}\": only http and https can be load-tested"));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| format!("\"{url}\" has no host"))?;
    // Credentials in the URL (user:pass@) would land in the file: refuse them.
    if authority.as_str().contains('@') {
        return Err(format!(
            "\"{url}\" carries credentials in the URL; pass them as a header instead"
        ));
    }
    Ok(format!("{scheme}://{authority}"))
}

fn host_of(origin: &str) -> &str {
    let rest = origin.split_once("://").map_or(origin, |(_, r)| r);
    if rest.starts_with('[') {
        return rest
            .split_once(']')
            .map_or(rest, |(h, _)| h.trim_start_matches('['));
    }
    rest.rsplit_once(':').map_or(rest, |(h, _)| h)
}

/// Literal text made safe for the scenario's templates: `${` would start a variable.
fn literal(text: &str) -> String {
    text.replace("${", "$${")
}

use super::credentials::env_name;

/// The scenario TOML for captured requests to one origin, each with its weight.
fn scenario(
    name: &str,
    requests: &[(Captured, u32)],
    opts: &TargetOptions,
    journey: Option<&[Vec<correlate::Rule>]>,
) -> Result<Imported, String> {
    use toml_edit::{Array, InlineTable, Item, Table, Value, value};
    let first = &requests.first().ok_or("nothing to import")?.0;
    let base = origin(&first.url)?;
    let target = if opts.insecure || opts.http2 {
        let mut t = InlineTable::new();
        t.insert("url", base.as_str().into());
        if opts.insecure {
            t.insert("insecure", true.into());
        }
        if opts.http2 {
            t.insert("http", "2".into());
        }
        value(t)
    } else {
        value(base.as_str())
    };
    let mut doc = starting_doc(name, &format!("Requests captured against {base}."), target);
    let mut found = super::credentials::Found::default();
    let mut notes = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    // Names given so far, and for each base name the next number to try.
    let mut names: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut next_number: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut reqs = toml_edit::ArrayOfTables::new();
    for (c, weight) in requests {
        let uri: http::Uri = c
            .url
            .parse()
            .map_err(|e| format!("\"{}\" is not a URL: {e}", c.url))?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let plain = path.split('?').next().unwrap_or("/");
        let mut req_name: String = format!("{} {plain}", c.method).chars().take(60).collect();
        if names.contains(&req_name) {
            let base_name = req_name.clone();
            let k = next_number.entry(base_name.clone()).or_insert(2);
            while names.contains(&req_name) {
                req_name = format!("{base_name} #{k}");
                *k += 1;
            }
        }
        names.insert(req_name.clone());
        let mut t = Table::new();
        t["name"] = value(req_name);
        t["method"] = value(c.method.as_str());
        t["path"] = value(super::credentials::scrub_query(&path, &mut found, literal));
        if *weight > 1 {
            t["weight"] = value(i64::from(*weight));
        }
        let mut headers = InlineTable::new();
        for (n, v) in &c.headers {
            let lower = n.to_ascii_lowercase();
            if n.starts_with(':') || CONNECTION_HEADERS.contains(&lower.as_str()) {
                if !dropped.contains(&lower) {
                    dropped.push(lower);
                }
                continue;
            }
            if headers.contains_key(&lower) {
                continue;
            }
            let sensitive = (SENSITIVE_HEADERS.contains(&lower.as_str())
                || super::credentials::secret_name(&lower)
                || super::credentials::secret_value(v))
                && !v.contains(VAR_MARK);
            let v = if sensitive {
                found.replace(env_name(&lower), format!("the {n} header"))
            } else {
                super::credentials::scrub_header_value(v, &mut found, literal)
            };
            headers.insert(&lower, Value::from(v));
        }
        if !headers.is_empty() {
            t["headers"] = value(headers);
        }
        if let Some(b) = &c.body {
            t["body"] = value(super::credentials::scrub_body(b, &mut found, literal));
        }
        if let Some(s) = c.status {
            let mut check = InlineTable::new();
            check.insert("status", i64::from(s).into());
            let mut checks = Array::new();
            checks.push(check);
            t["checks"] = value(checks);
        }
        if let Some(rules) = journey
            .and_then(|j| j.get(reqs.len()))
            .filter(|r| !r.is_empty())
        {
            let mut list = Array::new();
            for r in rules {
                let mut e = InlineTable::new();
                e.insert("var", r.var.as_str().into());
                e.insert(r.kind, r.key.as_str().into());
                list.push(e);
            }
            t["extract"] = value(list);
        }
        reqs.push(t);
    }
    match journey {
        // The recording's order kept: one journey, its steps as recorded.
        Some(_) => {
            let mut j = Table::new();
            j["name"] = value("recorded");
            j["steps"] = Item::ArrayOfTables(reqs);
            let mut js = toml_edit::ArrayOfTables::new();
            js.push(j);
            doc["journeys"] = Item::ArrayOfTables(js);
        }
        None => doc["requests"] = Item::ArrayOfTables(reqs),
    }
    if !dropped.is_empty() {
        notes.push(format!(
            "left out headers the client sets itself: {}",
            dropped.join(", ")
        ));
    }
    for (env, what) in &found.vars {
        notes.push(format!(
            "{what} reads ${{env.{env}}}: set {env} before running (its captured value was not \
             written)"
        ));
    }
    let header = format!(
        "# {name}: written by `loadbench import`.\n\
         # Check the rate, duration and thresholds before running it: they are starting points.\n\
         # Load goes to {base} only; credentials come from the environment.\n\n"
    );
    let mut toml = format!("{header}{doc}");
    // The values the server issued become the variables their steps extract.
    let mut vars: Vec<&str> = journey
        .into_iter()
        .flatten()
        .flatten()
        .map(|r| r.var.as_str())
        .collect();
    vars.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for v in vars {
        toml = toml.replace(&format!("{VAR_MARK}{v}__"), &format!("${{vars.{v}}}"));
    }
    Ok(Imported {
        toml,
        secrets: found.vars,
        notes,
    })
}

/// An imported scenario's top: its name, description, the starting-point duration, timeout,
/// thresholds and open-model load, and its one target `api`.
fn starting_doc(name: &str, description: &str, target: toml_edit::Item) -> toml_edit::DocumentMut {
    use toml_edit::{Array, DocumentMut, Item, Table, value};
    let mut doc = DocumentMut::new();
    doc["name"] = value(name);
    doc["description"] = value(description);
    doc["duration"] = value("30s");
    doc["warmup"] = value("5s");
    doc["timeout"] = value("10s");
    let mut thresholds = Array::new();
    thresholds.push("p95 < 500ms");
    thresholds.push("error_rate < 1%");
    doc["thresholds"] = value(thresholds);
    let mut targets = Table::new();
    targets["api"] = target;
    doc["targets"] = Item::Table(targets);
    let mut load = Table::new();
    load["model"] = value("open");
    load["rate"] = value(10);
    load["max_in_flight"] = value(100);
    doc["load"] = Item::Table(load);
    doc
}

/// A header HTTP can carry: a valid name, and a value without control characters.
fn check_header(name: &str, value: &str) -> Result<(), String> {
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!("\"{name}\" is not a valid header name"));
    }
    if http::HeaderValue::from_str(value).is_err() {
        return Err(format!(
            "the value of header {name} has characters HTTP does not allow"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(toml: &str) -> crate::scenario::Scenario {
        crate::scenario::Scenario::parse(toml, None, &|_| Some("set-by-test".into()))
            .unwrap_or_else(|e| panic!("{e}\n{toml}"))
    }

    #[test]
    fn shell_words_read_quotes_like_bash() {
        let w = shell_words(
            "curl 'http://a/b c' -H \"X-A: \\\"q\\\" $HOME\" \\\n --data-raw $'{\\n\\\"k\\\":\\x41}' x\\ y",
        )
        .expect("splits");
        assert_eq!(
            w,
            [
                "curl",
                "http://a/b c",
                "-H",
                "X-A: \"q\" $HOME",
                "--data-raw",
                "{\n\"k\":A}",
                "x y"
            ]
        );
        assert!(shell_words("curl 'open").is_err());
    }

    #[test]
    fn a_copied_curl_command_becomes_a_valid_scenario_without_its_secrets() {
        let cmd = r#"curl 'https://127.0.0.1:8443/v1/count?model=small&model=big' \
  -H 'authorization: Bearer sk-live-123' \
  -H 'content-type: application/json' \
  -H 'x-note: costs ${HOME}' \
  --data-raw '{"text":"hello ${name}"}' \
  --compressed -k"#;
        let imp = curl(cmd).expect("imports");
        assert!(!imp.toml.contains("sk-live-123"), "{}", imp.toml);
        assert_eq!(
            imp.secrets,
            [("AUTHORIZATION".into(), "the authorization header".into())]
        );
        let s = valid(&imp.toml);
        let r = &s.requests[0];
        assert_eq!(r.method, http::Method::POST);
        assert!(s.targets[0].insecure);
        // The duplicate query keys and the literal `${…}` text survive as written.
        assert!(
            imp.toml.contains("/v1/count?model=small&model=big"),
            "{}",
            imp.toml
        );
        assert!(imp.toml.contains("$${name}") && imp.toml.contains("$${HOME}"));
        assert!(imp.notes.iter().any(|n| n.contains("set AUTHORIZATION")));
    }

    #[test]
    fn curl_defaults_follow_curl() {
        // -d without a method is a form POST; -G moves the data into the query; -u is basic auth.
        let imp = curl("curl http://127.0.0.1:8080/search -G -d q=rust -u me:pw").expect("imports");
        let s = valid(&imp.toml);
        assert_eq!(s.requests[0].method, http::Method::GET);
        assert!(imp.toml.contains("/search?q=rust"), "{}", imp.toml);
        assert!(
            !imp.toml
                .contains(&base64::engine::general_purpose::STANDARD.encode("me:pw"))
        );
        let imp = curl("curl -d a=1 127.0.0.1:9000/form").expect("imports");
        assert!(imp.toml.contains("application/x-www-form-urlencoded"));
        assert_eq!(valid(&imp.toml).requests[0].method, http::Method::POST);
    }

    #[test]
    fn curl_mistakes_say_which_argument() {
        let e = curl("curl http://127.0.0.1/ --frobnicate").expect_err("unknown option");
        assert!(e.contains("argument 3 (--frobnicate)"), "{e}");
        let e = curl("curl -H").expect_err("missing value");
        assert!(e.contains("expects a value"), "{e}");
        let e = curl("curl -s").expect_err("no url");
        assert!(e.contains("no URL"), "{e}");
        let e = curl("curl http://127.0.0.1/ -é").expect_err("not an option");
        assert!(e.contains("-é"), "{e}");
        let e = curl("curl http://u:p@127.0.0.1/").expect_err("credentials in url");
        assert!(e.contains("credentials"), "{e}");
    }

    #[test]
    fn page_assets_and_browser_urls_are_left_out_unless_asked() {
        let doc = serde_json::json!({"log": {"entries": [
            {"request": {"method": "GET", "url": "http://127.0.0.1:8080/api/items", "headers": []},
             "_resourceType": "fetch", "response": {"status": 200}},
            {"request": {"method": "GET", "url": "http://127.0.0.1:8080/static/app.js", "headers": []},
             "_resourceType": "script", "response": {"status": 200}},
            {"request": {"method": "GET", "url": "http://127.0.0.1:8080/logo.png?v=2", "headers": []},
             "response": {"status": 200, "content": {"mimeType": "image/png"}}},
            {"request": {"method": "GET", "url": "data:image/png;base64,AAAA", "headers": []}}
        ]}})
        .to_string();
        let imp = har(&doc, None, false, false).expect("imports");
        assert_eq!(valid(&imp.toml).requests.len(), 1, "{}", imp.toml);
        assert!(
            imp.notes.iter().any(|n| n.contains("2 page assets")),
            "{:?}",
            imp.notes
        );
        assert!(
            imp.notes.iter().any(|n| n.contains("1 data:")),
            "{:?}",
            imp.notes
        );
        let all = har(&doc, None, true, false).expect("imports");
        assert_eq!(valid(&all.toml).requests.len(), 3);
    }

    #[test]
    fn a_har_recording_keeps_one_origin_merges_repeats_and_checks_statuses() {
        let entry = |method: &str, url: &str, status: u16| {
            serde_json::json!({
                "request": {
                    "method": method, "url": url,
                    "headers": [
                        {"name": ":authority", "value": "x"},
                        {"name": "Cookie", "value": "session=abc"},
                        {"name": "Accept", "value": "application/json"}
                    ],
                    "postData": if method == "POST" { serde_json::json!({"mimeType": "application/json", "text": "{\"n\":1}"}) } else { serde_json::Value::Null }
                },
                "response": {"status": status}
            })
        };
        let har_doc = serde_json::json!({"log": {"entries": [
            entry("GET", "http://127.0.0.1:8080/v1/items?page=1", 200),
            entry("GET", "http://127.0.0.1:8080/v1/items?page=1", 200),
            entry("POST", "http://127.0.0.1:8080/v1/items", 201),
            entry("GET", "https://cdn.example.com/app.js", 200),
        ]}});
        let imp = har(&har_doc.to_string(), None, true, false).expect("imports");
        let s = valid(&imp.toml);
        assert_eq!(s.requests.len(), 2);
        assert_eq!(s.requests[0].weight, 2);
        assert!(s.requests[1].has_status_check());
        assert!(!imp.toml.contains("session=abc") && imp.toml.contains("${env.COOKIE}"));
        assert!(!imp.toml.contains(":authority"));
        assert!(imp.notes[0].contains("cdn.example.com"), "{:?}", imp.notes);
        let e =
            har(&har_doc.to_string(), Some("example.org"), true, false).expect_err("no such host");
        assert!(e.contains("127.0.0.1:8080 (3)"), "{e}");
        let e = har("{\"log\": {}}", None, false, false).expect_err("no entries");
        assert!(e.contains("log.entries"), "{e}");
    }

    #[test]
    fn every_kind_of_captured_credential_becomes_an_environment_variable() {
        let h = |n: &str, v: &str| serde_json::json!({"name": n, "value": v});
        let entry = |method: &str,
                     url: &str,
                     headers: Vec<serde_json::Value>,
                     body: Option<(&str, &str)>| {
            let mut req = serde_json::json!({"method": method, "url": url, "headers": headers});
            if let Some((mime, text)) = body {
                req["postData"] = serde_json::json!({"mimeType": mime, "text": text});
            }
            serde_json::json!({"request": req, "response": {"status": 200, "content": {"mimeType": "application/json"}}})
        };
        let har_text = serde_json::json!({"log": {"version": "1.2", "entries": [
            entry("GET", "https://api.test/v1/a?access_token=SECRET-A1&page=2&api_key=SECRET-A2&sig=SECRET-A3", vec![
                h("Ocp-Apim-Subscription-Key", "SECRET-H1"),
                h("X-Functions-Key", "SECRET-H2"),
                h("X-Password", "SECRET-H3"),
                h("X-Access-Key", "SECRET-H4"),
                h("x-api_key", "SECRET-H5"),
                h("X-Signature", "SECRET-H6"),
                h("Referer", "https://app.test/callback?code=SECRET-R1&state=xyz"),
                h("Accept", "application/json"),
            ], None),
            entry("POST", "https://api.test/v1/login", vec![h("Content-Type", "application/json")],
                Some(("application/json", r#"{"user":"ann","password":"SECRET-B1","app":{"client_secret":"SECRET-B2"}}"#))),
            entry("POST", "https://api.test/oauth/token", vec![h("Content-Type", "application/x-www-form-urlencoded")],
                Some(("application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=app&client_secret=SECRET-F1"))),
        ]}})
        .to_string();
        let imp = har(&har_text, None, false, false).expect("imports");
        assert!(!imp.toml.contains("SECRET-"), "{}", imp.toml);
        for kept in [
            "page=2",
            "state=xyz",
            "\"user\":\"ann\"",
            "client_id=app",
            "application/json",
        ] {
            assert!(imp.toml.contains(kept), "{kept} kept: {}", imp.toml);
        }
        for var in [
            "ACCESS_TOKEN",
            "API_KEY",
            "SIG",
            "OCP_APIM_SUBSCRIPTION_KEY",
            "X_FUNCTIONS_KEY",
            "X_PASSWORD",
            "X_ACCESS_KEY",
            "X_API_KEY",
            "X_SIGNATURE",
            "CODE",
            "PASSWORD",
            "CLIENT_SECRET",
        ] {
            assert!(
                imp.notes
                    .iter()
                    .any(|n| n.contains(&format!("set {var} before"))),
                "{var}: {:?}",
                imp.notes
            );
        }
        valid(&imp.toml);
    }
}
