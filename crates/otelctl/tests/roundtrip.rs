//! `export` and `import` round-trip whatever the receiver accepted (issue 23, item 6): 1,000
//! spans of 10 KB in one trace (one resource, about 10 MB, more than the receiver takes in one
//! request) go from one store to another through a file and through `export --to`; an endless
//! file stops `import` at its documented limit.

mod common;
mod embedded_support;

use std::time::{Duration, Instant};

use embedded_support::*;
use otelctl_otlp::{KeyValue, Span};

const SPANS: u64 = 1000;

fn big_span(i: u64) -> Span {
    let start = now_ns() - 60_000_000_000;
    Span {
        trace_id: vec![0x5a; 16],
        span_id: (i + 1).to_be_bytes().to_vec(),
        parent_span_id: if i == 0 {
            vec![]
        } else {
            1u64.to_be_bytes().to_vec()
        },
        name: format!("step-{i}"),
        kind: 1,
        start_time_unix_nano: start + i,
        end_time_unix_nano: start + i + 1000,
        attributes: vec![KeyValue::string("payload", "x".repeat(10 * 1024))],
        ..Default::default()
    }
}

fn span_count(up: &Up) -> u64 {
    traces_json(up.viewer())["traces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["trace_id"] == "5a".repeat(16).as_str())
        .and_then(|t| t["span_count"].as_u64())
        .unwrap_or(0)
}

fn otelctl_at(up: &Up) -> std::process::Command {
    let mut c = common::otelctl(&up.home);
    c.arg("--root")
        .arg(&up.root)
        .args(["--base-port", &up.base.to_string()]);
    c
}

#[test]
fn a_store_of_big_spans_round_trips_through_export_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let (a_root, b_root, c_root) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    for r in [&a_root, &b_root, &c_root] {
        std::fs::create_dir_all(r).unwrap();
    }
    let a = Up::start(&a_root, dir.path(), free_base(), &[]);
    // Accepted by the receiver in requests of 100 spans (1 MB each).
    for chunk in (0..SPANS).collect::<Vec<_>>().chunks(100) {
        let req = export_request("big", chunk.iter().map(|&i| big_span(i)).collect());
        assert_eq!(
            post(a.receiver(), "application/json", &req.to_json()).status,
            200
        );
    }
    assert_eq!(span_count(&a), SPANS);

    // Through a file.
    let file = dir.path().join("big.json");
    let out = common::run(otelctl_at(&a), ["export", "--out", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(std::fs::metadata(&file).unwrap().len() > 10_000_000);
    let b = Up::start(&b_root, dir.path(), free_base(), &[]);
    let out = common::run(otelctl_at(&b), ["import", file.to_str().unwrap()]);
    assert!(out.status.success(), "import: {}", common::stderr(&out));
    assert_eq!(span_count(&b), SPANS, "{}", common::stderr(&out));

    // Straight to another receiver.
    let c = Up::start(&c_root, dir.path(), free_base(), &[]);
    let to = format!("http://127.0.0.1:{}", c.receiver());
    let out = common::run(otelctl_at(&a), ["export", "--to", &to]);
    assert!(
        out.status.success(),
        "export --to: {}",
        common::stderr(&out)
    );
    assert_eq!(span_count(&c), SPANS);
}

#[test]
fn import_of_an_endless_file_stops_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = common::otelctl(dir.path());
    c.arg("--root").arg(dir.path());
    let started = Instant::now();
    let out = common::run(c, ["import", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("256 MiB"),
        "{}",
        common::stderr(&out)
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "bounded in time too"
    );
}
