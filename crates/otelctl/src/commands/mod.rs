//! Dispatch: one module per command, each returning the exit code on success.

mod dash;
mod detect;
mod doctor;
mod env;
mod export;
mod import;
mod logs;
mod metrics;
mod ports;
mod relay;
mod render;
mod run;
mod span;
mod spool;
mod status;
mod telemetry;
mod test_span;
mod traceparent;
mod traces;
mod up;
mod up_embedded;
pub mod wait;

use otelctl_config::settings::Settings;
use otelctl_config::Result;

use crate::cli::{Cli, Command, ServiceArg};

// Here, not in cli.rs, which the lean binary compiles too and which so names no stack type.
impl ServiceArg {
    pub fn service(self) -> otelctl_stack::render::Service {
        use otelctl_stack::render::Service;
        match self {
            ServiceArg::Collector => Service::Collector,
            ServiceArg::Tempo => Service::Tempo,
            ServiceArg::Grafana => Service::Grafana,
            ServiceArg::Prometheus => Service::Prometheus,
            ServiceArg::Victorialogs => Service::VictoriaLogs,
        }
    }
}

pub fn run(cli: Cli) -> Result<u8> {
    let settings = || Settings::load(cli.globals.raw());
    match &cli.command {
        Command::Ports(args) => ports::run(&settings()?, args),
        Command::Detect(args) => detect::run(&settings()?, args),
        Command::Env(args) => env::run(&settings()?, args),
        Command::Dash(args) => dash::run(settings, args),
        Command::Span(args) => span::run(&cli.globals, args),
        Command::TestSpan(args) => test_span::run(&cli.globals, args),
        Command::Spool(args) => spool::run(&settings()?, args),
        Command::Traceparent(args) => traceparent::run(args),
        Command::Render(args) => render::run(&settings()?, args),
        Command::Run(args) => run::run(&settings()?, args),
        Command::Wait(args) => wait::run(&settings()?, args),
        Command::Up(args) => up::run(&settings()?, &cli.globals, args),
        Command::Status(args) => status::run(&settings()?, args),
        Command::Doctor(args) => doctor::run(&settings()?, args),
        Command::Export(args) => export::run(&settings()?, args),
        Command::Relay(args) => relay::run(&cli.globals, args),
        Command::Traces(args) => traces::run(&settings()?, args),
        Command::Import(args) => import::run(&settings()?, args),
        Command::Logs(args) => logs::run(&settings()?, args),
        Command::Metrics(args) => metrics::run(&settings()?, args),
    }
}
