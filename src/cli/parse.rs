//! Flag values shared by several commands: durations and moments.

use std::time::Duration;

pub(super) fn parse_dur(s: &str) -> Result<Duration, String> {
    crate::format::parse_duration(s)
}

/// Parses a point in time as ms since the epoch: a date, an RFC 3339 time, or a span ago.
pub(super) fn parse_when(s: &str) -> Result<i64, String> {
    let now = crate::store::epoch_ms(std::time::SystemTime::now());
    if let Some(days) = s.strip_suffix('d').and_then(|d| d.parse::<f64>().ok()) {
        return Ok(now - (days * 86_400_000.0) as i64);
    }
    if let Ok(d) = crate::format::parse_duration(s) {
        return Ok(now - d.as_millis() as i64);
    }
    let text = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    humantime::parse_rfc3339_weak(&text)
        .map(crate::store::epoch_ms)
        .map_err(|_| format!("\"{s}\": expected a date (2026-11-01), a time (2026-11-01T12:00:00Z) or a span ago (24h, 7d)"))
}
