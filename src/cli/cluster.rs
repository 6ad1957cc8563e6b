//! `loadbench cluster`: a scenario as a Kubernetes Indexed Job of shards, and their results merged.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit::*;
use crate::scenario::Scenario;
use crate::store::Store;

#[derive(Args)]
pub(super) struct ClusterArgs {
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// Print the YAML that runs a scenario as N shards: a ConfigMap with the scenario and an
    /// Indexed Job whose pods start together and write their results to their logs.
    Manifest {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Shards (pods), one per machine where the cluster has enough.
        #[arg(long, value_name = "N")]
        shards: usize,
        /// The loadbench image (build it from the repository's Containerfile).
        #[arg(long)]
        image: String,
        /// The namespace (default: kubectl's current one).
        #[arg(long)]
        namespace: Option<String>,
        /// When every shard starts (RFC 3339); default: the first whole minute at least two minutes away.
        #[arg(long, value_name = "TIME")]
        start_at: Option<String>,
        /// The Secret holding the scenario's ${env.*} variables (default: JOB-env).
        #[arg(long)]
        secret: Option<String>,
        /// CPU each pod requests and is limited to.
        #[arg(long, default_value = "2")]
        cpu: String,
        /// Memory each pod requests and is limited to.
        #[arg(long, default_value = "1Gi")]
        memory: String,
    },
    /// Import the shards' results and merge them into one run: from a folder of `run --export`
    /// files, or from a Job's pod logs through kubectl.
    Collect {
        /// A folder of exports, or the name of the Job (`loadbench-…`, as the manifest named it).
        from: String,
        /// The Job's namespace (with a Job name).
        #[arg(long)]
        namespace: Option<String>,
    },
}

pub(super) fn cluster(args: ClusterArgs, db: &std::path::Path) -> i32 {
    match args.command {
        ClusterCommand::Manifest {
            scenario,
            shards,
            image,
            namespace,
            start_at,
            secret,
            cpu,
            memory,
        } => {
            // The variables live in the cluster's Secret, not here: any value passes the check.
            let s = match Scenario::load_with(&scenario, &|_| Some("set-in-the-cluster".into())) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{e}");
                    return EXIT_INVALID;
                }
            };
            let start_at = match start_at.as_deref().map(crate::foreign::rfc3339_us) {
                Some(Ok(us)) => crate::format::system_time(us.div_euclid(1000)),
                Some(Err(e)) => {
                    eprintln!("loadbench: --start-at: {e}");
                    return EXIT_INVALID;
                }
                None => {
                    let now = crate::store::epoch_ms(std::time::SystemTime::now());
                    crate::format::system_time((now / 60_000 + 3) * 60_000)
                }
            };
            let m = crate::cluster::Manifest {
                shards,
                image,
                namespace,
                start_at,
                secret,
                cpu,
                memory,
            };
            match crate::cluster::manifest(&s, &m) {
                Ok(yaml) => {
                    print!("{yaml}");
                    EXIT_OK
                }
                Err(e) => {
                    eprintln!("loadbench: {e}");
                    EXIT_INVALID
                }
            }
        }
        ClusterCommand::Collect { from, namespace } => {
            let store = match Store::open(db) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("loadbench: {e}");
                    return EXIT_RUN_ERROR;
                }
            };
            let dir = std::path::Path::new(&from);
            let got = if dir.is_dir() {
                crate::cluster::collect_dir(&store, dir)
            } else {
                crate::cluster::collect_job(&store, &from, namespace.as_deref())
            };
            match got {
                Ok(c) => {
                    let list: Vec<String> = c.shards.iter().map(|i| format!("#{i}")).collect();
                    eprintln!(
                        "{} shard(s) stored as runs {}, started within {} ms of each other; merged into run #{}",
                        c.shards.len(),
                        list.join(" "),
                        c.spread_ms,
                        c.merged
                    );
                    println!("{}", c.merged);
                    EXIT_OK
                }
                Err(e) => {
                    eprintln!("loadbench: {e}");
                    EXIT_INVALID
                }
            }
        }
    }
}
