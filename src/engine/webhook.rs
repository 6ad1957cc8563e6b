//! The run's webhook receiver: an HTTP server the system under test calls back, each callback
//! handed to the run's ledger.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::demo::background::Background;
use crate::metrics::Ledger;
use crate::scenario::WebhookSpec;

/// The most of a callback's body read for ids.
const MAX_BODY: usize = 1 << 20;

/// A running receiver; it stops when dropped.
pub(crate) struct Receiver {
    /// What it knows of the run's ids.
    pub ledger: Arc<Ledger>,
    _runner: Background,
}

impl Receiver {
    /// Listens where `spec` says; the ledger's URL names where it listens (loopback for an
    /// address that listens everywhere).
    pub(crate) fn start(spec: &WebhookSpec) -> std::io::Result<Receiver> {
        let std_listener = std::net::TcpListener::bind(spec.listen)?;
        std_listener.set_nonblocking(true)?;
        let mut addr = std_listener.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        let run: u32 = rand::random();
        let ledger = Arc::new(Ledger::new(
            format!("http://{addr}/webhooks"),
            run,
            std::time::Instant::now(),
        ));
        let on = ledger.clone();
        let runner = Background::spawn("loadbench-webhooks", 1, move || async move {
            let Ok(listener) = TcpListener::from_std(std_listener) else {
                return;
            };
            serve(listener, on).await;
        })?;
        Ok(Receiver {
            ledger,
            _runner: runner,
        })
    }
}

async fn serve(listener: TcpListener, ledger: Arc<Ledger>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let ledger = ledger.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| callback(ledger.clone(), req));
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// One callback: its target, headers and body searched for the run's ids; answered 204.
async fn callback(
    ledger: Arc<Ledger>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let mut text = Vec::with_capacity(512);
    text.extend_from_slice(parts.uri.to_string().as_bytes());
    for (name, value) in &parts.headers {
        text.push(b'\n');
        text.extend_from_slice(name.as_str().as_bytes());
        text.extend_from_slice(b": ");
        text.extend_from_slice(value.as_bytes());
    }
    text.push(b'\n');
    let status = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => {
            text.extend_from_slice(&b.to_bytes());
            StatusCode::NO_CONTENT
        }
        Err(_) => StatusCode::PAYLOAD_TOO_LARGE,
    };
    ledger.arrived(&text);
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    Ok(r)
}
