//! VictoriaLogs, the logs store (+7).
//!
//! Settings are flags (no config file): the HTTP API, its OTLP receiver
//! (`/insert/opentelemetry/v1/logs`, protobuf) and LogsQL queries (`/select/logsql/query`) on
//! 127.0.0.1:+7, storage in `victorialogs-data/`, retention `OTELCTL_LOGS_RETENTION` (default
//! 72 h, like Tempo). A log record keeps its `trace_id` and `span_id` as fields, which is what
//! Grafana's trace-to-logs link queries (`trace_id:="…"`).
//!
//! Stream fields: by default every resource attribute is part of a log stream's key, the random
//! `service.instance.id` too, so each process start would be a new stream. The Collector's
//! exporter sends `VL-Stream-Fields` ([`STREAM_FIELDS`]) with every export instead.

use super::{loopback, path_text, Context, Rendered, RenderedFile};

/// The flags `otelctl run victorialogs` starts it with, one a line (informational).
pub const ARGS_FILE: &str = "config/victorialogs.args";
/// The OTLP logs path (the Collector's `logs_endpoint`).
pub const OTLP_LOGS_PATH: &str = "/insert/opentelemetry/v1/logs";
/// The header naming the fields that make a log stream, and its value.
pub const STREAM_FIELDS_HEADER: &str = "VL-Stream-Fields";
pub const STREAM_FIELDS: &str = "service.namespace,service.name,deployment.environment.name";

/// The flags VictoriaLogs runs with.
pub fn args(cx: &Context<'_>) -> Vec<String> {
    vec![
        format!("-httpListenAddr={}", loopback(cx.ports.logs_store_http)),
        format!(
            "-storageDataPath={}",
            path_text(&cx.data.victorialogs_data())
        ),
        format!("-retentionPeriod={}", cx.stack.logs_retention.as_str()),
        "-loggerLevel=WARN".to_string(),
    ]
}

/// Renders VictoriaLogs' flags.
pub fn render(cx: &Context<'_>) -> Rendered {
    let args = args(cx);
    Rendered {
        files: vec![RenderedFile {
            name: ARGS_FILE.into(),
            contents: super::args_text("victorialogs", &args),
        }],
        dirs: vec![cx.data.victorialogs_data()],
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
    fn listens_on_plus_7_and_keeps_its_data_in_the_data_dir() {
        let f = Fixture::new(StackSettings::default());
        let r = render(&f.cx());
        assert_eq!(r.args[0], "-httpListenAddr=127.0.0.1:20007");
        assert_eq!(
            r.args[1],
            "-storageDataPath=/p/.devenv/otel/victorialogs-data"
        );
        assert_eq!(r.args[2], "-retentionPeriod=72h");
    }
}
