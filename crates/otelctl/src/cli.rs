//! The command line: clap definitions only. Validation happens in `otelctl_config::settings`.
//!
//! Compiled into both executables: `otelctl-full` and the lean `otelctl` (crates/otelctl-lean),
//! which runs the hot commands through [`parse_hot`]. So this file names no otelctl crate but
//! `otelctl-config` (the lean binary links no other); conversions to other crates' types live
//! with the commands (e.g. `ServiceArg::service` in `commands/mod.rs`).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, FromArgMatches, Parser, Subcommand};
use otelctl_config::settings::RawGlobals;

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
    /// Fix the base port instead of hashing the root (also $OTELCTL_BASE_PORT); 1024..=65528
    #[arg(long, global = true, value_name = "N")]
    pub base_port: Option<String>,
    /// Range the hashed ports lie in (also $OTELCTL_PORT_RANGE); default 10000-32767, below the
    /// kernel's ports for outgoing connections; 10000-60000 gives the ports from before they moved
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

/// `defer`: a command's arguments are built only when it is the one run (building all twenty
/// was a fifth of a short command's start-up).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Show the project's six ports (derived from a hash of the project root)
    Ports(PortsArgs),
    /// Tell whether a system-wide stack is running (system) or the project runs its own (local)
    Detect(DetectArgs),
    /// Print what a shell exports on entry: eval "$(otelctl env)"
    Env(EnvArgs),
    /// Dashboards: build the built-ins, list them with the project's, sync them into Grafana
    Dash(DashArgs),
    /// Run a command inside a span (exits with the command's status); or `span begin`/`span end`
    Span(SpanArgs),
    /// Emit a test-result span: test.<suite>.<name>, passed|failed|skipped
    TestSpan(TestSpanArgs),
    /// Spans waiting in the spool: `status`, or `flush` them to the collector
    Spool(SpoolArgs),
    /// Print the current $TRACEPARENT (normalised), or a new one
    Traceparent(TraceparentArgs),
    /// Render a service's config (collector, tempo, grafana) for this project's ports and paths
    Render(RenderArgs),
    /// Render a service's config into the data directory, then become the real program
    Run(RunArgs),
    /// Wait until a service is ready (it does real work, not only answers); exit 3 on timeout
    Wait(WaitArgs),
    /// Start the local stack in the foreground, print its URLs, stop it on Ctrl-C; with
    /// --embedded (or when Collector/Tempo are not installed) otelctl's own OTLP receiver
    /// (port +0) and trace viewer (port +3)
    Up(UpArgs),
    /// Write the traces stored by `up --embedded` as OTLP/JSON, or forward them to an OTLP endpoint
    Export(ExportArgs),
    /// Show what runs for this project, on which ports, and whether it is healthy
    Status(StatusArgs),
    /// Check the whole span pipeline and say what to fix, one line per finding (exit 0 only
    /// when spans would arrive)
    Doctor(DoctorArgs),
    /// What dt runs devenv under: a relay on 127.0.0.1 that puts devenv's own spans (and the
    /// tasks') into the trace of $TRACEPARENT, then forwards them (exits with the command's status)
    Relay(RelayArgs),
    /// List stored traces matching filters, newest first (embedded store or Tempo); `traces show
    /// ID` draws one as a text waterfall, `traces compare A B` prints per-span deltas
    Traces(TracesArgs),
    /// Load OTLP/JSON files (from `otelctl export` or a Collector's file exporter) into the
    /// running store, through the project's OTLP receiver; spans already stored are not added
    Import(ImportArgs),
    /// List stored log records (embedded store), oldest first; --follow keeps printing new ones
    Logs(LogsArgs),
    /// List stored metrics with their latest value (embedded store); with NAME, its series
    Metrics(MetricsArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: the command's own; 128+N when killed by signal N; 127 when not found; 126 when not executable."
)]
pub struct RelayArgs {
    /// The command to run (devenv), after `--`
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD",
        value_parser = clap::value_parser!(OsString)
    )]
    pub command: Vec<OsString>,
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

// Span attributes from the command line (a plain comment: under `defer`, a doc comment here
// would replace the about text of every command that flattens these).
#[derive(Debug, Args, Default)]
pub struct AttrArgs {
    /// A string attribute (repeatable)
    #[arg(long = "attr", value_name = "KEY=VALUE", value_parser = clap::value_parser!(OsString))]
    pub string: Vec<OsString>,
    /// An integer attribute (repeatable)
    #[arg(long = "attr-int", value_name = "KEY=N", value_parser = clap::value_parser!(OsString))]
    pub int: Vec<OsString>,
    /// A boolean attribute, true or false (repeatable)
    #[arg(long = "attr-bool", value_name = "KEY=true|false", value_parser = clap::value_parser!(OsString))]
    pub bool: Vec<OsString>,
    /// A floating-point attribute (repeatable)
    #[arg(long = "attr-double", value_name = "KEY=X", value_parser = clap::value_parser!(OsString))]
    pub double: Vec<OsString>,
}

/// The span kind.
#[derive(Debug, Clone, Copy, clap::ValueEnum, Default)]
pub enum Kind {
    #[default]
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Exit status: the command's own; 128+N when killed by signal N; 127 when not found; 126 when not executable."
)]
pub struct SpanArgs {
    #[command(subcommand)]
    pub action: Option<SpanAction>,
    /// service.name of the span's resource (OTEL_SERVICE_NAME does not override it)
    #[arg(required = true, value_parser = clap::value_parser!(OsString))]
    pub service: Option<OsString>,
    /// The span name
    #[arg(required = true, value_parser = clap::value_parser!(OsString))]
    pub name: Option<OsString>,
    #[command(flatten)]
    pub attrs: AttrArgs,
    /// Span kind
    #[arg(long, value_enum, default_value_t = Kind::Internal)]
    pub kind: Kind,
    /// The command to run, after `--` (needed when CMD starts with `-`: a misspelt flag such
    /// as `--atr` before `--` is a usage error, not a command)
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_name = "CMD",
        value_parser = clap::value_parser!(OsString)
    )]
    pub command: Vec<OsString>,
}

#[derive(Debug, Subcommand)]
pub enum SpanAction {
    /// Open a span that later commands run under: prints its traceparent
    Begin(SpanBeginArgs),
    /// Close a span opened by `span begin` and emit it with its real start time
    End(SpanEndArgs),
}

#[derive(Debug, Args)]
pub struct SpanBeginArgs {
    /// service.name of the span's resource
    #[arg(value_parser = clap::value_parser!(OsString))]
    pub service: OsString,
    /// The span name
    #[arg(value_parser = clap::value_parser!(OsString))]
    pub name: OsString,
    #[command(flatten)]
    pub attrs: AttrArgs,
    /// Span kind
    #[arg(long, value_enum, default_value_t = Kind::Internal)]
    pub kind: Kind,
    /// Keep the span's state in FILE (default: a private per-user directory, found again by $TRACEPARENT)
    #[arg(long, value_name = "FILE", value_parser = clap::value_parser!(OsString))]
    pub carrier: Option<OsString>,
}

/// The final status of a span closed by `span end`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum EndStatus {
    Unset,
    Ok,
    Error,
}

#[derive(Debug, Args)]
pub struct SpanEndArgs {
    /// The carrier FILE given to `span begin` (default: found by $TRACEPARENT)
    #[arg(long, value_name = "FILE", value_parser = clap::value_parser!(OsString))]
    pub carrier: Option<OsString>,
    /// Final status (default: error when --exit-code is non-zero, else unset)
    #[arg(long, value_enum)]
    pub status: Option<EndStatus>,
    /// Status description (for --status error)
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,
    /// Record exit.code/process.exit.code; non-zero means error unless --status says otherwise
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub exit_code: Option<i64>,
    #[command(flatten)]
    pub attrs: AttrArgs,
}

#[derive(Debug, Args)]
pub struct TestSpanArgs {
    /// Test name
    #[arg(value_parser = clap::value_parser!(OsString))]
    pub name: OsString,
    /// passed, failed or skipped (also pass, fail, skip)
    pub result: String,
    /// Duration in milliseconds (the span starts this long before now); default 0
    #[arg(value_name = "DURATION_MS")]
    pub duration_ms: Option<String>,
    /// Suite name (default: $OTEL_TEST_SUITE)
    #[arg(long, value_parser = clap::value_parser!(OsString))]
    pub suite: Option<OsString>,
    /// service.name (default: $OTEL_SERVICE_NAME, else nixos-tests)
    #[arg(long, value_parser = clap::value_parser!(OsString))]
    pub service: Option<OsString>,
    #[command(flatten)]
    pub attrs: AttrArgs,
}

#[derive(Debug, Args)]
pub struct SpoolArgs {
    #[command(subcommand)]
    pub action: SpoolAction,
}

#[derive(Debug, Subcommand)]
pub enum SpoolAction {
    /// Files, bytes, oldest age and dropped spans of the spool
    Status {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Send spooled spans to the endpoint, deleting only what it accepted
    Flush {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct TraceparentArgs {
    /// Always print a new traceparent (new trace), ignoring $TRACEPARENT
    #[arg(long)]
    pub new: bool,
}

/// collector, tempo, grafana, prometheus (the metrics store) or victorialogs (the logs store).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ServiceArg {
    Collector,
    Tempo,
    Grafana,
    Prometheus,
    Victorialogs,
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
    /// tempo, grafana, prometheus, victoria-logs)
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
    /// The Prometheus program, the metrics store (else $OTELCTL_PROMETHEUS_BIN, else PATH); none
    /// found: metrics are not stored
    #[arg(long, value_name = "PATH")]
    pub prometheus_bin: Option<PathBuf>,
    /// The VictoriaLogs program, the logs store (else $OTELCTL_VICTORIALOGS_BIN, else PATH: victoria-logs);
    /// none found: logs are not stored
    #[arg(long, value_name = "PATH")]
    pub victorialogs_bin: Option<PathBuf>,
    /// Render for Tempo 2 or 3 instead of asking the Tempo program
    #[arg(long, value_name = "VERSION")]
    pub tempo_version: Option<String>,
    /// Seconds each service may take to become ready
    #[arg(long, value_name = "S", default_value_t = 120.0)]
    pub timeout: f64,
    /// Use otelctl's own receiver and viewer instead of the Collector, Tempo and Grafana
    #[arg(long)]
    pub embedded: bool,
    /// Embedded: keep traces, logs and metrics this long, oldest dropped first (also $OTELCTL_EMBEDDED_MAX_AGE); default 90d
    #[arg(long, value_name = "DURATION")]
    pub max_age: Option<String>,
    /// Embedded: most MiB the store (traces, logs and metrics) may use, oldest dropped first (also $OTELCTL_EMBEDDED_MAX_MB); default 2048
    #[arg(long, value_name = "MIB")]
    pub max_mb: Option<String>,
    /// Embedded: most traces kept, oldest dropped first (also $OTELCTL_EMBEDDED_MAX_TRACES); default: no limit
    #[arg(long, value_name = "N")]
    pub max_traces: Option<String>,
    /// Embedded: answer an export once its transaction is synced (fsync, the default: survives a machine crash) or written (write: survives otelctl being killed, not a machine crash; faster)
    #[arg(long, value_name = "WHEN", value_parser = ["fsync", "write"])]
    pub durability: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON: {"mode", "root", "services": [{"name", "ports", "pid", "state", "detail"}]}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON: {"ok", "findings": [{"check", "level": ok|info|warn|fail, "message", "fix"}]}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only this trace (32 hex digits)
    #[arg(long, value_name = "ID")]
    pub trace: Option<String>,
    /// Only traces with a span that ended within this long ago: 90s, 15m, 2h, 7d (`-2h` reads the same)
    #[arg(long, allow_hyphen_values = true, value_name = "DURATION")]
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
    /// grafana_http, collector_metrics, tempo_grpc, metrics_store_http, logs_store_http
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

/// Parses the process's command line (see [`parse_from`]).
pub fn parse() -> Cli {
    parse_from(std::env::args_os().collect())
}

/// Parses a command line. `span` and `env` run on every wrapped task and every shell entry, so
/// for them (and `test-span`, `traceparent`) clap builds only their own argument tree, not all twenty commands' (about 40 page
/// faults and 0.1 ms per start here: benchmarks/span.md). Whatever is not a clean parse there
/// (help, a usage error) goes through the whole tree, so every message is the one the full
/// command line prints.
pub fn parse_from(args: Vec<OsString>) -> Cli {
    parse_hot(&args).unwrap_or_else(|| Cli::try_parse_from(args).unwrap_or_else(|e| usage_error(e)))
}

/// Prints clap's error and exits with its code, except that clap's "similar argument" tip is
/// dropped when it names `--version`: for `otelctl --verbose traces` it suggested `--version`
/// with the usage line `otelctl --version <COMMAND>`, which is no command line at all.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let suggests_version = matches!(
        e.get(ContextKind::SuggestedArg),
        Some(ContextValue::String(s)) if s == "--version"
    );
    if e.kind() != ErrorKind::UnknownArgument || !suggests_version {
        e.exit();
    }
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let tip = if arg == "--verbose" || arg == "-v" {
        "\n  tip: otelctl has no --verbose: `otelctl doctor` checks the whole pipeline, and \
         OTEL_DEBUG=1 prints each export of `otelctl span`\n"
    } else {
        ""
    };
    eprint!(
        "error: unexpected argument '{arg}' found\n{tip}\nUsage: otelctl [OPTIONS] <COMMAND>\n\n\
         For more information, try '--help'.\n"
    );
    std::process::exit(2)
}

/// The hot commands' parse: `otelctl span …`, `env …`, `test-span …` or `traceparent …` with
/// the global flags after the command name (where the Nix modules put them). `None` sends
/// everything else, and every error, to the full parse (in the lean `otelctl`: to
/// `otelctl-full`).
pub(crate) fn parse_hot(args: &[OsString]) -> Option<Cli> {
    let command = match args.get(1)?.to_str()? {
        "span" => SpanArgs::augment_args(clap::Command::new("span")),
        "env" => EnvArgs::augment_args(clap::Command::new("env")),
        "test-span" => TestSpanArgs::augment_args(clap::Command::new("test-span")),
        "traceparent" => TraceparentArgs::augment_args(clap::Command::new("traceparent")),
        _ => return None,
    };
    let root = GlobalArgs::augment_args(clap::Command::new("otelctl")).subcommand(command);
    let matches = root.try_get_matches_from(args).ok()?;
    Cli::from_arg_matches(&matches).ok()
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TracesArgs {
    #[command(subcommand)]
    pub command: Option<TracesCommand>,
    #[command(flatten)]
    pub filter: TraceFilterArgs,
}

#[derive(Debug, Subcommand)]
pub enum TracesCommand {
    /// Print one trace as a text waterfall: a line per span, indented by depth, a bar scaled to
    /// the trace, the duration, ✖ for errors, * on the critical path
    Show(TraceShowArgs),
    /// Print the per-span duration deltas B - A of two traces (spans matched by name and
    /// position among siblings), and the spans found in only one
    Compare(TraceCompareArgs),
}

#[derive(Debug, Args)]
pub struct TraceShowArgs {
    /// The trace id (32 hex digits)
    #[arg(value_name = "ID")]
    pub id: String,
    /// Width of the bars in characters (10 to 200)
    #[arg(long, value_name = "N", default_value_t = 40)]
    pub width: usize,
}

#[derive(Debug, Args)]
pub struct TraceCompareArgs {
    /// Trace A (32 hex digits)
    #[arg(value_name = "A")]
    pub a: String,
    /// Trace B (32 hex digits)
    #[arg(value_name = "B")]
    pub b: String,
}

#[derive(Debug, Args)]
pub struct TraceFilterArgs {
    /// Only traces with a span of this service (`service.name`); --service, --name, --status
    /// and --attr must all hold for one and the same span
    #[arg(long, value_name = "S")]
    pub service: Option<String>,
    /// Only traces with a span of exactly this name
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
    /// The span's status: error (ERROR) or ok (not ERROR)
    #[arg(long, value_name = "ok|error")]
    pub status: Option<String>,
    /// The trace's: error (some span, any, in error) or ok (no span in error)
    #[arg(long, value_name = "ok|error")]
    pub trace_status: Option<String>,
    /// Only traces lasting at least this long (the whole trace): 500ms, 2s, 1m
    #[arg(long, value_name = "D")]
    pub min_duration: Option<String>,
    /// Only traces lasting at most this long
    #[arg(long, value_name = "D")]
    pub max_duration: Option<String>,
    /// Only traces with a span whose attribute (or its resource's) KEY has VALUE; repeatable
    #[arg(long, value_name = "K=V")]
    pub attr: Vec<String>,
    /// Only traces that started within this long ago: 15m, 2h, 7d (`-2h` reads the same)
    #[arg(long, allow_hyphen_values = true, value_name = "D")]
    pub since: Option<String>,
    /// At most this many traces (default 20)
    #[arg(long, value_name = "N")]
    pub limit: Option<String>,
    /// Print a JSON list of {trace_id, service, name, start, start_unix_nano, duration_ms, status, spans}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Only records of this service (`service.name`)
    #[arg(long, value_name = "S")]
    pub service: Option<String>,
    /// Only records at least this severe: trace, debug, info, warn, error, fatal, or 1-24
    #[arg(long, value_name = "MIN")]
    pub severity: Option<String>,
    /// Only records whose body holds every word of TEXT (whole words, any case)
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
    /// Only records written in this trace (32 hex digits)
    #[arg(long, value_name = "ID")]
    pub trace: Option<String>,
    /// Only records from within this long ago: 15m, 2h, 7d
    #[arg(long, value_name = "D")]
    pub since: Option<String>,
    /// At most this many records, the newest (default 100)
    #[arg(long, value_name = "N")]
    pub limit: Option<String>,
    /// Keep printing records as they are stored, until interrupted
    #[arg(long)]
    pub follow: bool,
    /// Print JSON: a list of records (with --follow, one record per line)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// A metric's name: print its series (one per attribute set) and their points
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Only metrics of this service (`service.name`)
    #[arg(long, value_name = "S")]
    pub service: Option<String>,
    /// Only points from within this long ago: 15m, 2h, 7d
    #[arg(long, value_name = "D")]
    pub since: Option<String>,
    /// Print JSON: a list of metrics, or with NAME a list of series
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// OTLP/JSON files: one ExportTraceServiceRequest (what `otelctl export` writes), or one
    /// per line (a Collector's file exporter)
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &[&str]) -> Vec<OsString> {
        line.iter().map(OsString::from).collect()
    }

    /// The hot parse must read every `span`/`env` line exactly as the whole tree does.
    #[test]
    fn hot_parse_agrees_with_the_full_parse() {
        let lines: &[&[&str]] = &[
            &["otelctl", "span", "svc", "build", "--", "make", "-j4"],
            &[
                "otelctl", "span", "svc", "build", "--attr", "a=1", "--kind", "client", "--", "x",
            ],
            &[
                "otelctl",
                "span",
                "svc",
                "step",
                "--root",
                "/p",
                "--base-port",
                "20000",
                "--",
                "true",
            ],
            &[
                "otelctl", "span", "svc", "step", "--", "cmd", "--root", "--help", "-x",
            ],
            &["otelctl", "span", "begin", "--help"],
            &["otelctl", "span", "begin", "svc", "deploy", "--attr", "k=v"],
            &["otelctl", "span", "end", "--exit-code", "-1"],
            &["otelctl", "env"],
            &["otelctl", "env", "--shell", "fish", "-q"],
            &[
                "otelctl",
                "env",
                "--port-range",
                "20000-30000",
                "--root",
                "/p",
            ],
            &["otelctl", "test-span", "t", "passed"],
            &[
                "otelctl",
                "test-span",
                "t",
                "fail",
                "1500",
                "--suite",
                "s",
                "--attr-int",
                "n=1",
            ],
            &["otelctl", "traceparent"],
            &["otelctl", "traceparent", "--new", "--root", "/p"],
        ];
        for line in lines {
            let full = Cli::try_parse_from(argv(line));
            let hot = parse_hot(&argv(line));
            match full {
                Ok(full) => assert_eq!(
                    format!("{:?}", hot.expect("the hot parse took a valid line")),
                    format!("{full:?}"),
                    "{line:?}"
                ),
                Err(_) => assert!(
                    hot.is_none(),
                    "hot parse accepted what the full one refuses: {line:?}"
                ),
            }
        }
    }

    /// Help, version and usage errors are left to the whole tree, which prints them.
    /// Under `defer` a command's arguments are added when it runs, and a doc comment on a
    /// flattened argument struct would then replace the command's own about text.
    #[test]
    fn deferred_commands_keep_their_own_about_text() {
        use clap::CommandFactory;
        for sub in Cli::command().get_subcommands() {
            let about = sub.get_about().map(|a| a.to_string());
            let mut built = sub.clone();
            built.build();
            assert_eq!(
                built.get_about().map(|a| a.to_string()),
                about,
                "otelctl {}",
                sub.get_name()
            );
        }
    }

    #[test]
    fn hot_parse_leaves_help_and_errors_to_the_full_parse() {
        let lines: &[&[&str]] = &[
            &["otelctl", "span", "--help"],
            &["otelctl", "span", "svc"],
            &[
                "otelctl", "span", "svc", "name", "--kind", "sideways", "--", "true",
            ],
            &["otelctl", "env", "--shell"],
            &["otelctl", "env", "--bogus"],
            &["otelctl", "env", "-h"],
            &["otelctl", "--root", "/p", "env"],
            &["otelctl", "test-span", "t"],
            &["otelctl", "test-span", "--help"],
            &["otelctl", "traceparent", "--bogus"],
            &["otelctl", "ports"],
        ];
        for line in lines {
            assert!(parse_hot(&argv(line)).is_none(), "{line:?}");
        }
    }
}
