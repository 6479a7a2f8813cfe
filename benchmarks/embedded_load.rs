//! Throughput load generator for OTLP/HTTP receivers (the embedded server, the real Collector).
//!
//! usage: embedded_load HOST:PORT CLIENTS SPANS_PER_REQUEST TOTAL_SPANS
//!
//! CLIENTS threads each keep one HTTP/1.1 keep-alive connection and POST OTLP/JSON to
//! /v1/traces, every span ~250 bytes, 10 spans per trace, every span id distinct (ids are patched
//! into a pre-built body so the generator spends little CPU). Waits for each answer (must be
//! 200) before the next request. Prints one line: `spans seconds spans_per_second requests`.
//! std only, built with `rustc -O` by benchmarks/embedded.sh; loopback only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

const HEX: &[u8; 16] = b"0123456789abcdef";

fn put_hex(buf: &mut [u8], at: usize, value: u128, digits: usize) {
    for i in 0..digits {
        buf[at + digits - 1 - i] = HEX[((value >> (4 * i)) & 15) as usize];
    }
}

struct Template {
    body: Vec<u8>,
    /// Offsets of each span's traceId, spanId and parentSpanId hex digits.
    slots: Vec<(usize, usize, usize)>,
}

fn template(n: usize) -> Template {
    let mut body = String::from(
        r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"load"}}]},"scopeSpans":[{"scope":{"name":"load"},"spans":["#,
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut slots = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 {
            body.push(',');
        }
        body.push_str(r#"{"traceId":""#);
        let t = body.len();
        body.push_str(&"0".repeat(32));
        body.push_str(r#"","spanId":""#);
        let s = body.len();
        body.push_str(&"0".repeat(16));
        body.push_str(r#"","parentSpanId":""#);
        let p = body.len();
        body.push_str(&"0".repeat(16));
        let start = now + i as u64 * 1000;
        body.push_str(&format!(
            r#"","name":"op-{}","kind":1,"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[{{"key":"load.index","value":{{"intValue":"{}"}}}},{{"key":"load.note","value":{{"stringValue":"{}"}}}}],"status":{{"code":{}}}}}"#,
            i % 17,
            start,
            start + 500_000 + (i as u64 % 97) * 10_000,
            i,
            "x".repeat(64),
            if i % 50 == 0 { 2 } else { 0 }
        ));
        slots.push((t, s, p));
    }
    body.push_str("]}]}]}");
    Template {
        body: body.into_bytes(),
        slots,
    }
}

fn client(addr: String, client: u128, per_request: usize, requests: usize) -> usize {
    let mut t = template(per_request);
    let mut stream = TcpStream::connect(&addr).expect("connect");
    stream.set_nodelay(true).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut next: u128 = client << 64;
    let mut line = String::new();
    for _ in 0..requests {
        for &(ts, ss, ps) in &t.slots {
            let trace = next / 10 + 1;
            let span = next + 1;
            let parent = if next % 10 == 0 {
                u64::MAX as u128
            } else {
                next - next % 10 + 1
            };
            put_hex(&mut t.body, ts, trace, 32);
            put_hex(&mut t.body, ss, span & u64::MAX as u128, 16);
            put_hex(&mut t.body, ps, parent & u64::MAX as u128, 16);
            next += 1;
        }
        let head = format!(
            "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            t.body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&t.body).unwrap();
        // The answer: status line, headers (Content-Length), body.
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 200"), "answer: {line:?}");
        let mut length = 0usize;
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap();
                }
            }
        }
        let mut sink = vec![0; length];
        reader.read_exact(&mut sink).unwrap();
    }
    requests * per_request
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: embedded_load HOST:PORT CLIENTS SPANS_PER_REQUEST TOTAL_SPANS");
        std::process::exit(2);
    }
    let addr = args[1].clone();
    let clients: usize = args[2].parse().unwrap();
    let per_request: usize = args[3].parse().unwrap();
    let total: usize = args[4].parse().unwrap();
    let requests = total / per_request / clients;
    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let addr = addr.clone();
            std::thread::spawn(move || client(addr, c as u128 + 1, per_request, requests))
        })
        .collect();
    let spans: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{spans} {secs:.2} {:.0} {}",
        spans as f64 / secs,
        requests * clients
    );
    let _ = std::io::stdout().flush();
}
