//! Human-readable numbers shared by the CLI printer, the GUI and reports.

use std::time::Duration;

/// Formats a latency in microseconds so people can read it at a glance (`850 µs`, `1.23 ms`, `1.20 s`).
pub fn micros(us: f64) -> String {
    if !us.is_finite() {
        return "-".to_string();
    }
    if us < 1_000.0 {
        format!("{us:.0} µs")
    } else if us < 10_000.0 {
        format!("{:.2} ms", us / 1_000.0)
    } else if us < 100_000.0 {
        format!("{:.1} ms", us / 1_000.0)
    } else if us < 1_000_000.0 {
        format!("{:.0} ms", us / 1_000.0)
    } else {
        format!("{:.2} s", us / 1_000_000.0)
    }
}

/// Formats an axis value with no more digits than it has (`2`, `2.5`, `99.99`).
pub fn plain(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0" } else { s }.to_string()
}

/// A value read off a server (a gauge, a rate, a quantile): whole when it is, else three
/// decimals below 100.
pub fn reading(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// The smallest axis step of 1, 2 or 5 × 10ⁿ that is at least `min`: steps people read without
/// arithmetic (a 4 s run ticks every 1 s, not at 1.75 s and 2.5 s).
pub fn nice_step(min: f64) -> f64 {
    if min <= 0.0 || !min.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(min.log10().floor());
    [1.0, 2.0, 5.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= min * (1.0 - 1e-9))
        .unwrap_or(10.0 * p)
}

/// Formats a request rate compactly (`950/s`, `1.2k/s`, `93.2k/s`).
pub fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() {
        return "-".to_string();
    }
    if per_sec < 10.0 {
        format!("{per_sec:.1}/s")
    } else if per_sec < 1_000.0 {
        format!("{per_sec:.0}/s")
    } else if per_sec < 100_000.0 {
        format!("{:.1}k/s", per_sec / 1_000.0)
    } else {
        format!("{:.0}k/s", per_sec / 1_000.0)
    }
}

/// Formats a count compactly (`999`, `12.3k`, `4.5M`).
pub fn count(n: u64) -> String {
    let f = n as f64;
    if n < 10_000 {
        n.to_string()
    } else if n < 1_000_000 {
        format!("{:.1}k", f / 1_000.0)
    } else {
        format!("{:.1}M", f / 1_000_000.0)
    }
}

/// Formats a fraction as a percentage with enough digits for error budgets (`0.00%`, `0.013%`).
pub fn percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    if p == 0.0 {
        "0.00%".to_string()
    } else if p < 0.1 {
        format!("{p:.3}%")
    } else {
        format!("{p:.2}%")
    }
}

/// Formats a relative change with its sign (`+4.2%`), or `-` when there is none to show.
pub fn change(fraction: f64) -> String {
    if !fraction.is_finite() {
        "-".into()
    } else if fraction >= 1000.0 {
        // A bound of an interval that wide is "more than a thousandfold", not twelve digits.
        ">×1000".into()
    } else if fraction >= 9.0 {
        format!("×{:.1}", 1.0 + fraction)
    } else {
        format!("{:+.1}%", fraction * 100.0)
    }
}

/// Seconds as a duration for display and pacing, saturating: NaN or negative is zero, and a
/// figure too large for a duration (a hostile file's 1e308) is the largest one, never a panic.
pub fn secs(s: f64) -> Duration {
    if s.is_nan() || s <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX)
}

/// The last millisecond RFC 3339 can write (9999-12-31T23:59:59.999Z).
const LAST_RFC3339_MS: i64 = 253_402_300_799_999;

/// A moment (ms since the Unix epoch, as stored) as a system time, held to years 1970–9999 so no
/// stored value can overflow the clock's arithmetic.
pub fn system_time(ms: i64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::from_millis(ms.clamp(0, LAST_RFC3339_MS) as u64)
}

/// A moment (ms since the Unix epoch) as RFC 3339 UTC to the second. Stored data is input too: a
/// time outside years 1970–9999 is shown at the nearest end, never a panic.
pub fn utc(ms: i64) -> String {
    humantime::format_rfc3339_seconds(system_time(ms)).to_string()
}

/// [`utc`] of a system time.
pub fn utc_of(t: std::time::SystemTime) -> String {
    let ms = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    utc(ms)
}

/// Formats a wall-clock span the way scenarios write it (`90s` → `1m30s`).
pub fn span(d: Duration) -> String {
    let total_ms = d.as_millis();
    if !total_ms.is_multiple_of(1000) {
        return format!("{:.1}s", d.as_secs_f64());
    }
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// Parses a duration as scenarios and flags write it: `250ms`, `10s`, `1m30s`, `1.5s`, `500us`, `2h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(
            "expected a duration such as \"10s\", \"250ms\" or \"1m30s\", found an empty string"
                .into(),
        );
    }
    let mut total = 0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!(
                "expected a duration such as \"10s\", \"250ms\" or \"1m30s\", found \"{t}\""
            ));
        }
        let value: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("\"{}\" in \"{t}\" is not a number", &rest[..num_len]))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "" => {
                return Err(format!(
                    "duration \"{t}\" needs a unit: h, m, s, ms or us (for example \"{value}s\")"
                ));
            }
            other => {
                return Err(format!(
                    "unknown unit \"{other}\" in duration \"{t}\": expected h, m, s, ms or us"
                ));
            }
        };
        total += value * scale;
    }
    if !total.is_finite() || total > 365.0 * 86_400.0 {
        return Err(format!("duration \"{t}\" is out of range"));
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_steps_are_one_two_five() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.0), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(6.0), 10.0);
        assert!((nice_step(0.0042) - 0.005).abs() < 1e-12);
        assert_eq!(
            (plain(2.5), plain(2.0), plain(-0.0)),
            ("2.5".into(), "2".into(), "0".into())
        );
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500us"), Ok(Duration::from_micros(500)));
        assert!(parse_duration("10").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("10 sec").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(micros(850.0), "850 µs");
        assert_eq!(micros(1234.0), "1.23 ms");
        assert_eq!(micros(183_000.0), "183 ms");
        assert_eq!(micros(1_200_000.0), "1.20 s");
        assert_eq!(rate(1234.0), "1.2k/s");
        assert_eq!(rate(950.0), "950/s");
        assert_eq!(percent(0.001), "0.10%");
        assert_eq!(percent(0.0001), "0.010%");
        assert_eq!(span(Duration::from_secs(90)), "1m30s");
    }
}
