//! Validation of `[[journeys]]`: their steps as requests, their extract rules, and variables
//! used only after a step extracted them.

use super::*;
use crate::scenario::journey::{Extract, From, Journey, StepOf, json_pointer, vars_used};

impl Validator<'_> {
    /// The journeys; their steps are appended to `requests` (names `JOURNEY/STEP`).
    pub(super) fn journeys(
        &mut self,
        raw: &[Spanned<RawJourney>],
        targets: &[Target],
        names: &mut std::collections::HashSet<String>,
        requests: &mut Vec<Request>,
    ) -> Vec<Journey> {
        let mut out: Vec<Journey> = Vec::new();
        for j in raw {
            let span = j.span();
            let j = j.get_ref();
            let name = j.name.get_ref().trim().to_string();
            if name.is_empty() || name.contains('/') {
                self.err(j.name.span(), "a journey needs a name, without /");
            } else if out.iter().any(|o| o.name == name) {
                self.err(
                    j.name.span(),
                    format!("journey name \"{name}\" is used twice"),
                );
            }
            let weight = match &j.weight {
                None => 1,
                Some(w) if (1..=1_000_000).contains(w.get_ref()) => *w.get_ref() as u32,
                Some(w) => {
                    self.err(w.span(), "weight must be a whole number from 1 to 1000000");
                    1
                }
            };
            let target = match &j.target {
                Some(t) => {
                    let at = targets.iter().position(|x| &x.name == t.get_ref());
                    if at.is_none() {
                        self.err(t.span(), format!("unknown target \"{}\"", t.get_ref()));
                    }
                    at
                }
                None if targets.len() == 1 => Some(0),
                None => {
                    self.err(
                        span.clone(),
                        "a journey needs target = \"…\" when the scenario has several targets",
                    );
                    None
                }
            };
            if j.steps.get_ref().is_empty() {
                self.err(j.steps.span(), "a journey needs at least one step");
            }
            let index = out.len();
            let mut known: Vec<String> = Vec::new();
            let mut steps = Vec::new();
            for st in j.steps.get_ref() {
                let sp = st.span();
                let st = st.get_ref();
                let Some(mut req) = self.request(st, Some((&name, target)), targets, names) else {
                    continue;
                };
                for v in vars_used(&req) {
                    if !known.contains(&v) {
                        self.err(
                            sp.clone(),
                            format!(
                                "${{vars.{v}}} is not extracted by an earlier step of journey {name}"
                            ),
                        );
                    }
                }
                let extract: Vec<Extract> =
                    st.extract.iter().filter_map(|e| self.extract(e)).collect();
                known.extend(extract.iter().map(|e| e.var.clone()));
                req.step = Some(StepOf {
                    journey: index,
                    extract,
                    think: st.think_time.as_ref().map(|t| t.get_ref().0),
                });
                steps.push(requests.len());
                requests.push(req);
            }
            let thresholds = self.thresholds(&j.thresholds);
            out.push(Journey {
                name,
                weight,
                steps,
                thresholds,
            });
        }
        out
    }

    /// One `extract` rule: a variable name and exactly one place to find it.
    fn extract(&mut self, e: &Spanned<RawExtract>) -> Option<Extract> {
        let span = e.span();
        let e = e.get_ref();
        let var = e.var.get_ref().trim().to_string();
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            self.err(
                e.var.span(),
                "var: use letters, digits and _ (read as ${vars.NAME})",
            );
            return None;
        }
        let from = match (&e.json, &e.header, &e.regex, &e.cookie) {
            (Some(j), None, None, None) => match json_pointer(j.get_ref()) {
                Ok(p) => From::Json(p),
                Err(m) => {
                    self.err(j.span(), m);
                    return None;
                }
            },
            (None, Some(h), None, None) => {
                match http::HeaderName::from_bytes(h.get_ref().as_bytes()) {
                    Ok(n) => From::Header(n),
                    Err(_) => {
                        self.err(h.span(), "header: not a valid header name");
                        return None;
                    }
                }
            }
            (None, None, Some(r), None) => match regex::Regex::new(r.get_ref()) {
                Ok(re) => From::Regex(re),
                Err(m) => {
                    self.err(r.span(), format!("regex: {m}"));
                    return None;
                }
            },
            (None, None, None, Some(c)) if !c.get_ref().is_empty() => {
                From::Cookie(c.get_ref().clone())
            }
            _ => {
                self.err(
                    span,
                    "extract needs exactly one of json, header, regex or cookie beside var",
                );
                return None;
            }
        };
        Some(Extract { var, from })
    }
}
