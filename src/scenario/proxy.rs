//! A target's forward proxy (`proxy = "http://host:port"` or the embedded `"demo"`), as written and checked.

use std::time::Duration;

use super::{BaseUrl, Secret};

/// Where a target's connections go first.
#[derive(Debug, Clone, PartialEq)]
pub enum Proxy {
    /// A forward proxy at `http://[user:pass@]host:port`: CONNECT for https and HTTP/2 targets,
    /// absolute-form requests for cleartext HTTP/1.1.
    Url(ProxyUrl),
    /// The embedded demo proxy, started for the run, adding `delay` to each request it forwards.
    Demo {
        /// Added before each forwarded request (or each burst written into a tunnel).
        delay: Duration,
    },
}

/// A forward proxy's address.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyUrl {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port (default 80).
    pub port: u16,
    /// `user:password` from the URL, sent as `Proxy-Authorization: Basic`.
    pub userinfo: Option<Secret>,
}

impl ProxyUrl {
    /// `http://host:port` as a run names it (credentials left out).
    pub fn url(&self) -> String {
        if self.host.contains(':') {
            format!("http://[{}]:{}", self.host, self.port)
        } else {
            format!("http://{}:{}", self.host, self.port)
        }
    }
}

/// A target's `proxy` and `proxy_delay` as written, checked; errors as (span, message).
pub(super) fn of(
    proxy: Option<&toml::Spanned<String>>,
    delay: Option<&toml::Spanned<super::raw::Dur>>,
) -> Result<Option<Proxy>, (std::ops::Range<usize>, String)> {
    match (proxy, delay) {
        (Some(p), d) => parse(p.get_ref(), d.map(|d| d.get_ref().0))
            .map(Some)
            .map_err(|e| (p.span(), e)),
        (None, Some(d)) => Err((d.span(), "proxy_delay needs proxy = \"demo\"".into())),
        (None, None) => Ok(None),
    }
}

/// Checks a `proxy` value and its `proxy_delay`; the error says what is wrong.
pub(super) fn parse(text: &str, delay: Option<Duration>) -> Result<Proxy, String> {
    let text = text.trim();
    if text == "demo" {
        return Ok(Proxy::Demo {
            delay: delay.unwrap_or_default(),
        });
    }
    if delay.is_some() {
        return Err(
            "proxy_delay is the embedded demo proxy's knob: use it with proxy = \"demo\"".into(),
        );
    }
    let b = BaseUrl::parse(text).map_err(|e| format!("proxy: {e}"))?;
    if b.https {
        return Err(format!(
            "proxy \"{}\": only plain http:// forward proxies are supported (an https:// \
             target still goes through one with CONNECT)",
            super::credentials::redact_userinfo(text)
        ));
    }
    if !b.base_path.is_empty() {
        return Err(format!(
            "proxy \"{}\": a proxy URL is just http://host:port, without a path",
            super::credentials::redact_userinfo(text)
        ));
    }
    Ok(Proxy::Url(ProxyUrl {
        host: b.host,
        port: b.port,
        userinfo: b.userinfo,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_as_written() {
        assert_eq!(
            parse("demo", Some(Duration::from_millis(3))),
            Ok(Proxy::Demo {
                delay: Duration::from_millis(3)
            })
        );
        let Ok(Proxy::Url(u)) = parse("http://u:p@127.0.0.1:3128", None) else {
            panic!("a proxy URL");
        };
        assert_eq!(u.url(), "http://127.0.0.1:3128");
        assert!(u.userinfo.is_some());
        for (bad, says) in [
            ("https://127.0.0.1:3128", "only plain http://"),
            ("http://127.0.0.1:3128/x", "without a path"),
            ("127.0.0.1:3128", "proxy:"),
        ] {
            let e = parse(bad, None).err().unwrap_or_default();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let e = parse("http://127.0.0.1:3128", Some(Duration::from_millis(1)));
        assert!(e.is_err_and(|e| e.contains("proxy_delay")));
    }
}
