//! Dispatch: one module per command, each returning the exit code on success.

mod dash;
mod detect;
mod env;
mod ports;

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
    }
}
