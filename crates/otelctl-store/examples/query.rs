//! Times the store's own queries on a database (read-only, no HTTP), for benchmarks/store.sh:
//! the newest 50 traces, filtered searches, one trace by id, a task's last 50 comparable runs.
//! Median and 95th percentile (nearest rank) over ROUNDS runs, in milliseconds.
//!
//! usage: cargo run --release -p otelctl-store --example query -- EMBEDDED_DIR ROUNDS
use std::time::Instant;

use otelctl_store::TraceQuery;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(&args[1]);
    let rounds: usize = args[2].parse().unwrap();
    let r = otelctl_store::open_read_only(&dir)
        .unwrap()
        .expect("a store");
    let (rows, _, _) = r
        .list(&TraceQuery {
            name: Some("task-7".into()),
            limit: 200,
            ..Default::default()
        })
        .unwrap();
    let id = otelctl_otlp::parse_trace_id(&rows[rows.len() / 2].trace_id).unwrap();
    let time = |label: &str, f: &dyn Fn()| {
        f();
        let mut ms: Vec<f64> = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let p95 = ms[((95 * ms.len()).div_ceil(100)).max(1) - 1];
        println!("| {label} | {:.3} | {p95:.3} |", ms[ms.len() / 2]);
    };
    time(
        "newest 50 traces (`list`, no filter, with the match count)",
        &|| {
            r.list(&TraceQuery {
                limit: 50,
                ..Default::default()
            })
            .unwrap();
        },
    );
    time("service + span name + min duration, 20 rows", &|| {
        r.list(&TraceQuery {
            service: Some("svc-3".into()),
            name: Some("op-7".into()),
            min_duration_ns: Some(10_000_000),
            limit: 20,
            ..Default::default()
        })
        .unwrap();
    });
    time("one trace by id (summary row + batches decoded)", &|| {
        r.trace_row(&id).unwrap();
        r.trace(&id).unwrap().unwrap();
    });
    time(
        "a task's last 50 comparable runs (`task.cached` = false)",
        &|| {
            r.task_runs("svc-7", "task-7", Some(false), 50).unwrap();
        },
    );
    time(
        "per-name samples of a trace's names (trace page statistics)",
        &|| {
            r.name_samples(&["op-1", "op-2", "op-3", "task-7"], 10_000)
                .unwrap();
        },
    );
}
