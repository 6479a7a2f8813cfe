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

#[cfg(test)]
mod tests {
    /// `tracing` and `log` are dependencies only for their `max_level_off` features, which
    /// compile every call site in hyper, h2 and tonic out of the binary (thousands of statics
    /// the loader would relocate at each start of `span` and `env`). A clean-up that drops the
    /// "unused" dependencies would bring them back without any other test noticing.
    #[test]
    fn logging_call_sites_are_compiled_out() {
        assert_eq!(
            tracing::level_filters::STATIC_MAX_LEVEL,
            tracing::level_filters::LevelFilter::OFF
        );
        assert_eq!(log::STATIC_MAX_LEVEL, log::LevelFilter::Off);
    }
}
