//! How one attempt at a request failed: its error kind, and whether it may be made again.

use crate::metrics::ErrorKind;

/// Why one attempt on a connection failed, which decides whether it may be made again.
pub(crate) enum Fail {
    /// The connection was found closed before the request went out: reconnect, nothing was sent.
    Closed(ErrorKind),
    /// Not one byte of the request went out (the write failed, or hyper cancelled it unsent):
    /// safe to send on a new connection, counted as a retry.
    Unsent(ErrorKind),
    /// The whole request went out and the connection closed without a byte of answer: the server
    /// may have acted on it, so only an idempotent request may be sent again, when allowed.
    Unanswered(ErrorKind),
    /// The request failed.
    Kind(ErrorKind),
}

impl Fail {
    /// The error the request ends with if it is not sent again.
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            Fail::Closed(k) | Fail::Unsent(k) | Fail::Unanswered(k) | Fail::Kind(k) => *k,
        }
    }
}

/// Classifies an I/O error; `default` for kinds without a class of their own.
pub(crate) fn classify_io(e: &std::io::Error, default: ErrorKind) -> ErrorKind {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => ErrorKind::Reset,
        K::TimedOut => ErrorKind::Timeout,
        K::ConnectionRefused => ErrorKind::ConnectRefused,
        K::UnexpectedEof if default != ErrorKind::Tls => ErrorKind::Reset,
        _ => default,
    }
}

/// Classifies a hyper error by walking its source chain.
pub(crate) fn classify(e: &hyper::Error) -> ErrorKind {
    if e.is_timeout() {
        return ErrorKind::Timeout;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return classify_io(io, ErrorKind::Other);
        }
        if s.downcast_ref::<rustls::Error>().is_some() {
            return ErrorKind::Tls;
        }
        source = s.source();
    }
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        ErrorKind::Reset
    } else {
        ErrorKind::Other
    }
}
