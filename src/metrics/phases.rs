//! Where a request's time went: a histogram per phase (connect, TLS, write, first byte, transfer;
//! for a streamed answer, its first event and the gaps between events).

use super::*;

/// One part of a request's life, in the order it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// TCP connect (new connections only).
    Connect,
    /// TLS handshake (new https connections only).
    Tls,
    /// Writing the request to the socket (our own HTTP/1.1 client; hyper does not expose it).
    Write,
    /// From the request written (or handed to hyper) to the first byte of the response: the
    /// server's think time plus one network round trip.
    FirstByte,
    /// From the first byte of the response to its last.
    Transfer,
    /// A streamed answer (`stream = "sse"` or `"chunked"`): from the request written to its first
    /// event (an LLM's time to first token).
    FirstEvent,
    /// A streamed answer: between one event and the next (inter-token latency), one sample per gap.
    EventGap,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 7] = [
        Phase::Connect,
        Phase::Tls,
        Phase::Write,
        Phase::FirstByte,
        Phase::Transfer,
        Phase::FirstEvent,
        Phase::EventGap,
    ];
    /// How many phases there are.
    pub const COUNT: usize = Self::ALL.len();

    /// The stable name used in JSON, the store and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Connect => "connect",
            Phase::Tls => "tls",
            Phase::Write => "write",
            Phase::FirstByte => "first_byte",
            Phase::Transfer => "transfer",
            Phase::FirstEvent => "first_event",
            Phase::EventGap => "event_gap",
        }
    }
}

/// The phase histograms of one series over a tick or a run (µs), and the connections it opened.
#[derive(Debug, Clone)]
pub struct Phases {
    /// Indexed like [`Phase::ALL`]; a phase no request went through stays empty.
    pub hist: [Histogram<u64>; Phase::COUNT],
    /// Connections opened (each shows once in `connect`, and in `tls` when https).
    pub new_conns: u64,
}

impl Default for Phases {
    fn default() -> Self {
        Phases {
            hist: std::array::from_fn(|_| new_histogram()),
            new_conns: 0,
        }
    }
}

impl Phases {
    /// The histogram of `phase`.
    pub fn of(&self, phase: Phase) -> &Histogram<u64> {
        &self.hist[phase as usize]
    }

    /// Records `us` in `phase`.
    pub fn record(&mut self, phase: Phase, us: u64) {
        record(&mut self.hist[phase as usize], us);
    }

    /// A streamed answer's events per response: each stream gives one first event and one gap
    /// per event after it. `None` when nothing streamed.
    pub fn events_per_response(&self) -> Option<f64> {
        let streams = self.of(Phase::FirstEvent).len();
        (streams > 0).then(|| 1.0 + self.of(Phase::EventGap).len() as f64 / streams as f64)
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.new_conns == 0 && self.hist.iter().all(Histogram::is_empty)
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Phases) {
        for (a, b) in self.hist.iter_mut().zip(&other.hist) {
            if !b.is_empty() {
                let _ = a.add(b);
            }
        }
        self.new_conns += other.new_conns;
    }

    /// Clears the counts, keeping the histograms' allocated size.
    pub fn reset(&mut self) {
        self.hist.iter_mut().for_each(Histogram::reset);
        self.new_conns = 0;
    }

    /// The phases as one blob for the store: per phase a 4-byte big-endian length and that many
    /// bytes of [`encode_histogram`] (length 0 for an empty phase). `None` when nothing was recorded.
    pub fn encode(&self) -> Option<Vec<u8>> {
        if self.hist.iter().all(Histogram::is_empty) {
            return None;
        }
        let mut out = Vec::new();
        for h in &self.hist {
            let bytes = if h.is_empty() {
                Vec::new()
            } else {
                encode_histogram(h)
            };
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        Some(out)
    }

    /// Adds the counts of an [`Phases::encode`] blob, phase by phase, without building them.
    pub fn add_encoded(&mut self, blob: &[u8]) -> Result<(), String> {
        each_phase(blob, |i, bytes| match self.hist.get_mut(i) {
            Some(h) if !bytes.is_empty() => super::add_encoded(bytes, h),
            _ => Ok(()),
        })
    }

    /// Reads [`Phases::encode`]'s blob back into `self.hist` (every length checked against
    /// what the blob holds; a blob with fewer phases leaves the rest empty).
    pub fn decode_into(&mut self, blob: &[u8]) -> Result<(), String> {
        each_phase(blob, |i, bytes| {
            if let Some(h) = self.hist.get_mut(i) {
                *h = if bytes.is_empty() {
                    new_histogram()
                } else {
                    decode_histogram(bytes)?
                };
            }
            Ok(())
        })
    }
}

/// Walks [`Phases::encode`]'s blob: each phase's index and bytes (empty for an empty phase),
/// every length checked against what the blob holds.
fn each_phase(
    blob: &[u8],
    mut f: impl FnMut(usize, &[u8]) -> Result<(), String>,
) -> Result<(), String> {
    let mut rest = blob;
    for i in 0..Phase::ALL.len() {
        if rest.is_empty() {
            break;
        }
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| format!("phase blob cut short at phase {}", i + 1))?;
        let len = u32::from_be_bytes(*len) as usize;
        let bytes = tail
            .get(..len)
            .ok_or_else(|| format!("phase {} claims more bytes than the blob has", i + 1))?;
        f(i, bytes)?;
        rest = &tail[len..];
    }
    if rest.is_empty() {
        Ok(())
    } else {
        Err("phase blob has bytes past its last phase".into())
    }
}

/// One phase over a run, as people read it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseSummary {
    /// Requests that went through this phase.
    pub samples: u64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
    /// Mean, ms.
    pub mean_ms: f64,
}

impl PhaseSummary {
    /// Summarises a µs histogram.
    pub fn of(h: &Histogram<u64>) -> PhaseSummary {
        if h.is_empty() {
            return PhaseSummary::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        PhaseSummary {
            samples: h.len(),
            p50_ms: ms(h.value_at_quantile(0.5)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }
}

/// A series' phases over a run: `run --json`'s and the report's `phases`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhasesSummary {
    /// TCP connect of the connections opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<PhaseSummary>,
    /// TLS handshakes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<PhaseSummary>,
    /// Request writes (our own HTTP/1.1 client only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<PhaseSummary>,
    /// Request written → first response byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_byte: Option<PhaseSummary>,
    /// First → last response byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<PhaseSummary>,
    /// A streamed answer: request written → its first event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_event: Option<PhaseSummary>,
    /// A streamed answer: the gaps between its events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_gap: Option<PhaseSummary>,
    /// A streamed answer: events per response (first events and gaps over the responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_per_response: Option<f64>,
    /// Connections opened.
    pub new_connections: u64,
    /// Connections opened per measured second.
    pub new_connections_per_s: f64,
}

impl PhasesSummary {
    /// Summarises a series' phases over `seconds`; `None` when none was recorded (imports).
    pub fn of(p: &Phases, seconds: f64) -> Option<PhasesSummary> {
        if p.is_empty() {
            return None;
        }
        let one = |phase: Phase| {
            let h = p.of(phase);
            (!h.is_empty()).then(|| PhaseSummary::of(h))
        };
        Some(PhasesSummary {
            connect: one(Phase::Connect),
            tls: one(Phase::Tls),
            write: one(Phase::Write),
            first_byte: one(Phase::FirstByte),
            transfer: one(Phase::Transfer),
            first_event: one(Phase::FirstEvent),
            event_gap: one(Phase::EventGap),
            events_per_response: p.events_per_response(),
            new_connections: p.new_conns,
            new_connections_per_s: if seconds > 0.0 {
                p.new_conns as f64 / seconds
            } else {
                0.0
            },
        })
    }

    /// The phases that were measured, in order, with their figures.
    pub fn rows(&self) -> Vec<(Phase, &PhaseSummary)> {
        Phase::ALL
            .into_iter()
            .zip([
                &self.connect,
                &self.tls,
                &self.write,
                &self.first_byte,
                &self.transfer,
                &self.first_event,
                &self.event_gap,
            ])
            .filter_map(|(p, s)| s.as_ref().map(|s| (p, s)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blob_round_trips_and_hostile_blobs_are_refused() {
        let mut p = Phases::default();
        p.record(Phase::Connect, 120);
        p.record(Phase::FirstByte, 20_000);
        p.record(Phase::FirstByte, 21_000);
        p.record(Phase::Transfer, 40);
        let blob = p.encode().expect("recorded");
        let mut back = Phases::default();
        back.decode_into(&blob).expect("decodes");
        for phase in Phase::ALL {
            assert_eq!(back.of(phase).len(), p.of(phase).len(), "{phase:?}");
        }
        assert!(Phases::default().encode().is_none());
        let mut x = Phases::default();
        assert!(x.decode_into(&blob[..blob.len() - 3]).is_err());
        assert!(x.decode_into(&[0, 0, 0, 0, 9]).is_err());
        assert!(x.decode_into(&[255, 255, 255, 255]).is_err());
        let mut junk = blob.clone();
        junk.push(1);
        assert!(x.decode_into(&junk).is_err());
    }
}
