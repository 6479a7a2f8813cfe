//! The logic of `otelctl`: per-project OpenTelemetry tracing for Nix and devenv users.
//!
//! The binary crate parses arguments and prints; everything it decides lives here, one
//! module per job. See ARCHITECTURE.md at the repository root for the map.

pub mod detect;
pub mod embedded;
pub mod error;
pub mod exit;
pub mod http;
pub mod otlp;
pub mod paths;
pub mod ports;
pub mod root;
pub mod settings;
pub mod shellenv;

pub use error::{Error, Result};
