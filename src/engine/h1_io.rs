//! The byte stream under the HTTP/1.1 hot path: a plain socket driven by readiness, or rustls
//! over one (so HTTPS requests skip hyper's dispatch and body channels too).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// A connection's bytes, in the clear or through TLS.
pub(crate) enum H1Io {
    /// Cleartext: read and written by readiness, one system call per attempt.
    Plain(TcpStream),
    /// TLS: rustls's records over the socket (boxed: its state is large).
    Tls(Box<TlsStream<TcpStream>>),
}

impl From<TcpStream> for H1Io {
    fn from(s: TcpStream) -> H1Io {
        H1Io::Plain(s)
    }
}

impl H1Io {
    /// Reads what is already there without waiting; `WouldBlock` when nothing is.
    pub(crate) fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            H1Io::Plain(s) => s.try_read(buf),
            H1Io::Tls(s) => {
                let mut cx = Context::from_waker(Waker::noop());
                let mut rb = ReadBuf::new(buf);
                match Pin::new(&mut **s).poll_read(&mut cx, &mut rb) {
                    Poll::Ready(Ok(())) => Ok(rb.filled().len()),
                    Poll::Ready(Err(e)) => Err(e),
                    Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
                }
            }
        }
    }

    /// Reads at least one byte (0 at end of stream), waiting if needed; `waited` is set when
    /// nothing was there at first.
    pub(crate) async fn read(&mut self, buf: &mut [u8], waited: &mut bool) -> io::Result<usize> {
        match self {
            H1Io::Plain(s) => loop {
                match s.try_read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        *waited = true;
                        s.readable().await?;
                    }
                    r => return r,
                }
            },
            H1Io::Tls(s) => {
                std::future::poll_fn(|cx| {
                    let mut rb = ReadBuf::new(&mut *buf);
                    match Pin::new(&mut **s).poll_read(cx, &mut rb) {
                        Poll::Ready(r) => Poll::Ready(r.map(|()| rb.filled().len())),
                        Poll::Pending => {
                            *waited = true;
                            Poll::Pending
                        }
                    }
                })
                .await
            }
        }
    }

    /// Writes some of `wire` (at least one byte), waiting until the socket takes it.
    pub(crate) async fn write(&mut self, wire: &[u8]) -> io::Result<usize> {
        match self {
            H1Io::Plain(s) => loop {
                match s.try_write(wire) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => s.writable().await?,
                    r => return r,
                }
            },
            H1Io::Tls(s) => s.write(wire).await,
        }
    }

    /// Pushes out what TLS still holds (nothing to do in the clear).
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        match self {
            H1Io::Plain(_) => Ok(()),
            H1Io::Tls(s) => s.flush().await,
        }
    }
}
