//! Live metrics out to a DogStatsD agent (Datadog): each second's figures, sent by the run's
//! consumer once the tick is made — never from the engine, never blocking, a lost packet counted.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};

use crate::metrics::{Key, Tick, quantiles};

/// Largest datagram sent: under the common 1,500-byte MTU with room for the headers.
const MAX_PACKET: usize = 1432;

/// Where the figures go, and what went wrong sending them.
pub struct Statsd {
    socket: UdpSocket,
    to: SocketAddr,
    scenario: String,
    keys: Vec<Key>,
    /// The journeys, whose whole iterations go out under their own names.
    journeys: Vec<String>,
    /// Datagrams sent.
    pub sent: u64,
    /// Datagrams the socket refused (full buffer, no route), and the first reason.
    pub failed: (u64, Option<String>),
}

/// A tag value as DogStatsD takes it: `,`, `|`, `#`, `:` and spaces would break the line.
fn tag(v: &str) -> String {
    v.chars()
        .map(|c| {
            if matches!(c, ',' | '|' | '#' | ':' | ' ' | '\n') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

impl Statsd {
    /// A sender to `addr` (`host:port`), tagging every metric with the scenario and each series'
    /// request and target.
    pub fn new(addr: &str, scenario: &str, keys: &[Key]) -> Result<Statsd, String> {
        let to = addr
            .to_socket_addrs()
            .map_err(|e| format!("--statsd {addr}: {e} (expected HOST:PORT, e.g. 127.0.0.1:8125)"))?
            .next()
            .ok_or_else(|| format!("--statsd {addr}: the name resolves to no address"))?;
        let local: SocketAddr = if to.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let socket = UdpSocket::bind(local).map_err(|e| format!("--statsd {addr}: {e}"))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| format!("--statsd {addr}: {e}"))?;
        Ok(Statsd {
            socket,
            to,
            scenario: tag(scenario),
            keys: keys.to_vec(),
            journeys: Vec::new(),
            sent: 0,
            failed: (0, None),
        })
    }

    /// Sends the journeys' whole iterations too, as `loadbench.journey.*` tagged `journey:NAME`
    /// (apart from the requests' metrics, so no sum over them counts an iteration).
    pub fn with_journeys(mut self, names: &[String]) -> Statsd {
        self.journeys = names.to_vec();
        self
    }

    /// The lines for one tick: per series and for all together, the successful responses per
    /// second, p50/p95/p99 (ms), errors by kind (counts), and requests in flight; per journey
    /// the same of its iterations.
    pub fn lines(&self, t: &Tick) -> Vec<String> {
        let phase = if t.warmup { "warmup" } else { "measured" };
        let base = format!("scenario:{},phase:{phase}", self.scenario);
        let mut out = vec![format!("loadbench.in_flight:{}|g|#{base}", t.in_flight)];
        let total = t.total();
        let series = self
            .keys
            .iter()
            .zip(&t.stats)
            .map(|(k, st)| {
                (
                    format!(
                        "{base},request:{},target:{}",
                        tag(&k.request),
                        tag(&k.target)
                    ),
                    st,
                )
            })
            .chain(std::iter::once((
                format!("{base},request:all,target:all"),
                &total,
            )))
            .map(|(tags, st)| ("loadbench", tags, st));
        let journeys = self.journeys.iter().zip(&t.journeys).map(|(j, st)| {
            (
                "loadbench.journey",
                format!("{base},journey:{}", tag(j)),
                st,
            )
        });
        for (prefix, tags, st) in series.chain(journeys) {
            let count = if prefix == "loadbench" {
                "requests"
            } else {
                "iterations"
            };
            let latency = if prefix == "loadbench" {
                "latency"
            } else {
                "duration"
            };
            out.push(format!(
                "{prefix}.rate:{:.3}|g|#{tags}",
                t.per_second(st.requests.saturating_sub(st.errors))
            ));
            out.push(format!("{prefix}.{count}:{}|c|#{tags}", st.requests));
            if !st.latency.is_empty() {
                let q = quantiles(&st.latency);
                for (name, us) in [("p50", q[0]), ("p95", q[2]), ("p99", q[3])] {
                    out.push(format!(
                        "{prefix}.{latency}.{name}:{:.3}|g|#{tags}",
                        us as f64 / 1000.0
                    ));
                }
            }
            for (kind, n) in st.error_counts() {
                out.push(format!("{prefix}.errors:{n}|c|#{tags},kind:{}", tag(&kind)));
            }
        }
        out
    }

    /// Sends one tick's lines, several to a datagram; never waits (a full socket buffer drops
    /// the datagram and counts it).
    pub fn send(&mut self, t: &Tick) {
        let mut packet = String::new();
        for line in self.lines(t) {
            if !packet.is_empty() && packet.len() + 1 + line.len() > MAX_PACKET {
                self.flush(&packet);
                packet.clear();
            }
            if !packet.is_empty() {
                packet.push('\n');
            }
            packet.push_str(&line);
        }
        if !packet.is_empty() {
            self.flush(&packet);
        }
    }

    fn flush(&mut self, packet: &str) {
        match self.socket.send_to(packet.as_bytes(), self.to) {
            Ok(_) => self.sent += 1,
            Err(e) => {
                self.failed.0 += 1;
                self.failed.1.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_every_series_with_tags_that_cannot_break_the_format() {
        let keys = vec![Key {
            request: "get items, page|2".into(),
            target: "api".into(),
        }];
        let s = Statsd::new("127.0.0.1:9", "checkout #1", &keys).expect("socket");
        let mut st = crate::metrics::Stats::default();
        for _ in 0..10 {
            crate::metrics::record(&mut st.latency, 2_000);
        }
        st.requests = 10;
        let t = Tick {
            index: 1,
            end: 1.0,
            seconds: 1.0,
            drain: 0.0,
            warmup: false,
            target: 10.0,
            in_flight: 3,
            not_started: 0,
            stats: vec![st],
            journeys: Vec::new(),
        };
        let lines = s.lines(&t);
        assert!(
            lines.contains(
                &"loadbench.in_flight:3|g|#scenario:checkout__1,phase:measured".to_string()
            ),
            "{lines:?}"
        );
        let tags = "#scenario:checkout__1,phase:measured,request:get_items__page_2,target:api";
        assert!(
            lines.contains(&format!("loadbench.rate:10.000|g|{tags}")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("loadbench.latency.p95:2.") && l.ends_with(tags)),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l.ends_with("request:all,target:all")));
        // A journey's iterations: their own names, so no sum over requests counts them.
        let s = s.with_journeys(&["check out".to_string()]);
        let mut it = crate::metrics::Stats::default();
        it.record_response(200, 80_000, 1_000, None);
        it.record_failure(crate::metrics::ErrorKind::Extract, 40_000, Some(900));
        let t = Tick {
            journeys: vec![it],
            ..t
        };
        let lines = s.lines(&t);
        let tags = "#scenario:checkout__1,phase:measured,journey:check_out";
        for want in [
            format!("loadbench.journey.rate:1.000|g|{tags}"),
            format!("loadbench.journey.iterations:2|c|{tags}"),
            format!("loadbench.journey.errors:1|c|{tags},kind:extract"),
        ] {
            assert!(lines.contains(&want), "{want} in {lines:?}");
        }
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("loadbench.journey.duration.p99:80.") && l.ends_with(tags)),
            "{lines:?}"
        );
        assert!(Statsd::new("no-such-host.invalid:8125", "x", &[]).is_err());
        assert!(
            Statsd::new("127.0.0.1", "x", &[]).is_err(),
            "a port is needed"
        );
    }
}
