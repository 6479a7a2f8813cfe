//! Metrics and logs into a real `otelctl up --embedded`: OTLP/HTTP `/v1/metrics` and `/v1/logs`
//! in both encodings and gzip, the receiver's answers (partial success, 400, 405, 415), what
//! `otelctl logs` and `otelctl metrics` then read through the running viewer, and acknowledged
//! exports surviving `kill -9`. The official SDK over HTTP and gRPC is in otel_python.rs.

mod common;

mod embedded_support;

use std::io::Write;

use common::{stderr, TempDir};
use embedded_support::*;
use otelctl_otlp::logs::{ExportLogsServiceRequest, LogRecord};
use otelctl_otlp::metrics::{
    AggregationTemporality, Data, ExportMetricsServiceRequest, Metric, NumberDataPoint,
    NumberValue, Sum,
};
use otelctl_otlp::{AnyValue, InstrumentationScope, KeyValue, Value};

fn resource(service: &str) -> Vec<KeyValue> {
    vec![KeyValue::string("service.name", service)]
}

fn logs(service: &str, bodies: &[&str], trace: Option<[u8; 16]>) -> ExportLogsServiceRequest {
    let now = now_ns();
    let records = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| LogRecord {
            time_unix_nano: now + i as u64,
            severity_number: 13,
            severity_text: "WARN".into(),
            body: Some(AnyValue {
                value: Some(Value::StringValue(b.to_string())),
            }),
            trace_id: trace.map(|t| t.to_vec()).unwrap_or_default(),
            span_id: trace.map(|_| vec![7; 8]).unwrap_or_default(),
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest::single(resource(service), InstrumentationScope::default(), records)
}

fn counter(service: &str, name: &str, value: i64) -> ExportMetricsServiceRequest {
    let now = now_ns();
    ExportMetricsServiceRequest::single(
        resource(service),
        InstrumentationScope::default(),
        vec![Metric {
            name: name.into(),
            data: Some(Data::Sum(Sum {
                data_points: vec![NumberDataPoint {
                    start_time_unix_nano: now - 1_000_000_000,
                    time_unix_nano: now,
                    value: Some(NumberValue::AsInt(value)),
                    ..Default::default()
                }],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            })),
            ..Default::default()
        }],
    )
}

fn post_to(port: u16, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    let r = request("POST", port, path, headers, body).expect("the receiver answers");
    (r.status, r.body)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn cli(up: &Up, args: &[&str]) -> serde_json::Value {
    let out = common::otelctl(&up.home)
        .arg("--root")
        .arg(&up.root)
        .args(["--base-port", &up.base.to_string()])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn bodies(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["body"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn metrics_and_logs_are_stored_in_every_encoding_and_read_back_through_the_viewer() {
    let dir = TempDir::new("signals-embedded");
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);
    let port = up.receiver();
    let trace = [0x5a; 16];
    let json = [("Content-Type", "application/json")];
    let proto = [("Content-Type", "application/x-protobuf")];
    let proto_gz = [
        ("Content-Type", "application/x-protobuf"),
        ("Content-Encoding", "gzip"),
    ];
    for (headers, body) in [
        (
            &json[..],
            logs("web", &["json record"], Some(trace)).to_json(),
        ),
        (
            &proto[..],
            logs("web", &["protobuf record"], None).to_protobuf(),
        ),
        (
            &proto_gz[..],
            gzip(&logs("db", &["gzip record"], None).to_protobuf()),
        ),
    ] {
        let (status, answer) = post_to(port, "/v1/logs", headers, &body);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    }
    for (headers, body) in [
        (&json[..], counter("web", "jobs.done", 5).to_json()),
        (
            &proto_gz[..],
            gzip(&counter("db", "queries", 9).to_protobuf()),
        ),
    ] {
        let (status, answer) = post_to(port, "/v1/metrics", headers, &body);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
        // An empty ExportMetricsServiceResponse: all accepted.
        assert!(
            answer.is_empty() || answer == b"{}",
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }
    // The probe every SDK may send: an empty export.
    assert_eq!(post_to(port, "/v1/logs", &json, b"{}").0, 200);
    assert_eq!(post_to(port, "/v1/metrics", &json, b"{}").0, 200);

    // Refusals are the traces' ones.
    let (status, body) = post_to(
        port,
        "/v1/logs",
        &json,
        br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]}"#,
    );
    assert_eq!(status, 400);
    let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["code"], 3, "INVALID_ARGUMENT: {err}");
    let (status, _) = post_to(port, "/v1/metrics", &proto, b"\x0a\xff\xff");
    assert_eq!(status, 400);
    let (status, _) = post_to(port, "/v1/metrics", &[("Content-Type", "text/plain")], b"x");
    assert_eq!(status, 415);
    let r = request("GET", port, "/v1/logs", &[], b"").unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));

    let all = cli(&up, &["logs", "--json"]);
    let mut got = bodies(&all);
    got.sort();
    assert_eq!(got, ["gzip record", "json record", "protobuf record"]);
    let in_trace = cli(
        &up,
        &["logs", "--json", "--trace", &otelctl_otlp::to_hex(&trace)],
    );
    assert_eq!(bodies(&in_trace), ["json record"]);
    assert_eq!(in_trace[0]["span_id"], "0707070707070707");
    let db = cli(&up, &["logs", "--json", "--service", "db"]);
    assert_eq!(bodies(&db), ["gzip record"]);

    let names = cli(&up, &["metrics", "--json"]);
    let latest = |n: &str| {
        names
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == n)
            .map(|m| m["latest_value"].clone())
    };
    assert_eq!(latest("jobs.done"), Some(serde_json::json!(5.0)), "{names}");
    assert_eq!(latest("queries"), Some(serde_json::json!(9.0)), "{names}");
    let series = cli(&up, &["metrics", "queries", "--json"]);
    assert_eq!(series[0]["service"], "db");
    assert_eq!(series[0]["temporality"], "cumulative");
    let (status, _, err) = up.stop();
    assert!(status.success(), "{err}");
}

/// Every metrics and logs export answered 200 is in the store after `kill -9`, with either
/// durability, and is read back once.
#[test]
fn acknowledged_metrics_and_logs_survive_kill_9() {
    for durability in ["fsync", "write"] {
        let dir = TempDir::new("signals-kill9");
        let base = free_base();
        let flags = ["--durability", durability];
        let mut up = Up::start(dir.path(), dir.path(), base, &flags);
        let port = up.receiver();
        let json = [("Content-Type", "application/json")];
        let proto = [("Content-Type", "application/x-protobuf")];
        let mut sent = Vec::new();
        for i in 0..20 {
            let body = format!("record {i}");
            let (status, _) = if i % 2 == 0 {
                post_to(
                    port,
                    "/v1/logs",
                    &json,
                    &logs("app", &[&body], None).to_json(),
                )
            } else {
                post_to(
                    port,
                    "/v1/logs",
                    &proto,
                    &logs("app", &[&body], None).to_protobuf(),
                )
            };
            assert_eq!(status, 200, "{durability}");
            sent.push(body);
            let (status, _) = post_to(
                port,
                "/v1/metrics",
                &proto,
                &counter("app", &format!("counter.{i}"), i).to_protobuf(),
            );
            assert_eq!(status, 200, "{durability}");
        }
        // At once, after the last answer.
        up.child.kill().unwrap();
        up.child.wait().unwrap();
        drop(up);

        let up = Up::start(dir.path(), dir.path(), base, &flags);
        let mut got = bodies(&cli(&up, &["logs", "--json", "--limit", "1000"]));
        got.sort();
        sent.sort();
        assert_eq!(got, sent, "{durability}: every acknowledged record, once");
        let names = cli(&up, &["metrics", "--json"]);
        assert_eq!(names.as_array().unwrap().len(), 20, "{durability}: {names}");
        let (status, _, err) = up.stop();
        assert!(status.success(), "{err}");
    }
}

/// `otelctl import` of a file as a Collector's file exporter writes it, one request a line of
/// any signal: the spans, metrics and logs each reach the store.
#[test]
fn import_carries_all_three_signals() {
    let dir = TempDir::new("signals-import");
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);
    let now = now_ns();
    let lines = [
        export_request(
            "imported",
            vec![span(9, 1, 0, "imported-root", now, now + 1000)],
        )
        .to_json(),
        counter("imported", "imported.counter", 42).to_json(),
        logs("imported", &["imported record"], Some([9; 16])).to_json(),
    ];
    let file = dir.path().join("collector-file-exporter.jsonl");
    std::fs::write(&file, lines.join(&b'\n')).unwrap();
    let out = common::otelctl(&up.home)
        .arg("--root")
        .arg(&up.root)
        .args(["--base-port", &up.base.to_string(), "import"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("1 metric data points") && said.contains("1 log records"),
        "{said}"
    );
    let logs = cli(&up, &["logs", "--json", "--trace", &"09".repeat(16)]);
    assert_eq!(bodies(&logs), ["imported record"]);
    let names = cli(&up, &["metrics", "--json", "--service", "imported"]);
    assert_eq!(names[0]["name"], "imported.counter", "{names}");
    assert_eq!(names[0]["latest_value"], 42.0);
    let traces = cli(&up, &["traces", "--json", "--service", "imported"]);
    assert_eq!(traces[0]["trace_id"], "09".repeat(16), "{traces}");
    let (status, _, err) = up.stop();
    assert!(status.success(), "{err}");
}
