//! The demo's webhook sender: accepts a job naming a callback URL and an id, answers at once, and
//! calls back later, sometimes not at all or twice, as the knobs say.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use rand::RngExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Knobs, Resp, json};

/// Callbacks waiting to be sent; beyond this many a job is dropped, as a full queue drops it.
const MAX_PENDING: usize = 100_000;
/// How long one callback may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

static PENDING: AtomicUsize = AtomicUsize::new(0);

/// `POST /v1/webhooks/trigger` with `{"callback_url": …, "id": …}`: 202 now, then the callback
/// `{"event": "order.created", "id": …}` (and `x-webhook-id`) after `deliver_ms` plus up to
/// `jitter_ms`, skipped with probability `loss`, sent twice with probability `dup`.
pub(super) fn trigger(knobs: &Knobs, body: &Bytes) -> Resp {
    let job: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return json(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"error": format!("the body is not JSON: {e}")}),
            );
        }
    };
    let (Some(url), Some(id)) = (job["callback_url"].as_str(), job["id"].as_str()) else {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "expected {\"callback_url\": \"http://…\", \"id\": \"…\"}"}),
        );
    };
    let Some((authority, path)) = loopback_http(url) else {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "callback_url must be http:// to a loopback address"}),
        );
    };
    let mut rng = rand::rng();
    let lost = rng.random::<f64>() < knobs.loss.unwrap_or(0.0);
    let twice = rng.random::<f64>() < knobs.dup.unwrap_or(0.0);
    let wait = knobs.deliver_ms.unwrap_or(100.0).max(0.0)
        + knobs.jitter_ms.unwrap_or(0.0).max(0.0) * rng.random::<f64>();
    if !lost && PENDING.fetch_add(1, Ordering::Relaxed) < MAX_PENDING {
        let payload = serde_json::json!({"event": "order.created", "id": id}).to_string();
        let id = id.to_string();
        tokio::spawn(async move {
            crate::timer::sleep(crate::format::secs(wait / 1000.0)).await;
            for _ in 0..if twice { 2 } else { 1 } {
                let _ = tokio::time::timeout(
                    SEND_TIMEOUT,
                    send(&authority, &path, &id, payload.as_bytes()),
                )
                .await;
            }
            PENDING.fetch_sub(1, Ordering::Relaxed);
        });
    } else if !lost {
        PENDING.fetch_sub(1, Ordering::Relaxed);
    }
    json(StatusCode::ACCEPTED, serde_json::json!({"accepted": id}))
}

/// One callback over its own connection.
async fn send(authority: &str, path: &str, id: &str, body: &[u8]) -> std::io::Result<()> {
    let mut s = tokio::net::TcpStream::connect(authority).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/json\r\n\
         x-webhook-id: {id}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(body).await?;
    let mut sink = [0u8; 1024];
    while s.read(&mut sink).await? > 0 {}
    Ok(())
}

/// `http://host:port/path` to a loopback address, as (authority, path).
fn loopback_http(url: &str) -> Option<(String, String)> {
    let uri: http::Uri = url.parse().ok()?;
    if uri.scheme_str() != Some("http") {
        return None;
    }
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let ip: std::net::IpAddr = if host == "localhost" {
        std::net::Ipv4Addr::LOCALHOST.into()
    } else {
        host.parse().ok()?
    };
    if !ip.is_loopback() {
        return None;
    }
    let port = uri.port_u16().unwrap_or(80);
    let authority = std::net::SocketAddr::new(ip, port).to_string();
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    Some((authority, path))
}
