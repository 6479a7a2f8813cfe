//! Turns raw flags and environment variables into validated settings, in one place.
//!
//! Every `OTELCTL_*` variable that shapes where the stack lives is read here, so commands
//! receive typed values and an error always names the flag or variable that was wrong.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::detect::{self, Detection, Endpoints, Mode, ModeSetting};
use crate::error::{Error, Result, Source};
use crate::paths::DataDir;
use crate::ports::{self, PortOverrides, PortRange, Ports};
use crate::root::{self, ProjectRoot, RootInputs};

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
    /// `$OTELCTL_DEVENV_TRACE`: where `otelctl env` points devenv's own tracing.
    pub devenv_trace: DevenvTrace,
}

/// devenv's native tracing (devenv >= 2.1), as `otelctl env` configures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DevenvTrace {
    #[default]
    Off,
    OtlpGrpc,
    OtlpHttpProtobuf,
    OtlpHttpJson,
}

impl DevenvTrace {
    pub fn parse(text: &str, source: Source) -> Result<Self> {
        match text.trim() {
            "" | "off" => Ok(DevenvTrace::Off),
            "otlp-grpc" => Ok(DevenvTrace::OtlpGrpc),
            "otlp-http-protobuf" => Ok(DevenvTrace::OtlpHttpProtobuf),
            "otlp-http-json" => Ok(DevenvTrace::OtlpHttpJson),
            _ => Err(Error::InvalidValue {
                what: "devenv trace format",
                value: text.to_string(),
                origin: source,
                expected: "otlp-grpc, otlp-http-protobuf, otlp-http-json or off".to_string(),
            }),
        }
    }
}

/// A non-empty environment variable as UTF-8 text; non-UTF-8 is an error naming the variable.
pub fn env_text(name: &'static str) -> Result<Option<String>> {
    match std::env::var_os(name) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v.into_string().map(Some).map_err(|v| Error::InvalidValue {
            what: "value",
            value: v.to_string_lossy().into_owned(),
            origin: Source::Env(name),
            expected: "UTF-8 text".to_string(),
        }),
    }
}

impl Settings {
    /// Reads the environment and validates everything (root, base port, range, mode).
    pub fn load(raw: RawGlobals) -> Result<Self> {
        let fixed_base = match (&raw.base_port, env_text("OTELCTL_BASE_PORT")?) {
            (Some(flag), _) => Some(ports::parse_base_port(flag, Source::Flag("--base-port"))?),
            (None, Some(env)) => Some(ports::parse_base_port(
                &env,
                Source::Env("OTELCTL_BASE_PORT"),
            )?),
            (None, None) => None,
        };
        let range = match (&raw.port_range, env_text("OTELCTL_PORT_RANGE")?) {
            (Some(flag), _) => PortRange::parse(flag, Source::Flag("--port-range"))?,
            (None, Some(env)) => PortRange::parse(&env, Source::Env("OTELCTL_PORT_RANGE"))?,
            (None, None) => PortRange::default(),
        };
        let mode_setting = match env_text("OTELCTL_MODE")? {
            Some(m) => ModeSetting::parse(&m, Source::Env("OTELCTL_MODE"))?,
            None => ModeSetting::Auto,
        };
        let port_overrides = PortOverrides::read(env_text)?;
        let devenv_trace = match env_text("OTELCTL_DEVENV_TRACE")? {
            Some(t) => DevenvTrace::parse(&t, Source::Env("OTELCTL_DEVENV_TRACE"))?,
            None => DevenvTrace::Off,
        };
        let root = root::resolve(&RootInputs::from_env(raw.root))?;
        let non_empty_path = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Ok(Settings {
            root,
            fixed_base,
            range,
            mode_setting,
            home: non_empty_path("HOME"),
            spool_override: non_empty_path("OTEL_SPOOL_DIR"),
            data_dir_override: non_empty_path("OTELCTL_DATA_DIR"),
            dashboards_override: non_empty_path("OTELCTL_DASHBOARDS_DIR"),
            port_overrides,
            devenv_trace,
        })
    }

    /// The Grafana API token for `dash sync --grafana-url`: the contents of `--token-file`, else
    /// `$OTELCTL_GRAFANA_TOKEN`, else none. Never printed.
    pub fn grafana_token(
        &self,
        token_file: Option<&std::path::Path>,
    ) -> Result<Option<crate::dashboards::grafana::Token>> {
        use crate::dashboards::grafana::Token;
        if let Some(file) = token_file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| Error::io("cannot read the token file", file, e))?;
            return match Token::new(&text) {
                Some(t) => Ok(Some(t)),
                None => Err(Error::BadInput(format!(
                    "token file {:?} is empty",
                    file.display().to_string()
                ))),
            };
        }
        // Not through env_text: its error would quote the value.
        match std::env::var_os("OTELCTL_GRAFANA_TOKEN") {
            None => Ok(None),
            Some(v) => match v.into_string() {
                Ok(t) => Ok(Token::new(&t)),
                Err(_) => Err(Error::BadInput(
                    "$OTELCTL_GRAFANA_TOKEN is not UTF-8 text".to_string(),
                )),
            },
        }
    }

    /// This project's ports (hashed or fixed, then per-service overrides).
    pub fn ports(&self) -> Ports {
        Ports::for_root(&self.root, self.fixed_base, self.range)
            .with_overrides(&self.port_overrides)
    }

    /// The mode in effect, probing the system stack when the setting is `auto`.
    pub fn detect(&self) -> Detection {
        detect::detect(
            self.mode_setting,
            self.home.as_deref(),
            detect::SYSTEM_COLLECTOR_PORT,
        )
    }

    /// The stack endpoints for a mode.
    pub fn endpoints(&self, mode: Mode) -> Endpoints {
        Endpoints::for_mode(mode, &self.ports())
    }

    /// The data directory for a mode (`$OTELCTL_DATA_DIR` wins).
    pub fn data_dir(&self, mode: Mode) -> DataDir {
        match &self.data_dir_override {
            Some(dir) => DataDir::at(dir),
            None => DataDir::for_mode(mode, self.root.path(), self.home.as_deref()),
        }
    }

    /// The spool directory for a mode (`$OTEL_SPOOL_DIR` wins).
    pub fn spool_dir(&self, mode: Mode) -> PathBuf {
        crate::paths::spool_dir(self.spool_override.as_deref(), &self.data_dir(mode))
    }
}
