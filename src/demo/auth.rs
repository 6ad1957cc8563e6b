//! The demo's small authenticated API: log in for a short-lived token (and a session cookie with
//! its CSRF token), then create, read and delete items with it; 401 once the token expires.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::{Knobs, Resp, json};

/// The password every demo user has.
pub const PASSWORD: &str = "demo-password";
/// Tokens, sessions and items kept at most; past this the oldest state is dropped wholesale.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
struct Inner {
    /// Token → when it expires.
    tokens: HashMap<String, Instant>,
    /// Session cookie → its CSRF token.
    sessions: HashMap<String, String>,
    /// Item id → its name.
    items: HashMap<u64, String>,
    next_id: u64,
}

/// The auth API's state.
#[derive(Default)]
pub(super) struct Auth(Mutex<Inner>);

fn random_hex() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn error(status: StatusCode, why: &str) -> Resp {
    let mut r = json(status, serde_json::json!({ "error": why }));
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"demo\""),
        );
    }
    r
}

impl Auth {
    /// Serves `/v1/auth/login` and `/v1/items[/ID]`; `None` for any other path.
    pub(super) fn route(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        knobs: &Knobs,
        body: &Bytes,
    ) -> Option<Resp> {
        let mut inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if path == "/v1/auth/login" {
            return Some(if method == Method::POST {
                login(&mut inner, knobs, body)
            } else {
                error(StatusCode::METHOD_NOT_ALLOWED, "POST to log in")
            });
        }
        let rest = path.strip_prefix("/v1/items")?;
        // Every item call needs a live token.
        let token = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let now = Instant::now();
        match token.and_then(|t| inner.tokens.get(t)) {
            None => return Some(error(StatusCode::UNAUTHORIZED, "no valid token: log in")),
            Some(until) if *until <= now => {
                return Some(error(
                    StatusCode::UNAUTHORIZED,
                    "token expired: log in again",
                ));
            }
            Some(_) => {}
        }
        Some(match (method.as_str(), rest.trim_start_matches('/')) {
            ("POST", "") => {
                // Changing state needs the session's CSRF token as well.
                let session = cookie(headers, "session");
                let csrf = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
                let expected = session.and_then(|s| inner.sessions.get(s));
                if expected.is_none() || expected.map(String::as_str) != csrf {
                    return Some(error(
                        StatusCode::FORBIDDEN,
                        "x-csrf-token must be the one login gave this session",
                    ));
                }
                let name = serde_json::from_slice::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_string))
                    .unwrap_or_else(|| "item".into());
                if inner.items.len() >= MAX_ENTRIES {
                    inner.items.clear();
                }
                inner.next_id += 1;
                let id = inner.next_id;
                inner.items.insert(id, name.chars().take(200).collect());
                let mut r = json(
                    StatusCode::CREATED,
                    serde_json::json!({"id": id, "name": name}),
                );
                if let Ok(v) = HeaderValue::from_str(&format!("/v1/items/{id}")) {
                    r.headers_mut().insert(http::header::LOCATION, v);
                }
                r
            }
            (m, id) => match (m, id.parse::<u64>()) {
                (_, Err(_)) => error(StatusCode::NOT_FOUND, "no such item"),
                ("GET", Ok(id)) => match inner.items.get(&id) {
                    Some(name) => json(StatusCode::OK, serde_json::json!({"id": id, "name": name})),
                    None => error(StatusCode::NOT_FOUND, "no such item"),
                },
                ("DELETE", Ok(id)) => match inner.items.remove(&id) {
                    Some(_) => {
                        let mut r = super::full(Bytes::new());
                        *r.status_mut() = StatusCode::NO_CONTENT;
                        r
                    }
                    None => error(StatusCode::NOT_FOUND, "no such item"),
                },
                _ => error(StatusCode::METHOD_NOT_ALLOWED, "GET, DELETE or POST"),
            },
        })
    }
}

/// `{"user", "password"}` → a token for `ttl_ms` (default 60 s), a session cookie and its CSRF token.
fn login(inner: &mut Inner, knobs: &Knobs, body: &Bytes) -> Resp {
    let creds: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let user = creds.get("user").and_then(|u| u.as_str()).unwrap_or("");
    if user.is_empty() || creds.get("password").and_then(|p| p.as_str()) != Some(PASSWORD) {
        return error(StatusCode::UNAUTHORIZED, "bad user or password");
    }
    if inner.tokens.len() >= MAX_ENTRIES {
        inner.tokens.clear();
        inner.sessions.clear();
    }
    let ttl = Duration::from_millis(
        knobs
            .ttl_ms
            .map_or(60_000, |t| t.clamp(0.0, 86_400_000.0) as u64),
    );
    let (token, session, csrf) = (random_hex(), random_hex(), random_hex());
    inner.tokens.insert(token.clone(), Instant::now() + ttl);
    inner.sessions.insert(session.clone(), csrf.clone());
    let mut r = json(
        StatusCode::OK,
        serde_json::json!({"token": token, "expires_in_ms": ttl.as_millis() as u64, "user": user}),
    );
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csrf) {
        h.insert("x-csrf-token", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("session={session}; Path=/; HttpOnly")) {
        h.insert(http::header::SET_COOKIE, v);
    }
    r
}

/// A cookie's value from the request's Cookie headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}
