//! Why a run could not start: each cause a user can fix, named with the target or request it concerns.

/// A run that could not start; nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The embedded demo service would not listen.
    #[error("target `{target}`: cannot start the demo service: {source}")]
    Demo {
        target: String,
        source: std::io::Error,
    },
    /// The webhook receiver would not listen.
    #[error("[webhooks] cannot listen on {listen}: {source}")]
    Webhooks {
        listen: String,
        source: std::io::Error,
    },
    /// A demo target without its service (a plan built outside `engine::start`).
    #[error("target `{target}`: the demo service is not running")]
    DemoMissing { target: String },
    /// A demo service's address that is not a URL.
    #[error("target `{target}`: {reason}")]
    Url { target: String, reason: String },
    /// The host name did not resolve.
    #[error("target `{target}`: cannot resolve {host}: {source}")]
    Resolve {
        target: String,
        host: String,
        source: std::io::Error,
    },
    /// The host name resolved to nothing.
    #[error("target `{target}`: {host} has no address")]
    NoAddress { target: String, host: String },
    /// The TLS set-up failed: a CA file, a server name, the protocol versions.
    #[error("target `{target}`: {reason}")]
    Tls { target: String, reason: String },
    /// A host that cannot be a `Host` header.
    #[error("target `{target}`: bad host \"{authority}\"")]
    Host { target: String, authority: String },
    /// A fixed header value HTTP does not allow.
    #[error("request `{request}`: header {header} has a value HTTP does not allow")]
    Header { request: String, header: String },
    /// A fixed path (with its query) that is not a request target.
    #[error("request `{request}`: path \"{path}\" is not a valid request target: {source}")]
    Path {
        request: String,
        path: String,
        source: http::uri::InvalidUri,
    },
    /// Every weight is zero.
    #[error("the scenario has no request to send")]
    NothingToSend,
    /// The operating system refused a thread.
    #[error("cannot start an engine thread: {0}")]
    Thread(std::io::Error),
}

/// The engine's threads ended without reporting how the run ended (one of them died).
#[derive(Debug, thiserror::Error)]
#[error("the engine ended without a result")]
pub struct Lost;
