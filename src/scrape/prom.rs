//! The Prometheus text exposition format (and OpenMetrics' text, which it reads too) parsed.

use std::collections::HashMap;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Its name (a histogram's buckets end in `_bucket`).
    pub name: String,
    /// Its labels, in the page's order.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: f64,
}

/// What `# TYPE` says a family is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up: read as a rate.
    Counter,
    /// Goes up and down: read as it is.
    Gauge,
    /// Cumulative buckets: read as quantiles.
    Histogram,
    /// Client-side quantiles, or no type given.
    Other,
}

/// A whole page.
#[derive(Debug, Default)]
pub struct Page {
    /// Every sample, in order.
    pub samples: Vec<Sample>,
    /// Family types by name.
    pub types: HashMap<String, Kind>,
}

/// The most samples one page may hold: a page bigger than this is not one to chart beside a run.
const MAX_SAMPLES: usize = 100_000;

impl Page {
    /// How a sample's family reads: by its `# TYPE`, else a `_total` name is a counter.
    pub fn kind_of(&self, sample: &str) -> Kind {
        if let Some(k) = self.types.get(sample) {
            return *k;
        }
        for suffix in ["_total", "_bucket", "_count", "_sum", "_created"] {
            if let Some(family) = sample.strip_suffix(suffix)
                && let Some(k) = self.types.get(family)
            {
                return *k;
            }
        }
        if sample.ends_with("_total") {
            Kind::Counter
        } else {
            Kind::Gauge
        }
    }
}

/// Parses a page; the error names the line.
pub fn parse(text: &str) -> Result<Page, String> {
    let mut page = Page::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let mut words = rest.split_whitespace();
            if words.next() == Some("TYPE")
                && let (Some(name), Some(kind)) = (words.next(), words.next())
            {
                let kind = match kind {
                    "counter" => Kind::Counter,
                    "gauge" => Kind::Gauge,
                    "histogram" | "gaugehistogram" => Kind::Histogram,
                    _ => Kind::Other,
                };
                page.types.insert(name.to_string(), kind);
            }
            continue;
        }
        if page.samples.len() >= MAX_SAMPLES {
            return Err(format!("more than {MAX_SAMPLES} samples on one page"));
        }
        page.samples
            .push(sample(line).map_err(|e| format!("line {}: {e}", n + 1))?);
    }
    Ok(page)
}

fn sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or("a sample needs a value")?;
    let name = &line[..name_end];
    if name.is_empty() {
        return Err("a sample without a name".into());
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        let mut chars = r.char_indices().peekable();
        let mut end = None;
        loop {
            // Skip separators, then read `key="value"`.
            while chars
                .peek()
                .is_some_and(|(_, c)| *c == ',' || c.is_whitespace())
            {
                chars.next();
            }
            match chars.peek() {
                Some((i, '}')) => {
                    end = Some(*i);
                    break;
                }
                None => break,
                _ => {}
            }
            let mut key = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err(format!("label `{}` has no quoted value", key.trim()));
            }
            let mut value = String::new();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => match chars.next().map(|(_, c)| c) {
                        Some('n') => value.push('\n'),
                        Some(other) => value.push(other),
                        None => break,
                    },
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(format!("label `{}`'s value is not closed", key.trim()));
            }
            labels.push((key.trim().to_string(), value));
        }
        let end = end.ok_or("labels are not closed with }")?;
        rest = &r[end + 1..];
    }
    let value_text = rest
        .split_whitespace()
        .next()
        .ok_or("a sample needs a value")?;
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().map_err(|_| format!("`{v}` is not a number"))?,
    };
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// The `q` quantile of a histogram from its cumulative buckets (`le`, count), the way
/// Prometheus' `histogram_quantile` reads them: linear within the bucket it falls in.
pub fn quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut below = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return Some(below.0);
            }
            let within = count - below.1;
            let share = if within > 0.0 {
                (rank - below.1) / within
            } else {
                1.0
            };
            return Some(below.0 + (le - below.0) * share);
        }
        below = (le, count);
    }
    Some(below.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_escapes_types_and_special_values() {
        let page = parse(
            "# HELP x_total things\n# TYPE x_total counter\nx_total{path=\"/a,b\",msg=\"say \\\"hi\\\"\"} 12 1700000000\n\
             # TYPE lat histogram\nlat_bucket{le=\"0.1\"} 3\nlat_bucket{le=\"+Inf\"} 4\nup 1\nodd NaN\n",
        )
        .unwrap();
        assert_eq!(page.samples.len(), 5);
        assert_eq!(page.samples[0].labels[0], ("path".into(), "/a,b".into()));
        assert_eq!(
            page.samples[0].labels[1],
            ("msg".into(), "say \"hi\"".into())
        );
        assert_eq!(page.samples[0].value, 12.0);
        assert_eq!(page.kind_of("x_total"), Kind::Counter);
        assert_eq!(page.kind_of("lat_bucket"), Kind::Histogram);
        assert_eq!(page.kind_of("up"), Kind::Gauge);
        assert_eq!(page.samples[2].labels[0], ("le".into(), "+Inf".into()));
        assert_eq!(page.samples[2].value, 4.0);
        assert!(page.samples[4].value.is_nan());
        for bad in ["x{a=1} 2", "x{a=\"1\" 2", "x", "x{a=\"1\"} two"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantiles_interpolate_within_the_bucket() {
        let b = [
            (0.1, 50.0),
            (0.2, 90.0),
            (0.5, 100.0),
            (f64::INFINITY, 100.0),
        ];
        assert!((quantile(&b, 0.5).unwrap() - 0.1).abs() < 1e-9);
        assert!((quantile(&b, 0.7).unwrap() - 0.15).abs() < 1e-9);
        assert!((quantile(&b, 0.95).unwrap() - 0.35).abs() < 1e-9);
        assert_eq!(quantile(&[(1.0, 0.0)], 0.5), None);
    }
}
