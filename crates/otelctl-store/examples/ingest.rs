//! In-process ingest measurement of the store alone (no HTTP): THREADS callers each append
//! REQUESTS exports of PER_REQUEST spans (10 spans per trace, ~250 bytes each, like
//! benchmarks/embedded_load.rs), with the durable default. Prints spans/s.
//! usage: cargo run --release -p otelctl-store --example ingest -- DIR PER_REQUEST TOTAL [THREADS]
use std::sync::Arc;
use std::time::Instant;

use otelctl_otlp::{ExportTraceServiceRequest, InstrumentationScope, KeyValue, Span, Status};
use otelctl_store::{Options, Retention, Store};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(&args[1]);
    let per: usize = args[2].parse().unwrap();
    let total: usize = args[3].parse().unwrap();
    let threads: usize = args.get(4).map_or(4, |t| t.parse().unwrap());
    let (store, _) = Store::open(
        &dir,
        Options {
            retention: Retention {
                max_age: None,
                max_bytes: None,
                max_traces: None,
            },
            durability: if std::env::var("WRITE").is_ok() {
                otelctl_store::Durability::Write
            } else {
                otelctl_store::Durability::Fsync
            },
        },
    )
    .unwrap();
    let store = Arc::new(store);
    let requests = total / per / threads;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut n: u64 = 0;
                for _ in 0..requests {
                    let spans: Vec<Span> = (0..per)
                        .map(|i| {
                            n += 1;
                            let trace = ((t as u128) << 100) | u128::from(n / 10);
                            let start = now + i as u64 * 1000;
                            Span {
                                trace_id: trace.to_be_bytes().to_vec(),
                                span_id: (((t as u64) << 48) | n).to_be_bytes().to_vec(),
                                parent_span_id: if n.is_multiple_of(10) {
                                    vec![]
                                } else {
                                    (((t as u64) << 48) | (n - n % 10))
                                        .max(1)
                                        .to_be_bytes()
                                        .to_vec()
                                },
                                name: format!("op-{}", i % 17),
                                kind: 1,
                                start_time_unix_nano: start,
                                end_time_unix_nano: start + 500_000,
                                attributes: vec![
                                    KeyValue::int("load.index", i as i64),
                                    KeyValue::string("load.note", "x".repeat(64)),
                                ],
                                status: (i % 50 == 0).then(|| Status {
                                    code: 2,
                                    message: String::new(),
                                }),
                                ..Default::default()
                            }
                        })
                        .collect();
                    let req = ExportTraceServiceRequest::single(
                        vec![KeyValue::string("service.name", "load")],
                        InstrumentationScope {
                            name: "load".into(),
                            ..Default::default()
                        },
                        spans,
                    );
                    store.append_traces_blocking(req).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let spans = requests * per * threads;
    println!(
        "{spans} spans in {secs:.2}s: {:.0} spans/s; traces {} db {} MB",
        spans as f64 / secs,
        store.trace_count(),
        std::fs::metadata(store.path()).unwrap().len() / 1_000_000
    );
}
