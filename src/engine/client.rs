//! The HTTP hot path: connections owned by one task each (HTTP/2 ones shared by up to `streams`
//! tasks), TLS through rustls, retries only where they are safe, errors classified.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Instant;

use std::io::Write as _;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use super::StartError;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::failure::{Fail, classify, classify_io};
use super::h1::H1Conn;
use super::trace::Trace;
use crate::metrics::ErrorKind;
use crate::metrics::is_kept;
use crate::scenario::{BaseUrl, HttpVersion, ProxyUrl, Target};

/// Where one target's connections go and how they are set up; shared by all tasks of a run.
pub struct Endpoint {
    /// Every address the host resolved to; connections take them in turn.
    pub addrs: Vec<SocketAddr>,
    /// The address the next connection tries first.
    next_addr: AtomicUsize,
    /// HTTP/2 streams per connection.
    streams: usize,
    /// `host[:port]`, for the Host header and HTTP/2 `:authority`.
    pub authority: String,
    /// The Host header value.
    pub host_header: HeaderValue,
    /// `http` or `https`.
    pub https: bool,
    /// The target's path prefix.
    pub base_path: String,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    http: HttpVersion,
    /// Cleartext HTTP/1.1 on the hand-written hot path (`h1`); `LOADBENCH_HYPER_H1=1` puts it
    /// back on hyper, for comparison.
    raw_h1: bool,
    /// Through a forward proxy: the CONNECT request that opens a tunnel (https, HTTP/2), or
    /// `None` with [`Endpoint::absolute`] set (cleartext HTTP/1.1 in absolute form).
    tunnel: Option<Vec<u8>>,
    /// Requests go to a forward proxy in absolute form (`GET http://host/path`).
    pub absolute: bool,
    /// `Proxy-Authorization` for absolute-form requests, from the proxy URL's credentials.
    pub proxy_auth: Option<HeaderValue>,
}

/// A live connection, owned by exactly one task (no lock on the hot path).
pub struct Conn {
    sender: Sender,
    /// HTTP/1.1: the connection's I/O future, polled inside the owning task while a request is
    /// in flight, so a request costs no hand-off between tasks. HTTP/2 connections run as their
    /// own task (`None`), since they must be polled between requests too.
    driver: Option<Driver>,
}

type Driver = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), hyper::Error>> + Send>>;

enum Sender {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
    Raw(H1Conn),
}

impl Conn {
    /// Whether requests on this connection need an absolute URI (HTTP/2).
    pub fn is_h2(&self) -> bool {
        matches!(self.sender, Sender::H2(_))
    }

    fn is_closed(&mut self, now: Instant) -> bool {
        match &mut self.sender {
            Sender::H1(s) => s.is_closed(),
            Sender::H2(s) => s.is_closed(),
            Sender::Raw(c) => c.is_closed(now),
        }
    }
}

/// One engine thread's HTTP/2 connections to one target that several tasks share, each carrying
/// up to the target's `streams` requests at once (what a browser or gRPC client does).
#[derive(Default)]
pub(crate) struct H2Pool {
    conns: RefCell<Vec<Rc<SharedH2>>>,
    /// Connections being opened, and tasks waiting for one of them rather than opening their own.
    connecting: Cell<usize>,
    waiting: Cell<usize>,
    opened: tokio::sync::Notify,
}

struct SharedH2 {
    sender: hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    active: Cell<usize>,
}

/// A stream taken on a shared connection, given back when the request ends or is dropped.
struct Stream(Rc<SharedH2>);

impl Drop for Stream {
    fn drop(&mut self) {
        self.0.active.set(self.0.active.get().saturating_sub(1));
    }
}

impl H2Pool {
    /// A stream on an open connection with room for one more, if any.
    fn take(&self, streams: usize) -> Option<Stream> {
        let mut conns = self.conns.borrow_mut();
        conns.retain(|c| !c.sender.is_closed());
        let c = conns.iter().find(|c| c.active.get() < streams)?.clone();
        c.active.set(c.active.get() + 1);
        Some(Stream(c))
    }

    fn add(&self, sender: hyper::client::conn::http2::SendRequest<Full<Bytes>>) {
        self.conns.borrow_mut().push(Rc::new(SharedH2 {
            sender,
            active: Cell::new(0),
        }));
    }

    fn remove(&self, dead: &Rc<SharedH2>) {
        self.conns.borrow_mut().retain(|c| !Rc::ptr_eq(c, dead));
    }

    /// Whether a connection being opened will have a stream for one more task (the one opening
    /// it takes one of its `streams`).
    fn room_coming(&self, streams: usize) -> bool {
        self.waiting.get() < self.connecting.get() * (streams - 1)
    }

    /// Waits for a connection being opened (or failing to open).
    async fn wait_for_one(&self) {
        self.waiting.set(self.waiting.get() + 1);
        self.opened.notified().await;
        self.waiting.set(self.waiting.get() - 1);
    }
}

/// Marks one shared connection as being opened until dropped, then wakes the tasks waiting for it.
struct Opening<'a>(&'a H2Pool);

impl<'a> Opening<'a> {
    fn new(pool: &'a H2Pool) -> Opening<'a> {
        pool.connecting.set(pool.connecting.get() + 1);
        Opening(pool)
    }
}

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        self.0.connecting.set(self.0.connecting.get() - 1);
        self.0.opened.notify_waiters();
    }
}

impl Sender {
    async fn ready(&mut self) -> Result<(), hyper::Error> {
        match self {
            Sender::H1(s) => s.ready().await,
            Sender::H2(s) => s.ready().await,
            Sender::Raw(_) => Ok(()),
        }
    }

    async fn send(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, hyper::Error> {
        match self {
            Sender::H1(s) => s.send_request(req).await,
            Sender::H2(s) => s.send_request(req).await,
            // Never reached: `exchange` sends raw connections' requests itself.
            Sender::Raw(_) => unreachable!("raw HTTP/1.1 requests do not go through hyper"),
        }
    }

    /// One request on this connection, body read to the end; `keep` takes up to `cap` body bytes.
    async fn attempt(
        &mut self,
        req: Request<Full<Bytes>>,
        mut keep: Option<&mut Vec<u8>>,
        cap: usize,
        trace: &mut Trace,
    ) -> Result<(u16, u64), Fail> {
        self.ready().await.map_err(|e| Fail::Closed(classify(&e)))?;
        trace.ready.get_or_insert_with(Instant::now);
        let resp = self.send(req).await.map_err(|e| {
            if e.is_canceled() {
                Fail::Unsent(classify(&e))
            } else if e.is_incomplete_message() {
                Fail::Unanswered(classify(&e))
            } else {
                Fail::Kind(classify(&e))
            }
        })?;
        trace.first_byte = Some(Instant::now());
        let status = resp.status().as_u16();
        let _ = write!(trace.head, "{:?} {}\r\n", resp.version(), resp.status());
        for (name, value) in resp.headers() {
            if trace.keep_all || is_kept(name.as_str()) || trace.keep_header.as_ref() == Some(name)
            {
                trace.head.extend_from_slice(name.as_str().as_bytes());
                trace.head.extend_from_slice(b": ");
                trace.head.extend_from_slice(value.as_bytes());
                trace.head.extend_from_slice(b"\r\n");
            }
        }
        if trace.stream.mode().is_some() {
            trace.stream.event_stream = resp
                .headers()
                .get(http::header::CONTENT_TYPE)
                .is_some_and(|v| super::h1::is_event_stream(v.as_bytes()));
        }
        let mut body = resp.into_body();
        let mut bytes = 0u64;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => {
                    if let Some(d) = f.data_ref() {
                        bytes += d.len() as u64;
                        if let Some(buf) = keep.as_deref_mut() {
                            let room = cap.saturating_sub(buf.len());
                            buf.extend_from_slice(&d[..d.len().min(room)]);
                        }
                        if trace.stream.mode().is_some() && !d.is_empty() {
                            let now = Instant::now();
                            trace.stream.bytes(d, now);
                            trace.stream.chunk(now);
                        }
                    }
                }
                Err(e) => {
                    let kind = classify(&e);
                    return Err(Fail::Kind(if kind == ErrorKind::Reset {
                        kind
                    } else {
                        ErrorKind::Body
                    }));
                }
            }
        }
        Ok((status, bytes))
    }
}

impl Endpoint {
    /// Prepares a target at `base`: resolves its address (or its proxy's) and builds its TLS
    /// configuration.
    pub fn new(
        target: &Target,
        base: &BaseUrl,
        extra_ca_pem: Option<&str>,
        proxy: Option<&ProxyUrl>,
    ) -> Result<Endpoint, StartError> {
        use std::net::ToSocketAddrs;
        let (host, port, https, base_path) =
            (base.host.as_str(), base.port, base.https, &base.base_path);
        let authority = base.authority();
        // Through a proxy, connections go to the proxy; the target's name is only what it is asked for.
        let (dial_host, dial_port) = proxy.map_or((host, port), |p| (p.host.as_str(), p.port));
        let addrs: Vec<SocketAddr> = (dial_host, dial_port)
            .to_socket_addrs()
            .map_err(|source| StartError::Resolve {
                target: target.name.clone(),
                host: dial_host.to_string(),
                source,
            })?
            .collect();
        if addrs.is_empty() {
            return Err(StartError::NoAddress {
                target: target.name.clone(),
                host: dial_host.to_string(),
            });
        }
        let tls = if https {
            let tls_error = |reason| StartError::Tls {
                target: target.name.clone(),
                reason,
            };
            let config = client_tls(target, extra_ca_pem).map_err(tls_error)?;
            let name = ServerName::try_from(host.to_string()).map_err(|e| {
                tls_error(format!("\"{host}\" is not a valid TLS server name: {e}"))
            })?;
            Some((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
        } else {
            None
        };
        let host_header = HeaderValue::from_str(&authority).map_err(|_| StartError::Host {
            target: target.name.clone(),
            authority: authority.clone(),
        })?;
        let basic = proxy.and_then(|p| p.userinfo.as_ref()).map(|u| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(u.0.as_bytes())
        });
        // Cleartext HTTP/1.1 asks the proxy in absolute form, as browsers and curl do; anything
        // the proxy must not read (TLS, HTTP/2's preface) goes through a CONNECT tunnel.
        let absolute = proxy.is_some() && !https && target.http != HttpVersion::Http2;
        let tunnel = (proxy.is_some() && !absolute)
            .then(|| super::tunnel::connect_request(&authority, basic.as_deref()));
        let proxy_auth = match basic.filter(|_| absolute) {
            Some(b) => {
                let mut v =
                    HeaderValue::from_str(&format!("Basic {b}")).map_err(|_| StartError::Host {
                        target: target.name.clone(),
                        authority: "the proxy's credentials".into(),
                    })?;
                v.set_sensitive(true);
                Some(v)
            }
            None => None,
        };
        Ok(Endpoint {
            addrs,
            next_addr: AtomicUsize::new(0),
            streams: target.streams.max(1),
            authority,
            host_header,
            https,
            base_path: base_path.to_string(),
            tls,
            http: target.http,
            raw_h1: std::env::var_os("LOADBENCH_HYPER_H1").is_none_or(|v| v != "1"),
            tunnel,
            absolute,
            proxy_auth,
        })
    }

    /// Opens a TCP connection to the next address in turn, trying the others if it fails (a name
    /// that resolves to ::1 and 127.0.0.1 where the server listens on one of them).
    async fn tcp(&self) -> Result<TcpStream, ErrorKind> {
        let n = self.addrs.len();
        let first = self.next_addr.fetch_add(1, Ordering::Relaxed);
        let mut last = ErrorKind::Connect;
        for i in 0..n {
            match TcpStream::connect(self.addrs[(first + i) % n]).await {
                Ok(tcp) => return Ok(tcp),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    last = ErrorKind::ConnectRefused;
                }
                Err(_) => last = ErrorKind::Connect,
            }
        }
        Err(last)
    }

    /// Opens a connection: TCP (no Nagle; through a proxy, its CONNECT tunnel too), then TLS with
    /// ALPN if https, then the HTTP handshake; the connect and TLS times go to `trace`.
    pub async fn connect(&self, trace: &mut Trace) -> Result<Conn, ErrorKind> {
        let began = Instant::now();
        let mut tcp = self.tcp().await?;
        if let Some(request) = &self.tunnel {
            let _ = tcp.set_nodelay(true);
            super::tunnel::open(&mut tcp, request).await?;
        }
        let connected = Instant::now();
        trace.connect_us = Some(micros(connected - began));
        trace.ready = Some(connected);
        if self.tunnel.is_none() {
            let _ = tcp.set_nodelay(true);
        }
        match &self.tls {
            None if self.http != HttpVersion::Http2 && self.raw_h1 => Ok(Conn {
                sender: Sender::Raw(H1Conn::new(tcp)),
                driver: None,
            }),
            None => handshake(tcp, self.http == HttpVersion::Http2, self.streams == 1).await,
            Some((connector, name)) => {
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| classify_io(&e, ErrorKind::Tls))?;
                let secured = Instant::now();
                trace.tls_us = Some(micros(secured - connected));
                trace.ready = Some(secured);
                let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                if !h2 && self.raw_h1 {
                    return Ok(Conn {
                        sender: Sender::Raw(H1Conn::new(super::h1_io::H1Io::Tls(Box::new(tls)))),
                        driver: None,
                    });
                }
                handshake(tls, h2, self.streams == 1).await
            }
        }
    }

    /// Sends one request on `slot`'s connection (opening one if needed; an HTTP/2 connection with
    /// `streams` above 1 goes to the thread's `pool` and is shared) and reads the whole response.
    /// `build` makes the request for hyper (HTTP/2 if its flag is set); for the raw HTTP/1.1 path
    /// the request's bytes are `fixed`, or else what `write` puts in the buffer it is given.
    /// A connection found closed before sending is replaced silently; a request that failed unsent
    /// on a reused connection (or went unanswered, when `retry_unanswered`) is sent once more on a
    /// new one and counted in `retries`.
    #[allow(clippy::too_many_arguments)]
    pub async fn exchange(
        &self,
        slot: &mut Option<Conn>,
        pool: &H2Pool,
        build: impl Fn(bool) -> Request<Full<Bytes>>,
        fixed: Option<&[u8]>,
        write: impl Fn(&mut Vec<u8>),
        head: bool,
        mut keep_body: Option<&mut Vec<u8>>,
        body_cap: usize,
        now: Instant,
        retry_unanswered: bool,
        retries: &mut u32,
        trace: &mut Trace,
    ) -> Result<(u16, u64), ErrorKind> {
        if slot.as_mut().is_some_and(|c| c.is_closed(now)) {
            *slot = None;
        }
        let mut retried = false;
        loop {
            if self.streams > 1
                && slot.is_none()
                && let Some(stream) = pool.take(self.streams)
            {
                let mut sender = Sender::H2(stream.0.sender.clone());
                let result = sender
                    .attempt(build(true), keep_body.as_deref_mut(), body_cap, trace)
                    .await;
                match result {
                    Ok(done) => return Ok(done),
                    Err(f @ (Fail::Closed(_) | Fail::Unsent(_))) => {
                        pool.remove(&stream.0);
                        if matches!(f, Fail::Unsent(_)) {
                            if retried {
                                return Err(f.kind());
                            }
                            retried = true;
                            *retries += 1;
                        }
                        continue;
                    }
                    Err(f) => return Err(f.kind()),
                }
            }
            if self.streams > 1 && slot.is_none() && pool.room_coming(self.streams) {
                pool.wait_for_one().await;
                continue;
            }
            let reused = slot.is_some();
            if slot.is_none() {
                let opening = (self.streams > 1).then(|| Opening::new(pool));
                // Boxed: connecting (TLS included) is rare and its state is large; keeping it out of
                // line keeps the per-request future small and cheap to move.
                let conn = Box::pin(self.connect(trace)).await?;
                if self.streams > 1
                    && let Sender::H2(sender) = conn.sender
                {
                    pool.add(sender);
                    drop(opening);
                    continue;
                }
                drop(opening);
                *slot = Some(conn);
            }
            let Some(conn) = slot.as_mut() else {
                return Err(ErrorKind::Other);
            };
            let result = match &mut conn.sender {
                Sender::Raw(raw) => {
                    let mut out = Vec::new();
                    let wire = match fixed {
                        Some(w) => w,
                        None => {
                            write(&mut out);
                            &out
                        }
                    };
                    raw.exchange_traced(wire, head, keep_body.as_deref_mut(), body_cap, now, trace)
                        .await
                }
                _ => {
                    let req = build(conn.is_h2());
                    let Conn { sender, driver } = conn;
                    let work = sender.attempt(req, keep_body.as_deref_mut(), body_cap, trace);
                    let (result, closed) = match driver {
                        Some(driver) => {
                            // Request, connection, request again, all in one poll: the request is
                            // written in the poll that queued it, and a response is taken in the
                            // poll that read it, with no trip through the run queue in between.
                            let mut work = std::pin::pin!(work);
                            let mut ended = false;
                            std::future::poll_fn(|cx| {
                                if let Poll::Ready(r) = work.as_mut().poll(cx) {
                                    return Poll::Ready((r, ended));
                                }
                                // The connection ended: whatever it delivered is already queued.
                                if !ended && driver.as_mut().poll(cx).is_ready() {
                                    ended = true;
                                }
                                work.as_mut().poll(cx).map(|r| (r, ended))
                            })
                            .await
                        }
                        None => (work.await, false),
                    };
                    if closed {
                        *slot = None;
                    }
                    result
                }
            };
            let fail = match result {
                Ok(done) => return Ok(done),
                Err(f) => f,
            };
            *slot = None;
            let again = match fail {
                Fail::Closed(_) => true,
                Fail::Unsent(_) => reused && !retried,
                Fail::Unanswered(_) => reused && !retried && retry_unanswered,
                Fail::Kind(_) => false,
            };
            if !again {
                return Err(fail.kind());
            }
            if !matches!(fail, Fail::Closed(_)) {
                retried = true;
                *retries += 1;
            }
        }
    }
}

/// The HTTP handshake on a connected stream. An HTTP/2 connection that carries one request at a
/// time (`own`: not shared through the pool) is driven by its request, as HTTP/1.1's is, instead
/// of by a task of its own: no hop between tasks per request.
async fn handshake<I>(io: I, h2: bool, own: bool) -> Result<Conn, ErrorKind>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    if h2 {
        let (send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(|e| classify(&e))?;
        if own {
            return Ok(Conn {
                sender: Sender::H2(send),
                driver: Some(Box::pin(conn)),
            });
        }
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            sender: Sender::H2(send),
            driver: None,
        })
    } else {
        let (send, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| classify(&e))?;
        Ok(Conn {
            sender: Sender::H1(send),
            driver: Some(Box::pin(conn)),
        })
    }
}

/// The TLS client set-up of a target; an error says why, without the target's name.
fn client_tls(target: &Target, extra_ca_pem: Option<&str>) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let mut config = if target.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        let mut add_pem = |pem: &[u8], origin: &str| -> Result<(), String> {
            let mut n = 0;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("{origin}: not a PEM certificate: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("{origin}: unusable CA certificate: {e}"))?;
                n += 1;
            }
            if n == 0 {
                return Err(format!("{origin}: no PEM certificate found"));
            }
            Ok(())
        };
        if let Some(path) = &target.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
            add_pem(&pem, &format!("ca_file {}", path.display()))?;
        }
        if let Some(pem) = extra_ca_pem {
            add_pem(pem.as_bytes(), "demo CA")?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = match target.http {
        HttpVersion::Auto => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        HttpVersion::Http1 => vec![b"http/1.1".to_vec()],
        HttpVersion::Http2 => vec![b"h2".to_vec()],
    };
    Ok(config)
}

/// Accepts any certificate: only for test hosts the user marked `insecure = true`.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
