//! Deciding between the system-wide stack and a project-local one, within a hard time bound.
//!
//! Auto mode picks `system` when `$HOME/.otel/spool` exists or an OTLP collector on
//! 127.0.0.1:4318 (or the port the system stack published, see [`crate::system`]) accepts an empty export (`POST /v1/traces` with `{}`), and `local`
//! otherwise. The probe never takes longer than [`PROBE_BUDGET`], even against a listener
//! that accepts connections and never answers.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result, Source};
use crate::ports::Ports;
use crate::system::SystemPorts;
use otelctl_http::{self as http, HttpUrl};

/// The longest the collector probe may take (the whole `detect` stays under 150 ms).
pub const PROBE_BUDGET: Duration = Duration::from_millis(100);

/// What the user asked for (`OTELCTL_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModeSetting {
    #[default]
    Auto,
    System,
    Local,
}

impl ModeSetting {
    pub fn parse(text: &str, source: Source) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(ModeSetting::Auto),
            "system" => Ok(ModeSetting::System),
            "local" => Ok(ModeSetting::Local),
            _ => Err(Error::InvalidValue {
                what: "mode",
                value: text.to_string(),
                origin: source,
                expected: "auto, system or local".to_string(),
            }),
        }
    }
}

/// The mode in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    System,
    Local,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::System => "system",
            Mode::Local => "local",
        }
    }
}

/// The outcome of detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub mode: Mode,
    pub reason: String,
}

/// Detects the mode. `home` is `$HOME`; `collector_port` gives the system collector's port,
/// asked only when the probe runs (auto mode without a system spool).
pub fn detect(
    setting: ModeSetting,
    home: Option<&Path>,
    collector_port: impl FnOnce() -> Result<u16>,
) -> Result<Detection> {
    Ok(match setting {
        ModeSetting::System => Detection {
            mode: Mode::System,
            reason: "OTELCTL_MODE=system".to_string(),
        },
        ModeSetting::Local => Detection {
            mode: Mode::Local,
            reason: "OTELCTL_MODE=local".to_string(),
        },
        ModeSetting::Auto => {
            if let Some(spool) = home.map(|h| h.join(".otel").join("spool")) {
                if spool.is_dir() {
                    return Ok(Detection {
                        mode: Mode::System,
                        reason: format!("system spool {} exists", spool.display()),
                    });
                }
            }
            let collector_port = collector_port()?;
            match probe_collector(collector_port, Instant::now() + PROBE_BUDGET) {
                Ok(()) => Detection {
                    mode: Mode::System,
                    reason: format!(
                        "an OTLP collector on 127.0.0.1:{collector_port} accepted an empty export"
                    ),
                },
                Err(why) => Detection {
                    mode: Mode::Local,
                    reason: format!("no system stack: {why}"),
                },
            }
        }
    })
}

/// Whether an OTLP/HTTP collector on `127.0.0.1:port` accepts `POST /v1/traces {}`.
pub fn probe_collector(port: u16, deadline: Instant) -> std::result::Result<(), String> {
    let url = HttpUrl {
        host: "127.0.0.1".to_string(),
        port,
        path: "/v1/traces".to_string(),
    };
    let headers = [("Content-Type".to_string(), "application/json".to_string())];
    let request = http::Request {
        method: "POST",
        url: &url,
        headers: &headers,
        body: b"{}",
    };
    match http::send(&request, deadline) {
        Ok(r) if (200..300).contains(&r.status) => Ok(()),
        Ok(r) => Err(format!(
            "127.0.0.1:{port} answered HTTP {} to an empty OTLP export",
            r.status
        )),
        Err(http::HttpError::Refused { .. }) => Err(format!("nothing listens on 127.0.0.1:{port}")),
        Err(http::HttpError::Timeout { .. } | http::HttpError::Unanswered { .. }) => Err(format!(
            "127.0.0.1:{port} did not answer within {} ms",
            PROBE_BUDGET.as_millis()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// The URLs of the stack a shell should talk to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoints {
    pub collector: String,
    pub tempo: String,
    pub grafana: String,
    /// Tempo's OTLP gRPC ingest, for gRPC-only clients (devenv's default build).
    #[serde(skip)]
    pub tempo_otlp_grpc: String,
}

impl Endpoints {
    /// The system stack's, on the ports it published (see [`crate::system`]).
    pub fn system(system: &SystemPorts) -> Self {
        Endpoints::on_loopback(
            system.collector,
            system.tempo_http,
            system.grafana,
            system.tempo_otlp_grpc,
        )
    }

    pub fn local(ports: &Ports) -> Self {
        Endpoints::on_loopback(
            ports.collector_otlp_http,
            ports.tempo_http,
            ports.grafana_http,
            ports.tempo_otlp_grpc,
        )
    }

    /// Every stack listens on 127.0.0.1 only; the two stacks differ only in their ports.
    fn on_loopback(collector: u16, tempo: u16, grafana: u16, tempo_otlp_grpc: u16) -> Self {
        let url = |port: u16| format!("http://127.0.0.1:{port}");
        Endpoints {
            collector: url(collector),
            tempo: url(tempo),
            grafana: url(grafana),
            tempo_otlp_grpc: url(tempo_otlp_grpc),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_modes_need_no_probe_and_no_ports() {
        let never = || -> Result<u16> { panic!("the system ports were asked for") };
        assert_eq!(
            detect(ModeSetting::System, None, never).unwrap().mode,
            Mode::System
        );
        assert_eq!(
            detect(ModeSetting::Local, None, never).unwrap().mode,
            Mode::Local
        );
    }

    #[test]
    fn auto_detection_fails_with_the_ports_files_error_only_when_it_probes() {
        let home = tempfile::tempdir().unwrap();
        let broken =
            || -> Result<u16> { Err(Error::bad_input("ports.json", "not JSON", "fix it")) };
        let err = detect(ModeSetting::Auto, Some(home.path()), broken).unwrap_err();
        assert!(err.to_string().contains("ports.json"), "{err}");
        // A system spool decides without the probe, so without the file.
        std::fs::create_dir_all(home.path().join(".otel/spool")).unwrap();
        let d = detect(ModeSetting::Auto, Some(home.path()), broken).unwrap();
        assert_eq!(d.mode, Mode::System);
    }

    #[test]
    fn probe_gives_up_on_a_listener_that_never_answers_within_150_ms() {
        // Accepts connections (the kernel completes the handshake) but never reads or answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let started = Instant::now();
        let result = probe_collector(port, Instant::now() + PROBE_BUDGET);
        let took = started.elapsed();
        assert!(result.unwrap_err().contains("did not answer"));
        assert!(took < Duration::from_millis(150), "probe took {took:?}");
        drop(silent);
    }

    #[test]
    fn mode_setting_rejects_unknown_values() {
        let err = ModeSetting::parse("sometimes", Source::Env("OTELCTL_MODE")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("sometimes") && msg.contains("auto, system or local"),
            "{msg}"
        );
        assert_eq!(
            ModeSetting::parse("SYSTEM", Source::Env("X")).unwrap(),
            ModeSetting::System
        );
    }
}
