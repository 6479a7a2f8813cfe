//! Exported OTLP/JSON is accepted by the real OpenTelemetry Collector of the e2e lane.
//!
//! Chain: embedded server A --(`otelctl export --to`)--> real Collector (otlp receiver,
//! otlphttp exporter: protobuf + gzip) --> embedded server B. B ends up with the same trace,
//! so the Collector took our JSON and our receiver took the Collector's protobuf.
//! The Collector comes from `$OTELCTL_COLLECTOR_BIN` or `~/.cache/otelctl-e2e/bin/otelcol-otelctl-*`
//! (built by `scripts/e2e-build --only collector`); the test skips with the reason when absent.

mod common;
mod embedded_support;

use std::time::Duration;

use embedded_support::*;
use otelctl_otlp::ExportTraceServiceRequest;

#[test]
fn exported_json_goes_through_the_real_collector_and_back() {
    // collector_program() prints the skip reason when there is none.
    let Some(bin) = common::stack::collector_program() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (a_root, b_root) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a_root).unwrap();
    std::fs::create_dir_all(&b_root).unwrap();
    let a_base = free_base();
    let a = Up::start(&a_root, dir.path(), a_base, &[]);
    let b = Up::start(&b_root, dir.path(), free_base(), &[]);

    let now = now_ns();
    let req = export_request(
        "through-collector",
        vec![
            span(0x5a, 1, 0, "collector-root", now, now + 9_000_000),
            failed(span(
                0x5a,
                2,
                1,
                "collector-child",
                now + 1_000_000,
                now + 5_000_000,
            )),
        ],
    );
    assert_eq!(
        post(a.receiver(), "application/json", &req.to_json()).status,
        200
    );

    // The Collector: OTLP/HTTP in on a free port, otlphttp out to B, plus the debug exporter.
    let port = free_base();
    let collector = RealCollector::start(
        &bin,
        dir.path(),
        port,
        &format!(
            r#"receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{port}
processors:
  batch:
    timeout: 100ms
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:{b_rx}
    retry_on_failure:
      enabled: false
  debug:
    verbosity: basic
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlphttp, debug]
"#,
            b_rx = b.receiver()
        ),
    );
    let log_text = || collector.log();

    // 1. `otelctl export --to` the Collector.
    let mut cmd = common::otelctl(dir.path());
    cmd.arg("--root")
        .arg(&a_root)
        .args(["--base-port", &a_base.to_string(), "export", "--to"])
        .arg(format!("http://127.0.0.1:{port}"));
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        common::stderr(&out),
        log_text()
    );
    assert!(
        !common::stderr(&out).contains("refused"),
        "{}",
        common::stderr(&out)
    );

    // 2. The file written by `--out`, posted as is, is accepted too.
    let file = dir.path().join("export.json");
    let mut cmd = common::otelctl(dir.path());
    cmd.arg("--root")
        .arg(&a_root)
        .args(["--base-port", &a_base.to_string(), "export", "--out"])
        .arg(&file);
    assert!(cmd.output().unwrap().status.success());
    let body = std::fs::read(&file).unwrap();
    let r = request(
        "POST",
        port,
        "/v1/traces",
        &[("Content-Type", "application/json")],
        &body,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        !String::from_utf8_lossy(&r.body).contains("rejected"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );

    // B receives the trace from the Collector (protobuf, gzip), intact.
    let id = trace_hex(0x5a);
    let got = poll(
        "the trace to arrive at B through the Collector",
        Duration::from_secs(30),
        || {
            let r = get(b.viewer(), &format!("/api/export?trace={id}"));
            let req = ExportTraceServiceRequest::from_json(&r.body).ok()?;
            (req.span_count() == 2).then_some(req)
        },
    );
    let mut names: Vec<&str> = got.spans().map(|(_, s)| s.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["collector-child", "collector-root"]);
    let (res, child) = got
        .spans()
        .find(|(_, s)| s.name == "collector-child")
        .unwrap();
    assert_eq!(child.parent_span_id, vec![1; 8]);
    assert_eq!(child.status.as_ref().map(|s| s.code), Some(2));
    assert_eq!(
        otelctl_otlp::attribute(res, "service.name").map(|v| v.to_text()),
        Some("through-collector".to_string())
    );
    // The Collector batches: the second send may reach B in a later batch than the first.
    poll(
        "the second send to arrive at B and be recognised as a repeat",
        Duration::from_secs(30),
        || (traces_json(b.viewer())["counters"]["duplicate_spans"] == 2).then_some(()),
    );
    println!(
        "collector {} accepted the export; log: {}",
        bin.display(),
        log_text().lines().count()
    );
}
