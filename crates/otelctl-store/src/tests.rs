use super::*;
use otelctl_otlp::{InstrumentationScope, KeyValue, Span, Status};

pub(crate) fn span(trace: u8, id: u8, parent: u8, start: u64, end: u64) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
        name: format!("s{id}"),
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        ..Default::default()
    }
}

pub(crate) fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest::single(
        vec![KeyValue::string("service.name", "svc")],
        InstrumentationScope {
            name: "t".into(),
            ..Default::default()
        },
        spans,
    )
}

/// No retention: the tests' spans start in 1970.
fn open(dir: &Path) -> Store {
    let options = Options {
        retention: Retention::NONE,
        ..Options::default()
    };
    let (store, report) = Store::open(dir, options).unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    store
}

fn all(store: &Store) -> Vec<TraceRow> {
    store
        .list(&TraceQuery {
            limit: 1000,
            ..Default::default()
        })
        .unwrap()
        .0
}

#[test]
fn spans_round_trip_summaries_and_duplicates_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut err = span(1, 2, 1, 20, 50);
    err.status = Some(Status {
        code: otelctl_otlp::StatusCode::Error as i32,
        message: "boom".into(),
    });
    err.attributes = vec![KeyValue::bool("task.cached", false)];
    let o = store
        .append_traces_blocking(request(vec![span(1, 1, 0, 10, 100), span(2, 1, 0, 5, 6)]))
        .unwrap();
    assert_eq!((o.accepted, o.duplicates), (2, 0));
    // A child first seen later, and the root again (a retry).
    let o = store
        .append_traces_blocking(request(vec![err, span(1, 1, 0, 10, 100)]))
        .unwrap();
    assert_eq!((o.accepted, o.duplicates), (1, 1));
    let rows = all(&store);
    assert_eq!(rows.len(), 2);
    let t1 = rows.iter().find(|r| r.trace_id == "01".repeat(16)).unwrap();
    assert_eq!(
        (
            t1.service.as_str(),
            t1.root_name.as_str(),
            t1.duration_ns,
            t1.span_count,
            t1.error_count
        ),
        ("svc", "s1", 90, 2, 1)
    );
    let req = store.trace(&[1; 16]).unwrap().unwrap();
    assert_eq!(req.span_count(), 2);
    assert_eq!((store.trace_count(), store.span_count()), (2, 3));
    // Task runs: the root, and the task.cached span.
    let runs = store.task_runs("svc", "s2", Some(false), 50).unwrap();
    assert_eq!(runs.len(), 1);
    assert!(runs[0].error);
    assert_eq!(store.task_runs("svc", "s1", None, 50).unwrap().len(), 2);
    // Filters.
    let q = |f: &dyn Fn(&mut TraceQuery)| {
        let mut q = TraceQuery {
            limit: 10,
            ..Default::default()
        };
        f(&mut q);
        store.list(&q).unwrap().0.len()
    };
    assert_eq!(q(&|q| q.error = Some(true)), 1);
    assert_eq!(q(&|q| q.name = Some("s2".into())), 1);
    assert_eq!(q(&|q| q.service = Some("svc".into())), 2);
    assert_eq!(q(&|q| q.service = Some("other".into())), 0);
    assert_eq!(
        q(&|q| q.attrs = vec![("task.cached".into(), "false".into())]),
        1
    );
    assert_eq!(
        q(&|q| q.attrs = vec![("service.name".into(), "svc".into())]),
        2
    );
    assert_eq!(q(&|q| q.min_duration_ns = Some(50)), 1);
    assert_eq!(store.names("service", 10).unwrap(), ["svc"]);
    assert_eq!(store.names("span", 10).unwrap(), ["s1", "s2"]);
    let samples = store.name_samples(&["s1"], 100).unwrap();
    assert_eq!(samples[0].durations_ns.len(), 2);
    // Restart: everything is there, and the same spans again are duplicates.
    drop(store);
    let store = open(dir.path());
    assert_eq!((store.trace_count(), store.span_count()), (2, 3));
    let o = store
        .append_traces_blocking(request(vec![span(1, 1, 0, 10, 100), span(2, 1, 0, 5, 6)]))
        .unwrap();
    assert_eq!((o.accepted, o.duplicates), (0, 2));
}

#[test]
fn concurrent_appends_share_commits_and_all_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()));
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 1..=50u8 {
                    let mut s = span(i, t + 1, 0, 1, 2);
                    s.trace_id[0] = t;
                    let o = store.append_traces_blocking(request(vec![s])).unwrap();
                    assert_eq!(o.accepted, 1);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store.trace_count(), 400);
    assert_eq!(all(&store).len(), 400);
}

#[test]
fn retention_by_age_and_size_evicts_whole_traces_oldest_first_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_ns();
    let day = 24 * 3600 * 1_000_000_000u64;
    {
        let (store, _) = Store::open(
            dir.path(),
            Options {
                retention: Retention {
                    max_age: Some(Duration::from_secs(7 * 24 * 3600)),
                    max_bytes: None,
                    max_traces: None,
                },
                ..Options::default()
            },
        )
        .unwrap();
        for d in 1..=10u8 {
            let t = now - u64::from(d) * day;
            store
                .append_traces_blocking(request(vec![
                    span(d, 1, 0, t, t + 5),
                    span(d, 2, 1, t, t + 1),
                ]))
                .unwrap();
        }
        store.apply_retention().unwrap();
        let kept: Vec<String> = all(&store).into_iter().map(|r| r.trace_id).collect();
        assert_eq!(kept.len(), 6, "days 1-6 kept: {kept:?}");
        assert!(!kept.contains(&"07".repeat(16)));
        let c = store.counters();
        assert_eq!((c.dropped_traces, c.dropped_spans), (4, 8));
        assert_eq!(store.span_count(), 12);
        assert!(store.task_runs("svc", "s1", None, 100).unwrap().len() == 6);
    }
    // By size: a cap far below what is stored keeps only the newest.
    let big = |t: u8, d: u64| {
        let mut s = span(t, 1, 0, now - d, now - d + 1);
        s.attributes = vec![KeyValue::string("blob", "x".repeat(20_000))];
        request(vec![s])
    };
    let (store, _) = Store::open(
        dir.path(),
        Options {
            retention: Retention {
                max_age: None,
                max_bytes: Some(1024 * 1024),
                max_traces: None,
            },
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(store.counters().dropped_traces, 4, "kept in the database");
    for t in 100..200u8 {
        store
            .append_traces_blocking(big(t, u64::from(200 - t) * 1000))
            .unwrap();
    }
    store.apply_retention().unwrap();
    assert!(store.used_bytes().unwrap() <= 1024 * 1024);
    let rows = all(&store);
    assert!(rows.len() < 100 && !rows.is_empty(), "{}", rows.len());
    // The newest survive: every kept big trace starts after every dropped one.
    assert!(rows
        .iter()
        .any(|r| r.trace_id == format!("{:02x}", 199).repeat(16)));
    assert!(!rows
        .iter()
        .any(|r| r.trace_id == format!("{:02x}", 100).repeat(16)));
}

#[test]
fn a_damaged_database_is_set_aside_and_what_it_held_imported() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        for t in 1..=30u8 {
            store
                .append_traces_blocking(request(vec![span(t, 1, 0, 1, 2), span(t, 2, 1, 1, 2)]))
                .unwrap();
        }
    }
    // Damage a page of the traces table's index (not the batches): quick_check fails.
    let path = db_path(dir.path());
    let conn = Connection::open(&path).unwrap();
    let root: i64 = conn
        .query_row(
            "SELECT rootpage FROM sqlite_schema WHERE name = 'traces_by_start'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = (root as usize - 1) * 4096;
    for b in &mut bytes[at + 8..at + 64] {
        *b = 0xff;
    }
    std::fs::write(&path, &bytes).unwrap();
    let (store, report) = Store::open(
        dir.path(),
        Options {
            retention: Retention::NONE,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(
        report.warnings[0].contains("failed its integrity check"),
        "{:?}",
        report.warnings
    );
    assert_eq!(report.salvaged_spans, 60, "{:?}", report.warnings);
    assert_eq!(store.trace_count(), 30);
    let aside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".damaged-") && !n.ends_with("-wal") && !n.ends_with("-shm"))
        .collect();
    assert_eq!(aside.len(), 1, "kept, not deleted: {aside:?}");
}

#[test]
fn the_store_before_this_one_is_imported_and_its_files_removed() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../otelctl/tests/fixtures/store-v0/embedded");
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    };
    for sub in ["traces", "wal"] {
        copy(&fixture.join(sub), &dir.path().join(sub));
    }
    // No retention: the fixture's traces are from 2023.
    let options = Options {
        retention: Retention::NONE,
        ..Options::default()
    };
    let (store, report) = Store::open(dir.path(), options).unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.migrated_traces, 20);
    assert!(!dir.path().join("traces").exists() && !dir.path().join("wal").exists());
    assert_eq!(store.trace_count(), 20);
    // Trace 12: spans 1 and 2 from its file, 3 and 4 from the log, 2 again not doubled.
    let t12 = store.trace_row(&[12; 16]).unwrap().unwrap();
    assert_eq!((t12.span_count, t12.root_name.as_str()), (4, "root-12"));
    let t5 = store.trace_row(&[5; 16]).unwrap().unwrap();
    assert_eq!(t5.error_count, 1);
    let cached = store
        .task_runs("fixture", "task-x", Some(true), 10)
        .unwrap();
    assert_eq!(cached.len(), 1);
    assert_eq!(
        store
            .task_runs("fixture", "task-x", None, 10)
            .unwrap()
            .len(),
        3
    );
    assert_eq!(store.span_count(), 20 * 2 + 3 + 2);
}

#[test]
fn clear_removes_everything_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .append_traces_blocking(request(vec![span(1, 1, 0, 1, 2)]))
        .unwrap();
    let g = store.generation();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(store.clear()).unwrap(), 1);
    assert_eq!(store.changes_since(g).unwrap(), vec![Change::Cleared]);
    assert_eq!(all(&store).len(), 0);
    assert_eq!(store.counters().cleared_traces, 1);
}

#[test]
fn logs_are_stored_once_and_found_by_service_severity_text_and_trace() {
    use otelctl_otlp::logs::{ExportLogsServiceRequest, LogRecord};
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let rec = |t: u64, sev: i32, body: &str, trace: u8| LogRecord {
        time_unix_nano: t,
        severity_number: sev,
        severity_text: otelctl_otlp::logs::SeverityNumber::short_name(sev).into(),
        body: Some(otelctl_otlp::AnyValue {
            value: Some(otelctl_otlp::Value::StringValue(body.into())),
        }),
        trace_id: if trace == 0 { vec![] } else { vec![trace; 16] },
        span_id: if trace == 0 { vec![] } else { vec![1; 8] },
        attributes: vec![KeyValue::string("k", "v")],
        ..Default::default()
    };
    let req = ExportLogsServiceRequest::single(
        vec![KeyValue::string("service.name", "api")],
        InstrumentationScope::default(),
        vec![
            rec(10, 9, "cache warmed in 3 ms", 0),
            rec(20, 17, "connection refused by db:5432", 7),
            rec(30, 13, "slow query: select * from users", 7),
        ],
    );
    let g = store.generation();
    let o = store.append_logs_blocking(&req).unwrap();
    assert_eq!((o.accepted, o.duplicates), (3, 0));
    assert_eq!(
        store.changes_since(g).unwrap(),
        vec![Change::Logs(None), Change::Logs(Some([7; 16]))],
        "live updates learn which traces got logs"
    );
    let g = store.generation();
    let o = store.append_logs_blocking(&req).unwrap();
    assert_eq!(store.generation(), g, "a replay changes nothing");
    assert_eq!(
        (o.accepted, o.duplicates),
        (0, 3),
        "a replay is stored once"
    );
    let q = |f: &dyn Fn(&mut LogQuery)| {
        let mut q = LogQuery {
            limit: 10,
            ..Default::default()
        };
        f(&mut q);
        store
            .logs(&q)
            .unwrap()
            .into_iter()
            .map(|l| l.time_unix_nano)
            .collect::<Vec<_>>()
    };
    assert_eq!(q(&|_| {}), [30, 20, 10], "newest first");
    assert_eq!(q(&|q| q.min_severity = Some(13)), [30, 20]);
    assert_eq!(
        q(&|q| q.text = Some("Refused".into())),
        [20],
        "FTS, any case"
    );
    assert_eq!(q(&|q| q.text = Some("query select".into())), [30]);
    assert_eq!(
        q(&|q| q.text = Some("\"unbalanced OR".into())),
        Vec::<u64>::new()
    );
    assert_eq!(q(&|q| q.trace_id = Some([7; 16])), [30, 20]);
    assert_eq!(
        q(&|q| {
            q.trace_id = Some([7; 16]);
            q.span_id = Some([1; 8]);
        }),
        [30, 20]
    );
    assert_eq!(q(&|q| q.span_id = Some([2; 8])), Vec::<u64>::new());
    assert_eq!(store.log_services(10).unwrap(), ["api"]);
    assert_eq!(store.log_count().unwrap(), 3);
    assert_eq!(q(&|q| q.service = Some("web".into())), Vec::<u64>::new());
    assert_eq!(q(&|q| q.since_unix_nano = Some(15)), [30, 20]);
    let all = store
        .logs(&LogQuery {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all[0].attributes, r#"{"k":"v"}"#);
    assert_eq!(all[0].service, "api");
    let after = all[1].id;
    let follow = store
        .logs(&LogQuery {
            after_id: Some(after),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(follow.len(), 1);
    assert_eq!(store.counters().accepted_logs, 3);
}

#[test]
fn metrics_of_every_type_are_stored_once_with_series_and_latest_values() {
    use otelctl_otlp::metrics::*;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let np = |t: u64, v: f64, attr: &str| NumberDataPoint {
        attributes: vec![KeyValue::string("route", attr)],
        time_unix_nano: t,
        start_time_unix_nano: 1,
        value: Some(NumberValue::AsDouble(v)),
        ..Default::default()
    };
    let metric = |name: &str, data: Data| Metric {
        name: name.into(),
        unit: "1".into(),
        data: Some(data),
        ..Default::default()
    };
    let req = ExportMetricsServiceRequest::single(
        vec![KeyValue::string("service.name", "api")],
        InstrumentationScope::default(),
        vec![
            metric(
                "requests",
                Data::Sum(Sum {
                    data_points: vec![np(10, 1.0, "/a"), np(20, 3.0, "/a"), np(15, 7.0, "/b")],
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: true,
                }),
            ),
            metric(
                "temp",
                Data::Gauge(Gauge {
                    data_points: vec![np(5, 21.5, "x")],
                }),
            ),
            metric(
                "latency",
                Data::Histogram(Histogram {
                    data_points: vec![HistogramDataPoint {
                        time_unix_nano: 30,
                        count: 3,
                        sum: Some(0.6),
                        bucket_counts: vec![1, 2, 0],
                        explicit_bounds: vec![0.1, 0.5],
                        ..Default::default()
                    }],
                    aggregation_temporality: AggregationTemporality::Delta as i32,
                }),
            ),
            metric(
                "sizes",
                Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: vec![ExponentialHistogramDataPoint {
                        time_unix_nano: 30,
                        count: 2,
                        scale: 3,
                        positive: Some(Buckets {
                            offset: 1,
                            bucket_counts: vec![1, 1],
                        }),
                        ..Default::default()
                    }],
                    aggregation_temporality: AggregationTemporality::Delta as i32,
                }),
            ),
            metric(
                "gc",
                Data::Summary(Summary {
                    data_points: vec![SummaryDataPoint {
                        time_unix_nano: 30,
                        count: 4,
                        sum: 2.0,
                        quantile_values: vec![ValueAtQuantile {
                            quantile: 0.5,
                            value: 0.4,
                        }],
                        ..Default::default()
                    }],
                }),
            ),
        ],
    );
    let g = store.generation();
    let o = store.append_metrics_blocking(&req).unwrap();
    assert_eq!((o.accepted, o.duplicates), (7, 0));
    assert_eq!(store.changes_since(g).unwrap(), vec![Change::Metrics]);
    let g = store.generation();
    let o = store.append_metrics_blocking(&req).unwrap();
    assert_eq!((o.accepted, o.duplicates), (0, 7));
    assert_eq!(store.generation(), g, "a replay changes nothing");
    let names = store.metric_names(Some("api"), None).unwrap();
    let by = |n: &str| names.iter().find(|m| m.name == n).unwrap().clone();
    let r = by("requests");
    assert_eq!(
        (r.series, r.points, r.latest_time_unix_nano, r.latest_value),
        (2, 3, 20, Some(3.0))
    );
    assert_eq!(r.temporality.as_deref(), Some("cumulative"));
    assert_eq!(r.monotonic, Some(true));
    assert_eq!(by("latency").latest_value, Some(0.6));
    assert_eq!(by("latency").kind, "histogram");
    assert_eq!(by("sizes").kind, "exponentialHistogram");
    assert_eq!(by("gc").latest_value, Some(2.0));
    let series = store.metric_series("requests", None, None, 100).unwrap();
    assert_eq!(series.len(), 2);
    let a = series.iter().find(|s| s.attributes.contains("/a")).unwrap();
    let values: Vec<Option<f64>> = a.points.iter().map(|p| p.value).collect();
    assert_eq!(values, [Some(1.0), Some(3.0)], "oldest first");
    let lat = store.metric_series("latency", None, None, 10).unwrap();
    assert!(lat[0].points[0]
        .data
        .as_deref()
        .unwrap()
        .contains("explicit_bounds"));
    assert_eq!(store.metric_names(None, Some(25)).unwrap().len(), 3);
}

#[test]
fn a_version_1_database_is_migrated_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        store
            .append_traces_blocking(request(vec![span(1, 1, 0, 1, 2)]))
            .unwrap();
    }
    // Back to version 1: its span-name index, and its version number.
    let conn = Connection::open(db_path(dir.path())).unwrap();
    conn.execute_batch(
        "DROP INDEX spans_by_name; CREATE INDEX spans_by_name ON spans(name, trace); PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let store = open(dir.path());
    assert_eq!(store.trace_count(), 1);
    let conn = Connection::open(db_path(dir.path())).unwrap();
    let (version, sql): (i64, String) = (
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap(),
        conn.query_row(
            "SELECT sql FROM sqlite_schema WHERE name = 'spans_by_name'",
            [],
            |r| r.get(0),
        )
        .unwrap(),
    );
    assert_eq!(version, schema::VERSION);
    assert!(sql.contains("duration_ns, status"), "{sql}");
    assert_eq!(
        store.name_samples(&["s1"], 10).unwrap()[0].durations_ns,
        [1]
    );
}

/// Under continuous commits passive checkpoints never let the log restart, so its file grew
/// without bound; past the limit a checkpoint empties it, and nothing committed is lost.
#[test]
fn a_log_file_past_its_limit_is_emptied_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let db = db_path(dir.path());
    let wal = wal_path(&db);
    for t in 1..=50u8 {
        let spans = (1..=100u8).map(|i| span(t, i, 0, 10, 20)).collect();
        store.append_traces_blocking(request(spans)).unwrap();
    }
    let grown = std::fs::metadata(&wal).unwrap().len();
    assert!(grown > 1 << 20, "the log holds the commits: {grown} bytes");
    let conn = Connection::open(&db).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    // Under the limit: a passive checkpoint leaves the file as it is.
    checkpoint(&conn, &wal, grown);
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), grown);
    // Past it: emptied.
    checkpoint(&conn, &wal, 1 << 20);
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    assert_eq!(all(&store).len(), 50);
}
