//! Dispatch: one module per command, each returning the exit code on success.

mod dash;
mod detect;
mod env;
mod ports;
mod span;
mod spool;
mod telemetry;
mod test_span;
mod traceparent;

use otelctl_core::settings::Settings;
use otelctl_core::Result;

use crate::cli::{Cli, Command};

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
    }
}
