//! `otelctl wait`: poll a service until it does real work, or exit 3 at the timeout. In local
//! mode otelctl's embedded server (`otelctl up --embedded`) counts for every service: it is the
//! receiver, the store and the viewer; the answer says which kind is running.

use std::time::{Duration, Instant};

use otelctl_config::detect::Mode;
use otelctl_config::error::Source;
use otelctl_config::exit;
use otelctl_config::settings::Settings;
use otelctl_config::{Error, Result};
use otelctl_embedded::probe as embedded_probe;
use otelctl_stack::render::Service;
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
    let mode = settings.detect()?.mode;
    let target = match mode {
        Mode::System => stack::system_target(service, &settings.system_ports()?),
        Mode::Local => stack::target(service, &settings.ports()),
    };
    let local = mode == Mode::Local;
    let ports = settings.ports();
    let start = Instant::now();
    let deadline = start + limit;
    // The embedded server is asked first (a quick GET); the programs' probes otherwise.
    let embedded_ready = |until: Instant| {
        local
            && embedded_probe::probe(
                ports.collector_otlp_http,
                ports.grafana_http,
                until.min(Instant::now() + readiness::REQUEST_BUDGET),
            )
            .is_ok()
    };
    let (port, kind) = loop {
        if embedded_ready(deadline) {
            let port = match service {
                // The embedded server receives and stores all three signals itself.
                Service::Collector | Service::Prometheus | Service::VictoriaLogs => {
                    ports.collector_otlp_http
                }
                Service::Tempo | Service::Grafana => ports.grafana_http,
            };
            break (port, "the embedded stack, otelctl up --embedded");
        }
        // One probe of the programs, then the embedded server again, until the deadline.
        let step = (Instant::now() + readiness::POLL_INTERVAL * 5).min(deadline);
        match readiness::wait(
            service,
            target,
            step.saturating_duration_since(Instant::now()),
            || Ok(()),
        ) {
            Ok(_) => break (target.port, "the Collector/Tempo/Grafana programs"),
            Err(Error::NotReady {
                service: name,
                address,
                why,
                fix,
                ..
            }) if Instant::now() >= deadline => {
                return Err(Error::NotReady {
                    service: name,
                    address,
                    waited: limit,
                    why: format!("{why}; otelctl's embedded server does not answer either"),
                    fix,
                });
            }
            Err(Error::NotReady { .. }) => {}
            Err(e) => return Err(e),
        }
    };
    output::stdout(
        format!(
            "{} ready on http://127.0.0.1:{port} ({kind}; {:.1} s)\n",
            service.name(),
            start.elapsed().as_secs_f64()
        )
        .as_bytes(),
    )?;
    Ok(exit::SUCCESS)
}
