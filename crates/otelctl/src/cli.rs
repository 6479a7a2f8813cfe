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
    /// Dashboards: build the built-ins, list them with the project's, sync them into Grafana
    Dash(DashArgs),
}

#[derive(Debug, Args)]
pub struct DashArgs {
    #[command(subcommand)]
    pub command: DashCommand,
}

#[derive(Debug, Subcommand)]
pub enum DashCommand {
    /// Write the built-in dashboards (<uid>.json) and README.md (their structure) into DIR
    Build(DashBuildArgs),
    /// List the built-in and the project's dashboards (validating the project's)
    List(DashListArgs),
    /// Sync the dashboards into Grafana: provisioning files, or the HTTP API with --grafana-url
    Sync(DashSyncArgs),
}

#[derive(Debug, Args)]
pub struct DashBuildArgs {
    /// Directory to write into (created if missing), e.g. dashboards/
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct DashListArgs {
    /// Also print every panel's TraceQL query
    #[arg(long)]
    pub queries: bool,
    /// Print JSON: [{"uid", "title", "origin", "queries": [{"panel", "api", "query", "resolved"}]}]
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DashSyncArgs {
    /// Project name: the folder (dashboards/<project>/, or the Grafana folder); default: the root's directory name
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// Show what would change (added, updated, removed, unchanged) and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Sync through this Grafana's HTTP API (http://HOST:PORT[/PATH]) instead of provisioning files
    #[arg(long, value_name = "URL")]
    pub grafana_url: Option<String>,
    /// File holding the Grafana API token (else $OTELCTL_GRAFANA_TOKEN); the token is never printed
    #[arg(long, value_name = "FILE", requires = "grafana_url")]
    pub token_file: Option<PathBuf>,
    /// Print JSON: {"target", "dry_run", "changed", "changes": [{"action", "uid", "title", "location"}]}
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
