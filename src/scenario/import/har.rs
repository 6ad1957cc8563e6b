//! A HAR recording (a browser's or a proxy's) read as the API calls it holds, page assets left out.

use super::*;

/// A HAR recording as a scenario: the requests to one origin (`host`, or the one most requests
/// went to), identical requests merged into one with a weight of how often they were made; or,
/// with `journey`, the recording's order kept as one journey whose server-issued values (tokens,
/// CSRF headers, cookies) are extracted where they appear and sent back as `${vars.NAME}`.
pub fn har(
    text: &str,
    host: Option<&str>,
    keep_assets: bool,
    journey: bool,
) -> Result<Imported, String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("HAR file is not JSON: {e}"))?;
    let entries = doc
        .pointer("/log/entries")
        .and_then(serde_json::Value::as_array)
        .ok_or("HAR file: no log.entries array (is this a HAR file?)")?;
    let mut captured = Vec::new();
    let mut answers = Vec::new();
    let (mut not_http, mut assets) = (0usize, 0usize);
    for (i, e) in entries.iter().enumerate() {
        let at = |what: &str| format!("HAR entry {i} ({}): {what}", entry_url(e));
        let req = e.get("request").ok_or_else(|| at("no request"))?;
        // data:, blob: and extension URLs are the browser's own, not requests to a server.
        let url_text = req
            .get("url")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        if !(url_text.starts_with("http://") || url_text.starts_with("https://")) {
            not_http += 1;
            continue;
        }
        if !keep_assets && is_page_asset(e) {
            assets += 1;
            continue;
        }
        let text_of = |v: Option<&serde_json::Value>, what: &str| {
            v.and_then(serde_json::Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| at(&format!("no {what}")))
        };
        let method = text_of(req.get("method"), "request.method")?.to_ascii_uppercase();
        if http::Method::from_bytes(method.as_bytes()).is_err() {
            return Err(at(&format!("\"{method}\" is not an HTTP method")));
        }
        let url = text_of(req.get("url"), "request.url")?;
        let mut headers = Vec::new();
        for h in req
            .get("headers")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = text_of(h.get("name"), "header name")?;
            let value = text_of(h.get("value"), "header value")?;
            // HTTP/2 pseudo-headers (":authority") are dropped later; others must be HTTP's.
            if !name.starts_with(':') {
                check_header(&name, &value).map_err(|e| at(&e))?;
            }
            headers.push((name, value));
        }
        let body = req
            .pointer("/postData/text")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string);
        let status = e
            .pointer("/response/status")
            .and_then(serde_json::Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..600).contains(s));
        captured.push(Captured {
            method,
            url,
            headers,
            body,
            status,
        });
        answers.push(answer(e));
    }
    if captured.is_empty() {
        return Err(if assets > 0 {
            format!(
                "HAR file: only page assets ({assets} scripts, styles, images, fonts); --all imports them"
            )
        } else {
            "HAR file: no http or https requests recorded".into()
        });
    }
    // One origin: load goes only where the user points it, and a page's recording also holds
    // its CDN, analytics and font requests.
    let mut by_origin: BTreeMap<String, usize> = BTreeMap::new();
    for c in &captured {
        *by_origin.entry(origin(&c.url)?).or_insert(0) += 1;
    }
    let chosen = match host {
        Some(h) => by_origin
            .keys()
            .find(|o| o.as_str() == h || host_of(o) == h)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "HAR file: no request went to \"{h}\"; it holds {}",
                    by_origin
                        .iter()
                        .map(|(o, n)| format!("{o} ({n})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?,
        None => by_origin
            .iter()
            .max_by_key(|(o, n)| (**n, std::cmp::Reverse((*o).clone())))
            .map(|(o, _)| o.clone())
            .ok_or("HAR file: no requests recorded")?,
    };
    let mut notes = Vec::new();
    if assets > 0 {
        notes.push(format!(
            "left out {assets} page assets (scripts, styles, images, fonts, media); --all keeps them"
        ));
    }
    if not_http > 0 {
        notes.push(format!(
            "left out {not_http} data:, blob: or other non-HTTP entries"
        ));
    }
    let others: Vec<String> = by_origin
        .iter()
        .filter(|(o, _)| **o != chosen)
        .map(|(o, n)| format!("{o} ({n})"))
        .collect();
    if !others.is_empty() {
        notes.push(format!(
            "kept the requests to {chosen}; left out those to {} (choose another with --host)",
            others.join(", ")
        ));
    }
    if journey {
        let (mut steps, mut said) = (Vec::new(), Vec::new());
        for (c, a) in captured.into_iter().zip(answers) {
            if origin(&c.url)? == chosen {
                steps.push(c);
                said.push(a);
            }
        }
        if steps.len() > 1000 {
            return Err(format!(
                "HAR file: {} requests to {chosen}: a journey of over 1000 steps is not a user's \
                 flow; import it without --journey",
                steps.len()
            ));
        }
        let (rules, found) = super::correlate::correlate(&mut steps, &said);
        let weighted: Vec<(Captured, u32)> = steps.into_iter().map(|c| (c, 1)).collect();
        let name = format!("Journey recorded in HAR ({})", host_of(&chosen));
        let mut imported = scenario(&name, &weighted, &TargetOptions::default(), Some(&rules))?;
        notes.extend(found);
        imported.notes.splice(0..0, notes);
        return Ok(imported);
    }
    // Identical requests become one, weighted by how often the recording made it (found by a
    // hash of what makes them identical, so a recording of 100,000 entries stays linear).
    let mut merged: Vec<(Captured, u32)> = Vec::new();
    let mut seen: std::collections::HashMap<(String, String, Option<String>), usize> =
        std::collections::HashMap::new();
    for c in captured {
        if origin(&c.url)? != chosen {
            continue;
        }
        let key = (c.method.clone(), c.url.clone(), c.body.clone());
        match seen.get(&key) {
            Some(&i) => merged[i].1 += 1,
            None => {
                seen.insert(key, merged.len());
                merged.push((c, 1));
            }
        }
    }
    let name = format!("Imported from HAR ({})", host_of(&chosen));
    let mut imported = scenario(&name, &merged, &TargetOptions::default(), None)?;
    imported.notes.splice(0..0, notes);
    Ok(imported)
}

/// A script, style, image, font or media file a page loaded: what a browser's recording holds
/// besides the API calls a load test is after. Chrome and Firefox say so in `_resourceType`;
/// otherwise the response type or the file extension tells.
fn is_page_asset(e: &serde_json::Value) -> bool {
    const KINDS: [&str; 7] = [
        "script",
        "stylesheet",
        "image",
        "font",
        "media",
        "manifest",
        "texttrack",
    ];
    if let Some(kind) = e.get("_resourceType").and_then(serde_json::Value::as_str) {
        return KINDS.contains(&kind.to_ascii_lowercase().as_str());
    }
    let mime = e
        .pointer("/response/content/mimeType")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    if [
        "image/",
        "font/",
        "audio/",
        "video/",
        "text/css",
        "javascript",
    ]
    .iter()
    .any(|m| mime.contains(m))
    {
        return true;
    }
    let url = e
        .pointer("/request/url")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    [
        ".js", ".mjs", ".css", ".map", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico",
        ".woff", ".woff2", ".ttf", ".otf", ".mp4", ".webm",
    ]
    .iter()
    .any(|ext| path.ends_with(ext))
}

/// What an entry's response held: its headers and (text, or base64-decoded) body.
fn answer(e: &serde_json::Value) -> super::correlate::Answer {
    let headers = e
        .pointer("/response/headers")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|h| {
            Some((
                h.get("name")?.as_str()?.to_string(),
                h.get("value")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let text = e
        .pointer("/response/content/text")
        .and_then(serde_json::Value::as_str);
    let body = match e
        .pointer("/response/content/encoding")
        .and_then(serde_json::Value::as_str)
    {
        Some("base64") => text
            .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
            .and_then(|b| String::from_utf8(b).ok()),
        _ => text.map(str::to_string),
    };
    super::correlate::Answer { headers, body }
}

fn entry_url(e: &serde_json::Value) -> String {
    e.pointer("/request/url")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("no url")
        .chars()
        .take(80)
        .collect()
}
