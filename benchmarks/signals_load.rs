//! Throughput load generator for OTLP/HTTP logs and metrics receivers (the embedded server, the
//! real Collector).
//!
//! usage: signals_load HOST:PORT logs|metrics CLIENTS ITEMS_PER_REQUEST TOTAL_ITEMS
//!
//! CLIENTS threads each keep one HTTP/1.1 keep-alive connection and POST OTLP/JSON to /v1/logs
//! (log records of ~200 bytes: a body, two attributes, trace and span ids) or /v1/metrics (data
//! points of a cumulative monotonic sum: ten metrics, ITEMS/10 attribute sets each, as an SDK's
//! periodic reader sends one point per series per collection). Every record, and every point's
//! time, is distinct (patched into a pre-built body, so the generator spends little CPU): a
//! store that drops duplicates keeps them all. Waits for each answer (must be 200) before the
//! next request. Prints one line: `items seconds items_per_second requests`.
//! std only, built with `rustc -O` by benchmarks/signals.sh; loopback only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

const HEX: &[u8; 16] = b"0123456789abcdef";

fn put_hex(buf: &mut [u8], at: usize, value: u128, digits: usize) {
    for i in 0..digits {
        buf[at + digits - 1 - i] = HEX[((value >> (4 * i)) & 15) as usize];
    }
}

/// Writes `value` as exactly 19 decimal digits (a Unix time in nanoseconds) at `at`.
fn put_dec19(buf: &mut [u8], at: usize, mut value: u64) {
    for i in (0..19).rev() {
        buf[at + i] = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

struct Template {
    body: Vec<u8>,
    path: &'static str,
    /// Offsets of each item's time (19 digits) and, for logs, trace and span id hex digits.
    times: Vec<usize>,
    ids: Vec<(usize, usize)>,
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn logs_template(n: usize, client: usize) -> Template {
    let mut body = format!(
        r#"{{"resourceLogs":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"load-{client}"}}}}]}},"scopeLogs":[{{"scope":{{"name":"load"}},"logRecords":["#
    );
    let (mut times, mut ids) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        if i > 0 {
            body.push(',');
        }
        body.push_str(r#"{"timeUnixNano":""#);
        times.push(body.len());
        body.push_str(&"0".repeat(19));
        body.push_str(r#"","traceId":""#);
        let t = body.len();
        body.push_str(&"0".repeat(32));
        body.push_str(r#"","spanId":""#);
        let s = body.len();
        body.push_str(&"0".repeat(16));
        body.push_str(&format!(
            r#"","severityNumber":{},"severityText":"{}","body":{{"stringValue":"request {} handled in {} ms by worker {}"}},"attributes":[{{"key":"http.route","value":{{"stringValue":"/api/items/{}"}}}},{{"key":"attempt","value":{{"intValue":"{}"}}}}]}}"#,
            if i % 20 == 0 { 17 } else { 9 },
            if i % 20 == 0 { "ERROR" } else { "INFO" },
            i,
            i % 97,
            i % 7,
            i % 13,
            i % 3
        ));
        ids.push((t, s));
    }
    body.push_str("]}]}]}");
    Template {
        body: body.into_bytes(),
        path: "/v1/logs",
        times,
        ids,
    }
}

fn metrics_template(n: usize, client: usize) -> Template {
    let mut body = format!(
        r#"{{"resourceMetrics":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"load-{client}"}}}}]}},"scopeMetrics":[{{"scope":{{"name":"load"}},"metrics":["#
    );
    let metrics = n.min(10);
    let start = now_ns();
    let mut times = Vec::with_capacity(n);
    for m in 0..metrics {
        if m > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#"{{"name":"load.requests.{m}","unit":"{{request}}","sum":{{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":["#
        ));
        let points = n / metrics + usize::from(m < n % metrics);
        for p in 0..points {
            if p > 0 {
                body.push(',');
            }
            body.push_str(&format!(
                r#"{{"attributes":[{{"key":"route","value":{{"stringValue":"/api/items/{p}"}}}}],"startTimeUnixNano":"{start}","timeUnixNano":""#
            ));
            times.push(body.len());
            body.push_str(&"0".repeat(19));
            body.push_str(&format!(r#"","asInt":"{}"}}"#, p * 3 + m));
        }
        body.push_str("]}}");
    }
    body.push_str("]}]}]}");
    Template {
        body: body.into_bytes(),
        path: "/v1/metrics",
        times,
        ids: Vec::new(),
    }
}

fn client(addr: String, signal: String, client: usize, per_request: usize, requests: usize) -> usize {
    let mut t = match signal.as_str() {
        "logs" => logs_template(per_request, client),
        _ => metrics_template(per_request, client),
    };
    let mut stream = TcpStream::connect(&addr).expect("connect");
    stream.set_nodelay(true).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    // Distinct times: each client its own nanosecond offset, each request a new microsecond.
    let base = now_ns() - 3_600_000_000_000 + client as u64;
    let mut next: u64 = 0;
    for r in 0..requests as u64 {
        let request_time = base + r * 1_000_000;
        for (i, &at) in t.times.iter().enumerate() {
            let time = match signal.as_str() {
                // Every record its own time.
                "logs" => request_time + i as u64 * 64,
                // Every point of a request at the collection's time (one point per series).
                _ => request_time,
            };
            put_dec19(&mut t.body, at, time);
        }
        for &(ts, ss) in &t.ids {
            next += 1;
            put_hex(&mut t.body, ts, ((client as u128) << 64) | (next / 8 + 1) as u128, 32);
            put_hex(&mut t.body, ss, next as u128, 16);
        }
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            t.path,
            t.body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&t.body).unwrap();
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
        if length > 2 && sink.windows(8).any(|w| w == b"rejected") {
            panic!("partial success: {}", String::from_utf8_lossy(&sink));
        }
    }
    requests * per_request
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!("usage: signals_load HOST:PORT logs|metrics CLIENTS ITEMS_PER_REQUEST TOTAL_ITEMS");
        std::process::exit(2);
    }
    let addr = args[1].clone();
    let signal = args[2].clone();
    assert!(signal == "logs" || signal == "metrics", "logs or metrics");
    let clients: usize = args[3].parse().unwrap();
    let per_request: usize = args[4].parse().unwrap();
    let total: usize = args[5].parse().unwrap();
    let requests = (total / per_request / clients).max(1);
    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (addr, signal) = (addr.clone(), signal.clone());
            std::thread::spawn(move || client(addr, signal, c + 1, per_request, requests))
        })
        .collect();
    let items: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{items} {secs:.2} {:.0} {}",
        items as f64 / secs,
        requests * clients
    );
    let _ = std::io::stdout().flush();
}
