//! Helpers for the embedded-server tests: free ports, the real `otelctl up --embedded` process,
//! HTTP with deadlines, OTLP requests, polling (never sleeping) until a condition holds.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use otelctl_http::{self as http, HttpUrl, Response};
use otelctl_otlp::{
    ExportTraceServiceRequest, InstrumentationScope, KeyValue, Span, Status, StatusCode,
};

use super::common;

pub mod browser;

pub use super::common::free_base;

/// Polls `check` until it returns `Some`, or panics with `what` at the deadline.
pub fn poll<T>(what: &str, within: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::yield_now();
        // A short pause between probes keeps the poll from burning a shared core; the deadline,
        // not this pause, is what the test relies on.
        std::thread::park_timeout(Duration::from_millis(20));
    }
}

/// One HTTP exchange on 127.0.0.1.
pub fn request(
    method: &str,
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response, http::HttpError> {
    let url = HttpUrl {
        host: "127.0.0.1".into(),
        port,
        path: path.into(),
    };
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    http::send(
        &http::Request {
            method,
            url: &url,
            headers: &headers,
            body,
        },
        Instant::now() + Duration::from_secs(10),
    )
}

pub fn get(port: u16, path: &str) -> Response {
    request("GET", port, path, &[], b"").expect("GET answers")
}

pub fn post(port: u16, content_type: &str, body: &[u8]) -> Response {
    request(
        "POST",
        port,
        "/v1/traces",
        &[("Content-Type", content_type)],
        body,
    )
    .expect("POST answers")
}

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// A span of trace `trace` (16 bytes of `trace`), id `id`, parent `parent` (0: root).
pub fn span(trace: u8, id: u8, parent: u8, name: &str, start: u64, end: u64) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
        name: name.into(),
        kind: 1,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes: vec![KeyValue::string("test.attr", format!("value-of-{name}"))],
        ..Default::default()
    }
}

pub fn failed(mut s: Span) -> Span {
    s.status = Some(Status {
        code: StatusCode::Error as i32,
        message: "exit 1".into(),
    });
    s
}

pub fn export_request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest::single(
        vec![KeyValue::string("service.name", service)],
        InstrumentationScope {
            name: "otelctl-tests".into(),
            ..Default::default()
        },
        spans,
    )
}

pub fn trace_hex(trace: u8) -> String {
    format!("{trace:02x}").repeat(16)
}

/// The viewer's JSON summary.
pub fn traces_json(viewer: u16) -> serde_json::Value {
    serde_json::from_slice(&get(viewer, "/api/traces").body).expect("api/traces is JSON")
}

/// A running `otelctl up --embedded`, killed on drop.
pub struct Up {
    pub child: Child,
    pub base: u16,
    pub root: PathBuf,
    pub home: PathBuf,
}

impl Up {
    pub fn start(root: &Path, home: &Path, base: u16, extra: &[&str]) -> Up {
        let mut cmd = common::otelctl(home);
        cmd.args(["up", "--embedded", "--root"])
            .arg(root)
            .args(["--base-port", &base.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().expect("otelctl up starts");
        let up = Up {
            child,
            base,
            root: root.to_path_buf(),
            home: home.to_path_buf(),
        };
        poll(
            "the embedded viewer to answer",
            Duration::from_secs(20),
            || {
                request("GET", up.viewer(), "/api/traces", &[], b"")
                    .ok()
                    .filter(|r| r.status == 200)
            },
        );
        up
    }
    pub fn receiver(&self) -> u16 {
        self.base
    }
    pub fn viewer(&self) -> u16 {
        self.base + 3
    }
    pub fn embedded_dir(&self) -> PathBuf {
        self.root.join(".devenv/otel/embedded")
    }
    /// SIGTERM, then the exit status and everything it printed.
    pub fn stop(mut self) -> (std::process::ExitStatus, String, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let exit = poll(
            "otelctl up to exit after SIGTERM",
            Duration::from_secs(20),
            || self.child.try_wait().unwrap(),
        );
        assert!(Instant::now() <= deadline);
        let mut out = String::new();
        let mut err = String::new();
        use std::io::Read;
        if let Some(mut o) = self.child.stdout.take() {
            o.read_to_string(&mut out).unwrap();
        }
        if let Some(mut e) = self.child.stderr.take() {
            e.read_to_string(&mut err).unwrap();
        }
        (exit, out, err)
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real OpenTelemetry Collector (a program of the e2e lane) running `config` (YAML) from
/// `dir/collector.yaml`, its stderr in `dir/collector.log`; ready once its OTLP/HTTP receiver on
/// `port` accepts an empty export. Killed on drop.
pub struct RealCollector {
    child: Child,
    log: PathBuf,
}

impl RealCollector {
    pub fn start(program: &Path, dir: &Path, port: u16, config: &str) -> Self {
        let config_path = dir.join("collector.yaml");
        std::fs::write(&config_path, config).unwrap();
        let log = dir.join("collector.log");
        let child = Command::new(program)
            .arg("--config")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the collector starts");
        let mut collector = RealCollector { child, log };
        // Not `poll`: a failure must say what the port answered and what the Collector logged.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answer = request(
                "POST",
                port,
                "/v1/traces",
                &[("Content-Type", "application/json")],
                b"{}",
            );
            match &answer {
                Ok(r) if r.status == 200 => return collector,
                _ => {}
            }
            if let Ok(Some(status)) = collector.child.try_wait() {
                panic!(
                    "the Collector exited ({status}) before accepting an export on port {port}; \
                     its log:\n{}",
                    collector.log()
                );
            }
            if Instant::now() >= deadline {
                let last = match answer {
                    Ok(r) => format!("HTTP {}", r.status),
                    Err(e) => format!("{e}"),
                };
                panic!(
                    "timed out after 60s waiting for the Collector to accept an empty export on \
                     port {port} (last answer: {last}); its log:\n{}",
                    collector.log()
                );
            }
            std::thread::park_timeout(Duration::from_millis(20));
        }
    }

    /// What the Collector has written to stderr so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for RealCollector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One OTLP/gRPC trace export of any prost message (to send what no SDK sends).
pub fn grpc_export<M: prost::Message + Default + Send + Sync + 'static>(
    port: u16,
    msg: M,
) -> Result<otelctl_otlp::ExportTraceServiceResponse, tonic::Status> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.unwrap();
        let codec =
            tonic_prost::ProstCodec::<M, otelctl_otlp::ExportTraceServiceResponse>::default();
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        );
        grpc.unary(tonic::Request::new(msg), path, codec)
            .await
            .map(tonic::Response::into_inner)
    })
}
