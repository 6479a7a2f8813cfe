//! Metrics and logs end to end on the real programs: an app under the official OpenTelemetry
//! Python SDK (`opentelemetry-instrument`, its defaults but OTLP/HTTP) exports through the lane's
//! Collector (`otelctl run collector`) into real Prometheus and real VictoriaLogs (`otelctl run
//! prometheus`, `otelctl run victorialogs`, each `otelctl wait`ed). Its counter is read back from
//! Prometheus' HTTP API, its log line (with the span's trace id) from VictoriaLogs' LogsQL API;
//! a second app exports with delta temporality, which Prometheus only takes with
//! `otlp-deltatocumulative` (rendered on). `otelctl status` then names both stores ready.
//!
//! Skips with the reason when a program or the SDK is missing (scripts/e2e-build --only
//! prometheus / victorialogs / collector; scripts/lib.sh otel_python_ensure). Every wait polls
//! with a deadline; nothing sleeps to synchronise.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::stack::*;
use common::{free_base, otelctl_without_programs, skip, TempDir};

/// The SDK's python: `$OTELCTL_OTEL_PYTHON`, else the venv `otel_python_ensure` caches.
fn otel_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("OTELCTL_OTEL_PYTHON").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let cache = std::env::var_os("OTELCTL_E2E_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/otelctl-e2e"))
        })?;
    std::fs::read_dir(&cache)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("python-otel-"))
                && p.join(".complete").exists()
        })
        .map(|venv| venv.join("bin/python"))
}

/// A project whose services `otelctl run` started; they are stopped on drop.
struct Stack {
    home: TempDir,
    root: PathBuf,
    base: u16,
    children: Vec<Child>,
    env: Vec<(&'static str, PathBuf)>,
}

impl Stack {
    fn cmd(&self) -> Command {
        let mut c = otelctl_without_programs(self.home.path());
        c.arg("--root")
            .arg(&self.root)
            .arg("--base-port")
            .arg(self.base.to_string())
            .env("OTELCTL_MODE", "local");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    fn start(&mut self, service: &str) {
        let log = std::fs::File::create(self.home.path().join(format!("{service}.log"))).unwrap();
        let child = self
            .cmd()
            .args(["run", service])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children.push(child);
        let out = self
            .cmd()
            .args(["wait", service, "--timeout", "60"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{service} not ready: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log(service)
        );
    }

    fn log(&self, service: &str) -> String {
        std::fs::read_to_string(self.home.path().join(format!("{service}.log"))).unwrap_or_default()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // `run` execs the program: the child is the program itself.
        for c in self.children.iter_mut().rev() {
            unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
            let _ = c.wait();
        }
    }
}

/// GET `url` on 127.0.0.1 (a plain client: these are the stores' own APIs).
fn get(port: u16, path_and_query: &str) -> Option<String> {
    let url =
        otelctl_http::HttpUrl::parse(&format!("http://127.0.0.1:{port}{path_and_query}")).ok()?;
    let r = otelctl_http::send(
        &otelctl_http::Request {
            method: "GET",
            url: &url,
            headers: &[],
            body: &[],
        },
        Instant::now() + Duration::from_secs(5),
    )
    .ok()?;
    (r.status == 200).then(|| String::from_utf8_lossy(&r.body).into_owned())
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Polls `probe` until it returns `Some` or `limit` passes.
fn poll<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

const APP: &str = r#"
import logging, sys
from opentelemetry import trace, metrics
marker, name = sys.argv[1], sys.argv[2]
counter = metrics.get_meter("e2e").create_counter(name, unit="1", description="requests served")
with trace.get_tracer("e2e").start_as_current_span("handle") as span:
    counter.add(3, {"route": "/x"})
    logging.getLogger("e2e").warning("served %s", marker)
    print(format(span.get_span_context().trace_id, "032x"), flush=True)
"#;

/// Runs the app under `opentelemetry-instrument` against the collector; returns its trace id.
fn run_app(
    python: &Path,
    dir: &Path,
    collector: u16,
    service: &str,
    counter: &str,
    marker: &str,
    delta: bool,
) -> String {
    let app = dir.join("app.py");
    std::fs::write(&app, APP).unwrap();
    let bin = python.parent().unwrap();
    let mut cmd = Command::new(bin.join("opentelemetry-instrument"));
    cmd.arg(python)
        .arg(&app)
        .args([marker, counter])
        .env("OTEL_SERVICE_NAME", service)
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{collector}"),
        )
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .env("OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED", "true")
        .stdin(Stdio::null());
    if delta {
        cmd.env("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta");
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "app failed: {stdout}\n{stderr}");
    // The SDK prints export failures (a 404 on /v1/metrics or /v1/logs, a refused delta) on
    // stderr; the Collector accepts all three signals.
    assert!(
        !stderr.contains("Failed to export"),
        "the SDK reported an export error:\n{stderr}"
    );
    let trace_id = stdout.trim().lines().last().unwrap_or("").to_string();
    assert_eq!(trace_id.len(), 32, "{stdout}");
    trace_id
}

#[test]
fn an_sdk_app_s_counter_and_log_reach_prometheus_and_victorialogs_through_the_collector() {
    let (Some(collector), Some(prometheus), Some(victorialogs)) = (
        collector_program(),
        lane_program("OTELCTL_PROMETHEUS_BIN", "prometheus-"),
        lane_program("OTELCTL_VICTORIALOGS_BIN", "victorialogs-"),
    ) else {
        return;
    };
    let Some(python) = otel_python() else {
        return skip(
            "no OpenTelemetry Python SDK: set $OTELCTL_OTEL_PYTHON (scripts/lib.sh otel_python_ensure makes the cached venv)",
        );
    };
    let home = TempDir::new("signals");
    let root = home.path().join("project");
    std::fs::create_dir_all(&root).unwrap();
    let mut stack = Stack {
        home,
        root,
        base: free_base(),
        children: Vec::new(),
        env: vec![
            ("OTELCTL_COLLECTOR_BIN", collector),
            ("OTELCTL_PROMETHEUS_BIN", prometheus),
            ("OTELCTL_VICTORIALOGS_BIN", victorialogs),
        ],
    };
    let (collector_port, prom_port, logs_port) = (stack.base, stack.base + 6, stack.base + 7);
    // Stores first, as `up` and the devenv module order them.
    stack.start("prometheus");
    stack.start("victorialogs");
    stack.start("collector");

    let mut rand = [0u8; 4];
    otelctl_otlp::random_bytes(&mut rand);
    let tag = otelctl_otlp::to_hex(&rand);
    let service = format!("e2e-app-{tag}");
    let marker = format!("marker-{tag}");
    let trace_id = run_app(
        &python,
        stack.home.path(),
        collector_port,
        &service,
        "e2e.requests",
        &marker,
        false,
    );

    // The counter, by the service's job label, from Prometheus' HTTP API.
    let query = format!(
        "/api/v1/query?query={}",
        encode(&format!("e2e_requests_total{{job=\"{service}\"}}"))
    );
    let found = poll(Duration::from_secs(30), || {
        get(prom_port, &query).filter(|b| b.contains("\"route\":\"/x\""))
    });
    let body = found.unwrap_or_else(|| {
        panic!(
            "no e2e_requests_total for {service} in Prometheus: {:?}\ncollector log:\n{}",
            get(prom_port, &query),
            stack.log("collector")
        )
    });
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"]["result"][0]["value"][1], "3", "{body}");
    assert_eq!(
        v["data"]["result"][0]["metric"]["service_name"],
        service.as_str(),
        "{body}"
    );

    // The log line, by the span's trace id, from VictoriaLogs' LogsQL API.
    let query = format!(
        "/select/logsql/query?query={}",
        encode(&format!("trace_id:=\"{trace_id}\""))
    );
    let found = poll(Duration::from_secs(30), || {
        get(logs_port, &query).filter(|b| b.contains(&marker))
    });
    let body = found.unwrap_or_else(|| {
        panic!(
            "no log with trace id {trace_id} in VictoriaLogs: {:?}\ncollector log:\n{}",
            get(logs_port, &query),
            stack.log("collector")
        )
    });
    let line: serde_json::Value = serde_json::from_str(body.lines().next().unwrap()).unwrap();
    assert_eq!(line["_msg"], format!("served {marker}"), "{body}");
    assert_eq!(line["trace_id"], trace_id.as_str());
    assert_eq!(line["severity_text"], "WARN");
    // The stream is the service, not every resource attribute (the random instance id).
    assert_eq!(
        line["_stream"],
        format!("{{service.name=\"{service}\"}}"),
        "{body}"
    );

    // Delta temporality (the .NET default; Python when asked): accumulated by Prometheus.
    let delta_service = format!("e2e-delta-{tag}");
    run_app(
        &python,
        stack.home.path(),
        collector_port,
        &delta_service,
        "e2e.delta.requests",
        &format!("delta-{tag}"),
        true,
    );
    let query = format!(
        "/api/v1/query?query={}",
        encode(&format!(
            "e2e_delta_requests_total{{job=\"{delta_service}\"}}"
        ))
    );
    let found = poll(Duration::from_secs(30), || {
        get(prom_port, &query).filter(|b| b.contains("\"value\""))
    });
    assert!(
        found.is_some(),
        "a delta counter did not reach Prometheus: {:?}\ncollector log:\n{}",
        get(prom_port, &query),
        stack.log("collector")
    );

    // Every PromQL query of the built-in dashboards (the RED panels over Tempo's span metrics)
    // is valid PromQL for this Prometheus (Grafana's `$__rate_interval` given a value).
    let dashboards = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dashboards");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dashboards).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for panel in v["panels"].as_array().into_iter().flatten() {
            for t in panel["targets"].as_array().into_iter().flatten() {
                let Some(expr) = t["expr"].as_str() else {
                    continue;
                };
                let q = expr.replace("$__rate_interval", "1m");
                let body = get(prom_port, &format!("/api/v1/query?query={}", encode(&q)))
                    .unwrap_or_else(|| panic!("Prometheus refused {q:?} ({path:?})"));
                assert!(body.contains("\"status\":\"success\""), "{q}: {body}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 3, "the RED panels' queries: {checked}");

    // doctor checks both stores with a real query each.
    let out = stack.cmd().args(["doctor"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for store in [
        "the metrics store (prometheus) answers a query",
        "the logs store (victorialogs) answers a query",
    ] {
        assert!(text.contains(store), "{store:?} in:\n{text}");
    }

    // status knows the stores (Tempo and Grafana are not running here).
    let out = stack.cmd().args(["status", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let state = |name: &str| {
        v["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["state"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(state("prometheus").as_deref(), Some("ready"), "{v}");
    assert_eq!(state("victorialogs").as_deref(), Some("ready"), "{v}");
    assert_eq!(state("collector").as_deref(), Some("ready"), "{v}");
}
