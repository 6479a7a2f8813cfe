//! `otelctl`: per-project OpenTelemetry tracing for Nix and devenv users (entry point).

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

fn main() -> ExitCode {
    otelctl_span::exporter::install_https(otelctl_net::post_https);
    let cli = cli::parse();
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            output::error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}
