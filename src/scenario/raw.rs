//! The scenario file as written (serde, with spans), before validation gives it meaning.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use crate::format::parse_duration;

/// A duration written as text ("10s").
#[derive(Debug, Clone, Copy)]
pub(super) struct Dur(pub(super) Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"10s\", \"250ms\" or \"1m30s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write \"{v}s\" or \"{v}ms\", not {v}"
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write \"{v}s\", not {v}"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string, number or boolean, kept as text (query values).
#[derive(Debug, Clone)]
pub(super) struct Scalar(pub(super) String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) description: String,
    pub(super) duration: Option<Spanned<Dur>>,
    pub(super) warmup: Option<Spanned<Dur>>,
    pub(super) timeout: Option<Spanned<Dur>>,
    pub(super) drain: Option<Spanned<Dur>>,
    #[serde(default)]
    pub(super) retry_idempotent: bool,
    pub(super) targets: Spanned<BTreeMap<Spanned<String>, Spanned<RawTarget>>>,
    pub(super) requests: Option<Spanned<Vec<Spanned<RawRequest>>>>,
    #[serde(default)]
    pub(super) journeys: Vec<Spanned<RawJourney>>,
    pub(super) load: Spanned<RawLoad>,
    #[serde(default)]
    pub(super) thresholds: Vec<Spanned<RawThreshold>>,
    #[serde(default)]
    pub(super) engine: RawEngine,
    pub(super) data: Option<Spanned<RawData>>,
    pub(super) monitor: Option<Spanned<RawMonitor>>,
    pub(super) webhooks: Option<Spanned<super::webhooks::RawWebhooks>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMonitor {
    #[serde(default)]
    pub(super) prometheus: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) metrics: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) processes: Vec<Spanned<Scalar>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawData {
    pub(super) file: Spanned<String>,
    pub(super) order: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEngine {
    pub(super) threads: Option<Spanned<u32>>,
}

#[derive(Default)]
pub(super) struct RawTarget {
    pub(super) url: Option<Spanned<String>>,
    pub(super) demo: Option<RawDemo>,
    pub(super) ca_file: Option<Spanned<String>>,
    pub(super) insecure: bool,
    pub(super) http: Option<Spanned<String>>,
    pub(super) streams: Option<Spanned<i64>>,
    pub(super) proxy: Option<Spanned<String>>,
    pub(super) proxy_delay: Option<Spanned<Dur>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTargetTable {
    pub(super) url: Option<Spanned<String>>,
    pub(super) demo: Option<RawDemo>,
    pub(super) ca_file: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) insecure: bool,
    pub(super) http: Option<Spanned<String>>,
    pub(super) streams: Option<Spanned<i64>>,
    pub(super) proxy: Option<Spanned<String>>,
    pub(super) proxy_delay: Option<Spanned<Dur>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDemo {
    #[serde(default)]
    pub(super) tls: bool,
    pub(super) stall_every: Option<Dur>,
    pub(super) stall_for: Option<Dur>,
    pub(super) flaky_rate: Option<f64>,
    pub(super) delay: Option<Dur>,
}

impl<'de> Deserialize<'de> for RawTarget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawTarget;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base URL such as \"http://127.0.0.1:8080\", \"demo\", or a table with url, demo, ca_file, insecure, http, streams, proxy, proxy_delay")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawTarget, E> {
                Ok(RawTarget {
                    url: Some(Spanned::new(0..0, v.to_string())),
                    ..RawTarget::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawTarget, A::Error> {
                let t = RawTargetTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawTarget {
                    url: t.url,
                    demo: t.demo,
                    ca_file: t.ca_file,
                    insecure: t.insecure,
                    http: t.http,
                    streams: t.streams,
                    proxy: t.proxy,
                    proxy_delay: t.proxy_delay,
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRequest {
    pub(super) name: Spanned<String>,
    pub(super) target: Option<Spanned<String>>,
    pub(super) method: Option<Spanned<String>>,
    pub(super) path: Spanned<String>,
    #[serde(default)]
    pub(super) query: BTreeMap<String, Spanned<Scalar>>,
    #[serde(default)]
    pub(super) headers: BTreeMap<Spanned<String>, Spanned<String>>,
    pub(super) body: Option<Spanned<String>>,
    pub(super) json: Option<Spanned<toml::Value>>,
    pub(super) weight: Option<Spanned<i64>>,
    pub(super) stream: Option<Spanned<String>>,
    pub(super) split_by: Option<Spanned<RawSplit>>,
    #[serde(default)]
    pub(super) checks: Vec<Spanned<RawCheck>>,
    #[serde(default)]
    pub(super) thresholds: Vec<Spanned<RawThreshold>>,
    /// Journey steps only: values taken from the answer.
    #[serde(default)]
    pub(super) extract: Vec<Spanned<RawExtract>>,
    /// Journey steps only: the pause before the next step.
    pub(super) think_time: Option<Spanned<Dur>>,
}

/// `extract = [{ var = "token", json = "$.token" }]` (or `header`, `regex`, `cookie`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExtract {
    pub(super) var: Spanned<String>,
    pub(super) json: Option<Spanned<String>>,
    pub(super) header: Option<Spanned<String>>,
    pub(super) regex: Option<Spanned<String>>,
    pub(super) cookie: Option<Spanned<String>>,
}

/// `[[journeys]]`: steps run in order as one iteration.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJourney {
    pub(super) name: Spanned<String>,
    pub(super) weight: Option<Spanned<i64>>,
    pub(super) target: Option<Spanned<String>>,
    pub(super) steps: Spanned<Vec<Spanned<RawRequest>>>,
    /// Rules on whole iterations (`journey:NAME`).
    #[serde(default)]
    pub(super) thresholds: Vec<Spanned<RawThreshold>>,
}

/// `split_by = { header = "x-cache", values = ["HIT", "MISS"] }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSplit {
    pub(super) header: Spanned<String>,
    pub(super) values: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCheck {
    pub(super) status: Option<Spanned<OneOrMany>>,
    pub(super) body_contains: Option<String>,
    pub(super) json: Option<Spanned<String>>,
    pub(super) equals: Option<toml::Value>,
    pub(super) latency: Option<Spanned<String>>,
}

/// A status code or a list of them.
pub(super) struct OneOrMany(pub(super) Vec<i64>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a status code such as 200, or a list such as [200, 204]")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![i64::try_from(v).unwrap_or(i64::MAX)]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<i64>()? {
                    out.push(v);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLoad {
    pub(super) model: Spanned<String>,
    pub(super) rate: Option<Spanned<f64>>,
    pub(super) vus: Option<Spanned<u32>>,
    pub(super) start: Option<Spanned<f64>>,
    pub(super) stages: Option<Spanned<Vec<Spanned<RawStage>>>>,
    pub(super) max_in_flight: Option<Spanned<u32>>,
    pub(super) think_time: Option<Spanned<RawThink>>,
    pub(super) arrivals: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStage {
    pub(super) duration: Dur,
    pub(super) target: Spanned<f64>,
}

pub(super) struct RawThink(pub(super) Duration, pub(super) Duration);

impl<'de> Deserialize<'de> for RawThink {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Range {
            min: Dur,
            max: Dur,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawThink;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"1s\", or { min = \"500ms\", max = \"2s\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawThink, E> {
                let d = parse_duration(v).map_err(E::custom)?;
                Ok(RawThink(d, d))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawThink, A::Error> {
                let r = Range::deserialize(de::value::MapAccessDeserializer::new(map))?;
                if r.min.0 > r.max.0 {
                    return Err(de::Error::custom("think_time: min must not exceed max"));
                }
                Ok(RawThink(r.min.0, r.max.0))
            }
        }
        d.deserialize_any(V)
    }
}

/// A threshold as written: `"p95 < 200ms"`, or a table that can stop the run when it fails:
/// `{ threshold = "error_rate < 5%", abort = true, after = "5s" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawThreshold {
    Text(String),
    Table(RawThresholdTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawThresholdTable {
    pub(super) threshold: String,
    #[serde(default)]
    pub(super) abort: bool,
    pub(super) after: Option<String>,
}
