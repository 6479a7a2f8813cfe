//! `otelctl relay -- CMD`: the command's environment, exit status and output are what dt needs;
//! the trace itself is checked end to end in dt_trace.rs.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;

const SAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const UNSAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

/// Runs `otelctl relay -- sh -c 'env > FILE; exit CODE'` and returns its exit code and the
/// environment the command saw.
fn relay_env(
    home: &Path,
    vars: &[(&str, &str)],
    code: i32,
) -> (Option<i32>, HashMap<String, String>) {
    let file = home.join("child.env");
    // A call that reuses `home` must not read what an earlier command wrote.
    let _ = std::fs::remove_file(&file);
    let mut cmd = otelctl(home);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let script = format!("env > '{}'; exit {code}", file.display());
    let out = run(cmd, ["relay", "--", "sh", "-c", &script]);
    let env = std::fs::read_to_string(&file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert!(
        !stderr(&out).contains("warning"),
        "no warnings: {}",
        stderr(&out)
    );
    (out.status.code(), env)
}

#[test]
fn points_devenv_and_the_tasks_at_the_relay() {
    let home = tempfile::tempdir().unwrap();
    let (code, env) = relay_env(
        home.path(),
        &[
            ("TRACEPARENT", SAMPLED),
            ("OTELCTL_DEVENV_TRACE", "otlp-grpc"),
            ("DEVENV_TRACE_TO", "json:file:/tmp/mine.json"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://127.0.0.1:9/v1/traces",
            ),
        ],
        7,
    );
    assert_eq!(code, Some(7), "the command's exit status");
    let relay = env["OTELCTL_RELAY_ENDPOINT"].clone();
    assert!(relay.starts_with("http://127.0.0.1:"), "{relay}");
    assert_ne!(relay, "http://127.0.0.1:9");
    assert_eq!(env["OTEL_EXPORTER_OTLP_ENDPOINT"], relay);
    assert!(
        !env.contains_key("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        "removed, so the tasks follow OTEL_EXPORTER_OTLP_ENDPOINT"
    );
    assert_eq!(
        env["DEVENV_TRACE_TO"],
        format!("json:file:/tmp/mine.json,otlp-grpc:{relay}"),
        "the user's destinations stay first"
    );
    assert_eq!(env["DEVENV_TRACE_DEFAULT_TO"], "");
    assert_eq!(env["TRACEPARENT"], SAMPLED, "dt's context passes through");
}

#[test]
fn devenv_trace_off_leaves_devenv_untraced_but_relays_the_tasks() {
    let home = tempfile::tempdir().unwrap();
    let (code, env) = relay_env(home.path(), &[("TRACEPARENT", SAMPLED)], 0);
    assert_eq!(code, Some(0));
    assert!(!env.contains_key("DEVENV_TRACE_TO"), "{env:?}");
    assert_eq!(env["DEVENV_TRACE_DEFAULT_TO"], "");
    assert_eq!(
        env["OTEL_EXPORTER_OTLP_ENDPOINT"],
        env["OTELCTL_RELAY_ENDPOINT"]
    );
}

#[test]
fn without_a_sampled_dt_span_nothing_is_relayed() {
    let home = tempfile::tempdir().unwrap();
    for tp in [None, Some(UNSAMPLED)] {
        let mut vars = vec![
            ("OTELCTL_DEVENV_TRACE", "otlp-grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
        ];
        if let Some(tp) = tp {
            vars.push(("TRACEPARENT", tp));
        }
        let (code, env) = relay_env(home.path(), &vars, 3);
        assert_eq!(code, Some(3));
        assert!(!env.contains_key("OTELCTL_RELAY_ENDPOINT"), "{tp:?}");
        assert!(!env.contains_key("DEVENV_TRACE_TO"), "{tp:?}");
        assert_eq!(env["DEVENV_TRACE_DEFAULT_TO"], "", "{tp:?}");
        assert_eq!(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://127.0.0.1:9");
    }
}

#[test]
fn a_missing_command_is_127_and_signals_are_128_plus_n() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = otelctl(home.path());
    cmd.env("TRACEPARENT", SAMPLED);
    let out = run(cmd, ["relay", "--", "no-such-program-otelctl-test"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        stderr(&out).contains("command not found"),
        "{}",
        stderr(&out)
    );

    let mut cmd = otelctl(home.path());
    cmd.env("TRACEPARENT", SAMPLED);
    let out = run(cmd, ["relay", "--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.status.code(), Some(143));
}

#[test]
fn a_bad_relay_endpoint_in_env_is_named() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = otelctl(home.path());
    cmd.env("OTELCTL_RELAY_ENDPOINT", "127.0.0.1:4000");
    let out = run(cmd, ["env", "--root", "/work/project"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("OTELCTL_RELAY_ENDPOINT")
            && stderr(&out).contains("http://127.0.0.1:PORT"),
        "{}",
        stderr(&out)
    );
}

/// Children end, and are exported, before their parents: a span whose parent has not come
/// through the relay yet waits for it (on disk, in the spool's hold) and follows it. A span
/// whose parent never comes goes under dt's span at the end of the run, the parent it named
/// kept as an attribute. Nothing is left held or spooled.
#[test]
fn spans_wait_for_their_parent_and_orphans_end_up_under_dt() {
    let home = tempfile::tempdir().unwrap();
    let collector = Collector::start(vec![Answer::Ok]);
    let spool = home.path().join("spool");
    let mut cmd = otelctl(home.path());
    cmd.env("TRACEPARENT", SAMPLED)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.base())
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "5000")
        .env("OTEL_SPOOL_DIR", &spool)
        .env("OTELCTL_CARRIER_DIR", home.path().join("carriers"))
        .env("OTELCTL_UNDER_TEST", bin());
    // In the relayed command (its OTEL_EXPORTER_OTLP_ENDPOINT is the relay):
    // - `orphan`, under a parent that never comes through the relay;
    // - `parent` (begun first, ended last) and its `child`, exported before it.
    let script = r#"set -e
o="$OTELCTL_UNDER_TEST"
TRACEPARENT=00-4bf92f3577b34da6a3ce929d0e0e4736-7777777777777777-01 "$o" span t orphan -- true
export TRACEPARENT=$("$o" span begin t parent)
"$o" span t child -- true
"$o" span end
"#;
    let out = run(cmd, ["relay", "--", "sh", "-c", script]);
    assert!(out.status.success(), "{}", stderr(&out));

    let spans: Vec<(usize, otelctl_otlp::Span)> = collector
        .drain()
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            r.request()
                .spans()
                .map(|(_, s)| (i, s.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let find = |name: &str| {
        let found: Vec<_> = spans.iter().filter(|(_, s)| s.name == name).collect();
        assert_eq!(found.len(), 1, "{name} once: {spans:?}");
        found[0].clone()
    };
    let (dt_trace, dt_span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let (_, orphan) = find("orphan");
    assert_eq!(otelctl_otlp::to_hex(&orphan.trace_id), dt_trace);
    assert_eq!(otelctl_otlp::to_hex(&orphan.parent_span_id), dt_span);
    assert_eq!(
        attr(&orphan.attributes, "otelctl.relay.original_parent_span_id")
            .map(|v| v.to_text())
            .as_deref(),
        Some("7777777777777777")
    );
    let (parent_request, parent) = find("parent");
    let (child_request, child) = find("child");
    assert_eq!(
        child.parent_span_id, parent.span_id,
        "kept under its parent"
    );
    assert!(
        attr(&child.attributes, "otelctl.relay.original_parent_span_id").is_none(),
        "its parent came"
    );
    assert_eq!(
        child_request, parent_request,
        "the child went out with its parent, in the delivery the parent's answer waited for"
    );
    let left: Vec<_> = std::fs::read_dir(&spool)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.iter().all(|n| {
            let n = n.to_string_lossy();
            !n.ends_with(".json") && !n.starts_with(".held-")
        }),
        "nothing held or spooled: {left:?}"
    );
}

/// A stand-in for an app's metrics and logs exporters (Python's standard library: no SDK
/// needed here; the real SDK runs in otel_python.rs): posts one OTLP/JSON metrics export and one
/// logs export, whose record names a trace outside dt's, to `$OTEL_EXPORTER_OTLP_ENDPOINT`, and
/// prints each answer's status.
const POST_METRICS_AND_LOGS: &str = r#"
import json, os, urllib.request
base = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/")
res = {"attributes": [{"key": "service.name", "value": {"stringValue": "task-app"}}]}
metrics = {"resourceMetrics": [{"resource": res, "scopeMetrics": [{"metrics": [
    {"name": "jobs.done", "sum": {"aggregationTemporality": 2, "isMonotonic": True,
     "dataPoints": [{"asInt": "3", "timeUnixNano": "1700000000000000000"}]}}]}]}]}
logs = {"resourceLogs": [{"resource": res, "scopeLogs": [{"logRecords": [
    {"timeUnixNano": "1700000000000000000", "severityNumber": 13, "body": {"stringValue": "slow job"},
     "traceId": "11111111111111111111111111111111", "spanId": "2222222222222222"},
    {"timeUnixNano": "1700000000000000001", "severityNumber": 9, "body": {"stringValue": "no span"}}]}]}]}
for path, body in (("/v1/metrics", metrics), ("/v1/logs", logs)):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as answer:
        print(path, answer.status)
"#;

fn python3() -> Option<&'static str> {
    std::process::Command::new("python3")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| "python3")
}

#[test]
fn metrics_and_logs_are_forwarded_to_their_paths_with_logs_in_the_dt_trace() {
    let Some(python) = python3() else {
        return skip("python3 is not installed (the stand-in app that posts metrics and logs)");
    };
    let home = tempfile::tempdir().unwrap();
    let collector = Collector::start(vec![Answer::Ok]);
    let mut cmd = otelctl(home.path());
    cmd.env("TRACEPARENT", SAMPLED)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.base())
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "5000")
        .env("OTEL_SPOOL_DIR", home.path().join("spool"));
    let out = run(cmd, ["relay", "--", python, "-c", POST_METRICS_AND_LOGS]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("/v1/metrics 200") && printed.contains("/v1/logs 200"),
        "{printed}"
    );
    let received = collector.drain();
    let at = |path: &str| {
        let found: Vec<_> = received.iter().filter(|r| r.path == path).collect();
        assert_eq!(found.len(), 1, "one export to {path}: {received:?}");
        found[0].clone()
    };
    let metrics = at("/v1/metrics");
    let metrics = match metrics.header("content-type") {
        Some("application/json") => {
            otelctl_otlp::metrics::ExportMetricsServiceRequest::from_json(&metrics.body)
        }
        _ => otelctl_otlp::metrics::ExportMetricsServiceRequest::from_protobuf(&metrics.body),
    }
    .unwrap();
    assert_eq!(metrics.data_point_count(), 1);
    assert_eq!(metrics.metrics().next().unwrap().2.name, "jobs.done");
    let logs = at("/v1/logs");
    let logs = match logs.header("content-type") {
        Some("application/json") => {
            otelctl_otlp::logs::ExportLogsServiceRequest::from_json(&logs.body)
        }
        _ => otelctl_otlp::logs::ExportLogsServiceRequest::from_protobuf(&logs.body),
    }
    .unwrap();
    let records: Vec<_> = logs.records().map(|(_, _, r)| r.clone()).collect();
    assert_eq!(records.len(), 2);
    assert_eq!(
        otelctl_otlp::to_hex(&records[0].trace_id),
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "the record follows its span into the dt trace"
    );
    assert_eq!(
        otelctl_otlp::to_hex(&records[0].span_id),
        "2222222222222222"
    );
    assert_eq!(
        attr(&records[0].attributes, "otelctl.relay.original_trace_id")
            .map(|v| v.to_text())
            .as_deref(),
        Some("11111111111111111111111111111111")
    );
    assert!(
        records[1].trace_id.is_empty(),
        "a record outside any span stays so"
    );
}

#[test]
fn metrics_and_logs_the_relay_cannot_forward_are_spooled_and_flushed_to_their_paths() {
    let Some(python) = python3() else {
        return skip("python3 is not installed (the stand-in app that posts metrics and logs)");
    };
    let home = tempfile::tempdir().unwrap();
    let spool = home.path().join("spool");
    let mut cmd = otelctl(home.path());
    cmd.env("TRACEPARENT", SAMPLED)
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", refused_port()),
        )
        .env("OTEL_SPOOL_DIR", &spool);
    let out = run(cmd, ["relay", "--", python, "-c", POST_METRICS_AND_LOGS]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut names: Vec<String> = std::fs::read_dir(&spool)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names.iter().any(|n| n.ends_with(".metrics.jsonl"))
            && names.iter().any(|n| n.ends_with(".logs.jsonl")),
        "each file says its signal, and none is a traces file (*.json): {names:?}"
    );

    let collector = Collector::start(vec![Answer::Ok]);
    let mut cmd = otelctl(home.path());
    cmd.env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.base())
        .env("OTEL_SPOOL_DIR", &spool);
    let out = run(cmd, ["spool", "flush", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["delivered_files"], 2, "{report}");
    assert_eq!(report["delivered_data_points"], 1, "{report}");
    assert_eq!(report["delivered_log_records"], 2, "{report}");
    let mut paths: Vec<String> = collector.drain().into_iter().map(|r| r.path).collect();
    paths.sort();
    assert_eq!(paths, ["/v1/logs", "/v1/metrics"]);
    let left = std::fs::read_dir(&spool)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .count();
    assert_eq!(left, 0, "delivered files are gone");
}
