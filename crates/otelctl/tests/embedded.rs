//! `otelctl up --embedded` and `otelctl export` on the real binary and real loopback ports.

mod common;
mod embedded_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use embedded_support::*;
use otelctl_otlp::{rpc_code, ExportTraceServiceRequest, RpcStatus};
use prost::Message;

fn json_status(body: &[u8]) -> RpcStatus {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not a JSON Status ({e}): {}", String::from_utf8_lossy(body)))
}

#[test]
fn receiver_takes_json_protobuf_and_gzip_and_answers_bad_input_without_dying() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);
    let rx = up.receiver();
    let t0 = now_ns();

    // JSON, protobuf, gzip-compressed JSON: 200 with an empty ExportTraceServiceResponse.
    let json = export_request("svc", vec![span(1, 1, 0, "json-root", t0, t0 + 1_000)]);
    let r = post(rx, "application/json", &json.to_json());
    assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let pb = export_request("svc", vec![span(2, 1, 0, "pb-root", t0, t0 + 2_000)]);
    let r = post(rx, "application/x-protobuf", &pb.to_protobuf());
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(
            &export_request("svc", vec![span(3, 1, 0, "gz-root", t0, t0 + 3_000)]).to_json(),
        )
        .unwrap();
        e.finish().unwrap()
    };
    let r = request(
        "POST",
        rx,
        "/v1/traces",
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        &gz,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // The empty probe request clients send.
    assert_eq!(post(rx, "application/json", b"{}").status, 200);

    // Malformed JSON: 400 with a JSON Status.
    let r = post(rx, "application/json", b"{\"resourceSpans\": [");
    assert_eq!(r.status, 400);
    assert_eq!(json_status(&r.body).code, rpc_code::INVALID_ARGUMENT);
    // Malformed protobuf: 400 with a protobuf Status.
    let r = post(rx, "application/x-protobuf", &[0x0a, 0xff, 0xff, 0xff]);
    assert_eq!(r.status, 400);
    assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    let st = RpcStatus::decode(r.body.as_slice()).unwrap();
    assert!(st.message.contains("protobuf"), "{st:?}");
    // Wrong content type: 415.
    let r = post(rx, "text/plain", b"hello");
    assert_eq!(r.status, 415);
    assert!(json_status(&r.body)
        .message
        .contains("application/x-protobuf"));
    let r = request("POST", rx, "/v1/traces", &[], b"{}").unwrap();
    assert_eq!(r.status, 415, "no content type at all");
    // Unsupported content encoding: 415; broken gzip: 400.
    let r = request(
        "POST",
        rx,
        "/v1/traces",
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "br"),
        ],
        b"{}",
    )
    .unwrap();
    assert_eq!(r.status, 415);
    let r = request(
        "POST",
        rx,
        "/v1/traces",
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        b"not gzip",
    )
    .unwrap();
    assert_eq!(r.status, 400);
    // Oversized body: 413, decided from Content-Length before the body is read.
    let mut s = TcpStream::connect(("127.0.0.1", rx)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 104857600\r\n\r\nabc")
        .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/x-protobuf"),
        "{answer}"
    );
    // An oversized chunked body: 413 once more than the limit (8 MiB) has arrived.
    let mut s = TcpStream::connect(("127.0.0.1", rx)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1000000\r\n");
    let _ = s.write_all(&vec![b' '; 9 << 20]);
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // A gzip bomb: 8 MiB + 1 of zeros compresses to a few KiB; refused after decompression.
    let bomb = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![0u8; 8 * 1024 * 1024 + 1]).unwrap();
        e.finish().unwrap()
    };
    let r = request(
        "POST",
        rx,
        "/v1/traces",
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        &bomb,
    )
    .unwrap();
    assert_eq!(r.status, 413);
    // Not HTTP at all, a bare close, a wrong method, an unknown path.
    for junk in [
        &b"\x16\x03\x01\x02\x00garbage\r\n\r\n"[..],
        b"",
        b"GET\r\n\r\n",
    ] {
        let mut s = TcpStream::connect(("127.0.0.1", rx)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(junk);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
    }
    assert_eq!(get(rx, "/v1/traces").status, 405);
    assert_eq!(get(rx, "/v2/nothing").status, 404);
    // Ids of the wrong length: 200 with a partial success, nothing stored.
    let mut bad = span(4, 1, 0, "bad", t0, t0 + 1);
    bad.trace_id = vec![1, 2, 3];
    let r = post(
        rx,
        "application/json",
        &export_request("svc", vec![bad]).to_json(),
    );
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["partialSuccess"]["rejectedSpans"], "1", "{v}");

    // Still serving, and it kept exactly the three good traces.
    let r = post(
        rx,
        "application/json",
        &export_request("svc", vec![span(5, 1, 0, "after", t0, t0 + 5)]).to_json(),
    );
    assert_eq!(r.status, 200);
    let v = traces_json(up.viewer());
    let mut roots: Vec<String> = v["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["root_name"].as_str().unwrap().to_string())
        .collect();
    roots.sort();
    assert_eq!(roots, ["after", "gz-root", "json-root", "pb-root"]);
    assert_eq!(v["counters"]["rejected_spans"], 1);
    assert!(v["bad_requests"].as_u64().unwrap() >= 9, "{v}");
    let (status, _, err) = up.stop();
    assert!(status.success(), "{err}");
}

#[test]
fn traces_survive_a_restart_deep_links_keep_working_and_clear_empties_disk_too() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let up = Up::start(dir.path(), dir.path(), base, &[]);
    let t0 = now_ns();
    let req = export_request(
        "persisted",
        vec![
            span(9, 1, 0, "root", t0, t0 + 10_000_000),
            failed(span(9, 2, 1, "child", t0 + 1_000_000, t0 + 4_000_000)),
        ],
    );
    assert_eq!(
        post(up.receiver(), "application/x-protobuf", &req.to_protobuf()).status,
        200
    );
    let id = trace_hex(9);
    let (status, out, err) = up.stop();
    assert!(status.success(), "{err}");
    assert!(out.contains("0 restored"), "{out}");
    let file = dir.path().join(".devenv/otel/embedded/store.db");
    assert!(file.is_file(), "{file:?}");

    let up = Up::start(dir.path(), dir.path(), base, &[]);
    let v = traces_json(up.viewer());
    assert_eq!(v["traces"][0]["trace_id"], id.as_str());
    assert_eq!(v["traces"][0]["span_count"], 2);
    assert_eq!(v["traces"][0]["status"], "error");
    // The deep link, with a selected span, after the restart.
    let page = get(up.viewer(), &format!("/trace/{id}?span={}", "02".repeat(8)));
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body).unwrap();
    // Both spans are in the waterfall's data; the selected one (in error) is the URL's.
    let data: serde_json::Value = serde_json::from_str(
        html.split(r#"<script type="application/json" id="trace-data">"#)
            .nth(1)
            .and_then(|rest| rest.split("</script>").next())
            .expect("the waterfall's data"),
    )
    .unwrap();
    let rows = data["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let sid = "02".repeat(8);
    let selected = &rows[data["selected"].as_u64().expect("a selected row") as usize];
    assert_eq!(selected[0], sid.as_str());
    assert_eq!(selected[6].as_u64().unwrap() & 1, 1, "marked in error");
    assert!(html.contains(&format!(r#"<section class="attrs" data-span="{sid}">"#)));
    assert!(
        html.contains("value-of-child"),
        "the selected span's attributes are shown"
    );
    // An id that is not stored: 404 page, not a crash.
    assert_eq!(
        get(up.viewer(), &format!("/trace/{}", "ab".repeat(16))).status,
        404
    );
    assert_eq!(get(up.viewer(), "/trace/not-hex").status, 404);

    // A page elsewhere cannot clear; the viewer's own form can.
    let r = request(
        "POST",
        up.viewer(),
        "/api/clear",
        &[("Origin", "http://evil.example")],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 403);
    let origin = format!("http://127.0.0.1:{}", up.viewer());
    let r = request(
        "POST",
        up.viewer(),
        "/api/clear",
        &[("Origin", &origin)],
        b"",
    )
    .unwrap();
    assert_eq!((r.status, r.header("location")), (303, Some("/")));
    assert_eq!(
        traces_json(up.viewer())["traces"].as_array().unwrap().len(),
        0
    );
    let (status, _, _) = up.stop();
    assert!(status.success());
    let up = Up::start(dir.path(), dir.path(), base, &[]);
    assert_eq!(
        traces_json(up.viewer())["traces"].as_array().unwrap().len(),
        0
    );
}

#[test]
fn ring_is_bounded_by_max_traces_and_counts_what_it_drops() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), dir.path(), free_base(), &["--max-traces", "5"]);
    let t0 = now_ns();
    for t in 1..=12u8 {
        let start = t0 + u64::from(t);
        let req = export_request(
            "ring",
            vec![span(t, 1, 0, &format!("t{t}"), start, start + 1)],
        );
        assert_eq!(
            post(up.receiver(), "application/json", &req.to_json()).status,
            200
        );
    }
    // Retention runs between the store's batches (at least every second): oldest start first.
    let v = poll("retention to apply", Duration::from_secs(10), || {
        let v = traces_json(up.viewer());
        (v["traces"].as_array()?.len() == 5).then_some(v)
    });
    let mut kept: Vec<String> = v["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["root_name"].as_str().unwrap().to_string())
        .collect();
    kept.sort();
    assert_eq!(kept, ["t10", "t11", "t12", "t8", "t9"]);
    assert_eq!(v["counters"]["dropped_traces"], 7);
}

#[test]
fn bad_caps_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = common::otelctl(dir.path());
    cmd.arg("--root").arg(dir.path());
    let out = common::run(cmd, ["up", "--embedded", "--max-traces", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("--max-traces"));
    let mut cmd = common::otelctl(dir.path());
    cmd.arg("--root")
        .arg(dir.path())
        .env("OTELCTL_EMBEDDED_MAX_MB", "lots");
    let out = common::run(cmd, ["up", "--embedded"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("$OTELCTL_EMBEDDED_MAX_MB"));
}

#[test]
fn a_busy_port_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let _squat = std::net::TcpListener::bind(("127.0.0.1", base + 3)).unwrap();
    let mut cmd = common::otelctl(dir.path());
    cmd.arg("--root").arg(dir.path());
    let out = common::run(cmd, ["up", "--embedded", "--base-port", &base.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let err = common::stderr(&out);
    // Which port, what it was for, and who holds it (this test process: the squatter).
    assert!(
        err.contains(&format!("port {} on 127.0.0.1 (trace viewer)", base + 3))
            && err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
}

fn export(dir: &std::path::Path, base: u16, args: &[&str]) -> std::process::Output {
    let mut cmd = common::otelctl(dir);
    cmd.arg("--root")
        .arg(dir)
        .args(["--base-port", &base.to_string(), "export"])
        .args(args);
    cmd.output().unwrap()
}

#[test]
fn export_selects_by_trace_and_since_from_the_running_server_and_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let up = Up::start(dir.path(), dir.path(), base, &[]);
    let now = now_ns();
    let old = now - 3 * 3600 * 1_000_000_000; // three hours ago
    let reqs = [
        export_request("old", vec![span(1, 1, 0, "old-root", old, old + 1_000)]),
        export_request(
            "new",
            vec![
                span(2, 1, 0, "new-root", now, now + 1_000),
                span(2, 2, 1, "new-child", now, now + 500),
            ],
        ),
    ];
    for r in &reqs {
        assert_eq!(
            post(up.receiver(), "application/json", &r.to_json()).status,
            200
        );
    }
    let check = |dir: &std::path::Path, from: &str| {
        let all = export(dir, base, &[]);
        assert!(all.status.success(), "{}", common::stderr(&all));
        let req = ExportTraceServiceRequest::from_json(&all.stdout).unwrap();
        assert_eq!(req.span_count(), 3, "{from}");
        let recent = export(dir, base, &["--since", "1h"]);
        let req = ExportTraceServiceRequest::from_json(&recent.stdout).unwrap();
        let names: Vec<&str> = req.spans().map(|(_, s)| s.name.as_str()).collect();
        assert_eq!(names, ["new-root", "new-child"], "{from}");
        let one = export(dir, base, &["--trace", &trace_hex(1)]);
        let req = ExportTraceServiceRequest::from_json(&one.stdout).unwrap();
        assert_eq!(req.span_count(), 1, "{from}");
        // The resource travels with the spans.
        let (res, _) = req.spans().next().unwrap();
        assert_eq!(
            otelctl_otlp::attribute(res, "service.name").map(|v| v.to_text()),
            Some("old".to_string())
        );
    };
    check(dir.path(), "running server");
    let out_file = dir.path().join("out/traces.json");
    let o = export(dir.path(), base, &["--out", out_file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(
        common::stderr(&o).contains("the running viewer"),
        "{}",
        common::stderr(&o)
    );
    assert_eq!(
        ExportTraceServiceRequest::from_json(&std::fs::read(&out_file).unwrap())
            .unwrap()
            .span_count(),
        3
    );
    let (status, _, _) = up.stop();
    assert!(status.success());
    check(dir.path(), "files");

    // Errors: unknown trace (1), bad id and bad duration (2), unreachable --to (1).
    let o = export(dir.path(), base, &["--trace", &"ab".repeat(16)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(common::stderr(&o).contains("not stored"));
    assert_eq!(
        export(dir.path(), base, &["--trace", "xyz"]).status.code(),
        Some(2)
    );
    assert_eq!(
        export(dir.path(), base, &["--since", "soon"]).status.code(),
        Some(2)
    );
    assert_eq!(
        export(dir.path(), base, &["--to", "ftp://x"]).status.code(),
        Some(2)
    );
    let closed = free_base();
    let o = export(
        dir.path(),
        base,
        &["--to", &format!("http://127.0.0.1:{closed}")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", common::stderr(&o));

    // Forwarding to an OTLP endpoint (a recording server here; the real Collector below).
    let receiver = common::Collector::up();
    let o = export(dir.path(), base, &["--to", &receiver.base()]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let got = receiver.next();
    assert_eq!(
        (got.method.as_str(), got.path.as_str()),
        ("POST", "/v1/traces")
    );
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.request().span_count(), 3);
    assert!(o.stdout.is_empty(), "--to alone writes nothing to stdout");
}

#[test]
fn spans_spooled_while_nothing_listened_arrive_once_the_embedded_receiver_starts() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    // Nothing listens on the project's collector port yet: `span` and `test-span` spool.
    let emit = |args: &[&str]| {
        let mut cmd = common::otelctl(dir.path());
        cmd.env("DEVENV_ROOT", dir.path())
            .env("OTELCTL_BASE_PORT", base.to_string());
        let out = cmd.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    emit(&["span", "spooled-svc", "while-down", "--", "true"]);
    emit(&["test-span", "login", "failed", "120", "--suite", "web"]);
    let spool = dir.path().join(".devenv/otel/spool");
    let waiting = || {
        std::fs::read_dir(&spool)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                    .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(waiting(), 2, "both spans wait in {spool:?}");

    let up = Up::start(dir.path(), dir.path(), base, &[]);
    let traces = poll(
        "the spooled spans in the viewer",
        Duration::from_secs(20),
        || {
            let v = traces_json(up.viewer());
            (v["traces"].as_array().map_or(0, Vec::len) == 2).then_some(v)
        },
    );
    let names: Vec<String> = traces["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["root_name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(names.contains(&"while-down".to_string()), "{traces}");
    assert!(names.contains(&"test.web.login".to_string()), "{traces}");
    poll(
        "the delivered spool files to be removed",
        Duration::from_secs(20),
        || (waiting() == 0).then_some(()),
    );
    let (status, _, err) = up.stop();
    assert!(status.success(), "{err}");
    assert!(err.contains("ingested 2 spooled export(s)"), "{err}");
}

#[test]
fn the_viewer_serves_the_pages_css_and_js_and_revalidates_them_by_etag() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);
    let page = String::from_utf8(get(up.viewer(), "/").body).unwrap();
    // Every asset the page names is served, with its type and a validator.
    let mut named: Vec<&str> = page
        .split(['"', '\''])
        .filter(|s| s.starts_with("/assets/"))
        .collect();
    named.sort_unstable();
    assert!(named.contains(&"/assets/css/viewer.css") && named.contains(&"/assets/js/list.js"));
    for path in named.into_iter().chain(["/assets/js/live.js"]) {
        let ty = if path.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        let r = get(up.viewer(), path);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("content-type").unwrap().starts_with(ty), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        let etag = r.header("etag").unwrap().to_string();
        let again = request("GET", up.viewer(), path, &[("If-None-Match", &etag)], b"").unwrap();
        assert_eq!((again.status, again.body.len()), (304, 0), "{path}");
    }
    assert_eq!(get(up.viewer(), "/assets/js/nope.js").status, 404);
    assert_eq!(get(up.viewer(), "/assets/../Cargo.toml").status, 404);
}
