//! The official OpenTelemetry Python SDK, as a new user runs it: an app under
//! `opentelemetry-instrument` (opentelemetry-distro, SDK defaults) exports its traces, metrics
//! and logs to `otelctl up --embedded` over OTLP/HTTP and over OTLP/gRPC. Nothing it prints
//! may be an export error; its log line is found by `otelctl logs --json` with the trace id of
//! the span it was written in, and its counter by `otelctl metrics --json`.
//!
//! The SDK comes from `scripts/lib.sh`'s `otel_python_ensure` (a cached, pinned virtualenv),
//! which `scripts/test` runs and which sets `OTELCTL_OTEL_PYTHON`; without it the test skips.

mod common;

mod embedded_support;

use std::path::PathBuf;
use std::process::Command;

use common::{skip, stderr, TempDir};
use embedded_support::*;

const APP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/python/app.py");

/// The venv's python and its `opentelemetry-instrument`, when installed.
fn sdk() -> Option<(PathBuf, PathBuf)> {
    let python = PathBuf::from(std::env::var_os("OTELCTL_OTEL_PYTHON")?);
    let instrument = python.with_file_name("opentelemetry-instrument");
    (python.is_file() && instrument.is_file()).then_some((python, instrument))
}

/// Runs the app against `receiver` with `protocol`; returns the trace id it printed and
/// everything it printed.
fn run_app(receiver: u16, protocol: &str, service: &str) -> (String, String) {
    let (python, instrument) = sdk().expect("checked by the caller");
    let out = Command::new(instrument)
        .arg(&python)
        .arg(APP)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("OTEL_SERVICE_NAME", service)
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{receiver}"),
        )
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        // The distro's switch for sending the `logging` module's records (off by default).
        .env("OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED", "true")
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{protocol}: {printed}");
    let trace = printed
        .lines()
        .find_map(|l| l.strip_prefix("TRACE_ID "))
        .unwrap_or_else(|| panic!("{protocol}: the app printed no trace id: {printed}"))
        .trim()
        .to_string();
    (trace, printed)
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

#[test]
fn an_app_under_opentelemetry_instrument_exports_all_three_signals_over_http_and_grpc() {
    if sdk().is_none() {
        return skip(
            "OTELCTL_OTEL_PYTHON is not set (scripts/test installs the OpenTelemetry Python SDK with otel_python_ensure)",
        );
    }
    let dir = TempDir::new("otel-python");
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);
    for (protocol, service) in [("http/protobuf", "py-http"), ("grpc", "py-grpc")] {
        let (trace, printed) = run_app(up.receiver(), protocol, service);
        for bad in ["Failed to export", "Transient error", "StatusCode.", "rror"] {
            assert!(
                !printed.contains(bad),
                "{protocol}: the app printed an export error ({bad:?}): {printed}"
            );
        }
        // The span, with the trace id the app saw.
        let traces = cli(&up, &["traces", "--json", "--service", service]);
        assert_eq!(
            traces[0]["trace_id"],
            trace.as_str(),
            "{protocol}: {traces}"
        );
        // Its log line, written inside the span, names that trace.
        let logs = cli(&up, &["logs", "--json", "--service", service]);
        let line = logs
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["body"] == "job done inside its span")
            .unwrap_or_else(|| panic!("{protocol}: no log line in {logs}"));
        assert_eq!(line["trace_id"], trace.as_str(), "{protocol}: {line}");
        assert_eq!(line["severity_text"], "WARN");
        let by_trace = cli(&up, &["logs", "--json", "--trace", &trace]);
        assert_eq!(by_trace.as_array().unwrap().len(), 1, "{by_trace}");
        // Its counter.
        let metrics = cli(&up, &["metrics", "--json", "--service", service]);
        let jobs = metrics
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "app.jobs")
            .unwrap_or_else(|| panic!("{protocol}: no counter in {metrics}"));
        assert_eq!(jobs["kind"], "sum", "{jobs}");
        assert_eq!(jobs["monotonic"], true, "{jobs}");
        assert_eq!(jobs["latest_value"], 3.0, "{jobs}");
    }
    let (status, _, err) = up.stop();
    assert!(status.success(), "{err}");
}
