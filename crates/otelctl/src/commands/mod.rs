//! Dispatch: one module per command, each returning the exit code on success.

mod detect;
mod env;
mod export;
mod ports;
mod up_embedded;

use otelctl_core::settings::Settings;
use otelctl_core::Result;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> Result<u8> {
    let settings = || Settings::load(cli.globals.raw());
    match &cli.command {
        Command::Ports(args) => ports::run(&settings()?, args),
        Command::Detect(args) => detect::run(&settings()?, args),
        Command::Env(args) => env::run(&settings()?, args),
        // Issue 4's `up` takes this arm over and calls up_embedded::run when --embedded is
        // given or the Collector/Tempo/Grafana programs are not found.
        Command::Up(args) => up_embedded::run(&settings()?, args),
        Command::Export(args) => export::run(&settings()?, args),
    }
}
