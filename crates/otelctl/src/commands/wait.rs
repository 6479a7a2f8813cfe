//! `otelctl wait`: poll a service until it does real work, or exit 3 at the timeout.

use std::time::Duration;

use otelctl_config::detect::Mode;
use otelctl_config::error::Source;
use otelctl_config::exit;
use otelctl_config::settings::Settings;
use otelctl_config::{Error, Result};
use otelctl_stack::{readiness, stack};

use crate::cli::WaitArgs;
use crate::output;

/// Parses a timeout in seconds (finite, 0 to one day).
pub fn timeout(seconds: f64, flag: &'static str) -> Result<Duration> {
    if !(seconds.is_finite() && (0.0..=86400.0).contains(&seconds)) {
        return Err(Error::InvalidValue {
            what: "timeout",
            value: seconds.to_string(),
            origin: Source::Flag(flag),
            expected: "seconds from 0 to 86400".to_string(),
        });
    }
    Ok(Duration::from_secs_f64(seconds))
}

pub fn run(settings: &Settings, args: &WaitArgs) -> Result<u8> {
    let service = args.service.service();
    let limit = timeout(args.timeout, "--timeout")?;
    let target = match settings.detect().mode {
        Mode::System => stack::system_target(service),
        Mode::Local => stack::target(service, &settings.ports()),
    };
    let took = readiness::wait(service, target, limit, || Ok(()))?;
    output::stdout(
        format!(
            "{} ready on http://127.0.0.1:{} ({:.1} s)\n",
            service.name(),
            target.port,
            took.as_secs_f64()
        )
        .as_bytes(),
    )?;
    Ok(exit::SUCCESS)
}
