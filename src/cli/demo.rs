//! `loadbench demo`: the demo API on its own, until Ctrl-C.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::parse::parse_dur;
use crate::demo::proxy::DemoProxy;
use crate::demo::{DemoConfig, DemoServer};
use crate::exit::*;

#[derive(Args)]
pub(super) struct DemoArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Serve HTTPS with a generated certificate.
    #[arg(long)]
    tls: bool,
    /// With --tls: write the CA certificate (PEM) here, for a scenario's `ca_file`.
    #[arg(long, value_name = "PATH")]
    ca_out: Option<PathBuf>,
    /// Pause the whole service every so often (e.g. 5s) ...
    #[arg(long, value_parser = parse_dur)]
    stall_every: Option<Duration>,
    /// ... for this long (default 1s).
    #[arg(long, value_parser = parse_dur, default_value = "1s")]
    stall_for: Duration,
    /// Share of /v1/flaky answered with 503.
    #[arg(long, default_value_t = 0.1)]
    flaky_rate: f64,
    /// Delay added to every /v1 response (e.g. 20ms).
    #[arg(long, value_parser = parse_dur)]
    delay: Option<Duration>,
    /// Runtime threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Also run the demo forward proxy (CONNECT and absolute-form HTTP/1.1, to loopback only),
    /// for a target's `proxy`.
    #[arg(long)]
    proxy: bool,
    /// With --proxy: its port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 3128, requires = "proxy")]
    proxy_port: u16,
    /// With --proxy: delay added to each forwarded request (e.g. 2ms), a proxy layer's work.
    #[arg(long, value_parser = parse_dur, requires = "proxy")]
    proxy_delay: Option<Duration>,
}

pub(super) fn demo(args: DemoArgs) -> i32 {
    let config = DemoConfig {
        tls: args.tls,
        stall_every: args.stall_every,
        stall_for: args.stall_for,
        flaky_rate: args.flaky_rate.clamp(0.0, 1.0),
        delay: args.delay.unwrap_or_default(),
        port: args.port,
        threads: args.threads.max(1),
    };
    let server = match DemoServer::start(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "loadbench demo: cannot listen on 127.0.0.1:{}: {e}",
                args.port
            );
            return EXIT_RUN_ERROR;
        }
    };
    if let (Some(path), Some(pem)) = (&args.ca_out, &server.ca_pem)
        && let Err(e) = std::fs::write(path, pem)
    {
        eprintln!("loadbench demo: cannot write {}: {e}", path.display());
        return EXIT_RUN_ERROR;
    }
    println!("demo service listening on {}", server.url());
    let proxy = if args.proxy {
        match DemoProxy::start(args.proxy_port, args.proxy_delay.unwrap_or_default()) {
            Ok(p) => {
                println!("demo proxy listening on {}", p.url());
                Some(p)
            }
            Err(e) => {
                eprintln!(
                    "loadbench demo: cannot listen on 127.0.0.1:{} for the proxy: {e}",
                    args.proxy_port
                );
                return EXIT_RUN_ERROR;
            }
        }
    } else {
        None
    };
    let _ = std::io::stdout().flush();
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return EXIT_RUN_ERROR;
    };
    rt.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    drop(proxy);
    server.stop();
    EXIT_OK
}
