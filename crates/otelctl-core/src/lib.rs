//! The logic of `otelctl`: per-project OpenTelemetry tracing for Nix and devenv users.
//!
//! The binary crate parses arguments and prints; everything it decides lives here, one
//! module per job. See ARCHITECTURE.md at the repository root for the map.

pub mod detect;
pub mod error;
pub mod exit;
pub mod http;
pub mod otlp;
pub mod paths;
pub mod ports;
pub mod programs;
pub mod readiness;
pub mod render;
pub mod root;
pub mod settings;
pub mod shellenv;
pub mod stack;
pub mod supervise;
pub mod tempo_api;

pub use error::{Error, Result};
