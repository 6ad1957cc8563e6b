//! Journeys against the demo's authenticated API: every extract kind feeding later steps, an
//! expired token as classified 401s, a rule that finds nothing ending its iteration, and bad
//! journeys refused at their line.

mod common;

use common::{recorded_run, run, scenario, serial};

/// The items journey: log in, create, read back, delete; `login_query` tunes the login.
fn items(load: &str, login_query: &str, create_extract: &str, think: &str) -> String {
    format!(
        r#"
name = "items journey"
duration = "2s"
[targets]
api = "demo"
[load]
{load}

[[journeys]]
name = "items"

[[journeys.steps]]
name = "login"
method = "POST"
path = "/v1/auth/login"
query = {{ {login_query} }}
json = {{ user = "ann", password = "demo-password" }}
checks = [{{ status = 200 }}]
extract = [
  {{ var = "token", json = "$.token" }},
  {{ var = "csrf", header = "x-csrf-token" }},
  {{ var = "session", cookie = "session" }},
]
think_time = "{think}"

[[journeys.steps]]
name = "create"
method = "POST"
path = "/v1/items"
headers = {{ authorization = "Bearer ${{vars.token}}", x-csrf-token = "${{vars.csrf}}" }}
json = {{ name = "widget of ${{vars.session}}" }}
checks = [{{ status = 201 }}]
extract = [{{ var = "id", regex = '{create_extract}' }}]

[[journeys.steps]]
name = "read"
path = "/v1/items/${{vars.id}}"
headers = {{ authorization = "Bearer ${{vars.token}}" }}
checks = [{{ status = 200 }}, {{ body_contains = "widget of " }}]

[[journeys.steps]]
name = "delete"
method = "DELETE"
path = "/v1/items/${{vars.id}}"
headers = {{ authorization = "Bearer ${{vars.token}}" }}
checks = [{{ status = 204 }}]
"#
    )
}

fn count(o: &loadbench::engine::Outcome, step: &str) -> (u64, u64) {
    count_in(&o.summary, step)
}

#[test]
fn each_extract_kind_feeds_the_steps_after_it() {
    let _g = serial();
    // Open model: 20 iterations a second, each its four steps in order on one connection.
    let (o, _) = run(scenario(&items(
        "model = \"open\"\nrate = 20",
        "",
        r#""id":(\d+)"#,
        "0s",
    )));
    assert_eq!(
        o.summary.total.errors, 0,
        "{:?}",
        o.summary.total.error_kinds
    );
    let login = count(&o, "login");
    assert!(login.0 >= 38, "{login:?}");
    for step in ["create", "read", "delete"] {
        // The token (JSON), the CSRF token (a header), the session (a cookie the jar sends back
        // and the CSRF check needs), the id (a regex) all arrived: every step succeeded.
        assert_eq!(count(&o, step), login, "{step}");
    }
    // Closed model: two users looping the journey.
    let (o, _) = run(scenario(&items(
        "model = \"closed\"\nvus = 2",
        "",
        r#""id":(\d+)"#,
        "0s",
    )));
    assert_eq!(
        o.summary.total.errors, 0,
        "{:?}",
        o.summary.total.error_kinds
    );
    let (logins, deletes) = (count(&o, "login").0, count(&o, "delete").0);
    assert!(deletes >= 50, "{deletes}");
    assert!(
        logins - deletes <= 2,
        "iterations end whole: {logins} logins, {deletes} deletes"
    );
}

#[test]
fn an_expired_token_is_a_401_and_a_rule_that_finds_nothing_ends_the_iteration() {
    let _g = serial();
    // The token lives 5 ms; the step after login waits 30 ms: every create is a 401.
    let (o, _) = run(scenario(&items(
        "model = \"open\"\nrate = 20",
        "ttl_ms = \"5\"",
        r#""id":(\d+)"#,
        "30ms",
    )));
    let (logins, creates) = (count(&o, "login"), count(&o, "create"));
    assert_eq!(logins.1, 0);
    assert_eq!(creates.1, creates.0, "every create failed: {creates:?}");
    let e = o
        .summary
        .endpoints
        .iter()
        .find(|e| e.request == "items/create")
        .expect("create");
    assert_eq!(
        e.status_codes.get("401").copied(),
        Some(creates.0),
        "{:?}",
        e.status_codes
    );
    // A failed step ends its iteration: nothing is read or deleted.
    assert_eq!(count(&o, "read").0, 0);
    assert_eq!(count(&o, "delete").0, 0);
    // A rule that finds nothing in a good answer: `extract`, and the iteration ends there.
    let (o, _) = run(scenario(&items(
        "model = \"open\"\nrate = 20",
        "",
        "no such text",
        "0s",
    )));
    let creates = count(&o, "create");
    assert!(creates.0 >= 38);
    assert_eq!(
        o.summary.endpoints[1].error_kinds.get("extract").copied(),
        Some(creates.0),
        "{:?}",
        o.summary.endpoints[1].error_kinds
    );
    assert_eq!(count(&o, "read").0, 0);
}

/// The items journey with its own thresholds on whole iterations.
fn items_judged(think: &str, login_query: &str, thresholds: &str) -> String {
    items(
        "model = \"open\"\nrate = 20",
        login_query,
        r#""id":(\d+)"#,
        think,
    )
    .replace(
        "name = \"items\"\n",
        &format!("name = \"items\"\nthresholds = [{thresholds}]\n"),
    )
}

#[test]
fn a_journeys_whole_iterations_are_a_series_of_their_own_stored_exported_and_compared() {
    let _g = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("runs.db");
    // 30 ms of think time after the login: each iteration lasts at least that.
    let text = items_judged("30ms", "", r#""p50 < 10s", "error_rate < 1%""#);
    let (id, summary) = recorded_run(&db, &text, |_, _| {});
    let j = &summary.journeys;
    assert_eq!(j.len(), 1, "{j:?}");
    let (journey, deletes) = (&j[0], count_in(&summary, "delete"));
    assert_eq!((journey.request.as_str(), journey.errors), ("items", 0));
    // An iteration is recorded when its last step ends: one per delete, none cut short.
    assert!(journey.count >= 30, "{journey:?}");
    assert_eq!(journey.count, deletes.0);
    // From the first step's intended start to the last step's end, think time included; the
    // steps' service time leaves it out.
    let p50 = journey.latency.p50_ms;
    assert!((30.0..55.0).contains(&p50), "iteration p50 {p50} ms");
    assert!(journey.service_time.p50_ms < 25.0, "{journey:?}");
    // An iteration is not one more request: the total is the steps'.
    let steps: u64 = summary.endpoints.iter().map(|e| e.count).sum();
    assert_eq!(summary.total.count, steps);
    // Its thresholds are judged on whole iterations.
    let judged: Vec<_> = summary
        .thresholds
        .iter()
        .filter(|t| t.scope == "journey:items")
        .collect();
    assert_eq!(judged.len(), 2, "{:?}", summary.thresholds);
    assert!(judged.iter().all(|t| t.passed), "{judged:?}");
    assert_eq!(judged[0].actual, Some(journey.latency.p50_ms * 1000.0));

    // Stored: the totals, the ticks and the chart points give the same iterations back.
    let store = loadbench::store::Store::open(&db).expect("open");
    let run = store.run(id).expect("run");
    assert_eq!(run.info.journeys, vec!["items".to_string()]);
    let acc = store.totals(id).expect("totals");
    let rebuilt = loadbench::metrics::Summary::build(
        &run.info,
        &acc,
        summary.status,
        std::time::SystemTime::now(),
    );
    assert_eq!(rebuilt.journeys[0].count, journey.count);
    assert_eq!(rebuilt.journeys[0].latency, journey.latency);
    assert_eq!(
        rebuilt.total.count, summary.total.count,
        "totals leave it out"
    );
    let per_tick: u64 = store
        .ticks(id)
        .expect("ticks")
        .iter()
        .map(|t| t.journeys.iter().map(|s| s.requests).sum::<u64>())
        .sum();
    let points = store.journey_points(id, 1).expect("points");
    let charted: u64 = points[0].iter().map(|p| p.requests).sum();
    // Warm-up-free run: every tick's iterations are the summary's.
    assert_eq!((per_tick, charted), (journey.count, journey.count));

    // Reported: a table in Markdown, a row per second in CSV.
    let report = loadbench::report::Report::load(&store, id).expect("report");
    let md_path = dir.path().join("r.md");
    let csv_path = dir.path().join("r.csv");
    use loadbench::report::{Format, write};
    write(&report, Format::Markdown, &md_path, false).expect("md");
    write(&report, Format::Csv, &csv_path, false).expect("csv");
    let md = std::fs::read_to_string(&md_path).expect("md");
    let row = format!("| items | {} | ", journey.count);
    assert!(md.contains("## Journeys") && md.contains(&row), "{md}");
    // The opening line says what the schedule counted beside the requests it sent.
    let about = format!("; {} iterations of journey items at ", journey.count);
    assert!(md.contains(&about), "{md}");
    let csv = std::fs::read_to_string(&csv_path).expect("csv");
    let csv_iterations: u64 = csv
        .lines()
        .filter(|l| l.contains(",items,(journey),"))
        .filter_map(|l| l.split(',').nth(6)?.parse::<u64>().ok())
        .sum();
    assert_eq!(csv_iterations, journey.count, "{csv}");

    // Exported and imported (as a run of its own): the journey travels with it.
    let mut doc = store.export_run(id).expect("export");
    doc.uuid = format!("{}-copy", doc.uuid);
    let copy = store.import_run(&doc).expect("import");
    let imported = store.run(copy).expect("copy").summary.expect("summary");
    assert_eq!(imported.journeys[0].count, journey.count);
    assert_eq!(imported.journeys[0].latency, journey.latency);

    // A file whose ticks name a journey its run does not have, or with too many, is refused at
    // the place, and stores nothing.
    let runs = || {
        store
            .list_runs(&loadbench::store::RunFilter::default())
            .expect("list")
            .len()
    };
    let before = runs();
    let mut bad = store.export_run(id).expect("export");
    bad.uuid = format!("{}-bad", bad.uuid);
    bad.info.journeys.clear();
    let e = store.import_run(&bad).expect_err("refused").to_string();
    assert!(e.contains("journey 0: the run has 0 journeys"), "{e}");
    bad.info.journeys = (0..1001).map(|i| format!("j{i}")).collect();
    let e = store.import_run(&bad).expect_err("refused").to_string();
    assert!(e.contains("at most 1000 distinct names"), "{e}");
    assert_eq!(runs(), before);

    // Compared: the journey is a row of its own, matched by name.
    let c = loadbench::analysis::compare::compare_runs(&store, id, copy).expect("compare");
    let names: Vec<&str> = c.requests.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"items@(journey)"), "{names:?}");
    // People read it as the results tables name it; the identifier above stays for JSON.
    assert_eq!(
        loadbench::analysis::compare::shown("items@(journey)"),
        "items (journey)"
    );
    assert_eq!(loadbench::analysis::compare::shown("*"), "all");
    assert_eq!(
        loadbench::analysis::compare::shown("items/login@api"),
        "items/login@api"
    );
    let report = loadbench::report::Report::load_compared(&store, copy, &[id]).expect("load");
    let rows = report.comparison_rows();
    assert!(
        rows[0].rows.iter().any(|r| r[0] == "items (journey)"),
        "{:?}",
        rows[0].rows
    );
}

#[test]
fn failed_iterations_count_as_failed_journeys_by_their_steps_error() {
    let _g = serial();
    // The token expires before the create: every iteration ends there, as that step's 401.
    let (o, _) = run(scenario(&items_judged(
        "30ms",
        "ttl_ms = \"5\"",
        r#""error_rate < 1%""#,
    )));
    let creates = count_in(&o.summary, "create");
    let journey = &o.summary.journeys[0];
    assert_eq!((journey.count, journey.errors), (creates.0, creates.0));
    let create = o
        .summary
        .endpoints
        .iter()
        .find(|e| e.request == "items/create")
        .expect("create");
    assert_eq!(journey.error_kinds, create.error_kinds);
    assert_eq!(journey.status_codes, create.status_codes);
    // Failed iterations count at the time they ended: after the login and its think time.
    assert!(journey.latency.p50_ms >= 30.0, "{journey:?}");
    let verdict = o
        .summary
        .thresholds
        .iter()
        .find(|t| t.scope == "journey:items")
        .expect("judged");
    assert!(!verdict.passed, "{verdict:?}");
    assert!(!o.summary.thresholds_passed);
}

fn count_in(s: &loadbench::metrics::Summary, step: &str) -> (u64, u64) {
    let e = s
        .endpoints
        .iter()
        .find(|e| e.request == format!("items/{step}"))
        .unwrap_or_else(|| panic!("items/{step} in {:?}", s.endpoints));
    (e.count, e.errors)
}

#[test]
fn bad_journeys_are_refused_at_their_line() {
    let base = |extra: &str| {
        format!(
            "name = \"j\"\nduration = \"1s\"\n[targets]\napi = \"demo\"\n[load]\nmodel = \"open\"\nrate = 1\n{extra}"
        )
    };
    for (text, says, line) in [
        (
            base("[[journeys]]\nname = \"j\"\n[[journeys.steps]]\nname = \"a\"\npath = \"/${vars.token}\"\n"),
            "${vars.token} is not extracted by an earlier step of journey j",
            ":10:",
        ),
        (
            base("[[journeys]]\nname = \"j\"\n[[journeys.steps]]\nname = \"a\"\npath = \"/\"\nextract = [{ var = \"t\", json = \"$..x\" }]\n"),
            "an empty or wildcard name",
            ":13:",
        ),
        (
            base("[[journeys]]\nname = \"j\"\n[[journeys.steps]]\nname = \"a\"\npath = \"/\"\nextract = [{ var = \"t\", json = \"$.a\", header = \"x\" }]\n"),
            "exactly one of json, header, regex or cookie",
            ":13:",
        ),
        (
            base("[[journeys]]\nname = \"j\"\n[[journeys.steps]]\nname = \"a\"\npath = \"/\"\nextract = [{ var = \"t\", regex = \"(\" }]\n"),
            "regex:",
            ":13:",
        ),
        (
            base("[[requests]]\nname = \"r\"\npath = \"/\"\nextract = [{ var = \"t\", json = \"$.a\" }]\n"),
            "extract belongs to a journey's steps",
            ":12:",
        ),
        (
            base("[[journeys]]\nname = \"j\"\nthresholds = [\"p95 <\"]\n[[journeys.steps]]\nname = \"a\"\npath = \"/\"\n"),
            "bad threshold",
            ":10:",
        ),
        (
            base("[[requests]]\nname = \"r\"\npath = \"/${vars.t}\"\n"),
            "plain requests have none",
            ":9:",
        ),
        (
            "name = \"j\"\nduration = \"1s\"\n[targets]\na = \"demo\"\nb = \"demo\"\n[load]\nmodel = \"open\"\nrate = 1\n\
             [[journeys]]\nname = \"j\"\n[[journeys.steps]]\nname = \"a\"\npath = \"/\"\n"
                .to_string(),
            "a journey needs target",
            ":9:",
        ),
    ] {
        let e = loadbench::scenario::Scenario::parse(&text, None, &|_| None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains(says) && e.contains(line), "{says} at {line}\n got: {e}");
    }
}

/// One exchange with the demo over a fresh connection, recorded as a HAR entry.
fn record(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&str>,
) -> (serde_json::Value, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    let body_text = body.unwrap_or("");
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    if body.is_some() {
        req.push_str(&format!(
            "content-type: application/json\r\ncontent-length: {}\r\n",
            body_text.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body_text);
    s.write_all(req.as_bytes()).expect("write");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let (head, resp_body) = raw.split_once("\r\n\r\n").expect("a response");
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let resp_headers: Vec<serde_json::Value> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| serde_json::json!({"name": n.trim(), "value": v.trim()}))
        .collect();
    let mut req_headers: Vec<serde_json::Value> = headers
        .iter()
        .map(|(n, v)| serde_json::json!({"name": n, "value": v}))
        .collect();
    req_headers.push(serde_json::json!({"name": "Host", "value": addr.to_string()}));
    let mut request = serde_json::json!({
        "method": method, "url": format!("http://{addr}{path}"), "headers": req_headers,
    });
    if let Some(b) = body {
        request["postData"] = serde_json::json!({"mimeType": "application/json", "text": b});
    }
    let entry = serde_json::json!({
        "request": request,
        "response": {"status": status, "headers": resp_headers,
                     "content": {"mimeType": "application/json", "text": resp_body}},
        "_resourceType": "fetch",
    });
    (entry, resp_body.to_string())
}

#[test]
fn a_recorded_login_flow_imports_as_a_journey_that_finds_its_own_correlations() {
    let _g = serial();
    let demo = loadbench::demo::DemoServer::start(Default::default()).expect("demo");
    let addr = demo.addr;
    // A real session recorded: log in, create with the token, CSRF header and cookie, read, delete.
    let (login, body) = record(
        addr,
        "POST",
        "/v1/auth/login",
        &[],
        Some(r#"{"user":"ann","password":"demo-password"}"#),
    );
    let token = serde_json::from_str::<serde_json::Value>(&body).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let header = |name: &str| {
        login["response"]["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|h| {
                h["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .and_then(|h| h["value"].as_str())
            .expect("header")
            .to_string()
    };
    let csrf = header("x-csrf-token");
    let session = header("set-cookie")
        .split(';')
        .next()
        .expect("cookie")
        .to_string();
    let auth = ("Authorization", format!("Bearer {token}"));
    let (create, body) = record(
        addr,
        "POST",
        "/v1/items",
        &[
            auth.clone(),
            ("X-CSRF-Token", csrf.clone()),
            ("Cookie", session.clone()),
        ],
        Some(r#"{"name":"recorded"}"#),
    );
    let id = serde_json::from_str::<serde_json::Value>(&body).expect("json")["id"].to_string();
    let (read, _) = record(
        addr,
        "GET",
        &format!("/v1/items/{id}"),
        std::slice::from_ref(&auth),
        None,
    );
    let (delete, _) = record(
        addr,
        "DELETE",
        &format!("/v1/items/{id}"),
        std::slice::from_ref(&auth),
        None,
    );
    let har = serde_json::json!({"log": {"entries": [login, create, read, delete]}}).to_string();
    let i = loadbench::scenario::import::har(&har, None, false, true).expect("imports");
    // Every value the server issued is extracted where it appeared, never written as a literal.
    for secret in [&token, &csrf, &session] {
        assert!(!i.toml.contains(secret.as_str()), "{secret} in\n{}", i.toml);
    }
    assert!(
        i.toml.contains(r#"authorization = "Bearer ${vars.token}""#),
        "{}",
        i.toml
    );
    assert!(
        i.toml.contains(r#"x-csrf-token = "${vars.x_csrf_token}""#),
        "{}",
        i.toml
    );
    assert!(i.toml.contains("/v1/items/${vars.id}"), "{}", i.toml);
    assert!(
        i.toml.contains(r#"{ var = "token", json = "/token" }"#),
        "{}",
        i.toml
    );
    let said = i.notes.join("\n");
    assert!(said.contains("cookie session set by step 1"), "{said}");
    assert!(
        said.contains("correlation: token from step 1's JSON /token, sent by steps 2, 3, 4"),
        "{said}"
    );
    // The typed password is still a credential from the environment.
    assert!(i.toml.contains("${env.PASSWORD}"), "{}", i.toml);
    // It runs against the same demo with fresh tokens, ids and cookies: no step fails.
    let text = i
        .toml
        .replace("duration = \"30s\"", "duration = \"2s\"")
        .replace("warmup = \"5s\"", "warmup = \"0s\"");
    let s = loadbench::scenario::Scenario::parse(&text, None, &|n| {
        (n == "PASSWORD").then(|| "demo-password".to_string())
    })
    .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let (o, _) = run(s);
    assert_eq!(
        o.summary.total.errors, 0,
        "{:?}\n{text}",
        o.summary.total.error_kinds
    );
    assert!(o.summary.total.count >= 40, "{}", o.summary.total.count);
}

#[test]
fn a_valid_scenario_says_its_requests_and_journeys_apart() {
    let text = items("model = \"open\"\nrate = 5", "", r#""id":(\d+)"#, "0s");
    assert_eq!(scenario(&text).mix(), "1 journey of 4 steps, 1 target");
    let mixed = format!("{text}\n[[requests]]\nname = \"health\"\npath = \"/v1/echo\"\n");
    assert_eq!(
        scenario(&mixed).mix(),
        "1 request, 1 journey of 4 steps, 1 target"
    );
    // What the open model's schedule counts, as the charts' target line is named.
    let arrivals = |text: &str| loadbench::metrics::RunInfo::of(&scenario(text)).arrivals();
    assert_eq!(arrivals(&text), "iterations");
    assert_eq!(arrivals(&mixed), "arrivals");
    let plain = "name = \"p\"\nduration = \"1s\"\n[targets]\napi = \"demo\"\n[load]\nmodel = \"open\"\nrate = 1\n[[requests]]\nname = \"items/x\"\npath = \"/\"\n";
    assert_eq!(arrivals(plain), "requests");
    // The CLI's `validate` says the same.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("j.toml");
    std::fs::write(&path, &text).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadbench"))
        .arg("validate")
        .arg(&path)
        .output()
        .expect("validate runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("open model, 1 journey of 4 steps, 1 target, 2s"),
        "{said}"
    );
}
