//! Competitor benchmark sets: named figures per endpoint (published or measured elsewhere),
//! read from our CSV/JSON formats or from k6 and oha result files.

use serde::{Deserialize, Serialize};

/// A named set of figures, e.g. "competitor-a, published 2026-10".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkSet {
    /// Unique name.
    pub name: String,
    /// Where the figures come from (a URL, a tool).
    #[serde(default)]
    pub source: String,
    /// When they were published or measured.
    #[serde(default)]
    pub published: String,
    /// Free text.
    #[serde(default)]
    pub notes: String,
    /// One entry per endpoint or request name (`*` for all together).
    pub figures: Vec<Figures>,
}

/// The figures of one endpoint; any may be missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figures {
    /// Endpoint or request name.
    pub endpoint: String,
    /// Requests per second.
    pub rate: Option<f64>,
    /// Median latency, ms.
    pub p50_ms: Option<f64>,
    /// 90th percentile, ms.
    pub p90_ms: Option<f64>,
    /// 95th percentile, ms.
    pub p95_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Slowest, ms.
    pub max_ms: Option<f64>,
    /// Errors as a fraction.
    pub error_rate: Option<f64>,
}

/// Which file format to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Our CSV: `endpoint,rate,p50_ms,p90_ms,p95_ms,p99_ms,max_ms,error_rate`.
    Csv,
    /// Our JSON: a [`BenchmarkSet`].
    Json,
    /// k6's `--summary-export` JSON.
    K6,
    /// oha's `--output-format json` (or `--json`) output.
    Oha,
}

impl Source {
    /// Parses a `--format` value.
    pub fn from_name(s: &str) -> Option<Source> {
        match s {
            "csv" => Some(Source::Csv),
            "json" => Some(Source::Json),
            "k6" => Some(Source::K6),
            "oha" => Some(Source::Oha),
            _ => None,
        }
    }
}

/// Reads a benchmark file; `name` names the set when the file does not. Errors say what is wrong
/// and where (line for CSV, field for JSON).
pub fn parse(text: &str, format: Option<Source>, name: &str) -> Result<BenchmarkSet, String> {
    let format = match format {
        Some(f) => f,
        None => detect(text)?,
    };
    let set = match format {
        Source::Csv => parse_csv(text, name)?,
        Source::Json => serde_json::from_str::<BenchmarkSet>(text).map_err(|e| {
            format!(
                "line {}, column {}: not a loadbench benchmark set: {e}",
                e.line(),
                e.column()
            )
        })?,
        Source::K6 => parse_k6(text, name)?,
        Source::Oha => parse_oha(text, name)?,
    };
    validate(&set)?;
    Ok(set)
}

fn detect(text: &str) -> Result<Source, String> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        return if trimmed.to_ascii_lowercase().starts_with("endpoint") {
            Ok(Source::Csv)
        } else {
            Err("unrecognised file: expected our CSV (a header starting with `endpoint`), our JSON, k6's --summary-export JSON or oha's JSON".into())
        };
    }
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "line {}, column {}: not valid JSON: {e}",
            e.line(),
            e.column()
        )
    })?;
    if v.get("figures").is_some() {
        Ok(Source::Json)
    } else if v
        .get("metrics")
        .and_then(|m| m.get("http_req_duration"))
        .is_some()
    {
        Ok(Source::K6)
    } else if v
        .get("summary")
        .and_then(|s| s.get("requestsPerSec"))
        .is_some()
    {
        Ok(Source::Oha)
    } else {
        Err("unrecognised JSON: expected `figures` (loadbench), `metrics.http_req_duration` (k6 --summary-export) or `summary.requestsPerSec` (oha)".into())
    }
}

fn validate(set: &BenchmarkSet) -> Result<(), String> {
    if set.name.trim().is_empty() {
        return Err("the benchmark set needs a name (--name)".into());
    }
    if set.figures.is_empty() {
        return Err("the file holds no figures".into());
    }
    for f in &set.figures {
        let all = [
            f.rate,
            f.p50_ms,
            f.p90_ms,
            f.p95_ms,
            f.p99_ms,
            f.max_ms,
            f.error_rate,
        ];
        if all.iter().all(Option::is_none) {
            return Err(format!("endpoint `{}` has no figure", f.endpoint));
        }
        if all.iter().flatten().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(format!(
                "endpoint `{}` has a negative or non-numeric figure",
                f.endpoint
            ));
        }
        if f.error_rate.is_some_and(|e| e > 1.0) {
            return Err(format!(
                "endpoint `{}`: error_rate is a fraction (0-1)",
                f.endpoint
            ));
        }
    }
    Ok(())
}

fn parse_csv(text: &str, name: &str) -> Result<BenchmarkSet, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let (_, header) = lines.next().ok_or("empty file")?;
    let cols: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    const KNOWN: [&str; 8] = [
        "endpoint",
        "rate",
        "p50_ms",
        "p90_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
        "error_rate",
    ];
    if let Some(bad) = cols.iter().find(|c| !KNOWN.contains(&c.as_str())) {
        return Err(format!(
            "line 1: unknown column `{bad}`; expected {}",
            KNOWN.join(",")
        ));
    }
    if cols.first().map(String::as_str) != Some("endpoint") {
        return Err("line 1: the first column must be `endpoint`".into());
    }
    let mut figures = Vec::new();
    for (i, line) in lines {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != cols.len() {
            return Err(format!(
                "line {}: {} fields, the header has {}",
                i + 1,
                cells.len(),
                cols.len()
            ));
        }
        let mut f = Figures {
            endpoint: cells[0].to_string(),
            ..Figures::default()
        };
        for (c, v) in cols.iter().zip(&cells).skip(1) {
            if v.is_empty() {
                continue;
            }
            let n: f64 = v
                .trim_end_matches('%')
                .parse()
                .map_err(|_| format!("line {}: `{v}` in column {c} is not a number", i + 1))?;
            let n = if c == "error_rate" && v.ends_with('%') {
                n / 100.0
            } else {
                n
            };
            let slot = match c.as_str() {
                "rate" => &mut f.rate,
                "p50_ms" => &mut f.p50_ms,
                "p90_ms" => &mut f.p90_ms,
                "p95_ms" => &mut f.p95_ms,
                "p99_ms" => &mut f.p99_ms,
                "max_ms" => &mut f.max_ms,
                _ => &mut f.error_rate,
            };
            *slot = Some(n);
        }
        figures.push(f);
    }
    Ok(BenchmarkSet {
        name: name.to_string(),
        source: String::new(),
        published: String::new(),
        notes: String::new(),
        figures,
    })
}

fn num(v: &serde_json::Value, key: &str) -> Option<f64> {
    v.get(key).and_then(serde_json::Value::as_f64)
}

fn parse_k6(text: &str, name: &str) -> Result<BenchmarkSet, String> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("line {}: not valid JSON: {e}", e.line()))?;
    let metrics = v
        .get("metrics")
        .and_then(|m| m.as_object())
        .ok_or("k6 summary: no `metrics` object")?;
    let mut figures = Vec::new();
    for (key, trend) in metrics {
        // `http_req_duration` for all requests; `http_req_duration{name:checkout}` per tagged request.
        let Some(rest) = key.strip_prefix("http_req_duration") else {
            continue;
        };
        let endpoint = match rest {
            "" => "*".to_string(),
            tag => tag
                .trim_start_matches('{')
                .trim_end_matches('}')
                .split(',')
                .find_map(|kv| kv.strip_prefix("name:"))
                .unwrap_or(tag)
                .to_string(),
        };
        let suffix = rest;
        let reqs = metrics.get(&format!("http_reqs{suffix}"));
        let failed = metrics.get(&format!("http_req_failed{suffix}"));
        figures.push(Figures {
            endpoint,
            rate: reqs.and_then(|r| num(r, "rate")),
            p50_ms: num(trend, "med").or_else(|| num(trend, "p(50)")),
            p90_ms: num(trend, "p(90)"),
            p95_ms: num(trend, "p(95)"),
            p99_ms: num(trend, "p(99)"),
            max_ms: num(trend, "max"),
            error_rate: failed.and_then(|f| num(f, "value").or_else(|| num(f, "rate"))),
        });
    }
    if figures.is_empty() {
        return Err("k6 summary: no `http_req_duration` metric".into());
    }
    figures.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
    Ok(BenchmarkSet {
        name: name.to_string(),
        source: "k6 --summary-export".into(),
        published: String::new(),
        notes: String::new(),
        figures,
    })
}

fn parse_oha(text: &str, name: &str) -> Result<BenchmarkSet, String> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("line {}: not valid JSON: {e}", e.line()))?;
    let s = v.get("summary").ok_or("oha output: no `summary` object")?;
    let p = v
        .get("latencyPercentiles")
        .ok_or("oha output: no `latencyPercentiles` object")?;
    let ms = |x: Option<f64>| x.map(|s| s * 1000.0);
    Ok(BenchmarkSet {
        name: name.to_string(),
        source: "oha --output-format json".into(),
        published: String::new(),
        notes: String::new(),
        figures: vec![Figures {
            endpoint: "*".into(),
            rate: num(s, "requestsPerSec"),
            p50_ms: ms(num(p, "p50")),
            p90_ms: ms(num(p, "p90")),
            p95_ms: ms(num(p, "p95")),
            p99_ms: ms(num(p, "p99")),
            max_ms: ms(num(s, "slowest")),
            error_rate: num(s, "successRate").map(|r| (1.0 - r).max(0.0)),
        }],
    })
}
