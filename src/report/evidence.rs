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

const SLOWEST_INTRO: &str = "The run's slowest requests (up to three per request), slowest \
first: when each was due, what came back and where its time went.";

const FAILURES_INTRO: &str = "The run's first failing requests (up to three per request), \
earliest first, with the start of what the server said (credentials redacted).";

/// The longest body excerpt a report row shows.
const BODY_CELL: usize = 160;

/// The evidence sections a summary has (none for a run without phases or exemplars).
pub fn sections(s: &Summary) -> Vec<Section> {
    let mut out = Vec::new();
    let phases = s.phase_rows();
    if !phases.is_empty() {
        out.push(Section {
            title: "Where the time goes",
            intro: PHASES_INTRO,
            columns: PHASE_COLUMNS.to_vec(),
            rows: phases,
        });
    }
    let splits = s.split_rows();
    if !splits.is_empty() {
        out.push(Section {
            title: "Split by response header",
            intro: SPLIT_INTRO,
            columns: SPLIT_COLUMNS.to_vec(),
            rows: splits,
        });
    }
    let streams = s.stream_rows();
    if !streams.is_empty() {
        out.push(Section {
            title: "Streamed answers",
            intro: STREAMS_INTRO,
            columns: STREAM_COLUMNS.to_vec(),
            rows: streams,
        });
    }
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
    if !slowest.is_empty() {
        out.push(Section {
            title: "Slowest requests",
            intro: SLOWEST_INTRO,
            columns: with("headers"),
            rows: slowest,
        });
    }
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
    if !failures.is_empty() {
        out.push(Section {
            title: "First failures",
            intro: FAILURES_INTRO,
            columns: with("body"),
            rows: failures,
        });
    }
    out
}
