//! `otelctl logs` and `otelctl metrics` against a store that holds what the official Python
//! SDK exported (tests/fixtures/otlp: its metrics and logs request bodies), read from the
//! database while no server runs. The same commands against a running `up --embedded`, fed by a
//! real app, are in otel_python.rs.

mod common;

use std::path::Path;

use common::*;
use otelctl_otlp::logs::ExportLogsServiceRequest;
use otelctl_otlp::metrics::ExportMetricsServiceRequest;

const PY_METRICS: &[u8] = include_bytes!("fixtures/otlp/python_metrics.pb");
const PY_LOGS: &[u8] = include_bytes!("fixtures/otlp/python_logs.pb");

/// A project whose embedded store holds the fixtures (times moved to now, so `--since` keeps
/// them), and a base port where no server listens.
fn project() -> (TempDir, u16, ExportLogsServiceRequest) {
    let dir = TempDir::new("signals-cli");
    let mut logs = ExportLogsServiceRequest::from_protobuf(PY_LOGS).unwrap();
    let mut metrics = ExportMetricsServiceRequest::from_protobuf(PY_METRICS).unwrap();
    let now = otelctl_span::emit::now_nanos();
    let first = logs
        .records()
        .map(|(_, _, r)| r.time_unix_nano)
        .min()
        .unwrap();
    for r in logs
        .resource_logs
        .iter_mut()
        .flat_map(|rl| rl.scope_logs.iter_mut())
        .flat_map(|sl| sl.log_records.iter_mut())
    {
        r.time_unix_nano = now - 60_000_000_000 + (r.time_unix_nano - first);
        r.observed_time_unix_nano = r.time_unix_nano;
    }
    shift_metrics(&mut metrics, now - 30_000_000_000);
    let embedded = dir.path().join("data").join("embedded");
    let (store, _) = otelctl_store::Store::open(&embedded, Default::default()).unwrap();
    store.append_logs_blocking(&logs).unwrap();
    store.append_metrics_blocking(&metrics).unwrap();
    store.close();
    (dir, free_base(), logs)
}

fn shift_metrics(req: &mut ExportMetricsServiceRequest, to: u64) {
    use otelctl_otlp::metrics::Data;
    for m in req
        .resource_metrics
        .iter_mut()
        .flat_map(|rm| rm.scope_metrics.iter_mut())
        .flat_map(|sm| sm.metrics.iter_mut())
    {
        let times: Vec<&mut u64> = match m.data.as_mut() {
            Some(Data::Gauge(g)) => g
                .data_points
                .iter_mut()
                .map(|p| &mut p.time_unix_nano)
                .collect(),
            Some(Data::Sum(s)) => s
                .data_points
                .iter_mut()
                .map(|p| &mut p.time_unix_nano)
                .collect(),
            Some(Data::Histogram(h)) => h
                .data_points
                .iter_mut()
                .map(|p| &mut p.time_unix_nano)
                .collect(),
            Some(Data::ExponentialHistogram(h)) => h
                .data_points
                .iter_mut()
                .map(|p| &mut p.time_unix_nano)
                .collect(),
            Some(Data::Summary(s)) => s
                .data_points
                .iter_mut()
                .map(|p| &mut p.time_unix_nano)
                .collect(),
            None => vec![],
        };
        for t in times {
            *t = to;
        }
    }
}

fn cli(dir: &Path, base: u16, args: &[&str]) -> std::process::Output {
    let mut cmd = otelctl(dir);
    cmd.env("OTELCTL_DATA_DIR", dir.join("data"))
        .arg("--root")
        .arg(dir)
        .args(["--base-port", &base.to_string()])
        .args(args);
    cmd.output().unwrap()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

#[test]
fn logs_lists_filters_and_names_the_span_of_each_record() {
    let (dir, base, logs) = project();
    let all = json(&cli(dir.path(), base, &["logs", "--json"]));
    let bodies: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "outside any span",
            "slow request /a",
            "request failed",
            "after the span"
        ],
        "oldest first"
    );
    let warn = &all[1];
    assert_eq!(warn["service"], "fixture-app");
    assert_eq!(warn["severity_text"], "WARN");
    let trace = otelctl_otlp::to_hex(&logs.records().nth(1).unwrap().2.trace_id);
    assert_eq!(warn["trace_id"], trace.as_str());
    assert_eq!(warn["span_id"].as_str().unwrap().len(), 16);

    let pick = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["logs", "--json"];
        full.extend_from_slice(args);
        json(&cli(dir.path(), base, &full))
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["body"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        pick(&["--severity", "warn"]),
        ["slow request /a", "request failed"]
    );
    assert_eq!(pick(&["--severity", "ERROR"]), ["request failed"]);
    assert_eq!(
        pick(&["--trace", &trace]),
        ["slow request /a", "request failed"]
    );
    assert_eq!(pick(&["--grep", "SLOW"]), ["slow request /a"]);
    assert_eq!(pick(&["--service", "nobody"]), Vec::<String>::new());
    assert_eq!(pick(&["--limit", "1"]), ["after the span"], "the newest");
    assert_eq!(pick(&["--since", "1s"]), Vec::<String>::new());

    let out = cli(dir.path(), base, &["logs", "--severity", "warn"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = text(&out.stdout);
    assert_eq!(lines.lines().count(), 2, "{lines}");
    assert!(
        lines.contains("WARN  fixture-app  slow request /a  trace=") && lines.contains(&trace),
        "{lines}"
    );

    let bad = cli(dir.path(), base, &["logs", "--severity", "loud"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    let bad = cli(dir.path(), base, &["logs", "--trace", "xyz"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

#[test]
fn metrics_lists_names_with_their_latest_value_and_a_names_series() {
    let (dir, base, _) = project();
    let names = json(&cli(dir.path(), base, &["metrics", "--json"]));
    let find = |n: &str| {
        names
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == n)
            .unwrap_or_else(|| panic!("{n} in {names}"))
            .clone()
    };
    let requests = find("fixture.requests");
    assert_eq!(requests["kind"], "sum");
    assert_eq!(requests["temporality"], "delta");
    assert_eq!(requests["monotonic"], true);
    assert_eq!(requests["series"], 2);
    assert_eq!(find("fixture.temperature")["latest_value"], 21.5);
    assert_eq!(find("fixture.latency")["kind"], "histogram");
    assert_eq!(find("fixture.exp_latency")["kind"], "exponentialHistogram");

    let series = json(&cli(
        dir.path(),
        base,
        &["metrics", "fixture.requests", "--json"],
    ));
    let mut values: Vec<f64> = series
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["points"][0]["value"].as_f64().unwrap())
        .collect();
    values.sort_by(f64::total_cmp);
    assert_eq!(values, [2.0, 3.0], "one series per attribute set");

    let out = cli(dir.path(), base, &["metrics"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = text(&out.stdout);
    assert!(table.starts_with("SERVICE"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.contains("fixture.temperature") && l.contains("21.5")),
        "{table}"
    );
    let out = cli(dir.path(), base, &["metrics", "fixture.latency"]);
    assert!(
        text(&out.stdout).contains("count=3 sum=75"),
        "{}",
        text(&out.stdout)
    );
    let out = cli(dir.path(), base, &["metrics", "no.such.metric"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no.such.metric"), "{}", stderr(&out));
}
