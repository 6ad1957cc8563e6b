//! The embedded demo service: an API on 127.0.0.1 that behaves like a real one, so every sample runs offline.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rand::RngExt;
use tokio::net::TcpListener;

mod auth;
pub(crate) mod background;
pub mod proxy;
mod webhooks;

use background::Background;

/// How the demo service behaves; every knob has a realistic default.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoConfig {
    /// Serve HTTPS with a freshly generated certificate (signed by a generated CA).
    pub tls: bool,
    /// Pause the whole service periodically (e.g. every 5 s) to model a stall such as a GC pause.
    pub stall_every: Option<Duration>,
    /// How long each periodic pause lasts.
    pub stall_for: Duration,
    /// Share of `/v1/flaky` requests answered with 503.
    pub flaky_rate: f64,
    /// Delay added to every `/v1/*` response.
    pub delay: Duration,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Runtime worker threads.
    pub threads: usize,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            tls: false,
            stall_every: None,
            stall_for: Duration::from_secs(1),
            flaky_rate: 0.1,
            delay: Duration::ZERO,
            port: 0,
            threads: 1,
        }
    }
}

/// A running demo service; it stops when dropped.
pub struct DemoServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The CA certificate (PEM) that signed its certificate, when serving HTTPS.
    pub ca_pem: Option<String>,
    runner: Background,
}

impl DemoServer {
    /// Starts the service on its own thread and runtime, listening on 127.0.0.1.
    pub fn start(config: DemoConfig) -> std::io::Result<DemoServer> {
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", config.port))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (tls, ca_pem) = if config.tls {
            let (acceptor, ca) = tls_acceptor().map_err(std::io::Error::other)?;
            (Some(acceptor), Some(ca))
        } else {
            (None, None)
        };
        let threads = config.threads;
        let state = Arc::new(State {
            config,
            started: Instant::now(),
            stall_until_ms: AtomicU64::new(0),
            webhooks: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            in_flight_max: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            cache: std::sync::Mutex::new(std::collections::HashMap::new()),
            auth: auth::Auth::default(),
        });
        let runner = Background::spawn("loadbench-demo", threads, move || async move {
            if let Ok(listener) = TcpListener::from_std(std_listener) {
                accept_loop(listener, tls, state).await;
            }
        })?;
        Ok(DemoServer {
            addr,
            ca_pem,
            runner,
        })
    }

    /// The base URL to put in a scenario.
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// Stops the service and waits for its thread.
    pub fn stop(mut self) {
        self.runner.stop();
    }
}

fn tls_acceptor() -> Result<(tokio_rustls::TlsAcceptor, String), String> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let e = |e: rcgen::Error| format!("cannot generate the demo certificate: {e}");
    let ca_key = KeyPair::generate().map_err(e)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "loadbench demo CA");
    let ca_cert = ca_params.self_signed(&ca_key).map_err(e)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().map_err(e)?;
    let mut leaf_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .map_err(e)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).map_err(e)?;
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key_der)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca_cert.pem(),
    ))
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<State>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        state.connections.fetch_add(1, Ordering::Relaxed);
        let state = state.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(state.clone(), req));
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
                None => {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
            }
        });
    }
}

struct State {
    config: DemoConfig,
    started: Instant,
    stall_until_ms: AtomicU64,
    webhooks: AtomicU64,
    requests: AtomicU64,
    in_flight: AtomicU64,
    in_flight_max: AtomicU64,
    connections: AtomicU64,
    queued: AtomicU64,
    /// The cached endpoint's entries: when each key's cached answer expires.
    cache: std::sync::Mutex<std::collections::HashMap<String, Instant>>,
    /// The authenticated API's tokens, sessions and items.
    auth: auth::Auth,
}

impl State {
    /// Waits out a stall in progress, if any.
    async fn wait_stall(&self) {
        loop {
            let now = self.started.elapsed();
            let mut end = Duration::from_millis(self.stall_until_ms.load(Ordering::Relaxed));
            if let Some(every) = self.config.stall_every.filter(|e| !e.is_zero()) {
                let k = (now.as_secs_f64() / every.as_secs_f64()).floor();
                if k >= 1.0 {
                    let start = every.mul_f64(k);
                    let stop = start + self.config.stall_for;
                    if now < stop {
                        end = end.max(stop);
                    }
                }
            }
            if end <= now {
                return;
            }
            crate::timer::sleep(end - now).await;
        }
    }
}

/// Per-request knobs from the query string: `delay_ms`, `error_rate`, `status`.
#[derive(Default)]
struct Knobs {
    delay_ms: f64,
    error_rate: Option<f64>,
    status: Option<u16>,
    ms: Option<u64>,
    /// Token counting: count the body this many times (a heavier model), at most 10,000.
    rounds: u32,
    /// Streaming completion: tokens to send, the wait before the first and between the next.
    tokens: Option<u32>,
    first_ms: Option<f64>,
    gap_ms: Option<f64>,
    /// Cached endpoint: the entry's key, how long it stays fresh, how long a miss takes.
    key: Option<String>,
    ttl_ms: Option<f64>,
    miss_ms: Option<f64>,
    /// Webhook trigger: wait before the callback, extra random wait, share lost, share sent twice.
    deliver_ms: Option<f64>,
    jitter_ms: Option<f64>,
    loss: Option<f64>,
    dup: Option<f64>,
}

impl Knobs {
    fn parse(query: Option<&str>) -> Knobs {
        let mut k = Knobs::default();
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "delay_ms" => k.delay_ms = value.parse().unwrap_or(0.0),
                "error_rate" => k.error_rate = value.parse().ok(),
                "status" => k.status = value.parse().ok(),
                "ms" => k.ms = value.parse().ok(),
                "rounds" => k.rounds = value.parse::<u32>().unwrap_or(1).clamp(1, 10_000),
                "tokens" => k.tokens = value.parse::<u32>().ok().map(|n| n.min(100_000)),
                "first_ms" => k.first_ms = value.parse().ok().filter(|v: &f64| v.is_finite()),
                "gap_ms" => k.gap_ms = value.parse().ok().filter(|v: &f64| v.is_finite()),
                "key" => k.key = Some(value.chars().take(64).collect()),
                "ttl_ms" => k.ttl_ms = value.parse().ok().filter(|v: &f64| v.is_finite()),
                "miss_ms" => k.miss_ms = value.parse().ok().filter(|v: &f64| v.is_finite()),
                "deliver_ms" => k.deliver_ms = value.parse().ok().filter(|v: &f64| v.is_finite()),
                "jitter_ms" => k.jitter_ms = value.parse().ok().filter(|v: &f64| v.is_finite()),
                "loss" => k.loss = value.parse().ok().filter(|v: &f64| v.is_finite()),
                "dup" => k.dup = value.parse().ok().filter(|v: &f64| v.is_finite()),
                _ => {}
            }
        }
        k
    }
}

type Resp = Response<BoxBody<Bytes, Infallible>>;

/// A whole body as a response.
fn full(bytes: impl Into<Bytes>) -> Resp {
    Response::new(Full::new(bytes.into()).boxed())
}

fn json(status: StatusCode, value: serde_json::Value) -> Resp {
    let mut r = full(value.to_string());
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

const INDEX: &str = r#"{"service":"loadbench demo","endpoints":{
"GET /health":"liveness",
"GET /v1/echo":"fast; knobs delay_ms, error_rate, status",
"POST /v1/events":"event ingest (JSON object or array), a few ms",
"POST /v1/tokens/count":"CPU-bound token counting, cost proportional to the body; knob rounds (repeat the work)",
"GET /v1/dashboard":"slow query, log-normal latency (median ~80 ms)",
"GET /v1/flaky":"a share of 503s (error_rate knob)",
"GET /v1/cached":"a cache in front of a slow read: x-cache HIT or MISS; knobs key (k), ttl_ms (1000), miss_ms (20)",
"POST /v1/chat/completions":"an LLM's completion, OpenAI-style: with {\"stream\":true} server-sent token events; knobs tokens (20), first_ms (200), gap_ms (20)",
"POST /v1/webhooks":"webhook receiver","GET /v1/webhooks/count":"webhooks received",
"POST /v1/auth/login":"{\"user\",\"password\":\"demo-password\"} gives a token for ttl_ms (60000), a session cookie and its x-csrf-token",
"POST /v1/items":"with Authorization: Bearer TOKEN and the session's x-csrf-token: 201 {\"id\"}","GET|DELETE /v1/items/ID":"with the token; 401 once it expired",
"POST /v1/webhooks/trigger":"a webhook sender: {\"callback_url\",\"id\"} answered 202, called back later; knobs deliver_ms (100), jitter_ms (0), loss (0), dup (0)",
"POST /admin/stall?ms=N":"pause the whole service for N ms",
"GET /admin/stats":"requests served, in flight now and at most, connections accepted",
"GET /metrics":"the same and CPU seconds and requests queued behind a stall, as Prometheus text"}}"#;

/// The service's own figures as a Prometheus text exposition, so a scenario's monitor (or any
/// Prometheus) sees the server side beside the latency with no setup.
fn metrics(state: &State) -> Resp {
    use std::fmt::Write as _;
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let mut out = String::new();
    let mut put = |name: &str, kind: &str, help: &str, value: String| {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        );
    };
    put(
        "demo_requests_total",
        "counter",
        "Requests handled (the admin and metrics pages left out).",
        load(&state.requests).to_string(),
    );
    put(
        "demo_requests_in_flight",
        "gauge",
        "Requests being handled now.",
        load(&state.in_flight).to_string(),
    );
    put(
        "demo_requests_in_flight_max",
        "gauge",
        "The most requests handled at once since the start.",
        load(&state.in_flight_max).to_string(),
    );
    put(
        "demo_queue_depth",
        "gauge",
        "Requests arrived and waiting for a stall to end before any work starts.",
        load(&state.queued).to_string(),
    );
    put(
        "demo_connections_total",
        "counter",
        "Connections accepted.",
        load(&state.connections).to_string(),
    );
    put(
        "process_cpu_seconds_total",
        "counter",
        "CPU time of the process serving the demo (loadbench's own for an embedded demo target), user and system.",
        format!("{:.3}", cpu_seconds()),
    );
    let mut r = full(out);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

/// This process's CPU time (user + system), seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct it is given and has no other effect.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Resp, Infallible> {
    let (parts, body) = req.into_parts();
    let knobs = Knobs::parse(parts.uri.query());
    let path = parts.uri.path();
    if parts.method == Method::POST && path == "/admin/stall" {
        let until = state.started.elapsed().as_millis() as u64 + knobs.ms.unwrap_or(1000);
        state.stall_until_ms.fetch_max(until, Ordering::Relaxed);
        return Ok(json(
            StatusCode::OK,
            serde_json::json!({"stalled_ms": knobs.ms.unwrap_or(1000)}),
        ));
    }
    if parts.method == Method::GET && path == "/metrics" {
        return Ok(metrics(&state));
    }
    if parts.method == Method::GET && path == "/admin/stats" {
        return Ok(json(
            StatusCode::OK,
            serde_json::json!({
                "requests": state.requests.load(Ordering::Relaxed),
                "in_flight": state.in_flight.load(Ordering::Relaxed),
                "in_flight_max": state.in_flight_max.load(Ordering::Relaxed),
                "connections": state.connections.load(Ordering::Relaxed),
            }),
        ));
    }
    state.requests.fetch_add(1, Ordering::Relaxed);
    let now = state.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    state.in_flight_max.fetch_max(now, Ordering::Relaxed);
    // Decrements even when the client goes away mid-request and this future is dropped.
    struct InFlight<'a>(&'a AtomicU64);
    impl Drop for InFlight<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::Relaxed);
        }
    }
    let _guard = InFlight(&state.in_flight);
    Ok(serve(&state, &parts, knobs, body).await)
}

async fn serve(state: &State, parts: &http::request::Parts, knobs: Knobs, body: Incoming) -> Resp {
    let path = parts.uri.path();
    {
        // Queued: arrived, waiting for a stall to end before any work starts.
        state.queued.fetch_add(1, Ordering::Relaxed);
        struct Queued<'a>(&'a AtomicU64);
        impl Drop for Queued<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let _queued = Queued(&state.queued);
        state.wait_stall().await;
    }
    let body = match Limited::new(body, 8 << 20).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return json(
                StatusCode::PAYLOAD_TOO_LARGE,
                serde_json::json!({"error": "body unreadable or over 8 MiB"}),
            );
        }
    };
    let is_api = path.starts_with("/v1/");
    let extra = if is_api {
        state.config.delay
    } else {
        Duration::ZERO
    } + crate::format::secs(knobs.delay_ms / 1000.0);
    if !extra.is_zero() {
        crate::timer::sleep(extra).await;
    }
    let injected_error = knobs
        .error_rate
        .is_some_and(|p| rand::rng().random::<f64>() < p);
    let mut resp = if injected_error {
        json(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({"error": "injected error"}),
        )
    } else if let Some(r) = state
        .auth
        .route(&parts.method, path, &parts.headers, &knobs, &body)
    {
        r
    } else {
        route(state, &parts.method, path, &knobs, &body).await
    };
    if let Some(code) = knobs.status.and_then(|s| StatusCode::from_u16(s).ok()) {
        *resp.status_mut() = code;
    }
    state.wait_stall().await;
    resp
}

async fn route(state: &State, method: &Method, path: &str, knobs: &Knobs, body: &Bytes) -> Resp {
    match (method.as_str(), path) {
        ("GET", "/") => {
            let v: serde_json::Value = serde_json::from_str(INDEX).unwrap_or_default();
            json(StatusCode::OK, v)
        }
        ("GET", "/health") => full(Bytes::from_static(b"ok")),
        ("GET" | "POST", "/v1/echo") => json(
            StatusCode::OK,
            serde_json::json!({"ok": true, "bytes": body.len()}),
        ),
        ("POST", "/v1/events") => {
            let accepted = match serde_json::from_slice::<serde_json::Value>(body) {
                Ok(serde_json::Value::Array(a)) => a.len(),
                Ok(serde_json::Value::Object(_)) => 1,
                _ => {
                    return json(
                        StatusCode::BAD_REQUEST,
                        serde_json::json!({"error": "expected a JSON object or array of events"}),
                    );
                }
            };
            let ms = rand::rng().random_range(1.0..3.0);
            crate::timer::sleep(crate::format::secs(ms / 1000.0)).await;
            json(
                StatusCode::ACCEPTED,
                serde_json::json!({"accepted": accepted}),
            )
        }
        ("POST", "/v1/tokens/count") => {
            // `rounds` repeats the work, so one small body can model a costly tokenizer and the
            // service reaches its limit at a rate a laptop can send.
            let (mut tokens, mut digest) = count_tokens(body);
            for _ in 1..knobs.rounds {
                let (t, d) = count_tokens(std::hint::black_box(body));
                tokens = t;
                digest ^= d.rotate_left(7);
            }
            json(
                StatusCode::OK,
                serde_json::json!({"tokens": tokens, "bytes": body.len(), "model": "demo-bpe", "digest": format!("{digest:016x}")}),
            )
        }
        ("GET", "/v1/dashboard") => {
            let delay = lognormal_ms(80.0, 0.5).clamp(10.0, 2000.0);
            crate::timer::sleep(crate::format::secs(delay / 1000.0)).await;
            let series: Vec<serde_json::Value> = (0..24)
                .map(|h| serde_json::json!({"hour": h, "requests": 1000 + h * 37, "p95_ms": 40 + h % 7}))
                .collect();
            json(
                StatusCode::OK,
                serde_json::json!({"query_ms": delay.round(), "series": series}),
            )
        }
        ("GET", "/v1/flaky") => {
            let p = knobs.error_rate.unwrap_or(state.config.flaky_rate);
            if rand::rng().random::<f64>() < p {
                json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    serde_json::json!({"error": "upstream unavailable"}),
                )
            } else {
                json(StatusCode::OK, serde_json::json!({"ok": true}))
            }
        }
        ("POST", "/v1/chat/completions") => completion(knobs, body),
        ("GET", "/v1/cached") => cached(state, knobs).await,
        ("POST", "/v1/webhooks/trigger") => webhooks::trigger(knobs, body),
        ("POST", "/v1/webhooks") => {
            state.webhooks.fetch_add(1, Ordering::Relaxed);
            let mut r = full(Bytes::new());
            *r.status_mut() = StatusCode::NO_CONTENT;
            r
        }
        ("GET", "/v1/webhooks/count") => json(
            StatusCode::OK,
            serde_json::json!({"received": state.webhooks.load(Ordering::Relaxed)}),
        ),
        _ => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": format!("no route for {method} {path}; GET / lists the endpoints")}),
        ),
    }
}

/// A cache in front of a slow read: a fresh entry answers at once (`x-cache: HIT`, its `age`);
/// otherwise the read takes `miss_ms` and fills the entry for `ttl_ms` (`x-cache: MISS`).
/// Requests that miss together all read (no coalescing), as a plain cache does.
async fn cached(state: &State, knobs: &Knobs) -> Resp {
    let key = knobs.key.clone().unwrap_or_else(|| "k".into());
    let ttl = crate::format::secs(knobs.ttl_ms.unwrap_or(1000.0).max(0.0) / 1000.0);
    let fresh_until = |cache: &std::collections::HashMap<String, Instant>| cache.get(&key).copied();
    let now = Instant::now();
    let hit = state
        .cache
        .lock()
        .ok()
        .and_then(|c| fresh_until(&c))
        .filter(|until| *until > now);
    let (status, age) = match hit {
        Some(until) => ("HIT", ttl.saturating_sub(until - now)),
        None => {
            let miss = crate::format::secs(knobs.miss_ms.unwrap_or(20.0).max(0.0) / 1000.0);
            crate::timer::sleep(miss).await;
            if let Ok(mut c) = state.cache.lock() {
                if c.len() >= 10_000 {
                    c.clear(); // bounded, whatever keys the load sends
                }
                c.insert(key.clone(), Instant::now() + ttl);
            }
            ("MISS", Duration::ZERO)
        }
    };
    let mut r = json(
        StatusCode::OK,
        serde_json::json!({"key": key, "cache": status}),
    );
    let h = r.headers_mut();
    h.insert("x-cache", http::HeaderValue::from_static(status));
    h.insert(http::header::AGE, http::HeaderValue::from(age.as_secs()));
    r
}

/// An LLM's completion: with `"stream": true` in the body, one server-sent event per token (the
/// first after `first_ms`, then one every `gap_ms`) and OpenAI's closing `data: [DONE]`; without,
/// the whole text as one JSON answer once the last token would have come.
fn completion(knobs: &Knobs, body: &Bytes) -> Resp {
    let tokens = knobs.tokens.unwrap_or(20);
    let first = crate::format::secs(knobs.first_ms.unwrap_or(200.0).max(0.0) / 1000.0);
    let gap = crate::format::secs(knobs.gap_ms.unwrap_or(20.0).max(0.0) / 1000.0);
    let streamed = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("stream").and_then(serde_json::Value::as_bool))
        .unwrap_or(false);
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let start = Instant::now();
        let mut text = String::new();
        for i in 0..tokens {
            // Each token at its own time from the start, so gaps do not drift.
            let due = start + first + gap * i;
            crate::timer::sleep(due.saturating_duration_since(Instant::now())).await;
            let word = format!("tok{i} ");
            if streamed {
                let event = serde_json::json!({"id": "chatcmpl-demo", "object": "chat.completion.chunk",
                    "model": "demo-llm", "choices": [{"index": 0, "delta": {"content": word}}]});
                if tx
                    .send(Bytes::from(format!("data: {event}\n\n")))
                    .await
                    .is_err()
                {
                    return; // the client went away
                }
            } else {
                text.push_str(&word);
            }
        }
        let last = if streamed {
            Bytes::from_static(b"data: [DONE]\n\n")
        } else {
            crate::timer::sleep((start + first).saturating_duration_since(Instant::now())).await;
            Bytes::from(
                serde_json::json!({"id": "chatcmpl-demo", "object": "chat.completion", "model": "demo-llm",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
                    "usage": {"completion_tokens": tokens}})
                .to_string(),
            )
        };
        let _ = tx.send(last).await;
    });
    let mut r = Response::new(BoxBody::new(Events(rx)));
    let kind = if streamed {
        "text/event-stream"
    } else {
        "application/json"
    };
    let headers = r.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(kind),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache"),
    );
    r
}

/// A body whose frames arrive as they are sent: what a streaming completion answers with.
struct Events(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for Events {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// Counts tokens the way a BPE tokenizer's cost scales: every byte goes through a few hash rounds.
fn count_tokens(body: &[u8]) -> (u64, u64) {
    let mut tokens = 0u64;
    let mut word_len = 0u64;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in body {
        for round in 0..48u64 {
            h ^= u64::from(b) ^ round;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        if b.is_ascii_alphanumeric() || b >= 0x80 {
            word_len += 1;
        } else {
            tokens += word_len.div_ceil(4);
            word_len = 0;
            if !b.is_ascii_whitespace() {
                tokens += 1;
            }
        }
    }
    tokens += word_len.div_ceil(4);
    (tokens, h)
}

fn lognormal_ms(median: f64, sigma: f64) -> f64 {
    let mut rng = rand::rng();
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    median * (sigma * z).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_counting_scales_with_text() {
        assert_eq!(count_tokens(b"hello world").0, 4);
        assert_eq!(count_tokens(b"a, b.").0, 4);
        let long = "tokenize me ".repeat(100);
        assert_eq!(count_tokens(long.as_bytes()).0, 300);
    }
}
