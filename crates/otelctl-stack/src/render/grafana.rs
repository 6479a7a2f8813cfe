//! Grafana: environment (`GF_*`) plus a provisioning directory.
//!
//! Grafana runs from its (read-only) package with `--homepath`, so every `GF_PATHS_*` points
//! into the data directory. It listens on 127.0.0.1 only, which is what makes anonymous
//! (admin) access acceptable; analytics, update checks, news and plugin pre-installation
//! (which would reach the network) are off. Provisioning: the Tempo datasource with the stable
//! uid `tempo` (recreated on every start), and one dashboard provider over the dashboards
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
    json_data: TempoJsonData,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TempoJsonData {
    node_graph: Enabled,
    search: SearchOptions,
    streaming_enabled: Streaming,
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
        var("GF_PATHS_PLUGINS", path_text(&data.join("plugins"))),
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
    ]
}

/// Renders Grafana's environment and provisioning.
pub fn render(cx: &Context<'_>) -> Rendered {
    let datasources = Datasources {
        api_version: 1,
        prune: true,
        delete_datasources: vec![DeleteDatasource {
            name: "Tempo",
            org_id: 1,
        }],
        datasources: vec![Datasource {
            name: "Tempo",
            kind: "tempo",
            uid: TEMPO_UID,
            org_id: 1,
            access: "proxy",
            url: format!("http://127.0.0.1:{}", cx.ports.tempo_http),
            is_default: true,
            editable: false,
            json_data: TempoJsonData {
                node_graph: Enabled { enabled: true },
                search: SearchOptions { hide: false },
                streaming_enabled: Streaming {
                    search: true,
                    metrics: true,
                },
            },
        }],
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
