//! Shards as a Kubernetes Indexed Job runs them, without a cluster: N processes with the Job's
//! environment contract (`JOB_COMPLETION_INDEX`, one `--start-at`) against the demo, collected
//! and merged; the manifest checked against the pinned Kubernetes schema; the merge's guards.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use loadbench::demo::{DemoConfig, DemoServer};
use loadbench::store::{RunFilter, Store};

fn loadbench(db: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_loadbench"));
    c.arg("--db").arg(db);
    c
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rfc3339_in(d: Duration) -> String {
    loadbench::format::utc_of(SystemTime::now() + d)
}

fn scenario(dir: &Path, demo: &DemoServer, load: &str) -> PathBuf {
    let path = dir.join("sharded.toml");
    // `load` is `duration = "…"` then the [load] table.
    let (duration, table) = load.split_once('\n').expect("duration, then [load]");
    std::fs::write(
        &path,
        format!(
            "name = \"sharded\"\nwarmup = \"0s\"\ntimeout = \"2s\"\n{duration}\n[targets]\napi = \"{}\"\n{table}\n\
             [[requests]]\nname = \"echo\"\npath = \"/v1/echo\"\n",
            demo.url()
        ),
    )
    .expect("write scenario");
    path
}

/// Runs `shards` shard processes at once, as the Job would: each with JOB_COMPLETION_INDEX, all
/// with one --start-at, their exports into `out` (the last one's through stdout, as in a pod).
fn run_shards(s: &Path, shards: usize, out: &Path, dbs: &Path) {
    let at = rfc3339_in(Duration::from_secs(3));
    let children: Vec<_> = (0..shards)
        .map(|i| {
            let mut c = loadbench(&dbs.join(format!("shard-{i}.db")));
            c.env("JOB_COMPLETION_INDEX", i.to_string()).args([
                "run",
                s.to_str().expect("utf-8"),
                "--shards",
                &shards.to_string(),
                "--start-at",
                &at,
                "-q",
                "--export",
            ]);
            if i + 1 == shards {
                c.arg("-")
                    .stdout(std::fs::File::create(out.join(format!("pod-{i}.log"))).expect("log"));
            } else {
                c.arg(out.join(format!("shard-{i}.json")));
            }
            c.stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        ok(&c.wait_with_output().expect("wait"), &format!("shard {i}"));
    }
}

fn collect(db: &Path, from: &Path) -> Output {
    loadbench(db)
        .args(["cluster", "collect", from.to_str().expect("utf-8")])
        .output()
        .expect("collect")
}

fn summary_of(db: &Path, id: &str) -> serde_json::Value {
    let out = loadbench(db)
        .args(["runs", "show", id, "--json"])
        .output()
        .expect("show");
    ok(&out, "runs show");
    serde_json::from_slice(&out.stdout).expect("summary json")
}

#[test]
fn three_shards_started_together_merge_into_exactly_the_single_process_run() {
    let _g = common::serial();
    let demo = DemoServer::start(DemoConfig {
        delay: Duration::from_millis(20),
        threads: 2,
        ..DemoConfig::default()
    })
    .expect("demo");
    let dir = tempfile::tempdir().expect("tempdir");
    // 301/s does not divide by 3: the split must still lose or double nothing.
    let s = scenario(
        dir.path(),
        &demo,
        "duration = \"3s\"\n[load]\nmodel = \"open\"\nrate = 301",
    );
    let out = dir.path().join("exports");
    std::fs::create_dir(&out).expect("mkdir");
    run_shards(&s, 3, &out, dir.path());
    let merged_db = dir.path().join("merged.db");
    let c = collect(&merged_db, &out);
    ok(&c, "collect");
    // The merge says how far apart the shards started: one --start-at keeps it under a second.
    let said = String::from_utf8_lossy(&c.stderr);
    let spread: u64 = said
        .split("started within ")
        .nth(1)
        .and_then(|r| r.split(" ms").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no spread in {said:?}"));
    assert!(spread < 1000, "{said}");
    let merged = String::from_utf8_lossy(&c.stdout).trim().to_string();
    let m = summary_of(&merged_db, &merged);
    // The single process, same scenario, same machine.
    let single_db = dir.path().join("single.db");
    let single = loadbench(&single_db)
        .args(["run", s.to_str().expect("utf-8"), "--json", "-q"])
        .output()
        .expect("single");
    ok(&single, "single run");
    let one: serde_json::Value = serde_json::from_slice(&single.stdout).expect("json");
    let count = |v: &serde_json::Value| v["total"]["count"].as_u64().expect("count");
    assert_eq!(count(&one), 903, "301/s for 3 s");
    assert_eq!(
        count(&m),
        count(&one),
        "the shards together sent exactly the schedule"
    );
    assert_eq!(m["total"]["errors"], 0);
    assert_eq!(m["not_started"], 0);
    // A fixed 20 ms server delay: the merged percentiles are the single run's.
    for p in ["p50_ms", "p90_ms"] {
        let (a, b) = (
            m["total"]["latency"][p].as_f64().expect("p"),
            one["total"]["latency"][p].as_f64().expect("p"),
        );
        // 2.5 ms: a busy 2-core machine (a build beside the tests) moved a single run's p90 by
        // 1.6 ms; a wrong merge moves it by far more.
        assert!((a - b).abs() < 2.5, "{p}: merged {a} ms, single {b} ms");
        assert!((20.0..24.0).contains(&a), "{p}: {a} ms for a 20 ms delay");
    }
    // The merged run says how far apart the shards started, and it is not a shard itself.
    let store = Store::open(&merged_db).expect("store");
    let run = store.run(merged.parse().expect("id")).expect("run");
    assert!(run.notes.contains("Merged from 3 shards"), "{}", run.notes);
    assert!(run.info.shard.is_none());
    assert!(
        (
            run.info.keys.len(),
            run.row.tags.contains(&"merged".to_string())
        ) == (1, true)
    );
    // Collecting the same folder again adds no shard and merges again from the stored shards.
    let before = store.list_runs(&RunFilter::default()).expect("list").len();
    ok(&collect(&merged_db, &out), "collect again");
    let after = store.list_runs(&RunFilter::default()).expect("list").len();
    assert_eq!(after, before + 1, "only a new merged run");
}

#[test]
fn virtual_users_split_as_evenly_as_integers_allow() {
    let _g = common::serial();
    let demo = DemoServer::start(DemoConfig {
        delay: Duration::from_millis(10),
        ..DemoConfig::default()
    })
    .expect("demo");
    let dir = tempfile::tempdir().expect("tempdir");
    let s = scenario(
        dir.path(),
        &demo,
        "duration = \"2s\"\n[load]\nmodel = \"closed\"\nvus = 5",
    );
    let out = dir.path().join("exports");
    std::fs::create_dir(&out).expect("mkdir");
    run_shards(&s, 3, &out, dir.path());
    // Each shard's users: 2, 2 and 1 (the most in flight at once shows them).
    let mut most = Vec::new();
    for i in 0..3 {
        let db = dir.path().join(format!("shard-{i}.db"));
        let store = Store::open(&db).expect("store");
        let id = store.list_runs(&RunFilter::default()).expect("list")[0].id;
        let peak = store
            .ticks(id)
            .expect("ticks")
            .iter()
            .map(|t| t.in_flight)
            .max()
            .unwrap_or(0);
        most.push(peak);
    }
    assert_eq!(most, [2, 2, 1], "users per shard");
    let merged_db = dir.path().join("merged.db");
    let c = collect(&merged_db, &out);
    ok(&c, "collect");
    let m = summary_of(&merged_db, String::from_utf8_lossy(&c.stdout).trim());
    assert_eq!(m["max_vus"], 5, "the scenario's users, not 3 × 5");
}

#[test]
fn a_missing_shard_or_a_late_one_is_refused_and_nothing_is_stored() {
    let _g = common::serial();
    let demo = DemoServer::start(DemoConfig::default()).expect("demo");
    let dir = tempfile::tempdir().expect("tempdir");
    let s = scenario(
        dir.path(),
        &demo,
        "duration = \"1s\"\n[load]\nmodel = \"open\"\nrate = 30",
    );
    let out = dir.path().join("exports");
    std::fs::create_dir(&out).expect("mkdir");
    run_shards(&s, 3, &out, dir.path());
    let db = dir.path().join("m.db");
    // One shard missing.
    let partial = dir.path().join("partial");
    std::fs::create_dir(&partial).expect("mkdir");
    for f in ["shard-0.json", "pod-2.log"] {
        std::fs::copy(out.join(f), partial.join(f)).expect("copy");
    }
    let c = collect(&db, &partial);
    assert_eq!(c.status.code(), Some(2));
    let err = String::from_utf8_lossy(&c.stderr);
    assert!(err.contains("found indices [0, 2]"), "{err}");
    // One shard that started 3 s after the others (its export's start moved).
    let late = dir.path().join("late");
    std::fs::create_dir(&late).expect("mkdir");
    for f in ["shard-0.json", "pod-2.log"] {
        std::fs::copy(out.join(f), late.join(f)).expect("copy");
    }
    let text = std::fs::read_to_string(out.join("shard-1.json")).expect("read");
    let mut doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    let start = doc["started_at_ms"].as_i64().expect("start");
    doc["started_at_ms"] = (start + 3_000).into();
    std::fs::write(late.join("shard-1.json"), doc.to_string()).expect("write");
    let c = collect(&db, &late);
    assert_eq!(c.status.code(), Some(2));
    let err = String::from_utf8_lossy(&c.stderr);
    assert!(err.contains("apart (at most 1 s)"), "{err}");
    let store = Store::open(&db).expect("store");
    assert!(
        store
            .list_runs(&RunFilter::default())
            .expect("list")
            .is_empty(),
        "nothing stored"
    );
    // A flag error is named before anything runs.
    let bad = loadbench(&db)
        .args(["run", s.to_str().expect("utf-8"), "--shards", "3"])
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("JOB_COMPLETION_INDEX"));
}

#[test]
fn collect_reads_a_jobs_pod_logs_through_kubectl() {
    let _g = common::serial();
    let demo = DemoServer::start(DemoConfig::default()).expect("demo");
    let dir = tempfile::tempdir().expect("tempdir");
    let s = scenario(
        dir.path(),
        &demo,
        "duration = \"1s\"\n[load]\nmodel = \"open\"\nrate = 40",
    );
    let out = dir.path().join("exports");
    std::fs::create_dir(&out).expect("mkdir");
    run_shards(&s, 2, &out, dir.path());
    // A kubectl that answers as a cluster would: the Job's pods, and each pod's log (the
    // export line among the run's other lines).
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    std::fs::write(
        logs.join("loadbench-sharded-0-abcde"),
        format!(
            "shard 0 of 2\n{}",
            std::fs::read_to_string(out.join("shard-0.json")).expect("read")
        ),
    )
    .expect("write");
    std::fs::copy(
        out.join("pod-1.log"),
        logs.join("loadbench-sharded-1-fghij"),
    )
    .expect("copy");
    let script = format!(
        "#!/bin/sh\n# args: [--namespace NS] get pods ... | logs POD --container loadbench\n\
         [ \"$1\" = --namespace ] && shift 2\n\
         case \"$1\" in\n\
         get) case \"$*\" in *job-name=loadbench-sharded*) ls {logs} | tr '\\n' ' ';; esac ;;\n\
         logs) cat {logs}/\"$2\" ;;\n\
         *) echo \"unexpected: $*\" >&2; exit 1 ;;\n\
         esac\n",
        logs = logs.display()
    );
    let kubectl = bin.join("kubectl");
    std::fs::write(&kubectl, script).expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let db = dir.path().join("m.db");
    let c = loadbench(&db)
        .args([
            "cluster",
            "collect",
            "loadbench-sharded",
            "--namespace",
            "load",
        ])
        .env("PATH", path)
        .output()
        .expect("collect");
    ok(&c, "collect from kubectl");
    let m = summary_of(&db, String::from_utf8_lossy(&c.stdout).trim());
    assert_eq!(m["total"]["count"], 40, "40/s for 1 s over 2 shards");
}

/// A JSON Schema check of the keywords Kubernetes' schemas use ($ref, type, properties,
/// additionalProperties, required, items, enum, oneOf); errors name the path.
fn check(
    schema: &serde_json::Value,
    defs: &serde_json::Value,
    v: &serde_json::Value,
    at: &str,
) -> Vec<String> {
    use serde_json::Value as J;
    if let Some(r) = schema.get("$ref").and_then(J::as_str) {
        let name = r.rsplit('/').next().unwrap_or("");
        return match defs.get(name) {
            Some(s) => check(s, defs, v, at),
            None => vec![format!("{at}: unknown $ref {r}")],
        };
    }
    let mut errs = Vec::new();
    if let Some(one) = schema.get("oneOf").and_then(J::as_array) {
        let fits = one
            .iter()
            .filter(|s| check(s, defs, v, at).is_empty())
            .count();
        if fits != 1 {
            errs.push(format!("{at}: fits {fits} of oneOf's {}", one.len()));
        }
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            J::String(s) => vec![s.as_str()],
            J::Array(a) => a.iter().filter_map(J::as_str).collect(),
            _ => vec![],
        };
        let is = match v {
            J::Null => "null",
            J::Bool(_) => "boolean",
            J::Number(n) if n.is_i64() || n.is_u64() => "integer",
            J::Number(_) => "number",
            J::String(_) => "string",
            J::Array(_) => "array",
            J::Object(_) => "object",
        };
        if !types
            .iter()
            .any(|t| *t == is || (*t == "number" && is == "integer"))
        {
            errs.push(format!("{at}: a {is}, the schema wants {types:?}"));
            return errs;
        }
    }
    if let Some(e) = schema.get("enum").and_then(J::as_array)
        && !e.contains(v)
    {
        errs.push(format!("{at}: {v} is not one of {e:?}"));
    }
    if let J::Object(o) = v {
        let props = schema.get("properties").and_then(J::as_object);
        for r in schema
            .get("required")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = r.as_str()
                && !o.contains_key(r)
            {
                errs.push(format!("{at}: `{r}` is required"));
            }
        }
        for (k, x) in o {
            let here = format!("{at}.{k}");
            match (
                props.and_then(|p| p.get(k)),
                schema.get("additionalProperties"),
            ) {
                (Some(s), _) => errs.extend(check(s, defs, x, &here)),
                (None, Some(J::Bool(false))) => errs.push(format!("{here}: not a field here")),
                (None, Some(s @ J::Object(_))) => errs.extend(check(s, defs, x, &here)),
                _ => {}
            }
        }
    }
    if let (J::Array(a), Some(items)) = (v, schema.get("items")) {
        for (i, x) in a.iter().enumerate() {
            errs.extend(check(items, defs, x, &format!("{at}[{i}]")));
        }
    }
    errs
}

fn yaml_to_json(y: &yaml_rust2::Yaml) -> serde_json::Value {
    use yaml_rust2::Yaml;
    match y {
        Yaml::String(s) => s.clone().into(),
        Yaml::Integer(i) => (*i).into(),
        Yaml::Real(r) => r.parse::<f64>().map_or(serde_json::Value::Null, Into::into),
        Yaml::Boolean(b) => (*b).into(),
        Yaml::Array(a) => a.iter().map(yaml_to_json).collect(),
        Yaml::Hash(h) => h
            .iter()
            .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), yaml_to_json(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        _ => serde_json::Value::Null,
    }
}

#[test]
fn the_manifest_is_a_valid_configmap_and_indexed_job() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("users.csv"),
        "user,password\nann,${x}\nbob,p2\n",
    )
    .expect("csv");
    let s = dir.path().join("secret.toml");
    std::fs::write(
        &s,
        "# mentions ${env.ONLY_IN_A_COMMENT}\nname = \"Checkout: API v2\"\nduration = \"30s\"\n\
         [targets]\napi = \"https://api.example.com\"\n[load]\nmodel = \"open\"\nrate = 100\n\
         [data]\nfile = \"users.csv\"\n[[requests]]\nname = \"login\"\nmethod = \"POST\"\npath = \"/login\"\n\
         headers = { authorization = \"Bearer ${env.API_TOKEN}\", x-region = \"${env.REGION:-eu}\" }\n\
         json = { user = \"${data.user}\" }\n",
    )
    .expect("scenario");
    let out = Command::new(env!("CARGO_BIN_EXE_loadbench"))
        .args([
            "cluster",
            "manifest",
            s.to_str().expect("utf-8"),
            "--shards",
            "4",
            "--image",
            "registry.example.com/loadbench:0.1",
            "--namespace",
            "load-tests",
            "--start-at",
            "2026-12-01T10:00:00Z",
        ])
        .output()
        .expect("manifest");
    ok(&out, "manifest");
    let yaml = String::from_utf8(out.stdout).expect("utf-8");
    let docs = yaml_rust2::YamlLoader::load_from_str(&yaml).expect("the manifest is YAML");
    assert_eq!(docs.len(), 2, "a ConfigMap and a Job");
    let pinned: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/k8s/schema-v1.30.json"),
        )
        .expect("schema"),
    )
    .expect("schema json");
    let defs = &pinned["$defs"];
    let cm = yaml_to_json(&docs[0]);
    let job = yaml_to_json(&docs[1]);
    let errs = check(&pinned["configmap"], defs, &cm, "configmap");
    assert!(errs.is_empty(), "{errs:#?}");
    let errs = check(&pinned["job"], defs, &job, "job");
    assert!(errs.is_empty(), "{errs:#?}");
    // The validator is no rubber stamp: a typo and a wrong type are caught.
    let mut typo = job.clone();
    typo["spec"]["completionsMode"] = "Indexed".into();
    typo["spec"]["parallelism"] = "4".into();
    let errs = check(&pinned["job"], defs, &typo, "job");
    assert!(
        errs.iter()
            .any(|e| e.contains("completionsMode: not a field")),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|e| e.contains("parallelism: a string")),
        "{errs:?}"
    );
    // What the issue asks of the Job.
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(
        (spec["completions"].clone(), spec["parallelism"].clone()),
        (4.into(), 4.into())
    );
    assert_eq!(spec["backoffLimit"], 0);
    assert_eq!(job["metadata"]["name"], "loadbench-checkout-api-v2");
    assert_eq!(job["metadata"]["namespace"], "load-tests");
    let c = &spec["template"]["spec"]["containers"][0];
    let args: Vec<&str> = c["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    for want in [
        "--shards",
        "4",
        "--start-at",
        "2026-12-01T10:00:00Z",
        "--export",
        "-",
    ] {
        assert!(args.contains(&want), "{args:?}");
    }
    assert!(
        c["resources"]["limits"]["cpu"].is_string()
            && c["resources"]["requests"]["memory"].is_string()
    );
    // Variables come from the Secret, never as values; one in a comment is not one.
    let env = c["env"].as_array().expect("env");
    let by = |n: &str| env.iter().find(|e| e["name"] == n).cloned();
    let token = by("API_TOKEN").expect("API_TOKEN");
    assert_eq!(token["valueFrom"]["secretKeyRef"]["key"], "API_TOKEN");
    assert!(token.get("value").is_none());
    assert_eq!(
        by("REGION").expect("REGION")["valueFrom"]["secretKeyRef"]["optional"],
        true
    );
    assert!(by("ONLY_IN_A_COMMENT").is_none());
    // The scenario and its [data] file travel in the ConfigMap, the file named beside it.
    let toml_text = cm["data"]["scenario.toml"].as_str().expect("scenario");
    assert!(toml_text.contains("file = \"users.csv\""), "{toml_text}");
    assert_eq!(cm["data"]["users.csv"], "user,password\nann,${x}\nbob,p2\n");
    // A bad namespace is named.
    let bad = Command::new(env!("CARGO_BIN_EXE_loadbench"))
        .args([
            "cluster",
            "manifest",
            s.to_str().expect("utf-8"),
            "--shards",
            "2",
            "--image",
            "x",
            "--namespace",
            "Load_Tests",
        ])
        .output()
        .expect("manifest");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--namespace"));
}

/// A server that answers every request with 200 and keeps each request line's path.
fn capture_server() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let keep = keep.clone();
            std::thread::spawn(move || {
                let mut w = conn.try_clone().expect("clone");
                let mut r = BufReader::new(conn);
                let mut line = String::new();
                while r.read_line(&mut line).is_ok_and(|n| n > 0) {
                    if let Some(path) = line.split(' ').nth(1) {
                        keep.lock().expect("lock").push(path.to_string());
                    }
                    // The rest of the head (GET requests have no body).
                    let mut h = String::new();
                    while r.read_line(&mut h).is_ok_and(|n| n > 2) {
                        h.clear();
                    }
                    if w.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .is_err()
                    {
                        break;
                    }
                    line.clear();
                }
            });
        }
    });
    (addr, seen)
}

#[test]
fn data_rows_are_split_so_no_row_is_used_by_two_shards_in_one_pass() {
    let _g = common::serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let rows: String = (0..30).map(|i| format!("u{i}\n")).collect();
    std::fs::write(dir.path().join("users.csv"), format!("user\n{rows}")).expect("csv");
    let s = dir.path().join("data.toml");
    // 30 rows and 30 requests (30/s for 1 s): exactly one pass, sequential and shuffled.
    for order in ["sequential", "random"] {
        std::fs::write(
            &s,
            format!(
                "name = \"rows\"\nwarmup = \"0s\"\nduration = \"1s\"\n[targets]\napi = \"http://127.0.0.1:1\"\n\
                 [load]\nmodel = \"open\"\nrate = 30\n[data]\nfile = \"users.csv\"\norder = \"{order}\"\n\
                 [[requests]]\nname = \"get\"\npath = \"/users/${{data.user}}\"\n"
            ),
        )
        .expect("scenario");
        // Each shard sends to a server of its own, so what each used is known.
        let servers: Vec<_> = (0..3).map(|_| capture_server()).collect();
        let at = rfc3339_in(Duration::from_secs(2));
        let children: Vec<_> = servers
            .iter()
            .enumerate()
            .map(|(i, (addr, _))| {
                loadbench(&dir.path().join(format!("{order}-{i}.db")))
                    .args([
                        "run",
                        s.to_str().expect("utf-8"),
                        "--shards",
                        "3",
                        "--shard-index",
                        &i.to_string(),
                        "--start-at",
                        &at,
                        "--target",
                        &format!("api=http://{addr}"),
                        "-q",
                        "--no-store",
                    ])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        for (i, c) in children.into_iter().enumerate() {
            ok(
                &c.wait_with_output().expect("wait"),
                &format!("{order} shard {i}"),
            );
        }
        let used: Vec<Vec<String>> = servers
            .iter()
            .map(|(_, seen)| seen.lock().expect("lock").clone())
            .collect();
        assert_eq!(
            used.iter().map(Vec::len).collect::<Vec<_>>(),
            [10, 10, 10],
            "{order}: 30 requests over 3 shards"
        );
        let mut all: Vec<&String> = used.iter().flatten().collect();
        all.sort();
        all.dedup();
        assert_eq!(
            all.len(),
            30,
            "{order}: every row once, none by two shards: {used:?}"
        );
    }
}
