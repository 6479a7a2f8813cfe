//! Every environment variable otelctl reads or sets, by name, with what it means; and the few
//! functions that read them.
//!
//! A name appears as a string literal only here: code says `EnvVars::OTEL_DEBUG`, so a search
//! for a variable finds its one definition, its documentation, and every use. Each crate reads
//! the process environment in one place (configuration: `settings.rs` and `root.rs` through the
//! functions below; the span hot path: `otelctl_span::otelenv`), never scattered through code.
//!
//! Not listed: the `GF_*` variables `render/grafana.rs` sets for Grafana (they are Grafana's
//! configuration, rendered like a config file) and the variables a wrapped command inherits.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::{Error, Result, Source};

/// The names of the environment variables otelctl reads or sets.
pub struct EnvVars;

impl EnvVars {
    // ---- where the project and its stack live (read by `Settings::load`) ----

    /// The project root devenv exports (`config.devenv.root`); `--root` wins over it.
    pub const DEVENV_ROOT: &'static str = "DEVENV_ROOT";
    /// The shell's logical working directory, used to keep a symlinked root's spelling.
    pub const PWD: &'static str = "PWD";
    /// The user's home: the system stack's `$HOME/.otel`.
    pub const HOME: &'static str = "HOME";
    /// `auto` (default), `local` or `system`: which stack the project uses. Also set by
    /// `otelctl env` and by `otelctl up` for the programs it starts.
    pub const OTELCTL_MODE: &'static str = "OTELCTL_MODE";
    /// A fixed base port instead of the hashed one (`--base-port` wins).
    pub const OTELCTL_BASE_PORT: &'static str = "OTELCTL_BASE_PORT";
    /// The range hashed base ports fall in, `START-END` (`--port-range` wins).
    pub const OTELCTL_PORT_RANGE: &'static str = "OTELCTL_PORT_RANGE";
    /// A fixed port for the Collector's OTLP/HTTP receiver (+0).
    pub const OTELCTL_COLLECTOR_PORT: &'static str = "OTELCTL_COLLECTOR_PORT";
    /// A fixed port for Tempo's OTLP/gRPC receiver (+1).
    pub const OTELCTL_TEMPO_OTLP_GRPC_PORT: &'static str = "OTELCTL_TEMPO_OTLP_GRPC_PORT";
    /// A fixed port for Tempo's HTTP API (+2).
    pub const OTELCTL_TEMPO_HTTP_PORT: &'static str = "OTELCTL_TEMPO_HTTP_PORT";
    /// A fixed port for Grafana, or the embedded viewer (+3).
    pub const OTELCTL_GRAFANA_PORT: &'static str = "OTELCTL_GRAFANA_PORT";
    /// A fixed port for the Collector's own metrics (+4).
    pub const OTELCTL_COLLECTOR_METRICS_PORT: &'static str = "OTELCTL_COLLECTOR_METRICS_PORT";
    /// A fixed port for Tempo's internal gRPC server (+5).
    pub const OTELCTL_TEMPO_GRPC_PORT: &'static str = "OTELCTL_TEMPO_GRPC_PORT";
    /// A fixed port for the metrics store, Prometheus (+6).
    pub const OTELCTL_METRICS_STORE_PORT: &'static str = "OTELCTL_METRICS_STORE_PORT";
    /// A fixed port for the logs store, VictoriaLogs (+7).
    pub const OTELCTL_LOGS_STORE_PORT: &'static str = "OTELCTL_LOGS_STORE_PORT";
    /// The data directory, whatever the mode. Also set by `otelctl env`.
    pub const OTELCTL_DATA_DIR: &'static str = "OTELCTL_DATA_DIR";
    /// Where project dashboards are provisioned from (the system stack's Grafana reads it).
    pub const OTELCTL_DASHBOARDS_DIR: &'static str = "OTELCTL_DASHBOARDS_DIR";
    /// More dashboard files or directories, `:`-separated, synced with the project's own.
    pub const OTELCTL_EXTRA_DASHBOARDS: &'static str = "OTELCTL_EXTRA_DASHBOARDS";
    /// Whether devenv's own tracing is pointed at the stack (`otelctl env`) and at `dt`'s relay
    /// (`otelctl relay`): `otlp-grpc` or `off` (default); nothing else, because a default devenv
    /// build exports only OTLP/gRPC and exits 1 when asked for `otlp-http-*`.
    pub const OTELCTL_DEVENV_TRACE: &'static str = "OTELCTL_DEVENV_TRACE";
    /// The file the system stack's ports are read from (default `/etc/otel-stack/ports.json`,
    /// written by the NixOS module `services.otel-stack`; absent = 4318/3200/3700/4317).
    pub const OTELCTL_SYSTEM_PORTS_FILE: &'static str = "OTELCTL_SYSTEM_PORTS_FILE";
    /// Set by `otelctl relay` (what `dt` runs devenv under) for its command: the relay's
    /// `http://127.0.0.1:PORT`. `otelctl env`, which devenv 2.x re-runs in the shell hook before
    /// tasks, then exports it as `OTEL_EXPORTER_OTLP_ENDPOINT` (and as itself), so the tasks'
    /// spans keep going through the relay.
    pub const OTELCTL_RELAY_ENDPOINT: &'static str = "OTELCTL_RELAY_ENDPOINT";
    /// The spool directory, whatever the mode (spans that could not be exported wait there).
    pub const OTEL_SPOOL_DIR: &'static str = "OTEL_SPOOL_DIR";

    // ---- the local stack (read by `StackSettings::from_env`) ----

    /// A switch (see [`parse_switch`]): the Collector also prints every span (debug exporter),
    /// and `otelctl span` reports what it exported on stderr.
    pub const OTEL_DEBUG: &'static str = "OTEL_DEBUG";
    /// `http(s)://…`: the Collector forwards everything there too (OTLP/HTTP).
    pub const OTELCTL_UPSTREAM_ENDPOINT: &'static str = "OTELCTL_UPSTREAM_ENDPOINT";
    /// Headers for the upstream, `k1=v1,k2=v2` (the `OTEL_EXPORTER_OTLP_HEADERS` syntax).
    /// Values are never printed.
    pub const OTELCTL_UPSTREAM_HEADERS: &'static str = "OTELCTL_UPSTREAM_HEADERS";
    /// Prefix of the variables (`OTELCTL_UPSTREAM_HEADER_1`, …) that carry the upstream header
    /// values to the Collector, so they never appear in its rendered config.
    pub const OTELCTL_UPSTREAM_HEADER_PREFIX: &'static str = "OTELCTL_UPSTREAM_HEADER_";
    /// How long Tempo keeps traces, a Go duration in h, m and s (default `72h`).
    pub const OTELCTL_TEMPO_RETENTION: &'static str = "OTELCTL_TEMPO_RETENTION";
    /// `2` or `3` (or a full version): skip asking the Tempo binary its version.
    pub const OTELCTL_TEMPO_VERSION: &'static str = "OTELCTL_TEMPO_VERSION";
    /// Grafana's static files (default: `<grafana>/../share/grafana`).
    pub const OTELCTL_GRAFANA_HOMEPATH: &'static str = "OTELCTL_GRAFANA_HOMEPATH";
    /// The Collector program to run (`--bin` wins; default: `otelcol-contrib` etc. on `PATH`).
    pub const OTELCTL_COLLECTOR_BIN: &'static str = "OTELCTL_COLLECTOR_BIN";
    /// The Tempo program to run.
    pub const OTELCTL_TEMPO_BIN: &'static str = "OTELCTL_TEMPO_BIN";
    /// The Grafana program to run.
    pub const OTELCTL_GRAFANA_BIN: &'static str = "OTELCTL_GRAFANA_BIN";
    /// The Prometheus program to run (the metrics store).
    pub const OTELCTL_PROMETHEUS_BIN: &'static str = "OTELCTL_PROMETHEUS_BIN";
    /// The VictoriaLogs program to run (the logs store).
    pub const OTELCTL_VICTORIALOGS_BIN: &'static str = "OTELCTL_VICTORIALOGS_BIN";
    /// `prometheus` (default) or `off`: the metrics store the stack runs and the Collector,
    /// Tempo's metrics-generator and Grafana use. `up` sets `off` for its services when no
    /// Prometheus program is found.
    pub const OTELCTL_METRICS_STORE: &'static str = "OTELCTL_METRICS_STORE";
    /// `victorialogs` (default) or `off`: the logs store (`up` sets `off` when no program is found).
    pub const OTELCTL_LOGS_STORE: &'static str = "OTELCTL_LOGS_STORE";
    /// How long the metrics store keeps data (default `72h`, like Tempo).
    pub const OTELCTL_METRICS_RETENTION: &'static str = "OTELCTL_METRICS_RETENTION";
    /// How long the logs store keeps data (default `72h`, like Tempo).
    pub const OTELCTL_LOGS_RETENTION: &'static str = "OTELCTL_LOGS_RETENTION";
    /// A directory of Grafana plugins (one directory per plugin) Grafana loads, e.g. the
    /// VictoriaLogs datasource from nixpkgs' `grafanaPlugins`; default `<data>/grafana-data/plugins`.
    pub const OTELCTL_GRAFANA_PLUGINS_DIR: &'static str = "OTELCTL_GRAFANA_PLUGINS_DIR";
    /// A YAML file merged over the rendered Collector config.
    pub const OTELCTL_COLLECTOR_EXTRA_CONFIG: &'static str = "OTELCTL_COLLECTOR_EXTRA_CONFIG";
    /// A YAML file merged over the rendered Tempo config.
    pub const OTELCTL_TEMPO_EXTRA_CONFIG: &'static str = "OTELCTL_TEMPO_EXTRA_CONFIG";
    /// Where programs are searched when no `*_BIN` names them.
    pub const PATH: &'static str = "PATH";

    // ---- the embedded server and dashboards ----

    /// At most this many traces kept by the embedded server (`--max-traces` wins).
    pub const OTELCTL_EMBEDDED_MAX_TRACES: &'static str = "OTELCTL_EMBEDDED_MAX_TRACES";
    /// How long the embedded server keeps what it stores (`--max-age` wins).
    pub const OTELCTL_EMBEDDED_MAX_AGE: &'static str = "OTELCTL_EMBEDDED_MAX_AGE";
    /// At most this many MiB used by the embedded server's store (`--max-mb` wins).
    pub const OTELCTL_EMBEDDED_MAX_MB: &'static str = "OTELCTL_EMBEDDED_MAX_MB";
    /// The Grafana API token of `dash sync --grafana-url` (`--token-file` wins). Never printed.
    pub const OTELCTL_GRAFANA_TOKEN: &'static str = "OTELCTL_GRAFANA_TOKEN";
    /// Test hook of debug builds: the name of a step at which a dashboard sync fails.
    pub const OTELCTL_TEST_FAULT: &'static str = "OTELCTL_TEST_FAULT";

    // ---- spans (read by `otelctl_span::otelenv`; the OpenTelemetry SDK configuration spec) ----

    /// `true` disables every span (the command still runs).
    pub const OTEL_SDK_DISABLED: &'static str = "OTEL_SDK_DISABLED";
    /// The resource's `service.name`.
    pub const OTEL_SERVICE_NAME: &'static str = "OTEL_SERVICE_NAME";
    /// Resource attributes, `k1=v1,k2=v2` with percent-encoded values.
    pub const OTEL_RESOURCE_ATTRIBUTES: &'static str = "OTEL_RESOURCE_ATTRIBUTES";
    /// The sampler: `always_on`, `always_off`, `traceidratio`, `parentbased_*`.
    pub const OTEL_TRACES_SAMPLER: &'static str = "OTEL_TRACES_SAMPLER";
    /// The sampler's argument (a ratio from 0 to 1).
    pub const OTEL_TRACES_SAMPLER_ARG: &'static str = "OTEL_TRACES_SAMPLER_ARG";
    /// The OTLP/HTTP base URL (`/v1/traces` is appended). Also set by `otelctl env`.
    pub const OTEL_EXPORTER_OTLP_ENDPOINT: &'static str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    /// The OTLP/HTTP traces URL, used as is; wins over `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &'static str =
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
    /// The OTLP/HTTP metrics URL, used as is; wins over `OTEL_EXPORTER_OTLP_ENDPOINT` (where
    /// `dt`'s relay forwards the tasks' metrics).
    pub const OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: &'static str =
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
    /// The OTLP/HTTP logs URL, used as is; wins over `OTEL_EXPORTER_OTLP_ENDPOINT` (where
    /// `dt`'s relay forwards the tasks' logs).
    pub const OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: &'static str = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT";
    /// Export headers, `k1=v1,k2=v2` with percent-encoded values. Values are never printed.
    pub const OTEL_EXPORTER_OTLP_HEADERS: &'static str = "OTEL_EXPORTER_OTLP_HEADERS";
    /// Traces-only export headers; a name given in both wins here.
    pub const OTEL_EXPORTER_OTLP_TRACES_HEADERS: &'static str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
    /// `http/protobuf` (default) or `http/json`.
    pub const OTEL_EXPORTER_OTLP_PROTOCOL: &'static str = "OTEL_EXPORTER_OTLP_PROTOCOL";
    /// Traces-only protocol; wins over `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub const OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: &'static str =
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
    /// The export deadline in milliseconds (default 200).
    pub const OTEL_EXPORTER_OTLP_TIMEOUT: &'static str = "OTEL_EXPORTER_OTLP_TIMEOUT";
    /// Traces-only deadline; wins over `OTEL_EXPORTER_OTLP_TIMEOUT`.
    pub const OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: &'static str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
    /// A PEM file of CA certificates trusted for `https://` endpoints.
    pub const OTEL_EXPORTER_OTLP_CERTIFICATE: &'static str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
    /// Traces-only CA file; wins over `OTEL_EXPORTER_OTLP_CERTIFICATE`.
    pub const OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: &'static str =
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE";
    /// W3C trace context of the parent; `otelctl span` sets it for the wrapped command.
    pub const TRACEPARENT: &'static str = "TRACEPARENT";
    /// W3C vendor trace state; passed on (or removed) with `TRACEPARENT`.
    pub const TRACESTATE: &'static str = "TRACESTATE";
    /// The test suite name of `otelctl test-span` (NixOS tests).
    pub const OTEL_TEST_SUITE: &'static str = "OTEL_TEST_SUITE";
    /// The trace id NixOS tests share, 32 hex digits.
    pub const TEST_TRACE_ID: &'static str = "TEST_TRACE_ID";
    /// The spool's size cap in bytes (default 64 MiB).
    pub const OTELCTL_SPOOL_MAX_BYTES: &'static str = "OTELCTL_SPOOL_MAX_BYTES";
    /// Where `span begin` keeps carrier files (default `$XDG_RUNTIME_DIR/otelctl`).
    pub const OTELCTL_CARRIER_DIR: &'static str = "OTELCTL_CARRIER_DIR";
    /// The user's runtime directory, the default home of carrier files.
    pub const XDG_RUNTIME_DIR: &'static str = "XDG_RUNTIME_DIR";
    /// Temporary files, the carrier files' fallback (`$TMPDIR/otelctl-<uid>`).
    pub const TMPDIR: &'static str = "TMPDIR";

    // ---- set for others ----

    /// Set by `otelctl env`: Grafana's (or the embedded viewer's) URL.
    pub const OTEL_GRAFANA_URL: &'static str = "OTEL_GRAFANA_URL";
    /// Set by `otelctl env`: Tempo's HTTP API URL.
    pub const OTEL_TEMPO_URL: &'static str = "OTEL_TEMPO_URL";
    /// Set by `otelctl env` when `OTELCTL_DEVENV_TRACE` asks: where devenv (>= 2.1) sends its
    /// own spans.
    pub const DEVENV_TRACE_DEFAULT_TO: &'static str = "DEVENV_TRACE_DEFAULT_TO";
    /// The user's own destinations for devenv's spans (wins over the default above): read by
    /// `otelctl doctor`; read and set by `otelctl relay` for devenv, which appends
    /// `otlp-grpc:<the relay>` (devenv then ignores `DEVENV_TRACE_DEFAULT_TO`).
    pub const DEVENV_TRACE_TO: &'static str = "DEVENV_TRACE_TO";
}

/// A non-empty variable, as the OS gave it (empty counts as unset).
pub fn os(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// A non-empty variable as a path.
pub fn path(name: &str) -> Option<PathBuf> {
    os(name).map(PathBuf::from)
}

/// A non-empty variable as UTF-8 text; non-UTF-8 is an error naming the variable.
pub fn text(name: &'static str) -> Result<Option<String>> {
    match os(name) {
        None => Ok(None),
        Some(v) => v.into_string().map(Some).map_err(|v| Error::InvalidValue {
            what: "value",
            value: v.to_string_lossy().into_owned(),
            origin: Source::Env(name),
            expected: "UTF-8 text".to_string(),
        }),
    }
}

/// The values a switch such as `OTEL_DEBUG` accepts: `1`, `true`, `yes`, `on` and `0`,
/// `false`, `no`, `off` (any case; blank is off). `None` for anything else.
pub fn parse_switch(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "" | "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// What [`parse_switch`] accepts, for error messages.
pub const SWITCH_VALUES: &str = "1 or 0 (also true/false, yes/no, on/off)";

/// A switch variable, validated: an error names the variable and the accepted values.
pub fn switch(name: &'static str) -> Result<bool> {
    match text(name)? {
        None => Ok(false),
        Some(v) => parse_switch(&v).ok_or_else(|| Error::InvalidValue {
            what: "switch",
            value: v,
            origin: Source::Env(name),
            expected: SWITCH_VALUES.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_accept_the_documented_words_only() {
        for on in ["1", "true", "TRUE", " yes", "On"] {
            assert_eq!(parse_switch(on), Some(true), "{on}");
        }
        for off in ["", "0", "false", "No", "off "] {
            assert_eq!(parse_switch(off), Some(false), "{off}");
        }
        for bad in ["2", "enabled", "y"] {
            assert_eq!(parse_switch(bad), None, "{bad}");
        }
    }
}
