//! The workbench driven through its real widgets (egui_kittest): edit a scenario, break it, run it
//! against the demo service, stop it, find it in Runs.
#![cfg(feature = "gui")]

mod common;

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use loadbench::ui::dialogs::ScriptedDialogs;
use loadbench::ui::{Screen, Workbench};

struct Env {
    _dir: tempfile::TempDir,
    samples: std::path::PathBuf,
    db: std::path::PathBuf,
}

fn env() -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let samples = dir.path().join("scenarios");
    std::fs::create_dir_all(&samples).expect("mkdir");
    for (name, text) in loadbench::ui::SAMPLES {
        std::fs::write(samples.join(name), text).expect("write sample");
    }
    let db = dir.path().join("runs.db");
    Env {
        _dir: dir,
        samples,
        db,
    }
}

/// The workbench on `e`, its file dialog answering with `files` in turn.
fn with_files(e: &Env, files: Vec<std::path::PathBuf>) -> Harness<'static, Workbench> {
    let dialogs = ScriptedDialogs {
        files,
        ..Default::default()
    };
    harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(dialogs),
    ))
}

fn harness(bench: Workbench) -> Harness<'static, Workbench> {
    harness_sized(bench, 1280.0, 900.0)
}

/// The workbench in a window of `width` × `height` points.
fn harness_sized(bench: Workbench, width: f32, height: f32) -> Harness<'static, Workbench> {
    Harness::builder()
        .with_size(egui::vec2(width, height))
        // A scroll area settling after a modal closes takes a few frames more than the default.
        .with_max_steps(16)
        .build_ui_state(|ui, bench: &mut Workbench| bench.show(ui), bench)
}

/// Stores `n` four-second quick-start runs in `db` through the CLI.
fn store_quickstart_runs(db: &std::path::Path, n: usize) {
    for _ in 0..n {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadbench"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("--db")
            .arg(db)
            .args([
                "run",
                "scenarios/quickstart.toml",
                "--duration",
                "4s",
                "--warmup",
                "0s",
                "-q",
            ])
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The window on its Runs screen over `n` stored quick-start runs.
fn on_runs_screen(e: &Env, n: usize) -> Harness<'static, Workbench> {
    store_quickstart_runs(&e.db, n);
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(ScriptedDialogs::default()),
    ));
    h.run();
    h.get_by_label("Runs").click();
    h.run();
    h
}

/// Steps the UI until `done` holds, in real time (the engine runs on its own threads).
fn step_until(h: &mut Harness<'_, Workbench>, within: Duration, done: impl Fn(&Workbench) -> bool) {
    let deadline = Instant::now() + within;
    while !done(h.state()) {
        assert!(
            Instant::now() < deadline,
            "condition not reached within {within:?}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(50));
    }
    h.step();
}

#[test]
fn editing_a_form_field_changes_the_toml() {
    let e = env();
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(ScriptedDialogs::default()),
    ));
    h.run();
    let ed = h
        .state()
        .scenarios
        .editor
        .as_ref()
        .expect("the quick start opens first");
    assert!(ed.text.contains("name = \"Quick start\""));
    h.get_by_label("Name").focus();
    h.run();
    h.get_by_label("Name").type_text(" v2");
    h.run();
    let ed = h.state().scenarios.editor.as_ref().expect("editor");
    assert!(ed.text.contains("name = \"Quick start v2\""), "{}", ed.text);
    assert!(
        ed.text.contains("# Quick start: a steady 200"),
        "comments survive form edits"
    );
    assert!(ed.dirty());
    // The TOML face shows the same text.
    h.get_by_label("TOML").click();
    h.run();
    let toml = h
        .get_by_role(egui::accesskit::Role::MultilineTextInput)
        .value()
        .unwrap_or_default();
    assert!(toml.contains("name = \"Quick start v2\""), "{toml}");
    // And the rate field edits [load].
    h.get_by_label("Form").click();
    h.run();
    h.get_by_label("Rate (requests/s)").focus();
    h.run();
    h.get_by_label("Rate (requests/s)").type_text("5");
    h.run();
    let ed = h.state().scenarios.editor.as_ref().expect("editor");
    assert!(ed.text.contains("rate = 2005"), "{}", ed.text);
    assert!(ed.check.is_ok());
}

#[test]
fn broken_toml_shows_the_error_at_its_line() {
    let e = env();
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(ScriptedDialogs::default()),
    ));
    h.run();
    h.get_by_label("TOML").click();
    h.run();
    let editor = h.get_by_role(egui::accesskit::Role::MultilineTextInput);
    editor.focus();
    h.run();
    h.get_by_role(egui::accesskit::Role::MultilineTextInput)
        .type_text("rate = = 1\n");
    h.run();
    let ed = h.state().scenarios.editor.as_ref().expect("editor");
    let err = ed.check.as_ref().expect_err("the text no longer validates");
    let line = err.problems[0].line;
    h.get_by_label_contains(&format!("line {line}, column"));
    assert!(h.query_by_label("Run").is_some(), "the Run button is there");
}

#[test]
fn unsaved_changes_are_never_lost_silently() {
    let e = env();
    let save_to = e.samples.join("saved-copy.toml");
    let dialogs = ScriptedDialogs {
        saves: vec![save_to.clone()],
        ..Default::default()
    };
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(dialogs),
    ));
    h.run();
    h.get_by_label("Name").focus();
    h.run();
    h.get_by_label("Name").type_text(" edited");
    h.run();
    // Switching to another scenario asks first; Cancel keeps the edit.
    h.get_by_label_contains("API mix").click();
    h.run();
    h.get_by_label("Unsaved changes");
    h.get_by_label("Cancel").click();
    h.run();
    let ed = h.state().scenarios.editor.as_ref().expect("editor");
    assert!(ed.dirty() && ed.text.contains("Quick start edited"));
    // Save as goes through the dialog seam and writes the file.
    h.get_by_label("Save as…").click();
    h.run();
    let written = std::fs::read_to_string(&save_to).expect("saved");
    assert!(written.contains("name = \"Quick start edited\""));
    assert!(!h.state().scenarios.editor.as_ref().expect("editor").dirty());
    assert!(
        h.state()
            .scenarios
            .library
            .iter()
            .any(|l| l.path == save_to),
        "the library shows it"
    );
}

#[test]
fn a_folder_opened_through_the_dialog_joins_the_library() {
    let e = env();
    let other = tempfile::tempdir().expect("tempdir");
    std::fs::write(other.path().join("mine.toml"), "name = \"Mine\"\n").expect("write");
    // The same folder twice, the second time by another path to it.
    let dialogs = ScriptedDialogs {
        folders: vec![other.path().to_path_buf(), other.path().join(".")],
        ..Default::default()
    };
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(dialogs),
    ));
    h.run();
    h.get_by_label("Open folder…").click();
    h.run();
    h.get_by_label("Open folder…").click();
    h.run();
    assert_eq!(
        h.query_all_by_label_contains("Mine").count(),
        1,
        "listed once"
    );
    // Each folder has its heading: the samples' and the one opened.
    h.get_by_label("scenarios/");
    let name = other.path().file_name().expect("name").to_string_lossy();
    h.get_by_label(&format!("{name}/"));
}

#[test]
fn without_a_dialog_portal_paths_are_asked_in_the_window_starting_in_the_scenarios_folder() {
    let e = env();
    let other = tempfile::tempdir().expect("tempdir");
    std::fs::write(other.path().join("mine.toml"), "name = \"Mine\"\n").expect("write");
    let dialogs = ScriptedDialogs {
        unavailable: true,
        ..Default::default()
    };
    let asked = dialogs.asked.clone();
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(dialogs),
    ));
    h.run();
    let samples = std::fs::canonicalize(&e.samples).expect("canonical");
    // A folder: the field starts in the open scenario's folder, not the process's.
    h.get_by_label("Open folder…").click();
    h.run();
    h.get_by_label_contains("No file dialog can open on this desktop");
    let start = h.get_by_label("Full path").value().unwrap_or_default();
    assert!(start.starts_with(&samples.display().to_string()), "{start}");
    assert_eq!(asked.lock().expect("asked")[0].dir, samples);
    // A file is not a folder.
    h.get_by_label("Full path").focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Full path")
        .type_text(&e.samples.join("quickstart.toml").display().to_string());
    h.run();
    h.get_by_label("Choose folder").click();
    h.run();
    h.get_by_label_contains("not a folder");
    h.get_by_label("Full path").focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Full path")
        .type_text(&other.path().display().to_string());
    h.run();
    h.get_by_label("Choose folder").click();
    h.run();
    assert!(
        h.state().asking.is_none(),
        "the prompt closes once answered"
    );
    h.get_by_label_contains("Mine");
    // Save as: the suggested name in the scenario's folder; a folder that does not exist is refused.
    h.get_by_label("Save as…").click();
    h.run();
    let start = h.get_by_label("Full path").value().unwrap_or_default();
    assert_eq!(
        start,
        samples.join("quick-start.toml").display().to_string(),
        "the scenario's folder and a name from the scenario"
    );
    h.get_by_label("Full path").focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    let nowhere = other.path().join("nowhere").join("x.toml");
    h.get_by_label("Full path")
        .type_text(&nowhere.display().to_string());
    h.run();
    h.get_by_label("Save here").click();
    h.run();
    h.get_by_label_contains("no such folder");
    let target = other.path().join("copy.toml");
    h.get_by_label("Full path").focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Full path")
        .type_text(&target.display().to_string());
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    assert!(target.is_file(), "saved where typed");
    assert!(!h.state().dirty());
    // Cancel closes the field and does nothing.
    h.get_by_label("Import HAR…").click();
    h.run();
    h.get_by_label("Cancel").click();
    h.run();
    assert!(h.state().asking.is_none());
}

#[test]
fn a_pasted_curl_command_and_a_har_file_become_new_scenarios() {
    let e = env();
    let har = e.samples.parent().expect("dir").join("session.har");
    let entry = |url: &str| {
        serde_json::json!({
            "request": {"method": "GET", "url": url,
                        "headers": [{"name": "Cookie", "value": "sid=secret-cookie"}]},
            "response": {"status": 200}
        })
    };
    let doc = serde_json::json!({"log": {"entries": [
        entry("http://127.0.0.1:8080/v1/echo"),
        entry("http://127.0.0.1:8080/v1/echo"),
        entry("https://analytics.example.com/collect"),
    ]}});
    std::fs::write(&har, doc.to_string()).expect("write har");
    let mut h = with_files(&e, vec![har]);
    h.run();
    h.get_by_label("Import curl…").click();
    h.run();
    h.get_by_label("curl command").focus();
    h.run();
    h.get_by_label("curl command")
        .type_text("curl -X PUT http://127.0.0.1:8080/v1/items/7 --json '{\"n\": 1}'");
    h.run();
    h.get_by_label("Import").click();
    h.run();
    let ed = h.state().scenarios.editor.as_ref().expect("editor");
    assert!(ed.path.is_none(), "a new scenario, not yet saved anywhere");
    assert!(ed.text.contains("method = \"PUT\""), "{}", ed.text);
    assert!(ed.check.is_ok(), "{:?}", ed.check.as_ref().err());
    assert!(h.state().scenarios.curl.is_none(), "the paste box closes");
    // A HAR recording through the file dialog: the curl import is not saved anywhere yet, so
    // replacing it asks first; nothing is replaced until the answer.
    h.get_by_label("Import HAR…").click();
    h.run();
    h.get_by_label("Unsaved changes");
    let ed = h.state().scenarios.editor.as_ref().expect("editor");
    assert!(
        ed.text.contains("method = \"PUT\""),
        "still the curl import"
    );
    h.get_by_label("Discard changes").click();
    h.run();
    let ed = h.state().scenarios.editor.as_ref().expect("editor");
    assert!(ed.text.contains("weight = 2"), "{}", ed.text);
    assert!(!ed.text.contains("secret-cookie"), "{}", ed.text);
    h.get_by_label_contains("set COOKIE");
    h.get_by_label_contains("analytics.example.com");
}

#[test]
fn run_live_stop_then_open_it_in_runs() {
    let _g = common::serial();
    let e = env();
    let report = e.samples.join("exported.html");
    let dialogs = ScriptedDialogs {
        reports: vec![report.clone()],
        ..Default::default()
    };
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(dialogs),
    ));
    h.run();
    h.get_by_label("Run").click();
    h.step();
    assert_eq!(h.state().screen, Screen::Live);
    assert!(h.state().live.is_running(), "{:?}", h.state().live.error);
    // Live values arrive within a few seconds.
    step_until(&mut h, Duration::from_secs(6), |b| {
        b.live.last.as_ref().is_some_and(|l| l.requests > 0)
    });
    // In the warm-up nothing is measured yet: the badges wait, grey, instead of failing red.
    assert!(
        h.state().live.last.as_ref().is_some_and(|l| l.warmup),
        "the first seconds are the sample's 2 s warm-up"
    );
    h.get_by_label_contains("WAIT p95 < 200ms (waiting for the first measured second)");
    assert!(h.query_by_label_contains("FAIL p95").is_none());
    // Past the sample's 2 s warm-up, so the stored run has measured seconds.
    step_until(&mut h, Duration::from_secs(8), |b| {
        b.live.last.as_ref().is_some_and(|l| !l.warmup)
    });
    h.get_by_label("target 200/s");
    h.get_by_label_contains("PASS p95 < 200ms");
    assert!(
        h.state().live.heat.first().is_some_and(|m| m.total() > 0),
        "the live heatmap fills as ticks arrive"
    );
    // A request's row shows it alone in every chart.
    h.get_by_label("ingest").scroll_to_me();
    h.run();
    h.get_by_label("ingest").click();
    h.step();
    h.step();
    assert_eq!(h.state().live.shown, Some(1));
    h.get_by_label_contains("Showing only ingest");
    h.get_by_label("Stop").click();
    h.step();
    let stop_pressed = Instant::now();
    step_until(&mut h, Duration::from_secs(5), |b| !b.live.is_running());
    assert!(stop_pressed.elapsed() < Duration::from_secs(3));
    let (status, stored) = h.state().live.finished.clone().expect("finished");
    assert_eq!(status, loadbench::metrics::RunStatus::Stopped);
    let id = stored.expect("stored");
    // The run is in Runs and opens.
    h.get_by_label("Runs").click();
    h.step();
    h.step();
    h.get_by_label(&format!("#{id}")).click();
    h.step();
    h.step();
    h.get_by_label_contains(&format!("Run #{id}: Quick start"));
    step_until(&mut h, Duration::from_secs(10), |b| {
        b.runs
            .open
            .as_ref()
            .is_some_and(|o| o.window_totals.is_some())
    });
    let open = h.state().runs.open.as_ref().expect("opened");
    let (_, totals) = open.window_totals.as_ref().expect("totals");
    assert!(totals.total().requests > 0);
    h.get_by_label_contains("Distribution: whole run");
    // Export… writes the report where the (scripted) save dialog says, off the window's thread.
    h.get_by_label("Export…").click();
    h.step();
    step_until(&mut h, Duration::from_secs(20), |b| {
        b.status.starts_with("exported")
    });
    let html = std::fs::read_to_string(&report).expect("the report was written");
    assert!(html.contains("<svg") && html.contains("Quick start"));
}

#[test]
fn two_ticked_runs_compare_on_their_own_screen_with_a_chosen_baseline_and_export() {
    let _g = common::serial();
    let e = env();
    store_quickstart_runs(&e.db, 2);
    let report = e._dir.path().join("compare.md");
    let dialogs = ScriptedDialogs {
        reports: vec![report.clone()],
        ..Default::default()
    };
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(dialogs),
    ));
    h.run();
    h.get_by_label("Runs").click();
    h.run();
    for b in h.get_all_by_role(egui::accesskit::Role::CheckBox) {
        b.click();
    }
    h.run();
    h.get_by_label("Compare 2 selected").click();
    h.step();
    assert_eq!(
        h.state().screen,
        Screen::Compare,
        "Compare is a screen of its own"
    );
    step_until(&mut h, Duration::from_secs(10), |b| {
        !b.compare.spectra.is_empty()
    });
    h.step();
    // Verdicts first, headed by the verdict the reports give, with both figures beside the change.
    h.get_by_label("#2 against baseline #1");
    assert_eq!(h.state().compare.charts.len(), 2);
    assert_eq!(h.state().compare.verdicts.len(), 1);
    let v = &h.state().compare.verdicts[0];
    h.get_by_label(&v.verdict_line());
    assert!(v.requests.iter().any(|(n, _)| n == "*"));
    let m = v.requests[0].1[0].clone();
    assert!(
        h.query_all_by_label(&m.format_value(m.baseline))
            .next()
            .is_some()
            && h.query_all_by_label(&m.format_value(m.candidate))
                .next()
                .is_some(),
        "{} → {} shown",
        m.format_value(m.baseline),
        m.format_value(m.candidate)
    );
    // 4 s at 200/s is 800 responses a run: too few for windows of a p99 (1,000 responses),
    // which the view says under its table rather than showing a bare "not enough data".
    h.get_by_label_contains("not enough data for");
    // The verdicts fit the screen: not cut off at a floating window's edge.
    let verdict_rect = h.get_by_label("#2 against baseline #1").rect();
    assert!(verdict_rect.bottom() < 900.0, "{verdict_rect:?}");
    // The other run becomes the baseline: the verdicts are judged again the other way.
    h.get_by_label("Baseline").click();
    h.run();
    h.get_by_role_and_label(egui::accesskit::Role::Button, "#2 Quick start")
        .click();
    h.step();
    step_until(&mut h, Duration::from_secs(10), |b| {
        b.compare.verdicts.first().is_some_and(|v| v.baseline == 2)
    });
    h.get_by_label("#1 against baseline #2");
    assert_eq!(h.state().compare.baseline(), Some(2));
    // The comparison exports as a report: the candidate's, with its verdicts.
    h.get_by_label("format").click();
    h.run();
    h.get_by_role_and_label(egui::accesskit::Role::Button, "md")
        .click();
    h.run();
    h.get_by_label("Export comparison…").click();
    h.run();
    step_until(&mut h, Duration::from_secs(20), |b| {
        b.status.starts_with("exported")
    });
    let md = std::fs::read_to_string(&report).expect("the report is written");
    assert!(md.contains("Against baseline #2"), "{md}");
    assert!(md.contains("# Quick start: load test report"), "{md}");
    h.get_by_label("Close").click();
    h.run();
    assert!(
        h.state().compare.runs.is_empty(),
        "Close closes the comparison"
    );
    assert_eq!(h.state().screen, Screen::Runs);
    // The same two runs, taken as shards of one test, merge into a third that opens.
    h.get_by_label("Merge 2 selected").click();
    h.run();
    // The merge runs in the background; the merged run opens when it is stored.
    step_until(&mut h, Duration::from_secs(10), |b| b.runs.open.is_some());
    let merged = h
        .state()
        .runs
        .open
        .as_ref()
        .map(|o| o.run.row.id)
        .unwrap_or_else(|| panic!("the merged run opens: {:?}", h.state().runs.error));
    assert_eq!(merged, 3);
    h.get_by_label_contains("Run #3: Quick start (merged #1 + #2)");
    let store = loadbench::store::Store::open(&e.db).expect("store");
    let count = |id| store.run(id).expect("run").row.requests;
    assert_eq!(count(3), count(1) + count(2));
}

#[test]
fn benchmark_sets_import_edit_and_hold_a_run_against_them() {
    let _g = common::serial();
    let e = env();
    store_quickstart_runs(&e.db, 1);
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/benchmarks/competitor-a.csv");
    let mut h = with_files(&e, vec![sample]);
    h.run();
    // Open the stored run, then go to Benchmarks.
    h.get_by_label("Runs").click();
    h.run();
    h.get_by_label("#1").click();
    h.step();
    h.step();
    h.get_by_label("Benchmarks").click();
    h.step();
    h.step();
    h.get_by_label("Import file…").click();
    h.step();
    h.step();
    assert_eq!(
        h.state().benchmarks.sets.len(),
        1,
        "{:?}",
        h.state().benchmarks.error
    );
    h.get_by_label("competitor-a");
    // Edit: change the ingest p50 and save.
    h.get_by_label("Edit").click();
    h.step();
    h.step();
    h.step();
    assert!(h.state().benchmarks.editing.is_some(), "the editor opened");
    let p50 = |n: &egui_kittest::kittest::AccessKitNode<'_>| {
        n.role() == egui::accesskit::Role::TextInput && n.value().as_deref() == Some("2.9")
    };
    h.get_by(p50).focus();
    h.step();
    h.get_by(p50).type_text("5");
    h.step();
    h.get_by_label("Save set").click();
    h.step();
    h.step();
    let set = &h.state().benchmarks.sets[0];
    let ingest = set
        .figures
        .iter()
        .find(|f| f.endpoint == "ingest")
        .expect("ingest");
    assert_eq!(
        ingest.p50_ms,
        Some(2.95),
        "the edit was saved: {:?}",
        h.state().benchmarks.error
    );
    // Hold the opened run against the set.
    h.get_by_label("Compare opened run").click();
    h.step();
    h.step();
    let c = h.state().benchmarks.comparison.as_ref().expect("compared");
    assert!(c.requests.iter().any(|(n, _)| n == "ingest"));
    h.get_by_label_contains("Run #1 against \"competitor-a\"");
}

#[test]
fn a_capacity_search_runs_its_steps_on_the_live_screen() {
    let _g = common::serial();
    let e = env();
    let file = e.samples.join("capacity.toml");
    std::fs::write(&file, common::CAPACITY_PROBE).expect("write");
    let mut bench = Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(ScriptedDialogs::default()),
    );
    bench.open_path(&file).expect("opens");
    let mut h = harness(bench);
    h.run();
    h.get_by_label("Find capacity…").click();
    h.run();
    // Short steps and a coarse bracket keep the test to a few seconds.
    h.state_mut().scenarios.capacity = Some(loadbench::ui::live::CapacitySettings {
        start: 50.0,
        max: 1000.0,
        step_s: 1.0,
        precision: 50.0,
        cooldown_s: 0.5,
    });
    h.run();
    h.get_by_label("Start search").click();
    h.step();
    assert_eq!(h.state().screen, Screen::Live);
    step_until(&mut h, Duration::from_secs(60), |b| {
        b.live
            .capacity
            .as_ref()
            .is_some_and(|c| c.verdict.is_some())
    });
    let c = h.state().live.capacity.as_ref().expect("search");
    let verdict = c.verdict.clone().expect("verdict");
    assert!(verdict.contains("holds every threshold"), "{verdict}");
    assert!(c.steps.len() >= 3, "{} steps", c.steps.len());
    assert!(c.steps.iter().any(|s| !s.held) && c.steps.iter().any(|s| s.held));
    h.get_by_label_contains("Capacity: ");
    // Where throughput stops growing: the law fitted to the steps, or why it was not.
    let usl = loadbench::analysis::capacity::usl(&c.steps);
    match &usl {
        Ok(u) => h.get_by_label(&u.describe()),
        Err(why) => h.get_by_label(&format!("USL not fitted: {why}")),
    };
    h.get_by_label_contains("Throughput against concurrency");
    // Every step is a stored run, tagged like the CLI's.
    let store = loadbench::store::Store::open(&e.db).expect("store");
    let tagged = store
        .list_runs(&loadbench::store::RunFilter {
            tag: Some("capacity".into()),
            ..Default::default()
        })
        .expect("list");
    assert_eq!(tagged.len(), c.steps.len());
}

#[test]
fn a_zoom_on_one_run_is_not_carried_to_the_next_and_reset_view_undoes_it() {
    let _g = common::serial();
    let e = env();
    let mut h = on_runs_screen(&e, 2);
    // Newest first by default.
    assert!(
        h.get_by_label("#2").rect().top() < h.get_by_label("#1").rect().top(),
        "run #2 is listed above run #1"
    );
    h.get_by_label("#1").click();
    h.run();
    // With a run open the list is a resizable panel of its own; both runs are still listed.
    h.get_by_label("#2");
    let shown = |h: &Harness<'_, Workbench>| {
        h.state()
            .runs
            .open
            .as_ref()
            .and_then(|o| o.shown_x)
            .expect("the latency chart was drawn")
    };
    let whole = shown(&h);
    assert!(whole.1 - whole.0 >= 3.0, "the run's 4 s: {whole:?}");
    // Zoom in on the latency chart (pinch / ctrl+scroll) with the pointer over it.
    let chart = h
        .get_by_label_contains("Latency — drag across")
        .rect()
        .center_bottom()
        + egui::vec2(0.0, 60.0);
    h.event(egui::Event::PointerMoved(chart));
    h.run();
    for _ in 0..5 {
        h.event(egui::Event::Zoom(1.6));
        h.run();
    }
    let zoomed = shown(&h);
    assert!(
        zoomed.1 - zoomed.0 < (whole.1 - whole.0) / 2.0,
        "zoomed in: {zoomed:?} of {whole:?}"
    );
    // The next run opens at its own bounds, not at the last run's zoom.
    h.get_by_label("#2").click();
    h.run();
    let next = shown(&h);
    assert!(next.1 - next.0 >= 3.0, "run #2 opens whole: {next:?}");
    // Zoom again, then Reset view brings the whole run back.
    h.event(egui::Event::PointerMoved(chart));
    h.run();
    for _ in 0..5 {
        h.event(egui::Event::Zoom(1.6));
        h.run();
    }
    assert!(shown(&h).1 - shown(&h).0 < (next.1 - next.0) / 2.0);
    h.get_by_label("Reset view").click();
    h.run();
    let reset = shown(&h);
    assert!(reset.1 - reset.0 >= 3.0, "reset: {reset:?}");
}

/// The text field beside the button `button` (list editors' add rows are named by their button).
fn add_field<'a>(h: &'a Harness<'static, Workbench>, button: &'a str) -> egui_kittest::Node<'a> {
    h.query_all_by_role_and_label(egui::accesskit::Role::TextInput, button)
        .next()
        .unwrap_or_else(|| panic!("an add field named {button}"))
}

/// The last add field named `button` (the scenario's thresholds come after every request's).
fn last_add_field<'a>(
    h: &'a Harness<'static, Workbench>,
    button: &'a str,
) -> egui_kittest::Node<'a> {
    h.query_all_by_role_and_label(egui::accesskit::Role::TextInput, button)
        .last()
        .unwrap_or_else(|| panic!("an add field named {button}"))
}

/// Scrolls the first widget labelled `label` into view and clicks it.
fn click_first(h: &mut Harness<'static, Workbench>, label: &str) {
    h.get_all_by_label(label)
        .next()
        .expect(label)
        .scroll_to_me();
    h.run();
    h.get_all_by_label(label).next().expect(label).click();
    h.run();
}

/// Scrolls the field labelled `label` into view, focuses it and replaces its text with `typed`.
fn retype(h: &mut Harness<'static, Workbench>, label: &str, typed: &str) {
    h.get_by_label(label).scroll_to_me();
    h.run();
    h.get_by_label(label).focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run();
    h.get_by_label(label).type_text(typed);
    h.run();
}

fn text(h: &Harness<'static, Workbench>) -> String {
    h.state()
        .scenarios
        .editor
        .as_ref()
        .expect("editor")
        .text
        .clone()
}

#[test]
fn list_editors_add_and_remove_rows_without_eating_separators() {
    let e = env();
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(ScriptedDialogs::default()),
    ));
    h.run();
    // Expected status: a row of codes; 204 typed into the add field and Enter adds it.
    add_field(&h, "Add status").scroll_to_me();
    h.run();
    add_field(&h, "Add status").focus();
    h.run();
    for key in ["2", "0", "4"] {
        add_field(&h, "Add status").type_text(key);
        h.run();
    }
    h.key_press(egui::Key::Enter);
    h.run();
    assert!(text(&h).contains("status = [200, 204]"), "{}", text(&h));
    // A code that is not one is refused where it was typed, and nothing is written.
    add_field(&h, "Add status").scroll_to_me();
    h.run();
    add_field(&h, "Add status").focus();
    h.run();
    add_field(&h, "Add status").type_text("2022x");
    h.run();
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Add status")
        .click();
    h.run();
    h.get_by_label_contains("not a status code");
    assert!(text(&h).contains("status = [200, 204]"), "{}", text(&h));
    // Each code is removed by its own button.
    h.get_by_label("200 x").click();
    h.run();
    assert!(
        text(&h).contains("checks = [{ status = 204 }]"),
        "{}",
        text(&h)
    );
    // Thresholds: typed into the add row, Enter, the next typed straight after — each its own row.
    last_add_field(&h, "Add threshold").scroll_to_me();
    h.run();
    let before = text(&h);
    assert!(before.contains(
        r#"thresholds = ["p95 < 200ms", "p99 < 500ms", "error_rate < 0.1%", "rate > 180/s"]"#
    ));
    for t in ["error_rate < 5%", "p50 < 20ms"] {
        last_add_field(&h, "Add threshold").focus();
        h.run();
        last_add_field(&h, "Add threshold").type_text(t);
        h.run();
        h.key_press(egui::Key::Enter);
        h.run();
    }
    assert!(
        text(&h).contains(r#""rate > 180/s", "error_rate < 5%", "p50 < 20ms"]"#),
        "{}",
        text(&h)
    );
    // A row's expression edits in place; "stops the run" turns it into a table with `after`.
    h.get_by_label("Threshold 1").focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run();
    h.get_by_label("Threshold 1").type_text("p95 < 250ms");
    h.run();
    assert!(
        text(&h).contains(r#"thresholds = ["p95 < 250ms","#),
        "{}",
        text(&h)
    );
    h.get_all_by_label("stops the run")
        .nth(3)
        .expect("row 4")
        .click();
    h.run();
    h.get_by_label("Threshold 4 after").focus();
    h.run();
    h.get_by_label("Threshold 4 after").type_text("5s");
    h.run();
    assert!(
        text(&h).contains(r#"{ threshold = "rate > 180/s", abort = true, after = "5s" }"#),
        "{}",
        text(&h)
    );
    assert!(
        h.state()
            .scenarios
            .editor
            .as_ref()
            .expect("editor")
            .check
            .is_ok()
    );
    // Rows are removed one by one; the last one removed takes the key with it.
    for _ in 0..6 {
        h.get_all_by_label("remove")
            .last()
            .expect("a remove button")
            .scroll_to_me();
        h.run();
        h.get_all_by_label("remove")
            .last()
            .expect("a remove button")
            .click();
        h.run();
    }
    assert!(!text(&h).contains("thresholds ="), "{}", text(&h));
}

#[test]
fn the_form_edits_query_json_bodies_checks_request_thresholds_and_think_time() {
    let e = env();
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(ScriptedDialogs::default()),
    ));
    h.run();
    // Query parameters: a name, then its value.
    add_field(&h, "Add parameter").focus();
    h.run();
    add_field(&h, "Add parameter").type_text("tenant");
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    h.get_by_label("tenant").focus();
    h.run();
    h.get_by_label("tenant").type_text("${random(1,50)}");
    h.run();
    assert!(
        text(&h).contains(r#"query = { tenant = "${random(1,50)}" }"#),
        "{}",
        text(&h)
    );
    // Checks of every kind, each with its own field.
    for kind in ["+ body contains", "+ JSON field", "+ latency"] {
        click_first(&mut h, kind);
    }
    retype(&mut h, "body contains 2", "pong");
    retype(&mut h, "equals 3", "42");
    assert!(
        text(&h).contains(
            r#"checks = [{ status = 200 }, { body_contains = "pong" }, { json = "id", equals = 42 }, { latency = "< 1s" }]"#
        ),
        "{}",
        text(&h)
    );
    // A request's own threshold.
    add_field(&h, "Add threshold").scroll_to_me();
    h.run();
    let request_add = h
        .query_all_by_role_and_label(egui::accesskit::Role::TextInput, "Add threshold")
        .next()
        .expect("the first request's add row comes first");
    request_add.focus();
    h.run();
    h.query_all_by_role_and_label(egui::accesskit::Role::TextInput, "Add threshold")
        .next()
        .expect("field")
        .type_text("p99 < 40ms");
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    assert!(
        text(&h).contains("checks = [{ status = 200 }")
            && text(&h).contains("thresholds = [\"p99 < 40ms\"]"),
        "{}",
        text(&h)
    );
    // The first request gets a JSON body: a broken one is shown as broken and not written.
    h.get_all_by_label("JSON")
        .next()
        .expect("body kind")
        .click();
    h.run();
    assert!(text(&h).contains("json = {}"), "{}", text(&h));
    const JSON: &str = "JSON body (templates such as ${uuid} work inside strings)";
    let input = egui::accesskit::Role::MultilineTextInput;
    h.get_all_by_role_and_label(input, JSON)
        .next()
        .expect("json")
        .focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run();
    h.get_all_by_role_and_label(input, JSON)
        .next()
        .expect("json")
        .type_text(r#"{"id": "${uuid}", "tags": ["a", "b"], "n": 3"#);
    h.run();
    h.get_by_label_contains("not sent until it is valid JSON");
    assert!(text(&h).contains("json = {}"), "{}", text(&h));
    h.get_all_by_role_and_label(input, JSON)
        .next()
        .expect("json")
        .type_text("}");
    h.run();
    assert!(
        text(&h).contains(r#"json = { id = "${uuid}", n = 3, tags = ["a", "b"] }"#),
        "{}",
        text(&h)
    );
    if let Err(e) = &h.state().scenarios.editor.as_ref().expect("editor").check {
        panic!("{e}\n{}", text(&h));
    }
    // Think time, closed model: two fields, a range when they differ.
    click_first(&mut h, "closed");
    retype(&mut h, "from", "50ms");
    retype(&mut h, "to", "150ms");
    assert!(
        text(&h).contains(r#"think_time = { min = "50ms", max = "150ms" }"#),
        "{}",
        text(&h)
    );
    assert!(
        h.state()
            .scenarios
            .editor
            .as_ref()
            .expect("editor")
            .check
            .is_ok()
    );
    // An error appearing above the form does not move it.
    retype(&mut h, "Duration", "10s");
    let name_y = h.get_by_label("Name").rect().top();
    for bad in ["p95 < banana", "rate > fast", "p101 < 1s"] {
        last_add_field(&h, "Add threshold").scroll_to_me();
        h.run();
        last_add_field(&h, "Add threshold").focus();
        h.run();
        last_add_field(&h, "Add threshold").type_text(bad);
        h.run();
        h.key_press(egui::Key::Enter);
        h.run();
    }
    h.get_by_label("Name").scroll_to_me();
    h.run();
    let problems = match &h.state().scenarios.editor.as_ref().expect("editor").check {
        Err(e) => e.problems.len(),
        Ok(_) => 0,
    };
    assert!(
        problems >= 2,
        "{problems} problems: more lines than the valid one"
    );
    assert_eq!(
        h.get_by_label("Name").rect().top(),
        name_y,
        "the form stays put"
    );
}

#[test]
fn keyboard_shortcuts_save_run_stop_and_find() {
    let _g = common::serial();
    let e = env();
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(ScriptedDialogs::default()),
    ));
    h.run();
    // Ctrl+S saves an edit.
    h.get_by_label("Name").focus();
    h.run();
    h.get_by_label("Name").type_text(" v3");
    h.run();
    assert!(h.state().dirty());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    assert!(!h.state().dirty(), "Ctrl+S saved");
    let saved = std::fs::read_to_string(e.samples.join("quickstart.toml")).expect("saved file");
    assert!(saved.contains("Quick start v3"));
    // Ctrl+Enter runs it; Esc stops it.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    h.step();
    assert!(
        h.state().live.is_running(),
        "Ctrl+Enter ran: {:?}",
        h.state().live.error
    );
    step_until(&mut h, Duration::from_secs(6), |b| b.live.last.is_some());
    h.key_press(egui::Key::Escape);
    h.step();
    step_until(&mut h, Duration::from_secs(5), |b| !b.live.is_running());
    let (status, _) = h.state().live.finished.clone().expect("finished");
    assert_eq!(status, loadbench::metrics::RunStatus::Stopped);
    // Ctrl+F: the Runs screen, the cursor in its filter.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run();
    assert_eq!(h.state().screen, Screen::Runs);
    h.get_by_label("Filter");
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Filter")
        .type_text("no such run");
    h.run();
    assert_eq!(
        h.state().runs.filter,
        "no such run",
        "typing went to the filter"
    );
}

#[test]
fn environment_values_set_in_the_window_run_the_scenario_and_are_never_stored() {
    let _g = common::serial();
    let e = env();
    let file = e.samples.join("secret.toml");
    std::fs::write(
        &file,
        r#"name = "secret"
duration = "1s"
[targets]
api = "demo"
[load]
model = "open"
rate = 20
[[requests]]
name = "echo"
path = "/v1/echo"
headers = { authorization = "Bearer ${env.LB_GUI_TEST_TOKEN}" }
"#,
    )
    .expect("write");
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(ScriptedDialogs::default()),
    ));
    h.run();
    h.state_mut().open_path(&file).expect("opens");
    h.run();
    assert!(
        h.state()
            .scenarios
            .editor
            .as_ref()
            .is_some_and(|ed| ed.check.is_err())
    );
    h.get_by_label_contains("Environment (1 of 1 variables not set)");
    h.get_by_label("LB_GUI_TEST_TOKEN").focus();
    h.run();
    h.get_by_label("LB_GUI_TEST_TOKEN")
        .type_text("tok-123-secret");
    h.run();
    h.run();
    let ed = h.state().scenarios.editor.as_ref().expect("editor");
    assert!(ed.check.is_ok(), "{:?}", ed.check.as_ref().err());
    assert!(
        !ed.text.contains("tok-123-secret"),
        "the file keeps ${{env.*}}"
    );
    assert!(!ed.dirty(), "setting a value does not edit the scenario");
    h.get_by_label("Run").click();
    h.step();
    step_until(&mut h, Duration::from_secs(8), |b| {
        b.live.finished.is_some()
    });
    let (_, stored) = h.state().live.finished.clone().expect("finished");
    let id = stored.expect("stored");
    let store = loadbench::store::Store::open(&e.db).expect("store");
    let run = store.run(id).expect("run");
    assert!(run.row.requests > 0);
    assert!(run.scenario_text.contains("${env.LB_GUI_TEST_TOKEN}"));
    let export = serde_json::to_string(&store.export_run(id).expect("export")).expect("json");
    assert!(!export.contains("tok-123-secret"), "never stored");
    let saved = std::fs::read_to_string(&file).expect("file");
    assert!(
        !saved.contains("tok-123-secret"),
        "never written to the file"
    );
}

#[test]
fn a_request_clicked_in_an_opened_run_is_shown_alone_in_every_chart() {
    let _g = common::serial();
    let e = env();
    store_quickstart_runs(&e.db, 1);
    // Tall enough to show the request table under the charts (a table's own scroll area
    // takes a scroll-into-view request before the screen's can).
    let mut h = harness_sized(
        Workbench::new(
            e.samples.clone(),
            e.db.clone(),
            Box::new(ScriptedDialogs::default()),
        ),
        1280.0,
        1400.0,
    );
    h.run();
    h.get_by_label("Runs").click();
    h.run();
    h.get_by_label("#1").click();
    h.run();
    step_until(&mut h, Duration::from_secs(10), |b| {
        b.runs
            .open
            .as_ref()
            .is_some_and(|o| o.window_totals.is_some())
    });
    // The latency heatmap holds every response of every second, warm-up included.
    step_until(&mut h, Duration::from_secs(10), |b| {
        b.runs.open.as_ref().is_some_and(|o| o.heat.is_some())
    });
    let o = h.state().runs.open.as_ref().expect("open");
    let maps = o.heat.as_ref().expect("heatmaps");
    let sent: u64 = o.series.ticks.iter().map(|t| t.requests).sum();
    assert_eq!(maps[0].total(), sent);
    assert_eq!(maps[1].total() + maps[2].total(), sent, "per request too");
    h.get_by_label_contains("Latency heatmap");
    let mean = |v: &[f64]| v.iter().skip(1).sum::<f64>() / (v.len().max(2) - 1) as f64;
    let all = mean(&h.state().runs.open.as_ref().expect("open").chart.rate);
    // The request table's row (the evidence tables below name it too).
    h.query_all_by_label("ingest")
        .next()
        .expect("a row")
        .click();
    h.run();
    let o = h.state().runs.open.as_ref().expect("open");
    let (i, chart) = o.shown.as_ref().expect("a request shown alone");
    assert_eq!(*i, 1);
    // The sample sends ingest one request in four: a quarter of the run's 200/s.
    let one = mean(&chart.rate);
    assert!(
        (one / all - 0.25).abs() < 0.08,
        "ingest {one:.1}/s of {all:.1}/s"
    );
    h.get_by_label_contains("Showing only ingest");
    // Clicked again, every request is back.
    // The request table's row (the evidence tables below name it too).
    h.query_all_by_label("ingest")
        .next()
        .expect("a row")
        .click();
    h.run();
    assert!(h.state().runs.open.as_ref().expect("open").shown.is_none());
    assert!(h.query_by_label_contains("Showing only").is_none());
}

#[test]
fn the_theme_chooser_switches_light_and_dark() {
    let e = env();
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(ScriptedDialogs::default()),
    ));
    h.run();
    for (name, dark) in [("Light", false), ("Dark", true)] {
        h.get_by_label("Theme").click();
        h.run();
        h.get_by_role_and_label(egui::accesskit::Role::Button, name)
            .click();
        h.run();
        assert_eq!(h.ctx.global_style().visuals.dark_mode, dark, "{name}");
    }
}

#[test]
fn trends_show_a_scenarios_runs_judged_against_its_baseline_and_open_one() {
    let _g = common::serial();
    let e = env();
    store_quickstart_runs(&e.db, 3);
    loadbench::store::Store::open(&e.db)
        .expect("store")
        .set_baseline(&[1])
        .expect("baseline");
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(ScriptedDialogs::default()),
    ));
    h.run();
    h.get_by_label("Trends").click();
    h.step();
    assert_eq!(h.state().trends.scenario.as_deref(), Some("Quick start"));
    step_until(&mut h, Duration::from_secs(20), |b| !b.trends.busy());
    let t = &h.state().trends;
    assert_eq!(
        t.points.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![1, 2, 3],
        "oldest first"
    );
    assert_eq!(t.verdict(&t.points[0]), "baseline");
    // 4-second runs are too short to judge a percentile: said so, never a quiet pass.
    assert_eq!(t.verdict(&t.points[2]), "not enough data");
    assert!(t.points.iter().all(|p| p.latency_ms[1] > 0.0));
    h.get_all_by_label("not enough data").next().expect("shown");
    // A run's id opens it on the Runs screen.
    h.get_by_label("#3").click();
    h.run();
    assert_eq!(h.state().screen, Screen::Runs);
    assert_eq!(h.state().runs.open.as_ref().map(|o| o.run.row.id), Some(3));
}

#[test]
fn annotations_pinned_in_the_window_are_drawn_stored_exported_and_removed() {
    let _g = common::serial();
    let e = env();
    store_quickstart_runs(&e.db, 1);
    let report = e._dir.path().join("noted.md");
    let dialogs = ScriptedDialogs {
        reports: vec![report.clone()],
        ..Default::default()
    };
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(dialogs),
    ));
    h.run();
    h.get_by_label("Runs").click();
    h.run();
    h.get_by_label("#1").click();
    h.run();
    // The time as a right click on the latency chart would pick it; the text typed.
    h.state_mut().runs.open.as_mut().expect("open").new_note.0 = 2.0;
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Annotate")
        .focus();
    h.run();
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Annotate")
        .type_text("deploy v2.3");
    h.run();
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Annotate")
        .click();
    h.run();
    let store = loadbench::store::Store::open(&e.db).expect("store");
    let stored = store.annotations(1).expect("annotations");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].at_s, stored[0].text.as_str()),
        (2.0, "deploy v2.3")
    );
    h.get_by_label("1. 2 s deploy v2.3");
    let o = h.state().runs.open.as_ref().expect("open");
    assert_eq!(
        o.chart.marks,
        vec![(2.0, "deploy v2.3".to_string())],
        "on the charts"
    );
    // Reports list it, numbered as the charts mark it.
    h.get_by_label("format").click();
    h.run();
    h.get_by_role_and_label(egui::accesskit::Role::Button, "md")
        .click();
    h.run();
    h.get_by_label("Export…").click();
    h.step();
    step_until(&mut h, Duration::from_secs(20), |b| {
        b.status.starts_with("exported")
    });
    let md = std::fs::read_to_string(&report).expect("report");
    assert!(
        md.contains("## Annotations") && md.contains("| 1 | 2 s | deploy v2.3 |"),
        "{md}"
    );
    // Removed from the window, gone from the store and the charts.
    h.get_by_role_and_label(egui::accesskit::Role::Button, "x")
        .click();
    h.run();
    assert!(store.annotations(1).expect("annotations").is_empty());
    assert!(
        h.state()
            .runs
            .open
            .as_ref()
            .expect("open")
            .chart
            .marks
            .is_empty()
    );
}

#[test]
fn the_runs_table_spreads_across_a_wide_window() {
    let _g = common::serial();
    let e = env();
    store_quickstart_runs(&e.db, 1);
    let mut h = harness_sized(
        Workbench::new(
            e.samples.clone(),
            e.db.clone(),
            Box::new(ScriptedDialogs::default()),
        ),
        1920.0,
        900.0,
    );
    h.run();
    h.get_by_label("Runs").click();
    h.run();
    // The last column's header starts past the middle of a 1920-pixel window.
    let tags = h.get_by_label("tags").rect();
    assert!(tags.left() > 960.0, "{tags:?}");
}

#[test]
fn a_staged_ramp_of_virtual_users_shows_its_scalability_fit() {
    let _g = common::serial();
    let e = env();
    let file = e.samples.join("ramp.toml");
    std::fs::write(
        &file,
        r#"name = "ramp"
warmup = "1s"
[targets]
api = "demo"
[load]
model = "closed"
start = 1
stages = [
  { duration = "4s", target = 1 }, { duration = "1s", target = 2 }, { duration = "3s", target = 2 },
  { duration = "1s", target = 4 }, { duration = "3s", target = 4 }, { duration = "1s", target = 8 },
  { duration = "3s", target = 8 },
]
[[requests]]
name = "wait"
path = "/v1/echo"
query = { delay_ms = 10 }
"#,
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadbench"))
        .arg("--db")
        .arg(&e.db)
        .args(["run", file.to_str().expect("path"), "-q"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut h = harness_sized(
        Workbench::new(
            e.samples.clone(),
            e.db.clone(),
            Box::new(ScriptedDialogs {
                reports: vec![e.samples.join("ramp.md")],
                ..Default::default()
            }),
        ),
        1280.0,
        1600.0,
    );
    h.run();
    h.get_by_label("Runs").click();
    h.run();
    h.get_by_label("#1").click();
    h.run();
    h.get_by_label("Scalability: one point per number of virtual users");
    h.get_by_label("Throughput against virtual users");
    // 1, 2, 4 and 8 users each held (2 s and more past the warm-up and the ramps): four
    // levels, and a 10 ms service that scales.
    let o = h.state().runs.open.as_ref().expect("open");
    let levels = loadbench::analysis::usl::levels(&o.series.ticks);
    assert_eq!(
        levels.iter().map(|l| l.0).collect::<Vec<_>>(),
        vec![1.0, 2.0, 4.0, 8.0],
        "{levels:?}"
    );
    let points: Vec<(f64, f64)> = levels.iter().map(|l| (l.0, l.1)).collect();
    let u = loadbench::analysis::usl::fit(&points).expect("four levels fit");
    assert!(
        (u.lambda / 100.0 - 1.0).abs() < 0.3,
        "one user does about 100/s: {u:?}"
    );
    h.get_by_label(&u.describe());
    // The report carries the levels and the fit.
    h.get_by_label("format").click();
    h.run();
    h.get_by_role_and_label(egui::accesskit::Role::Button, "md")
        .click();
    h.run();
    h.get_by_label("Export…").click();
    h.step();
    step_until(&mut h, Duration::from_secs(20), |b| {
        b.status.starts_with("exported")
    });
    let md = std::fs::read_to_string(e.samples.join("ramp.md")).expect("report");
    assert!(
        md.contains("## Scalability") && md.contains(&u.describe()),
        "{md}"
    );
    assert!(md.contains("\n| 8 | "), "{md}");
}

#[test]
fn compare_judges_against_the_scenarios_baseline_set_or_one_run_and_exports_it() {
    let _g = common::serial();
    let e = env();
    store_quickstart_runs(&e.db, 3);
    loadbench::store::Store::open(&e.db)
        .expect("store")
        .set_baseline(&[1, 2])
        .expect("baseline");
    let report = e._dir.path().join("set.md");
    let dialogs = ScriptedDialogs {
        reports: vec![report.clone()],
        ..Default::default()
    };
    let mut h = harness(Workbench::new(
        e.samples.clone(),
        e.db.clone(),
        Box::new(dialogs),
    ));
    h.run();
    h.get_by_label("Runs").click();
    h.run();
    for b in h.get_all_by_role(egui::accesskit::Role::CheckBox) {
        b.click();
    }
    h.run();
    h.get_by_label("Compare 3 selected").click();
    h.step();
    step_until(&mut h, Duration::from_secs(20), |b| !b.compare.busy());
    // The ticked baseline runs are judged as one set, as the CI gate judges.
    assert_eq!(h.state().compare.bases, vec![1, 2]);
    let v = &h.state().compare.verdicts;
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].candidate, v[0].baselines.clone()), (3, vec![1, 2]));
    h.get_by_label("#3 against baseline runs #1, #2");
    // One run alone as the baseline: the two others judged against it.
    h.get_by_label("Baseline").click();
    h.run();
    h.get_by_role_and_label(egui::accesskit::Role::Button, "#1 Quick start")
        .click();
    h.step();
    step_until(&mut h, Duration::from_secs(20), |b| !b.compare.busy());
    assert_eq!(h.state().compare.bases, vec![1]);
    assert_eq!(h.state().compare.verdicts.len(), 2);
    // And back to the scenario's set, then exported.
    h.get_by_label("Baseline").click();
    h.run();
    h.get_by_role_and_label(egui::accesskit::Role::Button, "baseline runs #1, #2")
        .click();
    h.step();
    step_until(&mut h, Duration::from_secs(20), |b| !b.compare.busy());
    assert_eq!(h.state().compare.bases, vec![1, 2]);
    h.get_by_label("Export comparison…").click();
    h.step();
    step_until(&mut h, Duration::from_secs(30), |b| {
        b.status.starts_with("exported")
    });
    let md = std::fs::read_to_string(&report).expect("report");
    assert!(md.contains("Against baseline runs #1, #2"), "{md}");
}

#[test]
fn another_tools_results_imported_from_the_runs_screen_open_as_a_run() {
    let e = env();
    let k6 = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/foreign/k6-1.1.ndjson.gz");
    let mut h = with_files(&e, vec![k6]);
    h.run();
    h.get_by_label("Runs").click();
    h.run();
    h.get_by_label("Import results…").click();
    h.run();
    step_until(&mut h, Duration::from_secs(20), |w| {
        w.runs.open.is_some() || w.runs.error.is_some()
    });
    assert!(h.state().runs.error.is_none(), "{:?}", h.state().runs.error);
    let open = h
        .state()
        .runs
        .open
        .as_ref()
        .expect("the imported run opens");
    assert_eq!(open.run.row.requests, 102, "every request of k6's file");
    assert!(open.run.row.tags.contains(&"k6".to_string()));
    assert!(h.query_all_by_label_contains("k6: k6-1.1").count() >= 1);
}

/// Runs `text` from the command line into `e`'s database, then opens that run (#1) in a tall
/// window's Runs screen.
fn open_stored_run(e: &Env, file: &str, text: &str) -> Harness<'static, Workbench> {
    let scenario = e.samples.parent().expect("dir").join(file);
    std::fs::write(&scenario, text).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadbench"))
        .arg("--db")
        .arg(&e.db)
        .args(["run", scenario.to_str().expect("utf-8"), "-q"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut h = harness_sized(
        Workbench::new(
            e.samples.clone(),
            e.db.clone(),
            Box::new(ScriptedDialogs::default()),
        ),
        1400.0,
        2400.0,
    );
    h.run();
    h.get_by_label("Runs").click();
    h.run();
    h.get_by_label("#1").click();
    h
}

#[test]
fn a_monitored_run_shows_the_server_side_beside_its_latency() {
    let e = env();
    let mut h = open_stored_run(
        &e,
        "monitored.toml",
        "name = \"monitored\"\nduration = \"3s\"\nwarmup = \"0s\"\n[targets]\napi = \"demo\"\n\
         [load]\nmodel = \"open\"\nrate = 50\n[[requests]]\nname = \"echo\"\npath = \"/v1/echo\"\n\
         [monitor]\nprometheus = [\"api\"]\nmetrics = [\"demo_requests_total\", \"demo_queue_depth\"]\n",
    );
    step_until(&mut h, Duration::from_secs(20), |w| {
        w.runs
            .open
            .as_ref()
            .is_some_and(|o| !o.monitor.series.is_empty())
    });
    let names: Vec<String> = h
        .state()
        .runs
        .open
        .as_ref()
        .expect("open")
        .monitor
        .series
        .iter()
        .map(|s| s.name.clone())
        .collect();
    assert!(
        names.contains(&"demo_requests_total /s".to_string()),
        "{names:?}"
    );
    h.get_by_label_contains("Beside the load, each second: what [monitor] read");
}

#[test]
fn a_live_run_draws_what_its_monitor_reads() {
    let _g = common::serial();
    let e = env();
    // The first sample, which the window opens at start, becomes a monitored scenario.
    std::fs::write(
        e.samples.join("quickstart.toml"),
        "name = \"monitored live\"\nduration = \"20s\"\nwarmup = \"0s\"\n[targets]\napi = \"demo\"\n\
         [load]\nmodel = \"open\"\nrate = 50\n[[requests]]\nname = \"echo\"\npath = \"/v1/echo\"\n\
         [monitor]\nprometheus = [\"api\", \"http://127.0.0.1:1/metrics\"]\nmetrics = [\"demo_requests_total\"]\n",
    )
    .expect("write");
    let mut h = harness_sized(
        Workbench::new(
            e.samples.clone(),
            e.db.clone(),
            Box::new(ScriptedDialogs::default()),
        ),
        1400.0,
        2400.0,
    );
    h.run();
    h.get_by_label("Run").click();
    h.step();
    assert!(h.state().live.is_running(), "{:?}", h.state().live.error);
    step_until(&mut h, Duration::from_secs(10), |b| {
        b.live.monitor.iter().any(|s| s.points.len() >= 2)
    });
    let live = &h.state().live;
    assert_eq!(live.monitor[0].name, "api demo_requests_total /s");
    assert!(
        live.monitor_failed
            .get("127.0.0.1:1")
            .is_some_and(|n| *n >= 2)
    );
    h.get_by_label_contains("Beside the load, each second: what [monitor] reads");
    h.get_by_label_contains("127.0.0.1:1 could not be read");
    h.key_press(egui::Key::Escape);
    h.step();
    step_until(&mut h, Duration::from_secs(5), |b| !b.live.is_running());
}

#[test]
fn a_click_on_a_second_shows_where_its_time_went_and_the_requests_behind_it() {
    let _g = common::serial();
    let e = env();
    store_quickstart_runs(&e.db, 1);
    let mut h = harness_sized(
        Workbench::new(
            e.samples.clone(),
            e.db.clone(),
            Box::new(ScriptedDialogs::default()),
        ),
        1400.0,
        2400.0,
    );
    h.run();
    h.get_by_label("Runs").click();
    h.run();
    h.get_by_label("#1").click();
    let summary = |w: &Workbench| {
        w.runs
            .open
            .as_ref()
            .and_then(|o| o.window_summary.as_ref().zip(o.window_totals.as_ref()))
            .map(|(s, (label, _))| (label.clone(), s.slowest.len(), s.has_phases()))
    };
    step_until(&mut h, Duration::from_secs(20), |w| summary(w).is_some());
    let (label, slowest, phases) = summary(h.state()).expect("whole run");
    assert!(label.starts_with("whole run"), "{label}");
    assert!(
        phases && slowest > 0,
        "the whole run has phases and exemplars"
    );
    h.get_by_label_contains("Where the time goes: whole run");
    h.get_by_label_contains("Slowest requests: whole run");
    // A click (no drag) on the latency chart picks the second under the pointer.
    let rect = h.get_by_label_contains("Latency — drag across").rect();
    let at = rect.center_bottom() + egui::vec2(0.0, 60.0);
    h.event(egui::Event::PointerMoved(at));
    h.run();
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        h.run();
    }
    step_until(&mut h, Duration::from_secs(20), |w| {
        summary(w).is_some_and(|(l, _, _)| l.starts_with("seconds"))
    });
    let (label, slowest, _) = summary(h.state()).expect("a second");
    let open = h.state().runs.open.as_ref().expect("open");
    let (a, b) = open.window.expect("a window");
    assert!(
        (b - a - 1.0).abs() < 1e-9 && a.fract() == 0.0,
        "one whole second: {a}–{b}"
    );
    assert!(slowest > 0, "{label}: the requests behind it");
    // Every request listed ended in that second.
    for r in &open.window_summary.as_ref().expect("summary").slowest {
        assert_eq!(f64::from(r.tick), b, "{r:?}");
    }
    h.get_by_label_contains(&format!("Slowest requests: {label}"));
}

#[test]
fn a_streamed_runs_page_shows_its_first_event_and_gaps() {
    let e = env();
    let mut h = open_stored_run(
        &e,
        "streamed.toml",
        "name = \"streamed\"\nduration = \"2s\"\nwarmup = \"0s\"\n[targets]\nllm = \"demo\"\n\
         [load]\nmodel = \"open\"\nrate = 10\n[[requests]]\nname = \"chat\"\nmethod = \"POST\"\n\
         path = \"/v1/chat/completions\"\nquery = { tokens = \"5\", first_ms = \"20\", gap_ms = \"5\" }\n\
         json = { stream = true }\nstream = \"sse\"\n",
    );
    step_until(&mut h, Duration::from_secs(20), |w| {
        w.runs
            .open
            .as_ref()
            .is_some_and(|o| o.window_totals.is_some())
    });
    h.run();
    // In the request table and in the page's "Streamed answers" section.
    for column in ["first event p95", "event gap p99"] {
        assert_eq!(h.get_all_by_label(column).count(), 2, "{column}");
    }
    h.get_by_label_contains("Streamed answers: ");
}

#[test]
fn a_proxied_webhook_runs_page_shows_the_overhead_deliveries_and_their_seconds() {
    let e = env();
    let mut h = open_stored_run(
        &e,
        "proxied.toml",
        "name = \"proxied\"\nduration = \"2s\"\n[webhooks]\ngrace = \"1s\"\n[targets]\n\
         direct = \"demo\"\nproxied = { url = \"demo\", proxy = \"demo\", proxy_delay = \"2ms\" }\n\
         [load]\nmodel = \"open\"\nrate = 20\n[[requests]]\nname = \"order\"\nmethod = \"POST\"\n\
         path = \"/v1/webhooks/trigger\"\nquery = { deliver_ms = \"20\" }\n\
         json = { callback_url = \"${webhook.url}\", id = \"${webhook.id}\" }\n",
    );
    step_until(&mut h, Duration::from_secs(20), |w| {
        w.runs
            .open
            .as_ref()
            .is_some_and(|o| o.window_totals.is_some() && !o.overhead.is_empty())
    });
    h.run();
    // Both targets are rows; the overhead and the deliveries have their sections.
    h.get_by_label_contains("Proxy overhead: whole run");
    h.get_by_label_contains("Webhook delivery: ");
    h.get_by_label("via proxy");
    // Deliveries per second are charted beside the load.
    h.get_by_label_contains("Beside the load, each second");
}

#[test]
fn an_openapi_document_becomes_a_new_scenario_through_the_file_dialog() {
    let e = env();
    let doc = e.samples.parent().expect("dir").join("petstore.yaml");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/openapi/petstore.yaml"
        ),
        &doc,
    )
    .expect("copy");
    let mut h = with_files(&e, vec![doc]);
    h.run();
    h.get_by_label("Import OpenAPI…").click();
    h.run();
    let ed = h.state().scenarios.editor.as_ref().expect("editor");
    assert!(ed.text.contains("name = \"showPetById\""), "{}", ed.text);
    assert!(ed.check.is_ok(), "{:?}", ed.check.as_ref().err());
    h.get_by_label_contains("petId has no example");
}

#[test]
fn the_form_builds_a_journey_reorders_its_steps_and_adds_extract_rules() {
    let e = env();
    let mut h = harness_sized(
        Workbench::new(
            e.samples.clone(),
            e.db.clone(),
            Box::new(ScriptedDialogs::default()),
        ),
        1400.0,
        3000.0,
    );
    h.run();
    // The open model's rate counts arrivals: requests until a journey joins them.
    let labelled = |h: &Harness<'static, Workbench>, l: &str| h.query_all_by_label(l).count() > 0;
    assert!(labelled(&h, "Rate (requests/s)"));
    h.get_by_label("Journeys").click();
    h.run();
    h.get_by_label("Add journey").click();
    h.run();
    h.get_by_label("Add step").click();
    h.run();
    let t = text(&h);
    assert!(t.contains("[[journeys]]\nname = \"journey-1\""), "{t}");
    assert!(labelled(&h, "Rate (arrivals/s)"));
    assert!(!labelled(&h, "Rate (requests/s)"));
    let first = t.find("name = \"step-1\"").expect("step 1");
    let second = t.find("name = \"step-2\"").expect("step 2");
    assert!(first < second, "{t}");
    // The second step moves before the first.
    h.get_by_label("2. step-2").click();
    h.run();
    click_first(&mut h, "Move up");
    let t = text(&h);
    assert!(
        t.find("name = \"step-2\"") < t.find("name = \"step-1\""),
        "{t}"
    );
    // An extract rule on the (now first) step, its source switched to a header.
    click_first(&mut h, "Add extract");
    assert!(
        text(&h).contains(r#"extract = [{ var = "value1", json = "$.id" }]"#),
        "{}",
        text(&h)
    );
    // A threshold on the journey's whole iterations: its add row comes after its open step's
    // and before the scenario's.
    let rows = h
        .query_all_by_role_and_label(egui::accesskit::Role::TextInput, "Add threshold")
        .count();
    assert!(rows >= 3, "{rows} add rows");
    fn nth_add<'a>(h: &'a Harness<'static, Workbench>, n: usize) -> egui_kittest::Node<'a> {
        h.query_all_by_role_and_label(egui::accesskit::Role::TextInput, "Add threshold")
            .nth(n)
            .expect("the journey's add row")
    }
    nth_add(&h, rows - 2).focus();
    h.run();
    nth_add(&h, rows - 2).type_text("p95 < 2s");
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    assert!(
        text(&h).contains("name = \"journey-1\"\nthresholds = [\"p95 < 2s\"]"),
        "{}",
        text(&h)
    );
    let ed = h.state().scenarios.editor.as_ref().expect("editor");
    assert!(ed.check.is_ok(), "{:?}", ed.check.as_ref().err());
}

#[test]
fn the_runs_sort_header_says_its_direction_and_flips_it() {
    let _g = common::serial();
    let e = env();
    let mut h = on_runs_screen(&e, 2);
    // Newest first at the start; the direction is drawn (no font has an arrow) and named.
    h.get_by_label("date (UTC), descending").click();
    h.run();
    h.get_by_label("date (UTC), ascending");
    h.get_by_label("rate").click();
    h.run();
    h.get_by_label("rate, descending");
    assert!(h.query_by_label("date (UTC), ascending").is_none());
}
