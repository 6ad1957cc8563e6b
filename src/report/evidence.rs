//! The report's bottleneck sections: where the time went, the slowest and the first failing requests.

use crate::metrics::{EXEMPLAR_COLUMNS, PHASE_COLUMNS, SPLIT_COLUMNS, STREAM_COLUMNS, Summary};

/// One titled table with a sentence before it, as Markdown and HTML both draw it.
pub struct Section {
    /// Its heading.
    pub title: &'static str,
    /// What it shows, in a sentence or two.
    pub intro: &'static str,
    /// Column names.
    pub columns: Vec<&'static str>,
    /// Rows, cell by cell.
    pub rows: Vec<Vec<String>>,
}

const PHASES_INTRO: &str = "Each request's time split into its phases. Connect and TLS count \
only the connections opened; write is preparing and writing the request; first byte runs from \
the request written to the first byte of the answer (the server's work plus one round trip); \
transfer is the rest of the body; queued is the mean wait in the generator before the send (the \
open model's wait for a free connection).";

const STREAMS_INTRO: &str = "Answers that streamed (stream = sse or chunked), cut into events as \
they arrived: the first event runs from the request written to the first event (an LLM's time \
to first token); each gap is the time between one event and the next (inter-token latency), \
every gap of every answer counted.";

const SPLIT_INTRO: &str = "Requests split by a response header (split_by): each value's \
responses, their share of the request's (for a cache, its hit ratio) and their latency; other \
holds answers without a listed value, and requests that got no answer.";

const WEBHOOKS_INTRO: &str = "Callbacks of the system under test: requests that carried a \
webhook id and were accepted (triggered), the ids that came back (delivered), those still missing \
when the grace period after the load ended (lost), ids that came back again (duplicates) or after \
one triggered later had (out of order), callbacks without an id of this run (unknown), and the \
time from the triggering request sent to its first delivery.";

const SLOWEST_INTRO: &str = "The run's slowest requests (up to three per request), slowest \
first: when each was due, what came back and where its time went.";

const FAILURES_INTRO: &str = "The run's first failing requests (up to three per request), \
earliest first, with the start of what the server said (credentials redacted).";

/// The longest body excerpt a report row shows.
const BODY_CELL: usize = 160;

/// The evidence sections a summary has (none for a run without phases or exemplars).
pub fn sections(s: &Summary) -> Vec<Section> {
    let with = |extra: &'static str| {
        let mut c = EXEMPLAR_COLUMNS.to_vec();
        c.push(extra);
        c
    };
    let slowest: Vec<Vec<String>> = s
        .exemplar_rows(false)
        .into_iter()
        .zip(&s.slowest)
        .map(|(mut row, r)| {
            row.push(r.headers.replace('\n', "; "));
            row
        })
        .collect();
    let failures: Vec<Vec<String>> = s
        .exemplar_rows(true)
        .into_iter()
        .zip(&s.first_failures)
        .map(|(mut row, r)| {
            let body: String = r.body.chars().take(BODY_CELL).collect();
            let cut = if r.body.chars().count() > BODY_CELL {
                "…"
            } else {
                ""
            };
            row.push(format!("{}{cut}", body.replace(['\r', '\n'], " ")));
            row
        })
        .collect();
    [
        (
            "Journeys",
            crate::metrics::JOURNEYS_INTRO,
            crate::metrics::JOURNEY_COLUMNS.to_vec(),
            s.journey_rows(),
        ),
        (
            "Where the time goes",
            PHASES_INTRO,
            PHASE_COLUMNS.to_vec(),
            s.phase_rows(),
        ),
        (
            "Split by response header",
            SPLIT_INTRO,
            SPLIT_COLUMNS.to_vec(),
            s.split_rows(),
        ),
        (
            "Streamed answers",
            STREAMS_INTRO,
            STREAM_COLUMNS.to_vec(),
            s.stream_rows(),
        ),
        (
            "Webhook delivery",
            WEBHOOKS_INTRO,
            crate::metrics::WEBHOOK_COLUMNS.to_vec(),
            s.webhooks.as_ref().map(|w| w.rows()).unwrap_or_default(),
        ),
        ("Slowest requests", SLOWEST_INTRO, with("headers"), slowest),
        ("First failures", FAILURES_INTRO, with("body"), failures),
    ]
    .into_iter()
    .filter(|(.., rows)| !rows.is_empty())
    .map(|(title, intro, columns, rows)| Section {
        title,
        intro,
        columns,
        rows,
    })
    .collect()
}

/// A report's evidence sections: the proxy overhead first when the run measured one, then
/// [`sections`], the split's table with each value's lowest and highest share of any measured
/// second (a cache's hit ratio per second).
pub fn report_sections(r: &super::Report) -> Vec<Section> {
    let mut out = sections(&r.summary);
    if let Some(split) = out.iter_mut().find(|s| s.intro == SPLIT_INTRO) {
        split_shares(r, split);
    }
    if !r.overhead.is_empty() {
        use crate::analysis::overhead;
        out.insert(
            0,
            Section {
                title: "Proxy overhead",
                intro: overhead::INTRO,
                columns: overhead::COLUMNS.to_vec(),
                rows: overhead::rows(&r.overhead),
            },
        );
    }
    out
}

/// Adds each split value's lowest and highest share of any measured second to its table.
fn split_shares(r: &super::Report, split: &mut Section) {
    let measured: std::collections::HashSet<u32> = r
        .series
        .ticks
        .iter()
        .filter(|t| !t.warmup)
        .map(|t| t.index)
        .collect();
    let per_tick = |i: usize| -> std::collections::HashMap<u32, u64> {
        r.series
            .series
            .get(i)
            .map_or_else(Default::default, |points| {
                points
                    .iter()
                    .filter(|p| measured.contains(&p.tick))
                    .map(|p| (p.tick, p.requests))
                    .collect()
            })
    };
    let mut cells = Vec::new();
    for (_, _, parts) in r.summary.split_groups() {
        let counts: Vec<_> = parts.iter().map(|(i, _)| per_tick(*i)).collect();
        let mut totals: std::collections::HashMap<u32, u64> = Default::default();
        for c in &counts {
            for (t, n) in c {
                *totals.entry(*t).or_default() += n;
            }
        }
        for c in &counts {
            let shares = totals
                .iter()
                .filter(|(_, all)| **all > 0)
                .map(|(t, all)| c.get(t).copied().unwrap_or(0) as f64 / *all as f64);
            let (lo, hi) = shares.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
                (lo.min(x), hi.max(x))
            });
            cells.push(if lo.is_finite() {
                format!(
                    "{}–{}",
                    crate::format::percent(lo),
                    crate::format::percent(hi)
                )
            } else {
                "-".into()
            });
        }
    }
    split.columns.push("share per second");
    for (row, cell) in split.rows.iter_mut().zip(cells) {
        row.push(cell);
    }
}
