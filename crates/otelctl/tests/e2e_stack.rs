//! End to end on the real programs (the lane's Collector and Tempo 2.x/3.x): `otelctl run`
//! and `otelctl wait` per service, then `otelctl up` with spans sent over OTLP/HTTP and read
//! back from Tempo by id and by TraceQL search, parent/child links and attributes intact;
//! Ctrl-C stops cleanly and traces survive a restart; two projects side by side; spooled
//! spans arrive after start (when the collector can read the spool).
//!
//! Every test skips with a printed reason when a program is missing. Real processes, real
//! ports (free ones, never 4318), no sleeps as synchronisation: every wait polls with a
//! deadline. Tests that start stacks take a lock, so the two cores are not oversubscribed.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::stack::*;
use common::{free_base, otelctl_without_programs, TempDir};
use otelctl_http::{self as http, HttpUrl};
use otelctl_otlp::{
    self as otlp, attribute, ExportTraceServiceRequest, InstrumentationScope, KeyValue, Span, Value,
};
use otelctl_stack::tempo_api;

static STACKS: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    STACKS.lock().unwrap_or_else(|p| p.into_inner())
}

/// A project root with its own HOME, base port and lane programs.
struct Project {
    home: TempDir,
    root: PathBuf,
    base: u16,
}

impl Project {
    fn new(tag: &str) -> Self {
        let home = TempDir::new(tag);
        let root = home.path().join("project");
        std::fs::create_dir_all(&root).unwrap();
        Project {
            home,
            root,
            base: free_base(),
        }
    }

    fn cmd(&self) -> Command {
        let mut c = otelctl_without_programs(self.home.path());
        c.arg("--root")
            .arg(&self.root)
            .arg("--base-port")
            .arg(self.base.to_string());
        c
    }

    fn collector_port(&self) -> u16 {
        self.base
    }
    fn tempo_port(&self) -> u16 {
        self.base + 2
    }

    fn wait(&self, service: &str, seconds: u32) {
        run_ok(
            self.cmd()
                .args(["wait", service, "--timeout", &seconds.to_string()]),
        );
    }
}

/// A running `otelctl up`, its output collected line by line.
struct Up {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Up {
    fn start(p: &Project, collector: &Path, tempo: &Path) -> Up {
        let mut child = p
            .cmd()
            .args(["up", "--no-grafana", "--collector-bin"])
            .arg(collector)
            .arg("--tempo-bin")
            .arg(tempo)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Up {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Reads output until a line contains `needle`; panics with the output at the deadline.
    fn expect_line(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                    "no line with {needle:?} within {within:?}; output so far:\n{}",
                    self.seen.join("\n")
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!(
                    "otelctl up ended before printing {needle:?}; its output:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Ctrl-C (SIGINT to `up` alone) and the exit code; the stack must stop within the grace.
    fn interrupt(mut self) -> i32 {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "otelctl up did not stop after SIGINT"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
            let _ = self.child.wait();
        }
    }
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// A root span and a child span of one new trace, for `service`.
fn two_span_trace(service: &str) -> (ExportTraceServiceRequest, String) {
    let trace_id = otlp::new_trace_id().to_vec();
    let root_id = otlp::new_span_id().to_vec();
    let end = now_nanos();
    let span = |name: &str, id: Vec<u8>, parent: Vec<u8>, attrs: Vec<KeyValue>| Span {
        trace_id: trace_id.clone(),
        span_id: id,
        parent_span_id: parent,
        name: name.to_string(),
        kind: 1,
        start_time_unix_nano: end - 50_000_000,
        end_time_unix_nano: end,
        attributes: attrs,
        ..Default::default()
    };
    let root = span(
        "dt check:quick",
        root_id.clone(),
        Vec::new(),
        vec![KeyValue::string("dt.args", "check:quick")],
    );
    let child = span(
        "ts:check",
        otlp::new_span_id().to_vec(),
        root_id,
        vec![
            KeyValue::int("exit.code", 0),
            KeyValue::string("task.cached", "false"),
        ],
    );
    let req = ExportTraceServiceRequest::single(
        vec![
            KeyValue::string("service.name", service),
            KeyValue::string("devenv.root", "/e2e"),
        ],
        InstrumentationScope {
            name: "otelctl-e2e".into(),
            ..Default::default()
        },
        vec![root, child],
    );
    (req, otlp::to_hex(&trace_id))
}

fn send(port: u16, req: &ExportTraceServiceRequest) {
    let url = HttpUrl::parse(&format!("http://127.0.0.1:{port}/v1/traces")).unwrap();
    let headers = [("Content-Type".to_string(), "application/json".to_string())];
    let body = req.to_json();
    let r = http::send(
        &http::Request {
            method: "POST",
            url: &url,
            headers: &headers,
            body: &body,
        },
        Instant::now() + Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

fn unix_secs() -> u64 {
    now_nanos() / 1_000_000_000
}

/// Polls Tempo until the trace is returned by id with both spans; checks links and attributes.
fn expect_trace(tempo_port: u16, trace_id: &str, within: Duration) {
    let deadline = Instant::now() + within;
    let trace = loop {
        match tempo_api::trace_by_id(
            tempo_port,
            trace_id,
            Instant::now() + Duration::from_secs(5),
        ) {
            Ok(Some(t)) if t.span_count() == 2 => break t,
            other => assert!(
                Instant::now() < deadline,
                "trace {trace_id} not complete in Tempo within {within:?}: last answer {other:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let spans: Vec<_> = trace.spans().collect();
    let root = spans
        .iter()
        .find(|(_, s)| s.parent_span_id.is_empty())
        .expect("a root span");
    let child = spans
        .iter()
        .find(|(_, s)| !s.parent_span_id.is_empty())
        .expect("a child span");
    assert_eq!(child.1.parent_span_id, root.1.span_id, "parent/child link");
    assert_eq!(root.1.name, "dt check:quick");
    assert_eq!(
        attribute(&child.1.attributes, "exit.code"),
        Some(&Value::IntValue(0))
    );
    assert_eq!(
        attribute(&root.1.attributes, "dt.args")
            .map(Value::to_text)
            .as_deref(),
        Some("check:quick")
    );
    assert_eq!(
        attribute(child.0, "devenv.root")
            .map(Value::to_text)
            .as_deref(),
        Some("/e2e")
    );
}

/// Polls a TraceQL search on `resource.service.name` until it returns the trace; returns how
/// long that took.
fn expect_search(tempo_port: u16, service: &str, trace_id: &str, within: Duration) -> Duration {
    let start = Instant::now();
    let q = format!("{{ resource.service.name = \"{service}\" }}");
    loop {
        let now = unix_secs();
        let found = tempo_api::search(
            tempo_port,
            &q,
            now - 600,
            now + 60,
            20,
            Instant::now() + Duration::from_secs(5),
        );
        match found {
            Ok(ids) if ids.iter().any(|i| i == trace_id) => return start.elapsed(),
            other => assert!(
                start.elapsed() < within,
                "search {q} did not return {trace_id} within {within:?}: last answer {other:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls a TraceQL metrics query (what the percentile dashboards use) until it returns a
/// series for `service`.
fn expect_traceql_metrics(tempo_port: u16, service: &str, within: Duration) {
    let start = Instant::now();
    let q = format!("{{ resource.service.name = \"{service}\" }} | count_over_time()");
    let mut last = String::new();
    while start.elapsed() < within {
        let now = unix_secs();
        let path = format!(
            "/api/metrics/query_range?q={}&start={}&end={}&step=15s",
            tempo_api::encode_query(&q),
            now - 300,
            now + 15
        );
        let url = HttpUrl::parse(&format!("http://127.0.0.1:{tempo_port}{path}")).unwrap();
        let r = http::send(
            &http::Request {
                method: "GET",
                url: &url,
                headers: &[],
                body: b"",
            },
            Instant::now() + Duration::from_secs(5),
        );
        if let Ok(r) = r {
            last = format!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body));
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
            if r.status == 200 && body["series"].as_array().is_some_and(|s| !s.is_empty()) {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("no TraceQL metrics series for {service} within {within:?}: {last}");
}

fn programs(tempo: Option<PathBuf>) -> Option<(PathBuf, PathBuf)> {
    Some((collector_program()?, tempo?))
}

#[test]
fn run_and_wait_each_tempo_version_from_the_rendered_config() {
    let _l = lock();
    for (label, tempo) in [("2.x", tempo2_program()), ("3.x", tempo3_program())] {
        let Some(tempo) = tempo else { continue };
        let p = Project::new("run-tempo");
        let mut child = p
            .cmd()
            .args(["run", "tempo", "--bin"])
            .arg(&tempo)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let waited = p
            .cmd()
            .args(["wait", "tempo", "--timeout", "90"])
            .output()
            .unwrap();
        // Tempo 3.0 may hang in shutdown once it has answered a query: SIGKILL.
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            waited.status.success(),
            "Tempo {label} did not become ready: {}",
            String::from_utf8_lossy(&waited.stderr)
        );
        // `run` wrote the pid it became.
        let pid = std::fs::read_to_string(p.root.join(".devenv/otel/run/tempo.pid")).unwrap();
        assert_eq!(pid.trim(), child.id().to_string());
    }
}

fn up_round_trip_and_restart(tempo: Option<PathBuf>, label: &str) {
    let Some((collector, tempo)) = programs(tempo) else {
        return;
    };
    let _l = lock();
    let p = Project::new("up");
    let mut up = Up::start(&p, &collector, &tempo);
    up.expect_line("grafana: not started", Duration::from_secs(10));
    up.expect_line("stack ready", Duration::from_secs(120));
    p.wait("collector", 5);
    p.wait("tempo", 5);
    let status = run_ok(p.cmd().args(["status", "--json"]));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["services"][0]["state"], "ready", "{status}");
    assert_eq!(status["services"][1]["state"], "ready", "{status}");

    let service = format!("e2e-{label}-{}", std::process::id());
    let (req, trace_id) = two_span_trace(&service);
    send(p.collector_port(), &req);
    let took = expect_search(p.tempo_port(), &service, &trace_id, Duration::from_secs(30));
    eprintln!(
        "Tempo {label}: span searchable {:.2} s after export",
        took.as_secs_f64()
    );
    expect_trace(p.tempo_port(), &trace_id, Duration::from_secs(10));
    expect_traceql_metrics(p.tempo_port(), &service, Duration::from_secs(60));

    // Ctrl-C: everything stops, exit 0; nothing listens any more.
    assert_eq!(up.interrupt(), 0);
    for port in p.base..p.base + 6 {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "port {port} still held"
        );
    }
    let status = p.cmd().args(["status"]).output().unwrap();
    assert_eq!(status.status.code(), Some(3));

    // Restart: the trace written before is still there.
    let mut up = Up::start(&p, &collector, &tempo);
    up.expect_line("stack ready", Duration::from_secs(120));
    expect_trace(p.tempo_port(), &trace_id, Duration::from_secs(30));
    expect_search(p.tempo_port(), &service, &trace_id, Duration::from_secs(30));
    assert_eq!(up.interrupt(), 0);
}

#[test]
fn up_tempo2_spans_by_id_and_search_survive_restart() {
    up_round_trip_and_restart(tempo2_program(), "tempo2");
}

#[test]
fn up_tempo3_spans_by_id_and_search_survive_restart() {
    up_round_trip_and_restart(tempo3_program(), "tempo3");
}

#[test]
fn two_projects_side_by_side() {
    let Some((collector, tempo)) = programs(tempo3_program().or_else(tempo2_program)) else {
        return;
    };
    let _l = lock();
    let a = Project::new("side-a");
    let b = Project::new("side-b");
    assert_ne!(a.base, b.base);
    let mut up_a = Up::start(&a, &collector, &tempo);
    let mut up_b = Up::start(&b, &collector, &tempo);
    up_a.expect_line("stack ready", Duration::from_secs(120));
    up_b.expect_line("stack ready", Duration::from_secs(120));
    let (req_a, id_a) = two_span_trace("side-a");
    let (req_b, id_b) = two_span_trace("side-b");
    send(a.collector_port(), &req_a);
    send(b.collector_port(), &req_b);
    expect_trace(a.tempo_port(), &id_a, Duration::from_secs(30));
    expect_trace(b.tempo_port(), &id_b, Duration::from_secs(30));
    // Each project's Tempo holds only its own trace.
    let deadline = Instant::now() + Duration::from_secs(5);
    assert!(matches!(
        tempo_api::trace_by_id(a.tempo_port(), &id_b, deadline),
        Ok(None)
    ));
    assert!(matches!(
        tempo_api::trace_by_id(b.tempo_port(), &id_a, deadline),
        Ok(None)
    ));
    assert_eq!(up_a.interrupt(), 0);
    assert_eq!(up_b.interrupt(), 0);
}

#[test]
fn spooled_spans_arrive_after_start_once() {
    let Some((collector, tempo)) = programs(tempo3_program().or_else(tempo2_program)) else {
        return;
    };
    let components = Command::new(&collector).arg("components").output().unwrap();
    if !String::from_utf8_lossy(&components.stdout).contains("otlpjsonfile") {
        common::skip(&format!(
            "{} has no otlpjsonfile receiver (the spool is then drained by `otelctl spool flush`)",
            collector.display()
        ));
        return;
    }
    let _l = lock();
    let p = Project::new("spool");
    let spool = p.root.join(".devenv/otel/spool");
    std::fs::create_dir_all(&spool).unwrap();
    let (req, trace_id) = two_span_trace("spooled");
    let mut line = req.to_json();
    line.push(b'\n');
    std::fs::write(spool.join(".1.json.tmp"), &line).unwrap();
    std::fs::rename(spool.join(".1.json.tmp"), spool.join("1-1-a.json")).unwrap();
    let mut up = Up::start(&p, &collector, &tempo);
    up.expect_line("stack ready", Duration::from_secs(120));
    expect_trace(p.tempo_port(), &trace_id, Duration::from_secs(30));
    assert_eq!(up.interrupt(), 0);
    // A restart does not ingest the file again. Proof: a second file written after the
    // restart arrives (so the spool has been scanned since), and the collector counts only
    // its two spans as accepted from the spool.
    let mut up = Up::start(&p, &collector, &tempo);
    up.expect_line("stack ready", Duration::from_secs(120));
    let (req_b, trace_b) = two_span_trace("spooled-b");
    let mut line = req_b.to_json();
    line.push(b'\n');
    std::fs::write(spool.join(".2.json.tmp"), &line).unwrap();
    std::fs::rename(spool.join(".2.json.tmp"), spool.join("2-1-b.json")).unwrap();
    expect_trace(p.tempo_port(), &trace_b, Duration::from_secs(30));
    let metrics = http::send(
        &http::Request {
            method: "GET",
            url: &HttpUrl::parse(&format!("http://127.0.0.1:{}/metrics", p.base + 4)).unwrap(),
            headers: &[],
            body: b"",
        },
        Instant::now() + Duration::from_secs(5),
    )
    .unwrap();
    let text = String::from_utf8_lossy(&metrics.body);
    let accepted: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("otelcol_receiver_accepted_spans") && l.contains("otlpjsonfile/spool")
        })
        .collect();
    assert_eq!(accepted.len(), 1, "{text}");
    assert!(
        accepted[0].ends_with(" 2"),
        "spool spans accepted after restart: {}",
        accepted[0]
    );
    assert_eq!(up.interrupt(), 0);
}
