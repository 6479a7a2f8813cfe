//! The command line: clap definitions only. Validation happens in `otelctl_core::settings`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use otelctl_core::settings::RawGlobals;

#[derive(Debug, Parser)]
#[command(
    name = "otelctl",
    version,
    about = "Per-project OpenTelemetry tracing for Nix and devenv users",
    long_about = "Per-project OpenTelemetry tracing: ports, stack detection, shell environment, spans.\n\n\
Exit codes: 0 success, 1 runtime failure, 2 usage error or bad input, 3 not ready.\n\
`otelctl span` exits with the wrapped command's status."
)]
pub struct Cli {
    #[command(flatten)]
    pub globals: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Project root (default: $DEVENV_ROOT, else the enclosing git work tree, else the current directory)
    #[arg(long, global = true, value_name = "DIR", value_parser = clap::value_parser!(OsString))]
    pub root: Option<OsString>,
    /// Fix the base port instead of hashing the root (also $OTELCTL_BASE_PORT); 1024..=65529
    #[arg(long, global = true, value_name = "N")]
    pub base_port: Option<String>,
    /// Range hashed base ports are drawn from (also $OTELCTL_PORT_RANGE); default 10000-60000
    #[arg(long, global = true, value_name = "START-END")]
    pub port_range: Option<String>,
}

impl GlobalArgs {
    pub fn raw(&self) -> RawGlobals {
        RawGlobals {
            root: self.root.clone(),
            base_port: self.base_port.clone(),
            port_range: self.port_range.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the project's six ports (derived from a hash of the project root)
    Ports(PortsArgs),
    /// Tell whether a system-wide stack is running (system) or the project runs its own (local)
    Detect(DetectArgs),
    /// Print what a shell exports on entry: eval "$(otelctl env)"
    Env(EnvArgs),
    /// Render a service's config (collector, tempo, grafana) for this project's ports and paths
    Render(RenderArgs),
    /// Render a service's config into the data directory, then become the real program
    Run(RunArgs),
    /// Wait until a service is ready (it does real work, not only answers); exit 3 on timeout
    Wait(WaitArgs),
    /// Start the whole local stack in the foreground, print its URLs, stop it on Ctrl-C
    Up(UpArgs),
    /// Show what runs for this project, on which ports, and whether it is healthy
    Status(StatusArgs),
}

/// collector, tempo or grafana.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ServiceArg {
    Collector,
    Tempo,
    Grafana,
}

impl ServiceArg {
    pub fn service(self) -> otelctl_core::render::Service {
        use otelctl_core::render::Service;
        match self {
            ServiceArg::Collector => Service::Collector,
            ServiceArg::Tempo => Service::Tempo,
            ServiceArg::Grafana => Service::Grafana,
        }
    }
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[arg(value_enum)]
    pub service: ServiceArg,
    /// Write the files under DIR (same layout as the data directory) instead of printing them
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The program whose version/components decide the config (default: as `run` finds it)
    #[arg(long, value_name = "PATH")]
    pub bin: Option<PathBuf>,
    /// Render for Tempo 2 or 3 instead of asking the Tempo program (also $OTELCTL_TEMPO_VERSION)
    #[arg(long, value_name = "VERSION")]
    pub tempo_version: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[arg(value_enum)]
    pub service: ServiceArg,
    /// The program to run (default: $OTELCTL_<SERVICE>_BIN, else PATH: otelcol-contrib, otelcol,
    /// tempo, grafana)
    #[arg(long, value_name = "PATH")]
    pub bin: Option<PathBuf>,
    /// Render for Tempo 2 or 3 instead of asking the Tempo program (also $OTELCTL_TEMPO_VERSION)
    #[arg(long, value_name = "VERSION")]
    pub tempo_version: Option<String>,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[arg(value_enum)]
    pub service: ServiceArg,
    /// Give up after this many seconds (exit 3)
    #[arg(long, value_name = "S", default_value_t = 60.0)]
    pub timeout: f64,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// The collector program (else $OTELCTL_COLLECTOR_BIN, else PATH)
    #[arg(long, value_name = "PATH")]
    pub collector_bin: Option<PathBuf>,
    /// The Tempo program (else $OTELCTL_TEMPO_BIN, else PATH)
    #[arg(long, value_name = "PATH")]
    pub tempo_bin: Option<PathBuf>,
    /// The Grafana program (else $OTELCTL_GRAFANA_BIN, else PATH); none found: no Grafana
    #[arg(long, value_name = "PATH")]
    pub grafana_bin: Option<PathBuf>,
    /// Do not start Grafana
    #[arg(long)]
    pub no_grafana: bool,
    /// Render for Tempo 2 or 3 instead of asking the Tempo program
    #[arg(long, value_name = "VERSION")]
    pub tempo_version: Option<String>,
    /// Seconds each service may take to become ready
    #[arg(long, value_name = "S", default_value_t = 120.0)]
    pub timeout: f64,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON: {"mode", "root", "services": [{"name", "ports", "pid", "state", "detail"}]}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PortsArgs {
    /// Print JSON with the keys root, base, collector_otlp_http, tempo_otlp_grpc, tempo_http,
    /// grafana_http, collector_metrics, tempo_grpc
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Print JSON: {"mode", "reason", "collector", "tempo", "grafana"}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Output syntax: sh (also bash, zsh), fish or json
    #[arg(long, default_value = "sh", value_name = "SHELL")]
    pub shell: String,
    /// Do not print the banner on stderr
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn parse() -> Cli {
    Cli::parse()
}
