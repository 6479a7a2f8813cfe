//! The relay's listener: OTLP/gRPC (devenv) and OTLP/HTTP (the tasks' `otelctl span`) on one
//! loopback port, each decoded export handed to [`crate::Relay::take`].
//!
//! The transport is the embedded server's (hyper + tonic on tokio); it is wired in once that
//! server serves gRPC. Until then [`Server::start`] reports it is unavailable, and `otelctl relay`
//! runs its command without relaying (devenv's own tracing off, as before).

use std::net::TcpListener;
use std::sync::Arc;

use crate::Relay;

/// A running relay listener.
pub struct Server {
    _relay: Arc<Relay>,
}

impl Server {
    /// Serves `listener` on a thread of its own until [`Server::stop`].
    pub fn start(listener: TcpListener, relay: Arc<Relay>) -> std::io::Result<Server> {
        let _ = (listener, relay);
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "this build has no OTLP/gRPC receiver to relay with",
        ))
    }

    /// Stops accepting, lets the exports in progress finish, and returns once they have.
    pub fn stop(self) {}
}
