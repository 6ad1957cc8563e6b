//! Scenarios written out as other tools' scripts (k6, Artillery), so a team can run the same
//! load where its pipeline already runs those tools; what cannot be said there is listed.

mod artillery;
mod k6;

use super::template::Part;
use super::{Load, Resolved, Scenario, TargetKind};

/// A tool a scenario can be written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// A k6 JavaScript test (one scenario executor).
    K6,
    /// An Artillery YAML test.
    Artillery,
}

impl Tool {
    /// The tool named `s` (`k6`, `artillery`).
    pub fn from_name(s: &str) -> Option<Tool> {
        match s {
            "k6" => Some(Tool::K6),
            "artillery" => Some(Tool::Artillery),
            _ => None,
        }
    }
}

/// A script and what it could not carry over.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The script, with the unmapped parts as a comment at its top.
    pub text: String,
    /// What the tool cannot express, one line each.
    pub unmapped: Vec<String>,
}

/// The text an environment variable stands as while the scenario is validated for export, so
/// `${env.NAME}` comes out as the tool's own variable, never as a value from this machine.
pub fn env_marker(name: &str) -> String {
    format!("__LBENV_{name}__")
}

/// The lookup to validate a scenario with before exporting it: every variable is its marker.
pub fn marker_lookup(name: &str) -> Option<String> {
    Some(env_marker(name))
}

/// Writes `scenario` for `tool`.
pub fn export(scenario: &Scenario, tool: Tool) -> Exported {
    let mut unmapped = Vec::new();
    // A journey's order and extracted values need the tool's own scripting: its steps stay out.
    let mut plain = scenario.clone();
    plain.requests.retain(|r| r.step.is_none());
    for j in &scenario.journeys {
        unmapped.push(format!(
            "journey {}: left out (its steps' order, extract rules and cookies need the tool's own scripting)",
            j.name
        ));
    }
    let scenario = &plain;
    let body = match tool {
        Tool::K6 => k6::write(scenario, &mut unmapped),
        Tool::Artillery => artillery::write(scenario, &mut unmapped),
    };
    let mut seen = std::collections::HashSet::new();
    unmapped.retain(|u| seen.insert(u.clone()));
    let comment = if matches!(tool, Tool::K6) { "//" } else { "#" };
    let mut text = format!(
        "{comment} Written by `loadbench export-scenario` from scenario \"{}\".\n",
        scenario.name
    );
    if unmapped.is_empty() {
        text.push_str(&format!(
            "{comment} Everything in the scenario is carried over.\n"
        ));
    } else {
        text.push_str(&format!(
            "{comment} Not carried over (the tool cannot say it):\n"
        ));
        for u in &unmapped {
            text.push_str(&format!("{comment} - {u}\n"));
        }
    }
    text.push('\n');
    text.push_str(&body);
    Exported { text, unmapped }
}

/// One piece of a request's text, as every tool can spell it.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(String),
    Env(String),
    Seq,
    Random(i64, i64),
    Uuid,
    Data(String),
}

/// The pieces of a resolved template, environment markers turned back into variables.
fn pieces(r: &Resolved) -> Vec<Piece> {
    let mut out = Vec::new();
    for p in r.parts() {
        match p {
            Part::Lit(s) => split_markers(s, &mut out),
            Part::Env(name, _) => out.push(Piece::Env(name.clone())),
            Part::Seq => out.push(Piece::Seq),
            Part::Random(a, b) => out.push(Piece::Random(*a, *b)),
            // The tool has no receiver: the id is still unique per request, the URL as written.
            Part::Uuid | Part::WebhookId => out.push(Piece::Uuid),
            Part::WebhookUrl => out.push(Piece::Lit("${webhook.url}".into())),
            Part::Var(name, _) => out.push(Piece::Lit(format!("${{vars.{name}}}"))),
            Part::Data(name) => out.push(Piece::Data(name.clone())),
            Part::Column(set, i, _) => out.push(Piece::Data(
                set.columns.get(*i).cloned().unwrap_or_default(),
            )),
        }
    }
    out
}

fn split_markers(s: &str, out: &mut Vec<Piece>) {
    let mut rest = s;
    while let Some(at) = rest.find("__LBENV_") {
        let after = &rest[at + 8..];
        let Some(end) = after.find("__") else { break };
        let name = &after[..end];
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            break;
        }
        if at > 0 {
            out.push(Piece::Lit(rest[..at].to_string()));
        }
        out.push(Piece::Env(name.to_string()));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        out.push(Piece::Lit(rest.to_string()));
    }
}

/// Where the demo service is when a script runs elsewhere: `loadbench demo` serves on 8080.
const DEMO_URL: &str = "http://127.0.0.1:8080";

/// The base URL of target `i`, and whether it is the demo service (served at [`DEMO_URL`] by
/// `loadbench demo`).
fn base_url(scenario: &Scenario, i: usize, unmapped: &mut Vec<String>) -> (String, bool) {
    match scenario.targets.get(i).map(|t| &t.kind) {
        Some(TargetKind::Url(b)) => (
            format!(
                "{}://{}{}",
                if b.https { "https" } else { "http" },
                b.authority(),
                b.base_path
            ),
            false,
        ),
        _ => {
            unmapped.push(format!(
                "the embedded demo target: start it with `loadbench demo --port 8080` (the script \
                 sends to {DEMO_URL}, or to $LOADBENCH_DEMO_URL where the tool reads it)"
            ));
            (DEMO_URL.into(), true)
        }
    }
}

/// A duration as both tools write it (`90s`, `250ms`).
fn duration(d: std::time::Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// What the scenario's load says, in the terms both tools need.
fn load_notes(scenario: &Scenario, unmapped: &mut Vec<String>) {
    if !scenario.warmup.is_zero() {
        unmapped.push(format!(
            "the {} warm-up: the tool measures it too (loadbench leaves it out of the results)",
            duration(scenario.warmup)
        ));
    }
    if let Load::Open {
        arrivals: super::Arrivals::Poisson,
        ..
    } = scenario.load
    {
        unmapped.push("Poisson arrivals: the tool spaces arrivals evenly".into());
    }
    if scenario.retry_idempotent {
        unmapped.push("retry_idempotent".into());
    }
    for r in scenario.requests.iter() {
        if let Some(split) = &r.split {
            unmapped.push(format!(
                "split_by {} on request {}: the tool reports the request as one series",
                split.header, r.name
            ));
        }
    }
    if scenario.webhooks.is_some() {
        unmapped.push(
            "[webhooks]: the tool receives no callbacks (${webhook.url} is left as written, \
             ${webhook.id} becomes a UUID)"
                .into(),
        );
    }
    for t in scenario.targets.iter().filter(|t| t.proxy.is_some()) {
        unmapped.push(format!(
            "proxy on target {}: the tool's requests go direct (set its own proxy setting, e.g. \
             HTTPS_PROXY for k6)",
            t.name
        ));
    }
    for r in scenario.requests.iter().filter(|r| r.stream.is_some()) {
        unmapped.push(format!(
            "stream on request {}: the tool reads the answer whole, without timing its events",
            r.name
        ));
    }
    if scenario.monitor.is_some() {
        unmapped.push(
            "[monitor]: the tool reads no server metrics during its run (send them to your \
             metrics store instead)"
                .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_become_variables_again() {
        let mut out = Vec::new();
        split_markers("Bearer __LBENV_TOKEN__ and __LBENV_X__", &mut out);
        assert_eq!(
            out,
            vec![
                Piece::Lit("Bearer ".into()),
                Piece::Env("TOKEN".into()),
                Piece::Lit(" and ".into()),
                Piece::Env("X".into()),
            ]
        );
    }
}
