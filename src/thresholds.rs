//! Threshold expressions (`p95 < 200ms`, `error_rate < 0.1%`, `rate > 900/s`), parsed once:
//! a leaf the scenario, the recorders and the analysis all use, depending on none of them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::format;

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// A latency statistic; `service` selects service time instead of corrected latency.
    Latency { stat: Stat, service: bool },
    /// errors ÷ requests.
    ErrorRate,
    /// Successful responses per measured second (failures are not throughput).
    Rate,
    /// Requests completed.
    Count,
    /// Requests that failed.
    Errors,
    /// A statistic of a streamed answer's timing (`first_event p95`, `event_gap p99`).
    Streaming { stat: Stat, what: Streaming },
    /// Webhook deliveries lost (`webhook_lost < 0.1%`): lost ÷ triggered.
    WebhookLost,
    /// Webhook deliveries that came twice, ÷ triggered (`webhook_duplicates < 1%`).
    WebhookDuplicates,
    /// Trigger → delivery latency (`webhook_p99 < 2s`).
    WebhookLatency(Stat),
}

/// What of a streamed answer a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streaming {
    /// Request written → first event (time to first token).
    FirstEvent,
    /// Between consecutive events (inter-token latency).
    EventGap,
}

/// A statistic of a latency distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// Fastest.
    Min,
    /// Mean.
    Mean,
    /// Slowest.
    Max,
    /// A percentile, 0–100.
    Percentile(f64),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    /// Whether `actual OP limit` holds.
    pub fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
        }
    }
}

/// A pass/fail rule on a run's figures, as written in a scenario or on the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// What is measured.
    pub metric: Metric,
    /// How it is compared.
    pub op: Op,
    /// The limit in canonical units: µs for latency, a fraction for error_rate, req/s for rate.
    pub limit: f64,
    /// The expression as written.
    pub text: String,
    /// Stop the run as soon as this fails, once this much measured time has passed (k6's
    /// `abortOnFail` with `delayAbortEval`): `None` judges it only at the end.
    pub abort_after: Option<std::time::Duration>,
}

const HELP: &str = "expected `METRIC OP VALUE` such as \"p95 < 200ms\", \"error_rate < 0.1%\" or \"rate > 900/s\"; \
METRIC is p50, p90, p95, p99, p99.9 (any pNN), min, mean, max (prefix service_ for service time), error_rate, rate, count or errors, \
or for streamed answers `first_event STAT` or `event_gap STAT` (\"first_event p95 < 500ms\"), \
or for webhook deliveries webhook_lost, webhook_duplicates (shares) or webhook_STAT (\"webhook_p99 < 2s\"); \
OP is <, <=, > or >=";

impl FromStr for Threshold {
    type Err = String;

    fn from_str(text: &str) -> Result<Threshold, String> {
        let t = text.trim();
        let (pos, op_len, op) = ["<=", ">=", "<", ">"]
            .iter()
            .filter_map(|o| t.find(o).map(|p| (p, o.len(), *o)))
            .min_by_key(|(p, len, _)| (*p, usize::MAX - len))
            .ok_or_else(|| format!("no comparison in \"{t}\": {HELP}"))?;
        let op = match op {
            "<=" => Op::Le,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            _ => Op::Gt,
        };
        let name = t[..pos].trim();
        let value = t[pos + op_len..].trim();
        let metric =
            parse_metric(name).ok_or_else(|| format!("unknown metric \"{name}\": {HELP}"))?;
        let limit = match metric {
            Metric::Latency { .. } | Metric::Streaming { .. } | Metric::WebhookLatency(_) => format::parse_duration(value)
                .map(|d| d.as_secs_f64() * 1e6)
                .map_err(|e| format!("latency limit of \"{t}\": {e}"))?,
            Metric::ErrorRate | Metric::WebhookLost | Metric::WebhookDuplicates => parse_fraction(value)
                .ok_or_else(|| format!("error_rate limit \"{value}\": expected a percentage such as \"0.1%\" or a fraction such as \"0.001\""))?,
            Metric::Rate => parse_number(value.strip_suffix("/s").unwrap_or(value))
                .ok_or_else(|| format!("rate limit \"{value}\": expected requests per second such as \"900/s\""))?,
            Metric::Count | Metric::Errors => parse_number(value)
                .ok_or_else(|| format!("limit \"{value}\": expected a number"))?,
        };
        Ok(Threshold {
            metric,
            op,
            limit,
            text: format!("{name} {} {value}", op.as_str()),
            abort_after: None,
        })
    }
}

fn parse_number(s: &str) -> Option<f64> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
}

fn parse_fraction(s: &str) -> Option<f64> {
    match s.trim().strip_suffix('%') {
        Some(p) => parse_number(p).map(|v| v / 100.0),
        None => parse_number(s).filter(|v| *v <= 1.0),
    }
}

fn parse_metric(name: &str) -> Option<Metric> {
    let words: Vec<&str> = name.split_whitespace().collect();
    if let [what @ ("first_event" | "event_gap"), stat] = words[..] {
        let Some(Metric::Latency {
            stat,
            service: false,
        }) = parse_metric(stat)
        else {
            return None;
        };
        let what = if what == "first_event" {
            Streaming::FirstEvent
        } else {
            Streaming::EventGap
        };
        return Some(Metric::Streaming { stat, what });
    }
    match name {
        "webhook_lost" => return Some(Metric::WebhookLost),
        "webhook_duplicates" => return Some(Metric::WebhookDuplicates),
        _ => {}
    }
    if let Some(stat) = name.strip_prefix("webhook_") {
        return match parse_metric(stat)? {
            Metric::Latency {
                stat,
                service: false,
            } => Some(Metric::WebhookLatency(stat)),
            _ => None,
        };
    }
    let (service, stat) = match name.strip_prefix("service_") {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    let stat = match stat {
        "min" => Some(Stat::Min),
        "mean" | "avg" => Some(Stat::Mean),
        "max" => Some(Stat::Max),
        "median" => Some(Stat::Percentile(50.0)),
        s => s
            .strip_prefix('p')
            .and_then(|p| p.parse::<f64>().ok())
            .filter(|p| *p > 0.0 && *p <= 100.0)
            .map(Stat::Percentile),
    };
    if let Some(stat) = stat {
        return Some(Metric::Latency { stat, service });
    }
    if service {
        return None;
    }
    match name {
        "error_rate" => Some(Metric::ErrorRate),
        "rate" => Some(Metric::Rate),
        "count" | "requests" => Some(Metric::Count),
        "errors" => Some(Metric::Errors),
        _ => None,
    }
}

impl Threshold {
    /// Whether it judges webhook deliveries (known only once the grace period is over).
    pub fn is_webhook(&self) -> bool {
        matches!(
            self.metric,
            Metric::WebhookLost | Metric::WebhookDuplicates | Metric::WebhookLatency(_)
        )
    }

    /// Formats a value of this threshold's metric for people.
    pub fn format_value(&self, v: f64) -> String {
        match self.metric {
            Metric::Latency { .. } | Metric::Streaming { .. } | Metric::WebhookLatency(_) => {
                format::micros(v)
            }
            Metric::ErrorRate | Metric::WebhookLost | Metric::WebhookDuplicates => {
                format::percent(v)
            }
            Metric::Rate => format::rate(v),
            Metric::Count | Metric::Errors => format!("{v:.0}"),
        }
    }

    /// The verdict of this threshold on a measured value (`None`: nothing was measured, which
    /// fails: a run with no responses proves nothing).
    pub fn verdict(&self, scope: &str, actual: Option<f64>) -> ThresholdResult {
        let passed = actual.is_some_and(|a| self.op.holds(a, self.limit));
        ThresholdResult {
            scope: scope.to_string(),
            expression: self.text.clone(),
            actual,
            actual_text: actual.map_or_else(|| "no data".to_string(), |a| self.format_value(a)),
            passed,
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The verdict of one threshold on one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    /// `total` or `request:NAME`.
    pub scope: String,
    /// The threshold as written.
    pub expression: String,
    /// The measured value in canonical units (µs, fraction, req/s, count).
    pub actual: Option<f64>,
    /// The measured value formatted for people.
    pub actual_text: String,
    /// Whether it held.
    pub passed: bool,
}

impl ThresholdResult {
    /// What it was judged on, for people: a request's name, `NAME (journey)`, or nothing for
    /// the whole run.
    pub fn scope_name(&self) -> Option<String> {
        match (
            self.scope.strip_prefix("request:"),
            self.scope.strip_prefix("journey:"),
        ) {
            (Some(r), _) => Some(r.to_string()),
            (_, Some(j)) => Some(format!("{j} (journey)")),
            _ => None,
        }
    }
}

/// A threshold with the scope it applies to, as stored with a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdSpec {
    /// `total`, `request:NAME` for one request across its targets, or `journey:NAME` for one
    /// journey's whole iterations.
    pub scope: String,
    /// The expression, e.g. `p95 < 200ms`.
    pub expression: String,
}

/// A threshold parsed once with the scope it applies to (a spec as stored, or why it is invalid).
#[derive(Debug, Clone, PartialEq)]
pub struct Scoped {
    /// `total`, or `request:NAME`.
    pub scope: String,
    /// The expression as stored, for a result when it does not parse.
    pub expression: String,
    /// The parsed threshold, or the parse error.
    pub threshold: Result<Threshold, String>,
}

impl Scoped {
    /// Parses stored specs once, keeping any that do not parse as an error to report.
    pub fn parse_all(specs: &[ThresholdSpec]) -> Vec<Scoped> {
        specs
            .iter()
            .map(|s| Scoped {
                scope: s.scope.clone(),
                expression: s.expression.clone(),
                threshold: s.expression.parse(),
            })
            .collect()
    }

    /// The request it is scoped to, if any.
    pub fn request(&self) -> Option<&str> {
        self.scope.strip_prefix("request:")
    }

    /// The journey it is scoped to, if any (judged on whole iterations).
    pub fn journey(&self) -> Option<&str> {
        self.scope.strip_prefix("journey:")
    }

    /// Its verdict on a measured value; an invalid expression always fails, saying why.
    pub fn verdict(&self, actual: impl FnOnce(&Threshold) -> Option<f64>) -> ThresholdResult {
        match &self.threshold {
            Ok(t) => t.verdict(&self.scope, actual(t)),
            Err(e) => ThresholdResult {
                scope: self.scope.clone(),
                expression: self.expression.clone(),
                actual: None,
                actual_text: format!("invalid: {e}"),
                passed: false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse() {
        let t: Threshold = "p95 < 200ms".parse().unwrap();
        assert_eq!(
            t.metric,
            Metric::Latency {
                stat: Stat::Percentile(95.0),
                service: false
            }
        );
        assert_eq!(t.limit, 200_000.0);
        let t: Threshold = "error_rate<0.1%".parse().unwrap();
        assert_eq!((t.metric, t.op), (Metric::ErrorRate, Op::Lt));
        assert!((t.limit - 0.001).abs() < 1e-12);
        let t: Threshold = "rate >= 900/s".parse().unwrap();
        assert_eq!((t.metric, t.op, t.limit), (Metric::Rate, Op::Ge, 900.0));
        let t: Threshold = "first_event p95 < 500ms".parse().unwrap();
        assert_eq!(
            (t.metric, t.limit),
            (
                Metric::Streaming {
                    stat: Stat::Percentile(95.0),
                    what: Streaming::FirstEvent
                },
                500_000.0
            )
        );
        let t: Threshold = "event_gap max <= 1s".parse().unwrap();
        assert_eq!(
            t.metric,
            Metric::Streaming {
                stat: Stat::Max,
                what: Streaming::EventGap
            }
        );
        assert!("event_gap service_p99 < 1s".parse::<Threshold>().is_err());
        assert!("first_event < 1s".parse::<Threshold>().is_err());
        let t: Threshold = "service_p99.9 <= 1.5s".parse().unwrap();
        assert_eq!(
            t.metric,
            Metric::Latency {
                stat: Stat::Percentile(99.9),
                service: true
            }
        );
        assert!(
            "p95 200ms"
                .parse::<Threshold>()
                .unwrap_err()
                .contains("no comparison")
        );
        assert!(
            "p955 < 1ms"
                .parse::<Threshold>()
                .unwrap_err()
                .contains("unknown metric")
        );
        assert!("p95 < fast".parse::<Threshold>().is_err());
        assert!("error_rate < 5".parse::<Threshold>().is_err());
    }
}
