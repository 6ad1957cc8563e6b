//! Text with variables (`${env.NAME}`, `${seq}`, `${random(1,100)}`, `${uuid}`, `${webhook.id}`), rendered per request.

use std::sync::Arc;

use rand::RngExt;
use rand::rngs::SmallRng;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text sent as written.
    Lit(String),
    /// `${env.NAME}` or `${env.NAME:-default}`: resolved once, when the scenario is prepared, so
    /// secrets stay out of files; the default stands in when the variable is unset or empty.
    Env(String, Option<String>),
    /// `${seq}`: a number unique to each request of the run, counting from 0.
    Seq,
    /// `${random(lo,hi)}`: a uniform random integer in `lo..=hi`.
    Random(i64, i64),
    /// `${uuid}`: a fresh random (v4) UUID.
    Uuid,
    /// `${data.COLUMN}` as written, before the scenario's data file is known.
    Data(String),
    /// A column of the scenario's data file: the request's row's value, JSON-escaped if `json`.
    Column(Arc<DataSet>, usize, bool),
    /// `${webhook.url}`: where the run's webhook receiver is called back (`[webhooks]`).
    WebhookUrl,
    /// `${webhook.id}`: an id unique to this request, which the callback is to carry back.
    WebhookId,
    /// `${vars.NAME}`: a value an earlier step of the journey extracted (JSON-escaped if set).
    Var(String, bool),
}

/// Rows of a CSV file that requests take values from (`${data.COLUMN}`), e.g. user ids and
/// tokens for a login mix: the row comes from the request's sequence number, so every variable
/// of one request reads the same row and no worker waits on another.
#[derive(Debug, PartialEq)]
pub struct DataSet {
    /// The file, for messages.
    pub file: String,
    /// Column names, from the header row.
    pub columns: Vec<String>,
    /// The rows (each as long as `columns`); never empty.
    pub rows: Vec<Vec<String>>,
    /// Rows in a shuffled order (each row still used once per pass) instead of file order.
    pub random: bool,
}

impl DataSet {
    /// The row request number `seq` reads: file order, or a fixed shuffle of it, cycling.
    pub fn row_for(&self, seq: u64) -> &[String] {
        let n = self.rows.len().max(1) as u64;
        let pass = seq / n;
        let i = seq % n;
        let i = if self.random {
            // A different permutation each pass: an affine map i → (a·i + b) mod n with a coprime
            // to n visits every row once; a and b come from the pass number.
            let mut a = splitmix(pass) % n;
            while gcd(a, n) != 1 {
                a = (a + 1) % n;
            }
            (a * i + splitmix(pass ^ 0x9e37) % n) % n
        } else {
            i
        };
        self.rows.get(i as usize).map_or(&[], Vec::as_slice)
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// A parsed template as written in the scenario, before environment variables are resolved.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    parts: Vec<Part>,
}

/// A template with `${env.*}` resolved, ready to render on the hot path.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resolved {
    parts: Vec<Part>,
}

/// Per-request inputs of the dynamic variables.
pub struct Vars<'a> {
    /// The run-wide sequence number of this request.
    pub seq: u64,
    /// The worker's random source.
    pub rng: &'a mut SmallRng,
    /// The run's webhook receiver, when it has one.
    pub webhook: Option<&'a dyn WebhookIds>,
    /// The webhook id this request carries, once rendered (every use in it is the same id).
    pub webhook_id: Option<String>,
    /// The journey iteration's extracted values.
    pub vars: Option<&'a std::collections::HashMap<String, String>>,
}

impl<'a> Vars<'a> {
    /// Inputs for request `seq`, without webhooks.
    pub fn new(seq: u64, rng: &'a mut SmallRng) -> Vars<'a> {
        Vars {
            seq,
            rng,
            webhook: None,
            webhook_id: None,
            vars: None,
        }
    }
}

/// Where `${webhook.url}` and `${webhook.id}` come from: the run's webhook ledger.
pub trait WebhookIds: Sync {
    /// The receiver's URL.
    fn url(&self) -> &str;
    /// Writes a fresh id for request `seq`, sent now.
    fn issue(&self, seq: u64, out: &mut String);
}

impl Template {
    /// Parses `text`; the error says which variable is malformed and what is allowed.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(pos) = rest.find('$') {
            lit.push_str(&rest[..pos]);
            rest = &rest[pos..];
            if rest.starts_with("$${") {
                lit.push_str("${");
                rest = &rest[3..];
                continue;
            }
            if !rest.starts_with("${") {
                lit.push('$');
                rest = &rest[1..];
                continue;
            }
            let end = rest.find('}').ok_or_else(|| {
                format!("unclosed variable \"{}\": expected a closing `}}`", rest)
            })?;
            let inner = rest[2..end].trim();
            rest = &rest[end + 1..];
            let part = parse_var(inner)?;
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(part);
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts })
    }

    /// Parses serialized JSON; a string that is exactly `"${seq}"` or `"${random(..)}"` becomes a JSON number.
    pub fn parse_json(json_text: &str) -> Result<Template, String> {
        let mut t = Template::parse(json_text)?;
        let numeric: Vec<usize> = (1..t.parts.len().saturating_sub(1))
            .filter(|&i| {
                matches!(t.parts[i], Part::Seq | Part::Random(..))
                    && matches!(&t.parts[i - 1], Part::Lit(s) if ends_with_open_quote(s))
                    && matches!(&t.parts[i + 1], Part::Lit(s) if s.starts_with('"'))
            })
            .collect();
        for i in numeric {
            if let Part::Lit(s) = &mut t.parts[i - 1] {
                s.pop();
            }
            if let Part::Lit(s) = &mut t.parts[i + 1] {
                s.remove(0);
            }
        }
        t.parts
            .retain(|p| !matches!(p, Part::Lit(s) if s.is_empty()));
        Ok(t)
    }

    /// The environment variables this template reads.
    pub fn env_names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Env(n, _) => Some(n.as_str()),
            _ => None,
        })
    }

    /// The environment variables this template reads that are set but empty, with no default:
    /// an empty secret is almost always a CI variable that was not passed through.
    pub fn empty_env<'a>(&'a self, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<&'a str> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Env(n, None) if lookup(n).is_some_and(|v| v.is_empty()) => Some(n.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Replaces `${env.NAME}` by its value (JSON-escaped when `json`); the error names the missing variable.
    pub fn resolve(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
        json: bool,
    ) -> Result<Resolved, String> {
        self.resolve_with(lookup, None, json)
    }

    /// [`Template::resolve`], with `${data.COLUMN}` bound to a column of `data`.
    pub fn resolve_with(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
        data: Option<&Arc<DataSet>>,
        json: bool,
    ) -> Result<Resolved, String> {
        let mut parts: Vec<Part> = Vec::with_capacity(self.parts.len());
        for p in &self.parts {
            let part = match p {
                Part::Data(name) => {
                    let d = data.ok_or_else(|| {
                        format!("${{data.{name}}} reads a data file: add [data] file = \"….csv\"")
                    })?;
                    let col = d.columns.iter().position(|c| c == name).ok_or_else(|| {
                        format!(
                            "${{data.{name}}}: {} has no column \"{name}\" (its columns: {})",
                            d.file,
                            d.columns.join(", ")
                        )
                    })?;
                    Part::Column(Arc::clone(d), col, json)
                }
                Part::Env(name, default) => {
                    let value = match (lookup(name), default) {
                        (Some(v), Some(d)) if v.is_empty() => d.clone(),
                        (Some(v), _) => v,
                        (None, Some(d)) => d.clone(),
                        (None, None) => {
                            return Err(format!(
                                "environment variable `{name}` is not set (used as \
                                 ${{env.{name}}}; ${{env.{name}:-default}} gives a default)"
                            ));
                        }
                    };
                    let value = if json {
                        let quoted = serde_json::Value::String(value).to_string();
                        quoted[1..quoted.len() - 1].to_string()
                    } else {
                        value
                    };
                    Part::Lit(value)
                }
                Part::Var(name, _) => Part::Var(name.clone(), json),
                other => other.clone(),
            };
            match (parts.last_mut(), part) {
                (Some(Part::Lit(prev)), Part::Lit(s)) => prev.push_str(&s),
                (_, part) => parts.push(part),
            }
        }
        Ok(Resolved { parts })
    }
}

fn ends_with_open_quote(s: &str) -> bool {
    let Some(body) = s.strip_suffix('"') else {
        return false;
    };
    let backslashes = body.len() - body.trim_end_matches('\\').len();
    backslashes % 2 == 0
}

fn parse_var(inner: &str) -> Result<Part, String> {
    const HELP: &str = "expected ${env.NAME}, ${data.COLUMN}, ${seq}, ${random(LOW,HIGH)}, ${uuid}, ${webhook.url} or ${webhook.id}";
    if let Some(name) = inner.strip_prefix("data.") {
        return if name.is_empty() {
            Err("${data.}: name a column of the data file, as in ${data.user_id}".into())
        } else {
            Ok(Part::Data(name.to_string()))
        };
    }
    if let Some(spec) = inner.strip_prefix("env.") {
        let (name, default) = match spec.split_once(":-") {
            Some((n, d)) => (n, Some(d.to_string())),
            None => (spec, None),
        };
        let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        return if ok {
            Ok(Part::Env(name.to_string(), default))
        } else {
            Err(format!(
                "\"{name}\" is not an environment variable name (letters, digits and _)"
            ))
        };
    }
    match inner {
        "seq" => return Ok(Part::Seq),
        "uuid" => return Ok(Part::Uuid),
        "webhook.url" => return Ok(Part::WebhookUrl),
        "webhook.id" => return Ok(Part::WebhookId),
        _ if inner.starts_with("vars.") => {
            let name = &inner[5..];
            return if !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                Ok(Part::Var(name.to_string(), false))
            } else {
                Err(format!(
                    "${{{inner}}}: name a value a journey step extracted, as in ${{vars.token}}"
                ))
            };
        }
        _ => {}
    }
    if let Some(args) = inner
        .strip_prefix("random(")
        .and_then(|a| a.strip_suffix(')'))
    {
        let mut it = args.split(',').map(|a| a.trim().parse::<i64>());
        return match (it.next(), it.next(), it.next()) {
            (Some(Ok(lo)), Some(Ok(hi)), None) if lo <= hi => Ok(Part::Random(lo, hi)),
            (Some(Ok(lo)), Some(Ok(hi)), None) => Err(format!(
                "${{random({lo},{hi})}}: the low bound must not exceed the high bound"
            )),
            _ => Err(format!(
                "${{{inner}}}: expected two integers, as in ${{random(1,100)}}"
            )),
        };
    }
    Err(format!("unknown variable ${{{inner}}}: {HELP}"))
}

impl Resolved {
    /// Its pieces, for writing the same request in another tool's syntax.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// A template that renders to fixed text.
    pub fn fixed(text: &str) -> Resolved {
        Resolved {
            parts: vec![Part::Lit(text.to_string())],
        }
    }

    /// The text when nothing varies per request, so it can be built once.
    pub fn as_static(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Lit(s)] => Some(s),
            _ => None,
        }
    }

    /// Appends this request's text to `out`.
    pub fn render(&self, vars: &mut Vars<'_>, out: &mut String) {
        use std::fmt::Write;
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Seq => {
                    let _ = write!(out, "{}", vars.seq);
                }
                Part::Random(lo, hi) => {
                    let v = vars.rng.random_range(*lo..=*hi);
                    let _ = write!(out, "{v}");
                }
                Part::Uuid => {
                    let bytes: [u8; 16] = vars.rng.random();
                    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
                    let _ = write!(out, "{}", id.hyphenated());
                }
                Part::Column(data, col, json) => {
                    let value = data.row_for(vars.seq).get(*col).map_or("", String::as_str);
                    if *json {
                        let quoted = serde_json::Value::from(value).to_string();
                        out.push_str(&quoted[1..quoted.len() - 1]);
                    } else {
                        out.push_str(value);
                    }
                }
                Part::WebhookUrl => {
                    if let Some(w) = vars.webhook {
                        out.push_str(w.url());
                    }
                }
                Part::WebhookId => {
                    if vars.webhook_id.is_none()
                        && let Some(w) = vars.webhook
                    {
                        let mut id = String::new();
                        w.issue(vars.seq, &mut id);
                        vars.webhook_id = Some(id);
                    }
                    out.push_str(vars.webhook_id.as_deref().unwrap_or_default());
                }
                Part::Var(name, json) => {
                    let value = vars
                        .vars
                        .and_then(|m| m.get(name))
                        .map_or("", String::as_str);
                    if *json {
                        let quoted = serde_json::Value::from(value).to_string();
                        out.push_str(&quoted[1..quoted.len() - 1]);
                    } else {
                        out.push_str(value);
                    }
                }
                Part::Env(..) | Part::Data(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn render(r: &Resolved, seq: u64) -> String {
        let mut rng = SmallRng::seed_from_u64(7);
        let mut out = String::new();
        r.render(&mut Vars::new(seq, &mut rng), &mut out);
        out
    }

    #[test]
    fn variables_render() {
        let t = Template::parse("/items/${seq}?r=${random(5,5)}&t=${env.TOKEN}&x=$${seq}").unwrap();
        let r = t
            .resolve(&|n| (n == "TOKEN").then(|| "abc".to_string()), false)
            .unwrap();
        assert_eq!(render(&r, 42), "/items/42?r=5&t=abc&x=${seq}");
        let u = Template::parse("${uuid}")
            .unwrap()
            .resolve(&|_| None, false)
            .unwrap();
        let id = render(&u, 0);
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
    }

    #[test]
    fn json_numbers_are_unquoted_and_env_escaped() {
        let t =
            Template::parse_json(r#"{"id":"${seq}","name":"n-${seq}","s":"${env.S}"}"#).unwrap();
        let r = t.resolve(&|_| Some("a\"b".into()), true).unwrap();
        let text = render(&r, 3);
        assert_eq!(text, r#"{"id":3,"name":"n-3","s":"a\"b"}"#);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["id"], 3);
    }

    fn data(random: bool) -> Arc<DataSet> {
        Arc::new(DataSet {
            file: "users.csv".into(),
            columns: vec!["user".into(), "name".into()],
            rows: (0..5)
                .map(|i| vec![format!("u{i}"), format!("N \"{i}\"")])
                .collect(),
            random,
        })
    }

    #[test]
    fn data_columns_read_one_row_per_request() {
        let t = Template::parse("/u/${data.user}?n=${data.name}").unwrap();
        let r = t
            .resolve_with(&|_| None, Some(&data(false)), false)
            .unwrap();
        assert_eq!(render(&r, 0), "/u/u0?n=N \"0\"");
        assert_eq!(render(&r, 7), "/u/u2?n=N \"2\"", "rows cycle in file order");
        // In JSON the value is escaped; the row is the same for both columns.
        let j = Template::parse_json(r#"{"u":"${data.user}","n":"${data.name}"}"#).unwrap();
        let j = j.resolve_with(&|_| None, Some(&data(false)), true).unwrap();
        let v: serde_json::Value = serde_json::from_str(&render(&j, 3)).unwrap();
        assert_eq!(
            (v["u"].as_str(), v["n"].as_str()),
            (Some("u3"), Some("N \"3\""))
        );
        // Shuffled: each pass over 5 requests still reads every row exactly once.
        let shuffled = data(true);
        for pass in 0..4u64 {
            let mut seen: Vec<&str> = (0..5)
                .map(|i| shuffled.row_for(pass * 5 + i)[0].as_str())
                .collect();
            seen.sort_unstable();
            assert_eq!(seen, ["u0", "u1", "u2", "u3", "u4"], "pass {pass}");
        }
        let order = |pass: u64| -> Vec<String> {
            (0..5)
                .map(|i| shuffled.row_for(pass * 5 + i)[0].clone())
                .collect()
        };
        assert!((0..4).any(|p| order(p) != order(0)) || order(0) != ["u0", "u1", "u2", "u3", "u4"]);
        // Misuse is explained.
        let no_file = t.resolve_with(&|_| None, None, false).unwrap_err();
        assert!(no_file.contains("[data]"), "{no_file}");
        let bad = Template::parse("${data.email}")
            .unwrap()
            .resolve_with(&|_| None, Some(&data(false)), false)
            .unwrap_err();
        assert!(
            bad.contains("no column \"email\"") && bad.contains("user, name"),
            "{bad}"
        );
    }

    #[test]
    fn bad_variables_are_explained() {
        assert!(
            Template::parse("${nope}")
                .unwrap_err()
                .contains("unknown variable")
        );
        assert!(Template::parse("${seq").unwrap_err().contains("closing"));
        assert!(
            Template::parse("${random(9,1)}")
                .unwrap_err()
                .contains("low bound")
        );
        let missing = Template::parse("${env.NOPE_X}")
            .unwrap()
            .resolve(&|_| None, false);
        assert!(missing.unwrap_err().contains("NOPE_X"));
    }
}
