//! A run export file written and read a tick at a time, so an hour's (or a day's) histograms
//! are never all in memory at once.

use std::io::{BufReader, Read, Seek, SeekFrom, Write};

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::transfer::{RunExport, TickExport, rebuild_tick, tick_export};
use super::{Histograms, Result, Store, StoreError, Streamed};

impl Store {
    /// Writes run `id`'s export (the `runs export` document, compact JSON on one line) to `out`,
    /// reading its ticks 15 seconds at a time; returns how many ticks it wrote.
    pub fn write_export(&self, id: i64, out: &mut dyn Write) -> Result<u32> {
        let header = self.export_header(id)?;
        let text =
            serde_json::to_string(&header).map_err(|e| StoreError::Invalid(e.to_string()))?;
        // `ticks` is the document's last field: write everything before its `[]`, then the ticks.
        let head = text.strip_suffix("[]}").ok_or_else(|| {
            StoreError::Invalid("export header does not end with its ticks".into())
        })?;
        let io = |e: std::io::Error| StoreError::Invalid(format!("cannot write the export: {e}"));
        out.write_all(head.as_bytes()).map_err(io)?;
        out.write_all(b"[").map_err(io)?;
        let mut n = 0u32;
        let mut failed: Option<std::io::Error> = None;
        self.each_tick(id, 0, u32::MAX, Histograms::Both, |t| {
            if failed.is_some() {
                return;
            }
            let sep: &[u8] = if n == 0 { b"" } else { b"," };
            let wrote = out.write_all(sep).and_then(|()| {
                serde_json::to_writer(&mut *out, &tick_export(&t)).map_err(Into::into)
            });
            match wrote {
                Ok(()) => n += 1,
                Err(e) => failed = Some(e),
            }
        })?;
        if let Some(e) = failed {
            return Err(io(e));
        }
        out.write_all(b"]}\n").map_err(io)?;
        Ok(n)
    }

    /// Stores a `runs export` file read twice, a tick at a time: once for everything but the
    /// ticks, once for the ticks, each checked and written inside one savepoint. Returns the
    /// run's id and whether it was stored before (a CI job that restores its baselines on every
    /// build must not fail on the second).
    pub fn import_export_file(&self, file: &std::path::Path) -> Result<(i64, bool)> {
        let shown = file.display().to_string();
        let open = || {
            std::fs::File::open(file).map_err(|source| StoreError::Io {
                path: shown.clone(),
                source,
            })
        };
        let mut f = open()?;
        let bad_json = |e: serde_json::Error| {
            StoreError::Invalid(format!(
                "{shown}:{}:{}: not a loadbench run export: {e}",
                e.line(),
                e.column()
            ))
        };
        let header = read_pass(&mut f, None).map_err(bad_json)?;
        let doc: RunExport =
            serde_json::from_value(serde_json::Value::Object(header)).map_err(|e| {
                StoreError::Invalid(format!("{shown}: not a loadbench run export: {e}"))
            })?;
        if let Some(id) = self.run_by_uuid(&doc.uuid)? {
            return Ok((id, true));
        }
        let shape = (doc.info.keys.len(), doc.info.journeys.len());
        let id = self
            .import_stream(&doc, |sink| {
                f.seek(SeekFrom::Start(0))
                    .map_err(|e| format!("cannot read it again: {e}"))?;
                let mut n = 0usize;
                let mut each = |t: TickExport| -> std::result::Result<(), String> {
                    let tick = rebuild_tick(&t, n, shape)?;
                    n += 1;
                    sink(tick)
                };
                read_pass(&mut f, Some(&mut each))
                    .map_err(|e| format!("{}:{}: {e}", e.line(), e.column()))?;
                Ok(Streamed {
                    keys: doc.info.keys.clone(),
                    ..Streamed::default()
                })
            })
            .map_err(|e| match e {
                StoreError::Invalid(m) => StoreError::Invalid(format!("{shown}: {m}")),
                other => other,
            })?;
        Ok((id, false))
    }
}

/// The sink a pass hands each tick to.
type TickSink<'a> = &'a mut dyn FnMut(TickExport) -> std::result::Result<(), String>;

/// One pass over an export document: without a sink, every field but `ticks` (skipped without
/// being held); with one, only `ticks`, each handed to the sink as it is read.
fn read_pass(
    r: &mut std::fs::File,
    sink: Option<TickSink<'_>>,
) -> serde_json::Result<serde_json::Map<String, serde_json::Value>> {
    let mut de =
        serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, Read::by_ref(r)));
    let header = Pass { sink }.deserialize(&mut de)?;
    de.end()?;
    Ok(header)
}

struct Pass<'a> {
    sink: Option<TickSink<'a>>,
}

impl<'de> DeserializeSeed<'de> for Pass<'_> {
    type Value = serde_json::Map<String, serde_json::Value>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Pass<'_> {
    type Value = serde_json::Map<String, serde_json::Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a loadbench run export (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut header = serde_json::Map::new();
        let mut sink = self.sink;
        let mut ticks_seen = false;
        while let Some(key) = map.next_key::<String>()? {
            match (key.as_str(), sink.as_mut()) {
                ("ticks", Some(s)) => {
                    ticks_seen = true;
                    map.next_value_seed(Ticks { sink: &mut **s })?;
                }
                ("ticks", None) => {
                    ticks_seen = true;
                    map.next_value::<IgnoredAny>()?;
                    header.insert(key, serde_json::Value::Array(Vec::new()));
                }
                (_, Some(_)) => {
                    map.next_value::<IgnoredAny>()?;
                }
                (_, None) => {
                    let v = map.next_value::<serde_json::Value>()?;
                    header.insert(key, v);
                }
            }
        }
        if !ticks_seen {
            return Err(serde::de::Error::missing_field("ticks"));
        }
        Ok(header)
    }
}

struct Ticks<'a> {
    sink: &'a mut dyn FnMut(TickExport) -> std::result::Result<(), String>,
}

impl<'de> DeserializeSeed<'de> for Ticks<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Ticks<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of ticks")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(t) = seq.next_element::<TickExport>()? {
            (self.sink)(t).map_err(serde::de::Error::custom)?;
        }
        Ok(())
    }
}
