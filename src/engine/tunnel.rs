//! Through a forward proxy: the CONNECT exchange that turns a proxy connection into a tunnel.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::failure::classify_io;
use crate::metrics::ErrorKind;

/// The most a proxy's answer to CONNECT may hold before its blank line.
const MAX_HEAD: usize = 16 * 1024;

/// The CONNECT request for `authority`, with the proxy's credentials when it has them.
pub(crate) fn connect_request(authority: &str, basic: Option<&str>) -> Vec<u8> {
    let mut out = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(token) = basic {
        out.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// Sends `request` (a CONNECT) and reads the proxy's answer: `Ok` on a 2xx, after which the
/// connection carries the target's bytes; `ErrorKind::Proxy` when the proxy refused (any other
/// status) or answered something that is not HTTP.
pub(crate) async fn open(tcp: &mut TcpStream, request: &[u8]) -> Result<(), ErrorKind> {
    tcp.write_all(request)
        .await
        .map_err(|e| classify_io(&e, ErrorKind::Connect))?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 1024];
    loop {
        let n = tcp
            .read(&mut buf)
            .await
            .map_err(|e| classify_io(&e, ErrorKind::Proxy))?;
        if n == 0 {
            return Err(ErrorKind::Proxy);
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            // Nothing may follow the answer: the target has not been sent a byte yet.
            if end + 4 != head.len() {
                return Err(ErrorKind::Proxy);
            }
            return match status(&head) {
                Some(200..=299) => Ok(()),
                _ => Err(ErrorKind::Proxy),
            };
        }
        if head.len() > MAX_HEAD {
            return Err(ErrorKind::Proxy);
        }
    }
}

/// The status code of an `HTTP/1.x NNN …` status line.
fn status(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let mut parts = line.split(|b| *b == b' ');
    let version = parts.next()?;
    if !version.starts_with(b"HTTP/1.") {
        return None;
    }
    std::str::from_utf8(parts.next()?).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(
            status(b"HTTP/1.1 200 Connection established\r\n\r\n"),
            Some(200)
        );
        assert_eq!(status(b"HTTP/1.0 403 Forbidden\r\n\r\n"), Some(403));
        assert_eq!(status(b"SSH-2.0-OpenSSH\r\n\r\n"), None);
        let r = connect_request("127.0.0.1:443", Some("dTpw"));
        assert_eq!(
            r,
            b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
        );
    }
}
