//! The hot path of `otelctl span`, `span begin/end` and `test-span`: W3C trace context, the
//! `OTEL_*` environment, attributes, OTLP/HTTP export with its deadline, the spool, the runner
//! of the wrapped command, and carrier files.
//!
//! Std-only networking: no async runtime, no TLS stack, no HTTP library (`cargo tree -p
//! otelctl-span` shows it). `https://` export goes through the transport the binary installs
//! ([`exporter::install_https`]).

pub mod attrs;
pub mod carrier;
pub mod emit;
pub mod exporter;
pub mod otelenv;
pub mod runner;
pub mod spool;
pub mod testspan;
pub mod traceparent;
