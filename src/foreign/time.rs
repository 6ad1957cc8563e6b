//! RFC 3339 times as these tools write them (Go writes local offsets, nanoseconds) to µs.

/// Microseconds since the epoch of `2026-11-30T21:57:24.859895246Z` or `…+01:00`.
pub fn rfc3339_us(s: &str) -> Result<i64, String> {
    let bad = || format!("`{s}` is not an RFC 3339 time");
    // Split off the zone: `Z`, or `+hh:mm` / `-hh:mm` after the time of day.
    let (clock, offset_s) = if let Some(c) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        (c, 0i64)
    } else {
        let at = s.len().checked_sub(6).ok_or_else(bad)?;
        let (c, zone) = (s.get(..at).ok_or_else(bad)?, s.get(at..).ok_or_else(bad)?);
        let sign = match zone.as_bytes().first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(bad()),
        };
        let (h, m) = zone[1..].split_once(':').ok_or_else(bad)?;
        let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 23 || m > 59 {
            return Err(bad());
        }
        (c, sign * (h * 3600 + m * 60))
    };
    let (whole, frac) = clock.split_once('.').unwrap_or((clock, ""));
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let base = humantime::parse_rfc3339(&format!("{whole}Z")).map_err(|_| bad())?;
    let secs = base
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| bad())?
        .as_secs() as i64;
    let micros: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}")[..6].parse().map_err(|_| bad())?
    };
    Ok((secs - offset_s) * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::rfc3339_us;

    #[test]
    fn zones_and_fractions() {
        let z = rfc3339_us("2026-11-30T21:57:24.859895246Z").unwrap();
        assert_eq!(z % 1_000_000, 859_895);
        assert_eq!(rfc3339_us("2026-11-30T22:57:24.859895+01:00").unwrap(), z);
        assert_eq!(rfc3339_us("2026-11-30T20:57:24.8598952-01:00").unwrap(), z);
        assert_eq!(rfc3339_us("2026-11-30T21:57:24Z").unwrap(), z - 859_895);
        for bad in [
            "",
            "yesterday",
            "2026-11-30T21:57:24",
            "2026-11-30T21:57:24+1:00",
            "2026-11-30T21:57:24.x1Z",
        ] {
            assert!(rfc3339_us(bad).is_err(), "{bad}");
        }
    }
}
