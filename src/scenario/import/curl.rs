//! A curl command line (what "Copy as cURL" gives) read the way bash and curl would read it.

use super::*;

/// Splits a shell command line into words the way bash reads it: single and double quotes,
/// `$'…'` (what Chrome's "Copy as cURL (bash)" writes), backslashes and line continuations.
pub fn shell_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some('\r') => {
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                }
                Some(n) => {
                    word.push(n);
                    in_word = true;
                }
                None => return Err("the command ends with a lone backslash".into()),
            },
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(n) => word.push(n),
                        None => return Err("a single quote (') is never closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n @ ('"' | '\\' | '$' | '`')) => word.push(n),
                            Some('\n') => {}
                            Some(n) => {
                                word.push('\\');
                                word.push(n);
                            }
                            None => return Err("a double quote (\") is never closed".into()),
                        },
                        Some(n) => word.push(n),
                        None => return Err("a double quote (\") is never closed".into()),
                    }
                }
            }
            '$' if chars.peek() == Some(&'\'') => {
                chars.next();
                in_word = true;
                ansi_c_quoted(&mut chars, &mut word)?;
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// The inside of a `$'…'` string, escapes decoded.
fn ansi_c_quoted(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    word: &mut String,
) -> Result<(), String> {
    let unclosed = || "a $'…' string is never closed".to_string();
    loop {
        match chars.next().ok_or_else(unclosed)? {
            '\'' => return Ok(()),
            '\\' => match chars.next().ok_or_else(unclosed)? {
                'n' => word.push('\n'),
                't' => word.push('\t'),
                'r' => word.push('\r'),
                '0' => word.push('\0'),
                'x' | 'u' | 'U' => {
                    let mut hex = String::new();
                    while hex.len() < 8 && chars.peek().is_some_and(char::is_ascii_hexdigit) {
                        hex.extend(chars.next());
                    }
                    let code = u32::from_str_radix(&hex, 16)
                        .map_err(|_| format!("bad escape \\x{hex} in a $'…' string"))?;
                    word.push(char::from_u32(code).ok_or_else(|| {
                        format!("escape {code:#x} in a $'…' string is not a character")
                    })?);
                }
                other => word.push(other),
            },
            c => word.push(c),
        }
    }
}

/// A curl command line (one request) as a scenario.
pub fn curl(command: &str) -> Result<Imported, String> {
    let words = shell_words(command).map_err(|e| format!("curl command: {e}"))?;
    let mut args = words.iter().enumerate().peekable();
    match args.peek() {
        Some((_, w)) if w.as_str() == "curl" || w.ends_with("/curl") => {
            args.next();
        }
        _ => {}
    }
    let mut method: Option<String> = None;
    let mut url: Option<String> = None;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut data: Vec<String> = Vec::new();
    let mut get = false;
    let mut json = false;
    let mut opts = TargetOptions::default();
    let mut notes = Vec::new();
    while let Some((i, arg)) = args.next() {
        let at = |what: &str| format!("curl argument {} ({arg}): {what}", i + 1);
        // `--opt=value` and `-Hvalue` forms, as curl accepts them.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ if arg.len() > 2
                && arg.starts_with('-')
                && !arg.starts_with("--")
                && arg.is_char_boundary(2) =>
            {
                let (f, v) = arg.split_at(2);
                if "XHdAebuo".contains(&f[1..]) {
                    (f.to_string(), Some(v.to_string()))
                } else {
                    // Bundled short flags such as -sSL: only value-less ones are allowed.
                    for c in arg[1..].chars() {
                        if !"sSLkivIfgGN".contains(c) {
                            return Err(at(&format!(
                                "-{c} is not understood in a bundle; write it on its own"
                            )));
                        }
                        match c {
                            'k' => opts.insecure = true,
                            'G' => get = true,
                            'I' => method = Some("HEAD".into()),
                            _ => {}
                        }
                    }
                    continue;
                }
            }
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => args
                    .next()
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| at("expects a value after it")),
            }
        };
        match flag.as_str() {
            "-X" | "--request" => {
                let m = value()?.to_ascii_uppercase();
                if http::Method::from_bytes(m.as_bytes()).is_err() {
                    return Err(at(&format!("\"{m}\" is not an HTTP method")));
                }
                method = Some(m);
            }
            "--url" => url = Some(value()?),
            "-H" | "--header" => {
                let h = value()?;
                let (name, v) = h
                    .split_once(':')
                    .ok_or_else(|| at("a header is written \"Name: value\""))?;
                check_header(name.trim(), v.trim()).map_err(|e| at(&e))?;
                headers.push((name.trim().to_string(), v.trim().to_string()));
            }
            "-d" | "--data" | "--data-ascii" | "--data-binary" | "--data-raw" => {
                let v = value()?;
                if let Some(file) = v.strip_prefix('@').filter(|_| flag != "--data-raw") {
                    let text = std::fs::read_to_string(file)
                        .map_err(|e| at(&format!("cannot read the body file \"{file}\": {e}")))?;
                    data.push(if flag == "--data-binary" {
                        text
                    } else {
                        text.replace(['\r', '\n'], "")
                    });
                } else {
                    data.push(v);
                }
            }
            "--data-urlencode" => {
                let v = value()?;
                data.push(match v.split_once('=') {
                    Some((k, raw)) => format!(
                        "{k}={}",
                        form_urlencoded::byte_serialize(raw.as_bytes()).collect::<String>()
                    ),
                    None => form_urlencoded::byte_serialize(v.as_bytes()).collect(),
                });
            }
            "--json" => {
                data.push(value()?);
                json = true;
            }
            "-u" | "--user" => {
                let v = value()?;
                let basic = base64::engine::general_purpose::STANDARD.encode(v.as_bytes());
                headers.push(("Authorization".into(), format!("Basic {basic}")));
            }
            "-A" | "--user-agent" => headers.push(("User-Agent".into(), value()?)),
            "-e" | "--referer" => headers.push(("Referer".into(), value()?)),
            "-b" | "--cookie" => headers.push(("Cookie".into(), value()?)),
            "-G" | "--get" => get = true,
            "-I" | "--head" => method = Some("HEAD".into()),
            "-k" | "--insecure" => opts.insecure = true,
            "--http2" | "--http2-prior-knowledge" => opts.http2 = true,
            "--compressed" => headers.push(("Accept-Encoding".into(), "gzip, deflate, br".into())),
            "-s"
            | "--silent"
            | "-S"
            | "--show-error"
            | "-L"
            | "--location"
            | "-i"
            | "--include"
            | "-v"
            | "--verbose"
            | "-f"
            | "--fail"
            | "-g"
            | "--globoff"
            | "-N"
            | "--no-buffer"
            | "--http1.1"
            | "--fail-with-body"
            | "--no-progress-meter" => {}
            "-o" | "--output" | "-m" | "--max-time" | "--connect-timeout" | "-w"
            | "--write-out" | "--retry" => {
                let v = value()?;
                notes.push(format!(
                    "left out curl's {flag} {v} (the scenario sets its own)"
                ));
            }
            f if f.starts_with('-') => {
                return Err(at(
                    "this curl option is not understood; remove it or write the scenario by hand",
                ));
            }
            _ => {
                if url.replace(arg.clone()).is_some() {
                    return Err(at("a second URL: import one request per curl command"));
                }
            }
        }
    }
    let mut url = url.ok_or("curl command: no URL")?;
    if !url.contains("://") {
        url = format!("http://{url}");
    }
    let mut body = (!data.is_empty()).then(|| data.join("&"));
    if get && let Some(q) = body.take() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&q);
    }
    let has = |headers: &[(String, String)], name: &str| {
        headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    if json {
        if !has(&headers, "content-type") {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        if !has(&headers, "accept") {
            headers.push(("Accept".into(), "application/json".into()));
        }
    } else if body.is_some() && !has(&headers, "content-type") {
        // What curl itself sends with -d.
        headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    let method = method.unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.into());
    let captured = Captured {
        method,
        url,
        headers,
        body,
        status: None,
    };
    let mut imported = scenario("Imported from curl", &[(captured, 1)], &opts, None)?;
    imported.notes.splice(0..0, notes);
    Ok(imported)
}
