//! Journeys: ordered steps run as one iteration, and the rules that take values from a step's
//! answer (JSON, a header, a regex, a cookie) for the steps after it.

use std::time::Duration;

/// A named sequence of requests a user goes through (log in, create, read back).
#[derive(Debug, Clone)]
pub struct Journey {
    /// Its name; its steps' series are `NAME/STEP`.
    pub name: String,
    /// Its share of the mix beside the plain requests.
    pub weight: u32,
    /// Its steps, as indices into the scenario's requests, in order.
    pub steps: Vec<usize>,
    /// Rules on its whole iterations (scope `journey:NAME`).
    pub thresholds: Vec<crate::thresholds::Threshold>,
}

/// Where a step finds a value for the steps after it.
#[derive(Debug, Clone)]
pub enum From {
    /// A JSON pointer into the body (`/token`; `$.a.b[0]` is read as `/a/b/0`).
    Json(String),
    /// A response header.
    Header(http::HeaderName),
    /// The first capture group (else the whole match) of a regex on the body.
    Regex(regex::Regex),
    /// A cookie the response set.
    Cookie(String),
}

/// One `extract` rule: a value from the answer kept as `${vars.NAME}`.
#[derive(Debug, Clone)]
pub struct Extract {
    /// The variable's name.
    pub var: String,
    /// Where it comes from.
    pub from: From,
}

/// A step's settings beyond its request: what it extracts and the pause after it.
#[derive(Debug, Clone, Default)]
pub struct StepOf {
    /// The journey it belongs to (an index into the scenario's journeys).
    pub journey: usize,
    /// Values it takes from its answer.
    pub extract: Vec<Extract>,
    /// The pause before the next step.
    pub think: Option<Duration>,
}

/// The `${vars.NAME}` a request reads.
pub fn vars_used(r: &super::Request) -> Vec<String> {
    use super::template::Part;
    let mut out: Vec<String> = Vec::new();
    let mut scan = |t: &super::Resolved| {
        for p in t.parts() {
            if let Part::Var(name, _) = p
                && !out.contains(name)
            {
                out.push(name.clone());
            }
        }
    };
    scan(&r.path);
    r.query.iter().for_each(|(_, v)| scan(v));
    r.headers.iter().for_each(|(_, v)| scan(v));
    if let Some(b) = &r.body {
        scan(b);
    }
    out
}

/// `$.a.b[0]` (a simple JSONPath) as the JSON pointer `/a/b/0`; a pointer stays as it is.
pub fn json_pointer(path: &str) -> Result<String, String> {
    if path.is_empty() || path.starts_with('/') {
        return Ok(path.to_string());
    }
    let Some(rest) = path.strip_prefix('$') else {
        return Err(format!(
            "json = \"{path}\": expected a JSON pointer (/token) or a path ($.token, $.items[0].id)"
        ));
    };
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if n == '.' || n == '[' {
                        break;
                    }
                    name.push(n);
                    chars.next();
                }
                if name.is_empty() || name == "*" {
                    return Err(format!("json = \"{path}\": an empty or wildcard name"));
                }
                out.push('/');
                out.push_str(&name.replace('~', "~0").replace('/', "~1"));
            }
            '[' => {
                let mut inner = String::new();
                for n in chars.by_ref() {
                    if n == ']' {
                        break;
                    }
                    inner.push(n);
                }
                let key = inner.trim_matches(|c| c == '\'' || c == '"');
                if key.is_empty() || key == "*" || key.contains('?') {
                    return Err(format!(
                        "json = \"{path}\": only names and indices are supported, not filters or wildcards"
                    ));
                }
                out.push('/');
                out.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            _ => return Err(format!("json = \"{path}\": unexpected '{c}'")),
        }
    }
    Ok(out)
}

impl Extract {
    /// The value in an answer (`head`: its `name: value` header lines; `body`), if there is one.
    pub fn find(&self, head: &[u8], body: &[u8]) -> Option<String> {
        match &self.from {
            From::Json(pointer) => {
                let v: serde_json::Value = serde_json::from_slice(body).ok()?;
                match v.pointer(pointer)? {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Null => None,
                    other => Some(other.to_string()),
                }
            }
            From::Header(name) => headers(head)
                .find(|(n, _)| n.eq_ignore_ascii_case(name.as_str()))
                .map(|(_, v)| v.to_string()),
            From::Regex(re) => {
                let text = std::str::from_utf8(body).ok()?;
                let c = re.captures(text)?;
                c.get(1)
                    .or_else(|| c.get(0))
                    .map(|m| m.as_str().to_string())
            }
            From::Cookie(name) => set_cookies(head)
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.to_string()),
        }
    }
}

/// `name: value` lines of a response head (the status line skipped).
pub fn headers(head: &[u8]) -> impl Iterator<Item = (&str, &str)> {
    std::str::from_utf8(head)
        .unwrap_or("")
        .split("\r\n")
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim(), v.trim()))
}

/// The cookies a response head sets, as (name, value).
pub fn set_cookies(head: &[u8]) -> impl Iterator<Item = (&str, &str)> {
    headers(head)
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| v.split(';').next()?.split_once('='))
        .map(|(n, v)| (n.trim(), v.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_answers() {
        assert_eq!(json_pointer("$.items[0].id"), Ok("/items/0/id".into()));
        assert_eq!(json_pointer("$['a/b'].c"), Ok("/a~1b/c".into()));
        assert_eq!(json_pointer("/token"), Ok("/token".into()));
        assert!(json_pointer("$..x").is_err());
        assert!(json_pointer("$.items[?(@.id)]").is_err());
        let head =
            b"HTTP/1.1 200 OK\r\nx-csrf-token: abc\r\nset-cookie: session=s1; Path=/\r\n\r\n";
        let body = br#"{"token":"t1","n":3,"items":[{"id":7}]}"#;
        let find = |from: From| {
            Extract {
                var: "v".into(),
                from,
            }
            .find(head, body)
        };
        assert_eq!(find(From::Json("/token".into())), Some("t1".into()));
        assert_eq!(find(From::Json("/items/0/id".into())), Some("7".into()));
        assert_eq!(find(From::Json("/missing".into())), None);
        assert_eq!(
            find(From::Header(http::HeaderName::from_static("x-csrf-token"))),
            Some("abc".into())
        );
        assert_eq!(find(From::Cookie("session".into())), Some("s1".into()));
        let re = regex::Regex::new(r#""n":(\d+)"#).expect("regex");
        assert_eq!(find(From::Regex(re)), Some("3".into()));
    }
}
