//! The real binary opens a real window: started under Xvfb, screenshotted, and checked to have
//! rendered (scripts/screenshot.sh fails on no window or a blank, single-colour image).
#![cfg(feature = "gui")]

use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_real_window_renders_a_live_run_under_xvfb() {
    let tools = ["Xvfb", "xwininfo", "import", "convert"];
    if let Some(missing) = tools.iter().find(|t| !have(t)) {
        assert!(
            std::env::var_os("CI").is_none(),
            "{missing} is missing: CI must install xvfb, x11-utils and imagemagick (.ci/run does)"
        );
        eprintln!("skipped: {missing} is not installed (apt install xvfb x11-utils imagemagick)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let shot = dir.path().join("live.png");
    let out = Command::new("bash")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("scripts/screenshot.sh")
        .arg(&shot)
        .args(["--screen", "live", "--run", "scenarios/quickstart.toml"])
        .env("LOADBENCH_BIN", env!("CARGO_BIN_EXE_loadbench"))
        .env("LOADBENCH_DB", dir.path().join("runs.db"))
        .env("SCREENSHOT_WAIT", "4")
        .output()
        .expect("runs the script");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(shot.metadata().is_ok_and(|m| m.len() > 10_000), "{said}");
}

#[test]
fn without_a_display_it_says_so_in_one_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_loadbench"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env(
            "LOADBENCH_DB",
            std::env::temp_dir().join("loadbench-nodisplay-test.db"),
        )
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("no display") && err.contains("loadbench run"),
        "{err}"
    );
}
