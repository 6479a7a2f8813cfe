//! Grafana: environment (`GF_*`) plus a provisioning directory.
//!
//! Grafana runs from its (read-only) package with `--homepath`, so every `GF_PATHS_*` points
//! into the data directory. It listens on 127.0.0.1 only, which is what makes anonymous
//! (admin) access acceptable; analytics, update checks, news and plugin pre-installation
//! (which would reach the network) are off. Provisioning: the Tempo datasource with the stable
//! uid `tempo` (recreated on every start), Prometheus (`prometheus`) and VictoriaLogs
//! (`victorialogs`, the `victoriametrics-logs-datasource` plugin: nixpkgs'
//! `grafanaPlugins.victoriametrics-logs-datasource`, found through `OTELCTL_GRAFANA_PLUGINS_DIR`)
//! when those stores are on, linked both ways: a span's logs (`tracesToLogsV2`, the query
//! `trace_id:="<trace id>"`), a span's metrics (`tracesToMetrics`: its service's request rate,
//! errors and p95 from Tempo's span metrics), the service graph (`serviceMap`), exemplars from
//! Prometheus to their trace, and a log's `trace_id` field to its trace (`derivedFields`).
//! Grafana expands `$NAME` in provisioning files, so Grafana's own variables are written `$$`.
//! And one dashboard provider over the dashboards
//! directory (`<data>/dashboards/` or `$OTELCTL_DASHBOARDS_DIR`) with
//! `foldersFromFilesStructure`, so `builtin/` and each `<project>/` become one Grafana folder
//! each; the JSON is written there by `otelctl run grafana` (built-ins) and `otelctl dash sync`.

use serde::Serialize;

use super::{path_text, to_yaml, Context, EnvVar, Rendered, RenderedFile};

/// The rendered environment, one `NAME=value` a line (informational; `run` sets it itself).
pub const ENV_FILE: &str = "config/grafana.env";
pub const DATASOURCES_FILE: &str = "grafana-provisioning/datasources/otelctl.yaml";
pub const DASHBOARDS_FILE: &str = "grafana-provisioning/dashboards/otelctl.yaml";

/// The datasource uid dashboards refer to.
pub const TEMPO_UID: &str = "tempo";
pub const PROMETHEUS_UID: &str = "prometheus";
pub const VICTORIALOGS_UID: &str = "victorialogs";
/// The Grafana plugin id (and datasource type) of VictoriaLogs.
pub const VICTORIALOGS_PLUGIN: &str = "victoriametrics-logs-datasource";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Datasources {
    api_version: u32,
    prune: bool,
    delete_datasources: Vec<DeleteDatasource>,
    datasources: Vec<Datasource>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DeleteDatasource {
    name: &'static str,
    org_id: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Datasource {
    name: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    uid: &'static str,
    org_id: u32,
    access: &'static str,
    url: String,
    is_default: bool,
    editable: bool,
    json_data: JsonData,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum JsonData {
    Tempo(Box<TempoJsonData>),
    Prometheus(PrometheusJsonData),
    VictoriaLogs(VictoriaLogsJsonData),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TempoJsonData {
    node_graph: Enabled,
    search: SearchOptions,
    streaming_enabled: Streaming,
    #[serde(skip_serializing_if = "Option::is_none")]
    traces_to_logs_v2: Option<TracesToLogs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    traces_to_metrics: Option<TracesToMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_map: Option<Uid>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TracesToLogs {
    datasource_uid: &'static str,
    span_start_time_shift: &'static str,
    span_end_time_shift: &'static str,
    #[serde(rename = "filterByTraceID")]
    filter_by_trace_id: bool,
    #[serde(rename = "filterBySpanID")]
    filter_by_span_id: bool,
    custom_query: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TracesToMetrics {
    datasource_uid: &'static str,
    span_start_time_shift: &'static str,
    span_end_time_shift: &'static str,
    tags: Vec<KeyValue>,
    queries: Vec<NamedQuery>,
}

#[derive(Debug, Serialize)]
struct KeyValue {
    key: &'static str,
    value: &'static str,
}

#[derive(Debug, Serialize)]
struct NamedQuery {
    name: &'static str,
    query: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Uid {
    datasource_uid: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PrometheusJsonData {
    http_method: &'static str,
    exemplar_trace_id_destinations: Vec<ExemplarDestination>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ExemplarDestination {
    name: &'static str,
    datasource_uid: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VictoriaLogsJsonData {
    derived_fields: Vec<DerivedField>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DerivedField {
    name: &'static str,
    matcher_type: &'static str,
    matcher_regex: &'static str,
    datasource_uid: &'static str,
    url: &'static str,
    url_display_label: &'static str,
}

/// The span-metrics queries a span links to (Tempo's metrics-generator names; `$$__tags` is
/// the span's service as `service="…"`).
fn span_queries() -> Vec<NamedQuery> {
    vec![
    NamedQuery {
        name: "Request rate",
        query: "sum(rate(traces_spanmetrics_calls_total{$$__tags}[5m]))",
    },
    NamedQuery {
        name: "Error rate",
        query: "sum(rate(traces_spanmetrics_calls_total{$$__tags, status_code=\"STATUS_CODE_ERROR\"}[5m]))",
    },
    NamedQuery {
        name: "p95 duration",
        query: "histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_latency_bucket{$$__tags}[5m])))",
    },
    ]
}

#[derive(Debug, Serialize)]
struct Enabled {
    enabled: bool,
}

#[derive(Debug, Serialize)]
struct SearchOptions {
    hide: bool,
}

#[derive(Debug, Serialize)]
struct Streaming {
    search: bool,
    metrics: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Providers {
    api_version: u32,
    providers: Vec<Provider>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Provider {
    name: &'static str,
    org_id: u32,
    /// Empty: `foldersFromFilesStructure` names the folders.
    folder: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    disable_deletion: bool,
    update_interval_seconds: u32,
    allow_ui_updates: bool,
    options: ProviderOptions,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderOptions {
    path: String,
    folders_from_files_structure: bool,
}

/// The environment Grafana runs with.
pub fn env(cx: &Context<'_>) -> Vec<EnvVar> {
    let data = cx.data.grafana_data();
    let var = |name: &str, value: String| EnvVar {
        name: name.to_string(),
        value,
        secret: false,
    };
    let port = cx.ports.grafana_http;
    vec![
        var("GF_PATHS_DATA", path_text(&data)),
        var("GF_PATHS_LOGS", path_text(&data.join("log"))),
        var(
            "GF_PATHS_PLUGINS",
            path_text(
                &cx.stack
                    .grafana_plugins
                    .clone()
                    .unwrap_or_else(|| data.join("plugins")),
            ),
        ),
        var(
            "GF_PATHS_PROVISIONING",
            path_text(&cx.data.grafana_provisioning()),
        ),
        var("GF_SERVER_HTTP_ADDR", "127.0.0.1".into()),
        var("GF_SERVER_HTTP_PORT", port.to_string()),
        var("GF_SERVER_ROOT_URL", format!("http://127.0.0.1:{port}/")),
        var("GF_AUTH_ANONYMOUS_ENABLED", "true".into()),
        var("GF_AUTH_ANONYMOUS_ORG_ROLE", "Admin".into()),
        var("GF_AUTH_DISABLE_LOGIN_FORM", "true".into()),
        var("GF_ANALYTICS_REPORTING_ENABLED", "false".into()),
        var("GF_ANALYTICS_CHECK_FOR_UPDATES", "false".into()),
        var("GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES", "false".into()),
        var("GF_ANALYTICS_FEEDBACK_LINKS_ENABLED", "false".into()),
        var("GF_NEWS_NEWS_FEED_ENABLED", "false".into()),
        var("GF_PLUGINS_PREINSTALL_DISABLED", "true".into()),
        var("GF_LOG_MODE", "console".into()),
        var("GF_LOG_LEVEL", "warn".into()),
        // nixpkgs packages the VictoriaLogs datasource from its release zip; allow it whether or
        // not Grafana can check its signature.
        var(
            "GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS",
            VICTORIALOGS_PLUGIN.into(),
        ),
    ]
}

/// Renders Grafana's environment and provisioning.
pub fn render(cx: &Context<'_>) -> Rendered {
    let metrics = cx.stack.metrics_store.is_on();
    let logs = cx.stack.logs_store.is_on();
    let mut datasources = vec![Datasource {
        name: "Tempo",
        kind: "tempo",
        uid: TEMPO_UID,
        org_id: 1,
        access: "proxy",
        url: format!("http://127.0.0.1:{}", cx.ports.tempo_http),
        is_default: true,
        editable: false,
        json_data: JsonData::Tempo(Box::new(TempoJsonData {
            node_graph: Enabled { enabled: true },
            search: SearchOptions { hide: false },
            streaming_enabled: Streaming {
                search: true,
                metrics: true,
            },
            traces_to_logs_v2: logs.then_some(TracesToLogs {
                datasource_uid: VICTORIALOGS_UID,
                span_start_time_shift: "-5m",
                span_end_time_shift: "5m",
                filter_by_trace_id: true,
                filter_by_span_id: false,
                custom_query: false,
            }),
            traces_to_metrics: metrics.then(|| TracesToMetrics {
                datasource_uid: PROMETHEUS_UID,
                span_start_time_shift: "-5m",
                span_end_time_shift: "5m",
                tags: vec![KeyValue {
                    key: "service.name",
                    value: "service",
                }],
                queries: span_queries(),
            }),
            service_map: metrics.then_some(Uid {
                datasource_uid: PROMETHEUS_UID,
            }),
        })),
    }];
    if metrics {
        datasources.push(Datasource {
            name: "Prometheus",
            kind: "prometheus",
            uid: PROMETHEUS_UID,
            org_id: 1,
            access: "proxy",
            url: format!("http://127.0.0.1:{}", cx.ports.metrics_store_http),
            is_default: false,
            editable: false,
            json_data: JsonData::Prometheus(PrometheusJsonData {
                http_method: "POST",
                // Tempo's span metrics label exemplars `traceID`; SDK exemplars `trace_id`.
                exemplar_trace_id_destinations: vec![
                    ExemplarDestination {
                        name: "traceID",
                        datasource_uid: TEMPO_UID,
                    },
                    ExemplarDestination {
                        name: "trace_id",
                        datasource_uid: TEMPO_UID,
                    },
                ],
            }),
        });
    }
    if logs {
        datasources.push(Datasource {
            name: "VictoriaLogs",
            kind: VICTORIALOGS_PLUGIN,
            uid: VICTORIALOGS_UID,
            org_id: 1,
            access: "proxy",
            url: format!("http://127.0.0.1:{}", cx.ports.logs_store_http),
            is_default: false,
            editable: false,
            json_data: JsonData::VictoriaLogs(VictoriaLogsJsonData {
                derived_fields: vec![DerivedField {
                    name: "trace_id",
                    matcher_type: "label",
                    matcher_regex: "trace_id",
                    datasource_uid: TEMPO_UID,
                    url: "$${__value.raw}",
                    url_display_label: "View trace",
                }],
            }),
        });
    }
    let datasources = Datasources {
        api_version: 1,
        prune: true,
        delete_datasources: datasources
            .iter()
            .map(|d| DeleteDatasource {
                name: d.name,
                org_id: 1,
            })
            .collect(),
        datasources,
    };
    let providers = Providers {
        api_version: 1,
        providers: vec![Provider {
            name: "otelctl",
            org_id: 1,
            folder: "",
            kind: "file",
            disable_deletion: false,
            update_interval_seconds: 10,
            allow_ui_updates: false,
            options: ProviderOptions {
                path: path_text(cx.dashboards),
                folders_from_files_structure: true,
            },
        }],
    };
    let env = env(cx);
    let env_text: String = env
        .iter()
        .map(|v| format!("{}={}\n", v.name, v.value))
        .collect();
    let data = cx.data.grafana_data();
    let prov = cx.data.grafana_provisioning();
    let mut dirs = vec![data.join("log"), data.join("plugins"), data];
    for sub in ["datasources", "dashboards", "plugins", "alerting"] {
        dirs.push(prov.join(sub));
    }
    dirs.push(cx.dashboards.to_path_buf());
    Rendered {
        files: vec![
            RenderedFile {
                name: ENV_FILE.into(),
                contents: format!(
                    "# Rendered by otelctl: the environment `otelctl run grafana` starts Grafana with.\n{env_text}"
                ),
            },
            RenderedFile {
                name: DATASOURCES_FILE.into(),
                contents: to_yaml(&datasources),
            },
            RenderedFile {
                name: DASHBOARDS_FILE.into(),
                contents: to_yaml(&providers),
            },
        ],
        dirs,
        env,
        args: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::Fixture;
    use otelctl_config::settings::StackSettings;

    #[test]
    fn every_path_is_in_the_data_dir_and_grafana_is_loopback_only() {
        let f = Fixture::new(StackSettings::default());
        let cx = f.cx();
        let r = render(&cx);
        for v in r.env.iter().filter(|v| v.name.starts_with("GF_PATHS_")) {
            assert!(v.value.starts_with("/p/.devenv/otel/"), "{v:?}");
        }
        let get = |n: &str| r.env.iter().find(|v| v.name == n).unwrap().value.clone();
        assert_eq!(get("GF_SERVER_HTTP_ADDR"), "127.0.0.1");
        assert_eq!(get("GF_SERVER_HTTP_PORT"), "20003");
        let ds = &r.file(DATASOURCES_FILE).unwrap().contents;
        assert!(
            ds.contains("uid: tempo") && ds.contains("url: http://127.0.0.1:20002"),
            "{ds}"
        );
    }
}
