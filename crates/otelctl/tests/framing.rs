//! HTTP framing (issue 23, item 5): a request framed both by Content-Length and by
//! Transfer-Encoding is refused with 400 and the connection closed, as the receiver's docs say,
//! on the OTLP receiver and on the viewer (whose `POST /api/clear` was served before).

mod common;
mod embedded_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use embedded_support::{free_base, traces_json, Up};

/// Sends `head` + `body` on a new connection; the whole answer (the server closes it).
fn raw(port: u16, head: &str, body: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn both_framings(path: &str, host: &str, content_type: &str, body: &str) -> (String, Vec<u8>) {
    let chunked = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    (
        format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
            body.len()
        ),
        chunked.into_bytes(),
    )
}

#[test]
fn content_length_with_transfer_encoding_is_refused_with_400() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);
    let trace = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{}","spanId":"0102030405060708","name":"smuggled","startTimeUnixNano":"1","endTimeUnixNano":"2"}}]}}]}}]}}"#,
        "ab".repeat(16)
    );
    let (head, body) = both_framings(
        "/v1/traces",
        &format!("127.0.0.1:{}", up.receiver()),
        "application/json",
        &trace,
    );
    let answer = raw(up.receiver(), &head, &body);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(
        traces_json(up.viewer())["traces"].as_array().map(Vec::len),
        Some(0),
        "nothing stored"
    );

    // The viewer: the same rule before any route (clearing would be a state change).
    let (head, body) = both_framings(
        "/api/clear",
        &format!("127.0.0.1:{}", up.viewer()),
        "application/json",
        "{}",
    );
    let answer = raw(up.viewer(), &head, &body);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}
