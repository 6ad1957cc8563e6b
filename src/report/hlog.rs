//! HdrHistogram interval log: one interval histogram per second (all series together, untagged,
//! and one tagged per request and target), readable by HdrHistogram's log tools. Values in µs.

use super::{Exporter, Report};
use crate::metrics::Stats;

/// The interval-log exporter.
pub struct Hlog;

/// A tag HdrHistogram logs accept (no spaces, commas or '=').
pub fn tag_of(request: &str, target: &str) -> String {
    format!("{request}@{target}").replace([' ', ',', '='], "_")
}

impl Exporter for Hlog {
    fn render(&self, r: &Report, stem: &str) -> (Vec<u8>, Vec<(String, String)>) {
        let mut out = Vec::new();
        let _ = self.render_to(r, stem, &mut out);
        (out, vec![])
    }

    fn render_to(
        &self,
        r: &Report,
        _stem: &str,
        mut out: &mut dyn std::io::Write,
    ) -> std::io::Result<Vec<(String, String)>> {
        use hdrhistogram::serialization::V2DeflateSerializer;
        use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
        let mut failed: Option<std::io::Error> = None;
        let mut ser = V2DeflateSerializer::new();
        let start = crate::format::system_time(r.run.row.started_at_ms);
        let mut builder = IntervalLogWriterBuilder::new();
        builder
            .add_comment(&format!(
                "loadbench run #{} \"{}\": corrected latency in microseconds",
                r.run.row.id, r.run.row.name
            ))
            .with_start_time(start)
            .with_base_time(start)
            .with_max_value_divisor(1000.0);
        let mut w = builder.begin_log_with(&mut out, &mut ser)?;
        {
            // The ticks again, 15 seconds at a time from the store, never all at once.
            let walked = crate::store::Store::open_read(&r.db).and_then(|store| {
                store.each_tick(
                    r.run.row.id,
                    0,
                    u32::MAX,
                    crate::store::Histograms::Latency,
                    |t| {
                        if t.warmup {
                            return;
                        }
                        let begin = crate::format::secs(t.end - t.seconds);
                        let len = crate::format::secs(t.seconds);
                        let mut total = Stats::default();
                        for s in &t.stats {
                            total.merge(s);
                        }
                        if failed.is_some() {
                            return;
                        }
                        let mut put = |h, tag: Option<Tag<'_>>| {
                            if let Err(e) = w.write_histogram(h, begin, len, tag) {
                                failed.get_or_insert(std::io::Error::other(e.to_string()));
                            }
                        };
                        put(&total.latency, None);
                        for (k, s) in r.run.info.keys.iter().zip(&t.stats) {
                            if s.latency.is_empty() {
                                continue;
                            }
                            let tag = tag_of(&k.request, &k.target);
                            put(&s.latency, Tag::new(&tag));
                        }
                    },
                )
            });
            if let Some(e) = failed {
                return Err(e);
            }
            if let Err(e) = walked {
                // Said in the log itself (a comment): what was read is still a valid log.
                w.write_comment(&format!(
                    "incomplete: the run's ticks could not be read: {e}"
                ))?;
            }
        }
        Ok(vec![])
    }
}
