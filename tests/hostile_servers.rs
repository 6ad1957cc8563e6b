//! The engine against servers that misbehave on purpose, one small loopback server per
//! behaviour: every request ends classified, the run ends on time, and memory stays bounded.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::{run, scenario, serial};

/// Starts a server that hands every accepted connection to `serve` on its own thread.
fn server(serve: fn(TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(s) = conn else { continue };
            std::thread::spawn(move || serve(s));
        }
    });
    format!("http://{addr}")
}

/// Reads one request head (enough for a GET).
fn read_head(s: &mut TcpStream) -> bool {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    true
}

fn garbage(mut s: TcpStream) {
    while read_head(&mut s) {
        let _ = s.write_all(b"THIS IS NOT HTTP\r\n\r\n");
    }
}

fn endless_chunks(mut s: TcpStream) {
    if read_head(&mut s) {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        while s.write_all(b"400\r\n").is_ok() && s.write_all(&[b'x'; 1024]).is_ok() {
            let _ = s.write_all(b"\r\n");
        }
    }
}

fn never_replies(mut s: TcpStream) {
    while read_head(&mut s) {}
}

fn reset_mid_body(mut s: TcpStream) {
    if read_head(&mut s) {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nonly ten b");
        let _ = s.flush();
        std::thread::sleep(Duration::from_millis(20));
        // Closing with linger 0 sends a reset instead of an orderly close.
        linger_zero(&s);
        drop(s);
    }
}

/// Sets SO_LINGER to zero so closing sends RST instead of FIN.
fn linger_zero(s: &TcpStream) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let l = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: a valid socket descriptor and a linger struct of the right size.
        unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                std::ptr::addr_of!(l).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
    }
}

fn megabyte_header(mut s: TcpStream) {
    if read_head(&mut s) {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nx-huge: ");
        let _ = s.write_all(&vec![b'a'; 1 << 20]);
        let _ = s.write_all(b"\r\ncontent-length: 0\r\n\r\n");
    }
}

fn close_on_accept(s: TcpStream) {
    drop(s);
}

fn http10_until_close(mut s: TcpStream) {
    if read_head(&mut s) {
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\nthe body runs to the close");
    }
}

fn interim_flood(mut s: TcpStream) {
    if read_head(&mut s) {
        while s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_ok() {}
    }
}

/// A misbehaviour: its name, the server, and the error kinds its requests may end in (none:
/// every request succeeds).
type Case = (&'static str, fn(TcpStream), &'static [&'static str]);

/// Two seconds of 20 requests a second against `url` (500 ms timeout and drain), the request
/// with `extra` keys.
fn against(url: &str, extra: &str) -> String {
    format!(
        "name = \"hostile\"\nduration = \"2s\"\ntimeout = \"500ms\"\ndrain = \"500ms\"\n\
         [targets]\napi = \"{url}\"\n[load]\nmodel = \"open\"\nrate = 20\nmax_in_flight = 8\n\
         [[requests]]\nname = \"get\"\npath = \"/\"\n{extra}"
    )
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn every_misbehaviour_ends_classified_on_time_in_bounded_memory() {
    let _g = serial();
    let cases: [Case; 8] = [
        ("garbage bytes", garbage, &["protocol"]),
        ("an endless chunked body", endless_chunks, &["timeout"]),
        ("no reply at all", never_replies, &["timeout"]),
        ("a reset mid-body", reset_mid_body, &["reset", "body"]),
        ("a 1 MB header", megabyte_header, &["protocol"]),
        ("a close on accept", close_on_accept, &["reset"]),
        ("HTTP/1.0 without a length", http10_until_close, &[]),
        (
            "a flood of 100 Continue",
            interim_flood,
            &["timeout", "protocol"],
        ),
    ];
    let before = rss_kb();
    for (what, serve, kinds) in cases {
        let url = server(serve);
        let started = Instant::now();
        let (o, _) = run(scenario(&against(&url, "")));
        let took = started.elapsed();
        let t = &o.summary.total;
        assert!(
            took < Duration::from_secs(5),
            "{what}: the run took {took:?}"
        );
        assert!(t.count + o.summary.not_started >= 30, "{what}: {t:?}");
        if kinds.is_empty() {
            assert_eq!(t.errors, 0, "{what}: {t:?}");
            assert!(t.bytes_received > 0, "{what}: {t:?}");
        } else {
            let classified: u64 = kinds
                .iter()
                .map(|k| t.error_kinds.get(*k).copied().unwrap_or(0))
                .sum();
            assert!(
                t.errors > 0
                    && classified + t.error_kinds.get("aborted").copied().unwrap_or(0) >= t.errors,
                "{what}: every error is one of {kinds:?}: {:?}",
                t.error_kinds
            );
            assert!(
                !t.error_kinds.contains_key("other"),
                "{what}: nothing unclassified: {:?}",
                t.error_kinds
            );
        }
    }
    let grown = rss_kb().saturating_sub(before);
    assert!(grown < 200_000, "memory grew by {grown} KB");
}

fn endless_events(mut s: TcpStream) {
    if read_head(&mut s) {
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
        );
        let events = b"data:x\n\n".repeat(128);
        let chunk = [
            format!("{:x}\r\n", events.len()).as_bytes(),
            &events,
            b"\r\n",
        ]
        .concat();
        while s.write_all(&chunk).is_ok() {}
    }
}

#[test]
fn a_stream_of_endless_events_times_out_in_bounded_memory() {
    let _g = serial();
    let url = server(endless_events);
    let before = rss_kb();
    let (o, _) = run(scenario(&against(&url, "stream = \"sse\"\n")));
    let t = &o.summary.total;
    assert!(t.errors > 0, "{t:?}");
    let timed_out = t.error_kinds.get("timeout").copied().unwrap_or(0)
        + t.error_kinds.get("aborted").copied().unwrap_or(0);
    assert_eq!(timed_out, t.errors, "{:?}", t.error_kinds);
    // Millions of events were timed, their gaps kept as a histogram, not a list.
    let p = o.summary.endpoints[0].phases.as_ref().expect("phases");
    let gaps = p.event_gap.as_ref().expect("gaps").samples;
    assert!(gaps > 100_000, "{gaps} gaps");
    let grown = rss_kb().saturating_sub(before);
    assert!(grown < 100_000, "memory grew by {grown} KB for {gaps} gaps");
}
