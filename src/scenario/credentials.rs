//! Finding credentials in captured requests — by name (headers, query parameters, body fields)
//! and by shape (bearer and basic values, JWTs, long random strings) — so an import writes
//! `${env.NAME}` in their place and says which variables to set.

/// Words in a header, parameter or field name that mark its value as a credential.
const SECRET_WORDS: [&str; 12] = [
    "token",
    "secret",
    "auth",
    "password",
    "passwd",
    "apikey",
    "api-key",
    "api_key",
    "signature",
    "credential",
    "session",
    "cookie",
];

/// Names that hold a credential though no word above says so: keys (`Ocp-Apim-Subscription-Key`,
/// `X-Functions-Key`, `X-Access-Key`, `key=`), signatures (`sig=`) and OAuth codes (`code=`).
fn secret_suffix(lower: &str) -> bool {
    let last = lower
        .rsplit(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or(lower);
    matches!(last, "key" | "sig" | "code" | "pwd" | "pass")
}

/// Names that contain a secret word but are not credentials.
const NOT_SECRET: [&str; 3] = ["idempotency-key", "cache-key", "x-request-key"];

/// Whether a header, query parameter or body field of this name carries a credential.
pub fn secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if NOT_SECRET.contains(&lower.as_str()) {
        return false;
    }
    SECRET_WORDS.iter().any(|w| lower.contains(w)) || secret_suffix(&lower)
}

/// Whether a value looks like a credential whatever its name: an authorization scheme, a JWT,
/// or a long run of random-looking characters.
pub fn secret_value(value: &str) -> bool {
    let v = value.trim();
    // A value an import found issued by the server is an extracted variable, not a secret.
    if v.contains(crate::scenario::import::VAR_MARK) {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    if ["bearer ", "basic ", "digest ", "token ", "apikey "]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return true;
    }
    // A JWT: three base64url parts, the first a JSON header ("eyJ").
    if v.starts_with("eyJ") && v.matches('.').count() == 2 {
        return true;
    }
    // 32 or more characters of letters and digits mixed, with no spaces: a key, not a word.
    v.len() >= 32
        && !v.contains(' ')
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=+/.".contains(c))
        && v.chars().any(|c| c.is_ascii_digit())
        && v.chars().any(|c| c.is_ascii_alphabetic())
}

/// The environment variable standing for a credential named `name` (`X-Api-Key` → `X_API_KEY`).
pub fn env_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "SECRET_");
    }
    out
}

/// The credentials found in one import: each variable once, with what it stands for.
#[derive(Debug, Default)]
pub struct Found {
    /// (variable, what it replaced: `the Authorization header`, `the query parameter code`).
    pub vars: Vec<(String, String)>,
}

impl Found {
    /// Notes that `what`'s value now reads `${env.VAR}`; returns the reference.
    pub fn replace(&mut self, var: String, what: String) -> String {
        let r = format!("${{env.{var}}}");
        if !self.vars.iter().any(|(v, _)| *v == var) {
            self.vars.push((var, what));
        }
        r
    }
}

/// A path with a query (`/v1/x?access_token=…&page=2`) as scenario text: credential parameter
/// values become `${env.NAME}`, everything else is escaped literal text.
pub fn scrub_query(path: &str, found: &mut Found, literal: impl Fn(&str) -> String) -> String {
    let Some((base, query)) = path.split_once('?') else {
        return literal(path);
    };
    let mut out = literal(base);
    out.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((k, v))
                if !v.is_empty()
                    && !v.contains(crate::scenario::import::VAR_MARK)
                    && (secret_name(k) || secret_value(v)) =>
            {
                out.push_str(&literal(k));
                out.push('=');
                out.push_str(&found.replace(env_name(k), format!("the query parameter {k}")));
            }
            _ => out.push_str(&literal(pair)),
        }
    }
    out
}

/// A header value as scenario text: a URL's credential query parameters (an OAuth `code` in a
/// Referer) are replaced, the rest kept.
pub fn scrub_header_value(
    value: &str,
    found: &mut Found,
    literal: impl Fn(&str) -> String,
) -> String {
    if value.contains("://") && value.contains('?') {
        scrub_query(value, found, literal)
    } else {
        literal(value)
    }
}

/// A request body as scenario text: credential fields of a JSON object (at any depth) or of a
/// form become `${env.NAME}`. Other bodies are kept as they are.
pub fn scrub_body(body: &str, found: &mut Found, literal: impl Fn(&str) -> String) -> String {
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(body) {
            let mut replaced = Vec::new();
            scrub_json(&mut v, found, &mut replaced);
            if replaced.is_empty() {
                return literal(body);
            }
            // Placeholders survive escaping, then become the references.
            let mut text = literal(&v.to_string());
            for (placeholder, reference) in replaced {
                text = text.replace(&placeholder, &reference);
            }
            return text;
        }
        return literal(body);
    }
    let form = !body.contains(['\n', ' ', '{'])
        && body.contains('=')
        && body.split('&').all(|p| p.contains('='));
    if form {
        let mut out = String::new();
        for (i, pair) in body.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((k, v))
                    if !v.is_empty()
                        && !v.contains(crate::scenario::import::VAR_MARK)
                        && (secret_name(k) || secret_value(v)) =>
                {
                    out.push_str(&literal(k));
                    out.push('=');
                    out.push_str(&found.replace(env_name(k), format!("the form field {k}")));
                }
                _ => out.push_str(&literal(pair)),
            }
        }
        return out;
    }
    literal(body)
}

fn scrub_json(v: &mut serde_json::Value, found: &mut Found, replaced: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                let credential = match item {
                    serde_json::Value::String(s) => {
                        !s.is_empty()
                            && !s.contains(crate::scenario::import::VAR_MARK)
                            && (secret_name(k) || secret_value(s))
                    }
                    serde_json::Value::Number(_) => secret_name(k),
                    _ => false,
                };
                if credential {
                    let reference = found.replace(env_name(k), format!("the JSON field {k}"));
                    let placeholder = format!("__loadbench_secret_{}__", replaced.len());
                    replaced.push((placeholder.clone(), reference));
                    *item = serde_json::Value::String(placeholder);
                } else {
                    scrub_json(item, found, replaced);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                scrub_json(item, found, replaced);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> String {
        s.replace("${", "$${")
    }

    #[test]
    fn names_and_shapes_that_carry_credentials() {
        for name in [
            "Authorization",
            "Ocp-Apim-Subscription-Key",
            "X-Functions-Key",
            "X-Password",
            "X-Access-Key",
            "x-api_key",
            "X-Signature",
            "access_token",
            "client_secret",
            "sig",
            "code",
            "key",
        ] {
            assert!(secret_name(name), "{name}");
        }
        for name in [
            "Accept",
            "Content-Type",
            "Idempotency-Key",
            "page",
            "keyboard",
        ] {
            assert!(!secret_name(name), "{name}");
        }
        assert!(secret_value("Bearer abc"));
        assert!(secret_value(
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
        ));
        assert!(secret_value("sk_live_51H8fKLKJHkjh23kjh4k2j3h4kj2h3"));
        assert!(!secret_value("application/json"));
        assert!(!secret_value("a perfectly ordinary sentence that is long"));
    }

    #[test]
    fn queries_bodies_and_referers_keep_everything_but_the_credentials() {
        let mut f = Found::default();
        let p = scrub_query(
            "/v1/x?page=2&access_token=abc&api_key=k1&sig=zz",
            &mut f,
            lit,
        );
        assert_eq!(
            p,
            "/v1/x?page=2&access_token=${env.ACCESS_TOKEN}&api_key=${env.API_KEY}&sig=${env.SIG}"
        );
        let b = scrub_body(
            r#"{"user":"ann","password":"hunter2","nested":{"client_secret":"s3"},"n":1}"#,
            &mut f,
            lit,
        );
        assert!(b.contains(r#""password":"${env.PASSWORD}""#), "{b}");
        assert!(
            b.contains(r#""client_secret":"${env.CLIENT_SECRET}""#),
            "{b}"
        );
        assert!(
            b.contains(r#""user":"ann""#) && !b.contains("hunter2"),
            "{b}"
        );
        let form = scrub_body(
            "grant_type=password&username=ann&password=hunter2",
            &mut f,
            lit,
        );
        assert_eq!(
            form,
            "grant_type=password&username=ann&password=${env.PASSWORD}"
        );
        let referer = scrub_header_value("https://app.test/cb?code=oauthcode&state=1", &mut f, lit);
        assert_eq!(referer, "https://app.test/cb?code=${env.CODE}&state=1");
        let vars: Vec<&str> = f.vars.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(
            vars,
            // JSON fields in key order (nested ones first here).
            [
                "ACCESS_TOKEN",
                "API_KEY",
                "SIG",
                "CLIENT_SECRET",
                "PASSWORD",
                "CODE"
            ]
        );
        // Literal ${ in kept text is still escaped.
        let mut f = Found::default();
        assert_eq!(
            scrub_body("{\"t\":\"${x}\"}", &mut f, lit),
            "{\"t\":\"$${x}\"}"
        );
    }
}

/// Text with the `user:password@` of every URL in it replaced by `[redacted]@`, so a stored
/// scenario, a report or an error message shows which URL was used but not its credentials.
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first character a URL's authority cannot hold.
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#' | '"' | '\'' | '`') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("[redacted]");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod userinfo_tests {
    use super::redact_userinfo;

    #[test]
    fn credentials_in_urls_are_redacted_and_the_rest_kept() {
        assert_eq!(
            redact_userinfo(r#"api = "https://ci:s3cr%40t@api.example.com:8443/v1""#),
            r#"api = "https://[redacted]@api.example.com:8443/v1""#
        );
        assert_eq!(
            redact_userinfo("a http://h/x?u=a@b b https://u:p@h2"),
            "a http://h/x?u=a@b b https://[redacted]@h2"
        );
        assert_eq!(redact_userinfo("no url here"), "no url here");
        assert_eq!(redact_userinfo("://"), "://");
    }
}

/// Free text (an error body a server sent) with credentials replaced by `[redacted]`: values of
/// secret-named fields (`"token": "…"`, `password=…`), whatever follows an authorization scheme
/// (`Bearer …`), and values shaped like keys or JWTs, so an exemplar can be shown and exported.
pub fn redact_text(text: &str) -> String {
    let delim = |c: char| c.is_whitespace() || "\"'`,;&=:{}[]()<>".contains(c);
    let mut out = String::with_capacity(text.len());
    // The last word seen, and whether it names a secret (so the next word is its value).
    let mut secret_next = false;
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(delim).unwrap_or(rest.len());
        if end == 0 {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let word = &rest[..end];
        let lower = word.to_ascii_lowercase();
        let scheme = matches!(lower.as_str(), "bearer" | "basic" | "digest" | "token");
        if word == "redacted" {
            // Already redacted (a stored exemplar read back): kept as it is.
            out.push_str(word);
            secret_next = false;
        } else if scheme {
            // `Authorization: Bearer x`: the scheme stays, the value after it goes.
            out.push_str(word);
            secret_next = true;
        } else if secret_next || secret_value(word) {
            out.push_str("[redacted]");
            secret_next = false;
        } else {
            out.push_str(word);
            secret_next = secret_name(word);
        }
        rest = &rest[end..];
    }
    out
}

#[cfg(test)]
mod redact_text_tests {
    use super::redact_text;

    #[test]
    fn secrets_in_an_error_body_are_redacted_and_the_rest_kept() {
        let body = r#"{"error":"expired","token":"abc123","hint":"send Authorization: Bearer xyz789 again","id":7}"#;
        let r = redact_text(body);
        assert!(!r.contains("abc123") && !r.contains("xyz789"), "{r}");
        assert!(r.contains("expired") && r.contains("\"id\":7"), "{r}");
        let r = redact_text("password=hunter2&user=ann eyJhbGciOi.eyJzdWIi.sig");
        assert!(
            !r.contains("hunter2") && !r.contains("eyJ") && r.contains("user=ann"),
            "{r}"
        );
        assert_eq!(redact_text(&r), r, "redacting twice changes nothing");
    }
}
