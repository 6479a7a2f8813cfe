//! The system stack's ports: what the NixOS module configured (published in
//! `/etc/otel-stack/ports.json`), else the defaults 4318/3200/3700/4317.
//!
//! Every project's detection, `otelctl env`, `wait`, `status`, `doctor` and the span exporter's
//! default destination ask this one place, so moving a port in the NixOS module moves it for all
//! of them. The file is read only by what needs it (`Settings::system_ports`): system mode, or
//! auto detection's probe; a broken file never touches a local-mode command.

use std::path::Path;

use serde_json::Value;

use crate::env::{self, EnvVars};
use crate::error::{Error, Result};

/// Where the NixOS module (`services.otel-stack`) publishes its ports;
/// `$OTELCTL_SYSTEM_PORTS_FILE` names another file (tests, non-NixOS installs).
pub const PORTS_FILE: &str = "/etc/otel-stack/ports.json";

/// What to do about a ports file otelctl cannot use.
const FIX: &str = "the NixOS module services.otel-stack writes this file: rebuild the system \
     (nixos-rebuild switch), or fix it by hand as a JSON object of ports such as \
     {\"collector_otlp_http\": 4318, \"tempo_http\": 3200, \"grafana_http\": 3700, \
     \"tempo_otlp_grpc\": 4317}; a project that does not use the system stack can set \
     OTELCTL_MODE=local, which never reads it";

/// The system stack's ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemPorts {
    /// Collector OTLP/HTTP (`collector_otlp_http`).
    pub collector: u16,
    /// Tempo's HTTP API (`tempo_http`).
    pub tempo_http: u16,
    /// Grafana (`grafana_http`).
    pub grafana: u16,
    /// Tempo's OTLP gRPC ingest (`tempo_otlp_grpc`).
    pub tempo_otlp_grpc: u16,
    /// The metrics store, Prometheus (`metrics_store_http`, default 9090).
    pub metrics_store: u16,
    /// The logs store, VictoriaLogs (`logs_store_http`, default 9428).
    pub logs_store: u16,
}

impl Default for SystemPorts {
    fn default() -> Self {
        SystemPorts {
            collector: 4318,
            tempo_http: 3200,
            grafana: 3700,
            tempo_otlp_grpc: 4317,
            metrics_store: 9090,
            logs_store: 9428,
        }
    }
}

impl SystemPorts {
    /// `$OTELCTL_SYSTEM_PORTS_FILE`, else [`PORTS_FILE`]; the defaults when that file does not
    /// exist. A file that exists but cannot be read or parsed is an error naming it.
    pub fn load() -> Result<Self> {
        match env::path(EnvVars::OTELCTL_SYSTEM_PORTS_FILE) {
            Some(path) => Self::read(&path, Some(EnvVars::OTELCTL_SYSTEM_PORTS_FILE)),
            None => Self::read(Path::new(PORTS_FILE), None),
        }
    }

    /// Reads a ports file (`named_by`: the variable that named it); the defaults when it does
    /// not exist.
    pub fn read(path: &Path, named_by: Option<&'static str>) -> Result<Self> {
        let input = match named_by {
            Some(var) => format!(
                "the system stack's ports file {} (from ${var})",
                path.display()
            ),
            None => format!("the system stack's ports file {}", path.display()),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(Error::failed(format!("cannot read {input}"), e).fix(FIX)),
        };
        Self::parse(&text).map_err(|problem| Error::bad_input(input, problem, FIX))
    }

    /// Each port with the name [`crate::ports::Ports::named`] gives the project's same port.
    pub fn named(&self) -> [(&'static str, u16); 6] {
        [
            ("Collector OTLP/HTTP", self.collector),
            ("Tempo OTLP gRPC ingest", self.tempo_otlp_grpc),
            ("Tempo HTTP API", self.tempo_http),
            ("Grafana HTTP", self.grafana),
            ("Metrics store (Prometheus)", self.metrics_store),
            ("Logs store (VictoriaLogs)", self.logs_store),
        ]
    }

    /// Parses the file's JSON; absent keys keep their defaults, unknown keys are ignored.
    fn parse(text: &str) -> std::result::Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
        let object = value
            .as_object()
            .ok_or_else(|| "not a JSON object".to_string())?;
        let port = |key: &str, default: u16| -> std::result::Result<u16, String> {
            match object.get(key) {
                None => Ok(default),
                Some(v) => v
                    .as_u64()
                    .filter(|p| (1..=65535).contains(p))
                    .map(|p| p as u16)
                    .ok_or_else(|| format!("$.{key} is {v}, not a port from 1 to 65535")),
            }
        };
        let d = Self::default();
        Ok(SystemPorts {
            collector: port("collector_otlp_http", d.collector)?,
            tempo_http: port("tempo_http", d.tempo_http)?,
            grafana: port("grafana_http", d.grafana)?,
            tempo_otlp_grpc: port("tempo_otlp_grpc", d.tempo_otlp_grpc)?,
            metrics_store: port("metrics_store_http", d.metrics_store)?,
            logs_store: port("logs_store_http", d.logs_store)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_means_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let ports = SystemPorts::read(&dir.path().join("ports.json"), None).unwrap();
        assert_eq!(ports, SystemPorts::default());
        assert_eq!(
            (ports.collector, ports.tempo_http, ports.grafana),
            (4318, 3200, 3700)
        );
    }

    #[test]
    fn published_ports_are_read_and_absent_keys_keep_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ports.json");
        std::fs::write(
            &file,
            r#"{"collector_otlp_http": 14318, "grafana_http": 13700, "collector_metrics": 18888}"#,
        )
        .unwrap();
        let ports = SystemPorts::read(&file, None).unwrap();
        assert_eq!(
            ports,
            SystemPorts {
                collector: 14318,
                tempo_http: 3200,
                grafana: 13700,
                tempo_otlp_grpc: 4317,
                metrics_store: 9090,
                logs_store: 9428,
            }
        );
    }

    #[test]
    fn a_bad_file_names_the_file_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ports.json");
        std::fs::write(&file, r#"{"tempo_http": 70000}"#).unwrap();
        let msg = SystemPorts::read(&file, None).unwrap_err().to_string();
        assert!(
            msg.contains("ports.json") && msg.contains("$.tempo_http is 70000"),
            "{msg}"
        );
        assert!(
            msg.contains("nixos-rebuild") && msg.contains("OTELCTL_MODE=local"),
            "says what to do: {msg}"
        );
        std::fs::write(&file, "[1]").unwrap();
        let msg = SystemPorts::read(&file, None).unwrap_err().to_string();
        assert!(msg.contains("not a JSON object"), "{msg}");
    }
}
