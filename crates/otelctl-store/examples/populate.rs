//! Fills a store for the query benchmark (benchmarks/store.sh): TRACES traces of SPANS spans
//! each, through the store's own append path (no HTTP), start times spread over the last 30
//! days. Shape: 10 services (`svc-0`..`svc-9`); each trace's root is a task `task-<n % 50>` with
//! `task.cached` true every third run; the others `op-<i % 40>` with `http.route`; one span in
//! a hundred in error.
//!
//! usage: cargo run --release -p otelctl-store --example populate -- EMBEDDED_DIR TRACES SPANS
use std::sync::Arc;
use std::time::Instant;

use otelctl_otlp::{ExportTraceServiceRequest, InstrumentationScope, KeyValue, Span, Status};
use otelctl_store::{Durability, Options, Retention, Store};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(&args[1]);
    let traces: u64 = args[2].parse().unwrap();
    let per: u64 = args[3].parse().unwrap();
    let (store, _) = Store::open(
        &dir,
        Options {
            durability: Durability::Write,
            retention: Retention::NONE,
        },
    )
    .unwrap();
    let store = Arc::new(store);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let span_ms = 30 * 24 * 3_600_000 / traces.max(1);
    let started = Instant::now();
    let threads = 2u64;
    let batch = (1000 / per).max(1);
    let handles: Vec<_> = (0..threads)
        .map(|th| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut t = th;
                while t < traces {
                    let mut by_service: Vec<Vec<Span>> = vec![Vec::new(); 10];
                    for _ in 0..batch {
                        if t >= traces {
                            break;
                        }
                        let start = now - (traces - t) * span_ms * 1_000_000;
                        let tid = (u128::from(t) + 1) | (0xab << 120);
                        for i in 0..per {
                            let root = i == 0;
                            let mut attributes = vec![];
                            if root {
                                attributes.push(KeyValue::bool("task.cached", t % 3 == 0));
                            } else {
                                attributes
                                    .push(KeyValue::string("http.route", format!("/r/{}", i % 40)));
                            }
                            let dur = 1_000_000 + (t * 7919 + i * 104_729) % 50_000_000;
                            by_service[(t % 10) as usize].push(Span {
                                trace_id: tid.to_be_bytes().to_vec(),
                                span_id: ((t << 16) | (i + 1)).to_be_bytes().to_vec(),
                                parent_span_id: if root {
                                    vec![]
                                } else {
                                    ((t << 16) | 1).to_be_bytes().to_vec()
                                },
                                name: if root {
                                    format!("task-{}", t % 50)
                                } else {
                                    format!("op-{}", i % 40)
                                },
                                kind: 1,
                                start_time_unix_nano: start + i * 1000,
                                end_time_unix_nano: start
                                    + i * 1000
                                    + dur * if root { 4 } else { 1 },
                                attributes,
                                status: ((t + i) % 100 == 0).then(|| Status {
                                    code: 2,
                                    message: "boom".into(),
                                }),
                                ..Default::default()
                            });
                        }
                        t += threads;
                    }
                    for (s, spans) in by_service.into_iter().enumerate() {
                        if spans.is_empty() {
                            continue;
                        }
                        let req = ExportTraceServiceRequest::single(
                            vec![KeyValue::string("service.name", format!("svc-{s}"))],
                            InstrumentationScope {
                                name: "populate".into(),
                                ..Default::default()
                            },
                            spans,
                        );
                        store.append_traces_blocking(req).unwrap();
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    store.close();
    println!(
        "{} traces, {} spans in {:.1}s",
        traces,
        traces * per,
        started.elapsed().as_secs_f64()
    );
}
