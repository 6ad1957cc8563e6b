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
    /// What its latency figures measure, so they are held against the same of ours.
    #[serde(default)]
    pub latency: LatencyKind,
    /// One entry per endpoint or request name (`*` for all together).
    pub figures: Vec<Figures>,
}

/// What a set's latency figures measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyKind {
    /// From each request's intended start (coordinated omission corrected): loadbench's own
    /// latency, wrk2's, oha's with `--latency-correction`.
    #[default]
    Corrected,
    /// From the actual send: k6's `http_req_duration`, oha's without `--latency-correction`,
    /// most published figures.
    Service,
}

impl LatencyKind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            LatencyKind::Corrected => "corrected",
            LatencyKind::Service => "service",
        }
    }
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
    /// Requests measured.
    #[serde(default)]
    pub count: Option<u64>,
}

/// Which file format to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Our CSV: `endpoint,rate,p50_ms,p90_ms,p95_ms,p99_ms,max_ms,error_rate[,count]`.
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
    const KNOWN: [&str; 9] = [
        "endpoint",
        "rate",
        "p50_ms",
        "p90_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
        "error_rate",
        "count",
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
            if c == "count" {
                if n < 0.0 || n.fract() != 0.0 || !n.is_finite() {
                    return Err(format!(
                        "line {}: `{v}` in column count is not a whole number",
                        i + 1
                    ));
                }
                f.count = Some(n as u64);
                continue;
            }
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
        latency: LatencyKind::Corrected,
        figures,
    })
}

/// What kind of JSON value `v` is, for messages.
fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// `obj[key]` as a number: `None` when absent, an error naming `path` when it is anything else.
fn number(obj: &serde_json::Value, key: &str, path: &str) -> Result<Option<f64>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| {
            format!(
                "`{path}.{key}` is {}, expected a number; nothing was stored",
                kind_of(v)
            )
        }),
    }
}

/// `obj[key]` as a number that must be there.
fn required(obj: &serde_json::Value, key: &str, path: &str) -> Result<f64, String> {
    number(obj, key, path)?.ok_or_else(|| format!("`{path}.{key}` is missing; nothing was stored"))
}

fn parse_k6(text: &str, name: &str) -> Result<BenchmarkSet, String> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("line {}: not valid JSON: {e}", e.line()))?;
    let metrics = v
        .get("metrics")
        .and_then(|m| m.as_object())
        .ok_or("k6 summary: no `metrics` object")?;
    // `--summary-export` writes each metric's figures flat; the data handleSummary receives
    // (and `JSON.stringify(data)` writes) nests them under `values`. Both are read.
    let figures_of = |key: &str| -> Option<(&serde_json::Value, String)> {
        let m = metrics.get(key)?;
        match m.get("values") {
            Some(inner) if inner.is_object() => Some((inner, format!("metrics.{key}.values"))),
            _ => Some((m, format!("metrics.{key}"))),
        }
    };
    let mut figures = Vec::new();
    for key in metrics.keys() {
        // `http_req_duration` for all requests; `http_req_duration{name:checkout}` per request
        // name. Other tags (`{expected_response:true}`, `{status:200}`) are sub-metrics of the
        // whole, not endpoints.
        let Some(suffix) = key.strip_prefix("http_req_duration") else {
            continue;
        };
        let endpoint = match suffix {
            "" => "*".to_string(),
            tag => match tag
                .strip_prefix("{name:")
                .and_then(|t| t.strip_suffix('}'))
                .filter(|n| !n.contains(','))
            {
                Some(n) => n.to_string(),
                None => continue,
            },
        };
        let Some((trend, path)) = figures_of(key) else {
            continue;
        };
        let (rate, count) = match figures_of(&format!("http_reqs{suffix}")) {
            Some((r, path)) => (
                number(r, "rate", &path)?,
                number(r, "count", &path)?.map(|c| c.max(0.0).round() as u64),
            ),
            None => (None, None),
        };
        let error_rate = match figures_of(&format!("http_req_failed{suffix}")) {
            Some((f, path)) => match number(f, "value", &path)? {
                Some(x) => Some(x),
                None => number(f, "rate", &path)?,
            },
            None => None,
        };
        let p50 = match number(trend, "med", &path)? {
            Some(x) => Some(x),
            None => number(trend, "p(50)", &path)?,
        };
        figures.push(Figures {
            endpoint,
            rate,
            p50_ms: p50,
            p90_ms: number(trend, "p(90)", &path)?,
            p95_ms: number(trend, "p(95)", &path)?,
            p99_ms: number(trend, "p(99)", &path)?,
            max_ms: number(trend, "max", &path)?,
            error_rate,
            count,
        });
    }
    if figures.is_empty() {
        return Err("k6 summary: no `http_req_duration` metric".into());
    }
    figures.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
    Ok(BenchmarkSet {
        name: name.to_string(),
        source: "k6 summary".into(),
        published: String::new(),
        notes: String::new(),
        // k6's http_req_duration runs from the actual send: service time.
        latency: LatencyKind::Service,
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
    let success = required(s, "successRate", "summary")?;
    let count = match v.get("statusCodeDistribution") {
        None => None,
        Some(d) => {
            let d = d.as_object().ok_or_else(|| {
                format!(
                    "`statusCodeDistribution` is {}, expected an object; nothing was stored",
                    kind_of(d)
                )
            })?;
            let mut n = 0u64;
            for (code, c) in d {
                n += c.as_u64().ok_or_else(|| {
                    format!(
                        "`statusCodeDistribution.{code}` is {}, expected a count; nothing was stored",
                        kind_of(c)
                    )
                })?;
            }
            Some(n)
        }
    };
    Ok(BenchmarkSet {
        name: name.to_string(),
        source: "oha --output-format json".into(),
        published: String::new(),
        notes: String::new(),
        // oha measures from the actual send unless run with --latency-correction; say
        // `--latency corrected` on import when it was.
        latency: LatencyKind::Service,
        figures: vec![Figures {
            endpoint: "*".into(),
            rate: Some(required(s, "requestsPerSec", "summary")?),
            p50_ms: ms(number(p, "p50", "latencyPercentiles")?),
            p90_ms: ms(number(p, "p90", "latencyPercentiles")?),
            p95_ms: ms(number(p, "p95", "latencyPercentiles")?),
            p99_ms: ms(number(p, "p99", "latencyPercentiles")?),
            max_ms: ms(number(s, "slowest", "summary")?),
            error_rate: Some((1.0 - success).max(0.0)),
            count,
        }],
    })
}
