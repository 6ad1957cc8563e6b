//! `loadbench import`: a scenario from captured requests, checked before it is written.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit::*;
use crate::scenario::Scenario;

#[derive(Args)]
pub(super) struct ImportArgs {
    #[command(subcommand)]
    from: ImportFrom,
    /// Write the scenario here (refuses to replace a file) instead of printing it.
    #[arg(long, short, global = true)]
    output: Option<PathBuf>,
}

#[derive(Subcommand)]
pub(super) enum ImportFrom {
    /// A curl command line (as "Copy as cURL" gives it): the words after `import curl`, or one
    /// quoted string, or `-` to read it from standard input.
    Curl {
        /// The command, e.g. loadbench import curl 'curl https://… -H …'
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true, trailing_var_arg = true)]
        command: Vec<String>,
    },
    /// A HAR file (browser devtools "Save all as HAR", or a proxy's export).
    Har {
        /// The .har file.
        file: PathBuf,
        /// Keep the requests to this host (default: the host most requests went to).
        #[arg(long)]
        host: Option<String>,
        /// Keep page assets too (scripts, styles, images, fonts), left out by default.
        #[arg(long)]
        all: bool,
        /// Keep the recording's order as one journey: values the server issued (tokens, CSRF
        /// headers, cookies) are extracted and sent back as variables, not replayed.
        #[arg(long)]
        journey: bool,
    },
    /// An OpenAPI 3.0/3.1 document (JSON or YAML), from a file or an http(s) URL: a request per
    /// operation, against its first server.
    Openapi {
        /// The document: a file, or a URL to fetch it from.
        source: String,
    },
}

/// The largest OpenAPI document read.
const MAX_DOCUMENT: u64 = 20 << 20;

/// An OpenAPI document's text, from a file or fetched over HTTP (reqwest: a general client).
fn read_document(source: &str) -> Result<String, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    if source.starts_with("http://") || source.starts_with("https://") {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .user_agent(concat!("loadbench/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        let resp = client
            .get(source)
            .send()
            .map_err(|e| format!("cannot fetch: {}", e.without_url()))?;
        if !resp.status().is_success() {
            return Err(format!("cannot fetch: HTTP {}", resp.status().as_u16()));
        }
        resp.take(MAX_DOCUMENT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot fetch: {e}"))?;
    } else {
        std::fs::File::open(source)
            .and_then(|f| f.take(MAX_DOCUMENT + 1).read_to_end(&mut bytes))
            .map_err(|e| format!("cannot read: {e}"))?;
    }
    if bytes.len() as u64 > MAX_DOCUMENT {
        return Err(format!("over {} MiB: not read", MAX_DOCUMENT >> 20));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// `loadbench import`: a scenario from captured requests, checked before it is written.
pub(super) fn import(args: ImportArgs) -> i32 {
    use crate::scenario::import;
    let result = match &args.from {
        ImportFrom::Curl { command } => {
            let text = if command.len() == 1 && command[0] == "-" {
                let mut t = String::new();
                match std::io::Read::read_to_string(&mut std::io::stdin(), &mut t) {
                    Ok(_) => t,
                    Err(e) => {
                        eprintln!("loadbench: import curl: cannot read standard input: {e}");
                        return EXIT_INVALID;
                    }
                }
            } else if command.len() == 1 {
                command[0].clone()
            } else {
                // Words the shell already split: quote each again so the parser sees them whole.
                command
                    .iter()
                    .map(|w| format!("'{}'", w.replace('\'', "'\\''")))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            import::curl(&text)
        }
        ImportFrom::Openapi { source } => read_document(source)
            .and_then(|text| import::openapi(&text))
            .map_err(|e| format!("{source}: {e}")),
        ImportFrom::Har {
            file,
            host,
            all,
            journey,
        } => match std::fs::read_to_string(file) {
            Ok(text) => import::har(&text, host.as_deref(), *all, *journey)
                .map_err(|e| format!("{}: {e}", file.display())),
            Err(e) => Err(format!("{}: cannot read: {e}", file.display())),
        },
    };
    let imported = match result {
        Ok(i) => i,
        Err(e) => {
            eprintln!("loadbench: import: {e}");
            return EXIT_INVALID;
        }
    };
    // The scenario must validate as written (its credential variables stand in as set).
    if let Err(e) = Scenario::parse(&imported.toml, None, &|_| Some(String::new())) {
        eprintln!("loadbench: import: the scenario written would not validate (a bug):\n{e}");
        return EXIT_RUN_ERROR;
    }
    match &args.output {
        Some(path) => {
            let written = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .and_then(|mut f| std::io::Write::write_all(&mut f, imported.toml.as_bytes()));
            if let Err(e) = written {
                let why = if e.kind() == std::io::ErrorKind::AlreadyExists {
                    "the file exists; choose another name (nothing was changed)".to_string()
                } else {
                    e.to_string()
                };
                eprintln!("loadbench: import: {}: {why}", path.display());
                return EXIT_INVALID;
            }
            eprintln!("wrote {}", path.display());
        }
        None => print!("{}", imported.toml),
    }
    for n in &imported.notes {
        eprintln!("note: {n}");
    }
    EXIT_OK
}
