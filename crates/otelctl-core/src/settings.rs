//! Turns raw flags and environment variables into validated settings, in one place.
//!
//! Every `OTELCTL_*` variable that shapes where the stack lives is read here, so commands
//! receive typed values and an error always names the flag or variable that was wrong.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::detect::{self, Detection, Endpoints, Mode, ModeSetting};
use crate::error::{Error, Result, Source};
use crate::paths::DataDir;
use crate::ports::{self, PortRange, Ports};
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
}

fn env_text(name: &'static str) -> Result<Option<String>> {
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
        })
    }

    /// This project's ports (hashed or fixed).
    pub fn ports(&self) -> Ports {
        Ports::for_root(&self.root, self.fixed_base, self.range)
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

    /// The data directory for a mode.
    pub fn data_dir(&self, mode: Mode) -> DataDir {
        DataDir::for_mode(mode, self.root.path(), self.home.as_deref())
    }

    /// The spool directory for a mode (`$OTEL_SPOOL_DIR` wins).
    pub fn spool_dir(&self, mode: Mode) -> PathBuf {
        crate::paths::spool_dir(self.spool_override.as_deref(), &self.data_dir(mode))
    }
}

/// Flags of `otelctl up --embedded`, as given.
#[derive(Debug, Default, Clone)]
pub struct RawEmbedded {
    pub max_traces: Option<String>,
    pub max_mb: Option<String>,
}

fn positive(
    flag: Option<&str>,
    flag_name: &'static str,
    env_name: &'static str,
    max: u64,
) -> Result<Option<u64>> {
    let (text, origin) = match (flag, env_text(env_name)?) {
        (Some(f), _) => (f.to_string(), Source::Flag(flag_name)),
        (None, Some(e)) => (e, Source::Env(env_name)),
        (None, None) => return Ok(None),
    };
    match text.trim().parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
        _ => Err(Error::InvalidValue {
            what: "value",
            value: text,
            origin,
            expected: format!("a whole number from 1 to {max}"),
        }),
    }
}

impl Settings {
    /// The embedded server's configuration: receiver on the Collector port (+0), viewer on the
    /// Grafana port (+3), traces in the local data directory's `embedded/`, the local spool.
    /// Caps: `--max-traces` / `$OTELCTL_EMBEDDED_MAX_TRACES` (default 1000) and `--max-mb` /
    /// `$OTELCTL_EMBEDDED_MAX_MB` (default 64).
    pub fn embedded(&self, raw: &RawEmbedded) -> Result<crate::embedded::Config> {
        use crate::embedded::{self, store};
        let max_traces = positive(
            raw.max_traces.as_deref(),
            "--max-traces",
            "OTELCTL_EMBEDDED_MAX_TRACES",
            1_000_000,
        )?
        .map_or(store::DEFAULT_MAX_TRACES, |n| n as usize);
        let max_bytes = positive(
            raw.max_mb.as_deref(),
            "--max-mb",
            "OTELCTL_EMBEDDED_MAX_MB",
            64 * 1024,
        )?
        .map_or(store::DEFAULT_MAX_BYTES, |n| n as usize * 1024 * 1024);
        let ports = self.ports();
        let loopback = std::net::Ipv4Addr::LOCALHOST;
        Ok(embedded::Config {
            receiver: (loopback, ports.collector_otlp_http).into(),
            viewer: (loopback, ports.grafana_http).into(),
            data_dir: self.data_dir(Mode::Local).embedded(),
            spool_dir: Some(self.spool_dir(Mode::Local)),
            limits: store::Limits {
                max_traces,
                max_bytes,
            },
            max_body: embedded::DEFAULT_MAX_BODY,
            max_connections: embedded::DEFAULT_MAX_CONNECTIONS,
        })
    }
}
