//! Turns raw flags and environment variables into validated settings, in one place.
//!
//! Every `OTELCTL_*` variable that shapes where the stack lives is read here, so commands
//! receive typed values and an error always names the flag or variable that was wrong.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use crate::detect::{self, Detection, Endpoints, Mode, ModeSetting};
use crate::env::{self, EnvVars};
use crate::error::{Error, Result, Source};
use crate::formats;
use crate::paths::DataDir;
use crate::ports::{self, PortOverrides, PortRange, Ports};
use crate::root::{self, ProjectRoot, RootInputs};
use crate::system::SystemPorts;

/// Flags shared by every command, as given on the command line.
#[derive(Debug, Default, Clone)]
pub struct RawGlobals {
    pub root: Option<OsString>,
    pub base_port: Option<String>,
    pub port_range: Option<String>,
}

/// Validated settings for one invocation.
#[derive(Debug, Clone)]
pub struct Settings {
    pub root: ProjectRoot,
    pub fixed_base: Option<u16>,
    pub range: PortRange,
    pub mode_setting: ModeSetting,
    pub home: Option<PathBuf>,
    /// `$OTEL_SPOOL_DIR`, when set.
    pub spool_override: Option<PathBuf>,
    /// `$OTELCTL_DATA_DIR`, when set: the data directory, whatever the mode.
    pub data_dir_override: Option<PathBuf>,
    /// `$OTELCTL_DASHBOARDS_DIR`, when set: where project dashboards are provisioned from.
    pub dashboards_override: Option<PathBuf>,
    /// `$OTELCTL_COLLECTOR_PORT` and the other per-service ports.
    pub port_overrides: PortOverrides,
    /// `$OTELCTL_EXTRA_DASHBOARDS`: more dashboard files or directories (':'-separated), synced
    /// with the project's own.
    pub extra_dashboards: Vec<PathBuf>,
    /// `$OTELCTL_DEVENV_TRACE`: where `otelctl env` points devenv's own tracing.
    pub devenv_trace: DevenvTrace,
    /// The system stack's ports, read the first time something needs them: see
    /// [`Settings::system_ports`].
    system_ports: OnceLock<SystemPorts>,
    /// `$OTELCTL_RELAY_ENDPOINT`: set by `dt`'s relay for the command it runs; `otelctl env`
    /// then exports it as `OTEL_EXPORTER_OTLP_ENDPOINT`, so spans keep going through the relay.
    pub relay_endpoint: Option<String>,
}

/// devenv's native tracing (devenv >= 2.1), as `otelctl env` and `dt`'s relay configure it.
///
/// Only what a default devenv build can export: its release builds (and nixpkgs') have only the
/// `otlp-grpc` cargo feature, and asking them for `otlp-http-*` makes every devenv command exit 1
/// (cachix/devenv `devenv/src/tracing/otel.rs`, `create_exporter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DevenvTrace {
    #[default]
    Off,
    OtlpGrpc,
}

impl DevenvTrace {
    pub fn parse(text: &str, source: Source) -> Result<Self> {
        match text.trim() {
            "" | "off" => Ok(DevenvTrace::Off),
            "otlp-grpc" => Ok(DevenvTrace::OtlpGrpc),
            other => Err(Error::InvalidValue {
                what: "devenv trace format",
                value: text.to_string(),
                origin: source,
                expected: if other.starts_with("otlp-http") {
                    "otlp-grpc or off (a default devenv build exports only OTLP/gRPC and exits 1 \
                     when asked for otlp-http-*)"
                        .to_string()
                } else {
                    "otlp-grpc or off".to_string()
                },
            }),
        }
    }
}

impl Settings {
    /// Reads the environment and validates everything (root, base port, range, mode).
    pub fn load(raw: RawGlobals) -> Result<Self> {
        let fixed_base = match (&raw.base_port, env::text(EnvVars::OTELCTL_BASE_PORT)?) {
            (Some(flag), _) => Some(ports::parse_base_port(flag, Source::Flag("--base-port"))?),
            (None, Some(env)) => Some(ports::parse_base_port(
                &env,
                Source::Env(EnvVars::OTELCTL_BASE_PORT),
            )?),
            (None, None) => None,
        };
        let range = match (&raw.port_range, env::text(EnvVars::OTELCTL_PORT_RANGE)?) {
            (Some(flag), _) => PortRange::parse(flag, Source::Flag("--port-range"))?,
            (None, Some(env)) => PortRange::parse(&env, Source::Env(EnvVars::OTELCTL_PORT_RANGE))?,
            (None, None) => PortRange::default(),
        };
        let mode_setting = match env::text(EnvVars::OTELCTL_MODE)? {
            Some(m) => ModeSetting::parse(&m, Source::Env(EnvVars::OTELCTL_MODE))?,
            None => ModeSetting::Auto,
        };
        let port_overrides = PortOverrides::read(env::text)?;
        let devenv_trace = match env::text(EnvVars::OTELCTL_DEVENV_TRACE)? {
            Some(t) => DevenvTrace::parse(&t, Source::Env(EnvVars::OTELCTL_DEVENV_TRACE))?,
            None => DevenvTrace::Off,
        };
        let relay_endpoint =
            match env::text(EnvVars::OTELCTL_RELAY_ENDPOINT)? {
                Some(url) if !url.starts_with("http://") => return Err(Error::InvalidValue {
                    what: "relay endpoint",
                    value: url,
                    origin: Source::Env(EnvVars::OTELCTL_RELAY_ENDPOINT),
                    expected:
                        "http://127.0.0.1:PORT (set by dt's `otelctl relay`; unset it otherwise)"
                            .to_string(),
                }),
                other => other,
            };
        let root = root::resolve(&RootInputs::from_env(raw.root))?;
        Ok(Settings {
            root,
            fixed_base,
            range,
            mode_setting,
            home: env::path(EnvVars::HOME),
            spool_override: env::path(EnvVars::OTEL_SPOOL_DIR),
            data_dir_override: env::path(EnvVars::OTELCTL_DATA_DIR),
            dashboards_override: env::path(EnvVars::OTELCTL_DASHBOARDS_DIR),
            port_overrides,
            devenv_trace,
            system_ports: OnceLock::new(),
            relay_endpoint,
            extra_dashboards: env::os(EnvVars::OTELCTL_EXTRA_DASHBOARDS)
                .map(|v| {
                    std::env::split_paths(&v)
                        .filter(|p| !p.as_os_str().is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// This project's ports (hashed or fixed, then per-service overrides).
    pub fn ports(&self) -> Ports {
        Ports::for_root(&self.root, self.fixed_base, self.range)
            .with_overrides(&self.port_overrides)
    }

    /// The system stack's ports (`/etc/otel-stack/ports.json`, `$OTELCTL_SYSTEM_PORTS_FILE`,
    /// else the defaults), read on first use: only system mode and auto detection's probe need
    /// them, so a broken file fails those commands with an error naming it and never a command
    /// in local mode.
    pub fn system_ports(&self) -> Result<SystemPorts> {
        if let Some(p) = self.system_ports.get() {
            return Ok(*p);
        }
        let p = SystemPorts::load()?;
        Ok(*self.system_ports.get_or_init(|| p))
    }

    /// The mode in effect, probing the system stack when the setting is `auto`. An explicit
    /// mode, or an existing system spool, needs no ports file; the probe needs the system
    /// collector's port.
    pub fn detect(&self) -> Result<Detection> {
        detect::detect(self.mode_setting, self.home.as_deref(), || {
            self.system_ports().map(|p| p.collector)
        })
    }

    /// The stack endpoints for a mode (system mode reads the system stack's ports).
    pub fn endpoints(&self, mode: Mode) -> Result<Endpoints> {
        Ok(match mode {
            Mode::System => Endpoints::system(&self.system_ports()?),
            Mode::Local => Endpoints::local(&self.ports()),
        })
    }

    /// The data directory for a mode (`$OTELCTL_DATA_DIR` wins).
    pub fn data_dir(&self, mode: Mode) -> DataDir {
        match &self.data_dir_override {
            Some(dir) => DataDir::at(dir),
            None => DataDir::for_mode(mode, self.root.path(), self.home.as_deref()),
        }
    }

    /// Where dashboard JSON is provisioned from (`$OTELCTL_DASHBOARDS_DIR` wins, as in the
    /// system stack, whose Grafana reads `~<user>/.otel/dashboards`).
    pub fn dashboards_dir(&self, mode: Mode) -> PathBuf {
        match &self.dashboards_override {
            Some(dir) => dir.clone(),
            None => self.data_dir(mode).dashboards(),
        }
    }

    /// The spool directory for a mode (`$OTEL_SPOOL_DIR` wins).
    pub fn spool_dir(&self, mode: Mode) -> PathBuf {
        crate::paths::spool_dir(self.spool_override.as_deref(), &self.data_dir(mode))
    }

    /// The settings of the local stack (`render`, `run`, `up`): read only by the commands that
    /// need them, so a bad `OTELCTL_TEMPO_RETENTION` never breaks `otelctl env`.
    pub fn stack(&self) -> Result<StackSettings> {
        StackSettings::from_env()
    }
}

/// How the local stack is configured, from the environment.
///
/// | variable | meaning |
/// |---|---|
/// | `OTEL_DEBUG` | a switch (`env::parse_switch`): the collector also prints every span (debug exporter) |
/// | `OTELCTL_UPSTREAM_ENDPOINT` | `http(s)://…`: the collector forwards everything there too (OTLP/HTTP) |
/// | `OTELCTL_UPSTREAM_HEADERS` | `k1=v1,k2=v2` sent with every upstream export (values never printed) |
/// | `OTELCTL_TEMPO_RETENTION` | how long Tempo keeps traces, at least `1m`: `72h` (default), `7d`, `1h30m` |
/// | `OTELCTL_TEMPO_VERSION` | `2` or `3` (or a full version): skip detecting the Tempo binary's version |
/// | `OTELCTL_GRAFANA_HOMEPATH` | Grafana's static files (default: `<grafana>/../share/grafana`) |
/// | `OTELCTL_COLLECTOR_BIN`, `OTELCTL_TEMPO_BIN`, `OTELCTL_GRAFANA_BIN`, `OTELCTL_PROMETHEUS_BIN`, `OTELCTL_VICTORIALOGS_BIN` | the programs to run |
/// | `OTELCTL_METRICS_STORE` | `prometheus` (default) or `off` |
/// | `OTELCTL_LOGS_STORE` | `victorialogs` (default) or `off` |
/// | `OTELCTL_METRICS_RETENTION`, `OTELCTL_LOGS_RETENTION` | how long the stores keep data, at least `1m` (default `72h`) |
/// | `OTELCTL_GRAFANA_PLUGINS_DIR` | Grafana's plugins (the VictoriaLogs datasource) |
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackSettings {
    pub debug: bool,
    pub upstream: Option<Upstream>,
    pub tempo_retention: Retention,
    pub tempo_version: Option<TempoMajor>,
    pub grafana_homepath: Option<PathBuf>,
    pub collector_bin: Option<PathBuf>,
    pub tempo_bin: Option<PathBuf>,
    pub grafana_bin: Option<PathBuf>,
    /// `$OTELCTL_COLLECTOR_EXTRA_CONFIG`: YAML merged over the rendered collector config.
    pub collector_extra_config: Option<PathBuf>,
    /// `$OTELCTL_TEMPO_EXTRA_CONFIG`: YAML merged over the rendered Tempo config.
    pub tempo_extra_config: Option<PathBuf>,
    pub prometheus_bin: Option<PathBuf>,
    pub victorialogs_bin: Option<PathBuf>,
    pub metrics_store: MetricsStore,
    pub logs_store: LogsStore,
    pub metrics_retention: Retention,
    pub logs_retention: Retention,
    pub grafana_plugins: Option<PathBuf>,
}

/// The metrics store of the stack (`OTELCTL_METRICS_STORE`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MetricsStore {
    /// Prometheus with its native OTLP receiver, on +6.
    #[default]
    Prometheus,
    Off,
}

/// The logs store of the stack (`OTELCTL_LOGS_STORE`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogsStore {
    /// VictoriaLogs with its OTLP receiver, on +7 (the tested default).
    #[default]
    VictoriaLogs,
    Off,
}

impl MetricsStore {
    pub fn parse(text: &str, origin: Source) -> Result<Self> {
        match text.trim() {
            "prometheus" => Ok(MetricsStore::Prometheus),
            "off" => Ok(MetricsStore::Off),
            _ => Err(Error::InvalidValue {
                what: "metrics store",
                value: text.to_string(),
                origin,
                expected: "prometheus or off".to_string(),
            }),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            MetricsStore::Prometheus => "prometheus",
            MetricsStore::Off => "off",
        }
    }
    pub fn is_on(self) -> bool {
        self != MetricsStore::Off
    }
}

impl LogsStore {
    pub fn parse(text: &str, origin: Source) -> Result<Self> {
        match text.trim() {
            "victorialogs" => Ok(LogsStore::VictoriaLogs),
            "off" => Ok(LogsStore::Off),
            _ => Err(Error::InvalidValue {
                what: "logs store",
                value: text.to_string(),
                origin,
                expected: "victorialogs or off".to_string(),
            }),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            LogsStore::VictoriaLogs => "victorialogs",
            LogsStore::Off => "off",
        }
    }
    pub fn is_on(self) -> bool {
        self != LogsStore::Off
    }
}

impl StackSettings {
    /// Reads and validates the stack's variables.
    pub fn from_env() -> Result<Self> {
        let path =
            |k: &'static str| -> Result<Option<PathBuf>> { Ok(env::text(k)?.map(PathBuf::from)) };
        let debug = env::switch(EnvVars::OTEL_DEBUG)?;
        let upstream = match env::text(EnvVars::OTELCTL_UPSTREAM_ENDPOINT)? {
            None => None,
            Some(endpoint) => Some(Upstream::parse(
                &endpoint,
                env::text(EnvVars::OTELCTL_UPSTREAM_HEADERS)?
                    .as_deref()
                    .unwrap_or(""),
            )?),
        };
        let tempo_retention = match env::text(EnvVars::OTELCTL_TEMPO_RETENTION)? {
            None => Retention::default(),
            Some(v) => Retention::parse(&v, Source::Env(EnvVars::OTELCTL_TEMPO_RETENTION))?,
        };
        let retention = |var: &'static str| -> Result<Retention> {
            match env::text(var)? {
                None => Ok(Retention::default()),
                Some(v) => Retention::parse(&v, Source::Env(var)),
            }
        };
        let metrics_store = match env::text(EnvVars::OTELCTL_METRICS_STORE)? {
            None => MetricsStore::default(),
            Some(v) => MetricsStore::parse(&v, Source::Env(EnvVars::OTELCTL_METRICS_STORE))?,
        };
        let logs_store = match env::text(EnvVars::OTELCTL_LOGS_STORE)? {
            None => LogsStore::default(),
            Some(v) => LogsStore::parse(&v, Source::Env(EnvVars::OTELCTL_LOGS_STORE))?,
        };
        let tempo_version = match env::text(EnvVars::OTELCTL_TEMPO_VERSION)? {
            None => None,
            Some(v) => Some(TempoMajor::parse(
                &v,
                Source::Env(EnvVars::OTELCTL_TEMPO_VERSION),
            )?),
        };
        Ok(StackSettings {
            debug,
            upstream,
            tempo_retention,
            tempo_version,
            grafana_homepath: path(EnvVars::OTELCTL_GRAFANA_HOMEPATH)?,
            collector_bin: path(EnvVars::OTELCTL_COLLECTOR_BIN)?,
            tempo_bin: path(EnvVars::OTELCTL_TEMPO_BIN)?,
            grafana_bin: path(EnvVars::OTELCTL_GRAFANA_BIN)?,
            collector_extra_config: path(EnvVars::OTELCTL_COLLECTOR_EXTRA_CONFIG)?,
            tempo_extra_config: path(EnvVars::OTELCTL_TEMPO_EXTRA_CONFIG)?,
            prometheus_bin: path(EnvVars::OTELCTL_PROMETHEUS_BIN)?,
            victorialogs_bin: path(EnvVars::OTELCTL_VICTORIALOGS_BIN)?,
            metrics_store,
            logs_store,
            metrics_retention: retention(EnvVars::OTELCTL_METRICS_RETENTION)?,
            logs_retention: retention(EnvVars::OTELCTL_LOGS_RETENTION)?,
            grafana_plugins: path(EnvVars::OTELCTL_GRAFANA_PLUGINS_DIR)?,
        })
    }
}

/// Where the collector forwards a copy of everything, and the headers it sends.
///
/// `Debug` never shows header values: they are usually credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The OTLP/HTTP base URL (the collector appends `/v1/traces`).
    pub endpoint: String,
    /// Header names and values, in the order given.
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Upstream")
            .field("endpoint", &self.endpoint)
            .field("header_names", &names)
            .finish()
    }
}

impl Upstream {
    /// Parses the endpoint and `k1=v1,k2=v2` headers (the `OTEL_EXPORTER_OTLP_HEADERS` syntax;
    /// values may be percent-encoded). Errors never repeat a header value.
    pub fn parse(endpoint: &str, headers: &str) -> Result<Self> {
        let endpoint = endpoint.trim();
        let ok_scheme = endpoint.starts_with("http://") || endpoint.starts_with("https://");
        if !ok_scheme
            || endpoint.len() <= "https://".len()
            || endpoint.contains(char::is_whitespace)
        {
            return Err(Error::InvalidValue {
                what: "upstream endpoint",
                value: crate::secrets::mask_url(endpoint),
                origin: Source::Env(EnvVars::OTELCTL_UPSTREAM_ENDPOINT),
                expected: "an OTLP/HTTP base URL such as https://otlp.example.com".to_string(),
            });
        }
        let (parsed, errors) = formats::parse_headers(headers);
        if let Some(e) = errors.first() {
            return Err(Error::InvalidValue {
                what: "upstream header",
                value: format!("member {} (value not shown)", e.position),
                origin: Source::Env(EnvVars::OTELCTL_UPSTREAM_HEADERS),
                expected: format!("name=value pairs separated by commas; this one {}", e.why),
            });
        }
        // A user and password in the URL become an `Authorization` header (as Go's HTTP client
        // would send them), so they travel like every header value: through a variable of the
        // collector's environment, never in its rendered file. A header of that name given in
        // OTELCTL_UPSTREAM_HEADERS wins.
        let (endpoint, basic) = crate::secrets::split_userinfo(endpoint);
        let mut headers = parsed;
        if let Some(basic) = basic {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            {
                headers.push(("Authorization".to_string(), basic));
            }
        }
        Ok(Upstream {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            headers,
        })
    }
}

/// How long a store keeps data (Tempo's traces, the metrics, the logs), as a Go duration in hours, minutes and seconds (`72h`, `1h30m`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention(String);

impl Default for Retention {
    fn default() -> Self {
        Retention("72h".to_string())
    }
}

impl Retention {
    /// Parses a duration of at least one minute (`72h`, `1h30m`, `7d`: see
    /// [`formats::parse_duration`]); kept as Go writes it, because Tempo reads it.
    pub fn parse(text: &str, origin: Source) -> Result<Self> {
        let d = formats::parse_duration(text, "retention", origin)?;
        if d < Duration::from_secs(60) {
            return Err(Error::InvalidValue {
                what: "retention",
                value: text.to_string(),
                origin,
                expected: "at least 1m (e.g. 72h, 7d or 1h30m)".to_string(),
            });
        }
        Ok(Retention(formats::go_duration(d)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The Tempo major version a config is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TempoMajor {
    V2,
    V3,
}

impl TempoMajor {
    /// Parses `2`, `3`, `2.10.0`, `v3.0.3`.
    pub fn parse(text: &str, origin: Source) -> Result<Self> {
        let t = text.trim().trim_start_matches('v');
        match t.split('.').next() {
            Some("2") => Ok(TempoMajor::V2),
            Some("3") => Ok(TempoMajor::V3),
            _ => Err(Error::InvalidValue {
                what: "Tempo version",
                value: text.to_string(),
                origin,
                expected: "2 or 3 (or a full version such as 2.10.0 or 3.0.3)".to_string(),
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TempoMajor::V2 => "2",
            TempoMajor::V3 => "3",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_headers_parse_and_never_show_values() {
        let u = Upstream::parse(
            "https://otlp.example.com/",
            "authorization=Bearer%20s3cret, x-team = a=b",
        )
        .unwrap();
        assert_eq!(u.endpoint, "https://otlp.example.com");
        assert_eq!(
            u.headers,
            vec![
                ("authorization".to_string(), "Bearer s3cret".to_string()),
                ("x-team".to_string(), "a=b".to_string()),
            ]
        );
        assert!(!format!("{u:?}").contains("s3cret"));
        let err = Upstream::parse("https://x.example", "novalue-s3cret").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(Upstream::parse("otlp.example.com", "").is_err());
        assert!(Upstream::parse("https://x.example", "bad name=1").is_err());
    }

    #[test]
    fn retention_accepts_go_durations_of_hours_minutes_seconds() {
        let src = Source::Env("OTELCTL_TEMPO_RETENTION");
        for (given, kept) in [
            ("72h", "72h"),
            ("1h30m", "1h30m"),
            ("90m", "1h30m"),
            ("3600s", "1h"),
            ("7d", "168h"),
            ("1.5h", "1h30m"),
        ] {
            assert_eq!(Retention::parse(given, src).unwrap().as_str(), kept);
        }
        for bad in ["", "72", "h", "30s", "-1h"] {
            assert!(Retention::parse(bad, src).is_err(), "{bad}");
        }
    }

    #[test]
    fn tempo_major_parses_versions() {
        let src = Source::Flag("--tempo-version");
        assert_eq!(TempoMajor::parse("2.10.0", src).unwrap(), TempoMajor::V2);
        assert_eq!(TempoMajor::parse("v3.0.3", src).unwrap(), TempoMajor::V3);
        assert_eq!(TempoMajor::parse("3", src).unwrap(), TempoMajor::V3);
        assert!(TempoMajor::parse("1.5", src).is_err());
    }
}
