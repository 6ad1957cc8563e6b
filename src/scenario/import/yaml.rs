//! YAML read into JSON values (an OpenAPI document's other spelling), aliases counted as they
//! expand so a "billion laughs" document is refused instead of filling memory.

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The most values a document may hold once its aliases are expanded.
const MAX_NODES: usize = 2_000_000;
/// The deepest nesting read.
const MAX_DEPTH: usize = 200;

enum Frame {
    Seq(Vec<Value>, usize, usize),
    Map(Map<String, Value>, Option<String>, usize, usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: std::collections::HashMap<usize, (Value, usize)>,
    nodes: usize,
    done: Option<Value>,
    error: Option<String>,
}

impl Builder {
    fn fail(&mut self, why: String, at: Marker) {
        if self.error.is_none() {
            self.error = Some(format!(
                "line {}, column {}: {why}",
                at.line(),
                at.col() + 1
            ));
        }
    }

    /// Puts a finished value where it belongs: an item, a key, a value, or the document.
    fn place(&mut self, v: Value, size: usize, anchor: usize, at: Marker) {
        self.nodes += size;
        if self.nodes > MAX_NODES {
            return self.fail(
                format!("the document expands to over {MAX_NODES} values (aliases): refused"),
                at,
            );
        }
        if anchor > 0 {
            self.anchors.insert(anchor, (v.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.done = Some(v),
            Some(Frame::Seq(items, ..)) => items.push(v),
            Some(Frame::Map(map, key, ..)) => match key.take() {
                Some(k) => {
                    map.insert(k, v);
                }
                None => match v {
                    Value::String(s) => *key = Some(s),
                    Value::Number(n) => *key = Some(n.to_string()),
                    Value::Bool(b) => *key = Some(b.to_string()),
                    Value::Null => *key = Some("null".into()),
                    _ => self.fail("a key that is not a plain value".into(), at),
                },
            },
        }
    }
}

/// A plain scalar as YAML's core schema reads it; a quoted one is always text.
fn scalar(text: String, style: TScalarStyle) -> Value {
    if style != TScalarStyle::Plain {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        t => {
            if let Ok(i) = t.parse::<i64>() {
                return Value::from(i);
            }
            if t.bytes().any(|b| b.is_ascii_digit())
                && let Some(n) = t.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
            {
                return Value::Number(n);
            }
            Value::String(text)
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, at: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Scalar(text, style, anchor, _) => self.place(scalar(text, style), 1, anchor, at),
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some((v, size)) => self.place(v, size, 0, at),
                None => self.fail("an alias to no anchor".into(), at),
            },
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.fail(format!("nested deeper than {MAX_DEPTH} levels"), at);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq(Vec::new(), anchor, self.nodes))
            }
            Event::MappingStart(anchor, _) => {
                self.stack
                    .push(Frame::Map(Map::new(), None, anchor, self.nodes))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (v, anchor, from) = match self.stack.pop() {
                    Some(Frame::Seq(items, a, from)) => (Value::Array(items), a, from),
                    Some(Frame::Map(map, _, a, from)) => (Value::Object(map), a, from),
                    None => return,
                };
                let size = self.nodes - from + 1;
                // Its children are counted already; the container adds one.
                self.nodes = from;
                self.place(v, size, anchor, at);
            }
            _ => {}
        }
    }
}

/// The first document of `text` as a JSON value; the error says where the YAML is wrong.
pub(super) fn to_json(text: &str) -> Result<Value, String> {
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut b, false)
        .map_err(|e| format!("not YAML: {e}"))?;
    if let Some(e) = b.error {
        return Err(e);
    }
    b.done.ok_or_else(|| "an empty YAML document".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_reads_as_json_and_laughs_are_refused() {
        let v = to_json("a: 1\nb: [x, 'true', true, ~, 2.5]\n200: {c: &n {d: 1}, e: *n}\n")
            .expect("yaml");
        assert_eq!(
            v,
            serde_json::json!({"a": 1, "b": ["x", "true", true, null, 2.5],
                "200": {"c": {"d": 1}, "e": {"d": 1}}})
        );
        let mut laughs = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for (i, c) in ('b'..='j').enumerate() {
            let p = (b'a' + i as u8) as char;
            laughs.push_str(&format!(
                "{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
            ));
        }
        let e = to_json(&laughs).expect_err("a billion laughs");
        assert!(e.contains("expands to over"), "{e}");
        assert!(to_json("a: [1, 2").is_err());
        assert!(to_json(&"[".repeat(500)).is_err());
    }
}
