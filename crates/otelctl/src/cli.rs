//! The command line: clap definitions only. Validation happens in `otelctl_core::settings`.

use std::ffi::OsString;

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
    /// Run the project's tracing stack in the foreground; --embedded: otelctl's own OTLP
    /// receiver (port +0) and trace viewer (port +3), no Collector, Tempo or Grafana needed
    Up(UpArgs),
    /// Write the traces stored by `up --embedded` as OTLP/JSON, or forward them to an OTLP endpoint
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Use otelctl's own receiver and viewer instead of the Collector, Tempo and Grafana
    #[arg(long)]
    pub embedded: bool,
    /// Embedded: most traces kept, oldest dropped first (also $OTELCTL_EMBEDDED_MAX_TRACES); default 1000
    #[arg(long, value_name = "N")]
    pub max_traces: Option<String>,
    /// Embedded: most MiB of spans kept, oldest dropped first (also $OTELCTL_EMBEDDED_MAX_MB); default 64
    #[arg(long, value_name = "MIB")]
    pub max_mb: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only this trace (32 hex digits)
    #[arg(long, value_name = "ID")]
    pub trace: Option<String>,
    /// Only traces with a span that ended within this long ago: 90s, 15m, 2h, 7d
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Write OTLP/JSON to FILE (`-`: standard output; the default unless --to is given)
    #[arg(long, value_name = "FILE|-")]
    pub out: Option<String>,
    /// Forward to this OTLP/HTTP endpoint (base URL like $OTEL_EXPORTER_OTLP_ENDPOINT, or a
    /// full .../v1/traces URL)
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
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
