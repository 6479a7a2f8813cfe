//! The OpenTelemetry Collector config.
//!
//! Three pipelines, one per signal, each `memory_limiter` -> `batch`:
//! - traces: the OTLP/HTTP receiver on +0 (and, when the collector has it, the contrib
//!   `otlpjsonfile` receiver reading the spool's `*.json`) -> the `otlp` exporter to Tempo's gRPC
//!   ingest on +1;
//! - metrics: OTLP (and the spool's `*.metrics.jsonl`) -> `otlphttp/prometheus`, Prometheus'
//!   native OTLP receiver on +6 (`/api/v1/otlp/v1/metrics`);
//! - logs: OTLP (and the spool's `*.logs.jsonl`) -> `otlphttp/victorialogs`, VictoriaLogs' OTLP
//!   receiver on +7, with its stream fields in a header.
//!
//! Every pipeline also gets `debug` when `OTEL_DEBUG=1` and an `otlphttp` exporter to the
//! upstream when `OTELCTL_UPSTREAM_ENDPOINT` is set. A store that is `off` (or a collector
//! without an OTLP/HTTP exporter) leaves its pipeline to the `nop` exporter (else `debug` at
//! `basic`): the receiver still accepts the signal, so an SDK never sees a 404. Internal
//! metrics are served on +4 through a pull reader (never the default :8888); there is no
//! `health_check` extension (its default :13133 collides between projects).
//!
//! Version notes (see `shared/reference/stack-config-facts.md`): exporter names `otlp` and
//! `otlphttp` are accepted by every collector (the `otlp_grpc`/`otlp_http` spellings only since
//! v0.144); `memory_limiter` needs `check_interval`; `service.telemetry.metrics.address` is
//! an error since v0.128, so the `readers` form is used.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{loopback, path_text, to_yaml, Context, EnvVar, Rendered, RenderedFile};
use otelctl_config::env::EnvVars;
use otelctl_config::error::{Error, Result};

/// The file name of the rendered config, relative to the data directory.
pub const FILE: &str = "config/collector.yaml";

/// The receiver that reads the spool, and the storage extension that remembers what it read.
pub const SPOOL_RECEIVER: &str = "otlpjsonfile/spool";
pub const SPOOL_STORAGE: &str = "file_storage/spool";
/// The storage extension that keeps the Tempo exporter's queue on disk, so a span read from a
/// spool file (which is then deleted) survives a collector restart before Tempo took it.
pub const QUEUE_STORAGE: &str = "file_storage/queue";
/// The collector flag that allows `delete_after_read` (an alpha gate, off by default).
pub const FILE_DELETION_GATE: &str = "--feature-gates=filelog.allowFileDeletion";

/// Prefix of the environment variables that carry upstream header values to the collector, so
/// the rendered file never holds them: the config says `${env:OTELCTL_UPSTREAM_HEADER_1}`.
pub const HEADER_ENV_PREFIX: &str = EnvVars::OTELCTL_UPSTREAM_HEADER_PREFIX;

/// What the collector binary offers, as far as the config depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// The contrib `otlpjsonfile` receiver and `file_storage` extension are built in (true for
    /// `otelcol-contrib`). Without them the spool is not in the config and otelctl drains it.
    pub spool_receiver: bool,
    /// The name of the OTLP gRPC exporter: `otlp_grpc` where `components` lists it (v0.144 and
    /// later; the old alias logs a deprecation warning there), else `otlp`, which every older
    /// collector knows.
    pub tempo_exporter: &'static str,
    /// The name of the OTLP/HTTP exporter (`otlp_http`, `otlphttp`), `None` when the collector
    /// has none: forwarding upstream is then impossible and reported as an error.
    pub upstream_exporter: Option<&'static str>,
    /// The `nop` exporter is built in (the sink of a pipeline whose store is off).
    pub nop_exporter: bool,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            spool_receiver: true,
            tempo_exporter: "otlp",
            upstream_exporter: Some("otlphttp"),
            nop_exporter: true,
        }
    }
}

impl Features {
    /// Reads the output of `<collector> components` (YAML with `receivers: [{name: …}]`).
    pub fn from_components(yaml: &str) -> Self {
        let names = |kind: &str| -> Vec<String> {
            let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(yaml) else {
                return Vec::new();
            };
            doc.get(kind)
                .and_then(|v| v.as_sequence())
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i.get("name").and_then(|n| n.as_str()))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let has = |kind: &str, name: &str| names(kind).iter().any(|n| n == name);
        Features {
            spool_receiver: has("receivers", "otlpjsonfile") && has("extensions", "file_storage"),
            tempo_exporter: if has("exporters", "otlp_grpc") {
                "otlp_grpc"
            } else {
                "otlp"
            },
            upstream_exporter: if has("exporters", "otlp_http") {
                Some("otlp_http")
            } else if has("exporters", "otlphttp") {
                Some("otlphttp")
            } else {
                None
            },
            nop_exporter: has("exporters", "nop"),
        }
    }
}

#[derive(Debug, Serialize)]
struct Config {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: BTreeMap<&'static str, FileStorage>,
    receivers: BTreeMap<&'static str, Receiver>,
    processors: Processors,
    exporters: BTreeMap<&'static str, Exporter>,
    service: ServiceSection,
}

#[derive(Debug, Serialize)]
struct FileStorage {
    directory: String,
    /// Lets `validate` pass before `run` has created it (run creates it private first).
    create_directory: bool,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Receiver {
    Otlp { protocols: OtlpProtocols },
    JsonFile(JsonFileReceiver),
}

#[derive(Debug, Serialize)]
struct OtlpProtocols {
    http: Endpoint,
}

#[derive(Debug, Serialize)]
struct Endpoint {
    endpoint: String,
}

#[derive(Debug, Serialize)]
struct JsonFileReceiver {
    include: Vec<String>,
    /// Files present before the collector starts are read too.
    start_at: &'static str,
    /// How often the spool is scanned.
    poll_interval: &'static str,
    /// Each file is deleted once read, so it is ingested once and `otelctl spool flush` never
    /// sends it again (needs the `filelog.allowFileDeletion` feature gate; `run` passes it).
    delete_after_read: bool,
    /// Remembers how far a file was read, should the collector stop half-way through one.
    storage: &'static str,
}

#[derive(Debug, Serialize)]
struct Processors {
    memory_limiter: MemoryLimiter,
    batch: Batch,
}

#[derive(Debug, Serialize)]
struct MemoryLimiter {
    check_interval: &'static str,
    limit_mib: u32,
    spike_limit_mib: u32,
}

#[derive(Debug, Serialize)]
struct Batch {
    /// Short, so a span is searchable in Tempo within a second or two of its end.
    timeout: &'static str,
    send_batch_size: u32,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Exporter {
    Otlp {
        endpoint: String,
        tls: Tls,
        retry_on_failure: Retry,
        #[serde(skip_serializing_if = "Option::is_none")]
        sending_queue: Option<Queue>,
    },
    Debug {
        verbosity: &'static str,
    },
    OtlpHttp {
        endpoint: String,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
    },
    /// An otlphttp exporter to a local store: one signal's endpoint, retries like Tempo's.
    Store {
        #[serde(skip_serializing_if = "Option::is_none")]
        metrics_endpoint: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        logs_endpoint: Option<String>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
        retry_on_failure: Retry,
    },
    Nop {},
}

/// Tempo may start after the collector (devenv starts processes together): retry soon.
#[derive(Debug, Serialize)]
struct Retry {
    enabled: bool,
    initial_interval: &'static str,
    max_interval: &'static str,
}

/// A persistent exporter queue.
#[derive(Debug, Serialize)]
struct Queue {
    storage: &'static str,
}

#[derive(Debug, Serialize)]
struct Tls {
    insecure: bool,
}

#[derive(Debug, Serialize)]
struct ServiceSection {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    extensions: Vec<&'static str>,
    pipelines: BTreeMap<&'static str, Pipeline>,
    telemetry: Telemetry,
}

#[derive(Debug, Serialize)]
struct Pipeline {
    receivers: Vec<&'static str>,
    processors: Vec<&'static str>,
    exporters: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct Telemetry {
    logs: Logs,
    metrics: Metrics,
}

#[derive(Debug, Serialize)]
struct Logs {
    level: &'static str,
}

#[derive(Debug, Serialize)]
struct Metrics {
    level: &'static str,
    readers: Vec<Reader>,
}

#[derive(Debug, Serialize)]
struct Reader {
    pull: Pull,
}

#[derive(Debug, Serialize)]
struct Pull {
    exporter: PullExporter,
}

#[derive(Debug, Serialize)]
struct PullExporter {
    prometheus: Prometheus,
}

#[derive(Debug, Serialize)]
struct Prometheus {
    host: &'static str,
    port: u16,
}

/// The spool receivers of the metrics and logs pipelines (the spool's `*.metrics.jsonl` and
/// `*.logs.jsonl`; traces stay `*.json`, so no receiver reads another signal's files).
pub const SPOOL_METRICS_RECEIVER: &str = "otlpjsonfile/spool-metrics";
pub const SPOOL_LOGS_RECEIVER: &str = "otlpjsonfile/spool-logs";

/// Renders the collector config for a collector with `features`.
pub fn render_with(cx: &Context<'_>, features: Features) -> Result<Rendered> {
    let mut receivers = BTreeMap::new();
    let mut extensions = BTreeMap::new();
    let mut dirs = vec![cx.spool.to_path_buf()];
    receivers.insert(
        "otlp",
        Receiver::Otlp {
            protocols: OtlpProtocols {
                http: Endpoint {
                    endpoint: loopback(cx.ports.collector_otlp_http),
                },
            },
        },
    );
    let spool_receiver = |pattern: &str| {
        Receiver::JsonFile(JsonFileReceiver {
            include: vec![path_text(&cx.spool.join(pattern))],
            start_at: "beginning",
            poll_interval: "500ms",
            delete_after_read: true,
            storage: SPOOL_STORAGE,
        })
    };
    if features.spool_receiver {
        receivers.insert(SPOOL_RECEIVER, spool_receiver("*.json"));
        for (name, sub) in [(SPOOL_STORAGE, "spool-offsets"), (QUEUE_STORAGE, "queue")] {
            let dir = cx.data.collector_storage().join(sub);
            extensions.insert(
                name,
                FileStorage {
                    directory: path_text(&dir),
                    create_directory: true,
                },
            );
            dirs.push(dir);
        }
    }

    // Component ids are `<type>/<name>`; the type names are 'static, so are the ids we build.
    let tempo_name: &'static str = match features.tempo_exporter {
        "otlp_grpc" => "otlp_grpc/tempo",
        _ => "otlp/tempo",
    };
    let http = features.upstream_exporter;
    let named = |suffix: &str| -> Option<&'static str> {
        match (http, suffix) {
            (Some("otlp_http"), "upstream") => Some("otlp_http/upstream"),
            (Some("otlp_http"), "prometheus") => Some("otlp_http/prometheus"),
            (Some("otlp_http"), "victorialogs") => Some("otlp_http/victorialogs"),
            (Some(_), "upstream") => Some("otlphttp/upstream"),
            (Some(_), "prometheus") => Some("otlphttp/prometheus"),
            (Some(_), "victorialogs") => Some("otlphttp/victorialogs"),
            _ => None,
        }
    };
    let retry = || Retry {
        enabled: true,
        initial_interval: "250ms",
        max_interval: "5s",
    };
    let mut exporters = BTreeMap::new();
    let mut traces = vec![tempo_name];
    let mut metrics = Vec::new();
    let mut logs = Vec::new();
    exporters.insert(
        tempo_name,
        Exporter::Otlp {
            endpoint: loopback(cx.ports.tempo_otlp_grpc),
            tls: Tls { insecure: true },
            retry_on_failure: retry(),
            sending_queue: features.spool_receiver.then_some(Queue {
                storage: QUEUE_STORAGE,
            }),
        },
    );
    if let (true, Some(name)) = (cx.stack.metrics_store.is_on(), named("prometheus")) {
        exporters.insert(
            name,
            Exporter::Store {
                metrics_endpoint: Some(format!(
                    "http://{}{}/v1/metrics",
                    loopback(cx.ports.metrics_store_http),
                    super::prometheus::OTLP_PATH
                )),
                logs_endpoint: None,
                headers: BTreeMap::new(),
                retry_on_failure: retry(),
            },
        );
        metrics.push(name);
    }
    if let (true, Some(name)) = (cx.stack.logs_store.is_on(), named("victorialogs")) {
        exporters.insert(
            name,
            Exporter::Store {
                metrics_endpoint: None,
                logs_endpoint: Some(format!(
                    "http://{}{}",
                    loopback(cx.ports.logs_store_http),
                    super::victorialogs::OTLP_LOGS_PATH
                )),
                headers: BTreeMap::from([(
                    super::victorialogs::STREAM_FIELDS_HEADER.to_string(),
                    super::victorialogs::STREAM_FIELDS.to_string(),
                )]),
                retry_on_failure: retry(),
            },
        );
        logs.push(name);
    }
    let mut env = Vec::new();
    if let Some(up) = &cx.stack.upstream {
        let Some(upstream_name) = named("upstream") else {
            return Err(Error::failed(
                "cannot forward to $OTELCTL_UPSTREAM_ENDPOINT",
                "the collector has no OTLP/HTTP exporter (otlp_http or otlphttp)",
            )
            .fix("use otelcol-contrib, or unset the variable"));
        };
        let mut headers = BTreeMap::new();
        for (i, (name, value)) in up.headers.iter().enumerate() {
            let var = format!("{HEADER_ENV_PREFIX}{}", i + 1);
            headers.insert(name.clone(), format!("${{env:{var}}}"));
            env.push(EnvVar {
                name: var,
                value: value.clone(),
                secret: true,
            });
        }
        exporters.insert(
            upstream_name,
            Exporter::OtlpHttp {
                endpoint: up.endpoint.clone(),
                headers,
            },
        );
        for p in [&mut traces, &mut metrics, &mut logs] {
            p.push(upstream_name);
        }
    }
    if cx.stack.debug {
        exporters.insert(
            "debug",
            Exporter::Debug {
                verbosity: "detailed",
            },
        );
        for p in [&mut traces, &mut metrics, &mut logs] {
            p.push("debug");
        }
    }
    // The spool's metrics and logs files are read (and deleted) only by a pipeline that
    // delivers them somewhere; otherwise they wait for `otelctl spool flush`.
    let spool_metrics = (features.spool_receiver && !metrics.is_empty()).then(|| {
        receivers.insert(SPOOL_METRICS_RECEIVER, spool_receiver("*.metrics.jsonl"));
        SPOOL_METRICS_RECEIVER
    });
    let spool_logs = (features.spool_receiver && !logs.is_empty()).then(|| {
        receivers.insert(SPOOL_LOGS_RECEIVER, spool_receiver("*.logs.jsonl"));
        SPOOL_LOGS_RECEIVER
    });
    // A signal with nowhere to go is still accepted (an SDK would print a 404 otherwise).
    for p in [&mut metrics, &mut logs] {
        if p.is_empty() {
            if features.nop_exporter {
                exporters.insert("nop", Exporter::Nop {});
                p.push("nop");
            } else {
                exporters
                    .entry("debug")
                    .or_insert(Exporter::Debug { verbosity: "basic" });
                p.push("debug");
            }
        }
    }
    let pipeline = |spool: Option<&'static str>, mut exporters: Vec<&'static str>| {
        exporters.sort_unstable();
        Pipeline {
            receivers: std::iter::once("otlp").chain(spool).collect(),
            processors: vec!["memory_limiter", "batch"],
            exporters,
        }
    };

    let config = Config {
        service: ServiceSection {
            extensions: extensions.keys().copied().collect(),
            pipelines: BTreeMap::from([
                (
                    "traces",
                    pipeline(features.spool_receiver.then_some(SPOOL_RECEIVER), traces),
                ),
                ("metrics", pipeline(spool_metrics, metrics)),
                ("logs", pipeline(spool_logs, logs)),
            ]),
            telemetry: Telemetry {
                logs: Logs { level: "info" },
                metrics: Metrics {
                    level: "normal",
                    readers: vec![Reader {
                        pull: Pull {
                            exporter: PullExporter {
                                prometheus: Prometheus {
                                    host: "127.0.0.1",
                                    port: cx.ports.collector_metrics,
                                },
                            },
                        },
                    }],
                },
            },
        },
        extensions,
        receivers,
        processors: Processors {
            memory_limiter: MemoryLimiter {
                check_interval: "1s",
                limit_mib: 512,
                spike_limit_mib: 128,
            },
            batch: Batch {
                timeout: "200ms",
                send_batch_size: 512,
            },
        },
        exporters,
    };
    Ok(Rendered {
        files: vec![RenderedFile {
            name: FILE.into(),
            contents: to_yaml(&config),
        }],
        dirs,
        env,
        args: Vec::new(),
    })
}

/// Renders for `otelcol-contrib` as nixpkgs ships it (every feature, the old exporter names).
pub fn render(cx: &Context<'_>) -> Rendered {
    render_with(cx, Features::default()).expect("the default features include every exporter")
}

/// Whether a rendered collector config reads the spool itself (else otelctl drains it).
pub fn reads_spool(config_yaml: &str) -> bool {
    serde_yaml::from_str::<serde_yaml::Value>(config_yaml)
        .ok()
        .and_then(|doc| doc.get("receivers").cloned())
        .and_then(|r| r.get(SPOOL_RECEIVER).cloned())
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::Fixture;
    use otelctl_config::settings::{StackSettings, Upstream};

    #[test]
    fn binds_only_loopback_and_never_the_default_ports() {
        let f = Fixture::new(StackSettings::default());
        let cx = f.cx();
        let text = &render(&cx).files[0].contents;
        assert!(text.contains("endpoint: 127.0.0.1:20000"), "{text}");
        assert!(text.contains("port: 20004"), "{text}");
        for bad in [
            "8888",
            "13133",
            "0.0.0.0",
            "localhost",
            "health_check",
            "address:",
        ] {
            assert!(!text.contains(bad), "{bad} in {text}");
        }
        assert!(reads_spool(text));
        let without = render_with(
            &cx,
            Features {
                spool_receiver: false,
                tempo_exporter: "otlp_grpc",
                upstream_exporter: None,
                nop_exporter: false,
            },
        )
        .unwrap();
        assert!(without.files[0].contents.contains("otlp_grpc/tempo:"));
        assert!(!reads_spool(&without.files[0].contents));
        assert!(!without.files[0].contents.contains("file_storage"));
    }

    #[test]
    fn upstream_header_values_stay_out_of_the_file() {
        let f = Fixture::new(StackSettings {
            upstream: Some(Upstream::parse("https://up.example", "authorization=s3cret").unwrap()),
            ..Default::default()
        });
        let cx = f.cx();
        let r = render(&cx);
        let text = &r.files[0].contents;
        assert!(!text.contains("s3cret"), "{text}");
        assert!(
            text.contains("authorization: ${env:OTELCTL_UPSTREAM_HEADER_1}"),
            "{text}"
        );
        assert_eq!(r.env.len(), 1);
        assert!(r.env[0].secret && r.env[0].value == "s3cret");
        assert!(!format!("{r:?}").contains("s3cret"));
    }

    #[test]
    fn features_come_from_the_components_listing() {
        let contrib = "buildinfo:\n  command: otelcol-contrib\nreceivers:\n  - name: otlp\n  - name: otlpjsonfile\nextensions:\n  - name: file_storage\n";
        assert!(Features::from_components(contrib).spool_receiver);
        let core = "receivers:\n  - name: otlp\nexporters:\n  - name: otlp_grpc\n  - name: otlp_http\nextensions:\n  - name: zpages\n";
        assert!(!Features::from_components(core).spool_receiver);
        let f = Features::from_components(core);
        assert_eq!(
            (f.tempo_exporter, f.upstream_exporter),
            ("otlp_grpc", Some("otlp_http"))
        );
        let f = Features::from_components(contrib);
        assert_eq!((f.tempo_exporter, f.upstream_exporter), ("otlp", None));
        assert!(!Features::from_components("not yaml: [").spool_receiver);
    }
}
