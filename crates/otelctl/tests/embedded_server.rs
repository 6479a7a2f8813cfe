//! The embedded server's HTTP layer and durability, on the real binary and real sockets:
//! request smuggling and conflicting lengths refused, slow clients unable to hold up a real
//! export, acknowledged spans surviving `kill -9` (twice, with either durability), OTLP/gRPC from the exporter devenv uses
//! (Rust `opentelemetry-otlp` with tonic) on the OTLP/HTTP port, and `status` / `wait`
//! recognising the embedded stack.

mod common;
mod embedded_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use embedded_support::*;

/// Sends `raw` on a new connection and reads until the server closes it (or 10 s pass).
fn exchange(port: u16, raw: &[u8]) -> (String, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw).unwrap();
    let mut answer = Vec::new();
    let closed = loop {
        let mut buf = [0u8; 4096];
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&answer).into_owned(), closed)
}

#[test]
fn smuggled_and_doubly_framed_requests_are_refused_and_the_connection_closed() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);
    let rx = up.receiver();
    let smuggled = b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    let (answer, closed) = exchange(rx, smuggled);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(
        answer.matches("HTTP/1.1 ").count(),
        1,
        "the smuggled request got an answer: {answer}"
    );
    assert!(
        closed,
        "the connection stays open after a smuggling attempt"
    );

    let doubled = b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}";
    let (answer, closed) = exchange(rx, doubled);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        closed,
        "the connection stays open after two Content-Lengths"
    );
    let combined = b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2, 40\r\n\r\n{}";
    let (answer, closed) = exchange(rx, combined);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(closed);

    // The server still serves, and stored nothing from the refused requests.
    assert_eq!(post(rx, "application/json", b"{}").status, 200);
    assert_eq!(
        traces_json(up.viewer())["traces"].as_array().unwrap().len(),
        0
    );
}

#[test]
fn slow_clients_do_not_hold_up_a_real_export() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let up = Up::start(dir.path(), dir.path(), base, &[]);
    let rx = up.receiver();
    // 64 connections, each trickling a request head one byte every 2 s.
    let done = Arc::new(AtomicBool::new(false));
    let open = Arc::new(AtomicUsize::new(0));
    let closed_by_server = Arc::new(AtomicUsize::new(0));
    let slow: Vec<_> = (0..64)
        .map(|_| {
            let (done, open, closed_by_server) =
                (done.clone(), open.clone(), closed_by_server.clone());
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", rx)).unwrap();
                s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
                open.fetch_add(1, Ordering::SeqCst);
                let head = b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\n";
                for byte in head.iter().cycle() {
                    if done.load(Ordering::SeqCst) {
                        return;
                    }
                    if s.write_all(&[*byte]).is_err() {
                        closed_by_server.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    // The trickle's pace is what is tested here, not a synchronisation.
                    let deadline = Instant::now() + Duration::from_secs(2);
                    while Instant::now() < deadline && !done.load(Ordering::SeqCst) {
                        let mut buf = [0u8; 512];
                        match s.read(&mut buf) {
                            Ok(0) => {
                                closed_by_server.fetch_add(1, Ordering::SeqCst);
                                return;
                            }
                            _ => continue,
                        }
                    }
                }
            })
        })
        .collect();
    // And connections that never send a byte.
    let silent: Vec<TcpStream> = (0..16)
        .map(|_| TcpStream::connect(("127.0.0.1", rx)).unwrap())
        .collect();
    poll("64 slow connections", Duration::from_secs(20), || {
        (open.load(Ordering::SeqCst) == 64).then_some(())
    });
    // A real export (`otelctl span`, the wrapper's exporter) while they trickle.
    let started = Instant::now();
    let out = common::otelctl(dir.path())
        .env("DEVENV_ROOT", dir.path())
        .env("OTELCTL_BASE_PORT", base.to_string())
        .args(["span", "busy-svc", "while-slow-clients", "--", "true"])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        took < Duration::from_secs(3),
        "the export waited {took:?} behind slow clients"
    );
    let v = traces_json(up.viewer());
    assert_eq!(
        v["traces"][0]["root_name"], "while-slow-clients",
        "the span was delivered, not spooled: {v}"
    );
    // The server, not the clients, ends the trickling and the silent connections (head
    // deadline: 5 s).
    poll(
        "the server to close the slow connections",
        Duration::from_secs(15),
        || (closed_by_server.load(Ordering::SeqCst) == 64).then_some(()),
    );
    done.store(true, Ordering::SeqCst);
    for t in slow {
        t.join().unwrap();
    }
    for mut s in silent {
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            s.read(&mut buf).unwrap_or(usize::MAX),
            0,
            "a silent connection is closed by the server"
        );
    }
}

/// Sends one single-span trace per name, each acknowledged before the next.
fn acknowledged(up: &Up, names: &[&str], trace: &mut u8) {
    let t0 = now_ns();
    for name in names {
        *trace += 1;
        let req = export_request("durable", vec![span(*trace, 1, 0, name, t0, t0 + 10)]);
        let r = post(up.receiver(), "application/x-protobuf", &req.to_protobuf());
        assert_eq!(r.status, 200, "export {name} was not acknowledged");
    }
}

fn roots(up: &Up) -> Vec<String> {
    let v = traces_json(up.viewer());
    let mut roots: Vec<String> = v["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["root_name"].as_str().unwrap().to_string())
        .collect();
    roots.sort();
    roots
}

/// `kill -9` twice, with both durabilities, with acknowledged exports before each: every
/// acknowledged trace comes back, each shown once, and a clean stop after that keeps them too.
/// (30 kills at random moments under a mixed HTTP/gRPC stream: tests/store.rs.)
#[test]
fn acknowledged_exports_survive_kill_9_and_are_restored_once() {
    for durability in ["fsync", "write"] {
        let dir = tempfile::tempdir().unwrap();
        let base = free_base();
        let flags = ["--durability", durability];
        let mut trace = 0u8;
        let mut up = Up::start(dir.path(), dir.path(), base, &flags);
        acknowledged(&up, &["a1", "a2", "a3", "a4", "a5"], &mut trace);
        up.child.kill().unwrap();
        up.child.wait().unwrap();
        drop(up);

        let mut up = Up::start(dir.path(), dir.path(), base, &flags);
        assert_eq!(roots(&up), ["a1", "a2", "a3", "a4", "a5"], "{durability}");
        acknowledged(&up, &["b1", "b2", "b3"], &mut trace);
        up.child.kill().unwrap();
        up.child.wait().unwrap();
        drop(up);

        let up = Up::start(dir.path(), dir.path(), base, &flags);
        let all = ["a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3"];
        assert_eq!(roots(&up), all, "{durability}: each restored, once");
        // A clean stop says the traces were saved, and they are, in private files.
        let (status, _, err) = up.stop();
        assert!(status.success(), "{err}");
        assert!(err.contains("stopped; traces saved"), "{err}");
        assert!(!err.contains("warning"), "{err}");
        use std::os::unix::fs::PermissionsExt;
        let embedded = dir.path().join(".devenv/otel/embedded");
        let mode = std::fs::metadata(&embedded).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{embedded:?} is {mode:o}");
        for f in std::fs::read_dir(&embedded).unwrap() {
            let f = f.unwrap().path();
            let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f:?} is {mode:o}");
        }
        let up = Up::start(dir.path(), dir.path(), base, &flags);
        assert_eq!(
            roots(&up),
            all,
            "{durability}: restored once each after a clean stop"
        );
    }
}

#[test]
fn grpc_spans_from_the_exporter_devenv_uses_land_in_the_store() {
    use opentelemetry::trace::{Span as _, TraceContextExt, Tracer, TracerProvider as _};
    use opentelemetry::KeyValue;
    use opentelemetry_otlp::WithExportConfig;

    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    // The same port as OTLP/HTTP (+0).
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(format!("http://127.0.0.1:{}", up.receiver()))
        .with_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("devenv")
                .build(),
        )
        .build();
    let tracer = provider.tracer("devenv");
    let (trace_id, child_id) = tracer.in_span("devenv:tasks:run", |cx| {
        let mut child = tracer.start_with_context("evaluate", &cx);
        child.set_attribute(KeyValue::new("devenv.activity.kind", "evaluate"));
        let child_id = child.span_context().span_id();
        child.end();
        (cx.span().span_context().trace_id(), child_id)
    });
    provider.force_flush().unwrap();
    provider.shutdown().unwrap();

    let id = format!("{trace_id:032x}");
    let v = traces_json(up.viewer());
    let t = v["traces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["trace_id"] == id.as_str())
        .unwrap_or_else(|| panic!("trace {id} not stored: {v}"));
    assert_eq!(t["service"], "devenv");
    assert_eq!(t["root_name"], "devenv:tasks:run");
    assert_eq!(t["span_count"], 2);
    // The child's details (its attributes) are on the trace page that selects it.
    let html =
        String::from_utf8(get(up.viewer(), &format!("/trace/{id}?span={child_id:016x}")).body)
            .unwrap();
    assert!(html.contains("devenv.activity.kind"), "attributes kept");
    // Plain OTLP/HTTP still works on the same port.
    assert_eq!(post(up.receiver(), "application/json", b"{}").status, 200);
}

#[test]
fn status_and_wait_recognise_the_embedded_stack() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let run = |args: &[&str]| {
        common::otelctl(dir.path())
            .env("DEVENV_ROOT", dir.path())
            .env("OTELCTL_BASE_PORT", base.to_string())
            .env("OTELCTL_MODE", "local")
            .args(args)
            .output()
            .unwrap()
    };
    let up = Up::start(dir.path(), dir.path(), base, &[]);
    let out = run(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("embedded"), "{text}");
    let out = run(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stack"], "embedded", "{v}");
    for service in ["collector", "tempo", "grafana"] {
        let out = run(&["wait", service, "--timeout", "5"]);
        assert!(
            out.status.success(),
            "wait {service}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("embedded"),
            "wait {service} says which kind runs"
        );
    }
    drop(up);
    let out = run(&["status"]);
    assert_eq!(out.status.code(), Some(3), "nothing runs");
}
