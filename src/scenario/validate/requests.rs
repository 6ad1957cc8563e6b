//! Validation of `[[requests]]` entries (and journey steps, which are requests too).

use super::*;

impl Validator<'_> {
    pub(super) fn requests(
        &mut self,
        raw: Option<&Spanned<Vec<Spanned<RawRequest>>>>,
        targets: &[Target],
        names: &mut std::collections::HashSet<String>,
        journeys: bool,
    ) -> Vec<Request> {
        let list = raw.map_or(&[][..], |r| r.get_ref().as_slice());
        if list.is_empty() && !journeys {
            self.err(
                raw.map_or(0..0, |r| r.span()),
                "at least one [[requests]] (or [[journeys]]) entry is needed",
            );
        }
        let mut out = Vec::new();
        for r in list {
            let r = r.get_ref();
            if let Some(e) = r.extract.first() {
                self.err(
                    e.span(),
                    "extract belongs to a journey's steps ([[journeys.steps]])",
                );
            }
            if let Some(t) = &r.think_time {
                self.err(t.span(), "think_time on a request belongs to a journey's steps; the closed model's pause is [load] think_time");
            }
            let req = self.request(r, None, targets, names);
            if let Some(v) = req
                .as_ref()
                .and_then(|q| journey::vars_used(q).into_iter().next())
            {
                self.err(
                    r.name.span(),
                    format!("${{vars.{v}}} is a journey step's extracted value; plain requests have none"),
                );
            }
            out.extend(req);
        }
        out
    }

    /// One request (or a journey's step: its name prefixed with the journey's, its target the
    /// journey's unless it names one).
    pub(super) fn request(
        &mut self,
        r: &RawRequest,
        journey: Option<(&str, Option<usize>)>,
        targets: &[Target],
        names: &mut std::collections::HashSet<String>,
    ) -> Option<Request> {
        {
            let name = match journey {
                Some((j, _)) => format!("{j}/{}", r.name.get_ref().trim()),
                None => r.name.get_ref().trim().to_string(),
            };
            if r.name.get_ref().trim().is_empty() {
                self.err(r.name.span(), "a request needs a non-empty name");
            } else if !names.insert(name.clone()) {
                self.err(
                    r.name.span(),
                    format!("request name \"{name}\" is used twice; names must be unique"),
                );
            }
            let target_ids = match &r.target {
                Some(t) => match targets.iter().position(|x| &x.name == t.get_ref()) {
                    Some(i) => vec![i],
                    None => {
                        let known: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
                        self.err(
                            t.span(),
                            format!(
                                "unknown target \"{}\": expected one of {}",
                                t.get_ref(),
                                known.join(", ")
                            ),
                        );
                        vec![]
                    }
                },
                None => match journey {
                    Some((_, Some(t))) => vec![t],
                    _ => (0..targets.len()).collect(),
                },
            };
            let method = match &r.method {
                None => http::Method::GET,
                Some(m) => {
                    match http::Method::from_bytes(m.get_ref().to_ascii_uppercase().as_bytes()) {
                        Ok(m) => m,
                        Err(_) => {
                            self.err(
                                m.span(),
                                format!("\"{}\" is not an HTTP method", m.get_ref()),
                            );
                            http::Method::GET
                        }
                    }
                }
            };
            if !r.path.get_ref().starts_with('/') {
                self.err(
                    r.path.span(),
                    format!("path \"{}\" must start with /", r.path.get_ref()),
                );
            }
            let path = self.template(r.path.get_ref(), r.path.span(), false);
            let query = r
                .query
                .iter()
                .map(|(k, v)| (k.clone(), self.template(&v.get_ref().0, v.span(), false)))
                .collect();
            let mut headers = Vec::new();
            for (k, v) in &r.headers {
                match http::HeaderName::from_bytes(k.get_ref().as_bytes()) {
                    Ok(h) => headers.push((h, self.template(v.get_ref(), v.span(), false))),
                    Err(_) => self.err(
                        k.span(),
                        format!("\"{}\" is not a valid header name", k.get_ref()),
                    ),
                }
            }
            let body = match (&r.body, &r.json) {
                (Some(_), Some(j)) => {
                    self.err(j.span(), "use either `body` or `json`, not both");
                    None
                }
                (Some(b), None) => Some(self.template(b.get_ref(), b.span(), false)),
                (None, Some(j)) => {
                    let json = toml_to_json(j.get_ref());
                    if !headers.iter().any(|(h, _)| h == http::header::CONTENT_TYPE) {
                        headers.push((
                            http::header::CONTENT_TYPE,
                            Resolved::fixed("application/json"),
                        ));
                    }
                    Some(self.template_json(&json.to_string(), j.span()))
                }
                (None, None) => None,
            };
            let weight = match &r.weight {
                None => 1,
                Some(w) if (1..=1_000_000).contains(w.get_ref()) => *w.get_ref() as u32,
                Some(w) => {
                    self.err(w.span(), "weight must be a whole number from 1 to 1000000");
                    1
                }
            };
            let stream = r.stream.as_ref().and_then(|m| match m.get_ref().as_str() {
                "sse" => Some(super::Stream::Sse),
                "chunked" => Some(super::Stream::Chunked),
                _ => {
                    self.err(m.span(), "stream must be \"sse\" or \"chunked\"");
                    None
                }
            });
            if stream == Some(super::Stream::Sse)
                && !headers.iter().any(|(h, _)| h == http::header::ACCEPT)
            {
                headers.push((http::header::ACCEPT, Resolved::fixed("text/event-stream")));
            }
            let split = r.split_by.as_ref().and_then(|sp| self.split(sp));
            let checks = r.checks.iter().filter_map(|c| self.check(c)).collect();
            let thresholds = self.thresholds(&r.thresholds);
            Some(Request {
                name,
                targets: target_ids,
                method,
                path,
                query,
                headers,
                body,
                weight,
                checks,
                thresholds,
                stream,
                split,
                step: None,
            })
        }
    }
}
