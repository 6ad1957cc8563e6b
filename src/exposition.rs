//! The run's latest second as a Prometheus text exposition, served on a local port while the run
//! goes (`run --metrics-listen`): what a Prometheus server or a Datadog agent's OpenMetrics check
//! scrapes. Updated once a second by the run's consumer; served by its own thread.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::metrics::{Key, Tick, quantiles};

/// A label value escaped as the text format wants it.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exposition served, and the running totals its counters carry.
pub struct Exposition {
    page: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    scenario: String,
    keys: Vec<Key>,
    /// Requests and errors so far per series (counters only grow).
    totals: Vec<(u64, u64)>,
    /// The journeys, with their iterations and failed ones so far.
    journeys: Vec<(String, (u64, u64))>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Drop for Exposition {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Exposition {
    /// Listens on `addr` (`127.0.0.1:9464`; port 0 picks one) and serves the page on every path.
    pub fn listen(addr: &str, scenario: &str, keys: &[Key]) -> Result<Exposition, String> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            format!("--metrics-listen {addr}: {e} (expected HOST:PORT, e.g. 127.0.0.1:9464)")
        })?;
        let bound = listener
            .local_addr()
            .map_err(|e| format!("--metrics-listen {addr}: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("--metrics-listen {addr}: {e}"))?;
        let page = Arc::new(Mutex::new(String::from("# no second measured yet\n")));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (page.clone(), stop.clone());
        std::thread::Builder::new()
            .name("loadbench-metrics".into())
            .spawn(move || serve(&listener, &p, &s))
            .map_err(|e| format!("--metrics-listen {addr}: {e}"))?;
        Ok(Exposition {
            page,
            stop,
            scenario: scenario.to_string(),
            keys: keys.to_vec(),
            totals: vec![(0, 0); keys.len()],
            journeys: Vec::new(),
            addr: bound,
        })
    }

    /// Serves the journeys' whole iterations too, as `loadbench_journey_*` labelled
    /// `journey="NAME"` (apart from the requests', so no sum over them counts an iteration).
    pub fn with_journeys(mut self, names: &[String]) -> Exposition {
        self.journeys = names.iter().map(|n| (n.clone(), (0, 0))).collect();
        self
    }

    /// Takes a new second into the page.
    pub fn update(&mut self, t: &Tick) {
        let text = self.render(t);
        if let Ok(mut page) = self.page.lock() {
            *page = text;
        }
    }

    fn render(&mut self, t: &Tick) -> String {
        let scenario = label(&self.scenario);
        let phase = if t.warmup { "warmup" } else { "measured" };
        let mut out = String::new();
        let mut gauge = |name: &str, help: &str| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        };
        gauge(
            "loadbench_in_flight",
            "Most requests in flight in the last second.",
        );
        let _ = std::fmt::Write::write_fmt(
            &mut out,
            format_args!(
                "loadbench_in_flight{{scenario=\"{scenario}\",phase=\"{phase}\"}} {}\n",
                t.in_flight
            ),
        );
        let mut rate = String::from(
            "# HELP loadbench_rate Successful responses per second in the last second.\n# TYPE loadbench_rate gauge\n",
        );
        let mut latency = String::from(
            "# HELP loadbench_latency_seconds Corrected latency quantiles of the last second.\n# TYPE loadbench_latency_seconds gauge\n",
        );
        let mut requests = String::from(
            "# HELP loadbench_requests_total Requests ended since the run began.\n# TYPE loadbench_requests_total counter\n",
        );
        let mut errors = String::from(
            "# HELP loadbench_errors_total Requests that were errors since the run began.\n# TYPE loadbench_errors_total counter\n",
        );
        for ((k, st), total) in self.keys.iter().zip(&t.stats).zip(self.totals.iter_mut()) {
            total.0 += st.requests;
            total.1 += st.errors;
            let series = format!(
                "scenario=\"{scenario}\",request=\"{}\",target=\"{}\"",
                label(&k.request),
                label(&k.target)
            );
            // Gauges say which phase their second was in; counters run across both, so a
            // phase label would split one counter in two.
            let labels = format!("{series},phase=\"{phase}\"");
            let per_s = t.per_second(st.requests.saturating_sub(st.errors));
            rate.push_str(&format!("loadbench_rate{{{labels}}} {per_s}\n"));
            if !st.latency.is_empty() {
                let q = quantiles(&st.latency);
                for (name, us) in [("0.5", q[0]), ("0.95", q[2]), ("0.99", q[3])] {
                    latency.push_str(&format!(
                        "loadbench_latency_seconds{{{labels},quantile=\"{name}\"}} {}\n",
                        us as f64 / 1e6
                    ));
                }
            }
            requests.push_str(&format!(
                "loadbench_requests_total{{{series}}} {}\n",
                total.0
            ));
            errors.push_str(&format!("loadbench_errors_total{{{series}}} {}\n", total.1));
        }
        out + &rate + &latency + &requests + &errors + &self.render_journeys(t, &scenario, phase)
    }

    /// The journeys' part of the page: iterations per second, their duration's quantiles, and
    /// iterations and failed ones so far.
    fn render_journeys(&mut self, t: &Tick, scenario: &str, phase: &str) -> String {
        if self.journeys.is_empty() {
            return String::new();
        }
        let mut rate = String::from(
            "# HELP loadbench_journey_rate Successful journey iterations per second in the last second.\n# TYPE loadbench_journey_rate gauge\n",
        );
        let mut duration = String::from(
            "# HELP loadbench_journey_duration_seconds Whole-iteration duration quantiles of the last second.\n# TYPE loadbench_journey_duration_seconds gauge\n",
        );
        let mut counters = String::from(
            "# HELP loadbench_journey_iterations_total Journey iterations ended since the run began.\n# TYPE loadbench_journey_iterations_total counter\n# HELP loadbench_journey_errors_total Journey iterations that failed since the run began.\n# TYPE loadbench_journey_errors_total counter\n",
        );
        for ((name, total), st) in self.journeys.iter_mut().zip(&t.journeys) {
            total.0 += st.requests;
            total.1 += st.errors;
            let series = format!("scenario=\"{scenario}\",journey=\"{}\"", label(name));
            let labels = format!("{series},phase=\"{phase}\"");
            let per_s = t.per_second(st.requests.saturating_sub(st.errors));
            rate.push_str(&format!("loadbench_journey_rate{{{labels}}} {per_s}\n"));
            if !st.latency.is_empty() {
                let q = quantiles(&st.latency);
                for (name, us) in [("0.5", q[0]), ("0.95", q[2]), ("0.99", q[3])] {
                    duration.push_str(&format!(
                        "loadbench_journey_duration_seconds{{{labels},quantile=\"{name}\"}} {}\n",
                        us as f64 / 1e6
                    ));
                }
            }
            counters.push_str(&format!(
                "loadbench_journey_iterations_total{{{series}}} {}\nloadbench_journey_errors_total{{{series}}} {}\n",
                total.0, total.1
            ));
        }
        rate + &duration + &counters
    }
}

/// Answers every connection with the page (HTTP/1.0 style: the body, then close) until stopped.
fn serve(listener: &TcpListener, page: &Mutex<String>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((mut conn, _)) => {
                let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
                let _ = conn.set_nonblocking(false);
                // The request itself says nothing this page depends on: read what came, answer.
                let mut buf = [0u8; 2048];
                let _ = conn.read(&mut buf);
                let body = page.lock().map(|p| p.clone()).unwrap_or_default();
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journeys_are_served_under_their_own_names() {
        let keys = vec![Key {
            request: "items/login".into(),
            target: "api".into(),
        }];
        let mut x = Exposition::listen("127.0.0.1:0", "s", &keys)
            .expect("listens")
            .with_journeys(&["items".to_string()]);
        let mut it = crate::metrics::Stats::default();
        it.record_response(200, 80_000, 1_000, None);
        it.record_failure(crate::metrics::ErrorKind::Extract, 40_000, Some(900));
        let t = Tick {
            index: 1,
            end: 1.0,
            seconds: 1.0,
            drain: 0.0,
            warmup: false,
            target: 2.0,
            in_flight: 1,
            not_started: 0,
            stats: vec![crate::metrics::Stats::default()],
            journeys: vec![it],
        };
        x.render(&t);
        let page = x.render(&t);
        for want in [
            "loadbench_journey_rate{scenario=\"s\",journey=\"items\",phase=\"measured\"} 1\n",
            "loadbench_journey_iterations_total{scenario=\"s\",journey=\"items\"} 4\n",
            "loadbench_journey_errors_total{scenario=\"s\",journey=\"items\"} 2\n",
            "loadbench_journey_duration_seconds{scenario=\"s\",journey=\"items\",phase=\"measured\",quantile=\"0.99\"} 0.08",
        ] {
            assert!(page.contains(want), "{want} in\n{page}");
        }
        // Iterations are not requests: the requests' counter did not move.
        assert!(page.contains(
            "loadbench_requests_total{scenario=\"s\",request=\"items/login\",target=\"api\"} 0\n"
        ));
    }
}
