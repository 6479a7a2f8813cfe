//! The Grafana Tempo config, for Tempo 2.x or 3.x (single binary, local storage).
//!
//! Both: OTLP gRPC ingest on +1, HTTP API on +2, internal gRPC on +5 (the default 9095
//! collides between projects), all on 127.0.0.1; blocks in `tempo-data/`, WAL in `tempo-wal/`;
//! retention through `overrides.defaults.compaction.block_retention` (accepted by both);
//! `query_frontend.query_end_cutoff: 0s` so the newest spans are searchable at once; usage
//! reporting off. Traces are cut from memory to the searchable head block after 0.5 s idle,
//! checked every 0.25 s.
//!
//! 2.x: `ingester` timings, `min_ready_duration: 0s` (else `/ready` answers 503 for 15 s),
//! TraceQL metrics through the `local-blocks` processor with both generator paths set.
//! 3.x (strict YAML): no `ingester`/`compactor`/`traces_storage`/`local-blocks` (TraceQL
//! metrics are built in); `live_store` timings and paths, `backend_scheduler` path, generator
//! storage path, all moved off the `/var/tempo` defaults.
//!
//! With the metrics store on (`OTELCTL_METRICS_STORE`, default Prometheus on +6), the
//! metrics-generator runs `service-graphs` and `span-metrics` and remote-writes them (with
//! exemplars) to Prometheus' `/api/v1/write`: Grafana's service graph and the RED panels of the
//! built-in dashboards read `traces_service_graph_*` and `traces_spanmetrics_*` from there.

use serde::Serialize;

pub use otelctl_config::settings::TempoMajor;

use super::{loopback, path_text, to_yaml, Context, Rendered, RenderedFile};

/// Search reads the head block, not the traces still in memory: a trace is cut to the head
/// block once no span arrived for `CUT_IDLE`, checked every `CUT_CHECK` (defaults 5 s and
/// 5-10 s). Spans of a trace that arrive later are stored as another piece and combined when
/// read, so short values cost nothing locally and make spans searchable within a second.
const CUT_IDLE: &str = "500ms";
const CUT_CHECK: &str = "250ms";

/// The file name of the rendered config, relative to the data directory.
pub const FILE: &str = "config/tempo.yaml";

#[derive(Debug, Serialize)]
struct Config {
    target: &'static str,
    stream_over_http_enabled: bool,
    server: Server,
    distributor: Distributor,
    #[serde(skip_serializing_if = "Option::is_none")]
    ingester: Option<Ingester>,
    #[serde(skip_serializing_if = "Option::is_none")]
    live_store: Option<LiveStore>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backend_scheduler: Option<BackendScheduler>,
    metrics_generator: MetricsGenerator,
    query_frontend: QueryFrontend,
    storage: Storage,
    overrides: Overrides,
    usage_report: UsageReport,
}

#[derive(Debug, Serialize)]
struct Server {
    http_listen_address: &'static str,
    http_listen_port: u16,
    grpc_listen_address: &'static str,
    grpc_listen_port: u16,
    log_level: &'static str,
}

#[derive(Debug, Serialize)]
struct Distributor {
    receivers: Receivers,
}

#[derive(Debug, Serialize)]
struct Receivers {
    otlp: Otlp,
}

#[derive(Debug, Serialize)]
struct Otlp {
    protocols: Protocols,
}

#[derive(Debug, Serialize)]
struct Protocols {
    grpc: Endpoint,
}

#[derive(Debug, Serialize)]
struct Endpoint {
    endpoint: String,
}

#[derive(Debug, Serialize)]
struct Ingester {
    trace_idle_period: &'static str,
    flush_check_period: &'static str,
    max_block_duration: &'static str,
    lifecycler: Lifecycler,
}

#[derive(Debug, Serialize)]
struct Lifecycler {
    min_ready_duration: &'static str,
}

#[derive(Debug, Serialize)]
struct LiveStore {
    max_trace_idle: &'static str,
    flush_check_period: &'static str,
    max_block_duration: &'static str,
    wal: Path,
    shutdown_marker_dir: String,
}

#[derive(Debug, Serialize)]
struct BackendScheduler {
    local_work_path: String,
}

#[derive(Debug, Serialize)]
struct Path {
    path: String,
}

#[derive(Debug, Serialize)]
struct MetricsGenerator {
    storage: GeneratorStorage,
    #[serde(skip_serializing_if = "Option::is_none")]
    traces_storage: Option<Path>,
}

#[derive(Debug, Serialize)]
struct GeneratorStorage {
    path: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    remote_write: Vec<RemoteWrite>,
}

#[derive(Debug, Serialize)]
struct RemoteWrite {
    url: String,
    send_exemplars: bool,
}

#[derive(Debug, Serialize)]
struct QueryFrontend {
    query_end_cutoff: &'static str,
}

#[derive(Debug, Serialize)]
struct Storage {
    trace: TraceStorage,
}

#[derive(Debug, Serialize)]
struct TraceStorage {
    backend: &'static str,
    wal: Path,
    local: Path,
}

#[derive(Debug, Serialize)]
struct Overrides {
    defaults: OverrideDefaults,
}

#[derive(Debug, Serialize)]
struct OverrideDefaults {
    compaction: Compaction,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_generator: Option<GeneratorOverrides>,
}

#[derive(Debug, Serialize)]
struct Compaction {
    block_retention: String,
}

#[derive(Debug, Serialize)]
struct GeneratorOverrides {
    processors: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct UsageReport {
    reporting_enabled: bool,
}

/// Renders the Tempo config for `version`.
pub fn render(cx: &Context<'_>, version: TempoMajor) -> Rendered {
    let data = cx.data.tempo_data();
    let wal = cx.data.tempo_wal();
    let p = |base: &std::path::Path, sub: &str| Path {
        path: path_text(&base.join(sub)),
    };
    let v2 = version == TempoMajor::V2;
    let metrics = cx.stack.metrics_store.is_on();
    let mut processors = Vec::new();
    if metrics {
        processors.extend(["service-graphs", "span-metrics"]);
    }
    if v2 {
        processors.push("local-blocks");
    }
    let config = Config {
        target: "all",
        stream_over_http_enabled: true,
        server: Server {
            http_listen_address: "127.0.0.1",
            http_listen_port: cx.ports.tempo_http,
            grpc_listen_address: "127.0.0.1",
            grpc_listen_port: cx.ports.tempo_grpc,
            log_level: "warn",
        },
        distributor: Distributor {
            receivers: Receivers {
                otlp: Otlp {
                    protocols: Protocols {
                        grpc: Endpoint {
                            endpoint: loopback(cx.ports.tempo_otlp_grpc),
                        },
                    },
                },
            },
        },
        ingester: v2.then_some(Ingester {
            trace_idle_period: CUT_IDLE,
            flush_check_period: CUT_CHECK,
            max_block_duration: "5m",
            lifecycler: Lifecycler {
                min_ready_duration: "0s",
            },
        }),
        live_store: (!v2).then(|| LiveStore {
            max_trace_idle: CUT_IDLE,
            flush_check_period: CUT_CHECK,
            max_block_duration: "5m",
            wal: p(&wal, "live-store"),
            shutdown_marker_dir: path_text(&wal.join("shutdown-marker")),
        }),
        backend_scheduler: (!v2).then(|| BackendScheduler {
            local_work_path: path_text(&data.join("backend-scheduler")),
        }),
        metrics_generator: MetricsGenerator {
            storage: GeneratorStorage {
                path: path_text(&wal.join("generator")),
                remote_write: metrics
                    .then(|| RemoteWrite {
                        url: format!(
                            "http://{}{}",
                            loopback(cx.ports.metrics_store_http),
                            super::prometheus::REMOTE_WRITE_PATH
                        ),
                        send_exemplars: true,
                    })
                    .into_iter()
                    .collect(),
            },
            traces_storage: v2.then(|| p(&wal, "generator-traces")),
        },
        query_frontend: QueryFrontend {
            query_end_cutoff: "0s",
        },
        storage: Storage {
            trace: TraceStorage {
                backend: "local",
                wal: p(&wal, "wal"),
                local: p(&data, "blocks"),
            },
        },
        overrides: Overrides {
            defaults: OverrideDefaults {
                compaction: Compaction {
                    block_retention: cx.stack.tempo_retention.as_str().to_string(),
                },
                metrics_generator: (!processors.is_empty())
                    .then_some(GeneratorOverrides { processors }),
            },
        },
        usage_report: UsageReport {
            reporting_enabled: false,
        },
    };
    Rendered {
        files: vec![RenderedFile {
            name: FILE.into(),
            contents: to_yaml(&config),
        }],
        dirs: vec![data, wal],
        env: Vec::new(),
        args: Vec::new(),
    }
}

/// Reads the version out of `tempo -version` output (`tempo, version 2.10.0 (branch: …)`).
pub fn parse_version_output(text: &str) -> Option<(TempoMajor, String)> {
    let rest = &text[text.find("version ")? + "version ".len()..];
    let version: String = rest
        .trim_start_matches('v')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect();
    let major = match version.split('.').next()? {
        "2" => TempoMajor::V2,
        "3" => TempoMajor::V3,
        _ => return None,
    };
    Some((major, version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::Fixture;
    use otelctl_config::settings::StackSettings;

    fn text(v: TempoMajor) -> String {
        let f = Fixture::new(StackSettings::default());
        let cx = f.cx();
        render(&cx, v).files[0].contents.clone()
    }

    #[test]
    fn v3_has_none_of_the_keys_it_rejects_and_no_var_tempo() {
        let t = text(TempoMajor::V3);
        for bad in [
            "ingester:",
            "compactor:",
            "traces_storage",
            "local-blocks",
            "local_blocks",
            "/var/tempo",
        ] {
            assert!(!t.contains(bad), "{bad} in {t}");
        }
        assert!(t.contains("query_end_cutoff: 0s"));
        assert!(t.contains("grpc_listen_port: 20005"));
    }

    #[test]
    fn v2_enables_traceql_metrics() {
        let t = text(TempoMajor::V2);
        assert!(
            t.contains("- local-blocks") && t.contains("traces_storage:"),
            "{t}"
        );
        assert!(!t.contains("live_store"));
        assert!(t.contains("block_retention: 72h"));
    }

    #[test]
    fn parses_version_output() {
        let (m, v) = parse_version_output(
            "tempo, version 3.0.3 (branch: HEAD, revision: 1900ed7)\n  build user: x\n",
        )
        .unwrap();
        assert_eq!((m, v.as_str()), (TempoMajor::V3, "3.0.3"));
        assert_eq!(
            parse_version_output("tempo, version v2.10.0 (branch: x)")
                .unwrap()
                .0,
            TempoMajor::V2
        );
        assert!(parse_version_output("tempo, version  (branch: )").is_none());
    }
}
