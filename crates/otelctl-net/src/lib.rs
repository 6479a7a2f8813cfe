//! Network clients off the hot path, and the `https://` transport the binary installs into
//! the span exporter, so the TLS stack lives here and not in `otelctl-span`.

pub mod https;
