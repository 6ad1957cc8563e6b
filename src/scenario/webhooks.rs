//! `[webhooks]`: the run's callback receiver (where it listens, how long it waits after the load), checked.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::raw::Dur;
use super::template::Part;
use super::{Request, Resolved};

/// How long deliveries are waited for after the load, unless `grace` says otherwise.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// The run's webhook receiver: requests carry `${webhook.url}` and `${webhook.id}`, the system
/// under test calls back with the id, and delivery is measured.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSpec {
    /// Where the receiver listens (`127.0.0.1:0`: a free loopback port).
    pub listen: SocketAddr,
    /// After the load ends, how long callbacks still count before the missing ones are lost.
    pub grace: Duration,
}

impl Default for WebhookSpec {
    fn default() -> Self {
        WebhookSpec {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            grace: DEFAULT_GRACE,
        }
    }
}

/// `[webhooks]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhooks {
    listen: Option<Spanned<String>>,
    grace: Option<Spanned<Dur>>,
}

impl Request {
    /// Whether the request carries `${webhook.url}` or `${webhook.id}` anywhere.
    pub fn uses_webhook(&self) -> bool {
        let uses = |r: &Resolved| {
            r.parts()
                .iter()
                .any(|p| matches!(p, Part::WebhookUrl | Part::WebhookId))
        };
        uses(&self.path)
            || self.query.iter().any(|(_, v)| uses(v))
            || self.headers.iter().any(|(_, v)| uses(v))
            || self.body.as_ref().is_some_and(uses)
    }
}

/// The receiver a scenario asks for: `[webhooks]` checked, or the defaults when a request uses
/// `${webhook.*}` without it; errors as (span, message).
pub(super) fn spec(
    raw: Option<&RawWebhooks>,
    requests: &[Request],
) -> Result<Option<WebhookSpec>, (std::ops::Range<usize>, String)> {
    let used = requests.iter().any(Request::uses_webhook);
    let Some(raw) = raw else {
        return Ok(used.then(WebhookSpec::default));
    };
    let mut spec = WebhookSpec::default();
    if let Some(l) = &raw.listen {
        spec.listen = l.get_ref().trim().parse().map_err(|_| {
            (
                l.span(),
                format!(
                    "listen = \"{}\": expected an address and port such as \"127.0.0.1:0\" \
                     (0: any free port)",
                    l.get_ref()
                ),
            )
        })?;
    }
    if let Some(g) = &raw.grace {
        spec.grace = g.get_ref().0;
        if spec.grace > Duration::from_secs(3600) {
            return Err((g.span(), "grace must be at most 1h".into()));
        }
    }
    Ok(Some(spec))
}
