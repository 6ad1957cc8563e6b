//! Webhook delivery bookkeeping: which ids were sent and accepted, which came back, how late,
//! twice or out of order; per second and for the run.

use std::sync::Mutex;
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::{LatencySummary, new_histogram, record};

/// Ids above this request number are not tracked (a bit each for sent, accepted and delivered:
/// 3 × 64 MiB at most), so a run of billions of requests cannot exhaust memory.
const MAX_TRACKED: u64 = 1 << 29;

/// A run's webhook deliveries, as the summary and `run --json` give them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookSummary {
    /// Requests that carried a webhook id and were answered successfully: deliveries expected.
    pub triggered: u64,
    /// Distinct ids that arrived (a duplicate counts once here).
    pub delivered: u64,
    /// Expected ids that had not arrived when the grace period after the run ended.
    pub lost: u64,
    /// `lost ÷ triggered` (0 when nothing was triggered).
    pub lost_rate: f64,
    /// Deliveries of an id that had already arrived.
    pub duplicates: u64,
    /// Deliveries that arrived after one triggered later had.
    pub out_of_order: u64,
    /// Callbacks that carried no id of this run, or an id it never sent.
    pub unknown: u64,
    /// Trigger (the request sent) → first delivery of its id.
    pub latency: LatencySummary,
    /// How long after the load ended deliveries were waited for, s.
    pub grace_s: f64,
}

/// Column names of [`WebhookSummary::rows`].
pub const WEBHOOK_COLUMNS: [&str; 10] = [
    "webhooks",
    "delivered",
    "lost",
    "duplicates",
    "out of order",
    "unknown",
    "delivery p50",
    "delivery p95",
    "delivery p99",
    "delivery max",
];

impl WebhookSummary {
    /// Its table row: what was triggered, what became of it, how long delivery took.
    pub fn rows(&self) -> Vec<Vec<String>> {
        let share = |n: u64| {
            if self.triggered == 0 {
                n.to_string()
            } else {
                format!(
                    "{n} ({})",
                    crate::format::percent(n as f64 / self.triggered as f64)
                )
            }
        };
        let ms = |v: f64| {
            if self.latency.samples == 0 {
                "-".to_string()
            } else {
                crate::format::micros(v * 1000.0)
            }
        };
        vec![vec![
            format!("{} triggered", self.triggered),
            self.delivered.to_string(),
            share(self.lost),
            share(self.duplicates),
            self.out_of_order.to_string(),
            self.unknown.to_string(),
            ms(self.latency.p50_ms),
            ms(self.latency.p95_ms),
            ms(self.latency.p99_ms),
            ms(self.latency.max_ms),
        ]]
    }
}

/// One second's deliveries, for the per-second series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookSecond {
    /// First deliveries.
    pub delivered: u64,
    /// Repeated deliveries.
    pub duplicates: u64,
    /// Deliveries overtaken by later triggers.
    pub out_of_order: u64,
    /// Callbacks without an id of this run.
    pub unknown: u64,
    /// Delivery latency p99 this second, ms (`None` with no delivery).
    pub p99_ms: Option<f64>,
}

/// Bits that grow as ids are numbered.
#[derive(Default)]
struct Bits(Vec<u64>);

impl Bits {
    fn set(&mut self, i: u64) -> bool {
        let (w, b) = ((i / 64) as usize, 1u64 << (i % 64));
        if w >= self.0.len() {
            self.0.resize(w + 1, 0);
        }
        let was = self.0[w] & b != 0;
        self.0[w] |= b;
        was
    }

    fn get(&self, i: u64) -> bool {
        self.0
            .get((i / 64) as usize)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn count(&self) -> u64 {
        self.0.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// Set here and not in `other`.
    fn count_without(&self, other: &Bits) -> u64 {
        self.0
            .iter()
            .enumerate()
            .map(|(i, w)| u64::from((w & !other.0.get(i).copied().unwrap_or(0)).count_ones()))
            .sum()
    }
}

#[derive(Default)]
struct Inner {
    sent: Bits,
    accepted: Bits,
    arrived: Bits,
    /// The latest trigger time (µs since the start) of any delivery so far.
    latest_trigger_us: u64,
    duplicates: u64,
    out_of_order: u64,
    unknown: u64,
    latency: Option<Histogram<u64>>,
    second: WebhookSecond,
    second_latency: Option<Histogram<u64>>,
}

/// The ids of one run (`lbwh-<run>-<request>-<µs>`) and what became of them; shared by the
/// workers (who send and accept) and the receiver (who sees them arrive).
pub struct Ledger {
    /// `lbwh-<run>-`: what every id of this run starts with.
    prefix: String,
    /// The URL the system under test is to call back.
    pub url: String,
    started: Instant,
    inner: Mutex<Inner>,
}

impl Ledger {
    /// A ledger for a run started at `started`, its receiver at `url`, its ids marked by `run`.
    pub fn new(url: String, run: u32, started: Instant) -> Ledger {
        Ledger {
            prefix: format!("lbwh-{run:08x}-"),
            url,
            started,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The id of request `seq`, sent now; writes it to `out`.
    pub fn issue(&self, seq: u64, out: &mut String) {
        use std::fmt::Write;
        let at = self.started.elapsed().as_micros() as u64;
        let _ = write!(out, "{}{seq:x}-{at:x}", self.prefix);
        if seq < MAX_TRACKED {
            self.lock().sent.set(seq);
        }
    }

    /// Request `seq` was answered successfully: its delivery is expected.
    pub fn accept(&self, seq: u64) {
        if seq < MAX_TRACKED {
            self.lock().accepted.set(seq);
        }
    }

    /// A callback arrived carrying `text` (its path, headers and body): every id of this run in
    /// it is counted; a callback with none is `unknown`.
    pub fn arrived(&self, text: &[u8]) {
        let now = self.started.elapsed().as_micros() as u64;
        let mut inner = self.lock();
        let mut found = false;
        // An id echoed twice in one callback (a field and a header) is one delivery.
        let mut ids: Vec<(u64, u64)> = ids_in(text, self.prefix.as_bytes()).take(64).collect();
        ids.sort_unstable();
        ids.dedup();
        for (seq, at) in ids {
            if seq >= MAX_TRACKED || !inner.sent.get(seq) || at > now {
                continue;
            }
            found = true;
            if inner.arrived.set(seq) {
                inner.duplicates += 1;
                inner.second.duplicates += 1;
                continue;
            }
            inner.second.delivered += 1;
            if at < inner.latest_trigger_us {
                inner.out_of_order += 1;
                inner.second.out_of_order += 1;
            }
            inner.latest_trigger_us = inner.latest_trigger_us.max(at);
            let late = now - at;
            record(inner.latency.get_or_insert_with(new_histogram), late);
            record(inner.second_latency.get_or_insert_with(new_histogram), late);
        }
        if !found {
            inner.unknown += 1;
            inner.second.unknown += 1;
        }
    }

    /// Deliveries expected and not yet arrived.
    pub fn outstanding(&self) -> u64 {
        let inner = self.lock();
        inner.accepted.count_without(&inner.arrived)
    }

    /// This second's figures, starting the next second.
    pub fn take_second(&self) -> WebhookSecond {
        let mut inner = self.lock();
        let mut s = std::mem::take(&mut inner.second);
        s.p99_ms = inner
            .second_latency
            .take()
            .map(|h| h.value_at_quantile(0.99) as f64 / 1000.0);
        s
    }

    /// A statistic of the delivery latency, µs (`None` before any delivery).
    pub fn latency_us(&self, stat: crate::thresholds::Stat) -> Option<f64> {
        use crate::thresholds::Stat;
        let inner = self.lock();
        let h = inner.latency.as_ref().filter(|h| !h.is_empty())?;
        Some(match stat {
            Stat::Min => h.min() as f64,
            Stat::Mean => h.mean(),
            Stat::Max => h.max() as f64,
            Stat::Percentile(p) => h.value_at_quantile(p / 100.0) as f64,
        })
    }

    /// The run's figures, after `grace_s` of waiting for the last deliveries.
    pub fn summary(&self, grace_s: f64) -> WebhookSummary {
        let inner = self.lock();
        let triggered = inner.accepted.count();
        let lost = inner.accepted.count_without(&inner.arrived);
        WebhookSummary {
            triggered,
            delivered: inner.arrived.count(),
            lost,
            lost_rate: if triggered == 0 {
                0.0
            } else {
                lost as f64 / triggered as f64
            },
            duplicates: inner.duplicates,
            out_of_order: inner.out_of_order,
            unknown: inner.unknown,
            latency: inner
                .latency
                .as_ref()
                .map(LatencySummary::from_histogram)
                .unwrap_or_default(),
            grace_s,
        }
    }
}

impl crate::scenario::template::WebhookIds for Ledger {
    fn url(&self) -> &str {
        &self.url
    }

    fn issue(&self, seq: u64, out: &mut String) {
        Ledger::issue(self, seq, out);
    }
}

/// Every `<prefix><seq hex>-<µs hex>` in `text`.
fn ids_in<'a>(text: &'a [u8], prefix: &'a [u8]) -> impl Iterator<Item = (u64, u64)> + 'a {
    let mut rest = text;
    std::iter::from_fn(move || {
        loop {
            let at = rest.windows(prefix.len()).position(|w| w == prefix)?;
            rest = &rest[at + prefix.len()..];
            let hex = |s: &[u8]| -> (Option<u64>, usize) {
                let n = s.iter().take_while(|b| b.is_ascii_hexdigit()).count();
                let v = std::str::from_utf8(&s[..n])
                    .ok()
                    .filter(|t| !t.is_empty() && t.len() <= 16)
                    .and_then(|t| u64::from_str_radix(t, 16).ok());
                (v, n)
            };
            let (seq, n) = hex(rest);
            if rest.get(n) != Some(&b'-') {
                continue;
            }
            let (at_us, m) = hex(&rest[n + 1..]);
            if let (Some(seq), Some(at_us)) = (seq, at_us) {
                rest = &rest[n + 1 + m..];
                return Some((seq, at_us));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_counted_and_judged() {
        let l = Ledger::new("http://x".into(), 0xab, Instant::now());
        let mut ids = Vec::new();
        for seq in 0..4 {
            let mut id = String::new();
            l.issue(seq, &mut id);
            assert!(id.starts_with("lbwh-000000ab-"), "{id}");
            ids.push(id);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        for seq in 0..3 {
            l.accept(seq);
        }
        assert_eq!(l.outstanding(), 3);
        // In a JSON body, twice in one callback (one delivery), then again (a duplicate).
        l.arrived(format!(r#"{{"id":"{}","again":"{}"}}"#, ids[1], ids[1]).as_bytes());
        l.arrived(format!("x-webhook-id: {}", ids[1]).as_bytes());
        // Triggered before the one already delivered: out of order.
        l.arrived(ids[0].as_bytes());
        // Not of this run, never sent, malformed.
        l.arrived(b"lbwh-000000ac-1-10");
        l.arrived(b"lbwh-000000ab-ff-10");
        l.arrived(b"lbwh-000000ab-zz");
        let s = l.summary(1.0);
        assert_eq!(
            (
                s.triggered,
                s.delivered,
                s.lost,
                s.duplicates,
                s.out_of_order,
                s.unknown
            ),
            (3, 2, 1, 1, 1, 3)
        );
        assert!((s.lost_rate - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(s.latency.samples, 2);
        let sec = l.take_second();
        assert_eq!(sec.delivered, 2);
        assert!(sec.p99_ms.is_some());
        assert_eq!(l.take_second(), WebhookSecond::default());
    }
}
