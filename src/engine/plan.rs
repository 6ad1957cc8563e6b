//! A scenario turned into what the hot path needs: resolved endpoints and requests built once.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Uri};
use http_body_util::Full;
use rand::RngExt;
use rand::rngs::SmallRng;

use super::StartError;
use super::client::Endpoint;
use crate::metrics::{ErrorKind, Key};
use crate::scenario::template::{Vars, WebhookIds};
use crate::scenario::{Check, ProxyUrl, Resolved, Scenario, TargetKind};

/// Everything the workers share, read-only.
pub(crate) struct Plan {
    pub scenario: Scenario,
    pub keys: Vec<Key>,
    pub endpoints: Vec<Endpoint>,
    pub prepared: Vec<Prepared>,
    cumulative: Vec<u64>,
    /// The run's webhook ids and deliveries, when requests carry `${webhook.*}`.
    pub webhooks: Option<std::sync::Arc<crate::metrics::Ledger>>,
    /// Each journey's steps, as indices into `prepared`.
    pub journeys: Vec<Vec<usize>>,
}

/// What the mix picked: a request, or a journey to run step by step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Pick {
    Request(usize),
    Journey(usize),
}

impl Plan {
    /// Builds the plan; `demo_urls[i]` and `demo_cas[i]` stand in for demo targets, `proxies[i]`
    /// is target `i`'s forward proxy (the demo proxy's address filled in).
    pub fn new(
        scenario: Scenario,
        demo_urls: &[Option<String>],
        demo_cas: &[Option<String>],
        proxies: &[Option<ProxyUrl>],
        webhooks: Option<std::sync::Arc<crate::metrics::Ledger>>,
    ) -> Result<Plan, StartError> {
        let mut endpoints = Vec::new();
        for (i, t) in scenario.targets.iter().enumerate() {
            let base = match (&t.kind, demo_urls.get(i).and_then(Option::as_ref)) {
                (TargetKind::Url(b), _) => b.clone(),
                (TargetKind::Demo(_), Some(url)) => {
                    crate::scenario::BaseUrl::parse(url).map_err(|reason| StartError::Url {
                        target: t.name.clone(),
                        reason,
                    })?
                }
                (TargetKind::Demo(_), None) => {
                    return Err(StartError::DemoMissing {
                        target: t.name.clone(),
                    });
                }
            };
            let ca = demo_cas.get(i).and_then(Option::as_deref);
            endpoints.push(Endpoint::new(
                t,
                &base,
                ca,
                proxies.get(i).and_then(Option::as_ref),
            )?);
        }
        let keys = Key::all(&scenario);
        let mut prepared = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0u64;
        // A request's weight is its share of the mix whatever its targets: split between them, so
        // adding a target to one request does not shift the mix toward it. In whole numbers:
        // every weight times the product of the distinct target counts, divided by its own.
        let per_target: u64 = {
            let mut counts: Vec<u64> = scenario
                .requests
                .iter()
                .map(|r| r.targets.len().max(1) as u64)
                .collect();
            counts.sort_unstable();
            counts.dedup();
            counts.iter().product()
        };
        for (ri, r) in scenario.requests.iter().enumerate() {
            for &ti in &r.targets {
                let mut p = Prepared::new(prepared.len(), ri, ti, &scenario, &endpoints[ti])?;
                if let Some(split) = &r.split {
                    // The series each value of the split records into, then the one for the rest.
                    let series = (0..=split.values.len())
                        .map(|v| {
                            let target = Key::target_label(&scenario, r, ti, v);
                            keys.iter()
                                .position(|k| k.request == r.name && k.target == target)
                                .unwrap_or(prepared.len())
                        })
                        .collect();
                    p.split = Some((split.clone(), series));
                }
                prepared.push(p);
                // A journey's steps are picked by their journey, never by the mix.
                if r.step.is_none() {
                    total += u64::from(r.weight) * per_target / r.targets.len().max(1) as u64;
                }
                cumulative.push(total);
            }
        }
        let mut journeys = Vec::new();
        for j in &scenario.journeys {
            let steps: Vec<usize> = j
                .steps
                .iter()
                .filter_map(|ri| prepared.iter().position(|p| p.request == *ri))
                .collect();
            if !steps.is_empty() {
                total += u64::from(j.weight) * per_target;
            }
            cumulative.push(total);
            journeys.push(steps);
        }
        if total == 0 {
            return Err(StartError::NothingToSend);
        }
        Ok(Plan {
            scenario,
            keys,
            endpoints,
            prepared,
            cumulative,
            webhooks,
            journeys,
        })
    }

    /// Picks the next request (or journey) of the mix by weight.
    pub fn pick(&self, rng: &mut SmallRng) -> Pick {
        let i = if self.cumulative.len() == 1 {
            0
        } else {
            let total = self.cumulative.last().copied().unwrap_or(1);
            let r = rng.random_range(0..total);
            self.cumulative.partition_point(|&c| c <= r)
        };
        match i.checked_sub(self.prepared.len()) {
            Some(j) => Pick::Journey(j),
            None => Pick::Request(i),
        }
    }
}

/// One (request, target) pair with everything static built once.
pub(crate) struct Prepared {
    pub target: usize,
    /// Its request's index in the scenario.
    pub request: usize,
    /// A journey step's rules (its answer's values for the next steps); rendered per request
    /// even when fixed, since the iteration's cookies go with it.
    pub step: Option<crate::scenario::journey::StepOf>,
    method: http::Method,
    uri_h1: Option<Uri>,
    uri_h2: Option<Uri>,
    headers_h1: HeaderMap,
    headers_h2: HeaderMap,
    body: Option<Bytes>,
    path: Resolved,
    query: Vec<(String, Resolved)>,
    dyn_headers: Vec<(http::HeaderName, Resolved)>,
    dyn_body: Option<Resolved>,
    checks: Vec<Check>,
    pub needs_body: bool,
    /// Its answer streams: events to time.
    pub stream: Option<crate::scenario::Stream>,
    /// Its results split by a response header: the split, and the series of each of its values
    /// (the last for anything else).
    pub split: Option<(crate::scenario::Split, Vec<usize>)>,
    status_checked: bool,
    /// A fixed request's HTTP/1.1 bytes, serialised once.
    wire_h1: Option<Vec<u8>>,
}

/// One journey iteration's state: the values its steps extracted and the cookies its answers set.
#[derive(Debug, Default)]
pub(crate) struct Iteration {
    pub vars: std::collections::HashMap<String, String>,
    cookies: Vec<(String, String)>,
}

impl Iteration {
    /// The `Cookie` header of the cookies set so far.
    fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// Takes what a step's answer holds: its cookies, and its rules' values (false when one
    /// found nothing, which ends the iteration).
    pub fn take(
        &mut self,
        step: &crate::scenario::journey::StepOf,
        head: &[u8],
        body: &[u8],
    ) -> bool {
        for (n, v) in crate::scenario::journey::set_cookies(head) {
            let full = self.cookies.len() >= 64;
            match self.cookies.iter_mut().find(|(k, _)| k == n) {
                Some(c) => c.1 = v.to_string(),
                None if !full => self.cookies.push((n.to_string(), v.to_string())),
                None => {}
            }
        }
        for e in &step.extract {
            match e.find(head, body) {
                Some(v) => {
                    self.vars.insert(e.var.clone(), v);
                }
                None => return false,
            }
        }
        true
    }
}

/// The per-request parts of a request with variables.
// It lives on the stack for one request; boxing the large variant would add an allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Rendered {
    Static(usize),
    Dynamic {
        uri_h1: Uri,
        uri_h2: Uri,
        headers: Vec<(http::HeaderName, HeaderValue)>,
        body: Bytes,
        /// It carries a webhook id: a success means a callback is due.
        webhook: bool,
    },
}

impl Rendered {
    /// Whether it carries a webhook id.
    pub fn has_webhook(&self) -> bool {
        matches!(self, Rendered::Dynamic { webhook: true, .. })
    }

    pub fn body_len(&self) -> usize {
        match self {
            Rendered::Static(n) => *n,
            Rendered::Dynamic { body, .. } => body.len(),
        }
    }
}

impl Prepared {
    fn new(
        _key: usize,
        ri: usize,
        ti: usize,
        scenario: &Scenario,
        ep: &Endpoint,
    ) -> Result<Prepared, StartError> {
        let r = &scenario.requests[ri];
        let mut headers_h2 = HeaderMap::new();
        let mut dyn_headers = Vec::new();
        for (name, value) in &r.headers {
            match value.as_static() {
                Some(v) => {
                    let v = HeaderValue::from_str(v).map_err(|_| StartError::Header {
                        request: r.name.clone(),
                        header: name.to_string(),
                    })?;
                    headers_h2.append(name.clone(), v);
                }
                None => dyn_headers.push((name.clone(), value.clone())),
            }
        }
        // Credentials in the target's URL go as Basic auth, unless the request sets its own.
        let userinfo = match &scenario.targets[ti].kind {
            TargetKind::Url(b) => b.userinfo.as_ref(),
            TargetKind::Demo(_) => None,
        };
        let own_auth = headers_h2.contains_key(http::header::AUTHORIZATION)
            || dyn_headers
                .iter()
                .any(|(n, _)| *n == http::header::AUTHORIZATION);
        if let Some(info) = userinfo.filter(|_| !own_auth) {
            use base64::Engine;
            let token = base64::engine::general_purpose::STANDARD.encode(info.0.as_bytes());
            let mut v = HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| {
                StartError::Header {
                    request: r.name.clone(),
                    header: "authorization (from the target URL)".into(),
                }
            })?;
            v.set_sensitive(true);
            headers_h2.insert(http::header::AUTHORIZATION, v);
        }
        let mut headers_h1 = headers_h2.clone();
        if !headers_h1.contains_key(http::header::HOST) {
            headers_h1.insert(http::header::HOST, ep.host_header.clone());
        }
        if let Some(auth) = &ep.proxy_auth {
            headers_h1.insert(http::header::PROXY_AUTHORIZATION, auth.clone());
        }
        let is_static =
            r.path.as_static().is_some() && r.query.iter().all(|(_, v)| v.as_static().is_some());
        let mut p = Prepared {
            target: ti,
            request: ri,
            step: r.step.clone(),
            method: r.method.clone(),
            uri_h1: None,
            uri_h2: None,
            headers_h1,
            headers_h2,
            body: None,
            path: r.path.clone(),
            query: r.query.clone(),
            dyn_headers,
            dyn_body: None,
            checks: r.checks.clone(),
            needs_body: r.needs_body(),
            stream: r.stream,
            split: None,
            status_checked: r.has_status_check(),
            wire_h1: None,
        };
        if is_static {
            let mut rng = <SmallRng as rand::SeedableRng>::seed_from_u64(0);
            let (h1, h2) = p
                .uris(ep, &mut Vars::new(0, &mut rng))
                .map_err(|(path, source)| StartError::Path {
                    request: r.name.clone(),
                    path,
                    source,
                })?;
            p.uri_h1 = Some(h1);
            p.uri_h2 = Some(h2);
        }
        match r.body.as_ref().map(|b| (b, b.as_static())) {
            Some((_, Some(text))) => p.body = Some(Bytes::from(text.to_string())),
            Some((b, None)) => p.dyn_body = Some(b.clone()),
            None => p.body = Some(Bytes::new()),
        }
        if p.uri_h1.is_some() && p.dyn_headers.is_empty() && p.dyn_body.is_none() {
            let mut wire = Vec::new();
            p.serialize_h1(&Rendered::Static(0), &mut wire);
            p.wire_h1 = Some(wire);
        }
        Ok(p)
    }

    /// Whether sending this request twice has the effect of sending it once (RFC 9110 §9.2.2).
    pub fn is_idempotent(&self) -> bool {
        use http::Method;
        matches!(
            self.method,
            Method::GET
                | Method::HEAD
                | Method::PUT
                | Method::DELETE
                | Method::OPTIONS
                | Method::TRACE
        )
    }

    /// Whether the response to this request has no body whatever its headers say (HEAD).
    pub fn is_head(&self) -> bool {
        self.method == http::Method::HEAD
    }

    /// A fixed request's HTTP/1.1 bytes, serialised once at plan time.
    pub fn fixed_wire_h1(&self, r: &Rendered) -> Option<&[u8]> {
        match r {
            Rendered::Static(_) => self.wire_h1.as_deref(),
            Rendered::Dynamic { .. } => None,
        }
    }

    /// Writes the request line, headers (Host included), a content-length where a body is or may
    /// be expected, and the body: what hyper would send for the same request.
    pub fn serialize_h1(&self, r: &Rendered, out: &mut Vec<u8>) {
        let empty = Bytes::new();
        let (uri, body, extra): (Option<&Uri>, &Bytes, &[(http::HeaderName, HeaderValue)]) = match r
        {
            Rendered::Static(_) => (
                self.uri_h1.as_ref(),
                self.body.as_ref().unwrap_or(&empty),
                &[],
            ),
            Rendered::Dynamic {
                uri_h1,
                headers,
                body,
                ..
            } => (Some(uri_h1), body, headers),
        };
        out.clear();
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        match uri {
            // Absolute form, to a forward proxy.
            Some(u) if u.scheme().is_some() => {
                use std::io::Write as _;
                let _ = write!(out, "{u}");
            }
            _ => {
                let target = uri
                    .and_then(Uri::path_and_query)
                    .map_or("/", |pq| pq.as_str());
                out.extend_from_slice(if target.is_empty() { "/" } else { target }.as_bytes());
            }
        }
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let headers = self
            .headers_h1
            .iter()
            .chain(extra.iter().map(|(n, v)| (n, v)));
        let mut has_length = false;
        for (name, value) in headers {
            has_length |= name == http::header::CONTENT_LENGTH;
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let expects_body = matches!(
            self.method,
            http::Method::POST | http::Method::PUT | http::Method::PATCH
        );
        if !has_length && (!body.is_empty() || expects_body) {
            out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
    }

    /// The request's targets for HTTP/1.1 (origin form) and HTTP/2 (absolute form); an error
    /// gives the rendered path and why it is not a target.
    fn uris(
        &self,
        ep: &Endpoint,
        vars: &mut Vars<'_>,
    ) -> Result<(Uri, Uri), (String, http::uri::InvalidUri)> {
        let mut path = ep.base_path.clone();
        self.path.render(vars, &mut path);
        if !self.query.is_empty() {
            let mut q = form_urlencoded::Serializer::new(String::new());
            let mut value = String::new();
            for (k, v) in &self.query {
                value.clear();
                v.render(vars, &mut value);
                q.append_pair(k, &value);
            }
            path.push(if path.contains('?') { '&' } else { '?' });
            path.push_str(&q.finish());
        }
        let scheme = if ep.https { "https" } else { "http" };
        let h2: Uri = format!("{scheme}://{}{path}", ep.authority)
            .parse()
            .map_err(|e| (path.clone(), e))?;
        // To a forward proxy, HTTP/1.1 names the whole URL (absolute form).
        let h1: Uri = if ep.absolute {
            h2.clone()
        } else {
            path.parse().map_err(|e| (path.clone(), e))?
        };
        Ok((h1, h2))
    }

    /// Renders this request's variables (nothing to do for a fixed request).
    pub fn render(
        &self,
        seq: u64,
        rng: &mut SmallRng,
        ep: &Endpoint,
        webhook: Option<&dyn WebhookIds>,
        journey: Option<&Iteration>,
    ) -> Result<Rendered, ()> {
        if journey.is_none()
            && self.uri_h1.is_some()
            && self.dyn_headers.is_empty()
            && self.dyn_body.is_none()
        {
            return Ok(Rendered::Static(self.body.as_ref().map_or(0, Bytes::len)));
        }
        let mut vars = Vars::new(seq, rng);
        vars.webhook = webhook;
        vars.vars = journey.map(|j| &j.vars);
        let (uri_h1, uri_h2) = match (&self.uri_h1, &self.uri_h2) {
            (Some(a), Some(b)) => (a.clone(), b.clone()),
            _ => self.uris(ep, &mut vars).map_err(|_| ())?,
        };
        let mut headers = Vec::with_capacity(self.dyn_headers.len());
        let mut text = String::new();
        for (name, tpl) in &self.dyn_headers {
            text.clear();
            tpl.render(&mut vars, &mut text);
            headers.push((name.clone(), HeaderValue::from_str(&text).map_err(|_| ())?));
        }
        // The iteration's cookie jar, unless the step sets its own Cookie.
        if let Some(jar) = journey.and_then(Iteration::cookie_header)
            && !self.headers_h1.contains_key(http::header::COOKIE)
            && !headers.iter().any(|(n, _)| n == http::header::COOKIE)
        {
            headers.push((
                http::header::COOKIE,
                HeaderValue::from_str(&jar).map_err(|_| ())?,
            ));
        }
        let body = match (&self.body, &self.dyn_body) {
            (Some(b), _) => b.clone(),
            (None, Some(tpl)) => {
                let mut s = String::new();
                tpl.render(&mut vars, &mut s);
                Bytes::from(s)
            }
            (None, None) => Bytes::new(),
        };
        Ok(Rendered::Dynamic {
            uri_h1,
            uri_h2,
            headers,
            body,
            webhook: vars.webhook_id.is_some(),
        })
    }

    /// Builds the request for an HTTP/1.1 (origin-form URI, Host header) or HTTP/2 (absolute URI) connection.
    pub fn build(&self, r: &Rendered, h2: bool) -> Request<Full<Bytes>> {
        let (uri, body) = match r {
            Rendered::Static(_) => {
                let uri = if h2 { &self.uri_h2 } else { &self.uri_h1 };
                (
                    uri.clone().unwrap_or_default(),
                    self.body.clone().unwrap_or_default(),
                )
            }
            Rendered::Dynamic {
                uri_h1,
                uri_h2,
                body,
                ..
            } => (
                if h2 { uri_h2.clone() } else { uri_h1.clone() },
                body.clone(),
            ),
        };
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = uri;
        *req.headers_mut() = if h2 {
            self.headers_h2.clone()
        } else {
            self.headers_h1.clone()
        };
        if let Rendered::Dynamic { headers, .. } = r {
            for (n, v) in headers {
                req.headers_mut().append(n.clone(), v.clone());
            }
        }
        req
    }

    /// Decides whether a response counts as an error, and of which kind.
    pub fn judge(&self, status: u16, body: &[u8], latency_us: u64) -> Option<ErrorKind> {
        let by_status = || match status {
            400..=499 => ErrorKind::Http4xx,
            500..=599 => ErrorKind::Http5xx,
            _ => ErrorKind::CheckFailed,
        };
        if !self.status_checked && status >= 400 {
            return Some(by_status());
        }
        for check in &self.checks {
            let ok = match check {
                Check::Status(codes) => {
                    if !codes.contains(&status) {
                        return Some(by_status());
                    }
                    true
                }
                Check::BodyContains(s) => {
                    let needle = s.as_bytes();
                    needle.is_empty() || body.windows(needle.len()).any(|w| w == needle)
                }
                Check::Json { path, equals } => json_check(body, path, equals.as_ref()),
                Check::Latency { op, limit_us } => op.holds(latency_us as f64, *limit_us),
            };
            if !ok {
                return Some(ErrorKind::CheckFailed);
            }
        }
        None
    }
}

fn json_check(body: &[u8], path: &[String], equals: Option<&serde_json::Value>) -> bool {
    let Ok(root) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let mut v = &root;
    for seg in path {
        let next = match v {
            serde_json::Value::Object(m) => m.get(seg),
            serde_json::Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(n) => v = n,
            None => return false,
        }
    }
    match equals {
        None => true,
        Some(want) => match (v, want) {
            (serde_json::Value::Number(a), serde_json::Value::Number(b)) => {
                a.as_f64() == b.as_f64()
            }
            _ => v == want,
        },
    }
}
