//! The logic of `otelctl`: per-project OpenTelemetry tracing for Nix and devenv users.
//!
//! The binary crate parses arguments and prints; everything it decides lives here, one
//! module per job. See ARCHITECTURE.md at the repository root for the map.

pub mod attrs;
pub mod carrier;
pub mod dashboards;
pub mod detect;
pub mod embedded;
pub mod emit;
pub mod error;
pub mod exit;
pub mod exporter;
pub mod http;
pub mod otelenv;
pub mod otlp;
pub mod paths;
pub mod ports;
pub mod programs;
pub mod readiness;
pub mod relay;
pub mod render;
pub mod root;
pub mod runner;
pub mod settings;
pub mod shellenv;
pub mod spool;
pub mod stack;
pub mod supervise;
pub mod tempo_api;
pub mod testspan;
pub mod tls;
pub mod traceparent;

pub use error::{Error, Result};
