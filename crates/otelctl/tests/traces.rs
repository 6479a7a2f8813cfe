//! `otelctl traces` (list, show, compare) and `otelctl import` on the real binary, against the
//! real `otelctl up --embedded` (its viewer, then its files), and against a stand-in for Tempo;
//! `import` also of what a real Collector's `file` exporter wrote (the e2e lane's spool-probe
//! Collector; skipped with the reason when it is not built).
//!
//! Tempo cannot run on this machine (its licence keeps it out of the build), so the Tempo test
//! uses a stand-in that speaks the two endpoints `otelctl traces` uses exactly as Tempo's HTTP
//! API does (`GET /api/search?q=&start=&end=&limit=` answering `{"traces":[{"traceID":..}]}`,
//! `GET /api/traces/<id>` answering the OTLP protobuf with `Accept: application/protobuf`) and
//! records the TraceQL it is sent, which the test checks word for word.

mod common;
mod embedded_support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use embedded_support::*;
use otelctl_otlp::{ExportTraceServiceRequest, KeyValue, Span};

const MIN: u64 = 60 * 1_000_000_000;
const MS: u64 = 1_000_000;

fn with_attr(mut s: Span, k: &str, v: &str) -> Span {
    s.attributes.push(KeyValue::string(k, v));
    s
}

/// The known set: five traces (ids 1..5), newest first 4, 3, 2, 1, 5.
fn dataset(now: u64) -> Vec<ExportTraceServiceRequest> {
    let t1 = now - 50 * MIN;
    let t2 = now - 40 * MIN;
    let t3 = now - 30 * MIN;
    let t4 = now - 20 * MIN;
    let t5 = now - 180 * MIN;
    vec![
        export_request(
            "web",
            vec![
                span(1, 1, 0, "GET /", t1, t1 + 300 * MS),
                with_attr(
                    span(1, 2, 1, "db", t1 + 10 * MS, t1 + 110 * MS),
                    "db.system",
                    "postgres",
                ),
            ],
        ),
        export_request(
            "cli",
            vec![
                failed(span(2, 1, 0, "build", t2, t2 + 2000 * MS)),
                failed(span(2, 2, 1, "compile", t2 + 5 * MS, t2 + 1805 * MS)),
            ],
        ),
        export_request(
            "cli",
            vec![
                with_attr(
                    span(3, 1, 0, "build", t3, t3 + 1200 * MS),
                    "task.cached",
                    "false",
                ),
                span(3, 2, 1, "compile", t3 + 5 * MS, t3 + 805 * MS),
                span(3, 3, 1, "test", t3 + 810 * MS, t3 + 1110 * MS),
            ],
        ),
        export_request(
            "cli",
            vec![with_attr(
                span(4, 1, 0, "build", t4, t4 + 50 * MS),
                "task.cached",
                "true",
            )],
        ),
        export_request("web", vec![span(5, 1, 0, "GET /health", t5, t5 + 5 * MS)]),
    ]
}

fn otelctl(dir: &std::path::Path, base: u16, args: &[&str]) -> std::process::Output {
    let mut cmd = common::otelctl(dir);
    cmd.arg("--root")
        .arg(dir)
        .args(["--base-port", &base.to_string()])
        .args(args);
    cmd.output().unwrap()
}

/// The first byte of each listed trace id, in the order listed.
fn listed(dir: &std::path::Path, base: u16, args: &[&str]) -> Vec<u8> {
    let mut all = vec!["traces", "--json"];
    all.extend_from_slice(args);
    let o = otelctl(dir, base, &all);
    assert!(o.status.success(), "{args:?}: {}", common::stderr(&o));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            for key in [
                "trace_id",
                "service",
                "name",
                "start",
                "duration_ms",
                "status",
                "spans",
            ] {
                assert!(r.get(key).is_some(), "{key} missing in {r}");
            }
            let id = r["trace_id"].as_str().unwrap();
            otelctl_otlp::from_hex(id).unwrap()[0]
        })
        .collect()
}

fn check_filters(dir: &std::path::Path, base: u16, from: &str) {
    let cases: &[(&[&str], &[u8])] = &[
        (&[], &[4, 3, 2, 1, 5]),
        (&["--service", "cli"], &[4, 3, 2]),
        (&["--name", "compile"], &[3, 2]),
        (&["--status", "error"], &[2]),
        (&["--status", "ok"], &[4, 3, 1, 5]),
        (&["--min-duration", "1s"], &[3, 2]),
        (&["--max-duration", "100ms"], &[4, 5]),
        (&["--attr", "task.cached=false"], &[3]),
        (&["--attr", "db.system=postgres"], &[1]),
        (&["--attr", "DB.system=postgres"], &[]),
        (&["--since", "1h"], &[4, 3, 2, 1]),
        (&["--limit", "2"], &[4, 3]),
        (
            &["--service", "cli", "--status", "ok", "--min-duration", "1s"],
            &[3],
        ),
        // Span filters hold for one span: compile never carries task.cached (build does).
        (&["--name", "compile", "--attr", "task.cached=false"], &[]),
        (&["--name", "build", "--attr", "task.cached=false"], &[3]),
        (&["--name", "compile", "--status", "ok"], &[3]),
        // Trace filters: an error anywhere, or none.
        (&["--trace-status", "error"], &[2]),
        (&["--trace-status", "ok"], &[4, 3, 1, 5]),
        (&["--name", "GET /", "--trace-status", "ok"], &[1]),
    ];
    for (args, want) in cases {
        assert_eq!(&listed(dir, base, args), want, "{args:?} from {from}");
    }
    for bad in [
        &["traces", "--status", "maybe"][..],
        &["traces", "--min-duration", "soon"],
        &["traces", "--attr", "novalue"],
        &["traces", "--limit", "0"],
        &["traces", "show", "xyz"],
    ] {
        let o = otelctl(dir, base, bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", common::stderr(&o));
    }
    // The text list: one line per trace under a header.
    let o = otelctl(dir, base, &["traces", "--service", "web"]);
    let text = common::stdout(&o);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.lines().nth(1).unwrap().ends_with("GET /"), "{text}");
}

fn check_show_and_compare(dir: &std::path::Path, base: u16, from: &str) {
    let o = otelctl(dir, base, &["traces", "show", &trace_hex(3)]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let text = common::stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with(&format!("trace {}", trace_hex(3))),
        "{text}"
    );
    let names: Vec<&str> = lines[1..4]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, ["build", "compile", "test"], "{from}: {text}");
    assert!(
        lines[2].starts_with("  compile"),
        "indented by depth: {text}"
    );
    let o = otelctl(dir, base, &["traces", "show", &trace_hex(2)]);
    let text = common::stdout(&o);
    assert_eq!(text.matches("✖ error").count(), 2, "{text}");
    let o = otelctl(dir, base, &["traces", "show", &"ab".repeat(16)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(common::stderr(&o).contains("not stored"));

    let o = otelctl(
        dir,
        base,
        &["traces", "compare", &trace_hex(2), &trace_hex(3)],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let text = common::stdout(&o);
    // build 2 s -> 1.2 s, compile 1.8 s -> 800 ms, test only in B.
    let line = |name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {text}"))
            .to_string()
    };
    assert!(line("build").contains("-800.00 ms"), "{text}");
    assert!(line("compile").contains("-1.00 s"), "{text}");
    assert!(line("test").contains("only in B"), "{text}");
}

/// `otelctl up --embedded` in a fresh directory, holding the known set (posted over OTLP/HTTP).
fn up_with_the_known_set() -> (tempfile::TempDir, u16, Up) {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let up = Up::start(dir.path(), dir.path(), base, &[]);
    for r in dataset(now_ns()) {
        assert_eq!(
            post(up.receiver(), "application/json", &r.to_json()).status,
            200
        );
    }
    (dir, base, up)
}

#[test]
fn filters_show_and_compare_from_the_running_viewer_and_from_its_files() {
    let (dir, base, up) = up_with_the_known_set();
    check_filters(dir.path(), base, "the running viewer");
    check_show_and_compare(dir.path(), base, "the running viewer");
    let (status, _, _) = up.stop();
    assert!(status.success());
    check_filters(dir.path(), base, "the files");
    check_show_and_compare(dir.path(), base, "the files");
}

fn clear(viewer: u16) {
    let origin = format!("http://127.0.0.1:{viewer}");
    let r = request("POST", viewer, "/api/clear", &[("Origin", &origin)], b"").unwrap();
    assert_eq!(r.status, 303);
}

fn span_count(viewer: u16) -> u64 {
    traces_json(viewer)["span_count"].as_u64().unwrap()
}

#[test]
fn import_of_an_export_after_a_clear_brings_back_the_same_traces_once() {
    let (dir, base, up) = up_with_the_known_set();
    let before = otelctl(dir.path(), base, &["traces", "--json"]);
    let exported = dir.path().join("export.json");
    let o = otelctl(
        dir.path(),
        base,
        &["export", "--out", exported.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    clear(up.viewer());
    assert_eq!(span_count(up.viewer()), 0);

    let o = otelctl(dir.path(), base, &["import", exported.to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(
        common::stderr(&o).contains("added 9 and already held 0"),
        "{}",
        common::stderr(&o)
    );
    let after = otelctl(dir.path(), base, &["traces", "--json"]);
    assert_eq!(common::stdout(&after), common::stdout(&before));
    assert_eq!(span_count(up.viewer()), 9);

    // Twice: nothing added.
    let o = otelctl(dir.path(), base, &["import", exported.to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(
        common::stderr(&o).contains("added 0 and already held 9"),
        "{}",
        common::stderr(&o)
    );
    assert_eq!(span_count(up.viewer()), 9);

    // A Collector file exporter's output: one request per line.
    clear(up.viewer());
    let lines = dir.path().join("collector.jsonl");
    let mut text = Vec::new();
    for r in dataset(now_ns()) {
        text.extend(r.to_json());
        text.push(b'\n');
    }
    std::fs::write(&lines, &text).unwrap();
    let o = otelctl(dir.path(), base, &["import", lines.to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert_eq!(span_count(up.viewer()), 9);

    // Bad input: named by file and line, nothing sent (exit 2).
    clear(up.viewer());
    let bad = dir.path().join("bad.jsonl");
    let mut text = dataset(now_ns())[0].to_json();
    text.extend(b"\n{\"resourceSpans\": [oops\n");
    std::fs::write(&bad, &text).unwrap();
    let o = otelctl(dir.path(), base, &["import", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", common::stderr(&o));
    assert!(
        common::stderr(&o).contains("bad.jsonl:2"),
        "{}",
        common::stderr(&o)
    );
    assert_eq!(span_count(up.viewer()), 0, "nothing sent");
    let (status, _, _) = up.stop();
    assert!(status.success());

    // Nothing listening: not ready (exit 3).
    let o = otelctl(dir.path(), base, &["import", exported.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", common::stderr(&o));
}

/// The Tempo stand-in (see the module doc): answers `/api/echo`, `/api/search` with `ids`, and
/// `/api/traces/<id>` from `traces`; records every TraceQL query.
fn tempo_stand_in(
    port: u16,
    ids: Vec<String>,
    traces: Vec<ExportTraceServiceRequest>,
) -> Arc<Mutex<Vec<String>>> {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let queries = Arc::new(Mutex::new(Vec::new()));
    let log = queries.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let mut accept = String::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if h.to_ascii_lowercase().starts_with("accept:") {
                    accept = h[7..].trim().to_string();
                }
            }
            let target = first.split_whitespace().nth(1).unwrap_or("").to_string();
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            let (status, ctype, body): (u16, &str, Vec<u8>) = if path == "/api/echo" {
                (200, "text/plain", b"echo".to_vec())
            } else if path == "/api/search" {
                let q = query
                    .split('&')
                    .find_map(|p| p.strip_prefix("q="))
                    .map(|v| otelctl_config::formats::percent_decode(v).unwrap())
                    .unwrap_or_default();
                log.lock().unwrap().push(q);
                let list: Vec<serde_json::Value> = ids
                    .iter()
                    .map(|i| serde_json::json!({"traceID": i.trim_start_matches('0')}))
                    .collect();
                (
                    200,
                    "application/json",
                    serde_json::to_vec(&serde_json::json!({ "traces": list })).unwrap(),
                )
            } else if let Some(id) = path.strip_prefix("/api/traces/") {
                assert_eq!(accept, "application/protobuf");
                match traces.iter().find(|t| {
                    t.spans()
                        .next()
                        .is_some_and(|(_, s)| otelctl_otlp::to_hex(&s.trace_id) == id)
                }) {
                    Some(t) => (200, "application/protobuf", t.to_protobuf()),
                    None => (404, "text/plain", b"trace not found".to_vec()),
                }
            } else {
                (404, "text/plain", b"404 page not found".to_vec())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    queries
}

#[test]
fn against_tempo_the_filter_becomes_traceql_and_is_applied_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let data = dataset(now_ns());
    // The stand-in finds traces 2 and 3 for whatever it is asked (Tempo's side of the filter is
    // checked through the recorded TraceQL); otelctl applies the exact filter to what it reads.
    let queries = tempo_stand_in(base + 2, vec![trace_hex(2), trace_hex(3)], data);
    assert_eq!(
        listed(
            dir.path(),
            base,
            &[
                "--service",
                "cli",
                "--min-duration",
                "1s",
                "--attr",
                "task.cached=false"
            ]
        ),
        [3]
    );
    assert_eq!(
        queries.lock().unwrap().last().unwrap(),
        r#"{ resource.service.name = "cli" && (span.task.cached = "false" || span.task.cached = false || resource.task.cached = "false" || resource.task.cached = false) } && { traceDuration >= 1000ms }"#
    );
    assert_eq!(listed(dir.path(), base, &["--status", "ok"]), [3]);
    assert_eq!(
        queries.lock().unwrap().last().unwrap(),
        "{ status != error }"
    );
    assert_eq!(listed(dir.path(), base, &["--trace-status", "ok"]), [3]);
    assert_eq!(queries.lock().unwrap().last().unwrap(), "{ }");
    assert_eq!(listed(dir.path(), base, &["--status", "error"]), [2]);
    assert_eq!(
        queries.lock().unwrap().last().unwrap(),
        "{ status = error }"
    );
    let o = otelctl(dir.path(), base, &["traces", "show", &trace_hex(3)]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(common::stdout(&o).contains("  compile"));
}

/// What a real Collector's `file` exporter writes (one OTLP/JSON request per line) imports
/// whole: the Collector of the e2e lane's spool probe (it has the file exporter) receives the
/// known set over OTLP/HTTP, writes it out, and `otelctl import` loads that file.
#[test]
fn a_real_collectors_file_exporter_output_imports_whole() {
    // lane_program() prints the skip reason when there is none.
    let Some(bin) =
        common::stack::lane_program("OTELCTL_COLLECTOR_SPOOL_BIN", "otelcol-spool-probe-")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let up = Up::start(dir.path(), dir.path(), base, &[]);
    let port = free_base();
    let out = dir.path().join("collector-traces.jsonl");
    let collector = RealCollector::start(
        &bin,
        dir.path(),
        port,
        &format!(
            "receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: 127.0.0.1:{port}\n\
exporters:\n  file:\n    path: {}\n\
service:\n  telemetry:\n    metrics:\n      level: none\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [file]\n",
            out.display()
        ),
    );
    let log_text = || collector.log();
    for r in dataset(now_ns()) {
        let answer = request(
            "POST",
            port,
            "/v1/traces",
            &[("Content-Type", "application/json")],
            &r.to_json(),
        )
        .unwrap();
        assert_eq!(answer.status, 200, "{}", log_text());
    }
    // The exporter writes each batch as one line; wait until all nine spans are out.
    poll(
        "the Collector's file to hold the nine spans",
        std::time::Duration::from_secs(60),
        || {
            let text = std::fs::read_to_string(&out).ok()?;
            let spans: usize = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .filter_map(|l| ExportTraceServiceRequest::from_json(l.as_bytes()).ok())
                .map(|r| r.span_count())
                .sum();
            (spans == 9 && text.ends_with('\n')).then_some(())
        },
    );
    let o = otelctl(dir.path(), base, &["import", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(
        common::stderr(&o).contains("added 9 and already held 0"),
        "{}",
        common::stderr(&o)
    );
    assert_eq!(listed(dir.path(), base, &[]), [4, 3, 2, 1, 5]);
    assert_eq!(listed(dir.path(), base, &["--service", "cli"]), [4, 3, 2]);
    drop(up);
}

/// Six `dt` runs of tasks a, b and c: b failed in two of them, c in three others (issue 21:
/// `--name ts:check --status error` listed every run where anything failed).
#[test]
fn name_and_status_hold_for_one_span_in_the_cli_the_list_and_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let up = Up::start(dir.path(), dir.path(), base, &[]);
    let now = now_ns();
    for run in 0..6u8 {
        let t = now - (60 - run as u64 * 5) * MIN;
        let id = 0x40 + run;
        let task = |n: u8, name: &str, failed_here: bool| {
            let s = span(id, n, 1, name, t + n as u64 * MS, t + (n as u64 + 1) * MS);
            if failed_here {
                failed(s)
            } else {
                s
            }
        };
        let r = export_request(
            "dt",
            vec![
                span(id, 1, 0, "dt", t, t + 10 * MS),
                task(2, "a", false),
                task(3, "b", [1, 4].contains(&run)),
                task(4, "c", [0, 2, 5].contains(&run)),
            ],
        );
        assert_eq!(
            post(up.receiver(), "application/json", &r.to_json()).status,
            200
        );
    }
    let b_failed = [0x44u8, 0x41];
    assert_eq!(
        listed(dir.path(), base, &["--name", "b", "--status", "error"]),
        b_failed
    );
    let api: serde_json::Value =
        serde_json::from_slice(&get(up.viewer(), "/api/search?name=b&status=error").body).unwrap();
    let ids: Vec<String> = api["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["trace_id"].as_str().unwrap().to_string())
        .collect();
    let want: Vec<String> = b_failed.iter().map(|&b| trace_hex(b)).collect();
    assert_eq!(ids, want);
    assert_eq!(api["matched"], 2);
    let page = String::from_utf8(get(up.viewer(), "/?name=b&status=error").body).unwrap();
    let rows: Vec<&str> = page
        .split(r#"<tr class="trace "#)
        .skip(1)
        .filter_map(|r| r.split(r#"data-trace=""#).nth(1))
        .map(|r| &r[..32])
        .collect();
    assert_eq!(rows, want.iter().map(String::as_str).collect::<Vec<_>>());
    // Every run where anything failed is the trace filter's answer.
    assert_eq!(
        listed(dir.path(), base, &["--trace-status", "error"]).len(),
        5
    );
    // More matched than listed: said on stderr, the table on stdout stays a table.
    let o = otelctl(dir.path(), base, &["traces", "--limit", "2"]);
    assert!(o.status.success());
    assert_eq!(common::stderr(&o), "showing 2 of 6 (--limit)\n");
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 3);
    let o = otelctl(
        dir.path(),
        base,
        &["traces", "--name", "b", "--status", "error"],
    );
    assert_eq!(common::stderr(&o), "", "all matches listed: nothing to say");
}
