//! The demo forward proxy: CONNECT tunnels and absolute-form HTTP/1.1, with an added delay, to loopback only.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};

use super::background::Background;

/// The most a request head may hold.
const MAX_HEAD: usize = 64 * 1024;
/// The most a forwarded request body may hold (it is read whole before it is sent on).
const MAX_BODY: usize = 16 << 20;

/// A running demo proxy; it stops when dropped.
pub struct DemoProxy {
    /// Where it listens.
    pub addr: SocketAddr,
    _runner: Background,
}

impl DemoProxy {
    /// Starts the proxy on 127.0.0.1:`port` (0: any free port); every request it forwards (and
    /// every burst of bytes into a tunnel) waits `delay` first, standing in for a proxy layer's work.
    pub fn start(port: u16, delay: Duration) -> std::io::Result<DemoProxy> {
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let runner = Background::spawn("loadbench-proxy", 1, move || async move {
            let Ok(listener) = TcpListener::from_std(std_listener) else {
                return;
            };
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                let _ = client.set_nodelay(true);
                tokio::spawn(serve(client, delay));
            }
        })?;
        Ok(DemoProxy {
            addr,
            _runner: runner,
        })
    }

    /// Its URL, for a target's `proxy`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// One request head read from the client: its line's three parts and its headers.
struct Head {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Serves one client connection until it or its upstream closes.
async fn serve(client: TcpStream, delay: Duration) {
    let (mut from_client, mut to_client) = client.into_split();
    let mut buf = Vec::new();
    let Ok(Some(first)) = read_head(&mut from_client, &mut buf).await else {
        return;
    };
    if first.method == "CONNECT" {
        tunnel(first, buf, from_client, to_client, delay).await;
        return;
    }
    // Absolute form: one upstream connection per client connection, its answers relayed as they come.
    let Some((authority, _)) = split_absolute(&first.target) else {
        let _ = answer(
            &mut to_client,
            "400 Bad Request",
            "not an absolute http:// URL",
        )
        .await;
        return;
    };
    let Some(upstream) = dial(&authority, &mut to_client).await else {
        return;
    };
    let (up_read, mut up_write) = upstream.into_split();
    let mut answers = tokio::spawn(relay(up_read, to_client, Duration::ZERO));
    let mut head = first;
    while let Some((this, path)) = split_absolute(&head.target) {
        if this != authority {
            // Another origin on the same connection: not worth a second upstream for a demo.
            break;
        }
        if head.header("transfer-encoding").is_some() {
            break;
        }
        let length: usize = match head.header("content-length").map(str::trim) {
            None => 0,
            Some(n) => match n.parse() {
                Ok(n) if n <= MAX_BODY => n,
                _ => break,
            },
        };
        while buf.len() < length {
            let mut more = [0u8; 16 * 1024];
            match from_client.read(&mut more).await {
                Ok(0) | Err(_) => return answers.abort(),
                Ok(n) => buf.extend_from_slice(&more[..n]),
            }
        }
        let mut out = format!("{} {path} {}\r\n", head.method, head.version);
        for (n, v) in &head.headers {
            if !n.eq_ignore_ascii_case("proxy-authorization")
                && !n.eq_ignore_ascii_case("proxy-connection")
            {
                out.push_str(&format!("{n}: {v}\r\n"));
            }
        }
        out.push_str("\r\n");
        let mut out = out.into_bytes();
        out.extend(buf.drain(..length));
        if !delay.is_zero() {
            crate::timer::sleep(delay).await;
        }
        if up_write.write_all(&out).await.is_err() {
            break;
        }
        head = tokio::select! {
            next = read_head(&mut from_client, &mut buf) => match next {
                Ok(Some(h)) => h,
                _ => break,
            },
            _ = &mut answers => return,
        };
    }
    // Let the last answer through before closing.
    let _ = up_write.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(30), answers).await;
}

/// A CONNECT: opens the tunnel (loopback only) and copies both ways, the client's bytes delayed.
async fn tunnel(
    head: Head,
    early: Vec<u8>,
    from_client: tokio::net::tcp::OwnedReadHalf,
    mut to_client: OwnedWriteHalf,
    delay: Duration,
) {
    let Some(upstream) = dial(&head.target, &mut to_client).await else {
        return;
    };
    if to_client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    let (up_read, mut up_write) = upstream.into_split();
    if !early.is_empty() && up_write.write_all(&early).await.is_err() {
        return;
    }
    let down = tokio::spawn(relay(up_read, to_client, Duration::ZERO));
    let _ = relay(from_client, up_write, delay).await;
    let _ = down.await;
}

/// Connects to `authority` if it is a loopback address; otherwise answers 403 (502 when it
/// cannot be reached) and gives up.
async fn dial(authority: &str, to_client: &mut OwnedWriteHalf) -> Option<TcpStream> {
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host(authority).await {
        Ok(a) => a.collect(),
        Err(_) => {
            let _ = answer(to_client, "502 Bad Gateway", "unknown host").await;
            return None;
        }
    };
    if addrs.is_empty() || !addrs.iter().all(|a| a.ip().is_loopback()) {
        let _ = answer(
            to_client,
            "403 Forbidden",
            "the demo proxy forwards to loopback only",
        )
        .await;
        return None;
    }
    match TcpStream::connect(&addrs[..]).await {
        Ok(s) => {
            let _ = s.set_nodelay(true);
            Some(s)
        }
        Err(_) => {
            let _ = answer(to_client, "502 Bad Gateway", "cannot connect upstream").await;
            None
        }
    }
}

/// Copies `from` into `to` until either ends, waiting `delay` before each burst.
async fn relay(
    mut from: impl AsyncRead + Unpin,
    mut to: impl tokio::io::AsyncWrite + Unpin,
    delay: Duration,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !delay.is_zero() {
            crate::timer::sleep(delay).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// A short answer from the proxy itself, closing the connection.
async fn answer(to: &mut OwnedWriteHalf, status: &str, why: &str) -> std::io::Result<()> {
    let text = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{why}",
        why.len()
    );
    to.write_all(text.as_bytes()).await?;
    to.shutdown().await
}

/// `http://authority/path?q` as (authority, path-and-query).
fn split_absolute(target: &str) -> Option<(String, String)> {
    let rest = target.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return None;
    }
    let authority = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Some((authority, path.to_string()))
}

/// Reads one request head, leaving whatever follows it in `buf`; `None` at a clean end.
async fn read_head(
    from: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Head>> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            let mut lines = text.split("\r\n");
            let mut line = lines.next().unwrap_or_default().split(' ');
            let (Some(method), Some(target), Some(version)) =
                (line.next(), line.next(), line.next())
            else {
                return Err(std::io::ErrorKind::InvalidData.into());
            };
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
                .collect();
            return Ok(Some(Head {
                method: method.to_string(),
                target: target.to_string(),
                version: version.to_string(),
                headers,
            }));
        }
        if buf.len() > MAX_HEAD {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        let mut more = [0u8; 4096];
        match from.read(&mut more).await? {
            0 => return Ok(None),
            n => buf.extend_from_slice(&more[..n]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_targets() {
        assert_eq!(
            split_absolute("http://127.0.0.1:8080/v1/x?a=1"),
            Some(("127.0.0.1:8080".into(), "/v1/x?a=1".into()))
        );
        assert_eq!(
            split_absolute("http://localhost"),
            Some(("localhost:80".into(), "/".into()))
        );
        assert_eq!(split_absolute("/v1/x"), None);
        assert_eq!(split_absolute("https://127.0.0.1/"), None);
    }
}
