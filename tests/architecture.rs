//! The house rules ARCHITECTURE.md states, checked on the source: which module may import which
//! (one direction of data, no circles), no file over 900 lines, every file opening with its job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may import, as ARCHITECTURE.md's table gives them.
const ALLOWED: &[(&str, &[&str])] = &[
    ("format", &[]),
    ("exit", &[]),
    ("output", &[]),
    ("timer", &[]),
    ("monitor", &[]),
    ("benchmark", &[]),
    ("thresholds", &["format"]),
    ("demo", &["format", "timer"]),
    ("scenario", &["demo", "format", "thresholds"]),
    ("metrics", &["format", "monitor", "scenario", "thresholds"]),
    ("statsd", &["metrics"]),
    ("foreign", &["metrics", "scenario", "store"]),
    ("cluster", &["format", "scenario", "store"]),
    ("scrape", &["metrics", "scenario"]),
    ("exposition", &["metrics"]),
    (
        "engine",
        &["demo", "metrics", "monitor", "scenario", "timer"],
    ),
    ("store", &["benchmark", "format", "metrics", "monitor"]),
    ("halt", &["metrics", "scenario", "thresholds"]),
    (
        "launch",
        &["engine", "halt", "metrics", "scenario", "scrape", "store"],
    ),
    (
        "analysis",
        &[
            "benchmark",
            "format",
            "metrics",
            "monitor",
            "scenario",
            "store",
            "thresholds",
        ],
    ),
    (
        "printer",
        &["analysis", "format", "metrics", "monitor", "scenario"],
    ),
    (
        "report",
        &[
            "analysis", "format", "metrics", "output", "scenario", "store",
        ],
    ),
    (
        "ui",
        &[
            "analysis",
            "benchmark",
            "demo",
            "engine",
            "exit",
            "foreign",
            "format",
            "launch",
            "metrics",
            "monitor",
            "output",
            "report",
            "scenario",
            "scrape",
            "store",
            "thresholds",
        ],
    ),
    (
        "cli",
        &[
            "analysis",
            "benchmark",
            "cluster",
            "demo",
            "engine",
            "exit",
            "foreign",
            "exposition",
            "format",
            "halt",
            "launch",
            "metrics",
            "monitor",
            "output",
            "printer",
            "report",
            "scenario",
            "statsd",
            "store",
            "thresholds",
            "ui",
        ],
    ),
];

/// The longest a source file may grow before it is split by job.
const MAX_LINES: usize = 900;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under src/ belongs to (`lib` and `main` for those two).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// Every `crate::name` a file refers to.
fn imports(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.push(name);
        }
    }
    found
}

#[test]
fn modules_import_only_downstream_of_themselves() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(may) = allowed.get(module.as_str()) else {
            wrong.push(format!(
                "{}: module `{module}` is not in ARCHITECTURE.md's table",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("readable");
        for used in imports(&text) {
            if used != module && !may.contains(&used.as_str()) {
                wrong.push(format!("{}: `{module}` imports `{used}`", file.display()));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports against the map:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_module_table_has_no_circle() {
    // Depth-first: a module reached again while it is still open is a circle.
    fn visit<'a>(
        m: &'a str,
        table: &BTreeMap<&'a str, &'a [&'a str]>,
        open: &mut Vec<&'a str>,
        done: &mut Vec<&'a str>,
    ) {
        if done.contains(&m) {
            return;
        }
        assert!(!open.contains(&m), "circle: {} -> {m}", open.join(" -> "));
        open.push(m);
        for d in table.get(m).copied().unwrap_or_default() {
            visit(d, table, open, done);
        }
        open.pop();
        done.push(m);
    }
    let table: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut done = Vec::new();
    for m in table.keys() {
        visit(m, &table, &mut Vec::new(), &mut done);
    }
}

#[test]
fn every_file_is_short_and_opens_with_its_job() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "examples"] {
        if root.join(dir).is_dir() {
            sources(&root.join(dir), &mut files);
        }
    }
    let mut wrong = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable");
        let lines = text.lines().count();
        if lines > MAX_LINES && file.starts_with(root.join("src")) {
            wrong.push(format!("{}: {lines} lines", file.display()));
        }
        if !text.starts_with("//!") {
            wrong.push(format!("{}: no `//!` line saying its job", file.display()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
