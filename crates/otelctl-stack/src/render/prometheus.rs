//! Prometheus, the metrics store (+6).
//!
//! Its native OTLP receiver (`--web.enable-otlp-receiver`, `/api/v1/otlp/v1/metrics`) takes the
//! Collector's metrics pipeline; its remote-write receiver (`--web.enable-remote-write-receiver`,
//! `/api/v1/write`) takes what Tempo's metrics-generator computes from spans (span metrics and
//! the service graph, with exemplars: `exemplar-storage`). Delta temporality: Prometheus refuses
//! delta sums and histograms over OTLP (HTTP 500 "invalid temporality and type combination")
//! unless `otlp-deltatocumulative` is on, and SDKs that prefer delta (.NET, Python with
//! `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta`) would lose every sum, so it is on:
//! delta points are accumulated into cumulative series in Prometheus. Out-of-order samples are
//! accepted for 30 minutes (batched and retried exports arrive late). Retention:
//! `OTELCTL_METRICS_RETENTION` (default 72 h, like Tempo). It scrapes the Collector's internal
//! metrics (+4), Tempo (+2), VictoriaLogs (+7) and itself. Everything listens on 127.0.0.1.
//!
//! Prometheus built as a Go module (scripts/e2e-build) has no web UI (its assets are built with
//! npm upstream); the HTTP API, which Grafana and otelctl use, is complete.

use serde::Serialize;

use super::{loopback, path_text, to_yaml, Context, Rendered, RenderedFile};

/// The rendered config, relative to the data directory.
pub const FILE: &str = "config/prometheus.yml";
/// The flags `otelctl run prometheus` starts it with, one a line (informational).
pub const ARGS_FILE: &str = "config/prometheus.args";
/// The Collector's otlphttp exporter appends `/v1/metrics` to this path.
pub const OTLP_PATH: &str = "/api/v1/otlp";
/// Where Tempo's metrics-generator remote-writes.
pub const REMOTE_WRITE_PATH: &str = "/api/v1/write";

#[derive(Debug, Serialize)]
struct Config {
    global: Global,
    otlp: Otlp,
    storage: Storage,
    scrape_configs: Vec<Scrape>,
}

#[derive(Debug, Serialize)]
struct Global {
    scrape_interval: &'static str,
    evaluation_interval: &'static str,
}

#[derive(Debug, Serialize)]
struct Otlp {
    /// Resource attributes kept as labels on every series (others stay on `target_info`):
    /// `service_name` is what the dashboards and Grafana's links filter by.
    promote_resource_attributes: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct Storage {
    tsdb: Tsdb,
}

#[derive(Debug, Serialize)]
struct Tsdb {
    out_of_order_time_window: &'static str,
}

#[derive(Debug, Serialize)]
struct Scrape {
    job_name: &'static str,
    metrics_path: &'static str,
    static_configs: Vec<Targets>,
}

#[derive(Debug, Serialize)]
struct Targets {
    targets: Vec<String>,
}

/// The flags Prometheus runs with.
pub fn args(cx: &Context<'_>) -> Vec<String> {
    vec![
        format!("--config.file={}", path_text(&cx.data.path().join(FILE))),
        format!(
            "--storage.tsdb.path={}",
            path_text(&cx.data.prometheus_data())
        ),
        format!(
            "--storage.tsdb.retention.time={}",
            cx.stack.metrics_retention.as_str()
        ),
        format!(
            "--web.listen-address={}",
            loopback(cx.ports.metrics_store_http)
        ),
        "--web.enable-otlp-receiver".to_string(),
        "--web.enable-remote-write-receiver".to_string(),
        "--enable-feature=otlp-deltatocumulative,exemplar-storage".to_string(),
        "--log.level=warn".to_string(),
    ]
}

/// Renders Prometheus' config and flags.
pub fn render(cx: &Context<'_>) -> Rendered {
    let scrape = |job_name, port: u16| Scrape {
        job_name,
        metrics_path: "/metrics",
        static_configs: vec![Targets {
            targets: vec![loopback(port)],
        }],
    };
    let config = Config {
        global: Global {
            scrape_interval: "15s",
            evaluation_interval: "15s",
        },
        otlp: Otlp {
            promote_resource_attributes: vec![
                "service.name",
                "service.namespace",
                "service.instance.id",
                "deployment.environment.name",
            ],
        },
        storage: Storage {
            tsdb: Tsdb {
                out_of_order_time_window: "30m",
            },
        },
        scrape_configs: vec![
            scrape("otelcol", cx.ports.collector_metrics),
            scrape("tempo", cx.ports.tempo_http),
            scrape("victorialogs", cx.ports.logs_store_http),
            scrape("prometheus", cx.ports.metrics_store_http),
        ],
    };
    let args = args(cx);
    Rendered {
        files: vec![
            RenderedFile {
                name: FILE.into(),
                contents: to_yaml(&config),
            },
            RenderedFile {
                name: ARGS_FILE.into(),
                contents: super::args_text("prometheus", &args),
            },
        ],
        dirs: vec![cx.data.prometheus_data()],
        env: Vec::new(),
        args,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::Fixture;
    use otelctl_config::settings::StackSettings;

    #[test]
    fn listens_on_plus_6_with_otlp_remote_write_and_delta() {
        let f = Fixture::new(StackSettings::default());
        let r = render(&f.cx());
        assert!(r
            .args
            .contains(&"--web.listen-address=127.0.0.1:20006".to_string()));
        assert!(r
            .args
            .contains(&"--storage.tsdb.retention.time=72h".to_string()));
        for flag in [
            "--web.enable-otlp-receiver",
            "--web.enable-remote-write-receiver",
            "--enable-feature=otlp-deltatocumulative,exemplar-storage",
        ] {
            assert!(r.args.iter().any(|a| a == flag), "{flag}");
        }
        assert!(r.args[0].starts_with("--config.file=/p/.devenv/otel/"));
        let text = &r.file(FILE).unwrap().contents;
        assert!(
            text.contains("127.0.0.1:20004") && !text.contains("0.0.0.0"),
            "{text}"
        );
    }
}
