//! The embedded store (`otelctl-store`, SQLite) through the real `otelctl up --embedded`: the
//! store of the release before it imported once, a damaged database set aside and what it held
//! imported, retention by age with the drops shown, the real `sqlite3` reading the schema
//! docs/store.md documents, a failed commit (the file size limit standing in for a full disk)
//! storing nothing and answering 503, and 30 `kill -9` at random moments under a mixed
//! OTLP/HTTP and OTLP/gRPC stream losing no acknowledged span and doubling none.

mod common;
mod embedded_support;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use embedded_support::*;
use otelctl_otlp::{ExportTraceServiceRequest, KeyValue, Span};

fn embedded(root: &Path) -> PathBuf {
    root.join(".devenv/otel/embedded")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn sqlite3() -> Option<PathBuf> {
    let ok = Command::new("sqlite3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| PathBuf::from("sqlite3"))
}

/// Runs `sql` with the real `sqlite3` on the database, read-only; stdout.
fn query(db: &Path, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .arg("-readonly")
        .arg(db)
        .arg(sql)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sqlite3 {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn root_names(viewer: u16) -> Vec<String> {
    let v = traces_json(viewer);
    let mut names: Vec<String> = v["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["root_name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// The fixture: the embedded directory as otelctl 626b9ff (the trace files and write-ahead log
/// store) left it after a `kill -9`: traces 1-12 in trace files, 13-20 and more spans of 12
/// only in the log (fixtures/store-v0/make.py made it).
#[test]
fn the_store_of_the_previous_release_is_imported_once_and_its_files_removed() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v0/embedded");
    copy_dir(&fixture, &embedded(dir.path()));
    let base = free_base();
    // The fixture's spans are from 2023: keep them.
    let flags = ["--max-age", "36500d"];
    let up = Up::start(dir.path(), dir.path(), base, &flags);
    let v = traces_json(up.viewer());
    assert_eq!(v["trace_count"], 20, "{v}");
    assert_eq!(v["span_count"], 20 * 2 + 3 + 2, "{v}");
    let t12 = v["traces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["trace_id"] == trace_hex(12).as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (t12["root_name"].as_str(), t12["span_count"].as_u64()),
        (Some("root-12"), Some(4)),
        "spans from its file and from the log, the retried one once"
    );
    let (status, _, err) = up.stop();
    assert!(status.success(), "{err}");
    assert!(err.contains("imported 20 traces"), "{err}");
    for old in ["traces", "wal"] {
        assert!(
            !embedded(dir.path()).join(old).exists(),
            "{old} removed once imported"
        );
    }
    assert!(embedded(dir.path()).join("store.db").is_file());
    // Once: a second start imports nothing and shows the same.
    let up = Up::start(dir.path(), dir.path(), base, &flags);
    assert_eq!(traces_json(up.viewer())["span_count"], 45);
    let (status, _, err) = up.stop();
    assert!(status.success());
    assert!(!err.contains("imported"), "{err}");
}

#[test]
fn a_damaged_database_is_set_aside_and_what_it_held_imported() {
    if sqlite3().is_none() {
        return common::skip("no sqlite3 program to find the page to damage");
    }
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let up = Up::start(dir.path(), dir.path(), base, &[]);
    let t0 = now_ns();
    for t in 1..=40u8 {
        let req = export_request(
            "damaged",
            vec![
                span(t, 1, 0, &format!("root-{t}"), t0, t0 + 10),
                span(t, 2, 1, "child", t0, t0 + 5),
            ],
        );
        assert_eq!(
            post(up.receiver(), "application/x-protobuf", &req.to_protobuf()).status,
            200
        );
    }
    let (status, _, _) = up.stop();
    assert!(status.success());
    // One flipped page: the traces' start index (not the spans' batches).
    let db = embedded(dir.path()).join("store.db");
    let page: usize = query(
        &db,
        "SELECT rootpage FROM sqlite_schema WHERE name = 'traces_by_start'",
    )
    .trim()
    .parse()
    .unwrap();
    let size: usize = query(&db, "PRAGMA page_size").trim().parse().unwrap();
    let mut bytes = std::fs::read(&db).unwrap();
    for b in &mut bytes[(page - 1) * size + 8..(page - 1) * size + 64] {
        *b ^= 0xff;
    }
    std::fs::write(&db, &bytes).unwrap();

    let up = Up::start(dir.path(), dir.path(), base, &[]);
    assert_eq!(
        root_names(up.viewer()).len(),
        40,
        "everything readable imported"
    );
    assert_eq!(traces_json(up.viewer())["span_count"], 80);
    let (status, _, err) = up.stop();
    assert!(status.success(), "{err}");
    assert!(err.contains("failed its integrity check"), "{err}");
    assert!(err.contains("imported 80 spans"), "{err}");
    let aside: Vec<String> = std::fs::read_dir(embedded(dir.path()))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with("store.db.damaged-") && !n.ends_with("-wal") && !n.ends_with("-shm")
        })
        .collect();
    assert_eq!(aside.len(), 1, "set aside, never deleted: {aside:?}");
    assert_eq!(
        std::fs::read(embedded(dir.path()).join(&aside[0])).unwrap(),
        bytes,
        "kept as it was"
    );
}

#[test]
fn retention_drops_whole_traces_by_start_time_and_shows_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), dir.path(), free_base(), &["--max-age", "1h"]);
    let now = now_ns();
    let hour = 3_600_000_000_000u64;
    // Two old traces (one of them with a recent child: the trace's start decides) and a new one.
    let old = export_request(
        "aged",
        vec![
            span(1, 1, 0, "old-1", now - 3 * hour, now - 3 * hour + 5),
            span(2, 1, 0, "old-2", now - 2 * hour, now - 2 * hour + 5),
            span(2, 2, 1, "late-child", now - 1000, now),
            span(3, 1, 0, "new", now - 1000, now),
        ],
    );
    assert_eq!(
        post(up.receiver(), "application/x-protobuf", &old.to_protobuf()).status,
        200
    );
    let v = poll(
        "retention to drop the old traces",
        Duration::from_secs(10),
        || {
            let v = traces_json(up.viewer());
            (v["trace_count"] == 1).then_some(v)
        },
    );
    assert_eq!(root_names(up.viewer()), ["new"]);
    assert_eq!(v["counters"]["dropped_traces"], 2);
    assert_eq!(v["counters"]["dropped_spans"], 3, "whole traces, child too");
    let page = String::from_utf8(get(up.viewer(), "/").body).unwrap();
    assert!(page.contains("dropped so far: 2 traces, 3 spans"), "{page}");
    assert!(
        page.contains("kept 1 h") || page.contains("kept 1h"),
        "{page}"
    );
}

/// The first sql block of docs/store.md, one statement per `;`.
fn documented_examples() -> Vec<String> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/store.md"))
            .unwrap();
    let block = doc
        .split("```sql\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    // Comments first (they may hold a `;`), then one statement per `;`.
    let code: Vec<&str> = block
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect();
    code.join("\n")
        .split(';')
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty())
        .collect()
}

#[test]
fn sqlite3_reads_the_documented_schema_while_the_server_runs() {
    if sqlite3().is_none() {
        return common::skip("no sqlite3 program");
    }
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), dir.path(), free_base(), &[]);
    let t0 = now_ns();
    let mut slow = span(7, 1, 0, "GET /users", t0, t0 + 2_000_000_000);
    slow.attributes = vec![KeyValue::string("http.route", "/users")];
    let mut task = span(8, 1, 0, "devenv:enterShell", t0, t0 + 300_000_000);
    task.attributes = vec![KeyValue::bool("task.cached", false)];
    for req in [
        export_request("api", vec![slow]),
        export_request("devenv", vec![task]),
    ] {
        assert_eq!(
            post(up.receiver(), "application/x-protobuf", &req.to_protobuf()).status,
            200
        );
    }
    let db = embedded(dir.path()).join("store.db");
    // The documented version and tables.
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/store.md"))
            .unwrap();
    let version = query(&db, "PRAGMA user_version");
    assert!(
        doc.contains(&format!("is the schema version: **{}**", version.trim())),
        "docs/store.md names schema version {}",
        version.trim()
    );
    let tables: HashSet<String> = query(&db, "SELECT name FROM sqlite_schema")
        .lines()
        .map(str::to_string)
        .collect();
    let documented: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(str::trim)
        .collect();
    assert!(documented.len() >= 10, "{documented:?}");
    for t in &documented {
        assert!(
            tables.contains(*t),
            "documented table {t} is in the database"
        );
    }
    for t in otelctl_store::schema::TABLES {
        assert!(
            documented.contains(t),
            "table {t} is documented in docs/store.md"
        );
    }
    // The documented examples run, and find what was sent.
    let examples = documented_examples();
    assert_eq!(examples.len(), 5, "{examples:?}");
    let out: Vec<String> = examples.iter().map(|sql| query(&db, sql)).collect();
    assert_eq!(
        out[0].trim(),
        format!("{}|GET /users|2000.0|1", "07".repeat(16).to_uppercase())
    );
    assert_eq!(out[1].trim(), "", "no span named b");
    assert_eq!(out[2].lines().count(), 1, "{}", out[2]);
    assert!(out[2].trim().ends_with("|300.0"), "{}", out[2]);
    assert_eq!(
        out[3].trim(),
        format!("{}|GET /users", "07".repeat(16).to_uppercase())
    );
}

/// A failed commit: the server's files may not grow past a few MiB (`RLIMIT_FSIZE`, with
/// `SIGXFSZ` ignored, so a write past it fails with `EFBIG` as a full disk fails with `ENOSPC`).
/// Exports refused with 503 are nowhere, then or after a restart; acknowledged ones are there.
#[test]
fn a_failed_commit_stores_nothing_and_answers_503() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let mut cmd = common::otelctl(dir.path());
    cmd.args(["up", "--embedded", "--root"])
        .arg(dir.path())
        .args(["--base-port", &base.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    // SAFETY: only async-signal-safe calls (signal, setrlimit) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: 3 * 1024 * 1024,
                rlim_max: 3 * 1024 * 1024,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    let up = Up {
        child,
        base,
        root: dir.path().to_path_buf(),
        home: dir.path().to_path_buf(),
    };
    poll("the viewer", Duration::from_secs(20), || {
        request("GET", up.viewer(), "/api/traces", &[], b"")
            .ok()
            .filter(|r| r.status == 200)
    });
    let t0 = now_ns();
    let (mut acked, mut refused) = (Vec::new(), Vec::new());
    for t in 1..=60u8 {
        // ~200 KiB of attributes per export.
        let mut s = span(t, 1, 0, &format!("big-{t}"), t0, t0 + 10);
        s.attributes = vec![KeyValue::string("blob", format!("{t}").repeat(200_000))];
        let req = export_request("full", vec![s]);
        let r = post(up.receiver(), "application/x-protobuf", &req.to_protobuf());
        match r.status {
            200 => acked.push(format!("big-{t}")),
            503 => refused.push(format!("big-{t}")),
            other => panic!("export {t}: {other}"),
        }
    }
    assert!(
        !acked.is_empty() && !refused.is_empty(),
        "{acked:?} {refused:?}"
    );
    acked.sort();
    assert_eq!(root_names(up.viewer()), acked, "only what was acknowledged");
    drop(up);
    // Restarted without the limit: the same, nothing refused came back.
    let up = Up::start(dir.path(), dir.path(), base, &[]);
    assert_eq!(root_names(up.viewer()), acked);
    // And it takes exports again.
    let req = export_request("full", vec![span(99, 1, 0, "after", t0, t0 + 1)]);
    assert_eq!(
        post(up.receiver(), "application/x-protobuf", &req.to_protobuf()).status,
        200
    );
}

/// One export of `n` spans in a trace of its own; ids from `next`.
fn numbered(next: &AtomicU64, n: usize) -> (ExportTraceServiceRequest, Vec<u64>) {
    let t0 = now_ns();
    let mut ids = Vec::with_capacity(n);
    let first = next.fetch_add(n as u64, Ordering::SeqCst);
    let spans: Vec<Span> = (0..n as u64)
        .map(|i| {
            let id = first + i;
            ids.push(id);
            Span {
                trace_id: (u128::from(first) | (7u128 << 100)).to_be_bytes().to_vec(),
                span_id: id.to_be_bytes().to_vec(),
                name: "kill".into(),
                start_time_unix_nano: t0,
                end_time_unix_nano: t0 + 1,
                ..Default::default()
            }
        })
        .collect();
    (export_request("kill9", spans), ids)
}

/// 30 times: start, a stream of exports over OTLP/HTTP (two connections) and OTLP/gRPC (one),
/// `kill -9` at a random moment; an export whose answer was lost is sent again after the next
/// start (a retry). At the end every acknowledged span is stored exactly once.
#[test]
fn thirty_random_kill_9_under_mixed_http_and_grpc_lose_nothing_and_double_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let next = Arc::new(AtomicU64::new(1));
    let acked: Arc<Mutex<HashSet<u64>>> = Arc::default();
    // Exports acknowledged over gRPC, and retried exports acknowledged.
    let (grpc_acks, retry_acks) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    // Exports sent and not answered, to retry.
    let unanswered: Arc<Mutex<Vec<ExportTraceServiceRequest>>> = Arc::default();
    let mut seed = now_ns() | 1;
    let mut random = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    for round in 0..30 {
        let durability = if round % 3 == 2 { "write" } else { "fsync" };
        let mut up = Up::start(dir.path(), dir.path(), base, &["--durability", durability]);
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::new();
        for lane in 0..3 {
            let (next, acked, unanswered, stop) = (
                next.clone(),
                acked.clone(),
                unanswered.clone(),
                stop.clone(),
            );
            let (grpc_acks, retry_acks) = (grpc_acks.clone(), retry_acks.clone());
            let port = up.receiver();
            let retries: Vec<ExportTraceServiceRequest> =
                std::mem::take(&mut *unanswered.lock().unwrap());
            let handle = rt.handle().clone();
            workers.push(std::thread::spawn(move || {
                let mut queue = retries;
                let mut k = 0usize;
                let grpc = (lane == 2).then(|| {
                    handle.block_on(async {
                        opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient::connect(format!("http://127.0.0.1:{port}")).await
                    })
                });
                let mut grpc = match grpc {
                    Some(Ok(c)) => Some(c),
                    Some(Err(_)) => return,
                    None => None,
                };
                while !stop.load(Ordering::SeqCst) {
                    k += 1;
                    let retry = !queue.is_empty();
                    let (req, ids) = match queue.pop() {
                        Some(r) => {
                            let ids = r
                                .spans()
                                .map(|(_, s)| u64::from_be_bytes(s.span_id[..].try_into().unwrap()))
                                .collect();
                            (r, ids)
                        }
                        None => numbered(&next, 1 + (k * 7 + lane) % 20),
                    };
                    let ok = match &mut grpc {
                        Some(client) => {
                            let msg = <opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest as prost::Message>::decode(&req.to_protobuf()[..]).unwrap();
                            handle.block_on(client.export(msg)).is_ok()
                        }
                        None => request(
                            "POST",
                            port,
                            "/v1/traces",
                            &[("Content-Type", "application/x-protobuf")],
                            &req.to_protobuf(),
                        )
                        .is_ok_and(|r| r.status == 200),
                    };
                    if ok {
                        acked.lock().unwrap().extend(ids);
                        if grpc.is_some() {
                            grpc_acks.fetch_add(1, Ordering::SeqCst);
                        }
                        if retry {
                            retry_acks.fetch_add(1, Ordering::SeqCst);
                        }
                    } else {
                        unanswered.lock().unwrap().push(req);
                        return;
                    }
                }
            }));
        }
        // The kill comes at a random moment: this is when, not a wait for anything.
        std::thread::sleep(Duration::from_millis(30 + random(300)));
        up.child.kill().unwrap();
        up.child.wait().unwrap();
        stop.store(true, Ordering::SeqCst);
        for w in workers {
            w.join().unwrap();
        }
        drop(up);
    }
    let up = Up::start(dir.path(), dir.path(), base, &[]);
    let r = get(up.viewer(), "/api/export");
    let all = ExportTraceServiceRequest::from_json(&r.body).unwrap();
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for (_, s) in all.spans() {
        *seen
            .entry(u64::from_be_bytes(s.span_id[..].try_into().unwrap()))
            .or_default() += 1;
    }
    let acked = acked.lock().unwrap();
    let lost: Vec<&u64> = acked.iter().filter(|id| !seen.contains_key(id)).collect();
    let doubled: Vec<(&u64, &usize)> = seen.iter().filter(|(_, n)| **n > 1).collect();
    eprintln!(
        "30 kills: {} spans acknowledged ({} exports over gRPC, {} retried), {} stored, {} lost, {} doubled",
        acked.len(),
        grpc_acks.load(Ordering::SeqCst),
        retry_acks.load(Ordering::SeqCst),
        seen.len(),
        lost.len(),
        doubled.len()
    );
    assert!(
        acked.len() > 1000,
        "too little traffic to judge: {}",
        acked.len()
    );
    assert!(
        grpc_acks.load(Ordering::SeqCst) > 0,
        "no export went over gRPC"
    );
    assert!(lost.is_empty(), "{} acknowledged spans lost", lost.len());
    assert!(doubled.is_empty(), "{} spans stored twice", doubled.len());
}
