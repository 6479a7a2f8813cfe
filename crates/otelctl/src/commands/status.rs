//! `otelctl status`: what runs for this project, on which ports, and whether it is healthy, and
//! which kind of stack it is: the programs (Collector, Tempo, Grafana, Prometheus as the metrics
//! store, VictoriaLogs as the logs store) or otelctl's embedded server (`otelctl up --embedded`,
//! which plays every role).

use std::time::{Duration, Instant};

use serde::Serialize;

use otelctl_config::detect::Mode;
use otelctl_config::ports::in_use_on_loopback;
use otelctl_config::settings::Settings;
use otelctl_config::{exit, Result};
use otelctl_embedded::probe as embedded_probe;
use otelctl_stack::readiness;
use otelctl_stack::render::Service;
use otelctl_stack::stack;

use crate::cli::StatusArgs;
use crate::output;

#[derive(Serialize)]
struct Report {
    mode: &'static str,
    /// `embedded` (otelctl up --embedded), `programs` (Collector/Tempo/Grafana) or `none`.
    stack: &'static str,
    root: String,
    services: Vec<ServiceStatus>,
}

#[derive(Serialize)]
struct ServiceStatus {
    name: &'static str,
    ports: Vec<u16>,
    pid: Option<u32>,
    /// `ready`, `unhealthy` (something listens but does not work) or `stopped`.
    state: &'static str,
    detail: String,
}

/// The pid of the process listening on `port` (None when nobody does, or it cannot be seen).
fn holder_pid(port: u16) -> Option<u32> {
    otelctl_config::ports::holder(port)
        .ok()
        .flatten()
        .map(|h| h.pid)
}

pub fn run(settings: &Settings, args: &StatusArgs) -> Result<u8> {
    let detection = settings.detect()?;
    let ports = settings.ports();
    let data = settings.data_dir(Mode::Local);
    // The stores' on/off switches; a bad variable leaves them on (what `up` would refuse).
    let stack_settings = settings.stack().unwrap_or_default();
    let mut services = Vec::new();
    let embedded = detection.mode == Mode::Local
        && embedded_probe::probe(
            ports.collector_otlp_http,
            ports.grafana_http,
            Instant::now() + Duration::from_secs(2),
        )
        .is_ok();
    for service in Service::ALL {
        if embedded {
            let (port, detail) = match service {
                Service::Collector => (
                    ports.collector_otlp_http,
                    format!(
                        "embedded receiver http://127.0.0.1:{} (OTLP/HTTP and OTLP/gRPC)",
                        ports.collector_otlp_http
                    ),
                ),
                Service::Tempo => (
                    ports.grafana_http,
                    "embedded trace store (otelctl up --embedded)".to_string(),
                ),
                Service::Grafana => (
                    ports.grafana_http,
                    format!("embedded viewer http://127.0.0.1:{}", ports.grafana_http),
                ),
                Service::Prometheus => (
                    ports.collector_otlp_http,
                    "embedded metrics store (otelctl up --embedded)".to_string(),
                ),
                Service::VictoriaLogs => (
                    ports.collector_otlp_http,
                    "embedded logs store (otelctl up --embedded)".to_string(),
                ),
            };
            services.push(ServiceStatus {
                name: service.name(),
                ports: vec![port],
                // The process listening there, as `doctor` finds it.
                pid: holder_pid(port),
                state: "ready",
                detail,
            });
            continue;
        }
        let (target, listened) = match detection.mode {
            Mode::System => {
                let target = stack::system_target(service, &settings.system_ports()?);
                (target, vec![target.port])
            }
            Mode::Local => (
                stack::target(service, &ports),
                service.ports(&ports).iter().map(|p| p.1).collect(),
            ),
        };
        // The pid file `run` writes, else whoever listens on the service's port (a stack
        // started by hand, or the system's), as `doctor` finds it.
        let pid = match detection.mode {
            Mode::Local => stack::running_pid(&data, service),
            Mode::System => None,
        }
        .or_else(|| holder_pid(target.port));
        if !service.wanted(&stack_settings) && pid.is_none() {
            services.push(ServiceStatus {
                name: service.name(),
                ports: listened,
                pid,
                state: "off",
                detail: "turned off ($OTELCTL_METRICS_STORE / $OTELCTL_LOGS_STORE)".to_string(),
            });
            continue;
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        let (state, detail) = match readiness::probe(service, target, deadline) {
            Ok(()) => ("ready", format!("http://127.0.0.1:{}", target.port)),
            Err(why) if pid.is_some() || listened.iter().any(|p| in_use_on_loopback(*p)) => {
                ("unhealthy", why)
            }
            Err(_) => ("stopped", "nothing listens".to_string()),
        };
        services.push(ServiceStatus {
            name: service.name(),
            ports: listened,
            pid,
            state,
            detail,
        });
    }
    // Healthy: collector and Tempo ready; Grafana and the stores ready or not running at all.
    let healthy = services.iter().all(|s| match s.name {
        "grafana" | "prometheus" | "victorialogs" => s.state != "unhealthy",
        _ => s.state == "ready",
    });
    let stack_kind = if embedded {
        "embedded"
    } else if services
        .iter()
        .any(|s| !matches!(s.state, "stopped" | "off"))
    {
        "programs"
    } else {
        "none"
    };
    let report = Report {
        mode: detection.mode.as_str(),
        stack: stack_kind,
        root: ports.root.clone(),
        services,
    };
    if args.json {
        output::stdout(&output::json(&report))?;
    } else {
        let kind = match report.stack {
            "embedded" => "the embedded stack (otelctl up --embedded)",
            "programs" => "the Collector, Tempo, Grafana, Prometheus and VictoriaLogs programs",
            _ => "nothing running",
        };
        let mut text = format!(
            "{} mode ({}), root {}\nstack: {kind}\n\n{:<12} {:<20} {:<8} {:<10} {}\n",
            report.mode,
            detection.reason,
            report.root,
            "SERVICE",
            "PORTS",
            "PID",
            "STATE",
            "DETAIL"
        );
        for s in &report.services {
            let ports: Vec<String> = s.ports.iter().map(u16::to_string).collect();
            let pid = s.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
            text.push_str(&format!(
                "{:<12} {:<20} {:<8} {:<10} {}\n",
                s.name,
                ports.join(","),
                pid,
                s.state,
                s.detail
            ));
        }
        output::stdout(text.as_bytes())?;
    }
    Ok(if healthy {
        exit::SUCCESS
    } else {
        exit::NOT_READY
    })
}
