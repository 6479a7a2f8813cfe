//! Every query of every dashboard (the six built-ins and the sample project's) on a REAL Tempo.
//!
//! Starts each Tempo the end-to-end lane built (`scripts/e2e-build`: 2.10.x and 3.0.x, found
//! through `$OTELCTL_TEMPO_V2_BIN`/`$OTELCTL_TEMPO_V3_BIN` or the lane's cache), seeds spans
//! over OTLP/HTTP (a `dt` run with `dt-task` children, a pnpm install with per-package steps,
//! a shell entry with phases, app spans and test spans), then sends every query exactly as
//! `otelctl dash list --json` reads it from the dashboard JSON (variables at their defaults) to
//! Tempo's HTTP API (`/api/search`, `/api/metrics/query_range`) and asserts that each one is
//! accepted and finds the seeded spans. Skips, saying why, when no Tempo binary is there.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use otelctl_http::{self as http, HttpUrl};
use otelctl_otlp::{
    ExportTraceServiceRequest, InstrumentationScope, KeyValue, ResourceSpans, ScopeSpans, Span,
    Status,
};
use serde_json::Value;

fn cache_dir() -> Option<PathBuf> {
    if let Some(c) = std::env::var_os("OTELCTL_E2E_CACHE") {
        return Some(PathBuf::from(c));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
    Some(base.join("otelctl-e2e"))
}

/// The Tempo binaries to test: (label, path).
fn tempo_binaries() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for (var, prefix) in [
        ("OTELCTL_TEMPO_V2_BIN", "tempo-2."),
        ("OTELCTL_TEMPO_V3_BIN", "tempo-3."),
    ] {
        if let Some(p) = std::env::var_os(var).map(PathBuf::from) {
            if p.is_file() {
                out.push((prefix.trim_end_matches('.').to_string(), p));
                continue;
            }
        }
        let newest = cache_dir()
            .and_then(|c| std::fs::read_dir(c.join("bin")).ok())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok());
        if let Some(e) = newest {
            out.push((e.file_name().to_string_lossy().into_owned(), e.path()));
        }
    }
    out
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Tempo {
    child: Child,
    http: u16,
    otlp_http: u16,
    log: PathBuf,
    _state: tempfile::TempDir,
}

impl Drop for Tempo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The configs of the e2e lane (`e2e/configs/tempo-v{2,3}.yaml`), with free ports and a temporary
/// state dir. `query_end_cutoff` (3.x: default 30 s hides the newest spans) only where the lane
/// verified it.
fn config(v3: bool, state: &Path, http: u16, grpc: u16, otlp_grpc: u16, otlp_http: u16) -> String {
    let s = state.display();
    let common = format!(
        "target: all\nstream_over_http_enabled: true\n\
server:\n  http_listen_address: 127.0.0.1\n  http_listen_port: {http}\n  grpc_listen_address: 127.0.0.1\n  grpc_listen_port: {grpc}\n  log_level: warn\n\
distributor:\n  receivers:\n    otlp:\n      protocols:\n        grpc:\n          endpoint: 127.0.0.1:{otlp_grpc}\n        http:\n          endpoint: 127.0.0.1:{otlp_http}\n\
storage:\n  trace:\n    backend: local\n    wal:\n      path: {s}/wal\n    local:\n      path: {s}/blocks\n\
usage_report:\n  reporting_enabled: false\n"
    );
    if v3 {
        format!(
            "{common}query_frontend:\n  query_end_cutoff: 0s\n\
live_store:\n  wal:\n    path: {s}/live-store/traces\n  shutdown_marker_dir: {s}/live-store/shutdown-marker\n\
backend_scheduler:\n  local_work_path: {s}/backend-scheduler\n\
metrics_generator:\n  storage:\n    path: {s}/generator/wal\n\
overrides:\n  defaults:\n    compaction:\n      block_retention: 1h\n"
        )
    } else {
        format!(
            "{common}metrics_generator:\n  storage:\n    path: {s}/generator/wal\n  traces_storage:\n    path: {s}/generator/traces\n\
overrides:\n  defaults:\n    compaction:\n      block_retention: 1h\n    metrics_generator:\n      processors: [local-blocks]\n"
        )
    }
}

fn get(port: u16, path: &str, secs: u64) -> Result<(u16, String), String> {
    let url = HttpUrl {
        host: "127.0.0.1".to_string(),
        port,
        path: path.to_string(),
    };
    let req = http::Request {
        method: "GET",
        url: &url,
        headers: &[],
        body: &[],
    };
    http::send(&req, Instant::now() + Duration::from_secs(secs))
        .map(|r| (r.status, String::from_utf8_lossy(&r.body).into_owned()))
        .map_err(|e| e.to_string())
}

fn start(label: &str, bin: &Path) -> Tempo {
    let state = tempfile::tempdir().unwrap();
    let (http, grpc, otlp_grpc, otlp_http) = (free_port(), free_port(), free_port(), free_port());
    let v3 = label.contains("-3.") || label.starts_with("tempo-3");
    let cfg = state.path().join("tempo.yaml");
    std::fs::write(
        &cfg,
        config(v3, state.path(), http, grpc, otlp_grpc, otlp_http),
    )
    .unwrap();
    let log = state.path().join("tempo.log");
    let child = Command::new(bin)
        .arg(format!("-config.file={}", cfg.display()))
        .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
        .stderr(Stdio::from(
            std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
        ))
        .spawn()
        .unwrap();
    let tempo = Tempo {
        child,
        http,
        otlp_http,
        log,
        _state: state,
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok((200, _)) = get(http, "/ready", 2) {
            return tempo;
        }
        assert!(
            Instant::now() < deadline,
            "{label} not ready in 90 s; log:\n{}",
            tail(&tempo.log)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

// ---- seed spans ----

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

struct Seeder {
    counter: u64,
    base: u64,
}

impl Seeder {
    fn id(&mut self, len: usize) -> Vec<u8> {
        self.counter += 1;
        let mut v = vec![0u8; len];
        let bytes = (self.base ^ self.counter.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_be_bytes();
        for (i, b) in v.iter_mut().enumerate() {
            *b = bytes[i % 8] ^ (i as u8).wrapping_mul(31) ^ (self.counter as u8);
        }
        v[0] |= 1;
        v
    }
}

#[allow(clippy::too_many_arguments)]
fn span(
    trace: &[u8],
    id: Vec<u8>,
    parent: Option<&[u8]>,
    name: &str,
    start_ms_ago: u64,
    dur_ms: u64,
    attrs: Vec<KeyValue>,
    error: bool,
) -> Span {
    let start = now_ns() - start_ms_ago * 1_000_000;
    Span {
        trace_id: trace.to_vec(),
        span_id: id,
        parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
        name: name.to_string(),
        kind: if name.starts_with("GET ") || name.starts_with("POST ") {
            2
        } else {
            1
        },
        start_time_unix_nano: start,
        end_time_unix_nano: start + dur_ms * 1_000_000,
        attributes: attrs,
        status: error.then(|| Status {
            message: "failed".to_string(),
            code: 2,
        }),
        ..Default::default()
    }
}

fn resource(service: &str, extra: Vec<KeyValue>, spans: Vec<Span>) -> ResourceSpans {
    let mut attrs = vec![
        KeyValue::string("service.name", service),
        KeyValue::string("devenv.root", "/work/web"),
    ];
    attrs.extend(extra);
    ResourceSpans {
        resource: Some(otelctl_otlp::Resource {
            attributes: attrs,
            dropped_attributes_count: 0,
        }),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: "otelctl-test".to_string(),
                ..Default::default()
            }),
            spans,
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn task(
    s: &mut Seeder,
    trace: &[u8],
    parent: &[u8],
    name: &str,
    ago: u64,
    dur: u64,
    cached: bool,
    exit: i64,
) -> Span {
    let id = s.id(8);
    span(
        trace,
        id,
        Some(parent),
        name,
        ago,
        dur,
        vec![
            KeyValue::string("task.cached", if cached { "true" } else { "false" }),
            KeyValue::int("exit.code", exit),
        ],
        exit != 0,
    )
}

/// The seeded world: what every panel should find.
fn seed_request(s: &mut Seeder) -> ExportTraceServiceRequest {
    let mut rs = Vec::new();
    // dt runs: `dt check:quick` (ts:check ran, pnpm:install cached, lint:eslint failed) and
    // `dt pnpm:install` (ran, with per-package steps).
    for (i, (cmd, tasks)) in [
        (
            "check:quick",
            vec![
                ("ts:check", 1500, false, 0),
                ("pnpm:install", 200, true, 0),
                ("lint:eslint", 800, false, 1),
            ],
        ),
        ("pnpm:install", vec![("pnpm:install", 2000, false, 0)]),
    ]
    .into_iter()
    .enumerate()
    {
        let trace = s.id(16);
        let root = s.id(8);
        let ago = 20_000 + i as u64 * 5_000;
        let dt = span(
            &trace,
            root.clone(),
            None,
            cmd,
            ago,
            3000,
            vec![KeyValue::string("dt.args", cmd)],
            false,
        );
        let mut children = Vec::new();
        for (j, (name, dur, cached, exit)) in tasks.into_iter().enumerate() {
            let t = task(
                s,
                &trace,
                &root,
                name,
                ago - 10 - j as u64 * 10,
                dur,
                cached,
                exit,
            );
            if name == "pnpm:install" {
                for (k, pkg) in ["pnpm:fetch lodash", "pnpm:link effect"].iter().enumerate() {
                    let id = s.id(8);
                    children.push(span(
                        &trace,
                        id,
                        Some(&t.span_id),
                        pkg,
                        ago - 20 - k as u64,
                        90,
                        vec![],
                        false,
                    ));
                }
            }
            children.push(t);
        }
        rs.push(resource("dt", vec![], vec![dt]));
        rs.push(resource("dt-task", vec![], children));
    }
    // A shell entry with two phases.
    let trace = s.id(16);
    let root = s.id(8);
    let (a, b) = (s.id(8), s.id(8));
    rs.push(resource(
        "shell",
        vec![],
        vec![
            span(
                &trace,
                root.clone(),
                None,
                "shell:entry",
                15_000,
                900,
                vec![],
                false,
            ),
            span(
                &trace,
                a,
                Some(&root),
                "direnv:allow",
                14_990,
                300,
                vec![],
                false,
            ),
            span(
                &trace,
                b,
                Some(&root),
                "devenv:enterShell",
                14_600,
                500,
                vec![],
                false,
            ),
        ],
    ));
    // An app: a request with a database call, and a failing request.
    let trace = s.id(16);
    let root = s.id(8);
    let db = s.id(8);
    let trace2 = s.id(16);
    let err = s.id(8);
    rs.push(resource(
        "web-app",
        vec![],
        vec![
            span(
                &trace,
                root.clone(),
                None,
                "GET /users",
                12_000,
                180,
                vec![],
                false,
            ),
            span(
                &trace,
                db,
                Some(&root),
                "db.query",
                11_990,
                120,
                vec![],
                false,
            ),
            span(&trace2, err, None, "POST /orders", 11_000, 60, vec![], true),
        ],
    ));
    // Tests: one passed, one failed.
    let trace = s.id(16);
    let (p, f) = (s.id(8), s.id(8));
    let test = |name: &str, result: &str| {
        vec![
            KeyValue::string("test.name", name),
            KeyValue::string("test.result", result),
        ]
    };
    rs.push(resource(
        "nixos-tests",
        vec![KeyValue::string("test.suite", "web-services")],
        vec![
            span(
                &trace,
                p,
                None,
                "test.web.nginx_startup",
                10_000,
                400,
                test("nginx_startup", "passed"),
                false,
            ),
            span(
                &trace,
                f,
                None,
                "test.web.login",
                9_000,
                700,
                test("login", "failed"),
                true,
            ),
        ],
    ));
    ExportTraceServiceRequest { resource_spans: rs }
}

fn seed(tempo: &Tempo) {
    let mut s = Seeder {
        counter: 0,
        base: now_ns(),
    };
    let body = seed_request(&mut s).to_protobuf();
    let url = HttpUrl {
        host: "127.0.0.1".to_string(),
        port: tempo.otlp_http,
        path: "/v1/traces".to_string(),
    };
    let headers = [(
        "Content-Type".to_string(),
        "application/x-protobuf".to_string(),
    )];
    let req = http::Request {
        method: "POST",
        url: &url,
        headers: &headers,
        body: &body,
    };
    let r = http::send(&req, Instant::now() + Duration::from_secs(10)).unwrap();
    assert_eq!(
        r.status,
        200,
        "OTLP export: {}",
        String::from_utf8_lossy(&r.body)
    );
}

// ---- queries ----

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Runs one query; Ok(number of results) or Err(why).
fn run_query(tempo: &Tempo, api: &str, query: &str) -> Result<usize, String> {
    let end = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    let start = end - 3600;
    let path = match api {
        "search" => format!(
            "/api/search?q={}&start={start}&end={end}&limit=20",
            encode(query)
        ),
        _ => format!(
            "/api/metrics/query_range?q={}&start={start}&end={end}&step=30s",
            encode(query)
        ),
    };
    let (status, body) = get(tempo.http, &path, 30)?;
    if status != 200 {
        return Err(format!("HTTP {status}: {}", body.trim()));
    }
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    let n = match api {
        "search" => v["traces"].as_array().map_or(0, |a| a.len()),
        _ => v["series"]
            .as_array()
            .map_or(0, |a| a.iter().filter(|s| series_has_data(s)).count()),
    };
    Ok(n)
}

fn series_has_data(s: &Value) -> bool {
    s["samples"].as_array().is_some_and(|samples| {
        samples
            .iter()
            .any(|x| x["value"].as_f64().is_some_and(|v| v > 0.0))
    })
}

/// (dashboard uid, panel, api, resolved query) of every dashboard, read by the real binary.
fn all_queries() -> Vec<(String, String, String, String)> {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/project-dashboards");
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = common::otelctl(tmp.path());
    cmd.arg("--root").arg(&example);
    let o = common::run(cmd, ["dash", "list", "--json"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let listed: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut out = Vec::new();
    for d in listed.as_array().unwrap() {
        for q in d["queries"].as_array().unwrap() {
            out.push((
                d["uid"].as_str().unwrap().to_string(),
                q["panel"].as_str().unwrap().to_string(),
                q["api"].as_str().unwrap().to_string(),
                q["resolved"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

#[test]
fn every_dashboard_query_runs_on_real_tempo_and_finds_the_seeded_spans() {
    let bins = tempo_binaries();
    if bins.is_empty() {
        common::skip("no Tempo binary: run scripts/e2e-build (or set OTELCTL_TEMPO_V2_BIN / OTELCTL_TEMPO_V3_BIN)");
        return;
    }
    let queries = all_queries();
    assert!(queries.len() > 30, "{}", queries.len());
    assert!(queries.iter().any(|q| q.0 == "example-tests"));
    for (label, bin) in bins {
        let tempo = start(&label, &bin);
        seed(&tempo);
        // Wait until the newest spans are searchable and countable.
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut failures: Vec<String>;
        loop {
            failures = Vec::new();
            for (uid, panel, api, query) in &queries {
                match run_query(&tempo, api, query) {
                    Ok(0) => failures.push(format!("{uid} / {panel}: no data for {api} {query}")),
                    Ok(_) => {}
                    Err(e) => failures.push(format!("{uid} / {panel}: {api} {query}: {e}")),
                }
            }
            // A query Tempo rejects will not get better with time (once the others see data).
            let rejected = failures.iter().any(|f| f.contains("HTTP 400"));
            let ingested = failures.len() < queries.len();
            if failures.is_empty() || (rejected && ingested) || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_secs(3));
        }
        assert!(
            failures.is_empty(),
            "{label}: {} of {} queries failed:\n{}\n--- tempo log ---\n{}",
            failures.len(),
            queries.len(),
            failures.join("\n"),
            tail(&tempo.log)
        );
        println!(
            "{label}: all {} dashboard queries found the seeded spans",
            queries.len()
        );
    }
}
