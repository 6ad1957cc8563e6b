//! The YAML that runs a scenario as N shards: a ConfigMap with the scenario (and its `[data]`
//! file) and an Indexed Job whose pods each run one shard from one wall-clock start.

use std::fmt::Write;
use std::time::SystemTime;

use crate::scenario::Scenario;

/// What `cluster manifest` is asked for.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Shards (pods), each on a machine of its own where the cluster has them.
    pub shards: usize,
    /// The loadbench image (see the repository's `Containerfile`).
    pub image: String,
    /// The namespace, if not the current one.
    pub namespace: Option<String>,
    /// The moment every shard starts.
    pub start_at: SystemTime,
    /// The Secret holding the scenario's `${env.*}` variables (key = variable name).
    pub secret: Option<String>,
    /// CPU each pod requests and is limited to (Kubernetes quantity, e.g. `2`).
    pub cpu: String,
    /// Memory each pod requests and is limited to (e.g. `1Gi`).
    pub memory: String,
}

/// The most a ConfigMap holds (Kubernetes refuses more than 1 MiB).
const CONFIGMAP_MAX: usize = 1 << 20;

/// The manifest (YAML, two documents) that runs `s` as `m.shards` shards; errors say what
/// cannot go in (a `[data]` file that cannot be read, a ConfigMap over 1 MiB, a bad name).
pub fn manifest(s: &Scenario, m: &Manifest) -> Result<String, String> {
    if m.shards == 0 {
        return Err("--shards must be at least 1".into());
    }
    if m.image.trim().is_empty() || m.image.contains(char::is_whitespace) {
        return Err(format!("--image {:?} is not an image reference", m.image));
    }
    if let Some(ns) = &m.namespace
        && !dns_label(ns)
    {
        return Err(format!(
            "--namespace {ns:?} is not a Kubernetes name (lower-case letters, digits and -, at most 63)"
        ));
    }
    let job = format!("loadbench-{}", slug(&s.name));
    let secret = m.secret.clone().unwrap_or_else(|| format!("{job}-env"));
    if !dns_label(&secret) && !secret.contains('.') {
        return Err(format!("--secret {secret:?} is not a Kubernetes name"));
    }
    let (scenario_text, data) = carried_files(s)?;
    let size = scenario_text.len() + data.as_ref().map_or(0, |(_, d)| d.len());
    if size > CONFIGMAP_MAX {
        return Err(format!(
            "the scenario and its [data] file are {size} bytes; a ConfigMap holds at most 1 MiB \
             (put a large data file in the image or a volume instead)"
        ));
    }
    let env = env_names(&s.text);
    let start_at = crate::format::utc_of(m.start_at);
    let run_s = s.duration().as_secs() + s.drain.as_secs();
    let wait_s = m
        .start_at
        .duration_since(SystemTime::now())
        .map_or(0, |d| d.as_secs());
    // Room to pull the image and wait for the start, then the run, then a margin.
    let deadline = wait_s + run_s + 600;
    let ns = m
        .namespace
        .as_ref()
        .map_or(String::new(), |n| format!("\n  namespace: {}", q(n)));
    let labels = format!(
        "app.kubernetes.io/name: loadbench\n    app.kubernetes.io/instance: {}",
        q(&job)
    );
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# loadbench: \"{}\" as {} shards starting together at {start_at}.",
        s.name.replace('\n', " "),
        m.shards
    );
    if !env.is_empty() {
        let _ = writeln!(
            y,
            "# Its variables come from the Secret \"{secret}\", one key each:\n#   kubectl create secret generic {secret}{}",
            env.iter()
                .map(|(n, _)| format!(" --from-literal={n}=…"))
                .collect::<String>()
        );
    }
    let _ = writeln!(
        y,
        "# Apply before the start (re-run `loadbench cluster manifest` for a later one):\n\
         #   kubectl apply -f THIS_FILE\n\
         # then, when the Job has completed:\n\
         #   loadbench cluster collect {job}{}",
        m.namespace
            .as_ref()
            .map_or(String::new(), |n| format!(" --namespace {n}"))
    );
    let _ = writeln!(
        y,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}{ns}\n  labels:\n    {labels}\ndata:",
        q(&job)
    );
    let _ = writeln!(y, "  scenario.toml: {}", block(&scenario_text, 4));
    if let Some((name, text)) = &data {
        let _ = writeln!(y, "  {}: {}", q(name), block(text, 4));
    }
    y.push_str("---\n");
    let _ = writeln!(
        y,
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {j}{ns}\n  labels:\n    {labels}\n\
         spec:\n  completionMode: Indexed\n  completions: {n}\n  parallelism: {n}\n  backoffLimit: 0\n\
         \x20 activeDeadlineSeconds: {deadline}\n  ttlSecondsAfterFinished: 86400\n  template:\n    metadata:\n\
         \x20     labels:\n        app.kubernetes.io/name: loadbench\n        app.kubernetes.io/instance: {j}\n\
         \x20   spec:\n      restartPolicy: Never\n\
         \x20     # One shard per machine where the cluster has enough of them.\n\
         \x20     topologySpreadConstraints:\n      - maxSkew: 1\n        topologyKey: kubernetes.io/hostname\n\
         \x20       whenUnsatisfiable: ScheduleAnyway\n        labelSelector:\n          matchLabels:\n\
         \x20           app.kubernetes.io/instance: {j}\n\
         \x20     containers:\n      - name: loadbench\n        image: {image}\n        args:",
        j = q(&job),
        n = m.shards,
        image = q(&m.image),
    );
    for a in [
        "run",
        "/scenario/scenario.toml",
        "--shards",
        &m.shards.to_string(),
        "--start-at",
        &start_at,
        "--export",
        "-",
        "--progress-interval",
        "10s",
    ] {
        let _ = writeln!(y, "        - {}", q(a));
    }
    y.push_str(
        "        env:\n        - name: LOADBENCH_DB\n          value: \"/tmp/loadbench.db\"\n",
    );
    for (n, optional) in &env {
        let _ = writeln!(
            y,
            "        - name: {n}\n          valueFrom:\n            secretKeyRef:\n              name: {}\n              key: {n}{}",
            q(&secret),
            if *optional {
                "\n              optional: true"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        y,
        "        resources:\n          requests:\n            cpu: {c}\n            memory: {mem}\n\
         \x20         limits:\n            cpu: {c}\n            memory: {mem}\n\
         \x20       volumeMounts:\n        - name: scenario\n          mountPath: /scenario\n          readOnly: true\n\
         \x20     volumes:\n      - name: scenario\n        configMap:\n          name: {j}",
        c = q(&m.cpu),
        mem = q(&m.memory),
        j = q(&job),
    );
    Ok(y)
}

/// The scenario text as the pods read it (its `[data]` file named by its base name, since both
/// sit in the ConfigMap's one directory) and the data file (name, text), if it has one.
fn carried_files(s: &Scenario) -> Result<(String, Option<(String, String)>), String> {
    let Ok(mut doc) = s.text.parse::<toml_edit::DocumentMut>() else {
        return Ok((s.text.clone(), None));
    };
    let Some(file) = doc
        .get("data")
        .and_then(|d| d.get("file"))
        .and_then(|f| f.as_str())
        .map(str::to_string)
    else {
        return Ok((s.text.clone(), None));
    };
    let base = s.path.as_ref().and_then(|p| p.parent());
    let path = base.map_or_else(|| std::path::PathBuf::from(&file), |b| b.join(&file));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("[data] file {}: {e}", path.display()))?;
    let name = std::path::Path::new(&file)
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| *n != "scenario.toml" && !n.is_empty())
        .unwrap_or("data.csv")
        .to_string();
    doc["data"]["file"] = toml_edit::value(name.clone());
    Ok((doc.to_string(), Some((name, text))))
}

/// Every `${env.NAME}` the scenario's values read (not its comments), once each, in order, and
/// whether each has a default (`${env.NAME:-x}`), so its Secret key may be absent.
fn env_names(text: &str) -> Vec<(String, bool)> {
    fn strings<'a>(v: &'a toml::Value, out: &mut Vec<&'a str>) {
        match v {
            toml::Value::String(s) => out.push(s),
            toml::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            toml::Value::Table(t) => t.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let mut values = Vec::new();
    doc.values().for_each(|v| strings(v, &mut values));
    let mut out: Vec<(String, bool)> = Vec::new();
    for v in values {
        for (i, _) in v.match_indices("${env.") {
            let rest = &v[i + 6..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let optional = rest[name.len()..].starts_with(":-");
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some(seen) => seen.1 &= optional,
                None if !name.is_empty() => out.push((name, optional)),
                None => {}
            }
        }
    }
    out
}

/// A Kubernetes object name from a scenario name: lower case, letters, digits and dashes.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(40).collect();
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "run".into() } else { out }
}

/// Whether `s` is a DNS label as Kubernetes names namespaces.
fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A YAML double-quoted scalar (JSON's escaping is valid YAML).
fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Text as a YAML literal block indented by `indent`, or a quoted scalar when a block cannot
/// hold it as it is (control characters, a leading space, no final newline).
fn block(text: &str, indent: usize) -> String {
    let plain = text.ends_with('\n')
        && !text.ends_with("\n\n")
        && !text.starts_with([' ', '\t', '\n'])
        && !text
            .chars()
            .any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{feff}');
    if !plain {
        return q(text);
    }
    let pad = " ".repeat(indent);
    let mut out = String::from("|");
    for line in text.lines() {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_blocks_are_what_kubernetes_and_yaml_accept() {
        assert_eq!(slug("Checkout API: v2!"), "checkout-api-v2");
        assert_eq!(slug("***"), "run");
        assert!(dns_label("load-tests") && !dns_label("Load") && !dns_label("-x"));
        let env = env_names(
            "# ${env.IN_A_COMMENT}\nname = \"a ${env.TOKEN}\"\n[t]\nx = [\"${env.B:-x}\", \"${env.TOKEN}\"]\n",
        );
        assert_eq!(env, [("TOKEN".to_string(), false), ("B".to_string(), true)]);
        assert_eq!(block("a = 1\n\nb = 2\n", 4), "|\n    a = 1\n\n    b = 2");
        assert!(block(" leading\n", 4).starts_with('"'));
        assert!(block("no newline", 4).starts_with('"'));
        assert!(block("cr\r\n", 4).starts_with('"'));
    }
}
