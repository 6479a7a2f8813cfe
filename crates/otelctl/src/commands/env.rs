//! `otelctl env`: the exports for a shell entering the project, and the banner on stderr.

use otelctl_config::exit;
use otelctl_config::settings::Settings;
use otelctl_config::shellenv::{self, Shell};
use otelctl_config::Result;

use crate::cli::EnvArgs;
use crate::output;

pub fn run(settings: &Settings, args: &EnvArgs) -> Result<u8> {
    let shell = Shell::parse(&args.shell)?;
    let detection = settings.detect()?;
    let endpoints = settings.endpoints(detection.mode)?;
    let data = settings.data_dir(detection.mode);
    let rendered = shellenv::render(
        shell,
        &shellenv::exports(
            &detection,
            &endpoints,
            &data,
            settings.devenv_trace,
            settings.relay_endpoint.as_deref(),
        ),
    )?;
    output::stdout(&rendered)?;
    if !args.quiet {
        output::stderr(&shellenv::banner(&detection, &endpoints));
    }
    Ok(exit::SUCCESS)
}
