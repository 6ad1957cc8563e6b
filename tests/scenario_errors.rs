//! Bad scenario files: every error names the line and column and says what was expected.

use loadbench::scenario::{Scenario, ScenarioError};

const GOOD: &str = r#"name = "ok"
duration = "5s"
thresholds = ["p95 < 200ms"]

[targets]
api = "http://127.0.0.1:9"

[load]
model = "open"
rate = 10

[[requests]]
name = "get"
path = "/x"
"#;

fn err(text: &str) -> ScenarioError {
    match Scenario::parse(text, Some(std::path::Path::new("bad.toml")), &|_| None) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e,
    }
}

fn first(e: &ScenarioError) -> (usize, usize, String) {
    let p = &e.problems[0];
    (p.line, p.col, p.message.clone())
}

#[test]
fn the_good_file_parses() {
    let s = Scenario::parse(GOOD, None, &|_| None).expect("valid");
    assert_eq!(s.name, "ok");
    assert_eq!(s.duration().as_secs(), 5);
}

#[test]
fn syntax_error_names_its_line() {
    let e = err(&GOOD.replace("rate = 10", "rate = = 10"));
    let (line, col, _) = first(&e);
    assert_eq!(line, 10);
    assert!(col >= 6, "col {col}");
    assert!(e.to_string().starts_with("bad.toml:10:"), "{e}");
}

#[test]
fn unknown_key_names_its_line_and_the_known_ones() {
    let e = err(&GOOD.replace("rate = 10", "rate = 10\nrat = 5"));
    let (line, col, msg) = first(&e);
    assert_eq!((line, col), (11, 1), "{e}");
    assert!(msg.contains("unknown field `rat`"), "{msg}");
    assert!(
        msg.contains("max_in_flight"),
        "lists what is allowed: {msg}"
    );
}

#[test]
fn bad_duration_says_what_a_duration_looks_like() {
    let e = err(&GOOD.replace("duration = \"5s\"", "duration = \"5 seconds\""));
    let (line, col, msg) = first(&e);
    assert_eq!((line, col), (2, 12), "{e}");
    assert!(msg.contains("unknown unit"), "{msg}");
    let e = err(&GOOD.replace("duration = \"5s\"", "duration = 5"));
    let (line, _, msg) = first(&e);
    assert_eq!(line, 2);
    assert!(msg.contains("needs a unit"), "{msg}");
}

#[test]
fn bad_threshold_names_its_line() {
    let e = err(&GOOD.replace("p95 < 200ms", "p95 less than 200ms"));
    let (line, col, msg) = first(&e);
    assert_eq!((line, col), (3, 15), "{e}");
    assert!(msg.contains("bad threshold"), "{msg}");
    assert!(msg.contains("p95 < 200ms"), "shows an example: {msg}");
}

#[test]
fn missing_env_var_names_the_variable_and_line() {
    let text = GOOD.replace(
        "path = \"/x\"",
        "path = \"/x\"\nheaders = { authorization = \"Bearer ${env.LOADBENCH_TEST_UNSET_TOKEN}\" }",
    );
    let e = err(&text);
    let (line, col, msg) = first(&e);
    assert_eq!((line, col), (15, 29), "{e}");
    assert!(msg.contains("LOADBENCH_TEST_UNSET_TOKEN"), "{msg}");
    // With the variable set, it resolves and the file itself never holds the secret.
    let s = Scenario::parse(&text, None, &|n| {
        (n == "LOADBENCH_TEST_UNSET_TOKEN").then(|| "s3cret".into())
    })
    .expect("valid with the variable");
    assert!(!s.text.contains("s3cret"));
}

#[test]
fn semantic_problems_are_all_reported_with_places() {
    let text = r#"name = "many"
duration = "5s"
warmup = "10s"

[targets]
api = "ftp://127.0.0.1"

[load]
model = "open"
rate = 10
vus = 3

[[requests]]
name = "a"
target = "nope"
method = "GE T"
path = "x"
weight = 0
checks = [{ status = 700 }]
"#;
    let e = err(text);
    let lines: Vec<usize> = e.problems.iter().map(|p| p.line).collect();
    let all = e.to_string();
    for (line, needle) in [
        (6, "unsupported scheme"),
        (11, "`vus` does not apply to the open model"),
        (15, "unknown target \"nope\""),
        (16, "not an HTTP method"),
        (17, "must start with /"),
        (18, "weight"),
        (19, "status"),
        (3, "warmup"),
    ] {
        assert!(lines.contains(&line), "no problem on line {line}: {all}");
        assert!(all.contains(needle), "missing \"{needle}\": {all}");
    }
}

#[test]
fn model_specific_requirements_are_explained() {
    let e = err(&GOOD.replace("rate = 10", ""));
    assert!(
        first(&e).2.contains("needs `rate` (constant) or `stages`"),
        "{e}"
    );
    let e = err(&GOOD.replace("duration = \"5s\"\n", ""));
    assert!(first(&e).2.contains("needs a top-level `duration`"), "{e}");
    let e = err(&GOOD.replace("model = \"open\"", "model = \"poisson\""));
    assert_eq!(first(&e).0, 9);
}

#[test]
fn display_shows_the_line_with_a_caret() {
    let e = err(&GOOD.replace("rate = 10", "rate = \"fast\""));
    let shown = e.to_string();
    assert!(shown.contains("10 | rate = \"fast\""), "{shown}");
    assert!(
        shown
            .lines()
            .last()
            .is_some_and(|l| l.trim_end().ends_with('^')),
        "{shown}"
    );
}

#[test]
fn data_files_and_columns_are_checked_where_they_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("users.csv");
    std::fs::write(&csv, "user,token\nu1,t1\nu2,t2\n").expect("write");
    let with = |data: &str, path: &str| {
        GOOD.replace(
            "path = \"/x\"",
            &format!("path = \"{path}\"\n\n[data]\n{data}"),
        )
    };
    let file = format!("file = \"{}\"", csv.display());
    // Good: a known column.
    let s = Scenario::parse(&with(&file, "/u/${data.user}"), None, &|_| None).expect("valid");
    assert_eq!(s.requests.len(), 1);
    // A column the file does not have: at the path, with the columns it has.
    let e = err(&with(&file, "/u/${data.email}"));
    let (line, _, msg) = first(&e);
    assert_eq!(line, 14, "{e}");
    assert!(
        msg.contains("no column \"email\"") && msg.contains("user, token"),
        "{msg}"
    );
    // ${data.*} without a [data] file.
    let e = err(&GOOD.replace("path = \"/x\"", "path = \"/u/${data.user}\""));
    assert!(first(&e).2.contains("[data]"), "{e}");
    // A missing file, a file with no rows, a ragged row, an unknown order: at the key.
    let e = err(&with("file = \"/nonexistent/users.csv\"", "/x"));
    let (line, _, msg) = first(&e);
    assert_eq!(line, 17, "{e}");
    assert!(msg.contains("/nonexistent/users.csv"), "{msg}");
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "user\n").expect("write");
    let e = err(&with(&format!("file = \"{}\"", empty.display()), "/x"));
    assert!(first(&e).2.contains("no rows"), "{e}");
    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "user,token\nu1,t1\nu2\n").expect("write");
    let e = err(&with(&format!("file = \"{}\"", ragged.display()), "/x"));
    assert!(first(&e).2.contains("line: 3"), "{e}");
    let e = err(&with(&format!("{file}\norder = \"shuffled\""), "/x"));
    let (line, _, msg) = first(&e);
    assert_eq!(line, 18, "{e}");
    assert!(msg.contains("\"sequential\" or \"random\""), "{msg}");
}

#[test]
fn out_of_range_ports_bad_arrivals_and_streams_are_refused_at_their_line() {
    for (port, shown) in [
        ("80080", "80080"),
        ("0", "0"),
        ("99999999999", "99999999999"),
    ] {
        let e = err(&GOOD.replace("127.0.0.1:9", &format!("127.0.0.1:{port}")));
        let (line, _, msg) = first(&e);
        assert_eq!(line, 6, "{e}");
        assert!(
            msg.contains(&format!("port {shown} is out of range")),
            "{msg}"
        );
    }
    let e = err(&GOOD.replace("rate = 10", "rate = 10\narrivals = \"bursty\""));
    let (line, _, msg) = first(&e);
    assert_eq!(line, 11, "{e}");
    assert!(msg.contains("\"even\" or \"poisson\""), "{msg}");
    let e = err(&GOOD.replace(
        "api = \"http://127.0.0.1:9\"",
        "api = { url = \"http://127.0.0.1:9\", streams = 0 }",
    ));
    assert!(first(&e).2.contains("streams must be"), "{e}");
    // A closed model has no arrivals to space.
    let e = err(&GOOD.replace(
        "model = \"open\"\nrate = 10",
        "model = \"closed\"\nvus = 2\narrivals = \"poisson\"",
    ));
    assert!(first(&e).2.contains("does not apply"), "{e}");
    // The keys that are valid parse.
    let s = Scenario::parse(
        &GOOD
            .replace("rate = 10", "rate = 10\narrivals = \"poisson\"")
            .replace(
                "duration = \"5s\"",
                "duration = \"5s\"\ndrain = \"1s\"\nretry_idempotent = true",
            ),
        None,
        &|_| None,
    )
    .expect("valid");
    assert_eq!(s.drain, std::time::Duration::from_secs(1));
    assert!(s.retry_idempotent);
}

#[test]
fn a_bad_monitor_section_is_located() {
    for (monitor, line, says) in [
        ("prometheus = [\"nowhere\"]", 17, "neither a target's name"),
        (
            "prometheus = [\"api\"]\nmetrics = [\"x{a=1}\"]",
            18,
            "needs quotes",
        ),
        ("processes = [\"a/b\"]", 17, "neither a pid"),
        ("metrics = [\"up\"]", 16, "needs `prometheus`"),
    ] {
        let e = err(&format!("{GOOD}\n[monitor]\n{monitor}\n"));
        let (l, _, m) = first(&e);
        assert_eq!(l, line, "{m}");
        assert!(m.contains(says), "{m}");
        assert_eq!(e.problems.len(), 1, "one problem, said once: {e}");
    }
    let ok = Scenario::parse(
        &format!(
            "{GOOD}\n[monitor]\nprometheus = [\"api\", \"http://127.0.0.1:9100/metrics\"]\nmetrics = [\"up\", 'http_requests_total{{code=\"500\"}}']\nprocesses = [\"nginx\", 1234]\n"
        ),
        None,
        &|_| None,
    )
    .expect("valid");
    let m = ok.monitor.expect("a monitor");
    assert_eq!(m.prometheus.len(), 2);
    assert_eq!(
        m.metrics[1].labels,
        vec![("code".to_string(), "500".to_string())]
    );
    assert_eq!(m.processes.len(), 2);
}
